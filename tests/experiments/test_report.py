"""FaaS Runner's own output from `faaset run`, read as its users read it: a
function deployed with `faaset deploy` on the local platform, an
experiment file with groups, lists, sums, ignore lists, invalidators, a
warm-up buffer, combineSheets and an overlap filter. The files are parsed
by a reader written here from FaaS Runner's documented format (the report
generator's sections, in its README and example output), and checked
against the rows: file names, sections and their wording, groups,
values, runtimeOverlap (recomputed here from its definition), warmupBuffer
and the ignore lists. Also: `faaset run` fails, saying so, when every run
failed."""
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
    inspector.inspectCPUInfo()
    time.sleep(request.get("sleep", 0.05))
    inspector.addAttribute("kind", request["kind"])
    inspector.addAttribute("note", "one, two")
    return inspector.finish()
"""


def parse_report(text):
    """FaaS Runner's report: {"preamble": [2 lines], "raw": (header, rows),
    "successful": N, "removed": N, "categories": {X: {"header", "rows":
    {value: {column: cell}}, "unique": N, "runs": {value: (header, rows)}}}}.
    Fails on any line the format does not have."""
    lines = text.split("\n")
    assert lines[-1] == "", "the report ends with a line break"
    lines = lines[:-1]
    report = {"preamble": lines[:2], "removed": 0, "categories": {}}
    assert lines[2] == "" and lines[3] == "Raw results of each run:", lines[:4]
    header, i, rows = lines[4].split(","), 5, []
    while not lines[i].startswith("Successful Runs: "):
        rows.append(dict(zip(header, lines[i].split(","))))
        assert len(lines[i].split(",")) == len(header), lines[i]
        i += 1
    report["raw"] = (header, rows)
    report["successful"] = int(lines[i][len("Successful Runs: "):])
    i += 1
    if i + 1 < len(lines) and lines[i] == "" and lines[i + 1].endswith(" runs removed from categories...."):
        report["removed"] = int(lines[i + 1].split()[0])
        i += 2
    category = None
    while i < len(lines):
        assert lines[i] == "", (i, lines[i])
        title = lines[i + 1]
        if title.startswith("--- Runs of Group ") and title.endswith(" ---"):
            assert title[len("--- Runs of Group "):-4] == category["name"], title
            i += 2
            continue
        assert title.startswith("Category ") and title.endswith(":"), title
        name = title[len("Category "):-1]
        if category is not None and name.startswith(category["name"] + " with "):
            value = name[len(category["name"] + " with "):]
            header, i, rows = lines[i + 2].split(","), i + 3, []
            while i < len(lines) and lines[i] != "":
                rows.append(dict(zip(header, lines[i].split(","))))
                i += 1
            category["runs"][value] = (header, rows)
            continue
        category = {"name": name, "header": lines[i + 2].split(","), "rows": {}, "runs": {}}
        assert category["header"][:2] == [name, "uses"], category["header"]
        i += 3
        while not lines[i].startswith("Total number of unique "):
            cells = lines[i].split(",")
            assert len(cells) == len(category["header"]), (category["header"], cells)
            category["rows"][cells[0]] = dict(zip(category["header"], cells))
            i += 1
        assert lines[i] == f"Total number of unique {name}s: {len(category['rows'])}", lines[i]
        category["unique"] = len(category["rows"])
        report["categories"][name] = category
        i += 1
    return report


def overlap(run, runs, by):
    """runtimeOverlap by FaaS Runner's definition: the part of RUN's
    startTime..endTime that each other run sharing BY covers, as fractions
    of RUN's length, summed, rounded to 0.01."""
    start, end = int(run["startTime"]), int(run["endTime"])
    total, compared = 0, False
    for other in runs:
        if other is run or other[by] != run[by]:
            continue
        compared = True
        covered = max(min(int(other["endTime"]), end), start) - max(min(int(other["startTime"]), end), start)
        total += covered / max(end - start, 1)
    return str(round(total, 2)) if compared else "0"


