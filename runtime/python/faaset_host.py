# FaaSET local runtime: the long-lived Python process that runs a notebook's
# plain Python cells for the FaaSET Jupyter kernel (written in C).
#
# Start-up: the kernel runs `python -c <bootstrap.py>` with a connected
# AF_UNIX stream socket; bootstrap.py receives this file's source in a boot
# frame and calls main(sock). The process's fd 1 and fd 2 are pipes that the
# kernel shows as stdout/stderr, so output of C code and subprocesses appears too.
#
# Framing: every message, both ways, is a 4-byte big-endian length followed by
# that many bytes of UTF-8 JSON holding one object, read and written by
# faaset_frames (shared with the local platform's worker.py; the boot frame
# creates it before this module). runtime/PROTOCOL.md is the contract with the
# C side.
#
# Protocol: the runtime first sends {"type": "hello", ...}. Then the kernel sends
# one request at a time ({"id": N, "type": "execute" | "complete" | "inspect" |
# "is_complete" | "cloud_function", ...}); the runtime answers with zero or more
# events (stream, display_data, update_display_data, clear_output,
# execute_result, error, input_request) and exactly one {"type": "reply", "id": N, ...}.
# input() gets {"type": "input_reply", "value" | "error": str}. Upcalls go the
# other way: any thread may send {"type": "define" | "invoke", "call": K, ...}
# and the kernel answers {"type": "define_result" | "invoke_result", "call": K, ...},
# in any order, many outstanding at once.
#
# Threads: one daemon reader thread (Router) reads every frame and routes it:
# requests to a queue the main thread serves, input_reply to the waiting
# input(), *_result to the thread waiting for that call number. EOF on the
# socket ends the process with status 0 (once the main thread is idle; waiting
# input() calls and upcalls fail at once).
#
# Cells run in __main__'s namespace. sys.stdout and sys.stderr become writers
# that send stream events; display(), update_display(), clear_output(),
# input(), getpass.getpass() and help() are provided in builtins and talk to
# the kernel. A cell's last expression is shown as an execute_result built from
# the object's _repr_*_ methods, as IPython does.
#
# A cell Python cannot parse may be IPython's language (`!ls`, `x = %pwd`,
# `%%writefile f.py`): faaset_language turns it into Python (IPython's own
# transformer and magics when IPython imports, else the runtime's) and shows
# the matplotlib figures a cell leaves; get_ipython() is in builtins.
#
# Cloud functions: a %%cloud_function cell (the `cloud_function` request) and
# the @cloud_function(...) decorator send a `define` upcall and bind a
# CloudFunction; calling it sends an `invoke` upcall (or, when the kernel says
# run "local", calls the Python function in this process). Builtins also get
# cloud_function, Platform, RunMode and CloudFunctionError.
#
# Interrupts: the kernel sends SIGINT. InterruptGate turns it into a
# KeyboardInterrupt only while a cell runs, and never in the middle of a frame
# write (it is raised right after it). A SIGINT that arrives while the main
# thread waits for an input reply or an upcall result raises at once: the wait
# is abandoned and its reply, when it comes, is dropped. A SIGINT that arrives
# while the runtime is idle is dropped.
import ast
import builtins
import enum
import getpass
import io
import json
import linecache
import os
import re
import signal
import sys
import threading
import time
import traceback
import warnings

import faaset_comms  # Jupyter comms (widgets); created before this module like faaset_frames
import faaset_frames  # created before this module by bootstrap.py (the boot frame lists it first)
import faaset_language  # IPython's cell language (`!cmd`, `%magic`, inline figures), also booted before
import faaset_results
import faaset_inspector_import
import faaset_library
import faaset_transform

CELL_FILENAME_PREFIX = "<cell "
RUNTIME_FILENAME_PREFIX = "<faaset:"  # how bootstrap.py names the modules it creates
EXIT_GRACE_SECONDS = 0.5
NOTEBOOK_DEFAULT_TIMEOUT_SECONDS = 900  # what an in-process call's context counts down from, without a timeout option
MAIN_NAMESPACE_KEPT = ("__name__", "__doc__", "__package__", "__loader__", "__spec__",
                       "__annotations__", "__builtins__")

# (mime type, method) in the order IPython's formatter uses them; text/plain comes from repr().
REPR_METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("image/svg+xml", "_repr_svg_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("application/pdf", "_repr_pdf_"),
    ("text/latex", "_repr_latex_"),
    ("application/json", "_repr_json_"),
    ("application/javascript", "_repr_javascript_"),
)

_runtime = None  # the Runtime that main() started


# ---------------------------------------------------------------------------
# Interrupts and framing


class InterruptGate:
    """Decides what a SIGINT does.

    Closed (the runtime is idle or busy with its own work): the signal is dropped.
    Open (a cell runs): it raises KeyboardInterrupt, unless the main thread holds
    the gate (`with gate:`, around frame writes and input waits); then it is
    raised when the outermost `with` ends.
    """

    def __init__(self):
        self._open = False
        self._holds = 0
        self._pending = False

    def install(self):
        signal.signal(signal.SIGINT, self._on_sigint)

    def open(self):
        self._pending = False
        self._open = True

    def close(self):
        self._open = False

    def __enter__(self):
        self._holds += 1

    def __exit__(self, *exc_info):
        self._holds -= 1
        if self._holds == 0 and self._pending:
            self._pending = False
            if self._open:
                raise KeyboardInterrupt

    def _on_sigint(self, signum, frame):
        if not self._open:
            return
        if self._holds:
            self._pending = True
            return
        raise KeyboardInterrupt


def encode_json(value):
    """JSON text the kernel accepts: no NaN/Infinity."""
    return faaset_frames.dumps(value)


class Channel:
    """Length-prefixed JSON frames over the kernel socket (faaset_frames); writes are atomic."""

    def __init__(self, sock, gate):
        self._sock = sock
        self._gate = gate
        self._lock = threading.Lock()
        self._main_thread_id = threading.get_ident()

    def send(self, message):
        frame = faaset_frames.pack(faaset_frames.encode(message))
        if threading.get_ident() == self._main_thread_id:
            with self._gate:
                self._write(frame)
        else:
            self._write(frame)

    def _write(self, frame):
        with self._lock:
            if self._sock is None:
                return
            # False when the kernel went away; receive() sees EOF and the runtime exits
            faaset_frames.write(self._sock, frame)

    def receive(self):
        """The next message as a dict; None at EOF; ValueError for a malformed frame."""
        sock = self._sock
        return faaset_frames.read(sock) if sock is not None else None

    def detach_after_fork(self):
        """In a forked child: let go of the socket so the child never writes to it."""
        self._lock = threading.Lock()
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


