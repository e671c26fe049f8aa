/* Unit tests for utf8: code points counted and offsets found as Jupyter
 * counts cursors, sequence lengths and checks (overlong forms, surrogates,
 * past U+10FFFF), and the valid prefix a cut message is trimmed to. */
#include <string.h>

#include "check.h"
#include "utf8.h"

int main(void)
{
    const char *text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"; /* a é € 😀 z */
    size_t size = strlen(text);
    CHECK(size == 11);
    CHECK(utf8_code_points(text, size) == 5);
    CHECK(utf8_code_points(text, 3) == 2);          /* "a" and all of é */
    CHECK(utf8_offset(text, size, 0) == 0);
    CHECK(utf8_offset(text, size, 2) == 3);         /* after é */
    CHECK(utf8_offset(text, size, 4) == 10);        /* after 😀 */
    CHECK(utf8_offset(text, size, 99) == size);     /* past the end: the end */

    CHECK(utf8_sequence_length('a') == 1 && utf8_sequence_length(0xC3) == 2);
    CHECK(utf8_sequence_length(0xE2) == 3 && utf8_sequence_length(0xF0) == 4);
    CHECK(utf8_sequence_length(0x80) == 0 && utf8_sequence_length(0xC0) == 0 && utf8_sequence_length(0xF5) == 0);
    CHECK(utf8_sequence_valid((const unsigned char *)"\xE2\x82\xAC", 3));
    CHECK(!utf8_sequence_valid((const unsigned char *)"\xE0\x80\x80", 3));  /* overlong */
    CHECK(!utf8_sequence_valid((const unsigned char *)"\xED\xA0\x80", 3));  /* a surrogate */
    CHECK(!utf8_sequence_valid((const unsigned char *)"\xF4\x90\x80\x80", 4)); /* past U+10FFFF */
    CHECK(utf8_sequence_valid((const unsigned char *)"\xF0\x9F", 2));      /* a valid start */
    CHECK(!utf8_sequence_valid((const unsigned char *)"\xC3" "a", 2));

    CHECK(utf8_valid_prefix(text, size) == size);
    CHECK(utf8_valid_prefix(text, 2) == 1);         /* cut inside é: before it */
    CHECK(utf8_valid_prefix(text, 9) == 6);         /* cut inside 😀 */
    CHECK(utf8_valid_prefix("ok\xFFok", 5) == 2);   /* stops at a byte that starts nothing */
    CHECK(utf8_valid_prefix("", 0) == 0);
    return check_report();
}
