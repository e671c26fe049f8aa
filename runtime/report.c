/* report: FaaS Runner's grouped CSV report (see report.h). The rows are
 * JSON objects as written to runs.jsonl; columns keep the order in which
 * attributes first appear. */
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "fsutil.h"

static void report_field(struct buffer *t, const char *text)
{
    if (strpbrk(text, ",\"\r\n") == NULL) {
        buffer_puts(t, text);
        return;
    }
    buffer_puts(t, "\"");
    for (const char *c = text; *c; c++)
        buffer_append(t, *c == '"' ? "\"\"" : c, *c == '"' ? 2 : 1);
    buffer_puts(t, "\"");
}

static void report_value(struct buffer *t, const json_t *value)
{
    if (value == NULL || json_is_null(value))
        return;
    if (json_is_string(value)) {
        report_field(t, json_string_value(value));
        return;
    }
    char *text = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(16));
    if (text != NULL)
        report_field(t, text);
    free(text);
}

static int report_in(const json_t *list, const char *name)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        if (json_is_string(item) && strcmp(json_string_value(item), name) == 0)
            return 1;
    }
    return 0;
}

/* Every attribute of ROWS in order of first appearance, less IGNORED. */
static json_t *report_columns(const json_t *rows, const json_t *ignored)
{
    json_t *columns = json_array(), *seen = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)row, key, value) {
            if (json_object_get(seen, key) == NULL && !report_in(ignored, key)) {
                json_object_set_new(seen, key, json_true());
                json_array_append_new(columns, json_string(key));
            }
        }
    }
    json_decref(seen);
    return columns;
}

static void report_table(struct buffer *t, const json_t *rows, const json_t *columns)
{
    size_t c, r;
    json_t *column, *row;
    json_array_foreach(columns, c, column) {
        if (c > 0)
            buffer_puts(t, ",");
        report_field(t, json_string_value(column));
    }
    buffer_puts(t, "\n");
    json_array_foreach(rows, r, row) {
        json_array_foreach(columns, c, column) {
            if (c > 0)
                buffer_puts(t, ",");
            report_value(t, json_object_get(row, json_string_value(column)));
        }
        buffer_puts(t, "\n");
    }
}

/* Whether ROW takes part in the groups. */
static int report_counts(const json_t *row, const json_t *experiment, json_t *containers)
{
    const char *status = json_string_value(json_object_get(row, "status"));
    if (status == NULL || strcmp(status, "ok") != 0)
        return 0;
    json_t *warmup = json_object_get(experiment, "warmupBuffer");
    if (json_is_integer(warmup) && json_integer_value(json_object_get(row, "iteration")) < json_integer_value(warmup))
        return 0;
    const char *key;
    json_t *value;
    json_object_foreach(json_object_get(experiment, "invalidators"), key, value) {
        json_t *seen = json_object_get(row, key);
        if (seen != NULL && json_equal(seen, value))
            return 0;
    }
    if (json_is_true(json_object_get(experiment, "removeDuplicateContainers"))) {
        const char *uuid = json_string_value(json_object_get(row, "uuid"));
        if (uuid != NULL) {
            if (json_object_get(containers, uuid) != NULL)
                return 0;
            json_object_set_new(containers, uuid, json_true());
        }
    }
    return 1;
}

static const char *report_group_key(const json_t *row, const char *group, char *buffer, size_t size)
{
    json_t *value = json_object_get(row, group);
    if (json_is_string(value))
        return json_string_value(value);
    char *text = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    snprintf(buffer, size, "%s", text ? text : "");
    free(text);
    return buffer;
}

/* Whether NAME holds numbers (and nothing else) in ROWS. */
static int report_numeric(const json_t *rows, const char *name)
{
    size_t i, numbers = 0;
    json_t *row;
    json_array_foreach(rows, i, row) {
        json_t *value = json_object_get(row, name);
        if (value == NULL || json_is_null(value))
            continue;
        if (!json_is_number(value))
            return 0;
        numbers++;
    }
    return numbers > 0;
}

