/* faasrunner: FaaS Runner's files of an experiment (see faasrunner.h).
 * The rows are cut into passes where their (memorySetting, iteration)
 * changes (passes run one after another, so a memory setting given twice
 * is two passes, and FaaS Runner's "-1" suffix names the second file);
 * each pass's runs are converted once, reported (which changes them as
 * FaaS Runner's report does), written as their JSON files, and, with
 * combineSheets, the same objects make the combined report of their
 * memory setting. The CSV files are written atomically; the per-run JSON
 * files, thousands of them, plainly. */
#include "faasrunner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "fsutil.h"
#include "pyrepr.h"
#include "report.h"

/* faaset's columns of a row, not the function's: FaaS Runner has its own
 * version of some and none of the others. */
static const char *const faasrunner_own_columns[] = {
    "1_run_id", "2_thread_id", "3_pipeline_stage", "iteration", "memorySetting", "payload", "endpoint", "status",
    "errorType", "errorMessage", "retries", "clientSendTime", "clientReceiveTime", "roundTripTime", "latency",
    "result", NULL,
};

static int faasrunner_own(const char *name)
{
    for (size_t i = 0; faasrunner_own_columns[i] != NULL; i++)
        if (strcmp(name, faasrunner_own_columns[i]) == 0)
            return 1;
    return 0;
}

/* str(VALUE) with FaaS Runner's replacements: ',' to ';', tab and line feed escaped. */
static json_t *faasrunner_text(const json_t *value)
{
    struct buffer text = {0}, out = {0};
    pyrepr_str(&text, value);
    for (size_t i = 0; i < text.size; i++) {
        char c = text.data[i];
        buffer_puts(&out, c == ',' ? ";" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : (char[2]){c, 0});
    }
    json_t *result = json_stringn(out.data ? out.data : "", out.size);
    buffer_free(&text);
    buffer_free(&out);
    return result;
}

static void faasrunner_set_float(json_t *run, const char *name, double value)
{
    json_object_set_new(run, name, json_real(value));
}

/* ROW (faaset's) as FaaS Runner keeps the run, or NULL when FaaS Runner
 * would not count it. */
static json_t *faasrunner_run(const json_t *row, const char *function, int pipeline)
{
    const char *status = json_string_value(json_object_get(row, "status"));
    if (status == NULL || strcmp(status, "ok") != 0 || json_object_get(row, "version") == NULL)
        return NULL;
    json_t *run = json_object();
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)row, key, value) {
        if (!faasrunner_own(key))
            json_object_set(run, key, value);
    }
    json_object_set(run, "2_thread_id", json_object_get(row, "2_thread_id"));
    json_object_set(run, "1_run_id", json_object_get(row, "1_run_id"));
    if (pipeline)
        json_object_set(run, "3_pipeline_stage", json_object_get(row, "3_pipeline_stage"));
    json_object_set_new(run, "zAll", json_string("Final Results:"));
    double round_trip = nearbyint(json_number_value(json_object_get(row, "roundTripTime")) * 100) / 100;
    faasrunner_set_float(run, "roundTripTime", round_trip);
    json_t *sent = json_loads(json_string_value(json_object_get(row, "payload")) ?: "{}", 0, NULL);
    char *payload = json_dumps(sent ? sent : json_object(), JSON_ENSURE_ASCII | JSON_ENCODE_ANY); /* Python's ", " and ": " */
    json_object_set_new(run, "payload", json_string(payload ? payload : "{}"));
    free(payload);
    json_decref(sent);
    const json_t *runtime = json_object_get(row, "runtime");
    if (runtime != NULL) {
        double whole = json_is_number(runtime) ? trunc(json_number_value(runtime))
                       : json_is_string(runtime) ? (double)strtoll(json_string_value(runtime), NULL, 10) : 0;
        faasrunner_set_float(run, "latency", pyrepr_round2(round_trip - whole));
    }
    const json_t *model = json_object_get(row, "cpuModel"), *type = json_object_get(row, "cpuType");
    if (type != NULL && model != NULL) {
        struct buffer text = {0};
        pyrepr_str(&text, type);
        buffer_puts(&text, " - Model ");
        pyrepr_str(&text, model);
        json_object_set_new(run, "cpuType", json_string(text.data ? text.data : ""));
        buffer_free(&text);
    }
    if (json_object_get(row, "platform") == NULL) {
        const char *endpoint = json_string_value(json_object_get(row, "endpoint"));
        int url = endpoint != NULL && strstr(endpoint, "://") != NULL; /* HTTP: the URL; a platform: the function */
        json_object_set_new(run, "endpoint", json_string(url ? endpoint : function));
    }
    json_object_foreach(run, key, value)
        json_object_set_new(run, key, faasrunner_text(value));
    return run;
}

