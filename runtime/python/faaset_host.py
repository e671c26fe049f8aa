# FaaSET local runtime: the long-lived Python process that runs a notebook's
# plain Python cells for the FaaSET Jupyter kernel (written in C).
#
# Start-up: the kernel runs `python -c <bootstrap.py>` with a connected
# AF_UNIX stream socket; bootstrap.py receives this file's source in a boot
# frame and calls main(sock). The process's fd 1 and fd 2 are pipes that the
# kernel shows as stdout/stderr, so output of C code and subprocesses appears too.
#
# Framing: every message, both ways, is a 4-byte big-endian length followed by
# that many bytes of UTF-8 JSON holding one object.
#
# Protocol: the runtime first sends {"type": "hello", ...}. Then the kernel sends
# one request at a time ({"id": N, "type": "execute" | "complete" | "inspect" |
# "is_complete", ...}); the runtime answers with zero or more events (stream,
# display_data, update_display_data, clear_output, execute_result, error,
# input_request) and exactly one {"type": "reply", "id": N, ...}. While it waits
# for input the runtime reads {"type": "input_reply", "value" | "error": str}.
# EOF on the socket ends the process with status 0.
#
# Cells run in __main__'s namespace. sys.stdout and sys.stderr become writers
# that send stream events; display(), update_display(), clear_output(),
# input(), getpass.getpass() and help() are provided in builtins and talk to
# the kernel. A cell's last expression is shown as an execute_result built from
# the object's _repr_*_ methods, as IPython does.
#
# Interrupts: the kernel sends SIGINT. InterruptGate turns it into a
# KeyboardInterrupt only while a cell runs, and never in the middle of a frame
# write or while waiting for an input reply (it is raised right after those).
# A SIGINT that arrives while the runtime is idle is dropped.
import ast
import builtins
import getpass
import io
import json
import linecache
import os
import signal
import struct
import sys
import threading
import traceback
import warnings

CELL_FILENAME_PREFIX = "<cell "
RUNTIME_FILENAME_PREFIX = "<faaset:"  # how bootstrap.py names the modules it creates
EXIT_GRACE_SECONDS = 0.5
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
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


class Channel:
    """Length-prefixed JSON frames over the kernel socket; writes are atomic."""

    def __init__(self, sock, gate):
        self._sock = sock
        self._gate = gate
        self._lock = threading.Lock()
        self._main_thread_id = threading.get_ident()

    def send(self, message):
        body = encode_json(message).encode("utf-8", "replace")
        frame = struct.pack(">I", len(body)) + body
        if threading.get_ident() == self._main_thread_id:
            with self._gate:
                self._write(frame)
        else:
            self._write(frame)

    def _write(self, frame):
        with self._lock:
            if self._sock is None:
                return
            try:
                self._sock.sendall(frame)
            except OSError:
                pass  # the kernel went away; receive() sees EOF and the runtime exits

    def receive(self):
        """The next message as a dict; None at EOF; ValueError for a malformed frame."""
        header = self._read_exactly(4)
        if header is None:
            return None
        body = self._read_exactly(struct.unpack(">I", header)[0])
        if body is None:
            return None
        message = json.loads(body.decode("utf-8"))
        if not isinstance(message, dict):
            raise ValueError("a frame must hold a JSON object")
        return message

    def _read_exactly(self, size):
        buffer = bytearray(size)
        view = memoryview(buffer)
        received = 0
        while received < size:
            try:
                count = self._sock.recv_into(view[received:]) if self._sock else 0
            except OSError:
                return None
            if count == 0:
                return None
            received += count
        return bytes(buffer)

    def detach_after_fork(self):
        """In a forked child: let go of the socket so the child never writes to it."""
        self._lock = threading.Lock()
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


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
    pending = [report]
    while pending:
        current = pending.pop()
        current.stack = _user_frames(current.stack)
        pending.extend(chained for chained in (current.__cause__, current.__context__) if chained)
        pending.extend(getattr(current, "exceptions", None) or ())
    try:
        evalue = str(error)
    except Exception:
        evalue = "<exception str() failed>"
    return {"ename": type(error).__name__, "evalue": evalue,
            "traceback": [chunk[:-1] if chunk.endswith("\n") else chunk for chunk in report.format()]}


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


