"""notebooks/azure.ipynb, executed cell by cell through nbclient against the
strict stand-in, as an Azure user's kernel runs it against Azure: the
service principal and subscription in Azure's variables, the stand-in's
addresses in FAASET_AZURE_*. Every cell runs without an error; the deploy
lines, the calls (hello_world's still going to its own app after the
second function went to the Flex app), the configuration change, the
experiment's rows per memory setting and the deletes show what they
should, and the stand-in has no function left."""
import re

import nbformat
from conftest import APP, FLEX_APP, ROOT, outputs_text

NOTEBOOK = ROOT / "notebooks" / "azure.ipynb"


def test_the_azure_notebook_runs_against_the_standin(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    cells = workspace.run(*sources, cell_timeout=180)
    for cell in cells:
        cell.ok()
    shown = outputs_text(cells)
    lines = [line for cell in cells for line in cell.stdout.splitlines()]
    assert any(line.startswith(f"Default platform: azure; service principal {standin.client_id}") for line in lines)
    deploys = [line for line in lines if line.startswith("azure: ")]
    expected = [r"azure: deployed hello_world \([0-9a-f]{8}\) in [0-9.]+ ms$",
                r"azure: deployed sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
                r"azure: updated configuration of sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
                r"azure: deleted sleeper in [0-9.]+ ms$",
                r"azure: deleted hello_world in [0-9.]+ ms$"]
    assert len(deploys) == len(expected), deploys
    for line, pattern in zip(deploys, expected):
        assert re.match(pattern, line), (line, pattern)
    assert "Hello Bob!" in shown and "remote error: asked to fail" in shown and "Hello Eve!" in lines, shown
    assert "40 runs, 40 ok" in lines, shown
    table = next(cell for cell in cells if cell.source.startswith("table = "))
    memory_rows = [line.split() for line in table.result.splitlines()[2:]]
    assert [row[0] for row in memory_rows] == ["512", "2048"], table
    assert all(float(row[1]) >= 500 for row in memory_rows), table  # each run slept 0.5 s
    summary = next(cell for cell in cells if cell.source.startswith("rows = "))
    charts = [d for d in summary.displays if "application/vnd.vegalite.v5+json" in d.data]
    assert len(charts) == 3, summary
    for app in (APP, FLEX_APP):
        status, listed = standin.arm("GET", f"{standin.site_path(app)}/functions")
        assert status == 200 and not listed.get("value"), listed
    status, site = standin.arm("GET", standin.site_path(FLEX_APP))
    assert site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] == 4096, site
