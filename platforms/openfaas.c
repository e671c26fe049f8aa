/* openfaas: the `openfaas` platform: an OpenFaaS gateway behind the
 * platform interface (platform.h), on the gateway's REST API (/system:
 * functions POST, PUT, DELETE and function/NAME GET, with Basic auth;
 * /function/NAME and /async-function/NAME for calls) through of_client.
 *
 * OpenFaaS runs container images only, so every deploy is one: the
 * adapter builds the cell's image with oci_push (on image_base=, else
 * `%platform openfaas image_base=`, else python:3.N-slim for the cell's
 * runtime; the code layer with FaaSET's HTTP entry point,
 * /function/faaset_http.py, and the dependency layer when the cell has
 * requirements) and pushes it to REGISTRY/NAME:CODE (the cell's
 * registry=, else `%platform openfaas registry=`), then deploys it by
 * digest; the gateway's cluster pulls it. A cell's image= deploys an
 * image built elsewhere instead. A function's OpenFaaS name is its name
 * made a DNS label ("hello_world" is deployed as "hello-world"); calls and
 * deletes use the same mapping.
 *
 * Deploy, configure, verify and set_memory are one state machine, a
 * "sync", that makes the gateway's function match what the notebook
 * defines:
 *
 *   GET /system/function/NAME --404--> (build and push,) POST /system/functions: "deployed"
 *        |
 *        v
 *   image= or code label differs? --> (build and push,) PUT with everything: "updated code of"
 *        v
 *   configuration differs? --> PUT with the same image: "updated
 *        |                     configuration of"
 *        v
 *   "up to date"
 *
 * and after a POST or PUT it waits for readiness: GET
 * /system/function/NAME after 0.25, 0.5 and then every 1 s until
 * availableReplicas >= 1 with the image sent, at most ready_timeout
 * seconds (default 120, `%platform openfaas ready_timeout=S`), then a
 * sentence saying the function is there but not ready and what to check.
 * Our code hash travels as the label `faaset-code`, the timeout as the
 * annotation `faaset-timeout`; the configuration compared is
 * limits.memory ("256Mi"), envVars (the cell's env=) and that annotation.
 * Others' labels, annotations, limits.cpu, requests, secrets and
 * constraints are kept on a PUT, which replaces the whole deployment. As
 * on the other platforms, the machine reports what it found, and for an
 * unchanged cell (verify) a function changed or deleted outside the
 * notebook, which it then repairs.
 *
 * Calls POST the payload as JSON to /function/NAME: 200 is the result
 * (JSON, else the text); 500 with {"errorType", "errorMessage",
 * "stackTrace"} is the function's own exception (faaset_http.py answers
 * so), shown with the call's X-Call-Id; 404 is a function the gateway
 * does not have. Event calls go to /async-function/NAME and answer
 * {"StatusCode": 202, "callId"}. 429, 502, 503 and 504 are reported as
 * throttled, for the caller to retry with the one backoff policy
 * (retry.h); the control plane retries them itself with that policy. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "embedded.h"
#include "list.h"
#include "oci_push.h"
#include "of_client.h"
#include "platform.h"
#include "retry.h"

#define OF_CONTROL_TIMEOUT_MS 120000L
#define OF_DEFAULT_READY_TIMEOUT_S 120
#define OF_CALL_TIMEOUT_MS ((900L + 60L) * 1000L)  /* the longest timeout= plus a margin */
#define OF_SERVICE_MAX 63
#define OF_LABEL_CODE "faaset-code"
#define OF_ANNOTATION_TIMEOUT "faaset-timeout"

/* Throttling and the gateway's own errors: 4 retries, waits drawn up to
 * 0.25, 0.5, 1 and 2 s, as for the other platforms. */
static const struct retry_policy of_retry = {.base_ms = 250, .cap_ms = 2000, .max_retries = 4};

struct of_platform {
    struct reactor *reactor;
    struct of_client *client;
    int ready_timeout_s;
    char *registry;              /* where images built here are pushed ("HOST[:PORT]/PREFIX"), or NULL */
    char *image_base;            /* the base image of those, or NULL: python:3.N-slim for the cell's runtime */
    struct list_node syncs;      /* under way: ended with KernelStopping when the platform is freed */
    int closing;
};

enum of_step { OF_STEP_GET, OF_STEP_PUSH, OF_STEP_CREATE, OF_STEP_UPDATE, OF_STEP_WAIT, OF_STEP_DELETE };

static const char *const of_step_names[] = {"reading", "building and pushing the image of", "deploying", "updating",
                                            "waiting for", "deleting"};

