"""The OpenFaaS gateway stand-in's own strictness, as a client sees it:
Basic auth on /system only, the FunctionDeployment checks, deploy / update
/ delete / list / status codes, readiness that takes a moment, and images
pulled from the real test registry (Debian's docker-registry, pushed with
skopeo; Basic auth, and a token service in its token mode) and run for
real: sync calls with X-Call-Id, the function's errors passed through,
async calls with their callback."""
import http.server
import json
import threading
import time

from registry_fixture import Registry, TokenServer, push_function
from standin_fixture import OfStandin

SOURCE = '''import os
def echo(request, context):
    if request.get("fail"):
        raise ValueError("failed on purpose")
    return {"got": request, "call": context.aws_request_id, "mode": os.environ.get("MODE"),
            "cwd": os.getcwd()}
'''


def deploy(gateway, name, image, method="POST", **extra):
    status, body, _ = gateway.call(method, "/system/functions", {"service": name, "image": image, **extra})
    return status, body


def test_basic_auth_guards_system_only(gateway, registry, tmp_path):
    status, body, headers = gateway.call("GET", "/system/functions", auth=False)
    assert status == 401 and headers["WWW-Authenticate"].startswith("Basic realm="), (status, body)
    assert gateway.call("GET", "/system/functions", auth="admin:wrong")[0] == 401
    assert gateway.call("GET", "/system/functions")[:2] == (200, [])
    assert gateway.call("GET", "/healthz", auth=False)[0] == 200
    status, body, headers = gateway.call("POST", "/function/nothing", {}, auth=False)
    assert status == 404 and body.strip() == "Cannot find service: nothing.", body
    assert len(headers["X-Call-Id"]) == 32
    assert gateway.call("POST", "/function/nothing", {})[0] == 404  # the password sent where it is not asked for
    stats = gateway.stats()
    assert stats["unauthorized"] == 2 and stats["credentials_to_functions"] == 1, stats
    gateway.throttle("system", 1)
    status, body, headers = gateway.call("GET", "/system/functions")
    assert status == 429 and "Concurrent request limit exceeded" in body and headers["Retry-After"] == "0", body
    assert gateway.call("GET", "/system/functions")[0] == 200 and gateway.stats()["throttled"] == 1


def test_deployments_are_checked(gateway, registry, tmp_path):
    image = push_function(registry, tmp_path / "image", "echo", SOURCE, "checked:v1")
    assert deploy(gateway, "", image)[0] == 400
    assert deploy(gateway, "Bad_Name", image) == (400, "(Bad_Name) must be a valid DNS entry for service name\n")
    assert deploy(gateway, "checked", "") == (400, "image is required\n")
    assert deploy(gateway, "checked", image, limits={"memory": "lots"})[0] == 400
    assert deploy(gateway, "checked", image, envVars={"A": 1})[0] == 400
    assert deploy(gateway, "checked", image, method="PUT") == (404, "deployment not found: checked\n")
    assert deploy(gateway, "checked", image, limits={"memory": "256Mi"}, labels={"a": "b"})[0] == 202
    status, body = deploy(gateway, "checked", image)
    assert status == 500 and 'deployments.apps "checked" already exists' in body, body
    listed = gateway.call("GET", "/system/functions")[1]
    assert [f["name"] for f in listed] == ["checked"] and listed[0]["limits"] == {"memory": "256Mi"}
    status, body, _ = gateway.call("DELETE", "/system/functions", {})
    assert (status, body) == (400, "No function provided\n")
    assert gateway.call("DELETE", "/system/functions", {"functionName": "checked"})[0] == 200
    assert gateway.call("DELETE", "/system/functions", {"functionName": "checked"})[0] == 404
    assert gateway.call("GET", "/system/function/checked")[0] == 404


