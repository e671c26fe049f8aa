"""FaaSET's HTTP entry point for container images (OpenFaaS): the image's
Entrypoint runs ``python3 /function/faaset_http.py``, which serves HTTP on
``$PORT`` (8080 by default), as OpenFaaS's of-watchdog "http" mode expects
of the process it starts: the gateway proxies ``/function/NAME`` to it.

* ``POST`` (any path) with a JSON body calls
  ``faaset_handler.handle(request, context)`` and answers 200 with the
  result as JSON. An exception (or a result JSON cannot hold) answers 500
  with ``{"errorType", "errorMessage", "stackTrace"}``, as Lambda reports a
  function's error, and the traceback is printed to stderr (the container's
  log; both streams are flushed after each call). A body that is not JSON answers 400.
* ``GET /_/health`` answers 200: readiness.

The context is like Lambda's: ``function_name`` (the user function's),
``function_version`` ``$LATEST``, ``request_id`` / ``aws_request_id``
(the gateway's ``X-Call-Id``). Calls are served on threads, as the
watchdog passes calls at once.
"""
import http.server
import json
import os
import sys
import traceback

import faaset_handler

HEALTH_PATH = "/_/health"


class Context:
    """What a function learns about its call, shaped like Lambda's context."""

    def __init__(self, call_id):
        self.function_name = faaset_handler.FAASET_USER_FUNCTION
        self.function_version = "$LATEST"
        self.request_id = self.aws_request_id = call_id


def error_body(error):
    return {"errorType": type(error).__name__, "errorMessage": str(error),
            "stackTrace": traceback.format_exception(type(error), error, error.__traceback__)}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?")[0] == HEALTH_PATH:
            self.answer(200, {"status": "ok"})
        else:
            self.answer(405, {"errorType": "MethodNotAllowed", "errorMessage": "call the function with POST"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length) if length else b""
        try:
            request = json.loads(data) if data.strip() else {}
        except ValueError:
            self.answer(400, {"errorType": "InvalidPayload", "errorMessage": "the request body is not JSON"})
            return
        try:
            result = faaset_handler.handle(request, Context(self.headers.get("X-Call-Id") or ""))
            self.answer(200, json.loads(json.dumps(result)))
        except Exception as error:  # the function's own error, reported as Lambda reports it
            traceback.print_exc()
            self.answer(500, error_body(error))
        finally:  # what the call printed reaches the container's log now
            sys.stdout.flush()
            sys.stderr.flush()


def main():
    server = http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT") or 8080)), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
