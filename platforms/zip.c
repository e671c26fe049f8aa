/* zip: the archive format, stored entries only (see zip.h). Offsets and
 * sizes fit 32 bits: packages above 4 GiB are refused, far beyond any
 * platform's limit. */
#include "zip.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buffer.h"
#include "fsutil.h"

#define ZIP_LOCAL_SIGNATURE 0x04034b50u
#define ZIP_CENTRAL_SIGNATURE 0x02014b50u
#define ZIP_END_SIGNATURE 0x06054b50u
#define ZIP_VERSION 20
#define ZIP_MADE_BY_UNIX (3u << 8 | ZIP_VERSION)
#define ZIP_DOS_DATE_1980 0x0021u /* 1980-01-01 */
#define ZIP_REGULAR_0644 (0100644u << 16)

uint32_t zip_crc32(const void *data, size_t size)
{
    static uint32_t table[256];
    if (table[1] == 0) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    }
    uint32_t crc = 0xFFFFFFFFu;
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static void zip_u16(struct buffer *b, unsigned value)
{
    unsigned char bytes[2] = {(unsigned char)value, (unsigned char)(value >> 8)};
    buffer_append(b, bytes, 2);
}

static void zip_u32(struct buffer *b, uint32_t value)
{
    unsigned char bytes[4] = {(unsigned char)value, (unsigned char)(value >> 8), (unsigned char)(value >> 16),
                              (unsigned char)(value >> 24)};
    buffer_append(b, bytes, 4);
}

static int zip_compare_entries(const void *a, const void *b)
{
    return strcmp(((const struct zip_entry *)a)->name, ((const struct zip_entry *)b)->name);
}

