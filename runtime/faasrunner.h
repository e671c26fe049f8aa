/* faasrunner: an experiment's rows written out as FaaS Runner writes its
 * output, beside faaset's own files in the results folder, so that its
 * users' scripts, its compile_results.py and its report splitter read
 * them as they are:
 *
 *   FUNCTION-EXPERIMENT-MEMMBs-runI.csv   the report (report.h) of iteration I
 *                                         of memory setting MEM (0: none given)
 *   FUNCTION-EXPERIMENT-MEMMBs-runI/      one JSON file per run of it,
 *                                         runK-UUID.json
 *   FUNCTION-EXPERIMENT-MEMMBs-COMBINED.csv  with combineSheets: the report of
 *                                         every iteration from warmupBuffer on,
 *                                         each run with `iteration` (and
 *                                         `vmID[iteration]`)
 *
 * A run is in them as FaaS Runner keeps it: only runs that answered with
 * SAAF's `version` (FaaS Runner counts no other as successful); the
 * function's attributes plus `1_run_id`, `2_thread_id`
 * (`3_pipeline_stage` in a pipeline), `zAll` ("Final Results:"),
 * `roundTripTime` rounded to 0.01 ms, `payload` (the JSON sent),
 * `latency` (roundTripTime less the whole ms of `runtime`, to 0.01),
 * `endpoint` (the URL of an HTTP function, else the function's name) when
 * the function did not name its `platform`, and `cpuType`
 * with " - Model " and `cpuModel` after it; every value as Python's str()
 * writes it with commas made ';', tabs and line breaks escaped. faaset's
 * own columns (status, retries, client times, memorySetting, ...) stay in
 * runs.jsonl and runs.csv. As in FaaS Runner, a report takes its
 * invalidated runs out of the iteration's list, so they are not in the
 * JSON folder nor in the combined report. */
#ifndef FAASET_FAASRUNNER_H
#define FAASET_FAASRUNNER_H

#include <jansson.h>
#include <stddef.h>

#include "experiment.h"

/* Writes the files above into FOLDER for ROWS (runs.jsonl's, in order)
 * of EXPERIMENT against FUNCTION; PIPELINE when it had several stages.
 * Returns 0, or -1 with ERR. */
int faasrunner_write(const char *folder, const char *function, const struct experiment *experiment, int pipeline,
                     const json_t *rows, char *err, size_t err_size);

#endif
