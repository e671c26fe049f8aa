/* cloud: define and invoke (see cloud.h).
 *
 * A define runs one operation per platform, possibly at once; a `struct
 * cloud_define_job` counts them down and answers when the last one ends,
 * with one line per platform in the order the user named them. */
#include "cloud.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "buffer.h"
#include "cloud_options.h"
#include "deploy_state.h"
#include "deps.h"
#include "fsutil.h"
#include "list.h"
#include "log.h"
#include "package.h"
#include "platform.h"
#include "retry.h"

struct cloud_function {
    char name[65];
    char remote[180];                /* the platform's name for it, "" = name */
    char run[8];
    json_t *platforms;               /* ["local", ...] */
    struct cloud_function *next;
};

struct cloud {
    struct platforms *platforms;
    struct deps *deps;               /* dependency layers and their installs */
    char *workdir;
    char default_platform[16];
    struct cloud_function *functions;
    struct reactor *reactor;
    json_t *verified;                /* {"PLATFORM/NAME": true}: checked against the platform in this kernel */
    struct list_node backing_off;    /* throttled calls waiting to be sent again */
    struct list_node claiming;       /* defines waiting for another process's deploy of their function */
};

struct cloud_define_job {
    struct cloud *cloud;
    cloud_reply_fn reply;
    void *ctx;
    char *source, *def_name;         /* the cell's, kept while the job waits for its claims */
    char *requirements_path;         /* requirements_file= as pip is given it, or NULL */
    unsigned char *package;          /* built the first time a platform needs new code */
    size_t package_size;
    struct deps_layer *layers;       /* [CLOUD_MAX_PLATFORMS]: each platform's dependency layer */
    int has_layer[CLOUD_MAX_PLATFORMS];
    int interrupted;                 /* an install was interrupted: the define ends as KeyboardInterrupt */
    char layer_notes[CLOUD_MAX_PLATFORMS][700]; /* "; dependencies: installed ... for ..." */
    int claims[CLOUD_MAX_PLATFORMS]; /* deploy_state_claim's fds, -1 when not held */
    unsigned long claim_timer;       /* waiting for another process's deploy, in cloud->claiming */
    double claim_since_ms;
    long holder;                     /* that process */
    struct list_node node;
    char name[65];
    struct cloud_options options;
    struct deploy_record records[CLOUD_MAX_PLATFORMS];
    char lines[CLOUD_MAX_PLATFORMS][1024];
    int failed[CLOUD_MAX_PLATFORMS];
    double started_ms;               /* when the define arrived: lines report the time since */
    const char *verb[CLOUD_MAX_PLATFORMS];
    int pending;
};

struct cloud_platform_op {
    struct cloud_define_job *job;
    int index;
    int verifying, code_changed;     /* what the platform is asked for, once its layer is ready */
    int layer_only;                  /* nothing to ask the platform: only its lost layer to install again */
    int layer_lost;                  /* the layer was missing from .faaset/deps: the line says it was reinstalled */
};

/* An upcall's answer, waiting for a typed outcome. */
struct cloud_reply {
    cloud_reply_fn reply;
    void *ctx;
};

/* A call, kept until its answer: a throttled one is sent again after a
 * backoff (retry.h) unless the caller retries itself. */
struct cloud_call_job {
    struct cloud *cloud;
    cloud_done_fn done;
    void *ctx;
    double started_ms;
    char platform[CLOUD_PLATFORM_NAME_SIZE];
    char remote[180];
    json_t *payload;
    unsigned flags;
    int retry;
    int retries;
    unsigned long retry_timer;       /* while backing off, in cloud->backing_off */
    struct list_node node;
};

/* How long a define waits for another process's deploy of its function. */
#define CLOUD_CLAIM_WAIT_MS 120000.0

static void cloud_define_claim(struct cloud_define_job *job);

/* Throttled notebook calls: 8 retries, waits drawn up to 0.1, 0.2, ... 10 s. */
static const struct retry_policy cloud_call_retry = {.base_ms = 100, .cap_ms = 10000, .max_retries = 8};

struct cloud *cloud_new(struct reactor *reactor, const char *workdir, const char *python)
{
    struct cloud *cloud = calloc(1, sizeof *cloud);
    if (cloud == NULL)
        return NULL;
    cloud->workdir = strdup(workdir);
    cloud->platforms = platforms_new(reactor, workdir, python);
    cloud->deps = deps_new(reactor, workdir, python);
    cloud->reactor = reactor;
    list_init(&cloud->backing_off);
    list_init(&cloud->claiming);
    cloud->verified = json_object();
    strcpy(cloud->default_platform, "local");
    if (cloud->workdir == NULL || cloud->platforms == NULL || cloud->deps == NULL || cloud->verified == NULL) {
        cloud_free(cloud);
        return NULL;
    }
    return cloud;
}

static json_t *cloud_error(const char *ename, const char *evalue);
static void cloud_call_job_free(struct cloud_call_job *job);
static void cloud_define_job_free(struct cloud_define_job *job);
static void cloud_fail(cloud_done_fn done, void *ctx, const char *error_type, const char *message);

void cloud_free(struct cloud *cloud)
{
    if (cloud == NULL)
        return;
    struct list_node *waiting;
    while ((waiting = list_first(&cloud->backing_off)) != NULL) {
        struct cloud_call_job *job = list_entry(waiting, struct cloud_call_job, node);
        list_remove(waiting);
        reactor_cancel(cloud->reactor, job->retry_timer);
        cloud_fail(job->done, job->ctx, "KernelStopping", "the kernel is shutting down");
        cloud_call_job_free(job);
    }
    while ((waiting = list_first(&cloud->claiming)) != NULL) {
        struct cloud_define_job *job = list_entry(waiting, struct cloud_define_job, node);
        list_remove(waiting);
        reactor_cancel(cloud->reactor, job->claim_timer);
        job->reply(job->ctx, cloud_error("KernelStopping", "the kernel is shutting down"));
        cloud_define_job_free(job);
    }
    if (cloud->deps != NULL)
        deps_interrupt(cloud->deps); /* defines waiting for pip end now */
    deps_free(cloud->deps);
    platforms_free(cloud->platforms);
    while (cloud->functions != NULL) {
        struct cloud_function *next = cloud->functions->next;
        json_decref(cloud->functions->platforms);
        free(cloud->functions);
        cloud->functions = next;
    }
    json_decref(cloud->verified);
    free(cloud->workdir);
    free(cloud);
}

size_t cloud_events_in_flight(struct cloud *cloud, char *where, size_t where_size)
{
    return platforms_events_in_flight(cloud->platforms, where, where_size);
}

void cloud_unsent_sentence(size_t unsent, const char *where, const char *who, int waited, char *out, size_t size)
{
    char wait[48] = "";
    if (waited)
        snprintf(wait, sizeof wait, " (it waited %d s for them)", CLOUD_EVENT_WAIT_MS / 1000);
    snprintf(out, size,
             "%zu Event call%s on %.100s (fn.invoke(..., event=True)) had not been sent when %s stopped%s; they may "
             "not have reached their function: call them again\n",
             unsent, unsent == 1 ? "" : "s", where, who, wait);
}

