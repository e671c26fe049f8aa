/* local: the embedded FaaS platform. A real platform behind the same
 * interface as the clouds: deploy unpacks the package (the same zip a cloud
 * would get) into .faaset/local/NAME/packages/HASH and records the
 * deployment in .faaset/local/NAME/deployment.json, so another kernel or the
 * command line can call it; invocations run in worker processes started from
 * that folder (see runtime/PROTOCOL.md section 2).
 *
 * Workers are reused while warm (one invocation at a time each; SAAF sees
 * newcontainer 0), each has its own TMPDIR, an address-space limit of the
 * memory setting (the function gets a MemoryError, not the kernel), and a
 * deadline of the timeout setting, after which it is killed. At most
 * `concurrency` workers run per function; further calls wait in a queue.
 * A new deployment or configuration retires the old workers. Worker output
 * (the function's prints) goes to .faaset/local/NAME/worker.log. A worker's
 * environment is the function's `env` over a minimal one (PATH, HOME, ...):
 * the user's credentials never reach a function, as on a cloud. A
 * function with dependencies has their layer folder (runtime/deps.h,
 * installed for the runtime's interpreter) attached: workers find its
 * python/ on sys.path after the package, as Lambda puts /opt/python. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "embedded.h"
#include "frame.h"
#include "fsutil.h"
#include "list.h"
#include "log.h"
#include "platform.h"
#include "spawn.h"
#include "zip.h"

#define LOCAL_DEFAULT_CONCURRENCY 50
#define LOCAL_MAX_CONCURRENCY 2000

struct local_platform;
struct local_function;

struct local_call {
    json_t *payload;
    platform_done_fn done;
    void *ctx;
    struct list_node node;            /* in its function's queue */
};

struct local_worker {
    struct local_function *function;
    pid_t pid;
    int fd;
    unsigned generation;
    struct frame_decoder decoder;
    struct local_call *call;          /* the invocation it is running, or NULL when idle */
    unsigned long deadline_timer;
    struct list_node node;            /* in its function's workers, newest first */
};

struct local_function {
    struct local_platform *platform;
    char *name;
    char *package_dir;
    char *layer_dir;                  /* its dependencies' folder (python/ inside), or NULL */
    char *handler;
    char code_hash[65];
    int memory_mb;
    int timeout_s;
    json_t *env;
    unsigned generation;              /* bumped by each deploy / configure */
    struct list_node workers;
    int running;                      /* workers with a call */
    struct list_node queue;           /* calls waiting for a worker, oldest first */
    unsigned worker_serial;
    struct local_function *next;
};

struct local_platform {
    struct reactor *reactor;
    char *root;                       /* WORKDIR/.faaset/local */
    char *python;
    int concurrency;
    struct local_function *functions;
};

static void local_pump(struct local_function *function);

/* ---- reporting ------------------------------------------------------------ */

static void local_fail(platform_done_fn done, void *ctx, const char *type, const char *message, const json_t *traceback)
{
    struct platform_outcome outcome = {.ok = 0, .error_type = type, .message = message, .traceback = traceback};
    done(ctx, &outcome);
}

static void local_finish_call(struct local_call *call, const struct platform_outcome *outcome)
{
    call->done(call->ctx, outcome);
    json_decref(call->payload);
    free(call);
}

static void local_fail_call(struct local_call *call, const char *type, const char *message)
{
    struct platform_outcome outcome = {.ok = 0, .error_type = type, .message = message};
    local_finish_call(call, &outcome);
}

/* ---- workers --------------------------------------------------------------- */

static void local_remove_worker(struct local_worker *worker, char *how, size_t how_size)
{
    struct local_function *function = worker->function;
    struct reactor *reactor = function->platform->reactor;
    list_remove(&worker->node);
    reactor_unwatch(reactor, worker->fd);
    if (worker->deadline_timer)
        reactor_cancel(reactor, worker->deadline_timer);
    close(worker->fd);
    kill(-worker->pid, SIGKILL);
    int status = 0;
    if (waitpid(worker->pid, &status, 0) == worker->pid && how != NULL)
        spawn_describe_status(status, how, how_size);
    if (worker->call != NULL)
        function->running--;
    frame_decoder_free(&worker->decoder);
    free(worker);
}

