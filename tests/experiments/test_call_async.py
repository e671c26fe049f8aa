"""callAsync: every run is sent as soon as the platform takes it (the slots
do not wait for answers), rows come with the answers, and the next pass
waits for all of them; an HTTP endpoint cannot take asynchronous calls."""
import json
import os
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import binary  # noqa: E402

SOURCE = """import time
def slow(request, context):
    start = time.time() * 1000
    time.sleep(request["sleep"])
    return {"startTime": start, "endTime": time.time() * 1000}
"""


def run(tmp_path, function, experiment):
    (tmp_path / "function.json").write_text(json.dumps(function))
    (tmp_path / "experiment.json").write_text(json.dumps(experiment))
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    return subprocess.run([binary(), "run", "-f", "function.json", "-e", "experiment.json", "-o", "out"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_call_async_sends_every_run_at_once(tmp_path):
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    (tmp_path / "slow.py").write_text(SOURCE)
    assert subprocess.run([binary(), "deploy", "slow.py"], cwd=tmp_path, env=env, capture_output=True,
                          timeout=60).returncode == 0
    result = run(tmp_path, {"function": "slow", "platform": "local"},
                 {"runs": 12, "threads": 2, "iterations": 2, "callAsync": True, "payloads": [{"sleep": 1.0}],
                  "experimentName": "async"})
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in next((tmp_path / "out" / "slow").glob("async-*")).joinpath(
        "runs.jsonl").read_text().splitlines()]
    assert len(rows) == 24 and all(row["status"] == "ok" for row in rows)
    for iteration in (0, 1):
        sends = [row["clientSendTime"] for row in rows if row["iteration"] == iteration]
        answers = [row["clientReceiveTime"] for row in rows if row["iteration"] == iteration]
        # all twelve went out before the first answer came (with threads=2 and
        # no callAsync the third could only go out after an answer): a
        # property, not a time, so a loaded machine cannot fail it
        assert max(sends) < min(answers), (sorted(sends), sorted(answers))
    first_pass_end = max(row["clientReceiveTime"] for row in rows if row["iteration"] == 0)
    assert min(row["clientSendTime"] for row in rows if row["iteration"] == 1) >= first_pass_end


def test_call_async_needs_a_platform_function(tmp_path):
    result = run(tmp_path, {"function": "f", "platform": "HTTP", "endpoint": "http://127.0.0.1:9/"},
                 {"runs": 2, "threads": 1, "callAsync": True})
    assert result.returncode == 1
    assert "callAsync needs a platform function" in result.stderr