static int zip_name_ok(const char *name)
{
    if (*name == '\0' || *name == '/' || strlen(name) > 1024)
        return 0;
    for (const char *part = name; *part;) {
        size_t len = strcspn(part, "/");
        if (len == 0 || (len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.'))
            return 0;
        part += len + (part[len] == '/');
    }
    return strchr(name, '\\') == NULL;
}

/* The common part of local and central headers, from "version needed" on. */
static void zip_header_fields(struct buffer *b, const struct zip_entry *e, uint32_t crc)
{
    zip_u16(b, ZIP_VERSION);
    zip_u16(b, 0);                 /* flags */
    zip_u16(b, 0);                 /* stored */
    zip_u16(b, 0);                 /* time 00:00 */
    zip_u16(b, ZIP_DOS_DATE_1980);
    zip_u32(b, crc);
    zip_u32(b, (uint32_t)e->size);
    zip_u32(b, (uint32_t)e->size);
    zip_u16(b, (unsigned)strlen(e->name));
    zip_u16(b, 0);                 /* extra field length */
}

int zip_build(const struct zip_entry *entries, size_t count, unsigned char **out, size_t *out_size, char *err,
              size_t err_size)
{
    struct zip_entry *sorted = malloc((count ? count : 1) * sizeof *sorted);
    uint32_t *offsets = malloc((count ? count : 1) * sizeof *offsets);
    uint32_t *crcs = malloc((count ? count : 1) * sizeof *crcs);
    struct buffer b = {0};
    int rc = -1;
    if (sorted == NULL || offsets == NULL || crcs == NULL || count > 0xFFFF) {
        snprintf(err, err_size, count > 0xFFFF ? "too many files for one package" : "out of memory");
        goto done;
    }
    memcpy(sorted, entries, count * sizeof *sorted);
    qsort(sorted, count, sizeof *sorted, zip_compare_entries);
    for (size_t i = 0; i < count; i++) {
        if (!zip_name_ok(sorted[i].name) || (i > 0 && strcmp(sorted[i].name, sorted[i - 1].name) == 0) ||
            sorted[i].size > 0xFFFFFFFEu || b.size > 0xFFFFFFFEu - sorted[i].size) {
            snprintf(err, err_size, "cannot package '%s': bad or duplicate name, or too large", sorted[i].name);
            goto done;
        }
        offsets[i] = (uint32_t)b.size;
        crcs[i] = zip_crc32(sorted[i].data, sorted[i].size);
        zip_u32(&b, ZIP_LOCAL_SIGNATURE);
        zip_header_fields(&b, &sorted[i], crcs[i]);
        buffer_append(&b, sorted[i].name, strlen(sorted[i].name));
        buffer_append(&b, sorted[i].data, sorted[i].size);
    }
    size_t central_start = b.size;
    for (size_t i = 0; i < count; i++) {
        zip_u32(&b, ZIP_CENTRAL_SIGNATURE);
        zip_u16(&b, ZIP_MADE_BY_UNIX);
        zip_header_fields(&b, &sorted[i], crcs[i]);
        zip_u16(&b, 0);            /* comment length */
        zip_u16(&b, 0);            /* disk */
        zip_u16(&b, 0);            /* internal attributes */
        zip_u32(&b, ZIP_REGULAR_0644);
        zip_u32(&b, offsets[i]);
        buffer_append(&b, sorted[i].name, strlen(sorted[i].name));
    }
    size_t central_size = b.size - central_start;
    zip_u32(&b, ZIP_END_SIGNATURE);
    zip_u16(&b, 0);
    zip_u16(&b, 0);
    zip_u16(&b, (unsigned)count);
    zip_u16(&b, (unsigned)count);
    zip_u32(&b, (uint32_t)central_size);
    zip_u32(&b, (uint32_t)central_start);
    zip_u16(&b, 0);
    if (b.failed) {
        snprintf(err, err_size, "out of memory");
        goto done;
    }
    *out = (unsigned char *)b.data;
    *out_size = b.size;
    b.data = NULL;
    rc = 0;
done:
    buffer_free(&b);
    free(sorted);
    free(offsets);
    free(crcs);
    return rc;
}

static uint32_t zip_read16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t zip_read32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int zip_write_file(const char *dir, const char *name, const unsigned char *data, size_t size)
{
    char path[4096];
    if (fsutil_path(path, sizeof path, "%s/%s", dir, name) < 0)
        return -1;
    for (char *slash = strchr(path + strlen(dir) + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -1;
        *slash = '/';
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, size) == (ssize_t)size;
    return close(fd) == 0 && ok ? 0 : -1;
}

/* Checks the entry whose central header is at P and hands its data to EACH. */
static int zip_visit_entry(const unsigned char *archive, size_t size, const unsigned char *p, zip_entry_fn each,
                           void *ctx, char *err, size_t err_size)
{
    uint32_t method = zip_read16(p + 10), crc = zip_read32(p + 16), stored = zip_read32(p + 20);
    uint32_t name_len = zip_read16(p + 28), offset = zip_read32(p + 42);
    char name[1025];
    if (name_len == 0 || name_len > 1024) {
        snprintf(err, err_size, "an entry has a bad name length");
        return -1;
    }
    memcpy(name, p + 46, name_len);
    name[name_len] = '\0';
    if (name[name_len - 1] == '/')
        return 0; /* a folder entry: folders are made as files need them */
    if (!zip_name_ok(name) || memchr(name, '\0', name_len) != NULL) {
        snprintf(err, err_size, "refusing the entry name '%s'", name);
        return -1;
    }
    if (method != 0) {
        snprintf(err, err_size, "'%s' is compressed (method %u); only packages built by faaset can be unpacked", name,
                 method);
        return -1;
    }
    if ((size_t)offset + 30 > size || zip_read32(archive + offset) != ZIP_LOCAL_SIGNATURE) {
        snprintf(err, err_size, "'%s' has no local header", name);
        return -1;
    }
    size_t data_start = (size_t)offset + 30 + zip_read16(archive + offset + 26) + zip_read16(archive + offset + 28);
    if (data_start + stored > size || zip_crc32(archive + data_start, stored) != crc) {
        snprintf(err, err_size, "'%s' is truncated or its CRC does not match", name);
        return -1;
    }
    return each(ctx, name, archive + data_start, stored, err, err_size);
}

int zip_each(const unsigned char *archive, size_t size, zip_entry_fn each, void *ctx, char *err, size_t err_size)
{
    if (size < 22 || zip_read32(archive + size - 22) != ZIP_END_SIGNATURE) {
        snprintf(err, err_size, "not a zip archive built by faaset (no end record)");
        return -1;
    }
    const unsigned char *end = archive + size - 22;
    uint32_t count = zip_read16(end + 10), central_size = zip_read32(end + 12), central_start = zip_read32(end + 16);
    if ((size_t)central_start + central_size > size - 22) {
        snprintf(err, err_size, "the archive's central directory is out of bounds");
        return -1;
    }
    const unsigned char *p = archive + central_start, *limit = archive + central_start + central_size;
    for (uint32_t i = 0; i < count; i++) {
        if (p + 46 > limit || zip_read32(p) != ZIP_CENTRAL_SIGNATURE ||
            p + 46 + zip_read16(p + 28) + zip_read16(p + 30) + zip_read16(p + 32) > limit) {
            snprintf(err, err_size, "the archive's central directory is damaged");
            return -1;
        }
        if (zip_visit_entry(archive, size, p, each, ctx, err, err_size) < 0)
            return -1;
        p += 46 + zip_read16(p + 28) + zip_read16(p + 30) + zip_read16(p + 32);
    }
    return 0;
}

static int zip_extract_one(void *ctx, const char *name, const unsigned char *data, size_t size, char *err,
                           size_t err_size)
{
    const char *dir = ctx;
    if (zip_write_file(dir, name, data, size) < 0) {
        snprintf(err, err_size, "cannot write %s/%s: %s", dir, name, strerror(errno));
        return -1;
    }
    return 0;
}

int zip_extract(const unsigned char *archive, size_t size, const char *dir, char *err, size_t err_size)
{
    return zip_each(archive, size, zip_extract_one, (void *)dir, err, err_size);
}
