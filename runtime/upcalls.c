/* upcalls: the table of the runtime's upcalls and the answer's way back
 * (see upcalls.h). Each upcall gets a small record with its call number
 * and the runtime's generation; the handler answers through it once. */
#include "upcalls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct upcalls_pending {
    struct pyhost *runtime;
    json_int_t call;
    unsigned generation;
    char result_type[48];
};

typedef void (*upcalls_handler_fn)(const struct upcalls *upcalls, const json_t *frame, cloud_reply_fn reply,
                                   void *reply_ctx);

static void upcalls_define(const struct upcalls *upcalls, const json_t *frame, cloud_reply_fn reply, void *ctx)
{
    cloud_define(upcalls->cloud, frame, reply, ctx);
}

static void upcalls_invoke(const struct upcalls *upcalls, const json_t *frame, cloud_reply_fn reply, void *ctx)
{
    cloud_invoke(upcalls->cloud, frame, reply, ctx);
}

static void upcalls_experiment(const struct upcalls *upcalls, const json_t *frame, cloud_reply_fn reply, void *ctx)
{
    upcalls->experiment(upcalls->experiment_ctx, frame, reply, ctx);
}

/* `?fn`: what the kernel knows of a function ({"status", "function"}, or an error). */
static void upcalls_describe(const struct upcalls *upcalls, const json_t *frame, cloud_reply_fn reply, void *ctx)
{
    const char *name = json_string_value(json_object_get(frame, "function"));
    json_t *described = name != NULL ? cloud_inspect(upcalls->cloud, name) : NULL;
    if (described == NULL)
        reply(ctx, json_pack("{s:s, s:s, s:s}", "status", "error", "ename", "NameError", "evalue",
                             "no cloud function of that name is defined in this kernel"));
    else
        reply(ctx, json_pack("{s:s, s:o}", "status", "ok", "function", described));
}

static const struct {
    const char *type;
    upcalls_handler_fn handle;
} upcalls_table[] = {
    {"define", upcalls_define},
    {"invoke", upcalls_invoke},
    {"experiment", upcalls_experiment},
    {"describe", upcalls_describe},
};

int upcalls_is_upcall(const char *type, const json_t *frame)
{
    if (json_is_integer(json_object_get(frame, "call")))
        return 1;
    for (size_t i = 0; i < sizeof upcalls_table / sizeof upcalls_table[0]; i++)
        if (strcmp(type, upcalls_table[i].type) == 0)
            return 1;
    return 0;
}

/* Sends RESULT (stolen) to the runtime that asked, if it is still the same one. */
static void upcalls_answer(void *ctx, json_t *result)
{
    struct upcalls_pending *pending = ctx;
    if (result != NULL && pending->generation == pyhost_generation(pending->runtime) &&
        pyhost_running(pending->runtime)) {
        json_object_set_new(result, "type", json_string(pending->result_type));
        json_object_set_new(result, "call", json_integer(pending->call));
        if (pyhost_send(pending->runtime, result) < 0)
            log_warn("the runtime went away before a %s arrived", pending->result_type);
    }
    json_decref(result);
    free(pending);
}

void upcalls_handle(const struct upcalls *upcalls, const char *type, const json_t *frame)
{
    json_t *call = json_object_get(frame, "call");
    if (!json_is_integer(call)) {
        log_warn("ignoring a %s upcall without a call number", type);
        return;
    }
    struct upcalls_pending *pending = calloc(1, sizeof *pending);
    if (pending == NULL) {
        log_error("out of memory: a %s upcall is not answered", type);
        return;
    }
    *pending = (struct upcalls_pending){.runtime = upcalls->runtime, .call = json_integer_value(call),
                                        .generation = pyhost_generation(upcalls->runtime)};
    snprintf(pending->result_type, sizeof pending->result_type, "%.32s_result", type);
    for (size_t i = 0; i < sizeof upcalls_table / sizeof upcalls_table[0]; i++) {
        if (strcmp(type, upcalls_table[i].type) == 0) {
            upcalls_table[i].handle(upcalls, frame, upcalls_answer, pending);
            return;
        }
    }
    char evalue[160];
    snprintf(evalue, sizeof evalue, "this kernel does not know the upcall '%.64s'", type);
    upcalls_answer(pending, json_pack("{s:s, s:s, s:s}", "status", "error", "ename", "UnknownUpcall", "evalue", evalue));
}
