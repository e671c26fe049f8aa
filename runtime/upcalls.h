/* upcalls: the runtime's requests to the kernel (runtime/PROTOCOL.md,
 * upcalls), one table for both front ends. Python code that calls a cloud
 * function, defines one (`%%cloud_function`, the decorator) or runs an
 * experiment (`run_experiment`) sends a frame {"type": "define" |
 * "invoke" | "experiment", "call": N, ...} and blocks until the frame
 * {"type": "<type>_result", "call": N, ...} comes back. define and invoke
 * go to cloud.c; experiment goes to the front end, which shows it (the
 * notebook's displays, or lines on a terminal). An upcall of a type the
 * table does not know, or without a call number it could be answered by,
 * is answered with an error (or logged), never left waiting. An answer
 * that arrives after the runtime was restarted is dropped. */
#ifndef FAASET_UPCALLS_H
#define FAASET_UPCALLS_H

#include <jansson.h>

#include "cloud.h"
#include "pyhost.h"

struct upcalls {
    struct cloud *cloud;
    struct pyhost *runtime;
    /* run_experiment(): REPLY gets {"status": "ok", "folder", "summary",
     * "interrupted"} or the error fields. */
    void (*experiment)(void *ctx, const json_t *upcall, cloud_reply_fn reply, void *reply_ctx);
    void *experiment_ctx;
};

/* 1 when a runtime FRAME is an upcall: a known upcall type, or any frame
 * carrying a call number. */
int upcalls_is_upcall(const char *type, const json_t *frame);

/* Routes the upcall FRAME of TYPE; its answer is sent to the runtime. */
void upcalls_handle(const struct upcalls *upcalls, const char *type, const json_t *frame);

#endif
