"""Fixtures for the tests of the `openfaas` platform through a kernel: a
real registry (Debian's docker-registry with Basic auth,
tests/openfaas/registry_fixture.py) and the strict OpenFaaS gateway
stand-in (tests/openfaas/of_standin.py), which pulls each deployed image
from that registry and runs its entry point for real. Kernels reach the
gateway as faas-cli users' tools do: OPENFAAS_URL and faas-cli's config
file (config.yml in the folder OPENFAAS_CONFIG names, written here as
`faas-cli login` writes it); OPENFAAS_PASSWORD is cleared. The kernel
pushes the images it builds with the registry's credentials from a
Docker config.json (DOCKER_CONFIG), on a tiny base image the module pushes
first (`settings_cell` says where: `%platform openfaas registry=...
image_base=...`). Images for image= are built by the test (the layout the
kernel's images have) and pushed with skopeo.

Every workspace is checked afterwards: the gateway's password (whole, and
in its Basic-auth and faas-cli token forms) and the registry's are nowhere
the kernel wrote (outputs, state, results, its stderr).

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/openfaas_platform
"""
import base64
import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cloud"))
sys.path.insert(0, str(ROOT / "tests" / "support"))
sys.path.insert(0, str(ROOT / "tests" / "openfaas"))

from cloud_helpers import deploy_line, outputs_text  # noqa: E402,F401
from faaset_testing import cloud_fixtures  # noqa: E402
from oci_registry import docker_config, tiny_base_image  # noqa: E402
from registry_fixture import PASSWORD, USER, Registry, push_function  # noqa: E402
from standin_fixture import OfStandin  # noqa: E402

_cloud = cloud_fixtures()
pytest_configure = _cloud.pytest_configure
deadline = _cloud.deadline
sandbox = _cloud.sandbox
workspace = _cloud.workspace


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    server = Registry(tmp_path_factory.mktemp("registry"))
    server.push_layout(tiny_base_image(tmp_path_factory.mktemp("base") / "layout"), "base:1")
    yield server
    server.stop()


def settings_cell(registry):
    """The %platform line that has the kernel push to REGISTRY (plain HTTP) on the tiny base."""
    return f"%platform openfaas registry=http://{registry.host}/functions image_base=http://{registry.host}/base:1"


def start_gateway(folder, registry, *extra_args):
    return OfStandin(folder, registry, ["--ready-delay", "0.5", *extra_args])


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, registry):
    server = start_gateway(tmp_path_factory.mktemp("gateway"), registry)
    yield server
    server.stop()


def secrets_of(*gateways):
    """What must never show: each gateway's password and the registry's, and their Basic (and faas-cli token)
    base64 forms."""
    out = [PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()]
    for gateway in gateways:
        out += [gateway.password, base64.b64encode(f"{gateway.user}:{gateway.password}".encode()).decode()]
    return out


def assert_no_secret(text, where, secrets):
    for secret in secrets:
        assert secret not in text, f"a secret is in {where}"


@pytest.fixture
def of_workspace(workspace, tmp_path, registry):
    """A notebook folder whose kernels use openfaas; `of_workspace.use(gateway)`
    points them at a gateway through OPENFAAS_URL and a faas-cli config.yml."""
    used = []
    workspace.env["DOCKER_CONFIG"] = str(docker_config(tmp_path / "docker", registry.host))

    def use(gateway, password=None, url=None):
        used.append(gateway)
        for key in [k for k in workspace.env if k.startswith("OPENFAAS_")]:
            del workspace.env[key]
        config = tmp_path / "openfaas"
        config.mkdir(exist_ok=True)
        token = base64.b64encode(f"{gateway.user}:{password or gateway.password}".encode()).decode()
        (config / "config.yml").write_text(f"auths:\n- gateway: {url or gateway.url}\n  auth: basic\n"
                                           f"  token: {token}\n")
        workspace.env["OPENFAAS_CONFIG"] = str(config)
        workspace.env["OPENFAAS_URL"] = url or gateway.url
        return workspace

    workspace.use = use
    yield workspace
    secrets = secrets_of(*used)
    for path in workspace.written_files():
        assert_no_secret(path.read_text(errors="replace"), path, secrets)


def of_line(cell):
    """The cell's one `openfaas: VERB NAME (hash) in T ms[; note]` line, matched."""
    return deploy_line(cell, "openfaas")


def function_cell(name, body, image=None, options="memory=256"):
    """A %%cloud_function cell for openfaas defining NAME, its image built by the kernel or IMAGE."""
    image_option = f" image={image}" if image else ""
    return (f"%%cloud_function platforms=openfaas{image_option} {options}\ndef {name}(request, context):\n"
            f"    {body}")


def image_of(registry, folder, name, body, tag="v1"):
    """Pushes the image of NAME (BODY as its function body) and gives its reference with digest."""
    source = f"def {name}(request, context):\n    {body}\n"
    return push_function(registry, folder / f"{name}-{tag}", name, source, f"{name.replace('_', '-')}:{tag}")
