/* http_reply: reads an HTTP/1.1 (or 1.0) response from a byte stream as
 * it arrives, in pieces of any size, for the engine's own connections
 * (http_direct). It keeps what http.h promises the callers: the final
 * response's status, its header lines ("Name: value", blanks trimmed,
 * folded lines joined, informational 1xx responses dropped) and its body,
 * framed by Content-Length, chunked transfer coding or the end of the
 * connection. It also tells whether the connection may carry another
 * request afterwards. Sizes are capped (1 MiB of headers, 64 MiB of body);
 * a response that breaks the grammar ends with an error that says how. */
#ifndef FAASET_HTTP_REPLY_H
#define FAASET_HTTP_REPLY_H

#include <stddef.h>

#define HTTP_REPLY_MAX_HEAD ((size_t)1 << 20)
#define HTTP_REPLY_MAX_BODY ((size_t)64 << 20)

enum http_reply_state { HTTP_REPLY_MORE, HTTP_REPLY_DONE, HTTP_REPLY_FAILED };

struct http_reply {
    int phase;                  /* where in the grammar (private) */
    int no_body;                /* the request was HEAD: no body whatever the headers say */
    int framing;                /* how the body ends (private) */
    int keep_alive;             /* once done: the connection may carry the next request */
    int seen_bytes;             /* some byte arrived */
    long status;                /* the final status, once its line is read */
    unsigned long long left;    /* body or chunk bytes still to come (private) */
    const char *error;          /* why it failed (a static string) */
    char *head;                 /* "Name: value\0" lines, then one more NUL; NULL until one */
    size_t head_size, head_capacity;
    char *body;                 /* NUL-terminated once allocated; NULL while empty */
    size_t body_size, body_capacity;
    char *line;                 /* the line being gathered across pieces */
    size_t line_size, line_capacity;
};

/* Ready for a response to a request; NO_BODY for HEAD. */
void http_reply_init(struct http_reply *reply, int no_body);

/* Frees what the reply holds; it can be initialised again. */
void http_reply_free(struct http_reply *reply);

/* Takes the next SIZE bytes of the stream. DONE: the response is complete,
 * *USED bytes of DATA belong to it (any after them do not); FAILED: see
 * ERROR; MORE: all taken, more needed. */
enum http_reply_state http_reply_feed(struct http_reply *reply, const char *data, size_t size, size_t *used);

/* The connection ended (the peer closed it): DONE when that ends the body
 * of a response without a length, else FAILED ("empty reply from server",
 * "connection closed before the response ended"). */
enum http_reply_state http_reply_end(struct http_reply *reply);

/* Appends header LINE (LENGTH bytes, without its CR LF) to a head in the
 * format above (*HEAD NULL while empty; *CAPACITY its allocation): blanks
 * around it trimmed, a line starting with a blank joined to the previous
 * one. 0, or -1 when the head would pass HTTP_REPLY_MAX_HEAD, -2 when out
 * of memory. libcurl's header lines go through it too. */
int http_reply_add_header(char **head, size_t *size, size_t *capacity, const char *line, size_t length);

#endif
