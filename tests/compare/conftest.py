"""Fixtures for one experiment across platforms through a kernel: the local
platform with the strict Google Cloud Functions stand-in (tests/gcf) and the
strict OpenWhisk stand-in (tests/openwhisk), both running the uploaded code
for real. The two platform suites' own fixtures are used as they are
(tests/gcf_platform/conftest.py and tests/ibm_platform/conftest.py, loaded
under names of their own), so a workspace here is pointed at both
stand-ins the way those suites point theirs, and checked afterwards the same
way: no key, token or password anywhere the kernel wrote.

    FAASET_BINARY=build/faaset FAASET_AWS_PYTHON=$(which python3) \\
        /usr/bin/python3 -m pytest -q tests/compare
"""
import importlib.util
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cloud"))
sys.path.insert(0, str(ROOT / "tests" / "support"))

from cloud_helpers import deploy_line, outputs_text  # noqa: E402,F401


def _suite_conftest(suite):
    """tests/SUITE/conftest.py as a module of its own; each imports its
    stand-in's `standin_fixture`, so the name is let go between them."""
    sys.modules.pop("standin_fixture", None)
    spec = importlib.util.spec_from_file_location(f"faaset_{suite}_conftest", ROOT / "tests" / suite / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules.pop("standin_fixture", None)
    return module


_gcf = _suite_conftest("gcf_platform")
_ibm = _suite_conftest("ibm_platform")

# both suites take these from tests/cloud/conftest.py: one copy here
pytest_configure = _gcf.pytest_configure
deadline = _gcf.deadline
sandbox = _gcf.sandbox
workspace = _gcf.workspace
gcf_workspace = _gcf.gcf_workspace
ibm_workspace = _ibm.ibm_workspace

GCF_PROJECT = _gcf.PROJECT
GCF_OPERATION_SECONDS = 2.0  # each Google operation (a create, an update) takes this long


@pytest.fixture(scope="module")
def gcf(tmp_path_factory):
    server = _gcf.start_standin(tmp_path_factory.mktemp("gcf-standin"), operation_seconds=GCF_OPERATION_SECONDS)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ibm(tmp_path_factory):
    server = _ibm.start_standin(tmp_path_factory.mktemp("ow-standin"), "--controller-wait", "20")
    yield server
    server.stop()


@pytest.fixture
def use_gcf(gcf_workspace):
    """gcf_workspace's `use`, taken before ibm_workspace puts its own on the same workspace."""
    return gcf_workspace.use


@pytest.fixture
def compare_workspace(use_gcf, ibm_workspace, gcf, ibm):
    """A notebook folder whose kernels reach local, gcf (the Google stand-in)
    and ibm (the OpenWhisk stand-in); both suites' secret scans run after it."""
    use_gcf(gcf)
    return ibm_workspace.use(ibm)


def gcf_function(standin, function_id):
    status, function = standin.call("GET", f"/v2/projects/{GCF_PROJECT}/locations/us-central1/functions/{function_id}",
                                    token=standin.access_token())
    assert status == 200, function
    return function


def ibm_action(standin, name):
    return _ibm.action_of(standin, name)
