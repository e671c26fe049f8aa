/* stats: the figures of an experiment, fed one row at a time (live by the
 * runner, or from runs.jsonl for %results): runs, successes, failures by
 * type, p50 / p90 / p99 of runtime, latency and roundTripTime, new
 * containers, and concurrency over time, peak and time-weighted mean, from
 * the functions' own start and end times (SAAF startTime / endTime) when
 * they report them, and from the client's send and receive times. Memory is
 * a few numbers per row, so a 20,000-run experiment costs a megabyte. The
 * function's times are used only when every run reported them. Each
 * platform's runs (a row's `endpoint`: where the runner sent it) are also
 * counted on their own, for experiments across platforms. */
#ifndef FAASET_STATS_H
#define FAASET_STATS_H

#include <jansson.h>

struct stats;

struct stats *stats_new(void);
void stats_free(struct stats *stats);
void stats_add(struct stats *stats, const json_t *row);

/* The figures as JSON: {"runs", "successes", "failures": {type: n},
 * "runtime": {"p50", "p90", "p99", "mean"}, "latency": {...},
 * "roundTripTime": {...}, "newContainers", "concurrency": {"peak", "mean",
 * "source": "function" | "client"}, "wallTime" (s), "warmRuns" (SAAF
 * newcontainer 0), and, when runs were billed (a `cost` column), "cost":
 * {"total" (USD), "billedRuns", "billedMs"}}. */
json_t *stats_summary(const struct stats *stats);

/* stats_summary plus the chart series: "concurrencySeries",
 * "latencySeries" (400 points at most each), "groups", and "platforms":
 * each platform's stats_summary with "platform" and its own
 * "concurrencySeries", in the order the platforms first answered. The charts take
 * every figure from here, so a chart and the summary table never
 * disagree. */
json_t *stats_report(const struct stats *stats);

/* A copy of REPORT without its chart series (concurrencySeries,
 * latencySeries, each platform's concurrencySeries): what summary.json
 * and the front ends' answers keep. */
json_t *stats_without_series(const json_t *report);

/* stats_report of ROWS (an array of rows: runs.jsonl read back), for
 * %results and for an experiment across platforms. */
json_t *stats_report_rows(const json_t *rows);

/* Concurrency over time as [[t_seconds, in_flight], ...] steps (at most
 * MAX_POINTS, evenly thinned), for the chart. */
json_t *stats_concurrency_series(const struct stats *stats, size_t max_points);

/* Latency over time: [[t_seconds since the first send, latency_ms,
 * memory_mb, platform, cold], ...] of the successful runs (at most
 * MAX_POINTS, evenly thinned); memory_mb 0 is the function's configured
 * memory, platform is the row's `endpoint` (else SAAF's `platform`, or ""), cold is SAAF's newcontainer as
 * true / false, null when the function did not say. */
json_t *stats_latency_series(const struct stats *stats, size_t max_points);

/* The successful runs by memory setting and platform, in ascending memory:
 * [{"memory" (0: the function's configured memory), "platform" (the rows'
 * `endpoint`, else SAAF's `platform`, or ""), "runs", "cold", "warm" (newcontainer 1 / 0), "runtime" and
 * "latency" (the same distributions as the summary's, or null)}, ...]. */
json_t *stats_groups(const struct stats *stats);

#endif
