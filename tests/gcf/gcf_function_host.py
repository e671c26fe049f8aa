"""One instance of a function for the Cloud Functions stand-in
(gcf_standin.py): what Google's Functions Framework does in a Cloud Run
container, in one fresh Python process per cold start.

    python3 gcf_function_host.py SOURCE_DIR ENTRY_POINT MEMORY_BYTES

It imports SOURCE_DIR/main.py (the uploaded zip, unpacked), takes
ENTRY_POINT from it, and then serves requests one at a time: each is one
JSON line on stdin ({"method", "path", "query", "headers", "body" (base64)})
and each answer one JSON line on the descriptor that was stdout when it
started ({"status", "headers", "body" (base64)}). As in the Functions
Framework the handler gets a real flask.Request and its return value goes
through Flask's make_response (a str, bytes, dict, tuple or Response); an
exception is logged with its traceback and answered with Flask's 500 page.

What the function prints goes to stderr, which the stand-in keeps as the
function's log (fd 1 is pointed at fd 2 after the reply channel is set
aside). Memory: after the imports, the address space is capped at what it
is now plus MEMORY_BYTES (RLIMIT_AS), so the function itself gets about the
memory it was configured with; a MemoryError answers
{"memory_exceeded": true} and the process ends, as Cloud Run stops an
instance that goes over its limit. Timeouts are the stand-in's to enforce
(it kills the process).

The first line written is {"ready": true} once main.py is imported, or
{"load_error": "..."} when it cannot be (the stand-in answers 500 then).
"""
import base64
import importlib.util
import json
import os
import resource
import sys
import traceback

import flask


def address_space_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    source_dir, entry_point, memory_bytes = sys.argv[1], sys.argv[2], int(sys.argv[3])
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj):
        reply.write(json.dumps(obj) + "\n")

    sys.path.insert(0, source_dir)
    os.chdir(source_dir)
    try:
        spec = importlib.util.spec_from_file_location("main", os.path.join(source_dir, "main.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules["main"] = module
        spec.loader.exec_module(module)
        handler = getattr(module, entry_point)
    except BaseException as error:  # noqa: BLE001 - any failure to load is the user's code failing
        traceback.print_exc()
        send({"load_error": f"{type(error).__name__}: {error}"})
        return
    app = flask.Flask("function")
    limit = address_space_bytes() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    send({"ready": True})

    for line in sys.stdin:
        request = json.loads(line)
        body = base64.b64decode(request["body"])
        try:
            with app.test_request_context(request["path"], method=request["method"], headers=request["headers"],
                                          data=body, query_string=request["query"]):
                response = app.make_response(handler(flask.request))
                data = response.get_data()
                headers = [[k, v] for k, v in response.headers.items() if k.lower() != "content-length"]
                send({"status": response.status_code, "headers": headers,
                      "body": base64.b64encode(data).decode()})
        except MemoryError:
            send({"memory_exceeded": True})
            return
        except Exception:  # noqa: BLE001 - the Functions Framework answers any exception with a 500
            traceback.print_exc()
            page = b"<!doctype html>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
            send({"status": 500, "headers": [["Content-Type", "text/html; charset=utf-8"]],
                  "body": base64.b64encode(page).decode()})
        sys.stderr.flush()


if __name__ == "__main__":
    main()
