"""The `gcf` platform through a kernel against the strict Cloud Functions
stand-in: it verifies the service account's RS256 JWTs, checks the bearer
token on every API call and the ID token's audience on every call of a
function, keeps Operations running for a moment, validates updateMask
paths, and runs the uploaded zip's handler under a real flask.Request in a
fresh process per cold start. So these notebooks deploy, change, call and
experiment as on Google."""
import json
import re

import pytest
from conftest import (PROJECT, assert_no_secret, cell_for, gcf_line, key_secret, outputs_text, start_standin)

HELLO = '''%%cloud_function platforms=gcf memory=256 timeout=30
def hello_world(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectPlatform()
    inspector.inspectContainer()
    if request.get("fail"):
        print("about to fail")
        raise ValueError("asked to fail")
    inspector.addAttribute("message", "Hello " + request["name"] + "!")
    inspector.addAttribute("function", context.function_name)
    return inspector.finish()'''

CALL_TWICE = '''import json
first, second = hello_world({"name": "Bob"}), hello_world({"name": "Eve"})
print(json.dumps([first["message"], first["platform"], first["functionName"], first["function"],
                  first["newcontainer"], second["newcontainer"], first["roundTripTime"] > 0,
                  "latency" in first]))'''


def function_of(standin, function_id):
    status, function = standin.call("GET", f"/v2/projects/{PROJECT}/locations/us-central1/functions/{function_id}",
                                    token=standin.access_token())
    assert status == 200, function
    return function