static void local_on_deadline(void *ctx)
{
    struct local_worker *worker = ctx;
    struct local_function *function = worker->function;
    struct local_call *call = worker->call;
    worker->deadline_timer = 0;
    char message[160];
    snprintf(message, sizeof message, "Task timed out after %d seconds", function->timeout_s);
    local_remove_worker(worker, NULL, 0);
    local_fail_call(call, "FunctionTimeout", message);
    local_pump(function);
}

/* A worker answered: it becomes idle (or is retired), then the call ends.
 * The callback may call the platform again, so the worker is settled first. */
static void local_on_answer(struct local_worker *worker, const char *type, json_t *frame)
{
    struct local_function *function = worker->function;
    struct local_call *call = worker->call;
    worker->call = NULL;
    function->running--;
    reactor_cancel(function->platform->reactor, worker->deadline_timer);
    worker->deadline_timer = 0;
    if (strcmp(type, "init_error") == 0 || worker->generation != function->generation)
        local_remove_worker(worker, NULL, 0);
    struct platform_outcome outcome = {.ok = 1};
    if (strcmp(type, "result") == 0) {
        outcome.result = json_object_get(frame, "result");
        if (outcome.result == NULL)
            outcome.result = json_null();
    } else {
        const char *error_type = json_string_value(json_object_get(frame, "errorType"));
        const char *message = json_string_value(json_object_get(frame, "errorMessage"));
        outcome.ok = 0;
        outcome.error_type = error_type ? error_type : "Error";
        outcome.message = message ? message : "";
        outcome.traceback = json_object_get(frame, "stackTrace");
    }
    local_finish_call(call, &outcome);
}

static void local_on_worker_readable(void *ctx, int fd, int events)
{
    (void)fd;
    (void)events;
    struct local_worker *worker = ctx;
    struct local_function *function = worker->function;
    char buffer[65536];
    ssize_t n = recv(worker->fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0 || frame_decoder_feed(&worker->decoder, buffer, (size_t)n) < 0) {
        struct local_call *call = worker->call;
        char how[128] = "stopped", message[256];
        worker->call = NULL;
        if (call != NULL)
            function->running--;
        local_remove_worker(worker, how, sizeof how);
        if (call != NULL) {
            snprintf(message, sizeof message, "the worker process running %s %s; a new one will serve the next call",
                     function->name, how);
            local_fail_call(call, "WorkerCrashed", message);
        }
        local_pump(function);
        return;
    }
    json_t *frame;
    char err[128];
    while (frame_decoder_next(&worker->decoder, &frame, err, sizeof err) == 1) {
        const char *type = json_string_value(json_object_get(frame, "type"));
        if (type != NULL && worker->call != NULL &&
            (strcmp(type, "result") == 0 || strcmp(type, "error") == 0 || strcmp(type, "init_error") == 0)) {
            local_on_answer(worker, type, frame);
            json_decref(frame);
            local_pump(function);
            return; /* the worker may be gone */
        }
        json_decref(frame);
    }
}

