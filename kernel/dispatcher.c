/* dispatcher: the table from message type to handler, the queue's turns,
 * and the requests the kernel answers itself: kernel_info, history,
 * shutdown, interrupt (see dispatcher.h); comms go to the runtime (comms.h). It owns the kernel's parts and
 * wires them: requests (the status frame), the bridge (the runtime),
 * magics, experiments, cloud functions and the reactor. A shutdown waits a
 * few seconds for Event calls the kernel still sends itself (gcf's), and
 * reports those it stops without (dispatcher_report_unsent). */
#include "dispatcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"
#include "clock.h"
#include "cloud.h"
#include "experiments.h"
#include "history.h"
#include "log.h"
#include "magics.h"
#include "reactor.h"

struct dispatcher {
    char *python;
    char *interrupt_mode;
    struct history *history;
    struct reactor *reactor;       /* the runtime's pipes, the platforms' fds and timers */
    struct requests *requests;
    struct cloud *cloud;           /* cloud functions: define, invoke, %platform */
    struct experiments *experiments;
    struct bridge *bridge;
    struct magics_context magics;
    int finished;
    int stopping;                  /* shutdown answered; waiting for Event calls still being sent */
    long long stop_deadline_ms;    /* when the wait ends, sent or not */
    int notice_shown;              /* an earlier kernel's notice was looked for at the first cell */
    int processing_queue;          /* guards dispatcher_process_queue against re-entry */
    int answering;                 /* inside a request answered at once: the queue waits */
};

typedef void (*dispatcher_handler_fn)(struct dispatcher *d, enum connection_channel channel,
                                      const struct message *msg);

static void dispatcher_process_queue(struct dispatcher *d);

/* ---- requests the kernel answers at once ---- */

static void dispatcher_kernel_info(struct dispatcher *d, enum connection_channel channel, const struct message *msg)
{
    const char *version = bridge_python_version(d->bridge);
    char banner[1024];
    snprintf(banner, sizeof banner,
             "FaaSET kernel %s (C) with Python %s (%s)\n"
             "Plain cells run in a local Python runtime; interrupt mode: %s.\n",
             FAASET_VERSION, version[0] ? version : "(starting)", d->python, d->interrupt_mode);
    json_t *info = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:{s:s, s:s, s:s, s:s, s:s, "
                             "s:{s:s, s:i}, s:s}}",
                             "status", "ok", "protocol_version", MESSAGE_PROTOCOL_VERSION, "implementation", "faaset",
                             "implementation_version", FAASET_VERSION, "banner", banner, "help_links", "text",
                             "FaaSET README", "url", FAASET_README_URL, "text", "FaaS Runner experiment keys", "url",
                             FAASET_SCHEMA_URL, "language_info", "name", "python", "version", version[0] ? version : "3", "mimetype",
                             "text/x-python", "file_extension", ".py", "pygments_lexer", "ipython3",
                             "codemirror_mode", "name", "ipython", "version", 3, "nbconvert_exporter", "python");
    requests_reply_to(d->requests, channel, msg, "kernel_info_reply", info);
}

/* The kernel stops with Event calls not sent: the log, the running cell
 * (if any) and the next kernel in this folder are told. */
static void dispatcher_report_unsent(struct dispatcher *d, size_t unsent, const char *where, int waited)
{
    char message[600];
    cloud_unsent_sentence(unsent, where, "the kernel", waited, message, sizeof message);
    log_warn("%.*s", (int)strlen(message) - 1, message);
    if (requests_current_is(d->requests, "execute_request"))
        requests_publish(d->requests, requests_output_parent(d->requests), "stream",
                         json_pack("{s:s, s:s}", "name", "stderr", "text", message));
    cloud_leave_notice(d->cloud, message);
}

static void dispatcher_shutdown(struct dispatcher *d, enum connection_channel channel, const struct message *msg)
{
    int restart = json_is_true(json_object_get(msg->content, "restart"));
    requests_reply_to(d->requests, channel, msg, "shutdown_reply",
                      json_pack("{s:s, s:b}", "status", "ok", "restart", restart));
    log_info("shutdown requested%s", restart ? " (restart)" : "");
    char where[128];
    size_t in_flight = cloud_events_in_flight(d->cloud, where, sizeof where);
    if (in_flight == 0) {
        d->finished = 1;
        return;
    }
    log_info("waiting up to %d s for %zu Event call%s on %s to be sent", CLOUD_EVENT_WAIT_MS / 1000, in_flight,
             in_flight == 1 ? "" : "s", where);
    d->stopping = 1;
    d->stop_deadline_ms = clock_mono_ms() + CLOUD_EVENT_WAIT_MS;
}

