"""notebooks/compare.ipynb, executed cell by cell through nbclient on the
local platform and the gcf and ibm stand-ins, as a user's kernel runs it
against Google and IBM with their credentials: every cell runs without an
error, the deploy cell prints a line per platform, both experiments have
every platform's runs (one platform after another in the second), the
pandas table has a row per platform with its cost, and the deletes leave
no function on either stand-in."""
import json
import re

import nbformat
from conftest import GCF_PROJECT, ROOT, outputs_text

NOTEBOOK = ROOT / "notebooks" / "compare.ipynb"


def test_the_compare_notebook_runs_against_the_standins(compare_workspace, gcf, ibm):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    cells = compare_workspace.run(*sources, cell_timeout=180)
    for cell in cells:
        cell.ok()
    shown = outputs_text(cells)
    deployed = next(cell for cell in cells if cell.source.startswith("@cloud_function"))
    assert [line.split(":")[0] for line in deployed.stdout.splitlines()] == ["local", "gcf", "ibm"], deployed
    ran = next(cell for cell in cells if cell.source.startswith("rows = "))
    assert ran.stdout.splitlines()[-3:] == ["local 12 runs, 12 ok", "gcf 12 runs, 12 ok", "ibm 12 runs, 12 ok"], ran
    table = next(cell for cell in cells if cell.source.startswith("table = "))
    lines = table.result.splitlines()
    assert re.split(r"\s+", lines[0].strip()) == ["runs", "runtime", "latency", "round_trip", "billed_ms", "cost_usd"]
    by_platform = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(by_platform) == {"local", "gcf", "ibm"}, table
    assert all(row[1] == "12" and float(row[2]) >= 500 for row in by_platform.values()), table
    assert float(by_platform["local"][6]) == 0 and float(by_platform["ibm"][6]) > 0, table

    folders = {f.name.rsplit("-", 1)[0]: f for f in (compare_workspace.folder / "faaset-results" / "sleeper").iterdir()}
    in_turn = [json.loads(line) for line in (folders["compare-in-turn"] / "runs.jsonl").read_text().splitlines()]
    ends = {p: max(r["clientReceiveTime"] for r in in_turn if r["endpoint"] == p) for p in ("local", "gcf", "ibm")}
    starts = {p: min(r["clientSendTime"] for r in in_turn if r["endpoint"] == p) for p in ("local", "gcf", "ibm")}
    assert ends["local"] <= starts["gcf"] and ends["gcf"] <= starts["ibm"], (starts, ends)
    assert "by platform:" in shown and "runs on this machine: no charge" in shown, shown[:3000]
    deletes = [line for cell in cells for line in cell.stdout.splitlines() if "deleted sleeper" in line]
    assert [line.split(":")[0] for line in deletes] == ["local", "gcf", "ibm"], deletes
    status, listed, _ = ibm.call("GET", "/namespaces/_/actions")
    assert status == 200 and listed == [], listed
    status, listed = gcf.call("GET", f"/v2/projects/{GCF_PROJECT}/locations/us-central1/functions",
                              token=gcf.access_token())
    assert status == 200 and not listed.get("functions"), listed