static struct local_worker *local_start_worker(struct local_function *function, char *err, size_t err_size)
{
    struct local_platform *platform = function->platform;
    char tmpdir[4096], log_path[4096];
    if (fsutil_path(tmpdir, sizeof tmpdir, "%s/%s/tmp/worker-%u", platform->root, function->name,
                    ++function->worker_serial) < 0 ||
        fsutil_path(log_path, sizeof log_path, "%s/%s/worker.log", platform->root, function->name) < 0) {
        snprintf(err, err_size, "the function's folder under %.300s is too long a path", platform->root);
        return NULL;
    }
    fsutil_remove_tree(tmpdir);
    if (fsutil_mkdirs(tmpdir, 0700) < 0) {
        snprintf(err, err_size, "cannot create %.300s: %s", tmpdir, strerror(errno));
        return NULL;
    }
    size_t env_count = json_object_size(function->env);
    char **env = calloc(env_count + 11, sizeof *env);
    int sockets[2] = {-1, -1};
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct local_worker *worker = calloc(1, sizeof *worker);
    pid_t pid = -1;
    if (env == NULL || worker == NULL || log_fd < 0 || devnull < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) < 0) {
        snprintf(err, err_size, "cannot start a worker for %s: %s", function->name, strerror(errno));
    } else {
        size_t n = 0;
        const char *key;
        json_t *value;
        json_object_foreach(function->env, key, value) {
            if (asprintf(&env[n], "%s=%s", key, json_string_value(value)) > 0)
                n++;
        }
        if (asprintf(&env[n], "FAASET_FUNCTION_NAME=%s", function->name) > 0) n++;
        if (asprintf(&env[n], "FAASET_FUNCTION_MEMORY=%d", function->memory_mb) > 0) n++;
        if (asprintf(&env[n], "FAASET_FUNCTION_TIMEOUT=%d", function->timeout_s) > 0) n++;
        if (asprintf(&env[n], "FAASET_FUNCTION_HANDLER=%s", function->handler) > 0) n++;
        if (asprintf(&env[n], "TMPDIR=%s", tmpdir) > 0) n++;
        env[n++] = strdup("FAASET_PLATFORM=local");
        if (function->layer_dir != NULL && asprintf(&env[n], "FAASET_LAYER_PATH=%s/python", function->layer_dir) > 0)
            n++;
        env[n++] = strdup("PYTHONDONTWRITEBYTECODE=1"); /* the deployed folder stays the package, byte for byte */
        env[n++] = strdup("FAASET_WORKER_FD=3");
        /* the frame reader/writer worker.py shares with the runtime: not in the package, which is a cloud's */
        const struct embedded_file *frames = embedded_find("runtime/python/faaset_frames.py");
        if (asprintf(&env[n], "FAASET_FRAMES_SOURCE=%s", (const char *)frames->data) > 0) n++;
        const struct embedded_file *source = embedded_find("runtime/python/worker.py");
        struct spawn_options options = {
            .python = platform->python, .source = (const char *)source->data, .env = (const char *const *)env,
            .cwd = function->package_dir, .child_fd = sockets[1], .stdin_fd = devnull, .stdout_fd = log_fd,
            .stderr_fd = log_fd, .address_space_limit = (unsigned long long)function->memory_mb << 20,
            .minimal_env = 1};
        pid = spawn_python(&options, err, err_size);
    }
    for (size_t i = 0; env != NULL && env[i] != NULL; i++)
        free(env[i]);
    free(env);
    if (log_fd >= 0)
        close(log_fd);
    if (devnull >= 0)
        close(devnull);
    if (sockets[1] >= 0)
        close(sockets[1]);
    if (pid < 0) {
        if (sockets[0] >= 0)
            close(sockets[0]);
        free(worker);
        return NULL;
    }
    worker->function = function;
    worker->pid = pid;
    worker->fd = sockets[0];
    worker->generation = function->generation;
    frame_decoder_init(&worker->decoder);
    list_push_front(&function->workers, &worker->node);
    reactor_watch(platform->reactor, worker->fd, REACTOR_READ, local_on_worker_readable, worker);
    return worker;
}

static int local_send_call(struct local_worker *worker, struct local_call *call)
{
    static long long next_id;
    json_t *frame = json_pack("{s:s, s:I, s:O}", "type", "invoke", "id", (json_int_t)++next_id, "payload", call->payload);
    int rc = frame != NULL ? frame_send(worker->fd, frame) : -1;
    json_decref(frame);
    return rc;
}

/* Starts queued calls while workers are free or can be started. */
static void local_pump(struct local_function *function)
{
    while (!list_is_empty(&function->queue) && function->running < function->platform->concurrency) {
        struct local_call *call = list_entry(list_first(&function->queue), struct local_call, node);
        list_remove(&call->node);
        struct local_worker *worker = NULL;
        struct list_node *node, *next;
        list_for_each_safe(node, next, &function->workers) {
            struct local_worker *candidate = list_entry(node, struct local_worker, node);
            if (candidate->call == NULL && candidate->generation == function->generation) {
                worker = candidate;
                break;
            }
        }
        char err[512];
        if (worker == NULL && (worker = local_start_worker(function, err, sizeof err)) == NULL) {
            local_fail_call(call, "WorkerStartFailed", err);
            continue;
        }
        worker->call = call;
        function->running++;
        worker->deadline_timer = reactor_timer(function->platform->reactor, (long long)function->timeout_s * 1000,
                                               local_on_deadline, worker);
        if (local_send_call(worker, call) < 0) {
            worker->call = NULL;
            function->running--;
            local_remove_worker(worker, NULL, 0);
            local_fail_call(call, "WorkerCrashed", "the worker went away before it took the call");
        }
    }
}

/* ---- functions and deployments -------------------------------------------- */

static void local_retire_idle_workers(struct local_function *function)
{
    struct list_node *node, *next;
    list_for_each_safe(node, next, &function->workers) {
        struct local_worker *worker = list_entry(node, struct local_worker, node);
        if (worker->call == NULL && worker->generation != function->generation)
            local_remove_worker(worker, NULL, 0);
    }
}

