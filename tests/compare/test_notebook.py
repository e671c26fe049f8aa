"""notebooks/compare.ipynb, executed cell by cell through nbclient on the
local platform and the aws, gcf, ibm, azure and openfaas stand-ins, as a
user's kernel runs it against the clouds with their credentials. The one
cell a user edits for OpenFaaS, `%platform openfaas registry=...`, is given
the test registry (and its tiny base image) as a user would write theirs;
the Azure app is the stand-in's Consumption app, named as the notebook
names it. Every cell runs without an error, the deploy cell prints a line
per platform, both experiments have every platform's runs (one platform
after another in the second), the pandas table has a row per platform with
its cost (none for OpenFaaS, which has no price), `%functions` lists the
sleeper on every platform, and the deletes leave it on no stand-in."""
import json
import math
import re

import nbformat
import pytest
from conftest import AZURE_APP, ROOT, assert_in_turn, nothing_left, outputs_text

NOTEBOOK = ROOT / "notebooks" / "compare.ipynb"
EVERY = ["local", "aws", "gcf", "ibm", "azure", "openfaas"]


@pytest.mark.deadline(420)
def test_the_compare_notebook_runs_against_the_standins(every_platform_workspace, aws, gcf, ibm, azure, openfaas):
    workspace = every_platform_workspace
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert sources[0] == f"%platform azure app={AZURE_APP}" and sources[1].startswith("%platform openfaas registry=")
    sources[1] = workspace.settings[1]
    cells = workspace.run(*sources, cell_timeout=180)
    for cell in cells:
        cell.ok()
    shown = outputs_text(cells)
    deployed = next(cell for cell in cells if cell.source.startswith("@cloud_function"))
    assert [line.split(":")[0] for line in deployed.stdout.splitlines()] == EVERY, deployed
    ran = next(cell for cell in cells if cell.source.startswith("rows = "))
    assert ran.stdout.splitlines()[-6:] == [f"{p} 12 runs, 12 ok" for p in EVERY], ran
    table = next(cell for cell in cells if cell.source.startswith("table = "))
    lines = table.result.splitlines()
    assert re.split(r"\s+", lines[0].strip()) == ["runs", "runtime", "latency", "round_trip", "billed_ms", "cost_usd"]
    by_platform = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(by_platform) == set(EVERY), table
    assert all(row[1] == "12" and float(row[2]) >= 500 for row in by_platform.values()), table
    assert float(by_platform["local"][6]) == 0 and math.isnan(float(by_platform["openfaas"][6])), table
    assert all(float(by_platform[p][6]) > 0 for p in ("aws", "gcf", "ibm", "azure")), table
    assert "price unknown for openfaas" in shown and "runs on this machine: no charge" in shown, shown[:3000]

    folders = {f.name.rsplit("-", 1)[0]: f for f in (workspace.folder / "faaset-results" / "sleeper").iterdir()}
    in_turn = [json.loads(line) for line in (folders["compare-in-turn"] / "runs.jsonl").read_text().splitlines()]
    assert_in_turn(in_turn, EVERY)
    assert "by platform:" in shown, shown[:3000]
    listing = next(cell for cell in cells if cell.source == "%functions")
    rows = [line.split() for line in listing.displays[0]["data"]["text/plain"].splitlines()]
    assert sorted(row[1] for row in rows if row[0] == "sleeper") == sorted(EVERY), listing
    deletes = [line for cell in cells for line in cell.stdout.splitlines() if "deleted sleeper" in line]
    assert [line.split(":")[0] for line in deletes] == EVERY, deletes
    nothing_left("sleeper", aws, gcf, ibm, azure, openfaas)
