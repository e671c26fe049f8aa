/* bridge: requests that run on the local Python runtime (see bridge.h).
 *
 * The request kinds the runtime answers are one table: how each is asked
 * of the runtime, how its reply frame becomes the shell reply, and what it
 * is answered with when the runtime is gone. execute_request is the one
 * whose reply goes through requests_finish_execute (history,
 * stop_on_error); comm messages (comms.c) have no shell reply. */
#include "bridge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "comms.h"
#include "log.h"
#include "pyhost.h"
#include "stream.h"
#include "utf8.h"

#define BRIDGE_START_TIMEOUT_MS 60000

enum bridge_state {
    BRIDGE_STARTING,   /* process started, waiting for its hello */
    BRIDGE_READY,      /* idle, can take a request */
    BRIDGE_BUSY,       /* working on the current request */
    BRIDGE_DOWN,       /* not running; the next request tries to start it */
};

struct bridge {
    struct bridge_config config;
    struct requests *requests;
    struct pyhost *runtime;
    struct stream_buffer *streams;
    enum bridge_state state;
    long long started_ms;
    char error[1024];              /* why it is down, for the next cell */
    int start_blocked;             /* it died while starting: wait for the next request to retry */
    char python_version[32];
    long long request_id;
    int awaiting_input;            /* an input_request is out on stdin */
};

/* ---- the request kinds ---- */

/* The shell reply's content from the runtime's reply FRAME to REQUEST. */
typedef json_t *(*bridge_reply_fn)(const json_t *frame, const struct message *request);

static json_t *bridge_complete_reply(const json_t *frame, const struct message *request)
{
    (void)request;
    return json_pack("{s:s, s:O?, s:O?, s:O?, s:{}}", "status", "ok", "matches", json_object_get(frame, "matches"),
                     "cursor_start", json_object_get(frame, "cursor_start"), "cursor_end",
                     json_object_get(frame, "cursor_end"), "metadata");
}

static json_t *bridge_inspect_reply(const json_t *frame, const struct message *request)
{
    (void)request;
    json_t *data = json_object_get(frame, "data");
    return json_pack("{s:s, s:b, s:O, s:{}}", "status", "ok", "found", json_is_true(json_object_get(frame, "found")),
                     "data", json_is_object(data) ? data : json_object(), "metadata");
}

static json_t *bridge_is_complete_reply(const json_t *frame, const struct message *request)
{
    (void)request;
    const char *status = json_string_value(json_object_get(frame, "status"));
    json_t *content = json_pack("{s:s}", "status", status ? status : "unknown");
    const char *indent = json_string_value(json_object_get(frame, "indent"));
    if (status != NULL && strcmp(status, "incomplete") == 0)
        json_object_set_new(content, "indent", json_string(indent ? indent : ""));
    return content;
}

/* The reply when the runtime cannot answer: no matches, not found, unknown. */
static json_t *bridge_complete_empty(const struct message *request)
{
    json_t *pos = json_object_get(request->content, "cursor_pos");
    json_int_t cursor = json_is_integer(pos) ? json_integer_value(pos) : 0;
    json_t *frame = json_pack("{s:[], s:I, s:I}", "matches", "cursor_start", cursor, "cursor_end", cursor);
    json_t *content = bridge_complete_reply(frame, request);
    json_decref(frame);
    return content;
}

static json_t *bridge_inspect_empty(const struct message *request)
{
    (void)request;
    return json_pack("{s:s, s:b, s:{}, s:{}}", "status", "ok", "found", 0, "data", "metadata");
}

static json_t *bridge_is_complete_empty(const struct message *request)
{
    (void)request;
    return json_pack("{s:s}", "status", "unknown");
}

static json_t *bridge_comm_info_empty(const struct message *request)
{
    return comms_info_reply(NULL, request);
}

/* The runtime request for MSG, or NULL with ERR. */
typedef json_t *(*bridge_request_fn)(const struct message *msg, char *err, size_t err_size);

