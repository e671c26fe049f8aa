/* results: an experiment's rows on disk, beside the notebook, so results
 * travel with it and nothing finished is lost: the folder
 * faaset-results/FUNCTION/NAME-YYYYMMDDTHHMMSSZ/ holds experiment.json (the
 * experiment, the function's hash and platform settings, the start time),
 * runs.jsonl and runs.csv (one line per run, appended as runs complete,
 * written out at least once a second) and, at the end, summary.json (end
 * time, status "complete" or "interrupted", the figures). A kernel killed
 * mid-run loses only the rows of runs still in flight and at most the last
 * second of buffered ones. runs.csv's columns: FaaS Runner's run columns
 * and faaset's, the SAAF attributes, then every other attribute a row
 * has, each its own column, in the order they first appear. */
#ifndef FAASET_RESULTS_H
#define FAASET_RESULTS_H

#include <jansson.h>
#include <stddef.h>

struct results_store;

/* Creates PARENT/FUNCTION/NAME-TIME/ (PARENT is "faaset-results" in the
 * notebook's folder, or the CLI's -o) and experiment.json (META). Returns
 * NULL with ERR. */
struct results_store *results_open(const char *parent, const char *function, const char *name, const json_t *meta,
                                   char *err, size_t err_size);

/* Queues one row (an object) for both files. */
void results_append(struct results_store *store, const json_t *row);

/* Writes what is queued. */
void results_flush(struct results_store *store);

/* Writes summary.json (SUMMARY, may be NULL), flushes and frees. */
void results_close(struct results_store *store, const json_t *summary);

/* The run's folder, PARENT/FUNCTION/NAME-TIME. */
const char *results_folder(const struct results_store *store);

/* Reads a run folder's rows back (runs.jsonl), for %results. NULL with ERR. */
json_t *results_load_rows(const char *folder, char *err, size_t err_size);

#endif
