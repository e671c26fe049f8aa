"""notebooks/openfaas.ipynb, executed cell by cell through nbclient against
the gateway stand-in and the test registry, as a user's kernel runs it
against OpenFaaS: the gateway from OPENFAAS_URL, the password from
faas-cli's config.yml, the registry's from a Docker config.json. The one
cell a user edits, `%platform openfaas registry=...`, is given the test
registry (and its tiny base image) as a user would write theirs. Every
cell runs without an error; the deploy lines, the calls, the queued call,
the configuration change, the experiment's rows per memory setting and the
deletes show what they should, and the gateway has no function left."""
import re

import nbformat
from conftest import ROOT, outputs_text, settings_cell

NOTEBOOK = ROOT / "notebooks" / "openfaas.ipynb"


def test_the_openfaas_notebook_runs_against_the_standin(of_workspace, gateway, registry):
    workspace = of_workspace.use(gateway)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    assert sources[0].startswith("%platform openfaas registry="), sources[0]
    sources[0] = settings_cell(registry)
    cells = workspace.run(*sources, cell_timeout=180)
    for cell in cells:
        cell.ok()
    shown = outputs_text(cells)
    lines = [line for cell in cells for line in cell.stdout.splitlines()]
    assert f"Default platform: openfaas; user admin from {workspace.env['OPENFAAS_CONFIG']}/config.yml (auths); " \
           f"gateway {gateway.url} from OPENFAAS_URL" in lines, shown
    deploys = [line for line in lines if line.startswith("openfaas: ")]
    image = rf"image {re.escape(registry.host)}/functions/(hello-world|sleeper)@sha256:[0-9a-f]{{64}} \(\d+ blobs sent"
    expected = [rf"openfaas: deployed hello_world \([0-9a-f]{{8}}\) in [0-9.]+ ms; {image}",
                rf"openfaas: deployed sleeper \([0-9a-f]{{8}}\) in [0-9.]+ ms; {image}",
                r"openfaas: updated configuration of sleeper \([0-9a-f]{8}\) in [0-9.]+ ms$",
                r"openfaas: deleted sleeper in [0-9.]+ ms$",
                r"openfaas: deleted hello_world in [0-9.]+ ms$"]
    assert len(deploys) == len(expected), deploys
    for line, pattern in zip(deploys, expected):
        assert re.match(pattern, line), (line, pattern)
    assert "Hello Bob!" in shown and "remote error: asked to fail" in shown, shown
    assert any(re.match(r"accepted: 202 call id [0-9a-f]{32}$", line) for line in lines), shown
    assert "20 runs, 20 ok" in lines, shown
    table = next(cell for cell in cells if cell.source.startswith("table = "))
    memory_rows = [line.split() for line in table.result.splitlines()[2:]]
    assert [row[0] for row in memory_rows] == ["256", "512"], table
    assert all(float(row[1]) >= 200 for row in memory_rows), table  # each run slept 0.2 s
    status, listed, _ = gateway.call("GET", "/system/functions")
    assert status == 200 and listed == [], listed
