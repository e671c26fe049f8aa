"""FaaSET's handler shim: the entry points every deployment package exposes.

The packager writes a package's ``faaset_handler.py`` as one line
``FAASET_USER_FUNCTION = "NAME"`` followed by this file, so this file never
defines that name itself (and must not hold a ``from __future__`` import,
which would then not be first). ``faaset_function.py`` beside it holds the
user's source; it is imported when this module is, so an error in it shows
when the worker (or the platform's runtime) starts, not at the first call.

Entry points, each calling the user's function by name and returning its
result unchanged (the shim adds nothing):

* ``handle(event, context)``: FaaSET's own (the local platform's workers);
* ``lambda_handler(event, context)``: AWS Lambda;
* ``main(args)``: OpenWhisk / IBM Cloud Functions (the package's
  ``__main__.py`` calls it), which pass only the parameters and need a dict
  back. The function gets the parameters less ``__faaset_env`` (the
  cell's ``env=``, which the kernel sends as that action parameter and the
  shim puts into ``os.environ``) and a context like Lambda's
  (``function_name``, ``function_version``, ``request_id``,
  ``aws_request_id`` from OpenWhisk's ``__OW_*`` variables, and ``get_remaining_time_in_millis()`` from
  ``__OW_DEADLINE``). A dict result is returned as is, anything else as
  ``{"faaset_value": value}`` (the kernel unwraps it). An exception is
  printed to the log and returned as ``{"error": {"errorType",
  "errorMessage", "stackTrace"}}``: OpenWhisk answers a result holding
  ``error`` as an application error (HTTP 502), and the kernel shows the
  function's own exception;
* ``gcf_handler(request)``: Google Cloud Functions (the package's
  ``main.py`` names it as the entry point). Google passes a Flask request:
  the function gets its JSON body (``request.get_json()``; the query's
  parameters when there is none) and a context like Lambda's
  (``function_name``, ``function_version``, ``request_id``,
  ``memory_limit_in_mb``) from Google's environment; its result goes back
  as JSON. An exception is printed to the log and answered with status
  500, the header ``X-FaaSET-Error: Unhandled`` and a body like Lambda's
  (``errorType``, ``errorMessage``, ``stackTrace``, and ``logTail``: the
  last 4 KB the call printed, since Google's answer carries no log the way
  Lambda's ``X-Amz-Log-Result`` does), so the caller shows the function's
  own error rather than Flask's error page. What the call prints still
  goes to the instance's stdout and stderr, i.e. to Cloud Logging.
* ``azure_handler(req, context)``: Azure Functions (the package's
  ``NAME/__init__.py``, the function folder beside ``NAME/function.json``,
  calls it). Azure passes an ``azure.functions.HttpRequest``: the function
  gets its JSON body (the query's parameters when there is none) and a
  context like Lambda's (``function_name``, ``request_id``,
  ``aws_request_id`` from Azure's context, ``memory_limit_in_mb`` from
  ``WEBSITE_MEMORY_LIMIT_MB``); the cell's ``env=`` are the app's settings,
  already in ``os.environ``. The result goes back as a JSON
  ``HttpResponse``; an exception as gcf's does (status 500,
  ``X-FaaSET-Error``, Lambda's body with ``logTail``).
"""
import json
import os
import sys
import time
import traceback

import faaset_function

if not callable(getattr(faaset_function, FAASET_USER_FUNCTION, None)):  # noqa: F821 (prepended)
    raise AttributeError("faaset_function.py defines no function %r" % FAASET_USER_FUNCTION)  # noqa: F821


def handle(event, context):
    return getattr(faaset_function, FAASET_USER_FUNCTION)(event, context)  # noqa: F821


def lambda_handler(event, context):
    return getattr(faaset_function, FAASET_USER_FUNCTION)(event, context)  # noqa: F821


class _OpenWhiskContext:
    """What a handler written for Lambda reads from its context, from OpenWhisk's environment."""

    def __init__(self):
        env = os.environ
        self.function_name = (env.get("__OW_ACTION_NAME") or "").rsplit("/", 1)[-1] or None
        self.function_version = env.get("__OW_ACTION_VERSION")
        self.request_id = self.aws_request_id = env.get("__OW_ACTIVATION_ID")
        self.memory_limit_in_mb = None  # OpenWhisk does not tell an action its memory limit

    @staticmethod
    def get_remaining_time_in_millis():
        deadline = os.environ.get("__OW_DEADLINE", "")
        return max(0, int(deadline) - int(time.time() * 1000)) if deadline.isdigit() else None


