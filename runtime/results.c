/* results: append-only row files of an experiment (see results.h). Rows
 * are queued in memory and written with one write() per file when flushed
 * (by the runner every second, or here once a megabyte is waiting, so a
 * fast experiment's queue stays small), so a reader (or a kernel killed
 * mid-write) sees whole lines only, except possibly a cut last line, which
 * readers skip. runs.csv's header is written when the folder opens; a row
 * that brings an attribute no column has yet adds a column, and the next
 * flush writes runs.csv anew from runs.jsonl with the longer header
 * (atomically: a reader sees the old file or the new one), then appends
 * again. A function returns the same attributes run after run, so that
 * happens about once per experiment, at its first flush. */
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

#define RESULTS_FLUSH_BYTES (1024 * 1024)

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
    struct buffer cells;     /* the row being appended: its CSV cells */
    json_t *columns;         /* the CSV columns: {name: index} */
    json_t *names;           /* the CSV columns in order */
    size_t *starts, *lengths; /* each column's cell in `cells` */
    size_t capacity;         /* of starts and lengths */
    int csv_stale;           /* a column was added: runs.csv is written anew at the next flush */
};

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void results_put_field(struct buffer *b, const char *text, size_t length)
{
    if (memchr(text, ',', length) == NULL && memchr(text, '"', length) == NULL && memchr(text, '\r', length) == NULL &&
        memchr(text, '\n', length) == NULL) {
        buffer_append(b, text, length);
        return;
    }
    buffer_append(b, "\"", 1);
    for (size_t i = 0, run = 0; i <= length; i++) {
        if (i == length || text[i] == '"') {
            buffer_append(b, text + run, i - run + (i < length)); /* a quote goes out twice */
            run = i;
        }
    }
    buffer_append(b, "\"", 1);
}

/* A JSON string, escaped as json_dumps escapes it. */
static void results_put_json_string(struct buffer *b, const char *text, size_t length)
{
    static const char hex[] = "0123456789ABCDEF";
    buffer_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buffer_append(b, text + run, i - run);
        run = i + 1;
        char escape[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t size = 2;
        switch (c) {
        case '"': case '\\': break;
        case '\b': escape[1] = 'b'; break;
        case '\f': escape[1] = 'f'; break;
        case '\n': escape[1] = 'n'; break;
        case '\r': escape[1] = 'r'; break;
        case '\t': escape[1] = 't'; break;
        default:
            memcpy(escape + 1, "u00", 3);
            escape[4] = hex[c >> 4];
            escape[5] = hex[c & 15];
            size = 6;
        }
        buffer_append(b, escape, size);
    }
    buffer_append(b, text + run, length - run);
    buffer_append(b, "\"", 1);
}

/* A real as the CSV shows it (%.16g) into NUMBER, and as json_dumps with
 * JSON_REAL_PRECISION(16) writes it (a dot or an exponent always, no '+'
 * or leading zeros in the exponent) onto B. */
static void results_put_real(struct buffer *b, double value, char number[48], size_t *number_length)
{
    int length = snprintf(number, 48, "%.16g", value);
    *number_length = length > 0 ? (size_t)length : 0;
    char *exponent = memchr(number, 'e', *number_length);
    if (exponent == NULL) {
        buffer_append(b, number, *number_length);
        if (memchr(number, '.', *number_length) == NULL)
            buffer_append(b, ".0", 2);
        return;
    }
    buffer_append(b, number, (size_t)(exponent - number) + 1);
    const char *digits = exponent + 1;
    if (*digits == '-')
        buffer_append(b, digits++, 1);
    else if (*digits == '+')
        digits++;
    while (*digits == '0' && digits[1] != '\0')
        digits++;
    buffer_append(b, digits, strlen(digits));
}

/* Appends VALUE as json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(16))
 * writes it onto JSON and, when CELL is not NULL, as the CSV shows it onto
 * CELL: strings unquoted unless they need it, numbers and booleans as
 * written, null empty, objects and arrays as their JSON text. */
static void results_put_value(struct buffer *json, struct buffer *cell, const json_t *value)
{
    char number[48];
    size_t length = 0, at = json->size;
    switch (json_typeof(value)) {
    case JSON_STRING:
        results_put_json_string(json, json_string_value(value), json_string_length(value));
        if (cell != NULL)
            results_put_field(cell, json_string_value(value), json_string_length(value));
        return;
    case JSON_REAL:
        results_put_real(json, json_real_value(value), number, &length);
        if (cell != NULL)
            buffer_append(cell, number, length);
        return;
    case JSON_INTEGER:
        length = (size_t)snprintf(number, sizeof number, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
        buffer_append(json, number, length);
        break;
    case JSON_TRUE:
        buffer_append(json, "true", 4);
        break;
    case JSON_FALSE:
        buffer_append(json, "false", 5);
        break;
    case JSON_NULL:
        buffer_append(json, "null", 4);
        return;
    default: {
        char *text = json_dumps(value, JSON_COMPACT | JSON_REAL_PRECISION(16));
        if (text != NULL) {
            buffer_append(json, text, strlen(text));
            if (cell != NULL)
                results_put_field(cell, text, strlen(text));
        }
        free(text);
        return;
    }
    }
    if (cell != NULL && !json->failed)
        buffer_append(cell, json->data + at, json->size - at);
}

/* The CSV column of NAME, added when it is new (runs.csv is then stale). */
static size_t results_column(struct results_store *store, const char *name)
{
    json_t *index = json_object_get(store->columns, name);
    if (index != NULL)
        return (size_t)json_integer_value(index);
    size_t count = json_array_size(store->names);
    json_object_set_new(store->columns, name, json_integer((json_int_t)count));
    json_array_append_new(store->names, json_string(name));
    store->csv_stale = 1;
    return count;
}

/* The cells of ROW onto store->cells (its JSON line onto LINE), by column. */
static void results_cells(struct results_store *store, const json_t *row, struct buffer *line)
{
    struct buffer *cells = &store->cells;
    buffer_clear(cells);
    buffer_append(line, "{", 1);
    int first = 1;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)row, key, value) {
        if (!first)
            buffer_append(line, ",", 1);
        first = 0;
        results_put_json_string(line, key, strlen(key));
        buffer_append(line, ":", 1);
        size_t i = results_column(store, key);
        if (i >= store->capacity) {
            size_t capacity = store->capacity * 2 > i + 1 ? store->capacity * 2 : i + 16;
            size_t *starts = realloc(store->starts, capacity * sizeof *starts);
            size_t *lengths = starts ? realloc(store->lengths, capacity * sizeof *lengths) : NULL;
            if (starts != NULL)
                store->starts = starts;
            if (lengths == NULL) {
                results_put_value(line, NULL, value);
                cells->failed = 1;
                continue;
            }
            memset(lengths + store->capacity, 0, (capacity - store->capacity) * sizeof *lengths);
            store->lengths = lengths;
            store->capacity = capacity;
        }
        store->starts[i] = cells->size;
        results_put_value(line, cells, value);
        store->lengths[i] = cells->size - store->starts[i];
    }
    buffer_append(line, "}\n", 2);
}

