/* Unit tests for kernel/magics.c: the cell language, driven directly through
 * magics_execute and magics_complete. The context is made of the real
 * modules: a `struct requests` over a fake transport that records every
 * message sent (channel, type, parent, content), a `struct cloud` on a
 * temporary folder (the current directory too, for %results) and a
 * `struct experiments`. Each case begins an execute_request (or a
 * complete_request) with requests_begin, calls the magics, and checks the
 * outcome (not a magic / a runtime request and its JSON / handled) and
 * exactly what was published and replied: error ename and evalue, stream
 * text, the execute_reply's status, the pager payload, complete_reply's
 * matches and cursor positions in code points.
 *
 * Nothing is deployed. FAASET_TRACE_PLATFORM records every operation that
 * reaches a platform: only a %invoke and a %delete of a function that does
 * not exist reach one (the local platform), and the trace must show exactly
 * those two. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cloud.h"
#include "experiments.h"
#include "fsutil.h"
#include "magics.h"
#include "reactor.h"
#include "requests.h"

#define MAX_SENT 32

struct sent {
    enum connection_channel channel;
    char type[64];
    char parent_id[128];
    json_t *content;
};

static struct sent sent[MAX_SENT];
static int sent_count;
static int idle_calls, begun;

static struct message_session client;
static struct magics_context ctx;
static char current_id[128];

static void fake_send(void *io_ctx, enum connection_channel channel, const struct message *msg)
{
    (void)io_ctx;
    if (sent_count == MAX_SENT)
        return;
    struct sent *s = &sent[sent_count++];
    s->channel = channel;
    snprintf(s->type, sizeof s->type, "%s", message_type(msg));
    const char *parent = json_string_value(json_object_get(msg->parent_header, "msg_id"));
    snprintf(s->parent_id, sizeof s->parent_id, "%s", parent ? parent : "");
    s->content = json_incref(msg->content);
}

static void fake_drain(void *io_ctx)
{
    (void)io_ctx;
}

static void on_idle(void *idle_ctx)
{
    (void)idle_ctx;
    idle_calls++;
}

static void clear_sent(void)
{
    for (int i = 0; i < sent_count; i++)
        json_decref(sent[i].content);
    sent_count = 0;
}

static const char *str(const json_t *object, const char *key)
{
    const char *value = json_string_value(json_object_get(object, key));
    return value ? value : "(none)";
}

static void dump_sent(void)
{
    for (int i = 0; i < sent_count; i++) {
        char *text = json_dumps(sent[i].content, JSON_COMPACT);
        fprintf(stderr, "    sent[%d] %d %s %s\n", i, (int)sent[i].channel, sent[i].type, text ? text : "");
        free(text);
    }
}

/* ---- starting a request ---- */

/* Begins an execute_request holding CODE and runs the magics on it. */
static enum magics_outcome run_cell(const char *code, json_t **request)
{
    clear_sent();
    struct message *msg = message_new(&client, "execute_request", NULL,
                                      json_pack("{s:s, s:b, s:b, s:b, s:{}, s:b}", "code", code, "silent", 0,
                                                "store_history", 1, "allow_stdin", 0, "user_expressions",
                                                "stop_on_error", 1));
    snprintf(current_id, sizeof current_id, "%s", json_string_value(json_object_get(msg->header, "msg_id")));
    requests_begin(ctx.requests, msg);
    begun++;
    *request = NULL;
    return magics_execute(&ctx, requests_current(ctx.requests), request);
}

/* Ends a cell the magics left to the runtime, as the runtime would. */
static void finish_as_runtime(void)
{
    json_t *frame = json_pack("{s:s}", "status", "ok");
    requests_finish_execute(ctx.requests, frame);
    json_decref(frame);
}

/* ---- what a cell sent ---- */

/* busy, execute_input, ..., and (when FINISHED) idle, all under the cell. */
static int framed(int expected_count, int finished)
{
    int ok = sent_count == expected_count && expected_count >= 2;
    for (int i = 0; ok && i < sent_count; i++)
        ok = strcmp(sent[i].parent_id, current_id) == 0;
    ok = ok && strcmp(sent[0].type, "status") == 0 && strcmp(str(sent[0].content, "execution_state"), "busy") == 0 &&
         strcmp(sent[1].type, "execute_input") == 0 && sent[1].channel == CHANNEL_IOPUB &&
         json_integer_value(json_object_get(sent[1].content, "execution_count")) ==
             requests_execution_count(ctx.requests);
    if (ok && finished) {
        const struct sent *last = &sent[sent_count - 1];
        ok = strcmp(last->type, "status") == 0 && strcmp(str(last->content, "execution_state"), "idle") == 0 &&
             requests_current(ctx.requests) == NULL;
    }
    if (!ok) {
        fprintf(stderr, "  expected %d messages framed by busy/idle under %s:\n", expected_count, current_id);
        dump_sent();
    }
    return ok;
}

