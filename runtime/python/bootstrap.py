# FaaSET runtime bootstrap: the code the kernel passes to `python -c`.
#
# The kernel starts the local runtime as `PYTHON -c <this file>` with a
# connected socket at file descriptor FAASET_RUNTIME_FD. The first frame on it
# is {"type": "boot", "modules": {name: source}, "main": name}; the modules are
# created from that source in the order given, so one may import those before
# it (faaset_host imports faaset_frames), registered with linecache so
# tracebacks show their lines, and `main.main(sock)` takes over. Frames are a
# 4-byte big-endian length followed by that many bytes of UTF-8 JSON; this
# file reads the boot frame itself, as faaset_frames does not exist yet.
# The frame's "library" ({name: source}) holds the modules a cell may import
# (FaaSET's own module names): they are not run now but handed to
# `main.main(sock, library)`, which creates each on its first import.
# Running from -c keeps sys.path[0] == "" (the notebook's folder), as IPython does.
import json, linecache, os, socket, struct, sys, types


def _faaset_boot():
    fd = int(os.environ.pop("FAASET_RUNTIME_FD"))
    sock = socket.socket(fileno=fd)
    header = b""
    while len(header) < 4:
        chunk = sock.recv(4 - len(header))
        if not chunk:
            sys.exit(0)
        header += chunk
    size = struct.unpack(">I", header)[0]
    body = bytearray()
    while len(body) < size:
        chunk = sock.recv(min(size - len(body), 1 << 20))
        if not chunk:
            sys.exit(0)
        body += chunk
    boot = json.loads(body.decode("utf-8"))
    for name, source in boot["modules"].items():
        filename = "<faaset:%s>" % name
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        module = types.ModuleType(name)
        module.__file__ = filename
        sys.modules[name] = module
        exec(compile(source, filename, "exec"), module.__dict__)
    sys.modules[boot["main"]].main(sock, boot.get("library") or {})


_faaset_boot()
