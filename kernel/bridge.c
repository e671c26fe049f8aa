/* bridge: the requests that run on the local Python runtime: execute,
 * complete, inspect and is_complete (see dispatcher.h for the flow).
 *
 * One request is out at a time. The kernel sends it as a frame; the runtime
 * answers with events (stream, display_data, execute_result, error,
 * input_request, ...) that are published on IOPub under the request's
 * header, then with one reply frame that becomes the shell reply. Raw output
 * on the runtime's fd 1 / fd 2 is drained before the reply goes out, so it
 * lands in the right cell. A runtime that dies fails the request it was
 * working on with a clear error and is started afresh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatcher_private.h"
#include "clock.h"
#include "log.h"
#include "experiments.h"
#include "magics.h"
#include "utf8.h"

#define RUNTIME_START_TIMEOUT_MS 60000

int bridge_needs_runtime(const char *msg_type)
{
    return strcmp(msg_type, "execute_request") == 0 || strcmp(msg_type, "complete_request") == 0 ||
           strcmp(msg_type, "inspect_request") == 0 || strcmp(msg_type, "is_complete_request") == 0;
}

void bridge_start_runtime(struct dispatcher *d)
{
    char err[sizeof d->runtime_error];
    if (pyhost_start(d->runtime, err, sizeof err) < 0) {
        d->runtime_state = RUNTIME_DOWN;
        snprintf(d->runtime_error, sizeof d->runtime_error, "%s", err);
        log_error("%s", err);
        return;
    }
    d->runtime_state = RUNTIME_STARTING;
    d->runtime_started_ms = clock_mono_ms();
    d->runtime_epoch++;
    log_debug("started the Python runtime %s (pid %ld)", d->python, (long)pyhost_pid(d->runtime));
}

void bridge_stream_publish(void *ctx, const char *name, const char *text, size_t length)
{
    struct dispatcher *d = ctx;
    json_t *content = json_pack("{s:s, s:s%}", "name", name, "text", text, length);
    if (content == NULL) {
        log_error("cannot publish %zu bytes of %s", length, name);
        return;
    }
    dispatcher_publish(d, "stream", d->output_parent, content);
}

static void bridge_drain_output(struct dispatcher *d)
{
    for (int stream = PYHOST_STDOUT; stream <= PYHOST_STDERR; stream++) {
        char buffer[65536];
        size_t n;
        while ((n = pyhost_read_output(d->runtime, stream, buffer, sizeof buffer)) > 0)
            stream_buffer_append(d->streams, stream == PYHOST_STDOUT ? "stdout" : "stderr", buffer, n, 1);
    }
    stream_buffer_flush(d->streams);
}

static int bridge_current_is(const struct dispatcher *d, const char *msg_type)
{
    return d->current != NULL && strcmp(message_type(d->current), msg_type) == 0;
}

static int bridge_flag(const json_t *content, const char *key, int fallback)
{
    json_t *value = json_object_get(content, key);
    return json_is_boolean(value) ? json_is_true(value) : fallback;
}

/* Ends the current request: idle, and the queue may move on. */
static void bridge_finish_current(struct dispatcher *d)
{
    dispatcher_status(d, d->current->header, "idle");
    message_free(d->current);
    d->current = NULL;
    d->awaiting_input = 0;
    d->kernel_call_pending = 0;
}

/* Answers every execute_request still queued with an error, unrun
 * (stop_on_error after a failed cell). Other requests stay queued. */
