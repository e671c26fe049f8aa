/* pyhost: starting, talking to and stopping the local Python runtime
 * (see pyhost.h); spawn.c does the fork and exec. */
#include "pyhost.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "embedded.h"
#include "frame.h"
#include "reactor.h"
#include "spawn.h"

struct pyhost {
    char *python;                  /* as configured */
    pid_t pid;                     /* 0 when not running */
    int frame_fd;
    int output_fds[2];
    struct frame_decoder decoder;
    struct reactor *reactor;
    struct pyhost_events events;
    unsigned generation;
};

static void pyhost_on_frame_fd(void *ctx, int fd, int events)
{
    (void)fd;
    (void)events;
    struct pyhost *host = ctx;
    host->events.frames(host->events.ctx);
}

static void pyhost_on_output_fd(void *ctx, int fd, int events)
{
    (void)events;
    struct pyhost *host = ctx;
    host->events.output(host->events.ctx, fd == host->output_fds[PYHOST_STDOUT] ? PYHOST_STDOUT : PYHOST_STDERR);
}

/* Stops watching FD and closes it; sets *FD to -1. */
static void pyhost_close(struct pyhost *host, int *fd)
{
    if (*fd < 0)
        return;
    reactor_unwatch(host->reactor, *fd);
    close(*fd);
    *fd = -1;
}

struct pyhost *pyhost_new(const char *python, struct reactor *reactor, const struct pyhost_events *events)
{
    struct pyhost *host = calloc(1, sizeof *host);
    if (host == NULL)
        return NULL;
    host->python = strdup(python);
    if (host->python == NULL) {
        free(host);
        return NULL;
    }
    host->frame_fd = host->output_fds[0] = host->output_fds[1] = -1;
    host->reactor = reactor;
    host->events = *events;
    frame_decoder_init(&host->decoder);
    return host;
}

void pyhost_free(struct pyhost *host)
{
    if (host == NULL)
        return;
    char how[128];
    pyhost_stop(host, 200, how, sizeof how);
    frame_decoder_free(&host->decoder);
    free(host->python);
    free(host);
}

int pyhost_running(const struct pyhost *host) { return host->pid > 0; }
pid_t pyhost_pid(const struct pyhost *host) { return host->pid; }
unsigned pyhost_generation(const struct pyhost *host) { return host->generation; }

/* {name: source} of the embedded files in TABLE, or NULL when out of memory. */
static json_t *pyhost_sources(const char *const (*table)[2], size_t count)
{
    json_t *sources = json_object();
    for (size_t i = 0; sources != NULL && i < count; i++) {
        const struct embedded_file *file = embedded_find(table[i][1]);
        json_object_set_new(sources, table[i][0], json_stringn((const char *)file->data, file->size));
    }
    return sources;
}

/* Boots the runtime with its own module, the modules it imports (first:
 * bootstrap.py creates the modules in this order): the frame reader/writer,
 * the comms, and the cell language's (IPython's syntax, magics, inline
 * figures), and SAAF's, so cells can `from SAAF import Inspector` (or the paper's `from Inspector import *`).
 * The library is FaaSET's own modules (`import FaaSET`, the paper's
 * interactive_helpers): created only when a cell imports them. */
static int pyhost_send_boot(struct pyhost *host)
{
    static const char *const library[][2] = {
        {"faaset_compat", "runtime/python/faaset_compat.py"},
        {"faaset_compat_helpers", "runtime/python/faaset_compat_helpers.py"},
        {"faaset_compat_faaset", "runtime/python/faaset_compat_faaset.py"},
        {"faaset_compat_runner", "runtime/python/faaset_compat_runner.py"},
        {"faaset_compat_ui", "runtime/python/faaset_compat_ui.py"},
    };
    static const char *const modules[][2] = {
        {"faaset_frames", "runtime/python/faaset_frames.py"},
        {"faaset_comms", "runtime/python/faaset_comms.py"},
        {"faaset_transform", "runtime/python/faaset_transform.py"},
        {"faaset_inline", "runtime/python/faaset_inline.py"},
        {"faaset_language", "runtime/python/faaset_language.py"},
        {"faaset_magics", "runtime/python/faaset_magics.py"},
        {"faaset_ipython", "runtime/python/faaset_ipython.py"},
        {"faaset_results", "runtime/python/faaset_results.py"},
        {"faaset_inspector_import", "runtime/python/faaset_inspector_import.py"},
        {"faaset_library", "runtime/python/faaset_library.py"},
        {"faaset_host", "runtime/python/faaset_host.py"},
        {"SAAF", "runtime/python/SAAF.py"},
        {"Inspector", "runtime/python/Inspector.py"},
    };
    json_t *sources = pyhost_sources(modules, sizeof modules / sizeof modules[0]);
    json_t *lib = pyhost_sources(library, sizeof library / sizeof library[0]);
    json_t *boot = json_pack("{s:s, s:o, s:o, s:s}", "type", "boot", "modules", sources, "library", lib, "main",
                             "faaset_host");
    int rc = boot ? pyhost_send(host, boot) : -1;
    json_decref(boot);
    return rc;
}

