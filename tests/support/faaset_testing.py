"""Shared helpers for the Python test suites: find the built binary, install
its kernelspec into a private folder, and start a kernel directly from a
connection file written here (so a test controls the key, the transport and
the process, and can read the kernel's stderr and exit status).

Runs on Debian's /usr/bin/python3, which has jupyter_client and pyzmq.
"""
import json
import os
import pathlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def binary():
    """The faaset binary under test: $FAASET_BINARY, else build/faaset."""
    path = os.environ.get("FAASET_BINARY") or str(ROOT / "build" / "faaset")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"faaset binary not found at {path}: build it or set FAASET_BINARY")
    return path


def cloud_fixtures():
    """tests/cloud/conftest.py loaded under a module name of its own, so that
    another suite's conftest can take its fixtures (deadline, sandbox,
    workspace, kernel) and its pytest_configure."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("faaset_cloud_conftest", ROOT / "tests" / "cloud" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cell_python():
    """Interpreter for cells in tests: $FAASET_TEST_PYTHON, else Debian's."""
    return os.environ.get("FAASET_TEST_PYTHON", "/usr/bin/python3")


def python_without(folder, *modules):
    """An interpreter for cells in which MODULES do not import: a wrapper
    script in FOLDER that runs cell_python() with a folder first on
    PYTHONPATH holding, for each module, one that raises ImportError (as an
    interpreter without that package would). Subprocesses inherit it."""
    folder = pathlib.Path(folder)
    shims = folder / "hidden-modules"
    shims.mkdir(parents=True, exist_ok=True)
    for module in modules:
        (shims / f"{module}.py").write_text(f"raise ImportError({f'No module named {module!r} (hidden by the test)'!r})\n")
    wrapper = folder / ("python-without-" + "-".join(modules))
    wrapper.write_text('#!/bin/sh\nPYTHONPATH="%s${PYTHONPATH:+:$PYTHONPATH}" exec %s "$@"\n' % (shims, cell_python()))
    wrapper.chmod(0o755)
    return str(wrapper)


