/* Unit tests for runner, against a fake target: its invoke and set_memory
 * answer from 0 ms reactor timers (or before returning, or only when the
 * test says so), deciding each outcome from the payload's "id" (ok, failed,
 * throttled, refused). Checked: at most and exactly `threads` calls in
 * flight, every run a row in the results store (read back from runs.jsonl)
 * with its run, thread, payload and endpoint, failed runs as rows with
 * errorType / errorMessage, throttled calls retried and their retries
 * counted, set_memory before each memory setting's passes, prepare before
 * every pass, two-stage pipelines with and without passPayloads (a
 * target's own columns only on its stage's rows), results
 * given as text, times measured by the target, callAsync, interrupt and
 * abort keeping the finished rows, and runner_start's refusals. The loop
 * below runs the reactor's timers until the runner says it finished; no
 * check depends on how long anything took. */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "experiment.h"
#include "fsutil.h"
#include "reactor.h"
#include "results.h"
#include "runner.h"

static char parent[] = "/tmp/faaset-runner-XXXXXX";

/* ---- the fake target ---- */

struct fake;

struct pending {
    struct fake *fake;
    runner_done_fn done;
    void *call;
    json_t *payload;             /* a copy; NULL for a memory change */
    int memory_mb;
    struct pending *next;
};

struct fake {
    struct reactor *reactor;
    int answer_sync;             /* answer before invoke returns */
    int hold_from;               /* calls with id >= this wait for answer_held (0: none) */
    int fail_ids[4];             /* these ids fail with "Boom" (0 entries unused: ids are offset by 1) */
    int refuse_id;               /* invoke returns -1 for this id (-1: none) */
    int throttle_times;          /* even ids are throttled this many times first */
    int throttle_forever_id;     /* always throttled (-1: none) */
    int text_results;            /* answer with result_text: JSON for even ids, plain text for odd */
    int measured;                /* the target reports its own send and receive times */
    int fail_memory;             /* set_memory fails for this setting (0: none) */
    int in_flight, max_in_flight, invocations, memory;
    int memory_log[8], memory_calls, invocations_at_memory[8], in_flight_at_memory[8];
    int prepare_calls, prepare_arg;
    int not_ready_polls;         /* preparing() says connections are not up this many times */
    int invoked_before_ready;    /* an invoke came while connections were not up */
    int attempts[1024];
    struct pending *held;
    int held_count;
};

static void fake_init(struct fake *f, struct reactor *reactor)
{
    memset(f, 0, sizeof *f);
    f->reactor = reactor;
    f->refuse_id = -1;
    f->throttle_forever_id = -1;
}

static int payload_id(const json_t *payload)
{
    return (int)json_integer_value(json_object_get(payload, "id"));
}

static int fails(const struct fake *f, int id)
{
    for (int i = 0; i < 4; i++)
        if (f->fail_ids[i] == id + 1)
            return 1;
    return 0;
}

/* Answers P's call as the fake's rules say, and frees P. */
static void answer(struct pending *p)
{
    struct fake *f = p->fake;
    struct runner_outcome outcome = {0};
    json_t *result = NULL;
    char text[128], message[64];
    if (p->payload == NULL) { /* a memory change */
        outcome.ok = p->memory_mb != f->fail_memory;
        outcome.error_type = outcome.ok ? NULL : "AccessDenied";
        outcome.message = outcome.ok ? NULL : "not allowed";
        if (outcome.ok)
            f->memory = p->memory_mb;
        p->done(p->call, &outcome);
        free(p);
        return;
    }
    f->in_flight--;
    int id = payload_id(p->payload);
    int attempt = ++f->attempts[id];
    if (id == f->throttle_forever_id || (id % 2 == 0 && attempt <= f->throttle_times)) {
        outcome.throttled = 1;
        outcome.retry_after_ms = 1;
        outcome.error_type = "TooManyRequests";
        outcome.message = "slow down";
    } else if (fails(f, id)) {
        snprintf(message, sizeof message, "run %d failed", id);
        outcome.error_type = "Boom";
        outcome.message = message;
    } else if (f->text_results) {
        outcome.ok = 1;
        if (id % 2 == 0)
            snprintf(text, sizeof text, "{\"runtime\": 5, \"echo\": %d, \"out\": %d}", id, 10 * id);
        else
            snprintf(text, sizeof text, "plain text %d", id);
        outcome.result_text = text;
        outcome.result_size = strlen(text);
    } else {
        outcome.ok = 1;
        json_t *in = json_object_get(p->payload, "in"), *seen_result = json_object_get(p->payload, "result");
        result = json_pack("{s:f, s:i, s:i, s:i, s:O?, s:O?}", "runtime", 5.0, "echo", id, "memoryAtInvoke", f->memory,
                           "out", 10 * id, "seenIn", in, "seenResult", seen_result);
        outcome.result = result;
    }
    if (f->measured) {
        outcome.sent_epoch_ms = 1000.0 + id;
        outcome.received_epoch_ms = 1010.0 + id;
        outcome.round_trip_ms = 10.0;
    }
    p->done(p->call, &outcome);
    json_decref(result);
    json_decref(p->payload);
    free(p);
}

