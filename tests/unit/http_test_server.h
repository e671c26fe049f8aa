/* http_test_server: starts tests/unit/http_server.py (Debian's Python) for
 * the C tests that talk HTTP, and stops it. The server's stdin is a pipe
 * this process keeps open, so the server also ends when the test does. */
#ifndef FAASET_HTTP_TEST_SERVER_H
#define FAASET_HTTP_TEST_SERVER_H

/* The port the server listens on (127.0.0.1), once started. */
extern int http_test_server_port;

/* Starts the server at SCRIPT; 0 once it has printed its port, else -1. */
int http_test_server_start(const char *script);

/* Kills it (async-signal-safe: for an alarm handler). */
void http_test_server_kill(void);

/* Kills it and reaps it. */
void http_test_server_stop(void);

#endif
