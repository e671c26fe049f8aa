"""%%experiment and %experiment end to end through nbclient: one notebook
(one kernel, module-scoped) deploys a sleeper on the local platform and runs
a series of experiments; each test checks one aspect of what the cells
showed and what the results folders hold. The progress display's raw
messages are checked through DirectKernel.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/experiments
"""
import datetime
import json
import math
import re

import pytest

from experiment_helpers import (PROGRESS, RUN_COLUMNS, SAAF_COLUMNS, SLEEPER, RunFolder, Watcher, by_send_time,
                                display_text, experiment_cell, run_folder, run_folders, run_with_deadline,
                                started_line, text)

BASIC = {"runs": 12, "threads": 4, "parentPayload": {"sleep": 0.1, "n": -1, "tag": "parent"},
         "payloads": [{"n": 0}, {"n": 1}, {"n": 2, "tag": "own"}], "experimentName": "basic"}
MEMORY = {"runs": 4, "threads": 2, "iterations": 2, "memorySettings": [256, 512], "sleepTime": 0.2,
          "payloads": [{"sleep": 0.05}], "experimentName": "memory"}
SLEEPY = {"runs": 2, "threads": 2, "iterations": 2, "sleepTime": 0.3, "payloads": [{"sleep": 0.02}],
          "experimentName": "sleepy"}
FAILING = {"runs": 6, "threads": 2, "payloads": [{"sleep": 0.02, "n": 1}, {"fail": True}], "experimentName": "failing"}
FOLDER = {"runs": 7, "threads": 2, "payloadFolder": "payloads", "parentPayload": {"sleep": 0.01},
          "experimentName": "folder"}
SHUFFLED = [dict(shufflePayloads=True, randomSeed=seed, runs=10, threads=5, experimentName=name,
                 payloads=[{"n": i, "sleep": 0.01} for i in range(10)])
            for name, seed in (("shuffle-a", 7), ("shuffle-b", 7), ("shuffle-c", 8))]
SHUFFLE_42 = dict(SHUFFLED[0], experimentName="shuffle-42", randomSeed=42)
SHUFFLE_DEFAULT = {**{k: v for k, v in SHUFFLED[0].items() if k != "randomSeed"}, "experimentName": "shuffle-default"}
HALF_FAILING = {"runs": 4, "threads": 2, "payloads": [{"sleep": 0.15}, {"sleep": 0.15, "fail_after": True}],
                "experimentName": "half-failing"}
TWIN = {"runs": 1, "threads": 1, "payloads": [{"sleep": 0.01}], "experimentName": "twin"}
ESCAPE = {"runs": 1, "threads": 1, "payloads": [{"sleep": 0.01}], "experimentName": "../../escape"}
# A function with a 1 s timeout whose worker can be made to exit.
CRASHER = '''%%cloud_function timeout=1
def crasher(request, context):
    import os, time
    if request.get("exit"):
        os._exit(3)
    time.sleep(request.get("sleep", 0))
    return {"ok": True}'''
# A function that fails in a way of its own for each payload: 45 failure
# types with long names (the summary once overflowed a fixed buffer).
THROWER = '''%%cloud_function
def thrower(request, context):
    raise type("AnUnusuallyLongFailureTypeNameNumber%02d" % request["k"], (Exception,), {})("boom")'''
THROWS = {"runs": 45, "threads": 5, "payloads": [{"k": k} for k in range(45)], "experimentName": "throws"}
# the run past its 1 s timeout would sleep 30 s: a bound far from both holds on a loaded machine
CRASHES = {"runs": 4, "threads": 2, "payloads": [{"exit": True}, {"sleep": 30}, {}, {}], "experimentName": "crashes"}
WARNED = {"runs": 2, "threads": 1, "runz": 5, "payloads": [{"sleep": 0.01}], "experimentName": "warned"}
# A FaaS Runner user's file, with the keys such files have.
LEGACY = {"callWithCLI": True, "memorySettings": [], "payloads": [{"name": "Bob"}], "runs": 10, "threads": 2,
          "iterations": 1, "sleepTime": 0, "randomSeed": 42, "outputGroups": ["uuid"], "outputRawOfGroup": [],
          "showAsList": [], "showAsSum": [], "ignoreFromAll": [], "ignoreFromGroups": [], "ignoreByGroup": {},
          "invalidators": {}, "removeDuplicateContainers": False, "overlapFilter": "", "openCSV": False,
          "combineSheets": False, "warmupBuffer": 0, "experimentName": "legacy"}
