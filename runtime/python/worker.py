# FaaSET local platform worker: one Python process that serves one deployed
# function from its unpacked package folder (runtime/PROTOCOL.md, section 2).
#
# The kernel starts it as `PYTHON -c <this file>` with a connected AF_UNIX
# stream socket at fd $FAASET_WORKER_FD, the package folder as the current
# directory, TMPDIR = the worker's own temporary folder, RLIMIT_AS = the
# function's memory, the function's env variables and FAASET_FUNCTION_NAME,
# FAASET_FUNCTION_MEMORY (MB), FAASET_FUNCTION_TIMEOUT (s),
# FAASET_FUNCTION_HANDLER ("module.function", default faaset_handler.handle),
# FAASET_PLATFORM=local.
#
# Frames both ways: a 4-byte big-endian length, then that many bytes of UTF-8
# JSON (one object), read and written by faaset_frames (shared with the local
# runtime), whose source the kernel passes in $FAASET_FRAMES_SOURCE.
#
# 1. Import the handler; send {"type": "ready"}, or {"type": "init_error",
#    errorType, errorMessage, stackTrace} and exit with status 1.
# 2. Serve {"type": "invoke", "id", "payload", "deadline_ms"} one at a time:
#    handler(payload, context) -> {"type": "result", "id", "result"} or
#    Lambda's error shape {"type": "error", "id", "errorType", "errorMessage",
#    "stackTrace": ["  File \"...\", line N, in f\n    code", ...]} with the
#    user's frames only (not this file's, the shim's or importlib's).
# 3. EOF: exit with status 0.
#
# The user's print()s go to fd 1 / 2, which the kernel captures; both are
# flushed before each answer. A result that is not JSON is a TypeError frame.
# MemoryError (RLIMIT_AS) is survivable: a reserve block is freed and the
# failed call's frames are cleared before the error frame is built, and the
# worker keeps serving. SIGINT and SIGTERM have their default effect (exit).
import gc
import linecache
import mmap
import os
import signal
import socket
import sys
import time
import types

DEFAULT_HANDLER = "faaset_handler.handle"
SHIM_MODULE = "faaset_handler"
FRAMES_MODULE = "faaset_frames"
RESERVE_SIZE = 4 * 1024 * 1024  # address space given back on an error, so the error frame can be built

_reserve = None


def _import_frames():
    """faaset_frames, the frame reader/writer shared with the local runtime. The
    kernel passes its source in $FAASET_FRAMES_SOURCE (the package folder is the
    one a cloud gets and does not hold it); the module is created from it as
    bootstrap.py creates the runtime's. Without the variable (a worker started
    by hand), it is imported from sys.path."""
    source = os.environ.pop("FAASET_FRAMES_SOURCE", None)
    if source is None:
        import faaset_frames
        return faaset_frames
    filename = "<faaset:%s>" % FRAMES_MODULE
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(FRAMES_MODULE)
    module.__file__ = filename
    sys.modules[FRAMES_MODULE] = module
    exec(compile(source, filename, "exec"), module.__dict__)
    return module


faaset_frames = _import_frames()


class Context:
    """The handler's `context`: Lambda's attribute names and types
    (memory_limit_in_mb is a string of MB, as Lambda's Python runtime gives it)."""

    function_version = "$LATEST"
    client_context = None
    identity = None

    def __init__(self, name, memory, deadline_ms):
        self.function_name = name
        self.memory_limit_in_mb = str(memory)
        self.invoked_function_arn = "local:%s" % name
        self.log_group_name = "/faaset/local/%s" % name
        self.log_stream_name = "worker-%d" % os.getpid()
        self.aws_request_id = _request_id()
        self._deadline_ms = deadline_ms

    def __repr__(self):
        return "<Context %s %s>" % (self.function_name, self.aws_request_id)

    def get_remaining_time_in_millis(self):
        return max(0, int(self._deadline_ms - time.time() * 1000))


def _request_id():
    text = os.urandom(16).hex()
    return "%s-%s-4%s-%s-%s" % (text[:8], text[8:12], text[13:16], text[16:20], text[20:32])


class Channel:
    """Frames over the kernel's socket (faaset_frames)."""

    def __init__(self, sock):
        self._sock = sock

    def send(self, message):
        self.send_body(faaset_frames.encode(message))

    def send_body(self, body):
        faaset_frames.write(self._sock, faaset_frames.pack(body))  # False: the next receive() sees EOF

    def receive(self):
        """The next frame as a dict; None at EOF; ValueError if it is not a JSON object."""
        return faaset_frames.read(self._sock)


def _is_worker_frame(frame):
    """This file's, the shim's and the import machinery's frames: not the user's."""
    if frame.f_globals is globals():
        return True
    module = frame.f_globals.get("__name__")
    if module in (SHIM_MODULE, FRAMES_MODULE, "importlib") or str(module).startswith("importlib._"):
        return True
    return frame.f_code.co_filename.startswith("<frozen importlib")


def _stack_entries(traceback_object):
    """(filename, line number, function name) of the user's frames in a traceback."""
    entries = []
    while traceback_object is not None:
        frame = traceback_object.tb_frame
        if not _is_worker_frame(frame):
            entries.append((frame.f_code.co_filename, traceback_object.tb_lineno, frame.f_code.co_name))
        traceback_object = traceback_object.tb_next
    return entries


def _clear_frames(traceback_object):
    """Drop the locals of finished frames (they may hold what exhausted memory)."""
    while traceback_object is not None:
        try:
            traceback_object.tb_frame.clear()
        except RuntimeError:  # a frame that is still running (this worker's own)
            pass
        traceback_object = traceback_object.tb_next