/* The CSV line of the cells results_cells made, onto OUT; clears them. */
static void results_csv_line(struct results_store *store, struct buffer *out)
{
    size_t count = json_array_size(store->names);
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            buffer_append(out, ",", 1);
        if (i < store->capacity && store->lengths[i] > 0 && !store->cells.failed)
            buffer_append(out, store->cells.data + store->starts[i], store->lengths[i]);
    }
    buffer_append(out, "\n", 1);
    if (store->lengths != NULL)
        memset(store->lengths, 0, store->capacity * sizeof *store->lengths);
}

static void results_csv_header(const struct results_store *store, struct buffer *out)
{
    size_t i;
    json_t *name;
    json_array_foreach(store->names, i, name) {
        if (i > 0)
            buffer_append(out, ",", 1);
        results_put_field(out, json_string_value(name), json_string_length(name));
    }
    buffer_append(out, "\n", 1);
}

/* One pass over the row's keys, in the row's order: each value is
 * formatted once for the JSON line and for its CSV cell. While runs.csv is
 * stale no CSV line is queued: the next flush writes them all. */
void results_append(struct results_store *store, const json_t *row)
{
    results_cells(store, row, &store->jsonl);
    if (!store->csv_stale)
        results_csv_line(store, &store->csv);
    else if (store->lengths != NULL)
        memset(store->lengths, 0, store->capacity * sizeof *store->lengths);
    if (store->jsonl.size + store->csv.size >= RESULTS_FLUSH_BYTES)
        results_flush(store);
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

static int results_open_file(struct results_store *store, const char *name);

/* runs.csv anew from runs.jsonl, with every column (see the top). */
static void results_rewrite_csv(struct results_store *store)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/runs.jsonl", store->path);
    size_t size = 0;
    char *text = fsutil_read(path, &size);
    if (text == NULL)
        return;
    struct buffer rows = {0}, scratch = {0};
    for (char *line = text, *end; line < text + size; line = end + 1) {
        end = memchr(line, '\n', (size_t)(text + size - line));
        if (end == NULL)
            break; /* a cut last line */
        json_t *row = json_loadb(line, (size_t)(end - line), 0, NULL);
        if (json_is_object(row)) {
            buffer_clear(&scratch);
            results_cells(store, row, &scratch);
            results_csv_line(store, &rows);
        }
        json_decref(row);
    }
    free(text);
    struct buffer file = {0};
    results_csv_header(store, &file); /* after the rows: they may have added columns */
    buffer_append(&file, rows.data ? rows.data : "", rows.size);
    snprintf(path, sizeof path, "%s/runs.csv", store->path);
    if (!file.failed && !rows.failed && fsutil_write_atomic(path, file.data, file.size, 0600) == 0) {
        close(store->csv_fd);
        store->csv_fd = results_open_file(store, "runs.csv");
        store->csv_stale = 0;
        buffer_clear(&store->csv);
    }
    buffer_free(&rows);
    buffer_free(&scratch);
    buffer_free(&file);
}

void results_flush(struct results_store *store)
{
    results_write(store->jsonl_fd, &store->jsonl);
    if (store->csv_stale)
        results_rewrite_csv(store);
    if (!store->csv_stale && store->csv_fd >= 0)
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
    int fits = 0;
    for (int attempt = 0; attempt < 100; attempt++) {
        fits = fsutil_path(store->path, sizeof store->path - 32, "%s/%s/%s-%s%s%.0d", parent, safe_function,
                           safe_name, stamp, attempt ? "-" : "", attempt) == 0; /* (32: room for the files' names) */
        if (!fits || access(store->path, F_OK) != 0)
            break;
    }
    if (!fits) {
        snprintf(err, err_size, "the results folder under %.300s would be too long a path: use a shorter one", parent);
        free(store);
        return NULL;
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
    store->names = json_array();
    for (size_t i = 0; results_columns[i] != NULL; i++)
        results_column(store, results_columns[i]);
    store->csv_stale = 0;
    results_csv_header(store, &store->csv);
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
    buffer_free(&store->cells);
    json_decref(store->columns);
    json_decref(store->names);
    free(store->starts);
    free(store->lengths);
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
