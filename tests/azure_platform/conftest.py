"""Fixtures for the tests of the `azure` platform (Azure Functions) through
a kernel: the strict Azure stand-in (tests/azure/azure_standin.py: Entra ID
tokens, Resource Manager, Kudu's zip deploy, and a Functions host that runs
every uploaded function for real), a fresh one per test, with its two
apps: faaset-app on the Consumption plan and faaset-flex on Flex
Consumption. Kernels reach it as Azure's SDKs do: the service principal
in AZURE_CLIENT_ID / AZURE_CLIENT_SECRET / AZURE_TENANT_ID, the authority in
AZURE_AUTHORITY_HOST, and the stand-in's addresses in
FAASET_AZURE_MANAGEMENT_URL, FAASET_AZURE_SCM_URL and FAASET_AZURE_APP_URL.

Every workspace is checked afterwards: no client secret, publishing
password or Basic header, no function key and no token (a JWT) is in
anything the kernel wrote (outputs, state, results, its stderr).

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/azure_platform
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
sys.path.insert(0, str(ROOT / "tests" / "azure"))

from cloud_helpers import burst_cell, cloud_cell, deploy_line, outputs_text  # noqa: E402,F401
from faaset_testing import cloud_fixtures  # noqa: E402
from standin_fixture import APP, FLEX_APP, AzureStandin  # noqa: E402,F401

_cloud = cloud_fixtures()
pytest_configure = _cloud.pytest_configure
deadline = _cloud.deadline
sandbox = _cloud.sandbox
workspace = _cloud.workspace

TOKEN = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}")  # Entra's access tokens are JWTs


def start_standin(folder, **options):
    folder.mkdir(parents=True, exist_ok=True)
    return AzureStandin(folder, **options)


@pytest.fixture
def standin(tmp_path):
    server = start_standin(tmp_path / "azure-standin")
    yield server
    server.stop()


def secrets_of(standin):
    """What must never show: the principals' secrets, the apps' publishing passwords and Basic headers, and the
    function keys the apps have now."""
    out = [standin.client_secret, standin.reader_secret, standin.other_client_secret]
    for app in (APP, FLEX_APP):
        out += [standin.publishing_password(app), standin.basic(app).split(" ", 1)[1]]
        status, functions = standin.arm("GET", f"{standin.site_path(app)}/functions")
        for function in (functions or {}).get("value", []) if status == 200 else []:
            name = function["name"].split("/")[-1]
            out.append(standin.function_key(app, name))
    return out


def assert_no_secret(text, where, secrets):
    for secret in secrets:
        assert secret not in text, f"a secret is in {where}"
    assert not TOKEN.search(text), f"a token is in {where}"


@pytest.fixture
def azure_workspace(workspace, standin):
    """A notebook folder whose kernels use azure; `azure_workspace.use(standin)` points them at a stand-in.
    (It needs the stand-in still up when it checks what the kernel wrote, for the function keys.)"""
    used = []

    def use(standin, client_secret=None, tenant=None, base=None, client_id=None):
        """BASE: the address the kernel reaches the stand-in at (a TLS terminator's), else its own."""
        used.append(standin)
        base = base or standin.url
        for key in [k for k in workspace.env if k.startswith(("AZURE_", "FAASET_AZURE_"))]:
            del workspace.env[key]
        workspace.env.update({
            "AZURE_CLIENT_ID": client_id or standin.client_id, "AZURE_CLIENT_SECRET": client_secret or standin.client_secret,
            "AZURE_TENANT_ID": tenant or standin.tenant_id, "AZURE_AUTHORITY_HOST": base,
            "AZURE_SUBSCRIPTION_ID": standin.subscription, "AZURE_RESOURCE_GROUP": standin.resource_group,
            "FAASET_AZURE_MANAGEMENT_URL": base, "FAASET_AZURE_SCM_URL": base + "/{app}.scm.azurewebsites.net",
            "FAASET_AZURE_APP_URL": base + "/{app}.azurewebsites.net"})
        return workspace

    workspace.use = use
    yield workspace
    secrets = [s for standin in used if standin.process.poll() is None for s in secrets_of(standin)]
    for path in workspace.written_files():
        assert_no_secret(path.read_text(errors="replace"), path, secrets)


def azure_line(cell):
    """The cell's one `azure: VERB NAME (hash) in T ms[; note]` line, matched."""
    return deploy_line(cell, "azure")


def cell_for(name, body='return {"hi": request["name"]}', options=""):
    """A %%cloud_function cell for azure defining NAME."""
    return cloud_cell("azure", name, body, options)


def settings_of(standin, app):
    status, body = standin.arm("POST", f"{standin.site_path(app)}/config/appsettings/list")
    assert status == 200, body
    return body["properties"]
