#!/usr/bin/python3
"""Benchmark faaset's cloud functions on the local platform: the unchanged-cell
check of a large function, and warm and cold invocations.

One faaset kernel runs for the whole benchmark, with a fresh temporary folder
as its current directory (the notebook's folder: `.faaset/` deployment state,
packages, worker folders and logs go there). It is driven through
jupyter_client's BlockingKernelClient, as a frontend would drive it.

1. Unchanged-cell check of a ~100 KB function (--size, default 102400
   bytes). The cell is `%%cloud_function` over real Python: a docstring,
   generated helper functions, a tuple of them and, last, the handler that
   runs them all, so the whole body is the deployed source. It is deployed
   once (the kernel's `deployed ... in X ms`: packaging, unpacking under
   .faaset/local, writing the state; and the cell's round trip), called once
   (proving it works; a new worker compiles it), then the same cell runs
   --warmup times untimed and --unchanged times (default 200) timed. Each
   run prints `local: up to date NAME (1a2b3c4d) in 0.31 ms`: that time is
   measured inside the kernel, from the arrival of the runtime's `define`
   upcall to its answer (parsing options, hashing the 100 KB source, reading
   the state file under `.faaset/`), and is parsed from the cell's stdout
   (0.01 ms resolution). Reported: p50, p90, p99 and max. For context, the
   cell's whole round trip as the client sees it (execute_request sent ->
   execute_reply and idle received: shipping 100 KB to the kernel and the
   runtime, the runtime's parse of the cell, the kernel's history), and the
   time ast.parse takes over the body in this script's Python (the runtime
   parses every %%cloud_function cell before its define upcall).

2. Invocation of a trivial function, `return {"ok": 1, "pid": os.getpid()}`
   (the pid only proves which worker answered), through the callable the
   cell binds, as notebook code calls it.
   (a) Warm: ONE cell calls it --warmup times untimed (the first starts the
       worker), then --warm times (default 500) in a loop, timing each call
       with time.perf_counter() around it, and collecting the
       `roundTripTime` the kernel adds to a dict result (ms, measured in the
       kernel from the `invoke` upcall's arrival to the worker's answer:
       routing, the frame to the worker and back, the handler). The cell
       prints both lists as JSON. All calls must come from one worker pid.
   (b) Cold: --cold times (default 30), a `%%cloud_function env=RUN=coldI`
       cell redefines the same function with a new environment value. Only
       the configuration hash changes, so the kernel prints `updated
       configuration of`, bumps the function's generation and retires its
       idle workers; the statements after the def in that same cell then
       make the first call, timed as in (a). That call starts a new worker
       process (`python3 -c worker.py`: interpreter start, the worker's
       imports, importing the package, the call). Every cold call must come
       from a pid not seen before. p50 and p99 of both figures. For
       context, the bare interpreter's start-up is measured from this
       script: `PYTHON -c pass` and `PYTHON -c "import <the worker's
       modules>"`, run to exit, median of --cold.

3. Targets, printed as PASS/FAIL lines: the in-kernel unchanged check p50
   under 1 ms, the warm call p50 (perf_counter, as notebook code sees it)
   under 2 ms, the cold call p50 (perf_counter) under 150 ms. They are
   informational: the exit status is 0 unless --check is given, then 1 if
   any target fails.

Run with Debian's /usr/bin/python3 (it has jupyter_client and pyzmq). The
faaset binary is --faaset, else $FAASET_BINARY, else build-release/faaset (a
release build without sanitizers):

    cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release && cmake --build build-release -j2
    /usr/bin/python3 tests/bench/cloud_bench.py

--json PATH also writes every raw figure (including all samples) as JSON.

The kernel runs in its own session; at the end it is asked to shut down
(which stops its workers), and it and every descendant (the runtime and the
workers, which have process groups of their own) are killed if still there,
also on Ctrl-C, SIGTERM or an error; the kernel gets SIGKILL if this script
dies. The temporary folder is removed. Every wait has a timeout, so a kernel
that hangs fails the run instead of hanging it.
"""
import ast
import json
import os
import pathlib
import platform
import queue
import re
import select
import statistics
import subprocess
import sys
import time

import zmq
import jupyter_client
from jupyter_client import BlockingKernelClient

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from bench_common import (ROOT, BenchError, Table, add_common_options, check_faaset, clean_env,  # noqa: E402
                          command_output, connection_info, cpu_model, descendants_of, file_tail, kill_quietly,
                          machine_line, new_parser, percentile, print_targets, progress, python_version, reap,
                          run_benchmark, spawn, track, untrack)

