/* magics: routing and the kernel-answered magics (see magics.h). */
#include "magics.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "cloud.h"
#include "cloud_options.h"
#include "experiment.h"
#include "experiments.h"
#include "fsutil.h"
#include "requests.h"
#include "log.h"
#include "platform.h"
#include "utf8.h"

/* The magics' handlers, one per magic: a line magic gets the rest of its
 * line; a cell magic gets its first line's arguments and the body below it
 * (BODY_LINE: the cell's line number of the body's first line). */
typedef void (*magics_line_fn)(const struct magics_context *m, const char *args);
typedef enum magics_outcome (*magics_cell_fn)(const struct magics_context *m, const struct message *msg,
                                              const char *args, const char *body, int body_line, json_t **request);

static enum magics_outcome magics_cloud_function_cell(const struct magics_context *m, const struct message *msg,
                                                      const char *args, const char *body, int body_line,
                                                      json_t **request);
static enum magics_outcome magics_experiment_cell(const struct magics_context *m, const struct message *msg,
                                                  const char *args, const char *body, int body_line, json_t **request);
static enum magics_outcome magics_invoke_cell(const struct magics_context *m, const struct message *msg,
                                              const char *args, const char *body, int body_line, json_t **request);
static void magics_invoke_line(const struct magics_context *m, const char *args);
static void magics_experiment_file(const struct magics_context *m, const char *args);
static void magics_results(const struct magics_context *m, const char *args);
static void magics_platform(const struct magics_context *m, const char *args);
static void magics_delete(const struct magics_context *m, const char *args);
static void magics_functions(const struct magics_context *m, const char *args);
static void magics_help(const struct magics_context *m, const char *args);

