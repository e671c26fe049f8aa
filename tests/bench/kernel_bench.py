#!/usr/bin/python3
"""Benchmark the faaset kernel against ipykernel, side by side, in one run.

What it measures, for each kernel (both run cells with the same interpreter,
--python, default /usr/bin/python3):

1. Start-up: wall time from just before Popen() to the first
   kernel_info_reply received on the shell channel. The client is a raw pyzmq
   DEALER that connects before the kernel exists (with a short reconnect
   interval) and sends a signed kernel_info_request every 5 ms until a reply
   arrives. faaset answers a shell kernel_info_request only once its Python
   runtime has said hello, so its figure includes starting the runtime.
   Each kernel is started once untimed (to warm caches and let IPython create
   its profile folder), then --starts times, alternating the two kernels so
   drift on the machine affects both alike. Median and min are reported.

2. Execute round trip of a trivial cell (--code, default "pass"): time from
   sending execute_request until both the execute_reply (shell) and the
   idle status for that request (iopub) have been received. --warmup
   requests (default 20) are sent first and not counted; then --iterations
   (default 1000, at least 500). p50, p90, p99 and mean are reported in ms.

3. Memory, read from /proc right after the round-trip loop: for faaset the
   C kernel process's VmRSS and VmHWM (peak), its Python runtime child's
   VmRSS (the child is found by scanning /proc/*/stat for its parent pid) and
   the total; for ipykernel its process's VmRSS (plus any children) and VmHWM.

4. Targets, printed as PASS/FAIL lines: faaset's median start-up is at most
   1/5 of ipykernel's, faaset's round-trip p50 is no slower than ipykernel's,
   and the C kernel process uses under 10 MiB RSS. They are informational:
   the exit status is 0 unless --check is given, then 1 if any target fails.

Run with Debian's /usr/bin/python3 (it has jupyter_client, pyzmq and
ipykernel). The faaset binary is --faaset, else $FAASET_BINARY, else
build-release/faaset (a release build without sanitizers). --json PATH also
writes every raw figure (including all samples) as JSON.

Every kernel runs in its own session in a private temporary folder (history
files, IPython profile, connection files and kernel stderr go there) and is
killed, with its children, when it is no longer needed, on Ctrl-C, SIGTERM or
an error; the kernels also get SIGKILL from the kernel if this script dies.
Every wait has a timeout, so a kernel that hangs fails the run instead of
hanging it.
"""
import gc
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time
import uuid

import zmq
from jupyter_client.session import Session

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_common import (BenchError, Table, add_common_options, check_faaset, children_of, clean_env,  # noqa: E402
                          command_output, connection_info, cpu_model, descendants_of, file_tail, kill_quietly,
                          machine_line, new_parser, percentile, print_targets, proc_status, progress, python_version,
                          reap, run_benchmark, spawn, status_kib, track, untrack)

RESEND_INTERVAL = 0.005          # seconds between kernel_info_requests while starting
RECONNECT_INTERVAL_MS = 2        # how soon zmq retries a refused connection
START_TIMEOUT = 60.0             # seconds for one kernel to answer kernel_info
REQUEST_TIMEOUT = 10.0           # seconds for one execute round trip
C_KERNEL_RSS_LIMIT_KIB = 10 * 1024
STARTUP_RATIO_TARGET = 5.0


# ---------------------------------------------------------------- processes

class KernelFlavour:
    """How to start one kind of kernel from a connection file."""

    def __init__(self, name, argv, env):
        self.name = name
        self.argv = argv       # connection file path -> argv
        self.env = env


