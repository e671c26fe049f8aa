/* pyhost: the local runtime, one long-lived Python process owned by the
 * kernel. It is started as `PYTHON -c <bootstrap>` in its own process group
 * (so the kernel decides when it gets SIGINT) with a socketpair at fd 3 for
 * frames (see frame.h) and pipes as fd 1 and 2, so output of C extensions
 * and subprocesses reaches the notebook too. The first frame sent boots the
 * embedded Python modules. If the kernel dies, the runtime gets SIGKILL
 * (see spawn.h), so no orphan keeps running. While it runs, its frame
 * socket and output pipes are watched on the front end's reactor, which
 * calls the events below: the kernel and the command line serve it the
 * same way. */
#ifndef FAASET_PYHOST_H
#define FAASET_PYHOST_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

enum pyhost_stream { PYHOST_STDOUT, PYHOST_STDERR };

struct pyhost;
struct reactor;

/* What the reactor reports while the runtime runs. */
struct pyhost_events {
    void *ctx;
    /* The frame socket is readable (frames, or the end: see pyhost_receive). */
    void (*frames)(void *ctx);
    /* fd 1 or fd 2 has output (or reached its end). */
    void (*output)(void *ctx, enum pyhost_stream stream);
};

/* PYTHON is the interpreter to run (a path, or a name looked up in PATH). */
struct pyhost *pyhost_new(const char *python, struct reactor *reactor, const struct pyhost_events *events);
void pyhost_free(struct pyhost *host);

/* Starts the process and sends the boot frame. Returns 0, or -1 with ERR
 * (for example when the interpreter cannot be executed). */
int pyhost_start(struct pyhost *host, char *err, size_t err_size);

int pyhost_running(const struct pyhost *host);
pid_t pyhost_pid(const struct pyhost *host);

/* Bumped at each start: an answer meant for an earlier runtime can be told apart. */
unsigned pyhost_generation(const struct pyhost *host);

/* Sends one frame (blocking; the runtime reads whenever it is owed one).
 * Returns 0, or -1 when the runtime is gone. */
int pyhost_send(struct pyhost *host, const json_t *frame);

/* Reads what is waiting on the frame socket. Returns 1 with *OUT when a whole
 * frame is ready (call again for more), 0 when none is, -1 when the runtime
 * closed the socket or spoke garbage (it is then considered dead). */
int pyhost_receive(struct pyhost *host, json_t **out);

/* Reads up to SIZE bytes of raw fd 1 or fd 2 output without blocking.
 * Returns the byte count, 0 when nothing is waiting or at end of file. */
size_t pyhost_read_output(struct pyhost *host, enum pyhost_stream stream, char *buffer, size_t size);

/* Sends SIGINT to the runtime. */
void pyhost_interrupt(struct pyhost *host);

/* Stops the runtime: closes its socket (it exits on EOF), waits up to
 * GRACE_MS, then kills it. Writes how it ended ("exited with status 1",
 * "was killed by signal 11 (Segmentation fault)") into HOW. */
void pyhost_stop(struct pyhost *host, int grace_ms, char *how, size_t how_size);

#endif
