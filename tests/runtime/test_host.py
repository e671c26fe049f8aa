"""Tests for runtime/python/faaset_host.py, the FaaSET local Python runtime.

Each test starts the runtime exactly as the kernel does: `python -c bootstrap.py`
with one end of a socketpair at $FAASET_RUNTIME_FD, a boot frame carrying
the runtime's modules (faaset_frames, the cell language's, faaset_host), then length-prefixed JSON frames both ways.
Run with `python3 -m pytest tests/runtime` or
`python3 -m unittest discover -s tests/runtime`.
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

RUNTIME_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "python")
READ_TIMEOUT = 10.0
RUNTIME_MODULES = ("faaset_frames", "faaset_comms", "faaset_transform", "faaset_inline", "faaset_language", "faaset_magics",
                   "faaset_ipython", "faaset_results", "faaset_inspector_import", "faaset_library", "faaset_host")
# created on first import (runtime/pyhost.c's library): FaaSET's module names
LIBRARY_MODULES = ("faaset_compat", "faaset_compat_helpers", "faaset_compat_faaset", "faaset_compat_runner",
                   "faaset_compat_ui")


def _read_source(name):
    with open(os.path.join(RUNTIME_DIR, name), encoding="utf-8") as source:
        return source.read()


class RuntimeProcess:
    """A runtime child process and the kernel's end of its socket.

    It plays the kernel: collect() gathers a request's events and hands every
    upcall (a frame with a `call` number) to an `answer` function, which may
    answer it at once (return the result fields) or keep it to answer later
    with answer_upcall()."""

    def __init__(self, extra_modules=None, extra_env=None):
        self.sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child_fd = child_sock.fileno()
        env = dict(os.environ, FAASET_RUNTIME_FD=str(child_fd), **(extra_env or {}))
        self.process = subprocess.Popen(
            [sys.executable, "-c", _read_source("bootstrap.py")], pass_fds=[child_fd], env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True)
        child_sock.close()
        self.next_id = 0
        modules = dict(extra_modules or {})
        for name in RUNTIME_MODULES:  # in runtime/pyhost.c's order: each before the modules importing it
            modules[name] = _read_source(name + ".py")
        library = {name: _read_source(name + ".py") for name in LIBRARY_MODULES}
        self.send({"type": "boot", "modules": modules, "library": library, "main": "faaset_host"})

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
                raise AssertionError("no frame from the runtime in time; stderr: %s" % self.stderr_so_far())
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise AssertionError("runtime closed the socket; stderr: %s" % self.stderr_so_far())
            data += chunk
        return data

    def receive(self, timeout=READ_TIMEOUT):
        deadline = time.monotonic() + timeout
        size = struct.unpack(">I", self._read_exactly(4, deadline))[0]
        return json.loads(self._read_exactly(size, deadline).decode("utf-8"))

    def stderr_so_far(self):
        if select.select([self.process.stderr], [], [], 0)[0]:
            return os.read(self.process.stderr.fileno(), 65536).decode("utf-8", "replace")
        return ""

    def request(self, request_type, **fields):
        """Send a request; return (events before the reply, reply)."""
        self.next_id += 1
        self.send(dict(fields, type=request_type, id=self.next_id))
        return self.collect(self.next_id)

    def collect(self, request_id, timeout=READ_TIMEOUT, answer=None):
        """(events, reply) for a request. Upcalls go to answer(upcall): a dict it
        returns is sent back as the result; None keeps the upcall unanswered.
        Without `answer`, an upcall fails the test."""
        events = []
        while True:
            message = self.receive(timeout)
            if message["type"] == "reply":
                assert message["id"] == request_id, message
                return events, message
            if "call" in message:
                assert answer is not None, "unexpected upcall %r" % (message,)
                fields = answer(message)
                if fields is not None:
                    self.answer_upcall(message, **fields)
                continue
            events.append(message)

    def answer_upcall(self, upcall, **fields):
        """Send the kernel's `<type>_result` for an upcall."""
        self.send(dict(fields, type=upcall["type"] + "_result", call=upcall["call"]))

    def execute(self, code, answer=None, **fields):
        self.start_execute(code, **fields)
        return self.collect(self.next_id, answer=answer)

    def start_execute(self, code, **fields):
        """Send an execute request without waiting; returns its id."""
        self.next_id += 1
        defaults = {"code": code, "execution_count": self.next_id, "silent": False,
                    "store_history": True, "allow_stdin": True}
        defaults.update(fields)
        self.send(dict(defaults, type="execute", id=self.next_id))
        return self.next_id


