"""Fixtures for the protocol tests: a sandbox with the kernelspec installed,
and kernels started directly from connection files (see tests/support)."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))

from faaset_testing import DirectKernel, Sandbox  # noqa: E402


@pytest.fixture
def sandbox():
    box = Sandbox()
    yield box
    box.cleanup()


@pytest.fixture
def kernel(sandbox):
    k = DirectKernel(sandbox)
    yield k
    k.stop()


@pytest.fixture
def start_kernel(sandbox):
    """Starts kernels with custom settings; all are stopped and checked at the end."""
    started = []

    def start(**kwargs):
        k = DirectKernel(sandbox, **kwargs)
        started.append(k)
        return k

    yield start
    for k in started:
        k.stop()