struct of_sync {
    struct of_platform *platform;
    enum platform_sync kind;
    enum of_step step;
    platform_done_fn done;
    void *ctx;
    char *name;                  /* as the notebook names it */
    char service[OF_SERVICE_MAX + 1];
    char *image;                 /* the image to deploy: image=, the one pushed, or the remote's (NULL until known) */
    int build;                   /* the image is built from the cell and pushed here (no image=) */
    char *source, *def_name, *requirements, *arch, *runtime; /* what the image is built from, when BUILD */
    char *registry, *image_base; /* the cell's registry= and image_base=, or NULL: the platform's settings */
    char *deps_dir;              /* the dependency layer's python/ folder, or NULL */
    struct oci_push *push;       /* under way */
    char pushed[400];            /* what the push did, for the deploy line */
    char code_hash[65];
    int memory_mb, timeout_s;
    json_t *env;                 /* {"KEY": "value"} */
    json_t *remote;              /* the gateway's record of the function, to keep what others set */
    char *sent_image;            /* what the last POST or PUT deployed, awaited for readiness */
    int retries, polls;
    long long wait_started_ms;   /* monotonic */
    int created, code_updated, config_updated;
    char note[600];
    unsigned long timer;
    struct list_node node;
};

/* ---- names and limits ---- */

static void of_fail(platform_done_fn done, void *ctx, const char *type, const char *message)
{
    struct platform_outcome outcome = {.ok = 0, .error_type = type, .message = message};
    done(ctx, &outcome);
}

/* NAME as an OpenFaaS function name (a DNS label: lower case, digits, '-'), into OUT; -1 with MESSAGE when it
 * cannot be one. */
static int of_service_name(const char *name, char out[OF_SERVICE_MAX + 1], char *message, size_t size)
{
    size_t len = strlen(name);
    int ok = len > 0 && len <= OF_SERVICE_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        out[i] = c == '_' ? '-' : (char)tolower(c);
        ok = isalnum(c) || c == '_' || c == '-';
    }
    ok = ok && isalnum((unsigned char)out[0]) && isalnum((unsigned char)out[len - 1]);
    if (!ok) {
        snprintf(message, size, "'%.100s' cannot be an OpenFaaS function name (a DNS label: at most 63 letters, "
                 "digits, '-' and '_', which becomes '-', starting and ending with a letter or digit): choose "
                 "another with name=", name);
        return -1;
    }
    out[len] = '\0';
    return 0;
}

static int of_check_function(const struct of_platform *platform, const struct platform_function *function,
                             char *service, char *message, size_t size)
{
    if (of_service_name(function->name, service, message, size) < 0)
        return -1;
    if (function->image == NULL && function->registry == NULL && platform->registry == NULL) {
        snprintf(message, size, "OpenFaaS runs container images: say where to push the function's image with "
                 "%%platform openfaas registry=HOST[:PORT]/PREFIX (or registry= in the cell; a registry the gateway's "
                 "cluster can pull from), or give the cell image=REGISTRY/NAME:TAG, an image with FaaSET's entry "
                 "point (python3 /function/faaset_http.py)");
        return -1;
    }
    if (function->image == NULL && (function->source == NULL || function->def_name == NULL)) {
        snprintf(message, size, "the openfaas platform needs the cell's source to build its image");
        return -1;
    }
    if (function->max_instances > 0) {
        snprintf(message, size, "max_instances= is for gcf: OpenFaaS scales with the label com.openfaas.scale.max, "
                 "set on the gateway");
        return -1;
    }
    return 0;
}

/* A registry setting without its trailing '/'s, as a new string (NULL when out of memory). */
static char *of_registry_copy(const char *registry)
{
    char *copy = strdup(registry);
    size_t n = copy ? strlen(copy) : 0;
    while (n > 0 && copy[n - 1] == '/')
        copy[--n] = '\0';
    return copy;
}

/* ---- the sync state machine ---- */

static void of_sync_free(struct of_sync *sync)
{
    list_remove(&sync->node);
    if (sync->timer)
        reactor_cancel(sync->platform->reactor, sync->timer);
    if (sync->push != NULL)
        oci_push_cancel(sync->push);
    free(sync->name);
    free(sync->image);
    free(sync->source);
    free(sync->def_name);
    free(sync->requirements);
    free(sync->arch);
    free(sync->runtime);
    free(sync->registry);
    free(sync->image_base);
    free(sync->deps_dir);
    free(sync->sent_image);
    json_decref(sync->env);
    json_decref(sync->remote);
    free(sync);
}

static void of_sync_finish(struct of_sync *sync, const char *error_type, const char *message)
{
    struct platform_outcome outcome = {.ok = error_type == NULL, .error_type = error_type, .message = message};
    char note[sizeof sync->note + sizeof sync->pushed + 4];
    snprintf(note, sizeof note, "%s%s%s", sync->note, sync->note[0] && sync->pushed[0] ? "; " : "", sync->pushed);
    if (outcome.ok) {
        int drifted = sync->note[0] != '\0';
        outcome.action = sync->kind == PLATFORM_SYNC_REMOVE              ? "deleted"
                         : drifted && sync->kind == PLATFORM_SYNC_VERIFY ? "redeployed"
                         : sync->created                                 ? "deployed"
                         : sync->code_updated                            ? "updated code of"
                         : sync->config_updated                          ? "updated configuration of"
                                                                         : "up to date";
        outcome.note = note[0] ? note : NULL;
    }
    sync->done(sync->ctx, &outcome);
    of_sync_free(sync);
}

