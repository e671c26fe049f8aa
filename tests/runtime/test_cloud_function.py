"""Tests for cloud functions in runtime/python/faaset_host.py: the
`cloud_function` request (a %%cloud_function cell), the @cloud_function
decorator, the CloudFunction callable and the upcalls (define, invoke) behind
them. The test plays the kernel (test_host.RuntimeProcess) and answers upcalls.
Run with `python3 -m pytest tests/runtime` or `python3 -m unittest discover -s tests/runtime`.
"""
import os
import signal
import socket
import time
import unittest

import test_host as host

# A stand-in for SAAF's Inspector, booted into the runtime so that the
# paper's `from Inspector import *` cells import.
FAKE_INSPECTOR = '''
class Inspector:
    def __init__(self):
        self.attributes = {"version": "fake"}
    def inspectAll(self):
        self.attributes["inspected"] = True
    def addAttribute(self, key, value):
        self.attributes[key] = value
    def finish(self):
        self.attributes["runtime"] = 4
        return self.attributes
__all__ = ["Inspector"]
'''

HELLO_BODY = ("import math\n"
              "\n"
              "def helper(x):\n"
              "    return math.floor(x)\n"
              "\n"
              "def hello(request, context):\n"
              "    '''Say hello.'''\n"
              "    return {'message': 'Hello ' + request['name'], 'runtime': 2.5}\n"
              "\n"
              "greeting = hello({'name': 'Bob'})\n"
              "greeting['message']\n")
HELLO_SOURCE = HELLO_BODY[:HELLO_BODY.index("\ngreeting =")]


def define_ok(name="hello", run="cloud", platforms=("local",), lines=None):
    return {"status": "ok", "name": name, "run": run, "platforms": list(platforms),
            "lines": ["local: deployed %s (1a2b3c4d) in 12 ms" % name] if lines is None else lines}


class FakeKernel:
    """Answers upcalls: define with `define`, invoke by echoing the payload as SAAF would."""

    def __init__(self, define=None, invoke=None):
        self.define = define or define_ok()
        self.invoke = invoke
        self.upcalls = []

    def __call__(self, upcall):
        self.upcalls.append(upcall)
        if upcall["type"] == "define":
            return self.define
        if upcall["type"] == "invoke":
            if self.invoke is not None:
                return self.invoke(upcall)
            payload = upcall["payload"]
            return {"status": "ok", "roundTripTime": 10.0,
                    "result": {"message": "Hello " + str(payload.get("name")), "runtime": 2.5}}
        return {"status": "error", "ename": "ValueError", "evalue": "unknown upcall"}

    def of_type(self, kind):
        return [upcall for upcall in self.upcalls if upcall["type"] == kind]


class CloudFunctionTestCase(unittest.TestCase):
    def setUp(self):
        self.runtime = host.RuntimeProcess(extra_modules={"Inspector": FAKE_INSPECTOR})
        self.runtime.receive()

    def tearDown(self):
        self.runtime.close()

    def cloud_cell(self, body, answer, options=None, body_line=2, magic="%%cloud_function", **fields):
        code = "\n" * (body_line - 2) + magic + "\n" + body
        self.runtime.next_id += 1
        request = {"type": "cloud_function", "id": self.runtime.next_id, "code": code, "body": body,
                   "body_line": body_line, "options": options or {},
                   "execution_count": self.runtime.next_id, "silent": False, "store_history": True,
                   "allow_stdin": True}
        request.update(fields)
        self.runtime.send(request)
        return self.runtime.collect(self.runtime.next_id, answer=answer)

    def execute_ok(self, code, answer=None):
        events, reply = self.runtime.execute(code, answer=answer)
        self.assertEqual(reply["status"], "ok", (events, reply))
        return events, reply

    def result_text(self, events):
        return host.of_type(events, "execute_result")[0]["data"]["text/plain"]

    def define_hello(self, kernel=None, run="cloud"):
        kernel = kernel or FakeKernel(define_ok(run=run))
        body = "def hello(request, context):\n    return {'n': request['n'] * 2}\n"
        events, reply = self.cloud_cell(body, kernel)
        self.assertEqual(reply["status"], "ok", (events, reply))
        return kernel


