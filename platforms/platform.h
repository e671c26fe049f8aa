/* platform: the one interface every FaaS platform adapter implements, and
 * the registry that owns them. All operations are asynchronous: they return
 * at once and report through a `platform_done_fn` on the kernel's loop
 * (an adapter may report before returning). What the arguments point to is
 * valid only during the call: an adapter copies what it keeps. This fits every platform in
 * scope: long operations polled (GCF), state waits (Lambda Pending /
 * InProgress), image-only deploys (OpenFaaS), keys in URLs (Azure), and the
 * local platform's worker processes.
 *
 * Everything that changes a function on a platform is one operation, `sync`,
 * told by enum platform_sync what to do (deploy, configure, verify,
 * set_memory, remove): a cloud adapter does each as the same steps (read
 * the platform's function, compare, send what differs), so one entry point
 * serves them all. The registry keeps a function per operation for its
 * callers (platforms_deploy, ...).
 *
 * FAASET_TRACE_PLATFORM=FILE appends one JSON line per operation the
 * registry passes to an adapter ("op": deploy, configure, verify,
 * set_memory, remove or invoke), so tests can count platform calls. */
#ifndef FAASET_PLATFORM_H
#define FAASET_PLATFORM_H

#include <jansson.h>
#include <stddef.h>

#include "reactor.h"

/* What a platform needs to deploy or reconfigure a function. */
struct platform_function {
    const char *name;                 /* the deployed function's name */
    const char *handler;              /* "faaset_handler.handle" */
    const unsigned char *package;     /* the zip (deploy only) */
    size_t package_size;
    const char *code_hash;            /* hex SHA-256 of what built the package */
    int memory_mb;
    int timeout_s;
    int max_instances;                /* the most instances at once, 0 = the platform's default (gcf) */
    int allow_unauthenticated;        /* gcf: 1 anyone may call it, -1 only callers with a token, 0 leave as is */
    const char *arch;                 /* "x86_64" or "arm64" */
    const char *runtime;              /* "python3.12" */
    const json_t *env;                /* {"KEY": "value"} */
    const char *image;                /* a container image URI to deploy instead of the package, or NULL */
    /* containerize: the platform builds the function's image from SOURCE (the cell), DEF_NAME and the
     * dependency layer's python/ folder, on IMAGE_BASE (NULL: its default), pushes it to REGISTRY (NULL:
     * its `registry` setting) with oci_push.h, and deploys what it pushed. 0 on the platforms without images. */
    int containerize;
    const char *image_base;
    const char *registry;
    const char *source;
    const char *def_name;
    const char *requirements;
    const char *role;                 /* the function's execution role (aws), or NULL: the platform's setting */
    /* The function's dependencies installed for this platform (runtime/deps.h), or all NULL / 0: the
     * folder whose python/ holds the packages (and layer.zip, those under python/, where the platform
     * uploads them), the hash naming them, their size unpacked and zipped. */
    const char *layer_dir;
    const char *layer_hash;
    unsigned long long layer_unzipped_size, layer_zip_size;
};

/* How an operation ended. Valid only during the callback. */
struct platform_outcome {
    int ok;
    const char *error_type;           /* when !ok: "FunctionTimeout", "ValueError", ... */
    const char *message;
    const json_t *traceback;          /* array of strings, or NULL */
    const json_t *result;             /* invoke: the function's return value */
    /* Deploy, configure and verify: what the platform found it had to do,
     * replacing the kernel's guess ("updated code of", "up to date"), and
     * anything the user should know ("changed outside the notebook ..."). */
    const char *action;
    const char *note;
    const char *log;                  /* invoke with PLATFORM_INVOKE_LOG: the end of the call's log, or NULL */
    int throttled;                    /* the platform refused for now (HTTP 429): try again later */
    double retry_after_ms;            /* a throttled call: the platform's Retry-After, 0 when none */
    /* invoke over HTTP: when the request was handed to the engine and the
     * answer read (epoch ms), and the time between them on a monotonic
     * clock; all 0 when the platform does not time its calls itself */
    double sent_ms, received_ms, round_trip_ms;
};

