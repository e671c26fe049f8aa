/* experiment_charts: an experiment's charts from its stats report (see
 * experiment_charts.h). Each chart is filled in as a chart_model (values,
 * rules, words) and handed to charts_bundle. Labels of memory settings
 * and the numbers in rules and text lines are printed the way the summary
 * table prints them ("%.2f" ms, "%.1f" in flight), from the same JSON
 * numbers. Odd reports (no runs, no successes, values that are not
 * finite) give fewer charts and a note, never a broken one. */
#include "experiment_charts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "charts.h"
#include "fsutil.h"

/* "256 MB", "configured memory", with " · PLATFORM" when WITH_PLATFORM. */
static void experiment_charts_group_label(const json_t *group, int with_platform, char *out, size_t size)
{
    json_int_t memory = json_integer_value(json_object_get(group, "memory"));
    const char *platform = json_string_value(json_object_get(group, "platform"));
    char mem[48];
    if (memory > 0)
        snprintf(mem, sizeof mem, "%lld MB", (long long)memory);
    else
        snprintf(mem, sizeof mem, "configured memory");
    if (with_platform && platform != NULL && platform[0])
        snprintf(out, size, "%s · %.60s", mem, platform);
    else
        snprintf(out, size, "%s", mem);
}

/* 1 when the groups are on more than one platform. */
static int experiment_charts_platforms_differ(const json_t *groups)
{
    const char *first = NULL;
    size_t i;
    const json_t *group;
    json_array_foreach(groups, i, group) {
        const char *platform = json_string_value(json_object_get(group, "platform"));
        if (first == NULL)
            first = platform ? platform : "";
        else if (strcmp(first, platform ? platform : "") != 0)
            return 1;
    }
    return 0;
}

/* "function on platform · N runs · T threads · memory 128, 256 MB". */
static void experiment_charts_subtitle(const json_t *report, const struct experiment_charts_about *about, char *out,
                                       size_t size)
{
    char memory[200] = "", threads[32] = "";
    size_t used = 0;
    int configured = 0, listed = 0;
    json_int_t previous = 0;
    size_t i;
    const json_t *group;
    json_array_foreach(json_object_get(report, "groups"), i, group) { /* ascending memory */
        json_int_t mb = json_integer_value(json_object_get(group, "memory"));
        configured |= mb <= 0;
        if (mb <= 0 || mb == previous || used >= sizeof memory)
            continue;
        used += (size_t)snprintf(memory + used, sizeof memory - used, "%s%lld", listed++ ? ", " : "", (long long)mb);
        previous = mb;
    }
    if (about->threads > 0)
        snprintf(threads, sizeof threads, " · %d thread%s", about->threads, about->threads == 1 ? "" : "s");
    long long runs = (long long)json_integer_value(json_object_get(report, "runs"));
    snprintf(out, size, "%.60s on %.60s · %lld run%s%s%s%s%s%s", about->function ? about->function : "the function",
             about->platforms ? about->platforms : "its platform", runs, runs == 1 ? "" : "s", threads,
             listed ? " · memory " : "", memory, listed ? " MB" : "",
             configured ? (listed ? " and the function's configured memory" : " · the function's configured memory")
                        : "");
}

/* Divisor and unit for milliseconds whose largest is MAX: seconds from 10 s. */
static double experiment_charts_unit(double max_ms, const char **unit)
{
    if (isfinite(max_ms) && max_ms >= 10000) {
        *unit = "s";
        return 1000;
    }
    *unit = "ms";
    return 1;
}

static void experiment_charts_rule(struct chart *chart, const char *name, double value, double divisor,
                                   const char *unit)
{
    if (!isfinite(value) || chart->rule_count == CHART_MAX_RULES)
        return;
    struct chart_rule *rule = &chart->rules[chart->rule_count++];
    rule->value = value / divisor;
    snprintf(rule->label, sizeof rule->label, "%s %.2f %s", name, value / divisor, unit);
}

static double experiment_charts_number(const json_t *object, const char *key)
{
    const json_t *value = json_object_get(object, key);
    return json_is_number(value) ? json_number_value(value) : NAN;
}

static void experiment_charts_add(json_t *charts, struct chart *chart)
{
    json_t *bundle = charts_bundle(chart);
    if (bundle != NULL)
        json_array_append_new(charts, json_pack("{s:s, s:o}", "name", chart->name, "bundle", bundle));
    json_decref(chart->values);
    chart->values = NULL;
}

