/* http_test_server: starts tests/unit/http_server.py (Debian's Python) for
 * the C tests that talk HTTP, and stops it. The server's stdin is a pipe
 * this process keeps open, so the server also ends when the test does. */
#ifndef FAASET_HTTP_TEST_SERVER_H
#define FAASET_HTTP_TEST_SERVER_H

/* The first line the server printed: its port (127.0.0.1), or a JSON
 * object (a server with several ports says what they are). */
extern int http_test_server_port;
extern char http_test_server_line[2048];

/* Starts the server at SCRIPT; 0 once it has printed its port (or JSON line), else -1. */
int http_test_server_start(const char *script);
/* The same with arguments: ARGV is {script, arguments..., NULL}. */
int http_test_server_start_argv(const char *const *argv);

/* Kills it (async-signal-safe: for an alarm handler). */
void http_test_server_kill(void);

/* Ends the test if it still runs after SECONDS: kills the server, says
 * "TEST: deadline passed" on stderr and exits with 1, so a test that hangs
 * fails instead of holding ctest. */
void http_test_server_deadline(const char *test, unsigned seconds);

/* Closes its stdin, so that it ends by itself and cleans up after itself
 * (a stand-in removes its folder), waits up to 10 s for that, then kills it;
 * and reaps it. */
void http_test_server_stop(void);

#endif
