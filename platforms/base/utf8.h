/* utf8: the few UTF-8 facts the kernel needs. Jupyter counts cursor
 * positions in code points (not bytes), and output must reach frontends as
 * valid UTF-8 (stream.c repairs what processes print). */
#ifndef FAASET_UTF8_H
#define FAASET_UTF8_H

#include <stddef.h>

/* Code points in the first BYTES bytes of TEXT (continuation bytes are not counted). */
size_t utf8_code_points(const char *text, size_t bytes);

/* The byte offset of code point POINTS in TEXT (LENGTH bytes): LENGTH when
 * TEXT has fewer. */
size_t utf8_offset(const char *text, size_t length, size_t points);

/* How many of TEXT's first SIZE bytes are whole, valid UTF-8: where a
 * message cut at a byte count must be cut instead. */
size_t utf8_valid_prefix(const char *text, size_t size);

/* Length of the sequence starting with LEAD, or 0 if LEAD cannot start one. */
size_t utf8_sequence_length(unsigned char lead);

/* The N bytes at S are one well-formed sequence (or, if N is short, a valid
 * start of one): continuation bytes, no overlong form, no surrogate, nothing
 * past U+10FFFF. */
int utf8_sequence_valid(const unsigned char *s, size_t n);

#endif
