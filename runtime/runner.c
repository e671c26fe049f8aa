/* runner: experiments on the event loop (see runner.h).
 *
 * Recording: what a finished run's row needs is noted at once (a few
 * numbers and references, no allocation), but the row is built, written
 * (JSON Lines and CSV) and counted into the statistics later, in a batch: when no
 * answer has come for RUNNER_RECORD_QUIET_MS, at each flush (every
 * RUNNER_FLUSH_MS, so rows still reach the disk within a second), before
 * the pass ends and before the summary. In a wave of thousands of answers
 * the slots send their next runs without waiting for the earlier rows'
 * rows (about half of the work per answer): the wave's last request
 * leaves after the answers are read, not after they are all written.
 *
 * Lifetimes: each outstanding target call holds the runner (`outstanding`);
 * the owner releases it after `finished`; whichever comes last frees it.
 * A run given up at an interrupt still has its call outstanding: its late
 * answer only drops that reference. */
#include "runner.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "list.h"
#include "retry.h"
#include "stats.h"

#define RUNNER_FLUSH_MS 1000
#define RUNNER_PROGRESS_MS 250
#define RUNNER_INTERRUPT_GRACE_MS 2000
#define RUNNER_LAUNCH_CHUNK 64
#define RUNNER_CONNECT_POLL_MS 10     /* how often the prepared connections are looked at */
#define RUNNER_CONNECT_WAIT_MS 30000  /* a pass waits for its connections at most this long */

/* Throttled runs: 20 retries, waits drawn up to 50 ms, 100 ms, ... 10 s. */
static const struct retry_policy runner_retry = {.base_ms = 50, .cap_ms = 10000, .max_retries = 20};
#define RUNNER_MAX_STAGES 16
#define RUNNER_RECORD_QUIET_MS 2     /* rows wait while answers keep coming closer than this */
#define RUNNER_RECORD_MAX 65536      /* rows waiting at most, whatever comes */
#define RUNNER_RECORD_BATCH 32       /* rows written before the loop reads its sockets again */

enum runner_state { RUNNER_RUNNING, RUNNER_STOPPING, RUNNER_FINISHED };

struct runner;

struct runner_slot {
    struct runner *runner;
    int index;
    int next_run;                    /* the run this slot makes next, in the current pass */
    int busy;
};

struct runner_call {
    struct runner *runner;
    struct runner_slot *slot;
    int run;
    int stage;                       /* in a pipeline */
    json_t *payload;                 /* a later stage's payload, NULL for the run's own */
    int retries;
    int abandoned;                   /* given up at an interrupt: its answer writes no row */
    double send_epoch_ms, send_mono_ms;
    unsigned long retry_timer;
    struct list_node node;           /* in the in-flight list */
};

/* A finished run, until its row is written (see the top). */
struct runner_record {
    int run, thread, stage, iteration, memory_mb, retries, ok;
    json_t *payload;                 /* references */
    json_t *result;                  /* or: */
    char *result_text;               /* a copy of the answer, parsed when the row is built */
    size_t result_size;
    char *error_type, *message;      /* copies, when it failed */
    const char *endpoint;            /* its target's */
    double send_epoch_ms, receive_epoch_ms, round_trip_ms;
    double billed_ms;                /* the platform's, 0 when it did not say */
};

struct runner {
    struct reactor *reactor;
    const struct experiment *experiment;
    struct runner_target targets[RUNNER_MAX_STAGES];
    int stages;
    struct results_store *store;
    struct runner_events events;
    struct stats *stats;
    enum runner_state state;
    int released;
    int outstanding;                 /* target calls not yet answered */
    int depth;                       /* runner code on the stack: never free under it */
    json_t *payloads;                /* this pass's */
    json_t *payload_text_of;         /* the last row's payload (a reference), PAYLOAD_TEXT its column */
    char *payload_text;
    int memory_index, iteration, memory_passes;
    int memory_mb;                   /* the setting of this pass, 0 = unchanged */
    int setting_memory;              /* a set_memory is not answered yet: an interrupt waits for it */
    struct runner_slot *slots;
    struct runner_slot **ready;      /* slots whose run ended, waiting to launch their next */
    int next_slot;                   /* the first slot of the pass not launched yet */
    int pass_over;                   /* the pass has ended (set once per pass) */
    int ready_count, draining;
    int active_slots;
    struct list_node in_flight;      /* calls sent or waiting to retry */
    long long launched, done, failed, in_flight_count, retries, total;
    double started_mono_ms;
    double connect_since_ms;         /* monotonic: when the pass began waiting for its connections */
    struct runner_record *unrecorded; /* finished runs whose rows are not written yet (see the top) */
    size_t unrecorded_first, unrecorded_count, unrecorded_capacity; /* those from FIRST to COUNT wait */
    long long answers_since_check;   /* answers since the record timer last looked */
    unsigned long flush_timer, progress_timer, phase_timer, grace_timer, record_timer;
    const char *phase;
    char stop_reason[64];
};

