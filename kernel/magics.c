/* magics: routing and the kernel-answered magics (see magics.h). */
#include "magics.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "cloud.h"
#include "cloud_options.h"
#include "dispatcher_private.h"
#include "experiments.h"
#include "log.h"
#include "platform.h"
#include "suggest.h"
#include "utf8.h"

struct magic_help {
    const char *name;     /* as typed, with its % signs */
    const char *usage;
    const char *text;
};

static const struct magic_help magic_helps[] = {
    {"%%cloud_function", "%%cloud_function [key=value ...]",
     "Deploys the function defined in the cell and binds its name to a callable that runs it on a platform.\n"
     "The body is Python with one top-level `def NAME(request, context)`; what stands before it (imports,\n"
     "helpers, constants) is packaged with it; statements after it run in the notebook once it is deployed.\n"
     "Only what changed is deployed: the same code and options make no platform call at all.\n\n"
     "Options:\n"
     "  platforms=local,aws   where to deploy (default: the %platform default, else local)\n"
     "  memory=MB             128 to 10240 (default 128)\n"
     "  timeout=S             1 to 900 seconds (default 30)\n"
     "  arch=x86_64|arm64     (default x86_64)\n"
     "  runtime=python3.12    python3.8 to python3.13\n"
     "  name=NAME             deploy under another name than the def's\n"
     "  deploy=false          link to a function that already exists: deploy nothing\n"
     "  remote=NAME_OR_ARN    the platform's name for it (with deploy=false: an existing Lambda function)\n"
     "  image=URI             deploy a container image instead of the zip (aws)\n"
     "  force=true            deploy even if nothing changed\n"
     "  run=cloud|local       where calls run: local runs the def in the notebook, deploying nothing\n"
     "  env=KEY=V;KEY2=V2     environment variables of the function\n\n"
     "The same works in plain Python cells with FaaSET's decorator:\n"
     "  @cloud_function(memory=256, platforms=[Platform.LOCAL])\n"
     "  def hello(request, context): ...\n"
     "Calls: hello(request) returns the result; hello.invoke(request, event=True) queues an Event call (aws)."},
    {"%invoke", "%invoke NAME JSON",
     "Calls the cloud function NAME with the JSON payload and shows its result.\n"
     "The kernel adds roundTripTime (ms, measured here) and latency (roundTripTime minus the function's own\n"
     "runtime)."},
    {"%%invoke", "%%invoke NAME",
     "Like %invoke, with the JSON payload as the cell's body."},
    {"%%experiment", "%%experiment FUNCTION [FUNCTION2 ...]",
     "Runs a FaaS Runner experiment (the cell's JSON body) against a deployed function, or a pipeline.\n"
     "Keys: runs, threads (how many at once), iterations, payloads, parentPayload, payloadFolder,\n"
     "shufflePayloads, randomSeed, sleepTime, memorySettings, warmupBuffer, experimentName and FaaS Runner's\n"
     "grouping keys. Every run is a row in faaset-results/FUNCTION/NAME-TIME/ (runs.csv, runs.jsonl), written\n"
     "as it completes; a progress display updates in place and a summary ends the cell. Interrupt stops it\n"
     "within two seconds, keeping every finished row. With several functions each run goes through them in\n"
     "turn (3_pipeline_stage); passPayloads feeds each result to the next, renamed by transitions."},
    {"%experiment", "%experiment FUNCTION [FUNCTION2 ...] FILE.json",
     "Like %%experiment, with the experiment read from a FaaS Runner experiment file."},
    {"%results", "%results [NAME [NAME2]]",
     "Shows a past experiment again from its rows on disk: the newest, or the newest named NAME.\n"
     "With two names, compares them side by side. An experiment cut short by a killed kernel shows what was saved."},
    {"%platform", "%platform [NAME [key=value ...]]",
     "Sets the default platform for %%cloud_function and its settings; without arguments, shows it.\n"
     "Credentials are never written in the notebook: each platform reads its usual files and variables.\n"
     "local settings: concurrency=N (workers per function, default 50), python=PATH.\n"
     "aws settings: profile=NAME, region=REGION, role=arn:aws:iam::ACCOUNT:role/NAME (for new functions),\n"
     "endpoint=URL (LocalStack and the like). Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /\n"
     "AWS_SESSION_TOKEN or the profile in ~/.aws/credentials and ~/.aws/config, as for the AWS CLI."},
    {"%delete", "%delete NAME [PLATFORM]",
     "Deletes the function NAME from its platform (the one its calls go to, or PLATFORM) and forgets its\n"
     "deploy state there; running its cell again deploys it anew."},
    {"%functions", "%functions",
     "Lists every function deployed from this folder.\n"
     "For each platform: code and configuration hashes, memory, timeout, last deploy, and where calls go."},
    {"%help", "%help [MAGIC]",
     "Explains the magics; `?%%cloud_function` or `%%cloud_function?` opens one in the pager."},
};

