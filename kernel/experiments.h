/* experiments: the kernel's side of %%experiment FUNCTION (JSON body) and
 * %experiment FUNCTION FILE.json. It checks the experiment, opens its
 * results folder beside the notebook (printing the path), drives the
 * runner against the function's platform, shows one progress display
 * updated in place (at most four times a second), and ends the cell with
 * a summary: runs, successes, failures by type, runtime / latency / round
 * trip percentiles, new containers, peak and mean concurrency. An
 * interrupt stops new launches and ends the cell within two seconds,
 * keeping every finished row. */
#ifndef FAASET_EXPERIMENTS_H
#define FAASET_EXPERIMENTS_H

#include <jansson.h>

struct dispatcher;

/* Starts an experiment for the current execute_request, which it answers
 * when the experiment ends (or fails at once with an error output). */
void experiments_start(struct dispatcher *d, const char *function, const json_t *experiment, const char *name_hint);

/* The same for the runtime's `experiment` upcall (run_experiment() in a
 * cell): REPLY gets {"status": "ok", "folder", "summary", "interrupted"}
 * or the error fields; progress and summary show under the running cell. */
void experiments_start_call(struct dispatcher *d, const json_t *upcall, void (*reply)(void *ctx, json_t *result),
                            void *ctx);

/* Writes FOLDER/report.csv (FaaS Runner's grouped report, see report.h)
 * when EXPERIMENT has outputGroups or an overlapFilter. */
void experiments_write_report(const char *folder, const json_t *experiment);

/* %results [NAME] re-shows a past experiment (the newest, or the newest
 * whose folder name starts with NAME) from its rows on disk; %results A B
 * compares two. Answers the current execute_request. */
void experiments_results(struct dispatcher *d, const char *args);

/* The current experiment, if any, stops (interrupt). Returns 1 if there was one. */
int experiments_interrupt(struct dispatcher *d);

/* Ends a running experiment at kernel shutdown, keeping its rows. */
void experiments_shutdown(struct dispatcher *d);

#endif
