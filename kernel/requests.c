/* requests: the queue, the current request and the status frame around
 * every request (see requests.h). */
#include "requests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "log.h"
#include "utf8.h"

struct requests_queued {
    struct message *msg;
    struct list_node node;
};

struct requests {
    struct requests_io io;
    struct message_session session;
    struct history *history;
    void (*on_idle)(void *ctx);
    void *idle_ctx;
    struct list_node queue;        /* requests_queued, oldest first */
    struct message *current;
    int awaiting_kernel;
    int execution_count;
    json_t *output_parent;
    char *result_text;
};

struct requests *requests_new(const struct requests_io *io, struct history *history, void (*on_idle)(void *ctx),
                              void *idle_ctx)
{
    struct requests *requests = calloc(1, sizeof *requests);
    if (requests == NULL)
        return NULL;
    requests->io = *io;
    requests->history = history;
    requests->on_idle = on_idle;
    requests->idle_ctx = idle_ctx;
    list_init(&requests->queue);
    message_session_init(&requests->session);
    return requests;
}

void requests_free(struct requests *requests)
{
    if (requests == NULL)
        return;
    while (!list_is_empty(&requests->queue))
        message_free(requests_take(requests));
    message_free(requests->current);
    json_decref(requests->output_parent);
    free(requests->result_text);
    free(requests);
}

/* ---- sending ---- */

void requests_send(struct requests *requests, enum connection_channel channel, const struct message *msg)
{
    requests->io.send(requests->io.ctx, channel, msg);
}

void requests_publish(struct requests *requests, const json_t *parent, const char *msg_type, json_t *content)
{
    struct message *msg = message_new(&requests->session, msg_type, parent, content);
    if (msg == NULL) {
        log_error("out of memory building %s", msg_type);
        return;
    }
    requests_send(requests, CHANNEL_IOPUB, msg);
    message_free(msg);
}

void requests_reply_to(struct requests *requests, enum connection_channel channel, const struct message *request,
                       const char *reply_type, json_t *content)
{
    struct message *reply = message_new_reply(&requests->session, request, reply_type, content);
    if (reply == NULL) {
        log_error("out of memory building %s", reply_type);
        return;
    }
    requests_send(requests, channel, reply);
    message_free(reply);
}

static void requests_status(struct requests *requests, const json_t *parent, const char *state)
{
    requests_publish(requests, parent, "status", json_pack("{s:s}", "execution_state", state));
}

struct message_session *requests_session(struct requests *requests)
{
    return &requests->session;
}

/* ---- the queue ---- */

void requests_enqueue(struct requests *requests, struct message *msg)
{
    struct requests_queued *item = malloc(sizeof *item);
    if (item == NULL) {
        log_error("out of memory: dropping a %s", message_type(msg));
        message_free(msg);
        return;
    }
    *item = (struct requests_queued){.msg = msg};
    list_push_back(&requests->queue, &item->node);
}

const struct message *requests_peek(const struct requests *requests)
{
    struct list_node *first = list_first(&requests->queue);
    return first != NULL ? list_entry(first, struct requests_queued, node)->msg : NULL;
}

struct message *requests_take(struct requests *requests)
{
    struct list_node *first = list_first(&requests->queue);
    if (first == NULL)
        return NULL;
    struct requests_queued *item = list_entry(first, struct requests_queued, node);
    struct message *msg = item->msg;
    list_remove(first);
    free(item);
    return msg;
}

/* Answers every execute_request still queued with status "aborted", unrun
 * (stop_on_error after a failed cell). Other requests stay queued. */
static void requests_abort_queued_executes(struct requests *requests)
{
    requests->io.drain_shell(requests->io.ctx);
    struct list_node *node, *next;
    list_for_each_safe(node, next, &requests->queue) {
        struct requests_queued *item = list_entry(node, struct requests_queued, node);
        if (strcmp(message_type(item->msg), "execute_request") != 0)
            continue;
        list_remove(node);
        requests_status(requests, item->msg->header, "busy");
        /* as ipykernel: no execution count, so frontends show the cell as not run */
        requests_reply_to(requests, CHANNEL_SHELL, item->msg, "execute_reply",
                          json_pack("{s:s}", "status", "aborted"));
        requests_status(requests, item->msg->header, "idle");
        message_free(item->msg);
        free(item);
    }
}

/* ---- a request answered at once ---- */

void requests_answer_now(struct requests *requests, enum connection_channel channel, struct message *msg,
                         void (*answer)(void *ctx, enum connection_channel channel, const struct message *msg),
                         void *ctx)
{
    requests_status(requests, msg->header, "busy");
    answer(ctx, channel, msg);
    requests_status(requests, msg->header, "idle");
    message_free(msg);
}

/* ---- the current request ---- */

static int requests_flag(const json_t *content, const char *key, int fallback)
{
    json_t *value = json_object_get(content, key);
    return json_is_boolean(value) ? json_is_true(value) : fallback;
}

