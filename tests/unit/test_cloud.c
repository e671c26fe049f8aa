/* Unit tests for runtime/cloud.c against the local platform in a temporary
 * folder, driven on its reactor (run the due timers, wait for ready fds,
 * until the callback under test has run). The define upcall is sent as the
 * runtime sends it (runtime/PROTOCOL.md: function, source, raw options,
 * origin) and each answer is checked: first "deployed", unchanged "up to
 * date" with no platform operation, a memory change "updated configuration
 * of", a code change "updated code of"; the deploy state file
 * .faaset/state/local/NAME.json (mode 0600, its hashes and memory). Calls
 * run in real worker processes (/usr/bin/python3): a result, the shown
 * result with roundTripTime (and latency), a raised exception's type,
 * message and traceback, the invoke upcall's answer, an unknown platform.
 * Then cloud_set_memory and cloud_restore_memory, cloud_delete (state and folder gone, "deleted"),
 * cloud_platform_of for functions on two platforms held at once, and the
 * notice a stopping kernel leaves for the next (cloud_leave_notice).
 *
 * FAASET_TRACE_PLATFORM points at a file in another temporary folder: its
 * lines count the operations that reached a platform, so "nothing needed"
 * is checked as "no operation", not as "fast". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cloud.h"
#include "deploy_state.h"
#include "fsutil.h"
#include "reactor.h"

static struct reactor *reactor;
static char workdir[] = "/tmp/faaset-cloud-XXXXXX";
static char trace_dir[] = "/tmp/faaset-cloud-trace-XXXXXX";
static char trace_path[128];

static const char *const double_v1 = "def double(request, context):\n    return {\"x\": request[\"x\"] * 2}\n";
static const char *const double_v2 = "import os\n\n\ndef double(request, context):\n"
                                     "    return {\"x\": request[\"x\"] * 2, \"v\": 2}\n";
static const char *const boom_source = "def helper(x):\n    raise ValueError(\"bad x: %s\" % x)\n\n\n"
                                       "def boom(request, context):\n    return helper(request[\"x\"])\n";

/* Runs the loop until *DONE (a guard of many rounds stops a hung test). */
static void run_until(const int *done)
{
    for (int round = 0; !*done && round < 6000; round++) {
        int next = reactor_run_timers(reactor);
        if (*done)
            break;
        reactor_wait(reactor, next < 0 || next > 10 ? 10 : next);
    }
}

/* ---- the trace of platform operations ---- */

static int trace_lines(void)
{
    FILE *file = fopen(trace_path, "r");
    int lines = 0, c;
    if (file == NULL)
        return 0;
    while ((c = fgetc(file)) != EOF)
        lines += c == '\n';
    fclose(file);
    return lines;
}

/* 1 when the last line of the trace is OP of FUNCTION on PLATFORM. */
static int trace_last_is(const char *platform, const char *op, const char *function)
{
    FILE *file = fopen(trace_path, "r");
    char line[512], last[512] = "";
    while (file != NULL && fgets(line, sizeof line, file) != NULL)
        memcpy(last, line, sizeof last);
    if (file != NULL)
        fclose(file);
    char expected[512];
    snprintf(expected, sizeof expected, "{\"platform\":\"%s\",\"op\":\"%s\",\"function\":\"%s\"}\n", platform, op,
             function);
    if (strcmp(last, expected) != 0) {
        fprintf(stderr, "  trace ends with %s, expected %s", last, expected);
        return 0;
    }
    return 1;
}

/* ---- define ---- */

struct define_wait {
    int done;
    json_t *result;
};

static void on_define(void *ctx, json_t *result)
{
    struct define_wait *wait = ctx;
    wait->result = result;
    wait->done = 1;
}

/* The define upcall for DEF with SOURCE and OPTIONS (a JSON text, raw
 * values as a magic line sends them); returns its answer. */
static json_t *define(struct cloud *cloud, const char *def, const char *source, const char *options)
{
    json_t *upcall = json_pack("{s:s, s:s, s:o, s:s}", "function", def, "source", source, "options",
                               json_loads(options, 0, NULL), "origin", "magic");
    struct define_wait wait = {0};
    cloud_define(cloud, upcall, on_define, &wait);
    run_until(&wait.done);
    json_decref(upcall);
    return wait.result;
}

