/* deploy_state: state files under .faaset (see deploy_state.h). */
#include "deploy_state.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "fsutil.h"

#define STATE_FORMAT "faaset-deploy-state"
#define STATE_VERSION 1

/* Takes the folder's lock (LOCK_SH or LOCK_EX); returns the fd or -1. */
static int deploy_state_lock(const char *workdir, int how)
{
    char path[4096];
    if (fsutil_path(path, sizeof path, "%s/.faaset", workdir) < 0 || fsutil_mkdirs(path, 0700) < 0 ||
        fsutil_path(path, sizeof path, "%s/.faaset/state.lock", workdir) < 0)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, how) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* The state file of NAME on PLATFORM; 0, or -1 with ERR when the path does not fit. */
static int deploy_state_path(const char *workdir, const char *platform, const char *name, char *out, size_t size,
                             char *err, size_t err_size)
{
    if (fsutil_path(out, size, "%s/.faaset/state/%s/%s.json", workdir, platform, name) == 0)
        return 0;
    snprintf(err, err_size, "the state file's path (under %.200s...) is longer than %zu bytes: use a shorter folder",
             workdir, size - 1);
    return -1;
}

static int deploy_state_copy(json_t *root, const char *key, char *out, size_t size)
{
    const char *text = json_string_value(json_object_get(root, key));
    if (text == NULL || strlen(text) >= size)
        return -1;
    strcpy(out, text);
    return 0;
}

static int deploy_state_parse(json_t *root, struct deploy_record *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(root) || strcmp(json_string_value(json_object_get(root, "format")) ?: "", STATE_FORMAT) != 0 ||
        json_integer_value(json_object_get(root, "version")) != STATE_VERSION)
        return -1;
    out->memory_mb = (int)json_integer_value(json_object_get(root, "memory_mb"));
    out->timeout_s = (int)json_integer_value(json_object_get(root, "timeout_s"));
    if (json_object_get(root, "remote") != NULL && deploy_state_copy(root, "remote", out->remote, sizeof out->remote) < 0)
        return -1;
    out->max_instances = (int)json_integer_value(json_object_get(root, "max_instances"));
    if ((json_object_get(root, "arch") != NULL &&
         deploy_state_copy(root, "arch", out->arch, sizeof out->arch) < 0) ||
        (json_object_get(root, "runtime") != NULL &&
         deploy_state_copy(root, "runtime", out->runtime, sizeof out->runtime) < 0) ||
        (json_object_get(root, "env_keys") != NULL &&
         deploy_state_copy(root, "env_keys", out->env_keys, sizeof out->env_keys) < 0))
        return -1;
    if (json_object_get(root, "package_sha256") != NULL &&
        deploy_state_copy(root, "package_sha256", out->package_sha256, sizeof out->package_sha256) < 0)
        return -1;
    return deploy_state_copy(root, "code_hash", out->code_hash, sizeof out->code_hash) |
           deploy_state_copy(root, "config_hash", out->config_hash, sizeof out->config_hash) |
           deploy_state_copy(root, "deployed_at", out->deployed_at, sizeof out->deployed_at) |
           deploy_state_copy(root, "function", out->function, sizeof out->function);
}

int deploy_state_read(const char *workdir, const char *platform, const char *name, struct deploy_record *out,
                      char *err, size_t err_size)
{
    char path[4096];
    if (deploy_state_path(workdir, platform, name, path, sizeof path, err, err_size) < 0)
        return -1;
    int lock = deploy_state_lock(workdir, LOCK_SH);
    json_error_t json_err;
    json_t *root = json_load_file(path, 0, &json_err);
    int missing = root == NULL && access(path, F_OK) < 0 && errno == ENOENT;
    if (lock >= 0)
        close(lock);
    if (missing)
        return 0;
    int rc = 1;
    if (root == NULL) {
        snprintf(err, err_size, "the state file %s is not valid JSON (%s)", path, json_err.text);
        rc = -1;
    } else if (deploy_state_parse(root, out) < 0) {
        snprintf(err, err_size, "the state file %s is not a faaset %d state file", path, STATE_VERSION);
        rc = -1;
    }
    json_decref(root);
    return rc;
}

int deploy_state_remove(const char *workdir, const char *platform, const char *name, char *err, size_t err_size)
{
    char path[4096];
    if (deploy_state_path(workdir, platform, name, path, sizeof path, err, err_size) < 0)
        return -1;
    int lock = deploy_state_lock(workdir, LOCK_EX);
    int rc = unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    if (rc < 0)
        snprintf(err, err_size, "cannot remove the state file %s: %s", path, strerror(errno));
    if (lock >= 0)
        close(lock);
    return rc;
}