static void bridge_abort_queued_executes(struct dispatcher *d)
{
    d->io.drain_shell(d->io.ctx);
    struct queued_message **link = &d->queue_head, *last = NULL;
    while (*link != NULL) {
        struct queued_message *item = *link;
        if (strcmp(message_type(item->msg), "execute_request") != 0) {
            last = item;
            link = &item->next;
            continue;
        }
        *link = item->next;
        dispatcher_status(d, item->msg->header, "busy");
        dispatcher_reply(d, CHANNEL_SHELL, item->msg, "execute_reply",
                         json_pack("{s:s, s:i, s:s, s:s, s:[], s:{}}", "status", "error", "execution_count",
                                   d->execution_count, "ename", "ExecutionAborted", "evalue",
                                   "not run because an earlier cell raised an error (stop_on_error)",
                                   "traceback", "user_expressions"));
        dispatcher_status(d, item->msg->header, "idle");
        message_free(item->msg);
        free(item);
    }
    d->queue_tail = last;
}

/* The reply to an execute_request, from the runtime's reply frame. */
void bridge_finish_execute(struct dispatcher *d, json_t *frame)
{
    const char *status = json_string_value(json_object_get(frame, "status"));
    int failed = status == NULL || strcmp(status, "ok") != 0;
    json_t *payload = json_object_get(frame, "payload");
    json_t *expressions = json_object_get(frame, "user_expressions");
    json_t *content = json_pack("{s:s, s:i, s:o, s:o}", "status", failed ? "error" : "ok", "execution_count",
                                d->execution_count, "payload", json_is_array(payload) ? json_incref(payload) : json_array(),
                                "user_expressions", json_is_object(expressions) ? json_incref(expressions) : json_object());
    if (failed) {
        const char *keys[] = {"ename", "evalue", "traceback"};
        for (int i = 0; i < 3; i++) {
            json_t *value = json_object_get(frame, keys[i]);
            json_object_set_new(content, keys[i], value ? json_incref(value) : i == 2 ? json_array() : json_string(""));
        }
    }
    const json_t *request = d->current->content;
    int silent = bridge_flag(request, "silent", 0);
    if (!silent && bridge_flag(request, "store_history", 1))
        history_append(d->history, d->execution_count, json_string_value(json_object_get(request, "code")),
                       d->result_text);
    dispatcher_reply(d, CHANNEL_SHELL, d->current, "execute_reply", content);
    /* Queued executes are aborted before this request goes idle: a client
     * that sends its next cell on seeing idle must not have it aborted. */
    if (failed && bridge_flag(request, "stop_on_error", 1))
        bridge_abort_queued_executes(d);
    bridge_finish_current(d);
}

/* Copies FRAME minus its "type" key: the IOPub content of a runtime event. */
static json_t *bridge_event_content(const json_t *frame)
{
    json_t *content = json_deep_copy(frame);
    json_object_del(content, "type");
    return content;
}

static void bridge_reply_from_frame(struct dispatcher *d, json_t *frame)
{
    json_t *content;
    const char *reply_type;
    if (bridge_current_is(d, "execute_request")) {
        bridge_drain_output(d);
        bridge_finish_execute(d, frame);
        return;
    } else if (bridge_current_is(d, "complete_request")) {
        reply_type = "complete_reply";
        content = json_pack("{s:s, s:O?, s:O?, s:O?, s:{}}", "status", "ok", "matches", json_object_get(frame, "matches"),
                            "cursor_start", json_object_get(frame, "cursor_start"), "cursor_end",
                            json_object_get(frame, "cursor_end"), "metadata");
    } else if (bridge_current_is(d, "inspect_request")) {
        reply_type = "inspect_reply";
        json_t *data = json_object_get(frame, "data");
        content = json_pack("{s:s, s:b, s:O?, s:{}}", "status", "ok", "found", json_is_true(json_object_get(frame, "found")),
                            "data", data, "metadata");
        if (data == NULL)
            json_object_set_new(content, "data", json_object());
    } else {
        reply_type = "is_complete_reply";
        const char *status = json_string_value(json_object_get(frame, "status"));
        content = json_pack("{s:s}", "status", status ? status : "unknown");
        const char *indent = json_string_value(json_object_get(frame, "indent"));
        if (status != NULL && strcmp(status, "incomplete") == 0)
            json_object_set_new(content, "indent", json_string(indent ? indent : ""));
    }
    dispatcher_reply(d, CHANNEL_SHELL, d->current, reply_type, content);
    bridge_finish_current(d);
}

