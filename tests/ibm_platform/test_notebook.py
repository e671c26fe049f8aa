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

from cloud_helpers import check_walkthrough, run_walkthrough
from conftest import ROOT, outputs_text

NOTEBOOK = ROOT / "notebooks" / "ibm.ipynb"


def test_the_ibm_notebook_runs_against_the_standin(ibm_workspace, standin):
    workspace = ibm_workspace.use(standin)
    cells, lines = run_walkthrough(workspace, NOTEBOOK)
    shown = outputs_text(cells)
    uuid = standin.auth.split(":")[0]
    assert any(line.startswith("Default platform: ibm") and f"key {uuid} from" in line for line in lines), shown
    check_walkthrough(cells, lines, "ibm", [
        r"ibm: deployed hello_world \([0-9a-f]{8}\) in [0-9.]+ ms$",
        r"ibm: deployed sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
        r"ibm: updated configuration of sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
        r"ibm: deleted sleeper in [0-9.]+ ms$",
        r"ibm: deleted hello_world in [0-9.]+ ms$"])
    assert re.search(r"Hello Bob! from IBM Cloud Functions \| new container: [01] \| activation [0-9a-f]{32} ",
                     shown), shown
    assert "remote error: asked to fail" in shown, shown
    status, listed, _ = standin.call("GET", "/namespaces/_/actions")
    assert status == 200 and listed == [], listed