/* The execute_reply at sent[I]: on shell, STATUS, the cell's count. */
static int is_reply(int i, const char *status)
{
    return strcmp(sent[i].type, "execute_reply") == 0 && sent[i].channel == CHANNEL_SHELL &&
           strcmp(str(sent[i].content, "status"), status) == 0 &&
           json_integer_value(json_object_get(sent[i].content, "execution_count")) ==
               requests_execution_count(ctx.requests);
}

/* The cell failed: an error output ENAME: EVALUE, then the error reply. */
static int failed_with(const char *ename, const char *evalue)
{
    if (!framed(5, 1))
        return 0;
    char line[1200];
    snprintf(line, sizeof line, "%s: %s", ename, evalue);
    const json_t *error = sent[2].content, *reply = sent[3].content;
    int ok = strcmp(sent[2].type, "error") == 0 && sent[2].channel == CHANNEL_IOPUB &&
             strcmp(str(error, "ename"), ename) == 0 && strcmp(str(error, "evalue"), evalue) == 0 &&
             json_array_size(json_object_get(error, "traceback")) == 1 &&
             strcmp(json_string_value(json_array_get(json_object_get(error, "traceback"), 0)), line) == 0 &&
             is_reply(3, "error") && strcmp(str(reply, "ename"), ename) == 0 &&
             strcmp(str(reply, "evalue"), evalue) == 0 && json_equal(json_object_get(reply, "traceback"),
                                                                     json_object_get(error, "traceback"));
    if (!ok) {
        fprintf(stderr, "  expected %s: %s\n", ename, evalue);
        dump_sent();
    }
    return ok;
}

/* The cell printed TEXT on stdout and ended ok with no payload. */
static int printed(const char *text)
{
    if (!framed(5, 1))
        return 0;
    int ok = strcmp(sent[2].type, "stream") == 0 && sent[2].channel == CHANNEL_IOPUB &&
             strcmp(str(sent[2].content, "name"), "stdout") == 0 && strcmp(str(sent[2].content, "text"), text) == 0 &&
             is_reply(3, "ok") && json_array_size(json_object_get(sent[3].content, "payload")) == 0;
    if (!ok) {
        fprintf(stderr, "  expected the stream %s\n", text);
        dump_sent();
    }
    return ok;
}

/* The cell ended ok with TEXT in the pager, nothing else shown. */
static int paged(const char *text)
{
    if (!framed(4, 1))
        return 0;
    json_t *expected = json_pack("[{s:s, s:{s:s}, s:i}]", "source", "page", "data", "text/plain", text, "start", 0);
    int ok = is_reply(2, "ok") && json_equal(json_object_get(sent[2].content, "payload"), expected);
    json_decref(expected);
    if (!ok) {
        fprintf(stderr, "  expected the pager with %.60s...\n", text);
        dump_sent();
    }
    return ok;
}

/* ---- cases ---- */

static void test_not_magic(void)
{
    static const char *const cells[] = {
        "x = 1\nprint(x)",
        "a = 7 % 3",                /* a % that is Python's */
        "%platform\nx = 1",         /* a line magic with Python after it: IPython-style, not ours */
        "   \n\t\n",                /* whitespace only */
        "",
        "?",                        /* a lone ? */
        "??",
        "?print",                   /* Python's help syntax, not a magic's */
    };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        json_t *request;
        CHECK(run_cell(cells[i], &request) == MAGICS_NOT_MAGIC);
        CHECK(request == NULL);
        CHECK(framed(2, 0)); /* nothing published beyond busy and execute_input */
        CHECK(requests_current(ctx.requests) != NULL);
        finish_as_runtime();
        CHECK(framed(4, 1) && is_reply(2, "ok"));
    }
}

static void test_line_magic_among_comments(void)
{
    json_t *request;
    CHECK(run_cell("# which platform?\n\n   %platform   \n# (local unless set)\n\n", &request) == MAGICS_HANDLED);
    CHECK(request == NULL);
    CHECK(printed("Default platform: local\n"));
}

