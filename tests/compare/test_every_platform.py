"""The issue's own example: one function on local, aws, gcf, ibm and azure
at once, through a kernel, against the Lambda, Google, OpenWhisk and Azure
stand-ins. One %%cloud_function cell deploys to all five (a line each), one
%%experiment runs the same runs on all five at once, every row says its
platform and what it cost (aws from Lambda's own Billed Duration, the others
from the rounding runtime/prices.json gives them, worked out here by hand),
the summary's table and charts have all five, `%functions` lists the
function on each and `%delete NAME PLATFORM` takes it off each in turn. The
paper's decorator and run_experiment with a list of Platform members do the
same one platform after another."""
import json
import math
import re

import pytest
from conftest import (PRICES, assert_at_once, assert_in_turn, billed, cost, deploy_line, experiment_results,
                      nothing_left, rows_by_platform)

FIVE = ["local", "aws", "gcf", "ibm", "azure"]
SLEEPER = '''%%cloud_function platforms=local,aws,gcf,ibm,azure
def sleeper(request, context):
    import time
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectAll()
    time.sleep(request.get("sleep", 0))
    return inspector.finish()'''
MEMORY = 128  # the cells' default, and Azure's least billed memory: what every platform bills here

@pytest.mark.deadline(420)
def test_one_cell_and_one_experiment_on_all_five(every_platform_workspace, aws, gcf, ibm, azure):
    workspace = every_platform_workspace
    settings, deployed, experiment, listing, *deletes, after = workspace.run(
        workspace.settings[0], SLEEPER, '''%%experiment sleeper
{"experimentName": "five", "payloads": [{"sleep": 0.3}, {"sleep": 0}], "runs": 6, "threads": 2}''',
        "%functions", *[f"%delete sleeper {platform}" for platform in FIVE], "%functions")
    settings.ok()
    assert [line.split(":")[0] for line in deployed.ok().stdout.splitlines()] == FIVE, deployed
    for platform in FIVE:
        assert deploy_line(deployed, platform)["verb"] == "deployed", deployed

    experiment.ok()
    rows, summary, folder = experiment_results(workspace, "sleeper", "five")
    by_platform = rows_by_platform(rows, FIVE, 6)
    assert_at_once(by_platform)
    meta = json.loads((folder / "experiment.json").read_text())
    assert meta["platforms"] == FIVE and meta["platformOrder"] == "parallel", meta
    assert "on each of local, aws, gcf, ibm, azure, 2 at a time on each, all at once;" in experiment.stdout, experiment

    total = 0
    for platform, platform_rows in by_platform.items():
        price = PRICES[platform]
        for row in platform_rows:
            if platform == "aws":  # Lambda's own figure, from the REPORT line: whole ms, never under the runtime
                assert row["billedFrom"] == "platform" and row["billedDuration"] == int(row["billedDuration"]), row
                assert row["billedDuration"] >= row["runtime"], row
            else:
                assert row["billedFrom"] == "runtime", row
                assert row["billedDuration"] == pytest.approx(billed(row["runtime"], price)), (platform, row)
            assert row["billedMemory"] == MEMORY, row
            expected = 0 if price.get("free") else cost(row["billedDuration"], price, MEMORY)
            assert row["cost"] == pytest.approx(expected, rel=1e-9, abs=1e-15), (platform, row)
            total += expected
    # Azure: 1 ms steps, but never under 100 ms; the quick runs (sleep 0) show the minimum
    assert all(r["billedDuration"] == max(100, math.ceil(r["runtime"])) for r in by_platform["azure"])
    assert all(r["billedDuration"] == 100 for r in by_platform["azure"] if r["runtime"] <= 100), by_platform["azure"]
    costs = summary["costs"]
    assert costs["total"] == pytest.approx(total, rel=1e-9) and costs["complete"] is True, costs
    listed = {c["platform"]: c for c in costs["platforms"]}
    assert list(listed) == FIVE, costs["platforms"]
    for platform in FIVE[1:]:
        assert listed[platform]["billedRuns"] == 6 and listed[platform]["cost"] > 0, listed
        assert listed[platform]["cost"] == pytest.approx(sum(r["cost"] for r in by_platform[platform]), rel=1e-9)
    assert listed["local"]["cost"] == 0 and listed["local"]["note"] == "runs on this machine: no charge", listed
    assert {p["platform"] for p in summary["platforms"]} == set(FIVE), summary["platforms"]
    assert all(p["runs"] == 6 and p["successes"] == 6 for p in summary["platforms"]), summary["platforms"]
    # cold and warm per platform: each platform's first runs start its instances (their own /tmp), later ones reuse
    for platform, platform_rows in by_platform.items():
        first = min(platform_rows, key=lambda r: r["clientSendTime"])
        one = next(p for p in summary["platforms"] if p["platform"] == platform)
        assert first["newcontainer"] == 1 and 1 <= one["newContainers"] < 6, (platform, one)

    shown = experiment.stdout + "\n".join(json.dumps(d) for d in experiment.displays)
    assert re.search(r"cost \$[0-9.]+: local \$0", shown), shown[:2000]
    table = next(d["data"]["text/plain"] for d in experiment.displays if "by platform:" in d["data"].get("text/plain", ""))
    for platform in FIVE:  # the summary's table: a line per platform, with its runs and what they cost
        line = next(line.split() for line in table.splitlines() if line.split()[:1] == [platform])
        assert line[1:3] == ["runs", "6,"] and line[-2] == "cost" and line[-1].startswith("$"), (platform, table)
    runtime_chart = next(d for d in experiment.displays if "Runtime by memory setting" in json.dumps(d))
    concurrency = next(d for d in experiment.displays if "Runs in flight" in json.dumps(d))
    for platform in FIVE:  # a series per platform in each chart
        assert f"configured memory \u00b7 {platform} p50" in runtime_chart["data"]["text/plain"], runtime_chart
        assert f"in flight on {platform}" in json.dumps(concurrency), platform

    table = listing.ok().displays[0]["data"]["text/plain"]
    assert sorted(line.split()[1] for line in table.splitlines() if line.startswith("sleeper ")) == sorted(FIVE), table
    for platform, deleted in zip(FIVE, deletes):
        assert deleted.ok().stdout.startswith(f"{platform}: deleted sleeper"), (platform, deleted)
    assert "No functions deployed" in after.ok().displays[0]["data"]["text/plain"], after
    nothing_left("sleeper", aws, gcf, ibm, azure)


