"""Fixtures for the %%cloud_function end-to-end tests.

Every test gets its own sandbox (kernelspec `faaset` installed into a temp
folder, history file, Jupyter runtime dir) and a notebook folder inside it;
both are removed afterwards, and any process still running there (a kernel
or a local-platform worker) is killed first. Every test also runs under a
deadline (SIGALRM): Debian's pytest has no pytest-timeout, and a hung kernel
must fail the test rather than the whole run.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/cloud
"""
import pathlib
import signal
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from cloud_helpers import DirectKernel, Sandbox, Workspace, kill_processes_in  # noqa: E402

DEFAULT_DEADLINE = 90  # seconds per test, setup and teardown included


def pytest_configure(config):
    config.addinivalue_line("markers", "deadline(seconds): fail the test if it runs longer than this")


@pytest.fixture(autouse=True)
def deadline(request):
    marker = request.node.get_closest_marker("deadline")
    seconds = int(marker.args[0]) if marker else DEFAULT_DEADLINE

    def expired(signum, frame):
        raise TimeoutError(f"{request.node.nodeid} ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def sandbox():
    box = Sandbox()
    try:
        yield box
    finally:
        kill_processes_in(box.dir)
        box.cleanup()


@pytest.fixture
def workspace(sandbox):
    """A notebook folder (the kernel's cwd, where .faaset/ lives) with a
    platform trace file; `workspace.run(*cells)` executes a notebook there."""
    return Workspace(sandbox, sandbox.dir / "notebook")


@pytest.fixture
def kernel(sandbox):
    """A kernel started directly (cwd = the sandbox folder) with a
    BlockingKernelClient; stopped and checked for sanitizer reports after."""
    k = DirectKernel(sandbox)
    try:
        yield k
    finally:
        k.stop()