void cloud_leave_notice(struct cloud *cloud, const char *message)
{
    char folder[4096], path[4200];
    if (fsutil_path(folder, sizeof folder, "%s/.faaset", cloud->workdir) < 0 ||
        fsutil_path(path, sizeof path, "%s/notice", folder) < 0 || fsutil_mkdirs(folder, 0700) < 0 ||
        fsutil_write_atomic(path, message, strlen(message), 0600) < 0)
        log_warn("cannot keep the notice for the next kernel in %.300s/.faaset: %s", cloud->workdir, strerror(errno));
}

char *cloud_take_notice(struct cloud *cloud)
{
    char path[4200];
    size_t size = 0;
    if (fsutil_path(path, sizeof path, "%s/.faaset/notice", cloud->workdir) < 0)
        return NULL;
    char *notice = fsutil_read(path, &size);
    if (notice != NULL)
        unlink(path);
    return notice;
}

int cloud_interrupt(struct cloud *cloud)
{
    return cloud != NULL && cloud->deps != NULL ? deps_interrupt(cloud->deps) : 0;
}

const char *cloud_default_platform(const struct cloud *cloud)
{
    return cloud->default_platform;
}

/* "0.31 ms", "12 ms": time since STARTED, precise where it is small. */
static void cloud_format_elapsed(double started, char *out, size_t size)
{
    double elapsed = clock_mono_ms_precise() - started;
    snprintf(out, size, elapsed < 10 ? "%.2f ms" : "%.0f ms", elapsed);
}

static json_t *cloud_error(const char *ename, const char *evalue)
{
    return json_pack("{s:s, s:s, s:s}", "status", "error", "ename", ename, "evalue", evalue);
}