static const struct bridge_kind {
    const char *msg_type;
    const char *runtime_type;                          /* NULL: REQUEST builds the runtime request */
    const char *reply_type;                            /* NULL: no reply on shell (comm messages) */
    bridge_reply_fn reply;                             /* NULL: execute, or no reply */
    json_t *(*empty)(const struct message *request);   /* NULL: execute, or no reply */
    bridge_request_fn request;                         /* NULL: from "code" and the cursor */
} bridge_kinds[] = {
    {"execute_request", "execute", "execute_reply", NULL, NULL, NULL},
    {"complete_request", "complete", "complete_reply", bridge_complete_reply, bridge_complete_empty, NULL},
    {"inspect_request", "inspect", "inspect_reply", bridge_inspect_reply, bridge_inspect_empty, NULL},
    {"is_complete_request", "is_complete", "is_complete_reply", bridge_is_complete_reply, bridge_is_complete_empty,
     NULL},
    {"comm_info_request", NULL, "comm_info_reply", comms_info_reply, bridge_comm_info_empty, comms_request_for},
    {"comm_open", NULL, NULL, NULL, NULL, comms_request_for},
    {"comm_msg", NULL, NULL, NULL, NULL, comms_request_for},
    {"comm_close", NULL, NULL, NULL, NULL, comms_request_for},
};

static int bridge_kind_is_execute(const struct bridge_kind *kind)
{
    return strcmp(kind->msg_type, "execute_request") == 0;
}

static const struct bridge_kind *bridge_kind_of(const char *msg_type)
{
    for (size_t i = 0; i < sizeof bridge_kinds / sizeof bridge_kinds[0]; i++)
        if (strcmp(msg_type, bridge_kinds[i].msg_type) == 0)
            return &bridge_kinds[i];
    return NULL;
}

/* ---- output ---- */

static void bridge_stream_publish(void *ctx, const char *name, const char *text, size_t length)
{
    struct bridge *bridge = ctx;
    json_t *content = json_pack("{s:s, s:s%}", "name", name, "text", text, length);
    if (content == NULL) {
        log_error("cannot publish %zu bytes of %s", length, name);
        return;
    }
    requests_publish(bridge->requests, requests_output_parent(bridge->requests), "stream", content);
}

static void bridge_drain_output(struct bridge *bridge)
{
    for (int stream = PYHOST_STDOUT; stream <= PYHOST_STDERR; stream++) {
        char buffer[65536];
        size_t n;
        while ((n = pyhost_read_output(bridge->runtime, stream, buffer, sizeof buffer)) > 0)
            stream_buffer_append(bridge->streams, stream == PYHOST_STDOUT ? "stdout" : "stderr", buffer, n, 1);
    }
    stream_buffer_flush(bridge->streams);
}

/* ---- ending the current request ---- */

static void bridge_reply_from_frame(struct bridge *bridge, const json_t *frame)
{
    const struct message *current = requests_current(bridge->requests);
    const struct bridge_kind *kind = bridge_kind_of(message_type(current));
    if (bridge_kind_is_execute(kind)) {
        bridge_drain_output(bridge);
        requests_finish_execute(bridge->requests, frame);
        return;
    }
    if (kind->reply_type == NULL)
        bridge_drain_output(bridge); /* a comm callback's output goes under its message */
    else
        requests_reply(bridge->requests, kind->reply_type, kind->reply(frame, current));
    requests_finish(bridge->requests);
}

void bridge_fail(struct bridge *bridge, const char *ename, const char *evalue)
{
    const struct message *current = requests_current(bridge->requests);
    const struct bridge_kind *kind = bridge_kind_of(message_type(current));
    if (bridge_kind_is_execute(kind)) {
        requests_fail_execute(bridge->requests, ename, evalue);
        return;
    }
    if (kind->reply_type == NULL)
        log_warn("ignoring a %s: %s: %s", kind->msg_type, ename, evalue);
    else
        requests_reply(bridge->requests, kind->reply_type, kind->empty(current));
    requests_finish(bridge->requests);
}

/* ---- the runtime's life ---- */

static void bridge_on_frames(void *ctx);
static void bridge_on_output(void *ctx, enum pyhost_stream stream);

struct bridge *bridge_new(const struct bridge_config *config)
{
    struct bridge *bridge = calloc(1, sizeof *bridge);
    if (bridge == NULL)
        return NULL;
    bridge->config = *config;
    bridge->requests = config->requests;
    struct pyhost_events events = {bridge, bridge_on_frames, bridge_on_output};
    bridge->runtime = pyhost_new(config->python, config->reactor, &events);
    bridge->streams = stream_buffer_new(bridge_stream_publish, bridge);
    bridge->config.upcalls.runtime = bridge->runtime;
    bridge->state = BRIDGE_DOWN;
    if (bridge->runtime == NULL || bridge->streams == NULL) {
        bridge_free(bridge);
        return NULL;
    }
    return bridge;
}

