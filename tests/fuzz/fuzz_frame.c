/* Fuzz target: the runtime pipe's framing (4-byte big-endian length, then
 * JSON), as the kernel reads what the Python runtime and the local
 * platform's workers write. The input's pieces arrive as separate reads;
 * every whole frame is taken out as it completes. */
#include <stdint.h>

#include "frame.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct frame_decoder decoder;
    frame_decoder_init(&decoder);
    struct fuzz_piece pieces[64];
    size_t count = fuzz_pieces((const char *)data, size, pieces, 64);
    char err[256];
    for (size_t i = 0; i < count; i++) {
        if (frame_decoder_feed(&decoder, pieces[i].data, pieces[i].size) < 0)
            break;
        json_t *frame;
        int rc;
        while ((rc = frame_decoder_next(&decoder, &frame, err, sizeof err)) == 1)
            json_decref(frame);
        if (rc < 0)
            break;
    }
    frame_decoder_free(&decoder);
    return 0;
}