static struct cloud_function *cloud_find(struct cloud *cloud, const char *name)
{
    for (struct cloud_function *f = cloud->functions; f != NULL; f = f->next)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

static void cloud_remember(struct cloud *cloud, const char *name, const struct cloud_options *options)
{
    struct cloud_function *function = cloud_find(cloud, name);
    if (function == NULL) {
        function = calloc(1, sizeof *function);
        if (function == NULL)
            return;
        snprintf(function->name, sizeof function->name, "%s", name);
        function->next = cloud->functions;
        cloud->functions = function;
    }
    snprintf(function->remote, sizeof function->remote, "%s", options->remote);
    snprintf(function->run, sizeof function->run, "%s", options->run);
    json_decref(function->platforms);
    function->platforms = json_array();
    for (int i = 0; i < options->platform_count; i++)
        json_array_append_new(function->platforms, json_string(options->platforms[i]));
}

/* The two hashes of a function: what changes the package, and the rest. */
static void cloud_hashes(const char *source, const char *def_name, const char *name, const struct cloud_options *o,
                         char code_hash[65], char config_hash[65])
{
    const char *code_parts[] = {"faaset-code-1", source, def_name, name, o->runtime, o->arch,
                                o->requirements ? o->requirements : "", package_bundle_hash(), o->remote,
                                o->image ? o->image : ""};
    package_hash_parts(code_parts, sizeof code_parts / sizeof code_parts[0], code_hash);
    if (o->containerize) { /* containerize joined the hash later: a function without it keeps its hash */
        char package_hash[65];
        memcpy(package_hash, code_hash, sizeof package_hash);
        const char *image_parts[] = {package_hash, "containerize", o->image_base ? o->image_base : "",
                                     o->registry ? o->registry : ""};
        package_hash_parts(image_parts, sizeof image_parts / sizeof image_parts[0], code_hash);
    }
    char memory[16], timeout[16];
    snprintf(memory, sizeof memory, "%d", o->memory_mb);
    snprintf(timeout, sizeof timeout, "%d", o->timeout_s);
    char *env = json_dumps(o->env, JSON_COMPACT | JSON_SORT_KEYS);
    char instances[16], access[16];
    snprintf(instances, sizeof instances, "%d", o->max_instances);
    snprintf(access, sizeof access, "%d", o->allow_unauthenticated);
    char role[2100]; /* cloud_options takes roles under 2048 characters */
    snprintf(role, sizeof role, "role=%s", o->role ? o->role : "");
    /* max_instances, allow_unauthenticated and role joined the hash later: a function without them keeps its hash */
    const char *config_parts[7] = {"faaset-config-1", memory, timeout, env ? env : "{}"};
    size_t config_count = 4;
    if (o->max_instances != 0 || o->allow_unauthenticated != 0)
        config_parts[config_count++] = instances;
    if (o->allow_unauthenticated != 0)
        config_parts[config_count++] = access;
    if (o->role != NULL)
        config_parts[config_count++] = role;
    package_hash_parts(config_parts, config_count, config_hash);
    free(env);
}

static void cloud_finish_define(struct cloud_define_job *job)
{
    json_t *lines = json_array();
    struct buffer errors = {0};
    for (int i = 0; i < job->options.platform_count; i++) {
        json_array_append_new(lines, json_string(job->lines[i]));
        if (job->failed[i])
            buffer_printf(&errors, "%s%s", errors.size ? "\n" : "", job->lines[i]);
    }
    json_t *result;
    if (errors.size > 0 || errors.failed) {
        result = cloud_error(job->interrupted ? "KeyboardInterrupt" : "DeployFailed",
                             errors.failed ? "the deploy failed (out of memory)" : errors.data);
        json_decref(lines);
    } else {
        cloud_remember(job->cloud, job->name, &job->options);
        json_t *platforms = json_array();
        for (int i = 0; i < job->options.platform_count; i++)
            json_array_append_new(platforms, json_string(job->options.platforms[i]));
        result = json_pack("{s:s, s:s, s:s, s:o, s:o}", "status", "ok", "name", job->name, "run", job->options.run,
                           "platforms", platforms, "lines", lines);
    }
    buffer_free(&errors);
    job->reply(job->ctx, result);
    cloud_define_job_free(job);
}

/* Frees JOB, ending its claims. */
static void cloud_define_job_free(struct cloud_define_job *job)
{
    for (int i = 0; i < CLOUD_MAX_PLATFORMS; i++)
        deploy_state_unclaim(job->claims[i]);
    cloud_options_free(&job->options);
    free(job->source);
    free(job->def_name);
    free(job->requirements_path);
    free(job->package);
    free(job->layers);
    free(job);
}

static void cloud_verified_key(const char *platform, const char *name, char *key, size_t size)
{
    snprintf(key, size, "%s/%s", platform, name);
}

/* This kernel has made NAME on PLATFORM match its cell: an unchanged cell
 * needs no check again. */
static void cloud_mark_verified(struct cloud *cloud, const char *platform, const char *name)
{
    char key[96];
    cloud_verified_key(platform, name, key, sizeof key);
    json_object_set_new(cloud->verified, key, json_true());
}

static int cloud_is_verified(struct cloud *cloud, const char *platform, const char *name)
{
    char key[96];
    cloud_verified_key(platform, name, key, sizeof key);
    return json_object_get(cloud->verified, key) != NULL;
}

static void cloud_on_platform_done(void *ctx, const struct platform_outcome *outcome)
{
    struct cloud_platform_op *op = ctx;
    struct cloud_define_job *job = op->job;
    int i = op->index;
    char platform[16], name[65], line[sizeof job->lines[0]];
    snprintf(platform, sizeof platform, "%s", job->options.platforms[i]);
    snprintf(name, sizeof name, "%s", job->name);
    char elapsed[32];
    cloud_format_elapsed(job->started_ms, elapsed, sizeof elapsed);
    if (outcome->ok) {
        char err[300];
        const char *verb = outcome->action ? outcome->action : job->verb[i];
        clock_iso8601_now(job->records[i].deployed_at);
        if (deploy_state_write(job->cloud->workdir, platform, name, &job->records[i], err, sizeof err) < 0) {
            snprintf(line, sizeof line, "%s: %s %s, but %s", platform, verb, name, err);
            job->failed[i] = 1;
        } else {
            snprintf(line, sizeof line, "%s: %.60s %s (%.8s) in %s%s%.300s%.300s", platform, verb, name,
                     job->records[i].code_hash, elapsed, outcome->note ? "; " : "", outcome->note ? outcome->note : "",
                     job->layer_notes[i]);
            cloud_mark_verified(job->cloud, platform, name);
        }
    } else {
        snprintf(line, sizeof line, "%s: deploying %s failed: %s: %.900s", platform, name, outcome->error_type,
                 outcome->message);
        job->failed[i] = 1;
    }
    memcpy(job->lines[i], line, sizeof line);
    free(op);
    if (--job->pending == 0)
        cloud_finish_define(job);
}

/* Starts what OP's platform needs (a deploy, a configuration update or a
 * check), its package and dependency layer ready; sets its line when it
 * cannot. */
static void cloud_define_start(struct cloud_platform_op *op)
{
    struct cloud_define_job *job = op->job;
    int i = op->index;
    const char *platform = job->options.platforms[i];
    struct deploy_record *record = &job->records[i];
    const struct deps_layer *layer = job->has_layer[i] ? &job->layers[i] : NULL;
    char err[512];
    if (op->layer_only) {
        char elapsed[32], line[sizeof job->lines[0]];
        cloud_format_elapsed(job->started_ms, elapsed, sizeof elapsed);
        snprintf(line, sizeof line, "%s: up to date %s (%.8s) in %s%.700s", platform, job->name, record->code_hash,
                 elapsed, job->layer_notes[i]);
        memcpy(job->lines[i], line, sizeof line);
        free(op);
        return;
    }
    struct platform_function function = {
        .name = job->options.remote[0] ? job->options.remote : job->name, .handler = PACKAGE_HANDLER,
        .package = job->package, .package_size = job->package_size, .code_hash = record->code_hash,
        .memory_mb = job->options.memory_mb, .timeout_s = job->options.timeout_s,
        .max_instances = job->options.max_instances, .allow_unauthenticated = job->options.allow_unauthenticated,
        .arch = job->options.arch, .runtime = job->options.runtime, .env = job->options.env,
        .image = job->options.image, .containerize = job->options.containerize,
        .image_base = job->options.image_base, .registry = job->options.registry, .source = job->source,
        .def_name = job->def_name, .requirements = job->options.requirements, .role = job->options.role, .layer_dir = layer ? layer->dir : NULL, .layer_hash = layer ? layer->hash : NULL,
        .layer_unzipped_size = layer ? layer->unzipped_bytes : 0, .layer_zip_size = layer ? layer->zip_bytes : 0};
    job->pending++;
    struct platforms *platforms = job->cloud->platforms;
    int rc = op->verifying ? platforms_verify(platforms, platform, &function, cloud_on_platform_done, op, err, sizeof err)
             : op->code_changed
                 ? platforms_deploy(platforms, platform, &function, cloud_on_platform_done, op, err, sizeof err)
                 : platforms_configure(platforms, platform, &function, cloud_on_platform_done, op, err, sizeof err);
    if (rc < 0) {
        job->pending--;
        free(op);
        char line[sizeof job->lines[0]];
        snprintf(line, sizeof line, "%s: %.400s", platform, err);
        memcpy(job->lines[i], line, sizeof line);
        job->failed[i] = 1;
    }
}

/* The dependency layer of OP's platform is installed (or failed). */
static void cloud_on_layer(void *ctx, const struct deps_layer *layer, const char *error_type, const char *message)
{
    struct cloud_platform_op *op = ctx;
    struct cloud_define_job *job = op->job;
    int i = op->index;
    if (layer == NULL) {
        char line[sizeof job->lines[0]];
        snprintf(line, sizeof line, "%s: deploying %s failed: %s: %.900s", job->options.platforms[i], job->name,
                 error_type, message);
        memcpy(job->lines[i], line, sizeof line);
        job->failed[i] = 1;
        job->interrupted |= strcmp(error_type, "KeyboardInterrupt") == 0;
        free(op);
    } else {
        job->layers[i] = *layer;
        job->has_layer[i] = 1;
        snprintf(job->layer_notes[i], sizeof job->layer_notes[i], "; dependencies: installed %.500s%s",
                 layer->installed[0] ? layer->installed : "nothing",
                 op->layer_lost ? " again (their layer was missing from .faaset/deps)" : "");
        cloud_define_start(op);
    }
    if (--job->pending == 0)
        cloud_finish_define(job);
}

/* OP's platform gets the function's dependencies installed for it: 1 when
 * they are ready (cached, or the platform installs them itself), 0 when
 * an install started (cloud_on_layer goes on), -1 with its line set. */
static int cloud_define_layer(struct cloud_platform_op *op)
{
    struct cloud_define_job *job = op->job;
    int i = op->index;
    struct deps_target target;
    char err[512];
    if (job->options.requirements == NULL || job->options.image != NULL ||
        deps_target_for(job->options.platforms[i], job->options.runtime, job->options.arch, &target) != 0)
        return 1;
    if (job->layers == NULL && (job->layers = calloc(CLOUD_MAX_PLATFORMS, sizeof *job->layers)) == NULL) {
        snprintf(job->lines[i], sizeof job->lines[i], "%s: out of memory", job->options.platforms[i]);
        job->failed[i] = 1;
        return -1;
    }
    int got = deps_layer_get(job->cloud->deps, job->options.requirements, job->requirements_path, &target,
                             &job->layers[i], cloud_on_layer, op, err, sizeof err);
    if (got < 0) {
        char line[sizeof job->lines[0]];
        snprintf(line, sizeof line, "%s: deploying %s failed: DependencyError: %.400s", job->options.platforms[i],
                 job->name, err);
        memcpy(job->lines[i], line, sizeof line);
        job->failed[i] = 1;
        return -1;
    }
    if (got == 1) {
        job->has_layer[i] = 1;
        snprintf(job->layer_notes[i], sizeof job->layer_notes[i], "; dependencies: %.500s (cached)",
                 job->layers[i].installed[0] ? job->layers[i].installed : "nothing");
    } else {
        job->pending++; /* held until the install ends */
    }
    return got;
}

/* JOB's options that decide how a platform ships it (a zip, or an image it
 * builds, and where from and to), for platforms_image_settings and
 * platforms_uses_package. */
static struct platform_function cloud_image_options(const struct cloud_define_job *job)
{
    return (struct platform_function){.name = job->name, .containerize = job->options.containerize,
                                      .image = job->options.image, .image_base = job->options.image_base,
                                      .registry = job->options.registry};
}

/* 1 when platform I's dependency layer should be on disk and is not (the
 * user deleted .faaset/deps or its folder): a define installs it again even
 * when nothing else changed, since the local platform imports from it and
 * the next deploy uploads or builds from it. */
static int cloud_layer_lost(struct cloud_define_job *job, int i)
{
    struct deps_target target;
    struct deps_layer layer;
    char err[512];
    return job->options.requirements != NULL && job->options.image == NULL &&
           deps_target_for(job->options.platforms[i], job->options.runtime, job->options.arch, &target) == 0 &&
           deps_layer_find(job->cloud->deps, job->options.requirements, job->requirements_path, &target, &layer, err,
                           sizeof err) == 0;
}

/* Decides what platform I needs and starts it; sets its line at once when
 * nothing is needed. The package (and a dependency layer) is made the first
 * time a platform needs new code: an unchanged function costs a hash, a
 * state read and a look at its layer on disk, nothing more. */
static void cloud_define_on(struct cloud_define_job *job, int i)
{
    const char *platform = job->options.platforms[i];
    struct deploy_record *record = &job->records[i];
    struct deploy_record old;
    char err[512];
    int found = deploy_state_read(job->cloud->workdir, platform, job->name, &old, err, sizeof err);
    if (found < 0)
        log_warn("%s; redeploying %s", err, job->name);
    int code_changed = found != 1 || strcmp(old.code_hash, record->code_hash) != 0 || job->options.force;
    int config_changed = found != 1 || strcmp(old.config_hash, record->config_hash) != 0;
    /* A cloud platform's function can be changed outside the notebook: the
     * first time this kernel sees an unchanged cell, the platform checks. */
    int verifiable = platforms_can_verify(job->cloud->platforms, platform);
    int verifying = !code_changed && !config_changed && verifiable &&
                    !cloud_is_verified(job->cloud, platform, job->name);
    /* A cloud platform compares the package with its own copy on every operation. */
    int needs_code = code_changed || verifiable;
    int unchanged = !code_changed && !config_changed && !verifying;
    int layer_lost = (unchanged || !needs_code) && cloud_layer_lost(job, i);
    if (unchanged && !layer_lost) {
        char elapsed[32];
        cloud_format_elapsed(job->started_ms, elapsed, sizeof elapsed);
        snprintf(job->lines[i], sizeof job->lines[i], "%s: up to date %s (%.8s) in %s", platform, job->name,
                 old.code_hash, elapsed);
        return;
    }
    job->verb[i] = found < 0          ? "redeployed (its state file was unreadable)"
                   : verifying || unchanged ? "up to date"
                   : !code_changed    ? "updated configuration of"
                   : found == 1       ? "updated code of"
                                      : "deployed";
    needs_code = needs_code && !unchanged;
    /* A platform that builds an image (containerize) needs no zip. */
    struct platform_function shipping = cloud_image_options(job);
    int uses_package = platforms_uses_package(job->cloud->platforms, platform, &shipping);
    if (needs_code && uses_package && job->package == NULL &&
        package_build(job->source, job->def_name, job->options.requirements, &job->package, &job->package_size, err,
                      sizeof err) < 0) {
        snprintf(job->lines[i], sizeof job->lines[i], "%s: cannot build the package: %.400s", platform, err);
        job->failed[i] = 1;
        return;
    }
    if (uses_package && job->package != NULL)
        package_sha256_base64(job->package, job->package_size, record->package_sha256);
    else if (uses_package && found == 1)
        memcpy(record->package_sha256, old.package_sha256, sizeof record->package_sha256);
    struct cloud_platform_op *op = malloc(sizeof *op);
    if (op == NULL) {
        snprintf(job->lines[i], sizeof job->lines[i], "%s: out of memory", platform);
        job->failed[i] = 1;
        return;
    }
    *op = (struct cloud_platform_op){job, i, verifying, code_changed, unchanged, layer_lost};
    int ready = needs_code || layer_lost ? cloud_define_layer(op) : 1;
    if (ready < 0)
        free(op);
    else if (ready == 1)
        cloud_define_start(op);
}

/* requirements_file=PATH (relative to the notebook's folder): its text
 * becomes the requirements, so the hashes follow what it says, and pip is
 * given the file itself, so its -r lines and relative paths work. */
static int cloud_read_requirements_file(struct cloud *cloud, struct cloud_define_job *job, char *err, size_t err_size)
{
    const char *given = job->options.requirements_file;
    if (given == NULL)
        return 0;
    if (job->options.requirements != NULL) {
        snprintf(err, err_size, "give requirements= or requirements_file=, not both");
        return -1;
    }
    char path[4096];
    size_t size = 0;
    char *text = NULL;
    if (fsutil_path(path, sizeof path, given[0] == '/' ? "%s%s" : "%s/%s", given[0] == '/' ? "" : cloud->workdir,
                    given) < 0 ||
        (text = fsutil_read(path, &size)) == NULL) {
        snprintf(err, err_size, "requirements_file: cannot read %.300s: %s", path, strerror(errno));
        return -1;
    }
    if (strlen(text) != size) {
        free(text);
        snprintf(err, err_size, "requirements_file: %.300s is not a text file", path);
        return -1;
    }
    if (cloud_options_names_requirements(text)) {
        job->options.requirements = text;
        job->requirements_path = strdup(path);
        return job->requirements_path != NULL ? 0 : (snprintf(err, err_size, "out of memory"), -1);
    }
    free(text);
    return 0;
}

/* 1 when PLATFORM takes containerize=True: its adapter builds and pushes
 * the image (platform_function.containerize; openfaas builds one always),
 * or it runs code as it is. */
static int cloud_builds_images(const char *platform)
{
    static const char *const building[] = {"aws", "local", "openfaas", NULL};
    for (size_t i = 0; building[i] != NULL; i++)
        if (strcmp(platforms_canonical(platform), building[i]) == 0)
            return 1;
    return 0;
}

void cloud_define(struct cloud *cloud, const json_t *upcall, cloud_reply_fn reply, void *ctx)
{
    const char *def_name = json_string_value(json_object_get(upcall, "function"));
    const char *source = json_string_value(json_object_get(upcall, "source"));
    json_t *raw = json_object_get(upcall, "options");
    struct cloud_define_job *job = calloc(1, sizeof *job);
    char err[1024];
    if (job == NULL || def_name == NULL || source == NULL) {
        reply(ctx, cloud_error("BadUpcall", "define needs function and source"));
        free(job);
        return;
    }
    job->cloud = cloud;
    job->reply = reply;
    job->ctx = ctx;
    job->started_ms = clock_mono_ms_precise();
    json_t *no_options = raw ? NULL : json_object();
    int parsed = cloud_options_parse(raw ? raw : no_options, cloud->default_platform, &job->options, err, sizeof err);
    json_decref(no_options);
    if (parsed < 0) {
        reply(ctx, cloud_error("InvalidOption", err));
        cloud_options_free(&job->options);
        free(job);
        return;
    }
    if (job->options.name[0] == '\0' && strlen(def_name) >= sizeof job->name) {
        snprintf(err, sizeof err, "the function's name has %zu characters; platforms take at most %zu (Lambda's "
                 "limit): give it a shorter one with name=SHORTER", strlen(def_name), sizeof job->name - 1);
        reply(ctx, cloud_error("InvalidOption", err));
        cloud_options_free(&job->options);
        free(job);
        return;
    }
    snprintf(job->name, sizeof job->name, "%s", job->options.name[0] ? job->options.name : def_name);
    if (cloud_read_requirements_file(cloud, job, err, sizeof err) < 0) {
        reply(ctx, cloud_error("InvalidOption", err));
        cloud_options_free(&job->options);
        free(job);
        return;
    }
    for (int i = 0; strcmp(job->options.run, "local") != 0 && i < job->options.platform_count; i++) {
        if (job->options.containerize && !cloud_builds_images(job->options.platforms[i])) {
            snprintf(err, sizeof err, "containerize=True builds container images for aws (the local platform runs "
                     "the code as it is); %s deploys packages: leave containerize out for it",
                     job->options.platforms[i]);
            reply(ctx, cloud_error("InvalidOption", err));
            cloud_options_free(&job->options);
            free(job);
            return;
        }
        if (platforms_check(cloud->platforms, job->options.platforms[i], err, sizeof err) < 0) {
            reply(ctx, cloud_error("PlatformUnavailable", err)); /* before any platform is touched */
            cloud_options_free(&job->options);
            free(job);
            return;
        }
    }
    job->source = strdup(source);
    job->def_name = strdup(def_name);
    for (int i = 0; i < CLOUD_MAX_PLATFORMS; i++)
        job->claims[i] = -1;
    if (job->source == NULL || job->def_name == NULL) {
        reply(ctx, cloud_error("OutOfMemory", "cannot start the deploy"));
        cloud_define_job_free(job);
        return;
    }
    job->claim_since_ms = clock_mono_ms_precise();
    cloud_define_claim(job);
}

static int cloud_define_deploys(const struct cloud_define_job *job)
{
    return job->options.deploy && strcmp(job->options.run, "local") != 0;
}

/* The names of ENV ({"KEY": "value"}), comma-separated, into OUT; the
 * values stay out of the state: they may be secrets. */
static void cloud_env_keys(const json_t *env, char *out, size_t size)
{
    size_t used = 0;
    const char *key;
    json_t *value;
    out[0] = '\0';
    json_object_foreach((json_t *)env, key, value) {
        size_t len = strlen(key);
        if (used + len + 2 > size)
            break;
        if (used > 0)
            out[used++] = ',';
        memcpy(out + used, key, len + 1);
        used += len;
    }
}

/* The code hash of JOB on its platform I: CODE_HASH, with the platform's
 * own settings that go into the image it builds (its `registry`, its
 * `image_base`) folded in, so changing one alone redeploys; a platform
 * with none keeps CODE_HASH. */
static void cloud_platform_code_hash(const struct cloud_define_job *job, int i, const char *code_hash, char out[65])
{
    struct platform_function function = cloud_image_options(job);
    char settings[1200];
    platforms_image_settings(job->cloud->platforms, job->options.platforms[i], &function, settings, sizeof settings);
    if (settings[0] == '\0') {
        snprintf(out, 65, "%s", code_hash);
        return;
    }
    const char *parts[] = {code_hash, "platform-image", settings};
    package_hash_parts(parts, sizeof parts / sizeof parts[0], out);
}

/* Deploys on every platform of JOB (its claims are held). */
static void cloud_define_run(struct cloud_define_job *job)
{
    int deploying = cloud_define_deploys(job);
    char code_hash[65], config_hash[65];
    cloud_hashes(job->source, job->def_name, job->name, &job->options, code_hash, config_hash);
    job->pending = 1; /* held until every platform has started */
    for (int i = 0; i < job->options.platform_count; i++) {
        struct deploy_record *record = &job->records[i];
        cloud_platform_code_hash(job, i, code_hash, record->code_hash);
        snprintf(record->config_hash, sizeof record->config_hash, "%s", config_hash);
        snprintf(record->function, sizeof record->function, "%s", job->def_name);
        snprintf(record->remote, sizeof record->remote, "%s", job->options.remote);
        record->memory_mb = job->options.memory_mb;
        record->timeout_s = job->options.timeout_s;
        record->max_instances = job->options.max_instances;
        snprintf(record->arch, sizeof record->arch, "%s", job->options.arch);
        snprintf(record->runtime, sizeof record->runtime, "%s", job->options.runtime);
        cloud_env_keys(job->options.env, record->env_keys, sizeof record->env_keys);
        char elapsed[32];
        cloud_format_elapsed(job->started_ms, elapsed, sizeof elapsed);
        if (!deploying)
            snprintf(job->lines[i], sizeof job->lines[i], "%s: %s %s (%.8s) in %s", job->options.platforms[i],
                     strcmp(job->options.run, "local") == 0 ? "runs in the notebook, not deployed:" : "linked",
                     job->name, record->code_hash, elapsed);
        else
            cloud_define_on(job, i);
    }
    if (--job->pending == 0)
        cloud_finish_define(job);
}

static void cloud_on_claim_timer(void *ctx)
{
    struct cloud_define_job *job = ctx;
    job->claim_timer = 0;
    list_remove(&job->node);
    cloud_define_claim(job);
}

/* Claims JOB's function on each of its platforms (deploy_state.h), then
 * runs it. While another process deploys it, tries again every 100 to 200
 * ms, for at most CLOUD_CLAIM_WAIT_MS; never holds some claims while
 * waiting for others, so two kernels cannot wait for each other. */
static void cloud_define_claim(struct cloud_define_job *job)
{
    char err[512];
    int busy = 0;
    for (int i = 0; cloud_define_deploys(job) && i < job->options.platform_count && !busy; i++) {
        job->claims[i] = deploy_state_claim(job->cloud->workdir, job->options.platforms[i], job->name, &job->holder,
                                            err, sizeof err);
        if (job->claims[i] == -1) /* no lock to be had here: deploy as before, unguarded */
            log_warn("%s; deploying %s without a claim", err, job->name);
        busy = job->claims[i] == -2;
    }
    if (!busy) {
        cloud_define_run(job);
        return;
    }
    for (int i = 0; i < CLOUD_MAX_PLATFORMS; i++) {
        deploy_state_unclaim(job->claims[i]);
        job->claims[i] = -1;
    }
    double waited = clock_mono_ms_precise() - job->claim_since_ms;
    if (waited < CLOUD_CLAIM_WAIT_MS) {
        job->claim_timer = reactor_timer(job->cloud->reactor, 100 + rand() % 100, cloud_on_claim_timer, job);
        if (job->claim_timer != 0) {
            list_push_back(&job->cloud->claiming, &job->node);
            return;
        }
    }
    char evalue[300];
    snprintf(evalue, sizeof evalue, "%s is being deployed by %s%.0ld from this folder%s; run the cell again when "
             "it is done", job->name, job->holder ? "process " : "another process", job->holder,
             waited >= CLOUD_CLAIM_WAIT_MS ? " (waited 2 minutes)" : "");
    job->reply(job->ctx, cloud_error("DeployBusy", evalue));
    cloud_define_job_free(job);
}

static void cloud_call_job_free(struct cloud_call_job *job)
{
    json_decref(job->payload);
    free(job);
}

/* DONE gets the kernel's own error: the platform was never reached. */
static void cloud_fail(cloud_done_fn done, void *ctx, const char *error_type, const char *message)
{
    struct cloud_outcome outcome = {.platform = {.error_type = error_type, .message = message}};
    done(ctx, &outcome);
}

static void cloud_call_send(void *ctx);

static void cloud_on_call_done(void *ctx, const struct platform_outcome *outcome)
{
    struct cloud_call_job *job = ctx;
    double wait = !outcome->ok && job->retry && outcome->throttled
                      ? retry_delay_ms(&cloud_call_retry, job->retries, outcome->retry_after_ms)
                      : -1;
    if (wait >= 0 && (job->retry_timer = reactor_timer(job->cloud->reactor, (long long)wait, cloud_call_send, job))) {
        job->retries++;
        list_push_back(&job->cloud->backing_off, &job->node);
        return;
    }
    struct cloud_outcome result = {.platform = *outcome, .retries = job->retries,
                                   .round_trip_ms = clock_mono_ms_precise() - job->started_ms};
    job->done(job->ctx, &result);
    cloud_call_job_free(job);
}

static void cloud_call_send(void *ctx)
{
    struct cloud_call_job *job = ctx;
    char err[512];
    if (job->retry_timer != 0) { /* its backoff is over */
        job->retry_timer = 0;
        list_remove(&job->node);
    }
    if (platforms_invoke(job->cloud->platforms, job->platform, job->remote, job->payload, job->flags,
                         cloud_on_call_done, job, err, sizeof err) < 0) {
        cloud_fail(job->done, job->ctx, "PlatformUnavailable", err);
        cloud_call_job_free(job);
    }
}

/* The platform calls to NAME go to: the one named, the one it was defined
 * for in this kernel, or the first one with deploy state on disk. */
static const char *cloud_route(struct cloud *cloud, const char *name, const char *requested, json_t **listing)
{
    if (requested != NULL)
        return platforms_canonical(requested);
    struct cloud_function *function = cloud_find(cloud, name);
    if (function != NULL && json_array_size(function->platforms) > 0)
        return json_string_value(json_array_get(function->platforms, 0));
    *listing = deploy_state_list(cloud->workdir);
    size_t i;
    json_t *item;
    json_array_foreach(*listing, i, item) {
        if (strcmp(json_string_value(json_object_get(item, "name")), name) == 0)
            return json_string_value(json_object_get(item, "platform"));
    }
    return cloud->default_platform;
}

void cloud_remote_name(struct cloud *cloud, const char *name, const char *platform, char *out, size_t size)
{
    struct cloud_function *function = cloud_find(cloud, name);
    struct deploy_record record;
    char err[512];
    if (function != NULL)
        snprintf(out, size, "%s", function->remote[0] ? function->remote : name);
    else if (deploy_state_read(cloud->workdir, platform, name, &record, err, sizeof err) == 1 && record.remote[0])
        snprintf(out, size, "%s", record.remote);
    else
        snprintf(out, size, "%s", name);
}

void cloud_call(struct cloud *cloud, const struct cloud_call *call, cloud_done_fn done, void *ctx)
{
    struct cloud_call_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        cloud_fail(done, ctx, "OutOfMemory", "cannot start the call");
        return;
    }
    *job = (struct cloud_call_job){.cloud = cloud, .done = done, .ctx = ctx, .started_ms = clock_mono_ms_precise(),
                                   .payload = json_incref(call->payload ? (json_t *)call->payload : json_null()),
                                   .flags = call->flags, .retry = call->retry};
    json_t *listing = NULL;
    snprintf(job->platform, sizeof job->platform, "%s", cloud_route(cloud, call->function, call->platform, &listing));
    json_decref(listing);
    if (call->remote != NULL)
        snprintf(job->remote, sizeof job->remote, "%s", call->remote);
    else
        cloud_remote_name(cloud, call->function, job->platform, job->remote, sizeof job->remote);
    cloud_call_send(job);
}

