/* Unit tests for the experiment charts (experiment_charts over chart_model,
 * chart_svg and chart_vegalite), fed with stats reports made from rows
 * built by hand: the 28.3 s of data ends its time axis at 30 s;
 * latency axes start at zero; memory settings and cold / warm starts are
 * the legend's series and shapes; the rules carry the summary's own mean
 * and percentiles; the subtitle says what was run and never "memory 0";
 * across platforms, a concurrency line and a distribution per platform.
 * Then odd reports (no runs, all failed, one run, absurd numbers) give
 * fewer charts and a note, never a crash or a broken picture. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "experiment_charts.h"
#include "stats.h"

#define BASE 1714564800000.0

static json_t *row(double send, double receive, double runtime, int memory, int cold)
{
    json_t *r = json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:s}", "status", "ok", "clientSendTime", BASE + send,
                          "clientReceiveTime", BASE + receive, "runtime", runtime, "roundTripTime", receive - send,
                          "latency", receive - send - runtime, "platform", "FaaSET Local");
    json_object_set_new(r, "memorySetting", memory ? json_integer(memory) : json_null());
    json_object_set_new(r, "newcontainer", json_integer(cold));
    json_object_set_new(r, "startTime", json_real(BASE + send + 1));
    json_object_set_new(r, "endTime", json_real(BASE + send + 1 + runtime));
    return r;
}

static json_t *report_of(json_t *rows)
{
    json_t *report = stats_report_rows(rows);
    json_decref(rows);
    return report;
}

static const struct experiment_charts_about ABOUT = {"sleeper", "local", 4};

static const json_t *chart_named(const json_t *charts, const char *name)
{
    size_t i;
    const json_t *chart;
    json_array_foreach(charts, i, chart)
        if (strcmp(json_string_value(json_object_get(chart, "name")), name) == 0)
            return json_object_get(chart, "bundle");
    return NULL;
}

static const char *form(const json_t *bundle, const char *mimetype)
{
    return json_string_value(json_object_get(json_object_get(bundle, "data"), mimetype));
}

static const json_t *spec(const json_t *bundle)
{
    return json_object_get(json_object_get(bundle, "data"), "application/vnd.vegalite.v5+json");
}

/* The scale of the first layer's CHANNEL. */
static const json_t *scale(const json_t *bundle, const char *channel)
{
    const json_t *layer = json_array_get(json_object_get(spec(bundle), "layer"), 0);
    return json_object_get(json_object_get(json_object_get(layer, "encoding"), channel), "scale");
}

/* The rule of the spec whose label starts with PREFIX, or NULL. */
static const json_t *rule(const json_t *bundle, const char *prefix)
{
    size_t i, j;
    const json_t *layer, *value;
    json_array_foreach(json_object_get(spec(bundle), "layer"), i, layer)
        json_array_foreach(json_object_get(json_object_get(layer, "data"), "values"), j, value)
            if (strncmp(json_string_value(json_object_get(value, "label")), prefix, strlen(prefix)) == 0)
                return value;
    return NULL;
}