class _NoHold:
    """`with` block that holds nothing: off the main thread there is no gate to hold."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


_NO_HOLD = _NoHold()


class _Mailbox:
    """A one-shot slot that one thread waits on and the reader thread fills.

    The wait is a plain lock acquisition, so in the main thread a signal
    handler that raises (KeyboardInterrupt) ends it at once."""

    __slots__ = ("_lock", "value")

    def __init__(self):
        self._lock = threading.Lock()
        self._lock.acquire()
        self.value = None

    def put(self, value):
        self.value = value
        self._lock.release()

    def wait(self):
        self._lock.acquire()
        self._lock.release()
        return self.value


class Router:
    """Reads every frame from the kernel on one daemon thread and routes it.

    Requests go to a queue the main thread serves (next_request). An
    `input_reply` goes to the input() waiting for it; a `<type>_result` goes to
    the thread waiting for its `call` number. A waiter that gives up (an
    interrupt) unregisters, so its late reply is dropped: upcall results by call
    number; input replies by count, since the kernel answers every
    input_request exactly once. At EOF every waiter gets None and
    next_request() returns None.
    """

    def __init__(self, channel):
        self._channel = channel
        self._lock = threading.Lock()
        self._requests = _simple_queue()
        self._calls = {}  # call number -> _Mailbox
        self._last_call = 0
        self._input = None  # the _Mailbox of the input() waiting for its reply
        self._stale_inputs = 0  # replies still due to input() calls that gave up
        self._closed = None  # why no more replies will come, once that is so

    def start(self):
        threading.Thread(target=self._read_loop, name="faaset-reader", daemon=True).start()

    def next_request(self):
        """The next request for the main thread; None once the kernel has gone."""
        return self._requests.get()

    def _read_loop(self):
        if hasattr(signal, "pthread_sigmask"):  # SIGINT must reach the main thread, which may be blocked waiting
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        while True:
            try:
                message = self._channel.receive()
            except ValueError as error:
                _write_fd(2, "FaaSET runtime: ignoring a malformed frame: %s\n" % error)
                continue
            if message is None:
                self._close("the kernel closed the connection")
                self._requests.put(None)
                # the main thread exits when it takes that None; a cell that never returns (a loop) would
                # otherwise keep an orphan runtime spinning with no kernel to interrupt it
                watchdog = threading.Timer(EXIT_GRACE_SECONDS, os._exit, (0,))
                watchdog.daemon = True
                watchdog.start()
                return
            try:
                self._route(message)
            except Exception as error:  # never let the reader die
                _write_fd(2, "FaaSET runtime: could not route a frame: %r\n" % (error,))

    def _route(self, message):
        kind = message.get("type")
        if kind == "input_reply":
            self._deliver_input(message)
        elif isinstance(kind, str) and kind.endswith("_result"):
            self._deliver_result(kind, message)
        else:
            self._requests.put(message)

    def _deliver_result(self, kind, message):
        call = message.get("call")
        if not isinstance(call, int) or isinstance(call, bool):
            _write_fd(2, "FaaSET runtime: ignoring a %s without a call number\n" % kind)
            return
        with self._lock:
            box = self._calls.pop(call, None)
        if box is not None:  # else the caller gave up (an interrupt): drop the late result
            box.put(message)

    def _deliver_input(self, message):
        with self._lock:
            if self._stale_inputs:
                self._stale_inputs -= 1
                return
            box, self._input = self._input, None
        if box is not None:
            box.put(message)

    def open_call(self):
        """(call number, mailbox) for a new upcall."""
        with self._lock:
            if self._closed:
                raise ConnectionError(self._closed)
            self._last_call += 1
            box = _Mailbox()
            self._calls[self._last_call] = box
            return self._last_call, box

    def close_call(self, number):
        """The caller no longer waits: a result for `number` is dropped."""
        with self._lock:
            self._calls.pop(number, None)

    def expect_input(self):
        """The mailbox the next input_reply goes to."""
        with self._lock:
            if self._closed:
                raise EOFError(self._closed)
            self._input = _Mailbox()
            return self._input

    def abandon_input(self, box):
        """input() gave up after sending its request: drop the reply when it comes."""
        with self._lock:
            if self._input is box:
                self._input = None
                self._stale_inputs += 1

    def _close(self, reason):
        with self._lock:
            self._closed = reason
            boxes = list(self._calls.values())
            if self._input is not None:
                boxes.append(self._input)
            self._calls.clear()
            self._input = None
        for box in boxes:
            box.put(None)

    def detach_after_fork(self):
        """In a forked child: no reader thread exists, so nothing will ever be answered."""
        self._lock = threading.Lock()
        self._calls, self._input = {}, None
        self._closed = "the kernel connection belongs to the parent process (this is a forked child)"


def _simple_queue():
    try:
        from _queue import SimpleQueue
    except ImportError:  # pragma: no cover - interpreters without the C module
        from queue import SimpleQueue
    return SimpleQueue()


def _write_fd(fd, text):
    try:
        os.write(fd, text.encode("utf-8", "replace"))
    except OSError:
        pass


def exit_runtime():
    """Exit with status 0; a watchdog ends the process if threads or atexit handlers hang."""
    watchdog = threading.Timer(EXIT_GRACE_SECONDS, os._exit, (0,))
    watchdog.daemon = True
    watchdog.start()
    sys.exit(0)


class StreamWriter(io.TextIOBase):
    """sys.stdout / sys.stderr: every write is sent to the kernel as a stream event."""

    def __init__(self, name, fd, emit):
        super().__init__()
        self.name = name
        self._fd = fd
        self._emit = emit

    @property
    def encoding(self):
        return "utf-8"

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        return self._fd

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        if not text:
            return 0
        if self._emit is None:
            data = text.encode("utf-8", "replace")
            while data:
                data = data[os.write(self._fd, data):]
        else:
            self._emit({"type": "stream", "name": self.name, "text": text})
        return len(text)

    def write_to_fd_after_fork(self):
        """In a forked child the kernel socket is gone: write to the real fd instead."""
        self._emit = None


# ---------------------------------------------------------------------------
# Rich representations


def warn(message):
    sys.stderr.write("FaaSET: %s\n" % message)


def _is_json_mime(mime):
    return mime == "application/json" or mime.endswith("+json")


def _jsonable(value):
    try:
        encode_json(value)
        return True
    except (TypeError, ValueError, RecursionError):
        return False


def _mime_value(mime, value):
    """The JSON form of one representation, or None (with a warning) if it has none."""
    if isinstance(value, (bytes, bytearray)):
        import base64
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, str) or (_is_json_mime(mime) and _jsonable(value)):
        return value
    warn("ignoring %s data of type %s" % (mime, type(value).__name__))
    return None


def _call_repr_method(obj, method_name, **kwargs):
    """obj.method_name(**kwargs), or None if it is missing or raises (with a warning)."""
    try:
        method = getattr(obj, method_name, None)
        return method(**kwargs) if callable(method) else None
    except Exception as error:
        warn("%s.%s() raised %s: %s" % (type(obj).__name__, method_name, type(error).__name__, error))
        return None


def _split_data_metadata(result):
    """A _repr_*_ result is either data or a (data, metadata) pair."""
    if isinstance(result, tuple) and len(result) == 2:
        return result
    return result, None


def _add_representation(data, metadata, mime, value, mime_metadata):
    value = None if value is None else _mime_value(mime, value)
    if value is None:
        return
    data[mime] = value
    if mime_metadata:
        if _jsonable(mime_metadata):
            metadata[mime] = mime_metadata
        else:
            warn("ignoring metadata for %s that is not JSON-serialisable" % mime)


def plain_text(obj):
    try:
        if isinstance(obj, (dict, list, tuple, set, frozenset)):
            import pprint
            return pprint.pformat(obj, sort_dicts=False)
        return repr(obj)
    except Exception as error:
        warn("repr() of a %s object raised %s: %s" % (type(obj).__name__, type(error).__name__, error))
        return object.__repr__(obj)


def mime_bundle(obj, include=None, exclude=None):
    """(data, metadata) for display: _repr_mimebundle_ first, then _repr_*_, text/plain always."""
    special = _runtime.language.format(obj) if _runtime is not None else None
    if special is not None:
        return special
    data, metadata = {}, {}

    def wanted(mime):
        return (not include or mime in include) and not (exclude and mime in exclude)

    if not isinstance(obj, type):  # a class's _repr_*_ are unbound functions, not its representation
        bundle, bundle_metadata = _split_data_metadata(
            _call_repr_method(obj, "_repr_mimebundle_", include=include, exclude=exclude))
        if isinstance(bundle, dict):
            bundle_metadata = bundle_metadata if isinstance(bundle_metadata, dict) else {}
            for mime, value in bundle.items():
                if wanted(mime):
                    _add_representation(data, metadata, mime, value, bundle_metadata.get(mime))
        for mime, method_name in REPR_METHODS:
            if mime not in data and wanted(mime):
                value, mime_metadata = _split_data_metadata(_call_repr_method(obj, method_name))
                _add_representation(data, metadata, mime, value, mime_metadata)
    if "text/plain" not in data:
        data["text/plain"] = plain_text(obj)
    return data, metadata


class DisplayHandle:
    """What display(..., display_id=...) returns: shows or updates that display."""

    def __init__(self, display_id):
        self.display_id = display_id

    def __repr__(self):
        return "<DisplayHandle display_id=%s>" % self.display_id

    def display(self, obj, **kwargs):
        display(obj, display_id=self.display_id, **kwargs)

    def update(self, obj, **kwargs):
        display(obj, display_id=self.display_id, update=True, **kwargs)


def _active_runtime():
    if _runtime is None:
        raise RuntimeError("the FaaSET runtime is not running")
    return _runtime


def display(*objs, display_id=None, update=False, raw=False, metadata=None, include=None, exclude=None):
    """Show objects in the cell's output (raw=True: the objects are mime bundles)."""
    runtime = _active_runtime()
    if display_id is True:
        import uuid
        display_id = uuid.uuid4().hex
    if not display_id:
        display_id = None
    if update and display_id is None:
        raise TypeError("update needs a display_id")
    for obj in objs:
        if not raw and _show_with_ipython_display(obj):
            continue
        if raw:
            data, bundle_metadata = {}, {}
            for mime, value in dict(obj).items():
                _add_representation(data, bundle_metadata, mime, value, None)
        else:
            data, bundle_metadata = mime_bundle(obj, include, exclude)
        if metadata and _jsonable(metadata):
            bundle_metadata.update(metadata)
        elif metadata:
            warn("ignoring display metadata that is not JSON-serialisable")
        message = {"type": "update_display_data" if update else "display_data",
                   "data": data, "metadata": bundle_metadata}
        if display_id is not None:
            message["transient"] = {"display_id": str(display_id)}
        runtime.emit(message)
    return None if display_id is None else DisplayHandle(display_id)


