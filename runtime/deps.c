/* deps: dependency layers, cached by hash, installed by pip in a child
 * watched on the reactor (see deps.h).
 *
 * The target decides pip's flags (faaset_deps.py): a Lambda target names
 * the runtime's Python version, the CPython ABI and every manylinux tag the
 * runtime's glibc runs (Amazon Linux 2023, glibc 2.34, for python3.12 and
 * later; Amazon Linux 2, glibc 2.26, before), for x86_64 or aarch64, and
 * takes wheels only; the local target is the runtime's interpreter itself.
 * An install is a record in the `installs` list from its start to its end:
 * the child's pid, the read end of its output pipe (watched; end of file
 * means the child is done, and it is reaped then), the output (the last
 * 16 KB, for when the child could not even say what failed) and the
 * staging folder. */
#include "deps.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buffer.h"
#include "embedded.h"
#include "fsutil.h"
#include "list.h"
#include "log.h"
#include "package.h"
#include "spawn.h"

#define DEPS_OUTPUT_KEEP 16384

struct deps {
    struct reactor *reactor;
    char *workdir;
    char *python;
    unsigned serial;                  /* staging folders of this process */
    struct list_node installs;
};

struct deps_install {
    struct deps *deps;
    pid_t pid;
    int fd;                           /* the child's stdout and stderr */
    struct buffer output;
    struct deps_layer layer;          /* hash and final dir; sizes once done */
    char staging[4096];
    char description[128];
    deps_done_fn done;
    void *ctx;
    struct list_node node;
};

int deps_target_for(const char *platform, const char *runtime, const char *arch, struct deps_target *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(platform, "local") == 0) {
        snprintf(out->kind, sizeof out->kind, "local");
        snprintf(out->description, sizeof out->description, "local (the runtime's Python)");
        return 0;
    }
    int openfaas = strcmp(platform, "openfaas") == 0; /* into its image: the same manylinux wheels, no zip */
    if (strcmp(platform, "aws") != 0 && !openfaas)
        return 1; /* gcf installs requirements.txt from the package itself */
    snprintf(out->kind, sizeof out->kind, "lambda");
    snprintf(out->python_version, sizeof out->python_version, "%s",
             strncmp(runtime, "python", 6) == 0 ? runtime + 6 : runtime);
    snprintf(out->arch, sizeof out->arch, "%s", arch);
    out->zip = !openfaas;
    snprintf(out->description, sizeof out->description, "%s (%s, %s: manylinux %s wheels)", platform, runtime, arch,
             strcmp(arch, "arm64") == 0 ? "aarch64" : "x86_64");
    return 0;
}

struct deps *deps_new(struct reactor *reactor, const char *workdir, const char *python)
{
    struct deps *deps = calloc(1, sizeof *deps);
    if (deps == NULL)
        return NULL;
    deps->reactor = reactor;
    deps->workdir = strdup(workdir);
    deps->python = strdup(python);
    list_init(&deps->installs);
    if (deps->workdir == NULL || deps->python == NULL) {
        deps_free(deps);
        return NULL;
    }
    return deps;
}

/* Kills and reaps INSTALL's child, removes its staging folder, frees it. */
static void deps_install_end(struct deps_install *install)
{
    list_remove(&install->node);
    if (install->fd >= 0) {
        reactor_unwatch(install->deps->reactor, install->fd);
        close(install->fd);
    }
    if (install->pid > 0) {
        kill(-install->pid, SIGKILL);
        waitpid(install->pid, NULL, 0);
    }
    fsutil_remove_tree(install->staging);
    buffer_free(&install->output);
    free(install);
}

void deps_free(struct deps *deps)
{
    if (deps == NULL)
        return;
    struct list_node *node;
    while ((node = list_first(&deps->installs)) != NULL)
        deps_install_end(list_entry(node, struct deps_install, node));
    free(deps->workdir);
    free(deps->python);
    free(deps);
}

int deps_interrupt(struct deps *deps)
{
    int stopped = 0;
    struct list_node *node;
    while ((node = list_first(&deps->installs)) != NULL) {
        struct deps_install *install = list_entry(node, struct deps_install, node);
        char message[300];
        snprintf(message, sizeof message, "installing the dependencies for %s was interrupted; nothing was deployed",
                 install->description);
        deps_done_fn done = install->done;
        void *ctx = install->ctx;
        deps_install_end(install);
        done(ctx, NULL, "KeyboardInterrupt", message);
        stopped++;
    }
    return stopped;
}

/* Reads DIR/layer.json into LAYER. 1 when it says the install worked, 0
 * when it says it failed (MESSAGE set), -1 when there is none to read. */
