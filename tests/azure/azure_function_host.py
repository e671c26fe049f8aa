"""One instance of a function app for the Azure Functions stand-in
(azure_standin.py): what the Functions host and its Python worker do for
the v1 programming model (function.json folders), in one fresh Python
process per cold start.

    python3 azure_function_host.py WWWROOT WORKER_LIB MEMORY_BYTES REPLY_FD

WORKER_LIB (the stand-in's azure.functions, tests/azure/worker_lib) goes
first on sys.path, then WWWROOT and WWWROOT/.python_packages/lib/site-packages,
as the worker arranges them; the working directory is WWWROOT. The app
settings arrive as the process's environment (the stand-in starts it so).

The first line on stdin lists the app's functions, [{"name", "directory",
"script", "entry", "trigger"}] (trigger: the httpTrigger binding's name);
the worker loads each one (imports its script, takes its entry point) and
answers {"ready": true, "load_errors": {name: text}} on REPLY_FD: a
function that failed to load fails every call, as in Azure. Then each
request is one JSON line on stdin ({"function", "invocation_id",
"request": {"method", "url", "headers", "params", "route_params", "body"
(base64)}}) and each answer one JSON line on REPLY_FD: {"status",
"headers", "body" (base64)}, or {"error": traceback text} when the
function raised or returned something that is not an HttpResponse or str.
The entry gets the request as its trigger's binding name and, when it has
a parameter named `context`, an azure.functions.Context; an `async def`
entry runs to completion on an event loop.

What the function prints (fd 1 and 2) is the stand-in's log of the app.
Memory: after the loads the address space is capped at its size then plus
MEMORY_BYTES (RLIMIT_AS); a MemoryError answers {"memory_exceeded": true}
and the process ends. Timeouts (host.json functionTimeout) are the
stand-in's: it kills the process.
"""
import asyncio
import base64
import importlib.util
import inspect
import json
import os
import resource
import sys
import traceback


def address_space_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def load(function):
    spec = importlib.util.spec_from_file_location(f"__app__.{function['name']}", function["script"])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    entry = getattr(module, function["entry"], None)
    if not callable(entry):
        raise AttributeError(f"The function '{function['name']}' has no callable '{function['entry']}' in "
                             f"{os.path.basename(function['script'])}.")
    return entry


def invoke(func, loaded, function, message):
    raw = message["request"]
    request = func.HttpRequest(raw["method"], raw["url"], headers=raw["headers"], params=raw["params"],
                               route_params=raw["route_params"], body=base64.b64decode(raw["body"]))
    arguments = {function["trigger"]: request}
    if "context" in inspect.signature(loaded).parameters:
        arguments["context"] = func.Context(message["invocation_id"], function["name"], function["directory"])
    result = loaded(**arguments)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    if isinstance(result, str):
        result = func.HttpResponse(result)
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"the function returned {type(result).__name__}; an http output binding ($return) "
                        "takes an azure.functions.HttpResponse or a str")
    return {"status": result.status_code, "headers": dict(result.headers),
            "body": base64.b64encode(result.get_body()).decode()}


def main():
    wwwroot, worker_lib, memory_bytes, reply_fd = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    reply = os.fdopen(reply_fd, "w", buffering=1)
    sys.path[:0] = [worker_lib, wwwroot, os.path.join(wwwroot, ".python_packages", "lib", "site-packages")]
    os.chdir(wwwroot)
    import azure.functions as func

    functions = {f["name"]: f for f in json.loads(sys.stdin.readline())}
    loaded, load_errors = {}, {}
    for name, function in functions.items():
        try:
            loaded[name] = load(function)
        except BaseException as error:  # noqa: BLE001 - any failure to load is the function's
            load_errors[name] = "".join(traceback.format_exception(error)).rstrip()
    limit = address_space_bytes() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    reply.write(json.dumps({"ready": True, "load_errors": load_errors}) + "\n")

    for line in sys.stdin:
        message = json.loads(line)
        name = message["function"]
        try:
            answer = invoke(func, loaded[name], functions[name], message)
        except MemoryError:
            reply.write(json.dumps({"memory_exceeded": True}) + "\n")
            return
        except Exception as error:  # noqa: BLE001 - the host reports any exception as the invocation's failure
            answer = {"error": "".join(traceback.format_exception(error)).rstrip()}
        except BaseException:  # SystemExit and the like: the function ended its own process
            return
        sys.stdout.flush()
        sys.stderr.flush()
        reply.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
