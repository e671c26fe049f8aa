"""Tests for runtime/python/worker.py (a local platform worker) and
runtime/python/faaset_handler.py (the shim in every package).

Each test builds a package folder as the kernel's packager does
(faaset_function.py, faaset_handler.py = `FAASET_USER_FUNCTION = "NAME"` +
the shim, SAAF.py / Inspector.py when they exist) and starts the worker as the
kernel does: `python -c worker.py` with one end of a socketpair at
$FAASET_WORKER_FD, faaset_frames' source in $FAASET_FRAMES_SOURCE, the package
folder as the current directory and its own TMPDIR.
Run with `python3 -m pytest tests/runtime` or `python3 -m unittest discover -s tests/runtime`.
"""
import json
import os
import resource
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

RUNTIME_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "python")
READ_TIMEOUT = 10.0
HAVE_SAAF = os.path.exists(os.path.join(RUNTIME_DIR, "SAAF.py"))


def _read_source(name):
    with open(os.path.join(RUNTIME_DIR, name), encoding="utf-8") as source:
        return source.read()


def build_package(folder, source, function_name):
    """A package folder like the one the kernel unpacks for a worker."""
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "faaset_function.py"), "w", encoding="utf-8") as out:
        out.write(textwrap.dedent(source))
    with open(os.path.join(folder, "faaset_handler.py"), "w", encoding="utf-8") as out:
        out.write('FAASET_USER_FUNCTION = "%s"\n' % function_name)
        out.write(_read_source("faaset_handler.py"))
    for name in ("SAAF.py", "Inspector.py"):
        if os.path.exists(os.path.join(RUNTIME_DIR, name)):
            shutil.copy(os.path.join(RUNTIME_DIR, name), os.path.join(folder, name))
    return folder


class Worker:
    """A worker process and the kernel's end of its socket."""

    def __init__(self, folder, tmpdir, name="hello", memory_mb=None, env=None, handler=None):
        self.sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child_fd = child_sock.fileno()
        environment = dict(os.environ, FAASET_WORKER_FD=str(child_fd), TMPDIR=tmpdir,
                           FAASET_FUNCTION_NAME=name, FAASET_FUNCTION_MEMORY=str(memory_mb or 128),
                           FAASET_FUNCTION_TIMEOUT="30", FAASET_PLATFORM="local",
                           FAASET_FRAMES_SOURCE=_read_source("faaset_frames.py"))
        environment.pop("PYTHONPATH", None)
        if handler:
            environment["FAASET_FUNCTION_HANDLER"] = handler
        environment.update(env or {})

        def limit_memory():
            if memory_mb:
                limit = memory_mb * 1024 * 1024
                resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        self.process = subprocess.Popen(
            [sys.executable, "-c", _read_source("worker.py")], pass_fds=[child_fd], env=environment,
            cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            preexec_fn=limit_memory, start_new_session=True)
        child_sock.close()
        self.next_id = 0

    def close(self):
        self.sock.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process.stderr.close()

    def send(self, message):
        body = json.dumps(message).encode("utf-8")
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def _read_exactly(self, size, deadline):
        data = b""
        while len(data) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.sock], [], [], remaining)[0]:
                raise AssertionError("no frame from the worker in time")
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise AssertionError("the worker closed the socket; stderr: %s"
                                     % self.process.stderr.read().decode("utf-8", "replace"))
            data += chunk
        return data

    def receive(self, timeout=READ_TIMEOUT):
        deadline = time.monotonic() + timeout
        size = struct.unpack(">I", self._read_exactly(4, deadline))[0]
        return json.loads(self._read_exactly(size, deadline).decode("utf-8"))

    def invoke(self, payload, deadline_ms=None):
        self.next_id += 1
        self.send({"type": "invoke", "id": self.next_id, "payload": payload,
                   "deadline_ms": deadline_ms or int(time.time() * 1000) + 30000})
        answer = self.receive()
        assert answer["id"] == self.next_id, answer
        return answer


