/* package: deployment packages and hashing (see package.h). SHA-256 comes
 * from libsodium, like the kernel's message signing. */
#include "package.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "zip.h"

/* Google Cloud Functions imports main.py and calls the entry point it
 * names (PACKAGE_GOOGLE_ENTRY_POINT); the shim does the work. Part of
 * the bundle hash through package_bundle_hash's parts. */
static const char package_google_main[] =
    "\"\"\"Google Cloud Functions' entry point: FaaSET's handler shim (faaset_handler.py).\"\"\"\n"
    "import faaset_handler\n\n\n"
    "def " PACKAGE_GOOGLE_ENTRY_POINT "(request):\n"
    "    return faaset_handler." PACKAGE_GOOGLE_ENTRY_POINT "(request)\n";

/* OpenWhisk (IBM Cloud Functions) runs a Python zip's __main__.py and
 * calls its `main(args)`; the shim does the work. Part of the bundle hash
 * too. */
static const char package_openwhisk_main[] =
    "\"\"\"OpenWhisk's entry point: FaaSET's handler shim (faaset_handler.py).\"\"\"\n"
    "import faaset_handler\n\n\n"
    "def main(args):\n"
    "    return faaset_handler.main(args)\n";

static const char *const bundled_files[] = {
    "runtime/python/faaset_handler.py",
    "runtime/python/SAAF.py",
    "runtime/python/Inspector.py",
};

void package_hash_parts(const char *const *parts, size_t count, char out[65])
{
    crypto_hash_sha256_state state;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&state);
    for (size_t i = 0; i < count; i++)
        crypto_hash_sha256_update(&state, (const unsigned char *)parts[i], strlen(parts[i]) + 1);
    crypto_hash_sha256_final(&state, digest);
    sodium_bin2hex(out, 65, digest, sizeof digest);
}

void package_sha256_base64(const unsigned char *package, size_t size, char out[48])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, package, size);
    sodium_bin2base64(out, 48, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
}

const char *package_bundle_hash(void)
{
    static char hash[65];
    if (hash[0] == '\0') {
        const char *parts[sizeof bundled_files / sizeof bundled_files[0] + 2];
        for (size_t i = 0; i < sizeof bundled_files / sizeof bundled_files[0]; i++)
            parts[i] = (const char *)embedded_find(bundled_files[i])->data;
        parts[sizeof parts / sizeof parts[0] - 2] = package_google_main;
        parts[sizeof parts / sizeof parts[0] - 1] = package_openwhisk_main;
        package_hash_parts(parts, sizeof parts / sizeof parts[0], hash);
    }
    return hash;
}

int package_files(const char *source, const char *function, const char *requirements,
                  struct zip_entry entries[PACKAGE_MAX_FILES], size_t *count, char **handler, char *err,
                  size_t err_size)
{
    const struct embedded_file *shim = embedded_find("runtime/python/faaset_handler.py");
    const struct embedded_file *saaf = embedded_find("runtime/python/SAAF.py");
    const struct embedded_file *inspector = embedded_find("runtime/python/Inspector.py");
    if (asprintf(handler, "FAASET_USER_FUNCTION = \"%s\"\n%s", function, (const char *)shim->data) < 0) {
        *handler = NULL;
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    const struct zip_entry files[PACKAGE_MAX_FILES] = {
        {"__main__.py", package_openwhisk_main, strlen(package_openwhisk_main)},
        {"faaset_function.py", source, strlen(source)},
        {"faaset_handler.py", *handler, strlen(*handler)},
        {"SAAF.py", saaf->data, saaf->size},
        {"Inspector.py", inspector->data, inspector->size},
        {"main.py", package_google_main, strlen(package_google_main)},
        {"requirements.txt", requirements ? requirements : "", requirements ? strlen(requirements) : 0},
    };
    memcpy(entries, files, sizeof files);
    *count = requirements ? PACKAGE_MAX_FILES : PACKAGE_MAX_FILES - 1;
    return 0;
}

int package_build(const char *source, const char *function, const char *requirements, unsigned char **out,
                  size_t *out_size, char *err, size_t err_size)
{
    struct zip_entry entries[PACKAGE_MAX_FILES];
    size_t count = 0;
    char *handler = NULL;
    if (package_files(source, function, requirements, entries, &count, &handler, err, err_size) < 0)
        return -1;
    int rc = zip_build(entries, count, out, out_size, err, err_size);
    free(handler);
    return rc;
}