def stream_text(events, name="stdout"):
    return "".join(event["text"] for event in events if event["type"] == "stream" and event["name"] == name)


def of_type(events, event_type):
    return [event for event in events if event["type"] == event_type]


class RuntimeTestCase(unittest.TestCase):
    def setUp(self):
        self.runtime = RuntimeProcess()
        self.hello = self.runtime.receive()

    def tearDown(self):
        self.runtime.close()

    def execute_ok(self, code, **fields):
        events, reply = self.runtime.execute(code, **fields)
        self.assertEqual(reply["status"], "ok", (events, reply))
        return events, reply


class StartupTest(RuntimeTestCase):
    def test_hello(self):
        self.assertEqual(self.hello["type"], "hello")
        self.assertEqual(self.hello["python_version"], "%d.%d.%d" % sys.version_info[:3])
        self.assertEqual(self.hello["implementation"], "CPython")
        self.assertEqual(self.hello["pid"], self.runtime.process.pid)
        self.assertTrue(self.hello["executable"])

    def test_namespace_is_clean_main(self):
        """Only IPython's own names (In, Out, _, get_ipython, ...) when its shell is used, none without."""
        code = "sorted(k for k in globals() if not k.startswith('__')), __name__"
        events, reply = self.execute_ok(code)
        names, main = eval(of_type(events, "execute_result")[0]["data"]["text/plain"])
        self.assertEqual(main, "__main__")
        self.assertTrue({name for name in names if not name.startswith("_")} <= {"In", "Out", "get_ipython"}, names)
        own = RuntimeProcess(extra_env={"FAASET_IPYTHON": "0"})
        try:
            own.receive()  # hello
            events, reply = own.execute(code)
            self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "([], '__main__')")
        finally:
            own.close()

    def test_unknown_request_type(self):
        events, reply = self.runtime.request("bogus")
        self.assertEqual(events, [])
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "ValueError")
        self.assertEqual(reply["evalue"], "unknown request type 'bogus'")

    def test_malformed_frames_do_not_crash(self):
        for body in (b"not json", b"[1, 2]"):
            self.runtime.sock.sendall(struct.pack(">I", len(body)) + body)
        events, reply = self.runtime.request(["not", "a", "type"])
        self.assertEqual((events, reply["status"], reply["ename"]), ([], "error", "ValueError"))
        self.execute_ok("1")
        self.assertIn("malformed frame", self.runtime.stderr_so_far())

    def test_eof_exits_zero(self):
        self.runtime.sock.shutdown(socket.SHUT_RDWR)
        # the exit code is the property; READ_TIMEOUT only stops a runtime that hangs
        self.assertEqual(self.runtime.process.wait(timeout=READ_TIMEOUT), 0)


