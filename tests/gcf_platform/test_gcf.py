"""The `gcf` platform through a kernel against the strict Cloud Functions
stand-in: it verifies the service account's RS256 JWTs, checks the bearer
token on every API call and the ID token's audience on every call of a
function, keeps Operations running for a moment, validates updateMask
paths, and runs the uploaded zip's handler under a real flask.Request in a
fresh process per cold start. So these notebooks deploy, change, call and
experiment as on Google."""
import json
import re
import socket
import urllib.error
import urllib.request

import pytest
from conftest import (PROJECT, assert_no_secret, burst_cell, cell_for, gcf_line, key_secret, outputs_text,
                      start_standin)

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
    # the first call starts an instance (its own /tmp has no SAAF id yet), the second reuses it
    assert (first_new, second_new, timed, latency) == (1, 0, True, True), called
    error = failed.error
    assert error.ename == "ValueError" and error.evalue == "asked to fail", failed
    assert 'raise ValueError("asked to fail")' in "\n".join(error.traceback), failed
    assert "about to fail" in "\n".join(error.traceback), failed  # what the call printed, as Lambda's log tail
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
    """Each memory setting is sent before its passes, and once the
    experiment ends one more puts the cell's 128 MB back, so running the
    cell again finds the function up to date."""
    workspace = gcf_workspace.use(standin)
    source = cell_for("sleeper", body='import time; time.sleep(request["sleep"]); return {"ok": 1}',
                      options="memory=128")
    mark = workspace.trace.mark()
    deployed, experiment, again = workspace.run(source, '''%%experiment sleeper
{"experimentName": "on-google", "payloads": [{"sleep": 0.1}], "runs": 8, "threads": 2,
 "memorySettings": [128, 256]}''', source)
    assert gcf_line(deployed)["verb"] in ("deployed", "up to date"), deployed
    experiment.ok()
    runs = list((workspace.folder / "faaset-results" / "sleeper").glob("on-google-*/runs.jsonl"))
    assert len(runs) == 1, list(workspace.folder.rglob("*"))
    rows = [json.loads(line) for line in runs[0].read_text().splitlines()]
    assert len(rows) == 16 and all(r["status"] == "ok" for r in rows), rows[:3]
    assert all(r["endpoint"] == "gcf" for r in rows), rows[0]
    memory_sets = [op for op in workspace.trace.since(mark) if op["op"] == "set_memory"]
    assert len(memory_sets) == 3 and all(op["platform"] == "gcf" for op in memory_sets), memory_sets
    assert function_of(standin, "sleeper")["serviceConfig"]["availableMemory"] == "128Mi"
    summary = json.loads(next(runs[0].parent.glob("summary.json")).read_text())
    assert summary["memoryRestore"] == "memory restored to 128 MB", summary
    assert gcf_line(again)["verb"] == "up to date", again


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


def stats(standin):
    return json.loads(urllib.request.urlopen(standin.url + "/_standin/stats", timeout=10).read())


