/* dispatcher: the kernel's brain, separate from the sockets (server.c) so it
 * can be driven by tests through a fake transport. It receives decoded
 * messages from the shell, control and stdin channels and frames from the
 * local runtime, and answers through the send callback: `busy`, the reply
 * and `idle` for every request, with the request's header as parent.
 *
 * Shell requests queue and run one at a time (requests.h); control
 * requests (kernel_info, interrupt, shutdown) are answered at once, even
 * while a cell runs. One table maps each message type to its handler: the
 * kernel answers some itself; execute goes to the magics (magics.h), then,
 * if it is Python, to the runtime (bridge.h), as complete, inspect and
 * is_complete do; the dispatcher returns to the event loop until the
 * runtime's reply frame arrives. If the runtime dies, the cell gets an
 * error, a fresh runtime starts, and the queue goes on. */
#ifndef FAASET_DISPATCHER_H
#define FAASET_DISPATCHER_H

#include "connection.h"
#include "message.h"
#include "requests.h"

struct dispatcher_config {
    const char *python;          /* interpreter for the local runtime */
    const char *interrupt_mode;  /* "signal" or "message", for the banner only */
};

struct dispatcher;

/* IO is the transport (requests.h): drain_shell moves what waits on the
 * shell socket in with dispatcher_enqueue_shell. */
struct dispatcher *dispatcher_new(const struct dispatcher_config *config, const struct requests_io *io);
void dispatcher_free(struct dispatcher *dispatcher);

/* Publishes `starting` and starts the runtime. */
void dispatcher_start(struct dispatcher *dispatcher);

/* Handles a message received on CHANNEL; takes ownership of MSG. */
void dispatcher_on_message(struct dispatcher *dispatcher, enum connection_channel channel, struct message *msg);

/* Queues a shell message without handling it yet; takes ownership of MSG. */
void dispatcher_enqueue_shell(struct dispatcher *dispatcher, struct message *msg);

/* SIGINT reached the kernel (signal-mode interrupt, or Ctrl-C in a terminal). */
void dispatcher_on_sigint(struct dispatcher *dispatcher);

/* Timer work (output coalescing, the reactor's timers); returns the poll
 * timeout in ms (-1: none). */
int dispatcher_tick(struct dispatcher *dispatcher);

/* The reactor whose fds (the runtime's pipes, the platforms') the event
 * loop must serve too. */
struct reactor *dispatcher_reactor(const struct dispatcher *dispatcher);

/* True once a shutdown_request was answered and the Event calls the
 * kernel still sends (gcf's) were sent, or a few seconds passed. */
int dispatcher_finished(struct dispatcher *dispatcher);

#endif
