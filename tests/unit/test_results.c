/* Unit tests for results: the run folder's name (the function and name made
 * safe, a second store in the same second gets its own folder), the
 * experiment.json written, rows queued until a flush, each JSON line byte
 * for byte what json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(16)) writes
 * (escapes, reals) and read back equal by results_load_rows (a cut last
 * line skipped), the CSV header and cells (the known columns, then a column
 * for each other attribute, runs.csv written anew when one appears; quoting),
 * summary.json on close, and mode 0600 of every file in a 0700 folder with
 * no temporary file left. Stores are opened in a fresh folder under /tmp,
 * removed at the end. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fsutil.h"
#include "results.h"

static char parent[] = "/tmp/faaset-results-XXXXXX";

static int mode_of(const char *folder, const char *name)
{
    char path[4400];
    snprintf(path, sizeof path, "%s%s%s", folder, name ? "/" : "", name ? name : "");
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 0777) : -1;
}

static char *read_in(const char *folder, const char *name)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", folder, name);
    return fsutil_read(path, NULL);
}

/* The fields of one CSV line (RFC 4180 quoting), as an array of strings. */
static json_t *csv_fields(const char *line)
{
    json_t *fields = json_array();
    char field[8192];
    size_t used = 0;
    int quoted = 0;
    for (const char *p = line;; p++) {
        if (quoted) {
            if (*p == '\0')
                break;
            if (*p == '"' && p[1] == '"')
                field[used++] = *p++;
            else if (*p == '"')
                quoted = 0;
            else
                field[used++] = *p;
        } else if (*p == '"') {
            quoted = 1;
        } else if (*p == ',' || *p == '\n' || *p == '\0') {
            json_array_append_new(fields, json_stringn(field, used));
            used = 0;
            if (*p != ',')
                break;
        } else {
            field[used++] = *p;
        }
        if (used >= sizeof field - 1)
            break;
    }
    return fields;
}

/* The index of COLUMN in HEADER (an array of names), or -1. */
static int column(const json_t *header, const char *name)
{
    for (size_t i = 0; i < json_array_size(header); i++)
        if (strcmp(json_string_value(json_array_get(header, i)), name) == 0)
            return (int)i;
    return -1;
}

static const char *cell(const json_t *header, const json_t *fields, const char *name)
{
    int i = column(header, name);
    return i < 0 ? NULL : json_string_value(json_array_get(fields, (size_t)i));
}

static int count_entries(const char *folder)
{
    DIR *d = opendir(folder);
    int n = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d != NULL)
        closedir(d);
    return n;
}

