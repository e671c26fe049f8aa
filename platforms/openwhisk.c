/* openwhisk: the `ibm` platform (alias `openwhisk`): Apache OpenWhisk,
 * and IBM Cloud Functions which is OpenWhisk, behind the platform
 * interface (platform.h), on OpenWhisk's REST API (/api/v1: actions PUT,
 * GET, DELETE and POST, activations GET) through ow_client (Basic auth,
 * or IAM bearer tokens for IBM's IAM-based namespaces; OpenWhisk's errors
 * as sentences).
 *
 * Deploy, configure, verify and set_memory are one state machine, a
 * "sync", that makes the remote action match what the notebook defines:
 *
 *   GET action --404--> PUT ?overwrite=true (exec, limits, parameters,
 *        |               annotations): "deployed"
 *        v
 *   code differs? --> PUT ?overwrite=true with everything: "updated code of"
 *        v
 *   configuration differs? --> PUT ?overwrite=true with limits (and
 *        |                     parameters) but no exec: OpenWhisk keeps
 *        |                     the code, so it is not sent again:
 *        |                     "updated configuration of"
 *        v
 *   "up to date"
 *
 * OpenWhisk applies a PUT before it answers, so there is nothing to poll.
 * The code is a base64 zip (`binary`, `main` "main", `kind` python:3.N
 * from the cell's runtime= or the `kind=` setting); the zip's __main__.py
 * calls the shim (faaset_handler.main). Our zip's SHA-256 is kept in the
 * annotation `faaset-code`, and since OpenWhisk returns the code as it was
 * sent, the GET compares the code itself too: an action updated from wsk
 * (which may keep the annotations) is noticed. The configuration compared
 * is limits.memory, limits.timeout (ms) and the cell's env=, which OpenWhisk
 * has no place for: it travels as the action parameter `__faaset_env`,
 * which the shim takes out of the arguments and puts into os.environ.
 * Others' parameters and annotations are kept. As on aws and gcf, the
 * machine reports what it found, and for an unchanged cell (verify) an
 * action changed or deleted outside the notebook, which it then repairs.
 *
 * Limits are checked before any call: memory 128 to 2048 MB and timeout up
 * to 600 s by default (IBM Cloud Functions'; a self-hosted OpenWhisk says
 * its own with `%platform ibm max_memory=512 max_timeout=300`, Apache's
 * defaults), code 48 MB, parameters 1 MB, x86_64, a python:3.N kind.
 *
 * Invocations POST the payload (a JSON object: OpenWhisk's parameters) to
 * the action with blocking=true&result=true: 200 is the result (the
 * shim's {"faaset_value": v} unwrapped, the activation id added to a dict
 * as `activationId`); 202 means the controller's wait ran out, and the
 * activation is polled (GET activations/ID, 404 while it runs) after
 * 0.25, 0.5, 1 s and then every 2 s; 502 is the function's error: the
 * shim's {"error": {"errorType", "errorMessage", "stackTrace"}} (or
 * OpenWhisk's own text for a timeout or memory), shown with the
 * activation's logs, read with one GET. Event calls are blocking=false and
 * answer {"StatusCode": 202, "activationId"}. 429 and 5xx are reported as
 * throttled, for the caller to retry with the one backoff policy (retry.h);
 * the control plane retries them itself with that policy. Every answer
 * and every error message carries the activation id. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "ow_client.h"
#include "platform.h"
#include "retry.h"

#define OW_CODE_MAX (48L * 1024 * 1024)         /* exec.code, base64 */
#define OW_PAYLOAD_MAX (1L * 1024 * 1024)
#define OW_MEMORY_MIN 128
#define OW_DEFAULT_MAX_MEMORY 2048              /* IBM Cloud Functions' */
#define OW_DEFAULT_MAX_TIMEOUT_S 600
#define OW_CONTROL_TIMEOUT_MS 120000L
#define OW_MAX_POLLS 450                        /* about 15 minutes at 2 s */
#define OW_LOG_MAX 4096                         /* the end of the log shown with an error */
#define OW_ANNOTATION_CODE "faaset-code"
#define OW_ENV_PARAMETER "__faaset_env"

/* Throttling and the controller's own errors: 4 retries, waits drawn up
 * to 0.25, 0.5, 1 and 2 s, as for aws and gcf. */
static const struct retry_policy ow_retry = {.base_ms = 250, .cap_ms = 2000, .max_retries = 4};

/* The Python kinds OpenWhisk's runtimes offer. */
static const char *const ow_kinds[] = {"python:3.7", "python:3.9", "python:3.10", "python:3.11", "python:3.12",
                                       "python:default", NULL};

struct ow_platform {
    struct reactor *reactor;
    struct ow_client *client;
    int max_memory, max_timeout_s;
    char kind[24];               /* the kind= setting, "" for the cell's runtime */
    struct list_node syncs;      /* under way: ended with KernelStopping when the platform is freed */
    struct list_node invokes;    /* waiting to poll an activation */
    int closing;
};

enum ow_step { OW_STEP_GET, OW_STEP_PUT_CODE, OW_STEP_PUT_CONFIG, OW_STEP_DELETE };

static const char *const ow_step_names[] = {"reading", "deploying", "configuring", "deleting"};