static struct local_function *local_find(struct local_platform *platform, const char *name)
{
    for (struct local_function *f = platform->functions; f != NULL; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static struct local_function *local_add(struct local_platform *platform, const char *name)
{
    struct local_function *function = calloc(1, sizeof *function);
    if (function == NULL || (function->name = strdup(name)) == NULL) {
        free(function);
        return NULL;
    }
    function->platform = platform;
    list_init(&function->workers);
    list_init(&function->queue);
    function->env = json_object();
    function->next = platform->functions;
    platform->functions = function;
    return function;
}

/* Replaces *SLOT with a copy of VALUE (NULL empties it). */
static int local_set_string(char **slot, const char *value)
{
    char *copy = value != NULL ? strdup(value) : NULL;
    if (value != NULL && copy == NULL)
        return -1;
    free(*slot);
    *slot = copy;
    return 0;
}

/* Loads NAME's deployment.json (written by another kernel or the CLI). */
static struct local_function *local_load(struct local_platform *platform, const char *name)
{
    char path[4096];
    if (fsutil_path(path, sizeof path, "%s/%s/deployment.json", platform->root, name) < 0)
        return NULL;
    json_t *record = json_load_file(path, 0, NULL);
    const char *package = json_string_value(json_object_get(record, "package_dir"));
    const char *handler = json_string_value(json_object_get(record, "handler"));
    json_t *env = json_object_get(record, "env");
    struct local_function *function = NULL;
    if (package != NULL && handler != NULL && json_is_object(env) && (function = local_add(platform, name)) != NULL) {
        local_set_string(&function->package_dir, package);
        local_set_string(&function->layer_dir, json_string_value(json_object_get(record, "layer_dir")));
        local_set_string(&function->handler, handler);
        function->memory_mb = (int)json_integer_value(json_object_get(record, "memory_mb"));
        function->timeout_s = (int)json_integer_value(json_object_get(record, "timeout_s"));
        snprintf(function->code_hash, sizeof function->code_hash, "%s",
                 json_string_value(json_object_get(record, "code_hash")) ?: "");
        json_object_update(function->env, env);
    }
    json_decref(record);
    return function;
}

/* NAME as known in this process, else as deployed by another (its deployment.json). */
static struct local_function *local_lookup(struct local_platform *platform, const char *name)
{
    struct local_function *function = local_find(platform, name);
    return function != NULL ? function : local_load(platform, name);
}

static int local_save(struct local_function *function)
{
    const char *code_hash = function->code_hash;
    char path[4096];
    if (fsutil_path(path, sizeof path, "%s/%s/deployment.json", function->platform->root, function->name) < 0)
        return -1;
    json_t *record = json_pack("{s:s, s:s, s:s, s:i, s:i, s:O}", "package_dir", function->package_dir, "handler",
                               function->handler, "code_hash", code_hash ? code_hash : "", "memory_mb",
                               function->memory_mb, "timeout_s", function->timeout_s, "env", function->env);
    if (record != NULL && function->layer_dir != NULL)
        json_object_set_new(record, "layer_dir", json_string(function->layer_dir));
    char *text = record ? json_dumps(record, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    int rc = text ? fsutil_write_atomic(path, text, strlen(text), 0600) : -1;
    free(text);
    json_decref(record);
    return rc;
}

static void local_apply_config(struct local_function *function, const struct platform_function *config)
{
    function->memory_mb = config->memory_mb;
    function->timeout_s = config->timeout_s;
    json_object_clear(function->env);
    if (config->env != NULL)
        json_object_update(function->env, (json_t *)config->env);
    local_set_string(&function->handler, config->handler);
    function->generation++;
    local_retire_idle_workers(function);
}

/* Records FUNCTION's deployment (deployment.json) and reports how that went. */
static int local_record(struct local_function *function, platform_done_fn done, void *ctx)
{
    if (local_save(function) < 0) {
        local_fail(done, ctx, "DeployFailed", "cannot record the deployment", NULL);
        return 0;
    }
    struct platform_outcome outcome = {.ok = 1};
    done(ctx, &outcome);
    return 0;
}

static int local_deploy(void *self, const struct platform_function *config, platform_done_fn done, void *ctx)
{
    struct local_platform *platform = self;
    struct local_function *function = local_lookup(platform, config->name);
    if (function == NULL)
        function = local_add(platform, config->name);
    char dir[4096], staging[4096], err[512];
    if (fsutil_path(dir, sizeof dir, "%s/%s/packages/%s", platform->root, config->name, config->code_hash) < 0 ||
        fsutil_path(staging, sizeof staging, "%s.staging.%ld", dir, (long)getpid()) < 0) {
        local_fail(done, ctx, "DeployFailed", "the function's folder is too long a path: use a shorter folder", NULL);
        return 0;
    }
    fsutil_remove_tree(staging);
    if (function == NULL || fsutil_mkdirs(staging, 0700) < 0) {
        local_fail(done, ctx, "DeployFailed", "cannot create the function's folder", NULL);
        return 0;
    }
    if (zip_extract(config->package, config->package_size, staging, err, sizeof err) < 0) {
        fsutil_remove_tree(staging);
        local_fail(done, ctx, "DeployFailed", err, NULL);
        return 0;
    }
    fsutil_remove_tree(dir);
    if (rename(staging, dir) < 0 || local_set_string(&function->package_dir, dir) < 0) {
        snprintf(err, sizeof err, "cannot install the package in %.300s: %s", dir, strerror(errno));
        fsutil_remove_tree(staging);
        local_fail(done, ctx, "DeployFailed", err, NULL);
        return 0;
    }
    local_set_string(&function->layer_dir, config->layer_dir); /* before the workers are retired */
    local_apply_config(function, config);
    snprintf(function->code_hash, sizeof function->code_hash, "%s", config->code_hash);
    return local_record(function, done, ctx);
}

/* The deployed function NAME to reconfigure, or NULL after reporting that there is none. */
static struct local_function *local_deployed(struct local_platform *platform, const char *name, platform_done_fn done,
                                             void *ctx)
{
    struct local_function *function = local_lookup(platform, name);
    if (function == NULL)
        local_fail(done, ctx, "NotDeployed", "the function has no deployment to reconfigure", NULL);
    return function;
}

static int local_configure(void *self, const struct platform_function *config, platform_done_fn done, void *ctx)
{
    struct local_function *function = local_deployed(self, config->name, done, ctx);
    if (function == NULL)
        return 0;
    local_apply_config(function, config);
    return local_record(function, done, ctx);
}

static int local_set_memory(void *self, const char *name, int memory_mb, platform_done_fn done, void *ctx)
{
    struct local_function *function = local_deployed(self, name, done, ctx);
    if (function == NULL)
        return 0;
    function->memory_mb = memory_mb;
    function->generation++;
    local_retire_idle_workers(function);
    return local_record(function, done, ctx);
}

static int local_invoke(void *self, const char *name, const json_t *payload, unsigned flags, platform_done_fn done,
                        void *ctx)
{
    struct local_platform *platform = self;
    struct local_function *function = local_lookup(platform, name);
    if (flags & PLATFORM_INVOKE_EVENT) {
        local_fail(done, ctx, "InvalidInvocationType",
                   "the local platform answers every call: Event invocations are for cloud platforms (aws, gcf, ibm)",
                   NULL);
        return 0;
    }
    if (function == NULL) {
        char message[300];
        snprintf(message, sizeof message, "%s is not deployed on the local platform; run its %%%%cloud_function cell "
                 "or 'faaset deploy'", name);
        local_fail(done, ctx, "NotDeployed", message, NULL);
        return 0;
    }
    struct local_call *call = calloc(1, sizeof *call);
    if (call == NULL) {
        local_fail(done, ctx, "OutOfMemory", "cannot queue the call", NULL);
        return 0;
    }
    call->payload = json_deep_copy(payload ? payload : json_null());
    call->done = done;
    call->ctx = ctx;
    list_push_back(&function->queue, &call->node);
    local_pump(function);
    return 0;
}

static int local_apply_settings(void *self, const json_t *settings, char *err, size_t err_size)
{
    struct local_platform *platform = self;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)settings, key, value) {
        const char *text = json_string_value(value);
        if (strcmp(key, "concurrency") == 0) {
            char *end = NULL;
            long n = text ? strtol(text, &end, 10) : 0;
            if (text == NULL || *end != '\0' || n < 1 || n > LOCAL_MAX_CONCURRENCY) {
                snprintf(err, err_size, "concurrency must be a whole number from 1 to %d", LOCAL_MAX_CONCURRENCY);
                return -1;
            }
            platform->concurrency = (int)n;
        } else if (strcmp(key, "python") == 0 && text != NULL) {
            local_set_string(&platform->python, text);
        } else {
            snprintf(err, err_size, "unknown setting '%s' for the local platform; it knows concurrency and python", key);
            return -1;
        }
    }
    for (struct local_function *f = platform->functions; f != NULL; f = f->next)
        local_pump(f);
    return 0;
}

void *local_platform_new(struct reactor *reactor, const char *workdir, const char *python)
{
    struct local_platform *platform = calloc(1, sizeof *platform);
    if (platform == NULL || asprintf(&platform->root, "%s/.faaset/local", workdir) < 0 ||
        (platform->python = strdup(python)) == NULL) {
        if (platform != NULL)
            free(platform->root);
        free(platform);
        return NULL;
    }
    platform->reactor = reactor;
    platform->concurrency = LOCAL_DEFAULT_CONCURRENCY;
    return platform;
}

/* Stops FUNCTION's workers, fails its running and queued calls with TYPE
 * and MESSAGE, and frees it (it must be out of the platform's list). */
static void local_function_free(struct local_function *function, const char *type, const char *message)
{
    struct list_node *node;
    while ((node = list_first(&function->workers)) != NULL) {
        struct local_worker *worker = list_entry(node, struct local_worker, node);
        struct local_call *call = worker->call;
        worker->call = NULL;
        local_remove_worker(worker, NULL, 0);
        if (call != NULL)
            local_fail_call(call, type, message);
    }
    while ((node = list_first(&function->queue)) != NULL) {
        list_remove(node);
        local_fail_call(list_entry(node, struct local_call, node), type, message);
    }
    free(function->name);
    free(function->package_dir);
    free(function->layer_dir);
    free(function->handler);
    json_decref(function->env);
    free(function);
}

/* Deletes NAME: its workers and calls, and its folder (packages, deployment.json, worker.log). */
static int local_remove(void *self, const char *name, platform_done_fn done, void *ctx)
{
    struct local_platform *platform = self;
    char folder[4096], message[4400];
    struct local_function *function = local_lookup(platform, name);
    if (fsutil_path(folder, sizeof folder, "%s/%s", platform->root, name) < 0 || function == NULL) {
        snprintf(message, sizeof message, "%s is not deployed on the local platform", name);
        local_fail(done, ctx, "NotDeployed", message, NULL);
        return 0;
    }
    for (struct local_function **link = &platform->functions; *link != NULL; link = &(*link)->next) {
        if (*link == function) {
            *link = function->next;
            break;
        }
    }
    snprintf(message, sizeof message, "%s was deleted", name);
    local_function_free(function, "FunctionDeleted", message);
    if (fsutil_remove_tree(folder) < 0) {
        snprintf(message, sizeof message, "cannot remove %s: %s", folder, strerror(errno));
        local_fail(done, ctx, "DeleteFailed", message, NULL);
        return 0;
    }
    struct platform_outcome outcome = {.ok = 1, .action = "deleted"};
    done(ctx, &outcome);
    return 0;
}

/* The one sync operation (platform.h): the local platform's own state cannot drift, so it does not verify. */
static int local_sync(void *self, enum platform_sync kind, const struct platform_function *function,
                      platform_done_fn done, void *ctx)
{
    switch (kind) {
    case PLATFORM_SYNC_DEPLOY:
        return local_deploy(self, function, done, ctx);
    case PLATFORM_SYNC_CONFIGURE:
        return local_configure(self, function, done, ctx);
    case PLATFORM_SYNC_SET_MEMORY:
        return local_set_memory(self, function->name, function->memory_mb, done, ctx);
    case PLATFORM_SYNC_REMOVE:
        return local_remove(self, function->name, done, ctx);
    case PLATFORM_SYNC_VERIFY:
        break;
    }
    local_fail(done, ctx, "ValueError", "the local platform has nothing to verify", NULL);
    return 0;
}

static void local_free(void *self)
{
    struct local_platform *platform = self;
    while (platform->functions != NULL) {
        struct local_function *function = platform->functions;
        platform->functions = function->next;
        local_function_free(function, "KernelStopping", "the kernel is shutting down");
    }
    free(platform->root);
    free(platform->python);
    free(platform);
}

const struct platform_ops local_platform_ops = {
    .name = "local",
    .sync = local_sync,
    .invoke = local_invoke,
    .apply_settings = local_apply_settings,
    .free = local_free,
};
