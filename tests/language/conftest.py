"""Fixtures for the cell-language tests (IPython's syntax and magics, inline
figures, experiment results in pandas), run through nbclient and raw
jupyter_client against the faaset kernel.

They reuse the cloud-function suite's fixtures (tests/cloud/conftest.py):
the per-test SIGALRM deadline and `kernel` (a DirectKernel). Added here:
`path`, each test once per way the runtime can speak IPython's language:

- "ipython": Debian's /usr/bin/python3, where IPython imports, so the
  runtime uses IPython's transformer, shell and magics;
- "own": the same interpreter with IPython made unimportable (a wrapper
  puts a folder first on PYTHONPATH whose IPython.py raises ImportError),
  so the runtime uses its own transformer and magics.

`workspace` is a notebook folder for that path, run through nbclient.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/language
"""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "cloud"))

from cloud_helpers import DirectKernel, Sandbox, Workspace, kill_processes_in  # noqa: E402
from faaset_testing import cloud_fixtures, python_without  # noqa: E402

_cloud = cloud_fixtures()
deadline = _cloud.deadline
pytest_configure = _cloud.pytest_configure


@pytest.fixture(params=["ipython", "own"])
def path(request, tmp_path_factory):
    """(name, interpreter for cells) of one of the two cell-language paths."""
    if request.param == "ipython":
        return "ipython", None
    return "own", python_without(tmp_path_factory.mktemp("python"), "IPython")


@pytest.fixture
def sandbox(path):
    box = Sandbox(python=path[1])
    try:
        yield box
    finally:
        kill_processes_in(box.dir)
        box.cleanup()


@pytest.fixture
def workspace(sandbox):
    return Workspace(sandbox, sandbox.dir / "notebook")


@pytest.fixture
def kernel(sandbox):
    k = DirectKernel(sandbox)
    try:
        yield k
    finally:
        k.stop()