static int deps_read_result(const char *dir, struct deps_layer *layer, char *message, size_t message_size)
{
    char path[4200], err[256];
    if (fsutil_path(path, sizeof path, "%s/layer.json", dir) < 0)
        return -1;
    struct stat st;
    if (stat(path, &st) < 0)
        return -1;
    json_t *result = fsutil_load_json(path, err, sizeof err);
    if (!json_is_object(result)) {
        json_decref(result);
        return -1;
    }
    int ok = json_is_true(json_object_get(result, "ok"));
    if (!ok) {
        snprintf(message, message_size, "%s", json_string_value(json_object_get(result, "error")) ?: "pip failed");
    } else {
        layer->unzipped_bytes = (unsigned long long)json_integer_value(json_object_get(result, "unzipped_bytes"));
        layer->zip_bytes = (unsigned long long)json_integer_value(json_object_get(result, "zip_bytes"));
        layer->installed[0] = '\0';
        size_t i;
        json_t *item;
        json_array_foreach(json_object_get(result, "installed"), i, item) {
            buffer_appendf_fixed(layer->installed, sizeof layer->installed, "%s%s %s", i ? ", " : "",
                                 json_string_value(json_array_get(item, 0)) ?: "?",
                                 json_string_value(json_array_get(item, 1)) ?: "?");
        }
    }
    json_decref(result);
    return ok;
}

/* pip's --platform values for a Lambda target: every manylinux tag its glibc runs. */
static json_t *deps_lambda_platforms(const struct deps_target *target)
{
    const char *machine = strcmp(target->arch, "arm64") == 0 ? "aarch64" : "x86_64";
    int minor = 0;
    sscanf(target->python_version, "3.%d", &minor);
    int glibc = minor >= 12 ? 34 : 26;
    json_t *platforms = json_array();
    char tag[64];
    snprintf(tag, sizeof tag, "manylinux2014_%s", machine); /* pip adds manylinux2010 and manylinux1 */
    json_array_append_new(platforms, json_string(tag));
    for (int v = glibc; v >= 17; v--) {
        snprintf(tag, sizeof tag, "manylinux_2_%d_%s", v, machine);
        json_array_append_new(platforms, json_string(tag));
    }
    return platforms;
}

static void deps_on_output(void *ctx, int fd, int events)
{
    (void)events;
    struct deps_install *install = ctx;
    char chunk[4096];
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got > 0) {
        buffer_append(&install->output, chunk, (size_t)got);
        if (install->output.size > 2 * DEPS_OUTPUT_KEEP) {
            memmove(install->output.data, install->output.data + install->output.size - DEPS_OUTPUT_KEEP,
                    DEPS_OUTPUT_KEEP);
            install->output.size = DEPS_OUTPUT_KEEP;
        }
        return;
    }
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    /* end of output: the child is done */
    reactor_unwatch(install->deps->reactor, fd);
    close(fd);
    install->fd = -1;
    int status = 0;
    waitpid(install->pid, &status, 0);
    install->pid = 0;
    char message[1400] = "";
    const char *error_type = NULL;
    int result = deps_read_result(install->staging, &install->layer, message, sizeof message);
    if (result < 0) {
        char how[128];
        spawn_describe_status(status, how, sizeof how);
        const char *tail = install->output.data ? install->output.data : "";
        size_t len = install->output.size;
        while (len > 0 && (tail[len - 1] == '\n' || tail[len - 1] == ' '))
            len--;
        size_t start = len > 600 ? len - 600 : 0;
        snprintf(message, sizeof message, "installing the dependencies for %s failed: the installer %s: %.*s",
                 install->description, how, (int)(len - start), tail + start);
        error_type = "DependencyError";
    } else if (result == 0) {
        error_type = "DependencyError";
    } else if (rename(install->staging, install->layer.dir) < 0) {
        /* another kernel finished the same layer first: use that one */
        if ((errno != ENOTEMPTY && errno != EEXIST) ||
            deps_read_result(install->layer.dir, &install->layer, message, sizeof message) != 1) {
            snprintf(message, sizeof message, "cannot keep the dependency layer in %.300s: %s", install->layer.dir,
                     strerror(errno));
            error_type = "DependencyError";
        }
    }
    deps_done_fn done = install->done;
    void *ctx2 = install->ctx;
    struct deps_layer layer = install->layer;
    deps_install_end(install);
    done(ctx2, error_type ? NULL : &layer, error_type, message);
}

/* Removes ROOT's staging folders of HASH whose process is gone (a kernel
 * killed while pip ran): HASH.staging.PID.N. */
static void deps_remove_stale(const char *root, const char *hash)
{
    DIR *dir = opendir(root);
    if (dir == NULL)
        return;
    char prefix[96];
    snprintf(prefix, sizeof prefix, "%s.staging.", hash);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strncmp(entry->d_name, prefix, strlen(prefix)) != 0)
            continue;
        long pid = strtol(entry->d_name + strlen(prefix), NULL, 10);
        char path[4400];
        if (pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH &&
            fsutil_path(path, sizeof path, "%s/%s", root, entry->d_name) == 0)
            fsutil_remove_tree(path);
    }
    closedir(dir);
}

