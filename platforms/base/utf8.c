/* utf8: code points, offsets and sequence checks (see utf8.h). */
#include "utf8.h"

static int utf8_is_continuation(unsigned char byte)
{
    return (byte & 0xC0) == 0x80;
}

size_t utf8_code_points(const char *text, size_t bytes)
{
    size_t count = 0;
    for (size_t i = 0; i < bytes; i++)
        count += !utf8_is_continuation((unsigned char)text[i]);
    return count;
}

size_t utf8_offset(const char *text, size_t length, size_t points)
{
    size_t offset = 0;
    for (size_t seen = 0; offset < length && seen < points; seen++) {
        offset++;
        while (offset < length && utf8_is_continuation((unsigned char)text[offset]))
            offset++;
    }
    return offset;
}

size_t utf8_sequence_length(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xC2 && lead <= 0xDF)
        return 2;
    if (lead >= 0xE0 && lead <= 0xEF)
        return 3;
    if (lead >= 0xF0 && lead <= 0xF4)
        return 4;
    return 0;
}

int utf8_sequence_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (!utf8_is_continuation(s[i]))
            return 0;
    if (n >= 2 && s[0] == 0xE0 && s[1] < 0xA0)
        return 0; /* overlong */
    if (n >= 2 && s[0] == 0xED && s[1] >= 0xA0)
        return 0; /* surrogate */
    if (n >= 2 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90)))
        return 0; /* overlong, or past U+10FFFF */
    return 1;
}

size_t utf8_valid_prefix(const char *text, size_t size)
{
    const unsigned char *bytes = (const unsigned char *)text;
    size_t at = 0;
    while (at < size) {
        size_t n = utf8_sequence_length(bytes[at]);
        if (n == 0 || at + n > size || !utf8_sequence_valid(bytes + at, n))
            break;
        at += n;
    }
    return at;
}