/* Fails the current request without the runtime's help: the runtime is gone. */
void bridge_fail(struct dispatcher *d, const char *ename, const char *evalue)
{
    if (bridge_current_is(d, "execute_request")) {
        char *line = NULL; /* frontends show the traceback: it names the error as Python would */
        if (asprintf(&line, "%s: %s", ename, evalue) < 0)
            line = NULL;
        if (!bridge_flag(d->current->content, "silent", 0))
            dispatcher_publish(d, "error", d->current->header,
                               json_pack("{s:s, s:s, s:[s]}", "ename", ename, "evalue", evalue, "traceback",
                                         line ? line : evalue));
        json_t *frame = json_pack("{s:s, s:s, s:s, s:[s]}", "status", "error", "ename", ename, "evalue", evalue,
                                  "traceback", line ? line : evalue);
        free(line);
        bridge_finish_execute(d, frame);
        json_decref(frame);
        return;
    }
    json_t *frame;
    if (bridge_current_is(d, "complete_request")) {
        json_t *pos = json_object_get(d->current->content, "cursor_pos");
        json_int_t cursor = json_is_integer(pos) ? json_integer_value(pos) : 0;
        frame = json_pack("{s:[], s:I, s:I}", "matches", "cursor_start", cursor, "cursor_end", cursor);
    } else if (bridge_current_is(d, "inspect_request")) {
        frame = json_pack("{s:b}", "found", 0);
    } else {
        frame = json_pack("{s:s}", "status", "unknown");
    }
    bridge_reply_from_frame(d, frame);
    json_decref(frame);
}

static void bridge_on_runtime_death(struct dispatcher *d)
{
    bridge_drain_output(d);
    char how[128];
    pyhost_stop(d->runtime, 500, how, sizeof how);
    enum runtime_state was = d->runtime_state;
    d->runtime_state = RUNTIME_DOWN;
    if (was == RUNTIME_STARTING) {
        snprintf(d->runtime_error, sizeof d->runtime_error,
                 "the Python runtime (%s) %s before it was ready; check that it is Python 3.9 or newer "
                 "and starts cleanly, or choose another with FAASET_PYTHON", d->python, how);
        d->runtime_start_blocked = 1;
        log_error("%s", d->runtime_error);
        return;
    }
    char evalue[512];
    snprintf(evalue, sizeof evalue,
             "The Python runtime %s while this cell ran. A fresh runtime has been started: variables and "
             "imports from earlier cells are gone.", how);
    log_warn("the Python runtime %s; starting a fresh one", how);
    if (d->current != NULL)
        bridge_fail(d, "RuntimeDied", evalue);
    bridge_start_runtime(d);
}

static void bridge_on_input_request(struct dispatcher *d, const json_t *frame)
{
    if (!bridge_current_is(d, "execute_request") || !bridge_flag(d->current->content, "allow_stdin", 0)) {
        json_t *reply = json_pack("{s:s, s:s}", "type", "input_reply", "error",
                                  "input is not available: this frontend does not accept input requests "
                                  "(allow_stdin is false)");
        pyhost_send(d->runtime, reply);
        json_decref(reply);
        return;
    }
    stream_buffer_flush(d->streams);
    json_t *prompt = json_object_get(frame, "prompt");
    struct message *request = message_new(&d->session, "input_request", d->current->header,
                                          json_pack("{s:s, s:b}", "prompt", json_is_string(prompt) ? json_string_value(prompt) : "",
                                                    "password", json_is_true(json_object_get(frame, "password"))));
    if (request == NULL || message_copy_identities(request, d->current) < 0) {
        message_free(request);
        return;
    }
    d->io.send(d->io.ctx, CHANNEL_STDIN, request);
    message_free(request);
    d->awaiting_input = 1;
}