static void of_sync_call(struct of_sync *sync);

static void of_sync_on_timer(void *ctx)
{
    struct of_sync *sync = ctx;
    sync->timer = 0;
    of_sync_call(sync);
}

static void of_sync_later(struct of_sync *sync, double wait_ms)
{
    sync->timer = reactor_timer(sync->platform->reactor, (long long)wait_ms, of_sync_on_timer, sync);
    if (sync->timer == 0)
        of_sync_finish(sync, "OutOfMemory", "cannot schedule the next call");
}

/* Remembers WHAT differs when it can only have been changed outside the
 * notebook: anything, for an unchanged cell (verify); the code, when only
 * the cell's configuration changed. */
static void of_sync_note(struct of_sync *sync, const char *what, int is_code)
{
    if (sync->note[0] || !(sync->kind == PLATFORM_SYNC_VERIFY || (sync->kind == PLATFORM_SYNC_CONFIGURE && is_code)))
        return;
    snprintf(sync->note, sizeof sync->note, "changed outside the notebook: %s", what);
}

static const char *of_map_string(const json_t *record, const char *map, const char *key)
{
    return json_string_value(json_object_get(json_object_get(record, map), key));
}

/* Whether the gateway's function runs other code than the notebook's: another image than image=, or (for
 * either) another code label. */
static int of_code_differs(const struct of_sync *sync, const json_t *record, char *what, size_t size)
{
    const char *image = json_string_value(json_object_get(record, "image"));
    const char *hash = of_map_string(record, "labels", OF_LABEL_CODE);
    if (!sync->build && (image == NULL || strcmp(image, sync->image) != 0))
        snprintf(what, size, "its image is %.300s, the notebook's %.300s", image ? image : "(none)", sync->image);
    else if (hash == NULL || strcmp(hash, sync->code_hash) != 0)
        snprintf(what, size, "its code is not the notebook's (label %s is %.12s..., the notebook's %.12s...)",
                 OF_LABEL_CODE, hash ? hash : "(none)", sync->code_hash);
    else
        return 0;
    return 1;
}

static int of_config_differs(const struct of_sync *sync, const json_t *record, char *what, size_t size)
{
    char memory[32], timeout[32];
    snprintf(memory, sizeof memory, "%dMi", sync->memory_mb);
    snprintf(timeout, sizeof timeout, "%d", sync->timeout_s);
    const char *remote_memory = of_map_string(record, "limits", "memory");
    const char *remote_timeout = of_map_string(record, "annotations", OF_ANNOTATION_TIMEOUT);
    const json_t *remote_env = json_object_get(record, "envVars");
    if (remote_memory == NULL || strcmp(remote_memory, memory) != 0) {
        snprintf(what, size, "its memory limit is %.40s, the notebook's %s", remote_memory ? remote_memory : "(none)",
                 memory);
        return 1;
    }
    if (sync->kind == PLATFORM_SYNC_SET_MEMORY)
        return 0;
    if (remote_timeout == NULL || strcmp(remote_timeout, timeout) != 0) {
        snprintf(what, size, "its annotation %s is %.40s, the notebook's timeout %s s", OF_ANNOTATION_TIMEOUT,
                 remote_timeout ? remote_timeout : "(none)", timeout);
        return 1;
    }
    int env_differs = remote_env == NULL ? json_object_size(sync->env) > 0 : !json_equal(remote_env, sync->env);
    if (env_differs)
        snprintf(what, size, "its environment variables (envVars) differ from the notebook's");
    return env_differs;
}

/* GET answered: decide the next step from the gateway's record. */
static void of_sync_on_record(struct of_sync *sync, const json_t *record)
{
    char what[700] = "", config_what[400] = "";
    json_decref(sync->remote);
    sync->remote = json_deep_copy(record);
    int code = sync->kind != PLATFORM_SYNC_SET_MEMORY && of_code_differs(sync, record, what, sizeof what);
    if (!code && sync->image == NULL) { /* the remote's image stays: set_memory, or the same code built here */
        const char *image = json_string_value(json_object_get(record, "image"));
        if ((sync->image = strdup(image ? image : "")) == NULL) {
            of_sync_finish(sync, "OutOfMemory", "cannot read the function");
            return;
        }
    }
    if (code)
        of_sync_note(sync, what, 1);
    int config = of_config_differs(sync, record, config_what, sizeof config_what);
    if (!code && config)
        of_sync_note(sync, config_what, 0);
    if (!code && !config) {
        of_sync_finish(sync, NULL, NULL);
        return;
    }
    if (code)
        sync->code_updated = 1;
    else
        sync->config_updated = 1;
    sync->step = code && sync->build ? OF_STEP_PUSH : OF_STEP_UPDATE;
    of_sync_call(sync);
}

static int of_retryable(long status)
{
    return status == 0 || status == 429 || status == 502 || status == 503 || status == 504;
}

