# FaaSET runtime comms: Jupyter comms (comm_open / comm_msg / comm_close)
# between the notebook's Python and the frontend, so ipywidgets, tqdm.notebook
# and other widget-based UIs work in the FaaSET kernel.
#
# The kernel (kernel/comms.c) turns a frontend's comm_open / comm_msg /
# comm_close into a `comm` request for the runtime ({"type": "comm",
# "msg_type", "msg": {header, parent_header, metadata, content, buffers}})
# and comm_info_request into `comm_info` ({"target_name"}); faaset_host
# hands both to handle(). The other way, a Comm sends {"type": "comm_open" |
# "comm_msg" | "comm_close", "content": {...}, "metadata": {...}} at any time,
# from any thread; the kernel publishes it on IOPub under the request that is
# running (the cell, or the comm_msg whose callback runs), as ipykernel does.
#
# One CommManager per runtime holds the targets and the open comms. Comm has
# the methods of both shapes widget libraries use: ipykernel's Comm
# (`Comm(target_name, data=...)`, `kernel`, `on_msg`, `send`, `close`) and the
# `comm` package's BaseComm / `comm.create_comm` / `comm.get_comm_manager`.
#
# How libraries find it: an import hook (a meta path finder) serves
# `ipykernel.comm` (and its `comm` / `manager` submodules) from this module,
# since ipykernel's own Comm needs a running ipykernel; after the `comm`
# package is imported its create_comm and get_comm_manager are pointed here;
# after `ipywidgets` is imported its comm targets (jupyter.widget,
# jupyter.widget.version; until then those targets import ipywidgets when a
# frontend opens a comm to them) are registered and, while no IPython shell is
# initialized, the `display` / `clear_output` it imported from IPython.display
# (which would only print without a shell) are the runtime's own. The same is
# done for tqdm.notebook.
#
# While a frontend message's callbacks run, parent_message() is that message:
# an ipywidgets Output whose msg_id is set to its msg_id gets what the
# callback shows (the frontend routes IOPub messages under that id into the
# widget; ipywidgets 6's `with output:` looks for IPython's kernel instead).
#
# Limits: binary buffers are not carried (the kernel's messages have no buffer
# frames): outgoing buffers are dropped with a warning, incoming messages have
# `buffers: []`. A callback's exception is printed on stderr under the message
# that ran it, and the comm stays open.
import importlib.abc
import importlib.util
import sys
import threading
import traceback
import types
import uuid

COMM_EVENTS = ("comm_open", "comm_msg", "comm_close")
_PATCHED_AFTER_IMPORT = ("comm", "ipywidgets", "tqdm.notebook")
_SHIM_MODULES = ("ipykernel.comm", "ipykernel.comm.comm", "ipykernel.comm.manager")
_WIDGET_TARGETS = ("jupyter.widget", "jupyter.widget.version")

_manager = None  # the CommManager install() made
_handling = threading.local()  # .message: the frontend message whose callbacks run in this thread


class Kernel:
    """What widget libraries reach through `comm.kernel` and `register_comm_target(kernel)`."""

    def __init__(self, manager):
        self.comm_manager = manager
        self.shell = None  # ipykernel's handle_msg triggers shell events when a shell exists

    def __repr__(self):
        return "<FaaSET kernel>"


class Comm:
    """One end of a comm; the frontend holds the other (see the file comment)."""

    def __init__(self, target_name="comm", data=None, metadata=None, buffers=None, comm_id=None,
                 primary=True, target_module=None, kernel=None, **kwargs):
        manager = _active_manager()
        self.comm_id = comm_id or uuid.uuid4().hex
        self.target_name = target_name or "comm"
        self.target_module = target_module
        self.primary = primary
        self.kernel = kernel or manager.kernel
        self.topic = ("comm-%s" % self.comm_id).encode("ascii")
        self._msg_callback = None
        self._close_callback = None
        self._closed = True
        self._open_data = kwargs.get("_open_data") or {}
        self._close_data = kwargs.get("_close_data") or {}
        if primary:
            self.open(data=data, metadata=metadata, buffers=buffers)
        else:
            self._closed = False

    def __repr__(self):
        return "<Comm %s target=%s>" % (self.comm_id, self.target_name)

    def _publish(self, msg_type, data, metadata, buffers, **fields):
        if buffers:
            sys.stderr.write("FaaSET: a %s on comm %s had %d binary buffer(s); they are not sent "
                             "(this kernel does not carry binary buffers)\n" % (msg_type, self.comm_id, len(buffers)))
        content = dict(fields, comm_id=self.comm_id, data=_json_clean({} if data is None else data))
        _active_manager().send({"type": msg_type, "content": content,
                                "metadata": _json_clean({} if metadata is None else metadata)})

    def open(self, data=None, metadata=None, buffers=None):
        """Open the frontend's end of this comm."""
        manager = _active_manager()
        manager.register_comm(self)
        try:
            self._publish("comm_open", self._open_data if data is None else data, metadata, buffers,
                          target_name=self.target_name, target_module=self.target_module)
        except Exception:
            manager.unregister_comm(self)
            raise
        self._closed = False

    def send(self, data=None, metadata=None, buffers=None):
        """Send a message to the frontend's end."""
        if not self._closed:
            self._publish("comm_msg", data, metadata, buffers)

    def close(self, data=None, metadata=None, buffers=None, deleting=False):
        """Close both ends (once)."""
        if self._closed:
            return
        self._closed = True
        self._publish("comm_close", self._close_data if data is None else data, metadata, buffers)
        _active_manager().unregister_comm(self)

    def on_msg(self, callback):
        """callback(msg) runs for every comm_msg from the frontend (None: no callback)."""
        self._msg_callback = callback

    def on_close(self, callback):
        """callback(msg) runs when the frontend closes the comm."""
        self._close_callback = callback

    def handle_msg(self, msg):
        if self._msg_callback:
            self._msg_callback(msg)

    def handle_close(self, msg):
        if self._close_callback:
            self._close_callback(msg)


