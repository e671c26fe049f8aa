/* targets: runner targets for platform functions and HTTP endpoints (see
 * targets.h). Each call carries the runner's callback in a small record,
 * freed when the platform or the engine answers. An HTTP endpoint's runs
 * are timed by the engine (sent, answer read), not by when the callback
 * runs. An experiment sends the same few payload objects thousands of
 * times, so an HTTP target keeps the last one it sent (a reference) and
 * its JSON text, and serialises a payload only when it is another object. */
#include "targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "retry.h"

struct target {
    struct runner_target runner;
    struct cloud *cloud;
    struct http_engine *engine;
    char function[128];
    char platform[CLOUD_PLATFORM_NAME_SIZE];
    char remote[180];           /* a platform function's own name, looked up once */
    char *endpoint;
    const struct price *price;  /* a platform function's runs are billed at it; NULL: not billed */
    int memory_mb;              /* its deployed memory, 0 when unknown */
    unsigned invoke_flags;      /* aws: the log tail too, for Lambda's own Billed Duration */
    json_t *body_of;            /* HTTP: the last payload sent (a reference), BODY its text */
    char *body;
    size_t body_size;
};

struct target_call {
    runner_done_fn done;
    void *call;
};

/* The "Billed Duration: N ms" of Lambda's REPORT line in LOG (the end of
 * the call's log), or 0. */
static double target_billed_in_log(const char *log)
{
    const char *found = log ? strstr(log, "Billed Duration: ") : NULL;
    if (found == NULL)
        return 0;
    char *end;
    double ms = strtod(found + strlen("Billed Duration: "), &end);
    return end != found && strncmp(end, " ms", 3) == 0 && ms > 0 ? ms : 0;
}

/* A platform's answer, as the runner's outcome. */
static void target_on_platform_done(void *ctx, const struct cloud_outcome *answer)
{
    struct target_call *call = ctx;
    const struct platform_outcome *platform = &answer->platform;
    struct runner_outcome outcome = {.ok = platform->ok, .result = platform->result,
                                     .error_type = platform->error_type, .message = platform->message,
                                     .throttled = platform->throttled, .retry_after_ms = platform->retry_after_ms,
                                     .sent_epoch_ms = platform->sent_ms, .received_epoch_ms = platform->received_ms,
                                     .round_trip_ms = platform->round_trip_ms,
                                     .billed_ms = target_billed_in_log(platform->log)};
    call->done(call->call, &outcome);
    free(call);
}

static int target_function_invoke(void *ctx, const json_t *payload, runner_done_fn done, void *runner_call)
{
    struct target *target = ctx;
    struct target_call *call = malloc(sizeof *call);
    if (call == NULL)
        return -1;
    *call = (struct target_call){done, runner_call};
    /* the runner retries throttled calls itself, and counts them in the row */
    struct cloud_call request = {.function = target->function, .platform = target->platform,
                                 .remote = target->remote, .payload = payload, .flags = target->invoke_flags,
                                 .retry = 0};
    cloud_call(target->cloud, &request, target_on_platform_done, call);
    return 0;
}

static int target_function_set_memory(void *ctx, int memory_mb, runner_done_fn done, void *runner_call)
{
    struct target *target = ctx;
    struct target_call *call = malloc(sizeof *call);
    if (call == NULL)
        return -1;
    *call = (struct target_call){done, runner_call};
    cloud_set_memory(target->cloud, target->function, target->platform, memory_mb, target_on_platform_done, call);
    return 0;
}

static void target_function_prepare(void *ctx, int calls)
{
    struct target *target = ctx;
    (void)cloud_prepare(target->cloud, target->platform, target->remote, (size_t)calls);
}

static size_t target_function_preparing(void *ctx)
{
    struct target *target = ctx;
    return cloud_preparing(target->cloud, target->platform, target->remote);
}

/* A successful run's bill in its row (see targets.h). */
static void target_function_annotate(void *ctx, json_t *row)
{
    struct target *target = ctx;
    const char *status = json_string_value(json_object_get(row, "status"));
    if (target->price == NULL || status == NULL || strcmp(status, "ok") != 0)
        return;
    const json_t *setting = json_object_get(row, "memorySetting");
    int memory_mb = json_is_integer(setting) && json_integer_value(setting) > 0 ? (int)json_integer_value(setting)
                                                                                : target->memory_mb;
    const json_t *billed = json_object_get(row, "billedDuration"); /* the platform's own, when it said */
    if (memory_mb <= 0)
        return;
    if (json_is_number(billed)) {
        struct price_bill bill = prices_bill_billed(target->price, json_number_value(billed), memory_mb);
        json_object_set_new(row, "billedMemory", json_integer(bill.billed_memory_mb));
        json_object_set_new(row, "cost", json_real(bill.cost));
        return;
    }
    const char *from = "runtime";
    const json_t *measure = json_object_get(row, from);
    if (!json_is_number(measure))
        measure = json_object_get(row, from = "roundTripTime");
    if (!json_is_number(measure))
        return;
    struct price_bill bill = prices_bill(target->price, json_number_value(measure), memory_mb);
    json_object_set_new(row, "billedDuration", json_real(bill.billed_ms));
    json_object_set_new(row, "billedMemory", json_integer(bill.billed_memory_mb));
    json_object_set_new(row, "cost", json_real(bill.cost));
    json_object_set_new(row, "billedFrom", json_string(from));
}

