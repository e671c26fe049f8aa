/* report: FaaS Runner's report text (see report.h), built in the order
 * its generator builds it. Three details carry its arithmetic:
 *
 * - a value is a number when Python's Decimal() reads it (digits with an
 *   optional point and exponent, or Infinity / NaN, spaces around), and
 *   sums and averages are Decimal arithmetic: they are done here exactly
 *   on scaled 128-bit integers (a sum keeps the most decimals of its
 *   terms, "3.50"; an average is rounded half to even to 0.01, "14.57"),
 *   falling back to long double for values beyond 30 digits;
 * - a value that is not a number is skipped in a sum, but an average
 *   still divides by every run of the group, as FaaS Runner does;
 * - runtimeOverlap compares every pair of runs of one overlapFilter value:
 *   n² steps, about a second for 30,000 runs in one report.
 *
 * FaaS Runner's pipeline columns (XPipeline running sums) are not
 * written. */
#include "report.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pyrepr.h"

#define REPORT_FILL -999999999999LL
#define REPORT_MAX_DIGITS 30
#define REPORT_LIMIT ((__int128)1 << 120)

__extension__ typedef __int128 report_int;

/* A number as Decimal holds it: UNITS / 10^SCALE when EXACT, else APPROX. */
struct report_number {
    report_int units;
    int scale;
    int exact;
    long double approx;
};

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

/* Multiplies *V by 10^BY; 0 when it would leave the exact range. */
static int report_scale_up(report_int *v, int by)
{
    for (; by > 0; by--) {
        if (*v > REPORT_LIMIT / 10 || *v < -REPORT_LIMIT / 10)
            return 0;
        *v *= 10;
    }
    return 1;
}

/* Whether Decimal(VALUE) reads VALUE (a string or an integer), into N. */
static int report_parse(const json_t *value, struct report_number *n)
{
    memset(n, 0, sizeof *n);
    n->exact = 1;
    if (json_is_integer(value)) {
        n->units = json_integer_value(value);
        n->approx = (long double)json_integer_value(value);
        return 1;
    }
    if (!json_is_string(value))
        return 0;
    const char *s = json_string_value(value);
    while (isspace((unsigned char)*s))
        s++;
    const char *number = s;
    int negative = *s == '-';
    if (*s == '+' || *s == '-')
        s++;
    static const char *const specials[] = {"infinity", "inf", "snan", "nan"};
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++) {
        size_t length = strlen(specials[i]);
        if (strncasecmp(s, specials[i], length) != 0)
            continue;
        const char *end = s + length;
        while (i >= 2 && isdigit((unsigned char)*end)) /* NaN may carry digits */
            end++;
        while (isspace((unsigned char)*end))
            end++;
        if (*end != '\0')
            return 0;
        n->exact = 0;
        n->approx = i < 2 ? (negative ? -INFINITY : INFINITY) : NAN;
        return 1;
    }
    int digits = 0, decimals = 0, significant = 0;
    for (int after_point = 0;; s++) {
        if (*s == '.' && !after_point) {
            after_point = 1;
            continue;
        }
        if (!isdigit((unsigned char)*s))
            break;
        digits++;
        decimals += after_point;
        if (significant > 0 || *s != '0')
            significant++;
        if (significant <= REPORT_MAX_DIGITS)
            n->units = n->units * 10 + (*s - '0');
        else
            n->exact = 0;
    }
    if (digits == 0)
        return 0;
    long exponent = 0;
    if (*s == 'e' || *s == 'E') {
        char *end;
        exponent = strtol(s + 1, &end, 10);
        if (end == s + 1 || !isdigit((unsigned char)end[-1]))
            return 0;
        s = end;
    }
    while (isspace((unsigned char)*s))
        s++;
    if (*s != '\0')
        return 0;
    n->approx = strtold(number, NULL);
    long scale = decimals - exponent;
    if (scale < 0) {
        n->exact = n->exact && scale > -REPORT_MAX_DIGITS && report_scale_up(&n->units, (int)-scale);
        scale = 0;
    }
    n->exact = n->exact && scale <= REPORT_MAX_DIGITS;
    n->scale = n->exact ? (int)scale : 0;
    if (negative)
        n->units = -n->units;
    return 1;
}