static void on_answer_timer(void *ctx)
{
    answer(ctx);
}

static int fake_invoke(void *ctx, const json_t *payload, runner_done_fn done, void *call)
{
    struct fake *f = ctx;
    f->invocations++;
    int id = payload_id(payload);
    if (id == f->refuse_id)
        return -1;
    if (++f->in_flight > f->max_in_flight)
        f->max_in_flight = f->in_flight;
    struct pending *p = calloc(1, sizeof *p);
    *p = (struct pending){f, done, call, json_deep_copy(payload), 0, NULL};
    if (f->hold_from > 0 && id >= f->hold_from) {
        p->next = f->held;
        f->held = p;
        f->held_count++;
    } else if (f->answer_sync) {
        answer(p);
    } else {
        reactor_timer(f->reactor, 0, on_answer_timer, p);
    }
    return 0;
}

static int fake_set_memory(void *ctx, int memory_mb, runner_done_fn done, void *call)
{
    struct fake *f = ctx;
    if (f->memory_calls < 8) {
        f->memory_log[f->memory_calls] = memory_mb;
        f->invocations_at_memory[f->memory_calls] = f->invocations;
        f->in_flight_at_memory[f->memory_calls] = f->in_flight;
    }
    f->memory_calls++;
    struct pending *p = calloc(1, sizeof *p);
    *p = (struct pending){f, done, call, NULL, memory_mb, NULL};
    reactor_timer(f->reactor, 0, on_answer_timer, p);
    return 0;
}

static void fake_prepare(void *ctx, int calls)
{
    struct fake *f = ctx;
    f->prepare_calls++;
    f->prepare_arg = calls;
}

static size_t fake_preparing(void *ctx)
{
    struct fake *f = ctx;
    if (f->not_ready_polls > 0) {
        f->not_ready_polls--;
        f->invoked_before_ready |= f->invocations > 0;
        return 3;
    }
    return 0;
}

static void answer_held(struct fake *f)
{
    while (f->held != NULL) {
        struct pending *p = f->held;
        f->held = p->next;
        f->held_count--;
        answer(p);
    }
}

/* A target's own columns: the second stage of the pipeline test marks its rows. */
static void fake_annotate(void *ctx, json_t *row)
{
    (void)ctx;
    json_object_set_new(row, "annotated", json_true());
}

static struct runner_target fake_target(struct fake *f, const char *endpoint)
{
    return (struct runner_target){.ctx = f, .function = "fn", .endpoint = endpoint, .invoke = fake_invoke,
                                  .set_memory = fake_set_memory, .accepts_async = 1, .prepare = fake_prepare};
}

/* ---- running an experiment ---- */

struct run {
    struct reactor *reactor;
    struct experiment experiment;
    struct results_store *store;
    struct runner *runner;
    char folder[4096];
    int finished;
    json_t *summary;
    struct runner_progress last; /* the last progress report */
    int progress_reports;
};

static void on_progress(void *ctx, const struct runner_progress *progress)
{
    struct run *run = ctx;
    run->last = *progress;
    run->progress_reports++;
}

static void on_finished(void *ctx, const json_t *summary)
{
    struct run *run = ctx;
    run->finished++;
    run->summary = json_deep_copy(summary);
}

/* Runs the reactor's timers until *FLAG or COUNT >= AT_LEAST; 0 if nothing is left to wait for first. */
static int drive_until(struct reactor *reactor, const int *count, int at_least)
{
    for (long rounds = 0; rounds < 1000000; rounds++) {
        if (*count >= at_least)
            return 1;
        int wait = reactor_run_timers(reactor);
        if (*count >= at_least)
            return 1;
        if (wait < 0)
            return 0;
        if (wait > 0)
            poll(NULL, 0, wait);
    }
    return 0;
}