/* Two memory settings, cold then warm starts, spread over 28.3 s. */
static void test_experiment(void)
{
    json_t *rows = json_array();
    for (int i = 0; i < 20; i++) {
        int memory = i < 10 ? 256 : 512;
        double send = 28300.0 * i / 19 - (i == 19 ? 400 : 0);
        json_array_append_new(rows, row(send, send + 400, memory == 256 ? 300 + i : 150 + i, memory, i % 10 < 2));
    }
    json_t *report = report_of(rows);
    json_t *charts = experiment_charts_build(report, &ABOUT);
    CHECK(json_array_size(charts) == 3);
    const json_t *concurrency = chart_named(charts, "concurrency");
    const json_t *latency = chart_named(charts, "latency");
    const json_t *runtime = chart_named(charts, "runtime");
    CHECK(concurrency && latency && runtime);
    for (size_t i = 0; i < json_array_size(charts); i++) {
        const json_t *bundle = json_object_get(json_array_get(charts, i), "bundle");
        const char *svg = form(bundle, "image/svg+xml");
        CHECK(svg != NULL && strncmp(svg, "<svg", 4) == 0 && strstr(svg, "</svg>") != NULL);
        CHECK(strstr(svg, "e+0") == NULL && strstr(svg, "nan") == NULL);
        CHECK(strstr(svg, "memory 0") == NULL && strstr(svg, "0 MB") == NULL);
        CHECK(strstr(svg, "sleeper on local · 20 runs · 4 threads · memory 256, 512 MB") != NULL);
        CHECK(strcmp(json_string_value(json_object_get(spec(bundle), "$schema")),
                     "https://vega.github.io/schema/vega-lite/v5.json") == 0);
        CHECK(form(bundle, "text/plain") != NULL);
    }
    /* the time axis ends at the first tick past the data: the last run ends about 28.3 s after the first start */
    const json_t *x = scale(concurrency, "x");
    CHECK(json_number_value(json_array_get(json_object_get(x, "domain"), 1)) == 30);
    CHECK(json_number_value(json_array_get(json_object_get(x, "domain"), 0)) == 0);
    CHECK(strstr(form(concurrency, "image/svg+xml"), ">30</text>") != NULL);
    CHECK(strstr(form(concurrency, "image/svg+xml"), ">50</text>") == NULL);
    /* the mean in flight is the summary's number, to the last bit */
    double mean = json_number_value(json_object_get(json_object_get(report, "concurrency"), "mean"));
    const json_t *mean_rule = rule(concurrency, "mean ");
    CHECK(mean_rule != NULL && json_number_value(json_object_get(mean_rule, "value")) == mean);
    char expected[64];
    snprintf(expected, sizeof expected, "mean %.1f in flight", mean);
    CHECK(strstr(form(concurrency, "text/plain"), expected) != NULL);
    /* latency: from zero, clamped; series by memory setting; cold and warm shapes */
    const json_t *y = scale(latency, "y");
    CHECK(json_number_value(json_array_get(json_object_get(y, "domain"), 0)) == 0 && json_is_true(json_object_get(y, "clamp")));
    const json_t *color = json_object_get(json_object_get(json_array_get(json_object_get(spec(latency), "layer"), 0),
                                                          "encoding"), "color");
    CHECK(strcmp(json_string_value(json_object_get(color, "field")), "series") == 0);
    const json_t *domain = json_object_get(json_object_get(color, "scale"), "domain");
    CHECK(json_array_size(domain) == 2 && strcmp(json_string_value(json_array_get(domain, 0)), "256 MB") == 0 &&
          strcmp(json_string_value(json_array_get(domain, 1)), "512 MB") == 0);
    int cold = 0, warm = 0;
    size_t i;
    const json_t *value;
    json_array_foreach(json_object_get(json_object_get(spec(latency), "data"), "values"), i, value) {
        cold += strcmp(json_string_value(json_object_get(value, "start")), "cold start") == 0;
        warm += strcmp(json_string_value(json_object_get(value, "start")), "warm start") == 0;
    }
    CHECK(cold == 4 && warm == 16);
    CHECK(strstr(form(latency, "image/svg+xml"), "cold start") != NULL);
    double p99 = json_number_value(json_object_get(json_object_get(report, "latency"), "p99"));
    const json_t *p99_rule = rule(latency, "p99 ");
    CHECK(p99_rule != NULL && json_number_value(json_object_get(p99_rule, "value")) == p99);
    /* runtime: one distribution per memory setting, with the groups' own percentiles */
    const json_t *values = json_object_get(json_object_get(spec(runtime), "data"), "values");
    CHECK(json_array_size(values) == 2);
    const json_t *group = json_array_get(json_object_get(report, "groups"), 1);
    CHECK(json_number_value(json_object_get(json_array_get(values, 1), "p90")) ==
          json_number_value(json_object_get(json_object_get(group, "runtime"), "p90")));
    CHECK(strstr(form(runtime, "image/svg+xml"), "p99 ") != NULL);
    json_decref(charts);
    json_decref(report);
}

/* Across platforms (rows with their `endpoint`): the concurrency chart has
 * the line over all and one per platform, each from its own first start;
 * latency and runtime are by platform. */
