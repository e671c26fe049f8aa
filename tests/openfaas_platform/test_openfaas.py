"""The `openfaas` platform through a kernel against the strict OpenFaaS
gateway stand-in and a real registry: the kernel builds each cell's image
and pushes it (checked with skopeo), then deploys (POST) and updates (PUT)
it through the gateway, which pulls and runs it for real; readiness
through availableReplicas, calls through /function/NAME and
/async-function/NAME, the function's exceptions, drift, delete,
experiments, images given with image= (pushed by the test with skopeo)
and the command line."""
import http.server
import json
import threading
import time

import pytest
from conftest import (assert_no_secret, function_cell, image_of, of_line, outputs_text, secrets_of, settings_cell,
                      start_gateway)
from oci_registry import layer_files, layout_manifest
from wheels import wheelhouse

HELLO_BODY = ('from SAAF import Inspector\n    inspector = Inspector()\n    inspector.inspectContainer()\n'
              '    inspector.inspectPlatform()\n'
              '    if request.get("fail"):\n        raise ValueError("asked to fail")\n'
              '    inspector.addAttribute("message", "Hello " + request["name"] + "!")\n'
              '    inspector.addAttribute("function", context.function_name)\n'
              '    inspector.addAttribute("call", context.aws_request_id)\n'
              '    return inspector.finish()')


CALL = ('import json\nr = hello_world({"name": "Bob"})\nprint(json.dumps([r["message"], r["function"], '
        'len(r["call"]), r["roundTripTime"] > 0, r["platform"]]))')


def test_deploy_call_change_and_errors(of_workspace, gateway, registry):
    workspace = of_workspace.use(gateway)
    cell = function_cell("hello_world", HELLO_BODY)
    _, deployed, called, failed = workspace.run(settings_cell(registry), cell, CALL,
                                                'hello_world({"name": "x", "fail": True})')
    line = of_line(deployed)
    assert line["verb"] == "deployed", deployed
    assert f"image {registry.host}/functions/hello-world@sha256:" in line["note"], deployed
    assert called.ok().json() == ["Hello Bob!", "hello_world", 32, True, "OpenFaaS"], called
    error = failed.error
    assert error.ename == "ValueError" and error.evalue == "asked to fail", failed
    traceback = "\n".join(error.traceback)
    assert 'raise ValueError("asked to fail")' in traceback and "OpenFaaS call" in traceback, failed
    record = gateway.function("hello-world")
    assert record["image"].startswith(f"{registry.host}/functions/hello-world@sha256:"), record
    assert record["limits"] == {"memory": "256Mi"} and record["annotations"]["faaset-timeout"] == "30", record
    code_hash = record["labels"]["faaset-code"]
    digest = record["image"].split("@")[1]
    config = registry.inspect_config(f"functions/hello-world@{digest}")["config"]  # read back by skopeo
    assert config["Entrypoint"] == ["python3", "/function/faaset_http.py"] and "PORT=8080" in config["Env"], config
    assert "fprocess=python3 /function/faaset_http.py" in config["Env"], config
    assert config["Labels"]["dev.faaset.code"] == code_hash and config["WorkingDir"] == "/function", config

    recoded_cell = function_cell("hello_world", HELLO_BODY.replace('"Hello "', '"Hi "'), options="memory=512 env=MODE=a")
    mark = registry.log_mark()
    _, unchanged, reconfigured, recoded, called_again = workspace.run(
        settings_cell(registry), cell, cell.replace("memory=256", "memory=512 env=MODE=a"), recoded_cell,
        'print(hello_world({"name": "Bob"})["message"])')
    assert of_line(unchanged)["verb"] == "up to date", unchanged
    assert of_line(reconfigured)["verb"] == "updated configuration of", reconfigured
    line = of_line(recoded)
    assert line["verb"] == "updated code of", recoded
    assert called_again.ok().stdout.strip() == "Hi Bob!", called_again
    # the code change pushed the code layer and the config, not the base
    assert len(registry.blob_uploads_since(mark)) == 2, registry.requests_since(mark)
    record = gateway.function("hello-world")
    assert record["image"] != f"{registry.host}/functions/hello-world@{digest}" and record["envVars"] == {"MODE": "a"}
    assert record["limits"] == {"memory": "512Mi"} and record["labels"]["faaset-code"] != code_hash, record
    stats = gateway.stats()
    assert stats["requests"]["POST /system/functions"] == 1 and stats["requests"]["PUT /system/functions"] == 2
    assert stats["credentials_to_functions"] == 0, stats
    shown = outputs_text([deployed, called, failed, unchanged, reconfigured, recoded, called_again])
    assert_no_secret(shown, "the outputs", secrets_of(gateway))