static void runner_start_pass(struct runner *r);
static void runner_maybe_end_pass(struct runner *r);
static int runner_launch(struct runner_slot *slot);
static void runner_finish(struct runner *r, const char *status);

static void runner_call_free(struct runner_call *call)
{
    json_decref(call->payload);
    free(call);
}

static void runner_maybe_free(struct runner *r)
{
    if (!r->released || r->outstanding > 0 || r->state != RUNNER_FINISHED || r->depth > 0)
        return;
    json_decref(r->payloads);
    json_decref(r->payload_text_of);
    free(r->payload_text);
    free(r->unrecorded); /* emptied by runner_finish */
    stats_free(r->stats);
    free(r->slots);
    free(r->ready);
    free(r);
}

static void runner_report_progress(struct runner *r)
{
    if (r->events.progress == NULL)
        return;
    double elapsed_s = (clock_mono_ms_precise() - r->started_mono_ms) / 1000.0;
    double rate = elapsed_s > 0 ? (double)r->done / elapsed_s : 0;
    struct runner_progress p = {r->done, r->failed, r->in_flight_count, r->total, r->retries, rate,
                                rate > 0 ? (double)(r->total - r->done) / rate : -1, r->phase};
    r->events.progress(r->events.ctx, &p);
}

static json_t *runner_row(struct runner *r, const struct runner_record *record);

/* A result that came as text: its JSON value, or the text as a string. */
static json_t *runner_parse_result(const char *text, size_t size)
{
    json_t *result = json_loadb(text, size, JSON_DECODE_ANY, NULL);
    return result != NULL ? result : json_stringn(text, size);
}

/* Writes the rows of the first LIMIT runs that wait (0: all) and counts
 * them into the statistics. */
static void runner_record_some(struct runner *r, size_t limit)
{
    size_t waiting = r->unrecorded_count - r->unrecorded_first;
    size_t end = r->unrecorded_first + (limit > 0 && limit < waiting ? limit : waiting);
    for (size_t i = r->unrecorded_first; i < end; i++) {
        struct runner_record *record = &r->unrecorded[i];
        if (record->result_text != NULL)
            record->result = runner_parse_result(record->result_text, record->result_size);
        json_t *row = runner_row(r, record);
        results_append(r->store, row);
        stats_add(r->stats, row);
        json_decref(row);
        json_decref(record->payload);
        json_decref(record->result);
        free(record->result_text);
        free(record->error_type);
        free(record->message);
    }
    r->unrecorded_first = end;
    if (r->unrecorded_first == r->unrecorded_count)
        r->unrecorded_first = r->unrecorded_count = 0;
    r->answers_since_check = 0;
}

static void runner_record(struct runner *r)
{
    runner_record_some(r, 0);
}

static void runner_on_record_timer(void *ctx)
{
    struct runner *r = ctx;
    r->record_timer = 0;
    size_t waiting = r->unrecorded_count - r->unrecorded_first;
    if (r->answers_since_check > 0 && waiting < RUNNER_RECORD_MAX) { /* answers still coming */
        r->answers_since_check = 0;
        r->record_timer = reactor_timer(r->reactor, RUNNER_RECORD_QUIET_MS, runner_on_record_timer, r);
        return;
    }
    runner_record_some(r, RUNNER_RECORD_BATCH);
    if (r->unrecorded_count > 0 && r->record_timer == 0) /* the rest after the loop has read its sockets */
        r->record_timer = reactor_timer(r->reactor, 0, runner_on_record_timer, r);
}

