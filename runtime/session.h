/* session: one experiment from start to end, the same for the notebook and
 * the command line. A session gathers its stages (a deployed function, a
 * pipeline of them, a FaaS Runner function file, an HTTP endpoint), reads
 * and checks the experiment, opens its results folder, drives the runner,
 * and when the runner ends closes the folder with the summary (plus
 * endTime) and writes FaaS Runner's own files beside faaset's
 * (faasrunner.h). With `platforms` (or a function deployed to several) the
 * same runs go to each platform, together or one platform after another
 * (`platformOrder`), every row with its platform, and the summary compares
 * them and says what the runs cost (prices.h). An experiment with memorySettings first puts the
 * function's memory back to what its cell deployed (its deploy record from
 * before the run), and its summary says how that went. What the user sees (progress, tables, charts or lines on a
 * terminal) is the front end's, through the events.
 *
 * Life cycle: session_new, session_add_* for each stage, session_open
 * (experiment checked, folder open: the front end can now show the start
 * line), session_run (the first runs go out), then `finished` once, then
 * session_free. session_interrupt stops it early; session_abort ends it at
 * once (kernel shutdown). */
#ifndef FAASET_SESSION_H
#define FAASET_SESSION_H

#include <jansson.h>

#include "cloud.h"
#include "experiment.h"
#include "reactor.h"
#include "runner.h"

#define SESSION_MAX_STAGES 16

/* Why a session could not start; session_error_name gives the error's name. */
enum session_error {
    SESSION_OK,
    SESSION_NOT_DEPLOYED,          /* a stage's function is not deployed from this folder */
    SESSION_INVALID_EXPERIMENT,    /* the experiment or a stage is wrong */
    SESSION_RESULTS_UNAVAILABLE,   /* the results folder cannot be written */
    SESSION_NO_MEMORY,
};

struct session_events {
    void *ctx;
    void (*progress)(void *ctx, const struct runner_progress *progress);
    /* The experiment ended: SUMMARY has stats_report's figures and series,
     * "status" and "endTime", and with memorySettings "memoryRestored"
     * (true or false) and "memoryRestore" (a sentence: "memory restored to
     * 128 MB", or why not); the folder is closed. Free the session from
     * here on. */
    void (*finished)(void *ctx, const json_t *summary);
};

struct session;

/* OUTPUT is the folder the results folders go under (faaset-results);
 * WORKDIR resolves payloadFolder. */
struct session *session_new(struct reactor *reactor, struct cloud *cloud, const char *output, const char *workdir,
                            const struct session_events *events);
void session_free(struct session *session);

/* Adds the functions named in NAMES ("f", or a pipeline "f g h"); each
 * must be deployed from this folder, and session_open makes their stages
 * on each platform of the experiment (or where the first is deployed). */
enum session_error session_add_functions(struct session *session, const char *names, char *err, size_t err_size);

/* Adds a FaaS Runner function file's function: {"function", "platform"}
 * (FaaS Runner's platform names and ours; "HTTP" with an "endpoint" URL
 * POSTs each payload there). */
enum session_error session_add_function_file(struct session *session, const json_t *file, char *err,
                                             size_t err_size);

/* Reads the experiment (NAME_HINT names it when it has no experimentName)
 * and opens its results folder. */
enum session_error session_open(struct session *session, const json_t *experiment, const char *name_hint, char *err,
                                size_t err_size);

/* Starts the runs. */
enum session_error session_run(struct session *session, char *err, size_t err_size);

void session_interrupt(struct session *session);
void session_abort(struct session *session);

const char *session_error_name(enum session_error error);

/* After session_open. */
const struct experiment *session_experiment(const struct session *session);
const char *session_folder(const struct session *session);
/* The platforms the calls go to: "local", or "local, ibm" across platforms. */
const char *session_platform(const struct session *session);
int session_stage_count(const struct session *session);
/* How many platforms the same runs go to (experiment's `platforms`). */
int session_platform_count(const struct session *session);

#endif
