/* Fuzz target: SigV4's canonical request. The input's pieces are the
 * method, the URL, the body, then header lines ("Name: value"); the
 * request is signed with fixed keys at a fixed date, as the aws adapter
 * signs every call, and the URL's host and the path's encoding are
 * derived as the adapter derives them. */
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_input.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A piece as a NUL-terminated copy (NULL when it holds a NUL). */
static char *fuzz_text(struct fuzz_piece piece)
{
    if (memchr(piece.data, '\0', piece.size) != NULL)
        return NULL;
    return strndup(piece.data, piece.size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_piece pieces[12];
    size_t count = fuzz_pieces((const char *)data, size, pieces, 12);
    char *texts[12] = {0};
    const char *headers[10] = {0};
    int usable = 1;
    for (size_t i = 0; i < count; i++) {
        if (i == 2)
            continue; /* the body: any bytes */
        texts[i] = fuzz_text(pieces[i]);
        usable &= texts[i] != NULL;
    }
    for (size_t i = 3; i < count; i++)
        headers[i - 3] = texts[i];
    if (usable && count >= 2) {
        struct sigv4_credentials credentials = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token"};
        struct sigv4_request request = {.method = texts[0], .url = texts[1], .headers = headers,
                                        .body = count > 2 ? pieces[2].data : NULL,
                                        .body_size = count > 2 ? pieces[2].size : 0, .region = "us-east-1",
                                        .service = "lambda", .amz_date = "20150830T123600Z",
                                        .double_encode_path = 1, .normalize_path = 1};
        struct sigv4_result result;
        char err[256];
        if (sigv4_sign(&request, &credentials, &result, err, sizeof err) == 0)
            sigv4_result_free(&result);
        char host[256];
        (void)sigv4_host_from_url(texts[1], host, sizeof host);
        free(sigv4_uri_encode(texts[1], data[0] & 1));
    }
    for (size_t i = 0; i < count; i++)
        free(texts[i]);
    return 0;
}
