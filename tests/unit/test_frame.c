/* Unit tests for frame: encode/decode round trip, frames split across
 * reads, several frames in one read, and malformed input. */
#include <string.h>

#include "check.h"
#include "frame.h"

static void test_round_trip_split_and_joined(void)
{
    json_t *a = json_pack("{s:s, s:i}", "type", "stream", "n", 1);
    json_t *b = json_pack("{s:s, s:s}", "type", "reply", "text", "h\xc3\xa9llo");
    unsigned char *fa, *fb;
    size_t na, nb;
    CHECK(frame_encode(a, &fa, &na) == 0);
    CHECK(frame_encode(b, &fb, &nb) == 0);
    CHECK(fa[0] == 0 && fa[3] == na - 4);

    struct frame_decoder decoder;
    frame_decoder_init(&decoder);
    json_t *out = NULL;
    char err[128];
    for (size_t i = 0; i < na; i++) { /* one byte at a time */
        CHECK(frame_decoder_next(&decoder, &out, err, sizeof err) == 0);
        frame_decoder_feed(&decoder, fa + i, 1);
    }
    CHECK(frame_decoder_next(&decoder, &out, err, sizeof err) == 1);
    CHECK(json_equal(out, a));
    json_decref(out);

    frame_decoder_feed(&decoder, fa, na); /* two in one read */
    frame_decoder_feed(&decoder, fb, nb);
    CHECK(frame_decoder_next(&decoder, &out, err, sizeof err) == 1 && json_equal(out, a));
    json_decref(out);
    CHECK(frame_decoder_next(&decoder, &out, err, sizeof err) == 1 && json_equal(out, b));
    json_decref(out);
    CHECK(frame_decoder_next(&decoder, &out, err, sizeof err) == 0);
    frame_decoder_free(&decoder);
    free(fa);
    free(fb);
    json_decref(a);
    json_decref(b);
}

static void test_malformed(void)
{
    struct frame_decoder decoder;
    json_t *out = NULL;
    char err[128];
    frame_decoder_init(&decoder);
    frame_decoder_feed(&decoder, "\x00\x00\x00\x03[1]", 7);
    CHECK(frame_decoder_next(&decoder, &out, err, sizeof err) == -1); /* not an object */
    frame_decoder_feed(&decoder, "\x00\x00\x00\x02{x", 6);
    CHECK(frame_decoder_next(&decoder, &out, err, sizeof err) == -1); /* not JSON */
    frame_decoder_feed(&decoder, "\xff\xff\xff\xff", 4);
    CHECK(frame_decoder_next(&decoder, &out, err, sizeof err) == -1); /* absurd length */
    CHECK(strstr(err, "limit") != NULL);
    frame_decoder_free(&decoder);
}

/* A read of nothing on a fresh decoder (found by tests/fuzz: it added 0 to
 * a NULL buffer, undefined behaviour). */
static void test_empty_reads(void)
{
    struct frame_decoder decoder;
    frame_decoder_init(&decoder);
    CHECK(frame_decoder_feed(&decoder, "", 0) == 0);
    json_t *frame = NULL;
    char err[128];
    CHECK(frame_decoder_next(&decoder, &frame, err, sizeof err) == 0 && frame == NULL);
    frame_decoder_free(&decoder);
}

int main(void)
{
    test_empty_reads();
    test_round_trip_split_and_joined();
    test_malformed();
    return check_report();
}