static const struct magic {
    const char *name;     /* as typed, with its % signs */
    const char *usage;
    const char *text;
    magics_line_fn line;  /* one of the two */
    magics_cell_fn cell;
} magics_table[] = {
    {"%%cloud_function", "%%cloud_function [key=value ...]",
     "Deploys the function defined in the cell and binds its name to a callable that runs it on a platform.\n"
     "The body is Python with one top-level `def NAME(request, context)`; what stands before it (imports,\n"
     "helpers, constants) is packaged with it; statements after it run in the notebook once it is deployed.\n"
     "Only what changed is deployed: the same code and options make no platform call at all.\n\n"
     "Options:\n"
     "  platforms=local,aws   where to deploy: local, aws, gcf, ibm (alias openwhisk), openfaas, azure\n"
     "                        (default: the %platform default, else local)\n"
     "  memory=MB             128 to 10240 (default 128)\n"
     "  timeout=S             1 to 900 seconds (default 30)\n"
     "  arch=x86_64|arm64     (default x86_64; architecture= is the same option)\n"
     "  runtime=python3.12    python3.8 to python3.13 (ibm: the kind python:3.N)\n"
     "  name=NAME             deploy under another name than the def's\n"
     "  deploy=false          link to a function that already exists: deploy nothing\n"
     "  remote=NAME_OR_ARN    the platform's name for it (with deploy=false: an existing Lambda function)\n"
     "  image=URI             deploy a container image instead of the zip (aws), or instead of the image the\n"
     "                        kernel builds (openfaas)\n"
     "  role=ARN              the execution role to create it with (aws; else %platform aws role=)\n"
     "  max_instances=N       at most N instances at once (gcf)\n"
     "  allow_unauthenticated=true|false  anyone may call it without a token, or not (gcf)\n"
     "  force=true            deploy even if nothing changed\n"
     "  run=cloud|local       where calls run: local runs the def in the notebook, deploying nothing\n"
     "  env=KEY=V;KEY2=V2     environment variables of the function\n"
     "  requirements=\"numpy==1.26.4 requests\"  packages the function imports (requirements.txt text;\n"
     "                        a list with the decorator), installed by pip for the target: Lambda's Python,\n"
     "                        architecture and manylinux wheels on aws, the runtime's Python on local\n"
     "  requirements_file=PATH a requirements.txt, relative to the notebook's folder\n"
     "  references=f,g        functions defined in the notebook (plain or cloud ones, from earlier cells),\n"
     "                        packaged before the cell's source so the function can call them there\n\n"
     "Dependencies are installed once per (requirements, target) into .faaset/deps beside the notebook; pip's own\n"
     "settings (PIP_INDEX_URL, PIP_FIND_LINKS, pip.conf, ...) apply. On aws they are a Lambda layer, published once\n"
     "and attached, so a code change uploads only the code. Interrupt stops pip.\n\n"
     "The same works in plain Python cells with FaaSET's decorator:\n"
     "  @cloud_function(memory=256, platforms=[Platform.LOCAL])\n"
     "  def hello(request, context): ...\n"
     "with FaaSET's config={...} (lambdaRoleARN, memory, timeout, ...) and references=[other, \"name\"]\n"
     "(packaged with it). FaaSET's own notebooks run too: `import FaaSET`, `import FaaSRunner`,\n"
     "`from platforms.jupyter.interactive_helpers import *` (see the README).\n"
     "SAAF: `from SAAF import Inspector`; the paper's `from Inspector import *` is accepted inside the def\n"
     "(rewritten to `from Inspector import Inspector`); any other `import *` in a def stays a SyntaxError.\n"
     "Calls: hello(request) returns the result; hello.invoke(request, event=True) returns without waiting for it:\n"
     "aws queues an Event call ({\"StatusCode\": 202}); gcf and azure send the call and answer\n"
     "{\"StatusCode\": 202} once it is sent (they have no queued calls for HTTP functions: the answer is only\n"
     "logged, so keep the kernel running until then); ibm starts a non-blocking activation, answered with its\n"
     "activationId; openfaas goes to /async-function; local refuses it.",
     NULL, magics_cloud_function_cell},
    {"%invoke", "%invoke NAME JSON",
     "Calls the cloud function NAME with the JSON payload and shows its result.\n"
     "The kernel adds roundTripTime (ms, measured here) and latency (roundTripTime minus the function's own\n"
     "runtime).",
     magics_invoke_line, NULL},
    {"%%invoke", "%%invoke NAME",
     "Like %invoke, with the JSON payload as the cell's body.",
     NULL, magics_invoke_cell},
    {"%%experiment", "%%experiment FUNCTION [FUNCTION2 ...]",
     "Runs a FaaS Runner experiment (the cell's JSON body) against a deployed function, or a pipeline.\n"
     "Keys: runs, threads (how many at once), iterations, payloads, parentPayload, payloadFolder,\n"
     "shufflePayloads, randomSeed, sleepTime, memorySettings, warmupBuffer, experimentName and FaaS Runner's\n"
     "grouping keys. Every run is a row in faaset-results/FUNCTION/NAME-TIME/ (runs.csv, runs.jsonl), written\n"
     "as it completes; a progress display updates in place and a summary ends the cell. Interrupt stops it\n"
     "within two seconds, keeping every finished row. With several functions each run goes through them in\n"
     "turn (3_pipeline_stage); passPayloads feeds each result to the next, renamed by transitions.\n"
     "platforms=aws,gcf runs the same runs on each platform (default: every platform the function is deployed\n"
     "to), all at once or with platform_order=sequential one after another; the summary compares them and says\n"
     "what the runs cost (runtime/prices.json, or faaset-prices.json beside the notebook).",
     NULL, magics_experiment_cell},
    {"%experiment", "%experiment FUNCTION [FUNCTION2 ...] FILE.json",
     "Like %%experiment, with the experiment read from a FaaS Runner experiment file.",
     magics_experiment_file, NULL},
    {"%results", "%results [NAME [NAME2]] [--save DIR]",
     "Shows a past experiment again from its rows on disk: the newest, or the newest named NAME.\n"
     "With two names, compares them side by side. An experiment cut short by a killed kernel shows what was saved.\n"
     "--save DIR writes the charts as SVG files into DIR (NAME-TIME-concurrency.svg, ...) and says where.",
     magics_results, NULL},
    {"%platform", "%platform [NAME [key=value ...]]",
     "Sets the default platform for %%cloud_function and its settings; without arguments, shows it.\n"
     "Credentials are never written in the notebook: each platform reads its usual files and variables.\n"
     "local settings: concurrency=N (workers per function, default 50), python=PATH.\n"
     "aws settings: profile=NAME, region=REGION, role=arn:aws:iam::ACCOUNT:role/NAME (for new functions),\n"
     "endpoint=URL (LocalStack and the like). Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /\n"
     "AWS_SESSION_TOKEN or the profile in ~/.aws/credentials and ~/.aws/config, as for the AWS CLI.\n"
     "gcf settings: project=PROJECT_ID, region=REGION (default us-central1), generation=1|2 (default 2),\n"
     "endpoint=URL (else GCF_ENDPOINT_URL). Credentials come from GOOGLE_APPLICATION_CREDENTIALS (a service-account\n"
     "key file) or `gcloud auth application-default login`, as for Google's client libraries.\n"
     "ibm (alias openwhisk: IBM Cloud Functions and any Apache OpenWhisk) settings: apihost=HOST_OR_URL,\n"
     "namespace=NS (default _, the key's own), kind=python:3.N (else from runtime=), max_memory=MB and\n"
     "max_timeout=S (the platform's limits, default IBM's 2048 MB and 600 s; Apache OpenWhisk's are 512 and 300).\n"
     "The key (UUID:KEY) comes from __OW_API_KEY or AUTH in ~/.wskprops (or the file WSK_CONFIG_FILE names), the\n"
     "host and namespace likewise from __OW_API_HOST / __OW_NAMESPACE or APIHOST / NAMESPACE, as for wsk.\n"
     "IAM-based namespaces (namespace=ID) take an IBM Cloud API key from iam_apikey_file=PATH, IBMCLOUD_API_KEY or\n"
     "IC_API_KEY, exchanged for IAM tokens (cached, refreshed) at iam_endpoint=URL (else IBMCLOUD_IAM_API_ENDPOINT,\n"
     "else https://iam.cloud.ibm.com).\n"
     "Memory on ibm is limits.memory (128 MB up to max_memory); calls are blocking activations, and every result\n"
     "carries its activationId.\n"
     "openfaas settings: gateway=URL (else OPENFAAS_URL, else http://127.0.0.1:8080), registry=HOST[:PORT]/PREFIX\n"
     "(where the kernel pushes each function's image, built without Docker; http://HOST for a plain-HTTP registry),\n"
     "image_base=IMAGE (default python:3.N-slim for the cell's runtime), ready_timeout=S (how long a deploy waits\n"
     "for a ready replica, default 120); a cell's registry= and image_base= win over them. The password comes from\n"
     "OPENFAAS_PASSWORD (user OPENFAAS_USERNAME, default admin) or faas-cli's config.yml (`faas-cli login`;\n"
     "OPENFAAS_CONFIG names its folder); the registry's from ~/.docker/config.json, DOCKER_CONFIG or\n"
     "REGISTRY_AUTH_FILE. Names become DNS labels (hello_world is hello-world); memory is limits.memory;\n"
     "hello.invoke(request, event=True) goes to /async-function.\n"

     "azure (Azure Functions) settings: subscription=ID (else AZURE_SUBSCRIPTION_ID), resource_group=NAME (else\n"
     "AZURE_RESOURCE_GROUP), app=NAME (the function app to deploy into; default: the app named after each function,\n"
     "which must exist: one app holds one function), publish_profile=PATH (else AZURE_PUBLISH_PROFILE: Kudu's\n"
     "user and password), management=URL, app_url= and scm_url= (patterns with {app}, for other clouds). The\n"
     "service principal comes from AZURE_CLIENT_ID / AZURE_CLIENT_SECRET / AZURE_TENANT_ID (AZURE_AUTHORITY_HOST\n"
     "for another authority), the function key from ARM's listkeys or AZURE_FUNCTION_KEY.\n"
     "Memory on azure is per app and only on the Flex Consumption plan: 512, 2048 (its default, and what the\n"
     "default memory=128 means there) or 4096 MB; the Consumption plan (1.5 GB instances, timeout at most 600 s),\n"
     "Premium and Dedicated plans have no memory setting, and memory= is an error naming the plan. The timeout is\n"
     "host.json's functionTimeout, so changing it uploads the package again; env= are app settings.",
     magics_platform, NULL},
    {"%delete", "%delete NAME [PLATFORM]",
     "Deletes the function NAME from its platform (the one its calls go to, or PLATFORM) and forgets its\n"
     "deploy state there; running its cell again deploys it anew.",
     magics_delete, NULL},
    {"%functions", "%functions",
     "Lists every function deployed from this folder.\n"
     "For each platform: code and configuration hashes, memory, timeout, last deploy, and where calls go.",
     magics_functions, NULL},
    {"%help", "%help [MAGIC]",
     "Explains the magics; `?%%cloud_function` or `%%cloud_function?` opens one in the pager.",
     magics_help, NULL},
};