/* Appends UNITS / 10^SCALE with SCALE decimals. */
static void report_put_scaled(struct buffer *out, report_int units, int scale)
{
    char digits[64];
    int length = 0;
    int negative = units < 0;
    unsigned __int128 magnitude = negative ? (unsigned __int128)(-(units + 1)) + 1 : (unsigned __int128)units;
    do {
        digits[length++] = (char)('0' + (int)(magnitude % 10));
        magnitude /= 10;
    } while (magnitude > 0 || length <= scale);
    if (negative)
        buffer_puts(out, "-");
    for (int i = length - 1; i >= 0; i--) {
        buffer_append(out, &digits[i], 1);
        if (i == scale && scale > 0)
            buffer_puts(out, ".");
    }
}

static void report_put_approx(struct buffer *out, long double value, int scale)
{
    if (isnan(value))
        buffer_puts(out, "NaN");
    else if (isinf(value))
        buffer_puts(out, value < 0 ? "-Infinity" : "Infinity");
    else
        buffer_printf(out, "%.*Lf", scale, value);
}

/* The sum (SUM set) or the average to 0.01 of NAME over the runs of MEMBERS. */
static void report_aggregate(struct buffer *out, const json_t *members, const char *name, int sum)
{
    struct report_number n;
    report_int total = 0;
    long double approx = 0;
    int scale = 0, exact = 1;
    size_t i;
    json_t *run;
    json_array_foreach(members, i, run) { /* the scale first: Decimal sums keep the most decimals */
        if (report_parse(json_object_get(run, name), &n)) {
            scale = n.scale > scale ? n.scale : scale;
            exact = exact && n.exact;
        }
    }
    json_array_foreach(members, i, run) {
        if (!report_parse(json_object_get(run, name), &n))
            continue;
        approx += n.approx;
        report_int units = n.units;
        exact = exact && report_scale_up(&units, scale - n.scale) && total < REPORT_LIMIT && total > -REPORT_LIMIT;
        total += exact ? units : 0;
    }
    if (sum) {
        if (exact)
            report_put_scaled(out, total, scale);
        else
            report_put_approx(out, approx, scale);
        return;
    }
    report_int count = (report_int)json_array_size(members);
    if (!exact || (scale < 2 && !report_scale_up(&total, 2 - scale))) {
        report_put_approx(out, approx / (long double)count, 2);
        return;
    }
    report_int divisor = count;
    for (int i2 = 2; i2 < scale; i2++)
        divisor *= 10;
    report_int quotient = total / divisor, remainder = total % divisor;
    report_int twice = (remainder < 0 ? -remainder : remainder) * 2;
    if (twice > divisor || (twice == divisor && quotient % 2 != 0))
        quotient += total < 0 ? -1 : 1;
    report_put_scaled(out, quotient, 2);
}

/* str(VALUE) as a cell. */
static void report_cell(struct buffer *out, const json_t *value)
{
    pyrepr_str(out, value);
}

static int report_compare_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of RUN, sorted: an array of COUNT names that live as long as RUN's keys. */
static const char **report_sorted_keys(const json_t *run, size_t *count)
{
    *count = json_object_size(run);
    const char **keys = calloc(*count + 1, sizeof *keys);
    if (keys == NULL) {
        *count = 0;
        return NULL;
    }
    size_t i = 0;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)run, key, value)
        keys[i++] = key;
    qsort(keys, *count, sizeof *keys, report_compare_text);
    return keys;
}

