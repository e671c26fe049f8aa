/* http_test_client: the client side of the C tests that talk HTTP through
 * the engine (test_http, test_tls, and the clients' and credentials' tests):
 * a callback that copies what it saw, and loops that run the reactor until
 * enough requests are answered or a callback has set its flag. */
#ifndef FAASET_HTTP_TEST_CLIENT_H
#define FAASET_HTTP_TEST_CLIENT_H

#include <stddef.h>

#include "http.h"
#include "reactor.h"

/* What a callback saw, copied so it outlives the callback. */
struct http_test_result {
    int done;
    long status;
    char *error;
    int timed_out;
    char *body;
    size_t body_size;
    char *headers;
    double sent_ms, received_ms, total_ms;
    struct http_response view;  /* status, body and headers, for http_response_header */
};

/* Callbacks run so far (the loops below reset it). */
extern int http_test_completed;

/* The engine's callback: CTX is a struct http_test_result. */
void http_test_on_done(void *ctx, const struct http_response *response);
void http_test_result_clear(struct http_test_result *result);
const char *http_test_header(const struct http_test_result *result, const char *name);

/* Runs the loop until *DONE is set (0) or LIMIT_MS passes (-1); with DONE NULL, for LIMIT_MS. */
int http_test_wait(struct reactor *reactor, const int *done, long long limit_ms);
/* Runs the loop until http_test_completed reaches TARGET (0) or LIMIT_MS passes (-1). */
int http_test_run_until(struct reactor *reactor, int target, int limit_ms);
void http_test_run_for(struct reactor *reactor, int ms);

/* Sends one request and waits for it (up to 10 s). */
int http_test_fetch(struct reactor *reactor, struct http_engine *engine, const struct http_request *request,
                    struct http_test_result *result);

#endif
