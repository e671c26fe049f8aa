/* Unit tests for dispatcher through a fake transport (no ZeroMQ): the
 * status protocol around requests the kernel answers itself, parents on
 * every message, unknown types, shutdown, and through a real local runtime
 * one execute round trip and a comm_open to a target it does not have
 * (answered by comm_close). */
#include <poll.h>
#include <string.h>

#include "check.h"
#include "dispatcher.h"
#include "reactor.h"

#define MAX_SENT 64

struct sent {
    enum connection_channel channel;
    char type[64];
    json_t *parent;
    json_t *content;
};

static struct sent sent[MAX_SENT];
static int sent_count;

static void fake_send(void *ctx, enum connection_channel channel, const struct message *msg)
{
    (void)ctx;
    if (sent_count == MAX_SENT)
        return;
    struct sent *s = &sent[sent_count++];
    s->channel = channel;
    snprintf(s->type, sizeof s->type, "%s", message_type(msg));
    s->parent = json_incref(msg->parent_header);
    s->content = json_incref(msg->content);
}

static void fake_drain(void *ctx)
{
    (void)ctx;
}

static void clear_sent(void)
{
    for (int i = 0; i < sent_count; i++) {
        json_decref(sent[i].parent);
        json_decref(sent[i].content);
    }
    sent_count = 0;
}

static struct message *request(struct message_session *client, const char *type, json_t *content)
{
    return message_new(client, type, NULL, content);
}

static const char *parent_id(int i)
{
    return json_string_value(json_object_get(sent[i].parent, "msg_id"));
}

static const char *status_of(int i)
{
    return json_string_value(json_object_get(sent[i].content, "execution_state"));
}

/* Checks that SENT is busy, <middle...>, idle, all with the parent MSG_ID. */
static void check_framed(const char *msg_id, int expected_count)
{
    CHECK(sent_count == expected_count);
    CHECK(strcmp(sent[0].type, "status") == 0 && strcmp(status_of(0), "busy") == 0);
    CHECK(strcmp(sent[sent_count - 1].type, "status") == 0 && strcmp(status_of(sent_count - 1), "idle") == 0);
    for (int i = 0; i < sent_count; i++)
        CHECK(parent_id(i) != NULL && strcmp(parent_id(i), msg_id) == 0);
}

static void test_direct_requests(struct dispatcher *d, struct message_session *client)
{
    struct message *msg = request(client, "kernel_info_request", NULL);
    char id[128];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(msg->header, "msg_id")));
    clear_sent();
    dispatcher_on_message(d, CHANNEL_CONTROL, msg);
    check_framed(id, 3);
    CHECK(sent[1].channel == CHANNEL_CONTROL && strcmp(sent[1].type, "kernel_info_reply") == 0);
    CHECK(strcmp(json_string_value(json_object_get(sent[1].content, "protocol_version")), "5.3") == 0);

    msg = request(client, "no_such_request", NULL);
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(msg->header, "msg_id")));
    clear_sent();
    dispatcher_on_message(d, CHANNEL_SHELL, msg);
    check_framed(id, 2); /* busy and idle, no reply */
}

static void pump_until_idle(struct dispatcher *d, const char *msg_id)
{
    for (int round = 0; round < 2000; round++) {
        for (int i = 0; i < sent_count; i++)
            if (strcmp(sent[i].type, "status") == 0 && strcmp(status_of(i), "idle") == 0 &&
                strcmp(parent_id(i), msg_id) == 0)
                return;
        struct pollfd ready = {.fd = reactor_fd(dispatcher_reactor(d)), .events = POLLIN};
        poll(&ready, 1, 10);
        reactor_dispatch(dispatcher_reactor(d));
        dispatcher_tick(d);
    }
}

static void test_execute(struct dispatcher *d, struct message_session *client)
{
    struct message *msg = request(client, "execute_request", json_pack("{s:s, s:b}", "code", "print('hi'); 6*7", "silent", 0));
    char id[128];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(msg->header, "msg_id")));
    clear_sent();
    dispatcher_on_message(d, CHANNEL_SHELL, msg);
    pump_until_idle(d, id);
    const char *expected[] = {"status", "execute_input", "stream", "execute_result", "execute_reply", "status"};
    CHECK(sent_count == 6);
    for (int i = 0; i < sent_count && i < 6; i++)
        CHECK(strcmp(sent[i].type, expected[i]) == 0);
    if (sent_count == 6) {
        check_framed(id, 6);
        CHECK(strcmp(json_string_value(json_object_get(sent[2].content, "text")), "hi\n") == 0);
        CHECK(strcmp(json_string_value(json_object_get(json_object_get(sent[3].content, "data"), "text/plain")), "42") == 0);
        CHECK(sent[4].channel == CHANNEL_SHELL);
        CHECK(json_integer_value(json_object_get(sent[4].content, "execution_count")) == 1);
    }
}

/* The runtime holds the comm targets: one it does not have closes the comm. */
static void test_comm_open_unknown_target(struct dispatcher *d, struct message_session *client)
{
    struct message *msg = request(client, "comm_open", json_pack("{s:s, s:s}", "comm_id", "c9", "target_name", "none"));
    char id[128];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(msg->header, "msg_id")));
    clear_sent();
    dispatcher_on_message(d, CHANNEL_SHELL, msg);
    pump_until_idle(d, id);
    check_framed(id, 3);
    CHECK(sent[1].channel == CHANNEL_IOPUB && strcmp(sent[1].type, "comm_close") == 0);
    CHECK(strcmp(json_string_value(json_object_get(sent[1].content, "comm_id")), "c9") == 0);
}

int main(void)
{
    struct requests_io io = {.ctx = NULL, .send = fake_send, .drain_shell = fake_drain};
    struct dispatcher_config config = {.python = "/usr/bin/python3", .interrupt_mode = "message"};
    struct dispatcher *d = dispatcher_new(&config, &io);
    struct message_session client;
    message_session_init(&client);
    CHECK(d != NULL);
    dispatcher_start(d);
    CHECK(sent_count == 1 && strcmp(status_of(0), "starting") == 0 && json_object_size(sent[0].parent) == 0);

    test_direct_requests(d, &client);
    test_execute(d, &client);
    test_comm_open_unknown_target(d, &client);

    struct message *msg = request(&client, "shutdown_request", json_pack("{s:b}", "restart", 0));
    clear_sent();
    dispatcher_on_message(d, CHANNEL_CONTROL, msg);
    CHECK(dispatcher_finished(d));
    CHECK(sent_count == 3 && strcmp(sent[1].type, "shutdown_reply") == 0);
    clear_sent();
    dispatcher_free(d);
    return check_report();
}