#define MAGIC_COUNT (sizeof magic_helps / sizeof magic_helps[0])

static const struct magic_help *magics_find(const char *name, size_t len)
{
    for (size_t i = 0; i < MAGIC_COUNT; i++)
        if (strlen(magic_helps[i].name) == len && strncmp(magic_helps[i].name, name, len) == 0)
            return &magic_helps[i];
    return NULL;
}

/* ---- output helpers -------------------------------------------------------- */

static void magics_stream(struct dispatcher *d, const char *text)
{
    dispatcher_publish(d, "stream", d->current->header, json_pack("{s:s, s:s}", "name", "stdout", "text", text));
}

static void magics_ok(struct dispatcher *d, json_t *payload)
{
    json_t *frame = json_pack("{s:s, s:o}", "status", "ok", "payload", payload ? payload : json_array());
    bridge_finish_execute(d, frame);
    json_decref(frame);
}

static json_t *magics_page(const char *text)
{
    return json_pack("[{s:s, s:{s:s}, s:i}]", "source", "page", "data", "text/plain", text, "start", 0);
}

static char *magics_help_text(const struct magic_help *help)
{
    char *text = NULL;
    if (asprintf(&text, "%s\n\n%s\n", help->usage, help->text) < 0)
        return NULL;
    return text;
}

/* ---- %help and the pager --------------------------------------------------- */

static void magics_help(struct dispatcher *d, const char *topic)
{
    if (*topic) {
        char name[64];
        snprintf(name, sizeof name, "%s%s", topic[0] == '%' ? "" : "%", topic);
        const struct magic_help *help = magics_find(name, strlen(name));
        if (help == NULL) {
            snprintf(name, sizeof name, "%%%%%s", topic[0] == '%' ? topic + 1 : topic);
            help = magics_find(name, strlen(name));
        }
        if (help == NULL) {
            char evalue[160];
            snprintf(evalue, sizeof evalue, "no magic named %s; %%help lists them all", topic);
            bridge_fail(d, "UnknownMagic", evalue);
            return;
        }
        char *text = magics_help_text(help);
        magics_ok(d, magics_page(text ? text : ""));
        free(text);
        return;
    }
    struct buffer text = {0};
    buffer_puts(&text, "FaaSET magics (plain cells are Python):\n\n");
    for (size_t i = 0; i < MAGIC_COUNT; i++)
        buffer_printf(&text, "  %-36s %.*s\n", magic_helps[i].usage, (int)strcspn(magic_helps[i].text, ".\n"),
                      magic_helps[i].text);
    buffer_puts(&text, "\n%help NAME or ?%%cloud_function explains one.\n");
    magics_stream(d, text.failed ? "out of memory\n" : text.data);
    buffer_free(&text);
    magics_ok(d, NULL);
}

