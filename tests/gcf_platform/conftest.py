"""Fixtures for the tests of the `gcf` platform (Google Cloud Functions)
through a kernel: the strict Cloud Functions v2 stand-in
(tests/gcf/gcf_standin.py, run by FAASET_AWS_PYTHON, the python3 that has
Flask and cryptography) with a service-account key made by the test.
Kernels reach it as Google users' tools reach Google: the key named by
GOOGLE_APPLICATION_CREDENTIALS (its token_uri is the stand-in's), the API
at GCF_ENDPOINT_URL; gcloud's own folder is pointed at an empty one.

Every workspace is checked afterwards: the private key and any token are
nowhere the kernel wrote (outputs, state, results, its stderr).

    FAASET_BINARY=build/faaset FAASET_AWS_PYTHON=$(which python3) \\
        /usr/bin/python3 -m pytest -q tests/gcf_platform
"""
import json
import os
import pathlib
import re
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cloud"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "tests" / "gcf"))

from cloud_helpers import burst_cell, cloud_cell, deploy_line, outputs_text  # noqa: E402,F401
from faaset_testing import cloud_fixtures  # noqa: E402
from standin_fixture import PROJECT, GcfStandin  # noqa: E402

_cloud = cloud_fixtures()
pytest_configure = _cloud.pytest_configure
deadline = _cloud.deadline
sandbox = _cloud.sandbox
workspace = _cloud.workspace


def standin_python():
    path = os.environ.get("FAASET_AWS_PYTHON")
    if not path:
        pytest.fail("FAASET_AWS_PYTHON must name the python3 that has Flask and cryptography (ctest sets it)")
    return path


def start_standin(folder, public_url=None, extra_args=(), operation_seconds=0.3):
    folder.mkdir(parents=True, exist_ok=True)
    return GcfStandin(folder, operation_seconds=operation_seconds, public_url=public_url, extra_args=extra_args,
                      python=standin_python())


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    server = start_standin(tmp_path_factory.mktemp("gcf-standin"))
    yield server
    server.stop()


def key_secret(standin):
    """A line from the middle of the private key: it must never show anywhere."""
    pem = json.loads(standin.key_file.read_text())["private_key"].splitlines()
    return pem[len(pem) // 2]


SECRET_PATTERNS = [re.compile(r"ya29\.standin-[A-Za-z0-9_-]{8}"),           # access tokens
                   re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}")]  # ID tokens and signed JWTs


def assert_no_secret(text, where, secrets):
    for secret in secrets:
        assert secret not in text, f"a secret is in {where}"
    for pattern in SECRET_PATTERNS:
        assert not pattern.search(text), f"a token is in {where}"


@pytest.fixture
def gcf_workspace(workspace, tmp_path):
    """A notebook folder whose kernels use gcf; `gcf_workspace.use(standin)`
    points them at a stand-in (over its public URL) with its key."""
    used = []

    def use(standin):
        used.append(standin)
        for key in [k for k in workspace.env if k.startswith(("GOOGLE_", "CLOUDSDK_", "GCF_", "GCE_METADATA",
                                                             "METADATA_SERVER", "K_SERVICE", "K_REVISION"))]:
            del workspace.env[key]
        empty = tmp_path / "gcloud"
        empty.mkdir(exist_ok=True)
        # the tests' machine may itself be a Google VM: its metadata server is asked only where a test says so
        workspace.env.update({"GOOGLE_APPLICATION_CREDENTIALS": str(standin.key_file),
                              "CLOUDSDK_CONFIG": str(empty), "GCF_ENDPOINT_URL": standin.public_url,
                              "METADATA_SERVER_DETECTION": "none"})
        return workspace

    workspace.use = use
    yield workspace
    secrets = [key_secret(s) for s in used] + [s.user["client_secret"] for s in used] + \
              [s.user["refresh_token"] for s in used]
    for path in workspace.written_files():
        assert_no_secret(path.read_text(errors="replace"), path, secrets)


def gcf_line(cell):
    """The cell's one `gcf: VERB NAME (hash) in T ms[; note]` line, matched."""
    return deploy_line(cell, "gcf")


def cell_for(name, body='return {"hi": request["name"]}', options="memory=256"):
    """A %%cloud_function cell for gcf defining NAME."""
    return cloud_cell("gcf", name, body, options)


__all__ = ["PROJECT"]
