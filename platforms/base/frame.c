/* frame: length-prefixed JSON frames (see frame.h). */
#include "frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void frame_decoder_init(struct frame_decoder *decoder)
{
    memset(decoder, 0, sizeof *decoder);
}

void frame_decoder_free(struct frame_decoder *decoder)
{
    free(decoder->buffer);
    memset(decoder, 0, sizeof *decoder);
}

int frame_decoder_feed(struct frame_decoder *decoder, const void *data, size_t size)
{
    if (size == 0)
        return 0; /* (a fresh decoder has no buffer to add nothing to) */
    if (decoder->used + size > decoder->capacity) {
        size_t capacity = decoder->capacity ? decoder->capacity : 4096;
        while (capacity < decoder->used + size)
            capacity *= 2;
        unsigned char *grown = realloc(decoder->buffer, capacity);
        if (grown == NULL)
            return -1;
        decoder->buffer = grown;
        decoder->capacity = capacity;
    }
    memcpy(decoder->buffer + decoder->used, data, size);
    decoder->used += size;
    return 0;
}

int frame_decoder_next(struct frame_decoder *decoder, json_t **out, char *err, size_t err_size)
{
    if (decoder->used < 4)
        return 0;
    const unsigned char *b = decoder->buffer;
    size_t length = ((size_t)b[0] << 24) | ((size_t)b[1] << 16) | ((size_t)b[2] << 8) | (size_t)b[3];
    if (length > FRAME_MAX_SIZE) {
        snprintf(err, err_size, "frame of %zu bytes exceeds the %u-byte limit", length, FRAME_MAX_SIZE);
        return -1;
    }
    if (decoder->used < 4 + length)
        return 0;
    json_error_t json_err;
    json_t *value = json_loadb((const char *)b + 4, length, JSON_ALLOW_NUL, &json_err);
    memmove(decoder->buffer, decoder->buffer + 4 + length, decoder->used - 4 - length);
    decoder->used -= 4 + length;
    if (value == NULL || !json_is_object(value)) {
        snprintf(err, err_size, "frame is not a JSON object: %s", value ? "wrong type" : json_err.text);
        json_decref(value);
        return -1;
    }
    *out = value;
    return 1;
}

int frame_encode(const json_t *value, unsigned char **out, size_t *out_size)
{
    char *text = json_dumps(value, JSON_COMPACT);
    if (text == NULL)
        return -1;
    size_t length = strlen(text);
    unsigned char *frame = malloc(length + 4);
    if (frame == NULL) {
        free(text);
        return -1;
    }
    frame[0] = (unsigned char)(length >> 24);
    frame[1] = (unsigned char)(length >> 16);
    frame[2] = (unsigned char)(length >> 8);
    frame[3] = (unsigned char)length;
    memcpy(frame + 4, text, length);
    free(text);
    *out = frame;
    *out_size = length + 4;
    return 0;
}

int frame_send(int fd, const json_t *value)
{
    unsigned char *bytes;
    size_t size, sent = 0;
    if (fd < 0 || frame_encode(value, &bytes, &size) < 0)
        return -1;
    while (sent < size) {
        ssize_t n = send(fd, bytes + sent, size - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    free(bytes);
    return sent == size ? 0 : -1;
}