/* An experiment's JSON with "payloads": [{"id": 0}, ...] of RUNS ids added. */
static json_t *experiment_json(const char *text, int runs)
{
    json_t *raw = json_loads(text, 0, NULL);
    json_t *payloads = json_array();
    for (int i = 0; i < runs; i++)
        json_array_append_new(payloads, json_pack("{s:i}", "id", i));
    json_object_set_new(raw, "payloads", payloads);
    json_object_set_new(raw, "runs", json_integer(runs));
    return raw;
}

/* Starts TEXT (plus RUNS payloads) against TARGETS; returns 0 or -1 with ERR. */
static int run_start(struct run *run, struct reactor *reactor, const char *text, int runs,
                     const struct runner_target *targets, int stages, char *err, size_t err_size)
{
    memset(run, 0, sizeof *run);
    run->reactor = reactor;
    json_t *raw = experiment_json(text, runs);
    int rc = experiment_parse(raw, "test", NULL, &run->experiment, err, err_size);
    json_decref(raw);
    if (rc < 0)
        return -1;
    json_t *meta = json_object();
    run->store = results_open(parent, "fn", run->experiment.name, meta, err, err_size);
    json_decref(meta);
    if (run->store == NULL)
        return -1;
    snprintf(run->folder, sizeof run->folder, "%s", results_folder(run->store));
    struct runner_events events = {run, on_progress, on_finished};
    run->runner = runner_start(reactor, &run->experiment, targets, stages, run->store, &events, err, err_size);
    return run->runner != NULL ? 0 : -1;
}

/* After `finished`: releases the runner, closes the store and returns the rows written. */
static json_t *run_end(struct run *run)
{
    char err[512];
    runner_release(run->runner);
    results_close(run->store, run->summary);
    experiment_free(&run->experiment);
    json_t *rows = results_load_rows(run->folder, err, sizeof err);
    return rows != NULL ? rows : json_array();
}

/* Starts, runs to the end, and returns the rows (run->summary holds the summary). */
static json_t *run_all(struct run *run, struct reactor *reactor, const char *text, int runs,
                       const struct runner_target *targets, int stages)
{
    char err[512] = "";
    if (run_start(run, reactor, text, runs, targets, stages, err, sizeof err) < 0) {
        fprintf(stderr, "  cannot start: %s\n", err);
        if (run->store != NULL)
            results_close(run->store, NULL);
        experiment_free(&run->experiment);
        return json_array();
    }
    CHECK(drive_until(reactor, &run->finished, 1));
    CHECK(run->finished == 1);
    return run_end(run);
}

static const char *status_of(const struct run *run)
{
    const char *status = json_string_value(json_object_get(run->summary, "status"));
    return status ? status : "";
}

static long long integer(const json_t *object, const char *key)
{
    return json_integer_value(json_object_get(object, key));
}

static const char *string(const json_t *object, const char *key)
{
    const char *text = json_string_value(json_object_get(object, key));
    return text ? text : "";
}

/* The row of run ID at STAGE (and ITERATION, MEMORY when >= 0), or NULL; *COUNT how many matched. */
static json_t *find_row(const json_t *rows, int id, int stage, int iteration, int memory, int *count)
{
    json_t *found = NULL;
    *count = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *m = json_object_get(row, "memorySetting");
        if (integer(row, "1_run_id") == id && integer(row, "3_pipeline_stage") == stage &&
            (iteration < 0 || integer(row, "iteration") == iteration) &&
            (memory < 0 || (memory == 0 ? json_is_null(m) : json_integer_value(m) == memory))) {
            found = row;
            (*count)++;
        }
    }
    return found;
}

/* ---- the cases ---- */

/* The pass waits until the target's prepared connections are up (TLS
 * handshakes), then starts; no invoke goes out before. */
static void test_waits_for_connections(struct reactor *reactor)
{
    struct fake f;
    fake_init(&f, reactor);
    f.not_ready_polls = 5;
    struct runner_target target = fake_target(&f, "fake://tls");
    target.preparing = fake_preparing;
    struct run run;
    json_t *rows = run_all(&run, reactor, "{\"threads\": 2, \"experimentName\": \"connecting\"}", 6, &target, 1);
    CHECK(f.not_ready_polls == 0 && !f.invoked_before_ready);
    CHECK(f.invocations == 6 && strcmp(status_of(&run), "complete") == 0);
    json_decref(rows);
    json_decref(run.summary);
}