static char *runner_copy_text(const char *text, size_t size)
{
    char *copy = malloc(size + 1);
    if (copy != NULL) {
        memcpy(copy, text, size);
        copy[size] = '\0';
    }
    return copy;
}

/* Notes CALL's run, finished with OUTCOME, for the next batch of rows
 * (written now when memory runs short). */
static void runner_keep(struct runner *r, const struct runner_call *call, const struct runner_outcome *outcome,
                        double send_epoch_ms, double receive_epoch_ms, double round_trip_ms)
{
    r->answers_since_check++;
    if (r->unrecorded_count == r->unrecorded_capacity) {
        size_t capacity = r->unrecorded_capacity ? 2 * r->unrecorded_capacity : 256;
        struct runner_record *grown = realloc(r->unrecorded, capacity * sizeof *grown);
        if (grown == NULL)
            runner_record(r); /* room again for at least one */
        else {
            r->unrecorded = grown;
            r->unrecorded_capacity = capacity;
        }
        if (r->unrecorded_count == r->unrecorded_capacity)
            return; /* none was ever allocated: the row cannot be kept */
    }
    const json_t *payload = call->payload ? call->payload : json_array_get(r->payloads, (size_t)call->run);
    struct runner_record *record = &r->unrecorded[r->unrecorded_count++];
    *record = (struct runner_record){
        .run = call->run, .thread = call->slot->index, .stage = call->stage, .iteration = r->iteration,
        .memory_mb = r->memory_mb, .retries = call->retries, .ok = outcome->ok,
        .payload = json_incref((json_t *)payload),
        .result = outcome->ok ? json_incref((json_t *)outcome->result) : NULL,
        .result_text = outcome->ok && outcome->result == NULL && outcome->result_text != NULL
                           ? runner_copy_text(outcome->result_text, outcome->result_size) : NULL,
        .result_size = outcome->result_size,
        .error_type = !outcome->ok && outcome->error_type ? strdup(outcome->error_type) : NULL,
        .message = !outcome->ok && outcome->message ? strdup(outcome->message) : NULL,
        .endpoint = r->targets[call->stage].endpoint, .send_epoch_ms = send_epoch_ms,
        .receive_epoch_ms = receive_epoch_ms, .round_trip_ms = round_trip_ms, .billed_ms = outcome->billed_ms};
    if (r->record_timer == 0)
        r->record_timer = reactor_timer(r->reactor, RUNNER_RECORD_QUIET_MS, runner_on_record_timer, r);
    if (r->unrecorded_count - r->unrecorded_first >= RUNNER_RECORD_MAX || r->record_timer == 0)
        runner_record(r);
}

static void runner_on_flush_timer(void *ctx)
{
    struct runner *r = ctx;
    runner_record(r);
    results_flush(r->store);
    r->flush_timer = reactor_timer(r->reactor, RUNNER_FLUSH_MS, runner_on_flush_timer, r);
}

static void runner_on_progress_timer(void *ctx)
{
    struct runner *r = ctx;
    runner_report_progress(r);
    r->progress_timer = reactor_timer(r->reactor, RUNNER_PROGRESS_MS, runner_on_progress_timer, r);
}

/* The `payload` column: PAYLOAD as sorted compact JSON, kept for the
 * next row, as runs mostly repeat a few payload objects. */
static const char *runner_payload_text(struct runner *r, const json_t *payload)
{
    if (r->payload_text_of != payload) { /* held by reference: the same object, the same text */
        char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(16));
        if (text == NULL)
            return "{}";
        free(r->payload_text);
        json_decref(r->payload_text_of);
        r->payload_text = text;
        r->payload_text_of = json_incref((json_t *)payload);
    }
    return r->payload_text;
}

