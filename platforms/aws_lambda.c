/* aws_lambda: the `aws` platform, AWS Lambda behind the platform interface
 * (platform.h), on Lambda's REST API (2015-03-31: GetFunction,
 * CreateFunction, UpdateFunctionCode, UpdateFunctionConfiguration,
 * DeleteFunction, Invoke), signed by aws_client.
 *
 * Deploy, configure, verify and set_memory are one state machine, a "sync",
 * that makes the remote function match what the notebook defines:
 *
 *   GetFunction --404--> CreateFunction --> wait for State Active
 *        |  (a 409 "already exists" on create goes back to GetFunction)
 *        v
 *   wait while State is Pending or LastUpdateStatus InProgress
 *        v
 *   code differs (CodeSha256 of our zip, or the image URI, or the
 *   architecture)?  --> UpdateFunctionCode --> wait for Successful
 *        v
 *   configuration differs (memory, timeout, environment, the cell's own
 *   role=, handler, runtime, dependency layer)?  --> UpdateFunctionConfiguration --> wait
 *   for Successful
 *
 * A function with dependencies (runtime/deps.h) first gets its layer:
 * ListLayerVersions of faaset-deps-HASH (the name says what it holds, so
 * any version of it will do) --none--> PublishLayerVersion of layer.zip;
 * the ARN is kept for the kernel's life, so a code change publishes
 * nothing and sends only the small zip of the handler, SAAF and the code.
 * The function's other layers (not faaset's) are left as they are.
 *
 * Waits poll GetFunction (after 0.25 s, 0.5 s, then every second, at most
 * 300 polls, as the SDK waiters do). A 409 "update in progress" is waited
 * out and the call repeated; throttling (429) and service errors (5xx, no
 * answer) are retried with backoff a few times. Because the remote state is
 * compared, not assumed, the same machine reports what it found: "up to
 * date", and, when the notebook's cell had not changed (verify), a function
 * changed or deleted outside the notebook, which it then repairs.
 *
 * A function with containerize=True first has its image built and pushed
 * (oci_push.h): on its base (public.ecr.aws/lambda/python:VERSION, whose
 * runtime interface client calls the image's Cmd, faaset_handler.handle),
 * to an ECR repository REGISTRY/faaset-DEF:CODE (registry= of the cell, else
 * `%platform aws registry=`, else the account's own ECR registry
 * ACCOUNT.dkr.ecr.REGION.amazonaws.com, the account from STS's
 * GetCallerIdentity, asked once per settings), its dependencies in the image rather than in
 * a layer; the sync then deploys REGISTRY/faaset-DEF@DIGEST, so the image's
 * digest is what the remote function is compared with.
 *
 * Delete is the same machine's one DeleteFunction step (a 409 waited out).
 *
 * Limits (memory, timeout, zip and request size, environment size, names,
 * payload size) are checked before any call, with the limit in the message.
 * Invocations: RequestResponse or Event, the Tail log decoded when asked;
 * a function error (X-Amz-Function-Error) comes back with the remote type,
 * message and stack trace; a 429 is reported as throttled with its
 * Retry-After for the caller to retry (the experiment runner counts retries). */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_client.h"
#include "fsutil.h"
#include "list.h"
#include "oci_credentials.h"
#include "oci_push.h"
#include "package.h"
#include "platform.h"
#include "retry.h"
#include "sigv4.h"

#define AWS_LAMBDA_PATH "/2015-03-31/functions"
#define AWS_LAMBDA_HANDLER "faaset_handler.lambda_handler"
#define AWS_ZIP_MAX (50L * 1024 * 1024)           /* direct upload, of a function or a layer */
#define AWS_UNZIPPED_MAX (250ULL * 1024 * 1024)   /* a function and its layers, unzipped */
#define AWS_LAYER_PATH "/2018-10-31/layers"
#define AWS_LAYER_PREFIX "faaset-deps-"
#define AWS_BODY_MAX 69905067L                    /* the HTTP body cap (base64 of 50 MB plus JSON) */
#define AWS_ENV_MAX 4096
#define AWS_PAYLOAD_SYNC_MAX (6L * 1024 * 1024)
#define AWS_PAYLOAD_EVENT_MAX (1L * 1024 * 1024)
#define AWS_MAX_POLLS 300
/* Throttling and service errors: 4 retries, waits drawn up to 0.25, 0.5, 1
 * and 2 s (at most 3.75 s in all), as the SDKs retry. */
static const struct retry_policy aws_retry = {.base_ms = 250, .cap_ms = 2000, .max_retries = 4};
#define AWS_CONTROL_TIMEOUT_MS 60000L
#define AWS_INVOKE_TIMEOUT_MS 960000L             /* the 900 s maximum plus a margin */

struct aws_platform {
    struct reactor *reactor;
    struct aws_client *client;
    struct aws_client *ecr;      /* ECR's API, for the registry's token (containerize) */
    struct aws_client *sts;      /* STS, for the account whose ECR registry is the default */
    char account[16];            /* that account, "" until GetCallerIdentity answered (again after new settings) */
    char *role;                  /* the execution role for CreateFunction, or NULL */
    char *registry;              /* `%platform aws registry=`: where containerize pushes, or NULL */
    json_t *layers;              /* {"faaset-deps-HASH": "LayerVersionArn"}, found or published here */
    struct list_node syncs;      /* under way: ended with KernelStopping when the platform is freed */
    int closing;
};


enum aws_sync_step {
    AWS_STEP_GET, AWS_STEP_CREATE, AWS_STEP_CODE, AWS_STEP_CONFIG, AWS_STEP_POLL, AWS_STEP_DELETE,
    AWS_STEP_LAYER_LIST, AWS_STEP_LAYER_PUBLISH
};

struct aws_sync {
    struct aws_platform *platform;
    enum platform_sync kind;
    enum aws_sync_step step;     /* the call in flight or to repeat */
    platform_done_fn done;
    void *ctx;
    char *name;                  /* as the user gave it: a name or an ARN */
    char *path;                  /* AWS_LAMBDA_PATH "/" + the encoded name */
    char *zip_base64;            /* NULL with an image or for set_memory */
    char zip_sha256[48];         /* base64, as Lambda's CodeSha256 */
    char *image;
    char *role;                  /* the function's own execution role (role=), or NULL: the platform's */
    int memory_mb, timeout_s;
    char arch[8], runtime[16];
    json_t *env;                 /* {"KEY": "value"} */
    char layer_name[64];         /* the dependency layer, "" when the function has none */
    char *layer_zip;             /* its layer.zip, published when Lambda has no version of it */
    char *layer_arn;             /* the version to attach, once found or published */
    json_t *other_layers;        /* the function's layers that are not faaset's, kept as they are */
    int remote_deps_layer;       /* the function has a faaset dependency layer now */
    int polls, retries;
    int created, code_updated, config_updated;
    char note[600];
    struct oci_push *push;       /* containerize: the image's build and push under way, else NULL */
    json_t *image_spec;          /* containerize: what the image is built from (aws_image_spec), else NULL */
    char image_note[240];        /* "image sha256:... pushed: ..." */
    unsigned long timer;         /* a pending wait or retry, 0 when none */
    struct list_node node;       /* in the platform's syncs */
};

/* ---- small helpers ---- */

static int aws_valid_role(const char *role);

static char *aws_strdup_or_null(const char *s)
{
    return s != NULL && *s ? strdup(s) : NULL;
}

static void aws_fail(platform_done_fn done, void *ctx, const char *type, const char *message)
{
    struct platform_outcome outcome = {.ok = 0, .error_type = type, .message = message};
    done(ctx, &outcome);
}

