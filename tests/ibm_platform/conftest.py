"""Fixtures for the tests of the `ibm` platform (IBM Cloud Functions /
Apache OpenWhisk) through a kernel: the strict OpenWhisk controller
stand-in (tests/openwhisk/ow_standin.py, which runs every uploaded zip's
__main__.py for real) with two subjects and two IAM-based namespaces made
by the test. Kernels reach it as wsk users' tools do: a properties file
named by WSK_CONFIG_FILE with APIHOST, AUTH and NAMESPACE; the __OW_* and
IBM Cloud variables are cleared. `ibm_workspace.use_iam(standin)` reaches
an IAM-based namespace instead, as IBM Cloud users do: IBMCLOUD_API_KEY,
the namespace's ID, and the stand-in as IAM's endpoint
(IBMCLOUD_IAM_API_ENDPOINT).

Every workspace is checked afterwards: the key (UUID:KEY, its KEY part and
its Basic-auth form), the IBM Cloud API keys and any IAM token the
stand-in issues are nowhere the kernel wrote (outputs, state, results, its
stderr).

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/ibm_platform
"""
import base64
import pathlib
import re
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cloud"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "tests" / "openwhisk"))

from cloud_helpers import cloud_cell, deploy_line, outputs_text  # noqa: E402,F401
from faaset_testing import cloud_fixtures  # noqa: E402
from standin_fixture import OwStandin  # noqa: E402

_cloud = cloud_fixtures()
pytest_configure = _cloud.pytest_configure
deadline = _cloud.deadline
sandbox = _cloud.sandbox
workspace = _cloud.workspace


def start_standin(folder, *extra_args):
    folder.mkdir(parents=True, exist_ok=True)
    return OwStandin(folder, list(extra_args))


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    server = start_standin(tmp_path_factory.mktemp("ow-standin"), "--controller-wait", "20")
    yield server
    server.stop()


IAM_TOKEN = re.compile(r"iam-[A-Za-z0-9_-]{40,}")  # the stand-in's access tokens
IBM_VARIABLES = ("IBMCLOUD_API_KEY", "IC_API_KEY", "IBMCLOUD_IAM_API_ENDPOINT")


def secrets_of(standin):
    """What must never show: each key whole, its KEY part, the Basic header's base64, the API keys."""
    out = [standin.apikey, standin.other_apikey]
    for auth in (standin.auth, standin.other_auth):
        out += [auth, auth.split(":", 1)[1], base64.b64encode(auth.encode()).decode()]
    return out


def assert_no_secret(text, where, secrets):
    for secret in secrets:
        assert secret not in text, f"a secret is in {where}"
    assert not IAM_TOKEN.search(text), f"an IAM token is in {where}"


@pytest.fixture
def ibm_workspace(workspace, tmp_path):
    """A notebook folder whose kernels use ibm; `ibm_workspace.use(standin)`
    points them at a stand-in through a wskprops file (ibm_workspace.props)."""
    used = []

    def forget_credentials():
        for key in [k for k in workspace.env if k.startswith(("__OW_", "WSK_")) or k in IBM_VARIABLES]:
            del workspace.env[key]

    def use_iam(standin, apikey=None, namespace=None):
        used.append(standin)
        forget_credentials()
        workspace.env.update({"__OW_API_HOST": standin.url, "__OW_NAMESPACE": namespace or standin.iam_namespace,
                              "IBMCLOUD_API_KEY": apikey or standin.apikey, "IBMCLOUD_IAM_API_ENDPOINT": standin.url})
        workspace.env["WSK_CONFIG_FILE"] = "/dev/null"
        return workspace

    def use(standin, auth=None, namespace=None, apihost=None):
        used.append(standin)
        forget_credentials()
        props = tmp_path / "wskprops"
        props.write_text(f"# made by the test\nAPIHOST={apihost or standin.url}\nAUTH={auth or standin.auth}\n"
                         + (f"NAMESPACE={namespace}\n" if namespace else ""))
        workspace.env["WSK_CONFIG_FILE"] = str(props)
        workspace.props = props
        return workspace

    workspace.use = use
    workspace.use_iam = use_iam
    yield workspace
    secrets = [s for standin in used for s in secrets_of(standin)]
    for path in workspace.written_files():
        assert_no_secret(path.read_text(errors="replace"), path, secrets)


def ibm_line(cell):
    """The cell's one `ibm: VERB NAME (hash) in T ms[; note]` line, matched."""
    return deploy_line(cell, "ibm")


def cell_for(name, body='return {"hi": request["name"]}', options="memory=256"):
    """A %%cloud_function cell for ibm defining NAME."""
    return cloud_cell("ibm", name, body, options)


def action_of(standin, name):
    status, action, _ = standin.call("GET", f"/namespaces/_/actions/{name}")
    assert status == 200, action
    return action
