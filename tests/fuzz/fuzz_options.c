/* Fuzz target: the cell language's option parser. The input is the rest
 * of a `%%cloud_function` line (split into options), then, when that
 * splits, the options are read and checked as a deploy would read them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cloud_options.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    char err[512];
    json_t *raw = cloud_options_from_line(line, err, sizeof err);
    if (raw != NULL) {
        struct cloud_options options;
        (void)cloud_options_parse(raw, "local", &options, err, sizeof err);
        cloud_options_free(&options);
        json_decref(raw);
    }
    free(line);
    return 0;
}