QUICK = {"runs": 2, "threads": 1, "payloads": [{"sleep": 0.01}]}  # no experimentName: the file names it

SETUP_FILES = f'''import json, os
os.makedirs("payloads", exist_ok=True)
for name, n in (("b.json", 2), ("c.json", 3), ("a.json", 1)):
    with open(os.path.join("payloads", name), "w") as f:
        json.dump({{"n": n}}, f)
with open(os.path.join("payloads", "notes.txt"), "w") as f:
    f.write("not a payload")
os.makedirs("exp", exist_ok=True)
with open("legacy.json", "w") as f:
    json.dump({LEGACY!r}, f)
with open(os.path.join("exp", "quick.json"), "w") as f:
    json.dump({QUICK!r}, f)
print("written")'''

ERRORS = {
    "bad_type": (experiment_cell({"runs": "ten"}), "InvalidExperiment", r"^runs must be a whole number$"),
    "too_many_threads": (experiment_cell({"runs": 2, "threads": 3}), "InvalidExperiment",
                         r"threads \(3\) is more than runs \(2\)"),
    "memory_low": (experiment_cell({"runs": 1, "threads": 1, "memorySettings": [64]}), "InvalidExperiment",
                   r"memorySettings: 64 is outside 128 to 10240 MB"),
    "memory_high": (experiment_cell({"runs": 1, "threads": 1, "memorySettings": [256, 20000]}),
                    "InvalidExperiment", r"memorySettings: 20000 is outside 128 to 10240 MB"),
    "bad_json": ('%%experiment sleeper\n{"runs": 2,\n "threads": }', "InvalidJSON",
                 r"not valid JSON: .*\(line 2 of the body, column \d+\)"),
    "not_deployed": (experiment_cell({"runs": 1, "threads": 1}, function="ghost"), "NotDeployed",
                     r"^ghost is not deployed"),
    "missing_file": ("%experiment sleeper no/such/experiment.json", "InvalidExperiment",
                     r"no/such/experiment\.json"),
    "no_function": ('%%experiment\n{"runs": 1}', "UsageError", r"usage: %%experiment FUNCTION"),
    "zero_runs": (experiment_cell({"runs": 0, "threads": 1}), "InvalidExperiment", r"^runs must be from 1 "),
    "zero_threads": (experiment_cell({"runs": 1, "threads": 0}), "InvalidExperiment", r"^threads must be from 1 "),
    "zero_iterations": (experiment_cell({"runs": 1, "threads": 1, "iterations": 0}), "InvalidExperiment",
                        r"^iterations must be from 1 "),
    "negative_sleep": (experiment_cell({"runs": 1, "threads": 1, "sleepTime": -1}), "InvalidExperiment",
                       r"^sleepTime must be from 0 "),
    "payloads_not_objects": (experiment_cell({"runs": 2, "threads": 1, "payloads": [1, 2]}), "InvalidExperiment",
                             r"^payloads must be a list of objects$"),
    "not_an_object": ("%%experiment sleeper\n[1, 2]", "InvalidExperiment", r"must be a JSON object"),
    "bad_folder": (experiment_cell({"runs": 1, "threads": 1, "payloadFolder": "no-such-folder"}),
                   "InvalidExperiment", r"^payloadFolder: cannot read the folder .*no-such-folder"),
}

