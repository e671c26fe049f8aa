"""Fixtures for the FaaSET-notebook compatibility tests: tests/cloud's
(deadline, sandbox, workspace, kernel) for the local platform and tests/lambda's
Lambda endpoints (moto's server, the strict stand-in that runs the uploaded
code) for aws, each run by the python3 that has moto (FAASET_AWS_PYTHON).

    FAASET_BINARY=build/faaset FAASET_AWS_PYTHON=$(which python3) \\
        /usr/bin/python3 -m pytest -q tests/compat
"""
import importlib.util
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cloud"))
sys.path.insert(0, str(ROOT / "tests" / "support"))

from faaset_testing import cloud_fixtures  # noqa: E402

_cloud = cloud_fixtures()
pytest_configure = _cloud.pytest_configure
deadline = _cloud.deadline
sandbox = _cloud.sandbox
workspace = _cloud.workspace
kernel = _cloud.kernel

_spec = importlib.util.spec_from_file_location("faaset_lambda_conftest", ROOT / "tests" / "lambda" / "conftest.py")
lambda_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lambda_fixtures)
logs_dir = lambda_fixtures.logs_dir
moto = lambda_fixtures.moto
ROLE = lambda_fixtures.ROLE


@pytest.fixture
def aws_workspace(workspace):
    """A notebook folder whose kernels reach ENDPOINT with the test keys
    (`aws_workspace.use(endpoint)`) and have no role but the notebook's own:
    FAASET_AWS_ROLE is not set, so a deploy needs the config's role."""
    def use(endpoint):
        for key in [k for k in workspace.env if k.startswith("AWS_") or k == "FAASET_AWS_ROLE"]:
            del workspace.env[key]
        env = lambda_fixtures.client_env(endpoint)
        workspace.env.update({k: v for k, v in env.items() if k.startswith("AWS_")})
        return workspace

    workspace.use = use
    yield workspace
    lambda_fixtures.assert_secret_kept(workspace)


@pytest.fixture(scope="module")
def standin(logs_dir):
    server = lambda_fixtures.start_standin(logs_dir)
    try:
        yield server
    finally:
        server.stop()
