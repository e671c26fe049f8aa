/* Unit tests for stats: nearest-rank p50 / p90 / p99, mean, min and max of
 * runtime, latency and roundTripTime (successful runs only), failures
 * counted by errorType, new containers, wall time, concurrency peak and
 * time-weighted mean from the client's send and receive times or from the
 * function's startTime / endTime when every run reported them, and the
 * chart series (concurrency steps, latency over time, runtime by memory)
 * with their thinning, and each platform counted on its own (with what
 * its billed runs cost). Rows are built by hand with known times, so every
 * figure is worked out in the comments. (Runs whose start equals their end
 * are left out: a known defect of the concurrency series, being fixed
 * elsewhere.) */
#include <math.h>
#include <string.h>

#include "check.h"
#include "stats.h"

#define BASE 1714564800000.0 /* an epoch time in ms: the times below are offsets from it */

static int near(double a, double b)
{
    return fabs(a - b) < 1e-6;
}

static double number(const json_t *object, const char *path1, const char *path2)
{
    const json_t *value = json_object_get(object, path1);
    if (path2 != NULL)
        value = json_object_get(value, path2);
    return json_is_number(value) ? json_number_value(value) : NAN;
}

/* An ok row sent at BASE + SEND and answered at BASE + RECEIVE. */
static json_t *ok_row(double send, double receive, double runtime)
{
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:f}", "status", "ok", "clientSendTime", BASE + send,
                     "clientReceiveTime", BASE + receive, "runtime", runtime, "roundTripTime", receive - send,
                     "latency", receive - send - runtime);
}

static void add_new(struct stats *stats, json_t *row)
{
    stats_add(stats, row);
    json_decref(row);
}

/* 1 when SERIES is [[t, n], ...] equal to the N pairs in EXPECTED. */
static int series_is(const json_t *series, const double (*expected)[2], size_t n)
{
    if (json_array_size(series) != n) {
        fprintf(stderr, "  series has %zu points, not %zu\n", json_array_size(series), n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *point = json_array_get(series, i);
        if (!near(json_number_value(json_array_get(point, 0)), expected[i][0]) ||
            !near(json_number_value(json_array_get(point, 1)), expected[i][1])) {
            fprintf(stderr, "  point %zu is [%g, %g], not [%g, %g]\n", i, json_number_value(json_array_get(point, 0)),
                    json_number_value(json_array_get(point, 1)), expected[i][0], expected[i][1]);
            return 0;
        }
    }
    return 1;
}

static void test_empty(void)
{
    struct stats *stats = stats_new();
    json_t *report = stats_report(stats);
    CHECK(json_integer_value(json_object_get(report, "runs")) == 0);
    CHECK(json_integer_value(json_object_get(report, "successes")) == 0);
    CHECK(json_object_size(json_object_get(report, "failures")) == 0);
    CHECK(json_is_null(json_object_get(report, "runtime")) && json_is_null(json_object_get(report, "latency")));
    CHECK(json_is_null(json_object_get(report, "roundTripTime")) && json_is_null(json_object_get(report, "concurrency")));
    CHECK(json_integer_value(json_object_get(report, "newContainers")) == 0);
    CHECK(number(report, "wallTime", NULL) == 0);
    CHECK(json_array_size(json_object_get(report, "concurrencySeries")) == 0);
    CHECK(json_array_size(json_object_get(report, "latencySeries")) == 0);
    CHECK(json_array_size(json_object_get(report, "groups")) == 0);
    json_decref(report);
    stats_free(stats);
}

static void test_percentiles_and_failures(void)
{
    struct stats *stats = stats_new();
    /* runtime 1..100 in a scrambled order (37 is prime to 100), sent 1 s apart, each 200 ms long */
    for (int i = 0; i < 100; i++) {
        int runtime = (i * 37) % 100 + 1;
        json_t *row = ok_row(1000.0 * i, 1000.0 * i + 200, runtime);
        json_object_set_new(row, "newcontainer", json_integer(i < 7 ? 1 : 0));
        add_new(stats, row);
    }
    /* Failures: their numbers count for no distribution. */
    add_new(stats, json_pack("{s:s, s:s, s:f}", "status", "error", "errorType", "Timeout", "runtime", 5000.0));
    add_new(stats, json_pack("{s:s, s:s, s:i}", "status", "error", "errorType", "Timeout", "newcontainer", 1));
    add_new(stats, json_pack("{s:s, s:s}", "status", "error", "errorType", "Boom"));
    add_new(stats, json_pack("{s:s}", "status", "error")); /* no type: "Error" */
    add_new(stats, json_pack("{s:f}", "runtime", 1.0));      /* no status: not a success */

    json_t *summary = stats_summary(stats);
    CHECK(json_integer_value(json_object_get(summary, "runs")) == 105);
    CHECK(json_integer_value(json_object_get(summary, "successes")) == 100);
    json_t *failures = json_object_get(summary, "failures");
    CHECK(json_object_size(failures) == 3);
    CHECK(json_integer_value(json_object_get(failures, "Timeout")) == 2);
    CHECK(json_integer_value(json_object_get(failures, "Boom")) == 1);
    CHECK(json_integer_value(json_object_get(failures, "Error")) == 2);
    CHECK(number(summary, "runtime", "p50") == 50 && number(summary, "runtime", "p90") == 90);
    CHECK(number(summary, "runtime", "p99") == 99 && near(number(summary, "runtime", "mean"), 50.5));
    CHECK(number(summary, "runtime", "min") == 1 && number(summary, "runtime", "max") == 100);
    /* latency = 200 - runtime: 100..199 */
    CHECK(number(summary, "latency", "p50") == 149 && number(summary, "latency", "p90") == 189);
    CHECK(number(summary, "latency", "p99") == 198 && number(summary, "latency", "min") == 100);
    CHECK(number(summary, "roundTripTime", "p50") == 200 && number(summary, "roundTripTime", "mean") == 200);
    CHECK(json_integer_value(json_object_get(summary, "newContainers")) == 7);
    CHECK(near(number(summary, "wallTime", NULL), 99.2)); /* first send to last receive, in s */
    /* One run at a time, 200 ms of every 1000 (the failures have no client times). */
    CHECK(number(summary, "concurrency", "peak") == 1);
    CHECK(near(number(summary, "concurrency", "mean"), 100 * 200.0 / 99200.0));
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(summary, "concurrency"), "source")), "client") == 0);
    json_decref(summary);
    stats_free(stats);

    /* Nearest rank with few values: 10, 20, 30. */
    stats = stats_new();
    add_new(stats, ok_row(0, 100, 30));
    add_new(stats, ok_row(0, 100, 10));
    add_new(stats, ok_row(0, 100, 20));
    summary = stats_summary(stats);
    CHECK(number(summary, "runtime", "p50") == 20 && number(summary, "runtime", "p90") == 30);
    CHECK(number(summary, "runtime", "p99") == 30 && number(summary, "runtime", "mean") == 20);
    CHECK(number(summary, "concurrency", "peak") == 3 && number(summary, "concurrency", "mean") == 3);
    json_decref(summary);
    stats_free(stats);
}

