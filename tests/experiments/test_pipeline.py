"""Pipelines: `%%experiment first second` sends every run through both
functions in turn (3_pipeline_stage 0 then 1); with passPayloads the
second gets the first's result over the run's payload, keys renamed by
`transitions`; without it, the run's own payload; a failed stage ends its
run; run_experiment takes a list of functions too."""
import glob
import json
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import DirectKernel, Sandbox  # noqa: E402

FIRST = "%%cloud_function\ndef first(request, context):\n" \
        "    if request.get('fail'):\n        raise ValueError('first failed')\n" \
        "    return {'doubled': request['n'] * 2}"
SECOND = "%%cloud_function\ndef second(request, context):\n" \
         "    return {'plus_one': request.get('x', 0) + 1, 'n_seen': request.get('n')}"


def rows_of(sandbox, name):
    path, = glob.glob(os.path.join(sandbox.dir, f"faaset-results/first/{name}-*/runs.jsonl"))
    return [json.loads(line) for line in open(path)]


def test_pipeline_stages_pass_payloads_and_failures():
    sandbox = Sandbox()
    kernel = DirectKernel(sandbox)
    try:
        assert kernel.execute(FIRST)[0]["status"] == "ok" and kernel.execute(SECOND)[0]["status"] == "ok"
        reply, _ = kernel.execute('%%experiment first second\n{"runs": 4, "threads": 2, "payloads": [{"n": 1}, '
                                  '{"n": 5}], "passPayloads": true, "transitions": {"doubled": "x"}, '
                                  '"experimentName": "passed"}', timeout=60)
        assert reply["status"] == "ok", reply
        rows = rows_of(sandbox, "passed")
        assert len(rows) == 8
        by = {(row["1_run_id"], row["3_pipeline_stage"]): row for row in rows}
        for run in range(4):
            n = 1 if run % 2 == 0 else 5
            assert by[(run, 0)]["doubled"] == 2 * n
            assert by[(run, 1)]["plus_one"] == 2 * n + 1 and by[(run, 1)]["n_seen"] == n
            assert json.loads(by[(run, 1)]["payload"]) == {"n": n, "x": 2 * n}

        reply, _ = kernel.execute('%%experiment first second\n{"runs": 2, "threads": 1, "payloads": [{"n": 3}], '
                                  '"experimentName": "plain"}', timeout=60)
        assert reply["status"] == "ok", reply
        second = [row for row in rows_of(sandbox, "plain") if row["3_pipeline_stage"] == 1]
        assert [row["plus_one"] for row in second] == [1, 1] and second[0]["n_seen"] == 3

        reply, _ = kernel.execute('%%experiment first second\n{"runs": 2, "threads": 1, "payloads": [{"fail": true}], '
                                  '"experimentName": "broken"}', timeout=60)
        rows = rows_of(sandbox, "broken")
        assert [(row["3_pipeline_stage"], row["status"], row["errorType"]) for row in rows] == \
            [(0, "error", "ValueError")] * 2, "a failed stage ends its run"

        reply, outputs = kernel.execute('rows = run_experiment(function=[first, second], experiment={"runs": 2, '
                                        '"threads": 1, "payloads": [{"n": 2}], "passPayloads": True, '
                                        '"experimentName": "python"})\nprint(sorted(r["3_pipeline_stage"] for r in rows))',
                                        timeout=60)
        assert reply["status"] == "ok", reply
        assert "[0, 0, 1, 1]" in "".join(m["content"].get("text", "") for m in outputs)

        reply, _ = kernel.execute('%%experiment first missing\n{"runs": 2}')
        assert reply["status"] == "error" and "missing is not deployed" in reply["evalue"]
        reply, _ = kernel.execute('%%experiment first second\n{"runs": 2, "threads": 1, "memorySettings": [256]}')
        assert reply["status"] == "error" and "not a pipeline" in reply["evalue"]
    finally:
        kernel.stop()
        sandbox.cleanup()


def test_faaset_run_takes_a_pipeline_of_function_files(tmp_path):
    import subprocess
    from faaset_testing import binary
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    for name, body in (("first", FIRST), ("second", SECOND)):
        (tmp_path / f"{name}.py").write_text(body.split("\n", 1)[1])  # the cell without its magic line
        assert subprocess.run([binary(), "deploy", f"{name}.py"], cwd=tmp_path, env=env, capture_output=True,
                              timeout=60).returncode == 0
        (tmp_path / f"{name}.json").write_text(json.dumps({"function": name, "platform": "local"}))
    (tmp_path / "pipe.json").write_text(json.dumps({"runs": 2, "threads": 1, "payloads": [{"n": 4}],
                                                    "passPayloads": True, "transitions": {"doubled": "x"}}))
    result = subprocess.run([binary(), "run", "-f", "first.json", "-f", "second.json", "-e", "pipe.json", "-o", "out"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    path, = (tmp_path / "out" / "first").glob("pipe-*/runs.jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert sorted((row["3_pipeline_stage"], row.get("doubled"), row.get("plus_one")) for row in rows) == \
        [(0, 8, None), (0, 8, None), (1, None, 9), (1, None, 9)]
    bad = subprocess.run([binary(), "run", "-f", "first.json", "-f", "nope.json", "-e", "pipe.json"], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "cannot read nope.json" in bad.stderr