void bridge_free(struct bridge *bridge)
{
    if (bridge == NULL)
        return;
    pyhost_free(bridge->runtime);
    stream_buffer_free(bridge->streams);
    free(bridge);
}

void bridge_start(struct bridge *bridge)
{
    if (bridge->state != BRIDGE_DOWN || bridge->start_blocked)
        return;
    char err[sizeof bridge->error];
    if (pyhost_start(bridge->runtime, err, sizeof err) < 0) {
        snprintf(bridge->error, sizeof bridge->error, "%s", err);
        log_error("%s", err);
        return;
    }
    bridge->state = BRIDGE_STARTING;
    bridge->started_ms = clock_mono_ms();
    log_debug("started the Python runtime %s (pid %ld)", bridge->config.python, (long)pyhost_pid(bridge->runtime));
}

int bridge_starting(const struct bridge *bridge)
{
    return bridge->state == BRIDGE_STARTING;
}

const char *bridge_python_version(const struct bridge *bridge)
{
    return bridge->python_version;
}

static void bridge_on_runtime_death(struct bridge *bridge)
{
    bridge_drain_output(bridge);
    char how[128];
    pyhost_stop(bridge->runtime, 500, how, sizeof how);
    enum bridge_state was = bridge->state;
    bridge->state = BRIDGE_DOWN;
    if (was == BRIDGE_STARTING) {
        snprintf(bridge->error, sizeof bridge->error,
                 "the Python runtime (%s) %s before it was ready; check that it is Python 3.9 or newer "
                 "and starts cleanly, or choose another with FAASET_PYTHON", bridge->config.python, how);
        bridge->start_blocked = 1;
        log_error("%s", bridge->error);
        return;
    }
    char evalue[512];
    snprintf(evalue, sizeof evalue,
             "The Python runtime %s while this cell ran. A fresh runtime has been started: variables and "
             "imports from earlier cells are gone.", how);
    log_warn("the Python runtime %s; starting a fresh one", how);
    bridge_start(bridge);
    if (was == BRIDGE_BUSY && requests_current(bridge->requests) != NULL)
        bridge_fail(bridge, "RuntimeDied", evalue);
}

/* ---- frames from the runtime ---- */

static void bridge_on_input_request(struct bridge *bridge, const json_t *frame)
{
    const struct message *current = requests_current(bridge->requests);
    json_t *allow = current ? json_object_get(current->content, "allow_stdin") : NULL;
    if (!requests_current_is(bridge->requests, "execute_request") || !json_is_true(allow)) {
        json_t *reply = json_pack("{s:s, s:s}", "type", "input_reply", "error",
                                  "input is not available: this frontend does not accept input requests "
                                  "(allow_stdin is false)");
        pyhost_send(bridge->runtime, reply);
        json_decref(reply);
        return;
    }
    stream_buffer_flush(bridge->streams);
    json_t *prompt = json_object_get(frame, "prompt");
    struct message *request = message_new(requests_session(bridge->requests), "input_request", current->header,
                                          json_pack("{s:s, s:b}", "prompt",
                                                    json_is_string(prompt) ? json_string_value(prompt) : "",
                                                    "password", json_is_true(json_object_get(frame, "password"))));
    if (request == NULL || message_copy_identities(request, current) < 0) {
        message_free(request);
        return;
    }
    requests_send(bridge->requests, CHANNEL_STDIN, request);
    message_free(request);
    bridge->awaiting_input = 1;
}

static void bridge_on_stream(struct bridge *bridge, const json_t *frame)
{
    const char *name = json_string_value(json_object_get(frame, "name"));
    json_t *text = json_object_get(frame, "text");
    if (name != NULL && json_is_string(text) && (strcmp(name, "stdout") == 0 || strcmp(name, "stderr") == 0))
        stream_buffer_append(bridge->streams, name, json_string_value(text), json_string_length(text), 0);
}

