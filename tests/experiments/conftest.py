"""Fixtures for the %%experiment / %experiment end-to-end tests.

They reuse the cloud-function suite's fixtures (tests/cloud/conftest.py):
the per-test SIGALRM deadline (`@pytest.mark.deadline(seconds)`), `sandbox`
(a private kernelspec install, removed after, with any process left in it),
`workspace` (a notebook folder run through nbclient) and `kernel` (a
DirectKernel, for raw messages, interrupts and kills). Added here: a
workspace shared by a whole module, so that one kernel runs many experiment
cells and the suite stays fast under the sanitizer build.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/experiments
"""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from experiment_helpers import Sandbox, Workspace, kill_processes_in  # noqa: E402
from faaset_testing import cloud_fixtures  # noqa: E402

_cloud = cloud_fixtures()
deadline = _cloud.deadline
sandbox = _cloud.sandbox
workspace = _cloud.workspace
kernel = _cloud.kernel
pytest_configure = _cloud.pytest_configure


@pytest.fixture(scope="module")
def shared_workspace():
    """A sandboxed notebook folder for a whole module; removed afterwards,
    with any process still running in it."""
    box = Sandbox()
    try:
        yield Workspace(box, box.dir / "notebook")
    finally:
        kill_processes_in(box.dir)
        box.cleanup()

