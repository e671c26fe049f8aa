/* buffer: a growable byte buffer for building files and texts (zips,
 * reports, CSV rows, SVG). Appends double the capacity as needed and keep
 * the bytes NUL-terminated so text can be used as a string; an allocation
 * failure sets `failed` and makes every later append a no-op, so callers
 * check once at the end. */
#ifndef FAASET_BUFFER_H
#define FAASET_BUFFER_H

#include <stddef.h>

struct buffer {
    char *data;
    size_t size;
    size_t capacity;
    int failed;
};

void buffer_append(struct buffer *buffer, const void *data, size_t size);
void buffer_puts(struct buffer *buffer, const char *text);
void buffer_printf(struct buffer *buffer, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends TEXT (NULL: nothing) with <, >, & and " as HTML entities, for HTML and SVG. */
void buffer_puts_html(struct buffer *buffer, const char *text);

/* Appends to the NUL-terminated text in OUT (an array of SIZE bytes),
 * cutting what does not fit: for messages built in a caller's fixed array. */
void buffer_appendf_fixed(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Empties the buffer, keeping its memory. */
void buffer_clear(struct buffer *buffer);
void buffer_free(struct buffer *buffer);

#endif