class MagicTest(CloudFunctionTestCase):
    def test_define_bind_and_run_the_rest(self):
        kernel = FakeKernel()
        events, reply = self.cloud_cell(HELLO_BODY, kernel, options={"memory": "256", "platforms": "local"})
        self.assertEqual(reply["status"], "ok", (events, reply))
        [define] = kernel.of_type("define")
        self.assertEqual(define["function"], "hello")
        self.assertEqual(define["source"], HELLO_SOURCE)
        self.assertEqual(define["options"], {"memory": "256", "platforms": "local"})
        self.assertEqual(define["origin"], "magic")
        self.assertIsInstance(define["call"], int)
        [invoke] = kernel.of_type("invoke")
        self.assertEqual((invoke["function"], invoke["payload"]), ("hello", {"name": "Bob"}))
        self.assertEqual(host.stream_text(events), "local: deployed hello (1a2b3c4d) in 12 ms\n")
        self.assertEqual(self.result_text(events), "'Hello Bob'")
        events, _ = self.execute_ok("print(hello, _, hello.name, hello.platforms, hello.run, hello.__doc__)")
        self.assertEqual(host.stream_text(events),
                         "<cloud function hello on local> Hello Bob hello ['local'] cloud Say hello.\n")
        events, _ = self.execute_ok("sorted(k for k in globals() if not k.startswith('_') and k not in "
                                    "('In', 'Out', 'get_ipython'))")  # IPython's shell's names
        self.assertEqual(self.result_text(events), "['greeting', 'hello']")  # helper and math went with the source

    def test_binds_the_name_the_kernel_gives(self):
        kernel = FakeKernel(define_ok(name="renamed", lines=[]))
        events, reply = self.cloud_cell("def hello(request, context):\n    return 1\n", kernel,
                                        options={"name": "renamed"})
        self.assertEqual(events, [])
        events, _ = self.execute_ok("renamed, 'hello' in globals()")
        self.assertEqual(self.result_text(events), "(<cloud function renamed on local>, False)")

    def test_handler_is_the_last_two_parameter_def(self):
        body = ("def hello(request, context):\n    return 1\n"
                "def not_a_handler(x):\n    return 2\n"
                "def real(event, ctx=None):\n    return 3\n"
                "def after(a, b, c):\n    return 4\n"
                "after(1, 2, 3)\n")
        kernel = FakeKernel(define_ok(name="real"))
        events, reply = self.cloud_cell(body, kernel)
        self.assertEqual(kernel.of_type("define")[0]["function"], "real")
        self.assertTrue(kernel.of_type("define")[0]["source"].endswith("def real(event, ctx=None):\n    return 3\n"))
        self.assertEqual(self.result_text(events), "4")

    def test_syntax_error_has_the_cells_line_numbers(self):
        kernel = FakeKernel()
        body = "def hello(request, context):\n    x = (1 +\n    return x\n"
        events, reply = self.cloud_cell(body, kernel, body_line=2)
        self.assertEqual(reply["status"], "error")
        self.assertEqual(reply["ename"], "SyntaxError")
        [error] = host.of_type(events, "error")
        text = "\n".join(error["traceback"])
        self.assertIn("line 3", text)  # body line 2, the unclosed bracket
        self.assertNotIn("faaset_host", text)
        self.assertEqual(kernel.upcalls, [])
        body = "def hello(request, context):\n    return 1\nx = = 2\n"
        events, reply = self.cloud_cell(body, kernel, body_line=2)
        self.assertIn('line 4', "\n".join(reply["traceback"]))
        self.assertIn("x = = 2", "\n".join(reply["traceback"]))
        self.assertEqual(kernel.upcalls, [])

    def test_runtime_error_after_the_def_has_the_cells_line_numbers(self):
        body = "def hello(request, context):\n    return 1\n\n1 / 0\n"
        events, reply = self.cloud_cell(body, FakeKernel(), body_line=3)
        self.assertEqual(reply["ename"], "ZeroDivisionError")
        self.assertRegex("\n".join(reply["traceback"]), r'File "<cell \d+>", line 6, in <module>\n    1 / 0')

    def test_missing_def(self):
        kernel = FakeKernel()
        for body in ("x = 1\n", "def one(request):\n    return 1\n", "def three(a, b, c):\n    pass\n"):
            events, reply = self.cloud_cell(body, kernel)
            self.assertEqual(reply["status"], "error")
            self.assertEqual(reply["ename"], "ValueError")
            self.assertEqual(reply["evalue"],
                             "a %%cloud_function cell needs a top-level `def NAME(request, context)`")
            self.assertEqual(len(host.of_type(events, "error")), 1)
        self.assertEqual(kernel.upcalls, [])

    def test_define_error(self):
        kernel = FakeKernel({"status": "error", "ename": "InvalidOption",
                             "evalue": "memory must be between 128 and 10240 MB"})
        events, reply = self.cloud_cell("def hello(request, context):\n    return 1\nprint('not run')\n",
                                        kernel, options={"memory": "1"})
        self.assertEqual(reply["status"], "error")
        self.assertEqual((reply["ename"], reply["evalue"]),
                         ("InvalidOption", "memory must be between 128 and 10240 MB"))
        [error] = host.of_type(events, "error")
        self.assertEqual(error["traceback"][-1], "InvalidOption: memory must be between 128 and 10240 MB")
        self.assertEqual(host.stream_text(events), "")
        events, reply = self.runtime.execute("hello")
        self.assertEqual(reply["ename"], "NameError")

    def test_silent_cell_defines_without_output(self):
        kernel = FakeKernel()
        events, reply = self.cloud_cell("def hello(request, context):\n    return 1\n7\n", kernel,
                                        silent=True, store_history=False)
        self.assertEqual((events, reply["status"]), ([], "ok"))
        events, _ = self.execute_ok("hello")
        self.assertEqual(self.result_text(events), "<cloud function hello on local>")