static void requests_open_execute(struct requests *requests, const struct message *msg)
{
    const json_t *content = msg->content;
    int silent = requests_flag(content, "silent", 0);
    if (!silent && requests_flag(content, "store_history", 1))
        requests->execution_count++;
    json_decref(requests->output_parent);
    requests->output_parent = json_deep_copy(msg->header);
    free(requests->result_text);
    requests->result_text = NULL;
    json_t *code = json_object_get(content, "code");
    if (!silent)
        requests_publish(requests, msg->header, "execute_input",
                         json_pack("{s:s, s:i}", "code", json_is_string(code) ? json_string_value(code) : "",
                                   "execution_count", requests->execution_count));
}

void requests_begin(struct requests *requests, struct message *msg)
{
    requests_status(requests, msg->header, "busy");
    requests->current = msg;
    requests->awaiting_kernel = 0;
    if (strcmp(message_type(msg), "execute_request") == 0) {
        requests_open_execute(requests, msg);
    } else if (strncmp(message_type(msg), "comm_", 5) == 0 && strcmp(message_type(msg), "comm_info_request") != 0) {
        /* as ipykernel: a comm callback's output goes under its comm message */
        json_decref(requests->output_parent);
        requests->output_parent = json_deep_copy(msg->header);
    }
}

const struct message *requests_current(const struct requests *requests)
{
    return requests->current;
}

int requests_current_is(const struct requests *requests, const char *msg_type)
{
    return requests->current != NULL && strcmp(message_type(requests->current), msg_type) == 0;
}

const char *requests_current_id(const struct requests *requests)
{
    return requests->current ? json_string_value(json_object_get(requests->current->header, "msg_id")) : NULL;
}

void requests_reply(struct requests *requests, const char *reply_type, json_t *content)
{
    requests_reply_to(requests, CHANNEL_SHELL, requests->current, reply_type, content);
}

void requests_finish(struct requests *requests)
{
    if (requests->current == NULL)
        return;
    requests_status(requests, requests->current->header, "idle");
    message_free(requests->current);
    requests->current = NULL;
    requests->awaiting_kernel = 0;
    requests->on_idle(requests->idle_ctx);
}

void requests_finish_execute(struct requests *requests, const json_t *frame)
{
    const char *status = json_string_value(json_object_get(frame, "status"));
    int failed = status == NULL || strcmp(status, "ok") != 0;
    json_t *payload = json_object_get(frame, "payload");
    json_t *expressions = json_object_get(frame, "user_expressions");
    json_t *content = json_pack("{s:s, s:i, s:o, s:o}", "status", failed ? "error" : "ok", "execution_count",
                                requests->execution_count, "payload",
                                json_is_array(payload) ? json_incref(payload) : json_array(), "user_expressions",
                                json_is_object(expressions) ? json_incref(expressions) : json_object());
    if (failed) {
        static const char *const keys[] = {"ename", "evalue", "traceback"};
        for (int i = 0; i < 3; i++) {
            json_t *value = json_object_get(frame, keys[i]);
            json_object_set_new(content, keys[i], value ? json_incref(value) : i == 2 ? json_array() : json_string(""));
        }
    }
    const json_t *request = requests->current->content;
    if (!requests_flag(request, "silent", 0) && requests_flag(request, "store_history", 1))
        history_append(requests->history, requests->execution_count,
                       json_string_value(json_object_get(request, "code")), requests->result_text);
    requests_reply(requests, "execute_reply", content);
    /* Queued executes are aborted before this request goes idle: a client
     * that sends its next cell on seeing idle must not have it aborted. */
    if (failed && requests_flag(request, "stop_on_error", 1))
        requests_abort_queued_executes(requests);
    requests_finish(requests);
}

void requests_fail_execute(struct requests *requests, const char *ename, const char *message)
{
    /* a message cut at a byte count may end inside a character: cut it before */
    int keep = (int)utf8_valid_prefix(message, strlen(message));
    json_t *evalue = json_stringn(message, (size_t)keep);
    char *line = NULL; /* frontends show the traceback: it names the error as Python would */
    if (asprintf(&line, "%s: %.*s", ename, keep, message) < 0)
        line = NULL;
    json_t *traceback = json_pack("[s]", line ? line : ename);
    if (!requests_flag(requests->current->content, "silent", 0))
        requests_publish(requests, requests->current->header, "error",
                         json_pack("{s:s, s:O, s:O}", "ename", ename, "evalue", evalue, "traceback", traceback));
    json_t *frame = json_pack("{s:s, s:s, s:O, s:O}", "status", "error", "ename", ename, "evalue", evalue,
                              "traceback", traceback);
    free(line);
    json_decref(evalue);
    json_decref(traceback);
    requests_finish_execute(requests, frame);
    json_decref(frame);
}

void requests_await_kernel(struct requests *requests, int awaiting)
{
    requests->awaiting_kernel = awaiting;
}

int requests_awaiting_kernel(const struct requests *requests)
{
    return requests->current != NULL && requests->awaiting_kernel;
}

/* ---- output ---- */

const json_t *requests_output_parent(const struct requests *requests)
{
    return requests->output_parent;
}

int requests_execution_count(const struct requests *requests)
{
    return requests->execution_count;
}

void requests_set_result_text(struct requests *requests, const char *text)
{
    free(requests->result_text);
    requests->result_text = text ? strdup(text) : NULL;
}
