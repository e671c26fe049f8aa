/* stats: incremental experiment figures (see stats.h). Each successful
 * run adds its numbers to flat series (runtime, latency, the times of
 * both clocks) and the index of its group (memory setting and platform)
 * to parallel series, so a group's distribution is the same
 * stats_distribution over the values of that group. Numbers that are not
 * finite are not numbers here; sums are long double, so a few absurdly
 * large values (1e308 ms) give a large mean, not infinity. */
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stats_series {
    double *values;
    size_t count, capacity;
};

/* The runs of one platform (the row's `endpoint`: where the runner sent it). */
struct stats_platform {
    char name[256];
    struct stats *stats;
};

#define STATS_MAX_PLATFORMS 16

struct stats {
    long long runs, successes, new_containers, warm_runs;
    long long billed_runs;                 /* successful runs with a `cost` */
    long double cost, billed_ms;
    int is_platform;                       /* one platform's figures: no platforms of its own */
    struct stats_platform platforms[STATS_MAX_PLATFORMS];
    size_t platform_count;
    json_t *failures;                      /* {type: count} */
    struct stats_series runtime, latency, round_trip;
    struct stats_series function_start, function_end;   /* SAAF, epoch ms */
    struct stats_series client_start, client_end;       /* epoch ms */
    struct stats_series latency_sent;                   /* clientSendTime of each latency value */
    struct stats_series runtime_group, latency_group;   /* the group of each runtime / latency value */
    struct stats_series latency_cold;                   /* newcontainer of each latency value: 1, 0, -1 unknown */
    struct stats_group *groups;
    size_t group_count, group_capacity;
};

/* FaaS Runner allows 64 memory settings; rows that name more groups than
 * this (a hand-edited runs.jsonl) still count, in no group. */
#define STATS_MAX_GROUPS 256

/* The successful runs of one memory setting (0: the function's own) on one
 * platform: the row's `endpoint` (where the runner sent it), else SAAF's
 * `platform`, else "". */
struct stats_group {
    int memory;
    char platform[64];
    long long runs, cold, warm;
};

static void stats_push(struct stats_series *s, double value)
{
    if (s->count == s->capacity) {
        size_t capacity = s->capacity ? s->capacity * 2 : 256;
        double *grown = realloc(s->values, capacity * sizeof *grown);
        if (grown == NULL)
            return;
        s->values = grown;
        s->capacity = capacity;
    }
    s->values[s->count++] = value;
}

struct stats *stats_new(void)
{
    struct stats *stats = calloc(1, sizeof *stats);
    if (stats != NULL && (stats->failures = json_object()) == NULL) {
        free(stats);
        return NULL;
    }
    return stats;
}

void stats_free(struct stats *stats)
{
    if (stats == NULL)
        return;
    struct stats_series *all[] = {&stats->runtime, &stats->latency, &stats->round_trip, &stats->function_start,
                                  &stats->function_end, &stats->client_start, &stats->client_end,
                                  &stats->latency_sent, &stats->runtime_group, &stats->latency_group,
                                  &stats->latency_cold};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->values);
    json_decref(stats->failures);
    free(stats->groups);
    for (size_t i = 0; i < stats->platform_count; i++)
        stats_free(stats->platforms[i].stats);
    free(stats);
}

/* The figures of ROW's platform (its `endpoint`), made on first use; NULL
 * when the row names none or there are too many. */
static struct stats *stats_platform_of(struct stats *stats, const json_t *row)
{
    const char *name = json_string_value(json_object_get(row, "endpoint"));
    if (name == NULL || *name == '\0' || stats->is_platform)
        return NULL;
    for (size_t i = 0; i < stats->platform_count; i++)
        if (strncmp(stats->platforms[i].name, name, sizeof stats->platforms[i].name - 1) == 0)
            return stats->platforms[i].stats;
    if (stats->platform_count == STATS_MAX_PLATFORMS)
        return NULL;
    struct stats *one = stats_new();
    if (one == NULL)
        return NULL;
    one->is_platform = 1;
    struct stats_platform *platform = &stats->platforms[stats->platform_count++];
    snprintf(platform->name, sizeof platform->name, "%s", name);
    platform->stats = one;
    return one;
}

static int stats_number(const json_t *row, const char *key, double *out)
{
    json_t *value = json_object_get(row, key);
    if (!json_is_number(value) || !isfinite(json_number_value(value)))
        return 0;
    *out = json_number_value(value);
    return 1;
}

