/* comms: the kernel's side of Jupyter comms (see comms.h). */
#include "comms.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

static const char *const comms_message_types[] = {"comm_open", "comm_msg", "comm_close"};

int comms_is_comm_message(const char *msg_type)
{
    for (size_t i = 0; i < sizeof comms_message_types / sizeof comms_message_types[0]; i++)
        if (strcmp(msg_type, comms_message_types[i]) == 0)
            return 1;
    return 0;
}

int comms_is_event(const char *type)
{
    return comms_is_comm_message(type);
}

/* {type: comm_info, target_name?}: the target filter is kept only when it is a string. */
static json_t *comms_info_request(const struct message *msg)
{
    json_t *request = json_pack("{s:s}", "type", "comm_info");
    json_t *target = json_object_get(msg->content, "target_name");
    if (request != NULL && json_is_string(target))
        json_object_set(request, "target_name", target);
    return request;
}

json_t *comms_request_for(const struct message *msg, char *err, size_t err_size)
{
    const char *msg_type = message_type(msg);
    if (strcmp(msg_type, "comm_info_request") == 0) {
        json_t *request = comms_info_request(msg);
        if (request == NULL)
            snprintf(err, err_size, "out of memory building the runtime request for a comm_info_request");
        return request;
    }
    const json_t *content = msg->content;
    json_t *comm_id = json_object_get(content, "comm_id");
    if (!json_is_string(comm_id) || json_string_length(comm_id) == 0) {
        snprintf(err, err_size, "%s without a \"comm_id\" string", msg_type);
        return NULL;
    }
    json_t *target = json_object_get(content, "target_name");
    if (strcmp(msg_type, "comm_open") == 0 && !json_is_string(target)) {
        snprintf(err, err_size, "comm_open %s without a \"target_name\" string", json_string_value(comm_id));
        return NULL;
    }
    json_t *data = json_object_get(content, "data");
    if (data != NULL && !json_is_object(data) && !json_is_null(data)) {
        snprintf(err, err_size, "%s %s: \"data\" must be an object", msg_type, json_string_value(comm_id));
        return NULL;
    }
    json_t *request = json_pack("{s:s, s:s, s:{s:O, s:O, s:O, s:O}}", "type", "comm", "msg_type", msg_type, "msg",
                                "header", msg->header, "parent_header", msg->parent_header, "metadata", msg->metadata,
                                "content", msg->content);
    if (request == NULL)
        snprintf(err, err_size, "out of memory building the runtime request for a %s", msg_type);
    return request;
}

json_t *comms_info_reply(const json_t *frame, const struct message *request)
{
    (void)request;
    json_t *comms = frame ? json_object_get(frame, "comms") : NULL;
    return json_pack("{s:s, s:o}", "status", "ok", "comms", json_is_object(comms) ? json_deep_copy(comms) : json_object());
}

void comms_publish_event(struct requests *requests, const json_t *parent, const char *type, const json_t *frame)
{
    json_t *content = json_object_get(frame, "content");
    const char *comm_id = json_string_value(json_object_get(content, "comm_id"));
    if (!json_is_object(content) || comm_id == NULL) {
        log_warn("ignoring a runtime %s without a content holding a comm_id", type);
        return;
    }
    struct message *msg = message_new(requests_session(requests), type, parent, json_deep_copy(content));
    if (msg == NULL) {
        log_error("out of memory building %s", type);
        return;
    }
    json_t *metadata = json_object_get(frame, "metadata");
    json_t *copy = json_is_object(metadata) ? json_deep_copy(metadata) : NULL;
    if (copy != NULL) {
        json_decref(msg->metadata);
        msg->metadata = copy;
    }
    requests_send(requests, CHANNEL_IOPUB, msg);
    message_free(msg);
}