HELLO = """
    import os, sys, tempfile

    GREETING = "Hello "

    def helper(name):
        return GREETING + name + "!"

    def hello(request, context):
        if request.get("fail"):
            raise ValueError("bad request: " + request["fail"])
        if request.get("print"):
            print("to stdout")
            print("to stderr", file=sys.stderr)
        if request.get("set"):
            return {1, 2}
        if request.get("nan"):
            return float("nan")
        if request.get("grab"):
            blocks = []
            while True:
                blocks.append(bytearray(1024 * 1024))
        if request.get("huge"):
            return len(bytearray(1024 * 1024 * 1024))
        if request.get("context"):
            return {"function_name": context.function_name, "memory": context.memory_limit_in_mb,
                    "arn": context.invoked_function_arn, "request_id": context.aws_request_id,
                    "remaining": context.get_remaining_time_in_millis(),
                    "platform": os.environ.get("FAASET_PLATFORM"), "cwd": os.getcwd(),
                    "path0": sys.path[0]}
        if request.get("tmp"):
            return {"tmp": tempfile.gettempdir(), "pid": os.getpid()}
        return {"message": helper(request.get("name", "nobody"))}
"""


class WorkerTestCase(unittest.TestCase):
    def setUp(self):
        self.base = tempfile.mkdtemp(prefix="faaset-worker-test-")
        self.workers = []

    def tearDown(self):
        for worker in self.workers:
            worker.close()
        shutil.rmtree(self.base, ignore_errors=True)

    def start(self, source=HELLO, name="hello", tag="w", **kwargs):
        folder = build_package(os.path.join(self.base, tag, "package"), source, name)
        tmpdir = os.path.join(self.base, tag, "tmp")
        os.makedirs(tmpdir, exist_ok=True)
        worker = Worker(folder, tmpdir, name=name, **kwargs)
        self.workers.append(worker)
        return worker

    def start_ready(self, *args, **kwargs):
        worker = self.start(*args, **kwargs)
        self.assertEqual(worker.receive(), {"type": "ready"})
        return worker