CELLS = {
    "deploy": SLEEPER,
    "basic": experiment_cell(BASIC),
    "memory": experiment_cell(MEMORY),
    "restored": '%functions',
    "redeploy": SLEEPER + '\nprint(sleeper({"sleep": 0})["functionMemory"])',
    "sleepy": experiment_cell(SLEEPY),
    "failing": experiment_cell(FAILING),
    "files": SETUP_FILES,
    "folder": experiment_cell(FOLDER),
    **{body["experimentName"]: experiment_cell(body) for body in SHUFFLED},
    "shuffle-42": experiment_cell(SHUFFLE_42),
    "shuffle-default": experiment_cell(SHUFFLE_DEFAULT),
    "half-failing": experiment_cell(HALF_FAILING),
    "twin-1": experiment_cell(TWIN),
    "twin-2": experiment_cell(TWIN),
    "escape": experiment_cell(ESCAPE),
    "defaults": "%%experiment sleeper",
    "crasher": CRASHER,
    "crashes": experiment_cell(CRASHES, function="crasher"),
    "warned": experiment_cell(WARNED),
    "thrower": THROWER,
    "throws": experiment_cell(THROWS, function="thrower"),
    **{name: cell for name, (cell, _, _) in ERRORS.items()},
    "legacy": "%experiment sleeper legacy.json",
    "quick": "%experiment sleeper exp/quick.json",
    "after": "1 + 1",
}
# The experiments that start: name -> (its cell, its body)
STARTED = {name: (name, body) for name, body in (
    ("basic", BASIC), ("memory", MEMORY), ("sleepy", SLEEPY), ("failing", FAILING), ("folder", FOLDER),
    *((body["experimentName"], body) for body in SHUFFLED + [SHUFFLE_42, SHUFFLE_DEFAULT]),
    ("half-failing", HALF_FAILING), ("warned", WARNED), ("legacy", LEGACY))}
STARTED["quick"] = ("quick", dict(QUICK, experimentName="quick"))
STARTED["sleeper"] = ("defaults", {})  # no body: every default, named after the function


class Notebook:
    def __init__(self, workspace, cells):
        self.workspace = workspace
        self.folder = workspace.folder
        self.cells = dict(zip(CELLS, cells))

    def cell(self, name):
        return self.cells[name]

    def run(self, name):
        """The results folder of the experiment NAME, checked against the line its cell printed."""
        folder = run_folder(self.folder, name)
        cell_name, body = STARTED[name]
        line = started_line(name, body.get("runs", 10), body.get("iterations", 1), body.get("threads", 10),
                            memory=bool(body.get("memorySettings")))
        cell = self.cells[cell_name]
        match = line.search(cell.stdout)
        assert match, f"no 'Experiment {name}: ...' line:\n{cell!r}"
        assert match.group(1) == str(folder.path.relative_to(self.folder)), cell
        return folder


@pytest.fixture(scope="module")
def notebook(shared_workspace):
    return Notebook(shared_workspace, run_with_deadline(shared_workspace, list(CELLS.values()), 80))


