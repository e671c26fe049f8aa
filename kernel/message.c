/* message: construction and destruction of messages (see message.h).
 * Msg ids are "<session>_<pid>_<counter>", the scheme jupyter_client uses:
 * unique without a random number per message. */
#include "message.h"
#include "clock.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

void message_session_init(struct message_session *session)
{
    uuid_t uuid;
    uuid_generate_random(uuid);
    uuid_unparse_lower(uuid, session->id);
    const char *user = getenv("USER");
    if (user == NULL) {
        struct passwd *pw = getpwuid(getuid());
        user = pw ? pw->pw_name : "faaset";
    }
    snprintf(session->username, sizeof session->username, "%s", user);
    session->counter = 0;
}

struct message *message_new(struct message_session *session, const char *msg_type,
                            const json_t *parent_header, json_t *content)
{
    struct message *msg = calloc(1, sizeof *msg);
    if (msg == NULL) {
        json_decref(content);
        return NULL;
    }
    char msg_id[96], date[32];
    snprintf(msg_id, sizeof msg_id, "%s_%ld_%llu", session->id, (long)getpid(), ++session->counter);
    clock_iso8601_now(date);
    msg->header = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "msg_id", msg_id, "session", session->id,
                            "username", session->username, "date", date, "msg_type", msg_type,
                            "version", MESSAGE_PROTOCOL_VERSION);
    msg->parent_header = parent_header ? json_deep_copy(parent_header) : json_object();
    msg->metadata = json_object();
    msg->content = content ? content : json_object();
    if (msg->header == NULL || msg->parent_header == NULL || msg->metadata == NULL || msg->content == NULL) {
        message_free(msg);
        return NULL;
    }
    return msg;
}

int message_add_identity(struct message *msg, const void *data, size_t size)
{
    struct message_identity *grown = realloc(msg->identities, (msg->identity_count + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    msg->identities = grown;
    unsigned char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, data, size);
    msg->identities[msg->identity_count].data = copy;
    msg->identities[msg->identity_count].size = size;
    msg->identity_count++;
    return 0;
}

int message_copy_identities(struct message *msg, const struct message *request)
{
    for (size_t i = 0; i < request->identity_count; i++)
        if (message_add_identity(msg, request->identities[i].data, request->identities[i].size) < 0)
            return -1;
    return 0;
}

struct message *message_new_reply(struct message_session *session, const struct message *request,
                                  const char *msg_type, json_t *content)
{
    struct message *reply = message_new(session, msg_type, request->header, content);
    if (reply == NULL)
        return NULL;
    if (message_copy_identities(reply, request) < 0) {
        message_free(reply);
        return NULL;
    }
    return reply;
}

void message_free(struct message *msg)
{
    if (msg == NULL)
        return;
    for (size_t i = 0; i < msg->identity_count; i++)
        free(msg->identities[i].data);
    free(msg->identities);
    json_decref(msg->header);
    json_decref(msg->parent_header);
    json_decref(msg->metadata);
    json_decref(msg->content);
    free(msg);
}

const char *message_type(const struct message *msg)
{
    const char *type = json_string_value(json_object_get(msg->header, "msg_type"));
    return type ? type : "";
}