@pytest.mark.deadline(300)
def test_the_papers_decorator_and_run_experiment_on_the_four_clouds(every_platform_workspace, aws, gcf, ibm, azure):
    """@cloud_function(platforms=[Platform.AWS, Platform.GCF, Platform.IBM, Platform.AZURE]) and
    run_experiment(..., platform=[...], platform_order="sequential"): each cloud's runs end before the next
    one's begin, in the list's order, and the DataFrame has every cloud's runs with their costs."""
    workspace = every_platform_workspace
    settings, ran, *deletes = workspace.run(workspace.settings[0], '''from platforms.jupyter.interactive_helpers import *
CLOUDS = [Platform.AWS, Platform.GCF, Platform.IBM, Platform.AZURE]

@cloud_function(platforms=CLOUDS)
def greeter(request, context):
    return {"hi": request["name"]}

frame = run_experiment(function=greeter, experiment={"experimentName": "paper", "payloads": [{"name": "x"}],
                                                     "runs": 4, "threads": 2},
                       platform=CLOUDS, platform_order="sequential")
print(type(frame).__name__, frame.groupby("endpoint").size().to_dict(), frame["cost"].notna().all())''',
                                           *[f"%delete greeter {platform}" for platform in FIVE[1:]])
    settings.ok()
    lines = ran.ok().stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == FIVE[1:], ran
    assert lines[-1] == "DataFrame {'aws': 4, 'azure': 4, 'gcf': 4, 'ibm': 4} True", ran
    rows, summary, folder = experiment_results(workspace, "greeter", "paper")
    assert json.loads((folder / "experiment.json").read_text())["platformOrder"] == "sequential"
    assert_in_turn(rows, FIVE[1:])
    assert [c["platform"] for c in summary["costs"]["platforms"]] == FIVE[1:], summary["costs"]
    for platform, deleted in zip(FIVE[1:], deletes):
        assert deleted.ok().stdout.startswith(f"{platform}: deleted greeter"), (platform, deleted)
    nothing_left("greeter", aws, gcf, ibm, azure)