class ExecuteTest(RuntimeTestCase):
    def test_print_sends_stream(self):
        events, reply = self.execute_ok("print('hello')\nimport sys; print('oops', file=sys.stderr)")
        self.assertEqual(stream_text(events), "hello\n")
        self.assertEqual(stream_text(events, "stderr"), "oops\n")
        self.assertEqual(reply["payload"], [])

    def test_last_expression_result_and_history(self):
        events, _ = self.execute_ok("x = 40\nx + 2", execution_count=7)
        results = of_type(events, "execute_result")
        self.assertEqual(len(results), 1)
        self.assertEqual(results[0]["data"], {"text/plain": "42"})
        events, _ = self.execute_ok("(_, _7)")
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "(42, 42)")

    def test_trailing_semicolon_and_none_show_nothing(self):
        events, _ = self.execute_ok("1 + 1;  # quiet")
        self.assertEqual(of_type(events, "execute_result"), [])
        events, _ = self.execute_ok("None")
        self.assertEqual(of_type(events, "execute_result"), [])

    def test_rich_result(self):
        code = ("class Rich:\n"
                "    def _repr_html_(self): return '<b>rich</b>'\n"
                "    def _repr_png_(self): return b'\\x89PNG'\n"
                "    def _repr_latex_(self): raise ValueError('no latex')\n"
                "    def __repr__(self): return 'Rich()'\n"
                "Rich()")
        events, _ = self.execute_ok(code)
        data = of_type(events, "execute_result")[0]["data"]
        self.assertEqual(data["text/html"], "<b>rich</b>")
        self.assertEqual(data["image/png"], "iVBORw==")
        self.assertEqual(data["text/plain"], "Rich()")
        self.assertNotIn("text/latex", data)
        self.assertIn("no latex", stream_text(events, "stderr"))

    def test_display_update_and_clear(self):
        code = ("h = display('first', display_id='d1')\n"
                "h.update('second')\n"
                "update_display({'a': 1}, display_id='d1')\n"
                "clear_output(wait=True)\n"
                "display(3)")
        events, _ = self.execute_ok(code)
        self.assertEqual([event["type"] for event in events],
                         ["display_data", "update_display_data", "update_display_data",
                          "clear_output", "display_data"])
        self.assertEqual(events[0]["data"], {"text/plain": "'first'"})
        self.assertEqual(events[0]["transient"], {"display_id": "d1"})
        self.assertEqual(events[1]["data"], {"text/plain": "'second'"})
        self.assertEqual(events[2]["transient"], {"display_id": "d1"})
        self.assertEqual(events[3]["wait"], True)
        self.assertEqual(events[4]["data"], {"text/plain": "3"})
        self.assertNotIn("transient", events[4])

    def test_display_importable_from_module(self):
        events, _ = self.execute_ok("from faaset_host import display\n"
                                    "h = display('x', display_id=True)\nlen(h.display_id)")
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "32")

    def test_error_traceback_starts_at_user_code(self):
        events, reply = self.runtime.execute("a = 1\n1 / 0", execution_count=3)
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "ZeroDivisionError")
        self.assertEqual(reply["evalue"], "division by zero")
        [error] = of_type(events, "error")
        self.assertEqual(error["traceback"], reply["traceback"])
        text = "\n".join(reply["traceback"])
        self.assertIn("<cell 3>", text)
        self.assertIn("1 / 0", text)
        self.assertNotIn("faaset_host", text)
        self.assertEqual(reply["traceback"][-1], "ZeroDivisionError: division by zero")

    def test_syntax_error(self):
        events, reply = self.runtime.execute("1 +* 2")
        self.assertEqual(reply["ename"], "SyntaxError")
        text = "\n".join(reply["traceback"])
        self.assertIn("1 +* 2", text)
        self.assertIn("^", text)
        self.assertNotIn("faaset_host", text)

    def test_kernel_magic_among_code_says_how_to_write_it(self):
        kernel_magics = ["%%cloud_function", "%platform", "%invoke"]
        events, reply = self.runtime.execute("x = 1\n%platform aws region=us-east-1\nprint(x)",
                                             kernel_magics=kernel_magics)
        self.assertEqual(reply["ename"], "UsageError")
        self.assertIn("%platform is a FaaSET kernel magic: it must be alone in a cell of its own", reply["evalue"])
        events, reply = self.runtime.execute("import os\n%%cloud_function memory=256\ndef f(request, context):\n"
                                             "    return {}", kernel_magics=kernel_magics)
        self.assertIn("%%cloud_function is a cell magic: it must be the first line of its cell", reply["evalue"])
        events, reply = self.runtime.execute("y = 2 % 3\nz = 1 +* 2")  # other syntax errors keep Python's words
        self.assertEqual(reply["ename"], "SyntaxError")
        self.assertNotIn("magic", reply["evalue"])

    def test_function_from_earlier_cell_shows_source(self):
        self.execute_ok("def explode():\n    raise ValueError('boom')", execution_count=1)
        events, reply = self.runtime.execute("explode()", execution_count=2)
        text = "\n".join(reply["traceback"])
        self.assertIn("<cell 1>", text)
        self.assertIn("raise ValueError('boom')", text)
        self.assertIn("<cell 2>", text)
        self.assertEqual(reply["traceback"][-1], "ValueError: boom")

    def test_exit_does_not_kill_runtime(self):
        events, reply = self.runtime.execute("import sys; sys.exit(3)")
        self.assertEqual(reply["ename"], "SystemExit")
        for code in ("exit()", "quit()", "exit", "  quit\n", "exit(keep_kernel=True)"):
            events, reply = self.execute_ok(code)
            self.assertEqual(reply["payload"], [{"source": "ask_exit", "keepkernel": "keep" in code}])
        self.execute_ok("print('still here')")
        self.assertIsNone(self.runtime.process.poll())

    def test_silent(self):
        events, reply = self.execute_ok("print('hidden'); display(1); y = 5; y", silent=True, store_history=False)
        self.assertEqual(events, [])
        events, reply = self.runtime.execute("1 / 0", silent=True, store_history=False)
        self.assertEqual(events, [])
        self.assertEqual(reply["ename"], "ZeroDivisionError")
        events, _ = self.execute_ok("y, globals().get('_', '') == ''")  # '' where IPython's shell set it
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "(5, True)")

    def test_thread_output_after_cell(self):
        code = ("import threading, time\n"
                "def later():\n"
                "    time.sleep(0.3)\n"
                "    print('from thread')\n"
                "threading.Thread(target=later).start()")
        events, _ = self.execute_ok(code)
        self.assertEqual(stream_text(events), "")
        event = self.runtime.receive()
        self.assertEqual(event, {"type": "stream", "name": "stdout", "text": "from thread"})

    def test_prompt_streaming_before_cell_ends(self):
        # The cell cannot end before the test creates GO, and the test creates
        # GO only once 'early' has arrived: output held until the end of the
        # cell fails here (no frame in time) however slow the machine is.
        with tempfile.TemporaryDirectory() as folder:
            go = os.path.join(folder, "go")
            self.runtime.next_id += 1
            self.runtime.send({"type": "execute", "id": self.runtime.next_id, "silent": False,
                               "code": "import os, time\nprint('early')\nend = time.monotonic() + 60\n"
                                       "while not os.path.exists(%r) and time.monotonic() < end:\n"
                                       "    time.sleep(0.01)" % go,
                               "execution_count": 1, "store_history": True, "allow_stdin": True})
            self.assertEqual(self.runtime.receive()["text"], "early")
            open(go, "w").close()
            self.runtime.collect(self.runtime.next_id)

    def test_fd_level_output_goes_to_stdout_pipe(self):
        self.execute_ok("import os, sys\nos.write(1, b'raw\\n')\nassert sys.stdout.fileno() == 1")
        stdout = self.runtime.process.stdout
        self.assertTrue(select.select([stdout], [], [], READ_TIMEOUT)[0])
        self.assertEqual(os.read(stdout.fileno(), 100), b"raw\n")

    def test_forked_child_writes_to_fd_not_socket(self):
        code = ("import os\n"
                "pid = os.fork()\n"
                "if pid == 0:\n"
                "    print('from child')\n"
                "    os._exit(0)\n"
                "os.waitpid(pid, 0)\n"
                "print('parent')")
        events, _ = self.execute_ok(code)
        self.assertEqual(stream_text(events), "parent\n")
        stdout = self.runtime.process.stdout
        self.assertTrue(select.select([stdout], [], [], READ_TIMEOUT)[0])
        self.assertEqual(os.read(stdout.fileno(), 100), b"from child\n")


