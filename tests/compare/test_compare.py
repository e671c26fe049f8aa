"""One experiment across platforms, through a kernel, on local and the
Google Cloud Functions and OpenWhisk stand-ins: %%cloud_function deploys
to every platform at once (one line each), an experiment makes the same
runs on each platform at once or one after another, every row says its
platform and what it cost, and the summary, its table and its charts put
the platforms side by side, with costs worked out here by hand from
runtime/prices.json."""
import datetime
import json
import re

import pytest
from conftest import (PRICES, assert_at_once, assert_in_turn, billed, deploy_line, experiment_results, gcf_function,
                      ibm_action, rows_by_platform)
from conftest import cost as billed_cost

SLEEPER = '''%%cloud_function platforms=local,gcf,ibm memory=256
def sleeper(request, context):
    import time
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectAll()
    time.sleep(request.get("sleep", 0))
    return inspector.finish()'''


def cost(row, price, memory_mb=256):
    """One run's cost, billed from its runtime."""
    return billed_cost(billed(row["runtime"], price), price, memory_mb)


@pytest.mark.deadline(240)
def test_one_cell_deploys_to_every_platform_at_once(compare_workspace, gcf, ibm):
    """local, gcf and ibm in one cell: one line each, and the OpenWhisk
    action was written while Google's create (an operation of 2 s) was still
    under way: one after another, ibm's PUT would come after gcf was ready.
    The paper's decorator with a list of Platform members does the same."""
    deployed, paper = compare_workspace.run(SLEEPER, '''@cloud_function(platforms=[Platform.LOCAL, Platform.IBM], memory=256)
def paper_sleeper(request, context):
    return {"ok": 1}''')
    lines = deployed.ok().stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["local", "gcf", "ibm"], lines
    for platform in ("local", "gcf", "ibm"):
        assert deploy_line(deployed, platform)["verb"] == "deployed", deployed
    ready = datetime.datetime.fromisoformat(gcf_function(gcf, "sleeper")["updateTime"].replace("Z", "+00:00"))
    put = datetime.datetime.fromtimestamp(ibm_action(ibm, "sleeper")["updated"] / 1000, datetime.timezone.utc)
    assert put < ready, (put, ready)
    assert [line.split(":")[0] for line in paper.ok().stdout.splitlines()] == ["local", "ibm"], paper
    assert deploy_line(paper, "ibm")["verb"] == "deployed", paper