def _show_with_ipython_display(obj):
    """Objects that show themselves (IPython's _ipython_display_, e.g. widgets of ipywidgets 6/7) do."""
    method = None if isinstance(obj, type) else getattr(obj, "_ipython_display_", None)
    if not callable(method):
        return False
    method()
    return True


def update_display(obj, *, display_id, **kwargs):
    """Replace what an earlier display(..., display_id=display_id) shows."""
    display(obj, display_id=display_id, update=True, **kwargs)


def clear_output(wait=False):
    """Clear the cell's output (wait=True: when the next output arrives)."""
    _active_runtime().emit({"type": "clear_output", "wait": bool(wait)})


# ---------------------------------------------------------------------------
# Tracebacks


def _is_cell_frame(frame):
    return frame.filename.startswith(CELL_FILENAME_PREFIX)


def _user_frames(stack):
    """Frames from the first cell frame on, without the runtime's own frames."""
    frames = list(stack)
    first_cell = next((index for index, frame in enumerate(frames) if _is_cell_frame(frame)), len(frames))
    return traceback.StackSummary.from_list(
        [frame for frame in frames[first_cell:] if not frame.filename.startswith(RUNTIME_FILENAME_PREFIX)])


def error_fields(error):
    """ename, evalue and traceback lines (starting at the user's code) for an exception."""
    report = traceback.TracebackException(type(error), error, error.__traceback__)
    pending = [(report, error)]
    while pending:
        current, exception = pending.pop()
        current.stack = _user_frames(current.stack)
        if isinstance(exception, CloudFunctionError) and exception.remote_traceback:
            _show_remote_traceback(current, exception)
        for link in ("__cause__", "__context__"):
            chained = getattr(current, link)
            if chained is not None:
                pending.append((chained, getattr(exception, link, None)))
        pending.extend(zip(getattr(current, "exceptions", None) or (),
                           getattr(exception, "exceptions", None) or ()))
    try:
        evalue = str(error)
    except Exception:
        evalue = "<exception str() failed>"
    return {"ename": type(error).__name__, "evalue": evalue,
            "traceback": [chunk[:-1] if chunk.endswith("\n") else chunk for chunk in report.format()]}


def _show_remote_traceback(report, error):
    """Make report show error's remote traceback just before its `Type: message` line."""
    where = " (on %s)" % error.platform if error.platform else ""
    lines = ["Remote traceback%s:\n" % where]
    lines += [str(line).rstrip("\n") + "\n" for line in error.remote_traceback]
    format_exception_only = report.format_exception_only

    def with_remote_traceback(*args, **kwargs):
        yield from lines
        yield from format_exception_only(*args, **kwargs)

    report.format_exception_only = with_remote_traceback


# ---------------------------------------------------------------------------
# Cloud functions


class CloudFunctionError(Exception):
    """An error from a cloud function: raised remotely (the platform's exception,
    `remote_traceback` holds its traceback) or reported by the kernel
    (FunctionTimeout, WorkerCrashed, InvalidOption, ...).

    What is raised is a subclass named after the remote type (error_class()),
    so the notebook shows e.g. `ValueError: boom`; when the name is a built-in
    exception type the subclass derives from it too (`except ValueError` works).
    """

    def __init__(self, message="", remote_traceback=(), platform=None, function=None):
        Exception.__init__(self, message)
        self.evalue = message
        self.remote_traceback = list(remote_traceback)
        self.platform = platform
        self.function = function

    def __str__(self):
        return str(self.evalue)


CloudFunctionError.__module__ = "builtins"  # tracebacks say `CloudFunctionError`, not `faaset_host.CloudFunctionError`

_error_classes = {}
_error_classes_lock = threading.Lock()


def error_class(ename):
    """The CloudFunctionError subclass named ename (made once, then cached)."""
    name = ename if isinstance(ename, str) and ename else "CloudFunctionError"
    if name == "CloudFunctionError":
        return CloudFunctionError
    with _error_classes_lock:
        cls = _error_classes.get(name)
        if cls is None:
            cls = _error_classes[name] = _make_error_class(name)
        return cls


def _make_error_class(name):
    namespace = {"__module__": "builtins", "__doc__": "The remote %s of a cloud function." % name}
    base = getattr(builtins, name, None)
    # Not the types Python treats specially when raised or formatted.
    special = (SyntaxError, StopIteration, StopAsyncIteration, CloudFunctionError)
    if isinstance(base, type) and issubclass(base, Exception) and not issubclass(base, special):
        try:
            cls = type(name, (CloudFunctionError, base), namespace)
            str(cls("probe"))  # some built-in exceptions need other constructor arguments
            return cls
        except Exception:
            pass
    return type(name, (CloudFunctionError,), namespace)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_option(options, key):
    """options[key] as an int (a magic line gives strings), or None."""
    try:
        return int(float(options.get(key)))
    except (TypeError, ValueError, OverflowError, AttributeError):
        return None


def _request_id():
    text = os.urandom(16).hex()
    return "%s-%s-4%s-%s-%s" % (text[:8], text[8:12], text[13:16], text[16:20], text[20:32])


