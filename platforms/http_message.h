/* http_message: the request and the response of the HTTP engine (see
 * http.h), shared by its two carriers: libcurl (http.c) and its own
 * HTTP/1.1 client (http_direct.c). */
#ifndef FAASET_HTTP_MESSAGE_H
#define FAASET_HTTP_MESSAGE_H

#include <stddef.h>

struct http_request {
    const char *method;                     /* "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD" */
    const char *url;                        /* http:// or https:// */
    /* "Name: value" strings, NULL-terminated, or NULL. Copied by http_send.
     * As in libcurl, "Name:" removes a header the engine would send and
     * "Name;" sends an empty one. Sent unless given: User-Agent
     * "faaset/VERSION" and libcurl's Accept (any type); never sent unless
     * given: Content-Type, Expect. */
    const char *const *headers;
    /* Copied by http_send. POST, PUT and PATCH always send it (with
     * Content-Length: 0 when empty), other methods but HEAD when not empty. */
    const void *body;
    size_t body_size;
    long timeout_ms;                        /* whole-transfer timeout from http_send, 0 = none */
    /* https: a PEM file of the CA certificates to trust instead of the
     * usual ones (NULL: SSL_CERT_FILE / SSL_CERT_DIR when set, else the
     * system's store), and what named it, for messages ("AWS_CA_BUNDLE"). */
    const char *ca_file;
    const char *ca_source;
};

/* Valid only during the callback. */
struct http_response {
    long status;                            /* HTTP status (any), 0 when ERROR is set */
    /* NULL, or why no response came: "Timeout was reached: ...", "Failed
     * to connect to ... (Connection refused)", "Could not resolve host: ...",
     * "URL using bad/illegal format ...", "response too large" (over 64 MiB),
     * "cancelled", ... */
    const char *error;
    int timed_out;                          /* 1 when the error is timeout_ms running out */
    const char *body;                       /* never NULL, NUL-terminated (the body may hold NULs too) */
    size_t body_size;
    /* The final response's header lines ("Name: value", without CRLF),
     * each NUL-terminated, the list ending with an empty string. Read them
     * with http_response_header. */
    const char *headers;
    double sent_ms, received_ms;            /* epoch ms (CLOCK_REALTIME): when http_send took the request,
                                               and when the response was read (or the request ended),
                                               not when the callback runs */
    double total_ms;                        /* received - sent, on the monotonic clock */
};

#endif
