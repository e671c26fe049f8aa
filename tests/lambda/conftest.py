"""Fixtures for the tests of the `aws` platform (AWS Lambda).

Two Lambda endpoints run on loopback, each started from the machine's
preinstalled Python (FAASET_AWS_PYTHON, set by ctest; it has moto, boto3,
botocore): moto's server, a real and independent Lambda control plane, and
tests/aws/lambda_standin.py, a stand-in as strict as AWS that also runs the
uploaded code. Kernels reach them through AWS_ENDPOINT_URL with test keys in
the environment; every test checks that the secret key never shows in an
output, the kernel's log or the state folder.

The notebook fixtures (sandbox, workspace, deadline) are tests/cloud's.

    FAASET_BINARY=build/faaset FAASET_AWS_PYTHON=$(which python3) \\
        /usr/bin/python3 -m pytest -q tests/lambda
"""
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cloud"))
sys.path.insert(0, str(ROOT / "tests" / "support"))

from cloud_helpers import cloud_cell, deploy_line, outputs_text  # noqa: E402,F401
from faaset_testing import cloud_fixtures  # noqa: E402

_cloud = cloud_fixtures()
pytest_configure = _cloud.pytest_configure
deadline = _cloud.deadline
sandbox = _cloud.sandbox
workspace = _cloud.workspace

ACCESS_KEY = "AKIAFAASETTEST000001"
SECRET_KEY = "faasetTestSecret/NeverShown+0123456789abcdXYZ"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/faaset-tests"


def aws_python():
    path = os.environ.get("FAASET_AWS_PYTHON")
    if not path:
        pytest.fail("FAASET_AWS_PYTHON must name the python3 that has moto and boto3 (ctest sets it)")
    return path


def client_env(endpoint):
    """The environment of a kernel or of aws_tool.py talking to ENDPOINT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
                "AWS_ENDPOINT_URL": endpoint, "AWS_CONFIG_FILE": "/nonexistent/config",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials"})
    return env


def tool(endpoint, *args, check=True):
    """Runs aws_tool.py (boto3) against ENDPOINT; returns its parsed JSON output, or the CompletedProcess."""
    result = subprocess.run([aws_python(), str(HERE / "aws_tool.py"), endpoint, *args], env=client_env(endpoint),
                            capture_output=True, text=True, timeout=60)
    if not check:
        return result
    assert result.returncode == 0, f"aws_tool {args}: {result.stderr}"
    out = result.stdout.strip()
    return json.loads(out) if out.startswith("{") else out


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A server process on loopback; `url` once it answers."""

    def __init__(self, argv, port, log_path, ready_path="/"):
        self.log = open(log_path, "w")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{port}"
        deadline_ = time.monotonic() + 30
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{argv[1:3]} exited: {pathlib.Path(log_path).read_text()}")
            try:
                urllib.request.urlopen(self.url + ready_path, timeout=2).read()
                return
            except urllib.error.HTTPError:
                return  # it answers
            except OSError:
                if time.monotonic() > deadline_:
                    raise
                time.sleep(0.2)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="session")
def logs_dir():
    with tempfile.TemporaryDirectory(prefix="faaset-lambda-logs-") as folder:
        yield pathlib.Path(folder)


@pytest.fixture(scope="session")
def moto(logs_dir):
    """moto's server: its URL. The test role exists in its IAM."""
    port = _free_port()
    server = Server([aws_python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port,
                    logs_dir / "moto.log", ready_path="/moto-api/")
    try:
        arn = tool(server.url, "create-role", "faaset-tests")
        assert arn == ROLE, arn
        yield server.url
    finally:
        server.stop()


def start_standin(logs_dir, *options):
    """tests/aws/lambda_standin.py with OPTIONS; returns the Server."""
    port_file = logs_dir / f"standin-{time.monotonic_ns()}.port"
    port = _free_port()
    argv = [aws_python(), str(ROOT / "tests" / "aws" / "lambda_standin.py"), "--port", str(port),
            "--port-file", str(port_file), "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
            "--region", REGION, *options]
    return Server(argv, port, logs_dir / f"standin-{port}.log", ready_path="/_standin/stats")


@pytest.fixture
def aws_workspace(workspace):
    """A notebook folder whose kernels use aws; point it at a server with
    `aws_workspace.use(endpoint)`."""
    def use(endpoint):
        for key in [k for k in workspace.env if k.startswith("AWS_")]:
            del workspace.env[key]
        workspace.env.update({k: v for k, v in client_env(endpoint).items() if k.startswith("AWS_")})
        workspace.env["FAASET_AWS_ROLE"] = ROLE
        return workspace

    workspace.use = use
    yield workspace
    assert_secret_kept(workspace)


def assert_secret_kept(workspace):
    """The secret key is nowhere the kernel wrote: state, results, its stderr."""
    for path in workspace.written_files():
        assert SECRET_KEY not in path.read_text(errors="replace"), f"the secret key is in {path}"


def aws_line(cell):
    """The cell's one `aws: VERB NAME (hash) in T ms[; note]` line, matched."""
    return deploy_line(cell, "aws")


def cell_for(name, body='return {"hi": request["name"]}', options="memory=256"):
    """A %%cloud_function cell for aws defining NAME."""
    return cloud_cell("aws", name, body, options)