static void test_concurrency(void)
{
    /* [0, 10] and [5, 15] ms: 1 for 5 ms, 2 for 5 ms, 1 for 5 ms. */
    struct stats *stats = stats_new();
    add_new(stats, ok_row(0, 10, 1));
    add_new(stats, ok_row(5, 15, 1));
    json_t *report = stats_report(stats);
    CHECK(number(report, "concurrency", "peak") == 2);
    CHECK(near(number(report, "concurrency", "mean"), 20.0 / 15.0));
    CHECK(near(number(report, "wallTime", NULL), 0.015));
    const double steps[][2] = {{0, 1}, {0.005, 2}, {0.010, 1}, {0.015, 0}};
    CHECK(series_is(json_object_get(report, "concurrencySeries"), steps, 4));
    json_t *thinned = stats_concurrency_series(stats, 2); /* every third event: the first and the last */
    const double two[][2] = {{0, 1}, {0.015, 0}};
    CHECK(series_is(thinned, two, 2));
    json_decref(thinned);
    json_decref(report);
    stats_free(stats);

    /* One run ends as the next starts: never two at once. */
    stats = stats_new();
    add_new(stats, ok_row(0, 10, 1));
    add_new(stats, ok_row(10, 20, 1));
    json_t *summary = stats_summary(stats);
    CHECK(number(summary, "concurrency", "peak") == 1 && near(number(summary, "concurrency", "mean"), 1.0));
    json_decref(summary);
    json_t *series = stats_concurrency_series(stats, 400);
    /* the end and the start at 10 ms are one step: still one in flight */
    const double touching[][2] = {{0, 1}, {0.010, 1}, {0.020, 0}};
    CHECK(series_is(series, touching, 3));
    json_decref(series);
    stats_free(stats);

    /* The function's own times, when every run reported them: three calls
     * in flight together at the client, but the function ran them one
     * after another, 10 ms each, over 50 ms. */
    stats = stats_new();
    for (int i = 0; i < 3; i++) {
        json_t *row = ok_row(0, 100, 10);
        json_object_set_new(row, "startTime", json_real(BASE + 10 + 20 * i));
        json_object_set_new(row, "endTime", json_real(BASE + 20 + 20 * i));
        add_new(stats, row);
    }
    summary = stats_summary(stats);
    json_t *concurrency = json_object_get(summary, "concurrency");
    CHECK(strcmp(json_string_value(json_object_get(concurrency, "source")), "function") == 0);
    CHECK(number(summary, "concurrency", "peak") == 1 && near(number(summary, "concurrency", "mean"), 0.6));
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(summary, "clientConcurrency"), "source")),
                 "client") == 0);
    CHECK(number(summary, "clientConcurrency", "peak") == 3 && number(summary, "clientConcurrency", "mean") == 3);
    json_decref(summary);
    series = stats_concurrency_series(stats, 400); /* from the function's times too */
    const double function_steps[][2] = {{0, 1}, {0.010, 0}, {0.020, 1}, {0.030, 0}, {0.040, 1}, {0.050, 0}};
    CHECK(series_is(series, function_steps, 6));
    json_decref(series);

    /* A fourth run without them: the client's times for all. */
    add_new(stats, ok_row(50, 150, 10));
    summary = stats_summary(stats);
    CHECK(strcmp(json_string_value(json_object_get(json_object_get(summary, "concurrency"), "source")), "client") == 0);
    CHECK(number(summary, "concurrency", "peak") == 4);
    json_decref(summary);
    stats_free(stats);

    /* Many runs thinned to a few points: the first at 0, the last back at 0 in flight. */
    stats = stats_new();
    for (int i = 0; i < 50; i++)
        add_new(stats, ok_row(2.0 * i, 2.0 * i + 5, 1)); /* overlapping: 3 at a time at most */
    series = stats_concurrency_series(stats, 10);
    size_t n = json_array_size(series);
    /* 100 events thinned to at most 10 points, the last one included. */
    CHECK(n == 10);
    json_t *last = json_array_get(series, n - 1);
    CHECK(near(json_number_value(json_array_get(last, 0)), 0.103) && json_integer_value(json_array_get(last, 1)) == 0);
    CHECK(json_number_value(json_array_get(json_array_get(series, 0), 0)) == 0);
    json_decref(series);
    summary = stats_summary(stats);
    CHECK(number(summary, "concurrency", "peak") == 3);
    json_decref(summary);
    stats_free(stats);

    /* Three runs apart, at most two points: the first and the very end. */
    stats = stats_new();
    for (int i = 0; i < 3; i++)
        add_new(stats, ok_row(100.0 * i, 100.0 * i + 10, 1));
    series = stats_concurrency_series(stats, 2);
    CHECK(json_array_size(series) == 2);
    CHECK(json_integer_value(json_array_get(json_array_get(series, 1), 1)) == 0);
    CHECK(near(json_number_value(json_array_get(json_array_get(series, 1), 0)), 0.210));
    json_decref(series);
    summary = stats_summary(stats);
    json_decref(summary);
    stats_free(stats);
}