START_TIMEOUT = 60.0        # seconds for the kernel to answer kernel_info
CELL_TIMEOUT = 120.0        # seconds for one cell (the warm loop is one cell)
OUTPUT_MARK = "FAASET_BENCH "
UNCHANGED_TARGET_MS = 1.0
WARM_TARGET_MS = 2.0
COLD_TARGET_MS = 150.0
LARGE_NAME = "big"
SMALL_NAME = "hello"
WORKER_SOURCE = ROOT / "runtime" / "python" / "worker.py"
FRAMES_SOURCE = ROOT / "runtime" / "python" / "faaset_frames.py"  # the worker creates it from the kernel's copy

DEFINE_LINE = re.compile(r"^local: (?P<verb>.+?) (?P<name>\w+) \((?P<hash>[0-9a-f]{8})\) in "
                         r"(?P<ms>[0-9]+(?:\.[0-9]+)?) ms$", re.M)


# ---------------------------------------------------------------- processes

class Kernel:
    """`faaset kernel -f FILE` with the notebook folder as its cwd, and a BlockingKernelClient;
    EXTRA_ENV is added to its environment."""

    def __init__(self, args, workdir, extra_env=None):
        self.workdir = workdir
        self.notebook_dir = workdir / "notebook"
        self.notebook_dir.mkdir()
        self.info = connection_info("faaset")
        self.connection_file = workdir / "kernel.json"
        self.connection_file.write_text(json.dumps(self.info))
        self.stderr_path = workdir / "kernel.stderr"
        env = clean_env()
        env.update({"FAASET_HISTORY": str(workdir / "history.jsonl"),
                    "JUPYTER_RUNTIME_DIR": str(workdir / "jupyter-runtime")})
        env.update(extra_env or {})
        argv = [args.faaset, "kernel", "-f", str(self.connection_file), "--python", args.python]
        with open(self.stderr_path, "wb") as stderr:
            self.process = spawn(argv, env=env, cwd=self.notebook_dir, stdout=subprocess.DEVNULL, stderr=stderr)
        track(self)
        self.client = BlockingKernelClient()
        self.client.load_connection_info(self.info)
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=START_TIMEOUT)
        except RuntimeError as error:
            raise BenchError(f"the kernel is not ready: {error}; stderr:\n{self.stderr_tail()}") from None

    def stderr_tail(self, limit=4000):
        return file_tail(self.stderr_path, limit)

    def check_alive(self):
        code = self.process.poll()
        if code is not None:
            raise BenchError(f"the kernel exited with status {code}; stderr:\n{self.stderr_tail()}")

    def run_cell(self, code, timeout=CELL_TIMEOUT):
        """Runs CODE; returns (seconds from sending to having reply and idle, stdout text).
        A cell that fails raises BenchError."""
        started = time.perf_counter()
        msg_id = self.client.execute(code, store_history=True, allow_stdin=False, stop_on_error=True)
        deadline = started + timeout
        reply = None
        stdout, problems = [], []
        try:
            while reply is None:
                msg = self.client.get_shell_msg(timeout=max(0.01, deadline - time.perf_counter()))
                if msg["parent_header"].get("msg_id") == msg_id:
                    reply = msg["content"]
            while True:
                msg = self.client.get_iopub_msg(timeout=max(0.01, deadline - time.perf_counter()))
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "status" and content["execution_state"] == "idle":
                    break
                if kind == "stream" and content["name"] == "stdout":
                    stdout.append(content["text"])
                elif kind == "stream":
                    problems.append(content["text"])
                elif kind == "error":
                    problems.append("\n".join(content.get("traceback") or [f"{content['ename']}: {content['evalue']}"]))
        except queue.Empty:
            self.check_alive()
            raise BenchError(f"no execute_reply/idle within {timeout:.0f} s; stderr:\n{self.stderr_tail()}") from None
        elapsed = time.perf_counter() - started
        if reply.get("status") != "ok":
            raise BenchError(f"cell failed: {reply.get('ename')}: {reply.get('evalue')}\n" + "\n".join(problems)
                             + f"\ncell: {code[:300]!r}")
        return elapsed, "".join(stdout)

    def stop(self):
        """Asks for shutdown, then kills the kernel's group and every descendant; reaps it."""
        untrack(self)
        family = descendants_of(self.process.pid) if self.process.poll() is None else []
        if self.process.poll() is None:
            try:
                self.client.shutdown()
                self.process.wait(timeout=5)
            except Exception:
                pass
        if self.process.poll() is None:
            kill_quietly(os.killpg, self.process.pid)
        for pid in family:   # the runtime and workers have process groups of their own
            kill_quietly(os.kill, pid)
        reap(self.process, "kernel")
        try:
            self.client.stop_channels()
        except Exception:
            pass