/* Stops what the current cell is doing: an experiment stops launching and
 * ends the cell within two seconds; a call the kernel makes is abandoned;
 * pip installing a cloud function's dependencies is stopped; Python code
 * gets KeyboardInterrupt. */
static void dispatcher_interrupt_current(struct dispatcher *d)
{
    cloud_interrupt(d->cloud); /* pip installing a function's dependencies */
    if (experiments_interrupt(d->experiments))
        return;
    if (requests_awaiting_kernel(d->requests)) {
        /* its answer will find another current request and be dropped */
        requests_fail_execute(d->requests, "KeyboardInterrupt",
                              "the call was abandoned; it may still complete on the platform");
        return;
    }
    bridge_interrupt(d->bridge);
}

static void dispatcher_interrupt(struct dispatcher *d, enum connection_channel channel, const struct message *msg)
{
    dispatcher_interrupt_current(d);
    requests_reply_to(d->requests, channel, msg, "interrupt_reply", json_pack("{s:s}", "status", "ok"));
}

static void dispatcher_history(struct dispatcher *d, enum connection_channel channel, const struct message *msg)
{
    requests_reply_to(d->requests, channel, msg, "history_reply",
                      json_pack("{s:s, s:o}", "status", "ok", "history", history_query(d->history, msg->content)));
}

static void dispatcher_unknown(struct dispatcher *d, enum connection_channel channel, const struct message *msg)
{
    (void)d;
    log_warn("ignoring unknown %s message type '%s'", connection_channel_name(channel), message_type(msg));
}

/* ---- requests that become the current one ---- */

/* Sends the current request to the runtime, as REQUEST if given, else as itself. */
static void dispatcher_to_runtime(struct dispatcher *d, const struct message *msg, json_t *request)
{
    char err[256];
    if (request == NULL && (request = bridge_request_for(d->bridge, msg, err, sizeof err)) == NULL)
        bridge_fail(d->bridge, "BadRequest", err);
    else
        bridge_send(d->bridge, request);
}

static void dispatcher_execute(struct dispatcher *d, enum connection_channel channel, const struct message *msg)
{
    (void)channel;
    if (!d->notice_shown && !json_is_true(json_object_get(msg->content, "silent"))) {
        d->notice_shown = 1; /* the first cell shows what the kernel before this one left unfinished */
        char *notice = cloud_take_notice(d->cloud);
        if (notice != NULL) {
            char text[800];
            snprintf(text, sizeof text, "The kernel that ran before this one in this folder: %.700s", notice);
            requests_publish(d->requests, requests_output_parent(d->requests), "stream",
                             json_pack("{s:s, s:s}", "name", "stderr", "text", text));
        }
        free(notice);
    }
    json_t *request = NULL;
    enum magics_outcome outcome = magics_execute(&d->magics, msg, &request);
    if (outcome == MAGICS_HANDLED)
        return;
    char err[256];
    if (outcome == MAGICS_NOT_MAGIC && (request = bridge_request_for(d->bridge, msg, err, sizeof err)) == NULL) {
        bridge_fail(d->bridge, "BadRequest", err);
        return;
    }
    if (outcome == MAGICS_NOT_MAGIC) /* so the runtime can say where a kernel magic among Python lines belongs */
        json_object_set_new(request, "kernel_magics", magics_names());
    bridge_send(d->bridge, request);
}

static void dispatcher_complete(struct dispatcher *d, enum connection_channel channel, const struct message *msg)
{
    (void)channel;
    if (magics_complete(&d->magics, msg)) {
        requests_finish(d->requests);
        return;
    }
    char err[256];
    json_t *request = bridge_request_for(d->bridge, msg, err, sizeof err);
    if (request == NULL) {
        bridge_fail(d->bridge, "BadRequest", err);
        return;
    }
    json_object_set_new(request, "kernel_magics", magics_names()); /* `%na<TAB>`: the runtime's and the kernel's */
    bridge_send(d->bridge, request);
}

static void dispatcher_runtime_request(struct dispatcher *d, enum connection_channel channel, const struct message *msg)
{
    (void)channel;
    dispatcher_to_runtime(d, msg, NULL);
}

/* ---- the table ---- */

enum dispatcher_turn {
    DISPATCH_NOW,        /* answered at once: busy, reply, idle */
    DISPATCH_CURRENT,    /* becomes the current request; its handler or the runtime ends it later */
};