json_t *cloud_shown_result(const struct cloud_outcome *outcome)
{
    const json_t *value = outcome->platform.result;
    if (!json_is_object(value))
        return value ? json_incref((json_t *)value) : json_null();
    json_t *shown = json_deep_copy(value);
    json_object_set_new(shown, "roundTripTime", json_real(outcome->round_trip_ms));
    json_t *runtime = json_object_get(value, "runtime");
    if (json_is_number(runtime))
        json_object_set_new(shown, "latency", json_real(outcome->round_trip_ms - json_number_value(runtime)));
    return shown;
}

json_t *cloud_traceback(const struct platform_outcome *outcome)
{
    json_t *traceback = json_is_array(outcome->traceback) ? json_copy((json_t *)outcome->traceback) : json_array();
    if (outcome->log != NULL && *outcome->log) {
        json_array_append_new(traceback, json_string("\nThe end of the function's log:\n"));
        json_array_append_new(traceback, json_string(outcome->log));
    }
    return traceback;
}

/* The invoke upcall's answer (runtime/PROTOCOL.md). */
static void cloud_on_invoked(void *ctx, const struct cloud_outcome *outcome)
{
    struct cloud_reply *pending = ctx;
    const struct platform_outcome *platform = &outcome->platform;
    json_t *result;
    if (platform->ok)
        result = json_pack("{s:s, s:O, s:f}", "status", "ok", "result", platform->result ? platform->result : json_null(),
                           "roundTripTime", outcome->round_trip_ms);
    else
        result = json_pack("{s:s, s:s, s:s, s:o, s:f}", "status", "error", "ename", platform->error_type, "evalue",
                           platform->message ? platform->message : "", "traceback", cloud_traceback(platform),
                           "roundTripTime", outcome->round_trip_ms);
    if (outcome->retries > 0)
        json_object_set_new(result, "retries", json_integer(outcome->retries));
    pending->reply(pending->ctx, result);
    free(pending);
}

