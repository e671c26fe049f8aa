"""runtime/python/faaset_http.py, the HTTP entry point of the container
images the kernel builds (OpenFaaS), run directly as the image runs it: a
folder laid out as the image's /function (the handler shim with its
FAASET_USER_FUNCTION line, the user's module) and `python3 faaset_http.py`
with PORT set; the test calls it over HTTP as the gateway does."""
import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[2] / "runtime" / "python"

USER_MODULE = '''import os
def echo(request, context):
    if request.get("fail"):
        print("failing now")
        raise KeyError("asked to fail")
    if request.get("unjsonable"):
        return {"set": {1, 2}}
    return {"got": request, "name": context.function_name, "call": context.aws_request_id,
            "cwd": os.getcwd(), "port": os.environ["PORT"]}
'''


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    folder = tmp_path / "function"
    folder.mkdir()
    shim = (PYTHON_DIR / "faaset_handler.py").read_text()
    (folder / "faaset_handler.py").write_text('FAASET_USER_FUNCTION = "echo"\n' + shim)
    (folder / "faaset_function.py").write_text(USER_MODULE)
    (folder / "faaset_http.py").write_text((PYTHON_DIR / "faaset_http.py").read_text())
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PORT": str(port), "PYTHONPATH": str(folder),
           "PYTHONDONTWRITEBYTECODE": "1"}
    log = open(tmp_path / "log", "w+")
    process = subprocess.Popen([sys.executable, str(folder / "faaset_http.py")], cwd=folder, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/_/health", timeout=5).read()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "log").read_text()
            time.sleep(0.05)
    yield url, folder, log
    process.kill()
    process.wait()
    log.close()


def call(url, body, headers=None, method="POST"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data if method == "POST" else None, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_post_calls_the_function_with_a_context(server):
    url, folder, _ = server
    status, body = call(url + "/any/path", {"name": "Bob"}, {"X-Call-Id": "call-1"})
    assert status == 200, body
    assert body == {"got": {"name": "Bob"}, "name": "echo", "call": "call-1", "cwd": str(folder),
                    "port": url.rsplit(":", 1)[1]}
    assert call(url, b"")[1]["got"] == {}


def test_the_functions_exception_answers_500_like_lambda(server):
    url, _, log = server
    status, body = call(url, {"fail": True})
    assert status == 500 and body["errorType"] == "KeyError" and body["errorMessage"] == "'asked to fail'", body
    assert any('raise KeyError("asked to fail")' in line for line in body["stackTrace"]), body
    status, body = call(url, {"unjsonable": True})
    assert status == 500 and body["errorType"] == "TypeError" and "JSON" in body["errorMessage"], body
    log.seek(0)
    printed = log.read()
    assert "failing now" in printed and "KeyError" in printed, printed


def test_health_and_bad_requests(server):
    url, _, _ = server
    assert call(url + "/_/health", None, method="GET") == (200, {"status": "ok"})
    status, body = call(url + "/", None, method="GET")
    assert status == 405 and "POST" in body["errorMessage"], body
    status, body = call(url, b"{not json")
    assert status == 400 and body["errorType"] == "InvalidPayload", body