/* The index of ROW's group, made on first use; -1 when out of memory. */
static int stats_group_of(struct stats *stats, const json_t *row)
{
    double memory = 0;
    stats_number(row, "memorySetting", &memory);
    const char *platform = json_string_value(json_object_get(row, "endpoint")); /* where the runner sent it */
    if (platform == NULL || *platform == '\0')
        platform = json_string_value(json_object_get(row, "platform")); /* SAAF's, in rows from elsewhere */
    char name[64];
    snprintf(name, sizeof name, "%s", platform ? platform : "");
    int mb = memory > 0 && memory < 1e9 ? (int)memory : 0;
    for (size_t i = 0; i < stats->group_count; i++)
        if (stats->groups[i].memory == mb && strcmp(stats->groups[i].platform, name) == 0)
            return (int)i;
    if (stats->group_count == STATS_MAX_GROUPS)
        return -1;
    if (stats->group_count == stats->group_capacity) {
        size_t capacity = stats->group_capacity ? stats->group_capacity * 2 : 8;
        struct stats_group *grown = realloc(stats->groups, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        stats->groups = grown;
        stats->group_capacity = capacity;
    }
    struct stats_group *group = &stats->groups[stats->group_count];
    *group = (struct stats_group){.memory = mb};
    memcpy(group->platform, name, sizeof name);
    return (int)stats->group_count++;
}

void stats_add(struct stats *stats, const json_t *row)
{
    struct stats *platform = stats_platform_of(stats, row);
    if (platform != NULL)
        stats_add(platform, row);
    stats->runs++;
    const char *status = json_string_value(json_object_get(row, "status"));
    double value, start = 0, end;
    if (stats_number(row, "clientSendTime", &start) && stats_number(row, "clientReceiveTime", &end)) {
        stats_push(&stats->client_start, start);
        stats_push(&stats->client_end, end);
    }
    if (status == NULL || strcmp(status, "ok") != 0) {
        const char *type = json_string_value(json_object_get(row, "errorType"));
        type = type ? type : "Error";
        json_object_set_new(stats->failures, type,
                            json_integer(json_integer_value(json_object_get(stats->failures, type)) + 1));
        return;
    }
    stats->successes++;
    int group = stats_group_of(stats, row);
    double cold = -1;
    if (stats_number(row, "newcontainer", &cold))
        cold = cold > 0;
    if (group >= 0) {
        stats->groups[group].runs++;
        stats->groups[group].cold += cold == 1;
        stats->groups[group].warm += cold == 0;
    }
    if (stats_number(row, "runtime", &value)) {
        stats_push(&stats->runtime, value);
        stats_push(&stats->runtime_group, group);
    }
    if (stats_number(row, "latency", &value)) {
        stats_push(&stats->latency, value);
        stats_push(&stats->latency_sent, start);
        stats_push(&stats->latency_group, group);
        stats_push(&stats->latency_cold, cold);
    }
    if (stats_number(row, "roundTripTime", &value))
        stats_push(&stats->round_trip, value);
    if (cold == 1)
        stats->new_containers++;
    stats->warm_runs += cold == 0;
    if (stats_number(row, "cost", &value)) {
        stats->billed_runs++;
        stats->cost += value;
        if (stats_number(row, "billedDuration", &value))
            stats->billed_ms += value;
    }
    if (stats_number(row, "startTime", &start) && stats_number(row, "endTime", &end) && end >= start) {
        stats_push(&stats->function_start, start);
        stats_push(&stats->function_end, end);
    }
}

static int stats_compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *stats_distribution(const struct stats_series *s)
{
    if (s->count == 0)
        return json_null();
    double *sorted = malloc(s->count * sizeof *sorted);
    if (sorted == NULL)
        return json_null();
    memcpy(sorted, s->values, s->count * sizeof *sorted);
    qsort(sorted, s->count, sizeof *sorted, stats_compare);
    long double sum = 0;
    for (size_t i = 0; i < s->count; i++)
        sum += sorted[i];
    double quantile[3];
    const double q[3] = {0.50, 0.90, 0.99};
    for (int i = 0; i < 3; i++) { /* nearest rank */
        size_t rank = (size_t)ceil(q[i] * (double)s->count);
        quantile[i] = sorted[rank > 0 ? rank - 1 : 0];
    }
    json_t *out = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "p50", quantile[0], "p90", quantile[1], "p99",
                            quantile[2], "mean", (double)(sum / (long double)s->count), "min", sorted[0], "max", sorted[s->count - 1]);
    free(sorted);
    return out;
}

struct stats_event {
    double time;
    int delta;
};

static int stats_compare_events(const void *a, const void *b)
{
    const struct stats_event *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return x->delta - y->delta;
}

