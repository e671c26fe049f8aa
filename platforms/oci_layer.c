/* oci_layer: deterministic tar + gzip layers (see oci_layer.h).
 *
 * The names are checked, the folders they imply added, and the whole list
 * sorted bytewise: a folder's name is a prefix of what it holds, so it
 * always comes first. Each entry is one 512-byte ustar header (preceded by
 * a pax 'x' header carrying `path=` when the name is over 100 bytes) and
 * its data padded to 512; two zero blocks end the archive. gzip is zlib's
 * deflate with a gzip wrapper whose header zlib fills with mtime 0 and no
 * name. SHA-256 is libsodium's, as everywhere in the kernel. */
#include "oci_layer.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "buffer.h"
#include "fsutil.h"

#define OCI_TAR_BLOCK 512
#define OCI_TAR_NAME_MAX 100

struct oci_tar_entry {
    char *name;                      /* without a trailing '/' */
    const void *data;                /* NULL for a folder */
    size_t size;
};

void oci_layer_digest(const void *data, size_t size, char out[72])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, data, size);
    memcpy(out, "sha256:", 7);
    sodium_bin2hex(out + 7, 65, hash, sizeof hash);
}

static int oci_tar_entry_compare(const void *a, const void *b)
{
    return strcmp(((const struct oci_tar_entry *)a)->name, ((const struct oci_tar_entry *)b)->name);
}

static int oci_name_ok(const char *name)
{
    if (name == NULL || *name == '\0' || *name == '/' || name[strlen(name) - 1] == '/')
        return 0;
    for (const char *part = name; part != NULL; part = strchr(part, '/') ? strchr(part, '/') + 1 : NULL) {
        size_t length = strcspn(part, "/");
        if (length == 0 || (length == 1 && part[0] == '.') || (length == 2 && part[0] == '.' && part[1] == '.'))
            return 0;
    }
    return 1;
}

/* FILES and the folders their names imply, sorted, in *OUT (COUNT of them). */
static int oci_tar_entries(const struct oci_layer_file *files, size_t count, struct oci_tar_entry **out,
                           size_t *out_count, char *err, size_t err_size)
{
    size_t capacity = 0;
    for (size_t i = 0; i < count; i++) {
        if (!oci_name_ok(files[i].name)) {
            snprintf(err, err_size, "a layer file's name must be a relative path without '.' or '..' parts, not '%.200s'",
                     files[i].name ? files[i].name : "(null)");
            return -1;
        }
        capacity++;
        for (const char *p = files[i].name; *p; p++)
            capacity += *p == '/';
    }
    struct oci_tar_entry *entries = calloc(capacity ? capacity : 1, sizeof *entries);
    size_t n = 0;
    if (entries == NULL)
        goto oom;
    for (size_t i = 0; i < count; i++) {
        for (const char *slash = strchr(files[i].name, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
            if ((entries[n].name = strndup(files[i].name, (size_t)(slash - files[i].name))) == NULL)
                goto oom;
            n++;
        }
        if ((entries[n].name = strdup(files[i].name)) == NULL)
            goto oom;
        entries[n].data = files[i].data ? files[i].data : "";
        entries[n++].size = files[i].size;
    }
    qsort(entries, n, sizeof *entries, oci_tar_entry_compare);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && strcmp(entries[kept - 1].name, entries[i].name) == 0) {
            if (entries[kept - 1].data != NULL || entries[i].data != NULL) {
                snprintf(err, err_size, "the layer has '%.200s' twice, or as both a file and a folder",
                         entries[i].name);
                for (size_t j = i; j < n; j++)
                    free(entries[j].name);
                n = kept;
                goto fail;
            }
            free(entries[i].name);
            continue;
        }
        entries[kept++] = entries[i];
    }
    *out = entries;
    *out_count = kept;
    return 0;
oom:
    snprintf(err, err_size, "out of memory building a layer");
fail:
    for (size_t i = 0; entries != NULL && i < n; i++)
        free(entries[i].name);
    free(entries);
    return -1;
}