class WorkerTest(WorkerTestCase):
    def test_ready_and_result(self):
        worker = self.start_ready()
        answer = worker.invoke({"name": "Bob"})
        self.assertEqual(answer, {"type": "result", "id": 1, "result": {"message": "Hello Bob!"}})
        self.assertEqual(worker.invoke({})["result"], {"message": "Hello nobody!"})

    def test_context_and_environment(self):
        worker = self.start_ready(memory_mb=512)
        deadline = int(time.time() * 1000) + 5000
        result = worker.invoke({"context": True}, deadline_ms=deadline)["result"]
        self.assertEqual(result["function_name"], "hello")
        self.assertEqual(result["memory"], "512")
        self.assertEqual(result["arn"], "local:hello")
        self.assertEqual(result["platform"], "local")
        self.assertTrue(0 < result["remaining"] <= 5000)
        self.assertEqual(os.path.realpath(result["cwd"]), os.path.realpath(result["path0"]))
        other = worker.invoke({"context": True})["result"]
        self.assertNotEqual(other["request_id"], result["request_id"])

    def test_frames_module_comes_from_the_kernel_not_the_package(self):
        source = '''
        import os, sys
        def frames(request, context):
            return {"file": sys.modules["faaset_frames"].__file__, "env": os.environ.get("FAASET_FRAMES_SOURCE"),
                    "decoy": "decoy" in sys.modules}
        '''
        folder = build_package(os.path.join(self.base, "decoy", "package"), source, "frames")
        with open(os.path.join(folder, "faaset_frames.py"), "w", encoding="utf-8") as out:
            out.write("import decoy\nraise ImportError('the package copy was imported')\n")
        tmpdir = os.path.join(self.base, "decoy", "tmp")
        os.makedirs(tmpdir, exist_ok=True)
        worker = Worker(folder, tmpdir, name="frames")
        self.workers.append(worker)
        self.assertEqual(worker.receive(), {"type": "ready"})
        result = worker.invoke({})["result"]
        self.assertEqual(result, {"file": "<faaset:faaset_frames>", "env": None, "decoy": False})

    def test_exception_is_lambda_error_frame(self):
        worker = self.start_ready()
        answer = worker.invoke({"fail": "no name"})
        self.assertEqual(answer["type"], "error")
        self.assertEqual(answer["errorType"], "ValueError")
        self.assertEqual(answer["errorMessage"], "bad request: no name")
        stack = answer["stackTrace"]
        self.assertEqual(len(stack), 1, stack)
        self.assertRegex(stack[0], r'^  File ".*faaset_function.py", line 11, in hello\n'
                                   r'    raise ValueError\("bad request: " \+ request\["fail"\]\)$')
        self.assertNotIn("faaset_handler", "".join(stack))
        self.assertEqual(worker.invoke({"name": "again"})["result"], {"message": "Hello again!"})

    def test_output_goes_to_fd_and_is_flushed(self):
        worker = self.start_ready()
        self.assertEqual(worker.invoke({"print": True})["type"], "result")
        self.assertTrue(select.select([worker.process.stdout], [], [], READ_TIMEOUT)[0])
        self.assertEqual(os.read(worker.process.stdout.fileno(), 100), b"to stdout\n")
        self.assertTrue(select.select([worker.process.stderr], [], [], READ_TIMEOUT)[0])
        self.assertEqual(os.read(worker.process.stderr.fileno(), 100), b"to stderr\n")

    def test_result_that_is_not_json(self):
        worker = self.start_ready()
        for payload in ({"set": True}, {"nan": True}):
            answer = worker.invoke(payload)
            self.assertEqual(answer["type"], "error")
            self.assertEqual(answer["errorType"], "TypeError")
            self.assertIn("JSON-serialisable", answer["errorMessage"])
        self.assertEqual(worker.invoke({"name": "x"})["type"], "result")

    def test_memory_error_under_rlimit(self):
        worker = self.start_ready(memory_mb=256)
        for payload in ({"huge": True}, {"grab": True}):
            answer = worker.invoke(payload)
            self.assertEqual(answer["type"], "error", answer)
            self.assertEqual(answer["errorType"], "MemoryError")
            self.assertIn("faaset_function.py", "".join(answer["stackTrace"]))
            self.assertEqual(worker.invoke({"name": "survivor"})["result"], {"message": "Hello survivor!"})
        self.assertIsNone(worker.process.poll())

    def test_init_error(self):
        worker = self.start(source="import os\nsetting = int('not a number')\n\ndef hello(r, c):\n    return 1\n")
        message = worker.receive()
        self.assertEqual(message["type"], "init_error")
        self.assertEqual(message["errorType"], "ValueError")
        self.assertIn("not a number", message["errorMessage"])
        self.assertEqual(len(message["stackTrace"]), 1, message)
        self.assertIn("faaset_function.py\", line 2, in <module>", message["stackTrace"][0])
        self.assertEqual(worker.process.wait(timeout=5), 1)

    def test_init_error_syntax(self):
        worker = self.start(source="def hello(r, c):\n    return (1 +\n")
        message = worker.receive()
        self.assertEqual((message["type"], message["errorType"]), ("init_error", "SyntaxError"))
        self.assertIn("faaset_function.py", "".join(message["stackTrace"]))

    def test_init_error_missing_function(self):
        worker = self.start(source="def other(r, c):\n    return 1\n")
        message = worker.receive()
        self.assertEqual((message["type"], message["errorType"]), ("init_error", "AttributeError"))
        self.assertIn("'hello'", message["errorMessage"])

    def test_eof_exits_zero(self):
        worker = self.start_ready()
        worker.sock.shutdown(socket.SHUT_RDWR)
        self.assertEqual(worker.process.wait(timeout=5), 0)

    def test_custom_handler_setting(self):
        worker = self.start_ready(handler="faaset_function.hello")
        self.assertEqual(worker.invoke({"name": "direct"})["result"], {"message": "Hello direct!"})

    def test_two_workers_have_their_own_tmpdir(self):
        first = self.start_ready(tag="one")
        second = self.start_ready(tag="two")
        one, two = first.invoke({"tmp": True})["result"], second.invoke({"tmp": True})["result"]
        self.assertEqual(one["tmp"], os.path.join(self.base, "one", "tmp"))
        self.assertEqual(two["tmp"], os.path.join(self.base, "two", "tmp"))
        self.assertNotEqual(one["pid"], two["pid"])

    @unittest.skipUnless(HAVE_SAAF, "runtime/python/SAAF.py is not there")
    def test_saaf_newcontainer(self):
        source = """
            from SAAF import Inspector

            def hello(request, context):
                inspector = Inspector()
                inspector.inspectContainer()
                inspector.inspectPlatform()
                return inspector.finish()
        """
        first, second = self.start_ready(source, tag="one"), self.start_ready(source, tag="two")
        cold, warm = first.invoke({})["result"], first.invoke({})["result"]
        self.assertEqual((cold["newcontainer"], warm["newcontainer"]), (1, 0))
        self.assertEqual(cold["uuid"], warm["uuid"])
        other = second.invoke({})["result"]
        self.assertEqual(other["newcontainer"], 1)
        self.assertNotEqual(other["uuid"], cold["uuid"])