/* `?%%cloud_function`, `%%cloud_function?`, `%invoke??`: the magic's help in the pager. */
static int magics_pager_request(const char *code, char *topic, size_t topic_size)
{
    const char *start = code;
    while (isspace((unsigned char)*start))
        start++;
    size_t len = strlen(start);
    while (len > 0 && isspace((unsigned char)start[len - 1]))
        len--;
    size_t leading = strspn(start, "?");
    size_t trailing = 0;
    while (trailing < len && start[len - 1 - trailing] == '?')
        trailing++;
    if ((leading == 0) == (trailing == 0))
        return 0;
    const char *name = start + leading;
    size_t name_len = len - leading - trailing;
    if (name_len < 2 || name[0] != '%' || name_len >= topic_size || memchr(name, '\n', name_len) != NULL)
        return 0;
    snprintf(topic, topic_size, "%.*s", (int)name_len, name);
    return 1;
}

/* ---- %platform and %functions ---------------------------------------------- */

static void magics_platform(struct dispatcher *d, const char *args)
{
    char name[32] = "";
    int consumed = 0;
    if (sscanf(args, "%31s%n", name, &consumed) != 1) {
        char text[128];
        snprintf(text, sizeof text, "Default platform: %s\n", cloud_default_platform(d->cloud));
        magics_stream(d, text);
        magics_ok(d, NULL);
        return;
    }
    char err[512];
    json_t *settings = cloud_options_from_line(args + consumed, err, sizeof err);
    if (settings == NULL) {
        bridge_fail(d, "InvalidSetting", err);
        return;
    }
    char message[512];
    int rc = cloud_set_platform(d->cloud, name, settings, message, sizeof message);
    json_decref(settings);
    if (rc < 0) {
        bridge_fail(d, "InvalidSetting", message);
        return;
    }
    strncat(message, "\n", sizeof message - strlen(message) - 1);
    magics_stream(d, message);
    magics_ok(d, NULL);
}

static void magics_html_escape(struct buffer *out, const char *text)
{
    for (; text != NULL && *text; text++) {
        const char *entity = *text == '<' ? "&lt;" : *text == '>' ? "&gt;" : *text == '&' ? "&amp;" : NULL;
        if (entity != NULL)
            buffer_puts(out, entity);
        else
            buffer_append(out, text, 1);
    }
}

static void magics_functions(struct dispatcher *d)
{
    json_t *list = cloud_list(d->cloud);
    struct buffer html = {0}, text = {0};
    buffer_puts(&html, "<table><thead><tr><th>function</th><th>platform</th><th>code</th><th>config</th>"
                       "<th>memory</th><th>timeout</th><th>last deploy</th><th>calls go to</th></tr></thead><tbody>");
    buffer_printf(&text, "%-20s %-9s %-8s %-8s %6s %7s  %-27s %s\n", "function", "platform", "code", "config", "memory",
                  "timeout", "last deploy", "calls go to");
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *name = json_string_value(json_object_get(item, "name")) ?: "";
        const char *platform = json_string_value(json_object_get(item, "platform")) ?: "";
        const char *code = json_string_value(json_object_get(item, "code_hash")) ?: "";
        const char *config = json_string_value(json_object_get(item, "config_hash")) ?: "";
        const char *when = json_string_value(json_object_get(item, "deployed_at")) ?: "";
        const char *calls = json_string_value(json_object_get(item, "calls")) ?: "";
        int memory = (int)json_integer_value(json_object_get(item, "memory_mb"));
        int timeout = (int)json_integer_value(json_object_get(item, "timeout_s"));
        buffer_puts(&html, "<tr><td>");
        magics_html_escape(&html, name);
        buffer_printf(&html, "</td><td>%s</td><td><code>%.8s</code></td><td><code>%.8s</code></td>"
                             "<td>%d MB</td><td>%d s</td><td>%s</td><td>", platform, code, config, memory, timeout, when);
        magics_html_escape(&html, calls);
        buffer_puts(&html, "</td></tr>");
        buffer_printf(&text, "%-20s %-9s %-8.8s %-8.8s %6d %7d  %-27s %s\n", name, platform, code, config, memory,
                      timeout, when, calls);
    }
    buffer_puts(&html, "</tbody></table>");
    if (json_array_size(list) == 0) {
        buffer_clear(&text);
        buffer_puts(&text, "No functions deployed from this folder yet: define one with %%cloud_function.\n");
    }
    json_decref(list);
    if (html.failed || text.failed) {
        bridge_fail(d, "OutOfMemory", "cannot list the functions");
    } else {
        dispatcher_publish(d, "display_data", d->current->header,
                           json_pack("{s:{s:s, s:s}, s:{}}", "data", "text/html", html.data, "text/plain", text.data,
                                     "metadata"));
        magics_ok(d, NULL);
    }
    buffer_free(&html);
    buffer_free(&text);
}

