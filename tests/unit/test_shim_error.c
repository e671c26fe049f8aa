/* Unit tests for shim_error: the shim's error body as an outcome (the
 * function's exception type and message, the stack trace's strings, the
 * log tail only when asked for), and a body that is not the shim's. */
#include <string.h>

#include "check.h"
#include "shim_error.h"

int main(void)
{
    json_t *body = json_loads("{\"errorType\": \"ValueError\", \"errorMessage\": \"asked to fail\", \"stackTrace\": "
                              "[\"  File \\\"f.py\\\", line 3\\n\", 7, \"    raise ValueError\\n\"], \"logTail\": "
                              "\"about to fail\\n\"}", 0, NULL);
    struct platform_outcome outcome = {0};
    json_t *traceback = NULL;
    shim_error_outcome(body, PLATFORM_INVOKE_LOG, &outcome, &traceback);
    CHECK(strcmp(outcome.error_type, "ValueError") == 0 && strcmp(outcome.message, "asked to fail") == 0);
    CHECK(json_array_size(traceback) == 2 && outcome.traceback == traceback); /* strings only */
    CHECK(strcmp(json_string_value(json_array_get(traceback, 1)), "    raise ValueError\n") == 0);
    CHECK(outcome.log != NULL && strcmp(outcome.log, "about to fail\n") == 0);
    json_decref(traceback);

    struct platform_outcome quiet = {0};
    shim_error_outcome(body, 0, &quiet, &traceback);
    CHECK(quiet.log == NULL); /* the log tail only with PLATFORM_INVOKE_LOG */
    json_decref(traceback);
    json_decref(body);

    struct platform_outcome other = {0};
    json_t *html = json_string("<html>bad gateway</html>");
    shim_error_outcome(html, PLATFORM_INVOKE_LOG, &other, &traceback);
    CHECK(strcmp(other.error_type, "Unhandled") == 0 && strcmp(other.message, "") == 0);
    CHECK(json_array_size(traceback) == 0 && other.log == NULL);
    json_decref(traceback);
    json_decref(html);
    shim_error_outcome(NULL, 0, &other, &traceback);
    CHECK(strcmp(other.error_type, "Unhandled") == 0 && json_array_size(traceback) == 0);
    json_decref(traceback);
    return check_report();
}