def main(args):
    env = args.pop("__faaset_env", None) if isinstance(args, dict) else None
    if isinstance(env, dict):
        os.environ.update({str(key): str(value) for key, value in env.items()})
    try:
        result = getattr(faaset_function, FAASET_USER_FUNCTION)(args, _OpenWhiskContext())  # noqa: F821
    except Exception as error:  # noqa: BLE001 - any exception is the function's own error, shown to the caller
        traceback.print_exc(file=sys.stderr)
        return {"error": {"errorType": type(error).__name__, "errorMessage": str(error),
                          "stackTrace": traceback.format_tb(error.__traceback__)}}
    return result if isinstance(result, dict) else {"faaset_value": result}


class _GoogleContext:
    """What a handler written for Lambda reads from its context, from Cloud Functions' environment."""

    def __init__(self, request):
        env = os.environ
        self.function_name = env.get("K_SERVICE") or env.get("X_GOOGLE_FUNCTION_NAME") or env.get("FUNCTION_TARGET")
        self.function_version = env.get("K_REVISION") or env.get("X_GOOGLE_FUNCTION_VERSION")
        self.request_id = request.headers.get("Function-Execution-Id") or \
            (request.headers.get("X-Cloud-Trace-Context") or "").split("/")[0] or None
        self.aws_request_id = self.request_id
        memory = env.get("FUNCTION_MEMORY_MB") or env.get("X_GOOGLE_FUNCTION_MEMORY_MB")
        self.memory_limit_in_mb = int(memory) if memory and memory.isdigit() else None


class _LogTail:
    """Writes through to STREAM and keeps the last LIMIT characters written (one call at a time)."""

    LIMIT = 4096

    def __init__(self, stream, kept):
        self._stream, self._kept = stream, kept

    def write(self, text):
        self._kept.append(text)
        if sum(len(part) for part in self._kept) > 2 * self.LIMIT:
            self._kept[:] = ["".join(self._kept)[-self.LIMIT:]]
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _call_keeping_tail(event, context):
    """Calls the user's function; (True, result), or (False, Lambda's error body with the call's log tail)."""
    kept, streams = [], (sys.stdout, sys.stderr)
    sys.stdout, sys.stderr = _LogTail(streams[0], kept), _LogTail(streams[1], kept)
    try:
        return True, getattr(faaset_function, FAASET_USER_FUNCTION)(event, context)  # noqa: F821
    except Exception as error:  # noqa: BLE001 - any exception is the function's own error, shown to the caller
        traceback.print_exc(file=streams[1])  # to the log, not into the tail: the caller gets it as stackTrace
        return False, {"errorType": type(error).__name__, "errorMessage": str(error),
                       "stackTrace": traceback.format_tb(error.__traceback__),
                       "logTail": "".join(kept)[-_LogTail.LIMIT:]}
    finally:
        sys.stdout, sys.stderr = streams


def gcf_handler(request):
    event = request.get_json(silent=True)
    if event is None:
        event = request.args.to_dict()
    ok, value = _call_keeping_tail(event, _GoogleContext(request))
    if not ok:
        return json.dumps(value), 500, {"Content-Type": "application/json", "X-FaaSET-Error": "Unhandled"}
    return json.dumps(value, default=str), 200, {"Content-Type": "application/json"}


class _AzureContext:
    """What a handler written for Lambda reads from its context, from Azure Functions' context and environment."""

    def __init__(self, context):
        env = os.environ
        self.function_name = getattr(context, "function_name", None)
        self.function_version = env.get("WEBSITE_SITE_NAME")
        self.request_id = self.aws_request_id = getattr(context, "invocation_id", None)
        memory = env.get("WEBSITE_MEMORY_LIMIT_MB", "")
        self.memory_limit_in_mb = int(memory) if memory.isdigit() else None


def azure_handler(req, context=None):
    import azure.functions as func  # the Functions host's own module, there only when Azure runs this

    try:
        event = req.get_json()
    except ValueError:
        event = dict(req.params)
    ok, value = _call_keeping_tail(event, _AzureContext(context))
    if not ok:
        return func.HttpResponse(json.dumps(value), status_code=500, mimetype="application/json",
                                 headers={"X-FaaSET-Error": "Unhandled"})
    return func.HttpResponse(json.dumps(value, default=str), status_code=200, mimetype="application/json")
