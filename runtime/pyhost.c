/* pyhost: starting, talking to and stopping the local Python runtime
 * (see pyhost.h). Everything the child needs is prepared before fork(),
 * because the kernel has other threads and the child may only make
 * async-signal-safe calls until it execs. An exec failure travels back on a
 * close-on-exec pipe, so a wrong interpreter path is a clear error at once. */
#include "pyhost.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "embedded.h"
#include "frame.h"

#define PYHOST_FRAME_FD 3

extern char **environ;

struct pyhost {
    char *python;                  /* as configured */
    pid_t pid;                     /* 0 when not running */
    int frame_fd;
    int output_fds[2];
    struct frame_decoder decoder;
};

struct pyhost *pyhost_new(const char *python)
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
const char *pyhost_python(const struct pyhost *host) { return host->python; }
int pyhost_frame_fd(const struct pyhost *host) { return host->frame_fd; }

int pyhost_output_fd(const struct pyhost *host, enum pyhost_stream stream)
{
    return host->output_fds[stream];
}

int pyhost_resolve(const char *name, char *out, size_t out_size)
{
    if (strchr(name, '/') != NULL) {
        snprintf(out, out_size, "%s", name);
        return access(out, X_OK) == 0 ? 0 : -1;
    }
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        snprintf(out, out_size, "%.*s/%s", (int)len, len ? path : ".", name);
        struct stat st;
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0;
        path += len + (path[len] == ':');
    }
    errno = ENOENT;
    return -1;
}

/* environ plus FAASET_RUNTIME_FD=3, built before fork. */
static char **pyhost_child_environment(void)
{
    size_t count = 0;
    while (environ[count] != NULL)
        count++;
    char **env = calloc(count + 2, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++)
        if (strncmp(environ[i], "FAASET_RUNTIME_FD=", 18) != 0)
            env[kept++] = environ[i];
    env[kept] = "FAASET_RUNTIME_FD=3";
    return env;
}

static void pyhost_child(const char *python, char *const argv[], char *const envp[], int frame_fd,
                         const int out_fds[2], int devnull, int error_fd, pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (dup2(devnull, 0) < 0 || dup2(out_fds[0], 1) < 0 || dup2(out_fds[1], 2) < 0 ||
        dup2(frame_fd, PYHOST_FRAME_FD) < 0) {
        int code = errno;
        (void)!write(error_fd, &code, sizeof code);
        _exit(127);
    }
    execve(python, argv, envp);
    int code = errno;
    (void)!write(error_fd, &code, sizeof code);
    _exit(127);
}

static int pyhost_send_boot(struct pyhost *host)
{
    const struct embedded_file *main_module = embedded_find("runtime/python/faaset_host.py");
    json_t *boot = json_pack("{s:s, s:{s:s#}, s:s}", "type", "boot", "modules", "faaset_host",
                             (const char *)main_module->data, main_module->size, "main", "faaset_host");
    int rc = boot ? pyhost_send(host, boot) : -1;
    json_decref(boot);
    return rc;
}

/* Waits for the exec to succeed (error pipe closes) or fail (errno arrives). */
static int pyhost_exec_result(int error_fd)
{
    int code = 0;
    ssize_t got;
    do {
        got = read(error_fd, &code, sizeof code);
    } while (got < 0 && errno == EINTR);
    return got == (ssize_t)sizeof code ? code : 0;
}

int pyhost_start(struct pyhost *host, char *err, size_t err_size)
{
    char python[4096];
    if (pyhost_resolve(host->python, python, sizeof python) < 0) {
        snprintf(err, err_size, "cannot find the Python interpreter '%s' (%s); set FAASET_PYTHON or run "
                 "'faaset install --python PATH'", host->python, strerror(errno));
        return -1;
    }
    const struct embedded_file *bootstrap = embedded_find("runtime/python/bootstrap.py");
    char *argv[] = {python, "-c", (char *)bootstrap->data, NULL};
    char **envp = pyhost_child_environment();
    int sockets[2] = {-1, -1}, out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1}, exec_pipe[2] = {-1, -1};
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (envp == NULL || devnull < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) < 0 ||
        pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0 || pipe2(exec_pipe, O_CLOEXEC) < 0) {
        snprintf(err, err_size, "cannot create the runtime's pipes: %s", strerror(errno));
        goto fail;
    }
    int child_out[2] = {out_pipe[1], err_pipe[1]};
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, err_size, "cannot start the Python runtime: fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0)
        pyhost_child(python, argv, envp, sockets[1], child_out, devnull, exec_pipe[1], parent);
    close(exec_pipe[1]);
    exec_pipe[1] = -1;
    int exec_errno = pyhost_exec_result(exec_pipe[0]);
    if (exec_errno != 0) {
        waitpid(pid, NULL, 0);
        snprintf(err, err_size, "cannot run the Python interpreter %s: %s", python, strerror(exec_errno));
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
    close(exec_pipe[0]);
    close(devnull);
    free(envp);
    frame_decoder_free(&host->decoder);
    frame_decoder_init(&host->decoder);
    if (pyhost_send_boot(host) < 0) {
        char how[128];
        pyhost_stop(host, 200, how, sizeof how);
        snprintf(err, err_size, "the Python runtime (%s) %s before it started", python, how);
        return -1;
    }
    return 0;
fail:
    free(envp);
    int fds[] = {devnull, sockets[0], sockets[1], out_pipe[0], out_pipe[1],
                 err_pipe[0], err_pipe[1], exec_pipe[0], exec_pipe[1]};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return -1;
}

int pyhost_send(struct pyhost *host, const json_t *frame)
{
    if (host->frame_fd < 0)
        return -1;
    unsigned char *bytes;
    size_t size;
    if (frame_encode(frame, &bytes, &size) < 0)
        return -1;
    size_t sent = 0;
    while (sent < size) {
        ssize_t n = send(host->frame_fd, bytes + sent, size - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    free(bytes);
    return sent == size ? 0 : -1;
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
    if (n == 0) { /* end of file: stop polling it */
        close(fd);
        host->output_fds[stream] = -1;
    }
    return n > 0 ? (size_t)n : 0;
}

void pyhost_interrupt(struct pyhost *host)
{
    if (host->pid > 0)
        kill(-host->pid, SIGINT);
}

static void pyhost_describe_status(int status, char *how, size_t how_size)
{
    if (WIFEXITED(status))
        snprintf(how, how_size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(how, how_size, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(how, how_size, "stopped");
}

void pyhost_stop(struct pyhost *host, int grace_ms, char *how, size_t how_size)
{
    snprintf(how, how_size, "was not running");
    if (host->frame_fd >= 0)
        close(host->frame_fd);
    host->frame_fd = -1;
    if (host->pid > 0) {
        int status = 0;
        pid_t done = 0;
        for (int waited = 0; (done = waitpid(host->pid, &status, WNOHANG)) == 0 && waited < grace_ms; waited += 2)
            nanosleep(&(struct timespec){0, 2000000L}, NULL);
        kill(-host->pid, SIGKILL); /* the runtime and whatever it started */
        if (done == 0)
            done = waitpid(host->pid, &status, 0);
        if (done == host->pid)
            pyhost_describe_status(status, how, how_size);
        host->pid = 0;
    }
    for (int s = 0; s < 2; s++) {
        if (host->output_fds[s] >= 0)
            close(host->output_fds[s]);
        host->output_fds[s] = -1;
    }
}