/* Invoke flags. EVENT queues the call and reports once the platform has
 * accepted it (Lambda's Event type); LOG asks for the end of the call's log. */
#define PLATFORM_INVOKE_EVENT 1u
#define PLATFORM_INVOKE_LOG 2u

typedef void (*platform_done_fn)(void *ctx, const struct platform_outcome *outcome);

/* What an adapter's sync operation does to a function. DEPLOY makes the
 * platform's function match it, creating it if need be; CONFIGURE does so
 * when only its settings changed, not its code; VERIFY makes a deployed, unchanged function match again
 * if it was changed or deleted outside the notebook (a cloud platform's own
 * state can drift; the local one's cannot); SET_MEMORY changes only its
 * memory (experiments' memorySettings); REMOVE deletes it (a function the
 * platform does not have is an error). */
enum platform_sync {
    PLATFORM_SYNC_DEPLOY,
    PLATFORM_SYNC_CONFIGURE,
    PLATFORM_SYNC_VERIFY,
    PLATFORM_SYNC_SET_MEMORY,
    PLATFORM_SYNC_REMOVE
};

struct platform_ops {
    const char *name;
    /* 0 when the platform can be used now (e.g. credentials found), else -1
     * with ERR saying what to set; checked before any platform of a cell is
     * touched. NULL when always ready. */
    int (*check)(void *self, char *err, size_t err_size);
    /* Does KIND (enum platform_sync) to FUNCTION; for SET_MEMORY only its name
     * and memory_mb are set, for REMOVE only its name. */
    int (*sync)(void *self, enum platform_sync kind, const struct platform_function *function, platform_done_fn done,
                void *ctx);
    /* 1 when sync does PLATFORM_SYNC_VERIFY; 0 when there is nothing to check. */
    int verifies;
    int (*invoke)(void *self, const char *function, const json_t *payload, unsigned flags, platform_done_fn done,
                  void *ctx);
    /* Before an experiment's pass: opens connections for COUNT calls at once
     * to FUNCTION (how many it opened), and says how many are not up yet.
     * FUNCTION is the platform's name for it, as invoke takes it: where
     * each function has an address of its own (gcf's function URLs), the
     * connections go there. NULL when a platform has nothing to open ahead. */
    size_t (*prepare)(void *self, const char *function, size_t count);
    size_t (*preparing)(void *self, const char *function);
    /* The platform's own settings that go into the image it would build for
     * FUNCTION (its `registry`, its `image_base`, where the cell gives none),
     * written as text into OUT ("" when none apply): the kernel folds them
     * into the function's code hash, so changing one alone redeploys. Only
     * the options the hash sees are set in FUNCTION (containerize, image,
     * image_base, registry). NULL when the platform builds no images. */
    void (*image_settings)(void *self, const struct platform_function *function, char *out, size_t size);
    /* 1 when deploying FUNCTION sends the zip package, so the kernel builds
     * it; 0 when the platform builds an image instead (set in FUNCTION as
     * for image_settings). NULL: the package is sent unless FUNCTION has image=. */
    int (*uses_package)(void *self, const struct platform_function *function);
    /* Event calls (PLATFORM_INVOKE_EVENT) already answered "accepted" that
     * the adapter itself still sends (gcf: Google queues no calls to HTTP
     * functions): the kernel waits a moment for them before it stops. NULL
     * when the platform accepts Event calls itself (Lambda's queue). */
    size_t (*events_in_flight)(void *self);
    /* Applies `%platform NAME key=value` settings (raw strings). Returns 0 or -1 with ERR. */
    int (*apply_settings)(void *self, const json_t *settings, char *err, size_t err_size);
    void (*free)(void *self);
};

struct platforms;

/* Every platform this build knows. WORKDIR is the notebook's folder (state
 * lives in WORKDIR/.faaset); PYTHON runs local functions. */
struct platforms *platforms_new(struct reactor *reactor, const char *workdir, const char *python);
void platforms_free(struct platforms *platforms);