/* Polls for readiness: after 0.25, 0.5, then every 1 s, until ready_timeout. */
static void of_sync_wait(struct of_sync *sync)
{
    char message[1200];
    long long waited_ms = clock_mono_ms() - sync->wait_started_ms;
    if (waited_ms >= (long long)sync->platform->ready_timeout_s * 1000) {
        snprintf(message, sizeof message, "%s was %s on OpenFaaS as %s, but no replica was ready after %d s "
                 "(availableReplicas 0): check that the gateway's cluster can pull %.300s and that it starts "
                 "(faas-cli describe %s; faas-cli logs %s), or allow longer with %%platform openfaas ready_timeout=S",
                 sync->name, sync->created ? "deployed" : "updated", sync->service, sync->platform->ready_timeout_s,
                 sync->sent_image, sync->service, sync->service);
        of_sync_finish(sync, "NotReady", message);
        return;
    }
    int n = sync->polls++;
    sync->step = OF_STEP_WAIT;
    of_sync_later(sync, n == 0 ? 250 : n == 1 ? 500 : 1000);
}

static int of_is_ready(const struct of_sync *sync, const json_t *record)
{
    const char *image = json_string_value(json_object_get(record, "image"));
    json_int_t available = json_integer_value(json_object_get(record, "availableReplicas"));
    return available >= 1 && image != NULL && strcmp(image, sync->sent_image) == 0;
}

static void of_sync_on_reply(void *ctx, const struct of_reply *reply)
{
    struct of_sync *sync = ctx;
    char message[2200];
    if (sync->platform->closing) {
        of_sync_finish(sync, "KernelStopping", "the kernel is shutting down");
        return;
    }
    int reads = sync->step == OF_STEP_GET || sync->step == OF_STEP_WAIT;
    if (reply->ok && reads && !json_is_object(reply->json)) {
        snprintf(message, sizeof message, "%s %s: the answer is not an OpenFaaS gateway's (HTTP %ld without a JSON "
                 "object); check the gateway (%%platform openfaas gateway=URL, OPENFAAS_URL)",
                 of_step_names[sync->step], sync->name, reply->status);
        of_sync_finish(sync, "InvalidResponse", message);
        return;
    }
    if (reply->ok) {
        sync->retries = 0;
        switch (sync->step) {
        case OF_STEP_GET:
            of_sync_on_record(sync, reply->json);
            return;
        case OF_STEP_CREATE:
        case OF_STEP_UPDATE:
            sync->wait_started_ms = clock_mono_ms();
            of_sync_wait(sync);
            return;
        case OF_STEP_WAIT:
            if (of_is_ready(sync, reply->json))
                of_sync_finish(sync, NULL, NULL);
            else
                of_sync_wait(sync);
            return;
        case OF_STEP_DELETE:
            of_sync_finish(sync, NULL, NULL);
            return;
        case OF_STEP_PUSH: /* the push answers through of_sync_on_pushed */
            return;
        }
    }
    if (reply->status == 404 && (sync->step == OF_STEP_GET || sync->step == OF_STEP_DELETE)) {
        if (sync->kind == PLATFORM_SYNC_SET_MEMORY || sync->kind == PLATFORM_SYNC_REMOVE) {
            snprintf(message, sizeof message, "%s is not deployed on openfaas (the gateway has no function %s); run "
                     "its %%%%cloud_function cell", sync->name, sync->service);
            of_sync_finish(sync, "NotFound", message);
            return;
        }
        if (sync->kind == PLATFORM_SYNC_VERIFY || sync->kind == PLATFORM_SYNC_CONFIGURE)
            snprintf(sync->note, sizeof sync->note, "it had been deleted outside the notebook");
        sync->created = 1;
        sync->step = sync->build ? OF_STEP_PUSH : OF_STEP_CREATE;
        of_sync_call(sync);
        return;
    }
    double wait = of_retryable(reply->status) ? retry_delay_ms(&of_retry, sync->retries, reply->retry_after_ms) : -1;
    if (wait >= 0) {
        sync->retries++;
        of_sync_later(sync, wait);
        return;
    }
    snprintf(message, sizeof message, "%s %s: %s", of_step_names[sync->step], sync->name, reply->message);
    of_sync_finish(sync, reply->error_type, message);
}

/* A copy of the remote record's string map NAME (others' entries), or an empty object. */
static json_t *of_remote_map(const struct of_sync *sync, const char *name)
{
    const json_t *map = json_object_get(sync->remote, name);
    return json_is_object(map) ? json_deep_copy(map) : json_object();
}

