"""FaaS Runner's HTTP platform through `faaset run`: each payload POSTed as
JSON to the function file's endpoint, against a real HTTP/1.1 server in this
process. Rows carry the answer's fields; the pass opens `threads` kept-alive
connections and uses no others; a pipeline of two endpoints passes results
on (passPayloads, transitions); an answer that is not JSON is the `result`;
a 429 is retried, honouring Retry-After; a 500 is a row with its type and
body. Run both on the engine's own HTTP client and through libcurl
(FAASET_HTTP_DIRECT=0), by address and by host name; and over HTTPS through
nginx (tests/support/tls_terminator.py) with the CA in SSL_CERT_FILE, and
without it: then every row is an error that says the certificate is not
trusted and which variable names a CA; and through an HTTPS proxy named by
https_proxy (libcurl's, with the same CA), unless no_proxy names the host."""
import http.server
import json
import os
import pathlib
import select
import socket
import socketserver
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import binary  # noqa: E402
from tls_terminator import TlsTerminator  # noqa: E402


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    throttled = {}  # payload n -> 429s sent so far

    def log_message(self, format, *args):
        pass

    def answer(self, status, body, headers=()):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        start = time.time() * 1000
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.ports.add(self.client_address[1])
        self.server.requests += 1
        if self.path == "/double":
            time.sleep(0.05)
            end = time.time() * 1000
            self.answer(200, {"startTime": start, "endTime": end, "runtime": end - start, "uuid": "u",
                              "newcontainer": 0, "n": request["n"], "doubled": 2 * request["n"]})
        elif self.path == "/plus":
            self.answer(200, {"plus_one": request["x"] + 1, "seen": sorted(request)})
        elif self.path == "/text":
            self.answer(200, "plain text", [("Content-Type", "text/plain")])
        elif self.path == "/throttle":
            sent = self.throttled.get(request["n"], 0)
            if sent < 2:
                self.throttled[request["n"]] = sent + 1
                self.answer(429, {"message": "slow down"}, [("Retry-After", "0")])
            else:
                self.answer(200, {"n": request["n"]})
        else:
            self.answer(500, "boom")