def test_deploy_call_change_and_errors(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    deployed, called, failed = workspace.run(HELLO, CALL_TWICE, 'hello_world({"name": "x", "fail": True})')
    line = gcf_line(deployed)
    assert line["verb"] == "deployed" and "hello-world" in line["note"], deployed
    message, platform, name, context_name, first_new, second_new, timed, latency = called.ok().json()
    assert (message, platform, name, context_name) == ("Hello Bob!", "Google Cloud Functions", "hello-world",
                                                       "hello-world"), called
    assert (second_new, timed, latency) == (0, True, True), called  # the second call reuses the instance
    error = failed.error
    assert error.ename == "ValueError" and error.evalue == "asked to fail", failed
    assert 'raise ValueError("asked to fail")' in "\n".join(error.traceback), failed
    function = function_of(standin, "hello-world")
    assert function["serviceConfig"]["availableMemory"] == "256Mi" and function["environment"] == "GEN_2"
    assert function["buildConfig"]["entryPoint"] == "gcf_handler" and function["buildConfig"]["runtime"] == "python312"

    unchanged, reconfigured, recoded, called_again = workspace.run(
        HELLO, HELLO.replace("memory=256", "memory=512"),
        HELLO.replace("memory=256", "memory=512").replace('"Hello "', '"Hi "'),
        'print(hello_world({"name": "Bob"})["message"])')
    assert gcf_line(unchanged)["verb"] == "up to date", unchanged
    assert gcf_line(reconfigured)["verb"] == "updated configuration of", reconfigured
    assert gcf_line(recoded)["verb"] == "updated code of", recoded
    assert called_again.ok().stdout.strip() == "Hi Bob!"
    function = function_of(standin, "hello-world")
    assert function["serviceConfig"]["availableMemory"] == "512Mi"
    assert set(function["labels"]) >= {"faaset-code", "faaset-source"}
    assert key_secret(standin) not in outputs_text([deployed, called, failed, unchanged, reconfigured, recoded])


def test_an_experiment_sets_memory_before_each_pass(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    source = cell_for("sleeper", body='import time; time.sleep(request["sleep"]); return {"ok": 1}',
                      options="memory=128")
    mark = workspace.trace.mark()
    deployed, experiment = workspace.run(source, '''%%experiment sleeper
{"experimentName": "on-google", "payloads": [{"sleep": 0.1}], "runs": 8, "threads": 2,
 "memorySettings": [128, 256]}''')
    assert gcf_line(deployed)["verb"] in ("deployed", "up to date"), deployed
    experiment.ok()
    runs = list((workspace.folder / "faaset-results" / "sleeper").glob("on-google-*/runs.jsonl"))
    assert len(runs) == 1, list(workspace.folder.rglob("*"))
    rows = [json.loads(line) for line in runs[0].read_text().splitlines()]
    assert len(rows) == 16 and all(r["status"] == "ok" for r in rows), rows[:3]
    assert all(r["endpoint"] == "gcf" for r in rows), rows[0]
    memory_sets = [op for op in workspace.trace.since(mark) if op["op"] == "set_memory"]
    assert len(memory_sets) == 2 and all(op["platform"] == "gcf" for op in memory_sets), memory_sets
    assert function_of(standin, "sleeper")["serviceConfig"]["availableMemory"] == "256Mi"


def test_sizes_and_names_google_refuses_are_explained(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    odd_memory, = workspace.run(cell_for("odd_memory", options="memory=384"))
    assert "128, 256, 512, 1024" in odd_memory.error.evalue and "memory=384" in odd_memory.error.evalue, odd_memory
    named, = workspace.run(cell_for("X_1", body="return 7"))
    line = gcf_line(named)
    assert line["verb"] == "deployed" and "x-1-fn" in line["note"], named


@pytest.mark.deadline(120)
def test_bad_credentials_say_what_to_do(gcf_workspace, standin, tmp_path):
    workspace = gcf_workspace.use(standin)
    del workspace.env["GOOGLE_APPLICATION_CREDENTIALS"]
    (missing,) = workspace.run(cell_for("nocreds"))
    assert "GOOGLE_APPLICATION_CREDENTIALS" in missing.error.evalue and "gcloud auth" in missing.error.evalue

    broken = tmp_path / "broken.json"
    broken.write_text('{"type": "service_account", "private_key": "not a key"')
    workspace.env["GOOGLE_APPLICATION_CREDENTIALS"] = str(broken)
    (unparsable,) = workspace.run(cell_for("nocreds"))
    assert str(broken) in unparsable.error.evalue, unparsable

    stranger = json.loads(standin.key_file.read_text())
    stranger["client_email"] = "stranger@elsewhere.iam.gserviceaccount.com"
    (tmp_path / "stranger.json").write_text(json.dumps(stranger))
    workspace.env["GOOGLE_APPLICATION_CREDENTIALS"] = str(tmp_path / "stranger.json")
    (refused,) = workspace.run(cell_for("nocreds"))
    assert "refused the service account stranger@" in refused.error.evalue, refused

    workspace.env["GOOGLE_APPLICATION_CREDENTIALS"] = str(standin.key_file)
    _, disabled, _, unknown_region = workspace.run(
        "%platform gcf project=disabled-project", cell_for("nocreds"), "%platform gcf region=mars-north1",
        cell_for("nocreds"))
    assert "not enabled in project disabled-project" in disabled.error.evalue, disabled
    assert "gcloud services enable" in disabled.error.evalue, disabled
    assert "region mars-north1" in unknown_region.error.evalue and "region=us-central1" in \
        unknown_region.error.evalue, unknown_region
    reader = json.loads(standin.key_file.read_text())
    reader["client_email"] = standin.other_email
    from cryptography.hazmat.primitives import serialization
    reader["private_key"] = standin.other_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    reader.pop("private_key_id")
    (tmp_path / "reader.json").write_text(json.dumps(reader))
    workspace.env["GOOGLE_APPLICATION_CREDENTIALS"] = str(tmp_path / "reader.json")
    (no_permission,) = workspace.run(cell_for("nocreds"))
    assert "cloudfunctions.functions" in no_permission.error.evalue and "roles/cloudfunctions.developer" in \
        no_permission.error.evalue, no_permission
    assert_no_secret(outputs_text([missing, unparsable, refused, disabled, unknown_region, no_permission]),
                     "the outputs", [key_secret(standin)])


def test_over_https_with_the_test_ca(gcf_workspace, tmp_path):
    import sys
    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "tests" / "support"))
    from tls_terminator import TlsTerminator, free_port
    port = free_port()
    terminator = TlsTerminator(tmp_path / "tls", port, 16)
    try:
        secure = start_standin(tmp_path / "secure", public_url=terminator.url.rstrip("/"),
                               extra_args=("--port", str(port)))
        try:
            workspace = gcf_workspace.use(secure)
            workspace.env["SSL_CERT_FILE"] = str(terminator.ca_file)
            deployed, called = workspace.run(cell_for("secure", body="return {'n': request['n'] * 2}"),
                                             "print(sum(secure({'n': i})['n'] for i in range(10)))")
            assert gcf_line(deployed)["verb"] == "deployed", deployed
            assert called.ok().stdout.strip() == str(2 * sum(range(10))), called
            assert re.match(r"https://localhost:\d+/functions/", function_of(secure, "secure")["url"])
        finally:
            secure.stop()
    finally:
        terminator.stop()