struct ow_sync {
    struct ow_platform *platform;
    enum platform_sync kind;
    enum ow_step step;
    platform_done_fn done;
    void *ctx;
    char *name;
    char *path;                  /* "/actions/NAME" */
    char *code;                  /* base64 of the zip; NULL for set_memory and delete */
    char code_hash[65];          /* hex SHA-256 of the zip */
    char exec_kind[24];
    int memory_mb, timeout_s;
    json_t *env;                 /* {"KEY": "value"} */
    json_t *parameters;          /* the remote action's, to keep what others set */
    int retries;
    int created, code_updated, config_updated;
    char note[600];
    unsigned long timer;
    struct list_node node;
};

/* ---- names and limits ---- */

static void ow_fail(platform_done_fn done, void *ctx, const char *type, const char *message)
{
    struct platform_outcome outcome = {.ok = 0, .error_type = type, .message = message};
    done(ctx, &outcome);
}

/* An action name OpenWhisk takes and a URL path needs no escaping for. */
static int ow_valid_name(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > 256)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.' && *p != '@')
            return 0;
    return 1;
}

/* The kind for RUNTIME ("python3.12" -> "python:3.12") or the kind= setting, into OUT; -1 when not offered. */
static int ow_kind(const struct ow_platform *platform, const char *runtime, char *out, size_t size)
{
    if (platform->kind[0])
        snprintf(out, size, "%s", platform->kind);
    else if (runtime != NULL && strncmp(runtime, "python3.", 8) == 0)
        snprintf(out, size, "python:3.%.4s", runtime + 8);
    else
        snprintf(out, size, "python:3.12");
    for (size_t i = 0; ow_kinds[i] != NULL; i++)
        if (strcmp(out, ow_kinds[i]) == 0)
            return 0;
    return -1;
}

static int ow_check_limits(const struct ow_platform *platform, const struct platform_function *function,
                           char *message, size_t size)
{
    char kind[24];
    if (!ow_valid_name(function->name)) {
        snprintf(message, size, "'%.100s' is not an OpenWhisk action name here (letters, digits, _ - . @)",
                 function->name);
        return -1;
    }
    if (function->memory_mb < OW_MEMORY_MIN || function->memory_mb > platform->max_memory) {
        snprintf(message, size, "memory=%d: OpenWhisk here takes %d to %d MB (%%platform ibm max_memory=MB says "
                 "another maximum for a self-hosted OpenWhisk)", function->memory_mb, OW_MEMORY_MIN,
                 platform->max_memory);
        return -1;
    }
    if (function->timeout_s < 1 || function->timeout_s > platform->max_timeout_s) {
        snprintf(message, size, "timeout=%d: OpenWhisk here allows 1 to %d seconds (%%platform ibm max_timeout=S "
                 "says another maximum for a self-hosted OpenWhisk)", function->timeout_s, platform->max_timeout_s);
        return -1;
    }
    if (function->image != NULL) {
        snprintf(message, size, "image= is for aws: OpenWhisk Python actions are deployed from the zip");
        return -1;
    }
    if (function->arch != NULL && strcmp(function->arch, "x86_64") != 0) {
        snprintf(message, size, "arch=%s: OpenWhisk runs x86_64 only", function->arch);
        return -1;
    }
    if (function->max_instances > 0) {
        snprintf(message, size, "max_instances= is for gcf: OpenWhisk limits calls at once per namespace");
        return -1;
    }
    if (ow_kind(platform, function->runtime, kind, sizeof kind) < 0) {
        snprintf(message, size, "OpenWhisk has no kind %s: use runtime=python3.9 to python3.12 in the cell, or "
                 "%%platform ibm kind=python:3.11 (kinds: python:3.7, 3.9, 3.10, 3.11, 3.12, python:default)", kind);
        return -1;
    }
    if (function->package != NULL && (long)((function->package_size + 2) / 3 * 4) > OW_CODE_MAX) {
        snprintf(message, size, "the package is %.1f MB; OpenWhisk takes actions of at most 48 MB (base64)",
                 (double)function->package_size / (1024.0 * 1024.0));
        return -1;
    }
    return 0;
}

/* ---- the sync state machine ---- */

static void ow_sync_free(struct ow_sync *sync)
{
    list_remove(&sync->node);
    if (sync->timer)
        reactor_cancel(sync->platform->reactor, sync->timer);
    free(sync->name);
    free(sync->path);
    free(sync->code);
    json_decref(sync->env);
    json_decref(sync->parameters);
    free(sync);
}

static void ow_sync_finish(struct ow_sync *sync, const char *error_type, const char *message)
{
    struct platform_outcome outcome = {.ok = error_type == NULL, .error_type = error_type, .message = message};
    if (outcome.ok) {
        int drifted = sync->note[0] != '\0';
        outcome.action = sync->kind == PLATFORM_SYNC_REMOVE              ? "deleted"
                         : drifted && sync->kind == PLATFORM_SYNC_VERIFY ? "redeployed"
                         : sync->created                                 ? "deployed"
                         : sync->code_updated                            ? "updated code of"
                         : sync->config_updated                          ? "updated configuration of"
                                                                         : "up to date";
        outcome.note = drifted ? sync->note : NULL;
    }
    sync->done(sync->ctx, &outcome);
    ow_sync_free(sync);
}

static void ow_sync_call(struct ow_sync *sync);

static void ow_sync_on_timer(void *ctx)
{
    struct ow_sync *sync = ctx;
    sync->timer = 0;
    ow_sync_call(sync);
}

/* Remembers WHAT differs when it can only have been changed outside the
 * notebook: anything, for an unchanged cell (verify); the code, when only
 * the cell's configuration changed. */
static void ow_sync_note(struct ow_sync *sync, const char *what, int is_code)
{
    if (sync->note[0] || !(sync->kind == PLATFORM_SYNC_VERIFY || (sync->kind == PLATFORM_SYNC_CONFIGURE && is_code)))
        return;
    snprintf(sync->note, sizeof sync->note, "changed outside the notebook: %s", what);
}