def test_a_pulled_image_runs_and_calls_pass_through(gateway, registry, tmp_path):
    image = push_function(registry, tmp_path / "image", "echo", SOURCE, "echo:v1")
    status, _ = deploy(gateway, "echo", image, envVars={"MODE": "a"}, limits={"memory": "128Mi"},
                       annotations={"note": "kept"})
    assert status == 202
    record = gateway.function("echo")
    assert record["availableReplicas"] == 0, "ready at once: readiness should take a moment"
    assert record["envVars"] == {"MODE": "a"} and record["annotations"] == {"note": "kept"}
    gateway.wait_ready("echo")
    status, body, headers = gateway.call("POST", "/function/echo", {"name": "Bob"}, auth=False,
                                         headers={"X-Call-Id": "call-7"})
    assert status == 200 and body["got"] == {"name": "Bob"} and body["call"] == "call-7", body
    assert body["mode"] == "a" and body["cwd"].endswith("/rootfs/function"), body
    assert headers["X-Call-Id"] == "call-7" and float(headers["X-Duration-Seconds"]) > 0
    status, body, headers = gateway.call("POST", "/function/echo", {"fail": True}, auth=False)
    assert status == 500 and body["errorType"] == "ValueError", body
    assert len(headers["X-Call-Id"]) == 32
    stats = gateway.stats()
    assert stats["pulls"] == 1 and stats["blobs"] == 3 and stats["replicas"] == 1, stats
    assert gateway.function("echo")["invocationCount"] == 2

    changed = push_function(registry, tmp_path / "image2", "echo", SOURCE.replace('"got"', '"had"'), "echo:v2")
    assert deploy(gateway, "echo", changed, method="PUT", envVars={"MODE": "b"})[0] == 200
    status, body, _ = gateway.call("POST", "/function/echo", {"x": 1}, auth=False)  # waits for the new replica
    assert status == 200 and body["had"] == {"x": 1} and body["mode"] == "b", body
    assert gateway.function("echo")["image"] == changed


def test_async_calls_answer_202_and_call_back(gateway, registry, tmp_path):
    image = push_function(registry, tmp_path / "image", "echo", SOURCE, "later:v1")
    assert deploy(gateway, "later", image)[0] == 202
    received = []

    class Callback(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((dict(self.headers), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        status, body, headers = gateway.call(
            "POST", "/async-function/later", {"n": 1}, auth=False,
            headers={"X-Callback-Url": f"http://127.0.0.1:{server.server_address[1]}/done"})
        assert status == 202 and len(headers["X-Call-Id"]) == 32, body
        deadline = time.monotonic() + 60
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    sent, result = received[0]
    assert result["got"] == {"n": 1} and sent["X-Function-Status"] == "200", received
    assert sent["X-Call-Id"] == headers["X-Call-Id"] and sent["X-Function-Name"] == "later"
    assert gateway.stats()["callbacks"] == 1


def test_an_image_that_cannot_be_pulled_never_becomes_ready(gateway, registry, tmp_path):
    assert deploy(gateway, "missing", f"{registry.host}/nothing:here")[0] == 202
    time.sleep(1.0)
    assert gateway.function("missing")["availableReplicas"] == 0
    assert gateway.stats()["replicas"] == 0


def test_a_registry_in_token_mode_is_answered_with_a_bearer_token(tmp_path):
    """The registry's 401 names a token service (Docker Hub's way): the stand-in gets a token for the pull scope
    there with the registry's credentials, then pulls with it."""
    tokens = TokenServer(tmp_path / "tokens")
    registry = Registry(tmp_path / "registry", token_server=tokens)
    gateway = None
    try:
        image = push_function(registry, tmp_path / "image", "echo", SOURCE, "tokened:v1")
        gateway = OfStandin(tmp_path / "gateway", registry, ["--ready-delay", "0"])
        del tokens.requests[:]
        assert deploy(gateway, "tokened", image)[0] == 202
        gateway.wait_ready("tokened")
        status, body, _ = gateway.call("POST", "/function/tokened", {"n": 1}, auth=False)
        assert status == 200 and body["got"] == {"n": 1}, body
        assert tokens.requests and all(method == "GET" and authorized for method, authorized, _ in tokens.requests)
        assert any("repository:tokened:pull" in scopes for _, _, scopes in tokens.requests), tokens.requests
    finally:
        if gateway is not None:
            gateway.stop()
        registry.stop()
        tokens.stop()