/* The row of a finished run. */
static json_t *runner_row(struct runner *r, const struct runner_record *record)
{
    json_t *row = json_object();
    if (record->ok && json_is_object(record->result))
        json_object_update(row, record->result);
    else if (record->ok && record->result != NULL)
        json_object_set(row, "result", record->result);
    json_object_set_new(row, "1_run_id", json_integer(record->run));
    json_object_set_new(row, "2_thread_id", json_integer(record->thread));
    json_object_set_new(row, "3_pipeline_stage", json_integer(record->stage));
    json_object_set_new(row, "iteration", json_integer(record->iteration));
    json_object_set_new(row, "memorySetting", record->memory_mb ? json_integer(record->memory_mb) : json_null());
    json_object_set_new(row, "payload", json_string(runner_payload_text(r, record->payload)));
    json_object_set_new(row, "endpoint", json_string(record->endpoint ? record->endpoint : ""));
    json_object_set_new(row, "status", json_string(record->ok ? "ok" : "error"));
    if (!record->ok) {
        json_object_set_new(row, "errorType", json_string(record->error_type ? record->error_type : "Error"));
        json_object_set_new(row, "errorMessage", json_string(record->message ? record->message : ""));
    }
    json_object_set_new(row, "retries", json_integer(record->retries));
    json_object_set_new(row, "clientSendTime", json_real(record->send_epoch_ms));
    json_object_set_new(row, "clientReceiveTime", json_real(record->receive_epoch_ms));
    json_object_set_new(row, "roundTripTime", json_real(record->round_trip_ms));
    json_t *runtime = json_object_get(row, "runtime");
    if (record->ok && json_is_number(runtime))
        json_object_set_new(row, "latency", json_real(record->round_trip_ms - json_number_value(runtime)));
    if (record->ok && record->billed_ms > 0) {
        json_object_set_new(row, "billedDuration", json_real(record->billed_ms));
        json_object_set_new(row, "billedFrom", json_string("platform"));
    }
    const struct runner_target *target = &r->targets[record->stage];
    if (target->annotate != NULL)
        target->annotate(target->ctx, row);
    return row;
}

/* The pass is over when every slot has made its runs and no call is
 * outstanding (with callAsync, slots finish before their calls do). */
static void runner_maybe_end_pass(struct runner *r)
{
    if (r->active_slots == 0 && r->in_flight_count == 0 && r->state == RUNNER_RUNNING && !r->pass_over) {
        r->pass_over = 1;
        runner_record(r);
        runner_start_pass(r); /* the next one, or the end */
    }
}

/* A slot whose run ended takes its next one. Slots wait in `ready` and are
 * served by one loop, not by recursion: a platform may answer a call before
 * returning from it (a local error), and thousands of those must not nest. */
static void runner_slot_idle(struct runner_slot *slot)
{
    struct runner *r = slot->runner;
    slot->busy = 0;
    r->ready[r->ready_count++] = slot;
    if (r->draining)
        return;
    r->draining = 1;
    while (r->ready_count > 0 && r->state == RUNNER_RUNNING) {
        struct runner_slot *next = r->ready[--r->ready_count];
        if (!runner_launch(next)) { /* its share is done (an answer at once queues it again instead) */
            r->active_slots--;
            runner_maybe_end_pass(r);
        }
    }
    r->ready_count = 0;
    r->draining = 0;
}

static void runner_on_retry(void *ctx);

static void runner_handle_answer(struct runner_call *call, const struct runner_outcome *outcome);

static void runner_on_answer(void *ctx, const struct runner_outcome *outcome)
{
    struct runner_call *call = ctx;
    struct runner *r = call->runner;
    r->depth++;
    runner_handle_answer(call, outcome);
    r->depth--;
    runner_maybe_free(r);
}

static void runner_send(struct runner_call *call);

/* The payload of the stage after CALL's: the run's payload, or with
 * passPayloads the stage's RESULT merged over it, keys renamed by
 * `transitions` ({"from": "to"}). */
static json_t *runner_stage_payload(struct runner *r, const struct runner_call *call, const json_t *result)
{
    json_t *payload = json_deep_copy(call->payload ? call->payload : json_array_get(r->payloads, (size_t)call->run));
    if (!r->experiment->pass_payloads || payload == NULL)
        return payload;
    if (!json_is_object(result)) {
        json_object_set(payload, "result", (json_t *)result);
        return payload;
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)result, key, value) {
        const char *renamed = json_string_value(json_object_get(r->experiment->transitions, key));
        json_object_set(payload, renamed ? renamed : key, value);
    }
    return payload;
}