static void test_latency_and_memory(void)
{
    struct stats *stats = stats_new();
    const int memory[] = {512, 256, 0, 512};
    const double runtime[] = {10, 40, 7, 20};
    for (int i = 0; i < 4; i++) {
        json_t *row = ok_row(500.0 * i + 1000, 500.0 * i + 1030, runtime[i]); /* latency 30 - runtime */
        json_object_set_new(row, "memorySetting", memory[i] ? json_integer(memory[i]) : json_null());
        add_new(stats, row);
    }
    json_t *failed = json_pack("{s:s, s:f, s:f, s:f, s:i}", "status", "error", "clientSendTime", BASE,
                               "clientReceiveTime", BASE + 1, "latency", 99.0, "memorySetting", 1024);
    add_new(stats, failed); /* no latency point, no memory entry */

    json_t *latency = stats_latency_series(stats, 400);
    const double points[][2] = {{0, 20}, {0.5, -10}, {1.0, 23}, {1.5, 10}};
    CHECK(series_is(latency, points, 4));
    /* each point names its memory setting, platform ("" when SAAF did not say) and start (unknown: null) */
    const int point_memory[] = {512, 256, 0, 512};
    for (size_t i = 0; i < 4 && i < json_array_size(latency); i++) {
        json_t *point = json_array_get(latency, i);
        CHECK(json_integer_value(json_array_get(point, 2)) == point_memory[i]);
        CHECK(strcmp(json_string_value(json_array_get(point, 3)), "") == 0);
        CHECK(json_is_null(json_array_get(point, 4)));
    }
    json_decref(latency);
    latency = stats_latency_series(stats, 2); /* every third */
    const double thinned[][2] = {{0, 20}, {1.5, 10}};
    CHECK(series_is(latency, thinned, 2));
    json_decref(latency);

    json_t *groups = stats_groups(stats);
    CHECK(json_array_size(groups) == 3);
    const double expected[][3] = {{0, 7, 1}, {256, 40, 1}, {512, 15, 2}}; /* ascending memory, mean runtime */
    for (size_t i = 0; i < 3 && i < json_array_size(groups); i++) {
        json_t *group = json_array_get(groups, i);
        CHECK(number(group, "memory", NULL) == expected[i][0]);
        CHECK(near(number(group, "runtime", "mean"), expected[i][1]));
        CHECK(number(group, "runs", NULL) == expected[i][2]);
        CHECK(number(group, "cold", NULL) == 0 && number(group, "warm", NULL) == 0);
    }
    /* 512 MB: runtimes 10 and 20, latencies 20 and 10: nearest rank */
    json_t *group512 = json_array_get(groups, 2);
    CHECK(number(group512, "runtime", "p50") == 10 && number(group512, "runtime", "p99") == 20);
    CHECK(number(group512, "latency", "p50") == 10 && number(group512, "latency", "p90") == 20);
    json_decref(groups);

    json_t *report = stats_report(stats);
    CHECK(json_array_size(json_object_get(report, "latencySeries")) == 4);
    CHECK(json_array_size(json_object_get(report, "groups")) == 3);
    CHECK(json_integer_value(json_object_get(json_object_get(report, "failures"), "Error")) == 1);
    json_decref(report);
    stats_free(stats);
}