@pytest.mark.deadline(300)
def test_the_same_runs_on_every_platform_at_once(compare_workspace):
    """With no platforms= the experiment goes to every platform the function
    is deployed to, all at once: each platform's runs overlap the others'.
    Every row has its platform, billed duration and cost (the hand
    computation from the price file agrees), the summary compares the
    platforms and adds up the cost, and the charts have a line per platform."""
    deployed, experiment, again = compare_workspace.run(SLEEPER, '''%%experiment sleeper
{"experimentName": "everywhere", "payloads": [{"sleep": 0.3}], "runs": 6, "threads": 3}''', "%results everywhere")
    deployed.ok()
    experiment.ok()
    shown_again = again.ok().stdout + "\n".join(json.dumps(d) for d in again.displays)
    assert "by platform:" in shown_again and "runs on this machine: no charge" in shown_again, shown_again[:2000]
    rows, summary, folder = experiment_results(compare_workspace, "sleeper", "everywhere")
    by_platform = rows_by_platform(rows, ("local", "gcf", "ibm"), 6)
    assert_at_once(by_platform)

    meta = json.loads((folder / "experiment.json").read_text())
    assert meta["platforms"] == ["local", "gcf", "ibm"] and meta["platformOrder"] == "parallel", meta
    assert set(meta["pipelines"]) == {"local", "gcf", "ibm"}, meta["pipelines"]

    total = 0
    for platform, platform_rows in by_platform.items():
        price = PRICES[platform]
        for row in platform_rows:
            assert row["billedFrom"] == "runtime" and row["billedMemory"] == 256, row
            assert row["billedDuration"] == pytest.approx(billed(row["runtime"], price)), (platform, row)
            expected = 0 if price.get("free") else cost(row, price)
            assert row["cost"] == pytest.approx(expected, rel=1e-9, abs=1e-15), (platform, row)
            total += expected
    for platform in ("gcf", "ibm"):  # 100 ms steps: the runtime rounded up to the next step, never further
        assert all(r["billedDuration"] % 100 == 0 and r["runtime"] <= r["billedDuration"] < r["runtime"] + 100
                   for r in by_platform[platform]), by_platform[platform]
    costs = summary["costs"]
    assert costs["total"] == pytest.approx(total, rel=1e-9) and costs["complete"] is True, costs
    listed = {c["platform"]: c for c in costs["platforms"]}
    assert listed["local"]["cost"] == 0 and listed["local"]["note"] == "runs on this machine: no charge", listed
    assert listed["ibm"]["cost"] == pytest.approx(sum(cost(r, PRICES["ibm"]) for r in by_platform["ibm"]), rel=1e-9)
    assert listed["gcf"]["billedRuns"] == 6, listed

    figures = {p["platform"]: p for p in summary["platforms"]}
    assert set(figures) == {"local", "gcf", "ibm"}, summary["platforms"]
    for platform, platform_rows in by_platform.items():
        one = figures[platform]
        assert one["runs"] == 6 and one["successes"] == 6, one
        assert one["runtime"]["max"] == pytest.approx(max(r["runtime"] for r in platform_rows)), one
        assert one["newContainers"] + one["warmRuns"] == 6, one
        assert "concurrencySeries" not in one  # the series stay in the rows, not summary.json
    assert summary["runs"] == 18 and summary["status"] == "complete", summary
    assert {g["platform"] for g in summary["groups"]} == {"local", "gcf", "ibm"}, summary["groups"]

    shown = experiment.stdout + "\n".join(json.dumps(d) for d in experiment.displays)
    assert "by platform:" in shown and "runs on this machine: no charge" in shown, shown[:2000]
    assert re.search(r"cost \$[0-9.]+: local \$0", shown), shown[:2000]
    assert "on each of local, gcf, ibm, 3 at a time on each, all at once;" in experiment.stdout, experiment
    runtime_chart = next(d for d in experiment.displays if "Runtime by memory setting" in json.dumps(d))
    for platform in ("local", "gcf", "ibm"):  # a distribution per platform
        assert f"configured memory \u00b7 {platform} p50" in runtime_chart["data"]["text/plain"], runtime_chart
    concurrency = next(d for d in experiment.displays if "Runs in flight" in json.dumps(d))
    for platform in ("local", "gcf", "ibm"):
        assert f"in flight on {platform}" in json.dumps(concurrency), platform
    # FaaS Runner's own files: one set per platform
    for platform in ("local", "gcf", "ibm"):
        assert list((folder / platform).glob("sleeper-everywhere-0MBs-run0.csv")), list(folder.rglob("*.csv"))


@pytest.mark.deadline(240)
def test_one_platform_after_another_and_an_unknown_price(compare_workspace, tmp_path):
    """run_experiment(platforms=[...], platform_order="sequential"): every
    local run ends before the first ibm run starts. With a price file that
    has no ibm entry (FAASET_PRICES) the summary says so, never a silent 0."""
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"prices": [PRICES["local"]]}))
    compare_workspace.env["FAASET_PRICES"] = str(prices)
    deployed, ran = compare_workspace.run(SLEEPER.replace("local,gcf,ibm", "local,ibm"), '''
rows = run_experiment(sleeper, {"experimentName": "inturn", "payloads": [{"sleep": 0.2}], "runs": 4, "threads": 2},
                      platforms=["local", "ibm"], platform_order="sequential")
print(sorted({row["endpoint"] for row in rows}), len(rows))''')
    deployed.ok()
    assert ran.ok().stdout.strip().endswith("['ibm', 'local'] 8"), ran
    rows, summary, folder = experiment_results(compare_workspace, "sleeper", "inturn")
    local = [r for r in rows if r["endpoint"] == "local"]
    ibm_rows = [r for r in rows if r["endpoint"] == "ibm"]
    assert_in_turn(rows, ["local", "ibm"])
    assert json.loads((folder / "experiment.json").read_text())["platformOrder"] == "sequential"
    assert all("cost" not in r for r in ibm_rows) and all(r["cost"] == 0 for r in local), rows[0]
    costs = {c["platform"]: c for c in summary["costs"]["platforms"]}
    note = f"price unknown for ibm (add it to {compare_workspace.folder}/faaset-prices.json)"
    assert costs["ibm"]["cost"] is None and costs["ibm"]["note"] == note, costs
    assert summary["costs"]["complete"] is False, summary["costs"]
    assert note in ran.stdout + json.dumps(ran.displays), ran


