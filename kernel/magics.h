/* magics: the cell language on top of Python. A cell whose first line is
 * `%%cloud_function ...` becomes a `cloud_function` request to the runtime
 * (options split here, checked by cloud.c); `%%invoke NAME` + JSON body,
 * and a cell holding one line magic (`%invoke NAME JSON`, `%platform NAME
 * key=value...`, `%functions`, `%help`) are answered by the kernel itself.
 * A `%` or `%%` magic the kernel does not have is IPython's language: the
 * cell goes to the runtime as it is (with the kernel's magic names, for its
 * error about a magic neither has).
 * `?%%cloud_function`, `%help NAME` and friends open the pager. Completion
 * after `%` offers magic names, option keys and function names. Every
 * magic is one row of a table: its name, help, and handler. */
#ifndef FAASET_MAGICS_H
#define FAASET_MAGICS_H

#include <jansson.h>

#include "cloud.h"
#include "experiments.h"
#include "message.h"
#include "requests.h"

/* What the magics work with. */
struct magics_context {
    struct requests *requests;       /* the current cell: outputs, its end */
    struct cloud *cloud;
    struct experiments *experiments;
};

enum magics_outcome {
    MAGICS_NOT_MAGIC,        /* plain Python: send it to the runtime as it is */
    MAGICS_RUNTIME_REQUEST,  /* send *REQUEST to the runtime instead */
    MAGICS_HANDLED,          /* answered (now or later) by the kernel */
};

/* Looks at MSG, the current execute_request (busy and execute_input are
 * out). A magic the kernel answers ends the request (now or later). */
enum magics_outcome magics_execute(const struct magics_context *m, const struct message *msg, json_t **request);

/* The kernel's magics' names, as typed ("%%cloud_function", "%invoke", ...): a new array. */
json_t *magics_names(void);

/* Sends the complete_reply for a magic's options, arguments or
 * %%experiment keys: returns 1 if it did (the caller then finishes the
 * request), 0 when the runtime completes (Python, or a magic's name: the
 * caller sends magics_names() with the request). */
int magics_complete(const struct magics_context *m, const struct message *msg);

#endif
