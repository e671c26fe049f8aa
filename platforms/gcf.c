/* gcf: the `gcf` platform, Google Cloud Functions behind the platform
 * interface (platform.h), on the Cloud Functions v2 API (functions get,
 * create, patch, delete, generateUploadUrl, operations get) through
 * gcf_client (access tokens, Google's errors as sentences).
 *
 * Deploy, configure, verify and set_memory are one state machine, a
 * "sync", that makes the remote function match what the notebook defines:
 *
 *   GET function --404--> generateUploadUrl --> PUT zip --> create
 *        |                 (?functionId=ID)                   |
 *        v                                                    |
 *   DEPLOYING? wait (GET again)                               |
 *        v                                                    |
 *   code differs? --> generateUploadUrl --> PUT zip --> PATCH |
 *        |            (updateMask: the source, runtime,       |
 *        |             entry point, labels, and whatever      |
 *        |             configuration differs too)             |
 *        v                                                    |
 *   configuration differs? --> PATCH (updateMask: exactly the |
 *        |                     fields that differ)            |
 *        v                                                    v
 *   done <------------------- poll the Operation until done --+
 *
 * Google reports no hash of a function's source, so the sync labels each
 * function it deploys: `faaset-code` is the start of the SHA-256 of our
 * zip, `faaset-source` the start of the SHA-256 of the Cloud Storage
 * object it was built from. The code matches when both labels do and the
 * function is still built from that object: a redeploy from elsewhere
 * (gcloud, the console) uploads another object, which is noticed as drift.
 * The configuration compared is the memory, timeout, max instances (when
 * the cell sets them) and environment variables (without the
 * LOG_EXECUTION_ID Google adds). As on aws, the same machine reports what
 * it found: "deployed", "updated code of", "updated configuration of",
 * "up to date", and, for an unchanged cell (verify), a function changed or
 * deleted outside the notebook, which it then repairs.
 *
 * Operations and DEPLOYING functions are polled after 0.25, 0.5, 1 s and
 * then every 2 s, at most GCF_MAX_POLLS times. A 409 (another operation
 * on the function) is waited out and the call repeated; throttling (429)
 * and Google's own errors (5xx, no answer) are retried with the project's
 * backoff (retry.h). Delete is one DELETE and its Operation.
 *
 * Who may call: with allow_unauthenticated= in the cell, once the
 * function is settled the sync reads the invoker policy (a gen 2
 * function's Cloud Run service: roles/run.invoker; gen 1's function:
 * roles/cloudfunctions.invoker), adds or removes the member allUsers and
 * writes it back with its etag (read again on a conflict); without the
 * option the policy is left as it is. Calls to a function opened this way
 * carry no token.
 *
 * Names: Google's function IDs are 4 to 63 of a-z 0-9 and -, starting
 * with a letter; the ID is derived from the Python name (hello_world ->
 * hello-world) and the deploy line says so. A full resource name
 * (projects/P/locations/R/functions/ID, e.g. remote= with deploy=false)
 * is used as it is.
 *
 * Invocations POST the payload as JSON to the function's URL (from the
 * deploy, else one GET) with an ID token whose audience is that URL.
 * Google has no queued calls for HTTP functions: an Event call is sent the
 * same way and answered {"StatusCode": 202} as soon as it is sent; its
 * answer, when it comes, is only logged (a failure as a warning). Until
 * then it is counted in events_in_flight, which the kernel waits for,
 * a bounded time, before it stops. The
 * handler shim (faaset_handler.gcf_handler) answers a function's own
 * exception with 500 and X-FaaSET-Error, shown as the function's error
 * with the end of what the call printed (Google's answer has no log); a
 * 429, 502 or 503 is reported as throttled (the caller retries with its
 * backoff); 500 without the header is the instance failing (out of
 * memory), 504 its timeout, neither retried since they would fail again. */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcf_client.h"
#include "list.h"
#include "log.h"
#include "package.h"
#include "platform.h"
#include "retry.h"
#include "shim_error.h"

#define GCF_MAX_POLLS 450                         /* about 15 minutes at 2 s */
#define GCF_ZIP_MAX (100L * 1024 * 1024)          /* generateUploadUrl's limit for a source zip */
#define GCF_PAYLOAD_MAX_GEN2 (32L * 1024 * 1024)
#define GCF_PAYLOAD_MAX_GEN1 (10L * 1024 * 1024)
#define GCF_CONTROL_TIMEOUT_MS 60000L
#define GCF_UPLOAD_TIMEOUT_MS 600000L
#define GCF_INVOKE_TIMEOUT_MS 3660000L            /* gen 2's 3600 s maximum plus a margin */
#define GCF_LABEL_CODE "faaset-code"
#define GCF_LABEL_SOURCE "faaset-source"
#define GCF_LABEL_HEX 40

/* Throttling and Google's own errors on the control plane: 4 retries,
 * waits drawn up to 0.25, 0.5, 1 and 2 s. */
static const struct retry_policy gcf_retry = {.base_ms = 250, .cap_ms = 2000, .max_retries = 4};

/* Google's memory sizes (MB); gen 1 stops at 8192. */
static const int gcf_memory_sizes[] = {128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768};

struct gcf_platform {
    struct reactor *reactor;
    struct gcf_client *client;
    int generation;              /* 2 (default) or 1 */
    json_t *urls;                /* {"projects/.../functions/ID": "https://..."}: where calls go */
    json_t *open;                /* {"projects/.../functions/ID": true}: called without a token */
    struct list_node syncs;      /* under way: ended with KernelStopping when the platform is freed */
    size_t events_in_flight;     /* Event calls answered 202 whose own request has not ended */
    int closing;
};


enum gcf_step {
    GCF_STEP_GET, GCF_STEP_UPLOAD_URL, GCF_STEP_UPLOAD, GCF_STEP_CREATE, GCF_STEP_PATCH, GCF_STEP_DELETE,
    GCF_STEP_OPERATION, GCF_STEP_POLICY_GET, GCF_STEP_POLICY_SET
};

static const char *const gcf_step_names[] = {"reading", "getting an upload URL for", "uploading", "creating",
                                             "updating", "deleting", "waiting for",
                                             "reading who may call", "changing who may call"};

struct gcf_sync {
    struct gcf_platform *platform;
    enum platform_sync kind;
    enum gcf_step step;          /* the call in flight or to repeat */
    platform_done_fn done;
    void *ctx;
    char *name;                  /* as the notebook names it */
    char *resource;              /* projects/P/locations/R/functions/ID */
    char id[64];
    unsigned char *zip;          /* NULL for set_memory and delete */
    size_t zip_size;
    char zip_label[GCF_LABEL_HEX + 1];
    int memory_mb, timeout_s;
    int max_instances;           /* 0: Google's default, not compared */
    int allow_unauthenticated;   /* 1 open to allUsers, -1 closed, 0 the policy is not touched */
    char *service;               /* gen 2: projects/P/locations/R/services/S, the Cloud Run service behind it */
    json_t *policy;              /* the invoker policy to write */
    char runtime[16];            /* "python312" */
    json_t *env;                 /* {"KEY": "value"} */
    json_t *labels;              /* the remote function's, to keep what others set */
    json_t *storage;             /* {"bucket", "object"} of our upload */
    char *upload_url, *operation;
    char mask[400];              /* the PATCH's updateMask */
    int exists;                  /* GET found the function */
    int polls, retries;
    int created, code_updated, config_updated;
    char note[600];
    unsigned long timer;         /* a pending wait or retry, 0 when none */
    struct list_node node;       /* in the platform's syncs */
};