class NotebookContext:
    """The `context` of a call that runs in the notebook's process (run "local"):
    Lambda's attribute names, as on the local platform (memory_limit_in_mb is a
    string, as in Lambda, or None without a memory option)."""

    function_version = "$LATEST"
    client_context = None
    identity = None

    def __init__(self, name, memory=None, timeout=None):
        self.function_name = name
        self.memory_limit_in_mb = None if memory is None else str(memory)
        self.aws_request_id = _request_id()
        self.invoked_function_arn = "notebook:%s" % name
        self._deadline = time.monotonic() + (timeout if timeout else NOTEBOOK_DEFAULT_TIMEOUT_SECONDS)

    def __repr__(self):
        return "<NotebookContext %s %s>" % (self.function_name, self.aws_request_id)

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class CloudFunction:
    """What a %%cloud_function cell or @cloud_function binds to the function's name.

    Calling it with (request) sends an `invoke` upcall: the kernel runs the
    function on its platform and the result comes back; a dict result gets
    `roundTripTime` (ms) and, when it has SAAF's `runtime`, `latency` added.
    A remote error is raised as a CloudFunctionError subclass named after the
    remote type. When the kernel answered the define with run "local", the
    function runs in this process instead (FAASET_PLATFORM is left as the
    runtime's environment has it). Safe to call from many threads at once.
    """

    def __init__(self, name, platforms, run, function_name, source, options,
                 filename=None, first_line=1, function=None, doc=None, references=""):
        self.name = self.__name__ = self.__qualname__ = name
        self.platforms = platforms
        self.run = run
        self.source = source
        self.__doc__ = doc
        self._function_name = function_name
        self._options = options
        self._filename = filename or "<cloud function %s>" % name
        self._first_line = first_line
        self._function = function
        self._references = references  # the start of source that references= packaged (a magic line's)
        self._lock = threading.Lock()

    def __repr__(self):
        return "<cloud function %s on %s>" % (self.name, ", ".join(self.platforms) or "no platform")

    def describe(self):
        """What the kernel knows of this function: {"name", "run", "remote",
        "platforms": [{"platform", "deployed", "code_hash", "deployed_at",
        "memory_mb", "timeout_s", "state", ...}]} (see `fn?`)."""
        answer = _upcall("describe", function=self.name)
        if answer.get("status") != "ok":
            raise error_class(answer.get("ename") or "DescribeError")(str(answer.get("evalue", "")))
        return answer.get("function") or {}

    @property
    def options(self):
        """The options the function was defined with (a copy)."""
        return dict(self._options)

    def redefine(self, changes, write=None):
        """The function defined again (a `define` upcall, as its cell did) with
        CHANGES to its options (a value of None drops that option); the kernel
        deploys only what changed and its line is written with WRITE (default:
        stdout). Returns the new CloudFunction; the notebook's name for this
        one is pointed at it. `force` applies to this define only."""
        if not self.source.strip():
            raise ValueError("cloud function %s was not defined in this kernel (it was deployed by an earlier one), "
                             "so its source is not here: run its cell again to change it" % self.name)
        options = dict(self._options)
        options.pop("force", None)
        for key, value in changes.items():
            if value is None:
                options.pop(key, None)
            else:
                options[key] = value
        answer = _upcall("define", function=self._function_name, source=self.source, options=options,
                         origin="redefine")
        options.pop("force", None)
        redefined = _function_from_define(answer, self._function_name, self.source, options,
                                          write or sys.stdout.write, cls=type(self), filename=self._filename,
                                          first_line=self._first_line, function=self._function, doc=self.__doc__,
                                          references=self._references)
        for key, value in vars(self).items():  # what its maker set after defining it (the paper's call_mode)
            redefined.__dict__.setdefault(key, value)
        namespace = sys.modules["__main__"].__dict__
        if namespace.get(self.name) is self:
            namespace[self.name] = redefined
        return redefined

    def inspection(self, detail_level=0):
        """The text `fn?` (detail_level 0) and `fn??` (1, with the source) show."""
        fields = [("Type", "cloud function"), ("Name", self.name)]
        try:
            described = self.describe()
        except Exception as error:  # the kernel could not say: show what is known here
            described = {"platforms": [{"platform": p, "state": "unknown (%s)" % error} for p in self.platforms]}
        if described.get("remote") and described.get("remote") != self.name:
            fields.append(("Remote name", str(described["remote"])))
        fields.append(("Runs", "in the notebook (run=local)" if self.run == "local"
                       else "on " + (", ".join(self.platforms) or "no platform")))
        for entry in described.get("platforms") or []:
            parts = []
            if entry.get("deployed"):
                parts.append("memory %s MB" % entry.get("memory_mb") if entry.get("memory_mb") else
                             "memory: the platform's default")
                parts.append("timeout %s s" % entry.get("timeout_s") if entry.get("timeout_s") else
                             "timeout: the platform's default")
                parts.append("code hash %s" % str(entry.get("code_hash", ""))[:12])
                parts.append("deployed at %s" % entry.get("deployed_at", "?"))
            parts.append(str(entry.get("state", "")))
            fields.append(("Platform " + str(entry.get("platform")), "; ".join(p for p in parts if p)))
        fields.append(("Signature", "%s(request, context)" % self._function_name))
        fields.append(("Docstring", self.__doc__ or "<no docstring>"))
        if detail_level:
            fields.append(("Source", self.source))
        return _format_fields(fields)

    def getdoc(self):
        """IPython's inspector shows this as the object's documentation."""
        return self.inspection(0)

    def __call__(self, request=None, context=None):
        """Run the function with `request` (JSON values). `context` is used only
        by an in-process call; without it that call gets a NotebookContext."""
        if self.run == "local":
            return self._call_here(request, context)
        return self._invoke(request)

    def _call_here(self, request, context):
        if context is None:
            context = NotebookContext(self.name, _int_option(self._options, "memory"),
                                      _int_option(self._options, "timeout"))
        return self._local_function()(request, context)

    def _local_function(self):
        """The Python function: the decorated one, or the magic's source run as its own module."""
        with self._lock:
            if self._function is None:
                namespace = {"__name__": "faaset_function", "__builtins__": builtins}
                if self._references:  # compiled on their own: the cell's lines keep their numbers
                    exec(compile(self._references, "<references of %s>" % self.name, "exec", dont_inherit=True),
                         namespace)
                own = self.source[len(self._references):]
                code = compile("\n" * (self._first_line - 1) + own, self._filename, "exec", dont_inherit=True)
                exec(code, namespace)
                self._function = namespace[self._function_name]
            return self._function

    def invoke(self, request=None, event=False, platform=None):
        """Call the function on its platform (or on PLATFORM, one of its
        platforms): like calling it, or with event=True without waiting for
        its answer ({"StatusCode": 202, ...}): aws queues an Event (Lambda's
        asynchronous type), gcf sends the call (its answer is only logged),
        ibm starts a non-blocking activation (with its activationId)."""
        return self._invoke(request, "Event" if event else "RequestResponse", platform)

    def _invoke(self, request, invocation="RequestResponse", platform=None):
        try:
            size = len(encode_json(request).encode("utf-8", "replace"))
        except (TypeError, ValueError, RecursionError) as error:
            raise TypeError("the request to cloud function %s must be JSON-serialisable: %s"
                            % (self.name, error)) from None
        if size > faaset_frames.FRAME_MAX_SIZE - 65536:
            raise ValueError("the request to cloud function %s is too large (%d bytes)" % (self.name, size))
        fields = {"platform": str(getattr(platform, "value", platform))} if platform is not None else {}
        answer = _upcall("invoke", function=self.name, payload=request, invocation=invocation, log=True, **fields)
        if answer.get("status") != "ok":
            raise self._remote_error(answer)
        result = answer.get("result")
        round_trip = answer.get("roundTripTime")
        if isinstance(result, dict) and _is_number(round_trip):
            result = dict(result, roundTripTime=round_trip)
            if _is_number(result.get("runtime")):
                result["latency"] = round_trip - result["runtime"]
        return result

    def _remote_error(self, answer):
        remote_traceback = answer.get("traceback")
        platform = answer.get("platform")
        if not isinstance(platform, str) or not platform:
            platform = self.platforms[0] if len(self.platforms) == 1 else None
        return error_class(answer.get("ename"))(
            str(answer.get("evalue", "")),
            remote_traceback if isinstance(remote_traceback, list) else [], platform, self.name)


def _upcall(kind, /, **fields):
    """Ask the kernel to do `kind` (define, invoke, ...) and wait for its answer:
    the `<kind>_result` frame. Any thread may call it, many at once."""
    return _active_runtime().upcall(kind, fields)


def _function_from_define(answer, function_name, source, options, write, cls=None, **details):
    """The CloudFunction (or CLS, a subclass) a define answer describes, after
    printing its lines; the error it reports is raised."""
    lines = answer.get("lines")
    for line in lines if isinstance(lines, list) else ():
        write("%s\n" % (line,))
    if answer.get("status") != "ok":
        raise error_class(answer.get("ename") or "DefineError")(str(answer.get("evalue", "")))
    name = answer.get("name")
    platforms = answer.get("platforms")
    return (cls or CloudFunction)(name if isinstance(name, str) and name else function_name,
                         [str(p) for p in platforms] if isinstance(platforms, list) else [],
                         str(answer.get("run") or "cloud"), function_name, source, options, **details)


def _magic_references(names, own_name):
    """The source a magic line's `references=f,g` packages before the cell's
    (the functions of those names in the notebook, as the decorator's
    references= packages them), or ""."""
    if names is None:
        return ""
    listed = [name.strip() for name in str(names).split(",") if name.strip()]
    if not listed:
        raise ValueError("references= names functions defined in the notebook, e.g. references=helper,greet")
    import faaset_compat  # the runtime's library (faaset_library): loaded on first use
    return faaset_compat.references_source(listed, own_name)


def _handler_index(statements):
    """Index of the last top-level `def NAME(request, context)` (two positional parameters)."""
    for index in range(len(statements) - 1, -1, -1):
        node = statements[index]
        if (isinstance(node, ast.FunctionDef) and node.args.vararg is None
                and len(node.args.posonlyargs) + len(node.args.args) == 2):
            return index
    raise ValueError("a %%cloud_function cell needs a top-level `def NAME(request, context)`")


# -- @cloud_function ----------------------------------------------------------


class Platform(str, enum.Enum):
    """Where a cloud function is deployed; .value is the kernel's platform name."""

    LOCAL = "local"
    AWS = "aws"
    GCF = "gcf"
    IBM = "ibm"
    OPENWHISK = "openwhisk"
    AZURE = "azure"
    OPENFAAS = "openfaas"
    DOCKER = "docker"

    def __str__(self):
        return self.value


class RunMode(str, enum.Enum):
    """How calling a decorated function runs it: on its platform (CLOUD), in the
    notebook (LOCAL) or not at all (NONE); sent as the `run` option."""

    LOCAL = "local"
    CLOUD = "cloud"
    NONE = "none"

    def __str__(self):
        return self.value


Platform.__module__ = RunMode.__module__ = "builtins"


