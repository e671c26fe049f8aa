/* Unit tests for http_reply, the engine's HTTP/1.x response reader. Every
 * case is fed whole, one byte at a time, and split in two at every point,
 * and must give the same status, header lines, body and keep-alive verdict
 * (or the same error) each way: Content-Length, chunked with extensions and
 * trailers, an interim 100, HEAD, 204, 304, HTTP/1.0 with and without
 * keep-alive, a body up to the close, folded and padded headers, bytes
 * after the response; and the errors: no status line, bad or conflicting
 * lengths, a Transfer-Encoding not ending in chunked, bad chunks, a
 * switch of protocol, truncation, an empty reply, sizes over the caps. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http_reply.h"

struct reply_case {
    const char *name;
    const char *text;
    int no_body;                /* the request was HEAD */
    int ends_with_close;        /* the stream then closes (http_reply_end) */
    long status;                /* expected, or 0 with ERROR */
    const char *head;           /* expected lines joined by '|' */
    const char *body;
    int keep_alive;
    size_t extra;               /* bytes after the response */
    const char *error;          /* expected error, or NULL */
};

static const struct reply_case cases[] = {
    {"length", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello", 0, 0, 200,
     "Content-Type: text/plain|Content-Length: 5", "hello", 1, 0, NULL},
    {"no reason phrase", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 0, 0, 404, "Content-Length: 0", "", 1, 0,
     NULL},
    {"bare LF lines", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 0, 0, 200, "Content-Length: 2", "ok", 1, 0, NULL},
    {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\none \r\n4\r\ntwo \r\n"
                "5\r\nthree\r\n0\r\nX-Trailer: t\r\n\r\n",
     0, 0, 200, "Transfer-Encoding: chunked", "one two three", 1, 0, NULL},
    {"chunked, upper-case hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
     0, 0, 200, "Transfer-Encoding: gzip, chunked", "0123456789", 1, 0, NULL},
    {"interim 100", "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nnew",
     0, 0, 201, "Content-Length: 3", "new", 1, 0, NULL},
    {"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 1, 0, 200, "Content-Length: 5", "", 1, 0, NULL},
    {"204", "HTTP/1.1 204 No Content\r\n\r\n", 0, 0, 204, "", "", 1, 0, NULL},
    {"304 with a length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", 0, 0, 304,
     "Content-Length: 10", "", 1, 0, NULL},
    {"HTTP/1.0 up to the close", "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nall of it", 0, 1, 200, "Server: old",
     "all of it", 0, 0, NULL},
    {"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi", 0, 0, 200,
     "Connection: Keep-Alive|Content-Length: 2", "hi", 1, 0, NULL},
    {"Connection: close", "HTTP/1.1 200 OK\r\nConnection: upgrade, close\r\nContent-Length: 2\r\n\r\nhi", 0, 0, 200,
     "Connection: upgrade, close|Content-Length: 2", "hi", 0, 0, NULL},
    {"folded and padded", "HTTP/1.1 200 OK\r\nX-Long: one\r\n  two\r\nX-Pad:   value  \r\nContent-Length: 0\r\n\r\n", 0,
     0, 200, "X-Long: one two|X-Pad:   value|Content-Length: 0", "", 1, 0, NULL},
    {"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", 0, 0, 200,
     "Content-Length: 1|Content-Length: 1", "x", 1, 0, NULL},
    {"bytes after it", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200", 0, 0, 200, "Content-Length: 2",
     "ok", 1, 12, NULL},
    {"binary body", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n\r\n\n", 0, 0, 200, "Content-Length: 3", "\r\n\n", 1,
     0, NULL},

    {"not HTTP", "SSH-2.0-OpenSSH\r\n", 0, 0, 0, NULL, NULL, 0, 0, "invalid HTTP response: no HTTP/1.x status line"},
    {"HTTP/2 preface", "HTTP/2 200\r\n\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "invalid HTTP response: no HTTP/1.x status line"},
    {"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "invalid HTTP response: a Content-Length that is not a number"},
    {"two lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "invalid HTTP response: two different Content-Length headers"},
    {"gzip alone", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "invalid HTTP response: a Transfer-Encoding that does not end in chunked"},
    {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "invalid HTTP response: a bad chunk size"},
    {"chunk too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "invalid HTTP response: a chunk longer than its size"},
    {"header without colon", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "invalid HTTP response: a header line without a colon"},
    {"switching protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "invalid HTTP response: the server switched protocols"},
    {"too large", "HTTP/1.1 200 OK\r\nContent-Length: 70000000\r\n\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "response too large"},
    {"chunk too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n", 0, 0, 0, NULL, NULL, 0, 0,
     "response too large"},
    {"truncated body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", 0, 1, 0, NULL, NULL, 0, 0,
     "connection closed before the response ended"},
    {"truncated head", "HTTP/1.1 200 OK\r\nContent-Le", 0, 1, 0, NULL, NULL, 0, 0,
     "connection closed before the response ended"},
    {"empty", "", 0, 1, 0, NULL, NULL, 0, 0, "empty reply from server"},
};

/* The expected head: lines joined by '|' become NUL-separated. */
static int head_matches(const struct http_reply *reply, const char *expected)
{
    const char *line = reply->head != NULL ? reply->head : "";
    const char *want = expected;
    for (;;) {
        size_t length = strcspn(want, "|");
        if (length == 0 && *line == '\0')
            return 1;
        if (strlen(line) != length || strncmp(line, want, length) != 0)
            return 0;
        line += length + 1;
        want += length;
        if (*want == '|')
            want++;
        else if (*line != '\0')
            return 0;
    }
}

/* Feeds TEXT in pieces: whole (STEP 0), STEP bytes at a time, or split at SPLIT. */
static int run_case(const struct reply_case *c, size_t step, size_t split)
{
    size_t size = strlen(c->text);
    struct http_reply reply;
    http_reply_init(&reply, c->no_body);
    enum http_reply_state state = HTTP_REPLY_MORE;
    size_t at = 0, consumed = 0;
    while (state == HTTP_REPLY_MORE && at < size) {
        size_t piece = step > 0 ? step : split > 0 && at < split ? split : size - at;
        if (piece > size - at)
            piece = size - at;
        size_t used = 0;
        state = http_reply_feed(&reply, c->text + at, piece, &used);
        consumed += used;
        at += piece;
    }
    if (state == HTTP_REPLY_MORE && c->ends_with_close)
        state = http_reply_end(&reply);
    int ok;
    if (c->error != NULL) {
        ok = state == HTTP_REPLY_FAILED && reply.error != NULL && strcmp(reply.error, c->error) == 0;
    } else {
        ok = state == HTTP_REPLY_DONE && reply.status == c->status && head_matches(&reply, c->head) &&
             reply.body_size == strlen(c->body) && memcmp(reply.body ? reply.body : "", c->body, reply.body_size) == 0 &&
             (reply.body == NULL || reply.body[reply.body_size] == '\0') && reply.keep_alive == c->keep_alive &&
             size - consumed == c->extra;
    }
    if (!ok)
        fprintf(stderr, "case \"%s\" (step %zu, split %zu): state %d, status %ld, error %s, body %zu bytes\n", c->name,
                step, split, (int)state, reply.status, reply.error ? reply.error : "(none)", reply.body_size);
    http_reply_free(&reply);
    return ok;
}

static void test_cases(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct reply_case *c = &cases[i];
        CHECK(run_case(c, 0, 0));
        CHECK(run_case(c, 1, 0));
        int splits_ok = 1;
        for (size_t split = 1; split < strlen(c->text); split++)
            splits_ok &= run_case(c, 0, split);
        CHECK(splits_ok);
    }
}

/* A head over 1 MiB is refused, however it arrives. */
static void test_head_cap(void)
{
    struct http_reply reply;
    http_reply_init(&reply, 0);
    enum http_reply_state state = http_reply_feed(&reply, "HTTP/1.1 200 OK\r\n", 17, NULL);
    char line[1024];
    memset(line, 'a', sizeof line);
    memcpy(line, "X-Big: ", 7);
    line[sizeof line - 2] = '\r';
    line[sizeof line - 1] = '\n';
    for (int i = 0; i < 2000 && state == HTTP_REPLY_MORE; i++)
        state = http_reply_feed(&reply, line, sizeof line, NULL);
    CHECK(state == HTTP_REPLY_FAILED && strcmp(reply.error, "response too large") == 0);
    CHECK(reply.head_size <= HTTP_REPLY_MAX_HEAD);
    http_reply_free(&reply);
}

/* A body announced by Content-Length takes one allocation of its size. */
static void test_one_allocation(void)
{
    struct http_reply reply;
    http_reply_init(&reply, 0);
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    CHECK(http_reply_feed(&reply, head, strlen(head), NULL) == HTTP_REPLY_MORE);
    CHECK(reply.body_capacity == 100001);
    char block[1000];
    memset(block, 'b', sizeof block);
    enum http_reply_state state = HTTP_REPLY_MORE;
    for (int i = 0; i < 100; i++)
        state = http_reply_feed(&reply, block, sizeof block, NULL);
    CHECK(state == HTTP_REPLY_DONE && reply.body_size == 100000 && reply.body_capacity == 100001);
    http_reply_free(&reply);
}

int main(void)
{
    test_cases();
    test_head_cap();
    test_one_allocation();
    return check_report();
}