static const struct dispatcher_handler {
    const char *msg_type;
    enum dispatcher_turn turn;
    int waits_for_runtime;     /* on shell: stays queued until the runtime said hello */
    dispatcher_handler_fn handle;
} dispatcher_handlers[] = {
    {"kernel_info_request", DISPATCH_NOW, 1, dispatcher_kernel_info},  /* it reports the Python version */
    {"shutdown_request", DISPATCH_NOW, 0, dispatcher_shutdown},
    {"interrupt_request", DISPATCH_NOW, 0, dispatcher_interrupt},
    {"history_request", DISPATCH_NOW, 0, dispatcher_history},
    {"comm_info_request", DISPATCH_CURRENT, 1, dispatcher_runtime_request},  /* the runtime holds the comms */
    {"comm_open", DISPATCH_CURRENT, 1, dispatcher_runtime_request},
    {"comm_msg", DISPATCH_CURRENT, 1, dispatcher_runtime_request},
    {"comm_close", DISPATCH_CURRENT, 1, dispatcher_runtime_request},
    {"execute_request", DISPATCH_CURRENT, 1, dispatcher_execute},
    {"complete_request", DISPATCH_CURRENT, 1, dispatcher_complete},
    {"inspect_request", DISPATCH_CURRENT, 1, dispatcher_runtime_request},
    {"is_complete_request", DISPATCH_CURRENT, 1, dispatcher_runtime_request},
};

static const struct dispatcher_handler dispatcher_unknown_handler = {"", DISPATCH_NOW, 0, dispatcher_unknown};

static const struct dispatcher_handler *dispatcher_handler_for(const char *msg_type)
{
    for (size_t i = 0; i < sizeof dispatcher_handlers / sizeof dispatcher_handlers[0]; i++)
        if (strcmp(msg_type, dispatcher_handlers[i].msg_type) == 0)
            return &dispatcher_handlers[i];
    return &dispatcher_unknown_handler;
}

struct dispatcher_answer {
    struct dispatcher *d;
    dispatcher_handler_fn handle;
};

static void dispatcher_answer(void *ctx, enum connection_channel channel, const struct message *msg)
{
    struct dispatcher_answer *answer = ctx;
    answer->handle(answer->d, channel, msg);
}

/* busy, the answer, idle; the queue moves on after, not in between. */
static void dispatcher_answer_now(struct dispatcher *d, enum connection_channel channel, struct message *msg,
                                  dispatcher_handler_fn handle)
{
    struct dispatcher_answer answer = {d, handle};
    int was_answering = d->answering;
    d->answering = 1;
    requests_answer_now(d->requests, channel, msg, dispatcher_answer, &answer);
    d->answering = was_answering;
}

static void dispatcher_process_queue(struct dispatcher *d)
{
    if (d->processing_queue || d->answering)
        return;
    d->processing_queue = 1;
    const struct message *next;
    while ((next = requests_peek(d->requests)) != NULL && requests_current(d->requests) == NULL && !d->finished &&
           !d->stopping) {
        const struct dispatcher_handler *handler = dispatcher_handler_for(message_type(next));
        if (handler->waits_for_runtime) {
            bridge_start(d->bridge);
            if (bridge_starting(d->bridge))
                break; /* the hello frame will resume the queue */
        }
        struct message *msg = requests_take(d->requests);
        if (handler->turn == DISPATCH_NOW) {
            dispatcher_answer_now(d, CHANNEL_SHELL, msg, handler->handle);
        } else {
            requests_begin(d->requests, msg);
            handler->handle(d, CHANNEL_SHELL, msg);
        }
    }
    d->processing_queue = 0;
}

static void dispatcher_on_idle(void *ctx)
{
    dispatcher_process_queue(ctx);
}

/* ---- life ---- */