static void test_help(void)
{
    json_t *request;
    CHECK(run_cell("%help", &request) == MAGICS_HANDLED);
    CHECK(framed(5, 1) && strcmp(sent[2].type, "stream") == 0 && is_reply(3, "ok"));
    const char *text = sent_count == 5 ? str(sent[2].content, "text") : "";
    CHECK(strncmp(text, "FaaSET magics (plain cells are Python):\n\n", 41) == 0);
    char row[200];
    snprintf(row, sizeof row, "\n  %-36s %s\n", "%%cloud_function [key=value ...]",
             "Deploys the function defined in the cell and binds its name to a callable that runs it on a platform");
    CHECK(strstr(text, row) != NULL);
    snprintf(row, sizeof row, "\n  %-36s %s\n", "%invoke NAME JSON", "Calls the cloud function NAME with the JSON payload and shows its result");
    CHECK(strstr(text, row) != NULL);
    snprintf(row, sizeof row, "\n  %-36s %s\n", "%help [MAGIC]", "Explains the magics; `?%%cloud_function` or `%%cloud_function?` opens one in the pager");
    CHECK(strstr(text, row) != NULL);
    static const char *const usages[] = {"%%cloud_function [key=value ...]", "%invoke NAME JSON", "%%invoke NAME",
                                         "%%experiment FUNCTION [FUNCTION2 ...]",
                                         "%experiment FUNCTION [FUNCTION2 ...] FILE.json", "%results [NAME [NAME2]] [--save DIR]",
                                         "%platform [NAME [key=value ...]]", "%delete NAME [PLATFORM]", "%functions",
                                         "%help [MAGIC]"};
    int rows = 0;
    for (const char *p = text; (p = strstr(p, "\n  ")) != NULL; p++)
        rows++;
    CHECK(rows == 10);
    for (size_t i = 0; i < sizeof usages / sizeof usages[0]; i++) {
        snprintf(row, sizeof row, "\n  %-36s ", usages[i]);
        CHECK(strstr(text, row) != NULL);
    }
    size_t length = strlen(text);
    const char *tail = "\n%help NAME or ?%%cloud_function explains one.\n";
    CHECK(length > strlen(tail) && strcmp(text + length - strlen(tail), tail) == 0);
}

static void test_pager(void)
{
    const char *cloud_function_help_start = "%%cloud_function [key=value ...]\n\nDeploys the function defined in the cell";
    static const char *const cells[] = {"%help cloud_function", "%help %%cloud_function", "?%%cloud_function",
                                        "%%cloud_function?", "  %%cloud_function??  \n"};
    char *first = NULL;
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        json_t *request;
        CHECK(run_cell(cells[i], &request) == MAGICS_HANDLED);
        CHECK(request == NULL);
        const char *text = sent_count == 4
                               ? json_string_value(json_object_get(
                                     json_object_get(json_array_get(json_object_get(sent[2].content, "payload"), 0),
                                                     "data"),
                                     "text/plain"))
                               : NULL;
        CHECK(text != NULL && strncmp(text, cloud_function_help_start, strlen(cloud_function_help_start)) == 0);
        CHECK(text != NULL && strstr(text, "  memory=MB             128 to 10240 (default 128)\n") != NULL);
        CHECK(text != NULL && strlen(text) > 2 && strcmp(text + strlen(text) - 2, ".\n") == 0);
        if (text != NULL && first == NULL)
            first = strdup(text);
        CHECK(text != NULL && first != NULL && paged(first)); /* every spelling shows the same page */
    }
    free(first);

    json_t *request;
    CHECK(run_cell("%invoke?", &request) == MAGICS_HANDLED);
    CHECK(paged("%invoke NAME JSON\n\nCalls the cloud function NAME with the JSON payload and shows its result.\n"
                "The kernel adds roundTripTime (ms, measured here) and latency (roundTripTime minus the function's own\n"
                "runtime).\n"));
    CHECK(run_cell("%help delete", &request) == MAGICS_HANDLED);
    CHECK(paged("%delete NAME [PLATFORM]\n\nDeletes the function NAME from its platform (the one its calls go to, or "
                "PLATFORM) and forgets its\ndeploy state there; running its cell again deploys it anew.\n"));
    CHECK(run_cell("%help nosuch", &request) == MAGICS_HANDLED);
    CHECK(failed_with("UnknownMagic", "no magic named nosuch; %help lists them all"));
    CHECK(run_cell("?%nosuch", &request) == MAGICS_HANDLED);
    CHECK(failed_with("UnknownMagic", "no magic named %nosuch; %help lists them all"));
}

/* A magic the kernel does not have is IPython's language: the runtime's to run or to
 * refuse (its error names the magic and suggests the nearest, the kernel's included). */
static void test_unknown_magics_go_to_the_runtime(void)
{
    static const char *const cells[] = {
        "%plaform aws",
        "%%cloud_fuction memory=256\ndef f(request, context):\n    return 1\n",
        "%zzz",
        "%%platform\nlocal",            /* a line magic's name used as a cell magic */
        "%cloud_function memory=256",    /* and the other way round */
        "%pip install x",
        "%%writefile f.py\nprint(1)\n",
    };
    for (size_t i = 0; i < sizeof cells / sizeof cells[0]; i++) {
        json_t *request;
        CHECK(run_cell(cells[i], &request) == MAGICS_NOT_MAGIC);
        CHECK(request == NULL);
        CHECK(framed(2, 0)); /* nothing published beyond busy and execute_input */
        finish_as_runtime();
        CHECK(framed(4, 1) && is_reply(2, "ok"));
    }
    json_t *names = magics_names();
    CHECK(json_array_size(names) > 5);
    CHECK(strcmp(json_string_value(json_array_get(names, 0)), "%%cloud_function") == 0);
    json_decref(names);
}