static void oci_tar_octal(unsigned char *field, size_t width, unsigned long long value)
{
    char text[32];
    snprintf(text, sizeof text, "%0*llo", (int)(width - 1), value);
    memcpy(field, text, width - 1);
    field[width - 1] = '\0';
}

static void oci_tar_header(struct buffer *tar, const char *name, char type, unsigned mode, size_t size)
{
    unsigned char header[OCI_TAR_BLOCK] = {0};
    memcpy(header, name, strlen(name) < OCI_TAR_NAME_MAX ? strlen(name) : OCI_TAR_NAME_MAX);
    oci_tar_octal(header + 100, 8, mode);
    oci_tar_octal(header + 108, 8, 0);
    oci_tar_octal(header + 116, 8, 0);
    oci_tar_octal(header + 124, 12, size);
    oci_tar_octal(header + 136, 12, 0);
    header[156] = (unsigned char)type;
    memcpy(header + 257, "ustar", 6);
    memcpy(header + 263, "00", 2);
    oci_tar_octal(header + 329, 8, 0);
    oci_tar_octal(header + 337, 8, 0);
    memset(header + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof header; i++)
        sum += header[i];
    snprintf((char *)header + 148, 8, "%06o", sum);
    header[155] = ' ';
    buffer_append(tar, header, sizeof header);
}

/* Zeros up to the next block after SIZE bytes of data. */
static void oci_tar_pad(struct buffer *tar, size_t size)
{
    static const unsigned char zeros[OCI_TAR_BLOCK];
    if (size % OCI_TAR_BLOCK)
        buffer_append(tar, zeros, OCI_TAR_BLOCK - size % OCI_TAR_BLOCK);
}

/* A pax header whose one record "LEN path=NAME\n" (LEN counting itself) gives NAME. */
static void oci_tar_long_name(struct buffer *tar, const char *name)
{
    size_t body = strlen(" path=\n") + strlen(name), length = body + 1;
    while ((size_t)snprintf(NULL, 0, "%zu", length) + body != length)
        length++;
    char digits[24];
    snprintf(digits, sizeof digits, "%zu", length);
    oci_tar_header(tar, "././@PaxHeader", 'x', 0644, length);
    buffer_puts(tar, digits);
    buffer_puts(tar, " path=");
    buffer_puts(tar, name);
    buffer_puts(tar, "\n");
    oci_tar_pad(tar, length);
}

int oci_layer_tar(const struct oci_layer_file *files, size_t count, unsigned char **out, size_t *out_size, char *err,
                  size_t err_size)
{
    struct oci_tar_entry *entries = NULL;
    size_t n = 0;
    if (oci_tar_entries(files, count, &entries, &n, err, err_size) < 0)
        return -1;
    struct buffer tar = {0};
    struct buffer name = {0};
    for (size_t i = 0; i < n && !tar.failed && !name.failed; i++) {
        int is_dir = entries[i].data == NULL;
        buffer_clear(&name);
        buffer_puts(&name, entries[i].name);
        if (is_dir)
            buffer_puts(&name, "/");
        if (name.failed)
            break;
        if (name.size > OCI_TAR_NAME_MAX)
            oci_tar_long_name(&tar, name.data);
        oci_tar_header(&tar, name.data, is_dir ? '5' : '0', is_dir ? 0755 : 0644, is_dir ? 0 : entries[i].size);
        if (!is_dir) {
            buffer_append(&tar, entries[i].data, entries[i].size);
            oci_tar_pad(&tar, entries[i].size);
        }
    }
    static const unsigned char end[2 * OCI_TAR_BLOCK];
    buffer_append(&tar, end, sizeof end);
    int failed = tar.failed || name.failed;
    buffer_free(&name);
    for (size_t i = 0; i < n; i++)
        free(entries[i].name);
    free(entries);
    if (failed) {
        buffer_free(&tar);
        snprintf(err, err_size, "out of memory building a layer");
        return -1;
    }
    *out_size = tar.size;
    *out = (unsigned char *)tar.data;
    return 0;
}

