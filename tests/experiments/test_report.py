"""FaaS Runner's report.csv and `faaset run` from a shell: a function
deployed with `faaset deploy`, an experiment file with groups, lists, sums,
invalidators, a warm-up buffer and an overlap filter; the report's sections
are checked against the rows, and runtimeOverlap against a brute-force count."""
import csv
import io
import json
import os
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import binary  # noqa: E402

SOURCE = """import time
from SAAF import Inspector
def worker(request, context):
    inspector = Inspector()
    inspector.inspectContainer()
    time.sleep(request.get("sleep", 0.05))
    inspector.addAttribute("kind", request["kind"])
    return inspector.finish()
"""


def sections(text):
    """The report's blocks, split at blank lines, as lists of CSV rows."""
    return [list(csv.reader(io.StringIO(block))) for block in text.strip().split("\n\n")]


def test_report_groups_and_overlap(tmp_path):
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    (tmp_path / "worker.py").write_text(SOURCE)
    deploy = subprocess.run([binary(), "deploy", "worker.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert deploy.returncode == 0, deploy.stderr
    (tmp_path / "function.json").write_text(json.dumps({"function": "worker", "platform": "local"}))
    experiment = {"payloads": [{"kind": "a"}, {"kind": "b"}, {"kind": "c"}], "runs": 12, "threads": 4,
                  "iterations": 2, "warmupBuffer": 1, "outputGroups": ["kind"], "showAsList": ["newcontainer"],
                  "showAsSum": ["runtime"], "invalidators": {"kind": "c"}, "overlapFilter": "kind",
                  "experimentName": "grouped"}
    (tmp_path / "experiment.json").write_text(json.dumps(experiment))
    run = subprocess.run([binary(), "run", "-f", "function.json", "-e", "experiment.json", "-o", "out"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == "complete"
    folder = next((tmp_path / "out" / "worker").glob("grouped-*"))
    rows = [json.loads(line) for line in (folder / "runs.jsonl").read_text().splitlines()]
    assert len(rows) == 24
    blocks = sections((folder / "report.csv").read_text())
    assert blocks[0] == [["Successful Runs", "24"], ["Failed Runs", "0"], ["Runs in groups", "8"]]
    raw = blocks[1]
    assert raw[0] == ["Raw results of each run"] and len(raw) == 2 + 24
    header = raw[1]
    overlap = header.index("runtimeOverlap")
    by_run = {(int(r[header.index("iteration")]), int(r[header.index("1_run_id")])): int(r[overlap]) for r in raw[2:]}
    for row in rows:  # brute force among runs of the same kind
        expected = sum(1 for other in rows if other is not row and other["kind"] == row["kind"]
                       and other["startTime"] <= row["endTime"] and other["endTime"] >= row["startTime"])
        assert by_run[(row["iteration"], row["1_run_id"])] == expected
    group = blocks[2]
    assert group[0] == ["Performance grouped by kind"]
    columns = group[1]
    assert columns[:2] == ["kind", "uses"] and "newcontainer_list" in columns and "sum_runtime" in columns
    assert "avg_runtime" not in columns and "avg_kind" not in columns
    lines = {line[0]: line for line in group[2:]}
    # iteration 0 is the warm-up; kind c is invalidated: 4 runs each of a and b remain
    assert set(lines) == {"a", "b"} and lines["a"][1] == "4" and lines["b"][1] == "4"
    counted = [r for r in rows if r["iteration"] >= 1 and r["kind"] == "a"]
    assert float(lines["a"][columns.index("sum_runtime")]) == sum(r["runtime"] for r in counted)
    assert json.loads(lines["a"][columns.index("newcontainer_list")]) == [r["newcontainer"] for r in counted]