# ---------------------------------------------------------------- cells

def large_cell(size):
    """A %%cloud_function cell whose body (all of it deployed) is about SIZE bytes of real Python."""
    head = [f"%%cloud_function name={LARGE_NAME}",
            '"""A large cloud function for the benchmark: generated steps, applied in order."""',
            "import math", ""]
    tail = ["",
            "",
            f"def {LARGE_NAME}(request, context):",
            '    """Runs every step on request["x"] (default 1)."""',
            '    x = int(request.get("x", 1)) if isinstance(request, dict) else 1',
            "    for step in STEPS:",
            "        x = step(x)",
            '    return {"ok": 1, "x": x, "steps": len(STEPS), "pid": __import__("os").getpid()}',
            ""]
    helpers, names = [], []

    def body_size():
        steps = "STEPS = (\n" + "".join(f"    {n},\n" for n in names) + ")\n"
        return len("\n".join(head[1:] + helpers + [steps] + tail).encode())

    i = 0
    while body_size() < size:
        name = f"_step_{i:05d}"
        names.append(name)
        helpers.append(f"def {name}(x):\n"
                       f'    """Step {i}: an affine map modulo a prime, then a square-root nudge."""\n'
                       f"    return (x * {i % 97 + 2} + {i}) % 1000003 + int(math.isqrt(x % 8191))\n")
        i += 1
    steps = "STEPS = (\n" + "".join(f"    {n},\n" for n in names) + ")\n"
    body = "\n".join(head[1:] + helpers + [steps] + tail)
    return head[0] + "\n" + body, len(body.encode()), len(names)


SMALL_DEF = f"""import os
def {SMALL_NAME}(request, context):
    return {{"ok": 1, "pid": os.getpid()}}
"""

SETUP_CELL = "import json as _bench_json, time as _bench_time"


def warm_cell(warmup, count):
    """One cell: WARMUP untimed calls, then COUNT timed ones; prints the samples as JSON."""
    return "\n".join([
        f"_bench_f = {SMALL_NAME}",
        f"for _ in range({warmup}):",
        "    _bench_f({})",
        "_bench_wall, _bench_rtt, _bench_pids = [], [], set()",
        f"for _ in range({count}):",
        "    _bench_t0 = _bench_time.perf_counter()",
        "    _bench_r = _bench_f({})",
        "    _bench_wall.append((_bench_time.perf_counter() - _bench_t0) * 1000.0)",
        '    _bench_rtt.append(_bench_r["roundTripTime"])',
        '    _bench_pids.add(_bench_r["pid"])',
        f"print({OUTPUT_MARK!r} + _bench_json.dumps("
        '{"wall_ms": _bench_wall, "rtt_ms": _bench_rtt, "pids": sorted(_bench_pids)}))',
        ""])


def cold_cell(index):
    """Redefines the small function with a new env value (a configuration update), then
    makes the first call from the statements after the def; prints its figures as JSON."""
    return "\n".join([
        f"%%cloud_function env=RUN=cold{index}",
        SMALL_DEF.rstrip("\n"),
        "_bench_t0 = _bench_time.perf_counter()",
        f"_bench_r = {SMALL_NAME}({{}})",
        "_bench_w = (_bench_time.perf_counter() - _bench_t0) * 1000.0",
        f"print({OUTPUT_MARK!r} + _bench_json.dumps("
        '{"wall_ms": _bench_w, "rtt_ms": _bench_r["roundTripTime"], "pid": _bench_r["pid"]}))',
        ""])


def marked_json(stdout):
    for line in stdout.splitlines():
        if line.startswith(OUTPUT_MARK):
            return json.loads(line[len(OUTPUT_MARK):])
    raise BenchError(f"the cell printed no {OUTPUT_MARK.strip()} line; its output:\n{stdout[-2000:]}")


