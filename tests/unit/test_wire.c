/* Unit tests for wire: signatures against a value computed by Python's hmac
 * module, rejection of bad, short and missing signatures,
 * malformed frames, and an encode/decode round trip through a socket pair. */
#include <string.h>
#include <zmq.h>

#include "check.h"
#include "wire.h"

static struct wire_bytes bytes(const char *text)
{
    struct wire_bytes b = {text, strlen(text)};
    return b;
}

static void test_known_signature(void)
{
    /* python3 -c 'import hmac,hashlib; print(hmac.new(b"secret", b"{}{\"a\":1}{}{}", hashlib.sha256).hexdigest())' */
    struct wire_signer *signer = wire_signer_new("secret", 6);
    struct wire_bytes parts[4] = {bytes("{}"), bytes("{\"a\":1}"), bytes("{}"), bytes("{}")};
    char hex[65];
    CHECK(wire_sign(signer, parts, hex) == 0);
    CHECK(strcmp(hex, "d9eee4c14110304dfc43ba0983437889051eebf7551cd7d9e8739f45d204815a") == 0);
    wire_signer_free(signer);
}

static void frames_for(const char *signature, const char *header, struct wire_bytes out[7])
{
    out[0] = bytes("client-id");
    out[1] = bytes(WIRE_DELIMITER);
    out[2] = bytes(signature);
    out[3] = bytes(header);
    out[4] = bytes("{}");
    out[5] = bytes("{}");
    out[6] = bytes("{\"code\":\"1\"}");
}

static void test_decode_checks_signature(void)
{
    const char *header = "{\"msg_id\":\"m1\",\"msg_type\":\"execute_request\",\"session\":\"s\",\"username\":\"u\",\"version\":\"5.3\"}";
    struct wire_signer *signer = wire_signer_new("key", 3);
    struct wire_bytes frames[7];
    frames_for("", header, frames);
    char good[65], err[256];
    CHECK(wire_sign(signer, &frames[3], good) == 0);
    frames[2] = bytes(good);
    struct message *msg = NULL;
    CHECK(wire_decode(signer, frames, 7, &msg, err, sizeof err) == 0);
    CHECK(msg != NULL && strcmp(message_type(msg), "execute_request") == 0);
    CHECK(msg != NULL && msg->identity_count == 1 && memcmp(msg->identities[0].data, "client-id", 9) == 0);
    message_free(msg);

    char bad[65];
    memcpy(bad, good, 65);
    bad[10] = bad[10] == 'a' ? 'b' : 'a';
    frames[2] = bytes(bad);
    msg = NULL;
    CHECK(wire_decode(signer, frames, 7, &msg, err, sizeof err) < 0 && msg == NULL);
    CHECK(strstr(err, "does not match") != NULL);

    frames[2] = bytes("");
    CHECK(wire_decode(signer, frames, 7, &msg, err, sizeof err) < 0);
    frames[2] = bytes("abc");
    CHECK(wire_decode(signer, frames, 7, &msg, err, sizeof err) < 0);
    CHECK(strstr(err, "expected 64") != NULL);

    /* The body changed after signing: the signature must not verify. */
    frames[2] = bytes(good);
    frames[6] = bytes("{\"code\":\"2\"}");
    CHECK(wire_decode(signer, frames, 7, &msg, err, sizeof err) < 0);
    wire_signer_free(signer);
}

static void test_decode_rejects_malformed(void)
{
    struct wire_signer *unsigned_signer = wire_signer_new("", 0);
    struct wire_bytes frames[7];
    char err[256];
    struct message *msg = NULL;
    frames_for("", "{\"msg_id\":\"m\",\"msg_type\":\"kernel_info_request\"}", frames);
    CHECK(wire_decode(unsigned_signer, frames, 7, &msg, err, sizeof err) == 0); /* empty key: unsigned */
    message_free(msg);
    CHECK(wire_decode(unsigned_signer, frames, 5, &msg, err, sizeof err) < 0); /* too few frames */
    frames[1] = bytes("<IDS|MSX>");
    CHECK(wire_decode(unsigned_signer, frames, 7, &msg, err, sizeof err) < 0);
    CHECK(strstr(err, "delimiter") != NULL);
    frames_for("", "{not json", frames);
    CHECK(wire_decode(unsigned_signer, frames, 7, &msg, err, sizeof err) < 0);
    frames_for("", "[1,2]", frames);
    CHECK(wire_decode(unsigned_signer, frames, 7, &msg, err, sizeof err) < 0);
    frames_for("", "{\"msg_id\":\"m\"}", frames);
    CHECK(wire_decode(unsigned_signer, frames, 7, &msg, err, sizeof err) < 0); /* no msg_type */
    wire_signer_free(unsigned_signer);
}

static void test_round_trip_over_zeromq(void)
{
    void *context = zmq_ctx_new();
    void *server = zmq_socket(context, ZMQ_ROUTER);
    void *client = zmq_socket(context, ZMQ_DEALER);
    CHECK(zmq_bind(server, "inproc://wire-test") == 0);
    CHECK(zmq_connect(client, "inproc://wire-test") == 0);
    struct wire_signer *signer = wire_signer_new("k3y", 3);
    struct message_session session;
    message_session_init(&session);
    struct message *request = message_new(&session, "kernel_info_request", NULL, json_pack("{s:s}", "x", "é"));
    CHECK(wire_send(client, signer, request, NULL) == 0);
    struct message *received = NULL;
    char err[256];
    int rc = 0;
    for (int tries = 0; tries < 1000 && rc == 0; tries++)
        rc = wire_recv(server, signer, &received, err, sizeof err);
    CHECK(rc == 1);
    CHECK(received != NULL && received->identity_count == 1);
    CHECK(received != NULL && strcmp(json_string_value(json_object_get(received->content, "x")), "é") == 0);
    struct message *reply = received ? message_new_reply(&session, received, "kernel_info_reply", NULL) : NULL;
    CHECK(reply != NULL && json_equal(reply->parent_header, request->header));
    const char *date = json_string_value(json_object_get(request->header, "date"));
    CHECK(date != NULL && strlen(date) == 27 && date[26] == 'Z');
    CHECK(strcmp(json_string_value(json_object_get(request->header, "msg_id")),
                 json_string_value(json_object_get(reply->header, "msg_id"))) != 0);
    message_free(reply);
    message_free(received);
    message_free(request);
    wire_signer_free(signer);
    zmq_close(client);
    zmq_close(server);
    zmq_ctx_term(context);
}

int main(void)
{
    test_known_signature();
    test_decode_checks_signature();
    test_decode_rejects_malformed();
    test_round_trip_over_zeromq();
    return check_report();
}