#define MAGIC_COUNT (sizeof magics_table / sizeof magics_table[0])

static const struct magic *magics_find(const char *name, size_t len)
{
    for (size_t i = 0; i < MAGIC_COUNT; i++)
        if (strlen(magics_table[i].name) == len && strncmp(magics_table[i].name, name, len) == 0)
            return &magics_table[i];
    return NULL;
}

/* ---- output helpers -------------------------------------------------------- */

/* Publishes under the current cell. */
static void magics_publish(const struct magics_context *m, const char *msg_type, json_t *content)
{
    requests_publish(m->requests, requests_current(m->requests)->header, msg_type, content);
}

static void magics_stream(const struct magics_context *m, const char *text)
{
    magics_publish(m, "stream", json_pack("{s:s, s:s}", "name", "stdout", "text", text));
}

static void magics_ok(const struct magics_context *m, json_t *payload)
{
    json_t *frame = json_pack("{s:s, s:o}", "status", "ok", "payload", payload ? payload : json_array());
    requests_finish_execute(m->requests, frame);
    json_decref(frame);
}

static json_t *magics_page(const char *text)
{
    return json_pack("[{s:s, s:{s:s}, s:i}]", "source", "page", "data", "text/plain", text, "start", 0);
}

static char *magics_help_text(const struct magic *help)
{
    char *text = NULL;
    if (asprintf(&text, "%s\n\n%s\n", help->usage, help->text) < 0)
        return NULL;
    return text;
}

/* ---- %help and the pager --------------------------------------------------- */

