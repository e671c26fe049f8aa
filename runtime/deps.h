/* deps: a cloud function's dependencies (`requirements=`,
 * `requirements_file=`), installed for the platform that runs it, not for
 * the notebook's machine, into a dependency layer cached beside the
 * notebook in .faaset/deps/HASH (folders 0700, files 0600). HASH covers the
 * requirements and the target (platform kind, Python version, architecture),
 * so an unchanged cell finds its layer and never runs pip again, and a
 * change of code alone keeps the layer (and, on aws, the published Lambda
 * layer).
 *
 * An install runs pip in a child process (runtime/python/faaset_deps.py
 * with the runtime's interpreter and the kernel's environment, so pip's own
 * PIP_* variables and pip.conf apply) whose output pipe is watched on the
 * kernel's reactor: the kernel keeps serving while pip works, and
 * deps_interrupt kills the child's process group. The child installs into
 * a staging folder, renamed to .faaset/deps/HASH when complete, so a kernel
 * killed mid-install or two kernels installing the same layer never leave
 * a half layer under its final name (a dead process's staging folder is
 * removed by the next install of that layer). */
#ifndef FAASET_DEPS_H
#define FAASET_DEPS_H

#include <stddef.h>

#include "reactor.h"

/* What the packages are installed for. */
struct deps_target {
    char kind[16];                /* "local" (the runtime's interpreter) or "lambda" (manylinux wheels: aws, and
                                     openfaas's images) */
    char python_version[8];       /* "3.12"; "" for local */
    char arch[8];                 /* "x86_64" or "arm64"; "" for local */
    int zip;                      /* the platform uploads the layer: also build layer.zip */
    char description[128];        /* "aws (python3.12, arm64: manylinux aarch64 wheels)", for messages */
};

/* A layer ready on disk. */
struct deps_layer {
    char hash[65];
    char dir[4096];               /* .faaset/deps/HASH: python/ holds the packages, layer.zip beside it */
    unsigned long long unzipped_bytes, zip_bytes;
    char installed[512];          /* "pkg 1.0, other 2.1" */
};

/* The target of PLATFORM for a function of RUNTIME ("python3.12") and ARCH:
 * 0 with *OUT; 1 when the platform installs requirements.txt itself from
 * the package (gcf), so no layer is needed. */
int deps_target_for(const char *platform, const char *runtime, const char *arch, struct deps_target *out);

struct deps;

/* WORKDIR is the notebook's folder, PYTHON the runtime's interpreter (it runs pip). */
struct deps *deps_new(struct reactor *reactor, const char *workdir, const char *python);
/* Ends every install (killing pip); their callbacks are not called. */
void deps_free(struct deps *deps);

/* How an install ended: LAYER when it worked, else ERROR_TYPE
 * ("DependencyError", "KeyboardInterrupt") and MESSAGE, a sentence naming
 * the package and the target. Valid only during the callback. */
typedef void (*deps_done_fn)(void *ctx, const struct deps_layer *layer, const char *error_type, const char *message);

/* The layer for REQUIREMENTS (requirements.txt text; FILE, when not NULL,
 * the file it was read from, given to pip so its -r and relative paths
 * work) on TARGET. Returns 1 with *LAYER when it is cached (DONE is not
 * called), 0 when an install started (DONE reports), or -1 with ERR. */
int deps_layer_get(struct deps *deps, const char *requirements, const char *file, const struct deps_target *target,
                   struct deps_layer *layer, deps_done_fn done, void *ctx, char *err, size_t err_size);

/* Whether the layer for REQUIREMENTS and FILE on TARGET is on disk: 1 with
 * *LAYER when it is, 0 when it is not (never installed, or its folder was
 * deleted: deps_layer_get installs it again), -1 with ERR. Runs nothing. */
int deps_layer_find(struct deps *deps, const char *requirements, const char *file, const struct deps_target *target,
                    struct deps_layer *layer, char *err, size_t err_size);

/* Stops every install under way; each reports KeyboardInterrupt. Returns
 * how many were stopped. */
int deps_interrupt(struct deps *deps);

#endif