/* ---- %invoke ------------------------------------------------------------------ */

struct magics_invoke {
    struct dispatcher *d;
    char msg_id[128];
};

/* 1 when CALL's cell is still the one running (not interrupted meanwhile). */
static int magics_call_is_current(const struct magics_invoke *call)
{
    struct dispatcher *d = call->d;
    const char *current_id = d->current ? json_string_value(json_object_get(d->current->header, "msg_id")) : NULL;
    return current_id != NULL && strcmp(current_id, call->msg_id) == 0;
}

static void magics_on_invoke(void *ctx, json_t *result)
{
    struct magics_invoke *call = ctx;
    struct dispatcher *d = call->d;
    if (result == NULL || !magics_call_is_current(call)) {
        json_decref(result); /* the cell was interrupted meanwhile */
        free(call);
        return;
    }
    d->kernel_call_pending = 0;
    const char *status = json_string_value(json_object_get(result, "status"));
    if (status != NULL && strcmp(status, "ok") == 0) {
        json_t *value = json_object_get(result, "result");
        json_t *shown = json_is_object(value) ? json_deep_copy(value) : json_incref(value);
        double round_trip = json_number_value(json_object_get(result, "roundTripTime"));
        json_t *runtime = json_object_get(value, "runtime");
        if (json_is_object(shown)) {
            json_object_set_new(shown, "roundTripTime", json_real(round_trip));
            if (json_is_number(runtime))
                json_object_set_new(shown, "latency", json_real(round_trip - json_number_value(runtime)));
        }
        char *pretty = json_dumps(shown, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(16));
        json_t *data = json_pack("{s:s}", "text/plain", pretty ? pretty : "null");
        if (json_is_object(shown) || json_is_array(shown))
            json_object_set(data, "application/json", shown);
        dispatcher_publish(d, "execute_result", d->current->header,
                           json_pack("{s:i, s:o, s:{}}", "execution_count", d->execution_count, "data", data,
                                     "metadata"));
        free(pretty);
        json_decref(shown);
        magics_ok(d, NULL);
    } else {
        const char *ename = json_string_value(json_object_get(result, "ename"));
        const char *evalue = json_string_value(json_object_get(result, "evalue"));
        json_t *traceback = json_array();
        json_t *remote = json_object_get(result, "traceback");
        if (json_array_size(remote) > 0) {
            json_array_append_new(traceback, json_string("Remote traceback:"));
            json_array_extend(traceback, remote);
        }
        char last[1200];
        snprintf(last, sizeof last, "%s: %s", ename ? ename : "Error", evalue ? evalue : "");
        json_array_append_new(traceback, json_string(last));
        json_t *frame = json_pack("{s:s, s:s, s:s, s:o}", "status", "error", "ename", ename ? ename : "Error", "evalue",
                                  evalue ? evalue : "", "traceback", traceback);
        dispatcher_publish(d, "error", d->current->header,
                           json_pack("{s:O, s:O, s:O}", "ename", json_object_get(frame, "ename"), "evalue",
                                     json_object_get(frame, "evalue"), "traceback", json_object_get(frame, "traceback")));
        bridge_finish_execute(d, frame);
        json_decref(frame);
    }
    json_decref(result);
    free(call);
    dispatcher_process_queue(d);
}