def free_tcp_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_on_google_the_metadata_server_gives_the_tokens(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    del workspace.env["GOOGLE_APPLICATION_CREDENTIALS"]
    del workspace.env["METADATA_SERVER_DETECTION"]
    workspace.env.update({"GCE_METADATA_HOST": f"127.0.0.1:{standin.port}", "GOOGLE_CLOUD_PROJECT": PROJECT})
    before = stats(standin).get("metadata_tokens", 0)
    deployed, called, shown = workspace.run(cell_for("on_google", body='return {"n": request["n"] + 1}'),
                                            'print(on_google({"n": 1})["n"])', "%platform gcf")
    assert gcf_line(deployed)["verb"] == "deployed", deployed
    assert called.ok().stdout.strip() == "2", called
    assert stats(standin)["metadata_tokens"] == before + 1  # one access token, cached
    assert "metadata server http://127.0.0.1" in shown.ok().stdout and "GCE_METADATA_HOST" in shown.stdout, shown

    workspace.env["GCE_METADATA_HOST"] = f"127.0.0.1:{free_tcp_port()}"  # nothing listens there
    (silent,) = workspace.run(cell_for("on_google", body="return 0"))
    assert "metadata server" in silent.error.evalue and "did not answer" in silent.error.evalue, silent
    assert "GOOGLE_APPLICATION_CREDENTIALS" in silent.error.evalue, silent
    workspace.env["METADATA_SERVER_DETECTION"] = "none"
    (off,) = workspace.run(cell_for("on_google", body="return 0"))
    assert "METADATA_SERVER_DETECTION=none" in off.error.evalue, off


SLOW = '''%%cloud_function platforms=gcf memory=256 timeout=2 max_instances=1
def slow(request, context):
    import time
    time.sleep(request["sleep"])
    return {"slept": request["sleep"]}'''

BURST = burst_cell("slow")


def test_timeouts_and_throttling(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    before = stats(standin)
    deployed, timed_out, burst = workspace.run(SLOW, 'slow({"sleep": 5})', BURST)
    assert gcf_line(deployed)["verb"] in ("deployed", "up to date"), deployed
    assert timed_out.error.ename == "FunctionTimeout" and "timeout=" in timed_out.error.evalue, timed_out
    assert burst.ok().json() == [0.3] * 4, burst  # each 429 at max_instances=1 waited out and sent again
    after = stats(standin)
    assert after.get("timeouts_504", 0) == before.get("timeouts_504", 0) + 1, after
    assert after.get("throttled_429", 0) > before.get("throttled_429", 0), "4 calls at 1 instance never throttled"


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


def outside(standin, method, function_id, body=None, mask=None):
    """A change made with Google's API directly (gcloud, the console), waited for."""
    token = standin.access_token()
    name = f"projects/{PROJECT}/locations/us-central1/functions/{function_id}"
    status, operation = standin.call(method, f"/v2/{name}", body, token=token,
                                     query={"updateMask": mask} if mask else None)
    assert status == 200, operation
    assert "error" not in standin.wait(operation, token)


def test_drift_is_noticed_and_repaired(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    source = cell_for("drifter", options="memory=256 max_instances=2")
    (deployed,) = workspace.run(source)
    assert gcf_line(deployed)["verb"] == "deployed", deployed
    assert function_of(standin, "drifter")["serviceConfig"]["maxInstanceCount"] == 2

    outside(standin, "PATCH", "drifter", {"serviceConfig": {"availableMemory": "1024Mi"}},
            "serviceConfig.availableMemory")
    repaired, again = workspace.run(source, source)
    line = gcf_line(repaired)
    assert line["verb"] == "redeployed" and "its memory is 1024 MB, the notebook's 256 MB" in line["note"], repaired
    assert gcf_line(again)["verb"] == "up to date" and again.ok().stdout.count("changed outside") == 0
    assert function_of(standin, "drifter")["serviceConfig"]["availableMemory"] == "256Mi"

    outside(standin, "PATCH", "drifter", {"labels": {"faaset-code": "0" * 40}}, "labels")
    (recoded,) = workspace.run(source)
    line = gcf_line(recoded)
    assert line["verb"] == "redeployed" and "its source is not the notebook's" in line["note"], recoded

    outside(standin, "DELETE", "drifter")
    (recreated,) = workspace.run(source)
    line = gcf_line(recreated)
    assert line["verb"] == "redeployed" and "deleted outside the notebook" in line["note"], recreated

    (more,) = workspace.run(source.replace("max_instances=2", "max_instances=3"))
    assert gcf_line(more)["verb"] == "updated configuration of", more
    assert function_of(standin, "drifter")["serviceConfig"]["maxInstanceCount"] == 3


def test_link_call_and_delete(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    deployed, linked, called, deleted, gone = workspace.run(
        cell_for("owner", body='return {"owner": request["name"]}'),
        "%%cloud_function platforms=gcf deploy=false remote=owner\ndef borrower(request, context):\n    pass",
        'print(borrower({"name": "L"})["owner"])', "%delete owner gcf", 'owner({"name": "x"})')
    assert gcf_line(deployed)["verb"] == "deployed", deployed
    assert linked.ok().stdout.startswith("gcf: linked borrower"), linked
    assert called.ok().stdout.strip() == "L", called
    assert "deleted owner" in deleted.ok().stdout, deleted
    assert "not deployed on gcf" in gone.error.evalue, gone
    status, _ = standin.call("GET", f"/v2/projects/{PROJECT}/locations/us-central1/functions/owner",
                             token=standin.access_token())
    assert status == 404


def test_the_command_line(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    (workspace.folder / "adder.py").write_text("def adder(request, context):\n    return request['a'] + 1\n")
    first = workspace.cli("deploy", "adder.py", "--platform", "gcf", "--memory", "512")
    assert first.returncode == 0 and first.stdout.startswith("gcf: deployed adder"), first
    second = workspace.cli("deploy", "adder.py", "--platform", "gcf", "--memory", "512")
    assert second.returncode == 0 and second.stdout.startswith("gcf: up to date adder"), second
    called = workspace.cli("invoke", "adder", '{"a": 41}', "--platform", "gcf")
    assert called.returncode == 0 and "42" in called.stdout, called
    deleted = workspace.cli("delete", "adder", "--platform", "gcf")
    assert deleted.returncode == 0 and deleted.stdout.startswith("gcf: deleted adder"), deleted
    missing = workspace.cli("invoke", "adder", "{}", "--platform", "gcf")
    assert missing.returncode != 0 and "not deployed on gcf" in missing.stderr, missing
    for result in (first, second, called, deleted, missing):
        assert_no_secret(result.stdout + result.stderr, "the command's output", [key_secret(standin)])


def test_the_command_line_waits_for_event_calls_and_says_which_it_stopped_without(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    (workspace.folder / "late.py").write_text("def late(request, context):\n    import time\n    time.sleep(20)\n"
                                              "    return 1\n\nprint(late.invoke({}, event=True)['StatusCode'])\n")
    deployed = workspace.cli("deploy", "late.py", "--platform", "gcf", timeout=120)
    assert deployed.returncode == 0 and deployed.stdout.startswith("gcf: deployed late"), deployed
    assert "202" in deployed.stdout, deployed
    assert ("faaset: 1 Event call on gcf (fn.invoke(..., event=True)) had not been sent when faaset stopped (it "
            "waited 3 s for them)") in deployed.stderr, deployed


def raw_call(url, payload):
    """A call with no token at all, as anyone on the internet would make it: (status, body)."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def invoker_policy(standin, resource):
    status, policy = standin.call("GET", f"/v2/{resource}:getIamPolicy", token=standin.access_token())
    assert status == 200, policy
    return policy


def test_allow_unauthenticated_opens_and_closes_the_function(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    public = cell_for("public_fn", body='return {"echo": request["x"]}', options="memory=256 allow_unauthenticated=true")
    deployed, called = workspace.run(public, 'print(public_fn({"x": 5})["echo"])')
    assert gcf_line(deployed)["verb"] == "deployed", deployed
    assert called.ok().stdout.strip() == "5", called
    service = f"projects/{PROJECT}/locations/us-central1/services/public-fn"
    bindings = invoker_policy(standin, service)["bindings"]
    assert {"role": "roles/run.invoker", "members": ["allUsers"]} in bindings, bindings
    url = function_of(standin, "public-fn")["url"]
    assert raw_call(url, {"x": 1})[0] == 200

    # gcloud's user credentials give no ID token for the URL: an open function is still callable
    workspace.env.pop("GOOGLE_APPLICATION_CREDENTIALS")
    (standin.folder / "adc").mkdir(exist_ok=True)
    user = dict(json.loads(standin.adc_file.read_text()), token_uri=standin.token_uri)
    (standin.folder / "adc" / "application_default_credentials.json").write_text(json.dumps(user))
    workspace.env.update({"CLOUDSDK_CONFIG": str(standin.folder / "adc"), "GOOGLE_CLOUD_PROJECT": PROJECT})
    unchanged, as_user = workspace.run(public, 'print(public_fn({"x": 6})["echo"])')
    assert gcf_line(unchanged)["verb"] == "up to date", unchanged
    assert as_user.ok().stdout.strip() == "6", as_user

    workspace.env["GOOGLE_APPLICATION_CREDENTIALS"] = str(standin.key_file)
    (closed,) = workspace.run(public.replace("allow_unauthenticated=true", "allow_unauthenticated=false"))
    assert gcf_line(closed)["verb"] == "updated configuration of", closed
    assert raw_call(url, {"x": 1})[0] == 401
    assert not any("allUsers" in b["members"] for b in invoker_policy(standin, service).get("bindings", []))

    first_gen = cell_for("old_public", body="return 1", options="memory=256 allow_unauthenticated=true")
    _, deployed_gen1 = workspace.run("%platform gcf generation=1", first_gen)
    assert gcf_line(deployed_gen1)["verb"] == "deployed", deployed_gen1
    function = f"projects/{PROJECT}/locations/us-central1/functions/old-public"
    bindings = invoker_policy(standin, function)["bindings"]
    assert {"role": "roles/cloudfunctions.invoker", "members": ["allUsers"]} in bindings, bindings
    assert raw_call(function_of(standin, "old-public")["url"], {})[0] == 200

    workspace.env.update({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "not-a-secret",
                          "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_tcp_port()}"})
    (refused,) = workspace.run("%%cloud_function platforms=aws allow_unauthenticated=true\n"
                               "def nope(request, context):\n    return 1")
    assert "allow_unauthenticated= is a Cloud Functions setting" in refused.error.evalue, refused


def test_an_event_call_returns_once_sent_and_runs(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    source = cell_for("eventful", body='print("event for " + request["name"]); return 1')
    logs = f"{standin.url}/_standin/logs/{PROJECT}/us-central1/eventful"
    # the kernel lives on while the call it did not wait for runs (calls still unsent when it stops are dropped)
    wait_for_log = f"""import json, time, urllib.request
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    lines = json.loads(urllib.request.urlopen({logs!r}, timeout=10).read())["lines"]
    if any("event for Ada" in line for line in lines):
        break
    time.sleep(0.2)
print(any("event for Ada" in line for line in lines))"""
    deployed, queued, ran = workspace.run(
        source, 'print(eventful.invoke({"name": "Ada"}, event=True)["StatusCode"])', wait_for_log)
    assert gcf_line(deployed)["verb"] in ("deployed", "up to date"), deployed
    assert queued.ok().stdout.strip() == "202", queued
    assert ran.ok().stdout.strip() == "True", ran


def standin_log_lines(standin, function_id):
    url = f"{standin.url}/_standin/logs/{PROJECT}/us-central1/{function_id}"
    with urllib.request.urlopen(url, timeout=10) as answer:
        return json.loads(answer.read())["lines"]


def test_a_shutdown_waits_for_event_calls_still_being_sent(gcf_workspace, standin):
    workspace = gcf_workspace.use(standin)
    workspace.env["FAASET_LOG_LEVEL"] = "info"
    source = cell_for("lastword", body='import time\n    time.sleep(0.2)\n    print("last word from " + '
                                       'request["name"])\n    return 1')
    # warm, then an Event call as the notebook's last cell: nbclient shuts the kernel down right after its 202
    deployed, warm, queued = workspace.run(source, 'lastword({"name": "warm"})',
                                           'print(lastword.invoke({"name": "Ada"}, event=True)["StatusCode"])')
    assert gcf_line(deployed)["verb"] in ("deployed", "up to date"), deployed
    warm.ok()
    assert queued.ok().stdout.strip() == "202", queued
    assert "waiting up to 3 s for 1 Event call on gcf to be sent" in workspace.last_stderr, workspace.last_stderr
    assert "had not been sent" not in workspace.last_stderr, workspace.last_stderr
    assert any("last word from Ada" in line for line in standin_log_lines(standin, "lastword"))
    assert not (workspace.folder / ".faaset" / "notice").exists()


@pytest.mark.deadline(240)
def test_event_calls_not_sent_by_shutdown_are_reported_now_and_to_the_next_kernel(gcf_workspace, standin):
    import os
    import stat
    import types

    from faaset_testing import DirectKernel
    workspace = gcf_workspace.use(standin)
    source = cell_for("neverdone", body="import time\n    time.sleep(20)\n    return 1")
    where = types.SimpleNamespace(dir=workspace.folder, env=workspace.env, python=workspace.sandbox.python)
    kernel = DirectKernel(where)
    try:
        reply, _ = kernel.execute(source, timeout=120)
        assert reply["status"] == "ok", reply
        reply, outputs = kernel.execute('print(neverdone.invoke({}, event=True)["StatusCode"])')
        assert reply["status"] == "ok" and "202" in str(outputs), outputs
        running = kernel.client.execute("import time\ntime.sleep(60)")
        while True:  # the cell is running when the kernel is asked to stop
            msg = kernel.client.get_iopub_msg(timeout=30)
            if msg["parent_header"].get("msg_id") == running and msg["msg_type"] == "execute_input":
                break
        took = kernel.shutdown(timeout=60)
        assert took >= 3, f"the kernel stopped after {took:.1f} s without waiting for the Event call"
        told = ""
        while True:
            try:
                msg = kernel.client.get_iopub_msg(timeout=2)
            except Exception:  # queue.Empty: nothing more came before the kernel exited
                break
            if msg["parent_header"].get("msg_id") == running and msg["msg_type"] == "stream":
                told += msg["content"]["text"]
    finally:
        assert kernel.stop() == 0
    sentence = ("1 Event call on gcf (fn.invoke(..., event=True)) had not been sent when the kernel stopped (it "
                "waited 3 s for them); they may not have reached their function: call them again")
    assert sentence in told, told
    logged = kernel.stderr_path.read_text()
    assert sentence in logged, logged
    notice = workspace.folder / ".faaset" / "notice"
    assert stat.S_IMODE(os.stat(notice).st_mode) == 0o600

    # the next kernel in this folder says so on its first cell, once
    first, second = workspace.run("print(1)", "print(2)")
    assert first.ok().stream("stderr") == "The kernel that ran before this one in this folder: " + sentence + "\n"
    assert second.ok().stream("stderr") == "", second
    assert not notice.exists()
