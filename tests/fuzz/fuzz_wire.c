/* Fuzz target: the Jupyter wire codec. The input is the multipart
 * message's frames (identities, "<IDS|MSG>", signature, header, parent,
 * metadata, content, buffers), separated as fuzz_input.h says; its first
 * byte chooses the key (empty: nothing is signed or checked, so the JSON
 * frames are reached; "secret": the signature is checked first). A message
 * that decodes is re-signed and decoded again. */
#include <stdint.h>

#include "fuzz_input.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *key = data[0] & 1 ? "secret" : "";
    struct wire_signer *signer = wire_signer_new(key, strlen(key));
    struct fuzz_piece pieces[16];
    size_t count = fuzz_pieces((const char *)data + 1, size - 1, pieces, 16);
    struct wire_bytes frames[16];
    for (size_t i = 0; i < count; i++)
        frames[i] = (struct wire_bytes){pieces[i].data, pieces[i].size};
    struct message *msg = NULL;
    char err[256];
    if (signer != NULL && wire_decode(signer, frames, count, &msg, err, sizeof err) == 0) {
        (void)message_type(msg);
        message_free(msg);
    }
    if (count >= 4) {
        char signature[65];
        (void)wire_sign(signer, frames, signature);
    }
    wire_signer_free(signer);
    return 0;
}