/* A Lambda function name (1-64 of A-Z a-z 0-9 - _, perhaps with :QUALIFIER, or a
 * partial ARN ACCOUNT:function:NAME), or a full ARN. */
static int aws_valid_name(const char *name)
{
    size_t len = strlen(name);
    if (strncmp(name, "arn:", 4) == 0)
        return len < 170;
    if (len == 0 || len > 140)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != ':')
            return 0;
    return 1;
}

static char *aws_function_path(const char *name, const char *suffix)
{
    char *encoded = sigv4_uri_encode(name, 0);
    char *path = NULL;
    if (encoded != NULL && asprintf(&path, AWS_LAMBDA_PATH "/%s%s", encoded, suffix) < 0)
        path = NULL;
    free(encoded);
    return path;
}

static size_t aws_env_size(const json_t *env)
{
    size_t size = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)env, key, value)
        size += strlen(key) + strlen(json_string_value(value) ? json_string_value(value) : "");
    return size;
}

/* ---- the sync state machine ---- */

static void aws_sync_free(struct aws_sync *sync)
{
    list_remove(&sync->node);
    if (sync->timer)
        reactor_cancel(sync->platform->reactor, sync->timer);
    oci_push_cancel(sync->push);
    free(sync->name);
    free(sync->path);
    free(sync->zip_base64);
    free(sync->image);
    free(sync->role);
    free(sync->layer_zip);
    free(sync->layer_arn);
    json_decref(sync->other_layers);
    json_decref(sync->env);
    json_decref(sync->image_spec);
    free(sync);
}

static void aws_sync_finish(struct aws_sync *sync, const char *error_type, const char *message)
{
    struct platform_outcome outcome = {.ok = error_type == NULL, .error_type = error_type, .message = message};
    if (outcome.ok) {
        int drifted = sync->note[0] != '\0';
        outcome.action = sync->kind == PLATFORM_SYNC_REMOVE              ? "deleted"
                         : sync->created                                 ? "deployed"
                         : drifted && sync->kind == PLATFORM_SYNC_VERIFY ? "redeployed"
                         : sync->code_updated                            ? "updated code of"
                         : sync->config_updated                          ? "updated configuration of"
                                                                         : "up to date";
        outcome.note = drifted ? sync->note : NULL;
    }
    char notes[sizeof sync->note + sizeof sync->image_note + 2];
    if (outcome.ok && sync->image_note[0]) {
        snprintf(notes, sizeof notes, "%s%s%s", sync->image_note, outcome.note ? "; " : "",
                 outcome.note ? outcome.note : "");
        outcome.note = notes;
    }
    sync->done(sync->ctx, &outcome);
    aws_sync_free(sync);
}

static void aws_sync_call(struct aws_sync *sync);

static void aws_sync_on_timer(void *ctx)
{
    struct aws_sync *sync = ctx;
    sync->timer = 0;
    aws_sync_call(sync);
}

static void aws_sync_later(struct aws_sync *sync, enum aws_sync_step step, long long delay_ms)
{
    sync->step = step;
    sync->timer = reactor_timer(sync->platform->reactor, delay_ms, aws_sync_on_timer, sync);
    if (sync->timer == 0)
        aws_sync_finish(sync, "OutOfMemory", "cannot schedule the next call");
}

/* The poll delays: 0.25 s, 0.5 s, then 1 s. */
static long long aws_poll_delay(int polls)
{
    return polls == 0 ? 250 : polls == 1 ? 500 : 1000;
}

static void aws_sync_poll(struct aws_sync *sync)
{
    if (sync->polls >= AWS_MAX_POLLS) {
        char message[300];
        snprintf(message, sizeof message, "%s did not become ready after %d checks; look at it in the Lambda console",
                 sync->name, AWS_MAX_POLLS);
        aws_sync_finish(sync, "WaitTimeout", message);
        return;
    }
    aws_sync_later(sync, AWS_STEP_POLL, aws_poll_delay(sync->polls++));
}

static int aws_same_env(const json_t *remote_config, const json_t *ours)
{
    const json_t *remote = json_object_get(json_object_get(remote_config, "Environment"), "Variables");
    if (remote == NULL)
        return json_object_size(ours) == 0;
    return json_equal((json_t *)remote, (json_t *)ours);
}

static const char *aws_remote_arch(const json_t *config)
{
    const char *arch = json_string_value(json_array_get(json_object_get(config, "Architectures"), 0));
    return arch ? arch : "x86_64";
}

static int aws_code_differs(const struct aws_sync *sync, const json_t *function, char *what, size_t size)
{
    const json_t *config = json_object_get(function, "Configuration");
    if (sync->image != NULL) {
        const char *uri = json_string_value(json_object_get(json_object_get(function, "Code"), "ImageUri"));
        if (uri == NULL || strcmp(uri, sync->image) != 0) {
            snprintf(what, size, "its image is %s, the notebook's %s", uri ? uri : "(none)", sync->image);
            return 1;
        }
    } else {
        const char *sha = json_string_value(json_object_get(config, "CodeSha256"));
        if (sha == NULL || strcmp(sha, sync->zip_sha256) != 0) {
            snprintf(what, size, "its CodeSha256 is %.12s..., the notebook's package %.12s...", sha ? sha : "(none)",
                     sync->zip_sha256);
            return 1;
        }
    }
    if (strcmp(aws_remote_arch(config), sync->arch) != 0) {
        snprintf(what, size, "it runs on %s, the notebook asks for %s", aws_remote_arch(config), sync->arch);
        return 1;
    }
    return 0;
}

static int aws_is_deps_layer(const char *arn)
{
    return arn != NULL && strstr(arn, ":layer:" AWS_LAYER_PREFIX) != NULL;
}

/* The function's faaset dependency layer (its version's ARN), or NULL. */
static const char *aws_deps_layer(const json_t *config)
{
    size_t i;
    json_t *layer;
    json_array_foreach(json_object_get(config, "Layers"), i, layer) {
        const char *arn = json_string_value(json_object_get(layer, "Arn"));
        if (aws_is_deps_layer(arn))
            return arn;
    }
    return NULL;
}

/* Notes the function's layers from CONFIG: faaset's, and the others to keep. */
static void aws_sync_note_layers(struct aws_sync *sync, const json_t *config)
{
    json_decref(sync->other_layers);
    sync->other_layers = json_array();
    size_t i;
    json_t *layer;
    json_array_foreach(json_object_get(config, "Layers"), i, layer) {
        const char *arn = json_string_value(json_object_get(layer, "Arn"));
        if (arn != NULL && !aws_is_deps_layer(arn))
            json_array_append_new(sync->other_layers, json_string(arn));
    }
    sync->remote_deps_layer = aws_deps_layer(config) != NULL;
}