/* One pass: its memory setting, iteration and FaaS Runner's runs. */
struct faasrunner_pass {
    long long memory;
    int iteration;
    json_t *runs;
};

/* Python's str(datetime.now()). */
static void faasrunner_now(char out[40])
{
    struct timeval now;
    struct tm tm;
    gettimeofday(&now, NULL);
    localtime_r(&now.tv_sec, &tm);
    size_t length = strftime(out, 40, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(out + length, 40 - length, ".%06ld", (long)now.tv_usec);
}

/* NAME with '/' made '_', for a file name. */
static void faasrunner_safe(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s", name);
    for (char *c = out; *c; c++)
        if (*c == '/' || (*c == '.' && c == out))
            *c = '_';
}

/* FOLDER/BASE, with "-N" after BASE when BASE.csv is taken, as FaaS Runner names a repeat. */
static int faasrunner_base(char *out, size_t size, const char *folder, const char *base)
{
    if (fsutil_path(out, size - 16, "%s/%s", folder, base) < 0)
        return -1;
    char probe[4200];
    if (fsutil_path(probe, sizeof probe, "%s.csv", out) < 0)
        return -1;
    for (int repeat = 1; access(probe, F_OK) == 0 && repeat < 1000; repeat++)
        if (fsutil_path(out, size - 16, "%s/%s-%d", folder, base, repeat) < 0 ||
            fsutil_path(probe, sizeof probe, "%s.csv", out) < 0)
            return -1;
    return 0;
}

static int faasrunner_write_report(const char *base, json_t *runs, const json_t *experiment)
{
    char now[40], path[4200];
    faasrunner_now(now);
    struct buffer text = {0};
    report_text(runs, experiment, now, &text);
    snprintf(path, sizeof path, "%s.csv", base);
    int rc = text.failed || text.data == NULL ? -1 : fsutil_write_atomic(path, text.data, text.size, 0600);
    buffer_free(&text);
    return rc;
}

/* BASE/runK-UUID.json for each of RUNS. */
static int faasrunner_write_runs(const char *base, const json_t *runs)
{
    if (fsutil_mkdirs(base, 0700) < 0)
        return -1;
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run) {
        unsigned char id[16];
        if (getrandom(id, sizeof id, 0) != (ssize_t)sizeof id)
            return -1;
        id[6] = (unsigned char)((id[6] & 0x0f) | 0x40); /* uuid4: version 4, RFC 4122 variant */
        id[8] = (unsigned char)((id[8] & 0x3f) | 0x80);
        char path[4400];
        snprintf(path, sizeof path,
                 "%s/run%zu-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x.json", base, i,
                 id[0], id[1], id[2], id[3], id[4], id[5], id[6], id[7], id[8], id[9], id[10], id[11], id[12], id[13],
                 id[14], id[15]);
        FILE *file = fopen(path, "w");
        if (file == NULL)
            return -1;
        int failed = json_dumpf(run, file, JSON_ENSURE_ASCII) < 0; /* json.dumps: ", " and ": " */
        if (fclose(file) != 0 || failed)
            return -1;
    }
    return 0;
}

