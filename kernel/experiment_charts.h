/* experiment_charts: the charts of one experiment, made from the figures
 * and series of its stats report (runtime/stats.h), the same report the
 * summary table is printed from: every number a chart shows (the mean in
 * flight, percentiles) is read from there, never computed again.
 *
 *   concurrency  runs in flight over time (the FaaSET paper's Figure 4),
 *                with the summary's mean and peak as rules
 *   latency      latency over time (Figure 5), one colour per memory
 *                setting (and platform, when there are several), cold
 *                starts as open triangles, the summary's p50 and p99 as rules
 *   runtime      runtime by memory setting: min to max, p50 to p90, and
 *                p50 / p90 / p99 marked, from the report's groups
 *
 * Titles say what was run: function, platform(s), runs, threads, memory
 * settings ("the function's configured memory" when the experiment left
 * it alone). Milliseconds become seconds on an axis that reaches 10 s. */
#ifndef FAASET_EXPERIMENT_CHARTS_H
#define FAASET_EXPERIMENT_CHARTS_H

#include <jansson.h>
#include <stddef.h>

/* What was run, for the subtitles. */
struct experiment_charts_about {
    const char *function;       /* "sleeper", or a pipeline "first second" */
    const char *platforms;      /* "local", "aws", ... */
    int threads;                /* 0: not known */
};

/* [{"name": "concurrency" | "latency" | "runtime", "bundle": display_data
 * content}, ...] for the charts that have data, then, when some have
 * none, {"name": "note", "bundle": a text display saying why}. */
json_t *experiment_charts_build(const json_t *report, const struct experiment_charts_about *about);

/* Writes the SVG of each chart of CHARTS into DIR (made if missing) as
 * STEM-NAME.svg. Returns the paths written (an array), or NULL with ERR. */
json_t *experiment_charts_save(const json_t *charts, const char *dir, const char *stem, char *err, size_t err_size);

#endif
