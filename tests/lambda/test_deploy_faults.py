"""Deploys to a Lambda endpoint that fails the way services and networks
fail: every call answered 503, throttled (429 with a short Retry-After),
answered with a body that is not JSON, or its connection reset. Each deploy
must end (retries are bounded) in one clear error naming the failing call,
write no state, leak no secret, and leave the kernel working; a deploy
that had succeeded before keeps its state as it was."""
import json
import time

import pytest

from conftest import cell_for, start_standin
from faaset_testing import RawServer


@pytest.fixture(scope="module")
def standin(logs_dir):
    server = start_standin(logs_dir, "--pending-seconds", "0.3", "--update-seconds", "0.3")
    try:
        yield server
    finally:
        server.stop()


class FailingLambda(RawServer):
    """Answers every request the same failing way (MODE), counting them."""

    def __init__(self, mode):
        self.mode = mode
        self.requests = 0
        super().__init__(self.serve)

    def serve(self, conn):
        with conn:
            if self.read_request(conn)[0] is None:
                return
            self.requests += 1
            if self.mode == "reset":
                return self.reset(conn)
            status, headers, text = {
                "503": (503, "x-amzn-ErrorType: ServiceException\r\n", '{"message": "Service Unavailable"}'),
                "429": (429, "x-amzn-ErrorType: TooManyRequestsException\r\nRetry-After: 0.05\r\n",
                        '{"message": "Rate exceeded"}'),
                "garbage": (200, "", "<html>not a Lambda answer</html>"),
            }[self.mode]
            payload = text.encode()
            conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n"
                         f"{headers}\r\n".encode() + payload)


@pytest.mark.parametrize("mode,named", [("503", "Service Unavailable"), ("429", "Rate exceeded"),
                                        ("garbage", "GetFunction"), ("reset", "GetFunction")])
def test_a_failing_service_is_one_clear_error_and_no_state(aws_workspace, mode, named):
    server = FailingLambda(mode)
    try:
        workspace = aws_workspace.use(f"http://127.0.0.1:{server.port}")
        started = time.monotonic()
        cell, after = workspace.run(cell_for("faulty"), "1 + 1")
        elapsed = time.monotonic() - started
    finally:
        server.close()
    assert cell.error is not None, cell
    assert named in cell.error.evalue and "faulty" in cell.error.evalue, cell.error.evalue
    assert after.ok().result == "2"
    assert not (workspace.folder / ".faaset" / "state" / "aws" / "faulty.json").exists()
    assert 1 <= server.requests <= 8, server.requests  # retries are bounded
    assert elapsed < 60, f"the deploy took {elapsed:.1f} s to give up"


def test_a_failed_redeploy_keeps_the_state_it_had(aws_workspace, standin):
    """Deployed against the stand-in, then the endpoint fails: the changed
    cell's deploy fails and the state still names what is deployed."""
    workspace = aws_workspace.use(standin.url)
    (first,) = workspace.run(cell_for("kept"))
    assert "aws: deployed kept" in first.stdout, first
    state = workspace.folder / ".faaset" / "state" / "aws" / "kept.json"
    before = json.loads(state.read_text())
    server = FailingLambda("503")
    try:
        workspace.use(f"http://127.0.0.1:{server.port}")
        (second,) = workspace.run(cell_for("kept", options="memory=512"))
    finally:
        server.close()
    assert second.error is not None and "Service Unavailable" in second.error.evalue, second
    assert json.loads(state.read_text()) == before


def test_a_deploy_killed_at_any_point_converges_on_lambda(aws_workspace, standin):
    """`faaset deploy --platform aws` SIGKILLed at random points of its deploy
    against the stand-in (new functions stay Pending and updates InProgress
    for a while, so kills land inside the wait): the state file left is
    whole JSON, the claim dies with the process, and the next deploy makes
    the state and Lambda agree: the call runs the last source."""
    import random
    import signal
    import subprocess
    from cloud_helpers import cell_python
    from faaset_testing import binary

    workspace = aws_workspace.use(standin.url)
    env = dict(workspace.env, FAASET_PYTHON=cell_python())
    state = workspace.folder / ".faaset" / "state" / "aws" / "killed.json"
    rng = random.Random(17)
    for attempt in range(8):
        (workspace.folder / "killed.py").write_text(
            f"def killed(request, context):\n    return {{'attempt': {attempt}}}\n")
        process = subprocess.Popen([binary(), "deploy", "killed.py", "--platform", "aws"], cwd=workspace.folder,
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, 1.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        if state.exists():
            json.loads(state.read_text())  # whole, never torn
        started = time.monotonic()
        settled = workspace.cli("deploy", "killed.py", "--platform", "aws", timeout=120)
        assert settled.returncode == 0, settled.stderr
        assert "DeployBusy" not in settled.stderr and time.monotonic() - started < 90
        invoked = workspace.cli("invoke", "killed", "--platform", "aws", timeout=60)
        assert invoked.returncode == 0 and json.loads(invoked.stdout)["attempt"] == attempt, \
            invoked.stdout + invoked.stderr