void cloud_invoke(struct cloud *cloud, const json_t *upcall, cloud_reply_fn reply, void *ctx)
{
    const char *name = json_string_value(json_object_get(upcall, "function"));
    const char *type = json_string_value(json_object_get(upcall, "invocation"));
    if (name == NULL) {
        reply(ctx, cloud_error("BadUpcall", "invoke needs a function name"));
        return;
    }
    if (type != NULL && strcmp(type, "RequestResponse") != 0 && strcmp(type, "Event") != 0) {
        reply(ctx, cloud_error("InvalidOption", "the invocation type must be RequestResponse or Event"));
        return;
    }
    struct cloud_reply *pending = malloc(sizeof *pending);
    if (pending == NULL) {
        reply(ctx, cloud_error("OutOfMemory", "cannot start the call"));
        return;
    }
    *pending = (struct cloud_reply){reply, ctx};
    struct cloud_call call = {.function = name, .platform = json_string_value(json_object_get(upcall, "platform")),
                              .remote = json_string_value(json_object_get(upcall, "remote")),
                              .payload = json_object_get(upcall, "payload"),
                              .retry = !json_is_false(json_object_get(upcall, "retry"))};
    if (type != NULL && strcmp(type, "Event") == 0)
        call.flags |= PLATFORM_INVOKE_EVENT;
    if (json_is_true(json_object_get(upcall, "log")))
        call.flags |= PLATFORM_INVOKE_LOG;
    cloud_call(cloud, &call, cloud_on_invoked, pending);
}

