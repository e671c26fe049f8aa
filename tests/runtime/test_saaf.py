"""Tests for runtime/python/SAAF.py and Inspector.py, the SAAF-compatible profiler.

Every attribute is checked against this machine: the test reads /proc itself,
just before and just after the Inspector does, and requires the Inspector's
value to lie between the two reads (counters that only grow), to be equal
(values that do not move), or to be close (free memory). Platform detection
and the container id file run in child processes with a controlled
environment and a fresh TMPDIR.

Run with `python3 -m pytest tests/runtime/test_saaf.py` or
`python3 -m unittest tests/runtime/test_saaf.py` from the repository root.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

RUNTIME_DIR = os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "python"))
if RUNTIME_DIR not in sys.path:
    sys.path.insert(0, RUNTIME_DIR)

import SAAF  # noqa: E402
from SAAF import Inspector  # noqa: E402

HAVE_PROC = os.path.exists("/proc/stat") and os.path.exists("/proc/vmstat")
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
CPU_FIELDS = ["cpuUser", "cpuNice", "cpuKernel", "cpuIdle", "cpuIOWait", "cpuIrq",
              "cpuSoftIrq", "cpuSteal", "cpuGuest", "cpuGuestNice"]
# The kernel documents that idle and iowait in /proc/stat may step backwards a
# little on tickless systems; every other counter only grows.
NON_MONOTONIC = {"cpuIdle", "cpuIOWait"}
JITTER_MS = 200 * (os.cpu_count() or 1)

PLATFORM_KEYS = {"platform", "containerID", "functionName", "functionMemory",
                 "functionRegion", "vmID"}
CONTAINER_KEYS = {"uuid", "newcontainer"}
CPUINFO_KEYS = {"cpuType", "cpuModel", "cpuCores", "architecture", "cpuInfo"}
CPU_KEYS = set(CPU_FIELDS) | {"bootTime", "contextSwitches"}
MEMORY_KEYS = {"totalMemory", "freeMemory", "pageFaults", "majorPageFaults"}
CPU_DELTA_KEYS = {name + "Delta" for name in CPU_FIELDS} | {"contextSwitchesDelta"}
MEMORY_DELTA_KEYS = {"pageFaultsDelta", "majorPageFaultsDelta"}
CONSTRUCTOR_KEYS = {"version", "lang", "startTime", "invocations", "initializationTime"}
FINISH_KEYS = {"runtime", "endTime"}
ALL_TIMER_KEYS = {"frameworkRuntime"}
DELTAS_TIMER_KEYS = {"userRuntime", "frameworkRuntimeDeltas"}


# -- independent readers of /proc ------------------------------------------------

def read_proc_stat():
    """{cpuUser.. in ms, bootTime, contextSwitches}, read here, not by SAAF."""
    values = {}
    with open("/proc/stat") as stat:
        for line in stat:
            fields = line.split()
            if fields and fields[0] == "cpu":
                for name, ticks in zip(CPU_FIELDS, fields[1:]):
                    values[name] = int(ticks) * 1000 / CLK_TCK
            elif fields and fields[0] == "btime":
                values["bootTime"] = int(fields[1])
            elif fields and fields[0] == "ctxt":
                values["contextSwitches"] = int(fields[1])
    return values


def read_vmstat():
    with open("/proc/vmstat") as vmstat:
        pairs = dict(line.split() for line in vmstat if len(line.split()) == 2)
    return {"pageFaults": int(pairs["pgfault"]), "majorPageFaults": int(pairs["pgmajfault"])}


def read_meminfo():
    values = {}
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0])
    return {"totalMemory": values["MemTotal"], "freeMemory": values["MemFree"]}


def read_cpuinfo():
    with open("/proc/cpuinfo") as cpuinfo:
        lines = cpuinfo.read().splitlines()
    processors = [line for line in lines if re.match(r"processor\s*:", line)]
    fields = {}
    for line in lines:
        if ":" in line:
            key, value = line.split(":", 1)
            fields.setdefault(key.strip(), value.strip())
    return len(processors), fields


def read_boot_id():
    with open("/proc/sys/kernel/random/boot_id") as boot_id:
        return boot_id.read().strip()


def expected_vm_id():
    """Lambda's sandbox-root id if the cgroup paths have one, else the boot id."""
    try:
        with open("/proc/self/cgroup") as cgroup:
            for line in cgroup:
                match = re.search(r"/sandbox-root-([^/\s]+)", line)
                if match:
                    return match.group(1)
    except OSError:
        pass
    return read_boot_id()


def epoch_ms():
    return int(time.time() * 1000)


def burn_cpu(seconds):
    end = time.process_time() + seconds
    total = 0
    while time.process_time() < end:
        total += sum(range(1000))
    return total


