/* oci_push_tool: one image build and push (oci_push.h) from the command
 * line, for the registry suite (tests/images) to drive against a real
 * registry and read back with skopeo. Arguments (KEY VALUE pairs):
 *   --base REF --target REF --source FILE --function NAME [--arch A]
 *   [--requirements FILE] [--deps DIR] [--extra NAME=FILE]...
 *   [--cmd ARG]... [--entrypoint ARG]... [--no-cmd] [--env K=V]...
 *   [--title T] [--code-hash H]
 * Prints one JSON line: {"ok", "digest", "uri", "bytes_sent",
 * "blobs_sent", "blobs_mounted", "blobs_present", "peak_kib"} or {"ok":
 * false, "error_type", "message"} (peak_kib: the process's peak resident
 * memory, VmHWM, so a test can see it stay bounded); exits 0 either way, 2 when the push cannot
 * start (the sentence on stdout as the message). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "oci_push.h"
#include "reactor.h"

#define TOOL_MAX 32

static int finished;

/* VmHWM of /proc/self/status in KiB (this program's own peak, unlike getrusage's, which counts the parent's
 * memory before exec), 0 when unknown. */
static long peak_kib(void)
{
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    long kib = 0;
    while (status != NULL && fgets(line, sizeof line, status) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    if (status != NULL)
        fclose(status);
    return kib;
}

static void on_done(void *ctx, const struct oci_push_result *result)
{
    (void)ctx;
    json_t *out = result->ok ? json_pack("{s:b,s:s,s:s,s:I,s:i,s:i,s:i,s:I}", "ok", 1, "digest", result->digest,
                                         "uri", result->uri, "bytes_sent", (json_int_t)result->bytes_sent,
                                         "blobs_sent", (int)result->blobs_sent, "blobs_mounted",
                                         (int)result->blobs_mounted, "blobs_present", (int)result->blobs_present,
                                         "peak_kib", (json_int_t)peak_kib())
                             : json_pack("{s:b,s:s,s:s,s:I}", "ok", 0, "error_type", result->error_type, "message",
                                         result->message, "bytes_sent", (json_int_t)result->bytes_sent);
    char *text = json_dumps(out, JSON_COMPACT);
    puts(text);
    free(text);
    json_decref(out);
    finished = 1;
}

static char *read_or_die(const char *path)
{
    size_t size = 0;
    char *data = fsutil_read(path, &size);
    if (data == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(2);
    }
    return data;
}

int main(int argc, char **argv)
{
    struct oci_push_request request = {.arch = "x86_64", .title = "function", .code_hash = "0"};
    const char *cmd[TOOL_MAX] = {0}, *entrypoint[TOOL_MAX] = {0}, *env[TOOL_MAX] = {0};
    size_t cmd_count = 0, entrypoint_count = 0, env_count = 0, extra_count = 0;
    struct oci_layer_file extra[TOOL_MAX];
    char *owned[TOOL_MAX * 2];
    size_t owned_count = 0;
    int no_cmd = 0;
    for (int i = 1; i < argc; i++) {
        const char *key = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(key, "--no-cmd") == 0) {
            no_cmd = 1;
            continue;
        }
        if (value == NULL) {
            fprintf(stderr, "%s needs a value\n", key);
            return 2;
        }
        i++;
        if (strcmp(key, "--base") == 0)
            request.base = value;
        else if (strcmp(key, "--target") == 0)
            request.target = value;
        else if (strcmp(key, "--arch") == 0)
            request.arch = value;
        else if (strcmp(key, "--function") == 0)
            request.function = value;
        else if (strcmp(key, "--title") == 0)
            request.title = value;
        else if (strcmp(key, "--code-hash") == 0)
            request.code_hash = value;
        else if (strcmp(key, "--deps") == 0)
            request.deps_dir = value;
        else if (strcmp(key, "--source") == 0)
            request.source = owned[owned_count++] = read_or_die(value);
        else if (strcmp(key, "--requirements") == 0)
            request.requirements = owned[owned_count++] = read_or_die(value);
        else if (strcmp(key, "--cmd") == 0 && cmd_count + 1 < TOOL_MAX)
            cmd[cmd_count++] = value;
        else if (strcmp(key, "--entrypoint") == 0 && entrypoint_count + 1 < TOOL_MAX)
            entrypoint[entrypoint_count++] = value;
        else if (strcmp(key, "--env") == 0 && env_count + 1 < TOOL_MAX)
            env[env_count++] = value;
        else if (strcmp(key, "--extra") == 0 && strchr(value, '=') && extra_count < TOOL_MAX) {
            char *name = strndup(value, (size_t)(strchr(value, '=') - value));
            size_t size = 0;
            char *data = fsutil_read(strchr(value, '=') + 1, &size);
            if (name == NULL || data == NULL)
                return 2;
            owned[owned_count++] = name;
            owned[owned_count++] = data;
            extra[extra_count++] = (struct oci_layer_file){name, data, size};
        } else {
            fprintf(stderr, "unknown argument %s\n", key);
            return 2;
        }
    }
    request.cmd = cmd_count || no_cmd ? cmd : NULL;
    request.entrypoint = entrypoint_count ? entrypoint : NULL;
    request.env = env_count ? env : NULL;
    request.extra_files = extra;
    request.extra_count = extra_count;
    struct reactor *reactor = reactor_new();
    char err[1024];
    struct oci_push *push = oci_push_start(reactor, &request, on_done, NULL, err, sizeof err);
    int status = 0;
    if (push == NULL) {
        json_t *out = json_pack("{s:b,s:s,s:s}", "ok", 0, "error_type", "StartError", "message", err);
        char *text = json_dumps(out, JSON_COMPACT);
        puts(text);
        free(text);
        json_decref(out);
        status = 2;
    }
    while (push != NULL && !finished) {
        int next = reactor_run_timers(reactor);
        reactor_wait(reactor, next < 0 || next > 1000 ? 1000 : next);
    }
    reactor_free(reactor);
    for (size_t i = 0; i < owned_count; i++)
        free(owned[i]);
    return status;
}
