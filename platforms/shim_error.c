/* shim_error: the shim's error answer as a platform outcome (see
 * shim_error.h). Only strings are taken from the stack trace: a body that
 * is not the shim's still gives an outcome, with what it has. */
#include "shim_error.h"

void shim_error_outcome(const json_t *body, unsigned flags, struct platform_outcome *outcome, json_t **traceback)
{
    const char *type = json_string_value(json_object_get(body, "errorType"));
    const char *message = json_string_value(json_object_get(body, "errorMessage"));
    *traceback = json_array();
    size_t i;
    json_t *line;
    json_array_foreach(json_object_get(body, "stackTrace"), i, line)
        if (json_is_string(line))
            json_array_append(*traceback, line);
    outcome->error_type = type ? type : "Unhandled";
    outcome->message = message ? message : "";
    outcome->traceback = *traceback;
    if (flags & PLATFORM_INVOKE_LOG)
        outcome->log = json_string_value(json_object_get(body, "logTail"));
}