def _plain(value):
    """value with Platform / RunMode members replaced by their names, tuples by lists."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _decorator_options(platforms, memory, config, requirements, containerize, deploy, run_mode, options):
    """The define upcall's options: only what the user set, as JSON values.
    FaaSET's `config` dict becomes options (faaset_compat says what it cannot
    use); `containerize` has the kernel build and push the image unless the
    config names one (`image`)."""
    values = {}
    if platforms is not None:
        values["platforms"] = _plain([platforms] if isinstance(platforms, (str, enum.Enum)) else list(platforms))
    if config is not None:
        import faaset_compat  # the runtime's library (faaset_library): loaded on first use
        if not isinstance(config, dict):
            raise TypeError("cloud_function's config must be a dict of FaaSET settings, not %s" % type(config).__name__)
        first = (values.get("platforms") or [""])[0]
        values.update(faaset_compat.options(config, str(first)))
    if containerize and "image" not in values:
        values["containerize"] = True
    for key, value in (("memory", memory), ("requirements", requirements)):
        if value is not None:
            values[key] = _plain(value)
    if not deploy:
        values["deploy"] = False
    if run_mode is not None:
        values["run"] = str(_plain(run_mode)).lower()
    for key, value in options.items():
        values[key] = _plain(value)
    for key, value in values.items():
        try:
            encode_json(value)
        except (TypeError, ValueError, RecursionError) as error:
            raise TypeError("cloud_function option %s must be a JSON value: %s" % (key, error)) from None
    return values


def cloud_function(platforms=None, memory=None, config=None, references=None, requirements=None,
                   containerize=False, deploy=True, runMode=None, **options):
    """FaaSET's decorator: `@cloud_function(memory=256, platforms=[Platform.AWS])`
    above `def NAME(request, context)` deploys the function (a `define` upcall)
    and binds a CloudFunction in its place.

    The deployed source is the def's file (a cell) from its first line to the
    end of the def, without @cloud_function lines: imports, helpers and
    constants above the def in the same cell go with it, as in a
    %%cloud_function cell. Other options (timeout, arch, runtime, name, force,
    env, role, ...) are passed to the kernel as given; runMode is sent as `run`.
    `config` is FaaSET's dict of settings (lambdaRoleARN, memory, ...), mapped
    to options; `references` (functions or their names) are packaged with it.
    """
    if callable(platforms) and hasattr(platforms, "__code__"):  # bare @cloud_function
        return _define_decorated(platforms, {})
    values = _decorator_options(platforms, memory, config, requirements, containerize, deploy, runMode, options)

    def decorate(function):
        return _define_decorated(function, values, references=references)

    return decorate


def _platform_names(platforms):
    """Platform names from a name, "aws,gcf", a Platform member or a list of them."""
    if platforms is None:
        return None
    items = platforms if isinstance(platforms, (list, tuple, set)) else [platforms]
    names = []
    for item in items:
        value = getattr(item, "value", item)
        if not isinstance(value, str):
            raise TypeError("platforms are names such as 'aws' or Platform members, not %r" % (item,))
        names += [name.strip() for name in value.split(",") if name.strip()]
    return names


def run_experiment(function, experiment, platform=None, config=None, platforms=None, platform_order=None):
    """FaaSET's run_experiment: run a FaaS Runner experiment (a dict, or the
    path of an experiment file) against a deployed function (its callable or
    its name), or a pipeline (a list of them). The kernel runs it (progress and summary show under the cell)
    and keeps the rows in faaset-results/; this returns them as a
    faaset_results.Results: a list of row dicts, each with roundTripTime,
    latency and runtime, whose .df is a pandas DataFrame. An interrupt
    stops it within two seconds and raises KeyboardInterrupt; the rows of
    the runs that finished stay on disk. `config` is FaaSET's and unused.
    `platforms` ("aws,gcf", a list, Platform members; the paper's
    `platform=` is the same) runs the same runs on each platform, at once
    or with platform_order="sequential" one after another (default: every
    platform the function is deployed to); each row has its platform in
    `endpoint`, and billedDuration and cost where the price is known."""
    functions = function if isinstance(function, (list, tuple)) else [function]  # a list: a pipeline
    names = [f if isinstance(f, str) else getattr(f, "name", getattr(f, "__name__", None)) for f in functions]
    if not names or not all(isinstance(name, str) and name for name in names):
        raise TypeError("run_experiment needs a cloud function, its name, or a list of them, not %r" % (function,))
    name = " ".join(names)
    if isinstance(experiment, (str, os.PathLike)):
        with open(experiment, encoding="utf-8") as file:
            experiment = json.load(file)
    if not isinstance(experiment, dict):
        raise TypeError("experiment must be a dict of FaaS Runner keys or the path of an experiment file")
    chosen = _platform_names(platforms if platforms is not None else platform)
    if chosen is not None or platform_order is not None:
        experiment = dict(experiment)  # the caller's dict stays as it was
        if chosen is not None:
            experiment["platforms"] = chosen
        if platform_order is not None:
            experiment["platformOrder"] = platform_order
    answer = _upcall("experiment", function=name, experiment=experiment)
    if answer.get("status") != "ok":
        raise error_class(str(answer.get("ename") or "ExperimentFailed"))(str(answer.get("evalue") or ""))
    rows = []
    with open(os.path.join(answer["folder"], "runs.jsonl"), encoding="utf-8") as file:
        for line in file:
            try:
                rows.append(json.loads(line))
            except ValueError:
                pass  # a line cut by a killed kernel
    if answer.get("interrupted"):
        raise KeyboardInterrupt("experiment interrupted; %d finished rows are in %s" % (len(rows), answer["folder"]))
    return faaset_results.Results(rows, answer["folder"], name)


def _define_decorated(function, options, references=None, cls=None, whole_cell=True):
    """Defines FUNCTION (a `define` upcall) and returns the CloudFunction (or
    CLS) bound in its place; the functions in REFERENCES (faaset_compat) are
    packaged before its own source: the cell up to the end of its def, or
    only the def when not WHOLE_CELL (as FaaSET packages a function)."""
    original = function
    for _ in range(100):  # through functools.wraps layers to the def itself
        if not hasattr(original, "__wrapped__"):
            break
        original = original.__wrapped__
    code = getattr(original, "__code__", None)
    if code is None:
        raise TypeError("@cloud_function decorates a function defined with def, not %s"
                        % type(function).__name__)
    source = _decorated_source(code, whole_cell)
    if references:
        import faaset_compat  # the runtime's library (faaset_library): loaded on first use
        source = faaset_compat.references_source(references, code.co_name) + source
    answer = _upcall("define", function=code.co_name, source=source, options=options, origin="decorator")
    return _function_from_define(answer, code.co_name, source, options, sys.stdout.write, cls=cls,
                                 function=function, doc=getattr(function, "__doc__", None))


def _is_cloud_decorator(expression):
    target = expression.func if isinstance(expression, ast.Call) else expression
    return ((isinstance(target, ast.Name) and target.id == "cloud_function")
            or (isinstance(target, ast.Attribute) and target.attr == "cloud_function"))


def _decorated_source(code, whole_cell=True):
    """The source to deploy for the def whose code object is `code`: its file
    from line 1 (or, not WHOLE_CELL, from the def) to the end of the def,
    minus every @cloud_function decorator."""
    lines = linecache.getlines(code.co_filename)
    if not lines:
        raise ValueError("@cloud_function cannot find the source of %s (%s)" % (code.co_name, code.co_filename))
    tree = ast.parse("".join(lines), code.co_filename)
    defs = [node for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    named = [node for node in defs if node.name == code.co_name]

    def first_line(node):
        return min([node.lineno] + [decorator.lineno for decorator in node.decorator_list])

    matches = [node for node in named if first_line(node) == code.co_firstlineno]
    matches = matches or [node for node in named if first_line(node) <= code.co_firstlineno <= node.end_lineno]
    if not matches:
        raise ValueError("@cloud_function cannot find `def %s` in %s" % (code.co_name, code.co_filename))
    target = matches[-1]
    dropped = set()
    for node in defs + [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]:
        for decorator in node.decorator_list:
            if _is_cloud_decorator(decorator):
                dropped.update(range(decorator.lineno, decorator.end_lineno + 1))
    start = 1 if whole_cell and target in tree.body else first_line(target)
    kept = [lines[number - 1] for number in range(start, target.end_lineno + 1) if number not in dropped]
    source = "".join(kept)
    if start > 1:  # a def inside a block: just the def, dedented
        import textwrap
        source = textwrap.dedent(source)
    source = faaset_inspector_import.rewrite(source)  # as the cell ran it
    return source if source.endswith("\n") else source + "\n"


# ---------------------------------------------------------------------------
# Running cells


def _ends_with_semicolon(code, last_statement):
    """True when a `;` follows the cell's last expression (IPython: don't show the result)."""
    lines = code.encode("utf-8").split(b"\n")
    rest = [lines[last_statement.end_lineno - 1][last_statement.end_col_offset:]]
    rest += lines[last_statement.end_lineno:]
    # Only closing brackets, whitespace, `;` and comments can follow; a `#` starts a comment.
    return any(b";" in line.split(b"#")[0] for line in rest)


def _is_dotted_name(text):
    return bool(text) and all(part.isidentifier() for part in text.split("."))


def pager_request(code):
    """(name, detail_level) for a `?name` / `name??` cell, else None."""
    text = code.strip()
    for marks in ("??", "?"):
        if text.startswith(marks):
            name = text[len(marks):]
            break
        if text.endswith(marks):
            name = text[:-len(marks)]
            break
    else:
        return None
    name = name.strip()
    return (name, len(marks) - 1) if _is_dotted_name(name) else None


def page_payload(text):
    return {"source": "page", "data": {"text/plain": text}, "start": 0}


def help_text(obj):
    import pydoc
    try:
        return pydoc.render_doc(obj, renderer=pydoc.plaintext)
    except ImportError as error:  # pydoc's answer for a name it cannot find
        return str(error)


class Help:
    """builtins.help: help(obj) pages its documentation instead of printing it."""

    def __init__(self, runtime):
        self._runtime = runtime

    def __repr__(self):
        return "Type help(object) or object? for help about object."

    def __call__(self, *args):
        if not args:
            print("Interactive help is not available here; use help(object) or object? instead.")
        else:
            self._runtime.page(help_text(args[0]))


class Exit:
    """builtins.exit / quit, as in IPython: ask the frontend to end the session
    (an `ask_exit` payload; a console exits, a notebook ignores it). The
    runtime keeps running; typing the bare name in a cell does the same."""

    def __init__(self, name, runtime):
        self._name = name
        self._runtime = runtime

    def __repr__(self):
        return "Use %s() or Ctrl-D to end the session." % self._name

    def __call__(self, keep_kernel=False):
        self._runtime.ask_exit(keep_kernel)


class Cell:
    """State of the execute request being handled."""

    def __init__(self, silent):
        self.silent = silent
        self.payload = []


def _clean_main_namespace():
    namespace = sys.modules["__main__"].__dict__
    for name in [name for name in namespace if name not in MAIN_NAMESPACE_KEPT]:
        del namespace[name]
    return namespace


# ---------------------------------------------------------------------------
# Completion, inspection, is_complete

MISSING = object()


def find_object(dotted_name, namespace):
    """The object a plain dotted name refers to (no calls), or MISSING."""
    if not _is_dotted_name(dotted_name):
        return MISSING
    first, *attributes = dotted_name.split(".")
    if first in namespace:
        obj = namespace[first]
    elif hasattr(builtins, first):
        obj = getattr(builtins, first)
    else:
        return MISSING
    for attribute in attributes:
        try:
            obj = getattr(obj, attribute)
        except Exception:
            return MISSING
    return obj


def _is_name_char(char):
    return char.isalnum() or char == "_"


def _trailing_dotted_text(text):
    start = len(text)
    while start > 0 and (_is_name_char(text[start - 1]) or text[start - 1] == "."):
        start -= 1
    return text[start:]


def _filter_names(candidates, prefix):
    show_private = prefix.startswith("_")
    return sorted({name for name in candidates
                   if isinstance(name, str) and name.startswith(prefix)
                   and (show_private or not name.startswith("_"))})


def _dict_key_completions(before, after, namespace):
    """(matches, typed) inside `some_dict["ke`, else None."""
    bracket = before.rfind("[")
    if bracket < 0:
        return None
    inside = before[bracket + 1:].lstrip()
    if not inside or inside[0] not in "'\"" or inside[0] in inside[1:]:
        return None
    quote, typed = inside[0], inside[1:]
    target = find_object(_trailing_dotted_text(before[:bracket]), namespace)
    if not isinstance(target, dict):
        return None
    closing = "" if after.startswith(quote) else quote
    keys = [key for key in list(target) if isinstance(key, str) and key.startswith(typed)
            and quote not in key and "\\" not in key]
    return sorted({key + closing for key in keys}), typed


def _attribute_names(obj):
    try:
        return dir(obj)
    except Exception:
        return []


def _global_names(namespace):
    import keyword
    return list(namespace) + dir(builtins) + keyword.kwlist + getattr(keyword, "softkwlist", [])


_CELL_IMPORT = re.compile(r"^\s*import\s+(.+)$")
_CELL_FROM_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+\(?([^)#]+)")
_CELL_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(\w+)\s*\(([^)]*)\)?")
_CELL_CLASS = re.compile(r"^\s*class\s+(\w+)")
_CELL_TARGET = re.compile(r"^\s*(?:for\s+)?([\w\s,]+?)\s*(?:=(?!=)|\bin\b)")
_CELL_WITH_AS = re.compile(r"\bas\s+(\w+)")


def _cell_module(dotted):
    """The module DOTTED if it may be imported for completion (loaded already,
    or from the standard library), else a placeholder with no attributes."""
    top = dotted.partition(".")[0]
    if dotted in sys.modules:
        return sys.modules[dotted]
    if top in getattr(sys, "stdlib_module_names", ()):
        try:
            import importlib
            return importlib.import_module(dotted)
        except Exception:
            pass
    return MISSING


def cloud_function_namespace(code, cursor):
    """What a name can mean inside a %%cloud_function cell, for completion:
    builtins, and the names the cell's lines before the cursor bind (imports,
    with their modules when those can be imported here safely: loaded
    already or standard library; defs, classes, parameters, assignments,
    loop and with targets; `request` is a dict, as the platform passes it).
    None when CODE is not such a cell. The function runs on a platform, so
    the notebook's own names are not offered."""
    if not code.lstrip().startswith("%%cloud_function"):
        return None
    namespace = {}
    lines = code[:cursor].split("\n")[1:]
    for line in lines:
        found = _CELL_FROM_IMPORT.match(line)
        if found:
            module = _cell_module(found.group(1))
            for part in found.group(2).split(","):
                name, _, alias = part.strip().partition(" as ")
                if name.strip().isidentifier():
                    namespace[(alias or name).strip()] = getattr(module, name.strip(), MISSING)
            continue
        found = _CELL_IMPORT.match(line)
        if found:
            for part in found.group(1).split(","):
                dotted, _, alias = part.strip().partition(" as ")
                dotted = dotted.strip()
                if alias.strip():
                    namespace[alias.strip()] = _cell_module(dotted)
                elif dotted and dotted.replace(".", "").replace("_", "").isalnum():
                    namespace[dotted.partition(".")[0]] = _cell_module(dotted.partition(".")[0])
            continue
        found = _CELL_DEF.match(line)
        if found:
            namespace[found.group(1)] = MISSING
            for parameter in (found.group(2) or "").split(","):
                name = parameter.split(":")[0].split("=")[0].strip().lstrip("*")
                if name.isidentifier():
                    namespace[name] = {} if name == "request" else MISSING
            continue
        found = _CELL_CLASS.match(line)
        if found:
            namespace[found.group(1)] = MISSING
            continue
        for name in _CELL_WITH_AS.findall(line):
            namespace.setdefault(name, MISSING)
        found = _CELL_TARGET.match(line)
        if found:
            for name in found.group(1).split(","):
                if name.strip().isidentifier():
                    namespace.setdefault(name.strip(), MISSING)
    return namespace


