"""Helpers for the experiment tests: the function the experiments call,
readers for results folders (experiment.json, runs.jsonl, runs.csv,
summary.json), and a watcher for the IOPub messages of a cell run through
DirectKernel (the progress display, with the time each message arrived).

Everything else comes from the cloud-function suite (tests/cloud).
"""
import csv
import json
import pathlib
import queue
import re
import signal
import sys
import time

CLOUD = pathlib.Path(__file__).resolve().parents[1] / "cloud"
if str(CLOUD) not in sys.path:
    sys.path.insert(0, str(CLOUD))

from cloud_helpers import (DirectKernel, Sandbox, Workspace, kill_processes_in, text,  # noqa: E402,F401
                           wait_for_no_processes)

# The function every experiment calls: SAAF-profiled, sleeps `sleep` seconds,
# raises when asked (`fail` at once, `fail_after` after its sleep), echoes
# `n` and `tag`.
SLEEPER = '''%%cloud_function
def sleeper(request, context):
    import time
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectContainer()
    inspector.inspectPlatform()
    if request.get("fail"):
        raise ValueError("asked to fail")
    time.sleep(request.get("sleep", 0.05))
    if request.get("fail_after"):
        raise RuntimeError("failed after sleeping")
    inspector.addAttribute("n", request.get("n"))
    inspector.addAttribute("tag", request.get("tag"))
    return inspector.finish()'''

# FaaS Runner's run columns, first in runs.csv in this order.
RUN_COLUMNS = [
    "1_run_id", "2_thread_id", "3_pipeline_stage", "iteration", "memorySetting", "payload", "endpoint",
    "status", "errorType", "errorMessage", "retries", "clientSendTime", "clientReceiveTime", "roundTripTime",
    "latency",
]
# SAAF attributes that must have their own column after the run columns.
SAAF_COLUMNS = ["version", "lang", "startTime", "endTime", "runtime", "uuid", "newcontainer", "platform",
                "functionName", "functionMemory"]

STAMP = r"\d{8}T\d{6}Z(?:-\d+)?"


def experiment_cell(body, function="sleeper"):
    """A %%experiment cell with BODY (a dict) as its JSON."""
    return f"%%experiment {function}\n{json.dumps(body, indent=1)}"


def started_line(name, runs, iterations, threads, memory=False, function="sleeper"):
    """The pattern of the line a started experiment prints."""
    return re.compile(
        rf"^Experiment {re.escape(name)}: {runs} runs x {iterations} iterations"
        rf"{' x memory settings' if memory else ''} on local, {threads} at a time; "
        rf"rows in (faaset-results/{re.escape(function)}/{re.escape(name)}-{STAMP})$", re.M)


class RunFolder:
    """One experiment's results folder: faaset-results/FUNCTION/NAME-STAMP."""

    def __init__(self, path):
        self.path = pathlib.Path(path)

    def __repr__(self):
        return f"RunFolder({self.path})"

    @property
    def meta(self):
        return json.loads((self.path / "experiment.json").read_text())

    @property
    def has_summary(self):
        return (self.path / "summary.json").exists()

    @property
    def summary(self):
        return json.loads((self.path / "summary.json").read_text())

    def jsonl_lines(self):
        return (self.path / "runs.jsonl").read_text().splitlines()

    def rows(self, allow_cut_last=False):
        """The runs.jsonl rows, parsed: every line must parse, except the
        last one when ALLOW_CUT_LAST (a kill may cut it)."""
        lines = self.jsonl_lines()
        rows = []
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
            except ValueError:
                if allow_cut_last and number == len(lines):
                    continue
                raise AssertionError(f"{self.path}/runs.jsonl line {number} is not JSON: {line!r}") from None
            assert isinstance(row, dict), f"{self.path}/runs.jsonl line {number} is not an object: {line!r}"
            rows.append(row)
        return rows

    def csv(self):
        """(header, [row dicts]) of runs.csv."""
        with open(self.path / "runs.csv", newline="") as f:
            reader = csv.reader(f)
            header = next(reader)
            return header, [dict(zip(header, values)) for values in reader]


def run_folders(notebook_folder, function="sleeper", name=None):
    """The results folders of FUNCTION (of the experiment NAME, when given)."""
    base = pathlib.Path(notebook_folder) / "faaset-results" / function
    if not base.is_dir():
        return []
    pattern = re.compile(rf"^{re.escape(name)}-{STAMP}$") if name is not None else None
    return [RunFolder(p) for p in sorted(base.iterdir())
            if p.is_dir() and (pattern is None or pattern.match(p.name))]


def run_folder(notebook_folder, name, function="sleeper"):
    """The one results folder of the experiment NAME."""
    found = run_folders(notebook_folder, function, name)
    assert len(found) == 1, f"expected one results folder for {name!r}, found {found}"
    return found[0]


def by_send_time(rows):
    return sorted(rows, key=lambda r: (r["clientSendTime"], r["1_run_id"]))


def display_text(output):
    return text(output.get("data", {}).get("text/plain"))


PROGRESS = re.compile(r"^(?P<name>.+): (?P<done>\d+)/(?P<total>\d+) done, (?P<in_flight>\d+) in flight, "
                      r"(?P<failed>\d+) failed, (?P<rate>\d+(?:\.\d+)?) runs/s(?:, ETA \d+ s)?"
                      r"(?: — (?P<phase>\w+))?$")


class Watcher:
    """The IOPub messages of one execute_request sent through a DirectKernel,
    each with the monotonic time it arrived."""

    def __init__(self, kernel, code):
        self.kernel = kernel
        self.messages = []          # (monotonic seconds, msg)
        self.idle = False
        self.msg_id = kernel.client.execute(code)
        self.sent = time.monotonic()

    def pump(self, seconds, until=None):
        """Reads messages for SECONDS, or until UNTIL(msg) is true or the
        cell went idle. Returns the message that satisfied UNTIL, if any."""
        end = time.monotonic() + seconds
        while not self.idle and time.monotonic() < end:
            try:
                msg = self.kernel.client.get_iopub_msg(timeout=min(0.05, max(0.001, end - time.monotonic())))
            except queue.Empty:
                continue
            if msg["parent_header"].get("msg_id") != self.msg_id:
                continue
            self.messages.append((time.monotonic(), msg))
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                self.idle = True
            elif until is not None and until(msg):
                return msg
        return None

    def reply(self, timeout):
        """The execute_reply (waits up to TIMEOUT seconds)."""
        end = time.monotonic() + timeout
        while True:
            msg = self.kernel.client.get_shell_msg(timeout=max(0.05, end - time.monotonic()))
            if msg["parent_header"].get("msg_id") == self.msg_id:
                return msg

    def of_type(self, *types):
        return [m for _, m in self.messages if m["msg_type"] in types]

    def progress(self, before=None):
        """[(arrival time, parsed progress match)] of the update_display_data
        messages, those that arrived before BEFORE (monotonic) when given."""
        found = []
        for when, msg in self.messages:
            if msg["msg_type"] != "update_display_data" or (before is not None and when >= before):
                continue
            match = PROGRESS.match(display_text(msg["content"]))
            assert match, f"a progress update that does not parse: {msg['content']!r}"
            found.append((when, match))
        return found


def epoch_ms():
    return time.time() * 1000.0


def run_with_deadline(workspace, sources, seconds):
    """workspace.run(*SOURCES) under a SIGALRM deadline: module-scoped
    fixtures run before the per-test deadline is armed."""

    def expired(signum, frame):
        raise TimeoutError(f"the notebook ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        return workspace.run(*sources)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
