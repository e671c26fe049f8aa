"""What the benchmark scripts in this folder share (kernel_bench.py,
cloud_bench.py and experiment_bench.py); not a benchmark itself.

- Processes: every child is started in a session of its own and gets SIGKILL
  if the script dies (spawn); the ones not yet stopped are tracked (track,
  untrack) so that stop_all() can stop them on exit, Ctrl-C, SIGTERM or an
  error; helpers to find a process's children and descendants in /proc, to
  kill without caring whether the target is still there, and to reap a
  process with a timeout.
- /proc: the fields of /proc/PID/status and its "NNN kB" sizes.
- Kernels: a connection file's contents on free loopback ports, and an
  environment without faaset's own variables.
- Reporting: a command's output, the CPU model, an interpreter's version,
  the Machine: line, a nearest-rank percentile, a table with section titles
  and right-aligned columns, and the PASS/FAIL lines of the targets.
- main(): the options every script has (--faaset, --python, --json,
  --check), and run_benchmark(), which installs the signal handlers, runs
  the benchmark in a temporary folder that is removed after, cleans up,
  prints the report, writes the JSON and sets the exit status (0, 1 for a
  failed target with --check, 2 if the benchmark could not run, 130 on
  Ctrl-C).

Import it from a script in this folder after putting the folder on sys.path:

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    import bench_common
"""
import argparse
import ctypes
import json
import os
import pathlib
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_FAASET = ROOT / "build-release" / "faaset"
FAASET_ENV = ("FAASET_PYTHON", "FAASET_LOG_LEVEL", "FAASET_RUNTIME_FD", "PYTHONSTARTUP")


class BenchError(Exception):
    """Something the benchmark needs failed: a build, a start, a deadline, a cell."""


# ---------------------------------------------------------------- processes

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent():
    """Runs in the child before exec: SIGKILL it if this script dies."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(argv, label=None, **popen_args):
    """Popen(ARGV) with stdin from /dev/null, in a session of its own, killed if
    this script dies. An OSError becomes BenchError("LABEL: cannot run ARGV[0]: ...")."""
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=die_with_parent, **popen_args)
    except OSError as error:
        prefix = f"{label}: " if label else ""
        raise BenchError(f"{prefix}cannot run {argv[0]}: {error}") from None


_live = set()   # every tracked object not yet stopped, for cleanup on exit


def track(thing):
    """Remembers THING (it has a stop() method) until untrack(THING)."""
    _live.add(thing)


def untrack(thing):
    _live.discard(thing)


def stop_all():
    """Stops everything still tracked."""
    for thing in list(_live):
        thing.stop()


def kill_quietly(how, target):
    """HOW(TARGET, SIGKILL) (os.kill or os.killpg), ignoring a target that is gone."""
    try:
        how(target, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def reap(process, label, timeout=10):
    """Waits for PROCESS to exit; warns on stderr if it does not within TIMEOUT seconds."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"warning: {label} pid {process.pid} did not die", file=sys.stderr)


def children_of(pid):
    """Pids whose parent is PID, from /proc/*/stat (no psutil needed)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = pathlib.Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may hold spaces: split after it.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return sorted(found)


def descendants_of(pid):
    result = []
    for child in children_of(pid):
        result.append(child)
        result.extend(descendants_of(child))
    return result


# ---------------------------------------------------------------- /proc

def proc_status(pid):
    """The fields of /proc/PID/status as a dict of strings; {} if it is gone."""
    try:
        text = pathlib.Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def status_kib(status, field):
    """A 'NNN kB' field of /proc/PID/status as an int (KiB), or None."""
    value = status.get(field)
    return int(value.split()[0]) if value else None


# ---------------------------------------------------------------- kernels

def free_ports(count):
    """COUNT distinct free TCP ports on 127.0.0.1."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def connection_info(kernel_name):
    """A kernel connection file's contents: loopback, free ports, a new key."""
    ports = free_ports(5)
    return {
        "transport": "tcp", "ip": "127.0.0.1", "key": str(uuid.uuid4()),
        "signature_scheme": "hmac-sha256", "kernel_name": kernel_name,
        **dict(zip(["shell_port", "iopub_port", "stdin_port", "control_port", "hb_port"], ports)),
    }


def clean_env(drop=FAASET_ENV):
    """A copy of this process's environment without the variables in DROP."""
    env = dict(os.environ)
    for name in drop:
        env.pop(name, None)
    return env