def test_an_image_given_with_image(of_workspace, gateway, registry, tmp_path):
    workspace = of_workspace.use(gateway)
    image = image_of(registry, tmp_path, "given", 'return {"v": 1}')
    changed = image_of(registry, tmp_path, "given", 'return {"v": 2}', "v2")
    deployed, called, unchanged, recoded, called_again = workspace.run(
        function_cell("given", 'return {"v": 1}', image), 'print(given({})["v"])',
        function_cell("given", 'return {"v": 1}', image), function_cell("given", 'return {"v": 1}', changed),
        'print(given({})["v"])')
    assert of_line(deployed)["verb"] == "deployed" and of_line(deployed)["note"] is None, deployed
    assert called.ok().stdout.strip() == "1", called
    assert of_line(unchanged)["verb"] == "up to date", unchanged
    assert of_line(recoded)["verb"] == "updated code of", recoded
    assert called_again.ok().stdout.strip() == "2", called_again
    assert gateway.function("given")["image"] == changed


def test_throttling_is_retried_with_the_backoff_policy(of_workspace, gateway, registry):
    """429s from the gateway (its /system calls) and from a function's watchdog (calls) are tried again."""
    workspace = of_workspace.use(gateway)
    before = gateway.stats()["throttled"]
    gateway.throttle("system", 2)
    gateway.throttle("function", 2)  # the deploy makes no call to the function: the cell's call meets these
    _, deployed, called = workspace.run(settings_cell(registry), function_cell("patient", 'return {"n": request["n"]}'),
                                        'print(patient({"n": 7})["n"])')
    assert of_line(deployed)["verb"] == "deployed", deployed
    assert called.ok().stdout.strip() == "7", called
    assert gateway.stats()["throttled"] - before == 4