/* The Ith name a user may write (NULL past the last), for completion;
 * the registry in platforms.c is the only list of them. */
const char *platforms_name_at(size_t i);
int platforms_is_known(const char *name);
/* The names as "local, aws, ...", for messages, into OUT. */
void platforms_name_list(char *out, size_t size);
/* The keys `%platform NAME key=value` takes (NULL-terminated; empty for
 * an unknown NAME), for completion. */
const char *const *platforms_setting_keys(const char *name);
/* The name a platform's state is kept under: "ibm" for its alias
 * "openwhisk", else NAME itself. */
const char *platforms_canonical(const char *name);
/* Our name for one of FaaS Runner's platform names ("AWS Lambda" -> "aws"),
 * or NAME itself when it is none of them. */
const char *platforms_from_faas_runner(const char *name);

/* 0 when NAME has an adapter in this build and it is ready, else -1 with ERR saying why. */
int platforms_check(struct platforms *platforms, const char *name, char *err, size_t err_size);

/* 0 and the operation started, or -1 with ERR when NAME has no adapter here. */
int platforms_deploy(struct platforms *platforms, const char *name, const struct platform_function *function,
                     platform_done_fn done, void *ctx, char *err, size_t err_size);
int platforms_configure(struct platforms *platforms, const char *name, const struct platform_function *function,
                        platform_done_fn done, void *ctx, char *err, size_t err_size);
int platforms_invoke(struct platforms *platforms, const char *name, const char *function, const json_t *payload,
                     unsigned flags, platform_done_fn done, void *ctx, char *err, size_t err_size);
/* The Event calls every adapter still sends (platform_ops.events_in_flight),
 * and, in WHERE, on which platforms ("gcf"); 0 when none. */
size_t platforms_events_in_flight(struct platforms *platforms, char *where, size_t where_size);
/* 1 when NAME's adapter checks unchanged functions (platform_ops.verifies). */
int platforms_can_verify(struct platforms *platforms, const char *name);
int platforms_verify(struct platforms *platforms, const char *name, const struct platform_function *function,
                     platform_done_fn done, void *ctx, char *err, size_t err_size);
int platforms_apply_settings(struct platforms *platforms, const char *name, const json_t *settings, char *err,
                             size_t err_size);
int platforms_remove(struct platforms *platforms, const char *name, const char *function, platform_done_fn done,
                     void *ctx, char *err, size_t err_size);
int platforms_set_memory(struct platforms *platforms, const char *name, const char *function, int memory_mb,
                         platform_done_fn done, void *ctx, char *err, size_t err_size);
/* The platform's prepare / preparing (see struct platform_ops); 0 when it has none or is unknown. */
size_t platforms_prepare(struct platforms *platforms, const char *name, const char *function, size_t count);
size_t platforms_preparing(struct platforms *platforms, const char *name, const char *function);
/* The platform's uses_package for FUNCTION (see struct platform_ops); for one without it, 1 unless FUNCTION has image=. */
int platforms_uses_package(struct platforms *platforms, const char *name, const struct platform_function *function);
/* The platform's image_settings for FUNCTION (see struct platform_ops); "" when it has none or is unknown. */
void platforms_image_settings(struct platforms *platforms, const char *name, const struct platform_function *function,
                              char *out, size_t size);

/* Adapters. */
void *local_platform_new(struct reactor *reactor, const char *workdir, const char *python);
extern const struct platform_ops local_platform_ops;
void *aws_platform_new(struct reactor *reactor);
extern const struct platform_ops aws_platform_ops;
void *gcf_platform_new(struct reactor *reactor);
extern const struct platform_ops gcf_platform_ops;
void *ow_platform_new(struct reactor *reactor);
extern const struct platform_ops ow_platform_ops;
void *of_platform_new(struct reactor *reactor);
extern const struct platform_ops of_platform_ops;
void *az_platform_new(struct reactor *reactor);
extern const struct platform_ops az_platform_ops;

#endif