/* The FunctionDeployment to POST or PUT: ours over what others set. */
static json_t *of_sync_body(const struct of_sync *sync)
{
    char memory[32], timeout[32];
    snprintf(memory, sizeof memory, "%dMi", sync->memory_mb);
    snprintf(timeout, sizeof timeout, "%d", sync->timeout_s);
    json_t *labels = of_remote_map(sync, "labels"), *annotations = of_remote_map(sync, "annotations");
    json_t *limits = of_remote_map(sync, "limits");
    json_t *env = sync->kind == PLATFORM_SYNC_SET_MEMORY ? of_remote_map(sync, "envVars") : json_deep_copy(sync->env);
    json_t *body = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "service", sync->service, "image", sync->image,
                             "envVars", env, "labels", labels, "annotations", annotations, "limits", limits);
    if (body == NULL)
        return NULL;
    if (sync->kind != PLATFORM_SYNC_SET_MEMORY) {
        json_object_set_new(labels, OF_LABEL_CODE, json_string(sync->code_hash));
        json_object_set_new(annotations, OF_ANNOTATION_TIMEOUT, json_string(timeout));
    }
    json_object_set_new(limits, "memory", json_string(memory));
    static const char *const kept[] = {"requests", "secrets", "constraints", "envProcess", "readOnlyRootFilesystem"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        json_t *value = json_object_get(sync->remote, kept[i]);
        if (value != NULL && !json_is_null(value))
            json_object_set(body, kept[i], value);
    }
    return body;
}

/* The push ended: deploy what it pushed. */
static void of_sync_on_pushed(void *ctx, const struct oci_push_result *result)
{
    struct of_sync *sync = ctx;
    char message[1600];
    sync->push = NULL;
    if (!result->ok) {
        snprintf(message, sizeof message, "building and pushing the image of %s: %s", sync->name, result->message);
        of_sync_finish(sync, result->error_type, message);
        return;
    }
    free(sync->image);
    if ((sync->image = strdup(result->uri)) == NULL) {
        of_sync_finish(sync, "OutOfMemory", "cannot keep the image's name");
        return;
    }
    snprintf(sync->pushed, sizeof sync->pushed, "image %.250s (%u blobs sent, %.1f KB; %u already there, %u mounted)",
             result->uri, result->blobs_sent, (double)result->bytes_sent / 1024.0, result->blobs_present,
             result->blobs_mounted);
    sync->step = sync->created ? OF_STEP_CREATE : OF_STEP_UPDATE;
    of_sync_call(sync);
}

/* Builds the cell's image on the base (its dependencies inside) and starts pushing it to REGISTRY/SERVICE:CODE
 * (the first 12 hex digits). */
static void of_sync_push(struct of_sync *sync)
{
    const struct of_platform *platform = sync->platform;
    char base[600], target[600], message[1200];
    const struct embedded_file *entry_point = embedded_find("runtime/python/faaset_http.py");
    static const char *const entrypoint[] = {"python3", "/function/faaset_http.py", NULL};
    static const char *const no_cmd[] = {NULL};
    /* the port of-watchdog's "http" mode proxies to, and what it would start (which SAAF reads as OpenFaaS) */
    static const char *const env[] = {"PORT=8080", "fprocess=python3 /function/faaset_http.py", NULL};
    if (sync->image_base != NULL || platform->image_base != NULL)
        snprintf(base, sizeof base, "%s", sync->image_base ? sync->image_base : platform->image_base);
    else
        snprintf(base, sizeof base, "python:%.8s-slim", strncmp(sync->runtime, "python", 6) == 0 ? sync->runtime + 6
                                                                                              : "3.12");
    snprintf(target, sizeof target, "%s/%s:%.12s", sync->registry ? sync->registry : platform->registry,
             sync->service, sync->code_hash);
    struct oci_layer_file extra = {"faaset_http.py", entry_point->data, entry_point->size};
    struct oci_push_request request = {
        .base = base, .target = target, .arch = sync->arch, .source = sync->source, .function = sync->def_name,
        .requirements = sync->requirements, .deps_dir = sync->deps_dir,
        .extra_files = &extra, .extra_count = 1, .title = sync->service, .code_hash = sync->code_hash,
        .entrypoint = entrypoint, .cmd = no_cmd, .env = env};
    sync->push = oci_push_start(platform->reactor, &request, of_sync_on_pushed, sync, message, sizeof message);
    if (sync->push == NULL)
        of_sync_finish(sync, "ImageError", message);
}

static void of_sync_call(struct of_sync *sync)
{
    char message[1200] = "", status_path[96];
    char *text = NULL;
    snprintf(status_path, sizeof status_path, "/system/function/%s", sync->service);
    struct of_call call = {.method = "GET", .path = status_path, .timeout_ms = OF_CONTROL_TIMEOUT_MS};
    if (sync->step == OF_STEP_PUSH) {
        of_sync_push(sync);
        return;
    }
    if (sync->step == OF_STEP_CREATE || sync->step == OF_STEP_UPDATE || sync->step == OF_STEP_DELETE) {
        json_t *body = sync->step == OF_STEP_DELETE ? json_pack("{s:s}", "functionName", sync->service)
                                                    : of_sync_body(sync);
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        if (sync->step != OF_STEP_DELETE) { /* readiness waits for this image */
            free(sync->sent_image);
            sync->sent_image = strdup(sync->image);
        }
        if (text == NULL || (sync->step != OF_STEP_DELETE && sync->sent_image == NULL)) {
            free(text);
            of_sync_finish(sync, "OutOfMemory", "cannot build the request");
            return;
        }
        call.method = sync->step == OF_STEP_CREATE ? "POST" : sync->step == OF_STEP_UPDATE ? "PUT" : "DELETE";
        call.path = "/system/functions";
        call.body = text;
        call.body_size = strlen(text);
    }
    int rc = of_client_send(sync->platform->client, &call, of_sync_on_reply, sync, message, sizeof message);
    free(text);
    if (rc < 0)
        of_sync_finish(sync, "NoCredentials", message);
}

