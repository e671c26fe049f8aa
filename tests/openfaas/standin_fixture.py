"""Starts the OpenFaaS gateway stand-in (of_standin.py) for a test, with a
gateway password made here and the credentials of the test registry
(tests/support/oci_registry.py), and gives the test a small HTTP helper that
speaks to it as faas-cli does.

    gateway = OfStandin(folder, registry, ["--ready-delay", "0.5"])
    gateway.url ; gateway.user ; gateway.password
    gateway.call("POST", "/system/functions", body) -> (status, body: JSON or text, headers)
    gateway.wait_ready("name") ; gateway.stats() ; gateway.throttle("function", 2)
    gateway.stop()
"""
import base64
import json
import os
import secrets
import sys
import time
import urllib.error
import urllib.request

from registry_fixture import PASSWORD, USER

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import standin_process  # noqa: E402 - tests/support, next to this folder


class OfStandin:
    def __init__(self, folder, registry=None, extra_args=(), user="admin"):
        self.user, self.password = user, secrets.token_urlsafe(24)
        config = {"user": self.user, "password": self.password,
                  "registries": {registry.host: f"{USER}:{PASSWORD}"} if registry else {}}
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "gateway.json").write_text(json.dumps(config))
        self.process, self.port = standin_process.start(
            [sys.executable, os.path.join(HERE, "of_standin.py"), "--config", str(folder / "gateway.json"),
             *extra_args])
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        """Closing stdin makes the stand-in stop its replicas and remove its folder; killed if it lingers."""
        standin_process.stop(self.process)

    def call(self, method, path, body=None, auth=True, headers=None, raw=None):
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        sent = {"Content-Type": "application/json"}
        if auth is True:
            auth = f"{self.user}:{self.password}"
        if auth:
            sent["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
        sent.update(headers or {})
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                status, text, got = answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as error:
            status, text, got = error.code, error.read(), dict(error.headers)
        if got.get("Content-Type", "").startswith("application/json"):
            return status, json.loads(text), got
        return status, text.decode(), got

    def function(self, name):
        status, body, _ = self.call("GET", f"/system/function/{name}")
        assert status == 200, body
        return body

    def wait_ready(self, name, timeout=60):
        deadline = time.monotonic() + timeout
        while self.function(name)["availableReplicas"] < 1:
            assert time.monotonic() < deadline, f"{name} was not ready after {timeout} s"
            time.sleep(0.05)

    def stats(self):
        return self.call("GET", "/_standin/stats", auth=False)[1]

    def throttle(self, route, count):
        """The next COUNT requests to ROUTE ("system" or "function") are answered 429."""
        assert self.call("POST", f"/_standin/throttle?route={route}&count={count}", auth=False)[0] == 200
