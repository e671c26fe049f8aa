/* Unit tests for stream: coalescing, switching streams, and UTF-8 repair of
 * raw bytes (split sequences are joined, invalid bytes become U+FFFD). */
#include <string.h>

#include "check.h"
#include "stream.h"

static char published[8][256];
static char published_name[8][8];
static int published_count;

static void record(void *ctx, const char *name, const char *text, size_t length)
{
    (void)ctx;
    if (published_count < 8) {
        snprintf(published[published_count], sizeof published[0], "%.*s", (int)length, text);
        snprintf(published_name[published_count], sizeof published_name[0], "%s", name);
    }
    published_count++;
}

static void reset(void)
{
    published_count = 0;
    memset(published, 0, sizeof published);
}

int main(void)
{
    struct stream_buffer *buffer = stream_buffer_new(record, NULL);

    reset();
    stream_buffer_append(buffer, "stdout", "a\n", 2, 0);
    stream_buffer_append(buffer, "stdout", "b\n", 2, 0);
    CHECK(published_count == 0);           /* held */
    CHECK(stream_buffer_tick(buffer) > 0); /* due later */
    stream_buffer_append(buffer, "stderr", "e", 1, 0);
    CHECK(published_count == 1 && strcmp(published[0], "a\nb\n") == 0 && strcmp(published_name[0], "stdout") == 0);
    stream_buffer_flush(buffer);
    CHECK(published_count == 2 && strcmp(published[1], "e") == 0 && strcmp(published_name[1], "stderr") == 0);

    reset(); /* "é" = C3 A9 split across two raw reads */
    stream_buffer_append(buffer, "stdout", "x\xc3", 2, 1);
    stream_buffer_append(buffer, "stdout", "\xa9y", 2, 1);
    stream_buffer_flush(buffer);
    CHECK(published_count == 1 && strcmp(published[0], "x\xc3\xa9y") == 0);

    reset(); /* a 4-byte sequence in three pieces */
    stream_buffer_append(buffer, "stdout", "\xf0\x9f", 2, 1);
    stream_buffer_append(buffer, "stdout", "\x98", 1, 1);
    stream_buffer_append(buffer, "stdout", "\x80!", 2, 1);
    stream_buffer_flush(buffer);
    CHECK(published_count == 1 && strcmp(published[0], "\xf0\x9f\x98\x80!") == 0);

    reset(); /* invalid bytes and a dangling tail at flush */
    stream_buffer_append(buffer, "stderr", "a\xff" "b\xc3", 4, 1);
    stream_buffer_flush(buffer);
    CHECK(published_count == 1 && strcmp(published[0], "a\xef\xbf\xbd" "b\xef\xbf\xbd") == 0);

    stream_buffer_free(buffer);
    return check_report();
}