class RedefineTest(CloudFunctionTestCase):
    """CloudFunction.redefine, what FaaSETUI's Reconfigure and Redeploy use."""

    def test_same_source_changed_options_force_once_and_the_name_follows(self):
        kernel = FakeKernel()
        events, reply = self.cloud_cell("def hello(request, context):\n    return 1\n", kernel,
                                        options={"memory": "256", "env": "A=1", "platforms": "local"})
        self.assertEqual(reply["status"], "ok", (events, reply))
        events, _ = self.execute_ok("hello.mode = 'kept'  # what a maker sets after defining (the paper's call_mode)\n"
                                    "old = hello\n"
                                    "new = hello.redefine({'memory': 512, 'env': None, 'force': True})\n"
                                    "print(new is hello, old is hello, new.mode, sorted(new.options.items()))",
                                    answer=kernel)
        first, again = kernel.of_type("define")
        self.assertEqual((again["function"], again["source"]), ("hello", first["source"]))
        self.assertEqual(again["options"], {"memory": 512, "platforms": "local", "force": True})
        self.assertEqual(host.stream_text(events), "local: deployed hello (1a2b3c4d) in 12 ms\n"
                         "True False kept [('memory', 512), ('platforms', 'local')]\n")  # force was for that define

    def test_a_function_without_its_source_is_not_redefined(self):
        events, reply = self.runtime.execute("import faaset_host\n"
                                             "faaset_host.CloudFunction('far', ['aws'], 'cloud', 'far', '', {})"
                                             ".redefine({'memory': 512})")
        self.assertEqual(reply["ename"], "ValueError")
        self.assertIn("far was not defined in this kernel", reply["evalue"])

    def test_a_define_error_keeps_the_function(self):
        self.define_hello()
        refusing = FakeKernel({"status": "error", "ename": "InvalidOption", "evalue": "memory must be a whole number"})
        events, reply = self.runtime.execute("old = hello\nhello.redefine({'memory': 64})", answer=refusing)
        self.assertEqual((reply["ename"], reply["evalue"]), ("InvalidOption", "memory must be a whole number"))
        events, _ = self.execute_ok("print(hello is old)")
        self.assertEqual(host.stream_text(events), "True\n")