def _format_entry(filename, lineno, name):
    text = '  File "%s", line %s, in %s' % (filename, lineno, name)
    line = linecache.getline(filename, lineno).strip() if isinstance(lineno, int) else ""
    return text + ("\n    " + line if line else "")


def _error_fields(error):
    """errorType, errorMessage, stackTrace for an exception, freeing memory first."""
    _release_reserve()
    error_type = type(error).__name__
    entries = _stack_entries(error.__traceback__)
    _clear_frames(error.__traceback__)
    error.__traceback__ = None
    if isinstance(error, MemoryError):
        gc.collect()
    try:
        message = str(error)
    except Exception:
        message = "<exception str() failed>"
    stack = [_format_entry(*entry) for entry in entries]
    if isinstance(error, SyntaxError) and error.filename:
        location = '  File "%s", line %s' % (error.filename, error.lineno)
        if error.text:
            location += "\n    " + error.text.strip()
        stack.append(location)
    return {"errorType": error_type, "errorMessage": message, "stackTrace": stack}


def _restore_reserve():
    """Map the reserve: address space (RLIMIT_AS counts it) but no memory until touched."""
    global _reserve
    if _reserve is None:
        try:
            _reserve = mmap.mmap(-1, RESERVE_SIZE)
        except (OSError, MemoryError):
            pass


def _release_reserve():
    global _reserve
    if _reserve is not None:
        _reserve.close()
        _reserve = None


def _flush_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def load_handler(channel):
    """The handler function, or send init_error and exit."""
    spec = os.environ.get("FAASET_FUNCTION_HANDLER") or DEFAULT_HANDLER
    module_name, _, function_name = spec.rpartition(".")
    try:
        if not module_name or not function_name:
            raise ValueError("FAASET_FUNCTION_HANDLER must be module.function, not %r" % spec)
        import importlib
        module = importlib.import_module(module_name)
        handler = getattr(module, function_name, None)
        if not callable(handler):
            raise AttributeError("module %r has no function %r" % (module_name, function_name))
        return handler
    except BaseException as error:
        fields = _error_fields(error)
    _flush_output()
    channel.send(dict({"type": "init_error"}, **fields))
    os._exit(1)


def _result_body(call_id, result):
    """The encoded result frame, or an error frame if the result cannot be sent."""
    try:
        body = faaset_frames.encode({"type": "result", "id": call_id, "result": result})
    except MemoryError as error:
        return faaset_frames.encode(dict({"type": "error", "id": call_id}, **_error_fields(error)))
    except (TypeError, ValueError, RecursionError) as error:
        return faaset_frames.encode({"type": "error", "id": call_id, "errorType": "TypeError",
                                     "errorMessage": "the function's result must be JSON-serialisable: %s" % error,
                                     "stackTrace": []})
    if not faaset_frames.body_fits(body):
        return faaset_frames.encode({"type": "error", "id": call_id, "errorType": "ResponseSizeTooLarge",
                                     "errorMessage": "the function's result is %d bytes; the limit is %d"
                                     % (len(body), faaset_frames.FRAME_MAX_SIZE - 4096), "stackTrace": []})
    return body


def invoke(channel, handler, message, name, memory, timeout):
    call_id = message.get("id")
    deadline_ms = message.get("deadline_ms")
    if not isinstance(deadline_ms, (int, float)) or isinstance(deadline_ms, bool):
        deadline_ms = time.time() * 1000 + timeout * 1000
    try:
        try:
            result = handler(message.get("payload"), Context(name, memory, deadline_ms))
        except BaseException as error:
            body = faaset_frames.encode(dict({"type": "error", "id": call_id}, **_error_fields(error)))
        else:
            body = _result_body(call_id, result)
            result = None
    except MemoryError:  # even the error frame did not fit
        body = b'{"type": "error", "id": %d, "errorType": "MemoryError", "errorMessage": "", "stackTrace": []}' % (
            call_id if isinstance(call_id, int) else 0)
    _flush_output()
    channel.send_body(body)
    body = None
    _restore_reserve()


def _int_env(name, default):
    try:
        return int(float(os.environ.get(name, "")))
    except ValueError:
        return default


def main():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sock = socket.socket(fileno=int(os.environ.pop("FAASET_WORKER_FD")))
    sock.set_inheritable(False)  # the function's subprocesses must not hold the kernel's socket
    folder = os.getcwd()
    if sys.path[:1] != [folder]:
        sys.path.insert(0, folder)
    layer = os.environ.pop("FAASET_LAYER_PATH", None)
    if layer:  # the function's dependencies, after its own code, as Lambda puts /opt/python
        sys.path.insert(1, layer)
    channel = Channel(sock)
    _restore_reserve()
    name = os.environ.get("FAASET_FUNCTION_NAME", "function")
    memory = _int_env("FAASET_FUNCTION_MEMORY", 0)
    timeout = _int_env("FAASET_FUNCTION_TIMEOUT", 900)
    handler = load_handler(channel)
    channel.send({"type": "ready"})
    while True:
        try:
            message = channel.receive()
        except (ValueError, MemoryError) as error:
            os.write(2, ("FaaSET worker: ignoring a frame: %s\n" % error).encode("utf-8", "replace"))
            continue
        if message is None:
            _flush_output()
            os._exit(0)
        if message.get("type") == "invoke":
            invoke(channel, handler, message, name, memory, timeout)
        else:
            os.write(2, ("FaaSET worker: ignoring a %r frame\n" % (message.get("type"),)).encode())


if __name__ == "__main__":
    main()
