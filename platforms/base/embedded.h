/* embedded: files compiled into the faaset binary (the Python runtime,
 * the kernelspec logos), so an installed kernel needs nothing beside itself.
 * cmake/embed.cmake turns each file into a `struct embedded_file`. */
#ifndef FAASET_EMBEDDED_H
#define FAASET_EMBEDDED_H

#include <stddef.h>

struct embedded_file {
    const char *name;           /* path in the source tree, e.g. "runtime/python/bootstrap.py" */
    const unsigned char *data;  /* the bytes, followed by one NUL so text can be used as a string */
    size_t size;                /* number of bytes, not counting that NUL */
};

/* NULL-terminated table of every embedded file. */
extern const struct embedded_file *const embedded_files[];

/* The embedded file with this source path, or NULL. */
const struct embedded_file *embedded_find(const char *name);

#endif