static int deps_start(struct deps *deps, const char *requirements, const char *file, const struct deps_target *target,
                      struct deps_install *install, char *err, size_t err_size)
{
    json_t *job_target = json_pack("{s:s, s:s, s:b}", "description", target->description, "python_version",
                                   target->python_version, "zip", target->zip);
    if (strcmp(target->kind, "lambda") == 0)
        json_object_set_new(job_target, "platforms", deps_lambda_platforms(target));
    json_t *job = json_pack("{s:s, s:s, s:s?, s:o}", "folder", install->staging, "requirements", requirements,
                            "requirements_file", file, "target", job_target);
    char *text = job ? json_dumps(job, JSON_COMPACT) : NULL;
    json_decref(job);
    char *env_job = NULL;
    if (text == NULL || asprintf(&env_job, "FAASET_DEPS_JOB=%s", text) < 0) {
        free(text);
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    free(text);
    int pipe_fds[2];
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || pipe2(pipe_fds, O_CLOEXEC) < 0) {
        snprintf(err, err_size, "cannot start pip: %s", strerror(errno));
        if (devnull >= 0)
            close(devnull);
        free(env_job);
        return -1;
    }
    const char *env[] = {env_job, "PYTHONDONTWRITEBYTECODE=1", NULL};
    struct spawn_options options = {
        .python = deps->python, .source = (const char *)embedded_find("runtime/python/faaset_deps.py")->data,
        .env = env, .cwd = deps->workdir, .child_fd = devnull, .stdin_fd = devnull, .stdout_fd = pipe_fds[1],
        .stderr_fd = pipe_fds[1]};
    install->pid = spawn_python(&options, err, err_size);
    close(pipe_fds[1]);
    close(devnull);
    free(env_job);
    if (install->pid < 0) {
        install->pid = 0;
        close(pipe_fds[0]);
        return -1;
    }
    install->fd = pipe_fds[0];
    fcntl(install->fd, F_SETFL, fcntl(install->fd, F_GETFL) | O_NONBLOCK);
    if (reactor_watch(deps->reactor, install->fd, REACTOR_READ, deps_on_output, install) < 0) {
        snprintf(err, err_size, "cannot watch pip's output");
        return -1;
    }
    return 0;
}

/* 1 when LAYER (its hash and dir set) is complete on disk: its layer.json
 * says it worked and what it installed is there (python/, and layer.zip
 * for a target that uploads it). */
static int deps_layer_complete(struct deps_layer *layer, const struct deps_target *target)
{
    char message[1400], path[4200];
    struct stat st;
    return deps_read_result(layer->dir, layer, message, sizeof message) == 1 &&
           fsutil_path(path, sizeof path, "%s/python", layer->dir) == 0 && stat(path, &st) == 0 &&
           S_ISDIR(st.st_mode) &&
           (!target->zip ||
            (fsutil_path(path, sizeof path, "%s/layer.zip", layer->dir) == 0 && stat(path, &st) == 0));
}

int deps_layer_find(struct deps *deps, const char *requirements, const char *file, const struct deps_target *target,
                    struct deps_layer *layer, char *err, size_t err_size)
{
    memset(layer, 0, sizeof *layer);
    const char *parts[] = {"faaset-deps-1", requirements, file ? file : "", target->kind, target->python_version,
                           target->arch, target->zip ? "zip" : "", strcmp(target->kind, "local") == 0 ? deps->python : ""};
    package_hash_parts(parts, sizeof parts / sizeof parts[0], layer->hash);
    if (fsutil_path(layer->dir, sizeof layer->dir, "%s/.faaset/deps/%s", deps->workdir, layer->hash) < 0) {
        snprintf(err, err_size, "the notebook's folder is too long a path for the dependency cache");
        return -1;
    }
    return deps_layer_complete(layer, target);
}

int deps_layer_get(struct deps *deps, const char *requirements, const char *file, const struct deps_target *target,
                   struct deps_layer *layer, deps_done_fn done, void *ctx, char *err, size_t err_size)
{
    int found = deps_layer_find(deps, requirements, file, target, layer, err, err_size);
    if (found != 0)
        return found;
    char root[4096];
    if (fsutil_path(root, sizeof root, "%s/.faaset/deps", deps->workdir) < 0) {
        snprintf(err, err_size, "the notebook's folder is too long a path for the dependency cache");
        return -1;
    }
    fsutil_remove_tree(layer->dir); /* a layer that failed or lost files is not kept: install it again */
    deps_remove_stale(root, layer->hash);
    struct deps_install *install = calloc(1, sizeof *install);
    if (install == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    *install = (struct deps_install){.deps = deps, .fd = -1, .layer = *layer, .done = done, .ctx = ctx};
    snprintf(install->description, sizeof install->description, "%s", target->description);
    list_init(&install->node);
    if (fsutil_mkdirs(root, 0700) < 0 ||
        fsutil_path(install->staging, sizeof install->staging, "%s.staging.%ld.%u", layer->dir, (long)getpid(),
                    deps->serial++) < 0 ||
        (fsutil_remove_tree(install->staging), mkdir(install->staging, 0700)) < 0) {
        snprintf(err, err_size, "cannot create the dependency cache in %.300s: %s", root, strerror(errno));
        free(install);
        return -1;
    }
    list_push_back(&deps->installs, &install->node);
    if (deps_start(deps, requirements, file, target, install, err, err_size) < 0) {
        deps_install_end(install);
        return -1;
    }
    log_info("installing dependencies for %s into %s", target->description, install->staging);
    return 0;
}
