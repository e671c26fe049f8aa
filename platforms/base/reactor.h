/* reactor: file-descriptor watchers and timers for the kernel's one event
 * loop. Platforms use it to wait for their workers and for HTTP transfers,
 * without threads. The watchers live in an epoll set whose own fd the loop
 * polls beside the ZeroMQ sockets, so ten thousand connections cost the
 * loop one pollable fd and work proportional to what is ready. Callbacks run
 * on the loop's thread and may add or remove watchers and timers, their own
 * included. */
#ifndef FAASET_REACTOR_H
#define FAASET_REACTOR_H

#include <stddef.h>

#define REACTOR_READ 1
#define REACTOR_WRITE 2

struct reactor;

/* EVENTS says what happened: REACTOR_READ and/or REACTOR_WRITE (errors and
 * hang-ups are reported as both, so the owner's read or write finds them). */
typedef void (*reactor_fd_fn)(void *ctx, int fd, int events);
typedef void (*reactor_timer_fn)(void *ctx);

struct reactor *reactor_new(void);
void reactor_free(struct reactor *reactor);

/* Calls FN(CTX, FD, EVENTS) whenever FD is ready for any of WANTED
 * (REACTOR_READ | REACTOR_WRITE). Watching an fd again changes WANTED and
 * the callback. Returns 0 or -1. */
int reactor_watch(struct reactor *reactor, int fd, int wanted, reactor_fd_fn fn, void *ctx);
void reactor_unwatch(struct reactor *reactor, int fd);

/* Calls FN(CTX) once, DELAY_MS from now. Returns a timer id (> 0) or 0. */
unsigned long reactor_timer(struct reactor *reactor, long long delay_ms, reactor_timer_fn fn, void *ctx);
void reactor_cancel(struct reactor *reactor, unsigned long timer_id);

/* The one fd the event loop polls for reading: ready when a watched fd is. */
int reactor_fd(const struct reactor *reactor);

/* Runs the callbacks of the fds that are ready now (never blocks). */
void reactor_dispatch(struct reactor *reactor);

/* Runs the timers that were due when it was called (timers their callbacks
 * set wait for the next call); returns ms until the next one, or -1 if none. */
int reactor_run_timers(struct reactor *reactor);

/* For a loop that has nothing but this reactor to serve (the command
 * line): waits up to TIMEOUT_MS (-1: no limit; reactor_run_timers gives
 * it) for a watched fd, then runs the ready fds' callbacks. Returns 0, or
 * -1 when a signal interrupted the wait (errno EINTR) or the wait failed. */
int reactor_wait(struct reactor *reactor, int timeout_ms);

#endif
