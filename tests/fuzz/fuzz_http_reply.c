/* Fuzz target: the HTTP/1.1 response reader of the engine's own client.
 * The input's pieces arrive as separate reads of the socket; its first
 * byte says whether the request was HEAD; after the last piece the peer
 * closes the connection. A response that completes is followed by the next
 * one on the same connection, as keep-alive does. */
#include <stdint.h>

#include "fuzz_input.h"
#include "http_reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct http_reply reply;
    http_reply_init(&reply, data[0] & 1);
    struct fuzz_piece pieces[64];
    size_t count = fuzz_pieces((const char *)data + 1, size - 1, pieces, 64);
    enum http_reply_state state = HTTP_REPLY_MORE;
    for (size_t i = 0; i < count && state != HTTP_REPLY_FAILED; i++) {
        const char *at = pieces[i].data;
        size_t left = pieces[i].size;
        while (left > 0 && state != HTTP_REPLY_FAILED) {
            size_t used = 0;
            state = http_reply_feed(&reply, at, left, &used);
            if (state == HTTP_REPLY_MORE)
                break;
            if (state == HTTP_REPLY_DONE) {
                at += used;
                left -= used;
                http_reply_free(&reply);
                http_reply_init(&reply, data[0] & 1);
                state = HTTP_REPLY_MORE;
                if (used == 0)
                    break;
            }
        }
    }
    if (state == HTTP_REPLY_MORE)
        (void)http_reply_end(&reply);
    http_reply_free(&reply);
    return 0;
}