/* CALL's run goes on to its next stage, in a new call on the same slot. */
static void runner_next_stage(struct runner_call *call, const json_t *result)
{
    struct runner *r = call->runner;
    json_t *payload = runner_stage_payload(r, call, result);
    call->stage++;
    json_decref(call->payload);
    call->payload = payload;
    call->retries = 0;
    list_push_front(&r->in_flight, &call->node);
    r->in_flight_count++;
    runner_send(call);
}

static void runner_handle_answer(struct runner_call *call, const struct runner_outcome *outcome)
{
    struct runner *r = call->runner;
    r->outstanding--;
    if (call->abandoned) {
        runner_call_free(call);
        return;
    }
    int measured = outcome->received_epoch_ms > 0; /* by the target, when the answer was read */
    double send = measured ? outcome->sent_epoch_ms : call->send_epoch_ms;
    double receive = measured ? outcome->received_epoch_ms : clock_epoch_ms();
    double round_trip = measured ? outcome->round_trip_ms : clock_mono_ms_precise() - call->send_mono_ms;
    list_remove(&call->node);
    r->in_flight_count--;
    double wait = !outcome->ok && outcome->throttled && r->state == RUNNER_RUNNING
                      ? retry_delay_ms(&runner_retry, call->retries, outcome->retry_after_ms)
                      : -1;
    if (wait >= 0) {
        call->retries++;
        r->retries++;
        call->retry_timer = reactor_timer(r->reactor, (long long)wait, runner_on_retry, call);
        list_push_front(&r->in_flight, &call->node); /* counted as in flight again once relaunched */
        r->in_flight_count++;
        return;
    }
    runner_keep(r, call, outcome, send, receive, round_trip);
    r->done++;
    if (!outcome->ok)
        r->failed++;
    struct runner_slot *slot = call->slot;
    if (outcome->ok && call->stage + 1 < r->stages && r->state == RUNNER_RUNNING) {
        json_t *parsed = outcome->result == NULL && outcome->result_text != NULL
                             ? runner_parse_result(outcome->result_text, outcome->result_size) : NULL;
        runner_next_stage(call, parsed != NULL ? parsed : outcome->result); /* the run goes on: the slot stays busy */
        json_decref(parsed);
        return;
    }
    runner_call_free(call);
    if (r->state == RUNNER_STOPPING && list_is_empty(&r->in_flight))
        runner_finish(r, "interrupted");
    else if (r->state == RUNNER_RUNNING && r->experiment->call_async)
        runner_maybe_end_pass(r); /* the slot went on when the call was accepted */
    else if (r->state == RUNNER_RUNNING)
        runner_slot_idle(slot);
}

static void runner_send(struct runner_call *call)
{
    struct runner *r = call->runner;
    call->send_epoch_ms = clock_epoch_ms();
    call->send_mono_ms = clock_mono_ms_precise();
    r->outstanding++;
    const struct runner_target *target = &r->targets[call->stage];
    const json_t *payload = call->payload ? call->payload : json_array_get(r->payloads, (size_t)call->run);
    if (target->invoke(target->ctx, payload, runner_on_answer, call) < 0) {
        struct runner_outcome failed = {.ok = 0, .error_type = "InvokeFailed", .message = "the call could not start"};
        runner_on_answer(call, &failed);
    }
}

static void runner_on_retry(void *ctx)
{
    struct runner_call *call = ctx;
    call->retry_timer = 0;
    runner_send(call);
}

/* Sends the slot's next run. Returns 0 when it has none left. */
static int runner_launch_one(struct runner_slot *slot)
{
    struct runner *r = slot->runner;
    if (slot->next_run >= r->experiment->runs)
        return 0;
    struct runner_call *call = calloc(1, sizeof *call);
    if (call == NULL)
        return 0;
    call->runner = r;
    call->slot = slot;
    call->run = slot->next_run;
    slot->next_run += r->experiment->threads;
    list_push_front(&r->in_flight, &call->node);
    r->in_flight_count++;
    r->launched++;
    runner_send(call);
    return 1;
}

