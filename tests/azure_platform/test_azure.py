"""The `azure` platform through a kernel against the strict Azure stand-in:
Entra ID's client-credentials tokens, Resource Manager's sites, app
settings, functions and keys, Kudu's asynchronous zip deploy (host.json
required, files not in the zip removed), and a Functions host that runs the
uploaded NAME/__init__.py for real with function keys, host.json's
functionTimeout and the plans' memory. So these notebooks deploy, change,
call and experiment as on Azure Functions."""
import json

import pytest
from conftest import (APP, FLEX_APP, assert_no_secret, azure_line, burst_cell, cell_for, outputs_text, secrets_of,
                      settings_of, start_standin)
from standin_fixture import HOST_JSON, http_function, zipped

ON_APP = f"%platform azure app={APP}"
ON_FLEX = f"%platform azure app={FLEX_APP}"

HELLO = '''%%cloud_function platforms=azure timeout=30
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
                  first["roundTripTime"] > 0,
                  "latency" in first]))'''


def deployments(standin):
    return standin.stats().get("deployments", 0)


def test_deploy_call_change_and_errors(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    shown, deployed, called, failed = workspace.run(ON_APP, HELLO, CALL_TWICE,
                                                    'hello_world({"name": "x", "fail": True})')
    assert standin.stats()["tokens_issued"] == 1  # the kernel's one token served all its ARM and Kudu calls
    described = shown.ok().stdout
    assert "service principal " + standin.client_id in described and "app faaset-app (the explicit" in described
    assert "function keys from ARM's listkeys" in described, shown
    assert azure_line(deployed)["verb"] == "deployed", deployed
    message, function, first_new, second_new, timed, latency = called.ok().json()
    assert (message, function) == ("Hello Bob!", "hello_world"), called
    assert (first_new, second_new, timed, latency) == (1, 0, True, True), called  # a cold start, then warm
    error = failed.error
    assert error.ename == "ValueError" and error.evalue == "asked to fail", failed
    traceback = "\n".join(error.traceback)
    assert 'raise ValueError("asked to fail")' in traceback and "about to fail" in traceback, failed
    # what Azure now holds: the package with host.json and the function folder, and the code hash
    settings = settings_of(standin, APP)
    assert settings["FAASET_FUNCTION"] == "hello_world" and settings["FAASET_TIMEOUT"] == "30", settings
    code_hash = settings["FAASET_CODE_SHA256"]
    assert len(code_hash) == 64
    status, host, _ = standin.kudu("GET", APP, "/api/vfs/site/wwwroot/host.json")
    assert status == 200 and json.loads(host)["functionTimeout"] == "00:00:30", host
    assert json.loads(host)["extensionBundle"]["id"] == "Microsoft.Azure.Functions.ExtensionBundle", host
    status, binding, _ = standin.kudu("GET", APP, "/api/vfs/site/wwwroot/hello_world/function.json")
    trigger = json.loads(binding)["bindings"][0]
    assert (trigger["authLevel"], trigger["methods"], trigger["route"]) == ("function", ["post"], "hello_world")
    uploads = deployments(standin)

    _, unchanged, recoded, called_again = workspace.run(
        ON_APP, HELLO, HELLO.replace('"Hello "', '"Hi "'), 'print(hello_world({"name": "Bob"})["message"])')
    assert azure_line(unchanged)["verb"] == "up to date", unchanged
    assert azure_line(recoded)["verb"] == "updated code of", recoded
    assert called_again.ok().stdout.strip() == "Hi Bob!"
    assert settings_of(standin, APP)["FAASET_CODE_SHA256"] != code_hash
    assert deployments(standin) == uploads + 1  # up to date uploaded nothing
    shown = outputs_text([shown, deployed, called, failed, unchanged, recoded, called_again])
    assert_no_secret(shown, "the outputs", secrets_of(standin))


def test_env_is_app_settings_and_the_timeout_is_host_json(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    source = cell_for("configured", body='import os; return {"mode": os.environ.get("MODE"), "keys": sorted(request)}',
                      options="env=MODE=a")
    standin.arm("PUT", f"{standin.site_path(APP)}/config/appsettings", {"properties": {"THEIRS": "kept"}})
    _, deployed, called = workspace.run(ON_APP, source, 'print(configured({"x": 1})["mode"], configured({"x": 1})["keys"])')
    assert azure_line(deployed)["verb"] == "deployed", deployed
    assert called.ok().stdout.strip() == "a ['x']", called
    uploads = deployments(standin)

    _, changed, called_again = workspace.run(ON_APP, source.replace("MODE=a", "OTHER=b"),
                                             'import os; print(configured({})["mode"])')
    assert azure_line(changed)["verb"] == "updated configuration of" and azure_line(changed)["note"] is None, changed
    assert called_again.ok().stdout.strip() == "None", called_again
    assert deployments(standin) == uploads  # app settings only: no upload
    settings = settings_of(standin, APP)
    assert settings["OTHER"] == "b" and "MODE" not in settings and settings["THEIRS"] == "kept", settings

    _, longer = workspace.run(ON_APP, source.replace("MODE=a", "OTHER=b").replace("env=", "timeout=45 env="))
    line = azure_line(longer)
    assert line["verb"] == "updated configuration of", longer
    assert "host.json's functionTimeout, so the package was uploaded again" in line["note"], longer
    assert deployments(standin) == uploads + 1
    status, host, _ = standin.kudu("GET", APP, "/api/vfs/site/wwwroot/host.json")
    assert json.loads(host)["functionTimeout"] == "00:00:45", host


def test_drift_is_noticed_and_repaired(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    source = cell_for("drifter", options="env=K=v")
    _, deployed = workspace.run(ON_APP, source)
    assert azure_line(deployed)["verb"] == "deployed", deployed

    settings = settings_of(standin, APP)
    standin.arm("PUT", f"{standin.site_path(APP)}/config/appsettings", {"properties": dict(settings, K="changed")})
    _, repaired, again = workspace.run(ON_APP, source, source)
    line = azure_line(repaired)
    assert line["verb"] == "redeployed" and "app setting K is not the notebook's env= value" in line["note"], repaired
    assert azure_line(again)["verb"] == "up to date" and "changed outside" not in again.ok().stdout
    assert settings_of(standin, APP)["K"] == "v"

    # someone deploys other code to the app (VS Code, the func CLI): its functions go, which is noticed
    standin.deploy(APP, zipped({"host.json": HOST_JSON, **http_function(
        "drifter", "import azure.functions as func\n\ndef main(req):\n    return func.HttpResponse('theirs')\n")}))
    settings = settings_of(standin, APP)
    standin.arm("PUT", f"{standin.site_path(APP)}/config/appsettings",
                {"properties": dict(settings, FAASET_CODE_SHA256="0" * 64)})
    _, recoded, called = workspace.run(ON_APP, source, 'print(drifter({"name": "D"})["hi"])')
    line = azure_line(recoded)
    assert line["verb"] == "redeployed" and "its code is not the notebook's" in line["note"], recoded
    assert called.ok().stdout.strip() == "D", called

    status, _ = standin.arm("DELETE", f"{standin.site_path(APP)}/functions/drifter")
    assert status in (200, 204)
    _, recreated, called = workspace.run(ON_APP, source, 'print(drifter({"name": "E"})["hi"])')
    line = azure_line(recreated)
    assert line["verb"] == "redeployed" and "deleted outside the notebook" in line["note"], recreated
    assert called.ok().stdout.strip() == "E", called


def test_link_call_delete_and_one_function_per_app(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    _, deployed, taken, linked, called, deleted, gone, freed = workspace.run(
        ON_APP, cell_for("owner", body='return {"owner": request["name"]}'),
        cell_for("intruder"),
        f"%%cloud_function platforms=azure deploy=false remote={APP}/owner\ndef borrower(request, context):\n    pass",
        'print(borrower({"name": "L"})["owner"])', "%delete owner azure", 'owner({"name": "x"})',
        cell_for("intruder"))
    assert azure_line(deployed)["verb"] == "deployed", deployed
    assert "holds the function owner" in taken.error.evalue and "one app holds one function" in taken.error.evalue
    assert linked.ok().stdout.startswith("azure: linked borrower"), linked
    assert called.ok().stdout.strip() == "L", called
    assert "deleted owner" in deleted.ok().stdout, deleted
    assert gone.error.ename == "NotFound" and "not deployed on azure" in gone.error.evalue, gone
    assert azure_line(freed)["verb"] == "deployed", freed  # the delete freed the app
    status, _ = standin.arm("GET", f"{standin.site_path(APP)}/functions/owner")
    assert status == 404


def test_function_keys_and_refused_credentials_are_explained(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    _, deployed = workspace.run(ON_APP, cell_for("keyed"))
    assert azure_line(deployed)["verb"] == "deployed", deployed
    workspace.env["AZURE_FUNCTION_KEY"] = "not-the-key"
    _, refused = workspace.run(ON_APP, '%invoke keyed {"name": "k"}')
    assert refused.error.ename == "Unauthenticated", refused
    assert "refused the function key for keyed (HTTP 401); the key came from AZURE_FUNCTION_KEY" in \
        refused.error.evalue, refused
    workspace.env["AZURE_FUNCTION_KEY"] = standin.function_key(APP, "keyed")
    _, given = workspace.run(ON_APP, '%invoke keyed {"name": "k"}')
    assert json.loads(given.ok().result)["hi"] == "k", given
    del workspace.env["AZURE_FUNCTION_KEY"]

    (in_notebook,) = workspace.run("%platform azure function_key=abc")
    assert "never goes in the notebook" in in_notebook.error.evalue and "AZURE_FUNCTION_KEY" in in_notebook.error.evalue

    workspace = azure_workspace.use(standin, client_secret="Qx8~wrong-s3cr3t")
    _, wrong = workspace.run(ON_APP, cell_for("keyed"))
    assert "AADSTS7000215" in wrong.error.evalue and "AZURE_CLIENT_SECRET" in wrong.error.evalue, wrong
    assert "wrong-s3cr3t" not in wrong.error.evalue
    workspace = azure_workspace.use(standin, tenant="nowhere.onmicrosoft.com")
    _, unknown = workspace.run(ON_APP, cell_for("keyed"))
    assert "AADSTS90002" in unknown.error.evalue and "the tenant does not exist" in unknown.error.evalue, unknown
    workspace = azure_workspace.use(standin, client_id=standin.reader_id, client_secret=standin.reader_secret)
    _, reader = workspace.run(ON_APP, cell_for("keyed"))
    assert "the service principal may not do this on function app faaset-app" in reader.error.evalue, reader
    assert "Contributor" in reader.error.evalue, reader
    workspace = azure_workspace.use(standin)
    del workspace.env["AZURE_CLIENT_SECRET"]
    (incomplete,) = workspace.run(cell_for("keyed"))
    assert "set AZURE_CLIENT_SECRET too" in incomplete.error.evalue, incomplete
    shown = outputs_text([refused, given, in_notebook, wrong, unknown, reader, incomplete])
    assert_no_secret(shown, "the outputs", secrets_of(standin))


def test_a_publish_profile_deploys_through_kudu(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    profile = standin.publish_profile(APP)
    shown, deployed, called = workspace.run(f"%platform azure publish_profile={profile}",
                                            cell_for("profiled"), 'print(profiled({"name": "P"})["hi"])')
    described = shown.ok().stdout
    assert f"publish profile {profile} (the explicit setting, user $faaset-app)" in described, shown
    assert "app faaset-app (the publish profile)" in described, shown
    assert azure_line(deployed)["verb"] == "deployed", deployed
    assert called.ok().stdout.strip() == "P", called
    assert_no_secret(outputs_text([shown, deployed, called]), "the outputs", secrets_of(standin))


@pytest.mark.deadline(180)
def test_the_functions_timeout_ends_a_call(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    _, deployed, quick, timed_out = workspace.run(
        ON_APP, cell_for("slow", body='import time; time.sleep(request["sleep"]); return {"slept": 1}',
                         options="timeout=2"),
        'print(slow({"sleep": 0})["slept"])', 'slow({"sleep": 6})')
    assert azure_line(deployed)["verb"] == "deployed", deployed
    assert quick.ok().stdout.strip() == "1", quick
    assert timed_out.error.ename == "FunctionTimeout", timed_out
    assert "timeout of 2 s" in timed_out.error.evalue and "timeout=" in timed_out.error.evalue, timed_out


def test_over_https_with_the_test_ca(azure_workspace, tmp_path):
    from tls_terminator import TlsTerminator, free_port
    port = free_port()
    terminator = TlsTerminator(tmp_path / "tls", port, 16)
    try:
        base = terminator.url.rstrip("/")
        secure = start_standin(tmp_path / "secure", extra_args=("--port", str(port), "--public-url", base))
        try:
            workspace = azure_workspace.use(secure, base=base)
            workspace.env["SSL_CERT_FILE"] = str(terminator.ca_file)
            _, deployed, called = workspace.run(ON_APP, cell_for("secure", body="return {'n': request['n'] * 2}"),
                                                "print(sum(secure({'n': i})['n'] for i in range(10)))")
            assert azure_line(deployed)["verb"] == "deployed", deployed
            assert called.ok().stdout.strip() == str(2 * sum(range(10))), called
            workspace.env.pop("SSL_CERT_FILE")
            _, untrusted = workspace.run(ON_APP, '%invoke secure {"n": 1}')
            assert "not trusted" in untrusted.error.evalue and "SSL_CERT_FILE" in untrusted.error.evalue, untrusted
            secrets = secrets_of(secure)
            for path in workspace.written_files():
                assert_no_secret(path.read_text(errors="replace"), path, secrets)
        finally:
            secure.stop()
    finally:
        terminator.stop()


BURST = burst_cell("slow")


def test_throttled_calls_are_retried(azure_workspace, tmp_path):
    """At most one instance: 4 calls at once (made before any key was read) get 429s, each waited out with the
    backoff and sent again."""
    narrow = start_standin(tmp_path / "narrow", max_instances=1)
    try:
        workspace = azure_workspace.use(narrow)
        slow = cell_for("slow", body='import time; time.sleep(request["sleep"]); return {"slept": request["sleep"]}')
        _, deployed = workspace.run(ON_APP, slow)
        assert azure_line(deployed)["verb"] == "deployed", deployed
        before = narrow.stats()
        _, unchanged, burst = workspace.run(ON_APP, slow, BURST)
        assert azure_line(unchanged)["verb"] == "up to date", unchanged
        assert burst.ok().json() == [0.3] * 4, burst
        after = narrow.stats()
        assert after.get("throttled_429", 0) > before.get("throttled_429", 0), "4 calls at 1 instance never throttled"
        assert after["tokens_issued"] == before["tokens_issued"] + 1  # the second kernel's one token
        secrets = secrets_of(narrow)
        for path in workspace.written_files():
            assert_no_secret(path.read_text(errors="replace"), path, secrets)
    finally:
        narrow.stop()


def test_a_token_near_its_end_is_refreshed_while_it_still_serves(azure_workspace, tmp_path):
    """Tokens that live 90 s: with less than five minutes left the cached token is still used while one new
    exchange runs in the background, so a kernel's later calls lead to a second token, and none fails."""
    short = start_standin(tmp_path / "short", token_seconds=90)
    try:
        workspace = azure_workspace.use(short)
        _, deployed, called = workspace.run(ON_APP, cell_for("fresh"), 'print(fresh({"name": "T"})["hi"])')
        assert azure_line(deployed)["verb"] == "deployed", deployed
        assert called.ok().stdout.strip() == "T", called
        assert short.stats()["tokens_issued"] >= 2, short.stats()
    finally:
        short.stop()


def test_memory_is_flex_consumptions_and_refused_on_consumption(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    _, on_flex, sized = workspace.run(ON_FLEX, cell_for("roomy", options="memory=4096"),
                                      'import os; print(roomy({"name": "m"})["hi"])')
    assert azure_line(on_flex)["verb"] == "deployed", on_flex
    assert sized.ok().stdout.strip() == "m", sized
    status, site = standin.arm("GET", standin.site_path(FLEX_APP))
    assert site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] == 4096, site
    _, back = workspace.run(ON_FLEX, cell_for("roomy"))  # the default memory is Flex's default
    assert azure_line(back)["verb"] == "updated configuration of", back
    status, site = standin.arm("GET", standin.site_path(FLEX_APP))
    assert site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] == 2048, site

    _, on_consumption, odd_size = workspace.run(ON_APP, cell_for("roomy", options="memory=512"),
                                                cell_for("roomy", options="memory=1024"))
    assert "faaset-app is on the Consumption plan" in on_consumption.error.evalue, on_consumption
    assert "Flex Consumption app (512, 2048 or 4096 MB)" in on_consumption.error.evalue, on_consumption
    assert "memory=1024" in odd_size.error.evalue and "512, 2048 or 4096 MB" in odd_size.error.evalue, odd_size
    status, _ = standin.arm("GET", f"{standin.site_path(APP)}/functions/roomy")
    assert status == 404  # nothing was deployed there


def test_an_experiment_sets_flex_memory_before_each_pass(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    source = cell_for("sleeper", body='import time; time.sleep(request["sleep"]); return {"ok": 1}')
    mark = workspace.trace.mark()
    _, deployed, experiment = workspace.run(ON_FLEX, source, '''%%experiment sleeper
{"experimentName": "on-azure", "payloads": [{"sleep": 0.1}], "runs": 8, "threads": 2,
 "memorySettings": [512, 4096]}''')
    assert azure_line(deployed)["verb"] == "deployed", deployed
    experiment.ok()
    runs = list((workspace.folder / "faaset-results" / "sleeper").glob("on-azure-*/runs.jsonl"))
    assert len(runs) == 1, list(workspace.folder.rglob("*"))
    rows = [json.loads(line) for line in runs[0].read_text().splitlines()]
    assert len(rows) == 16 and all(r["status"] == "ok" for r in rows), rows[:3]
    assert all(r["endpoint"] == "azure" for r in rows), rows[0]
    assert sorted({r["memorySetting"] for r in rows}) == [512, 4096], rows[0]
    memory_sets = [op for op in workspace.trace.since(mark) if op["op"] == "set_memory"]
    # one more after the passes: the cell's memory (Flex's default) is put back
    assert len(memory_sets) == 3 and all(op["platform"] == "azure" for op in memory_sets), memory_sets
    status, site = standin.arm("GET", standin.site_path(FLEX_APP))
    assert site["properties"]["functionAppConfig"]["scaleAndConcurrency"]["instanceMemoryMB"] == 2048, site


def test_the_command_line(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    (workspace.folder / "faaset_app.py").write_text("def faaset_app(request, context):\n    return request['a'] + 1\n")
    first = workspace.cli("deploy", "faaset_app.py", "--platform", "azure")  # the app of the function's own name
    assert first.returncode == 0 and first.stdout.startswith("azure: deployed faaset_app"), first
    second = workspace.cli("deploy", "faaset_app.py", "--platform", "azure")
    assert second.returncode == 0 and second.stdout.startswith("azure: up to date faaset_app"), second
    called = workspace.cli("invoke", "faaset_app", '{"a": 41}', "--platform", "azure")
    assert called.returncode == 0 and "42" in called.stdout, called
    deleted = workspace.cli("delete", "faaset_app", "--platform", "azure")
    assert deleted.returncode == 0 and deleted.stdout.startswith("azure: deleted faaset_app"), deleted
    missing = workspace.cli("invoke", "faaset_app", "{}", "--platform", "azure")
    assert missing.returncode != 0 and "not deployed on azure" in missing.stderr, missing
    for result in (first, second, called, deleted, missing):
        assert_no_secret(result.stdout + result.stderr, "the command's output", secrets_of(standin))


def test_a_missing_app_and_group_say_what_to_do(azure_workspace, standin):
    workspace = azure_workspace.use(standin)
    (no_app,) = workspace.run(cell_for("nowhere_at_all"))
    assert "function app nowhere-at-all in resource group faaset-rg does not exist" in no_app.error.evalue, no_app
    assert "app=" in no_app.error.evalue, no_app
    workspace.env["AZURE_RESOURCE_GROUP"] = "missing-rg"
    _, no_group = workspace.run(ON_APP, cell_for("hello"))
    assert "resource_group=" in no_group.error.evalue and "missing-rg" in no_group.error.evalue, no_group
