/* spawn: fork/exec of Python children and other programs (see spawn.h). */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int spawn_resolve(const char *name, char *out, size_t out_size)
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

void spawn_describe_status(int status, char *how, size_t how_size)
{
    if (WIFEXITED(status))
        snprintf(how, how_size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(how, how_size, "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(how, how_size, "stopped");
}

static int spawn_minimal_keeps(const char *entry)
{
    static const char *const kept[] = {"PATH=", "HOME=", "USER=", "LANG=", "LC_", "TZ=", NULL};
    for (size_t i = 0; kept[i] != NULL; i++)
        if (strncmp(entry, kept[i], strlen(kept[i])) == 0)
            return 1;
    return 0;
}

/* environ (or its minimal part) with EXTRA's keys replaced or added, built
 * before fork. The strings stay owned by environ and EXTRA. */
static char **spawn_environment(const char *const *extra, int minimal)
{
    size_t count = 0, extra_count = 0;
    while (environ[count] != NULL)
        count++;
    while (extra != NULL && extra[extra_count] != NULL)
        extra_count++;
    char **env = calloc(count + extra_count + 1, sizeof *env);
    if (env == NULL)
        return NULL;
    size_t kept = 0;
    for (size_t i = 0; i < count; i++) {
        size_t key_len = strcspn(environ[i], "=");
        int overridden = 0;
        for (size_t j = 0; j < extra_count && !overridden; j++)
            overridden = strncmp(extra[j], environ[i], key_len + 1) == 0;
        if (!overridden && (!minimal || spawn_minimal_keeps(environ[i])))
            env[kept++] = environ[i];
    }
    for (size_t j = 0; j < extra_count; j++)
        env[kept++] = (char *)extra[j];
    return env;
}

static void spawn_child(const struct spawn_options *o, char *const argv[], char *const envp[], int error_fd,
                        pid_t parent)
{
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    int code = 0;
    if (dup2(o->stdin_fd, 0) < 0 || dup2(o->stdout_fd, 1) < 0 || dup2(o->stderr_fd, 2) < 0 ||
        (o->child_fd >= 0 && dup2(o->child_fd, SPAWN_CHILD_FD) < 0) || (o->cwd != NULL && chdir(o->cwd) < 0))
        code = errno;
    if (code == 0 && o->address_space_limit > 0) {
        struct rlimit limit = {o->address_space_limit, o->address_space_limit};
        if (setrlimit(RLIMIT_AS, &limit) < 0)
            code = errno;
    }
    if (code == 0) {
        execve(argv[0], argv, envp);
        code = errno;
    }
    (void)!write(error_fd, &code, sizeof code);
    _exit(127);
}

/* Forks and execs ARGV (ARGV[0] the resolved path); WHAT names it in errors. */
static pid_t spawn_exec(const struct spawn_options *options, char *const argv[], const char *what, char *err,
                        size_t err_size)
{
    char **envp = spawn_environment(options->env, options->minimal_env);
    int exec_pipe[2];
    if (envp == NULL || pipe2(exec_pipe, O_CLOEXEC) < 0) {
        snprintf(err, err_size, "cannot start %s: %s", argv[0], strerror(errno));
        free(envp);
        return -1;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        spawn_child(options, argv, envp, exec_pipe[1], parent);
    free(envp);
    close(exec_pipe[1]);
    if (pid < 0) {
        snprintf(err, err_size, "cannot start %s: fork: %s", argv[0], strerror(errno));
        close(exec_pipe[0]);
        return -1;
    }
    int code = 0;
    ssize_t got;
    do {
        got = read(exec_pipe[0], &code, sizeof code);
    } while (got < 0 && errno == EINTR);
    close(exec_pipe[0]);
    if (got == (ssize_t)sizeof code) {
        waitpid(pid, NULL, 0);
        snprintf(err, err_size, "cannot run %s %s: %s", what, argv[0], strerror(code));
        return -1;
    }
    return pid;
}

pid_t spawn_python(const struct spawn_options *options, char *err, size_t err_size)
{
    char python[4096];
    if (spawn_resolve(options->python, python, sizeof python) < 0) {
        snprintf(err, err_size, "cannot find the Python interpreter '%s' (%s)", options->python, strerror(errno));
        return -1;
    }
    char *argv[] = {python, "-c", (char *)options->source, NULL};
    return spawn_exec(options, argv, "the Python interpreter", err, err_size);
}

pid_t spawn_program(const struct spawn_options *options, const char *const *argv, char *err, size_t err_size)
{
    char path[4096];
    if (spawn_resolve(argv[0], path, sizeof path) < 0) {
        snprintf(err, err_size, "cannot find %s (%s)", argv[0], strerror(errno));
        return -1;
    }
    size_t count = 0;
    while (argv[count] != NULL)
        count++;
    char **args = calloc(count + 1, sizeof *args);
    if (args == NULL) {
        snprintf(err, err_size, "cannot start %s: out of memory", argv[0]);
        return -1;
    }
    args[0] = path;
    for (size_t i = 1; i < count; i++)
        args[i] = (char *)argv[i];
    pid_t pid = spawn_exec(options, args, "the program", err, err_size);
    free(args);
    return pid;
}
