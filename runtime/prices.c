/* prices: the price table and one run's bill (see prices.h). The table is
 * small (a few entries), so it is an array searched in order; a user's
 * entry replaces the built-in one in place. Every number is checked when
 * the file is read: a wrong one is an error naming the entry and the key,
 * never a silent 0. The rounding works in whole microseconds, so a
 * runtime of exactly 100 ms is billed 100 ms, not 200, whatever the
 * floating point. */
#include "prices.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embedded.h"

#define PRICES_MAX 64
#define PRICES_BUILT_IN "runtime/prices.json"

struct prices {
    struct price entries[PRICES_MAX];
    int count;
    char user_file[1024];
};

/* KEY of ENTRY as a number >= 0 into *OUT (absent: unchanged); -1 with ERR when it is not one. */
static int prices_number(const json_t *entry, const char *key, double *out, const char *where, char *err,
                         size_t err_size)
{
    const json_t *value = json_object_get(entry, key);
    if (value == NULL)
        return 0;
    if (!json_is_number(value) || !isfinite(json_number_value(value)) || json_number_value(value) < 0) {
        snprintf(err, err_size, "%s: \"%s\" must be a number of at least 0", where, key);
        return -1;
    }
    *out = json_number_value(value);
    return 0;
}

static int prices_vcpu_steps(const json_t *steps, struct price *price, const char *where, char *err, size_t err_size)
{
    if (steps == NULL)
        return 0;
    size_t i;
    const json_t *step;
    if (!json_is_array(steps) || json_array_size(steps) > PRICES_MAX_VCPU_STEPS)
        goto wrong;
    json_array_foreach(steps, i, step) {
        const json_t *mb = json_array_get(step, 0), *vcpus = json_array_get(step, 1);
        if (json_array_size(step) != 2 || !json_is_number(mb) || !json_is_number(vcpus) || json_number_value(vcpus) < 0 ||
            (i > 0 && json_number_value(mb) <= price->vcpu_by_memory[i - 1][0]))
            goto wrong;
        price->vcpu_by_memory[i][0] = json_number_value(mb);
        price->vcpu_by_memory[i][1] = json_number_value(vcpus);
    }
    price->vcpu_steps = (int)json_array_size(steps);
    return 0;
wrong:
    snprintf(err, err_size, "%s: \"vcpuByMemoryMb\" must be at most %d pairs [MB, vCPUs] in rising MB", where,
             PRICES_MAX_VCPU_STEPS);
    return -1;
}

/* ENTRY (the Nth of SOURCE) into *PRICE; -1 with ERR. */
static int prices_entry(const json_t *entry, size_t n, const char *source, struct price *price, char *err,
                        size_t err_size)
{
    const char *platform = json_string_value(json_object_get(entry, "platform"));
    const char *region = json_string_value(json_object_get(entry, "region"));
    char where[1200];
    snprintf(where, sizeof where, "%s, entry %zu", source, n + 1);
    if (!json_is_object(entry) || platform == NULL || *platform == '\0' || strlen(platform) >= sizeof price->platform) {
        snprintf(err, err_size, "%s: each entry needs a \"platform\" name", where);
        return -1;
    }
    snprintf(where, sizeof where, "%s, entry %zu (%s)", source, n + 1, platform);
    *price = (struct price){.rounding_ms = 1};
    snprintf(price->platform, sizeof price->platform, "%s", platform);
    snprintf(price->region, sizeof price->region, "%s", region && *region ? region : "default");
    snprintf(price->note, sizeof price->note, "%s", json_string_value(json_object_get(entry, "note")) ?: "");
    price->free = json_is_true(json_object_get(entry, "free"));
    double memory_rounding = 0;
    if (prices_number(entry, "gbSecond", &price->gb_second, where, err, err_size) < 0 ||
        prices_number(entry, "vcpuSecond", &price->vcpu_second, where, err, err_size) < 0 ||
        prices_number(entry, "perMillionRequests", &price->per_million_requests, where, err, err_size) < 0 ||
        prices_number(entry, "roundingMs", &price->rounding_ms, where, err, err_size) < 0 ||
        prices_number(entry, "minimumMs", &price->minimum_ms, where, err, err_size) < 0 ||
        prices_number(entry, "memoryRoundingMb", &memory_rounding, where, err, err_size) < 0 ||
        prices_vcpu_steps(json_object_get(entry, "vcpuByMemoryMb"), price, where, err, err_size) < 0)
        return -1;
    price->memory_rounding_mb = (int)memory_rounding;
    if (price->rounding_ms <= 0) {
        snprintf(err, err_size, "%s: \"roundingMs\" must be more than 0 (1 bills every millisecond)", where);
        return -1;
    }
    if (!price->free && json_object_get(entry, "gbSecond") == NULL && json_object_get(entry, "vcpuSecond") == NULL) {
        snprintf(err, err_size, "%s: give \"gbSecond\" (and \"vcpuSecond\" where CPU is billed), or \"free\": true",
                 where);
        return -1;
    }
    return 0;
}

