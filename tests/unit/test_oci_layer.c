/* Unit tests for oci_layer: byte-identical layers whatever the order of
 * the files, folders implied and listed first, ustar headers (owner 0:0,
 * mtime 0, modes, checksum), a pax header for a long name, the gzip header
 * (no name, mtime 0), digests that are the SHA-256 of what they name, a
 * folder walked into the same layer as its files listed, and bad names
 * refused. Python's tarfile reads these layers in the registry suite
 * (tests/images). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "oci_layer.h"

static unsigned long octal(const unsigned char *field, size_t width)
{
    char text[16] = {0};
    memcpy(text, field, width);
    return strtoul(text, NULL, 8);
}

/* The ustar header at OFFSET: its checksum holds and it says NAME. */
static int header_ok(const unsigned char *tar, size_t offset, const char *name, char type, unsigned long mode)
{
    const unsigned char *h = tar + offset;
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    return octal(h + 148, 8) == sum && strncmp((const char *)h, name, 100) == 0 && h[156] == (unsigned char)type &&
           octal(h + 100, 8) == mode && octal(h + 108, 8) == 0 && octal(h + 116, 8) == 0 && octal(h + 136, 12) == 0 &&
           memcmp(h + 257, "ustar\0" "00", 8) == 0 && h[265] == '\0' && h[297] == '\0';
}

static unsigned char *gunzip(const unsigned char *blob, size_t size, size_t *out_size)
{
    size_t capacity = 1 << 20;
    unsigned char *out = malloc(capacity);
    z_stream z = {0};
    inflateInit2(&z, 15 + 16);
    z.next_in = (unsigned char *)blob;
    z.avail_in = (uInt)size;
    z.next_out = out;
    z.avail_out = (uInt)capacity;
    int rc = inflate(&z, Z_FINISH);
    *out_size = z.total_out;
    inflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

int main(void)
{
    struct oci_layer_file forward[] = {
        {"function/b.py", "print(2)\n", 9},
        {"function/a.py", "print(1)\n", 9},
        {"function/pkg/empty.txt", "", 0},
    };
    struct oci_layer_file backward[] = {forward[2], forward[1], forward[0]};
    struct oci_layer one, two;
    char err[256];
    CHECK(oci_layer_build(forward, 3, &one, err, sizeof err) == 0);
    CHECK(oci_layer_build(backward, 3, &two, err, sizeof err) == 0);
    CHECK(one.blob_size == two.blob_size && memcmp(one.blob, two.blob, one.blob_size) == 0);
    CHECK(strcmp(one.digest, two.digest) == 0 && strcmp(one.diff_id, two.diff_id) == 0);

    char digest[72];
    oci_layer_digest(one.blob, one.blob_size, digest);
    CHECK(strcmp(digest, one.digest) == 0 && strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71);
    oci_layer_digest("", 0, digest);
    CHECK(strcmp(digest, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);

    /* gzip: magic, deflate, no flags (no name), mtime 0 */
    CHECK(one.blob[0] == 0x1f && one.blob[1] == 0x8b && one.blob[2] == 8 && one.blob[3] == 0);
    CHECK(one.blob[4] == 0 && one.blob[5] == 0 && one.blob[6] == 0 && one.blob[7] == 0);

    size_t tar_size = 0;
    unsigned char *tar = gunzip(one.blob, one.blob_size, &tar_size);
    CHECK(tar != NULL && tar_size == one.tar_size);
    oci_layer_digest(tar, tar_size, digest);
    CHECK(strcmp(digest, one.diff_id) == 0);
    /* function/, function/a.py (+1 data block), function/b.py (+1), function/pkg/, function/pkg/empty.txt, 2 ending */
    CHECK(tar_size == 512 * 9);
    CHECK(header_ok(tar, 0, "function/", '5', 0755));
    CHECK(header_ok(tar, 512, "function/a.py", '0', 0644) && octal(tar + 512 + 124, 12) == 9);
    CHECK(memcmp(tar + 1024, "print(1)\n", 9) == 0);
    CHECK(header_ok(tar, 1536, "function/b.py", '0', 0644));
    CHECK(header_ok(tar, 2560, "function/pkg/", '5', 0755));
    CHECK(header_ok(tar, 3072, "function/pkg/empty.txt", '0', 0644) && octal(tar + 3072 + 124, 12) == 0);
    static const unsigned char zeros[1024];
    CHECK(memcmp(tar + tar_size - 1024, zeros, 1024) == 0);
    free(tar);

    /* A name over 100 bytes goes in a pax header's path record. */
    char long_name[160];
    snprintf(long_name, sizeof long_name, "function/%0140d.py", 7);
    struct oci_layer_file longer[] = {{long_name, "x", 1}};
    struct oci_layer long_layer;
    CHECK(oci_layer_build(longer, 1, &long_layer, err, sizeof err) == 0);
    tar = gunzip(long_layer.blob, long_layer.blob_size, &tar_size);
    CHECK(tar != NULL);
    CHECK(header_ok(tar, 512, "././@PaxHeader", 'x', 0644));
    char record[200];
    /* 152 bytes of name + " path=" + "\n" + the 3 digits of the length itself */
    snprintf(record, sizeof record, "%zu path=%s\n", strlen(long_name) + 10, long_name);
    CHECK(strlen(record) == strlen(long_name) + 10);
    CHECK(octal(tar + 512 + 124, 12) == strlen(record) && memcmp(tar + 1024, record, strlen(record)) == 0);
    CHECK(tar[1536 + 156] == '0' && strncmp((const char *)tar + 1536, long_name, 100) == 0);
    free(tar);
    oci_layer_free(&long_layer);

    /* Names that would escape, duplicates, a file where a folder is. */
    const char *bad[] = {"/etc/passwd", "function/../x", "./x", "", "a//b", "dir/"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct oci_layer_file file = {bad[i], "x", 1};
        struct oci_layer layer;
        err[0] = '\0';
        CHECK(oci_layer_build(&file, 1, &layer, err, sizeof err) == -1 && strstr(err, "relative path") != NULL);
    }
    struct oci_layer_file twice[] = {{"a/b", "1", 1}, {"a/b", "2", 1}};
    struct oci_layer layer;
    CHECK(oci_layer_build(twice, 2, &layer, err, sizeof err) == -1 && strstr(err, "'a/b' twice") != NULL);
    struct oci_layer_file clash[] = {{"a", "1", 1}, {"a/b", "2", 1}};
    CHECK(oci_layer_build(clash, 2, &layer, err, sizeof err) == -1 && strstr(err, "'a'") != NULL);

    /* A folder walked gives the layer of its files listed. */
    char dir[] = "/tmp/faaset-oci-layer-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/pkg", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/b.py", dir);
    write_file(path, "print(2)\n");
    snprintf(path, sizeof path, "%s/a.py", dir);
    write_file(path, "print(1)\n");
    snprintf(path, sizeof path, "%s/pkg/empty.txt", dir);
    write_file(path, "");
    struct oci_layer walked;
    CHECK(oci_layer_from_dir(dir, "function", &walked, err, sizeof err) == 0);
    CHECK(strcmp(walked.digest, one.digest) == 0);
    oci_layer_free(&walked);
    snprintf(path, sizeof path, "%s/missing", dir);
    CHECK(oci_layer_from_dir(path, "function", &walked, err, sizeof err) == -1 && strstr(err, "cannot read") != NULL);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    CHECK(system(path) == 0);

    oci_layer_free(&one);
    oci_layer_free(&two);
    return check_report();
}