/* display_data, execute_result, error, ...: published as they are, minus "type". */
static void bridge_on_output_event(struct bridge *bridge, const char *type, const json_t *frame)
{
    stream_buffer_flush(bridge->streams);
    json_t *content = json_deep_copy(frame);
    json_object_del(content, "type");
    if (strcmp(type, "execute_result") == 0) {
        json_object_set_new(content, "execution_count", json_integer(requests_execution_count(bridge->requests)));
        requests_set_result_text(bridge->requests,
                                 json_string_value(json_object_get(json_object_get(frame, "data"), "text/plain")));
    }
    requests_publish(bridge->requests, requests_output_parent(bridge->requests), type, content);
}

static void bridge_on_hello(struct bridge *bridge, const json_t *frame)
{
    const char *version = json_string_value(json_object_get(frame, "python_version"));
    snprintf(bridge->python_version, sizeof bridge->python_version, "%s", version ? version : "3");
    bridge->state = BRIDGE_READY;
    bridge->start_blocked = 0;
    log_debug("Python runtime ready: Python %s", bridge->python_version);
    bridge->config.ready(bridge->config.ready_ctx);
}

static void bridge_on_reply(struct bridge *bridge, const json_t *frame)
{
    json_t *id = json_object_get(frame, "id");
    if (bridge->state != BRIDGE_BUSY || requests_current(bridge->requests) == NULL || !json_is_integer(id) ||
        json_integer_value(id) != bridge->request_id) {
        log_warn("ignoring a runtime reply that answers no pending request");
        return;
    }
    bridge->state = BRIDGE_READY;
    bridge_reply_from_frame(bridge, frame); /* the request's end lets the queue go on */
}

static void bridge_on_frame(struct bridge *bridge, const json_t *frame)
{
    static const char *const outputs[] = {"display_data", "update_display_data", "execute_result", "error",
                                          "clear_output"};
    const char *type = json_string_value(json_object_get(frame, "type"));
    if (type == NULL) {
        log_warn("ignoring a runtime frame without a type");
        return;
    }
    if (comms_is_event(type)) {
        stream_buffer_flush(bridge->streams); /* in the order the runtime produced them */
        comms_publish_event(bridge->requests, requests_output_parent(bridge->requests), type, frame);
    } else if (strcmp(type, "hello") == 0)
        bridge_on_hello(bridge, frame);
    else if (strcmp(type, "reply") == 0)
        bridge_on_reply(bridge, frame);
    else if (upcalls_is_upcall(type, frame)) {
        /* what the cell printed so far goes out before what its upcall shows
         * (an experiment's start line and progress are published at once) */
        bridge_drain_output(bridge);
        upcalls_handle(&bridge->config.upcalls, type, frame);
    }
    else if (strcmp(type, "stream") == 0)
        bridge_on_stream(bridge, frame);
    else if (strcmp(type, "input_request") == 0)
        bridge_on_input_request(bridge, frame);
    else {
        for (size_t i = 0; i < sizeof outputs / sizeof outputs[0]; i++) {
            if (strcmp(type, outputs[i]) == 0) {
                bridge_on_output_event(bridge, type, frame);
                return;
            }
        }
        log_warn("ignoring an unknown runtime event '%s'", type);
    }
}

static void bridge_on_frames(void *ctx)
{
    struct bridge *bridge = ctx;
    for (;;) {
        json_t *frame = NULL;
        int rc = pyhost_receive(bridge->runtime, &frame);
        if (rc == 0)
            return;
        if (rc < 0) {
            bridge_on_runtime_death(bridge);
            return;
        }
        bridge_on_frame(bridge, frame);
        json_decref(frame);
    }
}

static void bridge_on_output(void *ctx, enum pyhost_stream stream)
{
    struct bridge *bridge = ctx;
    char buffer[65536];
    size_t n = pyhost_read_output(bridge->runtime, stream, buffer, sizeof buffer);
    if (n > 0)
        stream_buffer_append(bridge->streams, stream == PYHOST_STDOUT ? "stdout" : "stderr", buffer, n, 1);
}

/* ---- requests to the runtime ---- */

