/* dispatcher: the kernel's brain, separate from the sockets (server.c) so it
 * can be driven by tests through a fake transport. It receives decoded
 * messages from the shell, control and stdin channels and frames from the
 * local runtime, and answers through the send callback: `busy`, the reply
 * and `idle` for every request, with the request's header as parent.
 *
 * Shell requests queue and run one at a time; control requests (kernel_info,
 * interrupt, shutdown) are answered at once, even while a cell runs.
 * Requests that need Python (execute, complete, inspect, is_complete) are
 * forwarded to the runtime, and the dispatcher returns to the event loop
 * until the runtime's reply frame arrives. If the runtime dies, the cell
 * gets an error, a fresh runtime starts, and the queue goes on. */
#ifndef FAASET_DISPATCHER_H
#define FAASET_DISPATCHER_H

#include "connection.h"
#include "message.h"
#include "pyhost.h"

struct dispatcher_io {
    void *ctx;
    /* Sends MSG on CHANNEL (shell, control, stdin or iopub); MSG stays the caller's. */
    void (*send)(void *ctx, enum connection_channel channel, const struct message *msg);
    /* Moves every shell message already waiting on the socket into the
     * dispatcher (dispatcher_enqueue_shell), without handling them. */
    void (*drain_shell)(void *ctx);
};

struct dispatcher_config {
    const char *python;          /* interpreter for the local runtime */
    const char *interrupt_mode;  /* "signal" or "message", for the banner only */
};

struct dispatcher;

struct dispatcher *dispatcher_new(const struct dispatcher_config *config, const struct dispatcher_io *io);
void dispatcher_free(struct dispatcher *dispatcher);

/* Publishes `starting` and starts the runtime. */
void dispatcher_start(struct dispatcher *dispatcher);

/* Handles a message received on CHANNEL; takes ownership of MSG. */
void dispatcher_on_message(struct dispatcher *dispatcher, enum connection_channel channel, struct message *msg);

/* Queues a shell message without handling it yet; takes ownership of MSG. */
void dispatcher_enqueue_shell(struct dispatcher *dispatcher, struct message *msg);

/* The runtime's frame socket or one of its output pipes is readable. */
void dispatcher_on_runtime_frames(struct dispatcher *dispatcher);
void dispatcher_on_runtime_output(struct dispatcher *dispatcher, enum pyhost_stream stream);

/* SIGINT reached the kernel (signal-mode interrupt, or Ctrl-C in a terminal). */
void dispatcher_on_sigint(struct dispatcher *dispatcher);

/* Timer work (stream flushing); returns the poll timeout in ms (-1: none). */
int dispatcher_tick(struct dispatcher *dispatcher);

/* File descriptors to poll: frame socket, stdout pipe, stderr pipe (-1 if closed). */
void dispatcher_runtime_fds(const struct dispatcher *dispatcher, int fds[3]);

/* The reactor whose fds and timers the event loop must serve too. */
struct reactor *dispatcher_reactor(const struct dispatcher *dispatcher);

/* True once a shutdown_request was answered. */
int dispatcher_finished(const struct dispatcher *dispatcher);

#endif