/* The value of annotation KEY in ACTION, or NULL. */
static const json_t *ow_annotation(const json_t *action, const char *key)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(action, "annotations"), i, item) {
        const char *name = json_string_value(json_object_get(item, "key"));
        if (name != NULL && strcmp(name, key) == 0)
            return json_object_get(item, "value");
    }
    return NULL;
}

/* The parameters of ACTION without ours, and ours (NULL when none). */
static json_t *ow_split_parameters(const json_t *action, const json_t **ours)
{
    json_t *others = json_array();
    size_t i;
    json_t *item;
    *ours = NULL;
    json_array_foreach(json_object_get(action, "parameters"), i, item) {
        const char *name = json_string_value(json_object_get(item, "key"));
        if (name != NULL && strcmp(name, OW_ENV_PARAMETER) == 0)
            *ours = json_object_get(item, "value");
        else
            json_array_append(others, item);
    }
    return others;
}

static int ow_code_differs(const struct ow_sync *sync, const json_t *action, char *what, size_t size)
{
    const json_t *exec = json_object_get(action, "exec");
    const char *kind = json_string_value(json_object_get(exec, "kind"));
    const char *code = json_string_value(json_object_get(exec, "code"));
    const char *main = json_string_value(json_object_get(exec, "main"));
    const char *hash = json_string_value(ow_annotation(action, OW_ANNOTATION_CODE));
    if (hash == NULL || strcmp(hash, sync->code_hash) != 0)
        snprintf(what, size, "its code is not the notebook's (annotation %s is %.12s..., the package %.12s...)",
                 OW_ANNOTATION_CODE, hash ? hash : "(none)", sync->code_hash);
    else if (code == NULL || strcmp(code, sync->code) != 0 || !json_is_true(json_object_get(exec, "binary")))
        snprintf(what, size, "its code was replaced (it is not the zip its annotation %s names)", OW_ANNOTATION_CODE);
    else if (kind == NULL || strcmp(kind, sync->exec_kind) != 0)
        snprintf(what, size, "its kind is %s, the notebook's %s", kind ? kind : "(none)", sync->exec_kind);
    else if (main != NULL && strcmp(main, "main") != 0)
        snprintf(what, size, "its entry point is %s, not main", main);
    else
        return 0;
    return 1;
}

static int ow_config_differs(const struct ow_sync *sync, const json_t *action, char *what, size_t size)
{
    const json_t *limits = json_object_get(action, "limits");
    json_int_t memory = json_integer_value(json_object_get(limits, "memory"));
    json_int_t timeout = json_integer_value(json_object_get(limits, "timeout"));
    if (memory != sync->memory_mb) {
        snprintf(what, size, "its memory is %lld MB, the notebook's %d MB", (long long)memory, sync->memory_mb);
        return 1;
    }
    if (sync->kind == PLATFORM_SYNC_SET_MEMORY)
        return 0;
    if (timeout != (json_int_t)sync->timeout_s * 1000) {
        snprintf(what, size, "its timeout is %lld ms, the notebook's %d s", (long long)timeout, sync->timeout_s);
        return 1;
    }
    const json_t *env = NULL;
    json_t *others = ow_split_parameters(action, &env);
    json_decref(others);
    int differs = env == NULL ? json_object_size(sync->env) > 0 : !json_equal(env, sync->env);
    if (differs)
        snprintf(what, size, "its environment variables (parameter %s) differ from the notebook's", OW_ENV_PARAMETER);
    return differs;
}

/* GET answered: decide the next step from the remote action. */
static void ow_sync_on_action(struct ow_sync *sync, const json_t *action)
{
    char what[400] = "", config_what[400] = "";
    if (sync->kind == PLATFORM_SYNC_REMOVE) {
        sync->step = OW_STEP_DELETE;
        ow_sync_call(sync);
        return;
    }
    json_decref(sync->parameters);
    sync->parameters = json_deep_copy(json_object_get(action, "parameters"));
    int code = sync->kind != PLATFORM_SYNC_SET_MEMORY && ow_code_differs(sync, action, what, sizeof what);
    if (code)
        ow_sync_note(sync, what, 1);
    int config = ow_config_differs(sync, action, config_what, sizeof config_what);
    if (!code && config)
        ow_sync_note(sync, config_what, 0);
    if (code)
        sync->step = OW_STEP_PUT_CODE;
    else if (config)
        sync->step = OW_STEP_PUT_CONFIG;
    else {
        ow_sync_finish(sync, NULL, NULL);
        return;
    }
    ow_sync_call(sync);
}

static int ow_retryable(const struct ow_reply *reply)
{
    return reply->status == 429 || reply->status >= 500 || reply->status == 0;
}

