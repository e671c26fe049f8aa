/* server: sockets, signals and the poll loop (see server.h).
 * Signals only write a byte to a self-pipe; the loop reads it and acts, so no
 * work happens in a signal handler. Control is read before shell on every
 * turn, so shutdown and interrupt never wait behind queued cells. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "connection.h"
#include "dispatcher.h"
#include "heartbeat.h"
#include "log.h"
#include "reactor.h"
#include "wire.h"

static int server_signal_pipe[2] = {-1, -1};

struct server {
    void *context;
    void *sockets[CHANNEL_COUNT];   /* shell, control, stdin, iopub (hb belongs to its thread) */
    struct wire_signer *signer;
    struct dispatcher *dispatcher;
};

static void server_on_signal(int signo)
{
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    (void)!write(server_signal_pipe[1], &byte, 1);
    errno = saved;
}

static int server_install_signals(void)
{
    if (pipe2(server_signal_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = server_on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void server_send(void *ctx, enum connection_channel channel, const struct message *msg)
{
    struct server *server = ctx;
    char topic[160];
    const char *session = json_string_value(json_object_get(msg->header, "session"));
    if (channel == CHANNEL_IOPUB)
        snprintf(topic, sizeof topic, "kernel.%s.%s", session ? session : "", message_type(msg));
    if (wire_send(server->sockets[channel], server->signer, msg, channel == CHANNEL_IOPUB ? topic : NULL) < 0)
        log_warn("cannot send %s on %s: %s", message_type(msg), connection_channel_name(channel), zmq_strerror(zmq_errno()));
}

/* Receives every waiting message on CHANNEL; DELIVER decides what happens to each. */
static void server_receive_all(struct server *server, enum connection_channel channel,
                               void (*deliver)(struct server *, enum connection_channel, struct message *))
{
    for (;;) {
        struct message *msg = NULL;
        char err[256];
        int rc = wire_recv(server->sockets[channel], server->signer, &msg, err, sizeof err);
        if (rc == 0)
            return;
        if (rc < 0) {
            log_warn("dropped a message on %s: %s", connection_channel_name(channel), err);
            continue;
        }
        deliver(server, channel, msg);
    }
}

static void server_deliver(struct server *server, enum connection_channel channel, struct message *msg)
{
    dispatcher_on_message(server->dispatcher, channel, msg);
}

static void server_deliver_to_queue(struct server *server, enum connection_channel channel, struct message *msg)
{
    (void)channel;
    dispatcher_enqueue_shell(server->dispatcher, msg);
}

static void server_drain_shell(void *ctx)
{
    server_receive_all(ctx, CHANNEL_SHELL, server_deliver_to_queue);
}

static int server_bind(struct server *server, const struct connection_info *info, char *err, size_t err_size)
{
    static const int types[CHANNEL_HB] = {ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_PUB};
    for (int c = 0; c < CHANNEL_HB; c++) {
        char endpoint[320];
        connection_endpoint(info, c, endpoint, sizeof endpoint);
        server->sockets[c] = zmq_socket(server->context, types[c]);
        int linger = 500;
        if (server->sockets[c] == NULL ||
            zmq_setsockopt(server->sockets[c], ZMQ_LINGER, &linger, sizeof linger) < 0 ||
            zmq_bind(server->sockets[c], endpoint) < 0) {
            snprintf(err, err_size, "cannot bind the %s socket to %s: %s", connection_channel_name(c), endpoint,
                     zmq_strerror(zmq_errno()));
            return -1;
        }
    }
    return 0;
}

static void server_handle_signals(struct server *server, int *stop)
{
    unsigned char signo;
    while (read(server_signal_pipe[0], &signo, 1) == 1) {
        if (signo == SIGINT)
            dispatcher_on_sigint(server->dispatcher);
        else if (signo == SIGTERM) {
            log_info("SIGTERM: shutting down");
            *stop = 1;
        }
    }
}

/* The process that started the kernel, when it asked to be watched
 * (jupyter_client sets JPY_PARENT_PID): the kernel exits if it dies, as
 * ipykernel does, instead of lingering as an orphan. 0 when not watched. */
static pid_t server_watched_parent(void)
{
    const char *value = getenv("JPY_PARENT_PID");
    return value != NULL && atol(value) > 1 ? getppid() : 0;
}

static void server_loop(struct server *server)
{
    int stop = 0;
    pid_t parent = server_watched_parent();
    while (!stop && !dispatcher_finished(server->dispatcher)) {
        if (parent != 0 && getppid() != parent) {
            log_warn("the process that started this kernel is gone: shutting down");
            return;
        }
        int timeout = dispatcher_tick(server->dispatcher);
        if (parent != 0 && (timeout < 0 || timeout > 1000))
            timeout = 1000;
        struct reactor *reactor = dispatcher_reactor(server->dispatcher);
        zmq_pollitem_t items[5] = {
            {server->sockets[CHANNEL_CONTROL], 0, ZMQ_POLLIN, 0},
            {server->sockets[CHANNEL_SHELL], 0, ZMQ_POLLIN, 0},
            {server->sockets[CHANNEL_STDIN], 0, ZMQ_POLLIN, 0},
            {NULL, server_signal_pipe[0], ZMQ_POLLIN, 0},
            {NULL, reactor_fd(reactor), ZMQ_POLLIN, 0}, /* the runtime's pipes and every platform fd, through epoll */
        };
        int ready = zmq_poll(items, 5, timeout);
        if (ready < 0) {
            if (zmq_errno() == EINTR)
                continue;
            log_error("poll failed: %s", zmq_strerror(zmq_errno()));
            return;
        }
        if (items[3].revents)
            server_handle_signals(server, &stop);
        if (items[0].revents)
            server_receive_all(server, CHANNEL_CONTROL, server_deliver);
        if (dispatcher_finished(server->dispatcher))
            break;
        if (items[2].revents)
            server_receive_all(server, CHANNEL_STDIN, server_deliver);
        if (items[4].revents)
            reactor_dispatch(reactor);
        if (items[1].revents)
            server_receive_all(server, CHANNEL_SHELL, server_deliver);
    }
}

int server_run(const struct server_options *options)
{
    char err[1024];
    struct connection_info info;
    if (connection_load(options->connection_file, &info, err, sizeof err) < 0) {
        log_error("%s", err);
        return 2;
    }
    struct server server = {0};
    struct heartbeat *heartbeat = NULL;
    int exit_code = 1;
    server.context = zmq_ctx_new();
    server.signer = wire_signer_new(info.key, info.key_len);
    if (server.context == NULL || server.signer == NULL || server_install_signals() < 0) {
        log_error("cannot initialise the kernel: %s", strerror(errno));
        goto done;
    }
    if (server_bind(&server, &info, err, sizeof err) < 0) {
        log_error("%s", err);
        goto done;
    }
    char endpoint[320];
    connection_endpoint(&info, CHANNEL_HB, endpoint, sizeof endpoint);
    heartbeat = heartbeat_start(server.context, endpoint, err, sizeof err);
    if (heartbeat == NULL) {
        log_error("%s", err);
        goto done;
    }
    struct requests_io io = {.ctx = &server, .send = server_send, .drain_shell = server_drain_shell};
    struct dispatcher_config config = {.python = options->python, .interrupt_mode = options->interrupt_mode};
    server.dispatcher = dispatcher_new(&config, &io);
    if (server.dispatcher == NULL) {
        log_error("out of memory");
        goto done;
    }
    dispatcher_start(server.dispatcher);
    server_loop(&server);
    exit_code = 0;
done:
    dispatcher_free(server.dispatcher);
    for (int c = 0; c < CHANNEL_HB; c++)
        if (server.sockets[c] != NULL)
            zmq_close(server.sockets[c]);
    if (server.context != NULL)
        zmq_ctx_shutdown(server.context);
    heartbeat_join(heartbeat);
    if (server.context != NULL)
        zmq_ctx_term(server.context);
    wire_signer_free(server.signer);
    connection_free(&info);
    for (int i = 0; i < 2; i++)
        if (server_signal_pipe[i] >= 0)
            close(server_signal_pipe[i]);
    return exit_code;
}