class RunningKernel:
    """One kernel process started from a fresh connection file."""

    def __init__(self, flavour, workdir):
        self.flavour = flavour
        tag = f"{flavour.name}-{uuid.uuid4().hex[:8]}"
        self.info = connection_info(flavour.name)
        self.connection_file = workdir / f"{tag}.json"
        self.connection_file.write_text(json.dumps(self.info))
        self.stderr_path = workdir / f"{tag}.stderr"
        self.workdir = workdir
        self.process = None

    def url(self, channel):
        return f"tcp://{self.info['ip']}:{self.info[channel + '_port']}"

    def start(self):
        argv = self.flavour.argv(str(self.connection_file))
        with open(self.stderr_path, "wb") as stderr:
            self.process = spawn(argv, self.flavour.name, env=self.flavour.env, cwd=self.workdir,
                                 stdout=subprocess.DEVNULL, stderr=stderr)
        track(self)

    @property
    def pid(self):
        return self.process.pid

    def check_alive(self):
        code = self.process.poll()
        if code is not None:
            raise BenchError(f"{self.flavour.name} exited with status {code}; stderr:\n{self.stderr_tail()}")

    def stderr_tail(self, limit=4000):
        return file_tail(self.stderr_path, limit)

    def stop(self):
        """Kills the kernel's process group and every descendant, then reaps it."""
        untrack(self)
        if self.process is None:
            return
        if self.process.poll() is None:
            # The faaset runtime runs in a process group of its own: list the
            # descendants before their parent dies and they are reparented.
            family = descendants_of(self.pid)
            kill_quietly(os.killpg, self.pid)
            for pid in family:
                kill_quietly(os.kill, pid)
        reap(self.process, self.flavour.name)


# ---------------------------------------------------------------- messaging

class Client:
    """A shell DEALER and an iopub SUB that sign and check messages with the key."""

    def __init__(self, context, kernel, iopub=True):
        self.session = Session(key=kernel.info["key"].encode(), signature_scheme="hmac-sha256",
                               username="bench")
        self.shell = context.socket(zmq.DEALER)
        self.shell.setsockopt(zmq.LINGER, 0)
        self.shell.setsockopt(zmq.RECONNECT_IVL, RECONNECT_INTERVAL_MS)
        # Until the kernel accepts the connection, sends queue up to the
        # high-water mark and would then block: never let a send wait.
        self.shell.setsockopt(zmq.SNDTIMEO, 0)
        self.shell.connect(kernel.url("shell"))
        self.iopub = None
        if iopub:
            self.iopub = context.socket(zmq.SUB)
            self.iopub.setsockopt(zmq.LINGER, 0)
            self.iopub.setsockopt(zmq.SUBSCRIBE, b"")
            self.iopub.connect(kernel.url("iopub"))

    def send(self, msg_type, content):
        """Sends a request on shell; returns its msg_id, or None if the queue is full."""
        try:
            return self.session.send(self.shell, msg_type, content)["header"]["msg_id"]
        except zmq.Again:
            return None

    def recv(self, sock):
        _, msg = self.session.recv(sock, mode=zmq.NOBLOCK)
        return msg

    def close(self):
        self.shell.close(0)
        if self.iopub is not None:
            self.iopub.close(0)


def measure_startup(context, flavour, workdir):
    """Seconds from Popen to the first kernel_info_reply; the kernel is killed after."""
    kernel = RunningKernel(flavour, workdir)
    client = Client(context, kernel, iopub=False)   # connects before the kernel binds
    try:
        started = time.perf_counter()
        kernel.start()
        deadline = started + START_TIMEOUT
        next_send = started
        while True:
            now = time.perf_counter()
            if now >= next_send:
                client.send("kernel_info_request", {})
                next_send = now + RESEND_INTERVAL
            if client.shell.poll(max(0, (next_send - time.perf_counter()) * 1000)):
                msg = client.recv(client.shell)
                if msg is not None and msg["msg_type"] == "kernel_info_reply":
                    return time.perf_counter() - started
            if time.perf_counter() > deadline:
                raise BenchError(f"{flavour.name}: no kernel_info_reply within {START_TIMEOUT:.0f} s; "
                                 f"stderr:\n{kernel.stderr_tail()}")
            kernel.check_alive()
    finally:
        client.close()
        kernel.stop()