def deploy(tmp_path, env):
    (tmp_path / "worker.py").write_text(SOURCE)
    result = subprocess.run([binary(), "deploy", "worker.py"], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    (tmp_path / "function.json").write_text(json.dumps({"function": "worker", "platform": "local"}))


def test_faas_runner_files_sections_groups_and_overlap(tmp_path):
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    deploy(tmp_path, env)
    experiment = {"payloads": [{"kind": "a"}, {"kind": "b"}, {"kind": "c"}], "runs": 12, "threads": 4,
                  "iterations": 2, "warmupBuffer": 1, "combineSheets": True,
                  "outputGroups": ["kind", "uuid", "absent"], "outputRawOfGroup": ["kind"],
                  "showAsList": ["newcontainer"], "showAsSum": ["runtime"], "ignoreFromAll": ["lang"],
                  "ignoreFromGroups": ["version", "1_run_id"], "ignoreByGroup": {"kind": ["kind", "payload"]},
                  "invalidators": {"kind": "c"}, "overlapFilter": "kind", "experimentName": "grouped"}
    (tmp_path / "experiment.json").write_text(json.dumps(experiment))
    run = subprocess.run([binary(), "run", "-f", "function.json", "-e", "experiment.json", "-o", "out"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    folder = next((tmp_path / "out" / "worker").glob("grouped-*"))
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["experiment.json", "runs.csv", "runs.jsonl", "summary.json", "worker-grouped-0MBs-COMBINED.csv",
                     "worker-grouped-0MBs-run0", "worker-grouped-0MBs-run0.csv", "worker-grouped-0MBs-run1",
                     "worker-grouped-0MBs-run1.csv"], names
    rows = [json.loads(line) for line in (folder / "runs.jsonl").read_text().splitlines()]
    assert len(rows) == 24

    for iteration in (0, 1):
        report = parse_report((folder / f"worker-grouped-0MBs-run{iteration}.csv").read_text())
        assert report["preamble"][0].endswith(" - Python Partest Version 0.5"), report["preamble"]
        assert report["preamble"][1] == ("Setting up test: runsperthread=3 threads=4 totalruns=12 "
                                         "payload=[{'kind': 'a'} {'kind': 'b'} {'kind': 'c'}]")
        header, raw = report["raw"]
        assert header == sorted(header) and "lang" not in header and "runtimeOverlap" in header, header
        assert "status" not in header and "clientSendTime" not in header and "zAll" in header, header
        assert report["successful"] == 12 and len(raw) == 12 and report["removed"] == 4
        mine = sorted((r["1_run_id"], r["2_thread_id"]) for r in rows if r["iteration"] == iteration)
        assert sorted((int(r["1_run_id"]), int(r["2_thread_id"])) for r in raw) == mine
        for cells in raw:
            assert cells["runtimeOverlap"] == overlap(cells, raw, "kind"), cells
            assert cells["note"] == "one; two" and cells["zAll"] == "Final Results:", cells
            assert cells["payload"] == '{"kind": "%s"}' % cells["kind"], cells
            assert " - Model " in cells["cpuType"], cells
            assert len(cells["roundTripTime"].split(".")[1]) <= 2, cells
            assert float(cells["latency"]) == round(float(cells["roundTripTime"]) - int(float(cells["runtime"])), 2)
        # groups: kind c is invalidated, the absent attribute makes no section, uuid has one (no containerID)
        assert set(report["categories"]) == {"kind", "uuid"}, report["categories"].keys()
        kind = report["categories"]["kind"]
        assert "sum_runtime" in kind["header"] and "newcontainer_list" in kind["header"], kind["header"]
        for gone in ("avg_kind", "avg_version", "avg_1_run_id", "avg_lang", "avg_runtime", "payload_list"):
            assert gone not in kind["header"], kind["header"]
        assert set(kind["rows"]) == {"a", "b"} and kind["unique"] == 2
        for value in ("a", "b"):
            members = [r for r in raw if r["kind"] == value]
            line = kind["rows"][value]
            assert line["uses"] == "4"
            assert abs(float(line["sum_runtime"]) - sum(float(r["runtime"]) for r in members)) < 1e-9
            mean = sum(float(r["runtimeOverlap"]) for r in members) / 4
            assert abs(float(line["avg_runtimeOverlap"]) - mean) <= 0.005 + 1e-9, (line, mean)
            assert len(line["avg_roundTripTime"].split(".")[1]) == 2, line
            assert line["newcontainer_list"] == str(sorted({r["newcontainer"] for r in members})).replace(",", ";")
            # raw runs of the group, with the group's ignore lists applied
            group_header, group_rows = kind["runs"][value]
            assert len(group_rows) == 4 and "kind" not in group_header and "payload" not in group_header
            assert "version" not in group_header and "1_run_id" not in group_header and "lang" not in group_header
        # the JSON folder: one file per run left after the invalidators, as FaaS Runner writes it
        files = list((folder / f"worker-grouped-0MBs-run{iteration}").glob("run*-*.json"))
        assert len(files) == 8
        run_json = json.loads(files[0].read_text())
        assert run_json["zAll"] == "Final Results:" and isinstance(run_json["runtime"], str), run_json

    # combined: iteration 0 is the warm-up, left out of the raw table too
    combined = parse_report((folder / "worker-grouped-0MBs-COMBINED.csv").read_text())
    header, raw = combined["raw"]
    assert {r["iteration"] for r in raw} == {"1"} and len(raw) == 8 and combined["successful"] == 8
    for cells in raw:
        assert cells["runtimeOverlap"] == overlap(cells, raw, "kind"), cells


def test_run_exits_non_zero_when_every_run_failed(tmp_path):
    (tmp_path / "function.json").write_text(json.dumps(
        {"function": "nowhere", "platform": "HTTP", "endpoint": "http://127.0.0.1:9/"}))
    (tmp_path / "experiment.json").write_text(json.dumps({"runs": 4, "threads": 2}))
    run = subprocess.run([binary(), "run", "-f", "function.json", "-e", "experiment.json", "-o", "out"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert run.returncode != 0, (run.stdout, run.stderr)
    assert "ERROR - ALL REQUESTS FAILED" in run.stderr, run.stderr
    assert "faaset run: all 4 runs failed (" in run.stderr, run.stderr
    folder = next((tmp_path / "out" / "nowhere").glob("experiment-*"))
    assert len((folder / "runs.jsonl").read_text().splitlines()) == 4
    assert [p.name for p in folder.glob("*.csv")] == ["runs.csv"], "FaaS Runner writes no report when all failed"