struct bridge_upcall {
    struct dispatcher *d;
    json_int_t call;
    unsigned epoch;
    char result_type[32];
};

static void bridge_upcall_reply(void *ctx, json_t *result)
{
    struct bridge_upcall *upcall = ctx;
    struct dispatcher *d = upcall->d;
    if (result != NULL && upcall->epoch == d->runtime_epoch && pyhost_running(d->runtime)) {
        json_object_set_new(result, "type", json_string(upcall->result_type));
        json_object_set_new(result, "call", json_integer(upcall->call));
        if (pyhost_send(d->runtime, result) < 0)
            log_warn("the runtime went away before a %s arrived", upcall->result_type);
    }
    json_decref(result);
    free(upcall);
}

/* The runtime asks the kernel for work (runtime/PROTOCOL.md, upcalls). */
static void bridge_on_upcall(struct dispatcher *d, const char *type, const json_t *frame)
{
    struct bridge_upcall *upcall = calloc(1, sizeof *upcall);
    json_t *call = json_object_get(frame, "call");
    if (upcall == NULL || !json_is_integer(call)) {
        log_warn("ignoring a %s upcall without a call number", type);
        free(upcall);
        return;
    }
    *upcall = (struct bridge_upcall){.d = d, .call = json_integer_value(call), .epoch = d->runtime_epoch};
    snprintf(upcall->result_type, sizeof upcall->result_type, "%s_result", type);
    if (strcmp(type, "define") == 0)
        cloud_define(d->cloud, frame, bridge_upcall_reply, upcall);
    else if (strcmp(type, "experiment") == 0)
        experiments_start_call(d, frame, bridge_upcall_reply, upcall);
    else
        cloud_invoke(d->cloud, frame, bridge_upcall_reply, upcall);
}

static void bridge_on_event(struct dispatcher *d, const char *type, json_t *frame)
{
    if (strcmp(type, "define") == 0 || strcmp(type, "invoke") == 0 || strcmp(type, "experiment") == 0) {
        bridge_on_upcall(d, type, frame);
        return;
    }
    if (strcmp(type, "stream") == 0) {
        const char *name = json_string_value(json_object_get(frame, "name"));
        json_t *text = json_object_get(frame, "text");
        if (name != NULL && json_is_string(text) && (strcmp(name, "stdout") == 0 || strcmp(name, "stderr") == 0))
            stream_buffer_append(d->streams, name, json_string_value(text), json_string_length(text), 0);
        return;
    }
    if (strcmp(type, "input_request") == 0) {
        bridge_on_input_request(d, frame);
        return;
    }
    static const char *const outputs[] = {"display_data", "update_display_data", "execute_result", "error", "clear_output"};
    for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
        if (strcmp(type, outputs[i]) != 0)
            continue;
        stream_buffer_flush(d->streams);
        json_t *content = bridge_event_content(frame);
        if (strcmp(type, "execute_result") == 0) {
            json_object_set_new(content, "execution_count", json_integer(d->execution_count));
            const char *text = json_string_value(json_object_get(json_object_get(frame, "data"), "text/plain"));
            free(d->result_text);
            d->result_text = text ? strdup(text) : NULL;
        }
        dispatcher_publish(d, type, d->output_parent, content);
        return;
    }
    log_warn("ignoring an unknown runtime event '%s'", type);
}

static void bridge_on_frame(struct dispatcher *d, json_t *frame)
{
    const char *type = json_string_value(json_object_get(frame, "type"));
    if (type == NULL) {
        log_warn("ignoring a runtime frame without a type");
    } else if (strcmp(type, "hello") == 0) {
        const char *version = json_string_value(json_object_get(frame, "python_version"));
        snprintf(d->python_version, sizeof d->python_version, "%s", version ? version : "3");
        d->runtime_state = RUNTIME_READY;
        d->runtime_start_blocked = 0;
        log_debug("Python runtime ready: Python %s", d->python_version);
    } else if (strcmp(type, "reply") == 0) {
        json_t *id = json_object_get(frame, "id");
        if (d->current == NULL || !json_is_integer(id) || json_integer_value(id) != d->request_id) {
            log_warn("ignoring a runtime reply that answers no pending request");
            return;
        }
        d->runtime_state = RUNTIME_READY;
        bridge_reply_from_frame(d, frame);
    } else {
        bridge_on_event(d, type, frame);
    }
}