/* Copies what FUNCTION's image is built from into SYNC (the function is valid only during the call, the push
 * comes later). 0, or -1 when out of memory. */
static int of_sync_keep_build(struct of_sync *sync, const struct platform_function *function)
{
    sync->source = strdup(function->source);
    sync->def_name = strdup(function->def_name);
    sync->arch = strdup(function->arch ? function->arch : "x86_64");
    sync->runtime = strdup(function->runtime ? function->runtime : "python3.12");
    if (sync->source == NULL || sync->def_name == NULL || sync->arch == NULL || sync->runtime == NULL)
        return -1;
    if (function->registry != NULL && (sync->registry = of_registry_copy(function->registry)) == NULL)
        return -1;
    if (function->image_base != NULL && (sync->image_base = strdup(function->image_base)) == NULL)
        return -1;
    if (function->requirements != NULL && (sync->requirements = strdup(function->requirements)) == NULL)
        return -1;
    if (function->layer_dir != NULL && asprintf(&sync->deps_dir, "%s/python", function->layer_dir) < 0) {
        sync->deps_dir = NULL; /* asprintf leaves it undefined on failure */
        return -1;
    }
    return 0;
}

/* The sync operation (platform.h): each kind is the same steps, read the function, compare, send what differs. */
static int of_sync(void *self, enum platform_sync kind, const struct platform_function *function,
                   platform_done_fn done, void *ctx)
{
    struct of_platform *platform = self;
    char message[900], service[OF_SERVICE_MAX + 1];
    if (of_client_ready(platform->client, message, sizeof message) < 0) {
        of_fail(done, ctx, "NoCredentials", message);
        return 0;
    }
    int needs_image = kind == PLATFORM_SYNC_DEPLOY || kind == PLATFORM_SYNC_CONFIGURE || kind == PLATFORM_SYNC_VERIFY;
    if (needs_image ? of_check_function(platform, function, service, message, sizeof message) < 0
                    : of_service_name(function->name, service, message, sizeof message) < 0) {
        of_fail(done, ctx, "InvalidOption", message);
        return 0;
    }
    struct of_sync *sync = calloc(1, sizeof *sync);
    if (sync == NULL) {
        of_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        return 0;
    }
    *sync = (struct of_sync){.platform = platform, .kind = kind, .done = done, .ctx = ctx,
                             .step = kind == PLATFORM_SYNC_REMOVE ? OF_STEP_DELETE : OF_STEP_GET,
                             .memory_mb = function->memory_mb, .timeout_s = function->timeout_s};
    list_init(&sync->node);
    snprintf(sync->service, sizeof sync->service, "%s", service);
    snprintf(sync->code_hash, sizeof sync->code_hash, "%s", function->code_hash ? function->code_hash : "");
    sync->name = strdup(function->name);
    sync->env = function->env ? json_deep_copy(function->env) : json_object();
    sync->build = needs_image && function->image == NULL;
    int ok = sync->name != NULL && sync->env != NULL &&
             (!needs_image || sync->build || (sync->image = strdup(function->image)) != NULL) &&
             (!sync->build || of_sync_keep_build(sync, function) == 0);
    if (!ok) {
        of_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        of_sync_free(sync);
        return 0;
    }
    list_push_front(&platform->syncs, &sync->node);
    of_sync_call(sync);
    return 0;
}

static int of_check(void *self, char *err, size_t err_size)
{
    struct of_platform *platform = self;
    return of_client_ready(platform->client, err, err_size);
}

/* ---- invoke ---- */

struct of_invoke {
    platform_done_fn done;
    void *ctx;
    unsigned flags;
    char name[256];
    char service[OF_SERVICE_MAX + 1];
    struct of_platform *platform;
};

/* The function's own exception, as faaset_http.py answers it (500 {"errorType", "errorMessage", "stackTrace"}),
 * into OUTCOME; TRACEBACK is the caller's to release. */
static void of_invoke_exception(const struct of_reply *reply, struct platform_outcome *outcome, char *type,
                                size_t type_size, char *message, size_t message_size, json_t **traceback)
{
    const json_t *body = reply->json;
    snprintf(type, type_size, "%s", json_string_value(json_object_get(body, "errorType")));
    snprintf(message, message_size, "%s", json_string_value(json_object_get(body, "errorMessage")) ?: "");
    *traceback = json_array();
    size_t i;
    json_t *line;
    json_array_foreach(json_object_get(body, "stackTrace"), i, line)
        if (json_is_string(line))
            json_array_append(*traceback, line);
    json_array_append_new(*traceback, json_pack("s++", "(OpenFaaS call ", reply->call_id ? reply->call_id : "-",
                                                ")"));
    outcome->error_type = type;
    outcome->message = message;
    outcome->traceback = *traceback;
}