/* The define upcall the runtime would send for a %%cloud_function cell. */
static json_t *define_reply;

static void on_define(void *reply_ctx, json_t *result)
{
    (void)reply_ctx;
    json_decref(define_reply);
    define_reply = result;
}

static void test_cloud_function(void)
{
    const char *code = "%%cloud_function memory=256 name=x\ndef f(request, context):\n    return request\n";
    json_t *request;
    CHECK(run_cell(code, &request) == MAGICS_RUNTIME_REQUEST);
    CHECK(framed(2, 0)); /* the runtime answers the cell */
    json_t *expected = json_pack("{s:s, s:s, s:s, s:i, s:{s:s, s:s}, s:i, s:b, s:b, s:b}", "type", "cloud_function",
                                 "code", code, "body", "def f(request, context):\n    return request\n", "body_line", 2,
                                 "options", "memory", "256", "name", "x", "execution_count",
                                 requests_execution_count(ctx.requests), "silent", 0, "store_history", 1,
                                 "allow_stdin", 0);
    CHECK(json_equal(request, expected));
    json_decref(expected);
    json_decref(request);
    finish_as_runtime();

    /* blank lines above the magic: body_line counts them */
    code = "\n  \n\n%%cloud_function\ndef g(request, context):\n    return 2\n";
    CHECK(run_cell(code, &request) == MAGICS_RUNTIME_REQUEST);
    CHECK(json_integer_value(json_object_get(request, "body_line")) == 5);
    CHECK(strcmp(str(request, "body"), "def g(request, context):\n    return 2\n") == 0);
    CHECK(strcmp(str(request, "code"), code) == 0);
    CHECK(json_is_object(json_object_get(request, "options")) && json_object_size(json_object_get(request, "options")) == 0);
    json_decref(request);
    finish_as_runtime();

    /* quoted values and a trailing comment */
    code = "%%cloud_function env=\"A=1;B=two words\" timeout='60' # where\ndef h(request, context):\n    return 3";
    CHECK(run_cell(code, &request) == MAGICS_RUNTIME_REQUEST);
    expected = json_pack("{s:s, s:s}", "env", "A=1;B=two words", "timeout", "60");
    CHECK(json_equal(json_object_get(request, "options"), expected));
    json_decref(expected);
    json_decref(request);
    finish_as_runtime();
}

static void test_bad_options(void)
{
    json_t *request;
    /* malformed lines are refused by the magic itself */
    CHECK(run_cell("%%cloud_function name=\"x\ndef f(request, context):\n    return 1\n", &request) == MAGICS_HANDLED);
    CHECK(request == NULL);
    CHECK(failed_with("InvalidOption", "the value of name has no closing \""));
    CHECK(run_cell("%%cloud_function memory\ndef f(request, context):\n    return 1\n", &request) == MAGICS_HANDLED);
    CHECK(failed_with("InvalidOption", "'memory' is not key=value"));

    /* A well-formed line with a bad value: the magic only splits options
     * (magics.h); cloud.c checks them when the runtime sends the define
     * upcall, before any platform is touched. */
    const char *code = "%%cloud_function memory=abc\ndef f(request, context):\n    return 1\n";
    CHECK(run_cell(code, &request) == MAGICS_RUNTIME_REQUEST);
    CHECK(strcmp(str(json_object_get(request, "options"), "memory"), "abc") == 0);
    json_t *upcall = json_pack("{s:s, s:s, s:O, s:s}", "function", "f", "source",
                               "def f(request, context):\n    return 1\n", "options", json_object_get(request, "options"),
                               "origin", "magic");
    cloud_define(ctx.cloud, upcall, on_define, NULL);
    json_t *expected = json_pack("{s:s, s:s, s:s}", "status", "error", "ename", "InvalidOption", "evalue",
                                 "memory must be a whole number of MB from 128 to 10240");
    CHECK(define_reply != NULL && json_equal(define_reply, expected));
    json_decref(expected);
    json_decref(upcall);
    json_decref(request);
    json_decref(define_reply);
    define_reply = NULL;
    finish_as_runtime();
}