/* The slot's next run, if its share of the pass is not done. With
 * callAsync a call counts as made once the platform has taken it, so the
 * slot sends all of its runs at once and is done; their rows come with the
 * answers. Returns 1 when the slot launched a run (it may have been
 * answered already), 0 when its share is done. */
static int runner_launch(struct runner_slot *slot)
{
    struct runner *r = slot->runner;
    if (!r->experiment->call_async) {
        slot->busy = 1; /* before the send: an answer that comes at once makes it idle again */
        if (runner_launch_one(slot))
            return 1;
        slot->busy = 0;
        return 0;
    }
    while (r->state == RUNNER_RUNNING && runner_launch_one(slot))
        ;
    slot->busy = 0;
    return 0;
}

static void runner_launch_pass(struct runner *r);

static void runner_launch_all(void *ctx)
{
    struct runner *r = ctx;
    r->phase_timer = 0;
    r->depth++;
    if (r->state == RUNNER_RUNNING)
        runner_launch_pass(r);
    r->depth--;
    runner_maybe_free(r);
}

/* Starts the next RUNNER_LAUNCH_CHUNK slots of the pass, then the next
 * chunk from a 0 ms timer, so other due timers get their turn between
 * chunks. (The reactor runs a 0 ms timer added while it runs timers in the
 * same call, before it reads sockets again: the chunks do not let answers
 * be read during a launch. The requests themselves do not wait for the
 * launch: the HTTP engine writes each one as it is handed over.) */
static void runner_launch_chunk(void *ctx)
{
    struct runner *r = ctx;
    r->phase_timer = 0;
    if (r->state != RUNNER_RUNNING)
        return;
    r->depth++;
    int end = r->next_slot + RUNNER_LAUNCH_CHUNK;
    if (end > r->experiment->threads)
        end = r->experiment->threads;
    r->draining = 1; /* answers that come back at once queue their slot instead of recursing */
    for (; r->next_slot < end && r->state == RUNNER_RUNNING; r->next_slot++) {
        runner_launch(&r->slots[r->next_slot]);
        if (r->experiment->call_async)
            r->active_slots--; /* it sent all its runs */
    }
    r->draining = 0;
    if (r->experiment->call_async)
        runner_maybe_end_pass(r);
    if (r->next_slot < r->experiment->threads && r->state == RUNNER_RUNNING)
        r->phase_timer = reactor_timer(r->reactor, 0, runner_launch_chunk, r);
    if (r->ready_count > 0) {
        struct runner_slot *slot = r->ready[--r->ready_count];
        runner_slot_idle(slot); /* serves the queued ones too */
    }
    r->depth--;
    runner_maybe_free(r);
}

/* Prepared connections not up yet, over every stage. */
static size_t runner_preparing(const struct runner *r)
{
    size_t waiting = 0;
    for (int stage = 0; stage < r->stages; stage++)
        if (r->targets[stage].preparing != NULL)
            waiting += r->targets[stage].preparing(r->targets[stage].ctx);
    return waiting;
}

/* The pass starts once its prepared connections are up (TLS handshakes
 * and name lookups included), so its first wave measures the function,
 * not the connection set-up; at most RUNNER_CONNECT_WAIT_MS. */
static void runner_await_connections(void *ctx)
{
    struct runner *r = ctx;
    r->phase_timer = 0;
    if (runner_preparing(r) > 0 && clock_mono_ms_precise() - r->connect_since_ms < RUNNER_CONNECT_WAIT_MS) {
        r->phase = "connecting";
        r->phase_timer = reactor_timer(r->reactor, RUNNER_CONNECT_POLL_MS, runner_await_connections, r);
        if (r->phase_timer != 0)
            return;
    }
    r->phase = "running";
    runner_launch_chunk(r);
}

