/* comms: Jupyter comms (widgets) between the frontend and the Python
 * runtime, which holds the comm targets and the open comms
 * (runtime/python/faaset_comms.py).
 *
 * A frontend's comm_open, comm_msg and comm_close, and comm_info_request,
 * are requests the runtime answers (bridge.c's table): this module turns
 * each into its runtime request, checking it first (a message without a
 * comm_id string is refused with a log line, never sent on), and the
 * runtime's answer to comm_info into comm_info_reply. comm messages have
 * no reply on shell; as ipykernel, output of their callbacks goes under
 * them (requests.c). The runtime's own comm_open / comm_msg / comm_close
 * events are published on IOPub with their metadata. */
#ifndef FAASET_COMMS_H
#define FAASET_COMMS_H

#include <jansson.h>
#include <stddef.h>

#include "message.h"
#include "requests.h"

/* 1 for comm_open, comm_msg and comm_close. */
int comms_is_comm_message(const char *msg_type);

/* The runtime request for MSG (a comm message or comm_info_request), or
 * NULL with ERR when its content is unusable. */
json_t *comms_request_for(const struct message *msg, char *err, size_t err_size);

/* comm_info_reply's content from the runtime's reply FRAME; with FRAME
 * NULL (no runtime) the reply lists no comms. */
json_t *comms_info_reply(const json_t *frame, const struct message *request);

/* 1 if FRAME (of TYPE) from the runtime is a comm event; it is published
 * under PARENT. */
int comms_is_event(const char *type);
void comms_publish_event(struct requests *requests, const json_t *parent, const char *type, const json_t *frame);

#endif
