"""The `ibm` platform (alias `openwhisk`) through a kernel against the
strict OpenWhisk controller stand-in: Basic auth on every call, namespaces,
`overwrite`, limits with OpenWhisk's thresholds, blocking calls with the
controller's wait and its 202, 502 application errors, activations with
logs, and each cold start a fresh process running the uploaded zip's
__main__.py. So these notebooks deploy, change, call and experiment as on
IBM Cloud Functions."""
import json

import pytest
from conftest import (action_of, assert_no_secret, cell_for, ibm_line, outputs_text, secrets_of, start_standin)
from standin_fixture import zipped

HELLO = '''%%cloud_function platforms=ibm memory=256 timeout=30
def hello_world(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectContainer()
    if request.get("fail"):
        print("about to fail")
        raise ValueError("asked to fail")
    inspector.addAttribute("message", "Hello " + request["name"] + "!")
    inspector.addAttribute("function", context.function_name)
    return inspector.finish()'''

CALL_TWICE = '''import json
first, second = hello_world({"name": "Bob"}), hello_world({"name": "Eve"})
print(json.dumps([first["message"], first["function"], first["newcontainer"], second["newcontainer"],
                  len(first["activationId"]), first["activationId"] != second["activationId"],
                  first["roundTripTime"] > 0, "latency" in first]))'''


def annotation(action, key):
    return next((a["value"] for a in action["annotations"] if a["key"] == key), None)


def test_deploy_call_change_and_errors(ibm_workspace, standin):
    workspace = ibm_workspace.use(standin)
    deployed, called, failed = workspace.run(HELLO, CALL_TWICE, 'hello_world({"name": "x", "fail": True})')
    assert ibm_line(deployed)["verb"] == "deployed", deployed
    message, function, first_new, second_new, id_length, distinct, timed, latency = called.ok().json()
    assert (message, function) == ("Hello Bob!", "hello_world"), called
    # the first call starts a container (its own /tmp has no SAAF id yet), the second reuses it warm
    assert (first_new, second_new, id_length, distinct, timed, latency) == (1, 0, 32, True, True, True), called
    error = failed.error
    assert error.ename == "ValueError" and error.evalue == "asked to fail", failed
    traceback = "\n".join(error.traceback)
    assert 'raise ValueError("asked to fail")' in traceback and "about to fail" in traceback, failed
    assert "OpenWhisk activation" in traceback, failed
    action = action_of(standin, "hello_world")
    assert action["limits"]["memory"] == 256 and action["limits"]["timeout"] == 30000, action["limits"]
    assert action["exec"]["kind"] == "python:3.12" and action["exec"]["binary"] is True
    code_hash = annotation(action, "faaset-code")
    assert code_hash and len(code_hash) == 64

    unchanged, reconfigured, recoded, called_again = workspace.run(
        HELLO, HELLO.replace("memory=256", "memory=512"),
        HELLO.replace("memory=256", "memory=512").replace('"Hello "', '"Hi "'),
        'print(hello_world({"name": "Bob"})["message"])')
    assert ibm_line(unchanged)["verb"] == "up to date", unchanged
    assert ibm_line(reconfigured)["verb"] == "updated configuration of", reconfigured
    assert ibm_line(recoded)["verb"] == "updated code of", recoded
    assert called_again.ok().stdout.strip() == "Hi Bob!"
    action = action_of(standin, "hello_world")
    assert action["limits"]["memory"] == 512 and annotation(action, "faaset-code") != code_hash
    assert action["version"] == "0.0.3", action["version"]  # deployed, configured, recoded: three PUTs
    shown = outputs_text([deployed, called, failed, unchanged, reconfigured, recoded, called_again])
    assert_no_secret(shown, "the outputs", secrets_of(standin))


def test_a_configuration_change_keeps_the_code_and_env_reaches_the_function(ibm_workspace, standin):
    workspace = ibm_workspace.use(standin)
    source = cell_for("configured", body='import os; return {"mode": os.environ.get("MODE"), "keys": sorted(request)}',
                      options="memory=256 env=MODE=a")
    deployed, called = workspace.run(source, 'print(configured({"x": 1})["mode"], configured({"x": 1})["keys"])')
    assert ibm_line(deployed)["verb"] == "deployed", deployed
    assert called.ok().stdout.strip() == "a ['x']", called
    code = action_of(standin, "configured")["exec"]["code"]
    changed, called_again = workspace.run(source.replace("MODE=a", "MODE=b").replace("memory=256", "timeout=45"),
                                          'print(configured({})["mode"])')
    assert ibm_line(changed)["verb"] == "updated configuration of", changed
    assert called_again.ok().stdout.strip() == "b", called_again
    action = action_of(standin, "configured")
    assert action["exec"]["code"] == code and action["limits"]["timeout"] == 45000, action["limits"]


