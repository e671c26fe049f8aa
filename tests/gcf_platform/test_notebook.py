"""notebooks/gcf.ipynb, executed cell by cell through nbclient against the
strict stand-in, as a Google user's kernel runs it against Google: the key
in GOOGLE_APPLICATION_CREDENTIALS (its token_uri the stand-in's), the API
at GCF_ENDPOINT_URL, the notebook's one endpoint variable. Every cell runs
without an error; the deploy lines, the call, the configuration change,
the experiment's rows per memory setting and the deletes show what they
should, and the stand-in has no function left."""
import re

import nbformat
from conftest import PROJECT, ROOT, outputs_text

NOTEBOOK = ROOT / "notebooks" / "gcf.ipynb"


def test_the_gcf_notebook_runs_against_the_standin(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    cells = workspace.run(*sources, cell_timeout=180)
    for cell in cells:
        cell.ok()
    shown = outputs_text(cells)
    lines = [line for cell in cells for line in cell.stdout.splitlines()]
    assert any(line.startswith(f"Default platform: gcf; service account deployer@{PROJECT}") for line in lines), shown
    deploys = [line for line in lines if line.startswith("gcf: ")]
    expected = [r"gcf: deployed hello_world \([0-9a-f]{8}\) in [0-9.]+ ms; its Google function ID is hello-world",
                r"gcf: deployed sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
                r"gcf: updated configuration of sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
                r"gcf: deleted sleeper in [0-9.]+ ms$",
                r"gcf: deleted hello_world in [0-9.]+ ms$"]
    assert len(deploys) == len(expected), deploys
    for line, pattern in zip(deploys, expected):
        assert re.match(pattern, line), (line, pattern)
    assert "Hello Bob! from Google Cloud Functions" in shown and "remote error: asked to fail" in shown, shown
    assert "40 runs, 40 ok" in lines, shown
    table = next(cell for cell in cells if cell.source.startswith("table = "))
    memory_rows = [line.split() for line in table.result.splitlines()[2:]]
    assert [row[0] for row in memory_rows] == ["256", "512"], table
    assert all(float(row[1]) >= 500 for row in memory_rows), table  # each run slept 0.5 s
    summary = next(cell for cell in cells if cell.source.startswith("rows = "))
    charts = [d for d in summary.displays if "application/vnd.vegalite.v5+json" in d.data]
    assert len(charts) == 3, summary
    status, listed = standin.call("GET", f"/v2/projects/{PROJECT}/locations/us-central1/functions",
                                  token=standin.access_token())
    assert status == 200 and not listed.get("functions"), listed