static void test_basic(struct reactor *reactor)
{
    struct fake f;
    fake_init(&f, reactor);
    f.fail_ids[0] = 3 + 1;
    f.fail_ids[1] = 7 + 1;
    f.refuse_id = 11;
    struct runner_target target = fake_target(&f, "fake://one");
    struct run run;
    json_t *rows = run_all(&run, reactor, "{\"threads\": 4, \"experimentName\": \"basic\"}", 20, &target, 1);

    CHECK(f.max_in_flight == 4); /* exactly `threads` at once, never more */
    CHECK(f.invocations == 20);
    CHECK(f.prepare_calls == 1 && f.prepare_arg == 4);
    CHECK(strcmp(status_of(&run), "complete") == 0);
    CHECK(integer(run.summary, "runs") == 20 && integer(run.summary, "successes") == 17);
    json_t *failures = json_object_get(run.summary, "failures");
    CHECK(json_object_size(failures) == 2 && integer(failures, "Boom") == 2 && integer(failures, "InvokeFailed") == 1);
    CHECK(integer(run.summary, "retries") == 0 && integer(run.summary, "abandonedInFlight") == 0);
    CHECK(run.last.done == 20 && run.last.failed == 3 && run.last.total == 20 && run.last.in_flight == 0);

    CHECK(json_array_size(rows) == 20);
    int all_once = 1, columns_ok = 1, ok_rows_ok = 1;
    for (int id = 0; id < 20; id++) {
        int count;
        json_t *row = find_row(rows, id, 0, 0, 0, &count);
        all_once &= count == 1;
        if (row == NULL)
            continue;
        char payload[32];
        snprintf(payload, sizeof payload, "{\"id\":%d}", id);
        columns_ok &= integer(row, "2_thread_id") == id % 4 && strcmp(string(row, "payload"), payload) == 0 &&
                      strcmp(string(row, "endpoint"), "fake://one") == 0 && integer(row, "retries") == 0 &&
                      json_number_value(json_object_get(row, "clientSendTime")) <=
                          json_number_value(json_object_get(row, "clientReceiveTime")) &&
                      json_number_value(json_object_get(row, "roundTripTime")) >= 0;
        if (id == 3 || id == 7 || id == 11)
            continue;
        double round_trip = json_number_value(json_object_get(row, "roundTripTime"));
        ok_rows_ok &= strcmp(string(row, "status"), "ok") == 0 && integer(row, "echo") == id &&
                      json_object_get(row, "errorType") == NULL &&
                      json_number_value(json_object_get(row, "latency")) - (round_trip - 5.0) < 1e-6 &&
                      json_number_value(json_object_get(row, "latency")) - (round_trip - 5.0) > -1e-6;
    }
    CHECK(all_once);
    CHECK(columns_ok);
    CHECK(ok_rows_ok);
    int count;
    json_t *row = find_row(rows, 3, 0, 0, 0, &count);
    CHECK(row != NULL && strcmp(string(row, "status"), "error") == 0 && strcmp(string(row, "errorType"), "Boom") == 0 &&
          strcmp(string(row, "errorMessage"), "run 3 failed") == 0 && json_object_get(row, "echo") == NULL);
    row = find_row(rows, 11, 0, 0, 0, &count);
    CHECK(row != NULL && strcmp(string(row, "errorType"), "InvokeFailed") == 0 &&
          strcmp(string(row, "errorMessage"), "the call could not start") == 0);
    json_decref(rows);
    json_decref(run.summary);
}