/* The passes of ROWS, in order (see the top). */
static size_t faasrunner_passes(const json_t *rows, const char *function, int pipeline,
                                struct faasrunner_pass **out)
{
    size_t count = 0, capacity = 0, i;
    json_t *row;
    *out = NULL;
    json_array_foreach(rows, i, row) {
        long long memory = json_integer_value(json_object_get(row, "memorySetting")); /* null: 0, none given */
        int iteration = (int)json_integer_value(json_object_get(row, "iteration"));
        if (count == 0 || (*out)[count - 1].memory != memory || (*out)[count - 1].iteration != iteration) {
            if (count == capacity) {
                capacity = capacity ? capacity * 2 : 8;
                struct faasrunner_pass *grown = realloc(*out, capacity * sizeof *grown);
                if (grown == NULL)
                    break;
                *out = grown;
            }
            (*out)[count++] = (struct faasrunner_pass){memory, iteration, json_array()};
        }
        json_t *run = faasrunner_run(row, function, pipeline);
        if (run != NULL)
            json_array_append_new((*out)[count - 1].runs, run);
    }
    return count;
}

/* The combined report of the passes FIRST..END-1 (one memory setting). */
static int faasrunner_combined(const char *folder, const char *prefix, const struct faasrunner_pass *passes,
                               size_t first, size_t end, const struct experiment *experiment)
{
    json_t *runs = json_array();
    for (size_t p = first; p < end; p++) {
        if (passes[p].iteration < experiment->warmup_buffer)
            continue;
        size_t i;
        json_t *run;
        json_array_foreach(passes[p].runs, i, run) {
            json_object_set_new(run, "iteration", json_integer(passes[p].iteration));
            const char *vm = json_string_value(json_object_get(run, "vmID"));
            if (vm != NULL) {
                char text[600];
                snprintf(text, sizeof text, "%.500s[%d]", vm, passes[p].iteration);
                json_object_set_new(run, "vmID[iteration]", json_string(text));
            }
            json_array_append(runs, run);
        }
    }
    int rc = 0;
    if (json_array_size(runs) > 0) {
        char name[400], base[4200];
        snprintf(name, sizeof name, "%s-%lldMBs-COMBINED", prefix, passes[first].memory);
        rc = faasrunner_base(base, sizeof base, folder, name) < 0 ? -1 : faasrunner_write_report(base, runs,
                                                                                                 experiment->source);
    }
    json_decref(runs);
    return rc;
}

int faasrunner_write(const char *folder, const char *function, const struct experiment *experiment, int pipeline,
                     const json_t *rows, char *err, size_t err_size)
{
    struct faasrunner_pass *passes;
    size_t count = faasrunner_passes(rows, function, pipeline, &passes);
    char safe_function[128], safe_name[128], prefix[300];
    faasrunner_safe(safe_function, sizeof safe_function, function);
    faasrunner_safe(safe_name, sizeof safe_name, experiment->name);
    snprintf(prefix, sizeof prefix, "%s-%s", safe_function, safe_name);
    int rc = 0;
    for (size_t p = 0; p < count && rc == 0; p++) {
        if (json_array_size(passes[p].runs) == 0)
            continue; /* FaaS Runner: "ALL REQUESTS FAILED", no file */
        char name[400], base[4200];
        snprintf(name, sizeof name, "%s-%lldMBs-run%d", prefix, passes[p].memory, passes[p].iteration);
        if (faasrunner_base(base, sizeof base, folder, name) < 0 ||
            faasrunner_write_report(base, passes[p].runs, experiment->source) < 0 ||
            faasrunner_write_runs(base, passes[p].runs) < 0)
            rc = -1;
    }
    long long memory_passes = experiment->memory_count > 0 ? experiment->memory_count : 1;
    long long iterations = (long long)experiment->iterations * memory_passes;
    if (rc == 0 && json_is_true(json_object_get(experiment->source, "combineSheets")) &&
        !(experiment->warmup_buffer > iterations || iterations == 1)) {
        for (size_t p = 0, first = 0; p < count && rc == 0; p++) {
            if (p + 1 < count && passes[p + 1].memory == passes[p].memory && passes[p + 1].iteration > passes[p].iteration)
                continue; /* the memory setting's passes go on */
            rc = faasrunner_combined(folder, prefix, passes, first, p + 1, experiment);
            first = p + 1;
        }
    }
    if (rc < 0)
        snprintf(err, err_size, "cannot write FaaS Runner's files in %.300s: %s", folder, strerror(errno));
    for (size_t p = 0; p < count; p++)
        json_decref(passes[p].runs);
    free(passes);
    return rc;
}
