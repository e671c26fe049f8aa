/* cloud: the kernel's side of cloud functions. It answers the runtime's
 * `define` and `invoke` upcalls (see runtime/PROTOCOL.md): options are
 * checked, a code hash and a configuration hash are computed, the deploy
 * state beside the notebook decides what each platform needs (nothing, a
 * configuration update or a code deploy), the package is built once and
 * handed to the platforms, and calls are routed to the platform a function
 * lives on. It also keeps the default platform set with %platform and the
 * functions defined in this kernel, for %functions. */
#ifndef FAASET_CLOUD_H
#define FAASET_CLOUD_H

#include <jansson.h>

#include "reactor.h"

struct cloud;

/* Answers an upcall: RESULT is the result frame's fields (stolen). */
typedef void (*cloud_reply_fn)(void *ctx, json_t *result);

/* WORKDIR is the notebook's folder; PYTHON runs local functions. */
struct cloud *cloud_new(struct reactor *reactor, const char *workdir, const char *python);
void cloud_free(struct cloud *cloud);

void cloud_define(struct cloud *cloud, const json_t *upcall, cloud_reply_fn reply, void *ctx);
void cloud_invoke(struct cloud *cloud, const json_t *upcall, cloud_reply_fn reply, void *ctx);

/* Deletes NAME from PLATFORM (NULL: where calls to it go) and forgets its
 * deploy state there. REPLY gets {"status": "ok", "line": "aws: deleted
 * NAME in T ms"} or the error fields. */
void cloud_delete(struct cloud *cloud, const char *name, const char *platform, cloud_reply_fn reply, void *ctx);

/* Sets only the memory of NAME where it is deployed (experiments'
 * memorySettings). The state then records that the configuration no longer
 * matches the cell, so running the cell again restores it. REPLY gets
 * {"status": "ok"} or the error fields. */
void cloud_set_memory(struct cloud *cloud, const char *name, int memory_mb, cloud_reply_fn reply, void *ctx);

/* The platform's name for NAME on PLATFORM (remote=), from this kernel or
 * the state on disk, into OUT. An invoke upcall may carry it as "remote",
 * so that a caller making many calls looks it up once. */
void cloud_remote_name(struct cloud *cloud, const char *name, const char *platform, char *out, size_t size);

/* The platform calls to NAME go to (see cloud_invoke), into OUT. */
#define CLOUD_PLATFORM_NAME_SIZE 32
void cloud_platform_of(struct cloud *cloud, const char *name, char *out, size_t size);

/* The record of NAME on its platform, for an experiment's metadata
 * (code hash, memory, ...), or NULL. */
json_t *cloud_describe(struct cloud *cloud, const char *name);

/* %platform NAME key=value...: sets the default platform and its settings.
 * Returns 0 with a confirmation in MESSAGE, or -1 with the error in MESSAGE. */
int cloud_set_platform(struct cloud *cloud, const char *name, const json_t *settings, char *message,
                       size_t message_size);
const char *cloud_default_platform(const struct cloud *cloud);

/* Every function known here or on disk, for %functions: [{name, platform,
 * code_hash, config_hash, deployed_at, memory_mb, timeout_s, calls}]. */
json_t *cloud_list(struct cloud *cloud);

/* Names of the functions defined in this kernel, for completion. */
json_t *cloud_function_names(struct cloud *cloud);

#endif
