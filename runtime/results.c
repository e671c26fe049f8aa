/* results: append-only row files of an experiment (see results.h). Rows
 * are queued in memory and written with one write() per file when flushed,
 * so a reader (or a kernel killed mid-write) sees whole lines only, except
 * possibly a cut last line, which readers skip. */
#include "results.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buffer.h"
#include "fsutil.h"

static const char *const results_columns[] = {
    "1_run_id", "2_thread_id", "3_pipeline_stage", "iteration", "memorySetting", "payload", "endpoint",
    "status", "errorType", "errorMessage", "retries", "clientSendTime", "clientReceiveTime", "roundTripTime",
    "latency",
    /* SAAF */
    "version", "lang", "startTime", "endTime", "runtime", "invocations", "initializationTime", "uuid",
    "newcontainer", "cpuType", "cpuModel", "cpuCores", "architecture", "platform", "containerID", "functionName",
    "functionMemory", "functionRegion", "vmID", "linuxVersion", "frameworkRuntime", "userRuntime",
    "frameworkRuntimeDeltas", "cpuUser", "cpuNice", "cpuKernel", "cpuIdle", "cpuIOWait", "cpuIrq", "cpuSoftIrq",
    "cpuSteal", "cpuGuest", "cpuGuestNice", "bootTime", "contextSwitches", "totalMemory", "freeMemory",
    "pageFaults", "majorPageFaults", "cpuUserDelta", "cpuNiceDelta", "cpuKernelDelta", "cpuIdleDelta",
    "cpuIOWaitDelta", "cpuIrqDelta", "cpuSoftIrqDelta", "cpuStealDelta", "cpuGuestDelta", "cpuGuestNiceDelta",
    "contextSwitchesDelta", "pageFaultsDelta", "majorPageFaultsDelta", NULL,
};

struct results_store {
    char path[4096];         /* PARENT/FUNCTION/NAME-TIME */
    int jsonl_fd, csv_fd;
    struct buffer jsonl, csv;
    json_t *columns;         /* the fixed CSV columns, as a set */
};

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void results_put_field(struct buffer *b, const char *text)
{
    if (strpbrk(text, ",\"\r\n") == NULL) {
        buffer_append(b, text, strlen(text));
        return;
    }
    buffer_append(b, "\"", 1);
    for (const char *c = text; *c; c++) {
        if (*c == '"')
            buffer_append(b, "\"", 1);
        buffer_append(b, c, 1);
    }
    buffer_append(b, "\"", 1);
}

/* A CSV value. Numbers are formatted here, not through json_dumps: a row
 * has dozens of them and an experiment thousands of rows a second. */
static void results_put_value(struct buffer *b, const json_t *value)
{
    char number[40];
    int length;
    switch (value ? json_typeof(value) : JSON_NULL) {
    case JSON_NULL:
        return;
    case JSON_STRING:
        results_put_field(b, json_string_value(value));
        return;
    case JSON_INTEGER:
        length = snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        buffer_append(b, number, (size_t)length);
        return;
    case JSON_REAL:
        length = snprintf(number, sizeof number, "%.16g", json_real_value(value));
        buffer_append(b, number, (size_t)length);
        return;
    case JSON_TRUE:
        buffer_append(b, "true", 4);
        return;
    case JSON_FALSE:
        buffer_append(b, "false", 5);
        return;
    default: {
        char *text = json_dumps(value, JSON_COMPACT | JSON_REAL_PRECISION(16));
        if (text != NULL)
            results_put_field(b, text);
        free(text);
    }
    }
}

void results_append(struct results_store *store, const json_t *row)
{
    char *line = json_dumps(row, JSON_COMPACT | JSON_REAL_PRECISION(16));
    if (line != NULL) {
        buffer_append(&store->jsonl, line, strlen(line));
        buffer_append(&store->jsonl, "\n", 1);
        free(line);
    }
    for (size_t i = 0; results_columns[i] != NULL; i++) {
        if (i > 0)
            buffer_append(&store->csv, ",", 1);
        results_put_value(&store->csv, json_object_get(row, results_columns[i]));
    }
    json_t *other = NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)row, key, value) {
        if (json_object_get(store->columns, key) != NULL)
            continue;
        if (other == NULL)
            other = json_object();
        json_object_set(other, key, value);
    }
    buffer_append(&store->csv, ",", 1);
    if (other != NULL)
        results_put_value(&store->csv, other);
    buffer_append(&store->csv, "\n", 1);
    json_decref(other);
}