/* Settings that would put a secret into the notebook file. */
static const char *cloud_secret_setting(const json_t *settings)
{
    static const char *const secret_words[] = {"secret", "password", "token", "access_key", "api_key", "credential"};
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)settings, key, value) {
        for (size_t i = 0; i < sizeof secret_words / sizeof secret_words[0]; i++)
            if (strcasestr(key, secret_words[i]) != NULL)
                return key;
    }
    return NULL;
}

void cloud_platform_of(struct cloud *cloud, const char *name, char *out, size_t size)
{
    json_t *listing = NULL;
    snprintf(out, size, "%s", cloud_route(cloud, name, NULL, &listing));
    json_decref(listing);
}

json_t *cloud_describe(struct cloud *cloud, const char *name, const char *on)
{
    char platform[CLOUD_PLATFORM_NAME_SIZE];
    if (on != NULL)
        snprintf(platform, sizeof platform, "%s", platforms_canonical(on));
    else
        cloud_platform_of(cloud, name, platform, sizeof platform);
    struct deploy_record record;
    char err[512];
    if (deploy_state_read(cloud->workdir, platform, name, &record, err, sizeof err) != 1)
        return json_pack("{s:s, s:s}", "name", name, "platform", platform);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "name", name, "platform", platform, "code_hash",
                     record.code_hash, "config_hash", record.config_hash, "deployed_at", record.deployed_at,
                     "memory_mb", record.memory_mb, "timeout_s", record.timeout_s);
}