/* Cold and warm starts by group and platform, on the points and in the groups. */
static void test_cold_warm_and_platforms(void)
{
    struct stats *stats = stats_new();
    const char *platform[] = {"AWS Lambda", "FaaSET Local", "AWS Lambda", "AWS Lambda"};
    const int cold[] = {1, 1, 0, 0};
    for (int i = 0; i < 4; i++) {
        json_t *row = ok_row(100.0 * i, 100.0 * i + 50, 10);
        json_object_set_new(row, "memorySetting", json_integer(256));
        json_object_set_new(row, "platform", json_string(platform[i]));
        json_object_set_new(row, "newcontainer", json_integer(cold[i]));
        add_new(stats, row);
    }
    json_t *groups = stats_groups(stats);
    CHECK(json_array_size(groups) == 2);
    json_t *aws = json_array_get(groups, 0), *local = json_array_get(groups, 1); /* same memory: by platform */
    CHECK(strcmp(json_string_value(json_object_get(aws, "platform")), "AWS Lambda") == 0);
    CHECK(number(aws, "runs", NULL) == 3 && number(aws, "cold", NULL) == 1 && number(aws, "warm", NULL) == 2);
    CHECK(number(local, "runs", NULL) == 1 && number(local, "cold", NULL) == 1 && number(local, "warm", NULL) == 0);
    json_decref(groups);
    json_t *latency = stats_latency_series(stats, 400);
    CHECK(json_is_true(json_array_get(json_array_get(latency, 0), 4)));
    CHECK(json_is_false(json_array_get(json_array_get(latency, 2), 4)));
    CHECK(strcmp(json_string_value(json_array_get(json_array_get(latency, 1), 3)), "FaaSET Local") == 0);
    json_decref(latency);
    stats_free(stats);
}

/* Absurd numbers give finite figures: 1e308 ms twice has a mean of 1e308,
 * not infinity (which JSON cannot hold), and the report is whole. */
static void test_huge_values(void)
{
    struct stats *stats = stats_new();
    for (int i = 0; i < 2; i++)
        add_new(stats, json_pack("{s:s, s:f, s:f, s:f, s:f, s:f}", "status", "ok", "runtime", 1e308, "latency", -1e308,
                                 "roundTripTime", 1e308, "clientSendTime", -1e308, "clientReceiveTime", 1e308));
    json_t *report = stats_report(stats);
    CHECK(report != NULL);
    CHECK(number(report, "runtime", "mean") == 1e308 && number(report, "latency", "mean") == -1e308);
    CHECK(isfinite(number(report, "wallTime", NULL)));
    CHECK(near(number(report, "concurrency", "mean"), 2));
    CHECK(json_array_size(json_object_get(report, "latencySeries")) == 2);
    CHECK(json_array_size(json_object_get(report, "groups")) == 1);
    json_decref(report);
    stats_free(stats);
}