static void ow_sync_on_reply(void *ctx, const struct ow_reply *reply)
{
    struct ow_sync *sync = ctx;
    char message[2200];
    if (sync->platform->closing) {
        ow_sync_finish(sync, "KernelStopping", "the kernel is shutting down");
        return;
    }
    if (reply->ok && !json_is_object(reply->json)) {
        snprintf(message, sizeof message, "%s %s: the answer is not OpenWhisk's (HTTP %ld without a JSON object); "
                 "check the API host (%%platform ibm apihost=..., APIHOST in ~/.wskprops)", ow_step_names[sync->step],
                 sync->name, reply->status);
        ow_sync_finish(sync, "InvalidResponse", message);
        return;
    }
    if (reply->ok) {
        sync->retries = 0;
        switch (sync->step) {
        case OW_STEP_GET:
            ow_sync_on_action(sync, reply->json);
            return;
        case OW_STEP_PUT_CODE:
            if (!sync->created)
                sync->code_updated = 1;
            ow_sync_finish(sync, NULL, NULL);
            return;
        case OW_STEP_PUT_CONFIG:
            sync->config_updated = 1;
            ow_sync_finish(sync, NULL, NULL);
            return;
        case OW_STEP_DELETE:
            ow_sync_finish(sync, NULL, NULL);
            return;
        }
    }
    if (reply->status == 404 && sync->step == OW_STEP_GET && strcmp(reply->error_type, "NotFound") == 0) {
        if (sync->kind == PLATFORM_SYNC_SET_MEMORY || sync->kind == PLATFORM_SYNC_REMOVE) {
            snprintf(message, sizeof message, "%s is not deployed on ibm (no action %s in the namespace); run its "
                     "%%%%cloud_function cell", sync->name, sync->name);
            ow_sync_finish(sync, "NotFound", message);
            return;
        }
        if (sync->kind == PLATFORM_SYNC_VERIFY || sync->kind == PLATFORM_SYNC_CONFIGURE)
            snprintf(sync->note, sizeof sync->note, "it had been deleted outside the notebook");
        sync->created = 1;
        sync->step = OW_STEP_PUT_CODE;
        ow_sync_call(sync);
        return;
    }
    double wait = ow_retryable(reply) ? retry_delay_ms(&ow_retry, sync->retries, reply->retry_after_ms) : -1;
    if (wait >= 0) {
        sync->retries++;
        sync->timer = reactor_timer(sync->platform->reactor, (long long)wait, ow_sync_on_timer, sync);
        if (sync->timer == 0)
            ow_sync_finish(sync, "OutOfMemory", "cannot schedule the next call");
        return;
    }
    snprintf(message, sizeof message, "%s %s: %s", ow_step_names[sync->step], sync->name, reply->message);
    ow_sync_finish(sync, reply->error_type, message);
}

/* The parameters to send: others' kept, ours set to the cell's env= (left out when empty). */
static json_t *ow_sync_parameters(const struct ow_sync *sync)
{
    const json_t *old = NULL;
    json_t *wrapper = json_pack("{s:O}", "parameters", sync->parameters ? sync->parameters : json_null());
    json_t *parameters = ow_split_parameters(wrapper, &old);
    json_decref(wrapper);
    if (parameters != NULL && json_object_size(sync->env) > 0)
        json_array_append_new(parameters, json_pack("{s:s, s:O}", "key", OW_ENV_PARAMETER, "value", sync->env));
    return parameters;
}

/* The body of a PUT: everything for new code, the limits (and parameters) for a configuration. */
static json_t *ow_sync_body(const struct ow_sync *sync)
{
    if (sync->kind == PLATFORM_SYNC_SET_MEMORY)
        return json_pack("{s:{s:i}}", "limits", "memory", sync->memory_mb);
    json_t *body = json_pack("{s:{s:i, s:i}, s:o}", "limits", "memory", sync->memory_mb, "timeout",
                             sync->timeout_s * 1000, "parameters", ow_sync_parameters(sync));
    if (body == NULL || sync->step != OW_STEP_PUT_CODE)
        return body;
    json_object_set_new(body, "exec", json_pack("{s:s, s:s, s:s, s:b}", "kind", sync->exec_kind, "code", sync->code,
                                                "main", "main", "binary", 1));
    json_object_set_new(body, "annotations",
                        json_pack("[{s:s, s:s}, {s:s, s:s}]", "key", OW_ANNOTATION_CODE, "value", sync->code_hash,
                                  "key", "description", "value", "Deployed by FaaSET"));
    return body;
}

static void ow_sync_call(struct ow_sync *sync)
{
    char message[1200] = "";
    char *path = NULL, *text = NULL;
    struct ow_call call = {.method = "GET", .timeout_ms = OW_CONTROL_TIMEOUT_MS};
    int built;
    switch (sync->step) {
    case OW_STEP_GET:
    case OW_STEP_DELETE:
        call.method = sync->step == OW_STEP_GET ? "GET" : "DELETE";
        call.path = sync->path;
        built = 1;
        break;
    default: {
        json_t *body = ow_sync_body(sync);
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        call.method = "PUT";
        built = text != NULL && asprintf(&path, "%s?overwrite=true", sync->path) >= 0;
        call.path = path;
        call.body = text;
        call.body_size = text ? strlen(text) : 0;
        break;
    }
    }
    if (!built) {
        free(text);
        ow_sync_finish(sync, "OutOfMemory", "cannot build the request");
        return;
    }
    int rc = ow_client_send(sync->platform->client, &call, ow_sync_on_reply, sync, message, sizeof message);
    free(path);
    free(text);
    if (rc < 0)
        ow_sync_finish(sync, "NoCredentials", message);
}

