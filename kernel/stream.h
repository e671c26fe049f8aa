/* stream: coalesces stdout / stderr text into IOPub `stream` messages.
 * A cell printing a thousand short lines should not cost a thousand
 * messages, yet output must show while the cell runs: text is held until
 * STREAM_FLUSH_MS after it first arrived, 64 KiB pile up, the other stream
 * or any other output needs to go first, or the request ends.
 * Raw bytes from the runtime's fd 1 / fd 2 may split a UTF-8 sequence or be
 * invalid: incomplete tails wait for the next read and invalid bytes become
 * U+FFFD, so every message is valid JSON text. */
#ifndef FAASET_STREAM_H
#define FAASET_STREAM_H

#include <stddef.h>

#define STREAM_FLUSH_MS 50

struct stream_buffer;

/* Called with whole, valid UTF-8 text ready to publish. */
typedef void (*stream_publish_fn)(void *ctx, const char *name, const char *text, size_t length);

struct stream_buffer *stream_buffer_new(stream_publish_fn publish, void *ctx);
void stream_buffer_free(struct stream_buffer *buffer);

/* Adds text for NAME ("stdout" or "stderr"). RAW marks bytes straight from a
 * file descriptor, which may end inside a UTF-8 sequence. */
void stream_buffer_append(struct stream_buffer *buffer, const char *name, const char *data, size_t length, int raw);

/* Publishes whatever is held, including an incomplete UTF-8 tail (as U+FFFD). */
void stream_buffer_flush(struct stream_buffer *buffer);

/* Publishes held text if it is due. Returns the milliseconds until the next
 * flush is due, or -1 when nothing is held. */
int stream_buffer_tick(struct stream_buffer *buffer);

#endif
