/* platforms: the registry of adapters and the tracing of their operations
 * (see platform.h). Names the user may write but whose adapter this build
 * does not have yet give a clear error instead of a deploy. An alias
 * ("openwhisk" for "ibm") reaches its platform's adapter, and the layers
 * above keep state under the canonical name (platforms_canonical). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "log.h"
#include "platform.h"

struct platform_slot {
    const char *name;
    const struct platform_ops *ops;
    void *self;
};

struct platforms {
    struct platform_slot slots[6]; /* local, aws, gcf, ibm, openfaas, azure */
    char *trace_path;
};

/* Every platform name a user may write, and FaaS Runner's names for it
 * (its function files say "platform": "AWS Lambda"). */
static const struct platforms_known {
    const char *name;
    const char *faas_runner[3];
    const char *alias_of;      /* the platform this name is another name for, or NULL */
    const char *settings[9];   /* what its `%platform NAME key=value` takes, for completion */
} platforms_known[] = {
    {"local", {NULL}, NULL, {"concurrency", "python", NULL}},
    {"aws", {"AWS Lambda", "AWS", NULL}, NULL, {"profile", "region", "role", "registry", "endpoint", NULL}},
    {"gcf", {"Google", "Google Cloud Functions", NULL}, NULL, {"project", "region", "generation", "endpoint", NULL}},
    {"openwhisk", {"OpenWhisk", NULL}, "ibm", {"apihost", "namespace", "iam_apikey_file", "iam_endpoint", "kind",
                                               "max_memory", "max_timeout", NULL}},
    {"ibm", {"IBM", "IBM Cloud Functions", NULL}, NULL, {"apihost", "namespace", "iam_apikey_file", "iam_endpoint",
                                                          "kind", "max_memory", "max_timeout", NULL}},
    {"azure", {"Azure", "Azure Functions", NULL}, NULL, {"app", "resource_group", "subscription", "publish_profile",
                                                         "management", "app_url", "scm_url", NULL}},
    {"openfaas", {"OpenFaaS", NULL}, NULL, {"gateway", "registry", "image_base", "ready_timeout", NULL}},
};

#define PLATFORMS_KNOWN_COUNT (sizeof platforms_known / sizeof platforms_known[0])

const char *platforms_name_at(size_t i)
{
    return i < PLATFORMS_KNOWN_COUNT ? platforms_known[i].name : NULL;
}

int platforms_is_known(const char *name)
{
    for (size_t i = 0; i < PLATFORMS_KNOWN_COUNT; i++)
        if (strcmp(name, platforms_known[i].name) == 0)
            return 1;
    return 0;
}

void platforms_name_list(char *out, size_t size)
{
    if (size > 0)
        out[0] = '\0';
    for (size_t i = 0; i < PLATFORMS_KNOWN_COUNT; i++)
        buffer_appendf_fixed(out, size, "%s%s", i ? ", " : "", platforms_known[i].name);
}

const char *const *platforms_setting_keys(const char *name)
{
    static const char *const none[] = {NULL};
    for (size_t i = 0; i < PLATFORMS_KNOWN_COUNT; i++)
        if (strcmp(name, platforms_known[i].name) == 0)
            return platforms_known[i].settings;
    return none;
}

const char *platforms_canonical(const char *name)
{
    for (size_t i = 0; i < PLATFORMS_KNOWN_COUNT; i++)
        if (strcmp(name, platforms_known[i].name) == 0)
            return platforms_known[i].alias_of != NULL ? platforms_known[i].alias_of : platforms_known[i].name;
    return name;
}

const char *platforms_from_faas_runner(const char *name)
{
    for (size_t i = 0; i < PLATFORMS_KNOWN_COUNT; i++)
        for (size_t j = 0; platforms_known[i].faas_runner[j] != NULL; j++)
            if (strcmp(name, platforms_known[i].faas_runner[j]) == 0)
                return platforms_canonical(platforms_known[i].name);
    return name;
}