def completions(code, cursor, namespace, magic_names=()):
    """(matches, cursor_start): matches replace code[cursor_start:cursor].
    Inside a %%cloud_function cell, names come from the cell itself
    (cloud_function_namespace), not from the notebook. A `%name` being typed
    as a line's first word is completed from MAGIC_NAMES ("%name",
    "%%name": the runtime's and the kernel's)."""
    cell = cloud_function_namespace(code, cursor)
    if cell is not None:
        namespace = cell
    line_start = code.rfind("\n", 0, cursor) + 1
    before = code[line_start:cursor]
    if before.lstrip().startswith("%"):
        word = before.lstrip()
        if not re.fullmatch(r"%%?\w*", word):
            return [], cursor  # an option or argument of a magic: the kernel's, or nothing
        return sorted(name for name in magic_names if name.startswith(word)), cursor - len(word)
    keys = _dict_key_completions(before, code[cursor:], namespace)
    if keys is not None:
        matches, typed = keys
        return matches, cursor - len(typed)
    base, dot, prefix = _trailing_dotted_text(before).rpartition(".")
    if dot:
        obj = find_object(base, namespace)
        candidates = [] if obj is MISSING else _attribute_names(obj)
    else:
        candidates = _global_names(namespace)
    return _filter_names(candidates, prefix), cursor - len(prefix)


def _called_name_before(code, cursor):
    """The dotted name of the call whose parentheses enclose the cursor, or ""."""
    depth = 0
    for index in range(cursor - 1, -1, -1):
        if code[index] == ")":
            depth += 1
        elif code[index] == "(":
            if depth == 0:
                return _trailing_dotted_text(code[:index].rstrip()).strip(".")
            depth -= 1
    return ""


def name_at_cursor(code, cursor):
    """The dotted name under or just before the cursor, else the enclosing call's name."""
    end = cursor
    while end < len(code) and _is_name_char(code[end]):
        end += 1
    name = _trailing_dotted_text(code[:end]).strip(".")
    return name or _called_name_before(code, cursor)


def _attempt(function, *args):
    """function(*args), or None if it raises."""
    try:
        return function(*args)
    except Exception:
        return None


def _format_fields(fields):
    width = max(len(label) for label, _ in fields) + 2
    lines = []
    for label, value in fields:
        if "\n" in value:
            lines.append("%s:\n%s" % (label, value.rstrip("\n")))
        else:
            lines.append((label + ":").ljust(width) + value)
    return "\n".join(lines)


