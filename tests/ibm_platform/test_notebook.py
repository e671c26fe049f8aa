"""notebooks/ibm.ipynb, executed cell by cell through nbclient against the
strict OpenWhisk stand-in, as a wsk user's kernel runs it against IBM
Cloud Functions: the API host and key in the properties file
WSK_CONFIG_FILE names (the notebook itself names nothing). Every cell runs
without an error; the deploy lines, the call with its activation id, the
configuration change, the experiment's rows per memory setting and the
deletes show what they should, and the namespace has no action left.
Against IBM Cloud the same notebook runs with ~/.wskprops (or
IBMCLOUD_API_KEY and the namespace's ID for an IAM-based namespace); the
secret scan of the workspace fixture covers what it wrote here."""
import re

import nbformat
from conftest import ROOT, outputs_text

NOTEBOOK = ROOT / "notebooks" / "ibm.ipynb"


def test_the_ibm_notebook_runs_against_the_standin(ibm_workspace, standin):
    workspace = ibm_workspace.use(standin)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    cells = workspace.run(*sources, cell_timeout=180)
    for cell in cells:
        cell.ok()
    shown = outputs_text(cells)
    lines = [line for cell in cells for line in cell.stdout.splitlines()]
    uuid = standin.auth.split(":")[0]
    assert any(line.startswith("Default platform: ibm") and f"key {uuid} from" in line for line in lines), shown
    deploys = [line for line in lines if line.startswith("ibm: ")]
    expected = [r"ibm: deployed hello_world \([0-9a-f]{8}\) in [0-9.]+ ms$",
                r"ibm: deployed sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
                r"ibm: updated configuration of sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
                r"ibm: deleted sleeper in [0-9.]+ ms$",
                r"ibm: deleted hello_world in [0-9.]+ ms$"]
    assert len(deploys) == len(expected), deploys
    for line, pattern in zip(deploys, expected):
        assert re.match(pattern, line), (line, pattern)
    assert re.search(r"Hello Bob! from IBM Cloud Functions \| new container: [01] \| activation [0-9a-f]{32} ",
                     shown), shown
    assert "remote error: asked to fail" in shown, shown
    assert "40 runs, 40 ok" in lines, shown
    table = next(cell for cell in cells if cell.source.startswith("table = "))
    memory_rows = [line.split() for line in table.result.splitlines()[2:]]
    assert [row[0] for row in memory_rows] == ["256", "512"], table
    assert all(float(row[1]) >= 500 for row in memory_rows), table  # each run slept 0.5 s
    summary = next(cell for cell in cells if cell.source.startswith("rows = "))
    charts = [d for d in summary.displays if "application/vnd.vegalite.v5+json" in d.data]
    assert len(charts) == 3, summary
    status, listed, _ = standin.call("GET", "/namespaces/_/actions")
    assert status == 200 and listed == [], listed