/* The sync operation (platform.h): each kind is the same steps, read the function, compare, send what differs. */
static int ow_sync(void *self, enum platform_sync kind, const struct platform_function *requested,
                   platform_done_fn done, void *ctx)
{
    struct ow_platform *platform = self;
    struct platform_function limited = *requested; /* set_memory and remove name only the function */
    if (kind == PLATFORM_SYNC_SET_MEMORY || kind == PLATFORM_SYNC_REMOVE)
        limited.timeout_s = kind == PLATFORM_SYNC_REMOVE ? 1 : 60;
    if (kind == PLATFORM_SYNC_REMOVE)
        limited.memory_mb = OW_MEMORY_MIN;
    const struct platform_function *function = &limited;
    char message[900];
    if (ow_client_ready(platform->client, message, sizeof message) < 0) {
        ow_fail(done, ctx, "NoCredentials", message);
        return 0;
    }
    if (ow_check_limits(platform, function, message, sizeof message) < 0) {
        ow_fail(done, ctx, "InvalidOption", message);
        return 0;
    }
    int needs_code = kind == PLATFORM_SYNC_DEPLOY || kind == PLATFORM_SYNC_CONFIGURE || kind == PLATFORM_SYNC_VERIFY;
    if (needs_code && function->package == NULL) {
        ow_fail(done, ctx, "NoPackage", "the ibm platform needs the package to compare with the deployed code");
        return 0;
    }
    struct ow_sync *sync = calloc(1, sizeof *sync);
    if (sync == NULL) {
        ow_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        return 0;
    }
    *sync = (struct ow_sync){.platform = platform, .kind = kind, .step = OW_STEP_GET, .done = done, .ctx = ctx,
                             .memory_mb = function->memory_mb, .timeout_s = function->timeout_s};
    list_init(&sync->node);
    ow_kind(platform, function->runtime, sync->exec_kind, sizeof sync->exec_kind);
    sync->name = strdup(function->name);
    sync->env = function->env ? json_deep_copy(function->env) : json_object();
    int ok = sync->name != NULL && sync->env != NULL && asprintf(&sync->path, "/actions/%s", function->name) >= 0;
    if (!ok)
        sync->path = NULL;
    if (ok && needs_code) {
        size_t size = sodium_base64_encoded_len(function->package_size, sodium_base64_VARIANT_ORIGINAL);
        unsigned char digest[crypto_hash_sha256_BYTES];
        ok = (sync->code = malloc(size)) != NULL;
        if (ok) {
            sodium_bin2base64(sync->code, size, function->package, function->package_size,
                              sodium_base64_VARIANT_ORIGINAL);
            crypto_hash_sha256(digest, function->package, function->package_size);
            sodium_bin2hex(sync->code_hash, sizeof sync->code_hash, digest, sizeof digest);
        }
    }
    if (!ok) {
        ow_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        ow_sync_free(sync);
        return 0;
    }
    list_push_front(&platform->syncs, &sync->node);
    ow_sync_call(sync);
    return 0;
}

static int ow_check(void *self, char *err, size_t err_size)
{
    struct ow_platform *platform = self;
    return ow_client_ready(platform->client, err, err_size);
}

/* ---- invoke ---- */

enum ow_invoke_phase { OW_INVOKE_CALL, OW_INVOKE_POLL, OW_INVOKE_LOGS };

struct ow_invoke {
    struct ow_platform *platform;
    platform_done_fn done;
    void *ctx;
    unsigned flags;
    enum ow_invoke_phase phase;
    char *name;
    char activation[80];
    int polls;
    double sent_ms, started_mono_ms;
    json_t *answer;              /* the activation's result, kept while its logs are read */
    int failed;                  /* the answer is the function's error */
    unsigned long timer;
    struct list_node node;       /* in the platform's invokes while a timer waits */
};

static void ow_invoke_free(struct ow_invoke *invoke)
{
    list_remove(&invoke->node);
    if (invoke->timer)
        reactor_cancel(invoke->platform->reactor, invoke->timer);
    json_decref(invoke->answer);
    free(invoke->name);
    free(invoke);
}

static void ow_invoke_fail(struct ow_invoke *invoke, const char *type, const char *message)
{
    ow_fail(invoke->done, invoke->ctx, type, message);
    ow_invoke_free(invoke);
}

/* The last OW_LOG_MAX bytes of an activation's logs ("<time> stdout: text" lines) as one text; NULL when none. */
static char *ow_log_text(const json_t *logs)
{
    size_t total = 0, i;
    json_t *line;
    json_array_foreach(logs, i, line)
        total += json_string_length(line) + 1;
    if (total == 0)
        return NULL;
    char *text = malloc(total + 1), *at = text;
    if (text == NULL)
        return NULL;
    json_array_foreach(logs, i, line) {
        memcpy(at, json_string_value(line), json_string_length(line));
        at += json_string_length(line);
        *at++ = '\n';
    }
    *at = '\0';
    if (total > OW_LOG_MAX)
        memmove(text, text + total - OW_LOG_MAX, OW_LOG_MAX + 1);
    return text;
}

