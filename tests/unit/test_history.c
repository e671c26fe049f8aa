/* Unit tests for history: sessions grow across opens (kernel restarts),
 * tail, range, search with glob, unique and n, output pairs. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "history.h"

static json_t *query(struct history *history, const char *request_json)
{
    json_t *request = json_loads(request_json, 0, NULL);
    json_t *items = history_query(history, request);
    json_decref(request);
    return items;
}

int main(void)
{
    unlink(getenv("FAASET_HISTORY"));
    char err[256];
    struct history *first = history_open(err, sizeof err);
    CHECK(first != NULL && history_session(first) == 1);
    history_append(first, 1, "x = 6 * 7", NULL);
    history_append(first, 2, "x", "42");
    history_close(first);

    struct history *second = history_open(err, sizeof err); /* a restarted kernel */
    CHECK(second != NULL && history_session(second) == 2);
    history_append(second, 1, "x", "42");
    history_append(second, 2, "print(x)", NULL);

    json_t *items = query(second, "{\"hist_access_type\":\"tail\",\"n\":3}");
    CHECK(json_array_size(items) == 3);
    CHECK(json_array_size(json_array_get(items, 0)) == 3);
    CHECK(strcmp(json_string_value(json_array_get(json_array_get(items, 2), 2)), "print(x)") == 0);
    json_decref(items);

    items = query(second, "{\"hist_access_type\":\"range\",\"session\":0,\"start\":1,\"stop\":2}");
    CHECK(json_array_size(items) == 1);
    CHECK(json_integer_value(json_array_get(json_array_get(items, 0), 0)) == 2);
    json_decref(items);

    items = query(second, "{\"hist_access_type\":\"range\",\"session\":-1,\"start\":1,\"stop\":3}");
    CHECK(json_array_size(items) == 2); /* the previous session */
    json_decref(items);

    items = query(second, "{\"hist_access_type\":\"search\",\"pattern\":\"x\"}");
    CHECK(json_array_size(items) == 2);
    json_decref(items);
    items = query(second, "{\"hist_access_type\":\"search\",\"pattern\":\"x\",\"unique\":true}");
    CHECK(json_array_size(items) == 1);
    json_decref(items);
    items = query(second, "{\"hist_access_type\":\"search\",\"pattern\":\"*x*\",\"n\":2}");
    CHECK(json_array_size(items) == 2);
    CHECK(strcmp(json_string_value(json_array_get(json_array_get(items, 1), 2)), "print(x)") == 0);
    json_decref(items);

    items = query(second, "{\"hist_access_type\":\"tail\",\"n\":1,\"output\":true}");
    json_t *pair = json_array_get(json_array_get(items, 0), 2);
    CHECK(json_array_size(pair) == 2 && json_is_null(json_array_get(pair, 1)));
    json_decref(items);
    items = query(second, "{\"hist_access_type\":\"tail\",\"n\":2,\"output\":true}");
    pair = json_array_get(json_array_get(items, 0), 2);
    CHECK(strcmp(json_string_value(json_array_get(pair, 1)), "42") == 0);
    json_decref(items);

    /* garbage a user (or another program) left in the file: skipped, and a
     * session number at INT_MAX no longer overflows the next one's */
    items = query(second, "{\"hist_access_type\":\"range\",\"session\":-2147483648,\"start\":-2147483648,"
                          "\"stop\":2147483647}");
    CHECK(json_array_size(items) == 0);
    json_decref(items);
    history_close(second);
    FILE *file = fopen(getenv("FAASET_HISTORY"), "a");
    CHECK(file != NULL);
    if (file != NULL) {
        fputs("{\"session\":2147483647,\"line\":1,\"input\":\"x\"}\n{\"session\":-5,\"line\":1,\"input\":\"x\"}\n"
              "not json\n{\"session\":3,\"line\":99999999999,\"input\":\"y\"}\n", file);
        fclose(file);
    }
    struct history *third = history_open(err, sizeof err);
    CHECK(third != NULL && history_session(third) == 3);
    items = query(third, "{\"hist_access_type\":\"tail\",\"n\":10}");
    CHECK(json_array_size(items) == 4); /* the four good entries of sessions 1 and 2 */
    json_decref(items);

    /* a 50 MB output keeps 10 KB and says so; the input stays whole */
    size_t big = 50u << 20;
    char *output = malloc(big + 1), *input = malloc(200001);
    memset(output, 'o', big);
    output[big] = '\0';
    memset(input, 'i', 200000);
    input[200000] = '\0';
    history_append(third, 1, input, output);
    items = query(third, "{\"hist_access_type\":\"tail\",\"n\":1,\"output\":true}");
    json_t *kept = json_array_get(json_array_get(items, 0), 2);
    CHECK(json_string_length(json_array_get(kept, 0)) == 200000);
    const char *shown = json_string_value(json_array_get(kept, 1));
    CHECK(shown != NULL && strlen(shown) < 11 * 1024 && strstr(shown, "more bytes not kept in the history") != NULL);
    json_decref(items);
    free(output);
    free(input);

    /* another kernel appends (and writes a 9 MB line that is no record):
     * the next query reads what is new and skips the monster unparsed */
    file = fopen(getenv("FAASET_HISTORY"), "a");
    CHECK(file != NULL);
    if (file != NULL) {
        for (int i = 0; i < 9 * 1024 * 1024; i++)
            fputc('x', file);
        fputs("\n{\"session\":7,\"line\":1,\"input\":\"from another kernel\"}\n", file);
        fclose(file);
    }
    items = query(third, "{\"hist_access_type\":\"search\",\"pattern\":\"from another*\"}");
    CHECK(json_array_size(items) == 1);
    json_decref(items);

    /* a file replaced under the kernel is read again from its start */
    FILE *fresh = fopen(getenv("FAASET_HISTORY"), "w");
    if (fresh != NULL) {
        fputs("{\"session\":1,\"line\":1,\"input\":\"only\"}\n", fresh);
        fclose(fresh);
    }
    items = query(third, "{\"hist_access_type\":\"tail\",\"n\":10}");
    CHECK(json_array_size(items) == 1);
    json_decref(items);
    history_close(third);
    return check_report();
}