static void test_invoke(void)
{
    json_t *request;
    const char *bad = "{\"x\": 1,\n \"y\": }";
    json_error_t json_err;
    json_t *parsed = json_loads(bad, JSON_DECODE_ANY, &json_err);
    CHECK(parsed == NULL && json_err.line == 2);
    char evalue[400];
    snprintf(evalue, sizeof evalue, "the payload of f is not valid JSON: %s (line 2, column %d)", json_err.text,
             json_err.column);
    char cell[100];
    snprintf(cell, sizeof cell, "%%%%invoke f\n%s", bad);
    CHECK(run_cell(cell, &request) == MAGICS_HANDLED);
    CHECK(failed_with("InvalidJSON", evalue));

    snprintf(cell, sizeof cell, "%%invoke f %s", "{\"x\": }");
    CHECK(run_cell(cell, &request) == MAGICS_HANDLED);
    CHECK(json_loads("{\"x\": }", JSON_DECODE_ANY, &json_err) == NULL);
    snprintf(evalue, sizeof evalue, "the payload of f is not valid JSON: %s (line 1, column %d)", json_err.text,
             json_err.column);
    CHECK(failed_with("InvalidJSON", evalue));

    static const char *const nameless[] = {"%%invoke\n{\"x\": 1}", "%%invoke   \n{}", "%invoke"};
    for (size_t i = 0; i < sizeof nameless / sizeof nameless[0]; i++) {
        CHECK(run_cell(nameless[i], &request) == MAGICS_HANDLED);
        CHECK(failed_with("UsageError", "usage: %invoke NAME JSON (or %%invoke NAME with a JSON body)"));
    }

    /* A function that is deployed nowhere: the local platform (the default)
     * answers at once, and no "Remote traceback" is made up. */
    CHECK(run_cell("%invoke ghost {\"x\": 1}", &request) == MAGICS_HANDLED);
    CHECK(failed_with("NotDeployed", "ghost is not deployed on the local platform; run its %%cloud_function cell or "
                                     "'faaset deploy'"));
    CHECK(!requests_awaiting_kernel(ctx.requests));
}

static void test_delete(void)
{
    json_t *request;
    static const char *const usage[] = {"%delete", "%delete   ", "%delete f local extra"};
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        CHECK(run_cell(usage[i], &request) == MAGICS_HANDLED);
        CHECK(failed_with("UsageError", "usage: %delete NAME [PLATFORM]"));
    }
    CHECK(run_cell("%delete f nosuch", &request) == MAGICS_HANDLED);
    CHECK(failed_with("UsageError", "unknown platform 'nosuch'; choose from local, aws, gcf, openwhisk, ibm, azure, "
                                    "openfaas"));
    CHECK(run_cell("%delete bad.name", &request) == MAGICS_HANDLED);
    CHECK(failed_with("UsageError", "delete takes a function name (letters, digits, _ and -)"));
    /* a name over 64 characters is refused whole (sscanf once cut it into NAME and PLATFORM) */
    char long_name[90] = "%delete ";
    memset(long_name + 8, '0', 70);
    long_name[78] = '\0';
    CHECK(run_cell(long_name, &request) == MAGICS_HANDLED);
    CHECK(failed_with("UsageError", "delete takes a function name (letters, digits, _ and -)"));
    /* nothing by that name on the local platform */
    CHECK(run_cell("%delete ghost", &request) == MAGICS_HANDLED);
    CHECK(failed_with("NotDeployed", "ghost is not deployed on the local platform"));
}

static void test_platform(void)
{
    json_t *request;
    CHECK(run_cell("%platform", &request) == MAGICS_HANDLED);
    CHECK(printed("Default platform: local\n"));
    CHECK(run_cell("%platform nosuch", &request) == MAGICS_HANDLED);
    CHECK(failed_with("InvalidSetting", "unknown platform 'nosuch'; choose from local, aws, gcf, openwhisk, ibm, azure, "
                                        "openfaas"));
    CHECK(run_cell("%platform aws secret_key=x", &request) == MAGICS_HANDLED);
    CHECK(failed_with("InvalidSetting", "'secret_key' looks like a credential: secrets never go in the notebook; the "
                                        "platform reads them from its usual files and environment variables"));
    CHECK(run_cell("%platform aws region=us-east-1 AWS_Session_Token=abc", &request) == MAGICS_HANDLED);
    CHECK(failed_with("InvalidSetting", "'AWS_Session_Token' looks like a credential: secrets never go in the "
                                        "notebook; the platform reads them from its usual files and environment "
                                        "variables"));
    CHECK(run_cell("%platform local concurrency=0", &request) == MAGICS_HANDLED);
    CHECK(failed_with("InvalidSetting", "concurrency must be a whole number from 1 to 2000"));
    CHECK(run_cell("%platform local \"x", &request) == MAGICS_HANDLED);
    CHECK(failed_with("InvalidSetting", "'\"x' is not key=value"));
    CHECK(strcmp(cloud_default_platform(ctx.cloud), "local") == 0); /* none of those changed it */
    /* a long platform name is one word (sscanf once cut it at 31 characters) */
    CHECK(run_cell("%platform abcdefghijabcdefghijabcdefghijabcdefghij", &request) == MAGICS_HANDLED);
    CHECK(failed_with("InvalidSetting", "unknown platform 'abcdefghijabcdefghijabcdefghijabcdefghij'; choose from "
                                        "local, aws, gcf, openwhisk, ibm, azure, openfaas"));
    CHECK(run_cell("%platform local concurrency=4", &request) == MAGICS_HANDLED);
    CHECK(printed("Default platform: local\n"));
}