/* Delivers the activation's ANSWER (its result: the function's value or error) with LOGS (an array, or NULL). */
static void ow_invoke_deliver(struct ow_invoke *invoke, const json_t *answer, int failed, const json_t *logs,
                              const struct ow_reply *last)
{
    struct platform_outcome outcome = {.ok = !failed};
    json_t *result = NULL, *traceback = NULL;
    char message[2400], type[64];
    char *log = logs != NULL ? ow_log_text(logs) : NULL;
    if (last != NULL && last->http != NULL) { /* the call's own answer is timed by the engine; a poll's from the call */
        outcome.sent_ms = invoke->sent_ms;
        outcome.received_ms = last->http->received_ms;
        outcome.round_trip_ms = invoke->phase == OW_INVOKE_CALL ? last->http->total_ms
                                                                : last->http->received_ms - invoke->sent_ms;
    }
    if (!failed) {
        const json_t *value = json_object_get(answer, "faaset_value");
        if (value != NULL && json_object_size(answer) == 1)
            result = json_incref((json_t *)value);
        else if (json_is_object(answer)) {
            result = json_deep_copy(answer);
            json_object_set_new(result, "activationId", json_string(invoke->activation));
        } else
            result = json_incref(answer ? (json_t *)answer : json_null());
        outcome.result = result;
    } else {
        const json_t *error = json_object_get(answer, "error");
        const char *text = json_string_value(error);
        if (json_is_object(error)) {
            const char *error_type = json_string_value(json_object_get(error, "errorType"));
            snprintf(type, sizeof type, "%s", error_type ? error_type : "Unhandled");
            snprintf(message, sizeof message, "%s", json_string_value(json_object_get(error, "errorMessage")) ?: "");
            traceback = json_array();
            size_t i;
            json_t *line;
            json_array_foreach(json_object_get(error, "stackTrace"), i, line)
                if (json_is_string(line))
                    json_array_append(traceback, line);
            json_array_append_new(traceback, json_pack("s++", "(OpenWhisk activation ", invoke->activation, ")"));
        } else {
            text = text ? text : "the action failed without saying why";
            snprintf(type, sizeof type, "%s", strstr(text, "time limit") ? "FunctionTimeout"
                                              : strstr(text, "memory") ? "OutOfMemory"
                                                                       : "ActionError");
            snprintf(message, sizeof message, "%.1800s (activation %s)%s", text, invoke->activation,
                     strcmp(type, "FunctionTimeout") == 0 ? "; raise timeout= in its cell"
                     : strcmp(type, "OutOfMemory") == 0  ? "; raise memory= in its cell"
                                                          : "");
        }
        outcome.error_type = type;
        outcome.message = message;
        outcome.traceback = traceback;
    }
    outcome.log = log;
    invoke->done(invoke->ctx, &outcome);
    free(log);
    json_decref(result);
    json_decref(traceback);
    ow_invoke_free(invoke);
}

static void ow_invoke_on_reply(void *ctx, const struct ow_reply *reply);

static void ow_invoke_get(struct ow_invoke *invoke)
{
    char message[900], *path = NULL;
    if (asprintf(&path, "/activations/%s", invoke->activation) < 0) {
        ow_invoke_fail(invoke, "OutOfMemory", "cannot read the activation");
        return;
    }
    struct ow_call call = {.method = "GET", .path = path, .timeout_ms = OW_CONTROL_TIMEOUT_MS};
    int rc = ow_client_send(invoke->platform->client, &call, ow_invoke_on_reply, invoke, message, sizeof message);
    free(path);
    if (rc < 0)
        ow_invoke_fail(invoke, "NoCredentials", message);
}

static void ow_invoke_on_timer(void *ctx)
{
    struct ow_invoke *invoke = ctx;
    invoke->timer = 0;
    list_remove(&invoke->node);
    ow_invoke_get(invoke);
}

/* Reads the activation again after 0.25, 0.5, 1 s, then every 2 s. */
static void ow_invoke_poll(struct ow_invoke *invoke)
{
    char message[400];
    if (invoke->polls >= OW_MAX_POLLS) {
        snprintf(message, sizeof message, "activation %s of %s had not finished after %d checks (about 15 minutes); "
                 "look at it with `wsk activation get %s`", invoke->activation, invoke->name, OW_MAX_POLLS,
                 invoke->activation);
        ow_invoke_fail(invoke, "WaitTimeout", message);
        return;
    }
    int n = invoke->polls++;
    invoke->timer = reactor_timer(invoke->platform->reactor, n == 0 ? 250 : n == 1 ? 500 : n == 2 ? 1000 : 2000,
                                  ow_invoke_on_timer, invoke);
    if (invoke->timer == 0) {
        ow_invoke_fail(invoke, "OutOfMemory", "cannot schedule the next check");
        return;
    }
    list_push_front(&invoke->platform->invokes, &invoke->node);
}

/* An activation record read: deliver it, or, for the logs of an answer already had, deliver that. */
static void ow_invoke_on_record(struct ow_invoke *invoke, const struct ow_reply *reply)
{
    const json_t *logs = json_object_get(reply->json, "logs");
    if (invoke->phase == OW_INVOKE_LOGS) {
        ow_invoke_deliver(invoke, invoke->answer, invoke->failed, logs, reply);
        return;
    }
    const json_t *response = json_object_get(reply->json, "response");
    int success = json_is_true(json_object_get(response, "success"));
    ow_invoke_deliver(invoke, json_object_get(response, "result"), !success, logs, reply);
}

