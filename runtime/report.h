/* report: FaaS Runner's CSV report of an experiment, written beside its
 * rows as report.csv when it ends: a header of counts (successful and
 * failed runs), the raw runs (less `ignoreFromAll`), then one section per
 * attribute in `outputGroups`: one line per value with `uses` and, for
 * every numeric attribute, `avg_X`, or `sum_X` for those in `showAsSum`,
 * and `X_list` for those in `showAsList` (less `ignoreFromGroups` and
 * `ignoreByGroup[G]`); the raw runs of each value for groups in
 * `outputRawOfGroup`. Groups leave out failed runs, runs matching an
 * `invalidators` {attribute: value}, the first `warmupBuffer` iterations,
 * and, with `removeDuplicateContainers`, all but the first run of each
 * container `uuid`. */
#ifndef FAASET_REPORT_H
#define FAASET_REPORT_H

#include <jansson.h>
#include <stddef.h>

/* Writes FOLDER/report.csv for ROWS under EXPERIMENT's keys (the file as
 * given). Returns 0, or -1 with ERR. */
int report_write(const char *folder, const json_t *experiment, const json_t *rows, char *err, size_t err_size);

#endif