static int aws_config_differs(const struct aws_sync *sync, const json_t *config, char *what, size_t size)
{
    json_int_t memory = json_integer_value(json_object_get(config, "MemorySize"));
    json_int_t timeout = json_integer_value(json_object_get(config, "Timeout"));
    if (memory != sync->memory_mb) {
        snprintf(what, size, "its memory is %lld MB, the notebook's %d MB", (long long)memory, sync->memory_mb);
        return 1;
    }
    if (sync->kind == PLATFORM_SYNC_SET_MEMORY)
        return 0;
    if (timeout != sync->timeout_s) {
        snprintf(what, size, "its timeout is %lld s, the notebook's %d s", (long long)timeout, sync->timeout_s);
        return 1;
    }
    if (!aws_same_env(config, sync->env)) {
        snprintf(what, size, "its environment variables differ from the notebook's");
        return 1;
    }
    const char *role = json_string_value(json_object_get(config, "Role"));
    if (sync->role != NULL && (role == NULL || strcmp(role, sync->role) != 0)) { /* the cell's role= only */
        snprintf(what, size, "its role is %.120s, the notebook's %.120s", role ? role : "(none)", sync->role);
        return 1;
    }
    if (sync->image == NULL) {
        const char *remote = aws_deps_layer(config);
        if ((remote != NULL) != (sync->layer_arn != NULL) ||
            (remote != NULL && strcmp(remote, sync->layer_arn) != 0)) {
            snprintf(what, size, "its dependency layer is %.120s, the notebook's %.120s", remote ? remote : "(none)",
                     sync->layer_arn ? sync->layer_arn : "(none)");
            return 1;
        }
        const char *handler = json_string_value(json_object_get(config, "Handler"));
        const char *runtime = json_string_value(json_object_get(config, "Runtime"));
        if (handler == NULL || strcmp(handler, AWS_LAMBDA_HANDLER) != 0 || runtime == NULL ||
            strcmp(runtime, sync->runtime) != 0) {
            snprintf(what, size, "its runtime or handler is %s %s, the notebook's %s %s", runtime ? runtime : "(none)",
                     handler ? handler : "(none)", sync->runtime, AWS_LAMBDA_HANDLER);
            return 1;
        }
    }
    return 0;
}

/* Remembers WHAT differs when it can only have been changed outside the
 * notebook: anything, for an unchanged cell (verify); the code, when only
 * the cell's configuration changed. */
static void aws_sync_note(struct aws_sync *sync, const char *what, int is_code)
{
    if (sync->note[0] || !(sync->kind == PLATFORM_SYNC_VERIFY || (sync->kind == PLATFORM_SYNC_CONFIGURE && is_code)))
        return;
    snprintf(sync->note, sizeof sync->note, "changed outside the notebook: %s", what);
}

/* GetFunction answered: decide the next step from the remote state. */
static void aws_sync_on_function(struct aws_sync *sync, const json_t *function)
{
    const json_t *config = json_object_get(function, "Configuration");
    const char *state = json_string_value(json_object_get(config, "State"));
    const char *update = json_string_value(json_object_get(config, "LastUpdateStatus"));
    char message[700], what[300];
    if (state != NULL && strcmp(state, "Failed") == 0) {
        snprintf(message, sizeof message, "%s is in state Failed: %.400s", sync->name,
                 json_string_value(json_object_get(config, "StateReason")) ?: "no reason given");
        aws_sync_finish(sync, "FunctionFailed", message);
        return;
    }
    if ((state != NULL && strcmp(state, "Pending") == 0) || (update != NULL && strcmp(update, "InProgress") == 0)) {
        aws_sync_poll(sync);
        return;
    }
    if (update != NULL && strcmp(update, "Failed") == 0 && (sync->code_updated || sync->config_updated)) {
        snprintf(message, sizeof message, "updating %s failed: %.400s", sync->name,
                 json_string_value(json_object_get(config, "LastUpdateStatusReason")) ?: "no reason given");
        aws_sync_finish(sync, "UpdateFailed", message);
        return;
    }
    sync->polls = 0;
    aws_sync_note_layers(sync, config);
    const char *package_type = json_string_value(json_object_get(config, "PackageType"));
    int remote_is_image = package_type != NULL && strcmp(package_type, "Image") == 0;
    if (sync->kind != PLATFORM_SYNC_SET_MEMORY && remote_is_image != (sync->image != NULL)) {
        snprintf(message, sizeof message,
                 "%s is a %s function and Lambda cannot change that; give the new one another name=",
                 sync->name, remote_is_image ? "container image" : "zip");
        aws_sync_finish(sync, "PackageTypeMismatch", message);
        return;
    }
    if (sync->kind != PLATFORM_SYNC_SET_MEMORY && !sync->code_updated &&
        aws_code_differs(sync, function, what, sizeof what)) {
        if (!sync->created)
            aws_sync_note(sync, what, 1);
        sync->step = AWS_STEP_CODE;
        aws_sync_call(sync);
        return;
    }
    if (!sync->config_updated && aws_config_differs(sync, config, what, sizeof what)) {
        if (!sync->created && !sync->code_updated)
            aws_sync_note(sync, what, 0);
        sync->step = AWS_STEP_CONFIG;
        aws_sync_call(sync);
        return;
    }
    aws_sync_finish(sync, NULL, NULL);
}

/* Throttling, the service's own errors, no answer, and a function just
 * created that a read does not find yet (Lambda is eventually consistent). */
static int aws_retryable(const struct aws_sync *sync, const struct aws_reply *reply)
{
    return reply->status == 429 || reply->status >= 500 || reply->status == 0 ||
           (reply->status == 404 && sync->created && sync->step == AWS_STEP_POLL);
}

static const char *const aws_step_names[] = {"GetFunction", "CreateFunction", "UpdateFunctionCode",
                                             "UpdateFunctionConfiguration", "GetFunction", "DeleteFunction",
                                             "ListLayerVersions", "PublishLayerVersion"};

/* The dependency layer's version to attach is known: keep it for the kernel's life and go on to the function. */
static void aws_sync_layer_found(struct aws_sync *sync, const char *arn)
{
    free(sync->layer_arn);
    sync->layer_arn = strdup(arn);
    if (sync->layer_arn == NULL) {
        aws_sync_finish(sync, "OutOfMemory", "cannot keep the layer's ARN");
        return;
    }
    json_object_set_new(sync->platform->layers, sync->layer_name, json_string(arn));
    sync->step = AWS_STEP_GET;
    aws_sync_call(sync);
}

/* ListLayerVersions answered: the newest version, else publish one. */
static void aws_sync_on_layer_versions(struct aws_sync *sync, const json_t *answer)
{
    const char *newest = NULL;
    json_int_t newest_version = -1;
    size_t i;
    json_t *version;
    json_array_foreach(json_object_get(answer, "LayerVersions"), i, version) {
        const char *arn = json_string_value(json_object_get(version, "LayerVersionArn"));
        json_int_t number = json_integer_value(json_object_get(version, "Version"));
        if (arn != NULL && number > newest_version) {
            newest = arn;
            newest_version = number;
        }
    }
    if (newest != NULL) {
        aws_sync_layer_found(sync, newest);
        return;
    }
    sync->step = AWS_STEP_LAYER_PUBLISH;
    aws_sync_call(sync);
}