class InputTest(RuntimeTestCase):
    def test_input_round_trip(self):
        self.runtime.next_id += 1
        self.runtime.send({"type": "execute", "id": self.runtime.next_id, "code": "name = input('Who? ')\nname",
                           "execution_count": 1, "silent": False, "store_history": True, "allow_stdin": True})
        self.assertEqual(self.runtime.receive(),
                         {"type": "input_request", "prompt": "Who? ", "password": False})
        self.runtime.send({"type": "input_reply", "value": "Ada"})
        events, reply = self.runtime.collect(self.runtime.next_id)
        self.assertEqual(reply["status"], "ok")
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "'Ada'")

    def test_getpass_is_a_password_request(self):
        self.runtime.next_id += 1
        self.runtime.send({"type": "execute", "id": self.runtime.next_id, "code": "import getpass\ngetpass.getpass()",
                           "execution_count": 1, "silent": False, "store_history": True, "allow_stdin": True})
        self.assertEqual(self.runtime.receive(),
                         {"type": "input_request", "prompt": "Password: ", "password": True})
        self.runtime.send({"type": "input_reply", "value": "secret"})
        events, reply = self.runtime.collect(self.runtime.next_id)
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "'secret'")

    def test_input_error_reply(self):
        self.runtime.next_id += 1
        self.runtime.send({"type": "execute", "id": self.runtime.next_id, "code": "input()",
                           "execution_count": 1, "silent": False, "store_history": False, "allow_stdin": False})
        self.assertEqual(self.runtime.receive()["type"], "input_request")
        self.runtime.send({"type": "input_reply", "error": "input() is not available"})
        events, reply = self.runtime.collect(self.runtime.next_id)
        self.assertEqual(reply["ename"], "RuntimeError")
        self.assertEqual(reply["evalue"], "input() is not available")
        self.assertNotIn("faaset_host", "\n".join(reply["traceback"]))

    def test_interrupt_while_waiting_for_input(self):
        self.runtime.next_id += 1
        self.runtime.send({"type": "execute", "id": self.runtime.next_id, "code": "input()",
                           "execution_count": 1, "silent": False, "store_history": False, "allow_stdin": True})
        self.assertEqual(self.runtime.receive()["type"], "input_request")
        os.kill(self.runtime.process.pid, signal.SIGINT)
        time.sleep(0.2)
        self.runtime.send({"type": "input_reply", "error": "interrupted"})
        events, reply = self.runtime.collect(self.runtime.next_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.execute_ok("1")


    def test_interrupted_input_drops_its_late_reply(self):
        request_id = self.runtime.start_execute("input('first? ')")
        self.assertEqual(self.runtime.receive()["prompt"], "first? ")
        time.sleep(0.1)
        os.kill(self.runtime.process.pid, signal.SIGINT)
        # no input_reply needed: without one the cell would wait for ever (READ_TIMEOUT fails it)
        events, reply = self.runtime.collect(request_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.runtime.send({"type": "input_reply", "value": "late"})
        request_id = self.runtime.start_execute("input('second? ')")
        self.assertEqual(self.runtime.receive()["prompt"], "second? ")
        self.runtime.send({"type": "input_reply", "value": "fresh"})
        events, reply = self.runtime.collect(request_id)
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "'fresh'")


class ReaderTest(RuntimeTestCase):
    def test_stray_frames_are_ignored(self):
        self.runtime.send({"type": "invoke_result", "call": 12345, "status": "ok", "result": 1})
        self.runtime.send({"type": "define_result", "status": "ok"})
        self.runtime.send({"type": "input_reply", "value": "nobody asked"})
        events, _ = self.execute_ok("1 + 1")
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "2")
        self.assertIn("define_result without a call number", self.runtime.stderr_so_far())

    def test_requests_are_served_while_a_thread_waits_for_an_upcall(self):
        upcalls = []
        events, reply = self.runtime.execute(
            "import threading\nfrom faaset_host import _upcall\nanswers = []\n"
            "waiter = threading.Thread(target=lambda: answers.append(_upcall('ping', n=1)))\n"
            "waiter.start()", answer=upcalls.append)  # keeps the upcall unanswered
        self.assertEqual(reply["status"], "ok")
        upcall = upcalls[0] if upcalls else self.runtime.receive()
        self.assertEqual((upcall["type"], upcall["n"]), ("ping", 1))
        self.execute_ok("x = 5")
        self.runtime.answer_upcall(upcall, status="ok", value=42)
        events, _ = self.execute_ok("waiter.join(5)\nanswers[0]['value'], answers[0]['call'] == %d" % upcall["call"])
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "(42, True)")