static const char *str(const json_t *object, const char *key)
{
    const char *value = json_string_value(json_object_get(object, key));
    return value ? value : "(none)";
}

static const char *first_line(const json_t *result)
{
    const char *line = json_string_value(json_array_get(json_object_get(result, "lines"), 0));
    return line ? line : "(none)";
}

/* LINE is "PREFIX (HASH8) in N ms" or "... in N.NN ms". */
static int line_is(const char *line, const char *prefix, const char *hash)
{
    char head[300];
    snprintf(head, sizeof head, "%s (%.8s) in ", prefix, hash);
    size_t n = strlen(head), length = strlen(line);
    int ok = strncmp(line, head, n) == 0 && length > n + 3 && strcmp(line + length - 3, " ms") == 0 &&
             strspn(line + n, "0123456789.") == length - n - 3;
    if (!ok)
        fprintf(stderr, "  line \"%s\" is not \"%s... ms\"\n", line, head);
    return ok;
}

/* The state file of NAME on PLATFORM, read as JSON, or NULL. */
static json_t *state_file(const char *platform, const char *name, int *mode)
{
    char path[512];
    snprintf(path, sizeof path, "%s/.faaset/state/%s/%s.json", workdir, platform, name);
    struct stat info;
    if (stat(path, &info) < 0)
        return NULL;
    if (mode != NULL)
        *mode = (int)(info.st_mode & 07777);
    return json_load_file(path, 0, NULL);
}

/* ---- calls ---- */

struct called {
    int done, ok, retries;
    char error_type[64], message[512], line[700];
    json_t *result, *shown, *traceback;
    double round_trip_ms;
};

static void on_called(void *ctx, const struct cloud_outcome *outcome)
{
    struct called *c = ctx;
    c->ok = outcome->platform.ok;
    c->retries = outcome->retries;
    c->round_trip_ms = outcome->round_trip_ms;
    snprintf(c->error_type, sizeof c->error_type, "%s", outcome->platform.error_type ? outcome->platform.error_type : "");
    snprintf(c->message, sizeof c->message, "%s", outcome->platform.message ? outcome->platform.message : "");
    snprintf(c->line, sizeof c->line, "%s", outcome->line ? outcome->line : "");
    c->result = outcome->platform.result ? json_deep_copy(outcome->platform.result) : NULL;
    c->shown = outcome->platform.ok ? cloud_shown_result(outcome) : NULL;
    c->traceback = cloud_traceback(&outcome->platform);
    c->done = 1;
}

static void called_free(struct called *c)
{
    json_decref(c->result);
    json_decref(c->shown);
    json_decref(c->traceback);
    memset(c, 0, sizeof *c);
}

static void call(struct cloud *cloud, const char *function, const char *platform, const char *payload,
                 struct called *c)
{
    memset(c, 0, sizeof *c);
    json_t *body = json_loads(payload, JSON_DECODE_ANY, NULL);
    struct cloud_call request = {.function = function, .platform = platform, .payload = body, .retry = 1};
    cloud_call(cloud, &request, on_called, c);
    json_decref(body);
    run_until(&c->done);
}

/* ---- cases ---- */

static char hash_v1[65], hash_v2[65];