/* Whether NAME is left out of the groups of CATEGORY (NULL: the raw table). */
static int report_ignored(const json_t *experiment, const char *category, const char *name)
{
    if (report_in(json_object_get(experiment, "ignoreFromAll"), name))
        return 1;
    if (category == NULL)
        return 0;
    const json_t *by_group = json_object_get(experiment, "ignoreByGroup");
    return report_in(json_object_get(experiment, "ignoreFromGroups"), name) ||
           (json_is_object(by_group) && report_in(json_object_get(by_group, category), name));
}

/* A header line and one line per run of RUNS, the attributes of the first
 * run sorted, less those ignored for CATEGORY (NULL: the raw table). */
static void report_runs(struct buffer *out, const json_t *runs, const json_t *experiment, const char *category)
{
    size_t count, shown = 0;
    const char **keys = report_sorted_keys(json_array_get(runs, 0), &count);
    for (size_t k = 0; k < count; k++) {
        if (!report_ignored(experiment, category, keys[k]))
            buffer_printf(out, "%s%s", shown++ ? "," : "", keys[k]);
    }
    buffer_puts(out, "\n");
    size_t i;
    json_t *run;
    json_array_foreach(runs, i, run) {
        shown = 0;
        for (size_t k = 0; k < count; k++) {
            if (report_ignored(experiment, category, keys[k]))
                continue;
            if (shown++)
                buffer_puts(out, ",");
            const json_t *value = json_object_get(run, keys[k]);
            if (value != NULL)
                report_cell(out, value);
            else
                buffer_puts(out, "NONE");
        }
        buffer_puts(out, "\n");
    }
    free(keys);
}

/* Every key some run has is given to every run (FaaS Runner's filler). */
static void report_fill(json_t *rows)
{
    json_t *keys = json_object();
    size_t i;
    json_t *run;
    const char *key;
    json_t *value;
    json_array_foreach(rows, i, run) {
        json_object_foreach(run, key, value)
            json_object_set(keys, key, json_null());
    }
    json_array_foreach(rows, i, run) {
        json_object_foreach(keys, key, value) {
            if (json_object_get(run, key) == NULL)
                json_object_set_new(run, key, json_integer(REPORT_FILL));
        }
    }
    json_decref(keys);
}

/* int(run[NAME]) as FaaS Runner takes it. */
static long long report_int_of(const json_t *run, const char *name)
{
    const json_t *value = json_object_get(run, name);
    if (json_is_integer(value))
        return json_integer_value(value);
    return json_is_string(value) ? (long long)strtold(json_string_value(value), NULL) : 0;
}

static int report_same(const json_t *a, const json_t *b)
{
    return a != NULL && b != NULL && json_equal((json_t *)a, (json_t *)b);
}

/* runtimeOverlap, as report.h says. */
static void report_overlap(json_t *rows, const char *filter)
{
    size_t n = json_array_size(rows);
    long long *starts = malloc((n + 1) * sizeof *starts), *ends = malloc((n + 1) * sizeof *ends);
    double *totals = calloc(n + 1, sizeof *totals);
    if (starts == NULL || ends == NULL || totals == NULL) {
        free(starts);
        free(ends);
        free(totals);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        starts[i] = report_int_of(json_array_get(rows, i), "startTime");
        ends[i] = report_int_of(json_array_get(rows, i), "endTime");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *mine = filter && *filter ? json_object_get(json_array_get(rows, i), filter) : NULL;
        long long start = starts[i], end = ends[i], length = end - start > 1 ? end - start : 1;
        int added = 0; /* FaaS Runner's sum starts as the integer 0: "0" when no run is compared */
        for (size_t j = 0; j < n; j++) {
            if (i == j || (mine != NULL && !report_same(mine, json_object_get(json_array_get(rows, j), filter))) ||
                (filter && *filter && mine == NULL))
                continue;
            long long from = starts[j] < end ? starts[j] : end, to = ends[j] < end ? ends[j] : end;
            from = from > start ? from : start;
            to = to > start ? to : start;
            totals[i] += (double)(to - from) / (double)length;
            added = 1;
        }
        struct buffer text = {0};
        if (added)
            pyrepr_float(&text, pyrepr_round2(totals[i]));
        else
            buffer_puts(&text, "0");
        json_object_set_new(json_array_get(rows, i), "runtimeOverlap", json_string(text.data ? text.data : "0.0"));
        buffer_free(&text);
    }
    free(starts);
    free(ends);
    free(totals);
}