void bridge_on_frames(struct dispatcher *d)
{
    for (;;) {
        json_t *frame = NULL;
        int rc = pyhost_receive(d->runtime, &frame);
        if (rc == 0)
            return;
        if (rc < 0) {
            bridge_on_runtime_death(d);
            return;
        }
        bridge_on_frame(d, frame);
        json_decref(frame);
    }
}

void bridge_on_output(struct dispatcher *d, enum pyhost_stream stream)
{
    char buffer[65536];
    size_t n = pyhost_read_output(d->runtime, stream, buffer, sizeof buffer);
    if (n > 0)
        stream_buffer_append(d->streams, stream == PYHOST_STDOUT ? "stdout" : "stderr", buffer, n, 1);
}

/* The runtime request for MSG, or NULL with ERR when MSG's content is unusable. */
static json_t *bridge_runtime_request(struct dispatcher *d, const struct message *msg, char *err, size_t err_size)
{
    const json_t *content = msg->content;
    const char *type = message_type(msg);
    json_t *code = json_object_get(content, "code");
    if (!json_is_string(code)) {
        snprintf(err, err_size, "%s has no \"code\" string", type);
        return NULL;
    }
    json_t *pos = json_object_get(content, "cursor_pos");
    /* Without a cursor, Jupyter means the end of the code (in code points). */
    json_int_t cursor = json_is_integer(pos) ? json_integer_value(pos)
                                             : (json_int_t)utf8_code_points(json_string_value(code),
                                                                            json_string_length(code));
    long long id = ++d->request_id;
    if (strcmp(type, "execute_request") == 0) {
        json_t *expressions = json_object_get(content, "user_expressions");
        return json_pack("{s:s, s:I, s:O, s:i, s:b, s:b, s:b, s:o}", "type", "execute", "id", (json_int_t)id, "code",
                         code, "execution_count", d->execution_count, "silent", bridge_flag(content, "silent", 0),
                         "store_history", bridge_flag(content, "store_history", 1), "allow_stdin",
                         bridge_flag(content, "allow_stdin", 0), "user_expressions",
                         json_is_object(expressions) ? json_incref(expressions) : json_object());
    }
    if (strcmp(type, "complete_request") == 0)
        return json_pack("{s:s, s:I, s:O, s:I}", "type", "complete", "id", (json_int_t)id, "code", code, "cursor_pos", cursor);
    if (strcmp(type, "inspect_request") == 0) {
        json_t *level = json_object_get(content, "detail_level");
        return json_pack("{s:s, s:I, s:O, s:I, s:I}", "type", "inspect", "id", (json_int_t)id, "code", code, "cursor_pos",
                         cursor, "detail_level", json_is_integer(level) ? json_integer_value(level) : (json_int_t)0);
    }
    return json_pack("{s:s, s:I, s:O}", "type", "is_complete", "id", (json_int_t)id, "code", code);
}

static void bridge_open_execute(struct dispatcher *d, const struct message *msg)
{
    const json_t *content = msg->content;
    int silent = bridge_flag(content, "silent", 0);
    if (!silent && bridge_flag(content, "store_history", 1))
        d->execution_count++;
    json_decref(d->output_parent);
    d->output_parent = json_deep_copy(msg->header);
    free(d->result_text);
    d->result_text = NULL;
    json_t *code = json_object_get(content, "code");
    if (!silent)
        dispatcher_publish(d, "execute_input", msg->header,
                           json_pack("{s:s, s:i}", "code", json_is_string(code) ? json_string_value(code) : "",
                                     "execution_count", d->execution_count));
}