static void magics_invoke(struct dispatcher *d, const char *name, size_t name_len, const char *json_text)
{
    char function[65];
    if (name_len == 0 || name_len >= sizeof function) {
        bridge_fail(d, "UsageError", "usage: %invoke NAME JSON (or %%invoke NAME with a JSON body)");
        return;
    }
    snprintf(function, sizeof function, "%.*s", (int)name_len, name);
    json_error_t json_err;
    json_t *payload = *json_text ? json_loads(json_text, JSON_DECODE_ANY, &json_err) : json_object();
    if (payload == NULL) {
        char evalue[400];
        snprintf(evalue, sizeof evalue, "the payload of %s is not valid JSON: %s (line %d, column %d)", function,
                 json_err.text, json_err.line, json_err.column);
        bridge_fail(d, "InvalidJSON", evalue);
        return;
    }
    struct magics_invoke *call = calloc(1, sizeof *call);
    json_t *upcall = json_pack("{s:s, s:o}", "function", function, "payload", payload);
    if (call == NULL || upcall == NULL) {
        free(call);
        json_decref(upcall);
        bridge_fail(d, "OutOfMemory", "cannot start the call");
        return;
    }
    call->d = d;
    snprintf(call->msg_id, sizeof call->msg_id, "%s", json_string_value(json_object_get(d->current->header, "msg_id")));
    d->kernel_call_pending = 1;
    cloud_invoke(d->cloud, upcall, magics_on_invoke, call);
    json_decref(upcall);
}

/* ---- %delete ------------------------------------------------------------------ */

static void magics_on_delete(void *ctx, json_t *result)
{
    struct magics_invoke *call = ctx;
    struct dispatcher *d = call->d;
    if (result == NULL || !magics_call_is_current(call)) {
        json_decref(result);
        free(call);
        return;
    }
    d->kernel_call_pending = 0;
    const char *status = json_string_value(json_object_get(result, "status"));
    if (status != NULL && strcmp(status, "ok") == 0) {
        char line[800];
        snprintf(line, sizeof line, "%s\n", json_string_value(json_object_get(result, "line")) ?: "deleted");
        magics_stream(d, line);
        magics_ok(d, NULL);
    } else {
        bridge_fail(d, json_string_value(json_object_get(result, "ename")) ?: "Error",
                    json_string_value(json_object_get(result, "evalue")) ?: "");
    }
    json_decref(result);
    free(call);
    dispatcher_process_queue(d);
}

/* `%delete NAME [PLATFORM]`. */
static void magics_delete(struct dispatcher *d, const char *args)
{
    char name[65] = "", platform[17] = "", extra[2] = "";
    int count = sscanf(args, "%64s %16s %1s", name, platform, extra);
    if (count < 1 || count > 2) {
        bridge_fail(d, "UsageError", "usage: %delete NAME [PLATFORM]");
        return;
    }
    if (count == 2 && !platforms_is_known(platform)) {
        char evalue[200];
        snprintf(evalue, sizeof evalue, "unknown platform '%s'; choose from %s", platform, platforms_known_names());
        bridge_fail(d, "UsageError", evalue);
        return;
    }
    struct magics_invoke *call = calloc(1, sizeof *call);
    if (call == NULL) {
        bridge_fail(d, "OutOfMemory", "cannot start the delete");
        return;
    }
    call->d = d;
    snprintf(call->msg_id, sizeof call->msg_id, "%s", json_string_value(json_object_get(d->current->header, "msg_id")));
    d->kernel_call_pending = 1;
    cloud_delete(d->cloud, name, count == 2 ? platform : NULL, magics_on_delete, call);
}

/* ---- routing ----------------------------------------------------------------- */

/* Splits "%name rest" at the end of the name. */
static size_t magics_name_length(const char *text)
{
    size_t n = strspn(text, "%");
    while (isalnum((unsigned char)text[n]) || text[n] == '_')
        n++;
    return n;
}