class PagerTest(RuntimeTestCase):
    def test_question_mark_pages(self):
        for code, detail in (("?len", "Docstring:"), ("len?", "Docstring:"), ("  ??len \n", "Docstring:")):
            events, reply = self.execute_ok(code)
            self.assertEqual(events, [])
            [page] = reply["payload"]
            self.assertEqual(page["source"], "page")
            self.assertEqual(page["start"], 0)
            self.assertIn(detail, page["data"]["text/plain"])

    def test_unknown_name(self):
        _, reply = self.execute_ok("nothing_here?")
        self.assertEqual(reply["payload"][0]["data"]["text/plain"], "Object `nothing_here` not found.")

    def test_help_pages(self):
        events, reply = self.execute_ok("help(len)")
        self.assertEqual(stream_text(events), "")
        self.assertIn("len(obj, /)", reply["payload"][0]["data"]["text/plain"])
        events, reply = self.execute_ok("help()")
        self.assertIn("help(object)", stream_text(events))
        self.assertEqual(reply["payload"], [])


class CompleteTest(RuntimeTestCase):
    def complete(self, code, cursor_pos=None):
        _, reply = self.runtime.request("complete", code=code,
                                        cursor_pos=len(code) if cursor_pos is None else cursor_pos)
        self.assertEqual(reply["status"], "ok")
        return reply

    def test_attribute(self):
        self.execute_ok("import os")
        reply = self.complete("os.pa")
        self.assertIn("path", reply["matches"])
        self.assertIn("pardir", reply["matches"])
        self.assertEqual(reply["cursor_start"], 3)
        self.assertEqual(reply["cursor_end"], 5)
        self.assertEqual(reply["matches"], sorted(set(reply["matches"])))

    def test_names_and_privacy(self):
        self.execute_ok("_hidden = 1\nprinter = 2")
        reply = self.complete("pri")
        self.assertIn("print", reply["matches"])
        self.assertIn("printer", reply["matches"])
        self.assertNotIn("_hidden", self.complete("")["matches"])
        self.assertIn("_hidden", self.complete("_hi")["matches"])
        self.assertIn("for", self.complete("fo")["matches"])

    def test_cursor_in_middle_of_line(self):
        code = "x = pri + 1"
        reply = self.complete(code, cursor_pos=7)
        self.assertIn("print", reply["matches"])
        self.assertEqual((reply["cursor_start"], reply["cursor_end"]), (4, 7))

    def test_unicode_before_cursor(self):
        code = '"é" ; pri'
        reply = self.complete(code)
        self.assertIn("print", reply["matches"])
        self.assertEqual(reply["cursor_start"], 6)
        self.assertEqual(reply["cursor_end"], 9)

    def test_dict_keys(self):
        self.execute_ok("d = {'alpha': 1, 'beta': 2, 3: 4}")
        reply = self.complete('d["a')
        self.assertEqual(reply["matches"], ['alpha"'])
        self.assertEqual(reply["cursor_start"], 3)

    def test_magic_names(self):
        reply = self.complete("%ti")
        self.assertIn("%time", reply["matches"])
        self.assertIn("%timeit", reply["matches"])
        self.assertEqual((reply["cursor_start"], reply["cursor_end"]), (0, 3))
        _, reply = self.runtime.request("complete", code="%%cl", cursor_pos=4, kernel_magics=["%%cloud_function"])
        self.assertEqual(reply["matches"], ["%%cloud_function"])
        self.assertEqual(self.complete("%time x")["matches"], [])  # an argument: not a magic's name

    def test_inside_a_cloud_function_body(self):
        """Names come from the cell (imports with their modules, parameters,
        assignments; request as a dict), not from the notebook, where the
        function does not run."""
        self.execute_ok("notebook_only = 1")
        head = "%%cloud_function memory=256\nimport json as js\nfrom os import path\ndef f(request, context):\n"
        self.assertEqual(self.complete(head + "    js.lo")["matches"], ["load", "loads"])
        self.assertIn("join", self.complete(head + "    path.jo")["matches"])
        self.assertEqual(self.complete(head + "    value = 1\n    val")["matches"], ["value"])
        self.assertEqual(self.complete(head + "    reque")["matches"], ["request"])
        self.assertIn("get", self.complete(head + "    request.ge")["matches"])
        self.assertEqual(self.complete(head + "    notebook_o")["matches"], [])
        self.assertIn("print", self.complete(head + "    pri")["matches"])
        self.assertEqual(self.complete(head + "    import subprocess\n    for item in []:\n        ite")["matches"],
                         ["item", "iter"])


