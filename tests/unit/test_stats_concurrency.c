/* Unit tests for stats' concurrency figures and series: runs in flight
 * over time from the functions' start and end times (or the client's),
 * peak and time-weighted mean, and the chart's steps. The case that once
 * went wrong: a run whose start equals its end (a function that returns
 * within its clock's millisecond) made the series dip to -1 and the mean
 * negative; the level must never go below what is really in flight. */
#include <jansson.h>

#include "check.h"
#include "stats.h"

static void add_run(struct stats *stats, double start, double end)
{
    json_t *row = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f}", "status", "ok", "startTime", start, "endTime", end,
                            "clientSendTime", start - 1, "clientReceiveTime", end + 1, "runtime", end - start);
    stats_add(stats, row);
    json_decref(row);
}

static int series_minimum(const json_t *series)
{
    int minimum = 1 << 30;
    size_t i;
    json_t *point;
    json_array_foreach(series, i, point) {
        int level = (int)json_integer_value(json_array_get(point, 1));
        if (level < minimum)
            minimum = level;
    }
    return minimum;
}

static double concurrency(const json_t *summary, const char *key)
{
    return json_number_value(json_object_get(json_object_get(summary, "concurrency"), key));
}

/* Runs that each start and end in the same millisecond, one after another. */
static void test_instant_runs(void)
{
    struct stats *stats = stats_new();
    for (int i = 0; i < 6; i++)
        add_run(stats, 1000.0 + 10 * i, 1000.0 + 10 * i);
    json_t *series = stats_concurrency_series(stats, 400);
    CHECK(json_array_size(series) > 0);
    CHECK(series_minimum(series) == 0);
    json_t *summary = stats_summary(stats);
    CHECK(concurrency(summary, "mean") >= 0);
    CHECK(concurrency(summary, "peak") >= 0 && concurrency(summary, "peak") <= 1);
    json_decref(summary);
    json_decref(series);
    stats_free(stats);
}

/* Back-to-back runs (one ends as the next starts) are one in flight, not two. */
static void test_back_to_back_runs(void)
{
    struct stats *stats = stats_new();
    add_run(stats, 0, 100);
    add_run(stats, 100, 200);
    add_run(stats, 200, 300);
    json_t *summary = stats_summary(stats);
    CHECK((int)concurrency(summary, "peak") == 1);
    CHECK(concurrency(summary, "mean") > 0.999 && concurrency(summary, "mean") < 1.001);
    json_t *series = stats_concurrency_series(stats, 400);
    CHECK(series_minimum(series) == 0);   /* only after the last run */
    json_t *last = json_array_get(series, json_array_size(series) - 1);
    CHECK(json_integer_value(json_array_get(last, 1)) == 0);
    json_decref(series);
    json_decref(summary);
    stats_free(stats);
}

/* Two overlapping runs and an instant one inside them: peak 2, and the
 * mean weighted by time: 2 for 50 ms, 1 for 100 ms over 150 ms. */
static void test_overlap_with_an_instant_run(void)
{
    struct stats *stats = stats_new();
    add_run(stats, 0, 100);
    add_run(stats, 50, 150);
    add_run(stats, 60, 60);
    json_t *summary = stats_summary(stats);
    CHECK((int)concurrency(summary, "peak") == 2);
    double mean = concurrency(summary, "mean");
    CHECK(mean > 1.333 && mean < 1.334);
    json_t *series = stats_concurrency_series(stats, 400);
    CHECK(series_minimum(series) == 0);
    json_t *first = json_array_get(series, 0);
    CHECK(json_integer_value(json_array_get(first, 1)) == 1);
    json_decref(series);
    json_decref(summary);
    stats_free(stats);
}

/* Many instant runs: the thinned series still never goes negative. */
static void test_thinned_series(void)
{
    struct stats *stats = stats_new();
    for (int i = 0; i < 5000; i++)
        add_run(stats, 1000.0 + i / 3, 1000.0 + i / 3);
    json_t *series = stats_concurrency_series(stats, 400);
    CHECK(json_array_size(series) <= 400);
    CHECK(series_minimum(series) >= 0);
    json_t *summary = stats_summary(stats);
    CHECK(concurrency(summary, "mean") >= 0);
    json_decref(summary);
    json_decref(series);
    stats_free(stats);
}

int main(void)
{
    test_instant_runs();
    test_back_to_back_runs();
    test_overlap_with_an_instant_run();
    test_thinned_series();
    return check_report();
}