static void test_functions(void)
{
    json_t *request;
    CHECK(run_cell("%functions", &request) == MAGICS_HANDLED);
    CHECK(framed(5, 1) && strcmp(sent[2].type, "display_data") == 0 && is_reply(3, "ok"));
    const json_t *data = sent_count == 5 ? json_object_get(sent[2].content, "data") : NULL;
    CHECK(strcmp(str(data, "text/plain"),
                 "No functions deployed from this folder yet: define one with %%cloud_function.\n") == 0);
    const char *html = str(data, "text/html");
    const char *head = "<table><thead><tr><th>function</th><th>platform</th>";
    CHECK(strncmp(html, head, strlen(head)) == 0);
    CHECK(strstr(html, "</thead><tbody></tbody></table>") != NULL);
}

static void test_experiment(void)
{
    json_t *request;
    static const char *const nameless[] = {"%%experiment\n{\"runs\": 1}", "%%experiment   # no function\n{}"};
    for (size_t i = 0; i < sizeof nameless / sizeof nameless[0]; i++) {
        CHECK(run_cell(nameless[i], &request) == MAGICS_HANDLED);
        CHECK(failed_with("UsageError", "usage: %%experiment FUNCTION, with the experiment as the cell's JSON body"));
    }
    const char *body = "{\"runs\": 2,\n \"threads\": 1,,\n}";
    json_error_t json_err;
    CHECK(json_loads(body, 0, &json_err) == NULL && json_err.line == 2);
    char evalue[400], cell[200];
    snprintf(evalue, sizeof evalue, "the experiment is not valid JSON: %s (line 2 of the body, column %d)",
             json_err.text, json_err.column);
    snprintf(cell, sizeof cell, "%%%%experiment f\n%s", body);
    CHECK(run_cell(cell, &request) == MAGICS_HANDLED);
    CHECK(failed_with("InvalidJSON", evalue));

    CHECK(run_cell("%experiment f", &request) == MAGICS_HANDLED);
    CHECK(failed_with("UsageError", "usage: %experiment FUNCTION [FUNCTION2 ...] path/to/experiment.json"));

    /* the line takes platforms= and platform_order= (shown by tests/compare); anything else is named */
    CHECK(run_cell("%%experiment f platforms=local colour=blue\n{}", &request) == MAGICS_HANDLED);
    CHECK(failed_with("UsageError", "unknown option 'colour' on the %%experiment line: it takes platforms=aws,gcf and "
                                    "platform_order=parallel|sequential; FaaS Runner's keys go in the JSON body"));
    CHECK(run_cell("%%experiment platforms=local\n{}", &request) == MAGICS_HANDLED);
    CHECK(failed_with("UsageError", "usage: %%experiment FUNCTION, with the experiment as the cell's JSON body"));
}

static void test_results(void)
{
    json_t *request;
    CHECK(run_cell("%results", &request) == MAGICS_HANDLED);
    CHECK(failed_with("NoResults", "no experiment has run in this folder yet (faaset-results/ is empty)"));
    CHECK(run_cell("%results nosuch", &request) == MAGICS_HANDLED);
    CHECK(failed_with("NoResults", "no experiment named nosuch in faaset-results/"));
}

/* ---- completion ---- */

/* Begins a complete_request for CODE with the cursor at POINTS code points. */
static int complete(const char *code, int points)
{
    clear_sent();
    struct message *msg = message_new(&client, "complete_request", NULL,
                                      json_pack("{s:s, s:i}", "code", code, "cursor_pos", points));
    snprintf(current_id, sizeof current_id, "%s", json_string_value(json_object_get(msg->header, "msg_id")));
    requests_begin(ctx.requests, msg);
    begun++;
    int handled = magics_complete(&ctx, requests_current(ctx.requests));
    requests_finish(ctx.requests);
    return handled;
}