/* Takes out of ROWS the runs FaaS Runner leaves out of the groups; writes how many. */
static void report_invalidate(struct buffer *out, json_t *rows, const json_t *experiment)
{
    json_t *containers = json_object(), *removed = json_array();
    int duplicates = json_is_true(json_object_get(experiment, "removeDuplicateContainers"));
    size_t i, invalid = 0;
    json_t *run;
    json_array_foreach(rows, i, run) {
        int out_of_groups = 0;
        const json_t *uuid = json_object_get(run, "uuid");
        if (duplicates && uuid != NULL) {
            struct buffer key = {0};
            pyrepr_repr(&key, uuid);
            if (key.data && json_object_get(containers, key.data) != NULL)
                out_of_groups += 1;
            else if (key.data)
                json_object_set_new(containers, key.data, json_true());
            buffer_free(&key);
        }
        const char *name;
        json_t *wanted;
        json_object_foreach(json_object_get(experiment, "invalidators"), name, wanted) {
            const json_t *value = json_object_get(run, name);
            if (value == NULL)
                continue;
            struct buffer a = {0}, b = {0};
            pyrepr_str(&a, value);
            pyrepr_str(&b, wanted);
            out_of_groups += a.size == b.size && (a.size == 0 || memcmp(a.data, b.data, a.size) == 0);
            buffer_free(&a);
            buffer_free(&b);
        }
        invalid += (size_t)out_of_groups;
        json_array_append_new(removed, json_boolean(out_of_groups > 0));
    }
    if (invalid > 0)
        buffer_printf(out, "\n%zu runs removed from categories....\n", invalid);
    for (i = json_array_size(rows); i-- > 0;) {
        if (json_is_true(json_array_get(removed, i)))
            json_array_remove(rows, i);
    }
    json_decref(containers);
    json_decref(removed);
}

/* Python's sort of a list of values when they are all strings (or all
 * integers); a mixed list stays in its order (Python's sort raises). */
static int report_compare_values(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    if (json_is_integer(x))
        return json_integer_value(x) < json_integer_value(y) ? -1 : json_integer_value(x) > json_integer_value(y);
    return strcmp(json_string_value(x), json_string_value(y));
}

static void report_sort_values(json_t **values, size_t count)
{
    size_t strings = 0, integers = 0;
    for (size_t i = 0; i < count; i++) {
        strings += json_is_string(values[i]);
        integers += json_is_integer(values[i]);
    }
    if (strings == count || integers == count)
        qsort(values, count, sizeof *values, report_compare_values);
}

/* The distinct values of NAME in MEMBERS, sorted, as a Python list's
 * text with commas made ';'. */
static void report_value_list(struct buffer *out, const json_t *members, const char *name)
{
    size_t count = 0, i, j;
    json_t *run;
    json_t **values = calloc(json_array_size(members) + 1, sizeof *values);
    if (values == NULL)
        return;
    json_array_foreach(members, i, run) {
        json_t *value = json_object_get(run, name);
        for (j = 0; j < count && !json_equal(values[j], value); j++)
            ;
        if (value != NULL && j == count)
            values[count++] = value;
    }
    report_sort_values(values, count);
    json_t *list = json_array();
    for (i = 0; i < count; i++)
        json_array_append(list, values[i]);
    struct buffer text = {0};
    pyrepr_repr(&text, list);
    for (i = 0; i < text.size; i++)
        buffer_append(out, text.data[i] == ',' ? ";" : &text.data[i], 1);
    buffer_free(&text);
    json_decref(list);
    free(values);
}