class InvokeTest(CloudFunctionTestCase):
    def test_result_gets_round_trip_time_and_latency(self):
        kernel = self.define_hello()
        kernel.invoke = lambda upcall: {"status": "ok", "roundTripTime": 12.5,
                                        "result": {"n": upcall["payload"]["n"] * 2, "runtime": 5}}
        events, _ = self.execute_ok("hello({'n': 21})", answer=kernel)
        self.assertEqual(self.result_text(events), "{'n': 42, 'runtime': 5, 'roundTripTime': 12.5, 'latency': 7.5}")
        kernel.invoke = lambda upcall: {"status": "ok", "roundTripTime": 3.0, "result": {"n": 1}}
        events, _ = self.execute_ok("hello({'n': 0})", answer=kernel)
        self.assertEqual(self.result_text(events), "{'n': 1, 'roundTripTime': 3.0}")
        kernel.invoke = lambda upcall: {"status": "ok", "roundTripTime": 3.0, "result": [1, 2]}
        events, _ = self.execute_ok("hello({'n': 0})", answer=kernel)
        self.assertEqual(self.result_text(events), "[1, 2]")
        self.assertEqual(kernel.of_type("invoke")[0]["payload"], {"n": 21})

    def test_request_must_be_json(self):
        kernel = self.define_hello()
        events, reply = self.runtime.execute("hello({'when': object()})", answer=kernel)
        self.assertEqual(reply["ename"], "TypeError")
        self.assertIn("must be JSON-serialisable", reply["evalue"])
        self.assertEqual(kernel.of_type("invoke"), [])

    def test_remote_error(self):
        kernel = self.define_hello()
        kernel.invoke = lambda upcall: {
            "status": "error", "ename": "ValueError", "evalue": "bad n",
            "traceback": ['  File "/work/faaset_function.py", line 2, in hello\n    raise ValueError("bad n")']}
        events, reply = self.runtime.execute("x = 1\nhello({'n': 1})", answer=kernel)
        self.assertEqual((reply["ename"], reply["evalue"]), ("ValueError", "bad n"))
        text = "\n".join(reply["traceback"])
        self.assertRegex(text, r'File "<cell \d+>", line 2, in <module>\n    hello\(\{\'n\': 1\}\)')
        self.assertIn('Remote traceback (on local):\n  File "/work/faaset_function.py", line 2, in hello\n'
                      '    raise ValueError("bad n")\nValueError: bad n', text)
        self.assertNotIn("faaset_host", text)
        self.assertEqual(host.of_type(events, "error")[0]["traceback"], reply["traceback"])
        code = ("try:\n    hello({'n': 1})\nexcept ValueError as error:\n"
                "    caught = error\n"
                "type(caught).__name__, isinstance(caught, CloudFunctionError), caught.remote_traceback[0][:6], "
                "caught.platform, str(caught), caught.function")
        events, _ = self.execute_ok(code, answer=kernel)
        self.assertEqual(self.result_text(events), "('ValueError', True, '  File', 'local', 'bad n', 'hello')")

    def test_kernel_error_names(self):
        kernel = self.define_hello()
        kernel.invoke = lambda upcall: {"status": "error", "ename": "FunctionTimeout",
                                        "evalue": "hello did not finish within 3 s", "traceback": []}
        events, reply = self.runtime.execute("hello({'n': 1})", answer=kernel)
        self.assertEqual((reply["ename"], reply["evalue"]), ("FunctionTimeout", "hello did not finish within 3 s"))
        self.assertNotIn("Remote traceback", "\n".join(reply["traceback"]))
        self.assertEqual(reply["traceback"][-1], "FunctionTimeout: hello did not finish within 3 s")
        events, _ = self.execute_ok("try:\n    hello({})\nexcept CloudFunctionError as e:\n    first = type(e)\n"
                                    "try:\n    hello({})\nexcept CloudFunctionError as e:\n    second = type(e)\n"
                                    "first is second, issubclass(first, CloudFunctionError)", answer=kernel)
        self.assertEqual(self.result_text(events), "(True, True)")

    def test_twenty_threads_answered_in_reverse_order(self):
        self.define_hello()
        pending = []

        def answer(upcall):
            self.assertEqual(upcall["type"], "invoke")
            pending.append(upcall)
            if len(pending) == 20:
                for waiting in reversed(pending):
                    self.runtime.answer_upcall(waiting, status="ok", roundTripTime=1.0,
                                               result={"n": waiting["payload"]["n"] * 2})
            return None

        code = ("import threading\n"
                "results = [None] * 20\n"
                "def work(i):\n"
                "    results[i] = hello({'n': i})['n']\n"
                "threads = [threading.Thread(target=work, args=(i,)) for i in range(20)]\n"
                "for t in threads: t.start()\n"
                "for t in threads: t.join()\n"
                "results == [2 * i for i in range(20)]")
        events, _ = self.execute_ok(code, answer=answer)
        self.assertEqual(self.result_text(events), "True")
        self.assertEqual(len({upcall["call"] for upcall in pending}), 20)

    def test_interrupt_while_waiting_for_a_result(self):
        kernel = self.define_hello()
        request_id = self.runtime.start_execute("r = hello({'n': 1})")
        late = self.runtime.receive()
        self.assertEqual(late["type"], "invoke")
        time.sleep(0.2)
        os.kill(self.runtime.process.pid, signal.SIGINT)
        # The upcall stays unanswered until after the reply: a runtime that kept
        # waiting for it never replies, and collect's READ_TIMEOUT fails the test.
        # No tighter time: a loaded machine must not fail this.
        events, reply = self.runtime.collect(request_id)
        self.assertEqual(reply["ename"], "KeyboardInterrupt")
        self.runtime.answer_upcall(late, status="ok", roundTripTime=1.0, result={"n": "late"})
        kernel.invoke = lambda upcall: {"status": "ok", "roundTripTime": 1.0, "result": {"n": "fresh"}}
        events, _ = self.execute_ok("'r' in globals(), hello({'n': 2})", answer=kernel)
        self.assertEqual(self.result_text(events), "(False, {'n': 'fresh', 'roundTripTime': 1.0})")

    def test_any_upcall_and_eof_while_waiting(self):
        events, _ = self.execute_ok("from faaset_host import _upcall\n_upcall('ping', value=3)",
                                    answer=lambda upcall: {"echo": upcall["value"]})
        self.assertRegex(self.result_text(events), r"\{'echo': 3, 'type': 'ping_result', 'call': \d+\}")
        request_id = self.runtime.start_execute("_upcall('ping', value=4)")
        self.assertEqual(self.runtime.receive()["type"], "ping")
        self.runtime.sock.shutdown(socket.SHUT_WR)  # the runtime reads EOF but can still answer
        events, reply = self.runtime.collect(request_id)
        self.assertEqual(reply["ename"], "ConnectionError")
        self.assertEqual(self.runtime.process.wait(timeout=host.READ_TIMEOUT), 0)  # the exit code is the property


