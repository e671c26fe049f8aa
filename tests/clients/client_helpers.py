"""Helpers shared by the Python real-client tests (test_nbconvert.py,
test_console.py): paths, the Sandbox from tests/support, and checks that a
client left no kernel or sanitizer report behind."""
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))

from faaset_testing import SANITIZER_MARKERS, Sandbox  # noqa: E402

QUICKSTART = ROOT / "notebooks" / "quickstart.ipynb"


def processes_mentioning(text):
    """Ids of processes whose command line contains TEXT (a unique sandbox path)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = pathlib.Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline:
            found.append(int(entry))
    return found


def wait_for_no_kernels(sandbox, timeout=10):
    """Waits until no process refers to the sandbox (kernels' connection files
    live there); returns the ids of those still running after TIMEOUT."""
    deadline = time.monotonic() + timeout
    while True:
        left = [pid for pid in processes_mentioning(str(sandbox.dir)) if not _is_zombie(pid)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _is_zombie(pid):
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def assert_no_sanitizer_report(text, what):
    for marker in SANITIZER_MARKERS:
        assert marker not in text, f"sanitizer report in {what}:\n{text}"
