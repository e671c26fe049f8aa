"""Faults on the way to a function, injected by a raw-socket HTTP server
that does what failing platforms and networks do: 5xx bursts, 429 storms
with and without Retry-After, connections reset before and during the
body, slow bodies, truncated JSON, the wrong content type and answers that
are not HTTP. `faaset run` (the HTTP platform, the engine every cloud
adapter uses) must record each run as a row with the failure's type, count
the throttled retries exactly, keep every row and never hang: on the
engine's own client and through libcurl. Each run's payload says which
fault it gets; the server counts each payload's attempts."""
import json
import os
import pathlib
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import RawServer, binary  # noqa: E402

# fault -> (expected status, expected errorType or None, expected retries)
FAULTS = {
    "ok": ("ok", None, 0),
    "500": ("error", "HTTP 500", 0),
    "503": ("error", "HTTP 503", 0),
    "429": ("ok", None, 3),               # three 429s without Retry-After, then an answer
    "429-after": ("ok", None, 2),         # two 429s with Retry-After: 1, then an answer
    "429-storm": ("error", "TooManyRequests", 20),  # throttled for good: the budget ends it
    "reset-before": ("error", "ConnectionError", 0),
    "reset-during": ("error", "ConnectionError", 0),
    "slow": ("ok", None, 0),
    "truncated-json": ("ok", None, 0),
    "html": ("ok", None, 0),
    "not-http": ("error", "ConnectionError", 0),
}


class FaultServer(RawServer):
    """Requests on a connection answered in turn, each as its payload says."""

    def __init__(self):
        self.attempts = {}
        self.lock = threading.Lock()
        super().__init__(self.serve)

    @staticmethod
    def answer(conn, status, body, content_type="application/json", headers=""):
        data = body.encode() if isinstance(body, str) else body
        conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n"
                     f"{headers}\r\n".encode() + data)

    def serve(self, conn):
        pending = b""
        with conn:
            while True:
                try:
                    head, body, pending = self.read_request(conn, pending)
                    if head is None:
                        return
                    request = json.loads(body)
                except (OSError, ValueError):
                    return
                with self.lock:
                    attempt = self.attempts[request["id"]] = self.attempts.get(request["id"], 0) + 1
                fault, ok = request["fault"], json.dumps({"id": request["id"], "attempt": attempt})
                if fault == "500":
                    self.answer(conn, 500, "burst")
                elif fault == "503":
                    self.answer(conn, 503, "unavailable")
                elif fault == "429" and attempt <= 3:
                    self.answer(conn, 429, "slow down")
                elif fault == "429-after" and attempt <= 2:
                    self.answer(conn, 429, "slow down", headers="Retry-After: 1\r\n")
                elif fault == "429-storm":
                    self.answer(conn, 429, "slow down", headers="Retry-After: 0.01\r\n")
                elif fault == "reset-before":
                    return self.reset(conn)
                elif fault == "reset-during":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\": ")
                    time.sleep(0.05)
                    return self.reset(conn)
                elif fault == "slow":
                    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(ok)}\r\n\r\n"
                    conn.sendall(head.encode())
                    for i in range(0, len(ok), 4):
                        time.sleep(0.05)
                        conn.sendall(ok[i:i + 4].encode())
                elif fault == "truncated-json":
                    self.answer(conn, 200, ok[:-3])
                elif fault == "html":
                    self.answer(conn, 200, "<html><body>Service Unavailable</body></html>", "text/html")
                elif fault == "not-http":
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
                    return
                else:
                    self.answer(conn, 200, ok)



@pytest.fixture
def server():
    s = FaultServer()
    yield s
    s.close()


@pytest.mark.parametrize("direct", [True, False], ids=["own-client", "libcurl"])
def test_every_fault_is_a_row_with_its_type_and_retries(tmp_path, server, direct):
    faults = list(FAULTS) * 2
    payloads = [{"id": i, "fault": fault} for i, fault in enumerate(faults)]
    (tmp_path / "f.json").write_text(json.dumps({"function": "faulty", "platform": "HTTP",
                                                 "endpoint": f"http://127.0.0.1:{server.port}/"}))
    (tmp_path / "e.json").write_text(json.dumps({"experimentName": "faults", "runs": len(payloads), "threads": 6,
                                                 "payloads": payloads}))
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    if not direct:
        env["FAASET_HTTP_DIRECT"] = "0"
    started = time.monotonic()
    result = subprocess.run([binary(), "run", "-f", "f.json", "-e", "e.json", "-o", "out"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    # the experiment ends (nothing hangs); failed runs make its status "complete" with failures
    assert result.returncode == 0, result.stderr
    path, = (tmp_path / "out" / "faulty").glob("faults-*/runs.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted(row["1_run_id"] for row in rows) == list(range(len(payloads))), "a row was lost"
    for row in rows:
        fault = json.loads(row["payload"])["fault"]
        status, error_type, retries = FAULTS[fault]
        assert row["status"] == status, (fault, row)
        assert row.get("errorType") == error_type, (fault, row)
        assert row["retries"] == retries, (fault, row)
        if status == "error":
            assert row["errorMessage"], (fault, row)
        elif fault in ("truncated-json", "html"):  # not JSON: the text is the result
            assert isinstance(row["result"], str) and row["result"], (fault, row)
        elif fault == "429-after":
            assert row["attempt"] == 3 and row["roundTripTime"] >= 0, row
    summary = json.loads(next(path.parent.glob("summary.json")).read_text())
    expected_failures = {}
    for fault in faults:
        status, error_type, _ = FAULTS[fault]
        if error_type:
            expected_failures[error_type] = expected_failures.get(error_type, 0) + 1
    assert summary["failures"] == expected_failures, summary
    assert time.monotonic() - started < 240