/* A target that answers before invoke returns: no recursion, every run a row. */
static void test_sync_answers(struct reactor *reactor)
{
    struct fake f;
    fake_init(&f, reactor);
    f.answer_sync = 1;
    struct runner_target target = fake_target(&f, "fake://sync");
    struct run run;
    json_t *rows = run_all(&run, reactor, "{\"threads\": 5}", 500, &target, 1);
    CHECK(strcmp(status_of(&run), "complete") == 0);
    CHECK(f.invocations == 500 && f.max_in_flight == 1);
    CHECK(json_array_size(rows) == 500 && integer(run.summary, "successes") == 500);
    int all_once = 1;
    for (int id = 0; id < 500; id++) {
        int count;
        json_t *row = find_row(rows, id, 0, 0, 0, &count);
        all_once &= count == 1 && integer(row, "2_thread_id") == id % 5;
    }
    CHECK(all_once);
    json_decref(rows);
    json_decref(run.summary);

    /* More slots than one launch chunk (64), answering at once or from timers. */
    for (int sync = 0; sync <= 1; sync++) {
        fake_init(&f, reactor);
        f.answer_sync = sync;
        rows = run_all(&run, reactor, "{\"threads\": 100}", 300, &target, 1);
        CHECK(strcmp(status_of(&run), "complete") == 0);
        CHECK(f.invocations == 300 && f.max_in_flight == (sync ? 1 : 100));
        CHECK(json_array_size(rows) == 300);
        all_once = 1;
        for (int id = 0; id < 300; id++) {
            int count;
            json_t *row = find_row(rows, id, 0, 0, 0, &count);
            all_once &= count == 1 && integer(row, "2_thread_id") == id % 100;
        }
        CHECK(all_once);
        json_decref(rows);
        json_decref(run.summary);
    }
}

static void test_throttled(struct reactor *reactor)
{
    struct fake f;
    fake_init(&f, reactor);
    f.throttle_times = 2;       /* even ids: twice each */
    f.throttle_forever_id = 1;  /* until the runner gives up */
    struct runner_target target = fake_target(&f, "fake://busy");
    struct run run;
    json_t *rows = run_all(&run, reactor, "{\"threads\": 2}", 10, &target, 1);
    CHECK(strcmp(status_of(&run), "complete") == 0);
    CHECK(json_array_size(rows) == 10); /* one row per run, not per attempt */
    CHECK(f.invocations == 10 + 5 * 2 + 20);
    CHECK(f.max_in_flight <= 2);
    CHECK(integer(run.summary, "retries") == 5 * 2 + 20);
    CHECK(run.last.retries == 30 && run.last.failed == 1);
    int even_ok = 1;
    for (int id = 0; id < 10; id += 2) {
        int count;
        json_t *row = find_row(rows, id, 0, 0, 0, &count);
        even_ok &= count == 1 && strcmp(string(row, "status"), "ok") == 0 && integer(row, "retries") == 2;
    }
    CHECK(even_ok);
    int count;
    json_t *row = find_row(rows, 3, 0, 0, 0, &count);
    CHECK(row != NULL && integer(row, "retries") == 0 && strcmp(string(row, "status"), "ok") == 0);
    row = find_row(rows, 1, 0, 0, 0, &count); /* gave up after 20 retries: a failed row */
    CHECK(row != NULL && integer(row, "retries") == 20 && strcmp(string(row, "status"), "error") == 0 &&
          strcmp(string(row, "errorType"), "TooManyRequests") == 0 &&
          strcmp(string(row, "errorMessage"), "slow down") == 0);
    CHECK(integer(json_object_get(run.summary, "failures"), "TooManyRequests") == 1);
    json_decref(rows);
    json_decref(run.summary);
}

static void test_memory_settings(struct reactor *reactor)
{
    struct fake f;
    fake_init(&f, reactor);
    struct runner_target target = fake_target(&f, "fake://mem");
    struct run run;
    json_t *rows = run_all(&run, reactor, "{\"threads\": 3, \"iterations\": 2, \"memorySettings\": [256, 512]}", 6,
                           &target, 1);
    CHECK(strcmp(status_of(&run), "complete") == 0);
    /* One change per setting, in order, each before its passes and after the last pass's calls. */
    CHECK(f.memory_calls == 2 && f.memory_log[0] == 256 && f.memory_log[1] == 512);
    CHECK(f.invocations_at_memory[0] == 0 && f.invocations_at_memory[1] == 12);
    CHECK(f.in_flight_at_memory[0] == 0 && f.in_flight_at_memory[1] == 0);
    CHECK(f.prepare_calls == 4 && f.prepare_arg == 3); /* before every pass */
    CHECK(f.invocations == 24 && f.max_in_flight == 3);
    CHECK(json_array_size(rows) == 24 && run.last.total == 24);
    int each_once = 1;
    for (int memory = 256; memory <= 512; memory *= 2)
        for (int iteration = 0; iteration < 2; iteration++)
            for (int id = 0; id < 6; id++) {
                int count;
                json_t *row = find_row(rows, id, 0, iteration, memory, &count);
                each_once &= count == 1 && integer(row, "memoryAtInvoke") == memory; /* set before the call */
            }
    CHECK(each_once);
    json_decref(rows);
    json_decref(run.summary);

    /* A setting that cannot be made ends the experiment: "failed", and why. */
    fake_init(&f, reactor);
    f.fail_memory = 512;
    target = fake_target(&f, "fake://mem");
    rows = run_all(&run, reactor, "{\"threads\": 3, \"memorySettings\": [256, 512, 1024]}", 6, &target, 1);
    CHECK(strcmp(status_of(&run), "failed") == 0);
    CHECK(strcmp(string(run.summary, "stoppedBy"), "AccessDenied") == 0);
    CHECK(f.memory_calls == 2 && f.invocations == 6);
    CHECK(json_array_size(rows) == 6); /* the 256 MB pass's rows are kept */
    json_decref(rows);
    json_decref(run.summary);
}

