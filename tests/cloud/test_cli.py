"""`faaset deploy` / `faaset invoke` and their interplay with notebooks in the
same folder: one deploy cache and one local platform for both.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/cloud/test_cli.py
"""
import json
import re

import pytest

from cloud_helpers import text

GREET = '''import os

def greet(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectPlatform()
    inspector.inspectContainer()
    inspector.addAttribute("message", "Hi " + request["name"])
    return inspector.finish()
'''

DEPLOY_LINE = r"^local: {verb} {name} \([0-9a-f]{{8}}\) in \d+(?:\.\d+)? ms$"


def test_cli_deploy_invoke_and_notebook_interplay(workspace):
    (workspace.folder / "greet.py").write_text(GREET)
    trace = workspace.trace

    deployed = workspace.cli("deploy", "greet.py", "--memory", "256")
    assert deployed.returncode == 0, deployed.stderr
    assert re.match(DEPLOY_LINE.format(verb="deployed", name="greet"), deployed.stdout.strip()), deployed.stdout
    assert [(e["op"], e["function"]) for e in trace.entries()] == [("deploy", "greet")]

    again = workspace.cli("deploy", "greet.py", "--memory", "256")
    assert again.returncode == 0, again.stderr
    assert re.match(DEPLOY_LINE.format(verb="up to date", name="greet"), again.stdout.strip()), again.stdout
    assert len(trace.entries()) == 1, "an unchanged deploy made a platform call"

    invoked = workspace.cli("invoke", "greet", '{"name":"x"}')
    assert invoked.returncode == 0, invoked.stderr
    result = json.loads(invoked.stdout)
    assert result["message"] == "Hi x" and result["functionMemory"] == "256", result
    assert result["platform"] == "FaaSET Local" and result["functionName"] == "greet", result
    assert result["roundTripTime"] > 0
    assert result["latency"] == pytest.approx(result["roundTripTime"] - result["runtime"])

    # a notebook in the same folder: calls the CLI's function, shares its deploy cache,
    # and deploys a function the CLI then calls
    mark = trace.mark()
    invoke, cell, call, made = workspace.run(
        '%invoke greet {"name": "nb"}',
        "%%cloud_function memory=256\n" + GREET,
        'import json\nprint(json.dumps(greet({"name": "py"})))',
        '%%cloud_function memory=512\ndef from_notebook(request, context):\n    return {"twice": request["n"] * 2}',
    )
    data = invoke.ok().results[0].data
    assert data["application/json"]["message"] == "Hi nb", invoke
    assert json.loads(text(data["text/plain"]))["functionMemory"] == "256", invoke
    assert re.search(DEPLOY_LINE.format(verb="up to date", name="greet"), cell.ok().stdout, re.M), \
        f"the same source and options as the CLI's deploy should be up to date:\n{cell!r}"
    assert call.ok().json()["message"] == "Hi py"
    assert re.search(DEPLOY_LINE.format(verb="deployed", name="from_notebook"), made.ok().stdout, re.M), made
    assert [(e["op"], e["function"]) for e in trace.since(mark)] == [
        ("invoke", "greet"), ("invoke", "greet"), ("deploy", "from_notebook")]

    back = workspace.cli("invoke", "from_notebook", '{"n": 21}')
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout)["twice"] == 42, back.stdout


def test_cli_errors(workspace):
    (workspace.folder / "greet.py").write_text(GREET)
    (workspace.folder / "boom.py").write_text('def boom(request, context):\n    raise ValueError("no " + request["x"])\n')
    usage = [
        ("deploy",),                                   # no file
        ("deploy", "greet.py", "--memory"),            # option without its value
        ("invoke",),                                   # no name
        ("invoke", "greet", "{bad json"),              # payload is not JSON
    ]
    for args in usage:
        result = workspace.cli(*args)
        assert result.returncode == 2, f"faaset {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        assert result.stderr.strip(), f"faaset {' '.join(args)} said nothing on stderr"
        assert result.stdout == "", result.stdout

    unknown = workspace.cli("invoke", "nosuch", "{}")
    assert unknown.returncode == 1, unknown.stderr
    assert "NotDeployed" in unknown.stderr and "nosuch" in unknown.stderr, unknown.stderr
    assert unknown.stdout == ""

    out_of_range = workspace.cli("deploy", "greet.py", "--memory", "64")
    assert out_of_range.returncode != 0, out_of_range.stdout
    assert "memory" in out_of_range.stderr and "128" in out_of_range.stderr, out_of_range.stderr

    assert workspace.cli("deploy", "boom.py").returncode == 0
    raised = workspace.cli("invoke", "boom", '{"x": "way"}')
    assert raised.returncode == 1, raised.stdout
    assert "Remote traceback" in raised.stderr and 'raise ValueError("no " + request["x"])' in raised.stderr, \
        raised.stderr
    assert "ValueError: no way" in raised.stderr, raised.stderr
    assert [(e["op"], e["function"]) for e in workspace.trace.entries() if e["op"] != "invoke"] == [("deploy", "boom")]


def test_cli_syntax_error_names_the_file(workspace):
    """A syntax error in the deployed file is reported with that file's name
    and line, as Python would (not as `<cell 1>`), and nothing is deployed."""
    (workspace.folder / "bad.py").write_text("import os\ndef bad(request, context)\n    return 1\n")
    result = workspace.cli("deploy", "bad.py")
    assert result.returncode == 1, result.stdout
    assert "SyntaxError" in result.stderr, result.stderr
    assert workspace.trace.entries() == []
    assert re.search(r'File "[^"]*bad\.py", line 2', result.stderr), \
        f"the error should name bad.py, line 2:\n{result.stderr}"


EXPERIMENT_FILE = GREET + '''
rows = run_experiment(function=greet, experiment={"runs": 6, "threads": 3, "payloads": [{"name": "x"}],
                                                  "experimentName": "from-a-file"})
print("rows:", len(rows), sorted({row["message"] for row in rows}))
rows = run_experiment(function=greet, experiment={"runs": 2, "threads": 3})
'''


def test_cli_deploy_of_a_file_that_runs_an_experiment(workspace):
    """run_experiment() in a deployed file goes through the same upcall
    table as in a notebook (it once hung `faaset deploy` forever); a bad
    experiment is the file's own Python error."""
    (workspace.folder / "greet_experiment.py").write_text(EXPERIMENT_FILE)
    result = workspace.cli("deploy", "greet_experiment.py", timeout=120)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "rows: 6 ['Hi x']" in result.stdout, result.stdout
    assert "Experiment from-a-file: rows in faaset-results/greet/from-a-file-" in result.stderr, result.stderr
    assert "threads (3) is more than runs (2)" in result.stderr, result.stderr
    folders = list((workspace.folder / "faaset-results" / "greet").glob("from-a-file-*"))
    assert len(folders) == 1 and len((folders[0] / "runs.jsonl").read_text().splitlines()) == 6, folders