static void runner_launch_pass(struct runner *r)
{
    r->phase = "running";
    json_decref(r->payloads);
    r->payloads = experiment_deal(r->experiment);
    r->active_slots = r->experiment->threads;
    for (int t = 0; t < r->experiment->threads; t++)
        r->slots[t] = (struct runner_slot){r, t, t, 0};
    r->next_slot = 0;
    r->pass_over = 0;
    for (int stage = 0; stage < r->stages; stage++)
        if (r->targets[stage].prepare != NULL)
            r->targets[stage].prepare(r->targets[stage].ctx, r->experiment->threads);
    r->connect_since_ms = clock_mono_ms_precise();
    runner_await_connections(r);
}

static void runner_after_sleep(struct runner *r, reactor_timer_fn next)
{
    if (r->experiment->sleep_s > 0) {
        r->phase = "sleeping";
        r->phase_timer = reactor_timer(r->reactor, (long long)(r->experiment->sleep_s * 1000), next, r);
    } else {
        r->phase_timer = reactor_timer(r->reactor, 0, next, r);
    }
}

static void runner_on_memory_set(void *ctx, const struct runner_outcome *outcome)
{
    struct runner *r = ctx;
    r->outstanding--;
    r->setting_memory = 0;
    r->depth++;
    if (r->state == RUNNER_STOPPING && list_is_empty(&r->in_flight)) {
        runner_finish(r, "interrupted");
    } else if (r->state == RUNNER_RUNNING && !outcome->ok) {
        snprintf(r->stop_reason, sizeof r->stop_reason, "%.60s", outcome->error_type ? outcome->error_type : "Error");
        runner_finish(r, "failed");
    } else if (r->state == RUNNER_RUNNING) {
        runner_after_sleep(r, runner_launch_all);
    }
    r->depth--;
    runner_maybe_free(r);
}

/* The next pass: memory setting (when it changes), then iterations. */
static void runner_start_pass(struct runner *r)
{
    int first = r->iteration < 0;
    if (!first && r->iteration + 1 < r->experiment->iterations) {
        r->iteration++;
        runner_after_sleep(r, runner_launch_all);
        return;
    }
    int next_memory = first ? 0 : r->memory_index + 1;
    if (next_memory >= r->memory_passes) {
        runner_finish(r, "complete");
        return;
    }
    r->memory_index = next_memory;
    r->iteration = 0;
    if (r->experiment->memory_count == 0) { /* the first pass starts at once: sleepTime is between passes */
        r->phase_timer = reactor_timer(r->reactor, 0, runner_launch_all, r);
        return;
    }
    r->memory_mb = r->experiment->memory_settings[next_memory];
    r->phase = "reconfiguring";
    r->outstanding++;
    r->setting_memory = 1;
    if (r->targets[0].set_memory(r->targets[0].ctx, r->memory_mb, runner_on_memory_set, r) < 0) {
        struct runner_outcome failed = {.ok = 0, .error_type = "ConfigureFailed", .message = "cannot set the memory"};
        runner_on_memory_set(r, &failed);
    }
}

static void runner_finish(struct runner *r, const char *status)
{
    if (r->state == RUNNER_FINISHED)
        return;
    r->state = RUNNER_FINISHED;
    reactor_cancel(r->reactor, r->flush_timer);
    reactor_cancel(r->reactor, r->progress_timer);
    reactor_cancel(r->reactor, r->phase_timer);
    reactor_cancel(r->reactor, r->grace_timer);
    reactor_cancel(r->reactor, r->record_timer);
    r->record_timer = 0;
    runner_record(r);
    struct list_node *node, *next;
    list_for_each_safe(node, next, &r->in_flight) {
        struct runner_call *call = list_entry(node, struct runner_call, node);
        list_remove(node);
        if (call->retry_timer) { /* waiting to retry: nothing outstanding, free it now */
            reactor_cancel(r->reactor, call->retry_timer);
            runner_call_free(call);
        } else {
            call->abandoned = 1; /* freed when its answer comes */
        }
    }
    results_flush(r->store);
    runner_report_progress(r);
    json_t *summary = stats_report(r->stats);
    json_object_set_new(summary, "status", json_string(status));
    if (r->stop_reason[0])
        json_object_set_new(summary, "stoppedBy", json_string(r->stop_reason));
    json_object_set_new(summary, "abandonedInFlight", json_integer(r->in_flight_count));
    json_object_set_new(summary, "retries", json_integer(r->retries));
    r->events.finished(r->events.ctx, summary);
    json_decref(summary);
}