def iso(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000


def nearest_rank(values, q):
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def payload_of(row):
    return json.loads(row["payload"])


def peak_concurrency(rows):
    events = sorted([(r["startTime"], 1) for r in rows] + [(r["endTime"], -1) for r in rows],
                    key=lambda e: (e[0], e[1]))
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak


# ---- the cell: its line, progress display and summary ------------------------------------------

def test_cell_prints_the_start_line_a_progress_display_and_a_summary(notebook):
    cell = notebook.cell("basic").ok()
    folder = notebook.run("basic")
    assert cell.stream("stderr") == "", cell
    assert cell.stdout.count("\n") == 1, cell
    kinds = [o.output_type for o in cell.outputs]
    assert kinds[:3] == ["stream", "display_data", "display_data"] and set(kinds[3:]) <= {"display_data"}, cell
    progress, summary, *charts = cell.displays
    # nbclient applied the update_display_data messages to the progress display in place
    assert PROGRESS.match(display_text(progress)), cell
    assert display_text(progress).startswith("basic: 12/12 done, 0 in flight, 0 failed, "), cell
    assert "<progress" in text(progress.data["text/html"]), cell

    plain, html = display_text(summary), text(summary.data["text/html"])
    assert plain.startswith("basic on local: complete\n"), cell
    assert "runs 12, succeeded 12" in plain and "failed" not in plain, cell
    assert re.search(r"new containers \d+; concurrency peak 4, mean \d+\.\d", plain), cell
    for label in ("runtime", "latency", "round trip"):
        assert re.search(rf"^  {label} +p50 +[-\d.]+  p90 +[-\d.]+  p99 +[-\d.]+$", plain, re.M), (label, plain)
    assert "<table>" in html and "p99" in html and str(folder.path.relative_to(notebook.folder)) in html, html
    # then the charts, each in three forms
    for chart in charts:
        assert {"text/plain", "image/svg+xml", "application/vnd.vegalite.v5+json"} <= set(chart.data), chart
    assert any(display_text(c).startswith("Runs in flight over time") for c in charts), cell


def test_summary_display_counts_failures_by_type(notebook):
    cell = notebook.cell("failing").ok()
    plain = display_text(cell.displays[1])
    assert plain.startswith("failing on local: complete\n"), cell
    assert "runs 6, succeeded 3; failed: ValueError: 3" in plain, cell
    assert display_text(cell.displays[0]).startswith("failing: 6/6 done, 0 in flight, 3 failed"), cell


def test_progress_display_updates_in_place(kernel):
    """The raw messages: a display_data with a transient display_id, then
    update_display_data with that id, then the summary (not transient)."""
    reply, _ = kernel.execute(SLEEPER)
    assert reply["status"] == "ok", reply
    watcher = Watcher(kernel, experiment_cell({"runs": 8, "threads": 2, "payloads": [{"sleep": 0.15}],
                                               "experimentName": "shown"}))
    watcher.pump(30)
    assert watcher.idle, "the experiment cell did not end"
    assert watcher.reply(5)["content"]["status"] == "ok"
    outputs = [m for _, m in watcher.messages if m["msg_type"] not in ("status", "execute_input")]
    kinds = [m["msg_type"] for m in outputs]
    assert kinds[:2] == ["stream", "display_data"], kinds
    end = kinds.index("display_data", 2)  # the summary, then the charts
    assert set(kinds[2:end]) == {"update_display_data"} and end - 2 >= 2, kinds
    assert set(kinds[end:]) == {"display_data"}, kinds
    display_id = outputs[1]["content"]["transient"]["display_id"]
    assert display_id, outputs[1]
    updates = outputs[2:end]
    for update in updates:
        assert update["content"]["transient"] == {"display_id": display_id}, update
        assert "<progress" in update["content"]["data"]["text/html"], update
    parsed = [PROGRESS.match(display_text(u["content"])) for u in updates]
    assert all(parsed), [display_text(u["content"]) for u in updates]
    done = [int(p["done"]) for p in parsed]
    assert done == sorted(done), done
    assert all(p["name"] == "shown" and p["total"] == "8" and int(p["in_flight"]) <= 2 for p in parsed), parsed
    assert parsed[-1]["done"] == "8" and parsed[-1]["in_flight"] == "0" and parsed[-1]["failed"] == "0", parsed[-1]
    summary = outputs[end]["content"]
    assert "transient" not in summary or "display_id" not in summary["transient"], summary
    assert set(summary["data"]) == {"text/plain", "text/html"}, summary
    assert summary["data"]["text/plain"].startswith("shown on local: complete"), summary


# ---- the results folder -----------------------------------------------------------------------

def test_experiment_json_records_the_experiment_as_given(notebook):
    folder = notebook.run("basic")
    meta = folder.meta
    assert meta["experiment"] == BASIC
    assert meta["function"] == "sleeper"
    short = re.search(r"local: deployed sleeper \(([0-9a-f]{8})\)", notebook.cell("deploy").stdout).group(1)
    assert meta["deployment"]["code_hash"].startswith(short), meta
    assert meta["deployment"]["platform"] == "local", meta
    rows = folder.rows()
    assert iso(meta["startTime"]) <= min(r["clientSendTime"] for r in rows) + 20, meta
    # the unknown key is kept in the record too: the experiment as given
    assert run_folder(notebook.folder, "warned").meta["experiment"] == WARNED


def test_rows_csv_and_jsonl_agree_column_by_column(notebook):
    for name in STARTED:
        folder = notebook.run(name)
        rows = folder.rows()
        header, csv_rows = folder.csv()
        assert header[:len(RUN_COLUMNS)] == RUN_COLUMNS, header
        assert "other" not in header, header
        # the function's own attributes each have a column, after the known ones
        for key in ("n", "tag"):
            if any(key in row for row in rows):
                assert header.index(key) > header.index("majorPageFaultsDelta"), header
        assert all(column in header for column in SAAF_COLUMNS), header
        assert len(csv_rows) == len(rows), (name, len(csv_rows), len(rows))
        for row, csv_row in zip(rows, csv_rows):
            assert csv_row["1_run_id"] == str(row["1_run_id"]) and csv_row["status"] == row["status"], (row, csv_row)
            assert json.loads(csv_row["payload"]) == payload_of(row), (row, csv_row)
            assert csv_row["uuid"] == row.get("uuid", ""), (row, csv_row)
            for key in ("n", "tag"):
                expected = "" if row.get(key) is None else str(row[key])
                assert csv_row.get(key, "") == expected, (key, row, csv_row)


def test_summary_json_figures_match_the_rows(notebook):
    folder = notebook.run("basic")
    rows, summary = folder.rows(), folder.summary
    assert summary["status"] == "complete", summary
    assert summary["runs"] == len(rows) == 12 and summary["successes"] == 12 and summary["failures"] == {}
    for key in ("runtime", "latency", "roundTripTime"):
        values = [r[key] for r in rows]
        for q, name in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
            assert summary[key][name] == pytest.approx(nearest_rank(values, q), abs=1e-6), (key, name, summary)
    assert summary["runtime"]["p50"] >= 100, summary  # the function sleeps 0.1 s
    assert summary["newContainers"] == sum(r["newcontainer"] for r in rows), summary
    assert summary["concurrency"]["source"] == "function", summary
    assert 0 < summary["concurrency"]["mean"] <= summary["concurrency"]["peak"], summary
    assert iso(summary["endTime"]) >= max(r["clientReceiveTime"] for r in rows) - 20, summary


def test_rows_carry_the_runner_columns_and_the_function_result(notebook):
    rows = notebook.run("basic").rows()
    assert sorted(r["1_run_id"] for r in rows) == list(range(12))
    for row in rows:
        assert row["status"] == "ok" and row["endpoint"] == "local" and row["3_pipeline_stage"] == 0, row
        assert row["iteration"] == 0 and row["memorySetting"] is None and row["retries"] == 0, row
        assert "errorType" not in row and "errorMessage" not in row, row
        assert row["functionName"] == "sleeper" and row["platform"] == "FaaSET Local", row
        assert row["roundTripTime"] >= row["runtime"] - 1, row
        assert row["latency"] == pytest.approx(row["roundTripTime"] - row["runtime"], abs=1e-6), row
        assert row["clientSendTime"] <= row["clientReceiveTime"], row


def test_client_times_keep_millisecond_precision(notebook):
    """clientSendTime and clientReceiveTime are epoch ms: their difference is
    the round trip, to well under a millisecond."""
    rows = notebook.run("basic").rows()
    for row in rows:
        measured = row["clientReceiveTime"] - row["clientSendTime"]
        assert abs(measured - row["roundTripTime"]) < 1.0, (
            f"clientReceiveTime - clientSendTime = {measured} ms but roundTripTime = {row['roundTripTime']} ms "
            f"(send {row['clientSendTime']!r}, receive {row['clientReceiveTime']!r})")


def test_numbers_are_written_as_given(notebook):
    """The payload column and experiment.json show 0.1 as 0.1, not as the
    nearest 17-digit decimal (0.10000000000000001): they are what users read
    and compare with their FaaS Runner files."""
    folder = notebook.run("basic")
    for row in folder.rows():
        assert row["payload"] == json.dumps(payload_of(row), sort_keys=True, separators=(",", ":")), row["payload"]
    written = (folder.path / "experiment.json").read_text()
    assert '"sleep": 0.1' in written and "0.10000000000000001" not in written, written


# ---- semantics --------------------------------------------------------------------------------

def test_exactly_threads_in_flight_each_making_its_share_in_order(notebook):
    rows = notebook.run("basic").rows()
    summary = run_folder(notebook.folder, "basic").summary
    assert summary["concurrency"]["peak"] == 4, summary
    assert peak_concurrency(rows) == 4
    for thread in range(4):
        mine = sorted((r for r in rows if r["2_thread_id"] == thread), key=lambda r: r["startTime"])
        assert [r["1_run_id"] for r in mine] == [thread, thread + 4, thread + 8], mine
        for before, after in zip(mine, mine[1:]):  # one after another
            assert after["startTime"] >= before["endTime"] - 1, (before, after)


def test_payloads_dealt_in_order_over_the_parent_payload(notebook):
    rows = notebook.run("basic").rows()
    for row in rows:
        i = row["1_run_id"]
        expected = {"sleep": 0.1, "n": i % 3, "tag": "own" if i % 3 == 2 else "parent"}
        assert payload_of(row) == expected, row
        assert row["n"] == expected["n"] and row["tag"] == expected["tag"], row  # what the function got


def test_memory_settings_reconfigure_before_each_pass(notebook):
    cell = notebook.cell("memory").ok()
    folder = notebook.run("memory")
    rows = by_send_time(folder.rows())
    assert len(rows) == 4 * 2 * 2, cell
    assert [r["memorySetting"] for r in rows] == [256] * 8 + [512] * 8, rows
    assert [r["iteration"] for r in rows] == [0] * 4 + [1] * 4 + [0] * 4 + [1] * 4, rows
    for row in rows:
        assert row["functionMemory"] == str(row["memorySetting"]), row
    for start in range(0, 16, 4):  # every pass makes runs 0..3, thread t runs t and t + 2
        assert sorted((r["1_run_id"], r["2_thread_id"]) for r in rows[start:start + 4]) == \
            [(0, 0), (1, 1), (2, 0), (3, 1)], rows[start:start + 4]
    for memory in (256, 512):  # new containers at each change, one per thread, in its first pass
        new = [r for r in rows if r["memorySetting"] == memory and r["newcontainer"] == 1]
        assert len(new) == 2 and all(r["iteration"] == 0 for r in new), new
    assert folder.summary["newContainers"] == 4, folder.summary
    assert folder.summary["runs"] == 16 and folder.summary["status"] == "complete", folder.summary
    assert folder.summary["memoryRestored"] is True, folder.summary
    assert folder.summary["memoryRestore"] == "memory restored to 128 MB", folder.summary
    assert "\n  memory restored to 128 MB\n" in display_text(cell.displays[1]), cell


def test_sleep_time_between_passes(notebook):
    for name, sleep in (("memory", 0.2), ("sleepy", 0.3)):
        rows = notebook.run(name).rows()
        passes = {}
        for row in rows:
            passes.setdefault((row["memorySetting"] or 0, row["iteration"]), []).append(row)
        keys = sorted(passes)
        assert len(keys) == {"memory": 4, "sleepy": 2}[name], keys
        for a, b in zip(keys, keys[1:]):
            gap = min(r["clientSendTime"] for r in passes[b]) - max(r["clientReceiveTime"] for r in passes[a])
            assert gap >= sleep * 1000 - 20, f"{name}: only {gap:.0f} ms between passes {a} and {b}"


def test_failing_invocations_are_error_rows(notebook):
    cell = notebook.cell("failing").ok()
    folder = notebook.run("failing")
    rows = folder.rows()
    assert sorted(r["1_run_id"] for r in rows) == list(range(6)), rows
    for row in rows:
        if row["1_run_id"] % 2:
            assert row["status"] == "error" and row["errorType"] == "ValueError", row
            assert "asked to fail" in row["errorMessage"], row
            assert payload_of(row) == {"fail": True}, row
        else:
            assert row["status"] == "ok" and "errorType" not in row and row["n"] == 1, row
    summary = folder.summary
    assert summary["status"] == "complete" and summary["runs"] == 6, summary
    assert summary["successes"] == 3 and summary["failures"] == {"ValueError": 3}, summary
    header, csv_rows = folder.csv()
    assert [r["errorType"] for r in csv_rows if r["status"] == "error"] == ["ValueError"] * 3, csv_rows
    assert cell.stream("stderr") == "", cell


def test_platform_failures_are_rows_by_type(notebook):
    """A worker that exits and a call past the timeout are error rows (the
    platform's error types); the replacement workers serve the next runs."""
    notebook.cell("crasher").ok()
    cell = notebook.cell("crashes").ok()
    folder = run_folder(notebook.folder, "crashes", function="crasher")
    assert f"rows in {folder.path.relative_to(notebook.folder)}\n" in cell.stdout, cell
    rows = {r["1_run_id"]: r for r in folder.rows()}
    assert sorted(rows) == [0, 1, 2, 3], rows
    assert rows[0]["status"] == "error" and rows[0]["errorType"] == "WorkerCrashed", rows[0]
    assert rows[1]["status"] == "error" and rows[1]["errorType"] == "FunctionTimeout", rows[1]
    assert 900 <= rows[1]["roundTripTime"] < 10000, rows[1]  # ended at the timeout, not after the sleep
    assert rows[2]["status"] == rows[3]["status"] == "ok" and rows[2]["ok"] is True, rows
    summary = folder.summary
    assert summary["failures"] == {"WorkerCrashed": 1, "FunctionTimeout": 1}, summary
    assert summary["status"] == "complete" and summary["successes"] == 2, summary
    assert "failed: WorkerCrashed: 1, FunctionTimeout: 1" in display_text(cell.displays[1]) or \
        "failed: FunctionTimeout: 1, WorkerCrashed: 1" in display_text(cell.displays[1]), cell


def test_summary_lists_every_failure_type(notebook):
    notebook.cell("thrower").ok()
    cell = notebook.cell("throws").ok()
    plain = display_text(cell.displays[1])
    assert "runs 45, succeeded 0; failed: " in plain, cell
    for k in range(45):
        assert f"AnUnusuallyLongFailureTypeNameNumber{k:02d}: 1" in plain, (k, plain)
    folder = run_folder(notebook.folder, "throws", function="thrower")
    assert len(folder.summary["failures"]) == 45, folder.summary


def test_concurrency_counts_the_runs_that_failed(notebook):
    """Two threads, each always busy for 0.15 s (one thread's runs raise at
    the end): two runs were in flight all along, whichever way they ended."""
    folder = notebook.run("half-failing")
    rows = folder.rows()
    assert sorted(r["status"] for r in rows) == ["error", "error", "ok", "ok"], rows
    assert all(r["roundTripTime"] >= 150 for r in rows), rows
    concurrency = folder.summary["concurrency"]
    assert concurrency["peak"] == 2, f"summary.json concurrency {concurrency} with 2 runs in flight throughout"
    assert concurrency["mean"] > 1.5, concurrency
    shown = display_text(notebook.cell("half-failing").displays[1])
    assert "concurrency peak 2," in shown, shown


def test_payload_folder_files_in_name_order(notebook):
    assert notebook.cell("files").ok().stdout == "written\n"
    rows = notebook.run("folder").rows()
    assert len(rows) == 7
    for row in rows:  # a.json, b.json, c.json (notes.txt is not a payload), repeated
        assert payload_of(row) == {"sleep": 0.01, "n": row["1_run_id"] % 3 + 1}, row


def test_shuffle_with_a_seed_is_repeatable(notebook):
    orders = {}
    for body in SHUFFLED:
        name = body["experimentName"]
        rows = sorted(notebook.run(name).rows(), key=lambda r: r["1_run_id"])
        orders[name] = [payload_of(r)["n"] for r in rows]
        assert sorted(orders[name]) == list(range(10)), (name, orders[name])
    assert orders["shuffle-a"] != list(range(10)), orders
    assert orders["shuffle-a"] == orders["shuffle-b"], orders
    assert orders["shuffle-a"] != orders["shuffle-c"], orders


def test_shuffle_seed_defaults_to_42(notebook):
    orders = [[payload_of(r)["n"] for r in sorted(notebook.run(name).rows(), key=lambda r: r["1_run_id"])]
              for name in ("shuffle-42", "shuffle-default")]
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(10)), orders