/* The complete_reply sent: MATCHES (a JSON array text) from START to END. */
static int completed(const char *matches, int start, int end)
{
    json_t *expected = json_loads(matches, 0, NULL);
    int ok = sent_count == 3 && strcmp(sent[1].type, "complete_reply") == 0 && sent[1].channel == CHANNEL_SHELL &&
             strcmp(sent[1].parent_id, current_id) == 0 && strcmp(str(sent[1].content, "status"), "ok") == 0 &&
             json_equal(json_object_get(sent[1].content, "matches"), expected) &&
             json_integer_value(json_object_get(sent[1].content, "cursor_start")) == start &&
             json_integer_value(json_object_get(sent[1].content, "cursor_end")) == end &&
             json_is_object(json_object_get(sent[1].content, "metadata"));
    json_decref(expected);
    if (!ok) {
        fprintf(stderr, "  expected the matches %s from %d to %d\n", matches, start, end);
        dump_sent();
    }
    return ok;
}

static void test_complete(void)
{
    CHECK(complete("%%cloud_function mem", 20) == 1);
    CHECK(completed("[\"memory=\"]", 17, 20));
    /* a non-ASCII character before the cursor: positions count code points
     * ("café" is 4 code points and 5 bytes) */
    const char *code = "%%cloud_function name=caf\xc3\xa9 mem";
    CHECK(strlen(code) == 31);
    CHECK(complete(code, 30) == 1);
    CHECK(completed("[\"memory=\"]", 27, 30));
    /* more option keys, from the start of a word */
    CHECK(complete("%%cloud_function memory=256 r", 29) == 1);
    CHECK(completed("[\"runtime=\", \"run=\", \"remote=\", \"role=\", \"requirements=\", "
                    "\"requirements_file=\", \"registry=\"]", 28, 29));
    /* a value is not completed */
    CHECK(complete("%%cloud_function memory=2", 25) == 1);
    CHECK(completed("[]", 17, 25));
    /* a magic's name is the runtime's to complete (its magics and these) */
    CHECK(complete("%pla", 4) == 0);
    CHECK(complete("%%in", 4) == 0);
    CHECK(complete("%platform a", 11) == 1);
    CHECK(completed("[\"aws\", \"azure\"]", 10, 11));
    /* the cursor in the middle of a line: only what is before it counts */
    CHECK(complete("%platform gcf pro", 17) == 1); /* after the name: that platform's settings */
    CHECK(completed("[\"project=\"]", 14, 17));
    CHECK(complete("%platform gcf project=p r", 25) == 1);
    CHECK(completed("[\"region=\"]", 24, 25));
    CHECK(complete("%platform aws r", 15) == 1);
    CHECK(completed("[\"region=\", \"role=\", \"registry=\"]", 14, 15));
    CHECK(complete("%platform ibm ma", 16) == 1); /* the alias has the same settings */
    CHECK(completed("[\"max_memory=\", \"max_timeout=\"]", 14, 16));
    CHECK(complete("%platform openwhisk n", 21) == 1);
    CHECK(completed("[\"namespace=\"]", 20, 21));
    CHECK(complete("%platform ibm i", 15) == 1); /* an IAM-based namespace's key file and IAM's endpoint */
    CHECK(completed("[\"iam_apikey_file=\", \"iam_endpoint=\"]", 14, 15));
    CHECK(complete("%platform openfaas re", 21) == 1);
    CHECK(completed("[\"registry=\", \"ready_timeout=\"]", 19, 21));
    CHECK(complete("%platform azure ", 16) == 1); /* azure's settings, all of them */
    CHECK(completed("[\"app=\", \"resource_group=\", \"subscription=\", \"publish_profile=\", \"management=\", "
                    "\"app_url=\", \"scm_url=\"]", 16, 16));
    CHECK(complete("%platform azure r", 17) == 1);
    CHECK(completed("[\"resource_group=\"]", 16, 17));
    CHECK(complete("%%cloud_function max", 20) == 1);
    CHECK(completed("[\"max_instances=\"]", 17, 20));
    CHECK(complete("%platform a # then more", 11) == 1);
    CHECK(completed("[\"aws\", \"azure\"]", 10, 11));
    /* on the second line, below one with a non-ASCII character (7 code points, 8 bytes) */
    CHECK(complete("# caf\xc3\xa9\n%platform a", 18) == 1);
    CHECK(completed("[\"aws\", \"azure\"]", 17, 18));
    /* function names: those defined in this kernel (none yet) */
    CHECK(complete("%invoke dou", 11) == 1);
    CHECK(completed("[]", 8, 11));
    /* a Python line: not the magics' */
    CHECK(complete("x = pri", 7) == 0);
    CHECK(sent_count == 2 && strcmp(sent[0].type, "status") == 0 && strcmp(sent[1].type, "status") == 0);
    CHECK(complete("%pla\nx = pri", 12) == 0);
    CHECK(sent_count == 2);
    /* FaaS Runner's keys in a %%experiment cell's JSON, those not there yet */
    const char *experiment = "%%experiment f\n{\"runs\": 10, \"th";
    CHECK(complete(experiment, (int)strlen(experiment)) == 1);
    CHECK(completed("[\"threads\"]", 29, 31));
    const char *more = "%%experiment f\n{\"runs\": 10,\n \"r";
    CHECK(complete(more, (int)strlen(more)) == 1);
    CHECK(completed("[\"randomSeed\", \"removeDuplicateContainers\"]", 30, 31));
    const char *empty = "%%experiment f\n{\"";
    CHECK(complete(empty, (int)strlen(empty)) == 1);
    CHECK(sent_count == 3 && json_array_size(json_object_get(sent[1].content, "matches")) > 25);
    /* a value is not a key: left to the runtime (which has nothing for it) */
    const char *value = "%%experiment f\n{\"experimentName\": \"ru";
    CHECK(complete(value, (int)strlen(value)) == 0);
}