static void test_define(struct cloud *cloud)
{
    int ops = trace_lines();
    json_t *result = define(cloud, "double", double_v1, "{\"memory\": \"256\"}");
    CHECK(result != NULL && strcmp(str(result, "status"), "ok") == 0);
    CHECK(strcmp(str(result, "name"), "double") == 0 && strcmp(str(result, "run"), "cloud") == 0);
    json_t *platforms = json_pack("[s]", "local");
    CHECK(json_equal(json_object_get(result, "platforms"), platforms));
    json_decref(platforms);
    CHECK(json_array_size(json_object_get(result, "lines")) == 1);
    int mode = 0;
    json_t *state = state_file("local", "double", &mode);
    CHECK(state != NULL && mode == 0600);
    snprintf(hash_v1, sizeof hash_v1, "%s", str(state, "code_hash"));
    CHECK(strlen(hash_v1) == 64 && strspn(hash_v1, "0123456789abcdef") == 64);
    CHECK(line_is(first_line(result), "local: deployed double", hash_v1));
    CHECK(json_integer_value(json_object_get(state, "memory_mb")) == 256);
    CHECK(json_integer_value(json_object_get(state, "timeout_s")) == 30);
    CHECK(strcmp(str(state, "function"), "double") == 0);
    char config_256[65];
    snprintf(config_256, sizeof config_256, "%s", str(state, "config_hash"));
    json_decref(state);
    json_decref(result);
    CHECK(trace_lines() == ops + 1 && trace_last_is("local", "deploy", "double"));
    char folder[512];
    snprintf(folder, sizeof folder, "%s/.faaset/state/local", workdir);
    struct stat info;
    CHECK(stat(folder, &info) == 0 && (info.st_mode & 07777) == 0700);

    /* the same cell again: nothing reaches the platform */
    result = define(cloud, "double", double_v1, "{\"memory\": \"256\"}");
    CHECK(strcmp(str(result, "status"), "ok") == 0);
    CHECK(line_is(first_line(result), "local: up to date double", hash_v1));
    json_decref(result);
    CHECK(trace_lines() == ops + 1);
    /* the memory written as a number, as the decorator sends it, is the same configuration */
    result = define(cloud, "double", double_v1, "{\"memory\": 256, \"platforms\": [\"local\"]}");
    CHECK(line_is(first_line(result), "local: up to date double", hash_v1));
    json_decref(result);
    CHECK(trace_lines() == ops + 1);

    /* memory changed: the configuration only */
    result = define(cloud, "double", double_v1, "{\"memory\": \"512\"}");
    CHECK(line_is(first_line(result), "local: updated configuration of double", hash_v1));
    json_decref(result);
    CHECK(trace_lines() == ops + 2 && trace_last_is("local", "configure", "double"));
    state = state_file("local", "double", &mode);
    CHECK(mode == 0600 && json_integer_value(json_object_get(state, "memory_mb")) == 512);
    CHECK(strcmp(str(state, "code_hash"), hash_v1) == 0 && strcmp(str(state, "config_hash"), config_256) != 0);
    json_decref(state);

    /* code changed: a new package */
    result = define(cloud, "double", double_v2, "{\"memory\": \"512\"}");
    state = state_file("local", "double", &mode);
    snprintf(hash_v2, sizeof hash_v2, "%s", str(state, "code_hash"));
    CHECK(strlen(hash_v2) == 64 && strcmp(hash_v2, hash_v1) != 0);
    CHECK(line_is(first_line(result), "local: updated code of double", hash_v2));
    CHECK(json_integer_value(json_object_get(state, "memory_mb")) == 512);
    json_decref(state);
    json_decref(result);
    CHECK(trace_lines() == ops + 3 && trace_last_is("local", "deploy", "double"));

    /* refused before any platform is touched */
    result = define(cloud, "double", double_v2, "{\"memory\": \"lots\"}");
    CHECK(strcmp(str(result, "status"), "error") == 0 && strcmp(str(result, "ename"), "InvalidOption") == 0);
    CHECK(strcmp(str(result, "evalue"), "memory must be a whole number of MB from 128 to 10240") == 0);
    json_decref(result);
    result = define(cloud, "double", double_v2, "{\"platforms\": \"openfaas\"}"); /* no gateway credentials */
    CHECK(strcmp(str(result, "ename"), "PlatformUnavailable") == 0);
    CHECK(strstr(str(result, "evalue"), "no credentials for the OpenFaaS gateway") != NULL);
    json_decref(result);
    json_t *bad = json_pack("{s:s}", "function", "double"); /* no source */
    struct define_wait wait = {0};
    cloud_define(cloud, bad, on_define, &wait);
    CHECK(wait.done && strcmp(str(wait.result, "ename"), "BadUpcall") == 0);
    json_decref(wait.result);
    json_decref(bad);
    CHECK(trace_lines() == ops + 3);
    state = state_file("local", "double", NULL);
    CHECK(strcmp(str(state, "code_hash"), hash_v2) == 0); /* the failed defines left it alone */
    json_decref(state);
}