/* A topic names a magic with or without its % signs (`%help cloud_function`). */
static void magics_help(const struct magics_context *m, const char *args)
{
    char topic[64];
    snprintf(topic, sizeof topic, "%.*s", (int)strcspn(args, " \t"), args);
    if (*topic) {
        char name[sizeof topic + 2];
        snprintf(name, sizeof name, "%s%s", topic[0] == '%' ? "" : "%", topic);
        const struct magic *help = magics_find(name, strlen(name));
        if (help == NULL) {
            snprintf(name, sizeof name, "%%%%%s", topic[0] == '%' ? topic + 1 : topic);
            help = magics_find(name, strlen(name));
        }
        if (help == NULL) {
            char evalue[160];
            snprintf(evalue, sizeof evalue, "no magic named %s; %%help lists them all", topic);
            requests_fail_execute(m->requests, "UnknownMagic", evalue);
            return;
        }
        char *text = magics_help_text(help);
        magics_ok(m, magics_page(text ? text : ""));
        free(text);
        return;
    }
    struct buffer text = {0};
    buffer_puts(&text, "FaaSET magics (plain cells are Python):\n\n");
    for (size_t i = 0; i < MAGIC_COUNT; i++)
        buffer_printf(&text, "  %-36s %.*s\n", magics_table[i].usage, (int)strcspn(magics_table[i].text, ".\n"),
                      magics_table[i].text);
    buffer_puts(&text, "\n%help NAME or ?%%cloud_function explains one.\n");
    magics_stream(m, text.failed ? "out of memory\n" : text.data);
    buffer_free(&text);
    magics_ok(m, NULL);
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

#define MAGICS_WORD_SIZE 256

/* The next blank-separated word of *TEXT into OUT (MAGICS_WORD_SIZE
 * bytes); *TEXT moves past it. Returns 1, 0 when there is none, or -1 when
 * it is too long for any name (OUT then holds its start). */
static int magics_word(const char **text, char out[MAGICS_WORD_SIZE])
{
    const char *start = *text + strspn(*text, " \t");
    size_t len = strcspn(start, " \t");
    *text = start + len;
    size_t kept = len < MAGICS_WORD_SIZE ? len : utf8_valid_prefix(start, MAGICS_WORD_SIZE - 1);
    snprintf(out, MAGICS_WORD_SIZE, "%.*s", (int)kept, start);
    return len == 0 ? 0 : len < MAGICS_WORD_SIZE ? 1 : -1;
}

static void magics_platform(const struct magics_context *m, const char *args)
{
    char name[MAGICS_WORD_SIZE];
    const char *rest = args;
    int found = magics_word(&rest, name);
    if (found < 0) {
        requests_fail_execute(m->requests, "InvalidSetting", "that is not the name of a platform: %platform NAME "
                                                             "[key=value ...]");
        return;
    }
    if (found == 0) {
        char text[128];
        snprintf(text, sizeof text, "Default platform: %s\n", cloud_default_platform(m->cloud));
        magics_stream(m, text);
        magics_ok(m, NULL);
        return;
    }
    char err[512];
    json_t *settings = cloud_options_from_line(rest, err, sizeof err);
    if (settings == NULL) {
        requests_fail_execute(m->requests, "InvalidSetting", err);
        return;
    }
    char message[1100];
    int rc = cloud_set_platform(m->cloud, name, settings, message, sizeof message);
    json_decref(settings);
    if (rc < 0) {
        requests_fail_execute(m->requests, "InvalidSetting", message);
        return;
    }
    strncat(message, "\n", sizeof message - strlen(message) - 1);
    magics_stream(m, message);
    magics_ok(m, NULL);
}

/* %functions: one row per function and platform with the configuration
 * its cell deployed (the env= names only: their values may be secrets). */
static void magics_functions(const struct magics_context *m, const char *args)
{
    (void)args;
    json_t *list = cloud_list(m->cloud);
    struct buffer html = {0}, text = {0}, env = {0};
    buffer_puts(&html, "<table><thead><tr><th>function</th><th>platform</th><th>code</th><th>config</th>"
                       "<th>memory</th><th>timeout</th><th>arch</th><th>runtime</th><th>max instances</th>"
                       "<th>env</th><th>last deploy</th><th>calls go to</th></tr></thead><tbody>");
    buffer_printf(&text, "%-20s %-9s %-8s %-8s %9s %7s  %-6s %-10s %5s  %-27s %-20s %s\n", "function", "platform",
                  "code", "config", "memory", "timeout", "arch", "runtime", "max", "last deploy", "env", "calls go to");
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *name = json_string_value(json_object_get(item, "name")) ?: "";
        const char *platform = json_string_value(json_object_get(item, "platform")) ?: "";
        const char *code = json_string_value(json_object_get(item, "code_hash")) ?: "";
        const char *config = json_string_value(json_object_get(item, "config_hash")) ?: "";
        const char *when = json_string_value(json_object_get(item, "deployed_at")) ?: "";
        const char *calls = json_string_value(json_object_get(item, "calls")) ?: "";
        const char *arch = json_string_value(json_object_get(item, "arch")) ?: "";
        const char *runtime = json_string_value(json_object_get(item, "runtime")) ?: "";
        json_int_t max_instances = json_integer_value(json_object_get(item, "max_instances"));
        char max[24] = "-", memory[24], timeout[24];
        if (max_instances > 0)
            snprintf(max, sizeof max, "%lld", (long long)max_instances);
        snprintf(memory, sizeof memory, "%d MB", (int)json_integer_value(json_object_get(item, "memory_mb")));
        snprintf(timeout, sizeof timeout, "%d s", (int)json_integer_value(json_object_get(item, "timeout_s")));
        buffer_clear(&env);
        size_t k;
        json_t *key;
        json_array_foreach(json_object_get(item, "env_keys"), k, key)
            buffer_printf(&env, "%s%s", k ? "," : "", json_string_value(key) ?: "");
        const char *env_keys = env.size ? env.data : "-";
        buffer_puts(&html, "<tr><td>");
        buffer_puts_html(&html, name);
        buffer_printf(&html, "</td><td>%s</td><td><code>%.8s</code></td><td><code>%.8s</code></td>"
                             "<td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>",
                      platform, code, config, memory, timeout, arch[0] ? arch : "-", runtime[0] ? runtime : "-", max);
        buffer_puts_html(&html, env_keys);
        buffer_printf(&html, "</td><td>%s</td><td>", when);
        buffer_puts_html(&html, calls);
        buffer_puts(&html, "</td></tr>");
        buffer_printf(&text, "%-20s %-9s %-8.8s %-8.8s %9s %7s  %-6s %-10s %5s  %-27s %-20s %s\n", name, platform,
                      code, config, memory, timeout, arch[0] ? arch : "-", runtime[0] ? runtime : "-", max, when,
                      env_keys, calls);
    }
    buffer_puts(&html, "</tbody></table>");
    if (json_array_size(list) == 0) {
        buffer_clear(&text);
        buffer_puts(&text, "No functions deployed from this folder yet: define one with %%cloud_function.\n");
    }
    json_decref(list);
    if (html.failed || text.failed || env.failed) {
        requests_fail_execute(m->requests, "OutOfMemory", "cannot list the functions");
    } else {
        magics_publish(m, "display_data",
                           json_pack("{s:{s:s, s:s}, s:{}}", "data", "text/html", html.data, "text/plain", text.data,
                                     "metadata"));
        magics_ok(m, NULL);
    }
    buffer_free(&html);
    buffer_free(&text);
    buffer_free(&env);
}