static void runner_on_grace_over(void *ctx)
{
    struct runner *r = ctx;
    r->grace_timer = 0;
    r->depth++;
    runner_finish(r, "interrupted");
    r->depth--;
    runner_maybe_free(r);
}

void runner_interrupt(struct runner *r)
{
    if (r->state != RUNNER_RUNNING)
        return;
    r->state = RUNNER_STOPPING;
    r->phase = "stopping";
    reactor_cancel(r->reactor, r->phase_timer);
    r->phase_timer = 0;
    struct list_node *node, *next;
    list_for_each_safe(node, next, &r->in_flight) {
        struct runner_call *call = list_entry(node, struct runner_call, node);
        if (call->retry_timer) { /* waiting to retry, not sent: it ends here */
            reactor_cancel(r->reactor, call->retry_timer);
            list_remove(node);
            r->in_flight_count--;
            runner_call_free(call);
        }
    }
    /* A memory change under way is waited for too, so the experiment's
     * end (and the session's restore) never races it on the platform. */
    if (list_is_empty(&r->in_flight) && !r->setting_memory)
        runner_finish(r, "interrupted");
    else
        r->grace_timer = reactor_timer(r->reactor, RUNNER_INTERRUPT_GRACE_MS, runner_on_grace_over, r);
}

void runner_abort(struct runner *r)
{
    if (r->state == RUNNER_FINISHED)
        return;
    r->depth++;
    runner_finish(r, "interrupted");
    r->depth--;
    runner_maybe_free(r);
}

void runner_release(struct runner *r)
{
    if (r == NULL)
        return;
    r->released = 1;
    runner_maybe_free(r);
}

struct runner *runner_start(struct reactor *reactor, const struct experiment *experiment,
                            const struct runner_target *targets, int stage_count, struct results_store *store,
                            const struct runner_events *events, char *err, size_t err_size)
{
    const struct runner_target *target = &targets[0];
    if (stage_count < 1 || stage_count > RUNNER_MAX_STAGES) {
        snprintf(err, err_size, "a pipeline has 1 to %d functions", RUNNER_MAX_STAGES);
        return NULL;
    }
    if (stage_count > 1 && (experiment->memory_count > 0 || experiment->call_async)) {
        snprintf(err, err_size, "memorySettings and callAsync work with one function, not a pipeline");
        return NULL;
    }
    if (experiment->memory_count > 0 && target->set_memory == NULL) {
        snprintf(err, err_size, "memorySettings needs a platform function: an HTTP endpoint cannot be reconfigured");
        return NULL;
    }
    if (experiment->call_async && !target->accepts_async) {
        snprintf(err, err_size, "callAsync needs a platform function: an HTTP endpoint answers every call");
        return NULL;
    }
    struct runner *r = calloc(1, sizeof *r);
    if (r == NULL || (r->slots = calloc((size_t)experiment->threads, sizeof *r->slots)) == NULL ||
        (r->ready = calloc((size_t)experiment->threads, sizeof *r->ready)) == NULL || (r->stats = stats_new()) == NULL) {
        if (r != NULL) {
            free(r->slots);
            free(r->ready);
        }
        free(r);
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    r->reactor = reactor;
    list_init(&r->in_flight);
    r->experiment = experiment;
    memcpy(r->targets, targets, (size_t)stage_count * sizeof *targets);
    r->stages = stage_count;
    r->store = store;
    r->events = *events;
    r->memory_passes = experiment->memory_count > 0 ? experiment->memory_count : 1;
    r->total = (long long)experiment->runs * experiment->iterations * r->memory_passes * stage_count;
    r->iteration = -1;
    r->memory_index = -1;
    r->phase = "starting";
    r->started_mono_ms = clock_mono_ms_precise();
    r->flush_timer = reactor_timer(reactor, RUNNER_FLUSH_MS, runner_on_flush_timer, r);
    r->progress_timer = reactor_timer(reactor, RUNNER_PROGRESS_MS, runner_on_progress_timer, r);
    runner_start_pass(r);
    return r;
}
