/* cloud: the kernel's side of cloud functions. It answers the runtime's
 * `define` and `invoke` upcalls (see runtime/PROTOCOL.md): options are
 * checked, a code hash and a configuration hash are computed, the deploy
 * state beside the notebook decides what each platform needs (nothing, a
 * configuration update or a code deploy), the package is built once and
 * handed to the platforms, and calls are routed to the platform a function
 * lives on. It also keeps the default platform set with %platform and the
 * functions defined in this kernel, for %functions.
 *
 * C callers (the experiment targets, %invoke, %delete, the command line)
 * get typed answers: a `struct cloud_outcome`. JSON is only for the
 * runtime's upcalls, where Python is on the other side (cloud_define,
 * cloud_invoke). */
#ifndef FAASET_CLOUD_H
#define FAASET_CLOUD_H

#include <jansson.h>

#include "deploy_state.h"
#include "platform.h"
#include "reactor.h"

struct cloud;

/* Answers an upcall: RESULT is the result frame's fields (stolen). */
typedef void (*cloud_reply_fn)(void *ctx, json_t *result);

/* How a call, delete or memory change ended; valid during the callback.
 * PLATFORM is the platform's outcome, or the kernel's own error when the
 * platform was never reached (error_type "PlatformUnavailable", ...). */
struct cloud_outcome {
    struct platform_outcome platform;
    double round_trip_ms;            /* from the call to its answer, backoff included */
    int retries;                     /* throttled tries repeated here */
    const char *line;                /* delete: "aws: deleted NAME in T ms" */
};

typedef void (*cloud_done_fn)(void *ctx, const struct cloud_outcome *outcome);

/* A call of a function where it is deployed. */
struct cloud_call {
    const char *function;
    const char *platform;            /* NULL: where calls to it go */
    const char *remote;              /* the platform's name for it; NULL: looked up */
    const json_t *payload;
    unsigned flags;                  /* PLATFORM_INVOKE_EVENT, PLATFORM_INVOKE_LOG */
    int retry;                       /* retry throttled calls here (the experiment runner retries itself) */
};

/* WORKDIR is the notebook's folder; PYTHON runs local functions. */
struct cloud *cloud_new(struct reactor *reactor, const char *workdir, const char *python);
void cloud_free(struct cloud *cloud);

/* The runtime's define and invoke upcalls (runtime/PROTOCOL.md). */
void cloud_define(struct cloud *cloud, const json_t *upcall, cloud_reply_fn reply, void *ctx);
void cloud_invoke(struct cloud *cloud, const json_t *upcall, cloud_reply_fn reply, void *ctx);

/* Calls a function; DONE gets how it ended. A throttled call is retried
 * (retry.h) when CALL asks for it. */
void cloud_call(struct cloud *cloud, const struct cloud_call *call, cloud_done_fn done, void *ctx);

/* The result of a successful call as shown to users: the function's value
 * with roundTripTime and, when it has SAAF's runtime, latency added (a new
 * reference). */
json_t *cloud_shown_result(const struct cloud_outcome *outcome);

/* A failed call's traceback (the function's, with the end of its log
 * after it when the platform sent one): a new array. */
json_t *cloud_traceback(const struct platform_outcome *outcome);

/* Deletes NAME from PLATFORM (NULL: where calls to it go) and forgets its
 * deploy state there; the outcome's `line` says what was done. */
void cloud_delete(struct cloud *cloud, const char *name, const char *platform, cloud_done_fn done, void *ctx);

/* Sets only the memory of NAME on PLATFORM (NULL: where calls to it go;
 * experiments' memorySettings). The state then records that the configuration no longer
 * matches the cell (config hash CLOUD_SET_BY_EXPERIMENT), so running the
 * cell again restores it. */
#define CLOUD_SET_BY_EXPERIMENT "set-by-experiment"
void cloud_set_memory(struct cloud *cloud, const char *name, const char *platform, int memory_mb, cloud_done_fn done,
                      void *ctx);

/* NAME's deploy record on PLATFORM (NULL: where its calls go;
 * deploy_state.h): 1 and *OUT, 0 when there is none, -1 with ERR when it
 * cannot be read. */
int cloud_record(struct cloud *cloud, const char *name, const char *platform, struct deploy_record *out, char *err,
                 size_t err_size);

