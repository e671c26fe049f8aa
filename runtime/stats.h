/* stats: the figures of an experiment, fed one row at a time (live by the
 * runner, or from runs.jsonl for %results): runs, successes, failures by
 * type, p50 / p90 / p99 of runtime, latency and roundTripTime, new
 * containers, and concurrency over time, peak and time-weighted mean, from
 * the functions' own start and end times (SAAF startTime / endTime) when
 * they report them, and from the client's send and receive times. Memory is
 * a few numbers per row, so a 20,000-run experiment costs a megabyte. The
 * function's times are used only when every run reported them. */
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
 * "source": "function" | "client"}, "wallTime" (s)}. */
json_t *stats_summary(const struct stats *stats);

/* stats_summary plus the chart series: "concurrencySeries",
 * "latencySeries" and "runtimeByMemory" (400 points at most each). */
json_t *stats_report(const struct stats *stats);

/* Concurrency over time as [[t_seconds, in_flight], ...] steps (at most
 * MAX_POINTS, evenly thinned), for the chart. */
json_t *stats_concurrency_series(const struct stats *stats, size_t max_points);

/* Latency over time: [[t_seconds since the first send, latency_ms], ...]
 * of the successful runs (at most MAX_POINTS, evenly thinned). */
json_t *stats_latency_series(const struct stats *stats, size_t max_points);

/* Mean runtime by memory setting: [[memory_mb, mean_ms, runs], ...] in
 * ascending memory (memory 0: the function's own setting). */
json_t *stats_runtime_by_memory(const struct stats *stats);

#endif
