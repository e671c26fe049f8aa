/* fsutil: the few file operations state needs: make a folder and its
 * parents, read a whole file, and replace a file atomically (write a
 * temporary file beside it, fsync, rename), so a reader sees the old
 * content or the new one, never half of either; and read a JSON file with
 * an error that says where. */
#ifndef FAASET_FSUTIL_H
#define FAASET_FSUTIL_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* Creates PATH and missing parents with MODE. Returns 0 or -1 (errno). */
int fsutil_mkdirs(const char *path, mode_t mode);

/* Writes DATA to PATH atomically with MODE. Returns 0 or -1 (errno). */
int fsutil_write_atomic(const char *path, const void *data, size_t size, mode_t mode);

/* Reads PATH into a new NUL-terminated buffer. Returns it, or NULL (errno). */
char *fsutil_read(const char *path, size_t *size);

/* Reads PATH as JSON. Returns it, or NULL with ERR saying why, with
 * "(line N)" when the JSON is what is wrong. */
json_t *fsutil_load_json(const char *path, char *err, size_t err_size);

/* Formats a path into OUT (SIZE bytes). Returns 0, or -1 with errno
 * ENAMETOOLONG when it does not fit: a cut path names another file, so
 * callers refuse it rather than use it. */
int fsutil_path(char *out, size_t size, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Removes PATH and everything below it. Returns 0 or -1. */
int fsutil_remove_tree(const char *path);

#endif
