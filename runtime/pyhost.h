/* pyhost: the local runtime, one long-lived Python process owned by the
 * kernel. It is started as `PYTHON -c <bootstrap>` in its own process group
 * (so the kernel decides when it gets SIGINT) with a socketpair at fd 3 for
 * frames (see frame.h) and pipes as fd 1 and 2, so output of C extensions
 * and subprocesses reaches the notebook too. The first frame sent boots the
 * embedded Python modules. If the kernel dies, the runtime gets SIGKILL
 * (see spawn.h), so no orphan keeps running. */
#ifndef FAASET_PYHOST_H
#define FAASET_PYHOST_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

enum pyhost_stream { PYHOST_STDOUT, PYHOST_STDERR };

struct pyhost;

/* PYTHON is the interpreter to run (a path, or a name looked up in PATH). */
struct pyhost *pyhost_new(const char *python);
void pyhost_free(struct pyhost *host);

/* Starts the process and sends the boot frame. Returns 0, or -1 with ERR
 * (for example when the interpreter cannot be executed). */
int pyhost_start(struct pyhost *host, char *err, size_t err_size);

int pyhost_running(const struct pyhost *host);
pid_t pyhost_pid(const struct pyhost *host);
const char *pyhost_python(const struct pyhost *host);

/* File descriptors to poll for reading, -1 when not running. */
int pyhost_frame_fd(const struct pyhost *host);
int pyhost_output_fd(const struct pyhost *host, enum pyhost_stream stream);

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