class InspectTest(RuntimeTestCase):
    def inspect(self, code, cursor_pos=None, detail_level=0):
        _, reply = self.runtime.request("inspect", code=code, detail_level=detail_level,
                                        cursor_pos=len(code) if cursor_pos is None else cursor_pos)
        self.assertEqual(reply["status"], "ok")
        return reply

    def test_builtin(self):
        reply = self.inspect("len")
        self.assertTrue(reply["found"])
        text = reply["data"]["text/plain"]
        self.assertIn("Docstring:", text)
        self.assertIn("Return the number of items", text)
        self.assertIn("Signature:", text)

    def test_cell_function_source(self):
        self.execute_ok("def f(a, b=2):\n    'Add.'\n    return a + b")
        text = self.inspect("f(1, ", detail_level=1)["data"]["text/plain"]
        self.assertIn("f(a, b=2)", text)
        self.assertIn("Source:", text)
        self.assertIn("return a + b", text)

    def test_not_found(self):
        reply = self.inspect("missing_name")
        self.assertFalse(reply["found"])
        self.assertEqual(reply["data"], {})


class IsCompleteTest(RuntimeTestCase):
    def check(self, code):
        _, reply = self.runtime.request("is_complete", code=code)
        return reply["status"], reply["indent"]

    def test_samples(self):
        self.assertEqual(self.check("1+1"), ("complete", ""))
        self.assertEqual(self.check("for i in range(3):"), ("incomplete", "    "))
        self.assertEqual(self.check("def f():\n    return 1"), ("incomplete", "    "))
        self.assertEqual(self.check("def f():\n    return 1\n"), ("complete", ""))
        self.assertEqual(self.check("foo(1,"), ("incomplete", ""))
        self.assertEqual(self.check("x = 1 + \\"), ("incomplete", ""))
        self.assertEqual(self.check("x = [\n    1]"), ("complete", ""))
        self.assertEqual(self.check("1 +* 2")[0], "invalid")
        self.assertEqual(self.check("= 1")[0], "invalid")
        self.assertEqual(self.check("%%cloud_function")[0], "incomplete")
        self.assertEqual(self.check("%%cloud_function\nbody\n")[0], "complete")
        self.assertEqual(self.check("%pwd"), ("complete", ""))