static void test_pipeline(struct reactor *reactor)
{
    struct fake first, second;
    fake_init(&first, reactor);
    fake_init(&second, reactor);
    first.fail_ids[0] = 2 + 1; /* run 2 ends at the first stage */
    second.refuse_id = 1;      /* run 1's second call cannot start */
    struct runner_target targets[2] = {fake_target(&first, "fake://one"), fake_target(&second, "fake://two")};
    targets[1].annotate = fake_annotate; /* only the second stage's rows get its columns */
    struct run run;
    json_t *rows = run_all(&run, reactor, "{\"threads\": 2, \"passPayloads\": true, \"transitions\": {\"out\": \"in\"}}",
                           4, targets, 2);
    CHECK(strcmp(status_of(&run), "complete") == 0);
    CHECK(first.invocations == 4 && second.invocations == 3);
    CHECK(first.prepare_calls == 1 && second.prepare_calls == 1);
    CHECK(json_array_size(rows) == 7 && run.last.total == 8);
    int stages_ok = 1;
    for (int id = 0; id < 4; id++) {
        int count;
        json_t *row = find_row(rows, id, 0, 0, 0, &count);
        stages_ok &= count == 1 && strcmp(string(row, "endpoint"), "fake://one") == 0 &&
                     json_object_get(row, "annotated") == NULL;
        row = find_row(rows, id, 1, 0, 0, &count);
        if (id == 2) {
            stages_ok &= count == 0;
            continue;
        }
        if (id == 1) {
            stages_ok &= count == 1 && strcmp(string(row, "errorType"), "InvokeFailed") == 0;
            continue;
        }
        /* The second stage got the first one's result merged over the payload, "out" renamed "in". */
        stages_ok &= count == 1 && strcmp(string(row, "endpoint"), "fake://two") == 0 &&
                     json_is_true(json_object_get(row, "annotated")) &&
                     integer(row, "seenIn") == 10 * id && integer(row, "echo") == id &&
                     integer(row, "2_thread_id") == id % 2;
        json_t *payload = json_loads(string(row, "payload"), 0, NULL);
        stages_ok &= integer(payload, "in") == 10 * id && integer(payload, "id") == id &&
                     json_object_get(payload, "out") == NULL;
        json_decref(payload);
    }
    CHECK(stages_ok);
    json_t *failures = json_object_get(run.summary, "failures");
    CHECK(integer(failures, "Boom") == 1 && integer(failures, "InvokeFailed") == 1);
    CHECK(integer(run.summary, "runs") == 7 && integer(run.summary, "successes") == 5);
    json_decref(rows);
    json_decref(run.summary);

    /* Without passPayloads the second stage gets the run's own payload. */
    fake_init(&first, reactor);
    fake_init(&second, reactor);
    rows = run_all(&run, reactor, "{\"threads\": 2}", 4, targets, 2);
    CHECK(json_array_size(rows) == 8);
    int plain_ok = 1;
    for (int id = 0; id < 4; id++) {
        int count;
        json_t *row = find_row(rows, id, 1, 0, 0, &count);
        char payload[32];
        snprintf(payload, sizeof payload, "{\"id\":%d}", id);
        plain_ok &= count == 1 && json_is_null(json_object_get(row, "seenIn")) &&
                    strcmp(string(row, "payload"), payload) == 0;
    }
    CHECK(plain_ok);
    json_decref(rows);
    json_decref(run.summary);

    /* Results given as text: JSON text is parsed for the next stage, other text is passed as "result". */
    fake_init(&first, reactor);
    fake_init(&second, reactor);
    first.text_results = 1;
    rows = run_all(&run, reactor, "{\"threads\": 2, \"passPayloads\": true}", 4, targets, 2);
    CHECK(json_array_size(rows) == 8);
    int count;
    json_t *row = find_row(rows, 2, 1, 0, 0, &count);
    json_t *payload = row != NULL ? json_loads(string(row, "payload"), 0, NULL) : NULL;
    CHECK(payload != NULL && integer(payload, "out") == 20 && integer(payload, "id") == 2); /* no transitions */
    json_decref(payload);
    row = find_row(rows, 2, 0, 0, 0, &count); /* the text's JSON is the row's */
    CHECK(row != NULL && integer(row, "echo") == 2 && integer(row, "out") == 20);
    row = find_row(rows, 3, 0, 0, 0, &count);
    CHECK(row != NULL && strcmp(string(row, "result"), "plain text 3") == 0);
    row = find_row(rows, 3, 1, 0, 0, &count);
    CHECK(row != NULL && strcmp(string(row, "seenResult"), "plain text 3") == 0);
    json_decref(rows);
    json_decref(run.summary);
}