def test_wrong_platform_options_say_what_to_do(compare_workspace):
    deployed, missing, order, unknown, nowhere = compare_workspace.run(
        SLEEPER.replace("local,gcf,ibm", "local"),
        '%%experiment sleeper platforms=local,ibm\n{"runs": 1, "threads": 1}',
        '%%experiment sleeper platform_order=sideways\n{"runs": 1, "threads": 1}',
        '%%experiment sleeper colour=blue\n{"runs": 1, "threads": 1}',
        '%%experiment sleeper\n{"runs": 1, "threads": 1, "platforms": ["nowhere"]}')
    deployed.ok()
    assert missing.error.ename == "NotDeployed", missing
    assert "sleeper is not deployed on ibm from this folder" in missing.error.evalue, missing
    assert order.error.ename == "InvalidExperiment" and "platformOrder must be" in order.error.evalue, order
    assert unknown.error.ename == "UsageError" and "colour" in unknown.error.evalue, unknown
    assert nowhere.error.ename == "InvalidExperiment", nowhere
    assert nowhere.error.evalue.startswith("platforms: unknown platform 'nowhere'; choose from local, "), nowhere


def test_the_papers_run_experiment_takes_a_list_of_platforms(compare_workspace):
    """The paper's interactive_helpers: @cloud_function(platforms=[...]) and
    run_experiment(platform=[Platform.LOCAL, Platform.IBM]) give a DataFrame
    with each platform's runs."""
    (cell,) = compare_workspace.run('''from platforms.jupyter.interactive_helpers import *

@cloud_function(platforms=[Platform.LOCAL, Platform.IBM], memory=256)
def greeter(request, context):
    return {"hi": request["name"], "runtime": 5}

frame = run_experiment(function=greeter, experiment={"experimentName": "paper", "payloads": [{"name": "x"}],
                                                     "runs": 4, "threads": 2},
                       platform=[Platform.LOCAL, Platform.IBM], platform_order="sequential")
print(type(frame).__name__, frame.groupby("endpoint").size().to_dict(), frame["billedDuration"].tolist()[:1])''')
    last = cell.ok().stdout.splitlines()[-1]
    assert last == "DataFrame {'ibm': 4, 'local': 4} [5.0]", cell


def test_faas_runners_function_files_are_billed_too(compare_workspace):
    """`faaset run` with a FaaS Runner function file naming IBM: the runs of
    a function deployed from the folder are billed at its recorded memory."""
    deployed, = compare_workspace.run(SLEEPER.replace("local,gcf,ibm", "ibm"))
    deployed.ok()
    folder = compare_workspace.folder
    (folder / "function.json").write_text(json.dumps({"function": "sleeper", "platform": "IBM"}))
    (folder / "experiment.json").write_text(json.dumps({"experimentName": "from-cli", "payloads": [{"sleep": 0.1}],
                                                        "runs": 2, "threads": 2}))
    result = compare_workspace.cli("run", "-f", "function.json", "-e", "experiment.json", "-o", "out")
    assert result.returncode == 0, result.stderr
    (runs,) = list((folder / "out" / "sleeper").glob("from-cli-*/runs.jsonl"))
    rows = [json.loads(line) for line in runs.read_text().splitlines()]
    assert len(rows) == 2 and all(r["endpoint"] == "ibm" and r["billedMemory"] == 256 for r in rows), rows
    assert all(r["cost"] == pytest.approx(cost(r, PRICES["ibm"]), rel=1e-9) for r in rows), rows
    summary = json.loads((runs.parent / "summary.json").read_text())
    assert summary["costs"]["total"] == pytest.approx(sum(r["cost"] for r in rows), rel=1e-9), summary["costs"]
