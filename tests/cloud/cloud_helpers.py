"""Helpers for the %%cloud_function end-to-end tests: run a notebook made of
cell sources through nbclient with the faaset kernel (the kernel's current
directory, where `.faaset/` lives, is a private notebook folder), read the
platform trace the kernel writes (FAASET_TRACE_PLATFORM), and pick outputs
apart.

Runs on Debian's /usr/bin/python3, which has nbclient, nbformat and
jupyter_client.
"""
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

import nbformat  # noqa: E402
from nbclient import NotebookClient  # noqa: E402
from nbformat.v4 import new_code_cell, new_notebook  # noqa: E402

from faaset_testing import SANITIZER_MARKERS, DirectKernel, Sandbox, binary, cell_python  # noqa: E402,F401

KERNELSPEC = {"name": "faaset", "display_name": "FaaSET", "language": "python"}
CELL_TIMEOUT = 60          # seconds per cell (nbclient raises CellTimeoutError past it)
STARTUP_TIMEOUT = 60


def text(value):
    return "".join(value) if isinstance(value, list) else (value or "")


class Cell:
    """One executed code cell: its source and outputs (nbformat dicts)."""

    def __init__(self, node):
        self.source = node.source
        self.outputs = node.outputs
        self.execution_count = node.get("execution_count")

    def __repr__(self):
        shown = []
        for out in self.outputs:
            if out.output_type == "stream":
                shown.append(f"  stream/{out.name}: {text(out.text)!r}")
            elif out.output_type == "error":
                shown.append(f"  error {out.ename}: {out.evalue!r}\n    traceback: {out.traceback!r}")
            else:
                shown.append(f"  {out.output_type}: {dict(out.get('data', {}))!r}")
        return f"cell {self.source!r}\n" + ("\n".join(shown) if shown else "  (no output)")

    def stream(self, name="stdout"):
        return "".join(text(o.text) for o in self.outputs if o.output_type == "stream" and o.name == name)

    @property
    def stdout(self):
        return self.stream("stdout")

    @property
    def errors(self):
        return [o for o in self.outputs if o.output_type == "error"]

    @property
    def error(self):
        """The cell's only error output (asserts there is exactly one)."""
        errors = self.errors
        assert len(errors) == 1, f"expected one error output, got {len(errors)}:\n{self!r}"
        return errors[0]

    def ok(self):
        """Asserts the cell raised nothing; returns self."""
        assert not self.errors, f"unexpected error:\n{self!r}"
        return self

    @property
    def results(self):
        return [o for o in self.outputs if o.output_type == "execute_result"]

    @property
    def result(self):
        """The text/plain of the cell's only execute_result."""
        results = self.results
        assert len(results) == 1, f"expected one execute_result, got {len(results)}:\n{self!r}"
        return text(results[0].data["text/plain"])

    def json(self):
        """The last line the cell printed, parsed as JSON (cells print
        `json.dumps(...)` of what the test checks)."""
        lines = [line for line in self.stdout.splitlines() if line.strip()]
        assert lines, f"the cell printed nothing:\n{self!r}"
        try:
            return json.loads(lines[-1])
        except ValueError:
            raise AssertionError(f"the cell's last line is not JSON:\n{self!r}") from None

    @property
    def displays(self):
        return [o for o in self.outputs if o.output_type == "display_data"]


class Trace:
    """The JSON lines the kernel appends for each platform operation."""

    def __init__(self, path):
        self.path = pathlib.Path(path)

    def entries(self):
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def ops(self, op=None, function=None):
        return [e for e in self.entries()
                if (op is None or e.get("op") == op) and (function is None or e.get("function") == function)]

    def mark(self):
        """A position: entries() after it are those made since."""
        return len(self.entries())

    def since(self, mark):
        return self.entries()[mark:]


def processes_in(folder):
    """Ids of live processes whose current directory is FOLDER or below it
    (a kernel started there, the local platform's workers under .faaset)."""
    folder = os.path.realpath(folder)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            state = pathlib.Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and (cwd == folder or cwd.startswith(folder + os.sep)):
            found.append(int(entry))
    return found