/* Sorted +1/-1 events of the intervals, or NULL. An end before its start
 * (clocks that disagree) is taken as the start. Callers apply every event
 * of one instant together, so a run that starts and ends at the same
 * instant, or one that ends as another starts, never makes the level dip
 * below what is really in flight. */
static struct stats_event *stats_events(const struct stats_series *starts, const struct stats_series *ends,
                                        size_t *count)
{
    *count = starts->count * 2;
    if (*count == 0)
        return NULL;
    struct stats_event *events = malloc(*count * sizeof *events);
    if (events == NULL)
        return NULL;
    for (size_t i = 0; i < starts->count; i++) {
        events[2 * i] = (struct stats_event){starts->values[i], +1};
        events[2 * i + 1] = (struct stats_event){fmax(ends->values[i], starts->values[i]), -1};
    }
    qsort(events, *count, sizeof *events, stats_compare_events);
    return events;
}

static json_t *stats_concurrency(const struct stats_series *starts, const struct stats_series *ends,
                                 const char *source)
{
    size_t count;
    struct stats_event *events = stats_events(starts, ends, &count);
    if (events == NULL)
        return json_null();
    long level = 0, peak = 0;
    long double area = 0;
    for (size_t i = 0; i < count;) {
        double instant = events[i].time;
        if (i > 0)
            area += (long double)level * ((long double)instant - events[i - 1].time);
        while (i < count && events[i].time == instant)
            level += events[i++].delta;
        if (level > peak)
            peak = level;
    }
    long double span = (long double)events[count - 1].time - events[0].time;
    free(events);
    return json_pack("{s:i, s:f, s:s}", "peak", (int)peak, "mean", span > 0 ? (double)(area / span) : (double)peak,
                     "source", source);
}

json_t *stats_summary(const struct stats *stats)
{
    int from_function = stats->function_start.count > 0 && stats->function_start.count == (size_t)stats->runs;
    double wall = 0;
    if (stats->client_start.count > 0) {
        double first = stats->client_start.values[0], last = stats->client_end.values[0];
        for (size_t i = 0; i < stats->client_start.count; i++) {
            first = fmin(first, stats->client_start.values[i]);
            last = fmax(last, stats->client_end.values[i]);
        }
        wall = (double)(((long double)last - first) / 1000.0L);
    }
    json_t *concurrency = from_function
                              ? stats_concurrency(&stats->function_start, &stats->function_end, "function")
                              : stats_concurrency(&stats->client_start, &stats->client_end, "client");
    json_t *summary = json_pack(
        "{s:I, s:I, s:O, s:o, s:o, s:o, s:I, s:o, s:o, s:f}", "runs", (json_int_t)stats->runs, "successes",
        (json_int_t)stats->successes, "failures", stats->failures, "runtime", stats_distribution(&stats->runtime),
        "latency", stats_distribution(&stats->latency), "roundTripTime", stats_distribution(&stats->round_trip),
        "newContainers", (json_int_t)stats->new_containers, "concurrency", concurrency, "clientConcurrency",
        stats_concurrency(&stats->client_start, &stats->client_end, "client"), "wallTime", wall);
    json_object_set_new(summary, "warmRuns", json_integer(stats->warm_runs));
    if (stats->billed_runs > 0)
        json_object_set_new(summary, "cost", json_pack("{s:f, s:I, s:f}", "total", (double)stats->cost, "billedRuns",
                                                       (json_int_t)stats->billed_runs, "billedMs",
                                                       (double)stats->billed_ms));
    return summary;
}

json_t *stats_concurrency_series(const struct stats *stats, size_t max_points)
{
    int from_function = stats->function_start.count > 0 && stats->function_start.count == (size_t)stats->runs;
    const struct stats_series *starts = from_function ? &stats->function_start : &stats->client_start;
    const struct stats_series *ends = from_function ? &stats->function_end : &stats->client_end;
    size_t count;
    struct stats_event *events = stats_events(starts, ends, &count);
    json_t *series = json_array();
    if (events == NULL)
        return series;
    size_t step = count / (max_points ? max_points : 1) + 1;
    long level = 0;
    for (size_t i = 0, next_point = 0; i < count;) {
        double instant = events[i].time;
        while (i < count && events[i].time == instant)
            level += events[i++].delta;
        if (i > next_point || i == count) {
            json_t *point = json_pack("[f, i]", (instant - events[0].time) / 1000.0, (int)level);
            if (max_points > 0 && json_array_size(series) == max_points)
                json_array_set_new(series, max_points - 1, point); /* the last point always ends the series */
            else
                json_array_append_new(series, point);
            next_point = i + step - 1;
        }
    }
    free(events);
    return series;
}

