/* reactor: file-descriptor watchers and timers for the kernel's one event
 * loop (server.c polls them beside the ZeroMQ sockets). Platforms use it to
 * wait for their workers and, later, for HTTP transfers, without threads.
 * Callbacks run on the loop's thread and may add or remove watchers and
 * timers, their own included. */
#ifndef FAASET_REACTOR_H
#define FAASET_REACTOR_H

#include <stddef.h>

struct reactor;

typedef void (*reactor_fd_fn)(void *ctx, int fd);
typedef void (*reactor_timer_fn)(void *ctx);

struct reactor *reactor_new(void);
void reactor_free(struct reactor *reactor);

/* Calls FN(CTX, FD) whenever FD is readable (or closed). Returns 0 or -1. */
int reactor_watch(struct reactor *reactor, int fd, reactor_fd_fn fn, void *ctx);
void reactor_unwatch(struct reactor *reactor, int fd);

/* Calls FN(CTX) once, DELAY_MS from now. Returns a timer id (> 0) or 0. */
unsigned long reactor_timer(struct reactor *reactor, long long delay_ms, reactor_timer_fn fn, void *ctx);
void reactor_cancel(struct reactor *reactor, unsigned long timer_id);

/* The watched fds, for the poller: fills at most MAX, returns how many. */
size_t reactor_fds(const struct reactor *reactor, int *fds, size_t max);
size_t reactor_fd_count(const struct reactor *reactor);

/* Dispatches a readable fd reported by the poller. */
void reactor_ready(struct reactor *reactor, int fd);

/* Runs due timers; returns ms until the next one, or -1 if none. */
int reactor_run_timers(struct reactor *reactor);

/* Milliseconds on a monotonic clock, whole and fractional. */
long long reactor_now_ms(void);
double reactor_now_ms_precise(void);

#endif
