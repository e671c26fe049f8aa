/* buffer: growable bytes (see buffer.h). */
#include "buffer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int buffer_reserve(struct buffer *buffer, size_t extra)
{
    if (buffer->failed)
        return -1;
    if (buffer->size + extra + 1 <= buffer->capacity)
        return 0;
    size_t capacity = buffer->capacity ? buffer->capacity : 4096;
    while (capacity < buffer->size + extra + 1)
        capacity *= 2;
    char *grown = realloc(buffer->data, capacity);
    if (grown == NULL) {
        buffer->failed = 1;
        return -1;
    }
    buffer->data = grown;
    buffer->capacity = capacity;
    return 0;
}

void buffer_append(struct buffer *buffer, const void *data, size_t size)
{
    if (buffer_reserve(buffer, size) < 0)
        return;
    memcpy(buffer->data + buffer->size, data, size);
    buffer->size += size;
    buffer->data[buffer->size] = '\0';
}

void buffer_puts(struct buffer *buffer, const char *text)
{
    buffer_append(buffer, text, strlen(text));
}

void buffer_puts_html(struct buffer *buffer, const char *text)
{
    for (; text != NULL && *text; text++) {
        const char *entity = *text == '<'   ? "&lt;"
                             : *text == '>' ? "&gt;"
                             : *text == '&' ? "&amp;"
                             : *text == '"' ? "&quot;"
                                            : NULL;
        if (entity != NULL)
            buffer_puts(buffer, entity);
        else
            buffer_append(buffer, text, 1);
    }
}

void buffer_printf(struct buffer *buffer, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int needed = vsnprintf(NULL, 0, fmt, args);
    va_end(args);
    if (needed < 0 || buffer_reserve(buffer, (size_t)needed) < 0)
        return;
    va_start(args, fmt);
    vsnprintf(buffer->data + buffer->size, (size_t)needed + 1, fmt, args);
    va_end(args);
    buffer->size += (size_t)needed;
}

void buffer_appendf_fixed(char *out, size_t size, const char *fmt, ...)
{
    size_t used = strnlen(out, size);
    if (used + 1 >= size)
        return;
    va_list args;
    va_start(args, fmt);
    vsnprintf(out + used, size - used, fmt, args);
    va_end(args);
}

void buffer_clear(struct buffer *buffer)
{
    buffer->size = 0;
    if (buffer->data != NULL)
        buffer->data[0] = '\0';
}

void buffer_free(struct buffer *buffer)
{
    free(buffer->data);
    buffer->data = NULL;
    buffer->size = buffer->capacity = 0;
    buffer->failed = 0;
}