static void test_open_and_names(void)
{
    char err[512] = "";
    json_t *meta = json_pack("{s:s, s:{s:i}, s:f}", "function", "f", "experiment", "runs", 3, "started", 1.5);
    struct results_store *one = results_open(parent, "../up", "a b/c", meta, err, sizeof err);
    struct results_store *two = results_open(parent, "../up", "a b/c", meta, err, sizeof err);
    CHECK(one != NULL && two != NULL);
    if (one == NULL || two == NULL)
        return;
    const char *folder = results_folder(one);
    char prefix[4200];
    snprintf(prefix, sizeof prefix, "%s/_._up/a_b_c-", parent); /* no '/', no leading '.' */
    CHECK(strncmp(folder, prefix, strlen(prefix)) == 0);
    const char *stamp = folder + strlen(prefix); /* YYYYMMDDTHHMMSSZ */
    CHECK(strlen(stamp) == 16 && stamp[8] == 'T' && stamp[15] == 'Z');
    CHECK(strspn(stamp, "0123456789") == 8 && strspn(stamp + 9, "0123456789") == 6);
    CHECK(strcmp(results_folder(two), folder) != 0); /* its own folder, even in the same second */
    CHECK(mode_of(folder, NULL) == 0700);
    CHECK(mode_of(folder, "experiment.json") == 0600);
    CHECK(mode_of(folder, "runs.jsonl") == 0600);
    CHECK(mode_of(folder, "runs.csv") == 0600);
    char path[4400];
    snprintf(path, sizeof path, "%s/experiment.json", folder);
    json_t *written = json_load_file(path, 0, NULL);
    CHECK(json_equal(written, meta));
    json_decref(written);

    /* Closed without a summary: no summary.json, the three files only. */
    char kept[4200];
    snprintf(kept, sizeof kept, "%s", folder);
    results_close(one, NULL);
    results_close(two, NULL);
    CHECK(count_entries(kept) == 3 && mode_of(kept, "summary.json") == -1);
    json_t *rows = results_load_rows(kept, err, sizeof err);
    CHECK(rows != NULL && json_array_size(rows) == 0);
    json_decref(rows);

    err[0] = '\0';
    CHECK(results_open("/dev/null/below-a-file", "f", "x", meta, err, sizeof err) == NULL);
    json_decref(meta);
    CHECK(strstr(err, "cannot create the results folder /dev/null/below-a-file/f/x-") != NULL);
    err[0] = '\0';
    CHECK(results_load_rows("/nonexistent/faaset", err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot read /nonexistent/faaset/runs.jsonl") != NULL);
}

static void test_rows(void)
{
    char err[512] = "";
    json_t *meta = json_object();
    struct results_store *store = results_open(parent, "fn", "rows", meta, err, sizeof err);
    json_decref(meta);
    CHECK(store != NULL);
    if (store == NULL)
        return;
    char folder[4200];
    snprintf(folder, sizeof folder, "%s", results_folder(store));

    /* The header is written at once: the known columns. */
    char *csv = read_in(folder, "runs.csv");
    CHECK(csv != NULL && strncmp(csv, "1_run_id,2_thread_id,3_pipeline_stage,iteration,memorySetting,payload,"
                                      "endpoint,status,errorType,errorMessage,retries,clientSendTime,"
                                      "clientReceiveTime,roundTripTime,latency,version,lang,startTime,",
                                 strlen("1_run_id,2_thread_id,3_pipeline_stage,iteration,memorySetting,payload,"
                                        "endpoint,status,errorType,errorMessage,retries,clientSendTime,"
                                        "clientReceiveTime,roundTripTime,latency,version,lang,startTime,")) == 0);
    CHECK(csv != NULL && strlen(csv) > 22 && strcmp(csv + strlen(csv) - 22, ",majorPageFaultsDelta\n") == 0);
    json_t *known = csv != NULL ? csv_fields(csv) : json_array();
    CHECK(json_array_size(known) == 67);
    json_decref(known);
    free(csv);

    json_t *ok = json_pack("{s:i, s:i, s:i, s:n, s:s, s:s, s:s, s:i, s:f, s:f, s:f, s:f, s:i, s:{s:[i, i]}, s:b, "
                           "s:s, s:f, s:f, s:f, s:f}",
                           "1_run_id", 0, "2_thread_id", 1, "3_pipeline_stage", 0, "memorySetting", "payload",
                           "{\"a\":1,\"b\":\"x\"}", "endpoint", "https://example.com/f", "status", "ok", "retries",
                           0, "clientSendTime", 1714564800123.25, "clientReceiveTime", 1714564800135.5,
                           "roundTripTime", 12.25, "runtime", 10.0, "newcontainer", 1, "custom", "k", 1, 2,
                           "flag", 1, "note", "say \"hi\", bye\nnext\ttab \\ \x01 caf\xc3\xa9 /", "tiny", 1e-7,
                           "huge", 1e21, "negativeZero", -0.0, "third", 0.1);
    json_t *failed = json_pack("{s:i, s:s, s:s, s:s, s:i}", "1_run_id", 1, "status", "error", "errorType",
                               "Timeout", "errorMessage", "took longer than 30 s, gave up", "retries", 3);
    results_append(store, ok);
    results_append(store, failed);
    /* Queued, not written, until a flush. */
    char *jsonl = read_in(folder, "runs.jsonl");
    CHECK(jsonl != NULL && jsonl[0] == '\0');
    free(jsonl);
    results_flush(store);

    jsonl = read_in(folder, "runs.jsonl");
    char *expected_ok = json_dumps(ok, JSON_COMPACT | JSON_REAL_PRECISION(16));
    char *expected_failed = json_dumps(failed, JSON_COMPACT | JSON_REAL_PRECISION(16));
    char expected[4096];
    snprintf(expected, sizeof expected, "%s\n%s\n", expected_ok, expected_failed);
    CHECK(jsonl != NULL && strcmp(jsonl, expected) == 0); /* byte for byte json_dumps' text */
    if (jsonl != NULL && strcmp(jsonl, expected) != 0)
        fprintf(stderr, "  got:  %s  want: %s", jsonl, expected);
    free(jsonl);
    free(expected_ok);
    free(expected_failed);

    /* runs.csv written anew: a column for each attribute the rows brought, in order. */
    csv = read_in(folder, "runs.csv");
    json_t *header = csv != NULL ? csv_fields(csv) : json_array();
    CHECK(json_array_size(header) == 74);
    CHECK(column(header, "runtime") > 0 && column(header, "newcontainer") > 0 && column(header, "other") < 0);
    CHECK(column(header, "custom") == 67 && column(header, "flag") == 68 && column(header, "note") == 69 &&
          column(header, "third") == 73);
    char *first = csv != NULL ? strchr(csv, '\n') : NULL;
    json_t *row_ok = csv_fields(first ? first + 1 : "");
    /* The next line starts after the first row's end: the note's line break is inside quotes. */
    CHECK(json_array_size(row_ok) == 74);
    CHECK(strcmp(cell(header, row_ok, "1_run_id"), "0") == 0);
    CHECK(strcmp(cell(header, row_ok, "2_thread_id"), "1") == 0);
    CHECK(strcmp(cell(header, row_ok, "memorySetting"), "") == 0); /* null: empty */
    CHECK(strcmp(cell(header, row_ok, "payload"), "{\"a\":1,\"b\":\"x\"}") == 0); /* quoted, quotes doubled */
    CHECK(strcmp(cell(header, row_ok, "endpoint"), "https://example.com/f") == 0);
    CHECK(strcmp(cell(header, row_ok, "errorType"), "") == 0);
    CHECK(strcmp(cell(header, row_ok, "clientSendTime"), "1714564800123.25") == 0);
    CHECK(strcmp(cell(header, row_ok, "roundTripTime"), "12.25") == 0);
    CHECK(strcmp(cell(header, row_ok, "runtime"), "10") == 0); /* %.16g, as the CSV shows numbers */
    CHECK(strcmp(cell(header, row_ok, "newcontainer"), "1") == 0);
    /* the function's own attributes, each in its column */
    CHECK(strcmp(cell(header, row_ok, "custom"), "{\"k\":[1,2]}") == 0);
    CHECK(strcmp(cell(header, row_ok, "flag"), "true") == 0);
    CHECK(strcmp(cell(header, row_ok, "note"), "say \"hi\", bye\nnext\ttab \\ \x01 caf\xc3\xa9 /") == 0);
    CHECK(strcmp(cell(header, row_ok, "tiny"), "1e-07") == 0);
    CHECK(strcmp(cell(header, row_ok, "huge"), "1e+21") == 0);
    CHECK(strcmp(cell(header, row_ok, "negativeZero"), "-0") == 0);
    CHECK(strcmp(cell(header, row_ok, "third"), "0.1") == 0);

    /* The failed row: the next CSV record, found after the first one's closing quote. */
    const char *second = NULL;
    if (first != NULL) {
        const char *p = first + 1;
        int quoted = 0;
        for (; *p && (quoted || *p != '\n'); p++)
            if (*p == '"')
                quoted = !quoted;
        second = *p ? p + 1 : NULL;
    }
    json_t *row_failed = csv_fields(second ? second : "");
    CHECK(json_array_size(row_failed) == 74);
    CHECK(strcmp(cell(header, row_failed, "status"), "error") == 0);
    CHECK(strcmp(cell(header, row_failed, "errorType"), "Timeout") == 0);
    CHECK(strcmp(cell(header, row_failed, "errorMessage"), "took longer than 30 s, gave up") == 0);
    CHECK(strcmp(cell(header, row_failed, "retries"), "3") == 0);
    CHECK(strcmp(cell(header, row_failed, "note"), "") == 0);
    CHECK(second != NULL && strchr(second, '\n') != NULL && strchr(second, '\n')[1] == '\0'); /* two rows only */
    json_decref(row_ok);
    json_decref(row_failed);
    free(csv);

    /* Many rows in one flush. */
    for (int i = 2; i < 1002; i++) {
        json_t *row = json_pack("{s:i, s:s, s:f}", "1_run_id", i, "status", "ok", "runtime", i / 4.0);
        results_append(store, row);
        json_decref(row);
    }
    json_t *summary = json_pack("{s:i, s:s, s:{s:f}}", "runs", 1002, "status", "complete", "runtime", "p50", 125.25);
    results_close(store, summary);

    CHECK(mode_of(folder, "summary.json") == 0600);
    char path[4400];
    snprintf(path, sizeof path, "%s/summary.json", folder);
    json_t *written = json_load_file(path, 0, NULL);
    CHECK(json_equal(written, summary));
    json_decref(written);
    json_decref(summary);
    CHECK(count_entries(folder) == 4); /* experiment.json, runs.jsonl, runs.csv, summary.json: no temporaries */
    /* appended after the rewrite: the header, 1002 rows and the note's quoted line break */
    csv = read_in(folder, "runs.csv");
    size_t breaks = 0;
    for (const char *p = csv; p && *p; p++)
        breaks += *p == '\n';
    CHECK(breaks == 1004 && strstr(csv, "\n1001,,,,,,,ok,") != NULL);
    free(csv);

    /* A kernel killed mid-write leaves a cut last line: readers skip it. */
    snprintf(path, sizeof path, "%s/runs.jsonl", folder);
    FILE *f = fopen(path, "a");
    if (f != NULL) {
        fputs("{\"1_run_id\": 1002, \"sta", f);
        fclose(f);
    }
    json_t *rows = results_load_rows(folder, err, sizeof err);
    CHECK(json_array_size(rows) == 1002);
    CHECK(json_equal(json_array_get(rows, 0), ok));
    CHECK(json_equal(json_array_get(rows, 1), failed));
    int in_order = 1;
    for (size_t i = 2; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        in_order &= json_integer_value(json_object_get(row, "1_run_id")) == (json_int_t)i &&
                    json_real_value(json_object_get(row, "runtime")) == (double)i / 4.0;
    }
    CHECK(in_order);
    json_decref(rows);
    json_decref(ok);
    json_decref(failed);
    json_decref(header);
}

int main(void)
{
    if (mkdtemp(parent) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    umask(022);
    test_open_and_names();
    test_rows();
    CHECK(fsutil_remove_tree(parent) == 0);
    return check_report();
}
