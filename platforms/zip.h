/* zip: deterministic packages. zip_build writes a zip archive whose bytes
 * depend only on the entries: names sorted, every timestamp 1980-01-01
 * 00:00, mode 0644, no extra fields, entries stored (not compressed), so
 * the same inputs give byte-identical archives and the platforms' own code
 * hashes can be compared with ours. zip_each reads such an archive (stored
 * entries only) entry by entry, refusing names that would escape a folder,
 * and zip_extract unpacks it into one. */
#ifndef FAASET_ZIP_H
#define FAASET_ZIP_H

#include <stddef.h>
#include <stdint.h>

struct zip_entry {
    const char *name;   /* path inside the archive, '/'-separated, relative */
    const void *data;
    size_t size;
};

/* Builds the archive into a new buffer (*OUT, *OUT_SIZE). Returns 0, or -1
 * with ERR (a bad name, a duplicate, too large, out of memory). */
int zip_build(const struct zip_entry *entries, size_t count, unsigned char **out, size_t *out_size, char *err,
              size_t err_size);

/* Called with each file of an archive in its order: NAME and DATA are
 * valid only during the call. Returns 0 to go on, or -1 with ERR to stop. */
typedef int (*zip_entry_fn)(void *ctx, const char *name, const unsigned char *data, size_t size, char *err,
                            size_t err_size);

/* Checks ARCHIVE and calls EACH for every file in it. Returns 0, or -1 with
 * ERR (a damaged archive, a compressed entry, or EACH's error). */
int zip_each(const unsigned char *archive, size_t size, zip_entry_fn each, void *ctx, char *err, size_t err_size);

/* Unpacks ARCHIVE into DIR (which must exist). Returns 0, or -1 with ERR. */
int zip_extract(const unsigned char *archive, size_t size, const char *dir, char *err, size_t err_size);

uint32_t zip_crc32(const void *data, size_t size);

#endif