static void experiment_charts_concurrency(json_t *charts, const json_t *report, const char *subtitle)
{
    const json_t *series = json_object_get(report, "concurrencySeries");
    const json_t *concurrency = json_object_get(report, "concurrency");
    if (json_array_size(series) == 0 || !json_is_object(concurrency))
        return;
    const char *source = json_string_value(json_object_get(concurrency, "source"));
    int from_function = source != NULL && strcmp(source, "function") == 0;
    struct chart chart = {.kind = CHART_STEPS, .values = json_array()};
    snprintf(chart.name, sizeof chart.name, "concurrency");
    snprintf(chart.title, sizeof chart.title, "Runs in flight over time (%s)",
             from_function ? "the function's start and end times" : "the client's send and receive times");
    snprintf(chart.subtitle, sizeof chart.subtitle, "%s", subtitle);
    snprintf(chart.x_label, sizeof chart.x_label, "time since the first %s%s (s)", from_function ? "start" : "send",
             json_array_size(json_object_get(report, "platforms")) > 1 ? " (each platform's: since its own)" : "");
    snprintf(chart.y_label, sizeof chart.y_label, "runs in flight");
    snprintf(chart.series_title, sizeof chart.series_title, "series");
    double last = 0;
    size_t i;
    const json_t *point;
    const json_t *platforms = json_object_get(report, "platforms");
    int several = json_array_size(platforms) > 1;
    json_array_foreach(series, i, point) {
        double x = json_number_value(json_array_get(point, 0)), y = json_number_value(json_array_get(point, 1));
        json_array_append_new(chart.values, json_pack("{s:f, s:f, s:s}", "x", x, "y", y, "series",
                                                      several ? "in flight, all platforms" : "in flight"));
        last = fmax(last, x);
    }
    /* across platforms, each platform's own line too, from its own first start */
    size_t p;
    const json_t *platform;
    json_array_foreach(several ? platforms : NULL, p, platform) {
        char label[160];
        snprintf(label, sizeof label, "in flight on %.120s", json_string_value(json_object_get(platform, "platform")));
        json_array_foreach(json_object_get(platform, "concurrencySeries"), i, point) {
            double x = json_number_value(json_array_get(point, 0)), y = json_number_value(json_array_get(point, 1));
            json_array_append_new(chart.values, json_pack("{s:f, s:f, s:s}", "x", x, "y", y, "series", label));
            last = fmax(last, x);
        }
    }
    double mean = experiment_charts_number(concurrency, "mean"), peak = experiment_charts_number(concurrency, "peak");
    if (isfinite(mean)) {
        chart.rules[chart.rule_count].value = mean;
        snprintf(chart.rules[chart.rule_count++].label, sizeof chart.rules[0].label, "mean %.1f", mean);
    }
    if (isfinite(peak)) {
        chart.rules[chart.rule_count].value = peak;
        snprintf(chart.rules[chart.rule_count++].label, sizeof chart.rules[0].label, "peak %.0f", peak);
    }
    snprintf(chart.text, sizeof chart.text, "%s: peak %.0f, mean %.1f in flight over %.1f s", chart.title,
             isfinite(peak) ? peak : 0, isfinite(mean) ? mean : 0, last);
    experiment_charts_add(charts, &chart);
}

static void experiment_charts_latency(json_t *charts, const json_t *report, const char *subtitle)
{
    const json_t *series = json_object_get(report, "latencySeries");
    const json_t *latency = json_object_get(report, "latency");
    if (json_array_size(series) == 0 || !json_is_object(latency))
        return;
    int with_platform = experiment_charts_platforms_differ(json_object_get(report, "groups"));
    const char *unit;
    double divisor = experiment_charts_unit(experiment_charts_number(latency, "max"), &unit);
    struct chart chart = {.kind = CHART_POINTS, .values = json_array()};
    snprintf(chart.name, sizeof chart.name, "latency");
    snprintf(chart.title, sizeof chart.title, "Latency over time (round trip minus runtime)");
    snprintf(chart.subtitle, sizeof chart.subtitle, "%s", subtitle);
    snprintf(chart.x_label, sizeof chart.x_label, "time of the call since the first (s)");
    snprintf(chart.y_label, sizeof chart.y_label, "latency (%s)", unit);
    snprintf(chart.series_title, sizeof chart.series_title, "%s", with_platform ? "memory · platform" : "memory");
    long long cold = 0;
    size_t i;
    const json_t *point;
    json_array_foreach(series, i, point) {
        json_t *group = json_pack("{s:O, s:O}", "memory", json_array_get(point, 2), "platform", json_array_get(point, 3));
        char label[128];
        experiment_charts_group_label(group, with_platform, label, sizeof label);
        json_decref(group);
        const json_t *start = json_array_get(point, 4);
        cold += json_is_true(start);
        json_array_append_new(chart.values,
                              json_pack("{s:f, s:f, s:s, s:s}", "x", json_number_value(json_array_get(point, 0)), "y",
                                        json_number_value(json_array_get(point, 1)) / divisor, "series", label, "start",
                                        json_is_true(start) ? CHART_COLD : json_is_false(start) ? CHART_WARM
                                                                                                : CHART_UNKNOWN));
    }
    experiment_charts_rule(&chart, "p50", experiment_charts_number(latency, "p50"), divisor, unit);
    experiment_charts_rule(&chart, "p99", experiment_charts_number(latency, "p99"), divisor, unit);
    snprintf(chart.text, sizeof chart.text, "%s: %zu points, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms; %lld cold start%s shown",
             chart.title, json_array_size(series), experiment_charts_number(latency, "p50"),
             experiment_charts_number(latency, "p90"), experiment_charts_number(latency, "p99"), cold,
             cold == 1 ? "" : "s");
    experiment_charts_add(charts, &chart);
}

