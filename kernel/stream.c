/* stream: stdout / stderr coalescing with UTF-8 repair (see stream.h). */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "reactor.h"
#include "utf8.h"

#define STREAM_MAX_HELD (64 * 1024)

struct stream_buffer {
    stream_publish_fn publish;
    void *ctx;
    char name[8];            /* stream the held text belongs to, "" when none */
    char *text;
    size_t length;
    size_t capacity;
    long long since_ms;      /* when the held text first arrived */
    unsigned char tail[2][4]; /* incomplete UTF-8 sequence per raw stream */
    size_t tail_length[2];
};

struct stream_buffer *stream_buffer_new(stream_publish_fn publish, void *ctx)
{
    struct stream_buffer *buffer = calloc(1, sizeof *buffer);
    if (buffer != NULL) {
        buffer->publish = publish;
        buffer->ctx = ctx;
    }
    return buffer;
}

void stream_buffer_free(struct stream_buffer *buffer)
{
    if (buffer == NULL)
        return;
    free(buffer->text);
    free(buffer);
}

static void stream_publish_held(struct stream_buffer *buffer)
{
    if (buffer->length > 0)
        buffer->publish(buffer->ctx, buffer->name, buffer->text, buffer->length);
    buffer->length = 0;
    buffer->name[0] = '\0';
}

static int stream_reserve(struct stream_buffer *buffer, size_t extra)
{
    if (buffer->length + extra <= buffer->capacity)
        return 0;
    size_t capacity = buffer->capacity ? buffer->capacity : 1024;
    while (capacity < buffer->length + extra)
        capacity *= 2;
    char *grown = realloc(buffer->text, capacity);
    if (grown == NULL)
        return -1;
    buffer->text = grown;
    buffer->capacity = capacity;
    return 0;
}

/* Appends DATA as valid UTF-8. Returns how many trailing bytes form an
 * incomplete sequence that was not appended (only when KEEP_TAIL). */
static size_t stream_append_utf8(struct stream_buffer *buffer, const unsigned char *data, size_t length, int keep_tail)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    if (stream_reserve(buffer, length * 3) < 0)
        return 0;
    size_t i = 0;
    while (i < length) {
        size_t n = utf8_sequence_length(data[i]);
        if (n > 1 && i + n > length) {
            int prefix_ok = utf8_sequence_valid(data + i, length - i);
            if (keep_tail && prefix_ok)
                return length - i;
            n = 0;
        }
        if (n == 0 || !utf8_sequence_valid(data + i, n)) {
            memcpy(buffer->text + buffer->length, replacement, 3);
            buffer->length += 3;
            i++;
            continue;
        }
        memcpy(buffer->text + buffer->length, data + i, n);
        buffer->length += n;
        i += n;
    }
    return 0;
}

void stream_buffer_append(struct stream_buffer *buffer, const char *name, const char *data, size_t length, int raw)
{
    if (length == 0)
        return;
    if (strcmp(buffer->name, name) != 0) {
        stream_publish_held(buffer);
        strncpy(buffer->name, name, sizeof buffer->name - 1);
    }
    if (buffer->length == 0)
        buffer->since_ms = clock_mono_ms();
    int which = strcmp(name, "stderr") == 0;
    if (raw && buffer->tail_length[which] > 0) {
        unsigned char joined[8];
        size_t have = buffer->tail_length[which];
        size_t take = length < 4 ? length : 4;
        memcpy(joined, buffer->tail[which], have);
        memcpy(joined + have, data, take);
        size_t lead = utf8_sequence_length(joined[0]);
        if (lead > have + length) { /* still incomplete: keep waiting */
            memcpy(buffer->tail[which] + have, data, length);
            buffer->tail_length[which] += length;
            return;
        }
        size_t used = lead > have && lead <= have + take ? lead - have : 0;
        stream_append_utf8(buffer, joined, used ? lead : have, 0);
        buffer->tail_length[which] = 0;
        data += used;
        length -= used;
    }
    size_t tail = stream_append_utf8(buffer, (const unsigned char *)data, length, raw);
    if (tail > 0) {
        memcpy(buffer->tail[which], data + length - tail, tail);
        buffer->tail_length[which] = tail;
    }
    if (buffer->length >= STREAM_MAX_HELD)
        stream_publish_held(buffer);
}

void stream_buffer_flush(struct stream_buffer *buffer)
{
    static const char *const names[2] = {"stdout", "stderr"};
    for (int which = 0; which < 2; which++) {
        if (buffer->tail_length[which] == 0)
            continue;
        size_t held = buffer->tail_length[which];
        buffer->tail_length[which] = 0;
        stream_buffer_append(buffer, names[which], (const char *)buffer->tail[which], held, 0);
    }
    stream_publish_held(buffer);
}

int stream_buffer_tick(struct stream_buffer *buffer)
{
    if (buffer->length == 0)
        return -1;
    long long due = buffer->since_ms + STREAM_FLUSH_MS - clock_mono_ms();
    if (due <= 0) {
        stream_publish_held(buffer);
        return -1;
    }
    return (int)due;
}
