/* oci_image: the JSON of an image built on a base (the layout of
 * README "Container images"): which of a base's manifests to build on
 * (an image index's entry for linux and the function's architecture), the
 * config (the base's, with PYTHONPATH, WorkingDir, labels, the entry point,
 * the new layers' diff_ids and history appended) and the manifest (OCI,
 * the base's layers as they are, their Docker media types named by their
 * OCI equivalents, then the new layers). Both are serialized compactly
 * with sorted keys, so one input gives one digest. Pure functions: no I/O. */
#ifndef FAASET_OCI_IMAGE_H
#define FAASET_OCI_IMAGE_H

#include <jansson.h>
#include <stddef.h>

#define OCI_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_LAYER "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
/* What a manifest GET accepts, in an Accept header. */
#define OCI_ACCEPT_MANIFESTS OCI_MEDIA_MANIFEST ", " OCI_MEDIA_INDEX ", " OCI_DOCKER_MANIFEST ", " OCI_DOCKER_LIST

/* What the kernel changes in the base's config. */
struct oci_image_spec {
    const char *title;                   /* the function's name: label org.opencontainers.image.title */
    const char *code_hash;               /* label dev.faaset.code */
    const char *const *entrypoint;       /* NULL-terminated; NULL leaves the base's */
    const char *const *cmd;              /* NULL-terminated; NULL leaves the base's */
    const char *const *env;              /* "KEY=value" set over the base's, NULL-terminated, or NULL */
};

/* A layer the kernel adds. */
struct oci_image_layer {
    const char *digest;                  /* of the gzip blob */
    const char *diff_id;                 /* of the tar */
    size_t size;                         /* of the blob */
    const char *created_by;              /* the history entry's text */
};

/* 1 when MANIFEST (parsed) is an image index or Docker manifest list. */
int oci_image_is_index(const json_t *manifest);

/* The digest of INDEX's manifest for linux/ARCH ("x86_64"/"amd64" or
 * "arm64"/"aarch64"), or NULL with ERR listing the platforms it has. */
const char *oci_image_pick(const json_t *index, const char *arch, char *err, size_t err_size);

/* The new config's JSON text (malloc'd): BASE_CONFIG with SPEC applied
 * and LAYERS appended. NULL with ERR when BASE_CONFIG is not an image config. */
char *oci_image_config(const json_t *base_config, const struct oci_image_spec *spec,
                       const struct oci_image_layer *layers, size_t count, char *err, size_t err_size);

/* The new manifest's JSON text (malloc'd): BASE_MANIFEST's layers, then
 * LAYERS, and the config CONFIG_DIGEST of CONFIG_SIZE bytes. NULL with ERR
 * when BASE_MANIFEST has no layer list. */
char *oci_image_manifest(const json_t *base_manifest, const char *config_digest, size_t config_size,
                         const struct oci_image_layer *layers, size_t count, char *err, size_t err_size);

#endif