json_t *stats_latency_series(const struct stats *stats, size_t max_points)
{
    json_t *series = json_array();
    size_t count = stats->latency.count;
    if (count == 0 || stats->latency_sent.count != count || stats->latency_group.count != count ||
        stats->latency_cold.count != count)
        return series;
    double first = stats->latency_sent.values[0];
    for (size_t i = 1; i < count; i++)
        first = fmin(first, stats->latency_sent.values[i]);
    size_t step = count / (max_points ? max_points : 1) + 1;
    for (size_t i = 0; i < count; i += step) {
        int g = (int)stats->latency_group.values[i];
        double cold = stats->latency_cold.values[i];
        json_array_append_new(series, json_pack("[f, f, i, s, o]",
                                                (double)(((long double)stats->latency_sent.values[i] - first) / 1000),
                                                stats->latency.values[i], g >= 0 ? stats->groups[g].memory : 0,
                                                g >= 0 ? stats->groups[g].platform : "",
                                                cold < 0 ? json_null() : json_boolean(cold > 0)));
    }
    return series;
}

/* The values of SERIES whose group (in GROUPS) is G, as a series of their own. */
static struct stats_series stats_of_group(const struct stats_series *series, const struct stats_series *groups, int g)
{
    struct stats_series out = {0};
    for (size_t i = 0; i < series->count && i < groups->count; i++)
        if ((int)groups->values[i] == g)
            stats_push(&out, series->values[i]);
    return out;
}

static int stats_compare_groups(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t mx = json_integer_value(json_object_get(x, "memory")), my = json_integer_value(json_object_get(y, "memory"));
    if (mx != my)
        return mx < my ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "platform")), json_string_value(json_object_get(y, "platform")));
}

json_t *stats_groups(const struct stats *stats)
{
    json_t *out = json_array();
    json_t **items = malloc((stats->group_count ? stats->group_count : 1) * sizeof *items);
    if (items == NULL)
        return out;
    for (size_t g = 0; g < stats->group_count; g++) {
        const struct stats_group *group = &stats->groups[g];
        struct stats_series runtime = stats_of_group(&stats->runtime, &stats->runtime_group, (int)g);
        struct stats_series latency = stats_of_group(&stats->latency, &stats->latency_group, (int)g);
        items[g] = json_pack("{s:i, s:s, s:I, s:I, s:I, s:o, s:o}", "memory", group->memory, "platform",
                             group->platform, "runs", (json_int_t)group->runs, "cold", (json_int_t)group->cold, "warm",
                             (json_int_t)group->warm, "runtime", stats_distribution(&runtime), "latency",
                             stats_distribution(&latency));
        free(runtime.values);
        free(latency.values);
    }
    qsort(items, stats->group_count, sizeof *items, stats_compare_groups);
    for (size_t g = 0; g < stats->group_count; g++)
        json_array_append_new(out, items[g]);
    free(items);
    return out;
}

json_t *stats_report(const struct stats *stats)
{
    json_t *report = stats_summary(stats);
    json_object_set_new(report, "concurrencySeries", stats_concurrency_series(stats, 400));
    json_object_set_new(report, "latencySeries", stats_latency_series(stats, 400));
    json_object_set_new(report, "groups", stats_groups(stats));
    json_t *platforms = json_array();
    for (size_t i = 0; i < stats->platform_count; i++) {
        json_t *one = stats_summary(stats->platforms[i].stats);
        json_object_set_new(one, "platform", json_string(stats->platforms[i].name));
        json_object_set_new(one, "concurrencySeries", stats_concurrency_series(stats->platforms[i].stats, 400));
        json_array_append_new(platforms, one);
    }
    json_object_set_new(report, "platforms", platforms);
    return report;
}

json_t *stats_report_rows(const json_t *rows)
{
    struct stats *stats = stats_new();
    if (stats == NULL)
        return NULL;
    size_t i;
    const json_t *row;
    json_array_foreach(rows, i, row)
        stats_add(stats, row);
    json_t *report = stats_report(stats);
    stats_free(stats);
    return report;
}

json_t *stats_without_series(const json_t *report)
{
    json_t *kept = json_deep_copy(report);
    json_object_del(kept, "concurrencySeries");
    json_object_del(kept, "latencySeries");
    size_t i;
    json_t *platform;
    json_array_foreach(json_object_get(kept, "platforms"), i, platform)
        json_object_del(platform, "concurrencySeries");
    return kept;
}
