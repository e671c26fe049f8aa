/* experiment: a FaaS Runner experiment file, read and checked. Every key
 * of FaaS Runner's schema is accepted with its default (the keys and
 * defaults are in experiment.c's table); a key with the wrong type is an error that
 * names the key and the type it needs; an unknown key is a warning that
 * suggests the nearest known one; threads > runs is an error, as in FaaS
 * Runner. The payloads of a pass are dealt here: the list repeated until
 * there are `runs` of them, shuffled with `randomSeed` when asked (the
 * same order every time), each merged over `parentPayload`. faaset's own
 * keys: `platforms` (the platforms to run the same runs on, each a known
 * platform name) and `platformOrder` ("parallel", the default, or
 * "sequential"). */
#ifndef FAASET_EXPERIMENT_H
#define FAASET_EXPERIMENT_H

#include <jansson.h>
#include <stddef.h>

#define EXPERIMENT_MAX_PLATFORMS 8

struct experiment {
    json_t *source;              /* the file as given */
    json_t *payloads;            /* array of objects */
    json_t *parent_payload;      /* object */
    int shuffle;
    long long random_seed;
    int runs;
    int threads;
    int iterations;
    double sleep_s;
    int memory_settings[64];
    int memory_count;
    int call_async;
    int warmup_buffer;
    int remove_duplicate_containers;
    int pass_payloads;
    json_t *transitions;         /* {"from": "to"}: keys renamed between pipeline stages */
    char platforms[EXPERIMENT_MAX_PLATFORMS][32]; /* canonical names; none: where the function is deployed */
    int platform_count;
    int platforms_sequential;    /* platformOrder "sequential": one platform after another */
    char name[128];
    json_t *warnings;            /* array of strings */
};

/* The name of FaaS Runner's experiment key number INDEX (in the schema's
 * order), or NULL past the last: for completion and suggestions. */
const char *experiment_key_name(size_t index);

/* Reads RAW (an object; NAME_HINT names it when experimentName is absent;
 * BASE_DIR resolves payloadFolder). Returns 0, or -1 with ERR. */
int experiment_parse(const json_t *raw, const char *name_hint, const char *base_dir, struct experiment *out,
                     char *err, size_t err_size);
void experiment_free(struct experiment *experiment);

/* The RUNS payloads of one pass, in launch order: a new array whose
 * items are shared (one object per distinct payload): read them only. */
json_t *experiment_deal(const struct experiment *experiment);

#endif
