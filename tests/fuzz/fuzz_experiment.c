/* Fuzz target: FaaS Runner experiment files. The input is the file; when
 * it is a JSON object it is read and checked as %%experiment and `faaset
 * run` read it, and a checked one has its payloads dealt for a pass.
 * payloadFolder is dropped: the target reads no files. */
#include <stdint.h>

#include "experiment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *raw = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (raw == NULL)
        return 0;
    if (json_is_object(raw))
        json_object_del(raw, "payloadFolder");
    struct experiment experiment = {0};
    char err[512];
    if (experiment_parse(raw, "fuzz", "/nonexistent", &experiment, err, sizeof err) == 0 &&
        (long long)experiment.runs * (experiment.memory_count + 1) <= 100000)
        json_decref(experiment_deal(&experiment));
    experiment_free(&experiment);
    json_decref(raw);
    return 0;
}