/* One "Category X:" section (and its raw runs) over the runs in ROWS. */
static void report_category(struct buffer *out, const json_t *rows, const char *category, const json_t *experiment,
                            const json_t *as_list)
{
    json_t *groups = json_object(), *order = json_array(); /* repr(value) -> runs; first runs in order */
    size_t i;
    json_t *run;
    json_array_foreach(rows, i, run) {
        json_t *value = json_object_get(run, category);
        if (value == NULL)
            continue;
        struct buffer key = {0};
        pyrepr_repr(&key, value);
        json_t *members = json_object_get(groups, key.data ? key.data : "");
        if (members == NULL) {
            members = json_array();
            json_object_set_new(groups, key.data ? key.data : "", members);
            json_array_append(order, run);
        }
        json_array_append(members, run);
        buffer_free(&key);
    }
    size_t count = json_array_size(order);
    if (count == 0) {
        json_decref(groups);
        json_decref(order);
        return;
    }
    const json_t *as_sum = json_object_get(experiment, "showAsSum");
    const json_t *first = json_array_get(order, 0); /* FaaS Runner reads the kinds off the group's first run */
    size_t names;
    const char **keys = report_sorted_keys(first, &names);
    const char **shown = calloc(names + 1, sizeof *shown);
    int *kinds = calloc(names + 1, sizeof *kinds); /* 0 list, 1 sum, 2 average */
    size_t columns = 0;
    struct report_number number;
    buffer_printf(out, "\nCategory %s:\n%s,uses", category, category);
    for (size_t k = 0; k < names && shown != NULL && kinds != NULL; k++) {
        if (report_ignored(experiment, category, keys[k]))
            continue;
        int kind = report_in(as_list, keys[k]) ? 0 : report_in(as_sum, keys[k]) ? 1 : 2;
        if (kind > 0 && !report_parse(json_object_get(first, keys[k]), &number))
            continue;
        kinds[columns] = kind;
        shown[columns++] = keys[k];
        buffer_printf(out, kind == 0 ? ",%s_list" : kind == 1 ? ",sum_%s" : ",avg_%s", keys[k]);
    }
    buffer_puts(out, "\n");
    json_t **values = calloc(count + 1, sizeof *values);
    for (i = 0; i < count && values != NULL; i++)
        values[i] = json_object_get(json_array_get(order, i), category);
    if (values != NULL)
        report_sort_values(values, count);
    for (i = 0; i < count && values != NULL; i++) {
        struct buffer key = {0};
        pyrepr_repr(&key, values[i]);
        const json_t *members = json_object_get(groups, key.data ? key.data : "");
        buffer_free(&key);
        report_cell(out, values[i]);
        buffer_printf(out, ",%zu", json_array_size(members));
        for (size_t c = 0; c < columns; c++) {
            buffer_puts(out, ",");
            if (kinds[c] == 0)
                report_value_list(out, members, shown[c]);
            else
                report_aggregate(out, members, shown[c], kinds[c] == 1);
        }
        buffer_puts(out, "\n");
    }
    buffer_printf(out, "Total number of unique %ss: %zu\n", category, count);
    if (report_in(json_object_get(experiment, "outputRawOfGroup"), category) && values != NULL) {
        buffer_printf(out, "\n--- Runs of Group %s ---\n", category);
        for (i = 0; i < count; i++) {
            struct buffer key = {0};
            pyrepr_repr(&key, values[i]);
            buffer_printf(out, "\nCategory %s with ", category);
            report_cell(out, values[i]);
            buffer_puts(out, ":\n");
            report_runs(out, json_object_get(groups, key.data ? key.data : ""), experiment, category);
            buffer_free(&key);
        }
    }
    free(values);
    free(shown);
    free(kinds);
    free(keys);
    json_decref(groups);
    json_decref(order);
}