def test_defaults_without_a_body(notebook):
    """An empty %%experiment: 10 runs, 10 threads, one iteration, payload {},
    named after the function."""
    notebook.cell("defaults").ok()
    folder = notebook.run("sleeper")
    rows = folder.rows()
    assert len(rows) == 10 and {r["2_thread_id"] for r in rows} == set(range(10)), rows
    assert all(payload_of(r) == {} and r["iteration"] == 0 for r in rows), rows
    assert folder.meta["experiment"] == {}, folder.meta


def test_unknown_key_warns_and_runs(notebook):
    cell = notebook.cell("warned").ok()
    assert cell.stream("stderr").strip() == "warning: unknown key 'runz' is ignored (did you mean 'runs'?)", cell
    assert len(notebook.run("warned").rows()) == 2


@pytest.mark.parametrize("name", list(ERRORS))
def test_invalid_experiments_are_errors_and_start_nothing(notebook, name):
    _, ename, evalue = ERRORS[name]
    cell = notebook.cell(name)
    error = cell.error
    assert error.ename == ename, cell
    assert re.search(evalue, error.evalue), cell
    assert "Experiment " not in cell.stdout and not cell.displays, cell


def test_only_started_experiments_have_results_folders(notebook):
    escaped = escaped_folder(notebook).path
    names = sorted(re.sub(r"-\d{8}T\d{6}Z(-\d+)?$", "", f.path.name) for f in run_folders(notebook.folder)
                   if f.path != escaped)
    assert names == sorted(list(STARTED) + ["twin", "twin"]), names
    assert not (notebook.folder / "faaset-results" / "ghost").exists()