static void test_call(struct cloud *cloud)
{
    int ops = trace_lines();
    struct called c;
    call(cloud, "double", NULL, "{\"x\": 21}", &c);
    CHECK(c.done && c.ok && c.retries == 0);
    json_t *expected = json_pack("{s:i, s:i}", "x", 42, "v", 2);
    CHECK(json_equal(c.result, expected));
    json_decref(expected);
    CHECK(json_object_size(c.shown) == 3);
    CHECK(json_integer_value(json_object_get(c.shown, "x")) == 42);
    CHECK(json_is_real(json_object_get(c.shown, "roundTripTime")) &&
          json_real_value(json_object_get(c.shown, "roundTripTime")) == c.round_trip_ms);
    CHECK(c.round_trip_ms > 0);
    CHECK(json_object_get(c.shown, "latency") == NULL); /* no SAAF runtime in the result */
    CHECK(json_array_size(c.traceback) == 0);
    called_free(&c);
    CHECK(trace_lines() == ops + 1 && trace_last_is("local", "invoke", "double"));

    /* a warm worker answers the next call the same way */
    call(cloud, "double", "local", "{\"x\": -4}", &c);
    CHECK(c.ok && json_integer_value(json_object_get(c.result, "x")) == -8);
    called_free(&c);

    /* the function raises */
    json_t *result = define(cloud, "boom", boom_source, "{}");
    CHECK(strcmp(str(result, "status"), "ok") == 0);
    json_decref(result);
    call(cloud, "boom", NULL, "{\"x\": 3}", &c);
    CHECK(c.done && !c.ok);
    CHECK(strcmp(c.error_type, "ValueError") == 0 && strcmp(c.message, "bad x: 3") == 0);
    CHECK(c.result == NULL && c.shown == NULL);
    size_t count = json_array_size(c.traceback);
    CHECK(count >= 2);
    /* the last frames: boom calling helper, helper raising */
    const char *caller = json_string_value(json_array_get(c.traceback, count - 2));
    const char *raiser = json_string_value(json_array_get(c.traceback, count - 1));
    CHECK(caller != NULL && strstr(caller, "line 6, in boom") != NULL && strstr(caller, "return helper(request[\"x\"])"));
    CHECK(raiser != NULL && strstr(raiser, "line 2, in helper") != NULL &&
          strstr(raiser, "raise ValueError(\"bad x: %s\" % x)") != NULL);
    called_free(&c);

    /* the invoke upcall's answers (PROTOCOL.md) */
    struct define_wait wait = {0};
    json_t *upcall = json_pack("{s:s, s:{s:i}}", "function", "double", "payload", "x", 5);
    cloud_invoke(cloud, upcall, on_define, &wait);
    run_until(&wait.done);
    CHECK(strcmp(str(wait.result, "status"), "ok") == 0);
    CHECK(json_integer_value(json_object_get(json_object_get(wait.result, "result"), "x")) == 10);
    CHECK(json_is_real(json_object_get(wait.result, "roundTripTime")));
    CHECK(json_object_get(wait.result, "retries") == NULL);
    json_decref(wait.result);
    json_decref(upcall);
    wait = (struct define_wait){0};
    upcall = json_pack("{s:s, s:{s:s}}", "function", "boom", "payload", "x", "y");
    cloud_invoke(cloud, upcall, on_define, &wait);
    run_until(&wait.done);
    CHECK(strcmp(str(wait.result, "status"), "error") == 0 && strcmp(str(wait.result, "ename"), "ValueError") == 0);
    CHECK(strcmp(str(wait.result, "evalue"), "bad x: y") == 0);
    CHECK(json_array_size(json_object_get(wait.result, "traceback")) >= 2);
    json_decref(wait.result);
    json_decref(upcall);
    wait = (struct define_wait){0};
    upcall = json_pack("{s:s, s:s}", "function", "double", "invocation", "Sometimes");
    cloud_invoke(cloud, upcall, on_define, &wait);
    CHECK(wait.done && strcmp(str(wait.result, "ename"), "InvalidOption") == 0);
    json_decref(wait.result);
    json_decref(upcall);

    /* a platform that cannot take the call: refused here, nothing traced */
    ops = trace_lines();
    call(cloud, "double", "nosuch", "{}", &c);
    CHECK(c.done && !c.ok && strcmp(c.error_type, "PlatformUnavailable") == 0);
    CHECK(strcmp(c.message, "unknown platform 'nosuch'; choose from local, aws, gcf, openwhisk, ibm, azure, openfaas") == 0);
    called_free(&c);
    CHECK(trace_lines() == ops);
    /* a function deployed nowhere: the local platform says so */
    call(cloud, "ghost", NULL, "{}", &c);
    CHECK(c.done && strcmp(c.error_type, "NotDeployed") == 0);
    CHECK(strcmp(c.message, "ghost is not deployed on the local platform; run its %%cloud_function cell or "
                            "'faaset deploy'") == 0);
    called_free(&c);
}