int deploy_state_write(const char *workdir, const char *platform, const char *name,
                       const struct deploy_record *record, char *err, size_t err_size)
{
    char dir[4096], path[4096];
    if (deploy_state_path(workdir, platform, name, path, sizeof path, err, err_size) < 0 ||
        deploy_state_path(workdir, platform, "", dir, sizeof dir, err, err_size) < 0)
        return -1;
    *strrchr(dir, '/') = '\0'; /* the platform's folder */
    json_t *root = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i}", "format", STATE_FORMAT, "version",
                             STATE_VERSION, "name", name, "platform", platform, "function", record->function,
                             "code_hash", record->code_hash, "config_hash", record->config_hash, "deployed_at",
                             record->deployed_at, "memory_mb", record->memory_mb, "timeout_s", record->timeout_s);
    if (root != NULL && record->remote[0])
        json_object_set_new(root, "remote", json_string(record->remote));
    if (root != NULL && record->package_sha256[0])
        json_object_set_new(root, "package_sha256", json_string(record->package_sha256));
    if (root != NULL && record->arch[0])
        json_object_set_new(root, "arch", json_string(record->arch));
    if (root != NULL && record->runtime[0])
        json_object_set_new(root, "runtime", json_string(record->runtime));
    if (root != NULL && record->env_keys[0])
        json_object_set_new(root, "env_keys", json_string(record->env_keys));
    if (root != NULL && record->max_instances > 0)
        json_object_set_new(root, "max_instances", json_integer(record->max_instances));
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    int lock = deploy_state_lock(workdir, LOCK_EX);
    int rc = text != NULL && lock >= 0 && fsutil_mkdirs(dir, 0700) == 0 &&
                     fsutil_write_atomic(path, text, strlen(text), 0600) == 0
                 ? 0
                 : -1;
    if (rc < 0)
        snprintf(err, err_size, "cannot write the state file %s: %s", path, strerror(errno));
    if (lock >= 0)
        close(lock);
    free(text);
    return rc;
}

static int deploy_state_compare(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int by_name = strcmp(json_string_value(json_object_get(x, "name")), json_string_value(json_object_get(y, "name")));
    return by_name ? by_name
                   : strcmp(json_string_value(json_object_get(x, "platform")),
                            json_string_value(json_object_get(y, "platform")));
}

/* RECORD as deploy_state_list shows it. */
static json_t *deploy_state_item(const char *name, const char *platform, const struct deploy_record *record)
{
    json_t *keys = json_array();
    for (const char *p = record->env_keys; *p;) {
        size_t len = strcspn(p, ",");
        if (len > 0)
            json_array_append_new(keys, json_stringn(p, len));
        p += len + (p[len] == ',');
    }
    json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:o}", "name", name, "platform",
                             platform, "function", record->function, "code_hash", record->code_hash, "config_hash",
                             record->config_hash, "deployed_at", record->deployed_at, "memory_mb", record->memory_mb,
                             "timeout_s", record->timeout_s, "arch", record->arch, "runtime", record->runtime,
                             "env_keys", keys);
    if (item != NULL && record->max_instances > 0)
        json_object_set_new(item, "max_instances", json_integer(record->max_instances));
    if (item != NULL && record->remote[0])
        json_object_set_new(item, "remote", json_string(record->remote));
    return item;
}

json_t *deploy_state_list(const char *workdir)
{
    json_t *list = json_array();
    char root_path[4096];
    DIR *platforms = fsutil_path(root_path, sizeof root_path, "%s/.faaset/state", workdir) == 0 ? opendir(root_path)
                                                                                                 : NULL;
    struct dirent *platform;
    while (list != NULL && platforms != NULL && (platform = readdir(platforms)) != NULL) {
        if (platform->d_name[0] == '.')
            continue;
        char dir_path[4400];
        snprintf(dir_path, sizeof dir_path, "%s/%s", root_path, platform->d_name);
        DIR *files = opendir(dir_path);
        struct dirent *file;
        while (files != NULL && (file = readdir(files)) != NULL) {
            size_t len = strlen(file->d_name);
            if (file->d_name[0] == '.' || len < 6 || strcmp(file->d_name + len - 5, ".json") != 0)
                continue;
            char name[256], err[512];
            snprintf(name, sizeof name, "%.*s", (int)(len - 5), file->d_name);
            struct deploy_record record;
            if (deploy_state_read(workdir, platform->d_name, name, &record, err, sizeof err) == 1)
                json_array_append_new(list, deploy_state_item(name, platform->d_name, &record));
        }
        if (files != NULL)
            closedir(files);
    }
    if (platforms != NULL)
        closedir(platforms);
    size_t count = json_array_size(list);
    json_t **items = malloc((count ? count : 1) * sizeof *items);
    if (items != NULL && count > 1) {
        for (size_t i = 0; i < count; i++)
            items[i] = json_incref(json_array_get(list, i));
        qsort(items, count, sizeof *items, deploy_state_compare);
        json_array_clear(list);
        for (size_t i = 0; i < count; i++)
            json_array_append_new(list, items[i]);
    }
    free(items);
    return list;
}

int deploy_state_claim(const char *workdir, const char *platform, const char *name, long *holder, char *err,
                       size_t err_size)
{
    char path[4096];
    if (fsutil_path(path, sizeof path, "%s/.faaset/locks/%s/%s.lock", workdir, platform, name) < 0) {
        snprintf(err, err_size, "the lock file's path (under %.200s...) is longer than %zu bytes: use a shorter folder",
                 workdir, sizeof path - 1);
        return -1;
    }
    *strrchr(path, '/') = '\0';
    if (fsutil_mkdirs(path, 0700) < 0) {
        snprintf(err, err_size, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    path[strlen(path)] = '/'; /* the lock file again */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int busy = errno == EWOULDBLOCK;
        char text[32] = "";
        ssize_t n = busy ? pread(fd, text, sizeof text - 1, 0) : -1;
        *holder = n > 0 ? strtol(text, NULL, 10) : 0;
        if (!busy)
            snprintf(err, err_size, "cannot lock %s: %s", path, strerror(errno));
        close(fd);
        return busy ? -2 : -1;
    }
    char text[32];
    int length = snprintf(text, sizeof text, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)length, 0) != length)
        *holder = 0; /* (the claim holds; only its note of who holds it is missing) */
    return fd;
}

void deploy_state_unclaim(int fd)
{
    if (fd >= 0)
        close(fd); /* closing the only fd of the open file ends its flock */
}