def escaped_folder(notebook):
    cell = notebook.cell("escape").ok()
    match = re.search(r"rows in (faaset-results/sleeper/[^/\n]+)$", cell.stdout, re.M)
    assert match, f"the start line should name a folder right under faaset-results/sleeper:\n{cell!r}"
    folder = notebook.folder / match.group(1)
    assert folder.is_dir() and not folder.name.startswith("."), cell
    return RunFolder(folder)


def test_experiment_name_cannot_leave_the_results_folder(notebook):
    """experimentName "../../escape" names a folder inside faaset-results/sleeper."""
    folder = escaped_folder(notebook)
    assert len(folder.rows()) == 1 and folder.summary["status"] == "complete"
    outside = [p for base in (notebook.folder, notebook.folder.parent, notebook.folder / "faaset-results")
               for p in base.iterdir() if "escape" in p.name]
    assert not outside, outside


def test_same_name_twice_gets_two_folders(notebook):
    twins = run_folders(notebook.folder, name="twin")
    assert len(twins) == 2, twins
    for twin, cell in zip(sorted(twins, key=lambda f: f.meta["startTime"]), ("twin-1", "twin-2")):
        assert str(twin.path.relative_to(notebook.folder)) in notebook.cell(cell).ok().stdout
        assert len(twin.rows()) == 1 and twin.summary["status"] == "complete"