static void test_platforms(void)
{
    json_t *rows = json_array();
    for (int i = 0; i < 8; i++) {
        json_t *r = row(1000.0 * (i % 4), 1000.0 * (i % 4) + 400, 300 + i, 0, 0);
        json_object_set_new(r, "endpoint", json_string(i < 4 ? "local" : "ibm"));
        json_array_append_new(rows, r);
    }
    json_t *report = report_of(rows);
    struct experiment_charts_about about = {"sleeper", "local, ibm", 2};
    json_t *charts = experiment_charts_build(report, &about);
    const json_t *concurrency = chart_named(charts, "concurrency");
    int all = 0, local = 0, ibm = 0;
    size_t i;
    const json_t *value;
    json_array_foreach(json_object_get(json_object_get(spec(concurrency), "data"), "values"), i, value) {
        const char *series = json_string_value(json_object_get(value, "series"));
        all += strcmp(series, "in flight, all platforms") == 0;
        local += strcmp(series, "in flight on local") == 0;
        ibm += strcmp(series, "in flight on ibm") == 0;
    }
    CHECK(all > 0 && local > 0 && ibm > 0);
    CHECK(strstr(form(concurrency, "image/svg+xml"), "each platform") != NULL);
    const json_t *runtime = chart_named(charts, "runtime");
    CHECK(strstr(form(runtime, "text/plain"), "configured memory \u00b7 ibm") != NULL);
    CHECK(strstr(form(runtime, "text/plain"), "configured memory \u00b7 local") != NULL);
    json_decref(charts);
    json_decref(report);
}

/* The function's own memory: said in words, never "memory 0". */
static void test_configured_memory(void)
{
    json_t *rows = json_array();
    json_array_append_new(rows, row(0, 100, 50, 0, 1));
    json_t *report = report_of(rows);
    json_t *charts = experiment_charts_build(report, &ABOUT);
    CHECK(json_array_size(charts) == 3); /* one run is enough for all three */
    const char *svg = form(chart_named(charts, "runtime"), "image/svg+xml");
    CHECK(svg && strstr(svg, "the function's configured memory") != NULL && strstr(svg, "configured memory</text>"));
    CHECK(svg && strstr(svg, "memory 0") == NULL && strstr(svg, "1 run ·") != NULL);
    json_decref(charts);
    json_decref(report);
}

static void test_odd_reports(void)
{
    /* no runs at all: a note */
    json_t *report = report_of(json_array());
    json_t *charts = experiment_charts_build(report, &ABOUT);
    CHECK(json_array_size(charts) == 1 && chart_named(charts, "note") != NULL);
    CHECK(strstr(form(chart_named(charts, "note"), "text/plain"), "no run finished") != NULL);
    json_decref(charts);
    json_decref(report);

    /* every run failed: concurrency from the client's times, and a note */
    json_t *rows = json_array();
    for (int i = 0; i < 3; i++)
        json_array_append_new(rows, json_pack("{s:s, s:s, s:f, s:f}", "status", "error", "errorType", "Timeout",
                                              "clientSendTime", BASE + i, "clientReceiveTime", BASE + 10 + i));
    report = report_of(rows);
    charts = experiment_charts_build(report, &ABOUT);
    CHECK(json_array_size(charts) == 2 && chart_named(charts, "concurrency") && chart_named(charts, "note"));
    json_decref(charts);
    json_decref(report);

    /* absurd numbers: finite axes, plain charts, no NaN in either form */
    rows = json_array();
    json_array_append_new(rows, json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:i}", "status", "ok", "runtime", 1e308,
                                          "latency", -1e308, "roundTripTime", 1e300, "clientSendTime", 0.0,
                                          "clientReceiveTime", 1e300, "memorySetting", 2000000000));
    json_array_append_new(rows, row(5, 10, 1, 128, 0));
    report = report_of(rows);
    charts = experiment_charts_build(report, &ABOUT);
    CHECK(json_array_size(charts) >= 3);
    for (size_t i = 0; i < json_array_size(charts); i++) {
        const json_t *bundle = json_object_get(json_array_get(charts, i), "bundle");
        const char *svg = form(bundle, "image/svg+xml");
        if (strcmp(json_string_value(json_object_get(json_array_get(charts, i), "name")), "note") == 0)
            continue;
        CHECK(svg != NULL && strstr(svg, "nan") == NULL && strstr(svg, "inf") == NULL);
        char *text = json_dumps(spec(bundle), 0);
        CHECK(text != NULL && strstr(text, "nan") == NULL);
        free(text);
    }
    json_decref(charts);
    json_decref(report);
}

int main(void)
{
    test_experiment();
    test_configured_memory();
    test_platforms();
    test_odd_reports();
    return check_report();
}
