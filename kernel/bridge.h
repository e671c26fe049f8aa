/* bridge: the kernel's side of the local Python runtime, which runs plain
 * cells and answers completion and inspection (see runtime/pyhost.h for the
 * process, runtime/PROTOCOL.md for the frames).
 *
 * One request is out at a time: the current request of requests.h. The
 * bridge sends it as a frame; the runtime answers with events (stream,
 * display_data, execute_result, error, input_request, ...) that are
 * published on IOPub under the cell's header, then with one reply frame
 * that becomes the shell reply. Raw output on the runtime's fd 1 / fd 2 is
 * drained before the reply goes out, so it lands in the right cell.
 * Upcalls (a cell calling a cloud function or running an experiment) go to
 * runtime/upcalls.c. A runtime that dies fails the request it was working
 * on with a clear error and is started afresh; one that cannot start is
 * retried by the next request. */
#ifndef FAASET_BRIDGE_H
#define FAASET_BRIDGE_H

#include <jansson.h>

#include "message.h"
#include "reactor.h"
#include "requests.h"
#include "upcalls.h"

struct bridge_config {
    const char *python;              /* the runtime's interpreter */
    struct reactor *reactor;         /* serves the runtime's pipes */
    struct requests *requests;
    struct upcalls upcalls;          /* `runtime` is filled in by the bridge */
    /* The runtime is ready for a request (queued ones may go on). */
    void (*ready)(void *ctx);
    void *ready_ctx;
};

struct bridge;

struct bridge *bridge_new(const struct bridge_config *config);
void bridge_free(struct bridge *bridge);

/* Starts the runtime unless it is running or starting. A runtime that
 * died while starting is not started again until a request has failed
 * for want of it (then the next one tries). */
void bridge_start(struct bridge *bridge);

/* 1 while the runtime is started but has not said hello yet. */
int bridge_starting(const struct bridge *bridge);

/* The runtime request for MSG (execute, complete, inspect, is_complete, a
 * comm message or comm_info), or NULL with ERR when MSG's content is unusable. */
json_t *bridge_request_for(struct bridge *bridge, const struct message *msg, char *err, size_t err_size);

/* Sends REQUEST (stolen) for the current request; the runtime's reply ends
 * it. If the runtime is not available, the request fails at once. */
void bridge_send(struct bridge *bridge, json_t *request);

/* Ends the current request without the runtime: an execute_request with
 * the error ENAME: EVALUE, the others with an empty answer (no matches,
 * not found, unknown, no comms); a comm message with a log line. */
void bridge_fail(struct bridge *bridge, const char *ename, const char *evalue);

/* An input_reply arrived on stdin. */
void bridge_on_input_reply(struct bridge *bridge, const struct message *reply);

/* Interrupts the cell the runtime is running (SIGINT), if any. */
void bridge_interrupt(struct bridge *bridge);

/* Timer work (output coalescing, the start timeout); returns the next
 * timeout in ms, or -1. */
int bridge_tick(struct bridge *bridge);

/* "3.11.2", or "" before the runtime's hello. */
const char *bridge_python_version(const struct bridge *bridge);

#endif