def describe_object(name, obj, detail_level):
    """IPython-style text for `obj?` (detail_level 0) or `obj??` (1)."""
    if isinstance(obj, CloudFunction):
        return obj.inspection(detail_level)
    import inspect
    is_definition = inspect.isroutine(obj) or inspect.isclass(obj) or inspect.ismodule(obj)
    fields = [("Type", type(obj).__name__)]
    if not is_definition:
        text = _attempt(str, obj) or ""
        fields.append(("String form", text if len(text) <= 200 else text[:197] + "..."))
    signature = _attempt(inspect.signature, obj)
    if signature is not None:
        fields.append(("Signature", name.rpartition(".")[2] + str(signature)))
    fields.append(("Docstring", _attempt(inspect.getdoc, obj) or "<no docstring>"))
    filename = _attempt(inspect.getfile, obj if is_definition else type(obj))
    if filename:
        fields.append(("File", filename))
    source = _attempt(inspect.getsource, obj) if detail_level and is_definition else None
    if source:
        fields.append(("Source", source))
    return _format_fields(fields)


def inspection_text(name, namespace, detail_level):
    """describe_object() for a dotted name, or None if it names nothing."""
    obj = find_object(name, namespace)
    return None if obj is MISSING else describe_object(name, obj, detail_level)


def _next_indent(lines):
    last = next((line for line in reversed(lines) if line.strip()), "")
    indent = last[:len(last) - len(last.lstrip())]
    return indent + "    " if last.rstrip().endswith(":") else indent


def _ends_inside_block(source):
    """A multi-line compound statement ends the code and no blank line closes it."""
    lines = source.split("\n")
    if not lines[-1].strip():
        return False
    body = ast.parse(source).body
    last = body[-1] if body else None
    return (hasattr(last, "body") or hasattr(last, "cases")) and last.end_lineno > last.lineno


def completeness(code):
    """("complete" | "incomplete" | "invalid", indent) as a console would judge the code."""
    lines = code.split("\n")
    if code.lstrip().startswith("%%"):  # a cell magic ends with an empty line
        done = len(lines) > 1 and not lines[-1].strip()
        return ("complete", "") if done else ("incomplete", _next_indent(lines))
    source = faaset_transform.transform_cell(code)  # `%magic` and `!cmd` lines as the calls they become
    import codeop
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compiled = codeop.compile_command(source, "<cell>", "exec")
            if compiled is None or _ends_inside_block(source):
                return "incomplete", _next_indent(lines)
    except (SyntaxError, ValueError, OverflowError):
        return "invalid", ""
    return "complete", ""


# ---------------------------------------------------------------------------
# The runtime


_libc_fflush = None


def flush_c_stdio():
    """Flush C's stdio buffers, so printf output from extensions reaches fd 1
    (a pipe, so fully buffered) before the cell's reply."""
    global _libc_fflush
    if _libc_fflush is None:
        import ctypes
        _libc_fflush = ctypes.CDLL(None).fflush
        _libc_fflush.argtypes = [ctypes.c_void_p]
    _libc_fflush(None)