size_t cloud_prepare(struct cloud *cloud, const char *platform, const char *function, size_t count)
{
    return platforms_prepare(cloud->platforms, platform, function, count);
}

size_t cloud_preparing(struct cloud *cloud, const char *platform, const char *function)
{
    return platforms_preparing(cloud->platforms, platform, function);
}

json_t *cloud_inspect(struct cloud *cloud, const char *name)
{
    struct cloud_function *function = cloud_find(cloud, name);
    if (function == NULL)
        return NULL;
    json_t *platforms = json_array();
    size_t i;
    json_t *platform;
    json_array_foreach(function->platforms, i, platform) {
        const char *on = json_string_value(platform);
        struct deploy_record record;
        char err[512];
        int found = deploy_state_read(cloud->workdir, on, name, &record, err, sizeof err);
        json_t *entry = json_pack("{s:s, s:b}", "platform", on, "deployed", found == 1);
        if (found == 1) {
            json_object_update_new(entry, json_pack("{s:s, s:s, s:s, s:i, s:i}", "code_hash", record.code_hash,
                                                    "config_hash", record.config_hash, "deployed_at",
                                                    record.deployed_at, "memory_mb", record.memory_mb, "timeout_s",
                                                    record.timeout_s));
            json_object_set_new(entry, "state",
                                json_string(cloud_is_verified(cloud, on, name)
                                                ? "up to date: checked against the platform in this kernel"
                                                : "not checked against the platform in this kernel yet (the first "
                                                  "call or deploy checks it and repairs drift)"));
        } else {
            json_object_set_new(entry, "state",
                                json_string(found < 0 ? err : "not deployed: the next define or call deploys it"));
        }
        json_array_append_new(platforms, entry);
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "name", name, "run", function->run, "remote",
                     function->remote[0] ? function->remote : name, "platforms", platforms);
}

struct cloud_delete_job {
    struct cloud *cloud;
    cloud_done_fn done;
    void *ctx;
    char name[65];
    char platform[16];
    double started_ms;
};

static void cloud_on_deleted(void *ctx, const struct platform_outcome *outcome)
{
    struct cloud_delete_job *job = ctx;
    char err[512], key[96], elapsed[32], line[700];
    if (!outcome->ok) {
        struct cloud_outcome failed = {.platform = *outcome};
        job->done(job->ctx, &failed);
        free(job);
        return;
    }
    cloud_verified_key(job->platform, job->name, key, sizeof key);
    json_object_del(job->cloud->verified, key);
    cloud_format_elapsed(job->started_ms, elapsed, sizeof elapsed);
    if (deploy_state_remove(job->cloud->workdir, job->platform, job->name, err, sizeof err) < 0)
        snprintf(line, sizeof line, "%s: deleted %s in %s, but %.500s", job->platform, job->name, elapsed, err);
    else
        snprintf(line, sizeof line, "%s: deleted %s in %s", job->platform, job->name, elapsed);
    struct cloud_outcome deleted = {.platform = {.ok = 1}, .line = line};
    job->done(job->ctx, &deleted);
    free(job);
}

void cloud_delete(struct cloud *cloud, const char *name, const char *platform, cloud_done_fn done, void *ctx)
{
    char err[512], remote[180];
    size_t len = strlen(name);
    int valid = len > 0 && len < 65;
    for (size_t i = 0; valid && i < len; i++)
        valid = isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '-';
    if (!valid) {
        cloud_fail(done, ctx, "UsageError", "delete takes a function name (letters, digits, _ and -)");
        return;
    }
    struct cloud_delete_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        cloud_fail(done, ctx, "OutOfMemory", "cannot start the delete");
        return;
    }
    *job = (struct cloud_delete_job){.cloud = cloud, .done = done, .ctx = ctx,
                                     .started_ms = clock_mono_ms_precise()};
    snprintf(job->name, sizeof job->name, "%s", name);
    if (platform != NULL)
        snprintf(job->platform, sizeof job->platform, "%s", platforms_canonical(platform));
    else
        cloud_platform_of(cloud, name, job->platform, sizeof job->platform);
    cloud_remote_name(cloud, name, job->platform, remote, sizeof remote);
    if (platforms_check(cloud->platforms, job->platform, err, sizeof err) < 0 ||
        platforms_remove(cloud->platforms, job->platform, remote, cloud_on_deleted, job, err, sizeof err) < 0) {
        cloud_fail(done, ctx, "PlatformUnavailable", err);
        free(job);
    }
}

