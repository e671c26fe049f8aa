/* experiment: FaaS Runner's experiment schema (see experiment.h). */
#include "experiment.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud_options.h"
#include "fsutil.h"
#include "platform.h"
#include "suggest.h"

enum experiment_type { T_BOOL, T_INT, T_NUMBER, T_STRING, T_OBJECT, T_ARRAY, T_STRINGS, T_INTS, T_OBJECTS, T_ANY };

struct experiment_key {
    const char *name;
    enum experiment_type type;
};

static const struct experiment_key experiment_keys[] = {
    {"payloads", T_OBJECTS}, {"parentPayload", T_OBJECT}, {"payloadFolder", T_STRING},
    {"shufflePayloads", T_BOOL}, {"randomSeed", T_INT}, {"runs", T_INT}, {"threads", T_INT},
    {"iterations", T_INT}, {"sleepTime", T_NUMBER}, {"memorySettings", T_INTS}, {"callAsync", T_BOOL},
    {"warmupBuffer", T_INT}, {"outputGroups", T_STRINGS}, {"outputRawOfGroup", T_STRINGS},
    {"showAsList", T_STRINGS}, {"showAsSum", T_STRINGS}, {"ignoreFromAll", T_STRINGS},
    {"ignoreFromGroups", T_STRINGS}, {"ignoreByGroup", T_OBJECT}, {"invalidators", T_OBJECT},
    {"removeDuplicateContainers", T_BOOL}, {"overlapFilter", T_STRING}, {"combineSheets", T_BOOL},
    {"experimentName", T_STRING}, {"passPayloads", T_BOOL}, {"transitions", T_OBJECT},
    {"callWithCLI", T_ANY}, {"openCSV", T_ANY},
    {"platforms", T_STRINGS}, {"platformOrder", T_STRING},  /* faaset's: one experiment across platforms */
};

#define EXPERIMENT_KEY_COUNT (sizeof experiment_keys / sizeof experiment_keys[0])

static const char *experiment_type_name(enum experiment_type type)
{
    static const char *const names[] = {"true or false", "a whole number", "a number", "a string", "an object",
                                        "a list", "a list of strings", "a list of whole numbers",
                                        "a list of objects", "anything"};
    return names[type];
}

static int experiment_all(const json_t *array, int (*check)(const json_t *))
{
    size_t i;
    json_t *item;
    json_array_foreach(array, i, item) {
        if (!check(item))
            return 0;
    }
    return 1;
}

static int experiment_is_string(const json_t *v) { return json_is_string(v); }
static int experiment_is_integer(const json_t *v) { return json_is_integer(v); }
static int experiment_is_object(const json_t *v) { return json_is_object(v); }

static int experiment_type_ok(const json_t *value, enum experiment_type type)
{
    switch (type) {
    case T_BOOL: return json_is_boolean(value);
    case T_INT: return json_is_integer(value);
    case T_NUMBER: return json_is_number(value);
    case T_STRING: return json_is_string(value);
    case T_OBJECT: return json_is_object(value);
    case T_ARRAY: return json_is_array(value);
    case T_STRINGS: return json_is_array(value) && experiment_all(value, experiment_is_string);
    case T_INTS: return json_is_array(value) && experiment_all(value, experiment_is_integer);
    case T_OBJECTS: return json_is_array(value) && experiment_all(value, experiment_is_object);
    case T_ANY: return 1;
    }
    return 0;
}

static int experiment_int(const json_t *raw, const char *key, int fallback, int min, int max, int *out, char *err,
                          size_t err_size)
{
    json_t *value = json_object_get(raw, key);
    long long n = value ? json_integer_value(value) : fallback;
    if (n < min || n > max) {
        snprintf(err, err_size, "%s must be from %d to %d, not %lld", key, min, max, n);
        return -1;
    }
    *out = (int)n;
    return 0;
}

