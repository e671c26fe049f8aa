/* stats: incremental experiment figures (see stats.h). */
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct stats_series {
    double *values;
    size_t count, capacity;
};

struct stats {
    long long runs, successes, new_containers;
    json_t *failures;                      /* {type: count} */
    struct stats_series runtime, latency, round_trip;
    struct stats_series function_start, function_end;   /* SAAF, epoch ms */
    struct stats_series client_start, client_end;       /* epoch ms */
    struct stats_series latency_sent;                   /* clientSendTime of each latency value */
    json_t *by_memory;                                  /* {"256": [sum_ms, runs]} */
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
    if (stats != NULL && ((stats->failures = json_object()) == NULL || (stats->by_memory = json_object()) == NULL)) {
        json_decref(stats->failures);
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
                                  &stats->latency_sent};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->values);
    json_decref(stats->failures);
    json_decref(stats->by_memory);
    free(stats);
}

static int stats_number(const json_t *row, const char *key, double *out)
{
    json_t *value = json_object_get(row, key);
    if (!json_is_number(value))
        return 0;
    *out = json_number_value(value);
    return 1;
}

void stats_add(struct stats *stats, const json_t *row)
{
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
    if (stats_number(row, "runtime", &value)) {
        stats_push(&stats->runtime, value);
        double memory = 0;
        stats_number(row, "memorySetting", &memory);
        char key[32];
        snprintf(key, sizeof key, "%d", (int)memory);
        json_t *entry = json_object_get(stats->by_memory, key);
        double sum = json_number_value(json_array_get(entry, 0)) + value;
        json_int_t runs = json_integer_value(json_array_get(entry, 1)) + 1;
        json_object_set_new(stats->by_memory, key, json_pack("[f, I]", sum, runs));
    }
    if (stats_number(row, "latency", &value)) {
        stats_push(&stats->latency, value);
        stats_push(&stats->latency_sent, start);
    }
    if (stats_number(row, "roundTripTime", &value))
        stats_push(&stats->round_trip, value);
    if (stats_number(row, "newcontainer", &value) && value > 0)
        stats->new_containers++;
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
    double sum = 0;
    for (size_t i = 0; i < s->count; i++)
        sum += sorted[i];
    double quantile[3];
    const double q[3] = {0.50, 0.90, 0.99};
    for (int i = 0; i < 3; i++) { /* nearest rank */
        size_t rank = (size_t)ceil(q[i] * (double)s->count);
        quantile[i] = sorted[rank > 0 ? rank - 1 : 0];
    }
    json_t *out = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "p50", quantile[0], "p90", quantile[1], "p99",
                            quantile[2], "mean", sum / (double)s->count, "min", sorted[0], "max", sorted[s->count - 1]);
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
    double area = 0;
    for (size_t i = 0; i < count;) {
        double instant = events[i].time;
        if (i > 0)
            area += (double)level * (instant - events[i - 1].time);
        while (i < count && events[i].time == instant)
            level += events[i++].delta;
        if (level > peak)
            peak = level;
    }
    double span = events[count - 1].time - events[0].time;
    free(events);
    return json_pack("{s:i, s:f, s:s}", "peak", (int)peak, "mean", span > 0 ? area / span : (double)peak, "source",
                     source);
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
        wall = (last - first) / 1000.0;
    }
    return json_pack("{s:I, s:I, s:O, s:o, s:o, s:o, s:I, s:o, s:o, s:f}", "runs", (json_int_t)stats->runs,
                     "successes", (json_int_t)stats->successes, "failures", stats->failures, "runtime",
                     stats_distribution(&stats->runtime), "latency", stats_distribution(&stats->latency),
                     "roundTripTime", stats_distribution(&stats->round_trip), "newContainers",
                     (json_int_t)stats->new_containers, "concurrency",
                     from_function ? stats_concurrency(&stats->function_start, &stats->function_end, "function")
                                   : stats_concurrency(&stats->client_start, &stats->client_end, "client"),
                     "clientConcurrency", stats_concurrency(&stats->client_start, &stats->client_end, "client"),
                     "wallTime", wall);
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
    if (count == 0 || stats->latency_sent.count != count)
        return series;
    double first = stats->latency_sent.values[0];
    for (size_t i = 1; i < count; i++)
        first = fmin(first, stats->latency_sent.values[i]);
    size_t step = count / (max_points ? max_points : 1) + 1;
    for (size_t i = 0; i < count; i += step)
        json_array_append_new(series, json_pack("[f, f]", (stats->latency_sent.values[i] - first) / 1000.0,
                                                stats->latency.values[i]));
    return series;
}

static int stats_compare_memory(const void *a, const void *b)
{
    double x = json_number_value(json_array_get(*(json_t *const *)a, 0));
    double y = json_number_value(json_array_get(*(json_t *const *)b, 0));
    return x < y ? -1 : x > y;
}

json_t *stats_runtime_by_memory(const struct stats *stats)
{
    size_t count = json_object_size(stats->by_memory), n = 0;
    json_t **items = malloc((count ? count : 1) * sizeof *items);
    json_t *out = json_array();
    if (items == NULL)
        return out;
    const char *key;
    json_t *entry;
    json_object_foreach(stats->by_memory, key, entry) {
        double runs = (double)json_integer_value(json_array_get(entry, 1));
        items[n++] = json_pack("[i, f, I]", atoi(key), json_number_value(json_array_get(entry, 0)) / runs,
                               json_integer_value(json_array_get(entry, 1)));
    }
    qsort(items, n, sizeof *items, stats_compare_memory);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(out, items[i]);
    free(items);
    return out;
}

json_t *stats_report(const struct stats *stats)
{
    json_t *report = stats_summary(stats);
    json_object_set_new(report, "concurrencySeries", stats_concurrency_series(stats, 400));
    json_object_set_new(report, "latencySeries", stats_latency_series(stats, 400));
    json_object_set_new(report, "runtimeByMemory", stats_runtime_by_memory(stats));
    return report;
}