static void results_write(int fd, struct buffer *b)
{
    size_t done = 0;
    while (done < b->size) {
        ssize_t n = write(fd, b->data + done, b->size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    buffer_clear(b);
}

void results_flush(struct results_store *store)
{
    results_write(store->jsonl_fd, &store->jsonl);
    results_write(store->csv_fd, &store->csv);
}

static int results_open_file(struct results_store *store, const char *name)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", store->path, name);
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

static void results_safe_name(char *out, size_t size, const char *name)
{
    size_t used = 0;
    for (const char *c = name; *c && used + 1 < size; c++) {
        int kept = (isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.') && !(used == 0 && *c == '.');
        out[used++] = kept ? *c : '_';
    }
    out[used] = '\0';
}

struct results_store *results_open(const char *parent, const char *function, const char *name, const json_t *meta,
                                   char *err, size_t err_size)
{
    struct results_store *store = calloc(1, sizeof *store);
    if (store == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    char safe_function[128], safe_name[128], stamp[32];
    results_safe_name(safe_function, sizeof safe_function, function);
    results_safe_name(safe_name, sizeof safe_name, name);
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(store->path, sizeof store->path, "%.2000s/%s/%s-%s%s%.0d", parent, safe_function, safe_name, stamp,
                 attempt ? "-" : "", attempt);
        if (access(store->path, F_OK) != 0)
            break;
    }
    char *text = json_dumps(meta, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(16));
    char meta_path[4200];
    snprintf(meta_path, sizeof meta_path, "%s/experiment.json", store->path);
    store->jsonl_fd = store->csv_fd = -1;
    if (fsutil_mkdirs(store->path, 0700) < 0 || text == NULL ||
        fsutil_write_atomic(meta_path, text, strlen(text), 0600) < 0 ||
        (store->jsonl_fd = results_open_file(store, "runs.jsonl")) < 0 ||
        (store->csv_fd = results_open_file(store, "runs.csv")) < 0) {
        snprintf(err, err_size, "cannot create the results folder %.300s: %s", store->path, strerror(errno));
        free(text);
        results_close(store, NULL);
        return NULL;
    }
    free(text);
    store->columns = json_object();
    for (size_t i = 0; results_columns[i] != NULL; i++) {
        if (i > 0)
            buffer_append(&store->csv, ",", 1);
        buffer_append(&store->csv, results_columns[i], strlen(results_columns[i]));
        json_object_set_new(store->columns, results_columns[i], json_true());
    }
    buffer_append(&store->csv, ",other\n", 7);
    results_flush(store);
    return store;
}

void results_close(struct results_store *store, const json_t *summary)
{
    if (store == NULL)
        return;
    if (store->jsonl_fd >= 0)
        results_flush(store);
    if (summary != NULL) {
        char path[4200];
        snprintf(path, sizeof path, "%s/summary.json", store->path);
        char *text = json_dumps(summary, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(16));
        if (text != NULL)
            fsutil_write_atomic(path, text, strlen(text), 0600);
        free(text);
    }
    if (store->jsonl_fd >= 0)
        close(store->jsonl_fd);
    if (store->csv_fd >= 0)
        close(store->csv_fd);
    buffer_free(&store->jsonl);
    buffer_free(&store->csv);
    json_decref(store->columns);
    free(store);
}

const char *results_folder(const struct results_store *store)
{
    return store->path;
}

json_t *results_load_rows(const char *folder, char *err, size_t err_size)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/runs.jsonl", folder);
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        snprintf(err, err_size, "cannot read %.300s: %s", path, strerror(errno));
        return NULL;
    }
    json_t *rows = json_array();
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    while ((length = getline(&line, &capacity, file)) > 0) {
        json_t *row = json_loadb(line, (size_t)length, 0, NULL);
        if (json_is_object(row))
            json_array_append_new(rows, row); /* a line cut by a kill is skipped */
        else
            json_decref(row);
    }
    free(line);
    fclose(file);
    return rows;
}
