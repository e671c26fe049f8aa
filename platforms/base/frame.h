/* frame: the kernel <-> runtime pipe protocol's framing. Each frame is a
 * 4-byte big-endian length followed by that many bytes of UTF-8 JSON (one
 * object), so a message is never split or mixed with user output.
 * The decoder accumulates bytes as they arrive and yields whole frames. */
#ifndef FAASET_FRAME_H
#define FAASET_FRAME_H

#include <jansson.h>
#include <stddef.h>

#define FRAME_MAX_SIZE (256u * 1024u * 1024u)

struct frame_decoder {
    unsigned char *buffer;
    size_t used;
    size_t capacity;
};

void frame_decoder_init(struct frame_decoder *decoder);
void frame_decoder_free(struct frame_decoder *decoder);

/* Appends SIZE bytes. Returns 0 or -1 when out of memory. */
int frame_decoder_feed(struct frame_decoder *decoder, const void *data, size_t size);

/* Takes the next whole frame: returns 1 with *OUT, 0 when more bytes are
 * needed, -1 on a malformed frame (ERR says why; the stream is unusable). */
int frame_decoder_next(struct frame_decoder *decoder, json_t **out, char *err, size_t err_size);

/* Sends VALUE as one frame on the stream socket FD, blocking until it is all
 * written (the peer reads whenever it is owed one). Returns 0, or -1 when
 * the peer is gone. */
int frame_send(int fd, const json_t *value);

/* Encodes VALUE as one frame into a new buffer (*OUT, *OUT_SIZE). Returns 0 or -1. */
int frame_encode(const json_t *value, unsigned char **out, size_t *out_size);

#endif
