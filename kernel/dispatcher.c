/* dispatcher: the request queue, the status protocol and the requests the
 * kernel answers itself: kernel_info, history, comms, shutdown, interrupt
 * (see dispatcher.h). Requests that need Python go to bridge.c. */
#include "dispatcher_private.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiments.h"
#include "log.h"

struct dispatcher *dispatcher_new(const struct dispatcher_config *config, const struct dispatcher_io *io)
{
    struct dispatcher *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->io = *io;
    d->python = strdup(config->python);
    d->interrupt_mode = strdup(config->interrupt_mode);
    d->runtime = d->python ? pyhost_new(d->python) : NULL;
    d->streams = stream_buffer_new(bridge_stream_publish, d);
    d->reactor = reactor_new();
    char workdir[4096];
    if (getcwd(workdir, sizeof workdir) == NULL)
        strcpy(workdir, ".");
    d->cloud = d->reactor && d->python ? cloud_new(d->reactor, workdir, d->python) : NULL;
    if (d->interrupt_mode == NULL || d->runtime == NULL || d->streams == NULL || d->cloud == NULL) {
        dispatcher_free(d);
        return NULL;
    }
    message_session_init(&d->session);
    char err[512];
    d->history = history_open(err, sizeof err);
    if (d->history == NULL)
        log_warn("history is off for this kernel: %s", err);
    d->runtime_state = RUNTIME_DOWN;
    return d;
}

void dispatcher_free(struct dispatcher *d)
{
    if (d == NULL)
        return;
    while (d->queue_head != NULL) {
        struct queued_message *next = d->queue_head->next;
        message_free(d->queue_head->msg);
        free(d->queue_head);
        d->queue_head = next;
    }
    experiments_shutdown(d); /* first: a running experiment stops and keeps its rows */
    cloud_free(d->cloud);    /* it ends pending calls, whose answers go to the runtime */
    reactor_free(d->reactor);
    pyhost_free(d->runtime);
    message_free(d->current);
    json_decref(d->output_parent);
    free(d->result_text);
    stream_buffer_free(d->streams);
    history_close(d->history);
    free(d->python);
    free(d->interrupt_mode);
    free(d);
}

void dispatcher_publish(struct dispatcher *d, const char *msg_type, const json_t *parent, json_t *content)
{
    struct message *msg = message_new(&d->session, msg_type, parent, content);
    if (msg == NULL) {
        log_error("out of memory building %s", msg_type);
        return;
    }
    d->io.send(d->io.ctx, CHANNEL_IOPUB, msg);
    message_free(msg);
}

void dispatcher_reply(struct dispatcher *d, enum connection_channel channel, const struct message *request,
                      const char *reply_type, json_t *content)
{
    struct message *reply = message_new_reply(&d->session, request, reply_type, content);
    if (reply == NULL) {
        log_error("out of memory building %s", reply_type);
        return;
    }
    d->io.send(d->io.ctx, channel, reply);
    message_free(reply);
}

void dispatcher_status(struct dispatcher *d, const json_t *parent, const char *state)
{
    dispatcher_publish(d, "status", parent, json_pack("{s:s}", "execution_state", state));
}

void dispatcher_start(struct dispatcher *d)
{
    dispatcher_status(d, NULL, "starting");
    bridge_start_runtime(d);
}

static json_t *dispatcher_kernel_info(struct dispatcher *d)
{
    char banner[1024];
    snprintf(banner, sizeof banner,
             "FaaSET kernel %s (C) with Python %s (%s)\n"
             "Plain cells run in a local Python runtime; interrupt mode: %s.\n",
             FAASET_VERSION, d->python_version[0] ? d->python_version : "(starting)", d->python, d->interrupt_mode);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[], s:{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i}, s:s}}",
                     "status", "ok", "protocol_version", MESSAGE_PROTOCOL_VERSION, "implementation", "faaset",
                     "implementation_version", FAASET_VERSION, "banner", banner, "help_links",
                     "language_info", "name", "python", "version", d->python_version[0] ? d->python_version : "3",
                     "mimetype", "text/x-python", "file_extension", ".py", "pygments_lexer", "ipython3",
                     "codemirror_mode", "name", "ipython", "version", 3, "nbconvert_exporter", "python");
}

static void dispatcher_shutdown(struct dispatcher *d, enum connection_channel channel, const struct message *request)
{
    int restart = json_is_true(json_object_get(request->content, "restart"));
    dispatcher_reply(d, channel, request, "shutdown_reply", json_pack("{s:s, s:b}", "status", "ok", "restart", restart));
    d->finished = 1;
    log_info("shutdown requested%s", restart ? " (restart)" : "");
}