/* ---- %invoke ------------------------------------------------------------------ */

struct magics_invoke {
    const struct magics_context *m;
    char msg_id[128];
};

/* 1 when CALL's cell is still the one running (not interrupted meanwhile). */
static int magics_call_is_current(const struct magics_invoke *call)
{
    const char *current_id = requests_current_id(call->m->requests);
    return current_id != NULL && strcmp(current_id, call->msg_id) == 0;
}

static void magics_on_invoke(void *ctx, const struct cloud_outcome *outcome)
{
    struct magics_invoke *call = ctx;
    const struct magics_context *m = call->m;
    int current = magics_call_is_current(call);
    free(call);
    if (!current) /* the cell was interrupted meanwhile */
        return;
    requests_await_kernel(m->requests, 0);
    const struct platform_outcome *platform = &outcome->platform;
    if (platform->ok) {
        json_t *shown = cloud_shown_result(outcome);
        char *pretty = json_dumps(shown, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(16));
        json_t *data = json_pack("{s:s}", "text/plain", pretty ? pretty : "null");
        if (json_is_object(shown) || json_is_array(shown))
            json_object_set(data, "application/json", shown);
        magics_publish(m, "execute_result",
                       json_pack("{s:i, s:o, s:{}}", "execution_count", requests_execution_count(m->requests), "data",
                                 data, "metadata"));
        free(pretty);
        json_decref(shown);
        magics_ok(m, NULL);
        return;
    }
    const char *ename = platform->error_type ? platform->error_type : "Error";
    const char *evalue = platform->message ? platform->message : "";
    json_t *traceback = json_array();
    json_t *remote = cloud_traceback(platform);
    if (json_array_size(remote) > 0) {
        json_array_append_new(traceback, json_string("Remote traceback:"));
        json_array_extend(traceback, remote);
    }
    json_decref(remote);
    char last[1200];
    snprintf(last, sizeof last, "%s: %s", ename, evalue);
    json_array_append_new(traceback, json_string(last));
    json_t *frame = json_pack("{s:s, s:s, s:s, s:o}", "status", "error", "ename", ename, "evalue", evalue, "traceback",
                              traceback);
    magics_publish(m, "error",
                   json_pack("{s:s, s:s, s:O}", "ename", ename, "evalue", evalue, "traceback",
                             json_object_get(frame, "traceback")));
    requests_finish_execute(m->requests, frame);
    json_decref(frame);
}

static void magics_invoke(const struct magics_context *m, const char *name, size_t name_len, const char *json_text)
{
    char function[65];
    if (name_len == 0) {
        requests_fail_execute(m->requests, "UsageError", "usage: %invoke NAME JSON (or %%invoke NAME with a JSON body)");
        return;
    }
    if (name_len >= sizeof function) {
        char evalue[160];
        snprintf(evalue, sizeof evalue, "function names have at most %zu characters; this one has %zu",
                 sizeof function - 1, name_len);
        requests_fail_execute(m->requests, "UsageError", evalue);
        return;
    }
    snprintf(function, sizeof function, "%.*s", (int)name_len, name);
    json_error_t json_err;
    json_t *payload = *json_text ? json_loads(json_text, JSON_DECODE_ANY, &json_err) : json_object();
    if (payload == NULL) {
        char evalue[400];
        snprintf(evalue, sizeof evalue, "the payload of %s is not valid JSON: %s (line %d, column %d)", function,
                 json_err.text, json_err.line, json_err.column);
        requests_fail_execute(m->requests, "InvalidJSON", evalue);
        return;
    }
    struct magics_invoke *call = calloc(1, sizeof *call);
    if (call == NULL) {
        json_decref(payload);
        requests_fail_execute(m->requests, "OutOfMemory", "cannot start the call");
        return;
    }
    call->m = m;
    snprintf(call->msg_id, sizeof call->msg_id, "%s", requests_current_id(m->requests));
    requests_await_kernel(m->requests, 1);
    struct cloud_call request = {.function = function, .payload = payload, .retry = 1};
    cloud_call(m->cloud, &request, magics_on_invoke, call);
    json_decref(payload);
}

/* ---- %delete ------------------------------------------------------------------ */

static void magics_on_delete(void *ctx, const struct cloud_outcome *outcome)
{
    struct magics_invoke *call = ctx;
    const struct magics_context *m = call->m;
    int current = magics_call_is_current(call);
    free(call);
    if (!current)
        return;
    requests_await_kernel(m->requests, 0);
    if (outcome->platform.ok) {
        char line[800];
        snprintf(line, sizeof line, "%s\n", outcome->line ? outcome->line : "deleted");
        magics_stream(m, line);
        magics_ok(m, NULL);
    } else {
        requests_fail_execute(m->requests, outcome->platform.error_type ? outcome->platform.error_type : "Error",
                              outcome->platform.message ? outcome->platform.message : "");
    }
}