struct dispatcher *dispatcher_new(const struct dispatcher_config *config, const struct requests_io *io)
{
    struct dispatcher *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->python = strdup(config->python);
    d->interrupt_mode = strdup(config->interrupt_mode);
    char err[512];
    d->history = history_open(err, sizeof err);
    if (d->history == NULL)
        log_warn("history is off for this kernel: %s", err);
    d->reactor = reactor_new();
    d->requests = requests_new(io, d->history, dispatcher_on_idle, d);
    char workdir[4096];
    if (getcwd(workdir, sizeof workdir) == NULL)
        strcpy(workdir, ".");
    d->cloud = d->reactor && d->python ? cloud_new(d->reactor, workdir, d->python) : NULL;
    d->experiments = d->requests && d->cloud ? experiments_new(d->requests, d->cloud, d->reactor, workdir) : NULL;
    if (d->python == NULL || d->interrupt_mode == NULL || d->experiments == NULL) {
        dispatcher_free(d);
        return NULL;
    }
    struct bridge_config bridge = {
        .python = d->python, .reactor = d->reactor, .requests = d->requests,
        .upcalls = {.cloud = d->cloud, .experiment = experiments_start_call, .experiment_ctx = d->experiments},
        .ready = dispatcher_on_idle, .ready_ctx = d};
    d->bridge = bridge_new(&bridge);
    if (d->bridge == NULL) {
        dispatcher_free(d);
        return NULL;
    }
    d->magics = (struct magics_context){d->requests, d->cloud, d->experiments};
    return d;
}

void dispatcher_free(struct dispatcher *d)
{
    if (d == NULL)
        return;
    char where[128];
    size_t unsent = d->cloud != NULL ? cloud_events_in_flight(d->cloud, where, sizeof where) : 0;
    if (unsent > 0) /* after the wait, or at once on SIGTERM */
        dispatcher_report_unsent(d, unsent, where, d->stopping);
    experiments_free(d->experiments); /* first: a running experiment stops and keeps its rows */
    cloud_free(d->cloud);             /* it ends pending calls, whose answers go to the runtime */
    bridge_free(d->bridge);
    requests_free(d->requests);
    reactor_free(d->reactor);
    history_close(d->history);
    free(d->python);
    free(d->interrupt_mode);
    free(d);
}

void dispatcher_start(struct dispatcher *d)
{
    requests_publish(d->requests, NULL, "status", json_pack("{s:s}", "execution_state", "starting"));
    bridge_start(d->bridge);
}

void dispatcher_enqueue_shell(struct dispatcher *d, struct message *msg)
{
    requests_enqueue(d->requests, msg);
}

void dispatcher_on_message(struct dispatcher *d, enum connection_channel channel, struct message *msg)
{
    switch (channel) {
    case CHANNEL_SHELL:
        if (strcmp(message_type(msg), "interrupt_request") == 0) {
            /* VS Code's raw kernels send it on shell in message mode: queued, it
             * would wait behind the very cell it is meant to stop */
            dispatcher_answer_now(d, CHANNEL_SHELL, msg, dispatcher_interrupt);
            dispatcher_process_queue(d);
            break;
        }
        requests_enqueue(d->requests, msg);
        dispatcher_process_queue(d);
        break;
    case CHANNEL_CONTROL: {
        /* only what is answered at once: a cell cannot run on control */
        const struct dispatcher_handler *handler = dispatcher_handler_for(message_type(msg));
        dispatcher_answer_now(d, CHANNEL_CONTROL, msg,
                              handler->turn == DISPATCH_NOW ? handler->handle : dispatcher_unknown);
        dispatcher_process_queue(d);
        break;
    }
    case CHANNEL_STDIN:
        bridge_on_input_reply(d->bridge, msg);
        message_free(msg);
        break;
    default:
        message_free(msg);
        break;
    }
}

void dispatcher_on_sigint(struct dispatcher *d)
{
    if (requests_current(d->requests) != NULL) {
        log_info("SIGINT: interrupting the running cell");
        dispatcher_interrupt_current(d);
        dispatcher_process_queue(d);
    } else {
        log_info("SIGINT while idle: ignored");
    }
}

int dispatcher_tick(struct dispatcher *d)
{
    int timeout = bridge_tick(d->bridge);
    int timers = reactor_run_timers(d->reactor);
    dispatcher_process_queue(d);
    timeout = timeout < 0 || (timers >= 0 && timers < timeout) ? timers : timeout;
    if (d->stopping && (timeout < 0 || timeout > 50))
        timeout = 50; /* dispatcher_finished looks again soon */
    return timeout;
}

struct reactor *dispatcher_reactor(const struct dispatcher *d)
{
    return d->reactor;
}

int dispatcher_finished(struct dispatcher *d)
{
    if (d->stopping && !d->finished) {
        char where[128];
        d->finished = cloud_events_in_flight(d->cloud, where, sizeof where) == 0 ||
                      clock_mono_ms() >= d->stop_deadline_ms;
        if (d->finished)
            log_info("stopping: the wait for Event calls is over");
    }
    return d->finished;
}