/* Adds the entries of TEXT to PRICES, replacing those of the same platform and region. */
static int prices_merge(struct prices *prices, const char *text, const char *source, char *err, size_t err_size)
{
    json_error_t json_err;
    json_t *root = json_loads(text, 0, &json_err);
    const json_t *entries = json_object_get(root, "prices");
    if (root == NULL || !json_is_array(entries)) {
        if (root == NULL)
            snprintf(err, err_size, "%s is not valid JSON: %s (line %d)", source, json_err.text, json_err.line);
        else
            snprintf(err, err_size, "%s needs a \"prices\" list of entries (see runtime/prices.json)", source);
        json_decref(root);
        return -1;
    }
    size_t n;
    const json_t *entry;
    json_array_foreach(entries, n, entry) {
        struct price price;
        if (prices_entry(entry, n, source, &price, err, err_size) < 0) {
            json_decref(root);
            return -1;
        }
        int i = 0;
        while (i < prices->count && (strcmp(prices->entries[i].platform, price.platform) != 0 ||
                                     strcmp(prices->entries[i].region, price.region) != 0))
            i++;
        if (i == PRICES_MAX) {
            snprintf(err, err_size, "%s: at most %d prices", source, PRICES_MAX);
            json_decref(root);
            return -1;
        }
        prices->entries[i] = price;
        if (i == prices->count)
            prices->count++;
    }
    json_decref(root);
    return 0;
}

struct prices *prices_parse(const char *text, const char *source, char *err, size_t err_size)
{
    struct prices *prices = calloc(1, sizeof *prices);
    if (prices == NULL) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    snprintf(prices->user_file, sizeof prices->user_file, "%s", source);
    if (prices_merge(prices, text, source, err, err_size) < 0) {
        free(prices);
        return NULL;
    }
    return prices;
}

/* The text of the price file at PATH, or NULL with ERR. */
static char *prices_read(const char *path, char *err, size_t err_size)
{
    json_error_t json_err;
    json_t *file = json_load_file(path, 0, &json_err);
    char *text = file ? json_dumps(file, 0) : NULL;
    if (file == NULL)
        snprintf(err, err_size, "cannot read the price file %s: %s", path, json_err.text);
    else if (text == NULL)
        snprintf(err, err_size, "out of memory");
    json_decref(file);
    return text;
}

struct prices *prices_load(const char *workdir, char *err, size_t err_size)
{
    const char *named = getenv("FAASET_PRICES");
    struct prices *prices;
    if (named != NULL && *named != '\0') {
        char *text = prices_read(named, err, err_size);
        prices = text ? prices_parse(text, named, err, err_size) : NULL;
        free(text);
    } else {
        const struct embedded_file *built_in = embedded_find(PRICES_BUILT_IN);
        if (built_in == NULL) {
            snprintf(err, err_size, "the kernel was built without %s", PRICES_BUILT_IN);
            return NULL;
        }
        prices = prices_parse((const char *)built_in->data, PRICES_BUILT_IN, err, err_size);
    }
    if (prices == NULL)
        return NULL;
    snprintf(prices->user_file, sizeof prices->user_file, "%s/faaset-prices.json", workdir);
    if (access(prices->user_file, F_OK) != 0)
        return prices;
    char *text = prices_read(prices->user_file, err, err_size);
    if (text == NULL || prices_merge(prices, text, prices->user_file, err, err_size) < 0) {
        free(text);
        free(prices);
        return NULL;
    }
    free(text);
    return prices;
}

void prices_free(struct prices *prices)
{
    free(prices);
}

const struct price *prices_find(const struct prices *prices, const char *platform, const char *region)
{
    const struct price *fallback = NULL;
    for (int i = 0; prices != NULL && i < prices->count; i++) {
        const struct price *price = &prices->entries[i];
        if (strcmp(price->platform, platform) != 0)
            continue;
        if (region != NULL && strcmp(price->region, region) == 0)
            return price;
        if (strcmp(price->region, "default") == 0)
            fallback = price;
    }
    return fallback;
}

const char *prices_user_file(const struct prices *prices)
{
    return prices->user_file;
}

struct price_bill prices_bill_billed(const struct price *price, double billed_ms, int memory_mb)
{
    struct price_bill bill = {.billed_ms = billed_ms > 0 ? billed_ms : 0, .billed_memory_mb = memory_mb};
    if (price->memory_rounding_mb > 0)
        bill.billed_memory_mb = (memory_mb + price->memory_rounding_mb - 1) / price->memory_rounding_mb *
                                price->memory_rounding_mb;
    if (bill.billed_memory_mb < price->memory_rounding_mb)
        bill.billed_memory_mb = price->memory_rounding_mb;
    for (int i = 0; i < price->vcpu_steps; i++) {
        bill.vcpus = price->vcpu_by_memory[i][1];
        if (bill.billed_memory_mb <= price->vcpu_by_memory[i][0])
            break;
    }
    if (price->free)
        return bill;
    double seconds = bill.billed_ms / 1000.0;
    bill.cost = seconds * ((double)bill.billed_memory_mb / 1024.0 * price->gb_second + bill.vcpus * price->vcpu_second) +
                price->per_million_requests / 1e6;
    return bill;
}

struct price_bill prices_bill(const struct price *price, double runtime_ms, int memory_mb)
{
    if (!(runtime_ms > 0))
        runtime_ms = 0;
    /* whole microseconds first: 100.0000000001 ms of float noise is 100 ms */
    double micros = ceil(runtime_ms * 1000.0 - 1e-6);
    double step = price->rounding_ms * 1000.0;
    double billed_ms = ceil(micros / step - 1e-9) * step / 1000.0;
    return prices_bill_billed(price, billed_ms < price->minimum_ms ? price->minimum_ms : billed_ms, memory_mb);
}