class ShimTest(unittest.TestCase):
    """faaset_handler.py's entry points, imported in a child process."""

    def run_shim(self, source, code):
        folder = tempfile.mkdtemp(prefix="faaset-shim-test-")
        self.addCleanup(shutil.rmtree, folder, True)
        build_package(folder, source, "double")
        completed = subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                                   text=True, timeout=30)
        self.assertEqual(completed.returncode, 0, completed.stderr)
        return json.loads(completed.stdout)

    def test_entry_points(self):
        source = "def double(event, context):\n    return event if context == 'same' else {'n': event['n'] * 2}\n"
        code = ("import json, faaset_handler as h\n"
                "print(json.dumps([h.handle({'n': 2}, None), h.lambda_handler({'n': 3}, None),"
                " h.main({'n': 4}), h.handle([1], 'same'), h.FAASET_USER_FUNCTION]))")
        self.assertEqual(self.run_shim(source, code), [{"n": 4}, {"n": 6}, {"n": 8}, [1], "double"])

    def test_main_wraps_a_result_that_is_not_a_dict(self):
        source = "def double(event, context):\n    return [event['n'], context.function_name]\n"
        code = "import json, faaset_handler as h\nprint(json.dumps(h.main({'n': 4})))"
        self.assertEqual(self.run_shim(source, code), {"faaset_value": [4, None]})

    def test_main_takes_the_env_parameter_and_returns_an_exception_as_error(self):
        source = ("import os\ndef double(event, context):\n"
                  "    if event.get('fail'):\n        raise ValueError('no')\n"
                  "    return {'keys': sorted(event), 'env': os.environ.get('FAASET_T')}\n")
        code = ("import json, faaset_handler as h\n"
                "print(json.dumps([h.main({'n': 1, '__faaset_env': {'FAASET_T': 'x'}}), h.main({'fail': 1})]))")
        ok, failed = self.run_shim(source, code)
        self.assertEqual(ok, {"keys": ["n"], "env": "x"})
        self.assertEqual((failed["error"]["errorType"], failed["error"]["errorMessage"]), ("ValueError", "no"))
        self.assertIn("raise ValueError('no')", "".join(failed["error"]["stackTrace"]))


if __name__ == "__main__":
    unittest.main()