/* Payloads from every *.json file in FOLDER, by file name. */
static json_t *experiment_read_folder(const char *folder, const char *base_dir, char *err, size_t err_size)
{
    char path[4096];
    int fits = folder[0] == '/' ? fsutil_path(path, sizeof path, "%s", folder) == 0
                                : fsutil_path(path, sizeof path, "%s/%s", base_dir ? base_dir : ".", folder) == 0;
    struct dirent **entries = NULL;
    int count = fits ? scandir(path, &entries, NULL, alphasort) : -1;
    if (count < 0) {
        snprintf(err, err_size, "payloadFolder: cannot read the folder %.300s", path);
        return NULL;
    }
    json_t *payloads = json_array();
    for (int i = 0; i < count; i++) {
        const char *name = entries[i]->d_name;
        size_t len = strlen(name);
        if (payloads != NULL && len > 5 && strcmp(name + len - 5, ".json") == 0) {
            char file[4400];
            snprintf(file, sizeof file, "%s/%s", path, name);
            json_error_t json_err;
            json_t *payload = json_load_file(file, 0, &json_err);
            if (!json_is_object(payload)) {
                snprintf(err, err_size, "payloadFolder: %.300s is not a JSON object (%s)", file, json_err.text);
                json_decref(payload);
                json_decref(payloads);
                payloads = NULL;
            } else {
                json_array_append_new(payloads, payload);
            }
        }
        free(entries[i]);
    }
    free(entries);
    if (payloads != NULL && json_array_size(payloads) == 0) {
        snprintf(err, err_size, "payloadFolder: %.300s holds no .json payload files", path);
        json_decref(payloads);
        payloads = NULL;
    }
    return payloads;
}

const char *experiment_key_name(size_t index)
{
    return index < EXPERIMENT_KEY_COUNT ? experiment_keys[index].name : NULL;
}

static int experiment_check_keys(const json_t *raw, struct experiment *e, char *err, size_t err_size)
{
    const char *names[EXPERIMENT_KEY_COUNT + 1];
    for (size_t i = 0; i < EXPERIMENT_KEY_COUNT; i++)
        names[i] = experiment_key_name(i);
    names[EXPERIMENT_KEY_COUNT] = NULL;
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)raw, key, value) {
        size_t i = 0;
        while (i < EXPERIMENT_KEY_COUNT && strcmp(experiment_keys[i].name, key) != 0)
            i++;
        if (i == EXPERIMENT_KEY_COUNT) {
            const char *nearest = suggest_nearest(key, names);
            char warning[256];
            snprintf(warning, sizeof warning, "unknown key '%.80s' is ignored%s%s%s", key,
                     nearest ? " (did you mean '" : "", nearest ? nearest : "", nearest ? "'?)" : "");
            json_array_append_new(e->warnings, json_string(warning));
        } else if (!experiment_type_ok(value, experiment_keys[i].type)) {
            snprintf(err, err_size, "%s must be %s", key, experiment_type_name(experiment_keys[i].type));
            return -1;
        }
    }
    return 0;
}

/* `platforms` (names, each once) and `platformOrder` into E; -1 with ERR. */
static int experiment_platforms(const json_t *raw, struct experiment *e, char *err, size_t err_size)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(raw, "platforms"), i, item) {
        const char *name = json_string_value(item);
        if (!platforms_is_known(name)) {
            char names[256];
            platforms_name_list(names, sizeof names);
            snprintf(err, err_size, "platforms: unknown platform '%.64s'; choose from %s", name, names);
            return -1;
        }
        const char *canonical = platforms_canonical(name);
        int seen = 0;
        for (int j = 0; j < e->platform_count; j++)
            seen |= strcmp(e->platforms[j], canonical) == 0;
        if (seen)
            continue;
        if (e->platform_count == EXPERIMENT_MAX_PLATFORMS) {
            snprintf(err, err_size, "platforms: at most %d platforms", EXPERIMENT_MAX_PLATFORMS);
            return -1;
        }
        snprintf(e->platforms[e->platform_count++], sizeof e->platforms[0], "%s", canonical);
    }
    const char *order = json_string_value(json_object_get(raw, "platformOrder"));
    if (order != NULL && strcmp(order, "parallel") != 0 && strcmp(order, "sequential") != 0) {
        snprintf(err, err_size, "platformOrder must be \"parallel\" (every platform at once) or \"sequential\" "
                 "(one platform after another), not \"%.64s\"", order);
        return -1;
    }
    e->platforms_sequential = order != NULL && strcmp(order, "sequential") == 0;
    return 0;
}