def define_line(stdout, verbs):
    """(verb, name, hash, ms) of the cell's `local: ...` line; BenchError if its verb is not in VERBS."""
    match = DEFINE_LINE.search(stdout)
    if match is None or match["verb"] not in verbs:
        raise BenchError(f"expected a 'local: {' / '.join(verbs)} ...' line, got:\n{stdout[-2000:]}")
    return match["verb"], match["name"], match["hash"], float(match["ms"])


# ---------------------------------------------------------------- measurements

def measure_unchanged(kernel, args):
    cell, body_bytes, helpers = large_cell(args.size)
    progress(f"unchanged check: deploying a {body_bytes / 1024:.1f} KiB function ...")
    deploy_wall, out = kernel.run_cell(cell)
    _, _, code_hash, deploy_ms = define_line(out, ("deployed",))
    # One call proves the 100 KB source is a working function (cold: the worker compiles it).
    first_call_wall, out = kernel.run_cell(f"_bench_t0 = _bench_time.perf_counter()\n_bench_r = {LARGE_NAME}({{}})\n"
                                           f"print({OUTPUT_MARK!r} + _bench_json.dumps(dict(_bench_r, wall_ms="
                                           f"(_bench_time.perf_counter() - _bench_t0) * 1000.0)))")
    first_call = marked_json(out)
    if first_call.get("ok") != 1 or first_call.get("steps") != helpers:
        raise BenchError(f"the large function answered {first_call!r}")
    progress(f"unchanged check: {args.warmup} warm-up + {args.unchanged} timed runs of the same cell ...")
    kernel_ms, wall_ms = [], []
    for n in range(args.warmup + args.unchanged):
        wall, out = kernel.run_cell(cell)
        _, _, seen_hash, ms = define_line(out, ("up to date",))
        if seen_hash != code_hash:
            raise BenchError(f"the unchanged cell's hash changed: {code_hash} -> {seen_hash}")
        if n >= args.warmup:
            kernel_ms.append(ms)
            wall_ms.append(wall * 1000)
    # Context: the runtime parses the whole cell with ast before its define upcall.
    body = cell.split("\n", 1)[1]
    parse_ms = []
    for _ in range(5):
        started = time.perf_counter()
        ast.parse(body)
        parse_ms.append((time.perf_counter() - started) * 1000)
    return {"body_bytes": body_bytes, "cell_bytes": len(cell.encode()), "helpers": helpers, "code_hash": code_hash,
            "deploy_kernel_ms": deploy_ms, "deploy_round_trip_ms": deploy_wall * 1000,
            "first_call_wall_ms": first_call["wall_ms"], "first_call_rtt_ms": first_call["roundTripTime"],
            "first_call_cell_round_trip_ms": first_call_wall * 1000,
            "ast_parse_median_ms": statistics.median(parse_ms),
            "kernel": summary(kernel_ms), "round_trip": summary(wall_ms),
            "kernel_samples_ms": kernel_ms, "round_trip_samples_ms": wall_ms}


def measure_warm(kernel, args):
    progress(f"warm calls: deploying {SMALL_NAME}, then one cell with {args.warmup} warm-up + {args.warm} timed calls ...")
    _, out = kernel.run_cell(f"%%cloud_function\n{SMALL_DEF}")
    define_line(out, ("deployed", "up to date"))
    _, out = kernel.run_cell(warm_cell(max(1, args.warmup), args.warm),
                             timeout=CELL_TIMEOUT + args.warm * 0.1)
    data = marked_json(out)
    if len(data["pids"]) != 1:
        raise BenchError(f"the warm calls were served by {len(data['pids'])} workers, not one: {data['pids']}")
    return {"wall": summary(data["wall_ms"]), "rtt": summary(data["rtt_ms"]), "worker_pid": data["pids"][0],
            "wall_samples_ms": data["wall_ms"], "rtt_samples_ms": data["rtt_ms"]}