/* cloud_shown_result and cloud_traceback on outcomes built here. */
static void test_shown(void)
{
    json_t *value = json_pack("{s:s, s:f}", "answer", "yes", "runtime", 4.5);
    struct cloud_outcome outcome = {.platform = {.ok = 1, .result = value}, .round_trip_ms = 12.25};
    json_t *shown = cloud_shown_result(&outcome);
    CHECK(json_real_value(json_object_get(shown, "roundTripTime")) == 12.25);
    CHECK(json_real_value(json_object_get(shown, "latency")) == 7.75);
    CHECK(strcmp(str(shown, "answer"), "yes") == 0 && json_object_size(shown) == 4);
    CHECK(json_object_size(value) == 2); /* the platform's value is left as it was */
    json_decref(shown);
    json_decref(value);
    value = json_integer(7); /* not an object: shown as it is */
    outcome.platform.result = value;
    shown = cloud_shown_result(&outcome);
    CHECK(json_is_integer(shown) && json_integer_value(shown) == 7);
    json_decref(shown);
    json_decref(value);

    json_t *stack = json_pack("[s]", "  File \"f.py\", line 1, in f");
    struct platform_outcome failed = {.error_type = "E", .message = "m", .traceback = stack, .log = "printed\n"};
    json_t *traceback = cloud_traceback(&failed);
    json_t *expected = json_pack("[s, s, s]", "  File \"f.py\", line 1, in f", "\nThe end of the function's log:\n",
                                 "printed\n");
    CHECK(json_equal(traceback, expected));
    CHECK(json_array_size(stack) == 1);
    json_decref(expected);
    json_decref(traceback);
    json_decref(stack);
}

static void test_set_memory(struct cloud *cloud)
{
    int ops = trace_lines();
    struct called c;
    memset(&c, 0, sizeof c);
    cloud_set_memory(cloud, "double", NULL, 1024, on_called, &c);
    run_until(&c.done);
    CHECK(c.done && c.ok);
    called_free(&c);
    CHECK(trace_lines() == ops + 1 && trace_last_is("local", "set_memory", "double"));
    json_t *state = state_file("local", "double", NULL);
    CHECK(json_integer_value(json_object_get(state, "memory_mb")) == 1024);
    CHECK(strcmp(str(state, "config_hash"), "set-by-experiment") == 0);
    CHECK(strcmp(str(state, "code_hash"), hash_v2) == 0);
    json_decref(state);
    /* the function still answers */
    call(cloud, "double", NULL, "{\"x\": 1}", &c);
    CHECK(c.ok && json_integer_value(json_object_get(c.result, "x")) == 2);
    called_free(&c);
    /* running the cell again restores its memory */
    json_t *result = define(cloud, "double", double_v2, "{\"memory\": \"512\"}");
    CHECK(line_is(first_line(result), "local: updated configuration of double", hash_v2));
    json_decref(result);
    state = state_file("local", "double", NULL);
    CHECK(json_integer_value(json_object_get(state, "memory_mb")) == 512);
    json_decref(state);
    /* an experiment's end puts the memory and the cell's hash back */
    struct deploy_record saved;
    char err[512];
    CHECK(cloud_record(cloud, "double", NULL, &saved, err, sizeof err) == 1 && saved.memory_mb == 512);
    CHECK(strcmp(saved.runtime, "python3.12") == 0 && strcmp(saved.arch, "x86_64") == 0);
    cloud_set_memory(cloud, "double", NULL, 2048, on_called, &c);
    run_until(&c.done);
    called_free(&c);
    ops = trace_lines();
    cloud_restore_memory(cloud, "double", NULL, &saved, on_called, &c);
    run_until(&c.done);
    CHECK(c.done && c.ok);
    called_free(&c);
    CHECK(trace_lines() == ops + 1 && trace_last_is("local", "set_memory", "double"));
    state = state_file("local", "double", NULL);
    CHECK(json_integer_value(json_object_get(state, "memory_mb")) == 512);
    CHECK(strcmp(str(state, "config_hash"), saved.config_hash) == 0);
    json_decref(state);
    result = define(cloud, "double", double_v2, "{\"memory\": \"512\"}");
    CHECK(line_is(first_line(result), "local: up to date double", hash_v2));
    json_decref(result);
    /* nothing to reconfigure */
    cloud_set_memory(cloud, "ghost", NULL, 256, on_called, &c);
    run_until(&c.done);
    CHECK(c.done && !c.ok && strcmp(c.error_type, "NotDeployed") == 0);
    called_free(&c);
    CHECK(state_file("local", "ghost", NULL) == NULL);
}