def wait_until_ready(client, kernel, timeout=START_TIMEOUT):
    """Sends kernel_info_requests until one is answered on shell and its idle
    status has come on iopub (so the iopub subscription is live)."""
    deadline = time.monotonic() + timeout
    pending, replied, idle = set(), set(), set()
    next_send = 0.0
    poller = zmq.Poller()
    poller.register(client.shell, zmq.POLLIN)
    poller.register(client.iopub, zmq.POLLIN)
    while not (replied & idle):
        if time.monotonic() > deadline:
            raise BenchError(f"{kernel.flavour.name}: not ready within {timeout:.0f} s; "
                             f"stderr:\n{kernel.stderr_tail()}")
        kernel.check_alive()
        if time.monotonic() >= next_send:
            msg_id = client.send("kernel_info_request", {})
            if msg_id is not None:
                pending.add(msg_id)
            next_send = time.monotonic() + 0.1
        for sock, _ in poller.poll(50):
            msg = client.recv(sock)
            parent = msg["parent_header"].get("msg_id")
            if parent not in pending:
                continue
            if sock is client.shell:
                replied.add(parent)
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                idle.add(parent)
    # Let any late answers to the extra requests arrive, then drop them.
    time.sleep(0.2)
    for sock in (client.shell, client.iopub):
        while sock.poll(0):
            sock.recv_multipart()


def execute_round_trip(client, poller, kernel, content):
    """Seconds from sending an execute_request to having both its reply and its idle status."""
    started = time.perf_counter()
    msg_id = client.send("execute_request", content)
    if msg_id is None:
        raise BenchError(f"{kernel.flavour.name}: cannot send: the shell queue is full")
    deadline = started + REQUEST_TIMEOUT
    reply = idle = False
    while not (reply and idle):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            kernel.check_alive()
            raise BenchError(f"{kernel.flavour.name}: no execute_reply/idle within {REQUEST_TIMEOUT:.0f} s")
        for sock, _ in poller.poll(remaining * 1000):
            msg = client.recv(sock)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if sock is client.shell:
                if msg["content"].get("status") != "ok":
                    raise BenchError(f"{kernel.flavour.name}: cell failed: {msg['content']}")
                reply = True
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
    return time.perf_counter() - started


def measure_session(context, flavour, workdir, code, warmup, iterations):
    """Round-trip samples (seconds) and memory figures (KiB) for one kernel."""
    kernel = RunningKernel(flavour, workdir)
    kernel.start()
    client = Client(context, kernel)
    try:
        wait_until_ready(client, kernel)
        poller = zmq.Poller()
        poller.register(client.shell, zmq.POLLIN)
        poller.register(client.iopub, zmq.POLLIN)
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}
        for _ in range(warmup):
            execute_round_trip(client, poller, kernel, content)
        samples = []
        gc.disable()   # keep the client's own collector pauses out of the samples
        try:
            for _ in range(iterations):
                samples.append(execute_round_trip(client, poller, kernel, content))
        finally:
            gc.enable()
        return samples, memory_of(kernel.pid)
    finally:
        client.close()
        kernel.stop()


def memory_of(pid):
    """VmRSS/VmHWM/RssAnon/RssFile of PID and VmRSS of each of its children, in KiB."""
    status = proc_status(pid)
    children = []
    for child in children_of(pid):
        child_status = proc_status(child)
        children.append({"pid": child, "name": child_status.get("Name"),
                         "rss_kib": status_kib(child_status, "VmRSS"),
                         "hwm_kib": status_kib(child_status, "VmHWM")})
    process = {field: status_kib(status, name) for field, name in
               [("rss_kib", "VmRSS"), ("hwm_kib", "VmHWM"), ("rss_anon_kib", "RssAnon"),
                ("rss_file_kib", "RssFile"), ("rss_shmem_kib", "RssShmem")]}
    total = (process["rss_kib"] or 0) + sum(c["rss_kib"] or 0 for c in children)
    return {"pid": pid, "process": process, "children": children, "total_rss_kib": total}


# ---------------------------------------------------------------- reporting