static int report_skipped_in_groups(const char *name, const char *group, const json_t *experiment)
{
    static const char *const run_columns[] = {"1_run_id", "2_thread_id", "3_pipeline_stage", "iteration", "retries",
                                              "clientSendTime", "clientReceiveTime", "startTime", "endTime", NULL};
    for (size_t i = 0; run_columns[i] != NULL; i++)
        if (strcmp(name, run_columns[i]) == 0)
            return 1;
    return strcmp(name, group) == 0 || report_in(json_object_get(experiment, "ignoreFromGroups"), name) ||
           report_in(json_object_get(json_object_get(experiment, "ignoreByGroup"), group), name);
}

static void report_group(struct buffer *t, const char *group, const json_t *counted, const json_t *all_columns,
                         const json_t *experiment)
{
    json_t *values = json_object(), *order = json_array(); /* value -> [rows] */
    size_t i;
    json_t *row;
    char buffer[256];
    json_array_foreach(counted, i, row) {
        const char *key = report_group_key(row, group, buffer, sizeof buffer);
        json_t *members = json_object_get(values, key);
        if (members == NULL) {
            members = json_array();
            json_object_set_new(values, key, members);
            json_array_append_new(order, json_string(key));
        }
        json_array_append(members, row);
    }
    const json_t *as_sum = json_object_get(experiment, "showAsSum"), *as_list = json_object_get(experiment, "showAsList");
    json_t *shown = json_array(); /* the attributes this group summarises */
    size_t c;
    json_t *column;
    json_array_foreach(all_columns, c, column) {
        const char *name = json_string_value(column);
        if (!report_skipped_in_groups(name, group, experiment) &&
            (report_in(as_list, name) || report_numeric(counted, name)))
            json_array_append(shown, column);
    }
    const json_t *columns = shown;
    buffer_puts(t, "\nPerformance grouped by ");
    report_field(t, group);
    buffer_puts(t, "\n");
    report_field(t, group);
    buffer_puts(t, ",uses");
    json_array_foreach(columns, c, column) {
        const char *name = json_string_value(column);
        buffer_puts(t, ",");
        char header[300];
        snprintf(header, sizeof header, report_in(as_list, name) ? "%s_list" : report_in(as_sum, name) ? "sum_%s" : "avg_%s",
                 name);
        report_field(t, header);
    }
    buffer_puts(t, "\n");
    size_t v;
    json_t *value_name;
    json_array_foreach(order, v, value_name) {
        json_t *members = json_object_get(values, json_string_value(value_name));
        report_field(t, json_string_value(value_name));
        snprintf(buffer, sizeof buffer, ",%zu", json_array_size(members));
        buffer_puts(t, buffer);
        json_array_foreach(columns, c, column) {
            const char *name = json_string_value(column);
            buffer_puts(t, ",");
            if (report_in(as_list, name)) {
                json_t *list = json_array();
                size_t m;
                json_t *member;
                json_array_foreach(members, m, member)
                    json_array_append(list, json_object_get(member, name) ? json_object_get(member, name) : json_null());
                char *text = json_dumps(list, JSON_COMPACT);
                report_field(t, text ? text : "[]");
                free(text);
                json_decref(list);
                continue;
            }
            double sum = 0;
            size_t numbers = 0, m;
            json_t *member;
            json_array_foreach(members, m, member) {
                json_t *number = json_object_get(member, name);
                if (json_is_number(number)) {
                    sum += json_number_value(number);
                    numbers++;
                }
            }
            if (numbers > 0) {
                snprintf(buffer, sizeof buffer, "%.10g", report_in(as_sum, name) ? sum : sum / (double)numbers);
                buffer_puts(t, buffer);
            }
        }
        buffer_puts(t, "\n");
    }
    if (report_in(json_object_get(experiment, "outputRawOfGroup"), group)) {
        json_array_foreach(order, v, value_name) {
            buffer_puts(t, "\nRaw runs of ");
            report_field(t, group);
            buffer_puts(t, " = ");
            report_field(t, json_string_value(value_name));
            buffer_puts(t, "\n");
            report_table(t, json_object_get(values, json_string_value(value_name)), all_columns);
        }
    }
    json_decref(shown);
    json_decref(values);
    json_decref(order);
}