# -- child processes ---------------------------------------------------------------

CHILD_PRELUDE = (
    "import json, os, sys\n"
    "sys.path.insert(0, %r)\n" % RUNTIME_DIR
)


def run_child(code, env_vars=None, tmpdir=None, timeout=30):
    """Run `code` in a fresh interpreter with only PATH, TMPDIR and `env_vars`; parse its stdout."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    if tmpdir is not None:
        env["TMPDIR"] = tmpdir
    env.update(env_vars or {})
    completed = subprocess.run([sys.executable, "-c", CHILD_PRELUDE + code], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if completed.returncode != 0:
        raise AssertionError("child failed (%d): %s" % (completed.returncode,
                                                        completed.stderr.decode(errors="replace")))
    return json.loads(completed.stdout.decode())


PLATFORM_CHILD = (
    "from SAAF import Inspector\n"
    "inspector = Inspector()\n"
    "inspector.inspectPlatform()\n"
    "result = inspector.finish()\n"
    "result['_pid'] = os.getpid()\n"
    "result['_hostname'] = os.uname().nodename\n"
    "print(json.dumps(result))\n"
)

CONTAINER_CHILD = (
    "from SAAF import Inspector\n"
    "inspector = Inspector()\n"
    "inspector.inspectContainer()\n"
    "print(json.dumps(inspector.finish()))\n"
)


_saved_tempdir = None
_module_tmpdir = None


def setUpModule():
    """In-process tests write their container-id file to a private folder, not /tmp."""
    global _saved_tempdir, _module_tmpdir
    _saved_tempdir = tempfile.tempdir
    _module_tmpdir = tempfile.mkdtemp(prefix="saaf-test-module-")
    tempfile.tempdir = _module_tmpdir


def tearDownModule():
    tempfile.tempdir = _saved_tempdir
    shutil.rmtree(_module_tmpdir, True)


class TempDirCase(unittest.TestCase):
    def make_tmpdir(self):
        path = tempfile.mkdtemp(prefix="saaf-test-")
        self.addCleanup(shutil.rmtree, path, True)
        return path


# -- constructor, timers, attributes ---------------------------------------------

class TestConstructorAndTimers(unittest.TestCase):
    def test_constructor_attributes(self):
        before = epoch_ms()
        inspector = Inspector()
        after = epoch_ms()
        attributes = inspector.finish()
        self.assertEqual(attributes["version"], 0.7)
        self.assertIsInstance(attributes["version"], float)
        self.assertEqual(attributes["lang"], "python")
        self.assertIsInstance(attributes["startTime"], int)
        self.assertTrue(before <= attributes["startTime"] <= after)
        self.assertIsInstance(attributes["invocations"], int)
        self.assertGreaterEqual(attributes["invocations"], 1)
        self.assertIsInstance(attributes["initializationTime"], int)
        self.assertEqual(attributes["initializationTime"], SAAF._IMPORT_TIME_MS)
        self.assertLessEqual(attributes["initializationTime"], attributes["startTime"])

    def test_invocations_increment(self):
        first = Inspector().getAttribute("invocations")
        second = Inspector().getAttribute("invocations")
        third = Inspector().getAttribute("invocations")
        self.assertEqual(second, first + 1)
        self.assertEqual(third, first + 2)

    def test_invocations_and_initialization_in_a_fresh_process(self):
        before = epoch_ms()
        result = run_child(
            "import time\n"
            "from SAAF import Inspector\n"
            "out = []\n"
            "for _ in range(3):\n"
            "    out.append(Inspector().finish())\n"
            "    time.sleep(0.01)\n"
            "print(json.dumps(out))\n")
        after = epoch_ms()
        self.assertEqual([r["invocations"] for r in result], [1, 2, 3])
        init_times = {r["initializationTime"] for r in result}
        self.assertEqual(len(init_times), 1)
        init = init_times.pop()
        self.assertTrue(before <= init <= result[0]["startTime"] <= after)
        self.assertLess(result[0]["startTime"], result[2]["startTime"])

    def test_finish_timers(self):
        before = epoch_ms()
        inspector = Inspector()
        inspector.inspectAll()
        time.sleep(0.06)
        inspector.inspectAllDeltas()
        finish_before = epoch_ms()
        attributes = inspector.finish()
        finish_after = epoch_ms()
        self.assertEqual(attributes["runtime"], attributes["endTime"] - attributes["startTime"])
        self.assertTrue(before <= attributes["startTime"])
        self.assertTrue(finish_before <= attributes["endTime"] <= finish_after)
        self.assertGreaterEqual(attributes["runtime"], 60)
        for key in ("frameworkRuntime", "userRuntime", "frameworkRuntimeDeltas"):
            self.assertIsInstance(attributes[key], int, key)
            self.assertGreaterEqual(attributes[key], 0)
        self.assertGreaterEqual(attributes["userRuntime"], 59)
        total = (attributes["userRuntime"] + attributes["frameworkRuntime"]
                 + attributes["frameworkRuntimeDeltas"])
        self.assertLessEqual(abs(total - attributes["runtime"]), 3)
        self.assertLess(attributes["frameworkRuntime"], attributes["runtime"] - 50)

    def test_timers_only_after_inspect_all(self):
        inspector = Inspector()
        inspector.inspectLinux()
        attributes = dict(inspector.finish())
        self.assertFalse((ALL_TIMER_KEYS | DELTAS_TIMER_KEYS) & set(attributes))
        inspector = Inspector()
        inspector.inspectAllDeltas()
        attributes = inspector.finish()
        self.assertIn("frameworkRuntimeDeltas", attributes)
        self.assertNotIn("userRuntime", attributes, "userRuntime needs inspectAll's frameworkRuntime")

    def test_finish_returns_the_attributes(self):
        inspector = Inspector()
        inspector.addAttribute("answer", 42)
        attributes = inspector.finish()
        self.assertIsInstance(attributes, dict)
        self.assertEqual(attributes["answer"], 42)
        self.assertEqual(inspector.getAttribute("runtime"), attributes["runtime"])
        json.dumps(attributes)  # a function's result must serialise

    def test_add_and_get_attribute(self):
        inspector = Inspector()
        self.assertIsNone(inspector.getAttribute("nothing"))
        inspector.addAttribute("key", "value")
        self.assertEqual(inspector.getAttribute("key"), "value")
        inspector.addAttribute("key", [1, 2])
        self.assertEqual(inspector.getAttribute("key"), [1, 2])
        self.assertEqual(inspector.getAttribute("lang"), "python")

    def test_add_time_stamp(self):
        inspector = Inspector()
        start = inspector.getAttribute("startTime")
        time.sleep(0.03)
        before = epoch_ms()
        inspector.addTimeStamp("sinceStart")
        after = epoch_ms()
        value = inspector.getAttribute("sinceStart")
        self.assertIsInstance(value, int)
        self.assertTrue(before - start <= value <= after - start)
        self.assertGreaterEqual(value, 30)

        mark = epoch_ms() - 500
        before = epoch_ms()
        inspector.addTimeStamp("sinceMark", mark)
        after = epoch_ms()
        self.assertTrue(before - mark <= inspector.getAttribute("sinceMark") <= after - mark)
        self.assertGreaterEqual(inspector.getAttribute("sinceMark"), 500)


# -- /proc based inspections ------------------------------------------------------

@unittest.skipUnless(HAVE_PROC, "needs Linux /proc")
class TestCPUInfo(unittest.TestCase):
    def test_cpuinfo(self):
        inspector = Inspector()
        self.assertIsNone(inspector.inspectCPUInfo())
        cores, fields = read_cpuinfo()
        self.assertEqual(inspector.getAttribute("cpuCores"), cores)
        self.assertGreaterEqual(cores, 1)
        if "model name" in fields:
            # SAAF's cpuType is the model name, cpuModel the model number.
            self.assertEqual(inspector.getAttribute("cpuType"), fields["model name"])
            self.assertEqual(inspector.getAttribute("cpuModel"), fields["model"])
        else:
            self.assertTrue(inspector.getAttribute("cpuType"))
        info = inspector.getAttribute("cpuInfo")
        self.assertEqual(len(info), cores)
        self.assertEqual([core["processor"] for core in info], [str(n) for n in range(cores)])
        for core in info:
            for key, value in core.items():
                self.assertNotIn(" ", key)
                self.assertIsInstance(value, list if key in ("flags", "bugs", "Features") else str, key)
        if "model name" in fields:
            self.assertEqual(info[0]["model_name"], fields["model name"])
        machine = os.uname().machine
        expected = {"x86_64": "x86", "i686": "x86", "i386": "x86",
                    "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
        self.assertEqual(inspector.getAttribute("architecture"), expected)

    def test_architecture_names(self):
        for machine, expected in [("x86_64", "x86"), ("AMD64", "x86"), ("i686", "x86"),
                                  ("aarch64", "arm64"), ("arm64", "arm64"),
                                  ("riscv64", "riscv64"), ("ppc64le", "ppc64le")]:
            self.assertEqual(SAAF._architecture(machine), expected, machine)


@unittest.skipUnless(HAVE_PROC, "needs Linux /proc")
class TestCPU(unittest.TestCase):
    def assert_bracketed(self, key, value, low, high):
        slack = JITTER_MS if key in NON_MONOTONIC else 0
        self.assertTrue(low - slack <= value <= high + slack,
                        "%s=%r not within [%r, %r]" % (key, value, low, high))

    def test_cpu_counters_match_proc_stat(self):
        inspector = Inspector()
        before = read_proc_stat()
        self.assertIsNone(inspector.inspectCPU())
        after = read_proc_stat()
        for key in CPU_FIELDS + ["contextSwitches"]:
            value = inspector.getAttribute(key)
            self.assertIsInstance(value, (int, float), key)
            self.assert_bracketed(key, value, before[key], after[key])
        self.assertEqual(inspector.getAttribute("bootTime"), before["bootTime"])
        self.assertIsInstance(inspector.getAttribute("bootTime"), int)
        self.assertLess(inspector.getAttribute("bootTime"), time.time())

    def test_cpu_counters_are_monotonic(self):
        first = Inspector()
        first.inspectCPU()
        burn_cpu(0.02)
        second = Inspector()
        second.inspectCPU()
        for key in CPU_FIELDS + ["contextSwitches"]:
            slack = JITTER_MS if key in NON_MONOTONIC else 0
            self.assertGreaterEqual(second.getAttribute(key) + slack, first.getAttribute(key), key)

    def test_cpu_delta_after_inspect_cpu(self):
        inspector = Inspector()
        inspector.inspectCPU()
        base = {key: inspector.getAttribute(key) for key in CPU_FIELDS + ["contextSwitches"]}
        burn_cpu(0.3)
        before = read_proc_stat()
        self.assertIsNone(inspector.inspectCPUDelta())
        after = read_proc_stat()
        for key in CPU_FIELDS + ["contextSwitches"]:
            delta = inspector.getAttribute(key + "Delta")
            self.assertIsNotNone(delta, key)
            self.assert_bracketed(key, delta, before[key] - base[key], after[key] - base[key])
        self.assertIsNone(inspector.getAttribute("bootTimeDelta"))
        busy = sum(inspector.getAttribute(key + "Delta")
                   for key in ("cpuUser", "cpuNice", "cpuKernel"))
        self.assertGreaterEqual(busy, 100, "300 ms of CPU burnt, little accounted")
        # The delta call does not overwrite the absolute values.
        for key in base:
            self.assertEqual(inspector.getAttribute(key), base[key])

    def test_cpu_delta_without_inspect_cpu_is_an_error(self):
        inspector = Inspector()
        inspector.inspectCPUDelta()
        self.assertEqual(inspector.getAttribute("SAAFCPUDeltaError"),
                         "CPU not inspected before collecting deltas!")
        for key in CPU_FIELDS + ["contextSwitches"]:
            self.assertIsNone(inspector.getAttribute(key + "Delta"), key)

    def test_polls(self):
        inspector = Inspector()
        before = epoch_ms()
        inspector.pollCPUStats()
        inspector.inspectCPU()
        inspector.inspectCPUDelta()
        after = epoch_ms()
        self.assertIsNone(inspector.getAttribute("cpuPolls"))
        self.assertIsNone(inspector.processCPUPolls())
        polls = inspector.getAttribute("cpuPolls")
        self.assertEqual(len(polls), 3)
        cores, _ = read_cpuinfo()
        for poll in polls:
            self.assertTrue(before <= poll["time"] <= after)
            cpus = ["cpuTotal"] + ["cpu%d" % n for n in range(cores)]
            for name in cpus:
                self.assertEqual(list(poll[name]), CPU_FIELDS, name)
                for value in poll[name].values():
                    self.assertIsInstance(value, float)
            for name in ("ctxt", "btime", "processes"):
                self.assertIsInstance(poll[name], int, name)
        # inspectCPU's values are its own poll's, the deltas the last poll's minus that.
        for key in CPU_FIELDS:
            self.assertEqual(inspector.getAttribute(key), polls[1]["cpuTotal"][key])
            self.assertEqual(inspector.getAttribute(key + "Delta"),
                             polls[2]["cpuTotal"][key] - polls[1]["cpuTotal"][key])
        self.assertEqual(inspector.getAttribute("bootTime"), polls[1]["btime"])
        json.dumps(inspector.finish())

    def test_context_switches_delta_counts_switches(self):
        inspector = Inspector()
        inspector.inspectCPU()
        for _ in range(50):
            time.sleep(0.001)
        inspector.inspectCPUDelta()
        self.assertGreaterEqual(inspector.getAttribute("contextSwitchesDelta"), 50)


@unittest.skipUnless(HAVE_PROC, "needs Linux /proc")
class TestMemory(unittest.TestCase):
    def test_memory_matches_proc(self):
        inspector = Inspector()
        before = read_vmstat()
        self.assertIsNone(inspector.inspectMemory())
        after = read_vmstat()
        meminfo = read_meminfo()
        self.assertEqual(inspector.getAttribute("totalMemory"), meminfo["totalMemory"])
        free = inspector.getAttribute("freeMemory")
        self.assertIsInstance(free, int)
        self.assertTrue(0 < free <= meminfo["totalMemory"])
        self.assertLess(abs(free - meminfo["freeMemory"]), meminfo["totalMemory"] * 0.05)
        for key in ("pageFaults", "majorPageFaults"):
            value = inspector.getAttribute(key)
            self.assertIsInstance(value, int, key)
            self.assertTrue(before[key] <= value <= after[key], key)
        self.assertIsNone(inspector.getAttribute("mgmajfault"))

    def test_memory_delta(self):
        inspector = Inspector()
        inspector.inspectMemory()
        base = {key: inspector.getAttribute(key) for key in ("pageFaults", "majorPageFaults")}
        block = bytearray(32 * 1024 * 1024)
        for offset in range(0, len(block), 4096):
            block[offset] = 1
        before = read_vmstat()
        self.assertIsNone(inspector.inspectMemoryDelta())
        after = read_vmstat()
        del block
        for key in ("pageFaults", "majorPageFaults"):
            delta = inspector.getAttribute(key + "Delta")
            self.assertIsInstance(delta, int, key)
            self.assertTrue(before[key] - base[key] <= delta <= after[key] - base[key], key)
        self.assertGreater(inspector.getAttribute("pageFaultsDelta"), 0)

    def test_memory_delta_without_inspect_memory_is_an_error(self):
        inspector = Inspector()
        inspector.inspectMemoryDelta()
        self.assertEqual(inspector.getAttribute("SAAFMemoryDeltaError"),
                         "Memory not inspected before collecting deltas!")
        self.assertIsNone(inspector.getAttribute("pageFaultsDelta"))


class TestLinux(unittest.TestCase):
    def test_linux_version(self):
        inspector = Inspector()
        inspector.inspectLinux()
        version = inspector.getAttribute("linuxVersion")
        name = os.uname()
        self.assertTrue(version.startswith(" ".join([name.sysname, name.nodename, name.release])))
        self.assertIn(name.version, version)
        uname = shutil.which("uname")
        if uname:
            line = subprocess.run([uname, "-a"], stdout=subprocess.PIPE).stdout.decode().strip()
            self.assertEqual(version, line)


# -- the container id file ----------------------------------------------------------

class TestContainer(TempDirCase):
    def test_new_container_then_warm_in_processes(self):
        tmpdir = self.make_tmpdir()
        first = run_child(CONTAINER_CHILD, tmpdir=tmpdir)
        second = run_child(CONTAINER_CHILD, tmpdir=tmpdir)
        self.assertEqual(first["newcontainer"], 1)
        self.assertEqual(second["newcontainer"], 0)
        self.assertEqual(first["uuid"], second["uuid"])
        self.assertEqual(str(uuid.UUID(first["uuid"])), first["uuid"])
        with open(os.path.join(tmpdir, "container-id")) as id_file:
            self.assertEqual(id_file.read().strip(), first["uuid"])
        self.assertEqual(os.listdir(tmpdir), ["container-id"], "no temporary files left")
        other = run_child(CONTAINER_CHILD, tmpdir=self.make_tmpdir())
        self.assertEqual(other["newcontainer"], 1)
        self.assertNotEqual(other["uuid"], first["uuid"])

    def with_tempdir(self, path):
        saved = tempfile.tempdir
        tempfile.tempdir = path
        self.addCleanup(setattr, tempfile, "tempdir", saved)

    def test_new_container_then_warm_in_process(self):
        self.with_tempdir(self.make_tmpdir())
        first = Inspector()
        self.assertIsNone(first.inspectContainer())
        second = Inspector()
        second.inspectContainer()
        self.assertEqual(first.getAttribute("newcontainer"), 1)
        self.assertEqual(second.getAttribute("newcontainer"), 0)
        self.assertEqual(first.getAttribute("uuid"), second.getAttribute("uuid"))

    def test_concurrent_first_use_has_one_winner(self):
        tmpdir = self.make_tmpdir()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TMPDIR": tmpdir,
               "PYTHONDONTWRITEBYTECODE": "1"}
        go = os.path.join(tmpdir, "go")
        code = CHILD_PRELUDE + (
            "import time\n"
            "from SAAF import Inspector\n"
            "while not os.path.exists(%r): time.sleep(0.001)\n"
            "inspector = Inspector()\n"
            "inspector.inspectContainer()\n"
            "print(json.dumps(inspector.finish()))\n" % go)
        children = [subprocess.Popen([sys.executable, "-c", code], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                    for _ in range(8)]
        time.sleep(0.3)
        open(go, "w").close()
        results = []
        for child in children:
            out, err = child.communicate(timeout=30)
            self.assertEqual(child.returncode, 0, err.decode())
            results.append(json.loads(out.decode()))
        self.assertEqual(sum(r["newcontainer"] for r in results), 1)
        self.assertEqual(len({r["uuid"] for r in results}), 1)
        self.assertEqual(sorted(os.listdir(tmpdir)), ["container-id", "go"])

    def test_thread_race_in_process(self):
        self.with_tempdir(self.make_tmpdir())
        results = []
        barrier = threading.Barrier(8)

        def work():
            inspector = Inspector()
            barrier.wait()
            inspector.inspectContainer()
            results.append(inspector.finish())
        threads = [threading.Thread(target=work) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sum(r["newcontainer"] for r in results), 1)
        self.assertEqual(len({r["uuid"] for r in results}), 1)

    def test_empty_id_file_is_replaced(self):
        tmpdir = self.make_tmpdir()
        self.with_tempdir(tmpdir)
        open(os.path.join(tmpdir, "container-id"), "w").close()
        first = Inspector()
        first.inspectContainer()
        self.assertEqual(first.getAttribute("newcontainer"), 1)
        second = Inspector()
        second.inspectContainer()
        self.assertEqual(second.getAttribute("newcontainer"), 0)
        self.assertEqual(second.getAttribute("uuid"), first.getAttribute("uuid"))

    def test_unusable_temp_folder_falls_back_to_process_id(self):
        result = run_child(
            "import tempfile\n"
            "tempfile.tempdir = '/nonexistent-saaf-test/dir'\n"
            "from SAAF import Inspector\n"
            "out = []\n"
            "for _ in range(2):\n"
            "    inspector = Inspector()\n"
            "    inspector.inspectContainer()\n"
            "    out.append(inspector.finish())\n"
            "print(json.dumps(out))\n", tmpdir=self.make_tmpdir())
        self.assertEqual([r["newcontainer"] for r in result], [1, 0])
        self.assertEqual(result[0]["uuid"], result[1]["uuid"])
        uuid.UUID(result[0]["uuid"])


# -- platform detection ---------------------------------------------------------------

class TestPlatform(TempDirCase):
    def platform_of(self, env_vars):
        return run_child(PLATFORM_CHILD, env_vars, tmpdir=self.make_tmpdir())

    def assert_vm_id(self, result):
        if os.path.exists("/proc/sys/kernel/random/boot_id"):
            self.assertEqual(result["vmID"], expected_vm_id())

    def test_aws_lambda(self):
        result = self.platform_of({
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]abcdef0123",
            "AWS_LAMBDA_FUNCTION_NAME": "hello",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
            "AWS_REGION": "us-east-2"})
        self.assertEqual(result["platform"], "AWS Lambda")
        self.assertEqual(result["containerID"], "2024/01/01/[$LATEST]abcdef0123")
        self.assertEqual(result["functionName"], "hello")
        self.assertEqual(result["functionMemory"], "512")
        self.assertEqual(result["functionRegion"], "us-east-2")
        self.assert_vm_id(result)

    def test_google_cloud_functions(self):
        cases = [
            ({"K_SERVICE": "hello-gen2", "FUNCTION_TARGET": "main"}, "hello-gen2"),
            ({"FUNCTION_TARGET": "main"}, "main"),
            ({"X_GOOGLE_FUNCTION_NAME": "hello-gen1", "X_GOOGLE_FUNCTION_MEMORY_MB": "256",
              "X_GOOGLE_FUNCTION_REGION": "us-central1"}, "hello-gen1"),
        ]
        for env_vars, name in cases:
            result = self.platform_of(env_vars)
            self.assertEqual(result["platform"], "Google Cloud Functions", env_vars)
            self.assertEqual(result["functionName"], name)
            self.assertEqual(result["containerID"], result["_hostname"])
            self.assert_vm_id(result)
        self.assertEqual(result["functionMemory"], "256")
        self.assertEqual(result["functionRegion"], "us-central1")

    def test_ibm_cloud_functions(self):
        result = self.platform_of({"__OW_ACTION_NAME": "/ns/hello",
                                   "__OW_API_HOST": "https://us-south.functions.cloud.ibm.com"})
        self.assertEqual(result["platform"], "IBM Cloud Functions")
        self.assertEqual(result["functionName"], "/ns/hello")
        self.assertEqual(result["functionRegion"], "us-south")
        self.assert_vm_id(result)

    def test_azure_functions(self):
        result = self.platform_of({"WEBSITE_SITE_NAME": "hello-app", "REGION_NAME": "East US",
                                   "WEBSITE_MEMORY_LIMIT_MB": "1536"})
        self.assertEqual(result["platform"], "Azure Functions")
        self.assertEqual(result["functionName"], "hello-app")
        self.assertEqual(result["functionRegion"], "East US")
        self.assertEqual(result["functionMemory"], "1536")
        result = self.platform_of({"CONTAINER_NAME": "abc123",
                                   "FUNCTIONS_WORKER_RUNTIME": "python"})
        self.assertEqual(result["platform"], "Azure Functions")
        self.assertEqual(result["containerID"], "abc123")
        self.assert_vm_id(result)

    def test_container_name_alone_is_not_azure(self):
        result = self.platform_of({"CONTAINER_NAME": "some-docker-tool"})
        self.assertEqual(result["platform"], "Unknown Platform")

    def test_openfaas(self):
        result = self.platform_of({"fprocess": "python3 index.py"})
        self.assertEqual(result["platform"], "OpenFaaS")
        self.assertEqual(result["containerID"], result["_hostname"])
        self.assert_vm_id(result)

    def test_faaset_local(self):
        result = self.platform_of({"FAASET_PLATFORM": "local", "FAASET_FUNCTION_NAME": "hello",
                                   "FAASET_FUNCTION_MEMORY": "256"})
        self.assertEqual(result["platform"], "FaaSET Local")
        self.assertEqual(result["functionName"], "hello")
        self.assertEqual(result["functionMemory"], "256")
        self.assertEqual(result["functionRegion"], "local")
        self.assertEqual(result["containerID"], "%s:%d" % (result["_hostname"], result["_pid"]))
        self.assert_vm_id(result)

    def test_faaset_notebook(self):
        result = self.platform_of({"FAASET_PLATFORM": "notebook", "FAASET_FUNCTION_NAME": "nb"})
        self.assertEqual(result["platform"], "FaaSET Notebook")
        self.assertEqual(result["functionName"], "nb")
        self.assertEqual(result["functionRegion"], "local")
        self.assertNotIn("functionMemory", result)
        self.assertEqual(result["containerID"], "%s:%d" % (result["_hostname"], result["_pid"]))

    def test_faaset_wins_over_inherited_cloud_variables(self):
        result = self.platform_of({"FAASET_PLATFORM": "local", "FAASET_FUNCTION_NAME": "f",
                                   "AWS_LAMBDA_LOG_STREAM_NAME": "x", "K_SERVICE": "y"})
        self.assertEqual(result["platform"], "FaaSET Local")

    def test_unknown_platform(self):
        result = self.platform_of({})
        self.assertEqual(result["platform"], "Unknown Platform")
        self.assertEqual(result["containerID"], result["_hostname"])
        self.assertNotIn("functionName", result)
        self.assertNotIn("functionRegion", result)
        self.assert_vm_id(result)

    def test_vm_id_from_lambda_cgroup(self):
        cgroup = ("11:memory:/sandbox-root-Ab12Cd/sandbox-d9f8e7\n"
                  "0::/sandbox-root-Ab12Cd/sandbox-d9f8e7\n")
        saved = SAAF._read_text
        SAAF._read_text = lambda path: cgroup if path == "/proc/self/cgroup" else saved(path)
        try:
            self.assertEqual(SAAF._vm_id(), "Ab12Cd")
        finally:
            SAAF._read_text = saved

    @unittest.skipUnless(os.path.exists("/proc/sys/kernel/random/boot_id"), "needs boot_id")
    def test_vm_id_in_process(self):
        inspector = Inspector()
        inspector.inspectPlatform()
        self.assertEqual(inspector.getAttribute("vmID"), expected_vm_id())


# -- groups, exports, robustness ------------------------------------------------------

@unittest.skipUnless(HAVE_PROC, "needs Linux /proc")
class TestGroups(TempDirCase):
    def test_inspect_all_and_deltas_give_every_attribute(self):
        result = run_child(
            "from SAAF import Inspector\n"
            "inspector = Inspector()\n"
            "inspector.inspectAll()\n"
            "after_all = dict(inspector.finish())\n"
            "inspector.inspectAllDeltas()\n"
            "print(json.dumps([after_all, inspector.finish()]))\n",
            {"FAASET_PLATFORM": "local", "FAASET_FUNCTION_NAME": "f",
             "FAASET_FUNCTION_MEMORY": "128"}, tmpdir=self.make_tmpdir())
        after_all, final = result
        groups = (CONSTRUCTOR_KEYS | CONTAINER_KEYS | CPUINFO_KEYS | CPU_KEYS | MEMORY_KEYS
                  | PLATFORM_KEYS | {"linuxVersion"} | FINISH_KEYS)
        self.assertEqual(set(after_all), groups | ALL_TIMER_KEYS)
        self.assertEqual(set(final), groups | ALL_TIMER_KEYS | DELTAS_TIMER_KEYS | CPU_DELTA_KEYS
                         | MEMORY_DELTA_KEYS)
        for key in CPU_DELTA_KEYS | MEMORY_DELTA_KEYS:
            self.assertGreaterEqual(final[key] + JITTER_MS, 0, key)
        self.assertEqual(final["newcontainer"], 1)

    def test_in_process_inspect_all(self):
        inspector = Inspector()
        self.assertIsNone(inspector.inspectAll())
        attributes = inspector.finish()
        for key in CONTAINER_KEYS | CPUINFO_KEYS | CPU_KEYS | MEMORY_KEYS | {"linuxVersion",
                                                                              "platform", "vmID"}:
            self.assertIn(key, attributes)
        self.assertIsNone(inspector.inspectAllDeltas())
        attributes = inspector.finish()
        self.assertTrue(CPU_DELTA_KEYS | MEMORY_DELTA_KEYS <= set(attributes))


class TestExports(unittest.TestCase):
    def test_star_import_and_direct_import(self):
        result = run_child(
            "namespace = {}\n"
            "exec('from Inspector import *', namespace)\n"
            "import SAAF\n"
            "from SAAF import Inspector as Direct\n"
            "names = sorted(k for k in namespace if k != '__builtins__')\n"
            "inspector = namespace['Inspector']()\n"
            "print(json.dumps({'names': names, 'same': namespace['Inspector'] is Direct,\n"
            "                  'lang': inspector.finish()['lang']}))\n")
        self.assertEqual(result, {"names": ["Inspector"], "same": True, "lang": "python"})

    def test_import_is_light(self):
        result = run_child(
            "before = set(sys.modules)\n"
            "import SAAF\n"
            "print(json.dumps(sorted(set(sys.modules) - before)))\n")
        heavy = {"tempfile", "uuid", "json", "platform", "subprocess", "random", "shutil",
                 "threading", "socket"}
        self.assertIn("SAAF", result)
        self.assertFalse(heavy & set(result), result)


class TestRobustness(TempDirCase):
    def without_proc(self, reader):
        saved = SAAF._read_text
        SAAF._read_text = reader
        self.addCleanup(setattr, SAAF, "_read_text", saved)

    def run_everything(self):
        inspector = Inspector()
        for method in ("inspectContainer", "inspectCPUInfo", "pollCPUStats", "inspectCPU",
                       "inspectCPUDelta", "processCPUPolls", "inspectMemory", "inspectMemoryDelta",
                       "inspectPlatform", "inspectLinux", "inspectAll", "inspectAllDeltas"):
            self.assertIsNone(getattr(inspector, method)(), method)
        return inspector.finish()

    def test_missing_proc_files_leave_attributes_out(self):
        saved = tempfile.tempdir
        tempfile.tempdir = self.make_tmpdir()
        self.addCleanup(setattr, tempfile, "tempdir", saved)
        real = SAAF._read_text
        self.without_proc(lambda path: None if path.startswith(("/proc", "/sys")) else real(path))
        attributes = self.run_everything()
        for key in (CPU_KEYS | MEMORY_KEYS | CPU_DELTA_KEYS | MEMORY_DELTA_KEYS
                    | {"cpuType", "cpuModel", "cpuCores", "cpuInfo", "vmID"}):
            self.assertNotIn(key, attributes)
        self.assertEqual(attributes["SAAFMemoryError"], "/proc/vmstat does not exist!")
        self.assertEqual(attributes["SAAFCPUDeltaError"], "CPU not inspected before collecting deltas!")
        for key in ("uuid", "architecture", "platform", "linuxVersion", "runtime"):
            self.assertIn(key, attributes)

    def test_garbage_proc_files_do_not_raise(self):
        saved = tempfile.tempdir
        tempfile.tempdir = self.make_tmpdir()
        self.addCleanup(setattr, tempfile, "tempdir", saved)
        self.without_proc(lambda path: "cpu x y\nctxt\nbtime zz\npgfault\n:::\nMemTotal: kB\n")
        attributes = self.run_everything()
        self.assertIn("runtime", attributes)

    def test_a_failing_reader_does_not_raise(self):
        def broken(path):
            raise RuntimeError("boom")
        saved = tempfile.tempdir
        tempfile.tempdir = self.make_tmpdir()
        self.addCleanup(setattr, tempfile, "tempdir", saved)
        self.without_proc(broken)
        attributes = self.run_everything()
        self.assertIn("endTime", attributes)


if __name__ == "__main__":
    unittest.main()