def round_trip_summary(samples):
    ms = [s * 1000 for s in samples]
    return {"p50_ms": percentile(ms, 0.50), "p90_ms": percentile(ms, 0.90), "p99_ms": percentile(ms, 0.99),
            "mean_ms": statistics.fmean(ms), "min_ms": min(ms), "max_ms": max(ms)}


def startup_summary(samples):
    ms = [s * 1000 for s in samples]
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms)}


def machine_info(args):
    py = args.python
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "faaset_binary": args.faaset,
        "faaset_version": command_output([args.faaset, "--version"]),
        "cell_python": py,
        "cell_python_version": python_version(py),
        "ipykernel_version": command_output([py, "-c", "import ipykernel; print(ipykernel.__version__)"]),
        "bench_python_version": sys.version.split()[0],
        "pyzmq_version": zmq.pyzmq_version(),
        "libzmq_version": zmq.zmq_version(),
    }


def mib(kib):
    return "-" if kib is None else f"{kib / 1024:.1f}"


def ratio(a, b):
    return "-" if not a or not b else f"{a / b:.2f}x"


def print_report(results, args):
    m = results["machine"]
    print()
    print(machine_line(m))
    print(f"Versions: {m['faaset_version']} ({m['faaset_binary']}); ipykernel {m['ipykernel_version']}; "
          f"cell Python {m['cell_python_version']} ({m['cell_python']}); "
          f"pyzmq {m['pyzmq_version']}, libzmq {m['libzmq_version']}")
    print()
    f, i = results["faaset"], results["ipykernel"]
    table = Table((14, 14, 12), ("faaset", "ipykernel", "faaset/ipy"))
    section = table.section

    def row(label, fv, iv, fmt="{:.2f}", with_ratio=True):
        table.add("  " + label, "-" if fv is None else fmt.format(fv), "-" if iv is None else fmt.format(iv),
                  ratio(fv, iv) if with_ratio else "")

    section(f"Start-up, Popen -> first kernel_info_reply (ms, n={args.starts})")
    row("median", f["startup"]["median_ms"], i["startup"]["median_ms"], "{:.1f}")
    row("min", f["startup"]["min_ms"], i["startup"]["min_ms"], "{:.1f}")
    section(f"Execute round trip of {args.code!r}, reply + idle (ms, n={args.iterations})")
    for key in ("p50", "p90", "p99", "mean"):
        row(key, f["round_trip"][key + "_ms"], i["round_trip"][key + "_ms"], "{:.3f}")
    fm, im = f["memory"], i["memory"]
    runtime_rss = sum(c["rss_kib"] or 0 for c in fm["children"]) if fm["children"] else None
    ipy_children = sum(c["rss_kib"] or 0 for c in im["children"]) if im["children"] else None
    section("Memory after the round trips (MiB)")
    table.add("  kernel process RSS", mib(fm["process"]["rss_kib"]), mib(im["process"]["rss_kib"]),
              ratio(fm["process"]["rss_kib"], im["process"]["rss_kib"]))
    table.add("    of which anon / file", f"{mib(fm['process']['rss_anon_kib'])} / {mib(fm['process']['rss_file_kib'])}",
              f"{mib(im['process']['rss_anon_kib'])} / {mib(im['process']['rss_file_kib'])}", "")
    table.add("  kernel process peak (VmHWM)", mib(fm["process"]["hwm_kib"]), mib(im["process"]["hwm_kib"]),
              ratio(fm["process"]["hwm_kib"], im["process"]["hwm_kib"]))
    table.add("  Python runtime child RSS", mib(runtime_rss), mib(ipy_children) if ipy_children else "(none)", "")
    table.add("  total RSS", mib(fm["total_rss_kib"]), mib(im["total_rss_kib"]),
              ratio(fm["total_rss_kib"], im["total_rss_kib"]))
    table.print()
    print_targets(results["targets"])


