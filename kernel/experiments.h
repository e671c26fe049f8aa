/* experiments: the notebook's side of %%experiment FUNCTION (JSON body),
 * %experiment FUNCTION FILE.json and run_experiment(). The experiment runs
 * as a session (runtime/session.h: the experiment checked, its results
 * folder beside the notebook, the runner, the report); this module shows
 * it under its cell: the folder's path, one progress display updated in
 * place, and at the end a summary (runs, successes, failures by type,
 * runtime / latency / round trip percentiles, new containers, peak and
 * mean concurrency) and three charts (experiment_charts.h, drawn from
 * that same summary). An interrupt stops new launches and
 * ends the cell within two seconds, keeping every finished row. %results
 * shows past experiments again from their rows on disk. */
#ifndef FAASET_EXPERIMENTS_H
#define FAASET_EXPERIMENTS_H

#include <jansson.h>

#include "cloud.h"
#include "reactor.h"
#include "requests.h"

struct experiments;

/* WORKDIR is the notebook's folder (payloadFolder is read from there). */
struct experiments *experiments_new(struct requests *requests, struct cloud *cloud, struct reactor *reactor,
                                    const char *workdir);
/* Ends a running experiment at kernel shutdown, keeping its rows. */
void experiments_free(struct experiments *experiments);

/* Starts an experiment for the current execute_request, which it answers
 * when the experiment ends (or fails at once with an error output).
 * FUNCTIONS is one function or a pipeline ("f g"); NAME_HINT names the
 * experiment when it has no experimentName (NULL: the function). */
void experiments_start_cell(struct experiments *experiments, const char *functions, const json_t *experiment,
                            const char *name_hint);

/* The runtime's `experiment` upcall (run_experiment() in a cell), for
 * upcalls.h (CTX is the experiments): REPLY gets {"status": "ok",
 * "folder", "summary", "interrupted"} or the error fields; progress and
 * summary show under the running cell. */
void experiments_start_call(void *ctx, const json_t *upcall, cloud_reply_fn reply, void *reply_ctx);

/* The current experiment, if any, stops (interrupt). Returns 1 if there was one. */
int experiments_interrupt(struct experiments *experiments);

/* %results [NAME] re-shows a past experiment (the newest, or the newest
 * whose folder name starts with NAME) from its rows on disk; %results A B
 * compares two; --save DIR also writes the charts of each into DIR as
 * SVG files and prints their paths. Answers the current execute_request. */
void experiments_results(struct experiments *experiments, const char *args);

#endif
