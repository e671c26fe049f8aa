"""Fixtures for one experiment across platforms through a kernel: the local
platform with the strict Google Cloud Functions stand-in (tests/gcf), the
strict OpenWhisk stand-in (tests/openwhisk), and for every platform at once
the Lambda stand-in (tests/aws), the Azure stand-in (tests/azure) and the
OpenFaaS gateway stand-in with its registry (tests/openfaas), all running
the uploaded code for real. The platform suites' own fixtures are used as
they are (tests/gcf_platform, tests/ibm_platform, tests/lambda,
tests/azure_platform and tests/openfaas_platform's conftest.py, loaded
under names of their own), so a workspace here is pointed at the stand-ins
the way those suites point theirs, and checked afterwards the same way: no
key, token or password anywhere the kernel wrote.

    FAASET_BINARY=build/faaset FAASET_AWS_PYTHON=$(which python3) \\
        /usr/bin/python3 -m pytest -q tests/compare
"""
import importlib.util
import json
import math
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
_aws = _suite_conftest("lambda")
_azure = _suite_conftest("azure_platform")
_openfaas = _suite_conftest("openfaas_platform")

# both suites take these from tests/cloud/conftest.py: one copy here
pytest_configure = _gcf.pytest_configure
deadline = _gcf.deadline
sandbox = _gcf.sandbox
workspace = _gcf.workspace
gcf_workspace = _gcf.gcf_workspace
ibm_workspace = _ibm.ibm_workspace
aws_workspace = _aws.aws_workspace
logs_dir = _aws.logs_dir
azure_workspace = _azure.azure_workspace
of_workspace = _openfaas.of_workspace
registry = _openfaas.registry
AZURE_APP = _azure.APP
openfaas_settings_cell = _openfaas.settings_cell

GCF_PROJECT = _gcf.PROJECT
PRICES = {entry["platform"]: entry for entry in json.loads((ROOT / "runtime" / "prices.json").read_text())["prices"]}
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


@pytest.fixture(scope="module")
def aws(logs_dir):
    server = _aws.start_standin(logs_dir)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    """The Azure stand-in, by the name azure_platform's azure_workspace asks for it."""
    server = _azure.start_standin(tmp_path_factory.mktemp("azure-standin"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def azure(standin):
    return standin


@pytest.fixture(scope="module")
def openfaas(tmp_path_factory, registry):
    server = _openfaas.start_gateway(tmp_path_factory.mktemp("gateway"), registry)
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


@pytest.fixture
def every_workspace(compare_workspace, aws_workspace, aws):
    """compare_workspace whose kernels reach aws (the Lambda stand-in) too; azure and openfaas are added by
    every_platform_workspace, one fixture each so that each suite's `use` is taken before the next replaces it."""
    return aws_workspace.use(aws.url)


@pytest.fixture
def with_azure(every_workspace, azure_workspace, azure):
    return azure_workspace.use(azure)


@pytest.fixture
def every_platform_workspace(with_azure, of_workspace, openfaas, registry):
    """A notebook folder whose kernels reach local and the stand-ins of aws, gcf, ibm, azure and openfaas; every
    suite's secret scan runs after it. Azure's functions go to its Consumption app (faaset-app), OpenFaaS's
    images to the registry: the cells of SETTINGS say so."""
    workspace = of_workspace.use(openfaas)
    workspace.settings = [f"%platform azure app={AZURE_APP}", openfaas_settings_cell(registry)]
    return workspace


def gcf_function(standin, function_id):
    status, function = standin.call("GET", f"/v2/projects/{GCF_PROJECT}/locations/us-central1/functions/{function_id}",
                                    token=standin.access_token())
    assert status == 200, function
    return function


def ibm_action(standin, name):
    return _ibm.action_of(standin, name)


def nothing_left(name, aws, gcf, ibm, azure, openfaas=None):
    """NAME is on none of the stand-ins (a function's OpenFaaS name has '-' for '_')."""
    assert _aws.tool(aws.url, "get", name, check=False).returncode != 0, f"{name} is still on the Lambda stand-in"
    status, function = gcf.call("GET", f"/v2/projects/{GCF_PROJECT}/locations/us-central1/functions/{name}",
                                token=gcf.access_token())
    assert status == 404, function
    status, listed, _ = ibm.call("GET", "/namespaces/_/actions")
    assert status == 200 and name not in [action["name"] for action in listed], listed
    status, listed = azure.arm("GET", f"{azure.site_path(azure.app)}/functions")
    assert status == 200 and not listed.get("value"), listed
    if openfaas is not None:
        status, listed, _ = openfaas.call("GET", "/system/functions")
        assert status == 200 and listed == [], listed


def billed(runtime_ms, price):
    """The billed duration of RUNTIME_MS as the price file says the platform rounds it."""
    step = price["roundingMs"]
    return max(price.get("minimumMs", 0), math.ceil(round(runtime_ms * 1000) / (step * 1000)) * step)


def cost(billed_ms, price, memory_mb):
    """A run's cost from its billed duration, as the pricing pages have it: GB-seconds (and vCPU-seconds) of
    MEMORY_MB rounded up as the price file says, plus one request."""
    rounding = price.get("memoryRoundingMb", 0)
    memory_mb = max(math.ceil(memory_mb / rounding) * rounding, rounding) if rounding else memory_mb
    vcpus = next((v for mb, v in price.get("vcpuByMemoryMb", []) if memory_mb <= mb), 0)
    return billed_ms / 1000 * (memory_mb / 1024 * price.get("gbSecond", 0) + vcpus * price.get("vcpuSecond", 0)) + \
        price.get("perMillionRequests", 0) / 1e6


def experiment_results(workspace, function, name):
    """(rows, summary, the folder) of FUNCTION's one experiment NAME."""
    folders = list((workspace.folder / "faaset-results" / function).glob(f"{name}-*"))
    assert len(folders) == 1, folders
    rows = [json.loads(line) for line in (folders[0] / "runs.jsonl").read_text().splitlines()]
    return rows, json.loads((folders[0] / "summary.json").read_text()), folders[0]


def span(rows):
    """When the first of ROWS was sent and the last answered."""
    return min(r["clientSendTime"] for r in rows), max(r["clientReceiveTime"] for r in rows)


def rows_by_platform(rows, platforms, runs_each):
    """ROWS by platform, RUNS_EACH on each of PLATFORMS, every one ok."""
    by_platform = {p: [r for r in rows if r["endpoint"] == p] for p in platforms}
    assert [len(v) for v in by_platform.values()] == [runs_each] * len(platforms), rows[:2]
    assert len(rows) == runs_each * len(platforms), rows[:2]
    assert all(r["status"] == "ok" for r in rows), [r for r in rows if r["status"] != "ok"][:2]
    return by_platform


def assert_at_once(by_platform):
    """No platform's runs all ended before another's began."""
    spans = {p: span(v) for p, v in by_platform.items()}
    for p in spans:
        for q in spans:
            assert spans[p][0] < spans[q][1], spans


def assert_in_turn(rows, platforms):
    """Each platform's runs all ended before the next one's began, in the order of PLATFORMS."""
    spans = [span([r for r in rows if r["endpoint"] == p]) for p in platforms]
    for before, after in zip(spans, spans[1:]):
        assert before[1] <= after[0], spans