struct cloud_memory_job {
    struct cloud *cloud;
    cloud_done_fn done;
    void *ctx;
    char name[65];
    char platform[16];
    int memory_mb;
    char config_hash[65];        /* what the record says once set: "set-by-experiment" or the cell's (a restore) */
};

static void cloud_on_memory_set(void *ctx, const struct platform_outcome *outcome)
{
    struct cloud_memory_job *job = ctx;
    struct cloud_outcome result = {.platform = *outcome};
    if (!outcome->ok) {
        job->done(job->ctx, &result);
        free(job);
        return;
    }
    struct deploy_record record;
    char err[512];
    /* A restore puts the cell's hash back only over an experiment's mark:
     * a record a cell rewrote meanwhile is the cell's. */
    int restore = strcmp(job->config_hash, CLOUD_SET_BY_EXPERIMENT) != 0;
    if (deploy_state_read(job->cloud->workdir, job->platform, job->name, &record, err, sizeof err) == 1 &&
        (!restore || strcmp(record.config_hash, CLOUD_SET_BY_EXPERIMENT) == 0)) {
        record.memory_mb = job->memory_mb;
        snprintf(record.config_hash, sizeof record.config_hash, "%s", job->config_hash);
        if (deploy_state_write(job->cloud->workdir, job->platform, job->name, &record, err, sizeof err) < 0 &&
            restore) {
            struct cloud_outcome unwritten = {.platform = {.ok = 0, .error_type = "StateUnwritable",
                                                           .message = err}};
            job->done(job->ctx, &unwritten);
            free(job);
            return;
        }
    }
    job->done(job->ctx, &result);
    free(job);
}

/* Sets NAME's memory; once set, its record gets MEMORY_MB and CONFIG_HASH. */
static void cloud_change_memory(struct cloud *cloud, const char *name, const char *platform, int memory_mb,
                                const char *config_hash, cloud_done_fn done, void *ctx)
{
    struct cloud_memory_job *job = calloc(1, sizeof *job);
    char err[512];
    if (job == NULL) {
        cloud_fail(done, ctx, "OutOfMemory", "cannot reconfigure");
        return;
    }
    *job = (struct cloud_memory_job){.cloud = cloud, .done = done, .ctx = ctx, .memory_mb = memory_mb};
    snprintf(job->name, sizeof job->name, "%s", name);
    snprintf(job->config_hash, sizeof job->config_hash, "%s", config_hash);
    if (platform != NULL)
        snprintf(job->platform, sizeof job->platform, "%s", platforms_canonical(platform));
    else
        cloud_platform_of(cloud, name, job->platform, sizeof job->platform);
    char remote[180];
    cloud_remote_name(cloud, name, job->platform, remote, sizeof remote);
    if (platforms_set_memory(cloud->platforms, job->platform, remote, memory_mb, cloud_on_memory_set, job, err,
                             sizeof err) < 0) {
        cloud_fail(done, ctx, "PlatformUnavailable", err);
        free(job);
    }
}

void cloud_set_memory(struct cloud *cloud, const char *name, const char *platform, int memory_mb, cloud_done_fn done,
                      void *ctx)
{
    cloud_change_memory(cloud, name, platform, memory_mb, CLOUD_SET_BY_EXPERIMENT, done, ctx);
}

int cloud_record(struct cloud *cloud, const char *name, const char *on, struct deploy_record *out, char *err,
                 size_t err_size)
{
    char platform[CLOUD_PLATFORM_NAME_SIZE];
    if (on != NULL)
        snprintf(platform, sizeof platform, "%s", platforms_canonical(on));
    else
        cloud_platform_of(cloud, name, platform, sizeof platform);
    return deploy_state_read(cloud->workdir, platform, name, out, err, err_size);
}

void cloud_restore_memory(struct cloud *cloud, const char *name, const char *platform,
                          const struct deploy_record *saved, cloud_done_fn done, void *ctx)
{
    cloud_change_memory(cloud, name, platform, saved->memory_mb, saved->config_hash, done, ctx);
}

json_t *cloud_deployed_platforms(struct cloud *cloud, const char *name)
{
    json_t *out = json_array();
    struct cloud_function *function = cloud_find(cloud, name);
    struct deploy_record record;
    char err[512];
    size_t i;
    json_t *item;
    if (function != NULL) {
        json_array_foreach(function->platforms, i, item)
            if (deploy_state_read(cloud->workdir, json_string_value(item), name, &record, err, sizeof err) == 1)
                json_array_append(out, item);
        return out;
    }
    json_t *listing = deploy_state_list(cloud->workdir);
    json_array_foreach(listing, i, item)
        if (strcmp(json_string_value(json_object_get(item, "name")) ?: "", name) == 0)
            json_array_append(out, json_object_get(item, "platform"));
    json_decref(listing);
    return out;
}

int cloud_set_platform(struct cloud *cloud, const char *name, const json_t *settings, char *message,
                       size_t message_size)
{
    const char *secret = cloud_secret_setting(settings);
    if (secret != NULL) {
        snprintf(message, message_size,
                 "'%s' looks like a credential: secrets never go in the notebook; the platform reads them from "
                 "its usual files and environment variables", secret);
        return -1;
    }
    if (!platforms_is_known(name)) {
        char names[128];
        platforms_name_list(names, sizeof names);
        snprintf(message, message_size, "unknown platform '%.64s'; choose from %s", name, names);
        return -1;
    }
    char described[1024] = ""; /* a platform says where each setting came from */
    if (platforms_apply_settings(cloud->platforms, name, settings, described, sizeof described) < 0) {
        snprintf(message, message_size, "%s", described);
        return -1;
    }
    snprintf(cloud->default_platform, sizeof cloud->default_platform, "%s", platforms_canonical(name));
    snprintf(message, message_size, "Default platform: %s%s%s", name, described[0] ? "; " : "", described);
    return 0;
}

json_t *cloud_list(struct cloud *cloud)
{
    json_t *list = deploy_state_list(cloud->workdir);
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        struct cloud_function *function = cloud_find(cloud, json_string_value(json_object_get(item, "name")));
        const char *calls = function == NULL                         ? "not defined in this kernel"
                            : strcmp(function->run, "local") == 0 ? "the notebook (run=local)"
                                                                  : json_string_value(json_array_get(function->platforms, 0));
        json_object_set_new(item, "calls", json_string(calls));
    }
    return list;
}

json_t *cloud_function_names(struct cloud *cloud)
{
    json_t *names = json_array();
    for (struct cloud_function *f = cloud->functions; f != NULL; f = f->next)
        json_array_append_new(names, json_string(f->name));
    return names;
}