def measure_cold(kernel, args, warm_pid):
    progress(f"cold calls: {args.cold} reconfigurations, each followed by the first call ...")
    wall, rtt, define_ms, pids = [], [], [], {warm_pid}
    for index in range(args.cold):
        _, out = kernel.run_cell(cold_cell(index))
        define_ms.append(define_line(out, ("updated configuration of",))[3])
        data = marked_json(out)
        if data["pid"] in pids:
            raise BenchError(f"cold call {index} was served by worker {data['pid']}, which had served before")
        pids.add(data["pid"])
        wall.append(data["wall_ms"])
        rtt.append(data["rtt_ms"])
    progress(f"cold calls: timing the bare interpreter's start-up ({args.cold} x 2) ...")
    bare = [python_start(args.python, "pass") for _ in range(args.cold)]
    modules = worker_imports()
    imports = [python_start(args.python, f"import {modules}") for _ in range(args.cold)]
    return {"wall": summary(wall), "rtt": summary(rtt), "reconfigure_kernel_ms": summary(define_ms),
            "python_pass_median_ms": statistics.median(bare), "worker_modules": modules,
            "python_worker_imports_median_ms": statistics.median(imports),
            "wall_samples_ms": wall, "rtt_samples_ms": rtt, "reconfigure_samples_ms": define_ms,
            "python_pass_samples_ms": bare, "python_worker_imports_samples_ms": imports}


def worker_imports():
    """The modules runtime/python/worker.py and its faaset_frames import (anywhere in them), as "a, b, c"."""
    names = {"importlib"}
    try:
        trees = [ast.parse(WORKER_SOURCE.read_text()), ast.parse(FRAMES_SOURCE.read_text())]
    except (OSError, SyntaxError):
        return ", ".join(sorted(names | {"json", "os", "socket", "struct", "sys", "time"}))
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    names.discard("faaset_frames")  # not on sys.path: the worker creates it from $FAASET_FRAMES_SOURCE
    return ", ".join(sorted(names))