static void test_platform_of(struct cloud *cloud)
{
    int ops = trace_lines();
    /* run=local: known to this kernel on "aws" without touching a platform */
    json_t *result = define(cloud, "linked", "def linked(request, context):\n    return 1\n",
                            "{\"platforms\": \"aws\", \"run\": \"local\"}");
    CHECK(strcmp(str(result, "status"), "ok") == 0 && strcmp(str(result, "run"), "local") == 0);
    CHECK(strncmp(first_line(result), "aws: runs in the notebook, not deployed: linked (", 49) == 0);
    json_decref(result);
    CHECK(trace_lines() == ops);

    char a[CLOUD_PLATFORM_NAME_SIZE], b[CLOUD_PLATFORM_NAME_SIZE], none[CLOUD_PLATFORM_NAME_SIZE];
    cloud_platform_of(cloud, "double", a, sizeof a);
    cloud_platform_of(cloud, "linked", b, sizeof b);
    cloud_platform_of(cloud, "unheard_of", none, sizeof none);
    CHECK(strcmp(a, "local") == 0);
    CHECK(strcmp(b, "aws") == 0);
    CHECK(strcmp(none, "local") == 0); /* the default platform */
    char tiny[3];
    cloud_platform_of(cloud, "double", tiny, sizeof tiny);
    CHECK(strcmp(tiny, "lo") == 0); /* cut to the caller's buffer */

    /* Another kernel in the same folder knows them only from the state on
     * disk: one on local (deployed above) and one recorded on aws. */
    struct deploy_record record = {.memory_mb = 128, .timeout_s = 30};
    snprintf(record.code_hash, sizeof record.code_hash, "%064d", 1);
    snprintf(record.config_hash, sizeof record.config_hash, "%064d", 2);
    snprintf(record.deployed_at, sizeof record.deployed_at, "2024-01-01T00:00:00Z");
    snprintf(record.function, sizeof record.function, "faraway");
    char err[512];
    CHECK(deploy_state_write(workdir, "aws", "faraway", &record, err, sizeof err) == 0);
    struct cloud *other = cloud_new(reactor, workdir, "/usr/bin/python3");
    CHECK(other != NULL);
    if (other != NULL) {
        char first[CLOUD_PLATFORM_NAME_SIZE], second[CLOUD_PLATFORM_NAME_SIZE];
        cloud_platform_of(other, "faraway", first, sizeof first);
        cloud_platform_of(other, "double", second, sizeof second);
        CHECK(strcmp(first, "aws") == 0);
        CHECK(strcmp(second, "local") == 0);
        cloud_platform_of(other, "linked", first, sizeof first); /* nothing on disk: the default */
        CHECK(strcmp(first, "local") == 0);
        json_t *described = cloud_describe(other, "double", NULL);
        CHECK(strcmp(str(described, "platform"), "local") == 0 && strcmp(str(described, "code_hash"), hash_v2) == 0);
        CHECK(json_integer_value(json_object_get(described, "memory_mb")) == 512);
        json_decref(described);
        cloud_free(other);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/.faaset/state/aws/faraway.json", workdir);
    CHECK(deploy_state_remove(workdir, "aws", "faraway", err, sizeof err) == 0 && access(path, F_OK) < 0);
}

static void test_list(struct cloud *cloud)
{
    json_t *list = cloud_list(cloud);
    CHECK(json_array_size(list) == 2); /* boom and double, sorted by name */
    CHECK(strcmp(str(json_array_get(list, 0), "name"), "boom") == 0);
    CHECK(strcmp(str(json_array_get(list, 1), "name"), "double") == 0);
    CHECK(strcmp(str(json_array_get(list, 1), "calls"), "local") == 0);
    CHECK(json_integer_value(json_object_get(json_array_get(list, 1), "memory_mb")) == 512);
    json_decref(list);
    json_t *names = cloud_function_names(cloud);
    CHECK(json_array_size(names) == 3); /* double, boom, linked */
    json_decref(names);
}

static void test_delete(struct cloud *cloud)
{
    int ops = trace_lines();
    struct called c;
    memset(&c, 0, sizeof c);
    cloud_delete(cloud, "double", NULL, on_called, &c);
    run_until(&c.done);
    CHECK(c.done && c.ok);
    const char *prefix = "local: deleted double in ";
    size_t length = strlen(c.line);
    CHECK(strncmp(c.line, prefix, strlen(prefix)) == 0 && length > strlen(prefix) + 3 &&
          strcmp(c.line + length - 3, " ms") == 0);
    called_free(&c);
    CHECK(trace_lines() == ops + 1 && trace_last_is("local", "remove", "double"));
    CHECK(state_file("local", "double", NULL) == NULL);
    char folder[512];
    snprintf(folder, sizeof folder, "%s/.faaset/local/double", workdir);
    CHECK(access(folder, F_OK) < 0 && errno == ENOENT);
    json_t *state = state_file("local", "boom", NULL); /* the other function stays */
    CHECK(state != NULL);
    json_decref(state);

    call(cloud, "double", NULL, "{\"x\": 1}", &c);
    CHECK(!c.ok && strcmp(c.error_type, "NotDeployed") == 0);
    called_free(&c);
    cloud_delete(cloud, "double", NULL, on_called, &c);
    run_until(&c.done);
    CHECK(!c.ok && strcmp(c.error_type, "NotDeployed") == 0 &&
          strcmp(c.message, "double is not deployed on the local platform") == 0);
    called_free(&c);
    ops = trace_lines();
    cloud_delete(cloud, "two words", NULL, on_called, &c);
    CHECK(c.done && !c.ok && strcmp(c.error_type, "UsageError") == 0);
    called_free(&c);
    cloud_delete(cloud, "boom", "nosuch", on_called, &c);
    CHECK(c.done && !c.ok && strcmp(c.error_type, "PlatformUnavailable") == 0);
    called_free(&c);
    CHECK(trace_lines() == ops);

    /* the cell run again deploys it anew */
    json_t *result = define(cloud, "double", double_v2, "{\"memory\": \"512\"}");
    CHECK(line_is(first_line(result), "local: deployed double", hash_v2));
    json_decref(result);
    call(cloud, "double", NULL, "{\"x\": 50}", &c);
    CHECK(c.ok && json_integer_value(json_object_get(c.result, "x")) == 100);
    called_free(&c);
}

/* No Event call is in flight on a new kernel's platforms; a notice left in
 * the folder is taken once, and is private. */
static void test_notice(struct cloud *cloud)
{
    char where[64] = "unset";
    CHECK(cloud_events_in_flight(cloud, where, sizeof where) == 0 && where[0] == '\0');
    CHECK(cloud_take_notice(cloud) == NULL);
    cloud_leave_notice(cloud, "2 Event calls on gcf had not been sent\n");
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/.faaset/notice", workdir);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    char *notice = cloud_take_notice(cloud);
    CHECK(notice != NULL && strcmp(notice, "2 Event calls on gcf had not been sent\n") == 0);
    free(notice);
    CHECK(cloud_take_notice(cloud) == NULL && stat(path, &st) < 0);
}

int main(void)
{
    if (mkdtemp(workdir) == NULL || mkdtemp(trace_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(trace_path, sizeof trace_path, "%s/trace.jsonl", trace_dir);
    setenv("FAASET_TRACE_PLATFORM", trace_path, 1);
    reactor = reactor_new();
    struct cloud *cloud = reactor ? cloud_new(reactor, workdir, "/usr/bin/python3") : NULL;
    CHECK(cloud != NULL);
    if (cloud != NULL) {
        CHECK(strcmp(cloud_default_platform(cloud), "local") == 0);
        test_define(cloud);
        test_call(cloud);
        test_shown();
        test_set_memory(cloud);
        test_platform_of(cloud);
        test_list(cloud);
        test_delete(cloud);
        test_notice(cloud);
        cloud_free(cloud);
    }
    reactor_free(reactor);
    fsutil_remove_tree(workdir);
    fsutil_remove_tree(trace_dir);
    return check_report();
}