/* A function defined with run=local is known to this kernel without any
 * platform: completion after %invoke offers it. */
static void test_complete_function_names(void)
{
    json_t *upcall = json_pack("{s:s, s:s, s:{s:s}, s:s}", "function", "double", "source",
                               "def double(request, context):\n    return request\n", "options", "run", "local", "origin",
                               "magic");
    cloud_define(ctx.cloud, upcall, on_define, NULL);
    json_decref(upcall);
    CHECK(define_reply != NULL && strcmp(str(define_reply, "status"), "ok") == 0);
    json_decref(define_reply);
    define_reply = NULL;
    CHECK(complete("%invoke dou", 11) == 1);
    CHECK(completed("[\"double\"]", 8, 11));
    CHECK(complete("%%experiment d", 14) == 1);
    CHECK(completed("[\"double\"]", 13, 14));
    CHECK(complete("%delete x", 9) == 1);
    CHECK(completed("[]", 8, 9));
}

static int count_lines(const char *path)
{
    FILE *file = fopen(path, "r");
    int lines = 0, c;
    if (file == NULL)
        return 0;
    while ((c = fgetc(file)) != EOF)
        lines += c == '\n';
    fclose(file);
    return lines;
}

int main(void)
{
    char workdir[] = "/tmp/faaset-magics-XXXXXX";
    char trace_dir[] = "/tmp/faaset-magics-trace-XXXXXX";
    if (mkdtemp(workdir) == NULL || mkdtemp(trace_dir) == NULL || chdir(workdir) < 0) {
        perror("temporary folder");
        return 1;
    }
    char trace[128];
    snprintf(trace, sizeof trace, "%s/trace.jsonl", trace_dir);
    setenv("FAASET_TRACE_PLATFORM", trace, 1);

    message_session_init(&client);
    struct requests_io io = {.ctx = NULL, .send = fake_send, .drain_shell = fake_drain};
    struct reactor *reactor = reactor_new();
    struct requests *requests = requests_new(&io, NULL, on_idle, NULL);
    struct cloud *cloud = cloud_new(reactor, workdir, "/usr/bin/python3");
    struct experiments *experiments = experiments_new(requests, cloud, reactor, workdir);
    CHECK(reactor && requests && cloud && experiments);
    if (!(reactor && requests && cloud && experiments))
        return check_report();
    ctx = (struct magics_context){.requests = requests, .cloud = cloud, .experiments = experiments};

    test_not_magic();
    test_line_magic_among_comments();
    test_help();
    test_pager();
    test_unknown_magics_go_to_the_runtime();
    test_cloud_function();
    test_bad_options();
    test_invoke();
    test_delete();
    test_platform();
    test_functions();
    test_experiment();
    test_results();
    test_complete();
    test_complete_function_names();

    /* every request was ended, once */
    CHECK(requests_current(requests) == NULL);
    CHECK(begun > 0 && idle_calls == begun);

    /* Only the %invoke and the %delete of "ghost" reached a platform. */
    CHECK(count_lines(trace) == 2);
    static const char *const expected[] = {"{\"platform\":\"local\",\"op\":\"invoke\",\"function\":\"ghost\"}\n",
                                           "{\"platform\":\"local\",\"op\":\"remove\",\"function\":\"ghost\"}\n"};
    FILE *file = fopen(trace, "r");
    char line[256];
    for (int i = 0; file != NULL && fgets(line, sizeof line, file) != NULL; i++)
        CHECK(i < 2 && strcmp(line, expected[i]) == 0);
    if (file != NULL)
        fclose(file);

    clear_sent();
    experiments_free(experiments);
    cloud_free(cloud);
    requests_free(requests);
    reactor_free(reactor);
    if (chdir("/") == 0) {
        fsutil_remove_tree(workdir);
        fsutil_remove_tree(trace_dir);
    }
    return check_report();
}
