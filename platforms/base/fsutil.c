/* fsutil: folders, whole-file reads, atomic replacement (see fsutil.h). */
#include "fsutil.h"

#include <stdarg.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fsutil_mkdirs(const char *path, mode_t mode)
{
    char buffer[4096];
    if (snprintf(buffer, sizeof buffer, "%s/", path) >= (int)sizeof buffer) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *slash = strchr(buffer + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(buffer, mode) < 0 && errno != EEXIST)
            return -1;
        *slash = '/';
    }
    return 0;
}

int fsutil_write_atomic(const char *path, const void *data, size_t size, mode_t mode)
{
    char temp[4200];
    snprintf(temp, sizeof temp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    int ok = fchmod(fd, mode) == 0 && write(fd, data, size) == (ssize_t)size && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(temp, path) < 0) {
        saved = ok ? errno : saved;
        unlink(temp);
        errno = saved;
        return -1;
    }
    return 0;
}

char *fsutil_read(const char *path, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t used = 0, capacity = 4096;
    char *data = malloc(capacity);
    ssize_t n = 0;
    while (data != NULL) {
        if (used + 1 == capacity) { /* pipes and /proc files have no size: grow as they come */
            char *grown = realloc(data, capacity * 2);
            if (grown == NULL) {
                free(data);
                data = NULL;
                break;
            }
            data = grown;
            capacity *= 2;
        }
        n = read(fd, data + used, capacity - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        used += (size_t)n;
    }
    int saved = errno;
    close(fd);
    if (data != NULL && n < 0) {
        free(data);
        data = NULL;
    }
    if (data != NULL) {
        data[used] = '\0';
        if (size != NULL)
            *size = used;
    }
    errno = saved;
    return data;
}

int fsutil_remove_tree(const char *path)
{
    DIR *dir = opendir(path);
    if (dir == NULL)
        return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
    int rc = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            rc |= fsutil_remove_tree(child);
        else if (unlink(child) < 0)
            rc = -1;
    }
    closedir(dir);
    return rmdir(path) == 0 && rc == 0 ? 0 : -1;
}

json_t *fsutil_load_json(const char *path, char *err, size_t err_size)
{
    json_error_t json_err;
    json_t *value = json_load_file(path, 0, &json_err);
    if (value != NULL)
        return value;
    char where[32] = ""; /* jansson says line -1 when the file itself could not be read */
    if (json_err.line > 0)
        snprintf(where, sizeof where, " (line %d)", json_err.line);
    snprintf(err, err_size, "%s%s", json_err.text, where);
    return NULL;
}

int fsutil_path(char *out, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int length = vsnprintf(out, size, format, args);
    va_end(args);
    if (length < 0 || (size_t)length >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}
