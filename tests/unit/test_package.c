/* Unit tests for package: the same inputs give byte-identical packages;
 * a one-character change gives other bytes; the package holds the user's
 * code, the shim naming the function, and SAAF; the hashes separate their
 * parts; Python's zipfile module reads the package (an independent reader). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "package.h"
#include "zip.h"

static int contains(const unsigned char *data, size_t size, const char *text)
{
    size_t len = strlen(text);
    for (size_t i = 0; i + len <= size; i++)
        if (memcmp(data + i, text, len) == 0)
            return 1;
    return 0;
}

int main(void)
{
    const char *source = "import json\ndef hello(request, context):\n    return {'a': 1}\n";
    unsigned char *one, *two, *three;
    size_t one_size, two_size, three_size;
    char err[256];
    CHECK(package_build(source, "hello", NULL, &one, &one_size, err, sizeof err) == 0);
    CHECK(package_build(source, "hello", NULL, &two, &two_size, err, sizeof err) == 0);
    CHECK(one_size == two_size && memcmp(one, two, one_size) == 0);
    CHECK(package_build("import json\ndef hello(request, context):\n    return {'a': 2}\n", "hello", NULL, &three,
                        &three_size, err, sizeof err) == 0);
    CHECK(three_size == one_size && memcmp(one, three, one_size) != 0);
    CHECK(contains(one, one_size, "faaset_function.py") && contains(one, one_size, "faaset_handler.py"));
    CHECK(contains(one, one_size, "SAAF.py") && contains(one, one_size, "Inspector.py"));
    CHECK(contains(one, one_size, "FAASET_USER_FUNCTION = \"hello\""));

    char hash_a[65], hash_b[65];
    const char *split_a[] = {"ab", "c"}, *split_b[] = {"a", "bc"};
    package_hash_parts(split_a, 2, hash_a);
    package_hash_parts(split_b, 2, hash_b);
    CHECK(strlen(hash_a) == 64 && strcmp(hash_a, hash_b) != 0);
    CHECK(strlen(package_bundle_hash()) == 64);

    const char *path = "/tmp/faaset-package-test.zip";
    FILE *file = fopen(path, "wb");
    CHECK(file != NULL && fwrite(one, 1, one_size, file) == one_size);
    if (file != NULL)
        fclose(file);
    CHECK(system("/usr/bin/python3 -c \"import zipfile,sys; z=zipfile.ZipFile('/tmp/faaset-package-test.zip'); "
                 "assert z.testzip() is None; assert sorted(z.namelist())==z.namelist(); "
                 "assert all(i.date_time==(1980,1,1,0,0,0) for i in z.infolist()); "
                 "assert b'def hello' in z.read('faaset_function.py')\"") == 0);
    remove(path);
    free(one);
    free(two);
    free(three);
    return check_report();
}