struct platforms *platforms_new(struct reactor *reactor, const char *workdir, const char *python)
{
    struct platforms *platforms = calloc(1, sizeof *platforms);
    if (platforms == NULL)
        return NULL;
    platforms->slots[0] = (struct platform_slot){"local", &local_platform_ops,
                                                 local_platform_new(reactor, workdir, python)};
    platforms->slots[1] = (struct platform_slot){"aws", &aws_platform_ops, aws_platform_new(reactor)};
    platforms->slots[2] = (struct platform_slot){"gcf", &gcf_platform_ops, gcf_platform_new(reactor)};
    platforms->slots[3] = (struct platform_slot){"ibm", &ow_platform_ops, ow_platform_new(reactor)};
    platforms->slots[4] = (struct platform_slot){"openfaas", &of_platform_ops, of_platform_new(reactor)};
    platforms->slots[5] = (struct platform_slot){"azure", &az_platform_ops, az_platform_new(reactor)};
    const char *trace = getenv("FAASET_TRACE_PLATFORM");
    if (trace != NULL && *trace)
        platforms->trace_path = strdup(trace);
    for (size_t i = 0; i < sizeof platforms->slots / sizeof platforms->slots[0]; i++) {
        if (platforms->slots[i].self == NULL) {
            platforms_free(platforms);
            return NULL;
        }
    }
    return platforms;
}

void platforms_free(struct platforms *platforms)
{
    if (platforms == NULL)
        return;
    for (size_t i = 0; i < sizeof platforms->slots / sizeof platforms->slots[0]; i++)
        if (platforms->slots[i].self != NULL)
            platforms->slots[i].ops->free(platforms->slots[i].self);
    free(platforms->trace_path);
    free(platforms);
}

static struct platform_slot *platforms_find(struct platforms *platforms, const char *name, char *err, size_t err_size)
{
    const char *canonical = platforms_canonical(name);
    for (size_t i = 0; i < sizeof platforms->slots / sizeof platforms->slots[0]; i++)
        if (strcmp(canonical, platforms->slots[i].name) == 0)
            return &platforms->slots[i];
    char names[128];
    platforms_name_list(names, sizeof names);
    snprintf(err, err_size, "unknown platform '%s'; choose from %s", name, names);
    return NULL;
}

int platforms_check(struct platforms *platforms, const char *name, char *err, size_t err_size)
{
    struct platform_slot *slot = platforms_find(platforms, name, err, err_size);
    if (slot == NULL)
        return -1;
    return slot->ops->check != NULL ? slot->ops->check(slot->self, err, err_size) : 0;
}

static void platforms_trace(struct platforms *platforms, const char *platform, const char *op, const char *function)
{
    if (platforms->trace_path == NULL)
        return;
    FILE *file = fopen(platforms->trace_path, "a");
    if (file == NULL)
        return;
    json_t *line = json_pack("{s:s, s:s, s:s}", "platform", platform, "op", op, "function", function);
    char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
    if (text != NULL)
        fprintf(file, "%s\n", text);
    free(text);
    json_decref(line);
    fclose(file);
}

int platforms_deploy(struct platforms *platforms, const char *name, const struct platform_function *function,
                     platform_done_fn done, void *ctx, char *err, size_t err_size)
{
    struct platform_slot *slot = platforms_find(platforms, name, err, err_size);
    if (slot == NULL)
        return -1;
    platforms_trace(platforms, name, "deploy", function->name);
    return slot->ops->sync(slot->self, PLATFORM_SYNC_DEPLOY, function, done, ctx);
}

int platforms_configure(struct platforms *platforms, const char *name, const struct platform_function *function,
                        platform_done_fn done, void *ctx, char *err, size_t err_size)
{
    struct platform_slot *slot = platforms_find(platforms, name, err, err_size);
    if (slot == NULL)
        return -1;
    platforms_trace(platforms, name, "configure", function->name);
    return slot->ops->sync(slot->self, PLATFORM_SYNC_CONFIGURE, function, done, ctx);
}

int platforms_invoke(struct platforms *platforms, const char *name, const char *function, const json_t *payload,
                     unsigned flags, platform_done_fn done, void *ctx, char *err, size_t err_size)
{
    struct platform_slot *slot = platforms_find(platforms, name, err, err_size);
    if (slot == NULL)
        return -1;
    platforms_trace(platforms, name, "invoke", function);
    return slot->ops->invoke(slot->self, function, payload, flags, done, ctx);
}