/* ---- names and limits ---- */

static void gcf_fail(platform_done_fn done, void *ctx, const char *type, const char *message)
{
    struct platform_outcome outcome = {.ok = 0, .error_type = type, .message = message};
    done(ctx, &outcome);
}

/* A function ID Google takes, derived from NAME: lowercase, other
 * characters as '-', a letter first, no '-' last, 4 to 63 characters. */
static void gcf_function_id(const char *name, char out[64])
{
    size_t n = 0;
    if (!isalpha((unsigned char)name[0]))
        out[n++] = 'f', out[n++] = '-';
    for (const char *p = name; *p && n < 63; p++) {
        unsigned char c = (unsigned char)tolower((unsigned char)*p);
        out[n++] = (char)((islower(c) || isdigit(c)) ? c : '-');
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
    if (n < 4)
        snprintf(out + n, 64 - n, "%s", n == 0 ? "function" : "-fn");
}

/* The resource name for NAME: itself when it is one, else PARENT's function of the derived ID. */
static char *gcf_resource(const char *parent, const char *name, char id[64])
{
    char *resource = NULL;
    if (strncmp(name, "projects/", 9) == 0 && strstr(name, "/functions/") != NULL) {
        snprintf(id, 64, "%s", strrchr(name, '/') + 1);
        return strdup(name);
    }
    gcf_function_id(name, id);
    if (asprintf(&resource, "%s/functions/%s", parent, id) < 0)
        return NULL;
    return resource;
}

/* "python3.12" -> "python312" into OUT; -1 when RUNTIME is no Python 3 version. */
static int gcf_runtime(const char *runtime, char *out, size_t size)
{
    const char *minor = runtime + strlen("python3.");
    if (strncmp(runtime, "python3.", 8) != 0 || *minor == '\0' || strspn(minor, "0123456789") != strlen(minor) ||
        strlen(minor) > 2)
        return -1;
    snprintf(out, size, "python3%s", minor);
    return 0;
}

static int gcf_check_limits(const struct gcf_platform *platform, const struct platform_function *function,
                            char *message, size_t size)
{
    int sizes = platform->generation == 1 ? 7 : (int)(sizeof gcf_memory_sizes / sizeof gcf_memory_sizes[0]);
    int allowed = 0;
    for (int i = 0; i < sizes; i++)
        allowed |= gcf_memory_sizes[i] == function->memory_mb;
    if (!allowed) {
        snprintf(message, size, "memory=%d: Cloud Functions (gen %d) takes ", function->memory_mb,
                 platform->generation);
        for (int i = 0; i < sizes; i++) {
            size_t len = strlen(message);
            snprintf(message + len, size - len, "%s%d", i == 0 ? "" : i == sizes - 1 ? " or " : ", ",
                     gcf_memory_sizes[i]);
        }
        size_t len = strlen(message);
        snprintf(message + len, size - len, " MB");
        return -1;
    }
    int max_timeout = platform->generation == 1 ? 540 : 3600;
    if (function->timeout_s < 1 || function->timeout_s > max_timeout) {
        snprintf(message, size, "timeout=%d: Cloud Functions (gen %d) allows 1 to %d seconds", function->timeout_s,
                 platform->generation, max_timeout);
        return -1;
    }
    char runtime[16];
    if (function->runtime != NULL && gcf_runtime(function->runtime, runtime, sizeof runtime) < 0) {
        snprintf(message, size, "runtime=%s: Cloud Functions runs Python as python3.N, e.g. runtime=python3.12",
                 function->runtime);
        return -1;
    }
    if (function->image != NULL) {
        snprintf(message, size, "image= is for aws: Cloud Functions builds the function from its source");
        return -1;
    }
    if (function->package != NULL && (long)function->package_size > GCF_ZIP_MAX) {
        snprintf(message, size, "the package is %.1f MB; Cloud Functions takes source zips of at most 100 MB",
                 (double)function->package_size / (1024.0 * 1024.0));
        return -1;
    }
    if (function->arch != NULL && strcmp(function->arch, "x86_64") != 0) {
        snprintf(message, size, "arch=%s: Cloud Functions runs x86_64 only", function->arch);
        return -1;
    }
    return 0;
}

/* Hex of the SHA-256 of DATA, its first GCF_LABEL_HEX digits, into OUT (a label value). */
static void gcf_label_hash(const void *data, size_t size, char out[GCF_LABEL_HEX + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(digest, data, size);
    sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
    memcpy(out, hex, GCF_LABEL_HEX);
    out[GCF_LABEL_HEX] = '\0';
}

/* The label for a Cloud Storage source {"bucket", "object"}, into OUT ("" when STORAGE has none). */
static void gcf_source_label(const json_t *storage, char out[GCF_LABEL_HEX + 1])
{
    const char *bucket = json_string_value(json_object_get(storage, "bucket"));
    const char *object = json_string_value(json_object_get(storage, "object"));
    out[0] = '\0';
    if (bucket == NULL || object == NULL)
        return;
    char *where = NULL;
    if (asprintf(&where, "%s/%s", bucket, object) < 0)
        return;
    gcf_label_hash(where, strlen(where), out);
    free(where);
}

/* A Kubernetes quantity ("256M", "256Mi", "1Gi", "1G", bytes) in MB, as
 * Google's console treats them (M and Mi both as MB); -1 when unreadable. */
static long gcf_memory_mb(const char *quantity)
{
    if (quantity == NULL)
        return -1;
    char *end = NULL;
    double n = strtod(quantity, &end);
    if (end == quantity || n < 0)
        return -1;
    if (*end == 'k' || strcmp(end, "Ki") == 0)
        n /= 1024;
    else if (*end == 'M')
        ;
    else if (*end == 'G')
        n *= 1024;
    else if (*end == 'T')
        n *= 1024 * 1024;
    else if (*end == '\0')
        n /= 1024.0 * 1024.0;
    else
        return -1;
    return (long)(n + 0.5);
}

/* ---- the sync state machine ---- */

static void gcf_sync_free(struct gcf_sync *sync)
{
    list_remove(&sync->node);
    if (sync->timer)
        reactor_cancel(sync->platform->reactor, sync->timer);
    free(sync->name);
    free(sync->resource);
    free(sync->zip);
    json_decref(sync->env);
    json_decref(sync->labels);
    json_decref(sync->storage);
    free(sync->upload_url);
    free(sync->operation);
    free(sync->service);
    json_decref(sync->policy);
    free(sync);
}

static void gcf_sync_finish(struct gcf_sync *sync, const char *error_type, const char *message)
{
    struct platform_outcome outcome = {.ok = error_type == NULL, .error_type = error_type, .message = message};
    char id_note[200] = "";
    if (outcome.ok) {
        int drifted = sync->note[0] != '\0';
        outcome.action = sync->kind == PLATFORM_SYNC_REMOVE              ? "deleted"
                         : sync->created && !drifted                     ? "deployed"
                         : drifted && sync->kind == PLATFORM_SYNC_VERIFY ? "redeployed"
                         : sync->created                                 ? "deployed"
                         : sync->code_updated                            ? "updated code of"
                         : sync->config_updated                          ? "updated configuration of"
                                                                         : "up to date";
        if (sync->created && strcmp(sync->id, sync->name) != 0)
            snprintf(id_note, sizeof id_note, "its Google function ID is %s (IDs take 4 to 63 of a-z, 0-9 and -)",
                     sync->id);
        outcome.note = drifted ? sync->note : id_note[0] ? id_note : NULL;
    }
    sync->done(sync->ctx, &outcome);
    gcf_sync_free(sync);
}

static void gcf_sync_call(struct gcf_sync *sync);

static void gcf_sync_on_timer(void *ctx)
{
    struct gcf_sync *sync = ctx;
    sync->timer = 0;
    gcf_sync_call(sync);
}

static void gcf_sync_later(struct gcf_sync *sync, enum gcf_step step, long long delay_ms)
{
    sync->step = step;
    sync->timer = reactor_timer(sync->platform->reactor, delay_ms, gcf_sync_on_timer, sync);
    if (sync->timer == 0)
        gcf_sync_finish(sync, "OutOfMemory", "cannot schedule the next call");
}

/* Polls STEP (the operation, or the function while it deploys) after 0.25 s, 0.5 s, 1 s, then every 2 s. */
static void gcf_sync_poll(struct gcf_sync *sync, enum gcf_step step)
{
    if (sync->polls >= GCF_MAX_POLLS) {
        char message[500];
        snprintf(message, sizeof message, "%s did not finish deploying after %d checks (about 15 minutes); look at "
                 "it in the Cloud Functions console", sync->resource, GCF_MAX_POLLS);
        gcf_sync_finish(sync, "WaitTimeout", message);
        return;
    }
    int n = sync->polls++;
    gcf_sync_later(sync, step, n == 0 ? 250 : n == 1 ? 500 : n == 2 ? 1000 : 2000);
}

/* Remembers WHAT differs when it can only have been changed outside the
 * notebook: anything, for an unchanged cell (verify); the code, when only
 * the cell's configuration changed. */
static void gcf_sync_note(struct gcf_sync *sync, const char *what, int is_code)
{
    if (sync->note[0] || !(sync->kind == PLATFORM_SYNC_VERIFY || (sync->kind == PLATFORM_SYNC_CONFIGURE && is_code)))
        return;
    snprintf(sync->note, sizeof sync->note, "changed outside the notebook: %s", what);
}

static int gcf_code_differs(const struct gcf_sync *sync, const json_t *function, char *what, size_t size)
{
    const json_t *labels = json_object_get(function, "labels");
    const json_t *build = json_object_get(function, "buildConfig");
    const char *code = json_string_value(json_object_get(labels, GCF_LABEL_CODE));
    const char *source = json_string_value(json_object_get(labels, GCF_LABEL_SOURCE));
    const char *state = json_string_value(json_object_get(function, "state"));
    const char *runtime = json_string_value(json_object_get(build, "runtime"));
    const char *entry = json_string_value(json_object_get(build, "entryPoint"));
    char built_from[GCF_LABEL_HEX + 1];
    gcf_source_label(json_object_get(json_object_get(build, "source"), "storageSource"), built_from);
    if (state != NULL && strcmp(state, "FAILED") == 0)
        snprintf(what, size, "its last deploy failed");
    else if (code == NULL || strcmp(code, sync->zip_label) != 0)
        snprintf(what, size, "its source is not the notebook's (label %s is %.12s..., the package %.12s...)",
                 GCF_LABEL_CODE, code ? code : "(none)", sync->zip_label);
    else if (source == NULL || strcmp(source, built_from) != 0)
        snprintf(what, size, "it was redeployed from another source");
    else if (runtime == NULL || strcmp(runtime, sync->runtime) != 0 || entry == NULL ||
             strcmp(entry, PACKAGE_GOOGLE_ENTRY_POINT) != 0)
        snprintf(what, size, "its runtime or entry point is %s %s, the notebook's %s %s", runtime ? runtime : "(none)",
                 entry ? entry : "(none)", sync->runtime, PACKAGE_GOOGLE_ENTRY_POINT);
    else
        return 0;
    return 1;
}

/* The environment Google shows, without what it adds itself. */
static json_t *gcf_remote_env(const json_t *service)
{
    json_t *env = json_deep_copy(json_object_get(service, "environmentVariables"));
    if (!json_is_object(env)) {
        json_decref(env);
        env = json_object();
    }
    json_object_del(env, "LOG_EXECUTION_ID");
    return env;
}

/* Appends to SYNC's mask every configuration field that differs; the first difference into WHAT. */
static void gcf_config_differs(struct gcf_sync *sync, const json_t *function, char *what, size_t size)
{
    const json_t *service = json_object_get(function, "serviceConfig");
    long memory = gcf_memory_mb(json_string_value(json_object_get(service, "availableMemory")));
    json_int_t timeout = json_integer_value(json_object_get(service, "timeoutSeconds"));
    char *mask = sync->mask;
    size_t cap = sizeof sync->mask;
#define GCF_MASK_ADD(path) snprintf(mask + strlen(mask), cap - strlen(mask), "%s%s", mask[0] ? "," : "", path)
    if (memory != sync->memory_mb) {
        if (!what[0])
            snprintf(what, size, "its memory is %ld MB, the notebook's %d MB", memory, sync->memory_mb);
        GCF_MASK_ADD("serviceConfig.availableMemory");
    }
    if (sync->kind == PLATFORM_SYNC_SET_MEMORY)
        return;
    if (timeout != sync->timeout_s) {
        if (!what[0])
            snprintf(what, size, "its timeout is %lld s, the notebook's %d s", (long long)timeout, sync->timeout_s);
        GCF_MASK_ADD("serviceConfig.timeoutSeconds");
    }
    json_int_t instances = json_integer_value(json_object_get(service, "maxInstanceCount"));
    if (sync->max_instances > 0 && instances != sync->max_instances) {
        if (!what[0])
            snprintf(what, size, "its max instances are %lld, the notebook's %d", (long long)instances,
                     sync->max_instances);
        GCF_MASK_ADD("serviceConfig.maxInstanceCount");
    }
    json_t *env = gcf_remote_env(service);
    if (!json_equal(env, sync->env)) {
        if (!what[0])
            snprintf(what, size, "its environment variables differ from the notebook's");
        GCF_MASK_ADD("serviceConfig.environmentVariables");
    }
    json_decref(env);
#undef GCF_MASK_ADD
}

/* GET answered: decide the next step from the remote function. */
/* Keeps FUNCTION's Cloud Run service (gen 2), where its invoker policy lives. */
static void gcf_sync_keep_service(struct gcf_sync *sync, const json_t *function)
{
    const char *service = json_string_value(json_object_get(json_object_get(function, "serviceConfig"), "service"));
    if (service != NULL && (sync->service == NULL || strcmp(sync->service, service) != 0)) {
        free(sync->service);
        sync->service = strdup(service);
    }
}

/* The function is as the notebook defines it: then who may call it, when the cell says. */
static void gcf_sync_settled(struct gcf_sync *sync)
{
    if (sync->allow_unauthenticated == 0 || sync->kind == PLATFORM_SYNC_SET_MEMORY ||
        sync->kind == PLATFORM_SYNC_REMOVE) {
        gcf_sync_finish(sync, NULL, NULL);
        return;
    }
    sync->step = GCF_STEP_POLICY_GET;
    gcf_sync_call(sync);
}

/* The invoker role's binding in POLICY made to hold allUsers or not (WANT_OPEN); 1 when that changed it. */
static int gcf_policy_apply(json_t *policy, const char *role, int want_open)
{
    json_t *bindings = json_object_get(policy, "bindings");
    if (!json_is_array(bindings)) {
        bindings = json_array();
        json_object_set_new(policy, "bindings", bindings);
    }
    json_t *binding = NULL, *item;
    size_t i;
    json_array_foreach(bindings, i, item)
        if (json_is_string(json_object_get(item, "role")) &&
            strcmp(json_string_value(json_object_get(item, "role")), role) == 0 && !json_object_get(item, "condition"))
            binding = item;
    json_t *members = json_object_get(binding, "members");
    size_t at = (size_t)-1;
    json_array_foreach(members, i, item)
        if (json_is_string(item) && strcmp(json_string_value(item), "allUsers") == 0)
            at = i;
    if (want_open && at == (size_t)-1) {
        if (binding == NULL) {
            binding = json_pack("{s:s, s:[]}", "role", role, "members");
            json_array_append_new(bindings, binding);
            members = json_object_get(binding, "members");
        }
        json_array_append_new(members, json_string("allUsers"));
        return 1;
    }
    if (!want_open && at != (size_t)-1) {
        json_array_remove(members, at);
        return 1;
    }
    return 0;
}

/* The invoker policy answered: open or close the function as the cell says, or nothing to do. */
static void gcf_sync_on_policy(struct gcf_sync *sync, const json_t *policy)
{
    const char *role = sync->platform->generation == 1 ? "roles/cloudfunctions.invoker" : "roles/run.invoker";
    json_decref(sync->policy);
    sync->policy = json_deep_copy(policy);
    if (sync->policy == NULL) {
        gcf_sync_finish(sync, "OutOfMemory", "cannot keep the invoker policy");
        return;
    }
    if (sync->allow_unauthenticated > 0)
        json_object_set_new(sync->platform->open, sync->resource, json_true());
    else
        json_object_del(sync->platform->open, sync->resource);
    if (!gcf_policy_apply(sync->policy, role, sync->allow_unauthenticated > 0)) {
        gcf_sync_finish(sync, NULL, NULL);
        return;
    }
    sync->step = GCF_STEP_POLICY_SET;
    gcf_sync_call(sync);
}

static void gcf_sync_on_function(struct gcf_sync *sync, const json_t *function)
{
    const char *state = json_string_value(json_object_get(function, "state"));
    const char *environment = json_string_value(json_object_get(function, "environment"));
    char message[700], what[400] = "";
    sync->exists = 1;
    if (state != NULL && (strcmp(state, "DEPLOYING") == 0 || strcmp(state, "DELETING") == 0)) {
        gcf_sync_poll(sync, GCF_STEP_GET);
        return;
    }
    sync->polls = 0;
    if (sync->kind == PLATFORM_SYNC_REMOVE) {
        sync->step = GCF_STEP_DELETE;
        gcf_sync_call(sync);
        return;
    }
    const char *wanted = sync->platform->generation == 1 ? "GEN_1" : "GEN_2";
    if (sync->kind != PLATFORM_SYNC_SET_MEMORY && environment != NULL && strcmp(environment, wanted) != 0) {
        snprintf(message, sizeof message, "%s is a %s function and Google cannot change that: use %%platform gcf "
                 "generation=%c, or give the new one another name=", sync->id, environment, environment[4]);
        gcf_sync_finish(sync, "EnvironmentMismatch", message);
        return;
    }
    json_decref(sync->labels);
    sync->labels = json_deep_copy(json_object_get(function, "labels"));
    if (!json_is_object(sync->labels)) {
        json_decref(sync->labels);
        sync->labels = json_object();
    }
    const char *url = json_string_value(json_object_get(function, "url"));
    if (url != NULL)
        json_object_set_new(sync->platform->urls, sync->resource, json_string(url));
    gcf_sync_keep_service(sync, function);
    sync->mask[0] = '\0';
    int code = sync->kind != PLATFORM_SYNC_SET_MEMORY && gcf_code_differs(sync, function, what, sizeof what);
    if (code)
        gcf_sync_note(sync, what, 1);
    char config_what[400] = "";
    gcf_config_differs(sync, function, config_what, sizeof config_what);
    if (!code && sync->mask[0])
        gcf_sync_note(sync, config_what, 0);
    if (code) {
        static const char code_paths[] = "buildConfig.source.storageSource,buildConfig.runtime,"
                                         "buildConfig.entryPoint,labels";
        size_t len = strlen(sync->mask), prefix = sizeof code_paths - 1 + (len > 0); /* the mask has room: < 200 */
        memmove(sync->mask + prefix, sync->mask, len + 1);
        memcpy(sync->mask, code_paths, sizeof code_paths - 1);
        if (len > 0)
            sync->mask[prefix - 1] = ',';
        sync->step = GCF_STEP_UPLOAD_URL;
    } else if (sync->mask[0]) {
        sync->step = GCF_STEP_PATCH;
    } else {
        gcf_sync_settled(sync);
        return;
    }
    gcf_sync_call(sync);
}

/* The Operation answered: done, failed, or poll again. */
static void gcf_sync_on_operation(struct gcf_sync *sync, const json_t *operation)
{
    char message[900];
    if (!json_is_true(json_object_get(operation, "done"))) {
        gcf_sync_poll(sync, GCF_STEP_OPERATION);
        return;
    }
    const json_t *error = json_object_get(operation, "error");
    const char *verb = json_string_value(json_object_get(json_object_get(operation, "metadata"), "verb"));
    if (error != NULL) {
        snprintf(message, sizeof message, "%s %s failed on Google: %.600s%s",
                 sync->kind == PLATFORM_SYNC_REMOVE ? "deleting" : "deploying", sync->id,
                 json_string_value(json_object_get(error, "message")) ?: "no reason given",
                 sync->kind == PLATFORM_SYNC_REMOVE ? "" : "; fix the cell and run it again (the build log is in the "
                                                      "Cloud Functions console)");
        gcf_sync_finish(sync, "DeployFailed", message);
        return;
    }
    const json_t *function = json_object_get(operation, "response");
    const char *url = json_string_value(json_object_get(function, "url"));
    if (url != NULL)
        json_object_set_new(sync->platform->urls, sync->resource, json_string(url));
    gcf_sync_keep_service(sync, function);
    if (sync->kind == PLATFORM_SYNC_REMOVE || (verb != NULL && strcmp(verb, "delete") == 0)) {
        json_object_del(sync->platform->urls, sync->resource);
        json_object_del(sync->platform->open, sync->resource);
    }
    gcf_sync_settled(sync);
}

static int gcf_retryable(const struct gcf_reply *reply)
{
    return reply->status == 429 || reply->status >= 500 || reply->status == 0;
}

static void gcf_sync_on_reply(void *ctx, const struct gcf_reply *reply)
{
    struct gcf_sync *sync = ctx;
    char message[2600];
    if (sync->platform->closing) {
        gcf_sync_finish(sync, "KernelStopping", "the kernel is shutting down");
        return;
    }
    if (reply->ok && reply->json == NULL && sync->step != GCF_STEP_UPLOAD) {
        snprintf(message, sizeof message, "%s %s: the endpoint's answer is not Cloud Functions' (HTTP %ld without a "
                 "JSON object); check the endpoint (%%platform gcf endpoint=..., GCF_ENDPOINT_URL)",
                 gcf_step_names[sync->step], sync->id, reply->status);
        gcf_sync_finish(sync, "InvalidResponse", message);
        return;
    }
    if (reply->ok) {
        sync->retries = 0;
        switch (sync->step) {
        case GCF_STEP_GET:
            gcf_sync_on_function(sync, reply->json);
            return;
        case GCF_STEP_UPLOAD_URL: {
            const char *url = json_string_value(json_object_get(reply->json, "uploadUrl"));
            json_t *storage = json_object_get(reply->json, "storageSource");
            if (url == NULL || !json_is_object(storage)) {
                snprintf(message, sizeof message, "generateUploadUrl for %s answered without uploadUrl and "
                         "storageSource", sync->id);
                gcf_sync_finish(sync, "InvalidResponse", message);
                return;
            }
            free(sync->upload_url);
            sync->upload_url = strdup(url);
            json_decref(sync->storage);
            sync->storage = json_deep_copy(storage);
            if (sync->upload_url == NULL || sync->storage == NULL) {
                gcf_sync_finish(sync, "OutOfMemory", "cannot keep the upload URL");
                return;
            }
            sync->step = GCF_STEP_UPLOAD;
            gcf_sync_call(sync);
            return;
        }
        case GCF_STEP_UPLOAD:
            sync->step = sync->exists ? GCF_STEP_PATCH : GCF_STEP_CREATE;
            gcf_sync_call(sync);
            return;
        case GCF_STEP_CREATE:
        case GCF_STEP_PATCH:
        case GCF_STEP_DELETE: {
            const char *operation = json_string_value(json_object_get(reply->json, "name"));
            if (operation == NULL) {
                snprintf(message, sizeof message, "%s %s: Google answered without an operation to wait for",
                         gcf_step_names[sync->step], sync->id);
                gcf_sync_finish(sync, "InvalidResponse", message);
                return;
            }
            if (sync->step == GCF_STEP_CREATE)
                sync->created = 1;
            else if (sync->step == GCF_STEP_PATCH && strncmp(sync->mask, "buildConfig", 11) == 0)
                sync->code_updated = 1;
            else if (sync->step == GCF_STEP_PATCH)
                sync->config_updated = 1;
            free(sync->operation);
            sync->operation = strdup(operation);
            if (sync->operation == NULL) {
                gcf_sync_finish(sync, "OutOfMemory", "cannot keep the operation");
                return;
            }
            sync->polls = 0;
            gcf_sync_poll(sync, GCF_STEP_OPERATION);
            return;
        }
        case GCF_STEP_OPERATION:
            gcf_sync_on_operation(sync, reply->json);
            return;
        case GCF_STEP_POLICY_GET:
            gcf_sync_on_policy(sync, reply->json);
            return;
        case GCF_STEP_POLICY_SET:
            sync->config_updated = 1;
            gcf_sync_finish(sync, NULL, NULL);
            return;
        }
    }
    if ((reply->status == 409 || reply->status == 412) && sync->step == GCF_STEP_POLICY_SET &&
        sync->polls < GCF_MAX_POLLS) { /* the policy changed since it was read (its etag): read it again */
        sync->polls++;
        sync->step = GCF_STEP_POLICY_GET;
        gcf_sync_call(sync);
        return;
    }
    if (reply->status == 404 && sync->step == GCF_STEP_GET && strcmp(reply->error_type, "NOT_FOUND") == 0) {
        if (sync->kind == PLATFORM_SYNC_SET_MEMORY || sync->kind == PLATFORM_SYNC_REMOVE) {
            snprintf(message, sizeof message, "%s is not deployed on gcf (no function %s); run its %%%%cloud_function "
                     "cell", sync->name, sync->resource);
            gcf_sync_finish(sync, "NOT_FOUND", message);
            return;
        }
        if (sync->kind == PLATFORM_SYNC_VERIFY || sync->kind == PLATFORM_SYNC_CONFIGURE)
            snprintf(sync->note, sizeof sync->note, "it had been deleted outside the notebook");
        sync->step = GCF_STEP_UPLOAD_URL;
        gcf_sync_call(sync);
        return;
    }
    if (reply->status == 409 && sync->step == GCF_STEP_CREATE) { /* created meanwhile by someone else */
        sync->step = GCF_STEP_GET;
        gcf_sync_call(sync);
        return;
    }
    if (reply->status == 409 && (sync->step == GCF_STEP_PATCH || sync->step == GCF_STEP_DELETE) &&
        sync->polls < GCF_MAX_POLLS) { /* another operation on it: wait it out, then repeat */
        sync->polls++;
        gcf_sync_later(sync, sync->step, 2000);
        return;
    }
    double wait = gcf_retryable(reply) ? retry_delay_ms(&gcf_retry, sync->retries, reply->retry_after_ms) : -1;
    if (wait >= 0) {
        sync->retries++;
        gcf_sync_later(sync, sync->step, (long long)wait);
        return;
    }
    snprintf(message, sizeof message, "%s %s: %s", gcf_step_names[sync->step], sync->id, reply->message);
    gcf_sync_finish(sync, reply->error_type, message);
}

static char *gcf_memory_quantity(int memory_mb)
{
    char *text = NULL;
    if (asprintf(&text, "%dMi", memory_mb) < 0)
        return NULL;
    return text;
}

/* The Function for create and PATCH: everything the notebook sets (the
 * updateMask picks what a PATCH changes). NULL when out of memory. */
static json_t *gcf_sync_function(struct gcf_sync *sync)
{
    char *memory = gcf_memory_quantity(sync->memory_mb);
    if (memory == NULL)
        return NULL;
    if (sync->kind == PLATFORM_SYNC_SET_MEMORY) {
        json_t *body = json_pack("{s:{s:s}}", "serviceConfig", "availableMemory", memory);
        free(memory);
        return body;
    }
    json_t *labels = sync->labels ? json_deep_copy(sync->labels) : json_object();
    char source[GCF_LABEL_HEX + 1];
    gcf_source_label(sync->storage, source);
    json_object_set_new(labels, GCF_LABEL_CODE, json_string(sync->zip_label));
    json_object_set_new(labels, GCF_LABEL_SOURCE, json_string(source));
    json_t *body = json_pack("{s:s, s:s, s:o, s:{s:s, s:i, s:O}}", "description", "Deployed by FaaSET",
                             "environment", sync->platform->generation == 1 ? "GEN_1" : "GEN_2", "labels", labels,
                             "serviceConfig", "availableMemory", memory, "timeoutSeconds", sync->timeout_s,
                             "environmentVariables", sync->env);
    free(memory);
    if (body != NULL && sync->max_instances > 0)
        json_object_set_new(json_object_get(body, "serviceConfig"), "maxInstanceCount",
                            json_integer(sync->max_instances));
    if (body != NULL && sync->storage != NULL)
        json_object_set_new(body, "buildConfig",
                            json_pack("{s:s, s:s, s:{s:O}}", "runtime", sync->runtime, "entryPoint",
                                      PACKAGE_GOOGLE_ENTRY_POINT, "source", "storageSource", sync->storage));
    return body;
}

static void gcf_sync_call(struct gcf_sync *sync)
{
    struct gcf_platform *platform = sync->platform;
    char message[1200] = "";
    char *url = NULL, *text = NULL;
    struct gcf_call call = {.method = "GET", .auth = GCF_AUTH_ACCESS, .timeout_ms = GCF_CONTROL_TIMEOUT_MS};
    int built = 1;
    switch (sync->step) {
    case GCF_STEP_GET:
        built = asprintf(&url, "/v2/%s", sync->resource) >= 0;
        break;
    case GCF_STEP_UPLOAD_URL:
        call.method = "POST";
        call.content_type = "application/json";
        text = strdup(platform->generation == 1 ? "{\"environment\":\"GEN_1\"}" : "{\"environment\":\"GEN_2\"}");
        built = text != NULL && asprintf(&url, "/v2/%.*s:generateUploadUrl",
                                         (int)(strstr(sync->resource, "/functions/") + 10 - sync->resource),
                                         sync->resource) >= 0;
        break;
    case GCF_STEP_UPLOAD:
        call = (struct gcf_call){"PUT", sync->upload_url, GCF_AUTH_NONE, "application/zip", sync->zip, sync->zip_size,
                                 GCF_UPLOAD_TIMEOUT_MS};
        break;
    case GCF_STEP_CREATE:
    case GCF_STEP_PATCH: {
        json_t *body = gcf_sync_function(sync);
        text = body ? json_dumps(body, JSON_COMPACT) : NULL;
        json_decref(body);
        call.method = sync->step == GCF_STEP_CREATE ? "POST" : "PATCH";
        call.content_type = "application/json";
        built = text != NULL &&
                (sync->step == GCF_STEP_CREATE
                     ? asprintf(&url, "/v2/%.*s?functionId=%s",
                                (int)(strstr(sync->resource, "/functions/") + 10 - sync->resource), sync->resource,
                                sync->id)
                     : asprintf(&url, "/v2/%s?updateMask=%s", sync->resource, sync->mask)) >= 0;
        break;
    }
    case GCF_STEP_DELETE:
        call.method = "DELETE";
        built = asprintf(&url, "/v2/%s", sync->resource) >= 0;
        break;
    case GCF_STEP_OPERATION:
        built = asprintf(&url, "/v2/%s", sync->operation) >= 0;
        break;
    case GCF_STEP_POLICY_GET:
    case GCF_STEP_POLICY_SET: {
        const char *verb = sync->step == GCF_STEP_POLICY_GET ? "getIamPolicy" : "setIamPolicy";
        if (sync->step == GCF_STEP_POLICY_SET) {
            json_t *body = json_pack("{s:O}", "policy", sync->policy);
            text = body ? json_dumps(body, JSON_COMPACT) : NULL;
            json_decref(body);
            call.method = "POST";
            call.content_type = "application/json";
            built = text != NULL;
        }
        if (platform->generation == 1) {
            built = built && asprintf(&url, "/v2/%s:%s", sync->resource, verb) >= 0;
        } else if (sync->service == NULL) {
            free(text);
            snprintf(message, sizeof message, "%s has no Cloud Run service in Google's answer, so who may call it "
                     "cannot be set; set it with `gcloud functions add-invoker-policy-binding`", sync->id);
            gcf_sync_finish(sync, "InvalidResponse", message);
            return;
        } else {
            const char *run = gcf_client_run_endpoint(platform->client);
            size_t run_len = strlen(run);
            while (run_len > 0 && run[run_len - 1] == '/')
                run_len--;
            built = built && asprintf(&url, "%.*s/v2/%s:%s", (int)run_len, run, sync->service, verb) >= 0;
        }
        break;
    }
    }
    if (!built) {
        free(text);
        gcf_sync_finish(sync, "OutOfMemory", "cannot build the request");
        return;
    }
    if (url != NULL)
        call.url = url;
    if (text != NULL) {
        call.body = text;
        call.body_size = strlen(text);
    }
    int rc = gcf_client_send(platform->client, &call, gcf_sync_on_reply, sync, message, sizeof message);
    free(url);
    free(text);
    if (rc < 0)
        gcf_sync_finish(sync, "NoCredentials", message);
}

/* ---- operations ---- */

/* The sync operation (platform.h): each kind is the same steps, read the function, compare, send what differs. */
static int gcf_sync(void *self, enum platform_sync kind, const struct platform_function *requested,
                    platform_done_fn done, void *ctx)
{
    struct gcf_platform *platform = self;
    struct platform_function limited = *requested; /* set_memory and remove name only the function */
    if (kind == PLATFORM_SYNC_SET_MEMORY || kind == PLATFORM_SYNC_REMOVE)
        limited.timeout_s = 60;
    if (kind == PLATFORM_SYNC_REMOVE)
        limited.memory_mb = 256;
    const struct platform_function *function = &limited;
    char message[900];
    if (gcf_client_ready(platform->client, message, sizeof message) < 0) {
        gcf_fail(done, ctx, "NoCredentials", message);
        return 0;
    }
    if (gcf_check_limits(platform, function, message, sizeof message) < 0) {
        gcf_fail(done, ctx, "InvalidOption", message);
        return 0;
    }
    int needs_code = kind == PLATFORM_SYNC_DEPLOY || kind == PLATFORM_SYNC_CONFIGURE || kind == PLATFORM_SYNC_VERIFY;
    if (needs_code && function->package == NULL) {
        gcf_fail(done, ctx, "NoPackage", "the gcf platform needs the package to compare with the deployed code");
        return 0;
    }
    struct gcf_sync *sync = calloc(1, sizeof *sync);
    if (sync == NULL) {
        gcf_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        return 0;
    }
    *sync = (struct gcf_sync){.platform = platform, .kind = kind, .step = GCF_STEP_GET, .done = done, .ctx = ctx,
                              .memory_mb = function->memory_mb, .timeout_s = function->timeout_s,
                              .max_instances = function->max_instances,
                              .allow_unauthenticated = function->allow_unauthenticated};
    list_init(&sync->node);
    if (gcf_runtime(function->runtime ? function->runtime : "python3.12", sync->runtime, sizeof sync->runtime) < 0)
        snprintf(sync->runtime, sizeof sync->runtime, "python312");
    sync->name = strdup(function->name);
    sync->resource = gcf_resource(gcf_client_parent(platform->client), function->name, sync->id);
    sync->env = function->env ? json_deep_copy(function->env) : json_object();
    int ok = sync->name != NULL && sync->resource != NULL && sync->env != NULL;
    if (ok && needs_code) {
        sync->zip = malloc(function->package_size);
        ok = sync->zip != NULL;
        if (ok) {
            memcpy(sync->zip, function->package, function->package_size);
            sync->zip_size = function->package_size;
            gcf_label_hash(sync->zip, sync->zip_size, sync->zip_label);
        }
    }
    if (!ok) {
        gcf_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        gcf_sync_free(sync);
        return 0;
    }
    list_push_front(&platform->syncs, &sync->node);
    gcf_sync_call(sync);
    return 0;
}

static int gcf_check(void *self, char *err, size_t err_size)
{
    struct gcf_platform *platform = self;
    return gcf_client_ready(platform->client, err, err_size);
}

/* ---- invoke ---- */

struct gcf_invoke {
    struct gcf_platform *platform;
    platform_done_fn done;
    void *ctx;
    char *resource;
    char *body;
    unsigned flags;              /* PLATFORM_INVOKE_* */
    char id[64];
};

static void gcf_invoke_free(struct gcf_invoke *invoke)
{
    free(invoke->resource);
    free(invoke->body);
    free(invoke);
}

static void gcf_invoke_fail(struct gcf_invoke *invoke, const char *type, const char *message)
{
    gcf_fail(invoke->done, invoke->ctx, type, message);
    gcf_invoke_free(invoke);
}

static void gcf_on_invoked(void *ctx, const struct gcf_reply *reply)
{
    struct gcf_invoke *invoke = ctx;
    struct platform_outcome outcome = {0};
    json_t *result = NULL, *traceback = NULL;
    char message[2600];
    const struct http_response *http = reply->http;
    if (http != NULL) {
        outcome.sent_ms = http->sent_ms;
        outcome.received_ms = http->received_ms;
        outcome.round_trip_ms = http->total_ms;
        if (http->error == NULL && http->body_size > 0)
            result = json_loadb(http->body, http->body_size, JSON_DECODE_ANY, NULL);
        if (result == NULL && http->error == NULL && http->body_size > 0) /* not JSON: the text is the result */
            result = json_stringn(http->body, http->body_size);
    }
    if (reply->ok) {
        outcome.ok = 1;
        outcome.result = result ? result : json_null();
    } else if (http != NULL && http_response_header(http, SHIM_ERROR_HEADER) != NULL) {
        shim_error_outcome(result, invoke->flags, &outcome, &traceback);
    } else if (reply->status == 429 || reply->status == 502 || reply->status == 503) {
        snprintf(message, sizeof message, "%s is busy (HTTP %ld: no instance free within its max instances)",
                 invoke->id, reply->status);
        outcome.error_type = reply->status == 429 ? "TooManyRequests" : "ServiceUnavailable";
        outcome.message = message;
        outcome.throttled = 1;
        outcome.retry_after_ms = reply->retry_after_ms;
    } else if (reply->status == 504) {
        snprintf(message, sizeof message, "%s did not answer within its timeout; raise timeout= in its cell",
                 invoke->id);
        outcome.error_type = "FunctionTimeout";
        outcome.message = message;
    } else if (reply->status == 500) {
        snprintf(message, sizeof message, "the instance of %s failed before answering (out of memory, or its process "
                 "ended): raise memory= in its cell, and see its logs in Cloud Logging", invoke->id);
        outcome.error_type = "FunctionCrashed";
        outcome.message = message;
    } else if (reply->status == 401 || reply->status == 403) {
        snprintf(message, sizeof message, "%s refused the call (HTTP %ld): the caller needs an ID token for the "
                 "function's URL and the role Cloud Run Invoker (roles/run.invoker) on it", invoke->id,
                 reply->status);
        outcome.error_type = "PermissionDenied";
        outcome.message = message;
    } else if (reply->status == 404) {
        json_object_del(invoke->platform->urls, invoke->resource);
        snprintf(message, sizeof message, "%s is not at its URL any more (HTTP 404): run its %%%%cloud_function cell "
                 "to deploy it again", invoke->id);
        outcome.error_type = "NOT_FOUND";
        outcome.message = message;
    } else {
        outcome.error_type = reply->error_type;
        outcome.message = reply->message;
        outcome.throttled = reply->status == 0 ? 0 : reply->status >= 500;
    }
    invoke->done(invoke->ctx, &outcome);
    json_decref(result);
    json_decref(traceback);
    gcf_invoke_free(invoke);
}

/* An Event call's answer, which nobody waits for: a failure goes to the
 * kernel's log. CTX is the call itself, freed once this returns. */
static void gcf_event_ended(void *ctx, const struct platform_outcome *outcome)
{
    struct gcf_invoke *invoke = ctx;
    invoke->platform->events_in_flight--;
    if (!outcome->ok)
        log_warn("gcf: the Event call of %s failed: %s: %.300s", invoke->id,
                 outcome->error_type ? outcome->error_type : "",
                 outcome->message ? outcome->message : "");
}

static void gcf_invoke_send(struct gcf_invoke *invoke, const char *url)
{
    char message[900];
    int open = json_is_true(json_object_get(invoke->platform->open, invoke->resource));
    struct gcf_call call = {"POST", url, open ? GCF_AUTH_NONE : GCF_AUTH_ID, "application/json", invoke->body,
                            strlen(invoke->body), GCF_INVOKE_TIMEOUT_MS};
    if (gcf_client_send(invoke->platform->client, &call, gcf_on_invoked, invoke, message, sizeof message) < 0) {
        gcf_invoke_fail(invoke, "NoCredentials", message);
        return;
    }
    if (invoke->flags & PLATFORM_INVOKE_EVENT) { /* sent: the caller goes on, the answer is only logged */
        json_t *accepted = json_pack("{s:i}", "StatusCode", 202);
        struct platform_outcome outcome = {.ok = 1, .result = accepted};
        invoke->done(invoke->ctx, &outcome);
        json_decref(accepted);
        invoke->done = gcf_event_ended;
        invoke->ctx = invoke;
        invoke->platform->events_in_flight++;
    }
}

/* The function's GET answered: its URL, then the call. */
static void gcf_on_located(void *ctx, const struct gcf_reply *reply)
{
    struct gcf_invoke *invoke = ctx;
    char message[2600];
    if (invoke->platform->closing) {
        gcf_invoke_fail(invoke, "KernelStopping", "the kernel is shutting down");
        return;
    }
    const char *url = json_string_value(json_object_get(reply->json, "url"));
    const char *state = json_string_value(json_object_get(reply->json, "state"));
    if (!reply->ok) {
        if (reply->status == 404 && strcmp(reply->error_type, "NOT_FOUND") == 0)
            snprintf(message, sizeof message, "%s is not deployed on gcf (no function %s); run its %%%%cloud_function "
                     "cell, or link an existing one with deploy=false remote=ID", invoke->id, invoke->resource);
        else
            snprintf(message, sizeof message, "reading %s: %s", invoke->id, reply->message);
        gcf_invoke_fail(invoke, reply->error_type, message);
        return;
    }
    if (url == NULL || (state != NULL && strcmp(state, "ACTIVE") != 0)) {
        snprintf(message, sizeof message, "%s cannot be called: it is %s%s", invoke->id, state ? state : "without a URL",
                 state != NULL && strcmp(state, "FAILED") == 0 ? "; run its cell again to redeploy it" : "");
        gcf_invoke_fail(invoke, "FunctionNotReady", message);
        return;
    }
    json_object_set_new(invoke->platform->urls, invoke->resource, json_string(url));
    gcf_invoke_send(invoke, url);
}

static int gcf_invoke(void *self, const char *name, const json_t *payload, unsigned flags, platform_done_fn done,
                      void *ctx)
{
    struct gcf_platform *platform = self;
    char message[900];
    if (gcf_client_ready(platform->client, message, sizeof message) < 0) {
        gcf_fail(done, ctx, "NoCredentials", message);
        return 0;
    }
    struct gcf_invoke *invoke = calloc(1, sizeof *invoke);
    if (invoke == NULL) {
        gcf_fail(done, ctx, "OutOfMemory", "cannot start the call");
        return 0;
    }
    *invoke = (struct gcf_invoke){.platform = platform, .done = done, .ctx = ctx, .flags = flags};
    invoke->resource = gcf_resource(gcf_client_parent(platform->client), name, invoke->id);
    invoke->body = json_dumps(payload ? payload : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    if (invoke->resource == NULL || invoke->body == NULL) {
        gcf_invoke_fail(invoke, "OutOfMemory", "cannot start the call");
        return 0;
    }
    long limit = platform->generation == 1 ? GCF_PAYLOAD_MAX_GEN1 : GCF_PAYLOAD_MAX_GEN2;
    if ((long)strlen(invoke->body) > limit) {
        snprintf(message, sizeof message, "the request is %zu bytes; Cloud Functions (gen %d) takes at most %ld",
                 strlen(invoke->body), platform->generation, limit);
        gcf_invoke_fail(invoke, "RequestTooLarge", message);
        return 0;
    }
    const char *url = json_string_value(json_object_get(platform->urls, invoke->resource));
    if (url != NULL) {
        gcf_invoke_send(invoke, url);
        return 0;
    }
    char *path = NULL;
    if (asprintf(&path, "/v2/%s", invoke->resource) < 0) {
        gcf_invoke_fail(invoke, "OutOfMemory", "cannot start the call");
        return 0;
    }
    struct gcf_call call = {.method = "GET", .url = path, .auth = GCF_AUTH_ACCESS, .timeout_ms = GCF_CONTROL_TIMEOUT_MS};
    int rc = gcf_client_send(platform->client, &call, gcf_on_located, invoke, message, sizeof message);
    free(path);
    if (rc < 0)
        gcf_invoke_fail(invoke, "NoCredentials", message);
    return 0;
}

/* ---- settings ---- */

static int gcf_apply_settings(void *self, const json_t *settings, char *err, size_t err_size)
{
    struct gcf_platform *platform = self;
    const char *project = NULL, *region = NULL, *endpoint = NULL, *generation = NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)settings, key, value) {
        const char *text = json_string_value(value);
        if (text == NULL) {
            snprintf(err, err_size, "%s must be a string", key);
            return -1;
        }
        if (strcmp(key, "project") == 0)
            project = text;
        else if (strcmp(key, "region") == 0)
            region = text;
        else if (strcmp(key, "endpoint") == 0)
            endpoint = text;
        else if (strcmp(key, "generation") == 0)
            generation = text;
        else {
            snprintf(err, err_size, "unknown setting '%s' for gcf; it knows project, region, generation and endpoint",
                     key);
            return -1;
        }
    }
    if (generation != NULL && strcmp(generation, "1") != 0 && strcmp(generation, "2") != 0) {
        snprintf(err, err_size, "generation must be 1 or 2 (Cloud Functions' GEN_1 or GEN_2, the default)");
        return -1;
    }
    if (gcf_client_set(platform->client, project, region, endpoint, err, err_size) < 0)
        return -1;
    platform->generation = generation != NULL && strcmp(generation, "1") == 0 ? 1 : 2; /* each line gives all */
    json_object_clear(platform->urls);
    json_object_clear(platform->open);
    if (gcf_client_ready(platform->client, err, err_size) < 0)
        return -1;
    gcf_client_describe(platform->client, err, err_size);
    if (platform->generation == 1) {
        size_t len = strlen(err);
        snprintf(err + len, err_size - len, "; GEN_1 functions");
    }
    return 0;
}

void *gcf_platform_new(struct reactor *reactor)
{
    struct gcf_platform *platform = calloc(1, sizeof *platform);
    if (platform == NULL || (platform->client = gcf_client_new(reactor)) == NULL ||
        (platform->urls = json_object()) == NULL || (platform->open = json_object()) == NULL) {
        if (platform != NULL) {
            gcf_client_free(platform->client);
            json_decref(platform->urls);
        }
        free(platform);
        return NULL;
    }
    platform->reactor = reactor;
    platform->generation = 2;
    list_init(&platform->syncs);
    return platform;
}

static void gcf_free(void *self)
{
    struct gcf_platform *platform = self;
    platform->closing = 1;
    gcf_client_free(platform->client); /* the calls in flight end, and their syncs with them */
    struct list_node *waiting;         /* those waiting to poll or retry */
    while ((waiting = list_first(&platform->syncs)) != NULL)
        gcf_sync_finish(list_entry(waiting, struct gcf_sync, node), "KernelStopping", "the kernel is shutting down");
    json_decref(platform->urls);
    json_decref(platform->open);
    free(platform);
}

/* ---- connections ahead of an experiment's pass ----
 *
 * Each function has a URL of its own, so prepare first needs FUNCTION's:
 * the deploy's, else one GET as a call would make (while it runs, the
 * function's entry in the platform's urls is a JSON null, which a call
 * reads as "not known" and preparing as "not ready"). Then the client
 * fetches the URL's ID token and opens COUNT connections to it, and
 * preparing counts what is not done: the GET, the token, the connections.
 * A function that cannot be found opens nothing: its calls say why. */

struct gcf_ahead {
    struct gcf_platform *platform;
    char *resource;
    size_t count;
};

static void gcf_on_located_ahead(void *ctx, const struct gcf_reply *reply)
{
    struct gcf_ahead *ahead = ctx;
    struct gcf_platform *platform = ahead->platform;
    const char *url = json_string_value(json_object_get(reply->json, "url"));
    const char *state = json_string_value(json_object_get(reply->json, "state"));
    if (json_is_null(json_object_get(platform->urls, ahead->resource))) { /* not replaced by a deploy or a call */
        if (reply->ok && url != NULL && (state == NULL || strcmp(state, "ACTIVE") == 0) && !platform->closing) {
            json_object_set_new(platform->urls, ahead->resource, json_string(url));
            (void)gcf_client_prepare(platform->client, url, ahead->count);
        } else {
            json_object_del(platform->urls, ahead->resource);
        }
    }
    free(ahead->resource);
    free(ahead);
}

static size_t gcf_prepare(void *self, const char *function, size_t count)
{
    struct gcf_platform *platform = self;
    char message[900], id[64], *path = NULL;
    if (platform->closing || gcf_client_ready(platform->client, message, sizeof message) < 0)
        return 0;
    char *resource = gcf_resource(gcf_client_parent(platform->client), function, id);
    if (resource == NULL)
        return 0;
    const json_t *known = json_object_get(platform->urls, resource);
    if (known != NULL) { /* a URL, or its GET under way */
        size_t opened = json_is_string(known) ? gcf_client_prepare(platform->client, json_string_value(known), count)
                                              : 0;
        free(resource);
        return opened;
    }
    struct gcf_ahead *ahead = malloc(sizeof *ahead);
    if (ahead == NULL || asprintf(&path, "/v2/%s", resource) < 0) {
        free(ahead);
        free(resource);
        return 0;
    }
    *ahead = (struct gcf_ahead){platform, resource, count};
    struct gcf_call call = {.method = "GET", .url = path, .auth = GCF_AUTH_ACCESS, .timeout_ms = GCF_CONTROL_TIMEOUT_MS};
    if (gcf_client_send(platform->client, &call, gcf_on_located_ahead, ahead, message, sizeof message) == 0) {
        json_object_set_new(platform->urls, resource, json_null());
    } else {
        free(ahead->resource);
        free(ahead);
    }
    free(path);
    return 0;
}

static size_t gcf_preparing(void *self, const char *function)
{
    struct gcf_platform *platform = self;
    char id[64];
    if (gcf_client_parent(platform->client) == NULL)
        return 0;
    char *resource = gcf_resource(gcf_client_parent(platform->client), function, id);
    if (resource == NULL)
        return 0;
    const json_t *known = json_object_get(platform->urls, resource);
    free(resource);
    if (json_is_null(known))
        return 1;
    return json_is_string(known) ? gcf_client_preparing(platform->client, json_string_value(known)) : 0;
}

static size_t gcf_events_in_flight(void *self)
{
    return ((struct gcf_platform *)self)->events_in_flight;
}

const struct platform_ops gcf_platform_ops = {
    .name = "gcf",
    .check = gcf_check,
    .sync = gcf_sync,
    .verifies = 1,
    .invoke = gcf_invoke,
    .prepare = gcf_prepare,
    .preparing = gcf_preparing,
    .apply_settings = gcf_apply_settings,
    .events_in_flight = gcf_events_in_flight,
    .free = gcf_free,
};