@pytest.mark.deadline(180)
def test_the_controllers_wait_runs_out_and_the_activation_is_polled(ibm_workspace, tmp_path):
    server = start_standin(tmp_path / "impatient", "--controller-wait", "1")
    try:
        workspace = ibm_workspace.use(server)
        deployed, slow, event, timed_out = workspace.run(
            cell_for("slow", body='import time; time.sleep(request.get("sleep", 0)); return {"slept": 1}',
                     options="timeout=3"),
            'r = slow({"sleep": 2}); print(r["slept"], len(r["activationId"]))',
            'r = slow.invoke({"sleep": 0}, event=True); print(r["StatusCode"], len(r["activationId"]))',
            'slow({"sleep": 5})')
        assert ibm_line(deployed)["verb"] == "deployed", deployed
        assert slow.ok().stdout.strip() == "1 32", slow
        assert event.ok().stdout.strip() == "202 32", event
        assert timed_out.error.ename == "FunctionTimeout", timed_out
        assert "3000 milliseconds" in timed_out.error.evalue and "timeout=" in timed_out.error.evalue, timed_out
    finally:
        server.stop()


def test_over_https_with_the_test_ca(ibm_workspace, tmp_path):
    from tls_terminator import TlsTerminator, free_port
    port = free_port()
    terminator = TlsTerminator(tmp_path / "tls", port, 16)
    try:
        secure = start_standin(tmp_path / "secure", "--port", str(port))
        try:
            workspace = ibm_workspace.use(secure, apihost=terminator.url)
            workspace.env["SSL_CERT_FILE"] = str(terminator.ca_file)
            deployed, called = workspace.run(cell_for("secure", body="return {'n': request['n'] * 2}"),
                                             "print(sum(secure({'n': i})['n'] for i in range(10)))")
            assert ibm_line(deployed)["verb"] == "deployed", deployed
            assert called.ok().stdout.strip() == str(2 * sum(range(10))), called
            workspace.env.pop("SSL_CERT_FILE")
            (untrusted,) = workspace.run('%invoke secure {"n": 1}')
            assert "not trusted" in untrusted.error.evalue and "SSL_CERT_FILE" in untrusted.error.evalue, untrusted
        finally:
            secure.stop()
    finally:
        terminator.stop()


def test_an_experiment_sets_memory_before_each_pass(ibm_workspace, standin):
    workspace = ibm_workspace.use(standin)
    source = cell_for("sleeper", body='import time; time.sleep(request["sleep"]); return {"ok": 1}',
                      options="memory=128")
    mark = workspace.trace.mark()
    deployed, experiment = workspace.run(source, '''%%experiment sleeper
{"experimentName": "on-openwhisk", "payloads": [{"sleep": 0.1}], "runs": 8, "threads": 2,
 "memorySettings": [128, 256]}''')
    assert ibm_line(deployed)["verb"] in ("deployed", "up to date"), deployed
    experiment.ok()
    runs = list((workspace.folder / "faaset-results" / "sleeper").glob("on-openwhisk-*/runs.jsonl"))
    assert len(runs) == 1, list(workspace.folder.rglob("*"))
    rows = [json.loads(line) for line in runs[0].read_text().splitlines()]
    assert len(rows) == 16 and all(r["status"] == "ok" for r in rows), rows[:3]
    assert all(r["endpoint"] == "ibm" and len(r["activationId"]) == 32 for r in rows), rows[0]
    assert len({r["activationId"] for r in rows}) == 16
    memory_sets = [op for op in workspace.trace.since(mark) if op["op"] == "set_memory"]
    # one more after the passes: the cell's 128 MB is put back
    assert len(memory_sets) == 3 and all(op["platform"] == "ibm" for op in memory_sets), memory_sets
    assert action_of(standin, "sleeper")["limits"]["memory"] == 128


def test_limits_are_checked_before_sending_and_the_platforms_refusal_explained(ibm_workspace, tmp_path):
    server = start_standin(tmp_path / "small", "--max-memory", "512")
    try:
        workspace = ibm_workspace.use(server)
        too_much, too_long, refused, _, own_limit = workspace.run(
            cell_for("big", options="memory=4096"), cell_for("big", options="timeout=700"),
            cell_for("big", options="memory=1024"), "%platform ibm max_memory=512 max_timeout=300",
            cell_for("big", options="memory=1024"))
        status, _, _ = server.call("GET", "/namespaces/_/actions/big")
    finally:
        server.stop()
    assert "memory=4096" in too_much.error.evalue and "128 to 2048 MB" in too_much.error.evalue, too_much
    assert "timeout=700" in too_long.error.evalue and "1 to 600 seconds" in too_long.error.evalue, too_long
    assert "refused the limits" in refused.error.evalue and "512 MB" in refused.error.evalue, refused
    assert "max_memory=" in refused.error.evalue, refused
    assert "128 to 512 MB" in own_limit.error.evalue, own_limit
    assert status == 404  # nothing was created


