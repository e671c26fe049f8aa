/* runner: FaaS Runner's job, on the kernel's event loop. An experiment is
 * a series of passes (each memory setting, then each iteration); a pass
 * makes `runs` invocations with exactly `threads` in flight: slot t makes
 * runs t, t + threads, t + 2 threads, ... one after another, as FaaS
 * Runner's threads do, but a slot is a callback, not an OS thread, so a
 * thousand slots cost a thousand small records (with callAsync a slot
 * sends all its runs as the platform takes them, and the pass ends when
 * every answer is in). Each finished run is a row
 * (FaaS Runner's columns, the function's SAAF attributes, client send and
 * receive times) written to the results store at once; a failed run is a
 * row with its error; a throttled one is retried with exponential backoff
 * and jitter, honouring Retry-After, and its retries are counted. */
#ifndef FAASET_RUNNER_H
#define FAASET_RUNNER_H

#include <jansson.h>

#include "experiment.h"
#include "reactor.h"
#include "results.h"

/* How one invocation (or memory change) ended; valid during the callback. */
struct runner_outcome {
    int ok;
    const json_t *result;            /* the function's return value */
    /* Or, when RESULT is NULL: the answer's text, parsed by the runner
     * only when the row is written (or the next stage needs it), as JSON,
     * else taken as a string. Valid during the callback. */
    const char *result_text;
    size_t result_size;
    const char *error_type;
    const char *message;
    int throttled;                   /* retry it */
    double retry_after_ms;           /* the platform's Retry-After, 0 when none */
    /* When the target itself sent the request and read the answer (epoch
     * ms), and the round trip between them on a monotonic clock: set all
     * three, or leave received_epoch_ms 0 and the runner measures from its
     * own send to the callback. */
    double sent_epoch_ms, received_epoch_ms, round_trip_ms;
    double billed_ms;                /* the platform's own billed duration (Lambda's REPORT line); 0: not said */
};

typedef void (*runner_done_fn)(void *call, const struct runner_outcome *outcome);

/* What the runner calls: a deployed function on a platform, or an HTTP endpoint. */
struct runner_target {
    void *ctx;
    const char *function;
    const char *endpoint;            /* the `endpoint` column: URL or platform name */
    int (*invoke)(void *ctx, const json_t *payload, runner_done_fn done, void *call);
    /* Reconfigures the memory; NULL when the target cannot. */
    int (*set_memory)(void *ctx, int memory_mb, runner_done_fn done, void *call);
    /* callAsync: a call counts as accepted once invoke returns (the platform
     * queued it), so its slot goes on; the row is written when it answers. */
    int accepts_async;
    /* Before each pass: gets ready for CALLS calls at once (an HTTP target
     * opens its connections, so the first wave starts together, not over
     * the time it takes to connect them one by one); NULL when a target has
     * nothing to prepare. */
    void (*prepare)(void *ctx, int calls);
    /* How many of the prepared connections are not up yet (TLS handshakes
     * take a while): the pass starts when none is, or after
     * RUNNER_CONNECT_WAIT_MS; NULL when a target has nothing to wait for. */
    size_t (*preparing)(void *ctx);
    /* Adds the target's own columns to the row of a finished run (its bill:
     * billedDuration, cost; a billedDuration the platform gave is in the
     * row already, with billedFrom "platform"); NULL when it has none. */
    void (*annotate)(void *ctx, json_t *row);
};

struct runner_progress {
    long long done, failed, in_flight, total, retries;
    double rate;                     /* runs per second so far */
    double eta_s;                    /* -1 when unknown */
    const char *phase;               /* "running", "reconfiguring", "sleeping", ... */
};

struct runner_events {
    void *ctx;
    void (*progress)(void *ctx, const struct runner_progress *progress);
    /* The experiment ended (SUMMARY: stats_report's figures and series, and
     * "status"). The runner may be released from here on. */
    void (*finished)(void *ctx, const json_t *summary);
};

struct runner;

/* Starts EXPERIMENT (the runner keeps a reference to it and to STORE until
 * finished) against STAGE_COUNT targets: one, or a pipeline whose runs go
 * through every stage in turn (3_pipeline_stage), the next stage getting
 * the run's payload, or with passPayloads the previous stage's result
 * merged over it, its keys renamed by `transitions`. A failed stage ends
 * its run. Returns NULL with ERR. */
struct runner *runner_start(struct reactor *reactor, const struct experiment *experiment,
                            const struct runner_target *targets, int stage_count, struct results_store *store,
                            const struct runner_events *events, char *err, size_t err_size);

/* Stops launching; in-flight runs (and a memory setting being applied) get
 * two seconds to finish, then are given up (rows are not written for
 * them); the summary says "interrupted". */
void runner_interrupt(struct runner *runner);

/* Ends at once (kernel shutdown): the runs in flight are given up without
 * rows, the summary says "interrupted". */
void runner_abort(struct runner *runner);

/* Releases the runner: at once if nothing is in flight, else when the last
 * outstanding callback arrives. Call after `finished`. */
void runner_release(struct runner *runner);

#endif