static void ow_invoke_on_reply(void *ctx, const struct ow_reply *reply)
{
    struct ow_invoke *invoke = ctx;
    struct platform_outcome outcome = {0};
    char message[2400];
    if (invoke->platform->closing) {
        ow_invoke_fail(invoke, "KernelStopping", "the kernel is shutting down");
        return;
    }
    if (reply->activation_id != NULL && invoke->phase == OW_INVOKE_CALL)
        snprintf(invoke->activation, sizeof invoke->activation, "%.79s", reply->activation_id);
    if (invoke->phase != OW_INVOKE_CALL) { /* reading the activation */
        if (reply->ok && json_is_object(reply->json)) {
            ow_invoke_on_record(invoke, reply);
        } else if (reply->status == 404 && invoke->polls < OW_MAX_POLLS) { /* still running, or not yet stored */
            if (invoke->phase == OW_INVOKE_LOGS && invoke->polls >= 4) /* the logs are not coming: show without */
                ow_invoke_deliver(invoke, invoke->answer, invoke->failed, NULL, reply);
            else
                ow_invoke_poll(invoke);
        } else if (ow_retryable(reply) && invoke->polls < OW_MAX_POLLS) {
            ow_invoke_poll(invoke);
        } else {
            snprintf(message, sizeof message, "reading activation %s of %s: %s", invoke->activation, invoke->name,
                     reply->message ? reply->message : "no activation record");
            ow_invoke_fail(invoke, reply->error_type ? reply->error_type : "InvalidResponse", message);
        }
        return;
    }
    if (reply->http != NULL)
        invoke->sent_ms = reply->http->sent_ms;
    if (reply->status == 200 && !(invoke->flags & PLATFORM_INVOKE_LOG)) {
        ow_invoke_deliver(invoke, reply->json, 0, NULL, reply);
        return;
    }
    if ((reply->status == 200 || reply->status == 502) && invoke->activation[0]) { /* the logs, then the answer */
        invoke->answer = reply->json ? json_incref((json_t *)reply->json) : json_object();
        invoke->failed = reply->status == 502;
        invoke->phase = OW_INVOKE_LOGS;
        ow_invoke_get(invoke);
        return;
    }
    if (reply->status == 502) {
        ow_invoke_deliver(invoke, reply->json, 1, NULL, reply);
        return;
    }
    if (reply->status == 202 && invoke->activation[0] == '\0') {
        const char *id = json_string_value(json_object_get(reply->json, "activationId"));
        snprintf(invoke->activation, sizeof invoke->activation, "%.79s", id ? id : "");
    }
    if (reply->status == 202 && (invoke->flags & PLATFORM_INVOKE_EVENT)) {
        json_t *result = json_pack("{s:i, s:s}", "StatusCode", 202, "activationId", invoke->activation);
        outcome = (struct platform_outcome){.ok = 1, .result = result, .sent_ms = invoke->sent_ms,
                                            .received_ms = reply->http->received_ms,
                                            .round_trip_ms = reply->http->total_ms};
        invoke->done(invoke->ctx, &outcome);
        json_decref(result);
        ow_invoke_free(invoke);
        return;
    }
    if (reply->status == 202 && invoke->activation[0]) { /* the controller's wait ran out: the activation goes on */
        invoke->phase = OW_INVOKE_POLL;
        ow_invoke_poll(invoke);
        return;
    }
    if (reply->status == 404) {
        snprintf(message, sizeof message, "%s is not deployed on ibm (no action %s in the namespace): run its "
                 "%%%%cloud_function cell, or link an existing action with deploy=false remote=NAME", invoke->name,
                 invoke->name);
        ow_invoke_fail(invoke, "NotFound", message);
        return;
    }
    snprintf(message, sizeof message, "%s%s%s%s", reply->message ? reply->message : "an answer that is not "
             "OpenWhisk's", invoke->activation[0] ? " (activation " : "", invoke->activation,
             invoke->activation[0] ? ")" : "");
    outcome.error_type = reply->error_type ? reply->error_type : "InvalidResponse";
    outcome.message = message;
    outcome.throttled = ow_retryable(reply) && reply->status != 0;
    outcome.retry_after_ms = reply->retry_after_ms;
    if (reply->http != NULL) {
        outcome.sent_ms = reply->http->sent_ms;
        outcome.received_ms = reply->http->received_ms;
        outcome.round_trip_ms = reply->http->total_ms;
    }
    invoke->done(invoke->ctx, &outcome);
    ow_invoke_free(invoke);
}

static int ow_invoke(void *self, const char *name, const json_t *payload, unsigned flags, platform_done_fn done,
                     void *ctx)
{
    struct ow_platform *platform = self;
    char message[900];
    if (ow_client_ready(platform->client, message, sizeof message) < 0) {
        ow_fail(done, ctx, "NoCredentials", message);
        return 0;
    }
    if (!ow_valid_name(name)) {
        snprintf(message, sizeof message, "'%.100s' is not an OpenWhisk action name here", name);
        ow_fail(done, ctx, "InvalidOption", message);
        return 0;
    }
    if (payload != NULL && !json_is_object(payload) && !json_is_null(payload)) {
        ow_fail(done, ctx, "InvalidPayload", "OpenWhisk passes an action its parameters as one JSON object: call it "
                "with a dict");
        return 0;
    }
    char *body = json_dumps(payload && json_is_object(payload) ? payload : json_object(), JSON_COMPACT);
    char *path = NULL;
    struct ow_invoke *invoke = calloc(1, sizeof *invoke);
    if (body == NULL || invoke == NULL || (invoke->name = strdup(name)) == NULL ||
        asprintf(&path, "/actions/%s?blocking=%s&result=true", name,
                 flags & PLATFORM_INVOKE_EVENT ? "false" : "true") < 0) {
        free(body);
        if (invoke != NULL)
            free(invoke->name);
        free(invoke);
        ow_fail(done, ctx, "OutOfMemory", "cannot start the call");
        return 0;
    }
    *invoke = (struct ow_invoke){.platform = platform, .done = done, .ctx = ctx, .flags = flags,
                                 .name = invoke->name};
    if ((long)strlen(body) > OW_PAYLOAD_MAX) {
        snprintf(message, sizeof message, "the request is %zu bytes; OpenWhisk takes parameters of at most 1 MB",
                 strlen(body));
        free(body);
        free(path);
        ow_invoke_fail(invoke, "RequestTooLarge", message);
        return 0;
    }
    /* OpenWhisk's longest timeout plus a margin: a blocking call waits at most the controller's minute anyway */
    struct ow_call call = {"POST", path, body, strlen(body), (long)(platform->max_timeout_s + 60) * 1000L};
    int rc = ow_client_send(platform->client, &call, ow_invoke_on_reply, invoke, message, sizeof message);
    free(body);
    free(path);
    if (rc < 0)
        ow_invoke_fail(invoke, "NoCredentials", message);
    return 0;
}

