/* http_test_server: see http_test_server.h. */
#include "http_test_server.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int http_test_server_port;
char http_test_server_line[2048];
static pid_t server_pid = -1;
static int server_stdin = -1; /* closing it asks the server to end */

int http_test_server_start(const char *script)
{
    const char *const argv[] = {script, NULL};
    return http_test_server_start_argv(argv);
}

int http_test_server_start_argv(const char *const *argv)
{
    int out[2], in[2];
    if (pipe(out) < 0 || pipe(in) < 0)
        return -1;
    server_pid = fork();
    if (server_pid < 0)
        return -1;
    if (server_pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        char *args[32] = {"python3"};
        for (size_t i = 0; argv[i] != NULL && i + 2 < sizeof args / sizeof args[0]; i++)
            args[i + 1] = (char *)argv[i];
        execv("/usr/bin/python3", args);
        _exit(127);
    }
    close(in[0]);
    server_stdin = in[1]; /* open until http_test_server_stop, or until this process ends */
    close(out[1]);
    char *line = http_test_server_line;
    size_t used = 0;
    memset(http_test_server_line, 0, sizeof http_test_server_line);
    while (used < sizeof http_test_server_line - 1 && strchr(line, '\n') == NULL) {
        struct pollfd p = {.fd = out[0], .events = POLLIN};
        if (poll(&p, 1, 10000) != 1)
            break;
        ssize_t got = read(out[0], line + used, sizeof http_test_server_line - 1 - used);
        if (got <= 0)
            break;
        used += (size_t)got;
    }
    close(out[0]);
    http_test_server_port = atoi(line);
    return strchr(line, '\n') != NULL && (http_test_server_port > 0 || line[0] == '{') ? 0 : -1;
}

void http_test_server_kill(void)
{
    if (server_pid > 0)
        kill(server_pid, SIGKILL);
}

static char deadline_message[128];

static void on_deadline(int signo)
{
    (void)signo;
    http_test_server_kill();
    (void)!write(2, deadline_message, strlen(deadline_message));
    _exit(1);
}

void http_test_server_deadline(const char *test, unsigned seconds)
{
    snprintf(deadline_message, sizeof deadline_message, "%s: deadline passed\n", test);
    signal(SIGALRM, on_deadline);
    alarm(seconds);
}

void http_test_server_stop(void)
{
    if (server_stdin >= 0) {
        close(server_stdin);
        server_stdin = -1;
    }
    if (server_pid > 0) {
        for (int waited_ms = 0; waited_ms < 10000; waited_ms += 10) {
            if (waitpid(server_pid, NULL, WNOHANG) == server_pid) {
                server_pid = -1;
                return;
            }
            usleep(10000);
        }
        kill(server_pid, SIGKILL);
        waitpid(server_pid, NULL, 0);
        server_pid = -1;
    }
}
