"""Starting the Lambda stand-in (lambda_standin.py) for tests, and building faaset packages for it.

start_standin() runs the stand-in as a subprocess on a free port with the
given options and returns a Standin: its URL and credentials, a boto3
client factory, its counters (GET /_standin/stats), reset() and stop().
stop() fails if the stand-in wrote a traceback (an internal error is a bug
even when the answer was a tidy 500). conftest.py wraps it in fixtures.

build_package() builds the zip faaset deploys, as platforms/package.c
does: the user's source as faaset_function.py, faaset_handler.py = one
line naming the function + runtime/python/faaset_handler.py, SAAF.py and
Inspector.py."""
import io
import json
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config

REPOSITORY = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).with_name("lambda_standin.py")
ACCESS_KEY = "AKIDSTANDINTESTKEY01"
SECRET_KEY = "standin/secret+key/for/tests/only000000"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/faaset-test"
HANDLER = "faaset_handler.lambda_handler"
START_TIMEOUT_SECONDS = 20


class Standin:
    """A running stand-in."""

    def __init__(self, process, port, folder, access_key, secret_key, session_token, region):
        self.process = process
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self.folder = folder
        self.access_key = access_key
        self.secret_key = secret_key
        self.session_token = session_token
        self.region = region

    def client(self, **overrides):
        """A boto3 Lambda client for the stand-in: no retries (tests see every answer), no client-side
        parameter validation (the stand-in must do it). OVERRIDES replace client() arguments, and
        max_pool_connections sizes the connection pool (boto3's default is 10)."""
        pool = overrides.pop("max_pool_connections", 10)
        arguments = dict(
            endpoint_url=self.url, region_name=self.region, aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key, aws_session_token=self.session_token,
            config=Config(retries={"total_max_attempts": 1}, parameter_validation=False,
                          max_pool_connections=pool, read_timeout=120, connect_timeout=10))
        arguments.update(overrides)
        return boto3.session.Session().client("lambda", **arguments)

    def stats(self):
        with urllib.request.urlopen(self.url + "/_standin/stats", timeout=10) as response:
            return json.load(response)

    def reset(self):
        request = urllib.request.Request(self.url + "/_standin/reset", data=b"", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()

    def log(self):
        return (self.folder / "standin.log").read_text(errors="replace")

    def stop(self):
        """SIGTERM; fails if the stand-in does not exit cleanly or logged a traceback."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError("the stand-in ignored SIGTERM:\n" + self.log())
        log = self.log()
        assert self.process.returncode == 0, "the stand-in exited with %s:\n%s" % (self.process.returncode, log)
        assert "Traceback" not in log, "the stand-in logged an internal error:\n" + log


def start_standin(folder, *, access_key=ACCESS_KEY, secret_key=SECRET_KEY, session_token=None, region=REGION,
                  pending_seconds=0.5, update_seconds=0.5, concurrency=10, retry_after=1, containers="process"):
    """Start a stand-in whose files (port file, log, state) go in FOLDER; returns a Standin."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    port_file = folder / "port"
    command = [sys.executable, str(STANDIN), "--port", "0", "--port-file", str(port_file),
               "--access-key", access_key, "--secret-key", secret_key, "--region", region,
               "--pending-seconds", str(pending_seconds), "--update-seconds", str(update_seconds),
               "--concurrency", str(concurrency), "--retry-after", str(retry_after), "--containers", containers,
               "--state-dir", str(folder / "state")]
    if session_token is not None:
        command += ["--session-token", session_token]
    with open(folder / "standin.log", "wb") as log:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise AssertionError("the stand-in did not start:\n" + (folder / "standin.log").read_text())
        time.sleep(0.02)
    return Standin(process, int(port_file.read_text()), folder, access_key, secret_key, session_token, region)


def build_package(source, function_name):
    """The deployment zip faaset builds for SOURCE defining FUNCTION_NAME (see platforms/package.c)."""
    runtime = REPOSITORY / "runtime" / "python"
    files = {
        "faaset_function.py": source,
        "faaset_handler.py": 'FAASET_USER_FUNCTION = "%s"\n' % function_name
                             + (runtime / "faaset_handler.py").read_text(),
        "SAAF.py": (runtime / "SAAF.py").read_text(),
        "Inspector.py": (runtime / "Inspector.py").read_text(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def wait_for(client, name, state="Active", update_status="Successful", timeout=15):
    """Poll GetFunctionConfiguration until State and LastUpdateStatus are as asked; the configuration."""
    deadline = time.monotonic() + timeout
    while True:
        config = client.get_function_configuration(FunctionName=name)
        if config["State"] == state and config.get("LastUpdateStatus") == update_status:
            return config
        assert time.monotonic() < deadline, "%s stayed %s / %s" % (name, config["State"],
                                                                  config.get("LastUpdateStatus"))
        time.sleep(0.05)