def test_faas_runner_file_runs_as_is(notebook):
    cell = notebook.cell("legacy").ok()
    assert cell.stream("stderr") == "", f"a FaaS Runner file should run without warnings:\n{cell!r}"
    folder = notebook.run("legacy")
    rows = folder.rows()
    assert len(rows) == 10 and all(r["status"] == "ok" for r in rows), rows
    assert all(payload_of(r) == {"name": "Bob"} for r in rows), rows
    assert folder.meta["experiment"] == LEGACY
    assert folder.summary["status"] == "complete" and folder.summary["concurrency"]["peak"] == 2, folder.summary
    # FaaS Runner's own files too, named as it names them, with its grouped report
    report = (folder.path / "sleeper-legacy-0MBs-run0.csv").read_text().splitlines()
    assert report[0].endswith(" - Python Partest Version 0.5"), report[:3]
    assert report[1].startswith("Setting up test: runsperthread=5 threads=2 totalruns=10 payload="), report[:3]
    assert "Successful Runs: 10" in report, report
    # the sleeper's SAAF names its containerID: FaaS Runner then makes no uuid group
    assert "Category uuid:" not in report and "Raw results of each run:" in report, report
    assert len(list((folder.path / "sleeper-legacy-0MBs-run0").glob("run*-*.json"))) == 10
    basic = notebook.run("basic").path
    assert (basic / "sleeper-basic-0MBs-run0.csv").exists() and not list(basic.glob("*COMBINED*"))


def test_experiment_file_name_names_the_run(notebook):
    notebook.cell("quick").ok()
    folder = notebook.run("quick")
    assert len(folder.rows()) == 2 and folder.meta["experiment"] == QUICK


def test_an_experiment_puts_the_memory_back_to_the_cells(notebook):
    """memorySettings left the function at 512 MB; the experiment's end put
    it back to its cell's 128 MB and the record's configuration hash with
    it: %functions shows the cell's configuration, and running the unchanged
    %%cloud_function cell finds it up to date, at 128 MB."""
    listing = notebook.cell("restored").ok()
    shown = text(listing.displays[0].data["text/plain"]) if listing.displays else listing.stdout
    line = next(l for l in shown.splitlines() if l.lstrip().startswith("sleeper"))
    assert "set-by" not in line and re.search(r"\b128 MB\b", line), shown
    cell = notebook.cell("redeploy").ok()
    assert "up to date sleeper" in cell.stdout or "sleeper up to date" in cell.stdout, cell
    assert cell.stdout.splitlines()[-1] == "128", cell


def test_kernel_keeps_working_after_the_experiments(notebook):
    assert notebook.cell("after").ok().result == "2"