def test_dependencies_are_installed_into_the_image(of_workspace, gateway, registry, tmp_path):
    """requirements= on openfaas: pip installs manylinux x86_64 wheels for the runtime's Python (a wheelhouse made
    here, no index) into the image's dependency layer, and the function imports them."""
    workspace = of_workspace.use(gateway)
    wheelhouse(tmp_path / "wheels")
    workspace.env.update({"PIP_FIND_LINKS": str(tmp_path / "wheels"), "PIP_NO_INDEX": "1",
                          "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    cell = ('%%cloud_function platforms=openfaas requirements="greetlib==1.0"\nimport greetlib\nimport native_probe\n\n\n'
            'def greeter(request, context):\n    return {"message": greetlib.greet(request["name"]), '
            '"machine": native_probe.MACHINE}')
    _, deployed, called = workspace.run(settings_cell(registry), cell,
                                        'r = greeter({"name": "Ann"})\nprint(r["message"], r["machine"])')
    line = of_line(deployed)
    assert line["verb"] == "deployed" and "dependencies: installed" in deployed.stdout, deployed
    assert called.ok().stdout.strip() == "Hello Ann x86_64", called
    digest = gateway.function("greeter")["image"].split("@")[1]
    layout = registry.copy_to_layout(f"functions/greeter@{digest}", tmp_path / "pulled")  # read back by skopeo
    files = layer_files(layout, layout_manifest(layout))
    assert "function/deps/greetlib/__init__.py" in files and "function/faaset_http.py" in files, sorted(files)


def test_async_calls_are_accepted_and_run(of_workspace, gateway, registry):
    workspace = of_workspace.use(gateway)
    received = []

    class Callback(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Callback)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    body = ('import urllib.request, json\n    urllib.request.urlopen(urllib.request.Request(request["to"], '
            'data=json.dumps({"n": request["n"] * 2}).encode(), method="POST")).read()\n    return {"n": request["n"]}')
    try:
        _, deployed, queued = workspace.run(
            settings_cell(registry), function_cell("later", body),
            f'r = later.invoke({{"n": 21, "to": "http://127.0.0.1:{server.server_address[1]}/"}}, event=True)\n'
            'print(r["StatusCode"], len(r["callId"]))')
        deadline = time.monotonic() + 60
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    assert of_line(deployed)["verb"] == "deployed", deployed
    assert queued.ok().stdout.strip() == "202 32", queued
    assert json.loads(received[0]) == {"n": 42}
    assert gateway.stats()["async_invocations"] == 1


def test_drift_is_noticed_and_repaired(of_workspace, gateway, registry, tmp_path):
    workspace = of_workspace.use(gateway)
    settings, cell = settings_cell(registry), function_cell("drifter", 'return {"hi": request["name"]}')
    _, deployed = workspace.run(settings, cell)
    assert of_line(deployed)["verb"] == "deployed", deployed

    record = gateway.function("drifter")
    status, body, _ = gateway.call("PUT", "/system/functions", {
        "service": "drifter", "image": record["image"], "labels": record["labels"],
        "annotations": record["annotations"], "limits": {"memory": "1Gi"}})
    assert status == 200, body
    _, repaired, again = workspace.run(settings, cell, cell)
    line = of_line(repaired)
    assert line["verb"] == "redeployed" and "its memory limit is 1Gi, the notebook's 256Mi" in line["note"], repaired
    assert of_line(again)["verb"] == "up to date" and "changed outside" not in again.stdout, again
    assert gateway.function("drifter")["limits"]["memory"] == "256Mi"

    other = image_of(registry, tmp_path, "drifter", 'return {"other": 1}', "other")
    status, body, _ = gateway.call("PUT", "/system/functions", {"service": "drifter", "image": other})
    assert status == 200, body
    mark = registry.log_mark()
    _, recoded, called = workspace.run(settings, cell, 'print(drifter({"name": "D"})["hi"])')
    line = of_line(recoded)
    assert line["verb"] == "redeployed" and "its code is not the notebook's" in line["note"], recoded
    assert "(0 blobs sent" in line["note"], recoded  # the image was there: rebuilt to the same digest
    assert registry.blob_uploads_since(mark) == []
    assert gateway.function("drifter")["image"] == record["image"]
    assert called.ok().stdout.strip() == "D", called

    assert gateway.call("DELETE", "/system/functions", {"functionName": "drifter"})[0] == 200
    _, recreated = workspace.run(settings, cell)
    line = of_line(recreated)
    assert line["verb"] == "redeployed" and "deleted outside the notebook" in line["note"], recreated


def test_changing_the_platforms_registry_alone_redeploys(of_workspace, gateway, registry):
    """`%platform openfaas registry=` is part of what the deploy compares: the same cell after it changes is
    pushed to the new place and the function updated to that image; the same setting again is up to date."""
    workspace = of_workspace.use(gateway)
    cell = function_cell("mover", 'return {"hi": request["name"]}')
    moved_settings = settings_cell(registry).replace("/functions ", "/moved ")
    _, deployed, _, moved, again, called = workspace.run(settings_cell(registry), cell, moved_settings, cell, cell,
                                                         'print(mover({"name": "M"})["hi"])')
    assert of_line(deployed)["verb"] == "deployed", deployed
    assert of_line(moved)["verb"] == "updated code of", moved
    assert gateway.function("mover")["image"].startswith(f"{registry.host}/moved/mover@sha256:")
    assert of_line(again)["verb"] == "up to date", again
    assert called.ok().stdout.strip() == "M", called


def test_link_call_and_delete(of_workspace, gateway, registry):
    workspace = of_workspace.use(gateway)
    _, deployed, linked, called, deleted, gone, again = workspace.run(
        settings_cell(registry), function_cell("owner", 'return {"owner": request["name"]}'),
        "%%cloud_function platforms=openfaas deploy=false remote=owner\ndef borrower(request, context):\n    pass",
        'print(borrower({"name": "L"})["owner"])', "%delete owner openfaas", 'owner({"name": "x"})',
        "%delete owner openfaas")
    assert of_line(deployed)["verb"] == "deployed", deployed
    assert linked.ok().stdout.startswith("openfaas: linked borrower"), linked
    assert called.ok().stdout.strip() == "L", called
    assert "deleted owner" in deleted.ok().stdout, deleted
    assert "not deployed on openfaas" in gone.error.evalue, gone
    assert "not deployed on openfaas" in again.error.evalue, again
    assert gateway.call("GET", "/system/function/owner")[0] == 404


def test_an_experiment_sets_memory_before_each_pass(of_workspace, gateway, registry):
    workspace = of_workspace.use(gateway)
    body = 'import time; time.sleep(request["sleep"]); return {"ok": 1}'
    mark = workspace.trace.mark()
    _, deployed, experiment = workspace.run(settings_cell(registry), function_cell("sleeper", body, options="memory=128"),
                                            '''%%experiment sleeper
{"experimentName": "on-openfaas", "payloads": [{"sleep": 0.1}], "runs": 8, "threads": 2,
 "memorySettings": [128, 256]}''', cell_timeout=180)
    assert of_line(deployed)["verb"] == "deployed", deployed
    experiment.ok()
    runs = list((workspace.folder / "faaset-results" / "sleeper").glob("on-openfaas-*/runs.jsonl"))
    assert len(runs) == 1, list(workspace.folder.rglob("*"))
    rows = [json.loads(line) for line in runs[0].read_text().splitlines()]
    assert len(rows) == 16 and all(r["status"] == "ok" for r in rows), rows[:3]
    assert all(r["endpoint"] == "openfaas" for r in rows), rows[0]
    memory_sets = [op for op in workspace.trace.since(mark) if op["op"] == "set_memory"]
    assert len(memory_sets) == 3 and all(op["platform"] == "openfaas" for op in memory_sets), memory_sets
    assert gateway.function("sleeper")["limits"]["memory"] == "128Mi"


def test_bad_credentials_and_settings_say_what_to_do(of_workspace, gateway, registry, tmp_path):
    cell = function_cell("nocreds", "return {}")
    workspace = of_workspace.use(gateway, password="wrong-password")
    _, refused = workspace.run(settings_cell(registry), cell)
    assert "did not accept the password of the user admin" in refused.error.evalue, refused
    assert "faas-cli login" in refused.error.evalue, refused

    del workspace.env["OPENFAAS_CONFIG"]
    workspace.env["HOME"] = str(tmp_path / "home")
    (tmp_path / "home").mkdir()
    (missing,) = workspace.run(cell)
    assert "no credentials for the OpenFaaS gateway" in missing.error.evalue, missing
    assert "OPENFAAS_PASSWORD" in missing.error.evalue, missing

    workspace = of_workspace.use(gateway)
    in_notebook, no_image, bad_timeout = workspace.run(
        "%platform openfaas auth=admin:x", "%%cloud_function platforms=openfaas\ndef noimage(request, context):\n"
        "    return {}", "%platform openfaas ready_timeout=0")
    assert "never goes in the notebook" in in_notebook.error.evalue, in_notebook
    assert "OpenFaaS runs container images" in no_image.error.evalue, no_image
    assert "registry=" in no_image.error.evalue and "image=" in no_image.error.evalue, no_image
    assert "ready_timeout must be" in bad_timeout.error.evalue, bad_timeout
    assert gateway.call("GET", "/system/function/nocreds")[0] == 404  # nothing was deployed
    assert_no_secret(outputs_text([refused, missing, in_notebook]), "the outputs", secrets_of(gateway))


@pytest.mark.deadline(180)
def test_readiness_has_a_bound(of_workspace, registry, tmp_path):
    slow = start_gateway(tmp_path / "slow", registry, "--ready-delay", "30")
    try:
        workspace = of_workspace.use(slow)
        configured, waited = workspace.run(settings_cell(registry) + " ready_timeout=2",
                                           function_cell("sluggish", "return {}"))
    finally:
        slow.stop()
    assert f"gateway {slow.url} from OPENFAAS_URL" in configured.ok().stdout, configured
    evalue = waited.error.evalue
    assert "no replica was ready after 2 s" in evalue and "ready_timeout=S" in evalue, waited


def test_the_command_line(of_workspace, gateway, registry):
    workspace = of_workspace.use(gateway)
    (workspace.folder / "adder.py").write_text("def adder(request, context):\n    return request['a'] + 1\n")
    where = ["--registry", f"http://{registry.host}/functions", "--image_base", f"http://{registry.host}/base:1"]
    first = workspace.cli("deploy", "adder.py", "--platform", "openfaas", "--memory", "512", *where)
    assert first.returncode == 0 and first.stdout.startswith("openfaas: deployed adder"), first
    assert f"image {registry.host}/functions/adder@sha256:" in first.stdout, first
    second = workspace.cli("deploy", "adder.py", "--platform", "openfaas", "--memory", "512", *where)
    assert second.returncode == 0 and second.stdout.startswith("openfaas: up to date adder"), second
    called = workspace.cli("invoke", "adder", '{"a": 41}', "--platform", "openfaas")
    assert called.returncode == 0 and "42" in called.stdout, called
    deleted = workspace.cli("delete", "adder", "--platform", "openfaas")
    assert deleted.returncode == 0 and deleted.stdout.startswith("openfaas: deleted adder"), deleted
    missing = workspace.cli("invoke", "adder", "{}", "--platform", "openfaas")
    assert missing.returncode != 0 and "not deployed on openfaas" in missing.stderr, missing
    for result in (first, second, called, deleted, missing):
        assert_no_secret(result.stdout + result.stderr, "the command's output", secrets_of(gateway))