class Sandbox:
    """A private folder holding a kernelspec install, a history file and a
    working directory, plus the environment that points Jupyter at them."""

    def __init__(self, interrupt_mode="message", python=None):
        faaset = binary()
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="faaset-test-"))
        self.python = python or cell_python()
        subprocess.run([faaset, "install", "--prefix", str(self.dir), "--python", self.python,
                        "--interrupt-mode", interrupt_mode], check=True, stdout=subprocess.DEVNULL)
        self.env = dict(os.environ)
        self.env.update({
            "JUPYTER_PATH": str(self.dir / "share" / "jupyter"),
            "FAASET_HISTORY": str(self.dir / "history.jsonl"),
            "JUPYTER_RUNTIME_DIR": str(self.dir / "runtime"),
        })
        self.env.pop("FAASET_PYTHON", None)  # the kernelspec's --python is what tests exercise
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1")

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DirectKernel:
    """`faaset kernel -f FILE` started by the test, with a BlockingKernelClient."""

    def __init__(self, sandbox, key=None, transport="tcp", extra_env=None, python=None, interrupt_mode="message"):
        self.sandbox = sandbox
        self.key = str(uuid.uuid4()) if key is None else key
        env = dict(sandbox.env)
        env["JPY_PARENT_PID"] = str(os.getpid())  # the kernel exits if the test process dies
        env.update(extra_env or {})
        # A port picked free can be taken by another process before the kernel
        # binds it (the kernel then exits saying so): try again with new ports.
        for attempt in range(3):
            self._launch(transport, env, python or sandbox.python, interrupt_mode)
            try:
                self.client.wait_for_ready(timeout=30)
                return
            except RuntimeError:
                self.client.stop_channels()
                if self.process.poll() is None or "cannot bind" not in self.stderr() or attempt == 2:
                    raise
                self.stderr_file.close()

    def _launch(self, transport, env, python, interrupt_mode):
        from jupyter_client import BlockingKernelClient

        name = uuid.uuid4().hex[:8]
        if transport == "ipc":
            ip = str(self.sandbox.dir / f"ipc-{name}")
            ports = {k: i + 1 for i, k in enumerate(["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"])}
        else:
            ip = "127.0.0.1"
            ports = {k: _free_port() for k in ["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"]}
        self.info = dict(ports, ip=ip, transport=transport, key=self.key, signature_scheme="hmac-sha256",
                         kernel_name="faaset")
        self.connection_file = self.sandbox.dir / f"kernel-{name}.json"
        self.connection_file.write_text(json.dumps(self.info))
        self.stderr_path = self.sandbox.dir / f"kernel-{name}.stderr"
        argv = [binary(), "kernel", "-f", str(self.connection_file), "--python", python,
                "--interrupt-mode", interrupt_mode]
        self.stderr_file = open(self.stderr_path, "w")
        self.process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=self.stderr_file,
                                        cwd=self.sandbox.dir, start_new_session=True)
        self.client = BlockingKernelClient()
        self.client.load_connection_info(self.info)
        self.client.start_channels()

    def stderr(self):
        self.stderr_file.flush()
        return self.stderr_path.read_text(errors="replace")

    def execute(self, code, timeout=30, **kwargs):
        """Runs CODE; returns (reply content, [its IOPub outputs: everything between
        busy and idle except execute_input])."""
        msg_id = self.client.execute(code, **kwargs)
        return self.collect(msg_id, timeout)

    def collect(self, msg_id, timeout=30):
        deadline = time.monotonic() + timeout
        reply = None
        while reply is None:
            msg = self.client.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") == msg_id:
                reply = msg
        outputs = []
        while True:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status":
                if msg["content"]["execution_state"] == "idle":
                    break
                continue
            if msg["msg_type"] == "execute_input":
                continue
            outputs.append(msg)
        return reply["content"], outputs

    def shutdown(self, timeout=5):
        """Sends shutdown_request on control; returns seconds until the process exited."""
        start = time.monotonic()
        self.client.shutdown()
        self.process.wait(timeout=timeout)
        return time.monotonic() - start

    def stop(self):
        """Shuts the kernel down if still running, and checks that it exited
        cleanly and left no sanitizer report. Returns its exit status."""
        clean = True
        if self.process.poll() is None:
            try:
                self.shutdown()
            except Exception:
                clean = False
                self.process.kill()
                self.process.wait()
        self.client.stop_channels()
        self.stderr_file.close()
        text = self.stderr_path.read_text(errors="replace")
        for marker in SANITIZER_MARKERS:
            assert marker not in text, f"sanitizer report in kernel stderr:\n{text}"
        assert clean, f"the kernel did not shut down when asked:\n{text}"
        return self.process.returncode


def texts(outputs, msg_type="stream", name="stdout"):
    """Concatenated text of the stream outputs named NAME."""
    return "".join(m["content"]["text"] for m in outputs
                   if m["msg_type"] == msg_type and m["content"].get("name") == name)


__all__ = ["ROOT", "Sandbox", "DirectKernel", "binary", "cell_python", "python_without", "texts", "signal", "sys"]


class RawServer:
    """A TCP server on 127.0.0.1 for tests that need to misbehave below
    HTTP (resets, partial answers, not-HTTP): one thread per connection
    runs SERVE(conn); reset(conn) closes a connection with an RST."""

    def __init__(self, serve):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        self._serve = serve
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    @staticmethod
    def read_request(conn, pending=b""):
        """The next HTTP request on CONN after PENDING bytes already read:
        (head, body, what follows), or (None, None, b"") when CONN ends."""
        while b"\r\n\r\n" not in pending:
            chunk = conn.recv(65536)
            if not chunk:
                return None, None, b""
            pending += chunk
        head, _, rest = pending.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return None, None, b""
            rest += chunk
        return head, rest[:length], rest[length:]

    @staticmethod
    def reset(conn):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def close(self):
        self.listener.close()