class CommManager:
    """The runtime's targets and open comms; ipykernel's and the comm package's API."""

    def __init__(self, send):
        self.send = send
        self.kernel = Kernel(self)
        self.comms = {}
        self.targets = {}
        self._lock = threading.Lock()

    def register_target(self, target_name, f):
        """f(comm, msg) runs when the frontend opens a comm to target_name (f may be an import string)."""
        if isinstance(f, str):
            module, _, name = f.rpartition(".")
            f = getattr(importlib.import_module(module), name)
        self.targets[target_name] = f

    def unregister_target(self, target_name, f=None):
        return self.targets.pop(target_name, None)

    def register_comm(self, comm):
        with self._lock:
            self.comms[comm.comm_id] = comm
        return comm.comm_id

    def unregister_comm(self, comm):
        with self._lock:
            return self.comms.pop(comm.comm_id, None)

    def get_comm(self, comm_id):
        return self.comms.get(comm_id)

    # -- messages from the frontend (ipykernel's handler names) --

    def comm_open(self, stream, ident, msg):
        content = msg["content"]
        target_name = content.get("target_name")
        comm = Comm(comm_id=content["comm_id"], primary=False, target_name=target_name)
        self.register_comm(comm)
        target = self.targets.get(target_name)
        # no such target: closed, as ipykernel does (which only logs it)
        if target is not None and _run_callback("opening a comm to %r" % (target_name,), target, comm, msg):
            return
        comm.close()

    def comm_msg(self, stream, ident, msg):
        comm = self._known(msg, "comm_msg")
        if comm is not None:
            _run_callback("the comm_msg callback of %s" % comm.comm_id, comm.handle_msg, msg)

    def comm_close(self, stream, ident, msg):
        comm = self._known(msg, "comm_close")
        if comm is None:
            return
        comm._closed = True
        self.unregister_comm(comm)
        _run_callback("the comm_close callback of %s" % comm.comm_id, comm.handle_close, msg)

    def _known(self, msg, msg_type):
        """The open comm msg is for, or None: ignored, as ipykernel does (a close may have raced it)."""
        return self.get_comm(msg["content"]["comm_id"])

    def info(self, target_name=None):
        """comm_info_reply's `comms`: {comm_id: {target_name}} (of one target if given)."""
        with self._lock:
            comms = list(self.comms.values())
        return {comm.comm_id: {"target_name": comm.target_name} for comm in comms
                if target_name is None or comm.target_name == target_name}


def _run_callback(what, function, *args):
    """function(*args); an exception is printed (the comm stays usable). True if it returned."""
    try:
        function(*args)
        return True
    except KeyboardInterrupt:
        raise
    except Exception:
        sys.stderr.write("Exception in %s:\n%s" % (what, traceback.format_exc()))
        return False