static void of_invoke_on_reply(void *ctx, const struct of_reply *reply)
{
    struct of_invoke *invoke = ctx;
    struct platform_outcome outcome = {0};
    json_t *result = NULL, *traceback = NULL;
    char message[2400], type[64];
    if (invoke->platform->closing) {
        of_fail(invoke->done, invoke->ctx, "KernelStopping", "the kernel is shutting down");
        free(invoke);
        return;
    }
    if (reply->http != NULL && reply->http->error == NULL) {
        outcome.sent_ms = reply->http->sent_ms;
        outcome.received_ms = reply->http->received_ms;
        outcome.round_trip_ms = reply->http->total_ms;
    }
    if (reply->ok && (invoke->flags & PLATFORM_INVOKE_EVENT)) {
        outcome.ok = 1;
        result = json_pack("{s:i, s:s}", "StatusCode", (int)reply->status, "callId", reply->call_id ? reply->call_id
                                                                                                    : "");
    } else if (reply->ok) {
        outcome.ok = 1;
        result = reply->json != NULL ? json_incref((json_t *)reply->json) : json_string(reply->text);
    } else if (reply->status == 500 && json_is_string(json_object_get(reply->json, "errorType"))) {
        of_invoke_exception(reply, &outcome, type, sizeof type, message, sizeof message, &traceback);
    } else if (reply->status == 404) {
        snprintf(message, sizeof message, "%s is not deployed on openfaas (the gateway has no function %s): run its "
                 "%%%%cloud_function cell, or link an existing function with deploy=false remote=NAME", invoke->name,
                 invoke->service);
        outcome.error_type = "NotFound";
        outcome.message = message;
    } else if (of_retryable(reply->status)) { /* the gateway's refusal for now, or no answer */
        snprintf(message, sizeof message, "%s%s%s%s", reply->message, reply->call_id ? " (call " : "",
                 reply->call_id ? reply->call_id : "", reply->call_id ? ")" : "");
        outcome.error_type = reply->error_type;
        outcome.message = message;
        outcome.throttled = reply->status != 0;
        outcome.retry_after_ms = reply->retry_after_ms;
    } else { /* the function's own answer, passed through by the gateway */
        snprintf(type, sizeof type, "HTTP%ld", reply->status);
        snprintf(message, sizeof message, "%s answered HTTP %ld: %.1500s (call %s)", invoke->name, reply->status,
                 reply->text, reply->call_id ? reply->call_id : "-");
        outcome.error_type = type;
        outcome.message = message;
    }
    outcome.result = result;
    invoke->done(invoke->ctx, &outcome);
    json_decref(result);
    json_decref(traceback);
    free(invoke);
}

