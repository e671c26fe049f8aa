/* wire: frame codec, HMAC-SHA256 signing and constant-time verification,
 * and multipart send/receive on ZeroMQ (see wire.h).
 *
 * The HMAC and the constant-time comparison come from libsodium, which
 * libzmq already loads: OpenSSL 3's provider start-up alone would cost
 * about 3.5 MB of resident memory, a third of the kernel's 10 MB budget. */
#include "wire.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define WIRE_MAX_FRAMES 64

struct wire_signer {
    unsigned char *key;
    size_t key_len;
};

struct wire_signer *wire_signer_new(const char *key, size_t key_len)
{
    if (sodium_init() < 0)
        return NULL;
    struct wire_signer *signer = calloc(1, sizeof *signer);
    if (signer == NULL)
        return NULL;
    signer->key_len = key_len;
    if (key_len > 0) {
        signer->key = malloc(key_len);
        if (signer->key == NULL) {
            free(signer);
            return NULL;
        }
        memcpy(signer->key, key, key_len);
    }
    return signer;
}

void wire_signer_free(struct wire_signer *signer)
{
    if (signer == NULL)
        return;
    if (signer->key != NULL) {
        sodium_memzero(signer->key, signer->key_len);
        free(signer->key);
    }
    free(signer);
}

static void wire_hmac(const struct wire_signer *signer, const struct wire_bytes parts[4],
                      unsigned char digest[crypto_auth_hmacsha256_BYTES])
{
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, signer->key, signer->key_len);
    for (int i = 0; i < 4; i++)
        crypto_auth_hmacsha256_update(&state, parts[i].data, parts[i].size);
    crypto_auth_hmacsha256_final(&state, digest);
    sodium_memzero(&state, sizeof state);
}

int wire_sign(const struct wire_signer *signer, const struct wire_bytes parts[4], char out[65])
{
    out[0] = '\0';
    if (signer->key_len == 0)
        return 0;
    unsigned char digest[crypto_auth_hmacsha256_BYTES];
    wire_hmac(signer, parts, digest);
    sodium_bin2hex(out, 65, digest, sizeof digest);
    return 0;
}

static int wire_verify(const struct wire_signer *signer, const struct wire_bytes parts[4],
                       const struct wire_bytes *signature, char *err, size_t err_size)
{
    if (signer->key_len == 0)
        return 0;
    if (signature->size != WIRE_SIGNATURE_HEX_LEN) {
        snprintf(err, err_size, "signature has %zu bytes, expected %d", signature->size, WIRE_SIGNATURE_HEX_LEN);
        return -1;
    }
    char expected[65];
    if (wire_sign(signer, parts, expected) < 0) {
        snprintf(err, err_size, "cannot compute HMAC");
        return -1;
    }
    if (sodium_memcmp(expected, signature->data, WIRE_SIGNATURE_HEX_LEN) != 0) {
        snprintf(err, err_size, "signature does not match");
        return -1;
    }
    return 0;
}

static json_t *wire_parse_dict(const struct wire_bytes *part, const char *what, char *err, size_t err_size)
{
    json_error_t json_err;
    json_t *value = json_loadb(part->data, part->size, JSON_ALLOW_NUL, &json_err);
    if (value == NULL) {
        snprintf(err, err_size, "%s is not valid JSON: %s", what, json_err.text);
        return NULL;
    }
    if (!json_is_object(value)) {
        snprintf(err, err_size, "%s is not a JSON object", what);
        json_decref(value);
        return NULL;
    }
    return value;
}

int wire_decode(const struct wire_signer *signer, const struct wire_bytes *frames, size_t frame_count,
                struct message **out, char *err, size_t err_size)
{
    static const char *const names[4] = {"header", "parent_header", "metadata", "content"};
    size_t delimiter = 0;
    while (delimiter < frame_count &&
           !(frames[delimiter].size == strlen(WIRE_DELIMITER) &&
             memcmp(frames[delimiter].data, WIRE_DELIMITER, frames[delimiter].size) == 0))
        delimiter++;
    if (delimiter == frame_count) {
        snprintf(err, err_size, "no <IDS|MSG> delimiter among %zu frames", frame_count);
        return -1;
    }
    if (frame_count - delimiter < 6) {
        snprintf(err, err_size, "message has %zu frames after the delimiter, expected at least 5",
                 frame_count - delimiter - 1);
        return -1;
    }
    const struct wire_bytes *parts = &frames[delimiter + 2];
    if (wire_verify(signer, parts, &frames[delimiter + 1], err, err_size) < 0)
        return -1;