struct target *target_function(struct cloud *cloud, const char *function, const char *platform,
                               const struct price *price, int memory_mb)
{
    struct target *target = calloc(1, sizeof *target);
    if (target == NULL)
        return NULL;
    target->cloud = cloud;
    snprintf(target->function, sizeof target->function, "%s", function);
    if (platform != NULL)
        snprintf(target->platform, sizeof target->platform, "%s", platform);
    else
        cloud_platform_of(cloud, function, target->platform, sizeof target->platform);
    cloud_remote_name(cloud, function, target->platform, target->remote, sizeof target->remote);
    target_bill(target, price, memory_mb);
    target->runner = (struct runner_target){target, target->function, target->platform, target_function_invoke,
                                            target_function_set_memory, 1, target_function_prepare,
                                            target_function_preparing, target_function_annotate};
    return target;
}

static void target_on_http(void *ctx, const struct http_response *response)
{
    struct target_call *call = ctx;
    struct runner_outcome outcome = {.sent_epoch_ms = response->sent_ms,
                                     .received_epoch_ms = response->received_ms,
                                     .round_trip_ms = response->total_ms};
    char type[32], message[512];
    if (response->error != NULL) {
        outcome.error_type = response->timed_out ? "Timeout" : "ConnectionError";
        outcome.message = response->error;
    } else if (response->status == 429) {
        outcome.error_type = "TooManyRequests";
        outcome.message = "HTTP 429";
        outcome.throttled = 1;
        outcome.retry_after_ms = retry_after_header_ms(http_response_header(response, "Retry-After"));
    } else if (response->status < 200 || response->status > 299) {
        snprintf(type, sizeof type, "HTTP %ld", response->status);
        snprintf(message, sizeof message, "%.500s", response->body);
        outcome.error_type = type;
        outcome.message = message;
    } else {
        outcome.ok = 1; /* parsed by the runner when it writes the row, not in the wave of answers */
        outcome.result_text = response->body;
        outcome.result_size = response->body_size;
    }
    call->done(call->call, &outcome);
    free(call);
}

/* PAYLOAD's JSON text in TARGET->body (kept while the runner passes the same payload object); -1 when out of memory. */
static int target_http_body(struct target *target, const json_t *payload)
{
    if (target->body_of == payload) /* held by reference: the same object, the same text */
        return 0;
    char *body = json_dumps(payload, JSON_COMPACT | JSON_ENCODE_ANY);
    if (body == NULL)
        return -1;
    free(target->body);
    json_decref(target->body_of);
    target->body = body;
    target->body_size = strlen(body);
    target->body_of = json_incref((json_t *)payload);
    return 0;
}

static int target_http_invoke(void *ctx, const json_t *payload, runner_done_fn done, void *runner_call)
{
    struct target *target = ctx;
    struct target_call *call = malloc(sizeof *call);
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    int rc = -1;
    if (call != NULL && target_http_body(target, payload) == 0) {
        *call = (struct target_call){done, runner_call};
        struct http_request request = {
            .method = "POST", .url = target->endpoint, .headers = headers, .body = target->body,
            .body_size = target->body_size};
        rc = http_send(target->engine, &request, target_on_http, call);
    }
    if (rc < 0)
        free(call);
    return rc;
}

static void target_http_prepare(void *ctx, int calls)
{
    struct target *target = ctx;
    (void)http_prepare(target->engine, target->endpoint, NULL, (size_t)calls);
}

static size_t target_http_preparing(void *ctx)
{
    struct target *target = ctx;
    return http_preparing(target->engine, target->endpoint, NULL);
}

struct target *target_http(struct http_engine *engine, const char *function, const char *endpoint)
{
    struct target *target = calloc(1, sizeof *target);
    if (target == NULL || (target->endpoint = strdup(endpoint)) == NULL) {
        free(target);
        return NULL;
    }
    target->engine = engine;
    snprintf(target->function, sizeof target->function, "%s", function);
    target->runner = (struct runner_target){target, target->function, target->endpoint, target_http_invoke, NULL, 0,
                                            target_http_prepare, target_http_preparing, NULL};
    return target;
}

void target_bill(struct target *target, const struct price *price, int memory_mb)
{
    target->price = price;
    target->memory_mb = memory_mb;
    /* Lambda says what it billed in the REPORT line at the end of the log:
     * asked for (a few KB more per answer) only where runs are billed */
    target->invoke_flags = price != NULL && strcmp(target->platform, "aws") == 0 ? PLATFORM_INVOKE_LOG : 0;
}

const char *target_platform(const struct target *target)
{
    return target->platform;
}

const struct runner_target *target_runner(const struct target *target)
{
    return &target->runner;
}

void target_free(struct target *target)
{
    if (target == NULL)
        return;
    free(target->endpoint);
    free(target->body);
    json_decref(target->body_of);
    free(target);
}