def file_tail(path, limit=4000):
    """The last LIMIT characters of the file at PATH, or "" if it cannot be read."""
    try:
        return path.read_text(errors="replace")[-limit:]
    except OSError:
        return ""


# ---------------------------------------------------------------- reporting

def progress(text):
    print(text, file=sys.stderr, flush=True)


def command_output(argv):
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (result.stdout or result.stderr).strip()
    except (OSError, subprocess.SubprocessError) as error:
        return f"unavailable ({error})"


def python_version(python):
    """The version of the interpreter PYTHON, as "3.11.2"."""
    return command_output([python, "-c", "import sys; print(sys.version.split()[0])"])


def cpu_model():
    """The first "model name" of /proc/cpuinfo, else what platform says."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return cpu


def machine_line(m):
    """The report's Machine: line from a machine_info dict (memory if it has memory_gib)."""
    memory = f"{m['memory_gib']} GiB, " if "memory_gib" in m else ""
    return f"Machine:  {m['nproc']} CPUs, {m['cpu_model']}, {memory}Linux {m['kernel']}"


def percentile(samples, fraction):
    """Nearest-rank percentile of SAMPLES."""
    ordered = sorted(samples)
    rank = max(1, int(round(fraction * len(ordered) + 0.5)))
    return ordered[min(rank, len(ordered)) - 1]


class Table:
    """Rows of a label and cells under section titles. print() pads the labels
    to the longest plus two and right-aligns each cell in its column's width,
    under a line of HEADERS if given; RSTRIP drops trailing spaces."""

    def __init__(self, widths, headers=None, rstrip=False):
        self.widths = widths
        self.headers = headers
        self.rstrip = rstrip
        self.rows = []

    def section(self, title):
        self.rows.append((title, None))

    def add(self, label, *cells):
        self.rows.append((label, cells))

    def print(self):
        width = max(len(label) for label, _ in self.rows) + 2
        if self.headers:
            print(f"{'':{width}}" + "".join(f"{h:>{w}}" for h, w in zip(self.headers, self.widths)))
        for label, cells in self.rows:
            if cells is None:
                print(label)
                continue
            line = f"{label:{width}}" + "".join(f"{c:>{w}}" for c, w in zip(cells, self.widths))
            print(line.rstrip() if self.rstrip else line)


def print_targets(targets):
    """A blank line, then a PASS or FAIL line for each target."""
    print()
    for target in targets:
        print(f"{'PASS' if target['passed'] else 'FAIL'}  {target['name']}: {target['detail']}")


# ---------------------------------------------------------------- main

def new_parser(doc):
    """An ArgumentParser described by DOC's first paragraph, with DOC's layout kept."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def add_common_options(parser, python_help, json_help="also write the raw figures here as JSON"):
    """--faaset, --python, --json and --check."""
    parser.add_argument("--faaset", default=os.environ.get("FAASET_BINARY") or str(DEFAULT_FAASET),
                        help="faaset binary (default $FAASET_BINARY, else build-release/faaset)")
    parser.add_argument("--python", default="/usr/bin/python3", help=python_help)
    parser.add_argument("--json", metavar="PATH", help=json_help)
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")


def check_faaset(parser, args):
    """Fails the parse unless --faaset is executable; makes it absolute."""
    if not os.access(args.faaset, os.X_OK):
        parser.error(f"faaset binary not found at {args.faaset}: build it (see the docstring) or pass --faaset")
    args.faaset = os.path.abspath(args.faaset)


def run_benchmark(name, args, run, report, temp_prefix, keep=False, say_signal=False, json_what="Raw figures"):
    """RUN(args, workdir) in a new temporary folder, then REPORT(results, args),
    --json and --check; returns the exit status. Ctrl-C, SIGTERM and SIGHUP
    stop the run; whatever happens, stop_all() runs and the folder is removed
    (unless KEEP: then its path is printed). SAY_SIGNAL prints a line when a
    signal stopped the run."""

    def on_signal(signo, _frame):
        raise SystemExit(128 + signo)

    # Ctrl-C raises KeyboardInterrupt even when started with SIGINT ignored (e.g. `cmd &`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix=temp_prefix))
    try:
        results = run(args, workdir)
    except BenchError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except SystemExit:
        if say_signal:
            print(f"{name}: stopped by a signal", file=sys.stderr)
        raise
    finally:
        stop_all()
        if keep:
            print(f"{name}: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(results, args)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\n{json_what} written to {args.json}")
    if args.check and not all(t["passed"] for t in results["targets"]):
        return 1
    return 0