def evaluate_targets(results):
    f, i = results["faaset"], results["ipykernel"]
    fs, is_ = f["startup"]["median_ms"], i["startup"]["median_ms"]
    fp, ip = f["round_trip"]["p50_ms"], i["round_trip"]["p50_ms"]
    rss = f["memory"]["process"]["rss_kib"]
    return [
        {"name": f"start-up <= 1/{STARTUP_RATIO_TARGET:g} of ipykernel (median)",
         "passed": fs * STARTUP_RATIO_TARGET <= is_,
         "detail": f"{fs:.1f} ms vs {is_:.1f} ms (limit {is_ / STARTUP_RATIO_TARGET:.1f} ms, ipykernel/faaset = {is_ / fs:.1f}x)"},
        {"name": "round-trip p50 no slower than ipykernel",
         "passed": fp <= ip,
         "detail": f"{fp:.3f} ms vs {ip:.3f} ms"},
        {"name": f"C kernel process RSS < {C_KERNEL_RSS_LIMIT_KIB // 1024} MiB",
         "passed": rss is not None and rss < C_KERNEL_RSS_LIMIT_KIB,
         "detail": f"{mib(rss)} MiB (VmRSS after the round trips; peak {mib(f['memory']['process']['hwm_kib'])} MiB)"},
    ]


# ---------------------------------------------------------------- main

def parse_args():
    parser = new_parser(__doc__)
    parser.add_argument("--starts", type=int, default=10, help="timed start-ups per kernel (default 10)")
    parser.add_argument("--iterations", type=int, default=1000, help="timed round trips per kernel (default 1000, min 500)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed round trips first (default 20)")
    parser.add_argument("--code", default="pass", help="the cell to run (default 'pass')")
    add_common_options(parser, "interpreter for cells and for ipykernel")
    args = parser.parse_args()
    if args.starts < 1:
        parser.error("--starts must be at least 1")
    if args.iterations < 500:
        parser.error("--iterations must be at least 500")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    check_faaset(parser, args)
    return args


def flavours(args, workdir):
    env = clean_env()
    env.update({
        "FAASET_HISTORY": str(workdir / "faaset-history.jsonl"),
        "IPYTHONDIR": str(workdir / "ipython"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "jupyter-runtime"),
        "JUPYTER_DATA_DIR": str(workdir / "jupyter-data"),
        "MPLCONFIGDIR": str(workdir / "matplotlib"),
    })
    return [
        KernelFlavour("faaset", lambda cf: [args.faaset, "kernel", "-f", cf, "--python", args.python], env),
        KernelFlavour("ipykernel", lambda cf: [args.python, "-m", "ipykernel_launcher", "-f", cf], env),
    ]


def run(args, workdir):
    kinds = flavours(args, workdir)
    results = {"machine": machine_info(args),
               "settings": {k: getattr(args, k) for k in ("starts", "iterations", "warmup", "code", "python")}}
    context = zmq.Context()
    try:
        starts = {k.name: [] for k in kinds}
        progress("start-up: one untimed start of each kernel ...")
        for kind in kinds:
            measure_startup(context, kind, workdir)
        for n in range(args.starts):
            progress(f"start-up: round {n + 1}/{args.starts}")
            for kind in (kinds if n % 2 == 0 else kinds[::-1]):
                starts[kind.name].append(measure_startup(context, kind, workdir))
        for kind in kinds:
            progress(f"round trips: {kind.name}, {args.warmup} warm-up + {args.iterations} timed ...")
            samples, memory = measure_session(context, kind, workdir, args.code, args.warmup, args.iterations)
            results[kind.name] = {
                "startup": startup_summary(starts[kind.name]),
                "startup_samples_ms": [s * 1000 for s in starts[kind.name]],
                "round_trip": round_trip_summary(samples),
                "round_trip_samples_ms": [s * 1000 for s in samples],
                "memory": memory,
            }
    finally:
        context.destroy(linger=0)
    results["targets"] = evaluate_targets(results)
    return results


def main():
    return run_benchmark("kernel_bench", parse_args(), run, print_report, "faaset-bench-")


if __name__ == "__main__":
    sys.exit(main())
