/* history: append-only JSON Lines store and its queries (see history.h).
 *
 * The entries are kept in memory and the file is read incrementally: a
 * query reads only what was appended since the last one (by this kernel or
 * another), from the offset it had reached; a file that was replaced or
 * shortened is read again from the start. A line longer than
 * HISTORY_MAX_LINE is skipped unparsed and a line that is not a record is
 * skipped, each counted in one warning, so no history file can make a
 * kernel slow or crash it. Inputs are kept whole; outputs are cut at
 * HISTORY_MAX_OUTPUT with a marker (a cell that shows 50 MB keeps 10 KB of
 * it here). */
#include "history.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "utf8.h"

#define HISTORY_MAX_OUTPUT (10 * 1024)
#define HISTORY_MAX_LINE (8 * 1024 * 1024)

struct history_entry {
    int session;
    int line;
    json_t *record;  /* owns input and output */
};

struct history_list {
    struct history_entry *items;
    size_t count;
    size_t capacity;
};

struct history {
    char *path;
    int session;
    struct history_list entries;     /* everything read from the file so far */
    off_t read_to;                   /* where the next read starts */
    dev_t device;                    /* the file read, to notice it was replaced */
    ino_t inode;
};

static char *history_default_path(void)
{
    const char *explicit_path = getenv("FAASET_HISTORY");
    if (explicit_path != NULL && *explicit_path)
        return strdup(explicit_path);
    const char *data_home = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    char path[4096];
    if (data_home != NULL && *data_home)
        snprintf(path, sizeof path, "%s/faaset/history.jsonl", data_home);
    else
        snprintf(path, sizeof path, "%s/.local/share/faaset/history.jsonl", home ? home : "/tmp");
    return strdup(path);
}

/* Sessions and line numbers beyond this are garbage, not history: skipped,
 * so the next session's number (the largest + 1) cannot overflow. */
#define HISTORY_MAX_NUMBER 1000000000

static int history_number_ok(const json_t *value)
{
    return json_is_integer(value) && json_integer_value(value) >= 0 &&
           json_integer_value(value) <= HISTORY_MAX_NUMBER;
}

static void history_list_free(struct history_list *list);

/* Adds RECORD (a reference is taken) to LIST. */
static void history_list_add(struct history_list *list, json_t *record)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 64;
        struct history_entry *grown = realloc(list->items, capacity * sizeof *grown);
        if (grown == NULL)
            return;
        list->items = grown;
        list->capacity = capacity;
    }
    struct history_entry *entry = &list->items[list->count++];
    entry->session = (int)json_integer_value(json_object_get(record, "session"));
    entry->line = (int)json_integer_value(json_object_get(record, "line"));
    entry->record = json_incref(record);
}

/* Reads what was appended to the file since the last time (all of it when
 * the file is new to this kernel, was replaced or got shorter). */
static void history_refresh(struct history *history)
{
    FILE *file = fopen(history->path, "r");
    if (file == NULL)
        return;
    flock(fileno(file), LOCK_SH);
    struct stat st;
    if (fstat(fileno(file), &st) == 0 &&
        (st.st_dev != history->device || st.st_ino != history->inode || st.st_size < history->read_to)) {
        history_list_free(&history->entries);
        history->entries = (struct history_list){0};
        history->read_to = 0;
        history->device = st.st_dev;
        history->inode = st.st_ino;
    }
    char *line = NULL;
    size_t capacity = 0, skipped = 0;
    ssize_t length;
    if (fseeko(file, history->read_to, SEEK_SET) == 0) {
        while ((length = getline(&line, &capacity, file)) > 0) {
            if (line[length - 1] != '\n')
                break; /* being written: read it next time */
            history->read_to += length;
            json_t *record = length <= HISTORY_MAX_LINE ? json_loadb(line, (size_t)length, 0, NULL) : NULL;
            if (history_number_ok(json_object_get(record, "session")) &&
                history_number_ok(json_object_get(record, "line")) && json_is_string(json_object_get(record, "input")))
                history_list_add(&history->entries, record);
            else if (length > 1)
                skipped++;
            json_decref(record);
        }
    }
    free(line);
    flock(fileno(file), LOCK_UN);
    fclose(file);
    if (skipped > 0)
        log_warn("history: skipped %zu line(s) of %s that are not history records or are over %d MB", skipped,
                 history->path, HISTORY_MAX_LINE >> 20);
}