json_t *bridge_request_for(struct bridge *bridge, const struct message *msg, char *err, size_t err_size)
{
    const json_t *content = msg->content;
    const struct bridge_kind *kind = bridge_kind_of(message_type(msg));
    if (kind->request != NULL)
        return kind->request(msg, err, err_size);
    json_t *code = json_object_get(content, "code");
    if (!json_is_string(code)) {
        snprintf(err, err_size, "%s has no \"code\" string", message_type(msg));
        return NULL;
    }
    json_t *request = json_pack("{s:s, s:O}", "type", kind->runtime_type, "code", code);
    json_t *pos = json_object_get(content, "cursor_pos");
    /* Without a cursor, Jupyter means the end of the code (in code points). */
    json_int_t cursor = json_is_integer(pos) ? json_integer_value(pos)
                                             : (json_int_t)utf8_code_points(json_string_value(code),
                                                                            json_string_length(code));
    if (strcmp(kind->runtime_type, "execute") == 0) {
        static const char *const flags[] = {"silent", "store_history", "allow_stdin"};
        static const int defaults[] = {0, 1, 0};
        for (int i = 0; i < 3; i++) {
            json_t *value = json_object_get(content, flags[i]);
            json_object_set_new(request, flags[i], json_boolean(json_is_boolean(value) ? json_is_true(value)
                                                                                       : defaults[i]));
        }
        json_t *expressions = json_object_get(content, "user_expressions");
        json_object_set_new(request, "execution_count", json_integer(requests_execution_count(bridge->requests)));
        json_object_set_new(request, "user_expressions",
                            json_is_object(expressions) ? json_incref(expressions) : json_object());
    } else if (strcmp(kind->runtime_type, "complete") == 0) {
        json_object_set_new(request, "cursor_pos", json_integer(cursor));
    } else if (strcmp(kind->runtime_type, "inspect") == 0) {
        json_t *level = json_object_get(content, "detail_level");
        json_object_set_new(request, "cursor_pos", json_integer(cursor));
        json_object_set_new(request, "detail_level",
                            json_integer(json_is_integer(level) ? json_integer_value(level) : 0));
    }
    return request;
}

void bridge_send(struct bridge *bridge, json_t *request)
{
    bridge->awaiting_input = 0;
    json_object_set_new(request, "id", json_integer(++bridge->request_id));
    if (bridge->state != BRIDGE_READY) {
        char evalue[sizeof bridge->error + 64];
        snprintf(evalue, sizeof evalue, "The Python runtime is not available: %s", bridge->error);
        bridge->start_blocked = 0; /* the next request tries again */
        bridge_fail(bridge, "RuntimeUnavailable", evalue);
    } else if (pyhost_send(bridge->runtime, request) < 0) {
        bridge->state = BRIDGE_BUSY;
        bridge_on_runtime_death(bridge);
    } else {
        bridge->state = BRIDGE_BUSY;
    }
    json_decref(request);
}

void bridge_on_input_reply(struct bridge *bridge, const struct message *reply)
{
    if (strcmp(message_type(reply), "input_reply") != 0 || !bridge->awaiting_input) {
        log_warn("ignoring an unexpected %s on stdin", message_type(reply));
        return;
    }
    json_t *value = json_object_get(reply->content, "value");
    json_t *frame = json_pack("{s:s, s:s}", "type", "input_reply", "value",
                              json_is_string(value) ? json_string_value(value) : "");
    bridge->awaiting_input = 0;
    if (pyhost_send(bridge->runtime, frame) < 0)
        log_warn("the runtime went away before its input arrived");
    json_decref(frame);
}

void bridge_interrupt(struct bridge *bridge)
{
    if (requests_current(bridge->requests) == NULL || bridge->state != BRIDGE_BUSY)
        return;
    pyhost_interrupt(bridge->runtime);
    if (bridge->awaiting_input) {
        json_t *frame = json_pack("{s:s, s:s}", "type", "input_reply", "error", "interrupted");
        pyhost_send(bridge->runtime, frame);
        json_decref(frame);
        bridge->awaiting_input = 0;
    }
}

int bridge_tick(struct bridge *bridge)
{
    int timeout = stream_buffer_tick(bridge->streams);
    if (bridge->state != BRIDGE_STARTING)
        return timeout;
    long long left = bridge->started_ms + BRIDGE_START_TIMEOUT_MS - clock_mono_ms();
    if (left > 0)
        return timeout < 0 || left < timeout ? (int)left : timeout;
    char how[128];
    pyhost_stop(bridge->runtime, 0, how, sizeof how);
    bridge->state = BRIDGE_DOWN;
    bridge->start_blocked = 1;
    snprintf(bridge->error, sizeof bridge->error, "the Python runtime (%s) did not start within %d s",
             bridge->config.python, BRIDGE_START_TIMEOUT_MS / 1000);
    log_error("%s", bridge->error);
    return timeout;
}