/* The experiment's payloads merged over parentPayload, as the preamble shows them. */
static void report_preamble(struct buffer *out, const json_t *experiment, const char *started)
{
    const json_t *runs = json_object_get(experiment, "runs"), *threads = json_object_get(experiment, "threads");
    long long total = json_is_integer(runs) ? json_integer_value(runs) : 10;
    long long slots = json_is_integer(threads) ? json_integer_value(threads) : 10;
    const json_t *given = json_object_get(experiment, "payloads"), *parent = json_object_get(experiment, "parentPayload");
    json_t *payloads = json_array();
    if (json_is_array(given)) {
        size_t i;
        json_t *payload;
        json_array_foreach(given, i, payload) {
            json_t *merged = json_is_object(parent) ? json_deep_copy(parent) : json_object();
            json_object_update(merged, payload);
            json_array_append_new(payloads, merged);
        }
    } else {
        json_array_append_new(payloads, json_is_object(parent) ? json_deep_copy(parent) : json_object());
    }
    struct buffer text = {0};
    pyrepr_str(&text, payloads);
    buffer_printf(out, "%s - Python Partest Version 0.5\n", started);
    buffer_printf(out, "Setting up test: runsperthread=%lld threads=%lld totalruns=%lld payload=",
                  slots > 0 ? total / slots : 0, slots, total);
    for (size_t i = 0; i < text.size; i++) {
        if (text.data[i] != ',')
            buffer_append(out, &text.data[i], 1);
    }
    buffer_puts(out, "\n");
    buffer_free(&text);
    json_decref(payloads);
}

/* Whether some run of ROWS has NAME. */
static int report_any_has(const json_t *rows, const char *name)
{
    size_t i;
    json_t *run;
    json_array_foreach(rows, i, run) {
        if (json_object_get(run, name) != NULL)
            return 1;
    }
    return 0;
}

/* A copy of the names in LIST, less uuid when the runs have containerID
 * and less vmuptime when they have vmID. */
static json_t *report_names(const json_t *list, int has_container, int has_vm)
{
    json_t *names = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item) {
        const char *name = json_string_value(item);
        if (name != NULL && !(has_container && strcmp(name, "uuid") == 0) && !(has_vm && strcmp(name, "vmuptime") == 0))
            json_array_append(names, item);
    }
    return names;
}

void report_text(json_t *rows, const json_t *experiment, const char *started, struct buffer *out)
{
    int has_container = report_any_has(rows, "containerID"), has_vm = report_any_has(rows, "vmID");
    json_t *categories = report_names(json_object_get(experiment, "outputGroups"), has_container, has_vm);
    json_t *as_list = report_names(json_object_get(experiment, "showAsList"), has_container, has_vm);

    report_fill(rows);
    const json_t *first = json_array_get(rows, 0);
    if (json_object_get(first, "startTime") != NULL && json_object_get(first, "endTime") != NULL)
        report_overlap(rows, json_string_value(json_object_get(experiment, "overlapFilter")));
    report_preamble(out, experiment, started);
    buffer_puts(out, "\nRaw results of each run:\n");
    report_runs(out, rows, experiment, NULL);
    buffer_printf(out, "Successful Runs: %zu\n", json_array_size(rows));
    report_invalidate(out, rows, experiment);

    size_t count = json_array_size(categories), i;
    const char **names = calloc(count + 1, sizeof *names);
    for (i = 0; i < count && names != NULL; i++)
        names[i] = json_string_value(json_array_get(categories, i));
    if (names != NULL)
        qsort(names, count, sizeof *names, report_compare_text);
    for (i = 0; i < count && names != NULL; i++) {
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue; /* a group named twice is one dict key in FaaS Runner */
        report_category(out, rows, names[i], experiment, as_list);
    }
    free(names);
    json_decref(categories);
    json_decref(as_list);
}
