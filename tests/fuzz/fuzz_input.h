/* fuzz_input: what every fuzz target here shares: the input cut into
 * pieces at a separator, so one byte string can stand for several frames,
 * fields or reads of a socket. */
#ifndef FAASET_FUZZ_INPUT_H
#define FAASET_FUZZ_INPUT_H

#include <stddef.h>
#include <string.h>

/* "\n|\n" separates pieces in every corpus file. */
#define FUZZ_SEPARATOR "\n|\n"

struct fuzz_piece {
    const char *data;
    size_t size;
};

/* Cuts DATA (SIZE bytes) at each separator into at most MAX pieces (the
 * last one takes the rest); returns how many. */
static inline size_t fuzz_pieces(const char *data, size_t size, struct fuzz_piece *pieces, size_t max)
{
    size_t count = 0;
    const size_t separator = sizeof FUZZ_SEPARATOR - 1;
    while (count + 1 < max) {
        const char *at = size >= separator ? memmem(data, size, FUZZ_SEPARATOR, separator) : NULL;
        if (at == NULL)
            break;
        pieces[count++] = (struct fuzz_piece){data, (size_t)(at - data)};
        size -= (size_t)(at - data) + separator;
        data = at + separator;
    }
    pieces[count++] = (struct fuzz_piece){data, size};
    return count;
}

#endif