int experiment_parse(const json_t *raw, const char *name_hint, const char *base_dir, struct experiment *e, char *err,
                     size_t err_size)
{
    memset(e, 0, sizeof *e);
    e->warnings = json_array();
    if (!json_is_object(raw)) {
        snprintf(err, err_size, "an experiment must be a JSON object of FaaS Runner keys");
        return -1;
    }
    e->source = json_deep_copy(raw);
    if (experiment_check_keys(raw, e, err, err_size) < 0 || experiment_platforms(raw, e, err, err_size) < 0)
        return -1;
    json_t *payloads = json_object_get(raw, "payloads");
    const char *folder = json_string_value(json_object_get(raw, "payloadFolder"));
    if (payloads != NULL && json_array_size(payloads) > 0)
        e->payloads = json_deep_copy(payloads);
    else if (folder != NULL && *folder && (e->payloads = experiment_read_folder(folder, base_dir, err, err_size)) == NULL)
        return -1;
    if (e->payloads == NULL)
        e->payloads = json_pack("[{}]");
    json_t *parent = json_object_get(raw, "parentPayload");
    e->parent_payload = parent ? json_deep_copy(parent) : json_object();
    e->shuffle = json_is_true(json_object_get(raw, "shufflePayloads"));
    json_t *seed = json_object_get(raw, "randomSeed");
    e->random_seed = seed ? json_integer_value(seed) : 42;
    if (experiment_int(raw, "runs", 10, 1, 10000000, &e->runs, err, err_size) < 0 ||
        experiment_int(raw, "threads", 10, 1, 100000, &e->threads, err, err_size) < 0 ||
        experiment_int(raw, "iterations", 1, 1, 100000, &e->iterations, err, err_size) < 0 ||
        experiment_int(raw, "warmupBuffer", 0, 0, 100000, &e->warmup_buffer, err, err_size) < 0)
        return -1;
    if (e->threads > e->runs) {
        snprintf(err, err_size, "threads (%d) is more than runs (%d): FaaS Runner splits runs among threads, so "
                 "threads must be at most runs", e->threads, e->runs);
        return -1;
    }
    json_t *sleep = json_object_get(raw, "sleepTime");
    e->sleep_s = sleep ? json_number_value(sleep) : 0;
    if (e->sleep_s < 0 || e->sleep_s > 86400) {
        snprintf(err, err_size, "sleepTime must be from 0 to 86400 seconds");
        return -1;
    }
    json_t *memory = json_object_get(raw, "memorySettings");
    if (json_array_size(memory) > sizeof e->memory_settings / sizeof e->memory_settings[0]) {
        snprintf(err, err_size, "memorySettings: at most %zu settings", sizeof e->memory_settings / sizeof e->memory_settings[0]);
        return -1;
    }
    size_t i;
    json_t *item;
    json_array_foreach(memory, i, item) {
        long long mb = json_integer_value(item);
        if (mb < CLOUD_MEMORY_MIN || mb > CLOUD_MEMORY_MAX) {
            snprintf(err, err_size, "memorySettings: %lld is outside %d to %d MB", mb, CLOUD_MEMORY_MIN, CLOUD_MEMORY_MAX);
            return -1;
        }
        e->memory_settings[e->memory_count++] = (int)mb;
    }
    e->call_async = json_is_true(json_object_get(raw, "callAsync"));
    e->remove_duplicate_containers = json_is_true(json_object_get(raw, "removeDuplicateContainers"));
    e->pass_payloads = json_is_true(json_object_get(raw, "passPayloads"));
    json_t *transitions = json_object_get(raw, "transitions");
    e->transitions = transitions ? json_deep_copy(transitions) : json_object();
    const char *name = json_string_value(json_object_get(raw, "experimentName"));
    snprintf(e->name, sizeof e->name, "%s", name && *name ? name : name_hint ? name_hint : "experiment");
    return 0;
}

void experiment_free(struct experiment *e)
{
    json_decref(e->source);
    json_decref(e->payloads);
    json_decref(e->parent_payload);
    json_decref(e->transitions);
    json_decref(e->warnings);
    memset(e, 0, sizeof *e);
}

/* splitmix64: a small, well-mixed generator; the same seed deals the same order. */
static unsigned long long experiment_next_random(unsigned long long *state)
{
    unsigned long long z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

json_t *experiment_deal(const struct experiment *e)
{
    /* Each distinct payload is merged once and dealt by reference: a pass of
     * 100,000 runs of three payloads holds three objects, not 100,000
     * copies (callers only read them). */
    size_t count = json_array_size(e->payloads);
    json_t *merged = json_array();
    for (size_t i = 0; merged != NULL && i < count; i++) {
        json_t *payload = json_deep_copy(e->parent_payload);
        json_object_update(payload, json_array_get(e->payloads, i));
        json_array_append_new(merged, payload);
    }
    json_t *dealt = merged != NULL && json_array_size(merged) == count ? json_array() : NULL;
    for (int i = 0; dealt != NULL && i < e->runs; i++)
        json_array_append(dealt, json_array_get(merged, (size_t)i % count));
    json_decref(merged);
    if (dealt != NULL && e->shuffle) {
        unsigned long long state = (unsigned long long)e->random_seed;
        for (size_t i = json_array_size(dealt); i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)(experiment_next_random(&state) % i);
            json_t *a = json_incref(json_array_get(dealt, i - 1));
            json_t *b = json_incref(json_array_get(dealt, j));
            json_array_set_new(dealt, i - 1, b);
            json_array_set_new(dealt, j, a);
        }
    }
    return dealt;
}
