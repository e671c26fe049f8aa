/* Unit tests for zip: CRC-32 check value, byte-identical archives whatever
 * the input order, a round trip through zip_extract, refusal of names that
 * escape the folder, and damaged archives. Python's zipfile reads these
 * archives too (tests/platforms). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "zip.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    static char buffer[4096];
    size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    buffer[n] = '\0';
    fclose(f);
    return buffer;
}

int main(void)
{
    CHECK(zip_crc32("123456789", 9) == 0xCBF43926u);

    struct zip_entry forward[] = {{"b.py", "print(2)\n", 9}, {"a.py", "print(1)\n", 9}, {"pkg/c.txt", "", 0}};
    struct zip_entry backward[] = {forward[2], forward[1], forward[0]};
    unsigned char *one, *two;
    size_t one_size, two_size;
    char err[256];
    CHECK(zip_build(forward, 3, &one, &one_size, err, sizeof err) == 0);
    CHECK(zip_build(backward, 3, &two, &two_size, err, sizeof err) == 0);
    CHECK(one_size == two_size && memcmp(one, two, one_size) == 0);

    char dir[] = "/tmp/faaset-zip-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(zip_extract(one, one_size, dir, err, sizeof err) == 0);
    char path[256];
    snprintf(path, sizeof path, "%s/b.py", dir);
    const char *text = read_file(path);
    CHECK(text != NULL && strcmp(text, "print(2)\n") == 0);
    snprintf(path, sizeof path, "%s/pkg/c.txt", dir);
    CHECK(access(path, F_OK) == 0);

    struct zip_entry escaping[] = {{"../evil.py", "x", 1}};
    unsigned char *bad;
    size_t bad_size;
    CHECK(zip_build(escaping, 1, &bad, &bad_size, err, sizeof err) < 0);
    struct zip_entry duplicate[] = {{"a", "1", 1}, {"a", "2", 1}};
    CHECK(zip_build(duplicate, 2, &bad, &bad_size, err, sizeof err) < 0);

    /* Damage: flip a data byte (CRC), cut the archive (no end record). */
    one[40] ^= 0xFF;
    CHECK(zip_extract(one, one_size, dir, err, sizeof err) < 0 && strstr(err, "CRC") != NULL);
    CHECK(zip_extract(two, one_size - 5, dir, err, sizeof err) < 0);
    CHECK(zip_extract((const unsigned char *)"PK", 2, dir, err, sizeof err) < 0);

    char command[300];
    snprintf(command, sizeof command, "rm -rf '%s'", dir);
    CHECK(system(command) == 0);
    free(one);
    free(two);
    return check_report();
}
