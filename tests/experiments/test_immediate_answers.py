"""Calls the platform answers before returning (a function that is not
deployed fails at once): every run still gets its row, across several
launch chunks of slots, and the experiment ends instead of waiting for
answers that already came."""
import json
import os
import pathlib
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import binary  # noqa: E402


@pytest.mark.parametrize("threads", [10, 65, 1000])
def test_every_run_of_a_missing_function_is_an_error_row(tmp_path, threads):
    runs = threads * 3
    (tmp_path / "function.json").write_text(json.dumps({"function": "nowhere", "platform": "local"}))
    (tmp_path / "experiment.json").write_text(json.dumps({"runs": runs, "threads": threads,
                                                          "experimentName": "missing"}))
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    result = subprocess.run([binary(), "run", "-f", "function.json", "-e", "experiment.json", "-o", "out"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    summary = json.loads(result.stdout)
    assert summary["status"] == "complete" and summary["runs"] == runs, summary
    assert summary["failures"] == {"NotDeployed": runs}, summary
    rows = [json.loads(line) for line in next((tmp_path / "out" / "nowhere").glob("missing-*")).joinpath(
        "runs.jsonl").read_text().splitlines()]
    assert sorted(row["1_run_id"] for row in rows) == list(range(runs))