def python_start(python, code, timeout=60.0):
    """Milliseconds to run PYTHON -c CODE to exit (what a worker's start-up costs at least).
    The exit is waited for on a pidfd: Popen.wait(timeout) polls with growing sleeps,
    which would round the figure up to its next sleep."""
    started = time.perf_counter()
    process = subprocess.Popen([python, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    pidfd = os.pidfd_open(process.pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(timeout * 1000):
            process.kill()
            process.wait()
            raise BenchError(f"{python} -c {code!r} did not exit within {timeout:.0f} s")
        elapsed = time.perf_counter() - started
    finally:
        os.close(pidfd)
    if process.wait() != 0:
        raise BenchError(f"{python} -c {code!r} exited with status {process.returncode}")
    return elapsed * 1000


# ---------------------------------------------------------------- reporting

def summary(samples):
    return {"n": len(samples), "p50_ms": percentile(samples, 0.50), "p90_ms": percentile(samples, 0.90),
            "p99_ms": percentile(samples, 0.99), "mean_ms": statistics.fmean(samples), "min_ms": min(samples),
            "max_ms": max(samples)}


def machine_info(args):
    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu_model(),
        "kernel": platform.release(),
        "faaset_binary": args.faaset,
        "faaset_version": command_output([args.faaset, "--version"]),
        "cell_python": args.python,
        "cell_python_version": python_version(args.python),
        "bench_python_version": sys.version.split()[0],
        "jupyter_client_version": jupyter_client.__version__,
        "pyzmq_version": zmq.pyzmq_version(),
        "libzmq_version": zmq.zmq_version(),
    }


def print_report(results, args):
    m = results["machine"]
    u, w, c = results["unchanged"], results["warm"], results["cold"]
    print()
    print(machine_line(m))
    print(f"Versions: {m['faaset_version']} ({m['faaset_binary']}); cell and worker Python "
          f"{m['cell_python_version']} ({m['cell_python']}); jupyter_client {m['jupyter_client_version']}, "
          f"pyzmq {m['pyzmq_version']}, libzmq {m['libzmq_version']}")
    print()
    table = Table((26,), rstrip=True)
    section = table.section

    def row(label, value):
        table.add("  " + label, "" if value is None else value)

    def stats(label, s, keys=("p50", "p90", "p99", "max")):
        row(("  " if label.startswith("p50") else "") + label, " / ".join(f"{s[k + '_ms']:.2f}" for k in keys))

    section(f"1. Unchanged %%cloud_function cell, {u['body_bytes'] / 1024:.1f} KiB of source "
            f"({u['helpers']} helper defs), ms")
    row("first deploy: in the kernel / cell round trip", f"{u['deploy_kernel_ms']:.2f} / {u['deploy_round_trip_ms']:.2f}")
    row("its first call (new worker): perf_counter / roundTripTime",
        f"{u['first_call_wall_ms']:.2f} / {u['first_call_rtt_ms']:.2f}")
    row(f"up-to-date check in the kernel (n={u['kernel']['n']})", None)
    stats("p50 / p90 / p99 / max", u["kernel"])
    row(f"cell round trip seen by the client (n={u['round_trip']['n']})", None)
    stats("p50 / p90 / p99 / max", u["round_trip"])
    row("context: ast.parse of the body in this script's Python, median", f"{u['ast_parse_median_ms']:.2f}")
    section(f"2a. Warm calls of {SMALL_NAME}() in one cell, one worker, ms")
    stats(f"perf_counter around the call, p50 / p99 / max (n={w['wall']['n']})", w["wall"], ("p50", "p99", "max"))
    stats(f"roundTripTime (kernel), p50 / p99 / max (n={w['rtt']['n']})", w["rtt"], ("p50", "p99", "max"))
    section("2b. Cold calls: the first call after a configuration update, ms")
    stats(f"perf_counter around the call, p50 / p99 / max (n={c['wall']['n']})", c["wall"], ("p50", "p99", "max"))
    stats(f"roundTripTime (kernel), p50 / p99 / max (n={c['rtt']['n']})", c["rtt"], ("p50", "p99", "max"))
    stats("the update (env=RUN=coldI) in the kernel, p50 / p99", c["reconfigure_kernel_ms"], ("p50", "p99"))
    row("context: `python3 -c pass`, start to exit, median", f"{c['python_pass_median_ms']:.2f}")
    row("context: `python3 -c 'import <worker's modules>'`, median", f"{c['python_worker_imports_median_ms']:.2f}")

    table.print()
    print_targets(results["targets"])


def evaluate_targets(results):
    u, w, c = results["unchanged"], results["warm"], results["cold"]
    return [
        {"name": f"unchanged-cell check of a {u['body_bytes'] / 1024:.0f} KiB function, p50 in the kernel "
                 f"< {UNCHANGED_TARGET_MS:g} ms",
         "passed": u["kernel"]["p50_ms"] < UNCHANGED_TARGET_MS,
         "detail": f"{u['kernel']['p50_ms']:.2f} ms (p99 {u['kernel']['p99_ms']:.2f} ms)"},
        {"name": f"warm local call p50 < {WARM_TARGET_MS:g} ms (perf_counter in the cell)",
         "passed": w["wall"]["p50_ms"] < WARM_TARGET_MS,
         "detail": f"{w['wall']['p50_ms']:.3f} ms (roundTripTime {w['rtt']['p50_ms']:.3f} ms)"},
        {"name": f"cold local call p50 < {COLD_TARGET_MS:g} ms (perf_counter in the cell)",
         "passed": c["wall"]["p50_ms"] < COLD_TARGET_MS,
         "detail": f"{c['wall']['p50_ms']:.1f} ms (roundTripTime {c['rtt']['p50_ms']:.1f} ms; "
                   f"bare interpreter {c['python_pass_median_ms']:.1f} ms)"},
    ]


# ---------------------------------------------------------------- main

def parse_args():
    parser = new_parser(__doc__)
    parser.add_argument("--unchanged", type=int, default=200, help="timed runs of the unchanged cell (default 200)")
    parser.add_argument("--warm", type=int, default=500, help="timed warm calls (default 500)")
    parser.add_argument("--cold", type=int, default=30, help="timed cold calls (default 30)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed unchanged runs and warm calls first (default 10)")
    parser.add_argument("--size", type=int, default=100 * 1024,
                        help="bytes of the large function's source (default 102400)")
    add_common_options(parser, "interpreter for cells and workers")
    args = parser.parse_args()
    for name in ("unchanged", "warm", "cold"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    if args.size < 1024:
        parser.error("--size must be at least 1024")
    check_faaset(parser, args)
    return args


def run(args, workdir):
    results = {"machine": machine_info(args),
               "settings": {k: getattr(args, k) for k in ("unchanged", "warm", "cold", "warmup", "size", "python")}}
    progress("starting the kernel ...")
    kernel = Kernel(args, workdir)
    try:
        kernel.run_cell(SETUP_CELL)
        results["unchanged"] = measure_unchanged(kernel, args)
        results["warm"] = measure_warm(kernel, args)
        results["cold"] = measure_cold(kernel, args, results["warm"]["worker_pid"])
    finally:
        kernel.stop()
    results["targets"] = evaluate_targets(results)
    return results


def main():
    return run_benchmark("cloud_bench", parse_args(), run, print_report, "faaset-cloud-bench-")


if __name__ == "__main__":
    sys.exit(main())
