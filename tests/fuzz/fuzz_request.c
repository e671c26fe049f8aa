/* Fuzz target: a shell request's content as the kernel turns it into a
 * request to the runtime (bridge_request_for: code, cursor positions in
 * code points, flags, user_expressions) and, for completion, as the cell
 * language completes magics (cursor to byte offsets and back). The input's
 * first byte chooses the request type, the rest is its content (JSON).
 * Nothing is started: the runtime is never run, no platform is called. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "cloud.h"
#include "experiments.h"
#include "magics.h"
#include "reactor.h"
#include "requests.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_send(void *ctx, enum connection_channel channel, const struct message *msg)
{
    (void)ctx;
    (void)channel;
    (void)msg;
}

static void fuzz_nothing(void *ctx)
{
    (void)ctx;
}

static void fuzz_experiment_call(void *ctx, const json_t *upcall, cloud_reply_fn reply, void *reply_ctx)
{
    (void)ctx;
    (void)upcall;
    reply(reply_ctx, NULL);
}

/* Made once: a kernel's parts around a runtime that is never started. */
static struct {
    struct reactor *reactor;
    struct requests *requests;
    struct cloud *cloud;
    struct experiments *experiments;
    struct bridge *bridge;
    struct message_session session;
} fuzz;

static int fuzz_setup(void)
{
    if (fuzz.bridge != NULL)
        return 0;
    char folder[] = "/tmp/faaset-fuzz-XXXXXX";
    if (mkdtemp(folder) == NULL)
        return -1;
    struct requests_io io = {NULL, fuzz_send, fuzz_nothing};
    fuzz.reactor = reactor_new();
    fuzz.requests = requests_new(&io, NULL, fuzz_nothing, NULL);
    fuzz.cloud = cloud_new(fuzz.reactor, folder, "/nonexistent/python3");
    fuzz.experiments = experiments_new(fuzz.requests, fuzz.cloud, fuzz.reactor, folder);
    struct bridge_config config = {.python = "/nonexistent/python3", .reactor = fuzz.reactor,
                                   .requests = fuzz.requests,
                                   .upcalls = {.cloud = fuzz.cloud, .experiment = fuzz_experiment_call},
                                   .ready = fuzz_nothing};
    fuzz.bridge = bridge_new(&config);
    message_session_init(&fuzz.session);
    return fuzz.bridge != NULL && fuzz.experiments != NULL ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"execute_request", "complete_request", "inspect_request",
                                        "is_complete_request"};
    if (size == 0 || fuzz_setup() < 0)
        return 0;
    json_t *content = json_loadb((const char *)data + 1, size - 1, 0, NULL);
    if (!json_is_object(content)) {
        json_decref(content);
        return 0;
    }
    const char *type = types[data[0] % 4];
    struct message *msg = message_new(&fuzz.session, type, NULL, content);
    if (msg == NULL)
        return 0;
    char err[256];
    json_decref(bridge_request_for(fuzz.bridge, msg, err, sizeof err));
    if (strcmp(type, "complete_request") == 0) {
        requests_begin(fuzz.requests, msg);
        struct magics_context magics = {fuzz.requests, fuzz.cloud, fuzz.experiments};
        (void)magics_complete(&magics, requests_current(fuzz.requests));
        requests_finish(fuzz.requests);
    } else {
        message_free(msg);
    }
    return 0;
}