def test_bad_credentials_say_what_to_do(ibm_workspace, standin, tmp_path):
    workspace = ibm_workspace.use(standin)
    del workspace.env["WSK_CONFIG_FILE"]
    workspace.env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    (missing,) = workspace.run(cell_for("nocreds"))
    assert "~/.wskprops" in missing.error.evalue and "__OW_API_HOST" in missing.error.evalue, missing

    workspace = ibm_workspace.use(standin, auth="23bc46b1-71f6-4ed5-8c54-816aa4f8c502:" + "x" * 64)
    (refused,) = workspace.run(cell_for("nocreds"))
    assert "did not accept the key 23bc46b1-71f6-4ed5-8c54-816aa4f8c502" in refused.error.evalue, refused
    assert "wskprops" in refused.error.evalue, refused

    workspace = ibm_workspace.use(standin, namespace="someone-else")
    (forbidden,) = workspace.run(cell_for("nocreds"))
    assert "may not use the namespace someone-else" in forbidden.error.evalue, forbidden
    assert "namespace=" in forbidden.error.evalue, forbidden

    workspace = ibm_workspace.use(standin)
    (in_notebook,) = workspace.run(f"%platform ibm auth={standin.auth}")
    assert "never goes in the notebook" in in_notebook.error.evalue, in_notebook
    assert_no_secret(outputs_text([missing, refused, forbidden]), "the outputs", secrets_of(standin))


def outside(standin, name, body):
    """Changes an action as someone with wsk would (PUT ?overwrite=true)."""
    status, answer, _ = standin.call("PUT", f"/namespaces/_/actions/{name}", body, query={"overwrite": "true"})
    assert status == 200, answer


def test_drift_is_noticed_and_repaired(ibm_workspace, standin):
    workspace = ibm_workspace.use(standin)
    source = cell_for("drifter")
    (deployed,) = workspace.run(source)
    assert ibm_line(deployed)["verb"] == "deployed", deployed

    outside(standin, "drifter", {"limits": {"memory": 1024}})
    repaired, again = workspace.run(source, source)
    line = ibm_line(repaired)
    assert line["verb"] == "redeployed" and "its memory is 1024 MB, the notebook's 256 MB" in line["note"], repaired
    assert ibm_line(again)["verb"] == "up to date" and again.ok().stdout.count("changed outside") == 0
    assert action_of(standin, "drifter")["limits"]["memory"] == 256

    outside(standin, "drifter", {"exec": {"kind": "python:3.11", "binary": True,
                                          "code": zipped({"__main__.py": "def main(args):\n    return {}\n"})}})
    recoded, called = workspace.run(source, 'print(drifter({"name": "D"})["hi"])')
    line = ibm_line(recoded)
    assert line["verb"] == "redeployed" and "its code was replaced" in line["note"], recoded
    assert called.ok().stdout.strip() == "D", called

    status, _, _ = standin.call("DELETE", "/namespaces/_/actions/drifter")
    assert status == 200
    (recreated,) = workspace.run(source)
    line = ibm_line(recreated)
    assert line["verb"] == "redeployed" and "deleted outside the notebook" in line["note"], recreated


def test_link_call_and_delete(ibm_workspace, standin):
    workspace = ibm_workspace.use(standin)
    deployed, linked, called, deleted, gone = workspace.run(
        cell_for("owner", body='return {"owner": request["name"]}'),
        "%%cloud_function platforms=openwhisk deploy=false remote=owner\ndef borrower(request, context):\n    pass",
        'print(borrower({"name": "L"})["owner"])', "%delete owner ibm", 'owner({"name": "x"})')
    assert ibm_line(deployed)["verb"] == "deployed", deployed
    assert linked.ok().stdout.startswith("ibm: linked borrower"), linked
    assert called.ok().stdout.strip() == "L", called
    assert "deleted owner" in deleted.ok().stdout, deleted
    assert "not deployed on ibm" in gone.error.evalue, gone
    status, _, _ = standin.call("GET", "/namespaces/_/actions/owner")
    assert status == 404


def test_the_command_line(ibm_workspace, standin):
    workspace = ibm_workspace.use(standin)
    (workspace.folder / "adder.py").write_text("def adder(request, context):\n    return request['a'] + 1\n")
    first = workspace.cli("deploy", "adder.py", "--platform", "ibm", "--memory", "512")
    assert first.returncode == 0 and first.stdout.startswith("ibm: deployed adder"), first
    second = workspace.cli("deploy", "adder.py", "--platform", "openwhisk", "--memory", "512")
    assert second.returncode == 0 and second.stdout.startswith("ibm: up to date adder"), second
    called = workspace.cli("invoke", "adder", '{"a": 41}', "--platform", "ibm")
    assert called.returncode == 0 and "42" in called.stdout, called
    deleted = workspace.cli("delete", "adder", "--platform", "ibm")
    assert deleted.returncode == 0 and deleted.stdout.startswith("ibm: deleted adder"), deleted
    missing = workspace.cli("invoke", "adder", "{}", "--platform", "ibm")
    assert missing.returncode != 0 and "not deployed on ibm" in missing.stderr, missing
    for result in (first, second, called, deleted, missing):
        assert_no_secret(result.stdout + result.stderr, "the command's output", secrets_of(standin))
