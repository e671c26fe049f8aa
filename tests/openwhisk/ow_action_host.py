"""One container of an action for the OpenWhisk stand-in (ow_standin.py):
what OpenWhisk's Python runtime (the action loop) does, in one fresh
Python process per cold start.

    python3 ow_action_host.py ACTION_DIR ENTRY MEMORY_BYTES REPLY_FD

ACTION_DIR holds the action's code: the uploaded zip unpacked (it must
have __main__.py, as the runtime demands of a zip) or, for plain source
code, __main__.py written from it. The host imports __main__.py from
there (ACTION_DIR first on sys.path, so the zip's other modules import)
and takes ENTRY (the action's `main`) from it.

The stand-in talks to it over two channels set aside before user code
runs: requests arrive as JSON lines on stdin ({"value": params, "env":
{"__OW_ACTIVATION_ID": ...}}), answers leave as JSON lines on REPLY_FD, a pipe the stand-in passed ({"result":
dict} or {"error": "..."}). The first answer is {"ready": true} once the
entry is loaded, or {"init_error": "..."} (then the process ends). The
action's own stdout and stderr stay on fd 1 and 2, which the stand-in
reads as the activation's log; after the initialisation and after each
activation the host writes the runtime's sentinel line on both, so the
stand-in knows a log is complete (what the import printed goes into the
cold activation's log).

As in the runtime, `main` must return a dict; anything else, or an
exception (its traceback goes to stderr), is the developer's error.
Memory: after the imports the address space is capped at its size then
plus MEMORY_BYTES (RLIMIT_AS); a MemoryError answers {"memory_exceeded":
true} and the process ends. Timeouts are the stand-in's (it kills the
process).
"""
import importlib.util
import json
import os
import resource
import sys
import traceback

SENTINEL = "XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX"


def address_space_bytes():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    action_dir, entry, memory_bytes, reply_fd = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    reply = os.fdopen(reply_fd, "w", buffering=1)

    def send(obj):
        reply.write(json.dumps(obj) + "\n")

    def end_of_activation():
        for stream in (sys.stdout, sys.stderr):
            print(SENTINEL, file=stream, flush=True)

    sys.path.insert(0, action_dir)
    os.chdir(action_dir)
    main_path = os.path.join(action_dir, "__main__.py")
    if not os.path.isfile(main_path):
        end_of_activation()
        send({"init_error": "Zip file does not include __main__.py"})
        return
    try:
        spec = importlib.util.spec_from_file_location("__faaset_action__", main_path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        function = getattr(module, entry)
    except BaseException as error:  # noqa: BLE001 - any failure to load is the action's
        traceback.print_exc()
        end_of_activation()
        send({"init_error": f"Cannot initialize the action: {type(error).__name__}: {error}"})
        return
    limit = address_space_bytes() + memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    end_of_activation()
    send({"ready": True})

    for line in sys.stdin:
        request = json.loads(line)
        os.environ.update(request["env"])
        try:
            result = function(request["value"])
            answer = {"result": result} if isinstance(result, dict) else \
                {"error": "The action did not return a dictionary."}
            text = json.dumps(answer)
        except MemoryError:
            end_of_activation()
            send({"memory_exceeded": True})
            return
        except Exception as error:  # noqa: BLE001 - the runtime reports any exception as the action's error
            traceback.print_exc()
            text = json.dumps({"error": f"An exception was raised by the action: {type(error).__name__}: {error}"})
        except BaseException:  # SystemExit and the like: the action ended its own process
            end_of_activation()
            return
        end_of_activation()
        reply.write(text + "\n")


if __name__ == "__main__":
    main()
