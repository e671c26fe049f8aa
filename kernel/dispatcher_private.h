/* dispatcher_private: the dispatcher's state, shared by dispatcher.c (the
 * request queue and the requests the kernel answers itself) and bridge.c
 * (the requests that run on the local Python runtime). Not for other modules. */
#ifndef FAASET_DISPATCHER_PRIVATE_H
#define FAASET_DISPATCHER_PRIVATE_H

#include "dispatcher.h"
#include "cloud.h"
#include "history.h"
#include "reactor.h"
#include "stream.h"

enum runtime_state {
    RUNTIME_STARTING,  /* process started, waiting for its hello */
    RUNTIME_READY,     /* idle, can take a request */
    RUNTIME_BUSY,      /* working on `current` */
    RUNTIME_DOWN,      /* not running; the next request tries to start it */
};

struct queued_message {
    struct message *msg;
    struct queued_message *next;
};

struct dispatcher {
    struct dispatcher_io io;
    char *python;
    char *interrupt_mode;
    struct message_session session;
    struct history *history;
    int execution_count;
    int finished;
    int processing_queue;          /* guards dispatcher_process_queue against re-entry */

    struct queued_message *queue_head, *queue_tail;

    struct reactor *reactor;       /* fds and timers of the platforms */
    struct cloud *cloud;           /* cloud functions: define, invoke, %platform */

    /* The local runtime. */
    struct pyhost *runtime;
    enum runtime_state runtime_state;
    long long runtime_started_ms;
    char runtime_error[1024];      /* why it is down, for the next cell */
    int runtime_start_blocked;     /* it died while starting: wait for the next execute to retry */
    char python_version[32];
    long long request_id;
    unsigned runtime_epoch;        /* bumped at each start: upcall results for an older runtime are dropped */
    struct message *current;       /* the shell request the runtime is working on */
    int awaiting_input;            /* an input_request is out on stdin */
    int kernel_call_pending;       /* `current` waits for the kernel's own work (%invoke), not the runtime */
    struct experiments_run *experiment; /* the experiment `current` runs, if any (experiments.c) */
    json_t *output_parent;         /* header that output is published under */
    char *result_text;             /* text/plain of the cell's result, for history */
    struct stream_buffer *streams;
};

/* dispatcher.c */
void dispatcher_publish(struct dispatcher *d, const char *msg_type, const json_t *parent, json_t *content);
void dispatcher_reply(struct dispatcher *d, enum connection_channel channel, const struct message *request,
                      const char *reply_type, json_t *content);
void dispatcher_status(struct dispatcher *d, const json_t *parent, const char *state);
void dispatcher_process_queue(struct dispatcher *d);

/* bridge.c */
int bridge_needs_runtime(const char *msg_type);
void bridge_start_runtime(struct dispatcher *d);
void bridge_begin(struct dispatcher *d, struct message *request);
void bridge_on_frames(struct dispatcher *d);
void bridge_on_output(struct dispatcher *d, enum pyhost_stream stream);
void bridge_on_input_reply(struct dispatcher *d, const struct message *reply);
void bridge_interrupt(struct dispatcher *d);
int bridge_tick(struct dispatcher *d);
void bridge_stream_publish(void *ctx, const char *name, const char *text, size_t length);
/* Ends the current execute_request with the reply built from FRAME
 * ({status, payload} or {status: error, ename, evalue, traceback}). */
void bridge_finish_execute(struct dispatcher *d, json_t *frame);
/* Fails the current request: an error output (for execute) and the reply. */
void bridge_fail(struct dispatcher *d, const char *ename, const char *evalue);

#endif
