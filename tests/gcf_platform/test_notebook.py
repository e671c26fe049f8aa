"""notebooks/gcf.ipynb, executed cell by cell through nbclient against the
strict stand-in, as a Google user's kernel runs it against Google: the key
in GOOGLE_APPLICATION_CREDENTIALS (its token_uri the stand-in's), the API
at GCF_ENDPOINT_URL, the notebook's one endpoint variable. Every cell runs
without an error; the deploy lines, the call, the configuration change,
the experiment's rows per memory setting and the deletes show what they
should, and the stand-in has no function left."""
from cloud_helpers import check_walkthrough, run_walkthrough
from conftest import PROJECT, ROOT, outputs_text

NOTEBOOK = ROOT / "notebooks" / "gcf.ipynb"


def test_the_gcf_notebook_runs_against_the_standin(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    cells, lines = run_walkthrough(workspace, NOTEBOOK)
    shown = outputs_text(cells)
    assert any(line.startswith(f"Default platform: gcf; service account deployer@{PROJECT}") for line in lines), shown
    check_walkthrough(cells, lines, "gcf", [
        r"gcf: deployed hello_world \([0-9a-f]{8}\) in [0-9.]+ ms; its Google function ID is hello-world",
        r"gcf: deployed sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
        r"gcf: updated configuration of sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
        r"gcf: deleted sleeper in [0-9.]+ ms$",
        r"gcf: deleted hello_world in [0-9.]+ ms$"])
    assert "Hello Bob! from Google Cloud Functions" in shown and "remote error: asked to fail" in shown, shown
    status, listed = standin.call("GET", f"/v2/projects/{PROJECT}/locations/us-central1/functions",
                                  token=standin.access_token())
    assert status == 200 and not listed.get("functions"), listed