/* `%delete NAME [PLATFORM]`. */
static void magics_delete(const struct magics_context *m, const char *args)
{
    char name[MAGICS_WORD_SIZE], platform[MAGICS_WORD_SIZE], extra[MAGICS_WORD_SIZE];
    const char *rest = args;
    int has_name = magics_word(&rest, name);
    int has_platform = has_name != 0 ? magics_word(&rest, platform) : 0;
    if (has_name == 0 || magics_word(&rest, extra) != 0) {
        requests_fail_execute(m->requests, "UsageError", "usage: %delete NAME [PLATFORM]");
        return;
    }
    if (has_name < 0 || has_platform < 0) {
        requests_fail_execute(m->requests, "UsageError", "delete takes a function name (letters, digits, _ and -)");
        return;
    }
    int count = has_platform ? 2 : 1;
    if (count == 2 && !platforms_is_known(platform)) {
        char evalue[320];
        char names[128];
        platforms_name_list(names, sizeof names);
        snprintf(evalue, sizeof evalue, "unknown platform '%.64s'; choose from %s", platform, names);
        requests_fail_execute(m->requests, "UsageError", evalue);
        return;
    }
    struct magics_invoke *call = calloc(1, sizeof *call);
    if (call == NULL) {
        requests_fail_execute(m->requests, "OutOfMemory", "cannot start the delete");
        return;
    }
    call->m = m;
    snprintf(call->msg_id, sizeof call->msg_id, "%s", requests_current_id(m->requests));
    requests_await_kernel(m->requests, 1);
    cloud_delete(m->cloud, name, count == 2 ? platform : NULL, magics_on_delete, call);
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

/* `%%cloud_function key=value ...`: the runtime checks and defines the
 * function, then cloud.c deploys it (the define upcall). */
static enum magics_outcome magics_cloud_function_cell(const struct magics_context *m, const struct message *msg,
                                                      const char *args, const char *body, int body_line,
                                                      json_t **request)
{
    char err[512];
    json_t *options = cloud_options_from_line(args, err, sizeof err);
    if (options == NULL) {
        requests_fail_execute(m->requests, "InvalidOption", err);
        return MAGICS_HANDLED;
    }
    const json_t *content = msg->content;
    *request = json_pack("{s:s, s:O, s:s, s:i, s:o, s:i, s:O?, s:O?, s:O?}", "type", "cloud_function", "code",
                         json_object_get(content, "code"), "body", body, "body_line", body_line, "options", options,
                         "execution_count", requests_execution_count(m->requests), "silent",
                         json_object_get(content, "silent"), "store_history", json_object_get(content, "store_history"),
                         "allow_stdin", json_object_get(content, "allow_stdin"));
    return MAGICS_RUNTIME_REQUEST;
}

/* The KEY=VALUE words among FUNCTION's (SIZE bytes: the %%experiment line
 * after the magic) taken out of it into EXPERIMENT: `platforms=aws,gcf`
 * and `platform_order=parallel|sequential` (the line's win over the
 * body's). Returns 0, or -1 with ERR. */
static int magics_experiment_options(char *function, size_t size, json_t *experiment, char *err, size_t err_size)
{
    char names[1100] = "", *words_at = NULL;
    size_t used = 0;
    for (char *word = strtok_r(function, " \t", &words_at); word != NULL; word = strtok_r(NULL, " \t", &words_at)) {
        char *equals = strchr(word, '=');
        if (equals == NULL) {
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%.200s", used ? " " : "", word);
            if (used >= sizeof names)
                used = sizeof names - 1;
            continue;
        }
        *equals = '\0';
        char *value = equals + 1, *names_at = NULL;
        if (strcmp(word, "platforms") == 0) {
            json_t *list = json_array();
            for (char *name = strtok_r(value, ",", &names_at); name != NULL; name = strtok_r(NULL, ",", &names_at))
                json_array_append_new(list, json_string(name));
            json_object_set_new(experiment, "platforms", list);
        } else if (strcmp(word, "platform_order") == 0) {
            json_object_set_new(experiment, "platformOrder", json_string(value));
        } else {
            snprintf(err, err_size,
                     "unknown option '%.64s' on the %%%%experiment line: it takes platforms=aws,gcf and "
                     "platform_order=parallel|sequential; FaaS Runner's keys go in the JSON body",
                     word);
            return -1;
        }
    }
    snprintf(function, size, "%s", names);
    return 0;
}

/* `%%experiment FUNCTION [FUNCTION2 ...]` with the experiment as JSON below. */
static enum magics_outcome magics_experiment_cell(const struct magics_context *m, const struct message *msg,
                                                  const char *args, const char *body, int body_line, json_t **request)
{
    (void)msg;
    (void)body_line;
    (void)request;
    const char *names = args + strspn(args, " \t");
    char function[1100]; /* one function, or a pipeline: several */
    snprintf(function, sizeof function, "%.1000s", names);
    function[strcspn(function, "#")] = '\0';
    json_error_t json_err;
    json_t *experiment = *body ? json_loads(body, 0, &json_err) : json_object();
    char err[400] = "";
    if (json_is_object(experiment) && magics_experiment_options(function, sizeof function, experiment, err, sizeof err) < 0) {
        requests_fail_execute(m->requests, "UsageError", err);
    } else if (function[0] == '\0') {
        requests_fail_execute(m->requests, "UsageError",
                              "usage: %%experiment FUNCTION, with the experiment as the cell's JSON body");
    } else if (experiment == NULL) {
        char evalue[400];
        snprintf(evalue, sizeof evalue, "the experiment is not valid JSON: %s (line %d of the body, column %d)",
                 json_err.text, json_err.line, json_err.column);
        requests_fail_execute(m->requests, "InvalidJSON", evalue);
    } else {
        experiments_start_cell(m->experiments, function, experiment, NULL);
    }
    json_decref(experiment);
    return MAGICS_HANDLED;
}

/* `%%invoke NAME` with the JSON payload below. */
static enum magics_outcome magics_invoke_cell(const struct magics_context *m, const struct message *msg,
                                              const char *args, const char *body, int body_line, json_t **request)
{
    (void)msg;
    (void)body_line;
    (void)request;
    const char *name = args + strspn(args, " \t");
    magics_invoke(m, name, strcspn(name, " \t"), body);
    return MAGICS_HANDLED;
}

/* `%invoke NAME JSON` */
static void magics_invoke_line(const struct magics_context *m, const char *args)
{
    size_t function_len = strcspn(args, " \t");
    magics_invoke(m, args, function_len, args + function_len + strspn(args + function_len, " \t"));
}

/* `%results [NAME [NAME2]] [--save DIR]` */
static void magics_results(const struct magics_context *m, const char *args)
{
    experiments_results(m->experiments, args);
}

/* CODE is the cell from its `%%` line on; BODY_LINE is the cell's line
 * number of the line after it (blank lines may stand above the magic). */
static enum magics_outcome magics_cell(const struct magics_context *m, const struct message *msg, const char *code,
                                       int body_line, json_t **request)
{
    const char *first_line_end = strchr(code, '\n');
    size_t first_len = first_line_end ? (size_t)(first_line_end - code) : strlen(code);
    size_t name_len = magics_name_length(code);
    const char *body = first_line_end ? first_line_end + 1 : "";
    const struct magic *magic = magics_find(code, name_len);
    if (magic != NULL && magic->cell != NULL) {
        char *args = strndup(code + name_len, first_len - name_len); /* the whole line, however long */
        if (args == NULL) {
            requests_fail_execute(m->requests, "OutOfMemory", "cannot read the magic's line");
            return MAGICS_HANDLED;
        }
        enum magics_outcome outcome = magic->cell(m, msg, args, body, body_line, request);
        free(args);
        return outcome;
    }
    return MAGICS_NOT_MAGIC; /* IPython's (%%writefile, %%bash, ...): the runtime's, or its error */
}

/* %experiment FUNCTION [FUNCTION2 ...] FILE.json */
static void magics_experiment_file(const struct magics_context *m, const char *args)
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
        requests_fail_execute(m->requests, "UsageError", "usage: %experiment FUNCTION [FUNCTION2 ...] path/to/experiment.json");
        return;
    }
    char err[600];
    json_t *experiment = fsutil_load_json(path, err, sizeof err);
    if (experiment == NULL) {
        char evalue[1000];
        snprintf(evalue, sizeof evalue, "cannot read the experiment file %.300s: %s", path, err);
        requests_fail_execute(m->requests, "InvalidExperiment", evalue);
        return;
    }
    if (json_is_object(experiment) && magics_experiment_options(function, sizeof function, experiment, err, sizeof err) < 0) {
        requests_fail_execute(m->requests, "UsageError", err);
        json_decref(experiment);
        return;
    }
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char hint[128];
    snprintf(hint, sizeof hint, "%.*s", (int)(strstr(base, ".json") ? (size_t)(strstr(base, ".json") - base) : strlen(base)),
             base);
    experiments_start_cell(m->experiments, function, experiment, hint);
    json_decref(experiment);
}