static int oci_gzip(const unsigned char *data, size_t size, unsigned char **out, size_t *out_size)
{
    z_stream z = {0};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    size_t capacity = deflateBound(&z, (uLong)size) + 64;
    unsigned char *blob = malloc(capacity);
    if (blob == NULL) {
        deflateEnd(&z);
        return -1;
    }
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)size;
    z.next_out = blob;
    z.avail_out = (uInt)capacity;
    int rc = deflate(&z, Z_FINISH);
    *out_size = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(blob);
        return -1;
    }
    *out = blob;
    return 0;
}

int oci_layer_build(const struct oci_layer_file *files, size_t count, struct oci_layer *layer, char *err,
                    size_t err_size)
{
    memset(layer, 0, sizeof *layer);
    unsigned char *tar = NULL;
    size_t tar_size = 0;
    if (oci_layer_tar(files, count, &tar, &tar_size, err, err_size) < 0)
        return -1;
    if (tar_size > 0xFFFFFFFFu) {
        free(tar);
        snprintf(err, err_size, "a layer over 4 GiB is more than an image for a function should hold");
        return -1;
    }
    oci_layer_digest(tar, tar_size, layer->diff_id);
    layer->tar_size = tar_size;
    int rc = oci_gzip(tar, tar_size, &layer->blob, &layer->blob_size);
    free(tar);
    if (rc < 0) {
        snprintf(err, err_size, "out of memory compressing a layer");
        return -1;
    }
    oci_layer_digest(layer->blob, layer->blob_size, layer->digest);
    return 0;
}

struct oci_dir_walk {
    struct oci_layer_file *files;
    size_t count, capacity;
    char *err;
    size_t err_size;
};

static int oci_dir_add(struct oci_dir_walk *walk, const char *path, const char *name)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(walk->err, walk->err_size, "cannot read %.300s for the image: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *dir = opendir(path);
        if (dir == NULL) {
            snprintf(walk->err, walk->err_size, "cannot list %.300s for the image: %s", path, strerror(errno));
            return -1;
        }
        int rc = 0;
        struct dirent *entry;
        while (rc == 0 && (entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            char *child_path = NULL, *child_name = NULL;
            if (asprintf(&child_path, "%s/%s", path, entry->d_name) < 0 ||
                asprintf(&child_name, "%s/%s", name, entry->d_name) < 0) {
                snprintf(walk->err, walk->err_size, "out of memory listing %.300s", path);
                rc = -1;
            } else {
                rc = oci_dir_add(walk, child_path, child_name);
            }
            free(child_path);
            free(child_name);
        }
        closedir(dir);
        return rc;
    }
    if (!S_ISREG(st.st_mode))
        return 0;
    if (walk->count == walk->capacity) {
        size_t capacity = walk->capacity ? walk->capacity * 2 : 64;
        struct oci_layer_file *grown = realloc(walk->files, capacity * sizeof *grown);
        if (grown == NULL) {
            snprintf(walk->err, walk->err_size, "out of memory listing files for the image");
            return -1;
        }
        walk->files = grown;
        walk->capacity = capacity;
    }
    size_t size = 0;
    char *data = fsutil_read(path, &size);
    char *copy = strdup(name);
    if (data == NULL || copy == NULL) {
        snprintf(walk->err, walk->err_size, "cannot read %.300s for the image: %s", path,
                 data == NULL ? strerror(errno) : "out of memory");
        free(data);
        free(copy);
        return -1;
    }
    walk->files[walk->count++] = (struct oci_layer_file){copy, data, size};
    return 0;
}

int oci_layer_from_dir(const char *dir, const char *prefix, struct oci_layer *layer, char *err, size_t err_size)
{
    memset(layer, 0, sizeof *layer);
    struct oci_dir_walk walk = {.err = err, .err_size = err_size};
    int rc = oci_dir_add(&walk, dir, prefix);
    if (rc == 0)
        rc = oci_layer_build(walk.files, walk.count, layer, err, err_size);
    for (size_t i = 0; i < walk.count; i++) {
        free((char *)walk.files[i].name);
        free((void *)walk.files[i].data);
    }
    free(walk.files);
    return rc;
}

void oci_layer_free(struct oci_layer *layer)
{
    if (layer == NULL)
        return;
    free(layer->blob);
    memset(layer, 0, sizeof *layer);
}
