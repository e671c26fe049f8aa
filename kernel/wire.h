/* wire: Jupyter messages on ZeroMQ sockets. Encoding and decoding of the
 * multipart frames [ids..., "<IDS|MSG>", signature, header, parent_header,
 * metadata, content, buffers...] and their HMAC-SHA256 signatures.
 *
 * Decoding verifies the signature over the four JSON frames exactly as
 * received (never re-serialised), checks its length first and compares in
 * constant time. An empty key means messages are neither signed nor checked.
 * The codec (wire_decode / wire_encode) is separate from the socket I/O so
 * it can be tested without ZeroMQ. */
#ifndef FAASET_WIRE_H
#define FAASET_WIRE_H

#include <stddef.h>

#include "message.h"

#define WIRE_DELIMITER "<IDS|MSG>"
#define WIRE_SIGNATURE_HEX_LEN 64

struct wire_signer;

struct wire_bytes {
    const void *data;
    size_t size;
};

/* KEY is copied; the caller may wipe its own copy. Returns NULL when out of memory. */
struct wire_signer *wire_signer_new(const char *key, size_t key_len);
void wire_signer_free(struct wire_signer *signer);

/* Lowercase hex HMAC-SHA256 of the four JSON frames into OUT (65 bytes with NUL).
 * With an empty key OUT is "". Returns 0 or -1. */
int wire_sign(const struct wire_signer *signer, const struct wire_bytes parts[4], char out[65]);

/* Parses FRAMES into a new message (*OUT). Returns 0, or -1 with a reason in ERR
 * (bad signature, missing delimiter, invalid JSON, ...). */
int wire_decode(const struct wire_signer *signer, const struct wire_bytes *frames, size_t frame_count,
                struct message **out, char *err, size_t err_size);

/* Receives one message from SOCKET without blocking. Returns 1 and *OUT on a
 * message, 0 when nothing is waiting, -1 on a rejected message (ERR says why;
 * the frames have been consumed). */
int wire_recv(void *socket, const struct wire_signer *signer, struct message **out, char *err, size_t err_size);

/* Sends MSG on SOCKET: its identities first, or TOPIC as the first frame when
 * TOPIC is not NULL (IOPub). Returns 0 or -1. */
int wire_send(void *socket, const struct wire_signer *signer, const struct message *msg, const char *topic);

#endif