class InterruptTest(RuntimeTestCase):
    def test_interrupt_sleep(self):
        self.execute_ok("x = 'survivor'")
        self.runtime.next_id += 1
        self.runtime.send({"type": "execute", "id": self.runtime.next_id, "code": "import time; time.sleep(60)",
                           "execution_count": 2, "silent": False, "store_history": True, "allow_stdin": True})
        time.sleep(0.5)
        os.kill(self.runtime.process.pid, signal.SIGINT)
        # READ_TIMEOUT (10 s), not a tight bound: what fails is a sleep(60) the interrupt did not end
        events, reply = self.runtime.collect(self.runtime.next_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.assertEqual(of_type(events, "error")[0]["ename"], "KeyboardInterrupt")
        events, _ = self.execute_ok("x")
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "'survivor'")

    def test_interrupt_busy_printing_loop_keeps_frames_intact(self):
        self.runtime.next_id += 1
        self.runtime.send({"type": "execute", "id": self.runtime.next_id,
                           "code": "while True:\n    print('spam' * 50)",
                           "execution_count": 1, "silent": False, "store_history": True, "allow_stdin": True})
        # the loop runs once it prints (a SIGINT before the cell starts is dropped, by design); then let
        # the pipe fill so the signal can land in the middle of a frame write
        while self.runtime.receive().get("type") != "stream":
            pass
        time.sleep(0.3)
        os.kill(self.runtime.process.pid, signal.SIGINT)
        deadline = time.monotonic() + 60  # the spam keeps coming until the interrupt lands: bound it here
        while True:
            message = self.runtime.receive()
            if message["type"] == "reply" or time.monotonic() > deadline:
                break
        self.assertEqual(message.get("ename"), "KeyboardInterrupt", "the loop was not interrupted within 60 s")
        self.execute_ok("1")

    def test_sigint_while_idle_is_ignored(self):
        for _ in range(5):
            os.kill(self.runtime.process.pid, signal.SIGINT)
            time.sleep(0.05)
        time.sleep(0.2)
        self.assertIsNone(self.runtime.process.poll())
        events, _ = self.execute_ok("import time; time.sleep(0.2); 'fine'")
        self.assertEqual(of_type(events, "execute_result")[0]["data"]["text/plain"], "'fine'")


if __name__ == "__main__":
    unittest.main()