static int report_compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* How many values of SORTED (ascending, COUNT) are below LIMIT, or at most LIMIT when INCLUSIVE. */
static size_t report_count_below(const double *sorted, size_t count, double limit, int inclusive)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = (low + high) / 2;
        if (sorted[middle] < limit || (inclusive && sorted[middle] == limit))
            low = middle + 1;
        else
            high = middle;
    }
    return low;
}

/* FaaS Runner's runtimeOverlap: for each run with SAAF startTime and
 * endTime, how many other runs were running at some moment of it, among
 * the runs with the same value of FILTER. A
 * run overlaps when it starts by the time this one ends and ends no
 * earlier than it starts: counted with two sorted arrays, n log n. */
static void report_add_overlap(json_t *rows, const char *filter)
{
    json_t *groups = json_object();
    size_t i;
    json_t *row;
    char buffer[256];
    json_array_foreach(rows, i, row) {
        if (!json_is_number(json_object_get(row, "startTime")) || !json_is_number(json_object_get(row, "endTime")))
            continue;
        const char *key = report_group_key(row, filter, buffer, sizeof buffer);
        json_t *members = json_object_get(groups, key);
        if (members == NULL) {
            members = json_array();
            json_object_set_new(groups, key, members);
        }
        json_array_append(members, row);
    }
    const char *key;
    json_t *members;
    json_object_foreach(groups, key, members) {
        size_t n = json_array_size(members);
        double *starts = malloc(n * sizeof *starts), *ends = malloc(n * sizeof *ends);
        if (starts == NULL || ends == NULL) {
            free(starts);
            free(ends);
            continue;
        }
        json_array_foreach(members, i, row) {
            starts[i] = json_number_value(json_object_get(row, "startTime"));
            ends[i] = json_number_value(json_object_get(row, "endTime"));
        }
        qsort(starts, n, sizeof *starts, report_compare_doubles);
        qsort(ends, n, sizeof *ends, report_compare_doubles);
        json_array_foreach(members, i, row) {
            double start = json_number_value(json_object_get(row, "startTime"));
            double end = json_number_value(json_object_get(row, "endTime"));
            /* runs started by its end, less those ended before its start, less itself (closed intervals) */
            size_t started = report_count_below(starts, n, end, 1);
            size_t ended = report_count_below(ends, n, start, 0);
            json_object_set_new(row, "runtimeOverlap", json_integer((json_int_t)(started - ended) - 1));
        }
        free(starts);
        free(ends);
    }
    json_decref(groups);
}

int report_write(const char *folder, const json_t *experiment, const json_t *rows_in, char *err, size_t err_size)
{
    json_t *rows = json_deep_copy(rows_in);
    json_t *overlap = json_object_get(experiment, "overlapFilter");
    if (json_string_length(overlap) > 0)
        report_add_overlap(rows, json_string_value(overlap));
    struct buffer t = {0};
    json_t *columns = report_columns(rows, json_object_get(experiment, "ignoreFromAll"));
    json_t *counted = json_array(), *containers = json_object();
    size_t i, failed = 0;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *status = json_string_value(json_object_get(row, "status"));
        failed += status == NULL || strcmp(status, "ok") != 0;
        if (report_counts(row, experiment, containers))
            json_array_append(counted, row);
    }
    char line[256];
    snprintf(line, sizeof line, "Successful Runs,%zu\nFailed Runs,%zu\nRuns in groups,%zu\n\nRaw results of each run\n",
             json_array_size(rows) - failed, failed, json_array_size(counted));
    buffer_puts(&t, line);
    report_table(&t, rows, columns);
    json_array_foreach(json_object_get(experiment, "outputGroups"), i, row) {
        if (json_is_string(row))
            report_group(&t, json_string_value(row), counted, columns, experiment);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/report.csv", folder);
    int rc = !t.failed && t.data != NULL && fsutil_write_atomic(path, t.data, t.size, 0600) == 0 ? 0 : -1;
    if (rc < 0)
        snprintf(err, err_size, "cannot write %.300s: %s", path, strerror(errno));
    buffer_free(&t);
    json_decref(columns);
    json_decref(counted);
    json_decref(containers);
    json_decref(rows);
    return rc;
}