def completions(code, cursor, namespace):
    """(matches, cursor_start): matches replace code[cursor_start:cursor]."""
    line_start = code.rfind("\n", 0, cursor) + 1
    before = code[line_start:cursor]
    if before.lstrip().startswith("%"):
        return [], cursor
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
    source = "\n".join("pass" if line.startswith("%") else line for line in lines)  # line magics
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
        self.namespace = _clean_main_namespace()
        self.cell = None
        self.stdout = StreamWriter("stdout", 1, self.emit)
        self.stderr = StreamWriter("stderr", 2, self.emit)
        self._handlers = {"execute": self.execute, "complete": self.complete,
                          "inspect": self.inspect, "is_complete": self.is_complete}

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
        os.register_at_fork(after_in_child=self._after_fork_in_child)

    def _after_fork_in_child(self):
        self.channel.detach_after_fork()
        self.stdout.write_to_fd_after_fork()
        self.stderr.write_to_fd_after_fork()

    def serve(self):
        version = sys.version_info
        implementation = {"cpython": "CPython", "pypy": "PyPy"}.get(sys.implementation.name,
                                                                   sys.implementation.name)
        self.channel.send({"type": "hello", "python_version": "%d.%d.%d" % version[:3],
                           "implementation": implementation, "executable": sys.executable,
                           "pid": os.getpid()})
        while True:
            try:
                request = self.channel.receive()
            except ValueError as error:
                os.write(2, ("FaaSET runtime: ignoring a malformed frame: %s\n" % error).encode())
                continue
            if request is None:
                exit_runtime()
            self.channel.send(self.handle(request))

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
            error = self._run_cell(code, count, store_history)
            if error is None:
                return {"status": "ok", "payload": self.cell.payload,
                        "user_expressions": self._user_expressions(request.get("user_expressions"))}
            self.emit(dict({"type": "error"}, **error))
            return dict({"status": "error", "payload": []}, **error)
        finally:
            flush_c_stdio()
            self.cell = None

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
        try:
            self.gate.open()
            try:
                self._run_code(code, filename, count, store_history)
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
        """exec all statements; eval a trailing expression and show its value."""
        module = ast.parse(code, filename)
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
        data, metadata = mime_bundle(value)
        self.emit({"type": "execute_result", "data": data, "metadata": metadata})
        if store_history:
            self._remember_result(value, count)

    def _remember_result(self, value, count):
        namespace = self.namespace
        namespace["___"], namespace["__"] = namespace.get("__", ""), namespace.get("_", "")
        namespace["_"] = namespace["_%d" % count] = value

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
        with self.gate:  # a SIGINT now is raised only once the reply is read
            self.channel.send({"type": "input_request", "prompt": prompt, "password": password})
            reply = self._wait_for_input_reply()
        if reply is None:
            raise EOFError("the kernel closed the connection")
        if "error" in reply:
            if reply["error"] == "interrupted":
                raise KeyboardInterrupt
            raise RuntimeError(str(reply["error"]))
        return str(reply.get("value", ""))

    def _wait_for_input_reply(self):
        while True:
            try:
                message = self.channel.receive()
            except ValueError:
                continue
            if message is None or message.get("type") == "input_reply":
                return message

    # -- complete, inspect, is_complete --------------------------------------

    def complete(self, request):
        code = str(request.get("code", ""))
        cursor = max(0, min(int(request.get("cursor_pos", len(code))), len(code)))
        matches, cursor_start = completions(code, cursor, self.namespace)
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


def main(sock):
    global _runtime
    _runtime = Runtime(sock)
    _runtime.install()
    _runtime.serve()