int pyhost_start(struct pyhost *host, char *err, size_t err_size)
{
    const struct embedded_file *bootstrap = embedded_find("runtime/python/bootstrap.py");
    /* FAASET_PLATFORM tells SAAF that functions called with run=local run in the notebook */
    static const char *const env[] = {"FAASET_RUNTIME_FD=3", "FAASET_PLATFORM=notebook", NULL};
    int sockets[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (devnull < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) < 0 ||
        pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
        snprintf(err, err_size, "cannot create the runtime's pipes: %s", strerror(errno));
        goto fail;
    }
    struct spawn_options options = {
        .python = host->python, .source = (const char *)bootstrap->data, .env = env, .child_fd = sockets[1],
        .stdin_fd = devnull, .stdout_fd = out_pipe[1], .stderr_fd = err_pipe[1]};
    char reason[512];
    pid_t pid = spawn_python(&options, reason, sizeof reason);
    if (pid < 0) {
        snprintf(err, err_size, "%s; set FAASET_PYTHON or run 'faaset install --python PATH'", reason);
        goto fail;
    }
    host->pid = pid;
    host->frame_fd = sockets[0];
    host->output_fds[PYHOST_STDOUT] = out_pipe[0];
    host->output_fds[PYHOST_STDERR] = err_pipe[0];
    fcntl(out_pipe[0], F_SETFL, O_NONBLOCK);
    fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
    close(sockets[1]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    close(devnull);
    host->generation++;
    frame_decoder_free(&host->decoder);
    frame_decoder_init(&host->decoder);
    if (reactor_watch(host->reactor, host->frame_fd, REACTOR_READ, pyhost_on_frame_fd, host) < 0 ||
        reactor_watch(host->reactor, out_pipe[0], REACTOR_READ, pyhost_on_output_fd, host) < 0 ||
        reactor_watch(host->reactor, err_pipe[0], REACTOR_READ, pyhost_on_output_fd, host) < 0) {
        char how[128];
        pyhost_stop(host, 0, how, sizeof how);
        snprintf(err, err_size, "cannot watch the runtime's pipes: %s", strerror(errno));
        return -1;
    }
    if (pyhost_send_boot(host) < 0) {
        char how[128];
        pyhost_stop(host, 200, how, sizeof how);
        snprintf(err, err_size, "the Python runtime (%s) %s before it started", host->python, how);
        return -1;
    }
    return 0;
fail:;
    int fds[] = {devnull, sockets[0], sockets[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return -1;
}

int pyhost_send(struct pyhost *host, const json_t *frame)
{
    return frame_send(host->frame_fd, frame);
}

int pyhost_receive(struct pyhost *host, json_t **out)
{
    char err[256];
    int rc = host->frame_fd < 0 ? -1 : frame_decoder_next(&host->decoder, out, err, sizeof err);
    if (rc != 0)
        return rc;
    for (;;) {
        char buffer[65536];
        ssize_t n = recv(host->frame_fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0 || frame_decoder_feed(&host->decoder, buffer, (size_t)n) < 0)
            return -1;
        rc = frame_decoder_next(&host->decoder, out, err, sizeof err);
        if (rc != 0)
            return rc;
    }
}

size_t pyhost_read_output(struct pyhost *host, enum pyhost_stream stream, char *buffer, size_t size)
{
    int fd = host->output_fds[stream];
    if (fd < 0)
        return 0;
    ssize_t n;
    do {
        n = read(fd, buffer, size);
    } while (n < 0 && errno == EINTR);
    if (n == 0) /* end of file: stop watching it */
        pyhost_close(host, &host->output_fds[stream]);
    return n > 0 ? (size_t)n : 0;
}

void pyhost_interrupt(struct pyhost *host)
{
    if (host->pid > 0)
        kill(-host->pid, SIGINT);
}

void pyhost_stop(struct pyhost *host, int grace_ms, char *how, size_t how_size)
{
    snprintf(how, how_size, "was not running");
    pyhost_close(host, &host->frame_fd);
    if (host->pid > 0) {
        int status = 0;
        pid_t done = 0;
        for (int waited = 0; (done = waitpid(host->pid, &status, WNOHANG)) == 0 && waited < grace_ms; waited += 2)
            nanosleep(&(struct timespec){0, 2000000L}, NULL);
        kill(-host->pid, SIGKILL); /* the runtime and whatever it started */
        if (done == 0)
            done = waitpid(host->pid, &status, 0);
        if (done == host->pid)
            spawn_describe_status(status, how, how_size);
        host->pid = 0;
    }
    for (int s = 0; s < 2; s++)
        pyhost_close(host, &host->output_fds[s]);
}