static enum magics_outcome magics_line(const struct magics_context *m, const char *line, size_t line_len)
{
    size_t name_len = magics_name_length(line);
    const struct magic *magic = magics_find(line, name_len);
    char *args = magic != NULL && magic->line != NULL ? strndup(line + name_len, line_len - name_len) : NULL;
    if (args != NULL) { /* the whole line, however long */
        magic->line(m, args + strspn(args, " \t"));
        free(args);
    } else if (magic != NULL && magic->line != NULL) {
        requests_fail_execute(m->requests, "OutOfMemory", "cannot read the magic's line");
    } else {
        return MAGICS_NOT_MAGIC; /* IPython's (%pip, %time, ...): the runtime's, or its error */
    }
    return MAGICS_HANDLED;
}

enum magics_outcome magics_execute(const struct magics_context *m, const struct message *msg, json_t **request)
{
    const char *code = json_string_value(json_object_get(msg->content, "code"));
    if (code == NULL)
        return MAGICS_NOT_MAGIC;
    const char *start = code;
    while (*start == '\n' || *start == ' ' || *start == '\t' || *start == '\r')
        start++;
    char topic[64];
    if (magics_pager_request(code, topic, sizeof topic)) {
        magics_help(m, topic);
        return MAGICS_HANDLED;
    }
    if (strncmp(start, "%%", 2) == 0) {
        size_t size = json_string_length(json_object_get(msg->content, "code"));
        if (strlen(code) < size) { /* C strings would end the body there, silently */
            int line = 1;
            for (const char *c = code; c < code + strlen(code); c++)
                line += *c == '\n';
            char evalue[160];
            snprintf(evalue, sizeof evalue, "the cell holds a NUL character (line %d); remove it: a function's source "
                     "cannot contain one", line);
            requests_fail_execute(m->requests, "SyntaxError", evalue);
            return MAGICS_HANDLED;
        }
        int body_line = 2;
        for (const char *c = code; c < start; c++)
            body_line += *c == '\n';
        return magics_cell(m, msg, start, body_line, request);
    }
    const char *line;
    size_t line_len;
    if (magics_single_line(code, &line, &line_len))
        return magics_line(m, line, line_len);
    return MAGICS_NOT_MAGIC;
}