static void experiment_charts_runtime(json_t *charts, const json_t *report, const char *subtitle)
{
    const json_t *groups = json_object_get(report, "groups");
    int with_platform = experiment_charts_platforms_differ(groups);
    double top = 0;
    size_t i;
    const json_t *group;
    json_array_foreach(groups, i, group) {
        double max = experiment_charts_number(json_object_get(group, "runtime"), "max");
        top = isfinite(max) ? fmax(top, max) : top;
    }
    const char *unit;
    double divisor = experiment_charts_unit(top, &unit);
    struct chart chart = {.kind = CHART_RANGES, .values = json_array()};
    snprintf(chart.name, sizeof chart.name, "runtime");
    snprintf(chart.title, sizeof chart.title, "Runtime by memory setting (p50, p90, p99; min to max)");
    snprintf(chart.subtitle, sizeof chart.subtitle, "%s", subtitle);
    snprintf(chart.x_label, sizeof chart.x_label, "%s", with_platform ? "memory setting · platform" : "memory setting");
    snprintf(chart.y_label, sizeof chart.y_label, "runtime (%s)", unit);
    snprintf(chart.series_title, sizeof chart.series_title, "%s", with_platform ? "memory · platform" : "memory");
    size_t used = (size_t)snprintf(chart.text, sizeof chart.text, "%s:", chart.title);
    json_array_foreach(groups, i, group) {
        const json_t *runtime = json_object_get(group, "runtime");
        if (!json_is_object(runtime))
            continue;
        char label[128];
        experiment_charts_group_label(group, with_platform, label, sizeof label);
        json_t *value = json_pack("{s:s, s:O, s:O, s:O}", "series", label, "runs", json_object_get(group, "runs"),
                                  "cold", json_object_get(group, "cold"), "warm", json_object_get(group, "warm"));
        static const char *const keys[] = {"min", "p50", "p90", "p99", "max", "mean"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
            double v = experiment_charts_number(runtime, keys[k]);
            if (isfinite(v))
                json_object_set_new(value, keys[k], json_real(v / divisor));
        }
        json_array_append_new(chart.values, value);
        if (used < sizeof chart.text)
            used += (size_t)snprintf(chart.text + used, sizeof chart.text - used,
                                     "%s %s p50 %.2f, p90 %.2f, p99 %.2f ms (%lld runs)", i ? ";" : "", label,
                                     experiment_charts_number(runtime, "p50"), experiment_charts_number(runtime, "p90"),
                                     experiment_charts_number(runtime, "p99"),
                                     (long long)json_integer_value(json_object_get(group, "runs")));
    }
    if (json_array_size(chart.values) == 0) {
        json_decref(chart.values);
        return;
    }
    experiment_charts_add(charts, &chart);
}

json_t *experiment_charts_build(const json_t *report, const struct experiment_charts_about *about)
{
    json_t *charts = json_array();
    char subtitle[400];
    experiment_charts_subtitle(report, about, subtitle, sizeof subtitle);
    experiment_charts_concurrency(charts, report, subtitle);
    experiment_charts_latency(charts, report, subtitle);
    experiment_charts_runtime(charts, report, subtitle);
    const char *why = NULL;
    if (json_integer_value(json_object_get(report, "runs")) == 0)
        why = "No charts: no run finished.";
    else if (json_integer_value(json_object_get(report, "successes")) == 0)
        why = "No latency or runtime charts: no run succeeded (the summary lists the failures).";
    else if (json_array_size(charts) < 3)
        why = "Some charts are left out: the runs did not report the numbers they need (runtime, latency, times).";
    if (why != NULL)
        json_array_append_new(charts, json_pack("{s:s, s:{s:{s:s, s:s++}, s:{}}}", "name", "note", "bundle", "data",
                                                "text/plain", why, "text/html", "<p><i>", why, "</i></p>", "metadata"));
    return charts;
}

json_t *experiment_charts_save(const json_t *charts, const char *dir, const char *stem, char *err, size_t err_size)
{
    if (fsutil_mkdirs(dir, 0755) < 0) {
        snprintf(err, err_size, "cannot make the folder %.300s: %s", dir, strerror(errno));
        return NULL;
    }
    json_t *written = json_array();
    size_t i;
    const json_t *chart;
    json_array_foreach(charts, i, chart) {
        const char *svg = json_string_value(json_object_get(json_object_get(json_object_get(chart, "bundle"), "data"),
                                                            "image/svg+xml"));
        if (svg == NULL)
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%.2000s/%.1000s-%s.svg", dir, stem,
                 json_string_value(json_object_get(chart, "name")));
        if (fsutil_write_atomic(path, svg, strlen(svg), 0644) < 0) {
            snprintf(err, err_size, "cannot write %.300s: %s", path, strerror(errno));
            json_decref(written);
            return NULL;
        }
        json_array_append_new(written, json_string(path));
    }
    return written;
}