/* The cell holds one line magic and nothing else but blank and comment lines. */
static int magics_single_line(const char *code, const char **line, size_t *line_len)
{
    const char *found = NULL;
    size_t found_len = 0;
    for (const char *p = code; *p;) {
        size_t len = strcspn(p, "\n");
        const char *text = p;
        while (text < p + len && isspace((unsigned char)*text))
            text++;
        if (text < p + len && *text != '#') {
            if (found != NULL || *text != '%')
                return 0;
            found = text;
            found_len = (size_t)(p + len - text);
        }
        p += len + (p[len] == '\n');
    }
    *line = found;
    *line_len = found_len;
    return found != NULL;
}

/* CODE is the cell from its `%%` line on; BODY_LINE is the cell's line
 * number of the line after it (blank lines may stand above the magic). */
static enum magics_outcome magics_cell(struct dispatcher *d, const struct message *msg, const char *code,
                                       int body_line, json_t **request)
{
    const char *first_line_end = strchr(code, '\n');
    size_t first_len = first_line_end ? (size_t)(first_line_end - code) : strlen(code);
    size_t name_len = magics_name_length(code);
    char args[4096];
    snprintf(args, sizeof args, "%.*s", (int)(first_len - name_len), code + name_len);
    const char *body = first_line_end ? first_line_end + 1 : "";
    if (name_len == 16 && strncmp(code, "%%cloud_function", 16) == 0) {
        char err[512];
        json_t *options = cloud_options_from_line(args, err, sizeof err);
        if (options == NULL) {
            bridge_fail(d, "InvalidOption", err);
            return MAGICS_HANDLED;
        }
        const json_t *content = msg->content;
        *request = json_pack("{s:s, s:O, s:s, s:i, s:o, s:i, s:O?, s:O?, s:O?}", "type", "cloud_function", "code",
                             json_object_get(content, "code"), "body", body, "body_line", body_line, "options", options,
                             "execution_count", d->execution_count, "silent", json_object_get(content, "silent"),
                             "store_history", json_object_get(content, "store_history"), "allow_stdin",
                             json_object_get(content, "allow_stdin"));
        return MAGICS_RUNTIME_REQUEST;
    }
    if (name_len == 12 && strncmp(code, "%%experiment", 12) == 0) {
        const char *names = args + strspn(args, " \t");
        char function[1100]; /* one function, or a pipeline: several */
        snprintf(function, sizeof function, "%.1000s", names);
        function[strcspn(function, "#")] = '\0';
        json_error_t json_err;
        json_t *experiment = *body ? json_loads(body, 0, &json_err) : json_object();
        if (function[0] == '\0') {
            bridge_fail(d, "UsageError", "usage: %%experiment FUNCTION, with the experiment as the cell's JSON body");
        } else if (experiment == NULL) {
            char evalue[400];
            snprintf(evalue, sizeof evalue, "the experiment is not valid JSON: %s (line %d of the body, column %d)",
                     json_err.text, json_err.line, json_err.column);
            bridge_fail(d, "InvalidJSON", evalue);
        } else {
            experiments_start(d, function, experiment, NULL);
        }
        json_decref(experiment);
        return MAGICS_HANDLED;
    }
    if (name_len == 8 && strncmp(code, "%%invoke", 8) == 0) {
        const char *name = args + strspn(args, " \t");
        magics_invoke(d, name, strcspn(name, " \t"), body);
        return MAGICS_HANDLED;
    }
    char evalue[200];
    const char *names[MAGIC_COUNT + 1];
    for (size_t i = 0; i < MAGIC_COUNT; i++)
        names[i] = magic_helps[i].name;
    names[MAGIC_COUNT] = NULL;
    char typed[64];
    snprintf(typed, sizeof typed, "%.*s", (int)(name_len < 63 ? name_len : 63), code);
    const char *nearest = suggest_nearest(typed, names);
    snprintf(evalue, sizeof evalue, "%s is not a faaset cell magic%s%s%s; %%help lists them", typed,
             nearest ? " (did you mean " : "", nearest ? nearest : "", nearest ? "?)" : "");
    bridge_fail(d, "UnknownMagic", evalue);
    return MAGICS_HANDLED;
}