    struct message *msg = calloc(1, sizeof *msg);
    for (size_t i = 0; msg != NULL && i < delimiter; i++)
        if (message_add_identity(msg, frames[i].data, frames[i].size) < 0) {
            message_free(msg);
            msg = NULL;
        }
    if (msg == NULL) {
        snprintf(err, err_size, "out of memory");
        message_free(msg);
        return -1;
    }
    json_t **slots[4] = {&msg->header, &msg->parent_header, &msg->metadata, &msg->content};
    for (int i = 0; i < 4; i++) {
        *slots[i] = wire_parse_dict(&parts[i], names[i], err, err_size);
        if (*slots[i] == NULL) {
            message_free(msg);
            return -1;
        }
    }
    if (!json_is_string(json_object_get(msg->header, "msg_type")) ||
        !json_is_string(json_object_get(msg->header, "msg_id"))) {
        snprintf(err, err_size, "header lacks a string msg_type or msg_id");
        message_free(msg);
        return -1;
    }
    *out = msg;
    return 0;
}

int wire_recv(void *socket, const struct wire_signer *signer, struct message **out, char *err, size_t err_size)
{
    zmq_msg_t parts[WIRE_MAX_FRAMES];
    struct wire_bytes frames[WIRE_MAX_FRAMES];
    size_t count = 0;
    int more = 1, truncated = 0, rc = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, socket, count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&part);
            if (count == 0 && errno == EAGAIN)
                return 0;
            snprintf(err, err_size, "receive failed: %s", zmq_strerror(errno));
            rc = -1;
            break;
        }
        more = zmq_msg_more(&part);
        if (count < WIRE_MAX_FRAMES) {
            parts[count] = part;
            frames[count].data = zmq_msg_data(&parts[count]);
            frames[count].size = zmq_msg_size(&parts[count]);
            count++;
        } else {
            truncated = 1;
            zmq_msg_close(&part);
        }
    }
    if (rc == 1 && truncated) {
        snprintf(err, err_size, "message has more than %d frames", WIRE_MAX_FRAMES);
        rc = -1;
    }
    if (rc == 1 && wire_decode(signer, frames, count, out, err, err_size) < 0)
        rc = -1;
    for (size_t i = 0; i < count; i++)
        zmq_msg_close(&parts[i]);
    return rc;
}

static int wire_send_frame(void *socket, const void *data, size_t size, int more)
{
    return zmq_send(socket, data, size, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

int wire_send(void *socket, const struct wire_signer *signer, const struct message *msg, const char *topic)
{
    json_t *dicts[4] = {msg->header, msg->parent_header, msg->metadata, msg->content};
    char *text[4] = {NULL, NULL, NULL, NULL};
    struct wire_bytes parts[4];
    int rc = -1;
    for (int i = 0; i < 4; i++) {
        text[i] = json_dumps(dicts[i], JSON_COMPACT | JSON_ENSURE_ASCII);
        if (text[i] == NULL)
            goto done;
        parts[i].data = text[i];
        parts[i].size = strlen(text[i]);
    }
    char signature[65];
    if (wire_sign(signer, parts, signature) < 0)
        goto done;
    if (topic != NULL) {
        if (wire_send_frame(socket, topic, strlen(topic), 1) < 0)
            goto done;
    } else {
        for (size_t i = 0; i < msg->identity_count; i++)
            if (wire_send_frame(socket, msg->identities[i].data, msg->identities[i].size, 1) < 0)
                goto done;
    }
    if (wire_send_frame(socket, WIRE_DELIMITER, strlen(WIRE_DELIMITER), 1) < 0 ||
        wire_send_frame(socket, signature, strlen(signature), 1) < 0)
        goto done;
    for (int i = 0; i < 4; i++)
        if (wire_send_frame(socket, parts[i].data, parts[i].size, i < 3) < 0)
            goto done;
    rc = 0;
done:
    for (int i = 0; i < 4; i++)
        free(text[i]);
    return rc;
}