/* After an experiment: sets NAME's memory back to SAVED's (its record from
 * before the experiment, what the cell deployed), then puts SAVED's memory
 * and config hash back in the record, unless the cell was run again
 * meanwhile. The outcome fails when the platform refused or the record
 * cannot be written. */
void cloud_restore_memory(struct cloud *cloud, const char *name, const char *platform,
                          const struct deploy_record *saved, cloud_done_fn done, void *ctx);

/* The platform's name for NAME on PLATFORM (remote=), from this kernel or
 * the state on disk, into OUT. A call may carry it as `remote`, so that a
 * caller making many calls looks it up once. */
void cloud_remote_name(struct cloud *cloud, const char *name, const char *platform, char *out, size_t size);

/* The platform calls to NAME go to (see cloud_invoke), into OUT. */
#define CLOUD_PLATFORM_NAME_SIZE 32
void cloud_platform_of(struct cloud *cloud, const char *name, char *out, size_t size);

/* The record of NAME on PLATFORM (NULL: where its calls go), for an
 * experiment's metadata: {"name", "platform"} and, when it is deployed,
 * "code_hash", "config_hash", "deployed_at", "memory_mb", "timeout_s". */
json_t *cloud_describe(struct cloud *cloud, const char *name, const char *platform);

/* The platforms NAME is deployed to from this folder (a new array): those
 * of its cell in this kernel that have a deploy record, in the cell's
 * order, else every platform with a record on disk. */
json_t *cloud_deployed_platforms(struct cloud *cloud, const char *name);

/* What `?fn` shows about NAME: {"name", "run", "remote", "platforms":
 * [{"platform", "deployed", "code_hash", "config_hash", "deployed_at",
 * "memory_mb", "timeout_s", "state"}]}, "state" a sentence (up to date,
 * not checked against the platform in this kernel yet, not deployed); NULL
 * when no function of that name is defined in this kernel. */
json_t *cloud_inspect(struct cloud *cloud, const char *name);

/* Opens PLATFORM's connections ahead of COUNT calls at once to FUNCTION
 * (the platform's name for it, see cloud_remote_name), and how many are not
 * up yet (see struct platform_ops); 0 when it has nothing to open. */
size_t cloud_prepare(struct cloud *cloud, const char *platform, const char *function, size_t count);
size_t cloud_preparing(struct cloud *cloud, const char *platform, const char *function);

/* %platform NAME key=value...: sets the default platform and its settings.
 * Returns 0 with a confirmation in MESSAGE, or -1 with the error in MESSAGE. */
int cloud_set_platform(struct cloud *cloud, const char *name, const json_t *settings, char *message,
                       size_t message_size);
const char *cloud_default_platform(const struct cloud *cloud);

/* Interrupt: stops the dependency installs under way (their defines fail
 * with KeyboardInterrupt, nothing deployed). Returns how many it stopped. */
int cloud_interrupt(struct cloud *cloud);

/* The Event calls the platforms still send themselves (gcf's), which the
 * kernel and the command line wait for, CLOUD_EVENT_WAIT_MS at most, before
 * they stop, and in WHERE on which platforms; 0 when none. Under
 * jupyter_client's 5 s before it kills a kernel that has not exited. */
#define CLOUD_EVENT_WAIT_MS 3000
size_t cloud_events_in_flight(struct cloud *cloud, char *where, size_t where_size);
/* The sentence (ending in a newline) for UNSENT Event calls on WHERE when
 * WHO ("the kernel", "faaset") stopped without sending them, after WAITED
 * (1: it waited CLOUD_EVENT_WAIT_MS). */
void cloud_unsent_sentence(size_t unsent, const char *where, const char *who, int waited, char *out, size_t size);

/* Keeps MESSAGE in the notebook's folder (.faaset/notice, private) for the
 * next kernel started there to show on its first cell: what this kernel
 * could not finish before it stopped. */
void cloud_leave_notice(struct cloud *cloud, const char *message);
/* The notice an earlier kernel left in the folder (removed now), or NULL; free() it. */
char *cloud_take_notice(struct cloud *cloud);

/* Every function known here or on disk, for %functions: deploy_state_list's
 * items (the configuration each cell deployed, env names without values)
 * with "calls", where calls to it go. */
json_t *cloud_list(struct cloud *cloud);

/* Names of the functions defined in this kernel, for completion. */
json_t *cloud_function_names(struct cloud *cloud);

#endif
