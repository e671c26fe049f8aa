/* http_test_client: see http_test_client.h. */
#include "http_test_client.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

int http_test_completed;

static char *http_test_copy(const char *data, size_t size)
{
    char *copy = malloc(size + 1);
    if (copy != NULL) {
        memcpy(copy, data, size);
        copy[size] = '\0';
    }
    return copy;
}

void http_test_on_done(void *ctx, const struct http_response *response)
{
    struct http_test_result *result = ctx;
    result->done++;
    http_test_completed++;
    result->status = response->status;
    result->error = response->error != NULL ? strdup(response->error) : NULL;
    result->timed_out = response->timed_out;
    result->body = http_test_copy(response->body, response->body_size);
    result->body_size = response->body_size;
    size_t headers_size = 0;
    while (response->headers[headers_size] != '\0')
        headers_size += strlen(response->headers + headers_size) + 1;
    result->headers = http_test_copy(response->headers, headers_size + 1);
    result->sent_ms = response->sent_ms;
    result->received_ms = response->received_ms;
    result->total_ms = response->total_ms;
    result->view.status = response->status;
    result->view.headers = result->headers;
    result->view.body = result->body;
    result->view.body_size = result->body_size;
}

void http_test_result_clear(struct http_test_result *result)
{
    free(result->error);
    free(result->body);
    free(result->headers);
    memset(result, 0, sizeof *result);
}

const char *http_test_header(const struct http_test_result *result, const char *name)
{
    return http_response_header(&result->view, name);
}

int http_test_wait(struct reactor *reactor, const int *done, long long limit_ms)
{
    long long deadline = clock_mono_ms() + limit_ms;
    while ((done == NULL || !*done) && clock_mono_ms() < deadline) {
        int wait = reactor_run_timers(reactor);
        struct pollfd p = {.fd = reactor_fd(reactor), .events = POLLIN};
        if (poll(&p, 1, wait < 0 || wait > 50 ? 50 : wait) > 0)
            reactor_dispatch(reactor);
    }
    return done != NULL && *done ? 0 : -1;
}

/* Runs the loop until COMPLETED reaches TARGET or LIMIT_MS passes. */
int http_test_run_until(struct reactor *reactor, int target, int limit_ms)
{
    long long deadline = clock_mono_ms() + limit_ms;
    for (;;) {
        int wait = reactor_run_timers(reactor);
        if (http_test_completed >= target)
            return 0;
        long long left = deadline - clock_mono_ms();
        if (left <= 0)
            return -1;
        if (wait < 0 || wait > left)
            wait = (int)left;
        if (wait > 100)
            wait = 100;
        struct pollfd p = {.fd = reactor_fd(reactor), .events = POLLIN};
        if (poll(&p, 1, wait) > 0)
            reactor_dispatch(reactor);
        if (http_test_completed >= target)
            return 0;
    }
}

void http_test_run_for(struct reactor *reactor, int ms)
{
    http_test_completed = 0;
    http_test_run_until(reactor, 1 << 30, ms);
}

/* Sends one request and waits for it. */
int http_test_fetch(struct reactor *reactor, struct http_engine *engine, const struct http_request *request,
                    struct http_test_result *result)
{
    http_test_completed = 0;
    if (http_send(engine, request, http_test_on_done, result) < 0)
        return -1;
    return http_test_run_until(reactor, 1, 10000);
}