/* Rows with the platform the runner sent them to (`endpoint`): each
 * platform is counted on its own too (runs, failures, warm runs, its own
 * concurrency), groups are by that platform rather than SAAF's, and the
 * billed runs' costs add up, per platform and in all. */
static void test_by_platform(void)
{
    struct stats *stats = stats_new();
    /* local: two runs together (0..100, 50..150), both billed $0; ibm: one
     * warm run 0..300 billed 300 ms at $0.000001, one failure */
    const struct {
        const char *endpoint;
        double send, receive, cost, billed;
        int ok;
    } rows[] = {{"local", 0, 100, 0, 100, 1}, {"local", 50, 150, 0, 100, 1}, {"ibm", 0, 300, 0.000001, 300, 1},
                {"ibm", 10, 20, -1, 0, 0}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        json_t *row = rows[i].ok ? ok_row(rows[i].send, rows[i].receive, rows[i].receive - rows[i].send - 1)
                                 : json_pack("{s:s, s:s, s:f, s:f}", "status", "error", "errorType", "Boom",
                                             "clientSendTime", BASE + rows[i].send, "clientReceiveTime",
                                             BASE + rows[i].receive);
        json_object_set_new(row, "endpoint", json_string(rows[i].endpoint));
        json_object_set_new(row, "platform", json_string("SAAF's own name"));
        if (rows[i].ok) {
            json_object_set_new(row, "newcontainer", json_integer(strcmp(rows[i].endpoint, "local") == 0 && i == 0));
            json_object_set_new(row, "cost", json_real(rows[i].cost));
            json_object_set_new(row, "billedDuration", json_real(rows[i].billed));
        }
        add_new(stats, row);
    }
    json_t *report = stats_report(stats);
    CHECK(near(number(report, "cost", "total"), 0.000001) && number(report, "cost", "billedRuns") == 3);
    CHECK(near(number(report, "cost", "billedMs"), 500) && number(report, "warmRuns", NULL) == 2);
    const json_t *platforms = json_object_get(report, "platforms");
    CHECK(json_array_size(platforms) == 2);
    const json_t *local = json_array_get(platforms, 0), *ibm = json_array_get(platforms, 1);
    CHECK(strcmp(json_string_value(json_object_get(local, "platform")), "local") == 0);
    CHECK(number(local, "runs", NULL) == 2 && number(local, "newContainers", NULL) == 1 &&
          number(local, "warmRuns", NULL) == 1);
    CHECK(number(local, "concurrency", "peak") == 2 && near(number(local, "cost", "total"), 0));
    CHECK(json_array_size(json_object_get(local, "concurrencySeries")) > 0);
    CHECK(strcmp(json_string_value(json_object_get(ibm, "platform")), "ibm") == 0);
    CHECK(number(ibm, "runs", NULL) == 2 && number(ibm, "successes", NULL) == 1);
    CHECK(number(json_object_get(ibm, "failures"), "Boom", NULL) == 1 && near(number(ibm, "cost", "total"), 0.000001));
    CHECK(json_object_get(json_object_get(local, "failures"), "Boom") == NULL);
    const json_t *groups = json_object_get(report, "groups");
    CHECK(json_array_size(groups) == 2);
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(groups, 0), "platform")), "ibm") == 0);
    /* what summary.json keeps: the figures without the chart series */
    json_t *kept = stats_without_series(report);
    CHECK(json_object_get(kept, "concurrencySeries") == NULL && json_object_get(kept, "latencySeries") == NULL);
    CHECK(json_object_get(json_array_get(json_object_get(kept, "platforms"), 0), "concurrencySeries") == NULL);
    CHECK(number(json_array_get(json_object_get(kept, "platforms"), 0), "runs", NULL) == 2);
    CHECK(json_object_get(report, "concurrencySeries") != NULL); /* a copy: the report keeps them */
    json_decref(kept);
    json_decref(report);
    stats_free(stats);
}

int main(void)
{
    test_empty();
    test_percentiles_and_failures();
    test_concurrency();
    test_latency_and_memory();
    test_cold_warm_and_platforms();
    test_huge_values();
    test_by_platform();
    return check_report();
}