static void aws_sync_on_reply(void *ctx, const struct aws_reply *reply)
{
    struct aws_sync *sync = ctx;
    char message[900];
    if (sync->platform->closing) {
        aws_sync_finish(sync, "KernelStopping", "the kernel is shutting down");
        return;
    }
    if (reply->ok && reply->json == NULL && sync->step != AWS_STEP_DELETE) {
        /* Lambda answers these with a JSON object: anything else is not Lambda (a wrong endpoint=, a proxy's page) */
        snprintf(message, sizeof message, "%s %s: the endpoint's answer is not Lambda's (HTTP %ld without a JSON "
                 "object); check the endpoint (%%platform aws endpoint=...)", aws_step_names[sync->step], sync->name,
                 reply->status);
        aws_sync_finish(sync, "InvalidResponse", message);
        return;
    }
    if (reply->ok) {
        sync->retries = 0;
        switch (sync->step) {
        case AWS_STEP_GET:
        case AWS_STEP_POLL:
            aws_sync_on_function(sync, reply->json);
            return;
        case AWS_STEP_LAYER_LIST:
            aws_sync_on_layer_versions(sync, reply->json);
            return;
        case AWS_STEP_LAYER_PUBLISH: {
            const char *arn = json_string_value(json_object_get(reply->json, "LayerVersionArn"));
            if (arn == NULL)
                aws_sync_finish(sync, "InvalidResponse", "PublishLayerVersion answered without a LayerVersionArn");
            else
                aws_sync_layer_found(sync, arn);
            return;
        }
        case AWS_STEP_CREATE:
            sync->created = 1;
            break;
        case AWS_STEP_CODE:
            sync->code_updated = 1;
            break;
        case AWS_STEP_CONFIG:
            sync->config_updated = 1;
            break;
        case AWS_STEP_DELETE:
            aws_sync_finish(sync, NULL, NULL);
            return;
        }
        aws_sync_poll(sync); /* the change is under way: wait for Active / Successful */
        return;
    }
    int not_found = reply->status == 404 && strcmp(reply->error_code, "ResourceNotFoundException") == 0;
    int conflict = reply->status == 409;
    if (not_found && sync->step == AWS_STEP_LAYER_LIST) { /* no layer of that name yet */
        sync->step = AWS_STEP_LAYER_PUBLISH;
        aws_sync_call(sync);
        return;
    }
    if (not_found && (sync->step == AWS_STEP_GET || sync->step == AWS_STEP_POLL) && !sync->created) {
        if (sync->kind == PLATFORM_SYNC_SET_MEMORY) {
            snprintf(message, sizeof message, "%s is not deployed on aws (%s); run its %%%%cloud_function cell",
                     sync->name, reply->message);
            aws_sync_finish(sync, "ResourceNotFoundException", message);
            return;
        }
        if (sync->kind == PLATFORM_SYNC_VERIFY || sync->kind == PLATFORM_SYNC_CONFIGURE)
            snprintf(sync->note, sizeof sync->note, "it had been deleted outside the notebook");
        sync->step = AWS_STEP_CREATE;
        aws_sync_call(sync);
        return;
    }
    if (conflict && sync->step == AWS_STEP_CREATE) { /* created meanwhile by someone else: update it */
        sync->step = AWS_STEP_GET;
        aws_sync_call(sync);
        return;
    }
    if (conflict && (sync->step == AWS_STEP_CODE || sync->step == AWS_STEP_CONFIG || sync->step == AWS_STEP_DELETE) &&
        sync->polls < AWS_MAX_POLLS) {
        sync->polls++; /* an update in progress: wait it out, then repeat the call */
        aws_sync_later(sync, sync->step, reply->retry_after_ms > 0 ? reply->retry_after_ms : 1000.0);
        return;
    }
    double wait = aws_retryable(sync, reply) ? retry_delay_ms(&aws_retry, sync->retries, reply->retry_after_ms) : -1;
    if (wait >= 0) {
        sync->retries++;
        aws_sync_later(sync, sync->step, wait);
        return;
    }
    snprintf(message, sizeof message, "%s %s: %s", aws_step_names[sync->step], sync->name, reply->message);
    aws_sync_finish(sync, reply->error_code, message);
}

static json_t *aws_string_list(const char *item)
{
    json_t *list = json_array();
    json_array_append_new(list, json_string(item));
    return list;
}

/* PublishLayerVersion's body: layer.zip (its files under python/, as
 * Lambda's Python runtimes look for them) for the function's runtime and
 * architecture. NULL with MESSAGE when the zip cannot be read. */
static json_t *aws_layer_body(struct aws_sync *sync, char *message, size_t size)
{
    size_t zip_size = 0;
    unsigned char *zip = (unsigned char *)fsutil_read(sync->layer_zip, &zip_size);
    if (zip == NULL) {
        snprintf(message, size, "cannot read the dependency layer %.300s: %s", sync->layer_zip, strerror(errno));
        return NULL;
    }
    size_t len = sodium_base64_ENCODED_LEN(zip_size, sodium_base64_VARIANT_ORIGINAL);
    char *encoded = malloc(len);
    json_t *body = NULL;
    if (encoded != NULL) {
        sodium_bin2base64(encoded, len, zip, zip_size, sodium_base64_VARIANT_ORIGINAL);
        body = json_pack("{s:{s:s}, s:o, s:o, s:s}", "Content", "ZipFile", encoded, "CompatibleRuntimes",
                         aws_string_list(sync->runtime), "CompatibleArchitectures", aws_string_list(sync->arch),
                         "Description", "FaaSET: a function's dependencies");
    }
    free(encoded);
    free(zip);
    if (body == NULL)
        snprintf(message, size, "out of memory");
    return body;
}

/* The body of the call SYNC is at, or NULL with MESSAGE set. */
static json_t *aws_sync_body(struct aws_sync *sync, char *message, size_t size)
{
    json_t *body = NULL;
    switch (sync->step) {
    case AWS_STEP_GET:
    case AWS_STEP_POLL:
    case AWS_STEP_DELETE:
        return NULL;
    case AWS_STEP_CREATE: {
        const char *role = sync->role ? sync->role
                         : sync->platform->role ? sync->platform->role : getenv("FAASET_AWS_ROLE");
        if (role == NULL || *role == '\0') {
            snprintf(message, size,
                     "creating %s on Lambda needs an execution role: %%platform aws "
                     "role=arn:aws:iam::ACCOUNT_ID:role/NAME, the function's role= option "
                     "(or set FAASET_AWS_ROLE before starting Jupyter)",
                     sync->name);
            return NULL;
        }
        json_t *code = sync->image ? json_pack("{s:s}", "ImageUri", sync->image)
                                   : json_pack("{s:s}", "ZipFile", sync->zip_base64);
        body = json_pack("{s:s, s:s, s:o, s:s, s:i, s:i, s:o, s:{s:O}, s:s}", "FunctionName", sync->name, "Role",
                         role, "Code", code, "PackageType", sync->image ? "Image" : "Zip", "MemorySize",
                         sync->memory_mb, "Timeout", sync->timeout_s, "Architectures", aws_string_list(sync->arch),
                         "Environment", "Variables", sync->env, "Description", "Deployed by FaaSET");
        if (body != NULL && sync->image == NULL) {
            json_object_set_new(body, "Runtime", json_string(sync->runtime));
            json_object_set_new(body, "Handler", json_string(AWS_LAMBDA_HANDLER));
            if (sync->layer_arn != NULL)
                json_object_set_new(body, "Layers", aws_string_list(sync->layer_arn));
        }
        break;
    }
    case AWS_STEP_LAYER_LIST:
        return NULL;
    case AWS_STEP_LAYER_PUBLISH:
        return aws_layer_body(sync, message, size);
    case AWS_STEP_CODE:
        body = sync->image ? json_pack("{s:s}", "ImageUri", sync->image)
                           : json_pack("{s:s}", "ZipFile", sync->zip_base64);
        if (body != NULL)
            json_object_set_new(body, "Architectures", aws_string_list(sync->arch));
        break;
    case AWS_STEP_CONFIG:
        if (sync->kind == PLATFORM_SYNC_SET_MEMORY) {
            body = json_pack("{s:i}", "MemorySize", sync->memory_mb);
            break;
        }
        body = json_pack("{s:i, s:i, s:{s:O}}", "MemorySize", sync->memory_mb, "Timeout", sync->timeout_s,
                         "Environment", "Variables", sync->env);
        if (body != NULL && sync->role != NULL)
            json_object_set_new(body, "Role", json_string(sync->role));
        if (body != NULL && sync->image == NULL) {
            json_object_set_new(body, "Runtime", json_string(sync->runtime));
            json_object_set_new(body, "Handler", json_string(AWS_LAMBDA_HANDLER));
            if (sync->layer_arn != NULL || sync->remote_deps_layer) {
                json_t *layers = sync->other_layers ? json_copy(sync->other_layers) : json_array();
                if (sync->layer_arn != NULL)
                    json_array_append_new(layers, json_string(sync->layer_arn));
                json_object_set_new(body, "Layers", layers);
            }
        }
        break;
    }
    if (body == NULL)
        snprintf(message, size, "out of memory");
    return body;
}