static int of_invoke(void *self, const char *name, const json_t *payload, unsigned flags, platform_done_fn done,
                     void *ctx)
{
    struct of_platform *platform = self;
    char message[900], path[128];
    struct of_invoke *invoke = calloc(1, sizeof *invoke);
    if (invoke == NULL) {
        of_fail(done, ctx, "OutOfMemory", "cannot start the call");
        return 0;
    }
    *invoke = (struct of_invoke){.done = done, .ctx = ctx, .flags = flags, .platform = platform};
    snprintf(invoke->name, sizeof invoke->name, "%s", name);
    const char *refused = of_client_ready(platform->client, message, sizeof message) < 0 ? "NoCredentials"
                          : of_service_name(name, invoke->service, message, sizeof message) < 0 ? "InvalidOption"
                                                                                                 : NULL;
    if (refused != NULL) {
        of_fail(done, ctx, refused, message);
        free(invoke);
        return 0;
    }
    char *body = json_dumps(payload ? payload : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    if (body == NULL) {
        free(invoke);
        of_fail(done, ctx, "OutOfMemory", "cannot start the call");
        return 0;
    }
    snprintf(path, sizeof path, "/%s/%s", flags & PLATFORM_INVOKE_EVENT ? "async-function" : "function",
             invoke->service);
    struct of_call call = {"POST", path, body, strlen(body), OF_CALL_TIMEOUT_MS};
    int rc = of_client_send(platform->client, &call, of_invoke_on_reply, invoke, message, sizeof message);
    free(body);
    if (rc < 0) {
        of_fail(done, ctx, "NoCredentials", message);
        free(invoke);
    }
    return 0;
}

/* Every call goes to the gateway: FUNCTION does not matter. */
static size_t of_prepare(void *self, const char *function, size_t count)
{
    struct of_platform *platform = self;
    (void)function;
    return of_client_prepare(platform->client, count);
}

static size_t of_preparing(void *self, const char *function)
{
    struct of_platform *platform = self;
    (void)function;
    return of_client_preparing(platform->client);
}

/* ---- settings ---- */

static int of_apply_settings(void *self, const json_t *settings, char *err, size_t err_size)
{
    struct of_platform *platform = self;
    const char *gateway = NULL, *registry = NULL, *base = NULL;
    int ready_timeout = OF_DEFAULT_READY_TIMEOUT_S;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)settings, key, value) {
        const char *text = json_string_value(value);
        if (text == NULL) {
            snprintf(err, err_size, "%s must be a string", key);
            return -1;
        }
        if (strcmp(key, "gateway") == 0) {
            gateway = text;
        } else if (strcmp(key, "registry") == 0 || strcmp(key, "image_base") == 0) {
            struct oci_reference reference;
            char probe[600];
            snprintf(probe, sizeof probe, "%s%s", text, strcmp(key, "registry") == 0 ? "/probe" : "");
            if (text[0] == '\0' || oci_reference_parse(probe, &reference, err, err_size) < 0) {
                snprintf(err, err_size, "%s=%.200s is not a %s", key, text, strcmp(key, "registry") == 0
                             ? "registry and prefix such as 127.0.0.1:5000/functions or ghcr.io/USER"
                             : "image reference such as python:3.12-slim");
                return -1;
            }
            *(strcmp(key, "registry") == 0 ? &registry : &base) = text;
        } else if (strcmp(key, "ready_timeout") == 0) {
            char *end = NULL;
            long seconds = strtol(text, &end, 10);
            if (end == text || *end != '\0' || seconds < 1 || seconds > 3600) {
                snprintf(err, err_size, "ready_timeout must be a whole number of seconds from 1 to 3600");
                return -1;
            }
            ready_timeout = (int)seconds;
        } else if (strcmp(key, "auth") == 0) { /* password= and token= the kernel refuses before */
            snprintf(err, err_size, "the password never goes in the notebook: run `faas-cli login` (it writes "
                     "~/.openfaas/config.yml), or set OPENFAAS_PASSWORD before starting Jupyter");
            return -1;
        } else {
            snprintf(err, err_size, "unknown setting '%s' for openfaas; it knows gateway, registry, image_base and "
                     "ready_timeout", key);
            return -1;
        }
    }
    char *registry_copy = registry ? of_registry_copy(registry) : NULL, *base_copy = base ? strdup(base) : NULL;
    if ((registry != NULL && registry_copy == NULL) || (base != NULL && base_copy == NULL) ||
        of_client_set(platform->client, gateway, err, err_size) < 0) {
        free(registry_copy);
        free(base_copy);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    free(platform->registry);
    free(platform->image_base);
    platform->registry = registry_copy; /* each line gives all */
    platform->image_base = base_copy;
    platform->ready_timeout_s = ready_timeout;
    if (of_client_ready(platform->client, err, err_size) < 0)
        return -1;
    of_client_describe(platform->client, err, err_size);
    return 0;
}

void *of_platform_new(struct reactor *reactor)
{
    struct of_platform *platform = calloc(1, sizeof *platform);
    if (platform == NULL || (platform->client = of_client_new(reactor)) == NULL) {
        free(platform);
        return NULL;
    }
    platform->reactor = reactor;
    platform->ready_timeout_s = OF_DEFAULT_READY_TIMEOUT_S;
    list_init(&platform->syncs);
    return platform;
}

/* `%platform openfaas registry=` and `image_base=` go into a built image where the cell gives none. */
static void of_image_settings(void *self, const struct platform_function *function, char *out, size_t size)
{
    struct of_platform *platform = self;
    const char *registry = function->registry == NULL ? platform->registry : NULL;
    const char *base = function->image_base == NULL ? platform->image_base : NULL;
    out[0] = '\0';
    if (function->image == NULL && (registry != NULL || base != NULL))
        snprintf(out, size, "registry=%s image_base=%s", registry ? registry : "", base ? base : "");
}

/* OpenFaaS runs images only: the kernel's zip is never sent. */
static int of_uses_package(void *self, const struct platform_function *function)
{
    (void)self;
    (void)function;
    return 0;
}

static void of_free(void *self)
{
    struct of_platform *platform = self;
    platform->closing = 1;
    of_client_free(platform->client); /* the calls in flight end, and their syncs and invokes with them */
    struct list_node *waiting;        /* those waiting to retry or poll */
    while ((waiting = list_first(&platform->syncs)) != NULL)
        of_sync_finish(list_entry(waiting, struct of_sync, node), "KernelStopping", "the kernel is shutting down");
    free(platform->registry);
    free(platform->image_base);
    free(platform);
}

const struct platform_ops of_platform_ops = {
    .name = "openfaas",
    .check = of_check,
    .sync = of_sync,
    .verifies = 1,
    .invoke = of_invoke,
    .prepare = of_prepare,
    .preparing = of_preparing,
    .image_settings = of_image_settings,
    .uses_package = of_uses_package,
    .apply_settings = of_apply_settings,
    .free = of_free,
};