def wait_for_no_processes(folder, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        left = processes_in(folder)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def kill_processes_in(folder):
    for pid in processes_in(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def assert_no_sanitizer_report(text_, what):
    for marker in SANITIZER_MARKERS:
        assert marker not in text_, f"sanitizer report in {what}:\n{text_}"


def outputs_text(cells):
    """Everything the cells showed, as one string (to look for secrets)."""
    return "\n".join(repr(cell) for cell in cells)


def deploy_line(cell, platform):
    """The cell's one `PLATFORM: VERB NAME (hash) in T ms[; note]` line, matched (groups verb, name,
    hash, note)."""
    found = [line for line in cell.ok().stdout.splitlines() if line.startswith(platform + ":")]
    assert len(found) == 1, cell
    match = re.match(rf"^{platform}: (?P<verb>.+?) (?P<name>\w+) \((?P<hash>[0-9a-f]{{8}})\) in [0-9.]+ ms"
                     r"(?:; (?P<note>.*))?$", found[0])
    assert match, found[0]
    return match


def burst_cell(function, calls=4, sleep=0.3):
    """A cell calling FUNCTION (a deployed sleeper returning {"slept": seconds}) CALLS times at once from threads,
    each sleeping SLEEP seconds; it prints the list of what came back as JSON."""
    return f'''import threading, json
results = []
def call():
    results.append({function}({{"sleep": {sleep}}})["slept"])
threads = [threading.Thread(target=call) for _ in range({calls})]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps(results))'''


def cloud_cell(platform, name, body='return {"hi": request["name"]}', options="memory=256"):
    """A %%cloud_function cell for PLATFORM defining NAME."""
    return f"%%cloud_function platforms={platform} {options}\ndef {name}(request, context):\n    {body}"


def run_walkthrough(workspace, notebook, cell_timeout=180):
    """Executes the code cells of the NOTEBOOK file in WORKSPACE, each without an error; (cells, stdout lines)."""
    sources = [cell.source for cell in nbformat.read(notebook, as_version=4).cells if cell.cell_type == "code"]
    cells = workspace.run(*sources, cell_timeout=cell_timeout)
    for cell in cells:
        cell.ok()
    return cells, [line for cell in cells for line in cell.stdout.splitlines()]


def check_walkthrough(cells, lines, platform, expected):
    """What a platform's walk-through notebook (notebooks/gcf.ipynb, ibm.ipynb) shows: its `PLATFORM: ...`
    lines matching the patterns EXPECTED in order, an experiment of 40 runs all ok, the table of medians per
    memory setting (256 and 512 MB, each run having slept 0.5 s) and the experiment's three charts."""
    shown = outputs_text(cells)
    deploys = [line for line in lines if line.startswith(f"{platform}: ")]
    assert len(deploys) == len(expected), deploys
    for line, pattern in zip(deploys, expected):
        assert re.match(pattern, line), (line, pattern)
    assert "40 runs, 40 ok" in lines, shown
    table = next(cell for cell in cells if cell.source.startswith("table = "))
    memory_rows = [line.split() for line in table.result.splitlines()[2:]]
    assert [row[0] for row in memory_rows] == ["256", "512"], table
    assert all(float(row[1]) >= 500 for row in memory_rows), table
    summary = next(cell for cell in cells if cell.source.startswith("rows = "))
    charts = [d for d in summary.displays if "application/vnd.vegalite.v5+json" in d.data]
    assert len(charts) == 3, summary


class Workspace:
    """A notebook folder plus the sandboxed kernelspec, the trace file and the
    environment a kernel started for it gets."""

    def __init__(self, sandbox, folder):
        self.sandbox = sandbox
        self.folder = pathlib.Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.trace = Trace(self.folder.parent / f"{self.folder.name}-trace.jsonl")
        self.env = dict(sandbox.env)
        self.env["FAASET_TRACE_PLATFORM"] = str(self.trace.path)
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.runs = 0

    def written_files(self):
        """Every file a kernel wrote for this folder: state, results, payloads, and its stderr logs."""
        written = [path for path in self.folder.rglob("*") if path.is_file()]
        return written + list(self.folder.parent.glob(f"{self.folder.name}-kernel-*.stderr"))

    @property
    def state_dir(self):
        return self.folder / ".faaset" / "state" / "local"

    def run(self, *sources, cell_timeout=CELL_TIMEOUT):
        """Executes a new notebook of SOURCES with a new kernel in this folder;
        returns a Cell per source. Errors in cells are kept as outputs. Checks
        that the kernel exited cleanly, left no process and no sanitizer report."""
        self.runs += 1
        nb = new_notebook(cells=[new_code_cell(s) for s in sources], metadata={"kernelspec": KERNELSPEC})
        stderr_path = self.folder.parent / f"{self.folder.name}-kernel-{self.runs}.stderr"
        processes = []
        client = NotebookClient(nb, kernel_name="faaset", timeout=cell_timeout, startup_timeout=STARTUP_TIMEOUT,
                                allow_errors=True, resources={"metadata": {"path": str(self.folder)}},
                                shutdown_kernel="graceful")
        client.on_notebook_start = lambda notebook: processes.append(client.km.provisioner.process)
        # nbclient looks the kernelspec up in this process's environment
        saved = {k: os.environ.get(k) for k in ("JUPYTER_PATH", "JUPYTER_RUNTIME_DIR")}
        os.environ.update({k: self.env[k] for k in saved})
        try:
            with open(stderr_path, "w") as stderr:
                client.execute(env=self.env, stderr=stderr)
        except RuntimeError as error:  # e.g. "Kernel died before replying to kernel_info": say what it said
            raise AssertionError(f"{error}; the kernel's stderr:\n{stderr_path.read_text(errors='replace')}") from error
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        kernel_stderr = stderr_path.read_text(errors="replace")
        assert_no_sanitizer_report(kernel_stderr, "the kernel's stderr")
        assert processes, "nbclient did not start a kernel"
        status = processes[0].poll()
        assert status == 0, f"the kernel exited with status {status} after shutdown:\n{kernel_stderr}"
        left = wait_for_no_processes(self.folder)
        assert not left, f"processes left running in {self.folder}: {left}"
        self.last_stderr = kernel_stderr
        return [Cell(c) for c in nb.cells]

    def cli(self, *args, timeout=60, input_=None):
        """Runs `faaset ARGS` in this folder; returns the CompletedProcess."""
        env = dict(self.env)
        env["FAASET_PYTHON"] = cell_python()
        result = subprocess.run([binary(), *args], cwd=self.folder, env=env, capture_output=True, text=True,
                                timeout=timeout, input=input_)
        assert_no_sanitizer_report(result.stderr, f"faaset {' '.join(args)}")
        return result