@pytest.fixture(scope="module")
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.ports, httpd.requests = set(), 0
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def run(tmp_path, functions, experiment, direct=True, env_extra=None, all_fail=False):
    """The rows of `faaset run`; ALL_FAIL: every run fails, and the run says so and exits 1."""
    names = []
    for i, (name, endpoint) in enumerate(functions):
        (tmp_path / f"f{i}.json").write_text(json.dumps({"function": name, "platform": "HTTP", "endpoint": endpoint}))
        names += ["-f", f"f{i}.json"]
    (tmp_path / "experiment.json").write_text(json.dumps(experiment))
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        env.pop(name, None)
    env.update(env_extra or {})
    if not direct:
        env["FAASET_HTTP_DIRECT"] = "0"
    result = subprocess.run([binary(), "run", *names, "-e", "experiment.json", "-o", "out"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == (1 if all_fail else 0), result.stderr
    assert ("ERROR - ALL REQUESTS FAILED" in result.stderr) == all_fail, result.stderr
    path, = (tmp_path / "out" / functions[0][0]).glob(f"{experiment['experimentName']}-*/runs.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


def url(server, path, host="127.0.0.1"):
    return f"http://{host}:{server.server_address[1]}{path}"


@pytest.mark.parametrize("direct", [True, False], ids=["own-client", "libcurl"])
def test_runs_post_payloads_on_kept_alive_connections(tmp_path, server, direct):
    server.ports.clear()
    rows = run(tmp_path, [("doubler", url(server, "/double"))],
               {"experimentName": "plain", "runs": 24, "threads": 4, "payloads": [{"n": 1}, {"n": 2}, {"n": 3}]},
               direct)
    assert len(rows) == 24 and all(row["status"] == "ok" for row in rows), rows[:2]
    assert sorted(row["1_run_id"] for row in rows) == list(range(24))
    for row in rows:
        payload = json.loads(row["payload"])
        assert row["doubled"] == 2 * payload["n"] and row["n"] == payload["n"]
        assert row["endpoint"] == url(server, "/double")
        assert row["roundTripTime"] >= 50 and abs(row["latency"] - (row["roundTripTime"] - row["runtime"])) < 1e-6
        assert row["clientSendTime"] <= row["startTime"] + 5 and row["endTime"] <= row["clientReceiveTime"] + 5
    assert len(server.ports) == 4  # the four prepared connections carried every run


@pytest.mark.parametrize("direct", [True, False], ids=["own-client", "libcurl"])
def test_a_host_name(tmp_path, server, direct):
    rows = run(tmp_path, [("doubler", url(server, "/double", host="localhost"))],
               {"experimentName": "named", "runs": 6, "threads": 3, "payloads": [{"n": 5}]}, direct)
    assert [row["doubled"] for row in rows] == [10] * 6


@pytest.fixture(scope="module")
def secure(server, tmp_path_factory):
    terminator = TlsTerminator(tmp_path_factory.mktemp("tls"), server.server_address[1], 16)
    yield terminator
    terminator.stop()


@pytest.mark.parametrize("direct", [True, False], ids=["own-client", "libcurl"])
def test_https_with_the_ca_named_and_without(tmp_path, secure, direct):
    endpoint = secure.url + "double"
    rows = run(tmp_path, [("doubler", endpoint)],
               {"experimentName": "secure", "runs": 12, "threads": 4, "payloads": [{"n": 6}]}, direct,
               {"SSL_CERT_FILE": str(secure.ca_file)})
    assert [(row["status"], row["doubled"]) for row in rows] == [("ok", 12)] * 12, rows[:2]
    rows = run(tmp_path, [("doubler", endpoint)],
               {"experimentName": "untrusted", "runs": 4, "threads": 2, "payloads": [{"n": 6}]}, direct, all_fail=True)
    assert [row["status"] for row in rows] == ["error"] * 4
    if direct:  # the engine's own sentence; libcurl says it its way
        assert all("localhost" in row["errorMessage"] and "is not trusted" in row["errorMessage"] and
                   "SSL_CERT_FILE" in row["errorMessage"] for row in rows), rows[0]
    else:
        assert all("certificate" in row["errorMessage"] for row in rows), rows[0]


@pytest.mark.parametrize("direct", [True, False], ids=["own-client", "libcurl"])
def test_a_pipeline_of_endpoints_passes_results_on(tmp_path, server, direct):
    rows = run(tmp_path, [("doubler", url(server, "/double")), ("adder", url(server, "/plus"))],
               {"experimentName": "pipe", "runs": 4, "threads": 2, "payloads": [{"n": 4}], "passPayloads": True,
                "transitions": {"doubled": "x"}}, direct)
    stages = sorted((row["1_run_id"], row["3_pipeline_stage"]) for row in rows)
    assert stages == [(run_id, stage) for run_id in range(4) for stage in (0, 1)]
    for row in rows:
        if row["3_pipeline_stage"] == 1:
            assert row["plus_one"] == 9 and "x" in row["seen"] and "doubled" not in row["seen"], row


def test_an_answer_that_is_not_json_is_the_result(tmp_path, server):
    rows = run(tmp_path, [("texter", url(server, "/text"))],
               {"experimentName": "text", "runs": 3, "threads": 1, "payloads": [{"n": 1}]})
    assert [(row["status"], row["result"]) for row in rows] == [("ok", "plain text")] * 3


def test_throttled_runs_are_retried_and_errors_are_rows(tmp_path, server):
    rows = run(tmp_path, [("throttled", url(server, "/throttle"))],
               {"experimentName": "throttle", "runs": 3, "threads": 3, "payloads": [{"n": 7}, {"n": 8}, {"n": 9}]})
    assert sorted((row["status"], row["n"]) for row in rows) == [("ok", 7), ("ok", 8), ("ok", 9)]
    assert sum(row["retries"] for row in rows) == 6
    rows = run(tmp_path, [("broken", url(server, "/nothing"))],
               {"experimentName": "broken", "runs": 2, "threads": 2, "payloads": [{"n": 1}]}, all_fail=True)
    assert [(row["status"], row["errorType"], row["errorMessage"]) for row in rows] == [("error", "HTTP 500", "boom")] * 2


class ConnectProxy(socketserver.ThreadingTCPServer):
    """A forward proxy that serves CONNECT only (as HTTPS proxies do) and counts the tunnels."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), ConnectHandler)
        self.tunnels = []


class ConnectHandler(socketserver.StreamRequestHandler):
    def handle(self):
        request_line = self.rfile.readline().decode("latin-1").split()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        if len(request_line) < 2 or request_line[0] != "CONNECT":
            self.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        host, port = request_line[1].rsplit(":", 1)
        self.server.tunnels.append(request_line[1])
        upstream = socket.create_connection((host, int(port)))
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        ends = [self.connection, upstream]
        try:
            while True:
                ready, _, _ = select.select(ends, [], [], 30)
                if not ready:
                    return
                for end in ready:
                    data = end.recv(65536)
                    if not data:
                        return
                    (upstream if end is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()


@pytest.fixture(scope="module")
def proxy():
    server = ConnectProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_https_through_a_proxy_unless_no_proxy_names_the_host(tmp_path, secure, proxy):
    endpoint = secure.url + "double"
    proxy_url = f"http://127.0.0.1:{proxy.server_address[1]}"
    env = {"SSL_CERT_FILE": str(secure.ca_file), "https_proxy": proxy_url}
    proxy.tunnels.clear()
    rows = run(tmp_path, [("doubler", endpoint)],
               {"experimentName": "proxied", "runs": 6, "threads": 2, "payloads": [{"n": 2}]}, True, env)
    assert [(row["status"], row["doubled"]) for row in rows] == [("ok", 4)] * 6, rows[:2]
    assert proxy.tunnels and all(t == f"localhost:{secure.port}" for t in proxy.tunnels), proxy.tunnels
    proxy.tunnels.clear()
    rows = run(tmp_path, [("doubler", endpoint)],
               {"experimentName": "not-proxied", "runs": 6, "threads": 2, "payloads": [{"n": 2}]}, True,
               dict(env, no_proxy="localhost"))
    assert [row["status"] for row in rows] == ["ok"] * 6, rows[:2]
    assert proxy.tunnels == [], "no_proxy named the host, yet the proxy was used"
