/* package: what goes into every deployment, built deterministically (see
 * zip.h): the user's source as faaset_function.py, the handler shim as
 * faaset_handler.py (naming the user's function on its first line), the
 * SAAF profiler (SAAF.py, Inspector.py), main.py (Google Cloud Functions'
 * entry point, calling the shim), __main__.py (OpenWhisk's, calling the
 * shim's main(args)), and requirements.txt when given.
 * The bundle hash covers the runtime files faaset adds, so a new faaset
 * version redeploys functions whose shim changed. */
#ifndef FAASET_PACKAGE_H
#define FAASET_PACKAGE_H

#include <stddef.h>

#include "zip.h"

#define PACKAGE_HANDLER "faaset_handler.handle"
/* The function main.py defines, for Google Cloud Functions' entryPoint. */
#define PACKAGE_GOOGLE_ENTRY_POINT "gcf_handler"

/* Hex SHA-256 of the files faaset adds to every package. */
const char *package_bundle_hash(void);

#define PACKAGE_MAX_FILES 7

/* The package's files (what the zip holds; a container image's code layer
 * holds them too) into ENTRIES, *COUNT of them. The handler shim's text is
 * in *HANDLER (malloc'd), which ENTRIES point into: free it after. SOURCE
 * and REQUIREMENTS are pointed to, not copied. 0, or -1 with ERR. */
int package_files(const char *source, const char *function, const char *requirements,
                  struct zip_entry entries[PACKAGE_MAX_FILES], size_t *count, char **handler, char *err,
                  size_t err_size);

/* Builds the zip. Returns 0, or -1 with ERR. *OUT is malloc'd. */
int package_build(const char *source, const char *function, const char *requirements, unsigned char **out,
                  size_t *out_size, char *err, size_t err_size);

/* The SHA-256 of a built package in base64 (44 characters and a NUL), as
 * AWS Lambda reports it (CodeSha256). */
void package_sha256_base64(const unsigned char *package, size_t size, char out[48]);

/* Hex SHA-256 of the concatenation of PARTS (COUNT strings, each followed
 * by a NUL so that ("ab","c") and ("a","bc") differ) into OUT (65 bytes). */
void package_hash_parts(const char *const *parts, size_t count, char out[65]);

#endif
