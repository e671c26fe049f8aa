/* report: the text of FaaS Runner's report of a set of runs, as its
 * report generator (test/tools/report_generator.py in wlloyduw/SAAF)
 * writes it, so its users' scripts and its report splitter read ours:
 *
 *   DATE TIME - Python Partest Version 0.5
 *   Setting up test: runsperthread=R threads=T totalruns=N payload=[...]
 *
 *   Raw results of each run:
 *   a,b,c                        (every attribute, sorted, less ignoreFromAll)
 *   ...
 *   Successful Runs: N
 *   [\nK runs removed from categories....]
 *   \nCategory X:                (each outputGroups attribute, sorted, that runs have)
 *   X,uses,avg_a,sum_b,c_list    (sorted; showAsSum / showAsList; less the ignore lists)
 *   value,uses,...               (values sorted; averages rounded to 0.01)
 *   Total number of unique Xs: N
 *   [\n--- Runs of Group X ---\n\nCategory X with V:\nheader\nruns...]  (outputRawOfGroup)
 *
 * The rows are FaaS Runner's runs: objects whose values are the text
 * FaaS Runner keeps (see faasrunner.h). report_text changes them as FaaS
 * Runner does: a key some runs lack is filled with -999999999999 in those,
 * each run gets runtimeOverlap (the sum, over the other runs sharing the
 * overlapFilter attribute, of the part of this run's SAAF startTime..endTime
 * that the other run covers, as a fraction of this run's length, rounded to
 * 0.01), and runs matched by `invalidators` or, with
 * removeDuplicateContainers, repeating a `uuid`, are taken out of the array
 * before the groups. Groups are not made for `uuid` when runs have
 * `containerID`, nor for `vmuptime` when they have `vmID`; an attribute no
 * run has makes no section. */
#ifndef FAASET_REPORT_H
#define FAASET_REPORT_H

#include <jansson.h>

#include "buffer.h"

/* Appends the report of ROWS (changed in place, see above) under
 * EXPERIMENT's keys (the file as given; FaaS Runner's defaults for the
 * absent ones) to OUT; STARTED is the first line's date, as Python's
 * str(datetime.now()) writes it. ROWS must not be empty. */
void report_text(json_t *rows, const json_t *experiment, const char *started, struct buffer *out);

#endif
