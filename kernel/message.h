/* message: a Jupyter message in memory (routing identities, header, parent
 * header, metadata, content) and the session that stamps new ones with a
 * stable session id, unique msg ids, the username and ISO 8601 dates. */
#ifndef FAASET_MESSAGE_H
#define FAASET_MESSAGE_H

#include <jansson.h>
#include <stddef.h>

#define MESSAGE_PROTOCOL_VERSION "5.3"

struct message_identity {
    unsigned char *data;
    size_t size;
};

struct message {
    struct message_identity *identities;  /* routing ids of the sender (ROUTER sockets) */
    size_t identity_count;
    json_t *header;
    json_t *parent_header;
    json_t *metadata;
    json_t *content;
};

struct message_session {
    char id[37];                 /* uuid, one per kernel process */
    char username[64];
    unsigned long long counter;  /* makes msg ids unique within the session */
};

void message_session_init(struct message_session *session);

/* A new message of MSG_TYPE whose parent is PARENT_HEADER (NULL for none).
 * CONTENT is stolen (NULL means {}). Returns NULL only when out of memory. */
struct message *message_new(struct message_session *session, const char *msg_type,
                            const json_t *parent_header, json_t *content);

/* A reply to REQUEST: same routing identities, parent = REQUEST's header. */
struct message *message_new_reply(struct message_session *session, const struct message *request,
                                  const char *msg_type, json_t *content);

/* Appends a copy of one routing identity to MSG. Returns 0 or -1. */
int message_add_identity(struct message *msg, const void *data, size_t size);

/* Copies REQUEST's routing identities onto MSG (used for stdin requests). */
int message_copy_identities(struct message *msg, const struct message *request);

void message_free(struct message *msg);

/* header.msg_type, or "" when absent. */
const char *message_type(const struct message *msg);

#endif
