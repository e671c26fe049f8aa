/* spawn: starting a Python child the way the kernel needs it, for the local
 * runtime and for local-platform workers alike (and any other program the
 * kernel runs, such as a registry's credential helper): `PYTHON -c SOURCE` in its
 * own process group, killed if the kernel dies (PR_SET_PDEATHSIG), with a
 * socket at fd 3 (the child learns the number from an environment variable),
 * chosen fds as 0, 1 and 2, extra environment variables, a working
 * directory and an address-space limit. Everything is prepared before
 * fork(), because the kernel has other threads and the child may only make
 * async-signal-safe calls until it execs. An exec failure comes back on a
 * close-on-exec pipe, so a wrong interpreter is a clear error at once. */
#ifndef FAASET_SPAWN_H
#define FAASET_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#define SPAWN_CHILD_FD 3

struct spawn_options {
    const char *python;          /* interpreter: a path, or a name looked up in PATH */
    const char *source;          /* the program, passed with -c */
    const char *const *env;      /* extra "KEY=VALUE" strings (NULL-terminated), override the kernel's */
    int minimal_env;             /* start from PATH, HOME, USER, LANG, LC_*, TZ only: no credentials of
                                    the user's leak into a function, as on a real platform */
    const char *cwd;             /* working directory, NULL = the kernel's */
    int child_fd;                /* becomes fd 3 in the child; -1: none */
    int stdin_fd, stdout_fd, stderr_fd;  /* become 0, 1, 2 */
    unsigned long long address_space_limit;  /* bytes, 0 = none */
};

/* Finds the interpreter NAME as exec would (a path, or a name looked up in
 * PATH) and writes its path to OUT. Returns 0, or -1 with errno set. */
int spawn_resolve(const char *name, char *out, size_t out_size);

/* Starts the child. Returns its pid, or -1 with a reason in ERR. */
pid_t spawn_python(const struct spawn_options *options, char *err, size_t err_size);

/* Starts ARGV (ARGV[0] a path, or a name looked up in PATH) with OPTIONS'
 * environment, directory, fds and limits (PYTHON and SOURCE unused).
 * Returns its pid, or -1 with a reason in ERR. */
pid_t spawn_program(const struct spawn_options *options, const char *const *argv, char *err, size_t err_size);

/* Writes how a waited-for child ended ("exited with status 1", "was killed
 * by signal 11 (Segmentation fault)") into HOW. */
void spawn_describe_status(int status, char *how, size_t how_size);

#endif
