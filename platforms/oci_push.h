/* oci_push: builds a function's container image on a base image and
 * pushes it to a registry, without a container daemon. This is the entry
 * point the platform adapters call (aws for `containerize=True`, openfaas
 * for every deploy): give it the base, the target and the function's
 * code; it reports the pushed image's digest.
 *
 * The image (README "Container images"): the base's layers as they are,
 * then a dependency layer (the folder DEPS_DIR under /function/deps/, only
 * with requirements), then the code layer (/function/ holding the files of
 * the zip package, platforms/package.h, and EXTRA_FILES); the config is
 * the base's with PYTHONPATH=/function/deps:/function, WorkingDir
 * /function, the labels, and the entry point given (oci_image.h). Layers
 * are deterministic (oci_layer.h): one cell gives one digest.
 *
 * The push, one step after another on the kernel's loop: the base's
 * manifest (an index: its linux/ARCH entry) and config are read from the
 * base's registry; each blob is looked for in the target (HEAD) and, when
 * missing, mounted from the base's repository when both are in one
 * registry, else copied from the base's registry (a base layer) or
 * uploaded: POST opens the upload; a small blob of ours goes in one PUT
 * ?digest=; a base layer, or one of ours over 8 MiB, goes in 8 MiB chunks
 * (a ranged GET from the base's registry, its digest checked as it comes,
 * then a PATCH with Content-Range each), then a PUT ?digest= without a
 * body, so memory stays bounded whatever a layer's size; the manifest goes last
 * (PUT /v2/REPO/manifests/TAG) and the registry's Docker-Content-Digest
 * must be ours. So a second push of the same cell sends no blob at all,
 * and a code change sends one small layer and the config.
 *
 * Credentials: oci_credentials.h, looked up as the push starts (a
 * credential helper runs on the loop: the kernel answers meanwhile); for
 * an ECR registry without any there,
 * ECR's GetAuthorizationToken through ECR_CLIENT (an aws_client of
 * service "ecr"), its token (12 hours) cached for the kernel's life. An
 * ECR target's repository is created first through the same client
 * (CreateRepository; one that exists, or credentials not allowed to
 * create, go on to the push), as ECR does not create one on push. */
#ifndef FAASET_OCI_PUSH_H
#define FAASET_OCI_PUSH_H

#include <stddef.h>

#include "aws_client.h"
#include "oci_layer.h"
#include "reactor.h"

struct oci_push_request {
    const char *base;                    /* "public.ecr.aws/lambda/python:3.12", "HOST:PORT/REPO@sha256:..." */
    const char *target;                  /* "HOST[:PORT]/REPO[:TAG]" ("http://HOST/..." for plain http); TAG default "latest" */
    const char *arch;                    /* "x86_64" or "arm64": the base's manifest picked from an index */
    /* The code layer: the package's files (package_files) for SOURCE, FUNCTION, REQUIREMENTS, plus EXTRA_FILES, all under function/. */
    const char *source, *function, *requirements;
    const struct oci_layer_file *extra_files;
    size_t extra_count;
    const char *deps_dir;                /* the installed packages, under function/deps/, or NULL */
    const char *title;                   /* label org.opencontainers.image.title: the function's name */
    const char *code_hash;               /* label dev.faaset.code */
    const char *const *entrypoint;       /* NULL-terminated; NULL keeps the base's */
    const char *const *cmd;              /* NULL-terminated; NULL keeps the base's */
    const char *const *env;              /* "KEY=value" NULL-terminated, or NULL */
    struct aws_client *ecr_client;       /* for ECR registries without other credentials, or NULL */
};

/* Valid only during the callback. */
struct oci_push_result {
    int ok;
    const char *error_type;              /* when !ok: "ImageError", "NetworkError", or the registry's code */
    const char *message;                 /* when !ok: one sentence */
    const char *digest;                  /* the manifest's "sha256:..." */
    const char *uri;                     /* "HOST/REPO@sha256:...", what a platform deploys */
    unsigned long long bytes_sent;       /* blob bytes uploaded or copied into the target (the manifest not counted) */
    unsigned blobs_sent, blobs_mounted, blobs_present;
    int repository_created;              /* an ECR repository was created for it */
};

typedef void (*oci_push_fn)(void *ctx, const struct oci_push_result *result);

struct oci_push;

/* Builds the image's layers now and starts the push; everything REQUEST
 * points to is copied. Returns the push (DONE is called once, later), or
 * NULL with ERR (a bad reference, a layer that cannot be built) and DONE
 * not called. */
struct oci_push *oci_push_start(struct reactor *reactor, const struct oci_push_request *request, oci_push_fn done,
                                void *ctx, char *err, size_t err_size);

/* Stops a push under way; DONE is not called. */
void oci_push_cancel(struct oci_push *push);

/* A reference split as the registries take it: docker.io names to
 * registry-1.docker.io and library/, no tag to "latest". 0, or -1 with ERR. */
struct oci_reference {
    char host[256];                      /* maybe with "http://" */
    char repository[256];
    char reference[160];                 /* the tag, or the digest after '@' */
};
int oci_reference_parse(const char *text, struct oci_reference *out, char *err, size_t err_size);

#endif