int platforms_can_verify(struct platforms *platforms, const char *name)
{
    char err[256];
    struct platform_slot *slot = platforms_find(platforms, name, err, sizeof err);
    return slot != NULL && slot->ops->verifies;
}

int platforms_verify(struct platforms *platforms, const char *name, const struct platform_function *function,
                     platform_done_fn done, void *ctx, char *err, size_t err_size)
{
    struct platform_slot *slot = platforms_find(platforms, name, err, err_size);
    if (slot == NULL)
        return -1;
    if (!slot->ops->verifies) {
        snprintf(err, err_size, "the %s platform has nothing to verify", name);
        return -1;
    }
    platforms_trace(platforms, name, "verify", function->name);
    return slot->ops->sync(slot->self, PLATFORM_SYNC_VERIFY, function, done, ctx);
}

int platforms_apply_settings(struct platforms *platforms, const char *name, const json_t *settings, char *err,
                             size_t err_size)
{
    struct platform_slot *slot = platforms_find(platforms, name, err, err_size);
    return slot == NULL ? -1 : slot->ops->apply_settings(slot->self, settings, err, err_size);
}

int platforms_remove(struct platforms *platforms, const char *name, const char *function, platform_done_fn done,
                     void *ctx, char *err, size_t err_size)
{
    struct platform_slot *slot = platforms_find(platforms, name, err, err_size);
    if (slot == NULL)
        return -1;
    platforms_trace(platforms, name, "remove", function);
    struct platform_function named = {.name = function};
    return slot->ops->sync(slot->self, PLATFORM_SYNC_REMOVE, &named, done, ctx);
}

size_t platforms_prepare(struct platforms *platforms, const char *name, const char *function, size_t count)
{
    char err[160];
    struct platform_slot *slot = platforms_find(platforms, name, err, sizeof err);
    return slot != NULL && slot->ops->prepare != NULL ? slot->ops->prepare(slot->self, function, count) : 0;
}

size_t platforms_events_in_flight(struct platforms *platforms, char *where, size_t where_size)
{
    size_t total = 0;
    if (where_size > 0)
        where[0] = '\0';
    for (size_t i = 0; i < sizeof platforms->slots / sizeof platforms->slots[0]; i++) {
        struct platform_slot *slot = &platforms->slots[i];
        size_t count = slot->self != NULL && slot->ops->events_in_flight != NULL
                           ? slot->ops->events_in_flight(slot->self) : 0;
        if (count == 0)
            continue;
        size_t used = strlen(where);
        snprintf(where + used, where_size - used, "%s%s", total ? ", " : "", slot->ops->name);
        total += count;
    }
    return total;
}

size_t platforms_preparing(struct platforms *platforms, const char *name, const char *function)
{
    char err[160];
    struct platform_slot *slot = platforms_find(platforms, name, err, sizeof err);
    return slot != NULL && slot->ops->preparing != NULL ? slot->ops->preparing(slot->self, function) : 0;
}

int platforms_uses_package(struct platforms *platforms, const char *name, const struct platform_function *function)
{
    char err[160];
    struct platform_slot *slot = platforms_find(platforms, name, err, sizeof err);
    if (slot != NULL && slot->ops->uses_package != NULL)
        return slot->ops->uses_package(slot->self, function);
    return function->image == NULL;
}

void platforms_image_settings(struct platforms *platforms, const char *name, const struct platform_function *function,
                              char *out, size_t size)
{
    char err[160];
    struct platform_slot *slot = platforms_find(platforms, name, err, sizeof err);
    out[0] = '\0';
    if (slot != NULL && slot->ops->image_settings != NULL)
        slot->ops->image_settings(slot->self, function, out, size);
}

int platforms_set_memory(struct platforms *platforms, const char *name, const char *function, int memory_mb,
                         platform_done_fn done, void *ctx, char *err, size_t err_size)
{
    struct platform_slot *slot = platforms_find(platforms, name, err, err_size);
    if (slot == NULL)
        return -1;
    platforms_trace(platforms, name, "set_memory", function);
    struct platform_function memory = {.name = function, .memory_mb = memory_mb};
    return slot->ops->sync(slot->self, PLATFORM_SYNC_SET_MEMORY, &memory, done, ctx);
}