/* The controller's origin is the same for every action: FUNCTION does not matter. */
static size_t ow_prepare(void *self, const char *function, size_t count)
{
    struct ow_platform *platform = self;
    (void)function;
    return ow_client_prepare(platform->client, count);
}

static size_t ow_preparing(void *self, const char *function)
{
    struct ow_platform *platform = self;
    (void)function;
    return ow_client_preparing(platform->client);
}

/* ---- settings ---- */

static int ow_setting_int(const char *key, const char *text, int low, int high, int *out, char *err, size_t err_size)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < low || value > high) {
        snprintf(err, err_size, "%s must be a whole number from %d to %d", key, low, high);
        return -1;
    }
    *out = (int)value;
    return 0;
}

static int ow_apply_settings(void *self, const json_t *settings, char *err, size_t err_size)
{
    struct ow_platform *platform = self;
    struct ow_client_settings client_settings = {NULL, NULL, NULL, NULL};
    const char *kind = NULL;
    int max_memory = OW_DEFAULT_MAX_MEMORY, max_timeout = OW_DEFAULT_MAX_TIMEOUT_S;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)settings, key, value) {
        const char *text = json_string_value(value);
        if (text == NULL) {
            snprintf(err, err_size, "%s must be a string", key);
            return -1;
        }
        if (strcmp(key, "apihost") == 0)
            client_settings.apihost = text;
        else if (strcmp(key, "namespace") == 0)
            client_settings.ns = text;
        else if (strcmp(key, "iam_apikey_file") == 0)
            client_settings.iam_apikey_file = text;
        else if (strcmp(key, "iam_endpoint") == 0)
            client_settings.iam_endpoint = text;
        else if (strcmp(key, "kind") == 0)
            kind = text;
        else if (strcmp(key, "max_memory") == 0) {
            if (ow_setting_int(key, text, OW_MEMORY_MIN, 65536, &max_memory, err, err_size) < 0)
                return -1;
        } else if (strcmp(key, "max_timeout") == 0) {
            if (ow_setting_int(key, text, 1, 86400, &max_timeout, err, err_size) < 0)
                return -1;
        } else if (strcmp(key, "auth") == 0 || strcmp(key, "iam_apikey") == 0 || strcmp(key, "apikey") == 0) {
            snprintf(err, err_size, "the key never goes in the notebook: put it in ~/.wskprops (wsk property set "
                     "--auth UUID:KEY), the file WSK_CONFIG_FILE names, or __OW_API_KEY before starting Jupyter; an "
                     "IBM Cloud API key in IBMCLOUD_API_KEY, or in a file named by iam_apikey_file=");
            return -1;
        } else {
            snprintf(err, err_size, "unknown setting '%s' for ibm; it knows apihost, namespace, iam_apikey_file, "
                     "iam_endpoint, kind, max_memory and max_timeout", key);
            return -1;
        }
    }
    if (kind != NULL) {
        int known = 0;
        for (size_t i = 0; ow_kinds[i] != NULL; i++)
            known |= strcmp(kind, ow_kinds[i]) == 0;
        if (!known) {
            snprintf(err, err_size, "kind=%.40s: OpenWhisk's Python kinds are python:3.7, python:3.9, python:3.10, "
                     "python:3.11, python:3.12 and python:default", kind);
            return -1;
        }
    }
    if (ow_client_set(platform->client, &client_settings, err, err_size) < 0)
        return -1;
    snprintf(platform->kind, sizeof platform->kind, "%s", kind ? kind : ""); /* each line gives all */
    platform->max_memory = max_memory;
    platform->max_timeout_s = max_timeout;
    if (ow_client_ready(platform->client, err, err_size) < 0)
        return -1;
    ow_client_describe(platform->client, err, err_size);
    return 0;
}

void *ow_platform_new(struct reactor *reactor)
{
    struct ow_platform *platform = calloc(1, sizeof *platform);
    if (platform == NULL || (platform->client = ow_client_new(reactor)) == NULL) {
        free(platform);
        return NULL;
    }
    platform->reactor = reactor;
    platform->max_memory = OW_DEFAULT_MAX_MEMORY;
    platform->max_timeout_s = OW_DEFAULT_MAX_TIMEOUT_S;
    list_init(&platform->syncs);
    list_init(&platform->invokes);
    return platform;
}

static void ow_free(void *self)
{
    struct ow_platform *platform = self;
    platform->closing = 1;
    ow_client_free(platform->client); /* the calls in flight end, and their syncs and invokes with them */
    struct list_node *waiting;        /* those waiting to retry or poll */
    while ((waiting = list_first(&platform->syncs)) != NULL)
        ow_sync_finish(list_entry(waiting, struct ow_sync, node), "KernelStopping", "the kernel is shutting down");
    while ((waiting = list_first(&platform->invokes)) != NULL)
        ow_invoke_fail(list_entry(waiting, struct ow_invoke, node), "KernelStopping", "the kernel is shutting down");
    free(platform);
}

const struct platform_ops ow_platform_ops = {
    .name = "ibm",
    .check = ow_check,
    .sync = ow_sync,
    .verifies = 1,
    .invoke = ow_invoke,
    .prepare = ow_prepare,
    .preparing = ow_preparing,
    .apply_settings = ow_apply_settings,
    .free = ow_free,
};