void bridge_begin(struct dispatcher *d, struct message *msg)
{
    dispatcher_status(d, msg->header, "busy");
    d->current = msg;
    if (bridge_current_is(d, "execute_request"))
        bridge_open_execute(d, msg);
    char err[256];
    json_t *request = NULL;
    if (bridge_current_is(d, "complete_request") && magics_complete(d, msg)) {
        bridge_finish_current(d);
        return;
    }
    if (bridge_current_is(d, "execute_request")) {
        enum magics_outcome outcome = magics_execute(d, msg, &request);
        if (outcome == MAGICS_HANDLED)
            return;
        if (outcome == MAGICS_RUNTIME_REQUEST)
            json_object_set_new(request, "id", json_integer(++d->request_id));
    }
    if (request == NULL)
        request = bridge_runtime_request(d, msg, err, sizeof err);
    if (request == NULL) {
        bridge_fail(d, "BadRequest", err);
        return;
    }
    if (d->runtime_state != RUNTIME_READY) {
        char evalue[sizeof d->runtime_error + 64];
        snprintf(evalue, sizeof evalue, "The Python runtime is not available: %s", d->runtime_error);
        d->runtime_start_blocked = 0; /* the next request tries again */
        bridge_fail(d, "RuntimeUnavailable", evalue);
    } else if (pyhost_send(d->runtime, request) < 0) {
        bridge_on_runtime_death(d);
    } else {
        d->runtime_state = RUNTIME_BUSY;
    }
    json_decref(request);
}

void bridge_on_input_reply(struct dispatcher *d, const struct message *reply)
{
    if (strcmp(message_type(reply), "input_reply") != 0 || !d->awaiting_input) {
        log_warn("ignoring an unexpected %s on stdin", message_type(reply));
        return;
    }
    json_t *value = json_object_get(reply->content, "value");
    json_t *frame = json_pack("{s:s, s:s}", "type", "input_reply", "value", json_is_string(value) ? json_string_value(value) : "");
    d->awaiting_input = 0;
    if (pyhost_send(d->runtime, frame) < 0)
        log_warn("the runtime went away before its input arrived");
    json_decref(frame);
}

void bridge_interrupt(struct dispatcher *d)
{
    if (experiments_interrupt(d))
        return; /* it stops launching and ends the cell within two seconds */
    if (d->current != NULL && d->kernel_call_pending) {
        d->kernel_call_pending = 0; /* its answer will find another current request and be dropped */
        bridge_fail(d, "KeyboardInterrupt", "the call was abandoned; it may still complete on the platform");
        return;
    }
    if (d->current == NULL || d->runtime_state != RUNTIME_BUSY)
        return;
    pyhost_interrupt(d->runtime);
    if (d->awaiting_input) {
        json_t *frame = json_pack("{s:s, s:s}", "type", "input_reply", "error", "interrupted");
        pyhost_send(d->runtime, frame);
        json_decref(frame);
        d->awaiting_input = 0;
    }
}

int bridge_tick(struct dispatcher *d)
{
    int timeout = stream_buffer_tick(d->streams);
    if (d->runtime_state == RUNTIME_STARTING) {
        long long left = d->runtime_started_ms + RUNTIME_START_TIMEOUT_MS - clock_mono_ms();
        if (left <= 0) {
            char how[128];
            pyhost_stop(d->runtime, 0, how, sizeof how);
            d->runtime_state = RUNTIME_DOWN;
            d->runtime_start_blocked = 1;
            snprintf(d->runtime_error, sizeof d->runtime_error,
                     "the Python runtime (%s) did not start within %d s", d->python, RUNTIME_START_TIMEOUT_MS / 1000);
            log_error("%s", d->runtime_error);
        } else if (timeout < 0 || left < timeout) {
            timeout = (int)left;
        }
    }
    return timeout;
}
