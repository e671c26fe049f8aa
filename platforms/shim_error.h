/* shim_error: a function's own exception as the handler shim answers it
 * over HTTP (runtime/python/faaset_handler.py: gcf_handler and
 * azure_handler answer status 500 with the header X-FaaSET-Error and
 * Lambda's body {"errorType", "errorMessage", "stackTrace", "logTail"}),
 * made into a platform outcome, so every adapter whose functions answer
 * that way shows the function's exception, its stack trace and what the
 * call printed the same way. */
#ifndef FAASET_SHIM_ERROR_H
#define FAASET_SHIM_ERROR_H

#include <jansson.h>

#include "platform.h"

/* The header that marks the shim's error answer. */
#define SHIM_ERROR_HEADER "X-FaaSET-Error"

/* Fills OUTCOME's error_type ("Unhandled" when the body has none),
 * message, traceback (the stackTrace's strings, a new array in
 * *TRACEBACK for the caller to release) and, with PLATFORM_INVOKE_LOG in
 * FLAGS, log (the logTail) from BODY. BODY may be NULL or not an object;
 * OUTCOME's strings point into BODY and live as long as it. */
void shim_error_outcome(const json_t *body, unsigned flags, struct platform_outcome *outcome, json_t **traceback);

#endif
