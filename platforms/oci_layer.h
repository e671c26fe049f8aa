/* oci_layer: the image layers the kernel writes itself (see oci_image.h),
 * deterministic so that one cell always gives one digest: a tar archive
 * (POSIX ustar, with a pax extended header for a name ustar cannot hold)
 * of the entries sorted by name, each folder on the way listed before what
 * it holds, every entry owned by 0:0, mtime 0, files 0644 and folders 0755,
 * no user or group names; then gzip (zlib, level 9, no file name, mtime 0).
 * A layer is described by the SHA-256 of the gzip blob (its digest, how a
 * registry stores it) and of the tar (its diff_id, in the image config). */
#ifndef FAASET_OCI_LAYER_H
#define FAASET_OCI_LAYER_H

#include <stddef.h>

/* One file of a layer. NAME is '/'-separated and relative ("function/a.py"). */
struct oci_layer_file {
    const char *name;
    const void *data;
    size_t size;
};

struct oci_layer {
    unsigned char *blob;            /* the gzip'd tar, malloc'd */
    size_t blob_size;
    size_t tar_size;
    char digest[72];                /* "sha256:" + 64 hex, of BLOB */
    char diff_id[72];               /* "sha256:" + 64 hex, of the tar */
};

/* The tar of FILES (any order; folders implied by the names are added) into
 * *TAR (malloc'd). 0, or -1 with ERR (an empty, absolute or ".." name, a
 * duplicate, out of memory). */
int oci_layer_tar(const struct oci_layer_file *files, size_t count, unsigned char **tar, size_t *tar_size, char *err,
                  size_t err_size);

/* The layer of FILES: the tar, gzip'd, and both digests. 0, or -1 with ERR. */
int oci_layer_build(const struct oci_layer_file *files, size_t count, struct oci_layer *layer, char *err,
                    size_t err_size);

/* The layer of every regular file under DIR, each named PREFIX/its path
 * below DIR ("function/deps/numpy/__init__.py"). Symbolic links are kept
 * as the files they point to; other kinds of files are skipped. 0, or -1
 * with ERR naming the file that could not be read. */
int oci_layer_from_dir(const char *dir, const char *prefix, struct oci_layer *layer, char *err, size_t err_size);

/* "sha256:" + hex SHA-256 of DATA into OUT (72 bytes). */
void oci_layer_digest(const void *data, size_t size, char out[72]);

void oci_layer_free(struct oci_layer *layer);

#endif