/* %experiment FUNCTION [FUNCTION2 ...] FILE.json */
static void magics_experiment_file(struct dispatcher *d, const char *args)
{
    char function[1100] = "", path[4096] = "";
    const char *last = args + strlen(args);
    while (last > args && (last[-1] == ' ' || last[-1] == '\t'))
        last--;
    const char *file = last;
    while (file > args && file[-1] != ' ' && file[-1] != '\t')
        file--;
    snprintf(path, sizeof path, "%.*s", (int)(last - file), file);
    snprintf(function, sizeof function, "%.*s", (int)(file - args < 1000 ? file - args : 1000), args);
    if (path[0] == '\0' || strspn(function, " \t") == strlen(function)) {
        bridge_fail(d, "UsageError", "usage: %experiment FUNCTION [FUNCTION2 ...] path/to/experiment.json");
        return;
    }
    json_error_t json_err;
    json_t *experiment = json_load_file(path, 0, &json_err);
    if (experiment == NULL) {
        char evalue[600];
        snprintf(evalue, sizeof evalue, "cannot read the experiment file %.300s: %s (line %d)", path, json_err.text,
                 json_err.line);
        bridge_fail(d, "InvalidExperiment", evalue);
        return;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char hint[128];
    snprintf(hint, sizeof hint, "%.*s", (int)(strstr(base, ".json") ? (size_t)(strstr(base, ".json") - base) : strlen(base)),
             base);
    experiments_start(d, function, experiment, hint);
    json_decref(experiment);
}

static enum magics_outcome magics_line(struct dispatcher *d, const char *line, size_t line_len)
{
    size_t name_len = magics_name_length(line);
    char name[64], args[8192];
    snprintf(name, sizeof name, "%.*s", (int)(name_len < 63 ? name_len : 63), line);
    snprintf(args, sizeof args, "%.*s", (int)(line_len - name_len), line + name_len);
    const char *rest = args + strspn(args, " \t");
    if (strcmp(name, "%invoke") == 0) {
        size_t function_len = strcspn(rest, " \t");
        magics_invoke(d, rest, function_len, rest + function_len + strspn(rest + function_len, " \t"));
    } else if (strcmp(name, "%results") == 0) {
        experiments_results(d, rest);
    } else if (strcmp(name, "%experiment") == 0) {
        magics_experiment_file(d, rest);
    } else if (strcmp(name, "%platform") == 0) {
        magics_platform(d, rest);
    } else if (strcmp(name, "%functions") == 0) {
        magics_functions(d);
    } else if (strcmp(name, "%delete") == 0) {
        magics_delete(d, rest);
    } else if (strcmp(name, "%help") == 0) {
        char topic[64];
        snprintf(topic, sizeof topic, "%.*s", (int)strcspn(rest, " \t"), rest);
        magics_help(d, topic);
    } else {
        const char *names[MAGIC_COUNT + 1];
        for (size_t i = 0; i < MAGIC_COUNT; i++)
            names[i] = magic_helps[i].name;
        names[MAGIC_COUNT] = NULL;
        const char *nearest = suggest_nearest(name, names);
        char evalue[200];
        snprintf(evalue, sizeof evalue, "%s is not a faaset magic%s%s%s; %%help lists them", name,
                 nearest ? " (did you mean " : "", nearest ? nearest : "", nearest ? "?)" : "");
        bridge_fail(d, "UnknownMagic", evalue);
    }
    return MAGICS_HANDLED;
}

enum magics_outcome magics_execute(struct dispatcher *d, const struct message *msg, json_t **request)
{
    const char *code = json_string_value(json_object_get(msg->content, "code"));
    if (code == NULL)
        return MAGICS_NOT_MAGIC;
    const char *start = code;
    while (*start == '\n' || *start == ' ' || *start == '\t' || *start == '\r')
        start++;
    char topic[64];
    if (magics_pager_request(code, topic, sizeof topic)) {
        magics_help(d, topic);
        return MAGICS_HANDLED;
    }
    if (strncmp(start, "%%", 2) == 0) {
        int body_line = 2;
        for (const char *c = code; c < start; c++)
            body_line += *c == '\n';
        return magics_cell(d, msg, start, body_line, request);
    }
    const char *line;
    size_t line_len;
    if (magics_single_line(code, &line, &line_len))
        return magics_line(d, line, line_len);
    return MAGICS_NOT_MAGIC;
}

/* ---- completion ---------------------------------------------------------------- */

static void magics_add_matches(json_t *matches, const char *prefix, size_t prefix_len, const char *const *words,
                               const char *suffix)
{
    for (size_t i = 0; words[i] != NULL; i++) {
        if (strncmp(words[i], prefix, prefix_len) == 0) {
            char match[128];
            snprintf(match, sizeof match, "%s%s", words[i], suffix);
            json_array_append_new(matches, json_string(match));
        }
    }
}

int magics_complete(struct dispatcher *d, const struct message *msg)
{
    const char *code = json_string_value(json_object_get(msg->content, "code"));
    json_t *pos = json_object_get(msg->content, "cursor_pos");
    if (code == NULL)
        return 0;
    /* cursor_pos counts code points: find its byte offset */
    size_t length = strlen(code), cursor = length;
    if (json_is_integer(pos))
        cursor = utf8_offset(code, length, json_integer_value(pos) > 0 ? (size_t)json_integer_value(pos) : 0);
    size_t line_start = cursor;
    while (line_start > 0 && code[line_start - 1] != '\n')
        line_start--;
    const char *line = code + line_start;
    if (*line != '%')
        return 0;
    size_t word_start = cursor;
    while (word_start > line_start && !isspace((unsigned char)code[word_start - 1]))
        word_start--;
    const char *word = code + word_start;
    size_t word_len = cursor - word_start;
    json_t *matches = json_array();
    if (word_start == line_start) {
        const char *names[MAGIC_COUNT + 1];
        for (size_t i = 0; i < MAGIC_COUNT; i++)
            names[i] = magic_helps[i].name;
        names[MAGIC_COUNT] = NULL;
        magics_add_matches(matches, word, word_len, names, "");
    } else if (strncmp(line, "%%cloud_function", 16) == 0 && memchr(word, '=', word_len) == NULL) {
        magics_add_matches(matches, word, word_len, cloud_option_keys, "=");
    } else if (strncmp(line, "%invoke ", 8) == 0 || strncmp(line, "%%invoke ", 9) == 0 ||
               strncmp(line, "%experiment ", 12) == 0 || strncmp(line, "%%experiment ", 13) == 0 ||
               strncmp(line, "%platform ", 10) == 0 || strncmp(line, "%delete ", 8) == 0) {
        json_t *names = strncmp(line, "%platform", 9) == 0 ? json_pack("[s,s,s,s,s,s,s]", "local", "aws", "gcf",
                                                                         "openwhisk", "ibm", "azure", "openfaas")
                                                            : cloud_function_names(d->cloud);
        size_t i;
        json_t *name;
        json_array_foreach(names, i, name) {
            if (strncmp(json_string_value(name), word, word_len) == 0)
                json_array_append(matches, name);
        }
        json_decref(names);
    }
    json_int_t points_start = (json_int_t)utf8_code_points(code, word_start);
    json_int_t points_end = points_start + (json_int_t)utf8_code_points(word, cursor - word_start);
    dispatcher_reply(d, CHANNEL_SHELL, msg, "complete_reply",
                     json_pack("{s:s, s:o, s:I, s:I, s:{}}", "status", "ok", "matches", matches, "cursor_start",
                               points_start, "cursor_end", points_end, "metadata"));
    return 1;
}