class Runtime:
    def __init__(self, sock):
        sock.set_inheritable(False)  # user subprocesses must not hold the kernel socket
        self.gate = InterruptGate()
        self.channel = Channel(sock, self.gate)
        self.router = Router(self.channel)
        self.namespace = _clean_main_namespace()
        self.cell = None
        self.stdout = StreamWriter("stdout", 1, self.emit)
        self.stderr = StreamWriter("stderr", 2, self.emit)
        self._language = None
        self._handlers = {"execute": self.execute, "complete": self.complete,
                          "inspect": self.inspect, "is_complete": self.is_complete,
                          "cloud_function": self.cloud_function,
                          "comm": self.comm, "comm_info": self.comm}

    @property
    def language(self):
        """The cell language (IPython's or the runtime's own), started at its
        first use or just after the hello (see serve): IPython's shell takes
        about 0.2 s to start, which the kernel's first kernel_info_reply
        (sent once the runtime has said hello) should not wait for."""
        if self._language is None:
            self._language = faaset_language.start(self)
        return self._language

    def install(self):
        self.gate.install()
        sys.stdout, sys.stderr = self.stdout, self.stderr
        builtins.display = display
        builtins.update_display = update_display
        builtins.clear_output = clear_output
        builtins.input = self.read_input
        builtins.help = Help(self)
        builtins.exit, builtins.quit = Exit("exit", self), Exit("quit", self)
        getpass.getpass = self.read_password
        builtins.get_ipython = lambda: self.language.get_ipython()
        builtins.cloud_function = cloud_function
        builtins.run_experiment = run_experiment
        builtins.Platform, builtins.RunMode = Platform, RunMode
        builtins.CloudFunctionError = CloudFunctionError
        faaset_comms.install(self.channel.send, display, clear_output)
        os.register_at_fork(after_in_child=self._after_fork_in_child)

    def _after_fork_in_child(self):
        self.channel.detach_after_fork()
        self.router.detach_after_fork()
        self.stdout.write_to_fd_after_fork()
        self.stderr.write_to_fd_after_fork()

    def serve(self):
        version = sys.version_info
        implementation = {"cpython": "CPython", "pypy": "PyPy"}.get(sys.implementation.name,
                                                                   sys.implementation.name)
        self.channel.send({"type": "hello", "python_version": "%d.%d.%d" % version[:3],
                           "implementation": implementation, "executable": sys.executable,
                           "pid": os.getpid()})
        self.language  # noqa: B018 - started now, while the kernel answers its kernel_info
        self.router.start()
        while True:
            request = self.router.next_request()
            if request is None:
                exit_runtime()
            self.channel.send(self.handle(request))

    def upcall(self, kind, fields):
        """Send an upcall and wait for its result frame (see _upcall)."""
        number = None
        try:
            with self._hold_gate():  # no interrupt between registering the call and sending it
                number, box = self.router.open_call()
                self.channel.send(dict(fields, type=kind, call=number))
            answer = box.wait()
        finally:
            if number is not None:
                self.router.close_call(number)  # an interrupted wait: its result is dropped
        if answer is None:
            raise ConnectionError("the kernel closed the connection before answering a %s" % kind)
        return answer

    def _hold_gate(self):
        return self.gate if threading.get_ident() == threading.main_thread().ident else _NO_HOLD

    def handle(self, request):
        request_id, request_type = request.get("id"), request.get("type")
        handler = self._handlers.get(request_type) if isinstance(request_type, str) else None
        if handler is None:
            fields = {"status": "error", "ename": "ValueError",
                      "evalue": "unknown request type %r" % (request_type,), "traceback": []}
        else:
            try:
                fields = handler(request)
            except Exception as error:
                fields = {"status": "error", "ename": type(error).__name__, "evalue": str(error),
                          "traceback": []}
        return dict({"type": "reply", "id": request_id}, **fields)

    def emit(self, message):
        """Send an output event, unless the running cell is silent."""
        if self.cell is None or not self.cell.silent:
            self.channel.send(message)

    def page(self, text):
        """Show text in the pager (the reply's payload), or print it outside a cell."""
        if self.cell is None:
            self.stdout.write(text)
        else:
            self.cell.payload.append(page_payload(text))

    def ask_exit(self, keep_kernel):
        """Ask the frontend to end the session (IPython's `ask_exit` payload)."""
        if self.cell is not None:
            self.cell.payload.append({"source": "ask_exit", "keepkernel": bool(keep_kernel)})

    # -- execute ------------------------------------------------------------

    def execute(self, request):
        code = str(request.get("code", ""))
        count = int(request.get("execution_count") or 0)
        silent = bool(request.get("silent", False))
        store_history = bool(request.get("store_history", not silent)) and not silent
        self.cell = Cell(silent)
        try:
            if code.strip() in ("exit", "quit"):
                self.ask_exit(False)
                return {"status": "ok", "payload": self.cell.payload}
            page = pager_request(code)
            if page is not None:
                name, detail_level = page
                text = inspection_text(name, self.namespace, detail_level)
                self.page(text if text is not None else "Object `%s` not found." % name)
                return {"status": "ok", "payload": self.cell.payload}
            self.language.before_cell(request, code)
            error = self._run_cell(code, count, store_history)
            after = self._interruptible(self.language.after_cell)
            return self._cell_reply(error or after, request)
        finally:
            flush_c_stdio()
            self.cell = None

    def _cell_reply(self, error, request):
        """The reply to a cell that ran: ok with payload and user_expressions, or the error (also shown)."""
        if error is None:
            return {"status": "ok", "payload": self.cell.payload,
                    "user_expressions": self._user_expressions(request.get("user_expressions"))}
        self.emit(dict({"type": "error"}, **error))
        return dict({"status": "error", "payload": []}, **error)

    def _user_expressions(self, expressions):
        """Evaluates the execute_request's user_expressions after a cell that
        succeeded: {name: mime bundle with status ok, or the error fields}."""
        results = {}
        for name, expression in (expressions if isinstance(expressions, dict) else {}).items():
            try:
                self.gate.open()
                try:
                    value = eval(compile(str(expression), "<user expression>", "eval"), self.namespace)
                finally:
                    self.gate.close()
                data, metadata = mime_bundle(value)
                results[name] = {"status": "ok", "data": data, "metadata": metadata}
            except BaseException as error:
                results[name] = dict({"status": "error"}, **error_fields(error))
        return results

    def _run_cell(self, code, count, store_history):
        """Run the code; the error fields if it raised, else None."""
        filename = self._register_source(code, count)
        return self._interruptible(self._run_code, code, filename, count, store_history)

    def _interruptible(self, function, *args):
        """function(*args) with interrupts on; the error fields if it raised, else None."""
        try:
            self.gate.open()
            try:
                function(*args)
            finally:
                self.gate.close()
        except BaseException as error:
            return error_fields(error)
        return None

    def _register_source(self, code, count):
        """`<cell N>` (or `<cell N:k>` if N already names other code) with the code in linecache."""
        lines = code.splitlines(True)
        filename = "%s%s>" % (CELL_FILENAME_PREFIX, count)
        copy = 1
        while filename in linecache.cache and linecache.cache[filename][2] != lines:
            copy += 1
            filename = "%s%s:%d>" % (CELL_FILENAME_PREFIX, count, copy)
        linecache.cache[filename] = (len(code), None, lines, filename)
        return filename

    def _run_code(self, code, filename, count, store_history):
        """exec all statements; eval a trailing expression and show its value.
        Code Python cannot parse may be IPython's language (`!ls`, `%time`):
        the Language turns it into Python, or the SyntaxError stands."""
        try:
            module = ast.parse(code, filename)
        except SyntaxError as error:
            python = self.language.transform(code)
            if python.rstrip("\n") == code.rstrip("\n"):
                raise error from None
            module, code = ast.parse(python, filename), python
        rewritten = faaset_inspector_import.rewrite(code)  # the paper's `from Inspector import *` in a def
        if rewritten is not code:
            module, code = ast.parse(rewritten, filename), rewritten
        self._run_module(module, code, filename, count, store_history)

    def _run_module(self, module, code, filename, count, store_history):
        """Run a parsed cell (code is its text, for the `;` rule)."""
        last = module.body[-1] if module.body else None
        if not isinstance(last, ast.Expr):
            exec(compile(module, filename, "exec", dont_inherit=True), self.namespace)
            return
        module.body.pop()
        exec(compile(module, filename, "exec", dont_inherit=True), self.namespace)
        expression = compile(ast.Expression(last.value), filename, "eval", dont_inherit=True)
        value = eval(expression, self.namespace)
        if value is None or self.cell.silent or _ends_with_semicolon(code, last):
            return
        if _show_with_ipython_display(value):
            return
        data, metadata = mime_bundle(value)
        self.emit({"type": "execute_result", "data": data, "metadata": metadata})
        if store_history:
            self._remember_result(value, count)

    # -- cloud_function -------------------------------------------------------

    def cloud_function(self, request):
        """A %%cloud_function cell: define the function (upcall), bind it, run the rest."""
        body = str(request.get("body") or "")
        body_line = request.get("body_line")
        body_line = body_line if isinstance(body_line, int) and body_line >= 1 else 1
        options = request.get("options")
        options = options if isinstance(options, dict) else {}
        count = int(request.get("execution_count") or 0)
        silent = bool(request.get("silent", False))
        store_history = bool(request.get("store_history", not silent)) and not silent
        # The body padded with blank lines: line numbers are the cell's own.
        padded = "\n" * (body_line - 1) + body
        code = request.get("code")
        self.cell = Cell(silent)
        try:
            filename = request.get("filename")
            if isinstance(filename, str) and filename:  # `faaset deploy FILE.py`: errors name the file
                linecache.cache[filename] = (len(padded), None, padded.splitlines(True), filename)
            else:
                filename = self._register_source(code if isinstance(code, str) and code else padded, count)
            error = self._interruptible(self._define_cell, padded, body_line, options, filename, count,
                                        store_history)
            return self._cell_reply(error, request)
        finally:
            flush_c_stdio()
            self.cell = None

    def _define_cell(self, padded, body_line, options, filename, count, store_history):
        padded = faaset_inspector_import.rewrite(padded)  # the paper's `from Inspector import *` in the def
        module = ast.parse(padded, filename)
        # Errors Python finds only when compiling (`return` outside a function,
        # `import *` in a def) are reported here, before anything is packaged.
        compile(module, filename, "exec", dont_inherit=True)
        index = _handler_index(module.body)
        handler = module.body[index]
        options = dict(options)
        references = _magic_references(options.pop("references", None), handler.name)
        source = references + "\n".join(padded.split("\n")[body_line - 1:handler.end_lineno]) + "\n"
        answer = self.upcall("define", {"function": handler.name, "source": source, "options": options,
                                        "origin": "magic"})
        function = _function_from_define(answer, handler.name, source, options, self.stdout.write,
                                         filename=filename, first_line=body_line,
                                         doc=ast.get_docstring(handler), references=references)
        self.namespace[function.name] = function
        rest = ast.Module(body=module.body[index + 1:], type_ignores=[])
        self._run_module(rest, padded, filename, count, store_history)

    # -- comms ----------------------------------------------------------------

    def comm(self, request):
        """A frontend's comm message (or comm_info): its callbacks run
        interruptible, their output goes under the message (faaset_comms)."""
        answer = {}
        error = self._interruptible(lambda: answer.update(faaset_comms.handle(request)))
        if error is None:
            return answer
        self.stderr.write("\n".join(error["traceback"]) + "\n")
        return dict({"status": "error"}, **error)

    def _remember_result(self, value, count):
        namespace = self.namespace
        namespace["___"], namespace["__"] = namespace.get("__", ""), namespace.get("_", "")
        namespace["_"] = namespace["_%d" % count] = value
        if isinstance(namespace.get("Out"), dict):  # IPython's shell (faaset_ipython) keeps Out[N] too
            namespace["Out"][count] = value

    # -- input ----------------------------------------------------------------

    def read_input(self, prompt=""):
        """builtins.input: ask the kernel (the frontend) for a line."""
        return self._request_input(str(prompt), password=False)

    def read_password(self, prompt="Password: ", stream=None):
        """getpass.getpass: ask the kernel for a line that is not echoed."""
        return self._request_input(str(prompt), password=True)

    def _request_input(self, prompt, password):
        if self.cell is None or threading.get_ident() != threading.main_thread().ident:
            raise RuntimeError("input() is only available in the main thread while a cell runs")
        box = None
        try:
            with self.gate:  # no interrupt between registering the wait and sending the request
                box = self.router.expect_input()
                self.channel.send({"type": "input_request", "prompt": prompt, "password": password})
            reply = box.wait()
        except BaseException:
            if box is not None:
                self.router.abandon_input(box)  # the kernel still answers: drop that reply
            raise
        if reply is None:
            raise EOFError("the kernel closed the connection")
        if "error" in reply:
            if reply["error"] == "interrupted":
                raise KeyboardInterrupt
            raise RuntimeError(str(reply["error"]))
        return str(reply.get("value", ""))

    # -- complete, inspect, is_complete --------------------------------------

    def complete(self, request):
        code = str(request.get("code", ""))
        cursor = max(0, min(int(request.get("cursor_pos", len(code))), len(code)))
        kernel_magics = request.get("kernel_magics")
        magics = self.language.magic_names() + (list(kernel_magics) if isinstance(kernel_magics, list) else [])
        matches, cursor_start = completions(code, cursor, self.namespace, magics)
        return {"status": "ok", "matches": matches, "cursor_start": cursor_start,
                "cursor_end": cursor, "metadata": {}}

    def inspect(self, request):
        code = str(request.get("code", ""))
        cursor = max(0, min(int(request.get("cursor_pos", len(code))), len(code)))
        detail_level = int(request.get("detail_level") or 0)
        text = inspection_text(name_at_cursor(code, cursor), self.namespace, detail_level)
        data = {} if text is None else {"text/plain": text}
        return {"status": "ok", "found": text is not None, "data": data, "metadata": {}}

    def is_complete(self, request):
        status, indent = completeness(str(request.get("code", "")))
        return {"status": status, "indent": indent}


def main(sock, library=None):
    """Serves the kernel on SOCK; LIBRARY ({name: source}) is what cells may
    import by FaaSET's module names (faaset_library)."""
    global _runtime
    faaset_library.install(library or {})
    _runtime = Runtime(sock)
    _runtime.install()
    _runtime.serve()