static void aws_sync_call(struct aws_sync *sync)
{
    static const char *const json_headers[] = {"Content-Type: application/json", NULL};
    char message[700] = "";
    json_t *body = aws_sync_body(sync, message, sizeof message);
    if (body == NULL && message[0]) {
        aws_sync_finish(sync, strncmp(message, "creating", 8) == 0 ? "MissingRole"
                              : strncmp(message, "cannot read", 11) == 0 ? "DependencyError"
                                                                         : "OutOfMemory",
                        message);
        return;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char *path = NULL;
    const char *method = "GET";
    if (sync->step == AWS_STEP_CREATE) {
        method = "POST";
        path = strdup(AWS_LAMBDA_PATH);
    } else if (sync->step == AWS_STEP_DELETE) {
        method = "DELETE";
        path = strdup(sync->path);
    } else if (sync->step == AWS_STEP_LAYER_LIST || sync->step == AWS_STEP_LAYER_PUBLISH) {
        method = sync->step == AWS_STEP_LAYER_PUBLISH ? "POST" : "GET";
        if (asprintf(&path, AWS_LAYER_PATH "/%s/versions", sync->layer_name) < 0)
            path = NULL;
    } else if (sync->step == AWS_STEP_CODE || sync->step == AWS_STEP_CONFIG) {
        method = "PUT";
        path = aws_function_path(sync->name, sync->step == AWS_STEP_CODE ? "/code" : "/configuration");
    } else {
        path = strdup(sync->path);
    }
    if (path == NULL || (body != NULL && text == NULL)) {
        free(path);
        free(text);
        aws_sync_finish(sync, "OutOfMemory", "cannot build the request");
        return;
    }
    struct aws_call call = {method, path, NULL, text ? json_headers : NULL, text, text ? strlen(text) : 0,
                            AWS_CONTROL_TIMEOUT_MS};
    int rc = aws_client_send(sync->platform->client, &call, aws_sync_on_reply, sync, message, sizeof message);
    free(path);
    free(text);
    if (rc < 0)
        aws_sync_finish(sync, "NoCredentials", message);
}

/* ---- operations ---- */

static int aws_check_limits(const struct platform_function *function, char *message, size_t size)
{
    if (!aws_valid_name(function->name)) {
        snprintf(message, size, "'%s' is not a Lambda function name: up to 64 letters, digits, - and _, or an ARN",
                 function->name);
        return -1;
    }
    if (function->memory_mb < 128 || function->memory_mb > 10240) {
        snprintf(message, size, "memory=%d: Lambda allows 128 to 10240 MB", function->memory_mb);
        return -1;
    }
    if (function->max_instances > 0) {
        snprintf(message, size, "max_instances= is a Cloud Functions setting (gcf); Lambda limits instances with "
                 "reserved concurrency, which faaset does not set");
        return -1;
    }
    if (function->allow_unauthenticated != 0) {
        snprintf(message, size, "allow_unauthenticated= is a Cloud Functions setting (gcf); a Lambda function is "
                 "called with AWS credentials (give it a function URL outside faaset to open it)");
        return -1;
    }
    if (function->timeout_s < 1 || function->timeout_s > 900) {
        snprintf(message, size, "timeout=%d: Lambda allows 1 to 900 seconds", function->timeout_s);
        return -1;
    }
    int zip = function->image == NULL && !function->containerize;
    if (zip && function->package != NULL && (long)function->package_size > AWS_ZIP_MAX) {
        snprintf(message, size,
                 "the package is %.1f MB; Lambda takes zips of at most 50 MB directly (use image= for larger code)",
                 (double)function->package_size / (1024.0 * 1024.0));
        return -1;
    }
    if (zip && function->package != NULL &&
        (long)sodium_base64_ENCODED_LEN(function->package_size, sodium_base64_VARIANT_ORIGINAL) + 4096 > AWS_BODY_MAX) {
        snprintf(message, size, "the package is too large for one CreateFunction request (%ld bytes at most)",
                 AWS_BODY_MAX);
        return -1;
    }
    if (function->layer_hash != NULL && zip) {
        double mb = 1024.0 * 1024.0;
        unsigned long long unzipped = function->layer_unzipped_size + function->package_size;
        if (unzipped > AWS_UNZIPPED_MAX) {
            snprintf(message, size, "the function and its dependencies are %.1f MB unzipped; Lambda allows 250 MB "
                     "unzipped for a function and its layers together: deploy a container image instead "
                     "(containerize=True, or image= with one you built), or require less",
                     (double)unzipped / mb);
            return -1;
        }
        if (function->layer_zip_size > (unsigned long long)AWS_ZIP_MAX) {
            snprintf(message, size, "the dependencies are %.1f MB zipped; a Lambda layer takes at most 50 MB zipped: "
                     "deploy a container image instead (containerize=True, or image= with one you built), or "
                     "publish the largest packages as a Lambda layer of your own and leave them out of "
                     "requirements", (double)function->layer_zip_size / mb);
            return -1;
        }
    }
    if (function->env != NULL && aws_env_size(function->env) > AWS_ENV_MAX) {
        snprintf(message, size, "env holds %zu bytes; Lambda allows 4 KB of environment variables in all",
                 aws_env_size(function->env));
        return -1;
    }
    if (function->arch != NULL && strcmp(function->arch, "x86_64") != 0 && strcmp(function->arch, "arm64") != 0) {
        snprintf(message, size, "arch=%s: Lambda runs x86_64 or arm64", function->arch);
        return -1;
    }
    if (function->role != NULL && *function->role && !aws_valid_role(function->role)) {
        snprintf(message, size, "role must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME");
        return -1;
    }
    return 0;
}

/* The image is pushed: deploy it. */
static void aws_on_image_pushed(void *ctx, const struct oci_push_result *result)
{
    struct aws_sync *sync = ctx;
    sync->push = NULL;
    if (!result->ok) {
        char message[1200];
        snprintf(message, sizeof message, "building the image: %s", result->message);
        aws_sync_finish(sync, result->error_type, message);
        return;
    }
    sync->image = strdup(result->uri);
    if (sync->image == NULL) {
        aws_sync_finish(sync, "OutOfMemory", "cannot keep the image's URI");
        return;
    }
    snprintf(sync->image_note, sizeof sync->image_note, "image %.19s pushed: %llu bytes in %u blobs, %u already there%s%s",
             result->digest, result->bytes_sent, result->blobs_sent, result->blobs_present + result->blobs_mounted,
             result->blobs_mounted ? " or mounted" : "", result->repository_created ? " (its ECR repository created)" : "");
    aws_sync_call(sync);
}

/* REPOSITORY's name for def NAME: lower case, what a repository takes. */
static void aws_image_repository(const char *name, char *out, size_t size)
{
    size_t used = (size_t)snprintf(out, size, "faaset-");
    for (const char *c = name; *c && used + 1 < size; c++)
        out[used++] = isalnum((unsigned char)*c) ? (char)tolower((unsigned char)*c) : '-';
    out[used] = '\0';
}

/* What FUNCTION's image is built from, kept with the sync while the
 * default registry is looked up: {"registry", "image_base", "source",
 * "def_name", "name", "requirements", "code_hash", "runtime", "deps"}, absent
 * members unset. NULL when out of memory. */
static json_t *aws_image_spec(const struct platform_function *function)
{
    char deps[4200] = "";
    if (function->layer_dir != NULL)
        snprintf(deps, sizeof deps, "%s/python", function->layer_dir);
    return json_pack("{s:s?,s:s?,s:s?,s:s?,s:s,s:s?,s:s?,s:s?,s:s?}", "registry", function->registry, "image_base",
                     function->image_base, "source", function->source, "def_name", function->def_name, "name",
                     function->name, "requirements", function->requirements, "code_hash", function->code_hash,
                     "runtime", function->runtime, "deps", deps[0] ? deps : NULL);
}

static const char *aws_spec(const struct aws_sync *sync, const char *key)
{
    return json_string_value(json_object_get(sync->image_spec, key));
}

static void aws_image_push(struct aws_sync *sync);

/* STS's GetCallerIdentity answered: its <Account> names the default registry. */
static void aws_on_caller_identity(void *ctx, const struct aws_reply *reply)
{
    struct aws_sync *sync = ctx;
    struct aws_platform *platform = sync->platform;
    const char *body = reply->http && reply->http->body ? reply->http->body : "";
    const char *account = strstr(body, "<Account>");
    size_t digits = account ? strspn(account + 9, "0123456789") : 0;
    if (!reply->ok || digits != 12 || account[9 + digits] != '<') {
        char message[900];
        snprintf(message, sizeof message, "containerize=True without registry= pushes to the account's ECR registry, "
                 "but STS did not say which account the AWS credentials are (GetCallerIdentity: %.80s: %.300s): give "
                 "registry=ACCOUNT.dkr.ecr.REGION.amazonaws.com, or check the credentials",
                 reply->ok ? "NoAccount" : reply->error_code, reply->ok ? "no account in the answer" : reply->message);
        aws_sync_finish(sync, reply->ok ? "InvalidOption" : reply->error_code, message);
        return;
    }
    snprintf(platform->account, sizeof platform->account, "%.12s", account + 9);
    aws_image_push(sync);
}

/* No registry given: asks STS for the account once per settings (its answer kept in the platform). 0 when
 * the call is under way, -1 with SYNC ended. */
static int aws_find_account(struct aws_sync *sync)
{
    static const char body[] = "Action=GetCallerIdentity&Version=2011-06-15";
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8", NULL};
    struct aws_call call = {"POST", "/", NULL, headers, body, sizeof body - 1, AWS_CONTROL_TIMEOUT_MS};
    char err[600], message[900];
    if (aws_client_send(sync->platform->sts, &call, aws_on_caller_identity, sync, err, sizeof err) == 0)
        return 0;
    snprintf(message, sizeof message, "containerize=True without registry= pushes to the account's ECR registry, but "
             "STS cannot be asked which account that is: %s", err);
    aws_sync_finish(sync, "InvalidOption", message);
    return -1;
}

/* Builds the sync's image and pushes it (its deploy goes on when it is in), or ends SYNC with why not. */
static void aws_image_push(struct aws_sync *sync)
{
    struct aws_platform *platform = sync->platform;
    const char *registry = aws_spec(sync, "registry") ? aws_spec(sync, "registry") : platform->registry;
    char message[900], account[64], region[64], own[128];
    if (registry == NULL) {
        const char *client_region = aws_client_region(platform->sts);
        if (platform->account[0] == '\0' || client_region == NULL) {
            aws_find_account(sync);
            return;
        }
        snprintf(own, sizeof own, "%s.dkr.ecr.%.40s.amazonaws.com%s", platform->account, client_region,
                 strncmp(client_region, "cn-", 3) == 0 ? ".cn" : "");
        registry = own;
    }
    const char *host = strncmp(registry, "http://", 7) == 0 ? registry + 7
                       : strncmp(registry, "https://", 8) == 0 ? registry + 8 : registry;
    char bare_host[256];
    snprintf(bare_host, sizeof bare_host, "%.*s", (int)strcspn(host, "/"), host);
    if (!oci_credentials_is_ecr(bare_host, account, sizeof account, region, sizeof region)) {
        snprintf(message, sizeof message, "Lambda runs container images only from Amazon ECR: registry=%.200s is not "
                 "an ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com)", registry);
        aws_sync_finish(sync, "InvalidOption", message);
        return;
    }
    const char *def_name = aws_spec(sync, "def_name"), *code_hash = aws_spec(sync, "code_hash");
    char repository[96], target[700], base[200];
    aws_image_repository(def_name ? def_name : aws_spec(sync, "name"), repository, sizeof repository);
    snprintf(target, sizeof target, "%.400s%s%s:%.12s", registry, registry[strlen(registry) - 1] == '/' ? "" : "/",
             repository, code_hash ? code_hash : "latest");
    const char *runtime = aws_spec(sync, "runtime") ? aws_spec(sync, "runtime") : "python3.12";
    snprintf(base, sizeof base, "public.ecr.aws/lambda/python:%s",
             strncmp(runtime, "python", 6) == 0 ? runtime + 6 : runtime);
    static const char *const cmd[] = {PACKAGE_HANDLER, NULL};
    struct oci_push_request request = {
        .base = aws_spec(sync, "image_base") ? aws_spec(sync, "image_base") : base, .target = target,
        .arch = sync->arch, .source = aws_spec(sync, "source"), .function = def_name,
        .requirements = aws_spec(sync, "requirements"), .deps_dir = aws_spec(sync, "deps"),
        .title = aws_spec(sync, "name"), .code_hash = code_hash, .cmd = cmd, .ecr_client = platform->ecr};
    if (request.source == NULL || def_name == NULL) {
        aws_sync_finish(sync, "NoPackage", "containerize=True needs the cell's source to build the image from");
        return;
    }
    char err[700];
    sync->push = oci_push_start(platform->reactor, &request, aws_on_image_pushed, sync, err, sizeof err);
    if (sync->push == NULL) {
        snprintf(message, sizeof message, "building the image: %s", err);
        aws_sync_finish(sync, "ImageError", message);
    }
}

/* The sync operation (platform.h): each kind is the same steps, read the function, compare, send what differs. */
static int aws_sync(void *self, enum platform_sync kind, const struct platform_function *requested,
                    platform_done_fn done, void *ctx)
{
    struct aws_platform *platform = self;
    struct platform_function limited = *requested; /* set_memory and remove name only the function */
    if (kind == PLATFORM_SYNC_SET_MEMORY || kind == PLATFORM_SYNC_REMOVE)
        limited.timeout_s = 1;
    if (kind == PLATFORM_SYNC_REMOVE)
        limited.memory_mb = 128;
    const struct platform_function *function = &limited;
    char message[700];
    if (aws_check_limits(function, message, sizeof message) < 0) {
        aws_fail(done, ctx, "InvalidOption", message);
        return 0;
    }
    int building = function->containerize && kind != PLATFORM_SYNC_SET_MEMORY && kind != PLATFORM_SYNC_REMOVE;
    if (kind != PLATFORM_SYNC_SET_MEMORY && kind != PLATFORM_SYNC_REMOVE && function->image == NULL &&
        function->package == NULL && !building) {
        aws_fail(done, ctx, "NoPackage", "the aws platform needs the package to compare with the deployed code");
        return 0;
    }
    struct aws_sync *sync = calloc(1, sizeof *sync);
    if (sync == NULL) {
        aws_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        return 0;
    }
    *sync = (struct aws_sync){.platform = platform, .kind = kind, .step = AWS_STEP_GET, .done = done, .ctx = ctx,
                              .memory_mb = function->memory_mb, .timeout_s = function->timeout_s};
    snprintf(sync->arch, sizeof sync->arch, "%s", function->arch ? function->arch : "x86_64");
    snprintf(sync->runtime, sizeof sync->runtime, "%s", function->runtime ? function->runtime : "python3.12");
    sync->name = strdup(function->name);
    sync->path = aws_function_path(function->name, "");
    sync->env = function->env ? json_deep_copy(function->env) : json_object();
    sync->image = aws_strdup_or_null(function->image);
    sync->role = aws_strdup_or_null(function->role);
    sync->image_spec = building ? aws_image_spec(function) : NULL;
    int ok = sync->name != NULL && sync->path != NULL && sync->env != NULL && (function->image == NULL || sync->image) &&
             (function->role == NULL || *function->role == '\0' || sync->role) && (!building || sync->image_spec);
    if (ok && kind != PLATFORM_SYNC_SET_MEMORY && kind != PLATFORM_SYNC_REMOVE && sync->image == NULL && !building) {
        unsigned char digest[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(digest, function->package, function->package_size);
        sodium_bin2base64(sync->zip_sha256, sizeof sync->zip_sha256, digest, sizeof digest,
                          sodium_base64_VARIANT_ORIGINAL);
        size_t len = sodium_base64_ENCODED_LEN(function->package_size, sodium_base64_VARIANT_ORIGINAL);
        sync->zip_base64 = malloc(len);
        ok = sync->zip_base64 != NULL;
        if (ok)
            sodium_bin2base64(sync->zip_base64, len, function->package, function->package_size,
                              sodium_base64_VARIANT_ORIGINAL);
    }
    if (!ok) {
        aws_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        aws_sync_free(sync);
        return 0;
    }
    if (ok && kind != PLATFORM_SYNC_SET_MEMORY && kind != PLATFORM_SYNC_REMOVE && sync->image == NULL && !building &&
        function->layer_hash) {
        snprintf(sync->layer_name, sizeof sync->layer_name, AWS_LAYER_PREFIX "%.40s", function->layer_hash);
        const char *known = json_string_value(json_object_get(platform->layers, sync->layer_name));
        ok = asprintf(&sync->layer_zip, "%s/layer.zip", function->layer_dir) > 0 &&
             (known == NULL || (sync->layer_arn = strdup(known)) != NULL);
        if (!ok)
            sync->layer_zip = NULL;
        else if (known == NULL)
            sync->step = AWS_STEP_LAYER_LIST;
    }
    if (!ok) {
        aws_fail(done, ctx, "OutOfMemory", "cannot start the deploy");
        aws_sync_free(sync);
        return 0;
    }
    if (kind == PLATFORM_SYNC_REMOVE)
        sync->step = AWS_STEP_DELETE;
    list_push_front(&platform->syncs, &sync->node);
    if (building)
        aws_image_push(sync);
    else
        aws_sync_call(sync);
    return 0;
}

static int aws_check(void *self, char *err, size_t err_size)
{
    struct aws_platform *platform = self;
    return aws_client_ready(platform->client, err, err_size);
}

/* ---- invoke ---- */

struct aws_invoke {
    platform_done_fn done;
    void *ctx;
    unsigned flags;
};

/* The Tail log (base64 in X-Amz-Log-Result) decoded into a malloc'd string, or NULL. */
static char *aws_decode_log(const struct http_response *response)
{
    const char *encoded = http_response_header(response, "X-Amz-Log-Result");
    if (encoded == NULL)
        return NULL;
    size_t len = strlen(encoded), decoded_len = 0;
    char *decoded = malloc(len + 1);
    if (decoded == NULL || sodium_base642bin((unsigned char *)decoded, len, encoded, len, "\r\n ", &decoded_len, NULL,
                                             sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(decoded);
        return NULL;
    }
    decoded[decoded_len] = '\0';
    return decoded;
}

/* Lambda's stackTrace (strings, or [file, line, function, code] lists from
 * older runtimes) as an array of strings. */
static json_t *aws_stack_trace(const json_t *raw)
{
    json_t *lines = json_array();
    size_t i;
    json_t *item;
    json_array_foreach((json_t *)raw, i, item) {
        if (json_is_string(item)) {
            json_array_append(lines, item);
        } else if (json_is_array(item) && json_array_size(item) >= 4) {
            char line[1024];
            snprintf(line, sizeof line, "  File \"%s\", line %lld, in %s\n    %s\n",
                     json_string_value(json_array_get(item, 0)) ?: "?",
                     (long long)json_integer_value(json_array_get(item, 1)),
                     json_string_value(json_array_get(item, 2)) ?: "?",
                     json_string_value(json_array_get(item, 3)) ?: "");
            json_array_append_new(lines, json_string(line));
        }
    }
    return lines;
}

static void aws_on_invoked(void *ctx, const struct aws_reply *reply)
{
    struct aws_invoke *invoke = ctx;
    struct platform_outcome outcome = {0};
    char *log = reply->http ? aws_decode_log(reply->http) : NULL;
    json_t *result = NULL, *traceback = NULL;
    outcome.log = log;
    if (reply->http != NULL) {
        outcome.sent_ms = reply->http->sent_ms;
        outcome.received_ms = reply->http->received_ms;
        outcome.round_trip_ms = reply->http->total_ms;
    }
    if (!reply->ok) {
        outcome.error_type = reply->error_code;
        outcome.message = reply->message;
        outcome.throttled = reply->status == 429;
        outcome.retry_after_ms = reply->retry_after_ms;
    } else if (invoke->flags & PLATFORM_INVOKE_EVENT) {
        const char *request_id = http_response_header(reply->http, "x-amzn-RequestId");
        result = json_pack("{s:i, s:s}", "StatusCode", (int)reply->status, "RequestId", request_id ? request_id : "");
        outcome.ok = 1;
        outcome.result = result;
    } else {
        result = json_loadb(reply->http->body, reply->http->body_size, JSON_DECODE_ANY, NULL);
        if (result == NULL && reply->http->body_size > 0) /* not JSON: the text is the result */
            result = json_stringn(reply->http->body, reply->http->body_size);
        if (http_response_header(reply->http, "X-Amz-Function-Error") != NULL) {
            const char *type = json_string_value(json_object_get(result, "errorType"));
            const char *message = json_string_value(json_object_get(result, "errorMessage"));
            traceback = aws_stack_trace(json_object_get(result, "stackTrace"));
            outcome.error_type = type ? type : "Unhandled";
            outcome.message = message ? message : (json_is_string(result) ? json_string_value(result) : "");
            outcome.traceback = traceback;
        } else {
            outcome.ok = 1;
            outcome.result = result ? result : json_null();
        }
    }
    invoke->done(invoke->ctx, &outcome);
    json_decref(result);
    json_decref(traceback);
    free(log);
    free(invoke);
}

static int aws_invoke(void *self, const char *name, const json_t *payload, unsigned flags, platform_done_fn done,
                      void *ctx)
{
    struct aws_platform *platform = self;
    char message[700];
    if (!aws_valid_name(name)) {
        snprintf(message, sizeof message, "'%s' is not a Lambda function name or ARN", name);
        aws_fail(done, ctx, "InvalidOption", message);
        return 0;
    }
    char *body = json_dumps(payload ? payload : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
    char *path = aws_function_path(name, "/invocations");
    struct aws_invoke *invoke = malloc(sizeof *invoke);
    if (body == NULL || path == NULL || invoke == NULL) {
        free(body);
        free(path);
        free(invoke);
        aws_fail(done, ctx, "OutOfMemory", "cannot start the call");
        return 0;
    }
    size_t size = strlen(body);
    long limit = (flags & PLATFORM_INVOKE_EVENT) ? AWS_PAYLOAD_EVENT_MAX : AWS_PAYLOAD_SYNC_MAX;
    if ((long)size > limit) {
        snprintf(message, sizeof message, "the request is %zu bytes; Lambda takes at most %ld bytes %s", size, limit,
                 (flags & PLATFORM_INVOKE_EVENT) ? "for an Event call" : "for a synchronous call");
        free(body);
        free(path);
        free(invoke);
        aws_fail(done, ctx, "RequestTooLargeException", message);
        return 0;
    }
    *invoke = (struct aws_invoke){done, ctx, flags};
    const char *headers[3] = {(flags & PLATFORM_INVOKE_EVENT) ? "X-Amz-Invocation-Type: Event"
                                                              : "X-Amz-Invocation-Type: RequestResponse",
                              NULL, NULL};
    if ((flags & PLATFORM_INVOKE_LOG) && !(flags & PLATFORM_INVOKE_EVENT))
        headers[1] = "X-Amz-Log-Type: Tail";
    struct aws_call call = {"POST", path, NULL, headers, body, size, AWS_INVOKE_TIMEOUT_MS};
    int rc = aws_client_send(platform->client, &call, aws_on_invoked, invoke, message, sizeof message);
    free(body);
    free(path);
    if (rc < 0) {
        free(invoke);
        aws_fail(done, ctx, "NoCredentials", message);
    }
    return 0;
}

/* ---- settings ---- */

/* arn:PARTITION:iam::ACCOUNT(12 digits):role/NAME */
static int aws_valid_role(const char *role)
{
    if (strncmp(role, "arn:aws", 7) != 0)
        return 0;
    const char *iam = strstr(role, ":iam::");
    if (iam == NULL)
        return 0;
    const char *account = iam + 6;
    for (int i = 0; i < 12; i++)
        if (!isdigit((unsigned char)account[i]))
            return 0;
    return strncmp(account + 12, ":role/", 6) == 0 && account[18] != '\0';
}

static int aws_apply_settings(void *self, const json_t *settings, char *err, size_t err_size)
{
    struct aws_platform *platform = self;
    const char *profile = NULL, *region = NULL, *endpoint = NULL, *role = NULL, *registry = NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)settings, key, value) {
        const char *text = json_string_value(value);
        if (text == NULL) {
            snprintf(err, err_size, "%s must be a string", key);
            return -1;
        }
        if (strcmp(key, "profile") == 0)
            profile = text;
        else if (strcmp(key, "region") == 0)
            region = text;
        else if (strcmp(key, "endpoint") == 0)
            endpoint = text;
        else if (strcmp(key, "role") == 0)
            role = text;
        else if (strcmp(key, "registry") == 0)
            registry = text;
        else {
            snprintf(err, err_size, "unknown setting '%s' for aws; it knows profile, region, role, registry and "
                     "endpoint", key);
            return -1;
        }
    }
    if (role != NULL && !aws_valid_role(role)) {
        snprintf(err, err_size, "role must be an IAM role ARN like arn:aws:iam::123456789012:role/NAME");
        return -1;
    }
    if (aws_client_set(platform->client, profile, region, endpoint, err, err_size) < 0 ||
        aws_client_set(platform->ecr, profile, region, NULL, err, err_size) < 0 ||
        aws_client_set(platform->sts, profile, region, NULL, err, err_size) < 0)
        return -1;
    platform->account[0] = '\0'; /* other credentials may be another account's */
    char *copy = role ? strdup(role) : NULL;
    char *registry_copy = registry ? strdup(registry) : NULL;
    if ((role != NULL && copy == NULL) || (registry != NULL && registry_copy == NULL)) {
        free(copy);
        free(registry_copy);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    free(platform->role); /* each `%platform aws` line gives the whole setting */
    platform->role = copy;
    free(platform->registry);
    platform->registry = registry_copy;
    json_object_clear(platform->layers); /* another region or endpoint has its own layers */
    if (aws_client_ready(platform->client, err, err_size) < 0)
        return -1;
    aws_client_describe(platform->client, err, err_size); /* success: what the user will get */
    return 0;
}

void *aws_platform_new(struct reactor *reactor)
{
    struct aws_platform *platform = calloc(1, sizeof *platform);
    if (platform == NULL || (platform->client = aws_client_new(reactor, "lambda")) == NULL ||
        (platform->ecr = aws_client_new(reactor, "ecr")) == NULL ||
        (platform->sts = aws_client_new(reactor, "sts")) == NULL) {
        if (platform != NULL) {
            aws_client_free(platform->client);
            aws_client_free(platform->ecr);
        }
        free(platform);
        return NULL;
    }
    platform->reactor = reactor;
    platform->layers = json_object();
    list_init(&platform->syncs);
    return platform;
}

static void aws_free(void *self)
{
    struct aws_platform *platform = self;
    platform->closing = 1;
    aws_client_free(platform->client); /* the calls in flight end, and their syncs with them */
    aws_client_free(platform->sts);    /* as do those asking STS for the account */
    struct list_node *waiting;         /* those waiting to poll or retry, or for their image */
    while ((waiting = list_first(&platform->syncs)) != NULL)
        aws_sync_finish(list_entry(waiting, struct aws_sync, node), "KernelStopping", "the kernel is shutting down");
    aws_client_free(platform->ecr);
    free(platform->role);
    free(platform->registry);
    json_decref(platform->layers);
    free(platform);
}

/* `%platform aws registry=` goes into a containerized function's image name when the cell gives none. */
static void aws_image_settings(void *self, const struct platform_function *function, char *out, size_t size)
{
    struct aws_platform *platform = self;
    out[0] = '\0';
    if (function->containerize && function->registry == NULL && platform->registry != NULL)
        snprintf(out, size, "registry=%s", platform->registry);
}

/* A containerized function is deployed as its image: no zip. */
static int aws_uses_package(void *self, const struct platform_function *function)
{
    (void)self;
    return function->image == NULL && !function->containerize;
}

/* Every function is called at the region's one endpoint: FUNCTION does not matter. */
static size_t aws_prepare(void *self, const char *function, size_t count)
{
    struct aws_platform *platform = self;
    (void)function;
    return aws_client_prepare(platform->client, count);
}

static size_t aws_preparing(void *self, const char *function)
{
    struct aws_platform *platform = self;
    (void)function;
    return aws_client_preparing(platform->client);
}

const struct platform_ops aws_platform_ops = {
    .name = "aws",
    .check = aws_check,
    .sync = aws_sync,
    .verifies = 1,
    .invoke = aws_invoke,
    .prepare = aws_prepare,
    .preparing = aws_preparing,
    .image_settings = aws_image_settings,
    .uses_package = aws_uses_package,
    .apply_settings = aws_apply_settings,
    .free = aws_free,
};
