/* requests: the life of every request the kernel answers, in one place.
 * Jupyter asks for the same frame around each one: `busy` on IOPub with the
 * request's header as parent, then the reply, then `idle`. This module is
 * the only one that publishes busy and idle.
 *
 * Shell requests queue and run one at a time: the one running is the
 * current request until it is finished (requests_finish, or one of the
 * execute endings), which publishes idle and calls the idle callback, so
 * the dispatcher can start the next. A request answered at once (control
 * channel, kernel_info, history) goes through requests_answer_now.
 *
 * For execute_request it also keeps the execution count, the header that
 * output is published under (it outlives the request: a thread of an
 * earlier cell may still print), the history entry and stop_on_error: a
 * failed cell answers every execute still queued with status "aborted",
 * unrun, as ipykernel does. */
#ifndef FAASET_REQUESTS_H
#define FAASET_REQUESTS_H

#include <jansson.h>

#include "connection.h"
#include "history.h"
#include "message.h"

struct requests_io {
    void *ctx;
    /* Sends MSG on CHANNEL; MSG stays the caller's. */
    void (*send)(void *ctx, enum connection_channel channel, const struct message *msg);
    /* Moves every shell message already waiting on the socket into the
     * queue (requests_enqueue), without handling them. */
    void (*drain_shell)(void *ctx);
};

struct requests;

/* HISTORY (may be NULL) records executed cells; ON_IDLE(CTX) runs after a
 * queued request is finished. */
struct requests *requests_new(const struct requests_io *io, struct history *history, void (*on_idle)(void *ctx),
                              void *idle_ctx);
void requests_free(struct requests *requests);

/* ---- the queue ---- */

/* Takes ownership of MSG. */
void requests_enqueue(struct requests *requests, struct message *msg);
/* The next queued request, without taking it (NULL when none). */
const struct message *requests_peek(const struct requests *requests);
/* Takes the next queued request (the caller owns it), or NULL. */
struct message *requests_take(struct requests *requests);

/* ---- a request answered at once ---- */

/* busy, ANSWER(CTX, CHANNEL, MSG), idle; frees MSG. */
void requests_answer_now(struct requests *requests, enum connection_channel channel, struct message *msg,
                         void (*answer)(void *ctx, enum connection_channel channel, const struct message *msg),
                         void *ctx);

/* Replies to REQUEST (not necessarily the current one) on CHANNEL. */
void requests_reply_to(struct requests *requests, enum connection_channel channel, const struct message *request,
                       const char *reply_type, json_t *content);

/* ---- the current request ---- */

/* Makes MSG (owned from now on) the current request: busy; for an
 * execute_request also the execution count, the output header and
 * execute_input. */
void requests_begin(struct requests *requests, struct message *msg);

/* The current request, or NULL. */
const struct message *requests_current(const struct requests *requests);
int requests_current_is(const struct requests *requests, const char *msg_type);
/* The current request's msg_id, or NULL. */
const char *requests_current_id(const struct requests *requests);

/* Replies to the current request on shell (it stays current). */
void requests_reply(struct requests *requests, const char *reply_type, json_t *content);

/* idle for the current request; it is freed, then the idle callback runs. */
void requests_finish(struct requests *requests);

/* Ends the current execute_request with the reply built from FRAME
 * ({status: ok, payload} or {status: error, ename, evalue, traceback}):
 * history, the reply, stop_on_error, idle. */
void requests_finish_execute(struct requests *requests, const json_t *frame);

/* Ends the current execute_request as failed: an error output (unless
 * silent) naming ENAME and EVALUE, then requests_finish_execute. */
void requests_fail_execute(struct requests *requests, const char *ename, const char *evalue);

/* The current request waits for work of the kernel's own (a %invoke, an
 * experiment), not for the runtime: an interrupt abandons it. */
void requests_await_kernel(struct requests *requests, int awaiting);
int requests_awaiting_kernel(const struct requests *requests);

/* ---- output ---- */

void requests_publish(struct requests *requests, const json_t *parent, const char *msg_type, json_t *content);
void requests_send(struct requests *requests, enum connection_channel channel, const struct message *msg);

/* The header of the last execute_request or comm message begun (what
 * output goes under). */
const json_t *requests_output_parent(const struct requests *requests);
int requests_execution_count(const struct requests *requests);

/* The text/plain of the current cell's result, for its history entry. */
void requests_set_result_text(struct requests *requests, const char *text);

/* The session messages are built in (for a stdin request). */
struct message_session *requests_session(struct requests *requests);

#endif