def _json_clean(value):
    """value with tuples as lists and bytes as text, as ipykernel's json_clean does for comms."""
    if isinstance(value, dict):
        return {str(key): _json_clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_clean(item) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        import base64
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _active_manager():
    if _manager is None:
        raise RuntimeError("comms are not available: the FaaSET runtime is not running")
    return _manager


def create_comm(*args, **kwargs):
    """The comm package's create_comm, for this kernel."""
    return Comm(*args, **kwargs)


def get_comm_manager():
    """The comm package's get_comm_manager, for this kernel."""
    return _active_manager()


# ---------------------------------------------------------------------------
# Requests from the kernel


def _message(raw):
    """A frontend message as Jupyter libraries see it (msg_id, msg_type, buffers at the top)."""
    header = raw.get("header") if isinstance(raw.get("header"), dict) else {}
    content = raw.get("content")
    if not isinstance(content, dict) or not isinstance(content.get("comm_id"), str):
        raise ValueError("a comm message needs a content with a comm_id string")
    return {"header": header, "parent_header": raw.get("parent_header") or {},
            "metadata": raw.get("metadata") or {}, "content": content, "buffers": [],
            "msg_id": header.get("msg_id"), "msg_type": header.get("msg_type")}


def handle(request):
    """The reply fields for a `comm` or `comm_info` request."""
    manager = _active_manager()
    if request.get("type") == "comm_info":
        target_name = request.get("target_name")
        return {"status": "ok", "comms": manager.info(target_name if isinstance(target_name, str) else None)}
    msg_type = request.get("msg_type")
    if msg_type not in COMM_EVENTS:
        raise ValueError("not a comm message type: %r" % (msg_type,))
    handler = getattr(manager, msg_type)
    message = _message(request.get("msg") or {})
    _handling.message = message
    try:
        handler(None, None, message)
    finally:
        _handling.message = None
    return {"status": "ok"}


def parent_message():
    """The frontend comm message whose callbacks run in this thread, or {}."""
    return getattr(_handling, "message", None) or {}


# ---------------------------------------------------------------------------
# Making widget libraries use these comms


def _shim_module(name):
    module = types.ModuleType(name, "FaaSET's comms in place of ipykernel's (see faaset_comms).")
    module.Comm, module.CommManager = Comm, CommManager
    module.__all__ = ["Comm", "CommManager"]
    if name == "ipykernel.comm":
        module.__path__ = []  # a package, so ipykernel.comm.comm imports
    return module


class _ShimLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return _shim_module(spec.name)

    def exec_module(self, module):
        pass


class _PatchingLoader(importlib.abc.Loader):
    """Runs the real loader, then patches the module."""

    def __init__(self, loader, patch):
        self._loader = loader
        self._patch = patch

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            self._patch(module)
        except Exception as error:  # a library version we do not know: widgets may not work, imports do
            sys.stderr.write("FaaSET: could not connect %s to the kernel's comms: %r\n" % (module.__name__, error))


class _ImportHook(importlib.abc.MetaPathFinder):
    def __init__(self, patches):
        self._patches = patches

    def find_spec(self, fullname, path, target=None):
        if fullname in _SHIM_MODULES:
            return importlib.util.spec_from_loader(fullname, _ShimLoader(), is_package=fullname == "ipykernel.comm")
        patch = self._patches.get(fullname)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


def _no_ipython_shell():
    shell_module = sys.modules.get("IPython.core.interactiveshell")
    return shell_module is None or not shell_module.InteractiveShell.initialized()


def _ipython_display_twins(display, clear_output):
    """display / clear_output with IPython.display's signatures, for modules that imported IPython's."""
    ipython_display = sys.modules.get("IPython.core.display_functions")

    def display_twin(*objs, include=None, exclude=None, metadata=None, transient=None, display_id=None,
                     raw=False, clear=False, **kwargs):
        if not _no_ipython_shell() and ipython_display is not None:
            return ipython_display.display(*objs, include=include, exclude=exclude, metadata=metadata,
                                           transient=transient, display_id=display_id, raw=raw, clear=clear,
                                           **kwargs)
        if clear:
            clear_output(wait=True)
        return display(*objs, include=include, exclude=exclude, metadata=metadata, display_id=display_id,
                       raw=raw)

    def clear_output_twin(wait=False):
        if not _no_ipython_shell() and ipython_display is not None:
            return ipython_display.clear_output(wait=wait)
        return clear_output(wait=wait)

    return display_twin, clear_output_twin


def _replace_ipython_display(prefix, display, clear_output):
    """In every loaded module under prefix: IPython.display's display / clear_output become the twins."""
    try:
        from IPython import display as ipython
    except ImportError:
        return
    display_twin, clear_twin = _ipython_display_twins(display, clear_output)
    for name, module in list(sys.modules.items()):
        if module is None or not (name == prefix or name.startswith(prefix + ".")):
            continue
        if getattr(module, "display", None) is ipython.display:
            module.display = display_twin
        if getattr(module, "clear_output", None) is ipython.clear_output:
            module.clear_output = clear_twin


def _widget_target_importing_ipywidgets(target_name):
    """A frontend with widgets opens jupyter.widget.version as it connects, before
    any cell imported ipywidgets: import it then (its import registers the real
    targets, see install) and hand the comm over."""

    def open_after_import(comm, msg):
        try:
            import ipywidgets  # noqa: F401 - the import hook registers the targets
        except ImportError:  # no widgets here: closed like any unknown target
            comm.close()
            return
        target = _manager.targets.get(target_name)
        if target is None or target is open_after_import:
            raise RuntimeError("ipywidgets registered no %s target" % target_name)
        target(comm, msg)

    return open_after_import


def install(send, display, clear_output):
    """Make the comm manager (send(frame) sends to the kernel) and the import hook."""
    global _manager
    _manager = CommManager(send)

    def patch_comm(module):
        module.create_comm, module.get_comm_manager = create_comm, get_comm_manager

    def patch_ipywidgets(module):
        module.register_comm_target(_manager.kernel)
        _replace_ipython_display("ipywidgets", display, clear_output)

    def patch_tqdm(module):
        _replace_ipython_display("tqdm.notebook", display, clear_output)

    for target_name in _WIDGET_TARGETS:
        _manager.register_target(target_name, _widget_target_importing_ipywidgets(target_name))

    patches = dict(zip(_PATCHED_AFTER_IMPORT, (patch_comm, patch_ipywidgets, patch_tqdm)))
    sys.meta_path.insert(0, _ImportHook(patches))
    return _manager