json_t *magics_names(void)
{
    json_t *names = json_array();
    for (size_t i = 0; names != NULL && i < MAGIC_COUNT; i++)
        json_array_append_new(names, json_string(magics_table[i].name));
    return names;
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

/* In a %%experiment cell's JSON (CODE, the cursor at byte CURSOR past the
 * first line): when the cursor ends a key being typed ("runs or "), the
 * FaaS Runner keys that start with it and are not in the cell yet; sets
 * *WORD_START. NULL when the cursor is not at a key. */
static json_t *magics_experiment_keys(const char *code, size_t cursor, size_t *word_start)
{
    size_t start = cursor;
    while (start > 0 && (isalnum((unsigned char)code[start - 1]) || code[start - 1] == '_'))
        start--;
    if (start == 0 || code[start - 1] != '"')
        return NULL;
    size_t before = start - 1;
    while (before > 0 && isspace((unsigned char)code[before - 1]))
        before--;
    if (before == 0 || (code[before - 1] != '{' && code[before - 1] != ','))
        return NULL; /* a value, not a key */
    json_t *matches = json_array();
    for (size_t i = 0; experiment_key_name(i) != NULL; i++) {
        const char *key = experiment_key_name(i);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "\"%s\"", key);
        if (strncmp(key, code + start, cursor - start) == 0 && strstr(code, quoted) == NULL)
            json_array_append_new(matches, json_string(key));
    }
    *word_start = start;
    return matches;
}

/* Sends the complete_reply: MATCHES replace CODE's bytes START..CURSOR. */
static void magics_complete_reply(const struct magics_context *m, const char *code, json_t *matches, size_t start,
                                  size_t cursor)
{
    json_int_t points_start = (json_int_t)utf8_code_points(code, start);
    json_int_t points_end = points_start + (json_int_t)utf8_code_points(code + start, cursor - start);
    requests_reply(m->requests, "complete_reply",
                   json_pack("{s:s, s:o, s:I, s:I, s:{}}", "status", "ok", "matches", matches, "cursor_start",
                             points_start, "cursor_end", points_end, "metadata"));
}

int magics_complete(const struct magics_context *m, const struct message *msg)
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
    const char *first = code + strspn(code, " \t\r\n");
    size_t key_start;
    json_t *keys;
    if (line_start > 0 && line > first && strncmp(first, "%%experiment", 12) == 0 &&
        (keys = magics_experiment_keys(code, cursor, &key_start)) != NULL) {
        magics_complete_reply(m, code, keys, key_start, cursor);
        return 1;
    }
    if (*line != '%')
        return 0;
    size_t word_start = cursor;
    while (word_start > line_start && !isspace((unsigned char)code[word_start - 1]))
        word_start--;
    const char *word = code + word_start;
    size_t word_len = cursor - word_start;
    if (word_start == line_start)
        return 0; /* a magic's name: the runtime completes its magics and the kernel's (sent with the request) */
    json_t *matches = json_array();
    if (strncmp(line, "%%cloud_function", 16) == 0 && memchr(word, '=', word_len) == NULL) {
        magics_add_matches(matches, word, word_len, cloud_option_keys, "=");
    } else if (strncmp(line, "%platform ", 10) == 0 && memchr(word, '=', word_len) == NULL &&
               word > line + 10 + strspn(line + 10, " \t") + strcspn(line + 10 + strspn(line + 10, " \t"), " \t\n")) {
        /* after the platform's name: its settings */
        const char *name = line + 10 + strspn(line + 10, " \t");
        char platform[32];
        snprintf(platform, sizeof platform, "%.*s", (int)strcspn(name, " \t\n"), name);
        magics_add_matches(matches, word, word_len, platforms_setting_keys(platform), "=");
    } else if (strncmp(line, "%invoke ", 8) == 0 || strncmp(line, "%%invoke ", 9) == 0 ||
               strncmp(line, "%experiment ", 12) == 0 || strncmp(line, "%%experiment ", 13) == 0 ||
               strncmp(line, "%platform ", 10) == 0 || strncmp(line, "%delete ", 8) == 0) {
        json_t *names = json_array();
        if (strncmp(line, "%platform", 9) == 0)
            for (size_t i = 0; platforms_name_at(i) != NULL; i++)
                json_array_append_new(names, json_string(platforms_name_at(i)));
        else {
            json_t *functions = cloud_function_names(m->cloud);
            json_array_extend(names, functions);
            json_decref(functions);
        }
        size_t i;
        json_t *name;
        json_array_foreach(names, i, name) {
            if (strncmp(json_string_value(name), word, word_len) == 0)
                json_array_append(matches, name);
        }
        json_decref(names);
    }
    magics_complete_reply(m, code, matches, word_start, cursor);
    return 1;
}