/* Requests the kernel answers itself, on either channel. Returns 0 if MSG is not one. */
static int dispatcher_answer_directly(struct dispatcher *d, enum connection_channel channel, const struct message *msg)
{
    const char *type = message_type(msg);
    if (strcmp(type, "kernel_info_request") == 0)
        dispatcher_reply(d, channel, msg, "kernel_info_reply", dispatcher_kernel_info(d));
    else if (strcmp(type, "shutdown_request") == 0)
        dispatcher_shutdown(d, channel, msg);
    else if (strcmp(type, "interrupt_request") == 0) {
        bridge_interrupt(d);
        dispatcher_reply(d, channel, msg, "interrupt_reply", json_pack("{s:s}", "status", "ok"));
    } else if (strcmp(type, "history_request") == 0)
        dispatcher_reply(d, channel, msg, "history_reply",
                         json_pack("{s:s, s:o}", "status", "ok", "history", history_query(d->history, msg->content)));
    else if (strcmp(type, "comm_info_request") == 0)
        dispatcher_reply(d, channel, msg, "comm_info_reply", json_pack("{s:s, s:{}}", "status", "ok", "comms"));
    else if (strcmp(type, "comm_open") == 0) {
        /* No comm targets exist: close it, as the protocol asks. */
        const char *comm_id = json_string_value(json_object_get(msg->content, "comm_id"));
        dispatcher_publish(d, "comm_close", msg->header,
                           json_pack("{s:s, s:{}}", "comm_id", comm_id ? comm_id : "", "data"));
    } else if (strcmp(type, "comm_msg") == 0 || strcmp(type, "comm_close") == 0)
        ; /* for comms we never opened: nothing to do */
    else
        return 0;
    return 1;
}

/* One request outside the runtime: busy, answer, idle. */
static void dispatcher_handle_direct(struct dispatcher *d, enum connection_channel channel, struct message *msg)
{
    dispatcher_status(d, msg->header, "busy");
    if (!dispatcher_answer_directly(d, channel, msg))
        log_warn("ignoring unknown %s message type '%s'", connection_channel_name(channel), message_type(msg));
    dispatcher_status(d, msg->header, "idle");
    message_free(msg);
}

void dispatcher_enqueue_shell(struct dispatcher *d, struct message *msg)
{
    struct queued_message *item = malloc(sizeof *item);
    if (item == NULL) {
        log_error("out of memory: dropping a %s", message_type(msg));
        message_free(msg);
        return;
    }
    item->msg = msg;
    item->next = NULL;
    if (d->queue_tail != NULL)
        d->queue_tail->next = item;
    else
        d->queue_head = item;
    d->queue_tail = item;
}

static struct message *dispatcher_pop(struct dispatcher *d)
{
    struct queued_message *item = d->queue_head;
    struct message *msg = item->msg;
    d->queue_head = item->next;
    if (d->queue_head == NULL)
        d->queue_tail = NULL;
    free(item);
    return msg;
}

void dispatcher_process_queue(struct dispatcher *d)
{
    if (d->processing_queue)
        return;
    d->processing_queue = 1;
    while (d->queue_head != NULL && d->current == NULL && !d->finished) {
        const char *type = message_type(d->queue_head->msg);
        int needs_runtime = bridge_needs_runtime(type) || strcmp(type, "kernel_info_request") == 0;
        if (needs_runtime && d->runtime_state == RUNTIME_DOWN && !d->runtime_start_blocked)
            bridge_start_runtime(d);
        if (needs_runtime && d->runtime_state == RUNTIME_STARTING)
            break; /* the hello frame will resume the queue */
        struct message *msg = dispatcher_pop(d);
        if (bridge_needs_runtime(type))
            bridge_begin(d, msg);
        else
            dispatcher_handle_direct(d, CHANNEL_SHELL, msg);
    }
    d->processing_queue = 0;
}

void dispatcher_on_message(struct dispatcher *d, enum connection_channel channel, struct message *msg)
{
    switch (channel) {
    case CHANNEL_SHELL:
        dispatcher_enqueue_shell(d, msg);
        dispatcher_process_queue(d);
        break;
    case CHANNEL_CONTROL:
        dispatcher_handle_direct(d, CHANNEL_CONTROL, msg);
        break;
    case CHANNEL_STDIN:
        bridge_on_input_reply(d, msg);
        message_free(msg);
        break;
    default:
        message_free(msg);
        break;
    }
}

void dispatcher_on_runtime_frames(struct dispatcher *d)
{
    bridge_on_frames(d);
    dispatcher_process_queue(d);
}

void dispatcher_on_runtime_output(struct dispatcher *d, enum pyhost_stream stream)
{
    bridge_on_output(d, stream);
}

void dispatcher_on_sigint(struct dispatcher *d)
{
    if (d->current != NULL) {
        log_info("SIGINT: interrupting the running cell");
        bridge_interrupt(d);
    } else {
        log_info("SIGINT while idle: ignored");
    }
}

int dispatcher_tick(struct dispatcher *d)
{
    int timeout = bridge_tick(d);
    int timers = reactor_run_timers(d->reactor);
    dispatcher_process_queue(d);
    return timeout < 0 || (timers >= 0 && timers < timeout) ? timers : timeout;
}

void dispatcher_runtime_fds(const struct dispatcher *d, int fds[3])
{
    fds[0] = pyhost_frame_fd(d->runtime);
    fds[1] = pyhost_output_fd(d->runtime, PYHOST_STDOUT);
    fds[2] = pyhost_output_fd(d->runtime, PYHOST_STDERR);
}

struct reactor *dispatcher_reactor(const struct dispatcher *d)
{
    return d->reactor;
}

int dispatcher_finished(const struct dispatcher *d)
{
    return d->finished;
}