static void test_measured_by_target(struct reactor *reactor)
{
    struct fake f;
    fake_init(&f, reactor);
    f.measured = 1;
    struct runner_target target = fake_target(&f, "fake://measured");
    struct run run;
    json_t *rows = run_all(&run, reactor, "{\"threads\": 2}", 4, &target, 1);
    CHECK(json_array_size(rows) == 4);
    int times_ok = 1;
    for (int id = 0; id < 4; id++) {
        int count;
        json_t *row = find_row(rows, id, 0, 0, 0, &count);
        times_ok &= row != NULL && json_number_value(json_object_get(row, "clientSendTime")) == 1000.0 + id &&
                    json_number_value(json_object_get(row, "clientReceiveTime")) == 1010.0 + id &&
                    json_number_value(json_object_get(row, "roundTripTime")) == 10.0 &&
                    json_number_value(json_object_get(row, "latency")) == 5.0;
    }
    CHECK(times_ok);
    json_decref(rows);
    json_decref(run.summary);
}

static void test_call_async(struct reactor *reactor)
{
    struct fake f;
    fake_init(&f, reactor);
    struct runner_target target = fake_target(&f, "fake://async");
    struct run run;
    json_t *rows = run_all(&run, reactor, "{\"threads\": 3, \"callAsync\": true}", 12, &target, 1);
    CHECK(strcmp(status_of(&run), "complete") == 0);
    CHECK(f.max_in_flight == 12); /* every slot sent all of its runs at once */
    CHECK(json_array_size(rows) == 12 && integer(run.summary, "successes") == 12);
    int all_once = 1;
    for (int id = 0; id < 12; id++) {
        int count;
        json_t *row = find_row(rows, id, 0, 0, 0, &count);
        all_once &= count == 1 && integer(row, "2_thread_id") == id % 3;
    }
    CHECK(all_once);
    json_decref(rows);
    json_decref(run.summary);
}