class DecoratorTest(CloudFunctionTestCase):
    PAPER_CELL = ("from Inspector import *\n"
                  "import time\n"
                  "\n"
                  "@cloud_function(platforms=[Platform.LOCAL], memory=256)\n"
                  "def hello_world(request, context):\n"
                  "    inspector = Inspector()\n"
                  "    inspector.inspectAll()\n"
                  "    inspector.addAttribute(\"message\", \"Hello \" + request[\"name\"] + \"!\")\n"
                  "    return inspector.finish()\n"
                  "\n"
                  "hello_world\n")

    def test_paper_style_cell(self):
        kernel = FakeKernel(define_ok(name="hello_world"))
        events, _ = self.execute_ok(self.PAPER_CELL, answer=kernel)
        [define] = kernel.of_type("define")
        self.assertEqual(define["origin"], "decorator")
        self.assertEqual(define["function"], "hello_world")
        self.assertEqual(define["options"], {"platforms": ["local"], "memory": 256})
        self.assertEqual(define["source"], self.PAPER_CELL.replace(
            "@cloud_function(platforms=[Platform.LOCAL], memory=256)\n", "")[:-len("\nhello_world\n")])
        self.assertEqual(host.stream_text(events), "local: deployed hello_world (1a2b3c4d) in 12 ms\n")
        self.assertEqual(self.result_text(events), "<cloud function hello_world on local>")
        events, _ = self.execute_ok("hello_world({'name': 'Ada'})['message']", answer=kernel)
        self.assertEqual(self.result_text(events), "'Hello Ada'")
        self.assertEqual(kernel.of_type("invoke")[0]["payload"], {"name": "Ada"})

    def test_run_local_calls_the_function_in_process(self):
        kernel = FakeKernel(define_ok(name="hello_world", run="local"))
        self.execute_ok(self.PAPER_CELL, answer=kernel)
        events, _ = self.execute_ok("r = hello_world({'name': 'Ada'})\nr['message'], r['inspected'], 'roundTripTime' in r",
                                    answer=kernel)
        self.assertEqual(self.result_text(events), "('Hello Ada!', True, False)")
        self.assertEqual(kernel.of_type("invoke"), [])

    def test_run_local_magic_runs_its_source_with_a_context(self):
        body = ("from Inspector import *\n"
                "def hello(request, context):\n"
                "    if request.get('fail'):\n"
                "        raise RuntimeError('local failure')\n"
                "    return [Inspector().finish()['version'], context.function_name,\n"
                "            context.invoked_function_arn, context.get_remaining_time_in_millis() > 0]\n")
        kernel = FakeKernel(define_ok(run="local"))
        events, reply = self.cloud_cell(body, kernel, options={"timeout": "30"}, body_line=2)
        self.assertEqual(reply["status"], "ok", reply)
        events, _ = self.execute_ok("hello({})", answer=kernel)
        self.assertEqual(self.result_text(events), "['fake', 'hello', 'notebook:hello', True]")
        events, reply = self.runtime.execute("hello({'fail': 1})", answer=kernel)
        self.assertEqual(reply["ename"], "RuntimeError")
        self.assertRegex("\n".join(reply["traceback"]), r"<cell \d+>\", line 5, in hello\n    raise RuntimeError")
        self.assertEqual(kernel.of_type("invoke"), [])

    def test_options_are_json_values(self):
        kernel = FakeKernel(define_ok(name="f"))
        code = ("@cloud_function(platforms=Platform.AWS, memory=512, runMode=RunMode.NONE, deploy=False,\n"
                "                config={'lambdaRoleARN': 'arn:aws:iam::1:role/r', 'timeout': 60, 'memory': 256},\n"
                "                requirements='numpy',\n"
                "                timeout=30, arch='arm64', env={'A': '1'}, name='f')\n"
                "def f(request, context):\n"
                "    return 1\n"
                "@cloud_function(runMode='CLOUD', platforms=['gcf', Platform.IBM, Platform.OPENWHISK])\n"
                "def g(request, context):\n"
                "    return 2\n"
                "@cloud_function\n"
                "def h(request, context):\n"
                "    return 3\n")
        self.execute_ok(code, answer=kernel)
        first, second, third = [upcall for upcall in kernel.of_type("define")]
        # config is FaaSET's: mapped to options, under the decorator's own (memory=512, timeout=30)
        self.assertEqual(first["options"], {"platforms": ["aws"], "memory": 512, "run": "none", "deploy": False,
                                            "role": "arn:aws:iam::1:role/r", "requirements": "numpy",
                                            "timeout": 30, "arch": "arm64", "env": {"A": "1"}, "name": "f"})
        self.assertEqual(second["options"], {"run": "cloud", "platforms": ["gcf", "ibm", "openwhisk"]})
        self.assertEqual(third["options"], {})
        self.assertEqual(first["source"], "def f(request, context):\n    return 1\n")
        self.assertEqual(second["source"], "def f(request, context):\n    return 1\ndef g(request, context):\n    return 2\n")
        self.assertEqual(third["function"], "h")
        events, _ = self.execute_ok("' '.join(p.value for p in Platform), ' '.join(m.value for m in RunMode)")
        self.assertEqual(self.result_text(events),
                         "('local aws gcf ibm openwhisk azure openfaas docker', 'local cloud none')")

    def test_option_that_is_not_json(self):
        events, reply = self.runtime.execute("@cloud_function(config=object())\ndef f(request, context):\n    pass")
        self.assertEqual(reply["ename"], "TypeError")
        self.assertIn("config", reply["evalue"])

    def test_define_error_raises_at_the_decorator(self):
        kernel = FakeKernel({"status": "error", "ename": "InvalidOption", "evalue": "unknown platform 'mars'"})
        events, reply = self.runtime.execute(
            "x = 1\n@cloud_function(platforms=['mars'])\ndef f(request, context):\n    pass", answer=kernel)
        self.assertEqual((reply["ename"], reply["evalue"]), ("InvalidOption", "unknown platform 'mars'"))
        self.assertRegex("\n".join(reply["traceback"]), r"<cell \d+>\", line 2, in <module>")
        events, reply = self.runtime.execute("f")
        self.assertEqual(reply["ename"], "NameError")


if __name__ == "__main__":
    unittest.main()