struct history *history_open(char *err, size_t err_size)
{
    struct history *history = calloc(1, sizeof *history);
    if (history == NULL || (history->path = history_default_path()) == NULL) {
        snprintf(err, err_size, "out of memory");
        free(history);
        return NULL;
    }
    int fd = -1;
    char folder[4096];
    snprintf(folder, sizeof folder, "%s", history->path);
    char *slash = strrchr(folder, '/');
    if (slash != NULL)
        *slash = '\0';
    if ((slash != NULL && folder[0] && fsutil_mkdirs(folder, 0700) < 0) ||
        (fd = open(history->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
        snprintf(err, err_size, "cannot open the history file %s: %s", history->path, strerror(errno));
        history_close(history);
        return NULL;
    }
    close(fd);
    history_refresh(history);
    int max_session = 0;
    for (size_t i = 0; i < history->entries.count; i++)
        if (history->entries.items[i].session > max_session)
            max_session = history->entries.items[i].session;
    history->session = max_session + 1;
    return history;
}

void history_close(struct history *history)
{
    if (history == NULL)
        return;
    history_list_free(&history->entries);
    free(history->path);
    free(history);
}

int history_session(const struct history *history)
{
    return history->session;
}

void history_append(struct history *history, int line, const char *input, const char *output)
{
    if (history == NULL)
        return;
    char *kept = NULL; /* an output over the bound, cut at a whole character, with a marker */
    size_t output_size = output ? strlen(output) : 0;
    if (output_size > HISTORY_MAX_OUTPUT) {
        size_t cut = utf8_valid_prefix(output, HISTORY_MAX_OUTPUT);
        if (asprintf(&kept, "%.*s\n... (%zu more bytes not kept in the history)", (int)cut, output,
                     output_size - cut) < 0)
            kept = NULL;
        output = kept ? kept : "... (not kept in the history)";
    }
    json_t *record = json_pack("{s:i, s:i, s:s, s:s?}", "session", history->session, "line", line,
                               "input", input, "output", output);
    free(kept);
    char *text = record ? json_dumps(record, JSON_COMPACT) : NULL;
    json_decref(record);
    if (text == NULL)
        return;
    size_t length = strlen(text);
    text[length] = '\n'; /* json_dumps' NUL becomes the record separator */
    int fd = open(history->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) < 0 || write(fd, text, length + 1) != (ssize_t)(length + 1))
        log_warn("cannot append to the history file %s: %s", history->path, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(text);
}

static void history_list_free(struct history_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        json_decref(list->items[i].record);
    free(list->items);
}

static json_t *history_item(const struct history_entry *entry, int with_output)
{
    json_t *input = json_object_get(entry->record, "input");
    json_t *output = json_object_get(entry->record, "output");
    if (with_output)
        return json_pack("[i, i, [O, O]]", entry->session, entry->line, input, output ? output : json_null());
    return json_pack("[i, i, O]", entry->session, entry->line, input);
}

static int history_int(const json_t *request, const char *key, int fallback)
{
    json_t *value = json_object_get(request, key);
    if (!json_is_integer(value))
        return fallback;
    json_int_t number = json_integer_value(value); /* kept where arithmetic on it cannot overflow */
    return (int)(number < -HISTORY_MAX_NUMBER ? -HISTORY_MAX_NUMBER : number > HISTORY_MAX_NUMBER ? HISTORY_MAX_NUMBER
                                                                                                  : number);
}

/* Marks which entries a search keeps: glob match, then the newest of each
 * distinct input when UNIQUE, then the newest N. */
static void history_select_search(struct history_list *list, const json_t *request, char *keep)
{
    const char *pattern = json_string_value(json_object_get(request, "pattern"));
    int unique = json_is_true(json_object_get(request, "unique"));
    int n = history_int(request, "n", -1);
    int kept = 0;
    for (size_t i = list->count; i-- > 0;) {
        const char *input = json_string_value(json_object_get(list->items[i].record, "input"));
        keep[i] = fnmatch(pattern ? pattern : "*", input, 0) == 0;
        for (size_t j = i + 1; keep[i] && unique && j < list->count; j++)
            if (keep[j] && strcmp(input, json_string_value(json_object_get(list->items[j].record, "input"))) == 0)
                keep[i] = 0;
        if (keep[i] && n >= 0 && kept >= n)
            keep[i] = 0;
        kept += keep[i];
    }
}

/* Range: lines [start, stop) of one session (0 = this one, negative = earlier ones). */
static void history_select_range(const struct history *history, struct history_list *list,
                                 const json_t *request, char *keep)
{
    int session = history_int(request, "session", 0);
    if (session <= 0)
        session += history->session;
    int start = history_int(request, "start", 0);
    int stop = history_int(request, "stop", 0);
    for (size_t i = 0; i < list->count; i++)
        keep[i] = list->items[i].session == session && list->items[i].line >= start &&
                  (stop <= 0 || list->items[i].line < stop);
}

static void history_select_tail(struct history_list *list, const json_t *request, char *keep)
{
    int n = history_int(request, "n", 10);
    for (size_t i = 0; i < list->count; i++)
        keep[i] = n >= 0 && i + (size_t)n >= list->count;
}

json_t *history_query(struct history *history, const json_t *request)
{
    json_t *items = json_array();
    if (history == NULL || items == NULL)
        return items;
    history_refresh(history);
    struct history_list list = history->entries;
    char *keep = calloc(list.count + 1, 1);
    const char *access_type = json_string_value(json_object_get(request, "hist_access_type"));
    if (keep != NULL && access_type != NULL) {
        if (strcmp(access_type, "search") == 0)
            history_select_search(&list, request, keep);
        else if (strcmp(access_type, "range") == 0)
            history_select_range(history, &list, request, keep);
        else if (strcmp(access_type, "tail") == 0)
            history_select_tail(&list, request, keep);
    }
    int with_output = json_is_true(json_object_get(request, "output"));
    for (size_t i = 0; keep != NULL && i < list.count; i++)
        if (keep[i])
            json_array_append_new(items, history_item(&list.items[i], with_output));
    free(keep);
    return items;
}