static void test_interrupt(struct reactor *reactor)
{
    /* Runs 0 and 1 answer; 2 and 3 are held; the interrupt comes while they are in flight. */
    struct fake f;
    fake_init(&f, reactor);
    f.hold_from = 2;
    struct runner_target target = fake_target(&f, "fake://slow");
    struct run run;
    char err[512] = "";
    CHECK(run_start(&run, reactor, "{\"threads\": 2}", 6, &target, 1, err, sizeof err) == 0);
    CHECK(drive_until(reactor, &f.held_count, 2));
    runner_interrupt(run.runner);
    CHECK(run.finished == 0); /* waiting for the two in flight */
    answer_held(&f);          /* they answer within the grace time */
    CHECK(run.finished == 1 && strcmp(status_of(&run), "interrupted") == 0);
    CHECK(integer(run.summary, "abandonedInFlight") == 0);
    json_t *rows = run_end(&run);
    CHECK(f.invocations == 4); /* runs 4 and 5 never started */
    CHECK(json_array_size(rows) == 4);
    int count, kept = 1;
    for (int id = 0; id < 4; id++)
        kept &= find_row(rows, id, 0, 0, 0, &count) != NULL && count == 1;
    CHECK(kept);
    json_decref(rows);
    json_decref(run.summary);

    /* The grace time runs out: the held runs get no rows; their late answers are dropped. */
    fake_init(&f, reactor);
    f.hold_from = 2;
    CHECK(run_start(&run, reactor, "{\"threads\": 2}", 6, &target, 1, err, sizeof err) == 0);
    CHECK(drive_until(reactor, &f.held_count, 2));
    runner_interrupt(run.runner);
    CHECK(drive_until(reactor, &run.finished, 1));
    CHECK(strcmp(status_of(&run), "interrupted") == 0 && integer(run.summary, "abandonedInFlight") == 2);
    runner_release(run.runner); /* still waiting for the two calls */
    answer_held(&f);            /* the last one frees it */
    run.runner = NULL;
    rows = run_end(&run);
    CHECK(json_array_size(rows) == 2 && integer(run.summary, "runs") == 2);
    json_decref(rows);
    json_decref(run.summary);

    /* An interrupt while a memory setting is applied waits for its answer,
     * so nothing set afterwards (the session's restore) races it. */
    fake_init(&f, reactor);
    CHECK(run_start(&run, reactor, "{\"threads\": 2, \"memorySettings\": [256, 512]}", 4, &target, 1, err,
                    sizeof err) == 0);
    CHECK(f.memory_calls == 1);
    runner_interrupt(run.runner);
    CHECK(run.finished == 0);
    CHECK(drive_until(reactor, &run.finished, 1));
    CHECK(strcmp(status_of(&run), "interrupted") == 0 && f.memory_calls == 1 && f.invocations == 0);
    rows = run_end(&run);
    CHECK(json_array_size(rows) == 0);
    json_decref(rows);
    json_decref(run.summary);

    /* Abort: at once, the same. */
    fake_init(&f, reactor);
    f.hold_from = 2;
    CHECK(run_start(&run, reactor, "{\"threads\": 2}", 6, &target, 1, err, sizeof err) == 0);
    CHECK(drive_until(reactor, &f.held_count, 2));
    runner_abort(run.runner);
    CHECK(run.finished == 1 && strcmp(status_of(&run), "interrupted") == 0);
    CHECK(integer(run.summary, "abandonedInFlight") == 2);
    runner_release(run.runner);
    answer_held(&f);
    run.runner = NULL;
    rows = run_end(&run);
    CHECK(json_array_size(rows) == 2);
    CHECK(find_row(rows, 0, 0, 0, 0, &count) != NULL && find_row(rows, 1, 0, 0, 0, &count) != NULL);
    json_decref(rows);
    json_decref(run.summary);
}

static void test_refusals(struct reactor *reactor)
{
    struct fake f;
    fake_init(&f, reactor);
    struct runner_target http = fake_target(&f, "http://example.com");
    http.set_memory = NULL;
    http.accepts_async = 0;
    struct runner_target two[2] = {fake_target(&f, "a"), fake_target(&f, "b")};
    struct {
        const char *experiment;
        const struct runner_target *targets;
        int stages;
        const char *error;
    } cases[] = {
        {"{\"memorySettings\": [256]}", &http, 1, "memorySettings needs a platform function"},
        {"{\"callAsync\": true}", &http, 1, "callAsync needs a platform function"},
        {"{\"memorySettings\": [256]}", two, 2, "memorySettings and callAsync work with one function"},
        {"{\"callAsync\": true}", two, 2, "memorySettings and callAsync work with one function"},
        {"{}", two, 0, "a pipeline has 1 to 16 functions"},
        {"{}", two, 17, "a pipeline has 1 to 16 functions"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run run;
        char err[512] = "";
        CHECK(run_start(&run, reactor, cases[i].experiment, 10, cases[i].targets, cases[i].stages, err, sizeof err) <
              0);
        CHECK(run.runner == NULL && strstr(err, cases[i].error) != NULL);
        results_close(run.store, NULL);
        experiment_free(&run.experiment);
    }
    CHECK(f.invocations == 0 && f.memory_calls == 0);
}

int main(void)
{
    if (mkdtemp(parent) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    struct reactor *reactor = reactor_new();
    test_basic(reactor);
    test_waits_for_connections(reactor);
    test_sync_answers(reactor);
    test_throttled(reactor);
    test_memory_settings(reactor);
    test_pipeline(reactor);
    test_measured_by_target(reactor);
    test_call_async(reactor);
    test_interrupt(reactor);
    test_refusals(reactor);
    CHECK(reactor_run_timers(reactor) == -1); /* nothing left behind */
    reactor_free(reactor);
    CHECK(fsutil_remove_tree(parent) == 0);
    return check_report();
}
