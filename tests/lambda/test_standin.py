"""The `aws` platform against the strict Lambda stand-in
(tests/aws/lambda_standin.py): it checks every request's signature with
botocore, keeps new functions Pending and updates InProgress for a while,
throttles above its concurrency, and runs the uploaded package for real, so
these notebooks deploy, change, call and experiment as on Lambda."""
import json
import re
import time
import urllib.request

import nbformat
import pytest
from cloud_helpers import ROOT
from cloud_helpers import DirectKernel
from conftest import ACCESS_KEY, ROLE, SECRET_KEY, aws_line, cell_for, client_env, outputs_text, start_standin

PAPER_FIGURE_2 = '''from Inspector import *

@cloud_function(memory=256, platforms=[Platform.AWS])
def hello_world(request, context):
    inspector = Inspector()
    inspector.inspectAll()
    inspector.addAttribute("message", "Hello " + request["name"] + "!")
    return inspector.finish()'''

CALL_TWICE = '''import json
first, second = hello_world({"name": "Bob"}), hello_world({"name": "Eve"})
print(json.dumps([first["message"], first["platform"], first["functionMemory"], first["newcontainer"],
                  second["newcontainer"], second["uuid"] == first["uuid"], first["roundTripTime"] > 0]))'''

SLEEPER = '''%%cloud_function platforms=aws memory=128 timeout=30
def sleeper(request, context):
    import time
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectContainer()
    if request.get("fail"):
        print("about to fail")
        raise ValueError("asked to fail")
    time.sleep(request["sleep"])
    inspector.addAttribute("memory", context.memory_limit_in_mb)
    return inspector.finish()'''


def stats(server):
    with urllib.request.urlopen(server.url + "/_standin/stats", timeout=10) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def standin(logs_dir):
    server = start_standin(logs_dir, "--pending-seconds", "0.6", "--update-seconds", "0.6", "--concurrency", "3",
                           "--retry-after", "1")
    try:
        yield server
    finally:
        server.stop()


def test_the_papers_figure_2_runs_as_printed(aws_workspace, standin):
    workspace = aws_workspace.use(standin.url)
    deployed, called = workspace.run(PAPER_FIGURE_2, CALL_TWICE)
    assert aws_line(deployed)["verb"] == "deployed"
    message, platform, memory, first_new, second_new, same, timed = called.ok().json()
    assert message == "Hello Bob!" and platform == "AWS Lambda" and memory == "256", called
    assert (first_new, second_new, same, timed) == (1, 0, True, True), called
    assert SECRET_KEY not in outputs_text([deployed, called])


def test_changes_wait_for_lambda_and_errors_come_back_with_the_log(aws_workspace, standin):
    workspace = aws_workspace.use(standin.url)
    before = stats(standin)["requests"]
    deployed, reconfigured, recoded, called, failed = workspace.run(
        SLEEPER, SLEEPER.replace("memory=128", "memory=512"),
        SLEEPER.replace("memory=128", "memory=512").replace("asked to fail", "asked to fail!"),
        'r = sleeper({"sleep": 0})\nprint(r["memory"], r["newcontainer"])',
        'sleeper({"sleep": 0, "fail": True})')
    assert aws_line(deployed)["verb"] == "deployed"
    assert aws_line(reconfigured)["verb"] == "updated configuration of"
    assert aws_line(recoded)["verb"] == "updated code of"
    assert called.ok().stdout.split() == ["512", "1"], called
    error = failed.error
    assert error.ename == "ValueError" and error.evalue == "asked to fail!", failed
    shown = "\n".join(error.traceback)
    assert 'raise ValueError("asked to fail!")' in shown, shown
    assert "about to fail" in shown and "START RequestId" in shown and "REPORT RequestId" in shown, shown
    after = stats(standin)["requests"]
    polls = after.get("GetFunction", 0) - before.get("GetFunction", 0)
    assert polls >= 4, f"the adapter must wait for Active and Successful (GetFunction {polls} times)"


def test_an_update_that_loses_a_race_waits_it_out(aws_workspace, standin):
    """Someone else's update starts between our GetFunction and our update:
    Lambda answers 409 "An update is in progress"; the cell waits and
    repeats the update, and shows no error."""
    workspace = aws_workspace.use(standin.url)
    source = cell_for("contested", options="memory=128")
    (first,) = workspace.run(source)
    assert aws_line(first)["verb"] == "deployed"
    request = urllib.request.Request(
        standin.url + "/_standin/conflicts?operation=UpdateFunctionConfiguration&count=2", data=b"", method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    before = stats(standin)["conflicts_409"]
    (second,) = workspace.run(source.replace("memory=128", "memory=1024"))
    assert aws_line(second)["verb"] == "updated configuration of", second
    assert stats(standin)["conflicts_409"] == before + 2


def test_throttled_calls_are_retried(aws_workspace, standin):
    workspace = aws_workspace.use(standin.url)
    before = stats(standin)["throttled_429"]
    deployed, burst = workspace.run(SLEEPER, '''import threading, json
results = []
def call():
    results.append(sleeper({"sleep": 0.4})["runtime"] > 0)
threads = [threading.Thread(target=call) for _ in range(8)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps(results))''')
    assert burst.ok().json() == [True] * 8, burst
    assert stats(standin)["throttled_429"] > before, "8 calls at concurrency 3 were never throttled"


def test_an_experiment_reconfigures_memory_before_each_pass(aws_workspace, standin):
    workspace = aws_workspace.use(standin.url)
    deployed, experiment = workspace.run(SLEEPER, '''%%experiment sleeper
{"experimentName": "on-lambda", "payloads": [{"sleep": 0.2}], "runs": 12, "threads": 3,
 "memorySettings": [128, 256]}''')
    experiment.ok()
    runs = list((workspace.folder / "faaset-results" / "sleeper").glob("on-lambda-*/runs.jsonl"))
    assert len(runs) == 1, list(workspace.folder.rglob("*"))
    rows = [json.loads(line) for line in runs[0].read_text().splitlines()]
    assert len(rows) == 24 and all(r["status"] == "ok" for r in rows), rows[:3]
    assert sorted({r["memory"] for r in rows}) == ["128", "256"], {r["memory"] for r in rows}
    assert all(r["endpoint"] == "aws" for r in rows), rows[0]
    # billed as Lambda says it billed each call (the REPORT line of the log tail), priced from runtime/prices.json
    price = next(e for e in json.loads((ROOT / "runtime" / "prices.json").read_text())["prices"] if e["platform"] == "aws")
    for row in rows:
        assert row["billedFrom"] == "platform" and row["billedDuration"] == int(row["billedDuration"]) > 0, row
        assert row["billedMemory"] == row["memorySetting"], row
        expected = row["billedDuration"] / 1000 * row["memorySetting"] / 1024 * price["gbSecond"] + \
            price["perMillionRequests"] / 1e6
        assert abs(row["cost"] - expected) <= 1e-12, (row["cost"], expected)
    summary = json.loads((runs[0].parent / "summary.json").read_text())
    assert abs(summary["costs"]["total"] - sum(r["cost"] for r in rows)) <= 1e-12, summary["costs"]


def test_the_aws_notebook_runs_unchanged(aws_workspace, standin):
    workspace = aws_workspace.use(standin.url)
    notebook = nbformat.read(ROOT / "notebooks" / "aws.ipynb", as_version=4)
    sources = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    cells = workspace.run(*sources, cell_timeout=120)
    for cell in cells:
        cell.ok()
    shown = outputs_text(cells)
    assert "Hello Bob! from AWS Lambda" in shown and "remote error: asked to fail" in shown, shown
    assert re.search(r"aws: (deployed|up to date|updated code of) sleeper", shown), shown


@pytest.mark.deadline(120)
def test_session_tokens_and_bad_keys(aws_workspace, logs_dir):
    server = start_standin(logs_dir, "--session-token", "token-for-tests-0123456789", "--pending-seconds", "0.2")
    try:
        workspace = aws_workspace.use(server.url)
        workspace.env["AWS_SESSION_TOKEN"] = "token-for-tests-0123456789"
        (cell,) = workspace.run(cell_for("tokened", body="return {'ok': 1}"))
        assert aws_line(cell)["verb"] == "deployed"
        workspace.env["AWS_SECRET_ACCESS_KEY"] = SECRET_KEY + "wrong"
        (cell,) = workspace.run(cell_for("tokened", body="return {'ok': 2}"))
        # AWS's message quotes the canonical request, token header and all: the token is masked
        assert "InvalidSignatureException" in cell.error.evalue and "x-amz-security-token:****" in cell.error.evalue, cell
        assert SECRET_KEY not in outputs_text([cell]) and "token-for-tests-0123456789" not in outputs_text([cell])
        del workspace.env["AWS_SESSION_TOKEN"]
        workspace.env["AWS_SECRET_ACCESS_KEY"] = SECRET_KEY
        (cell,) = workspace.run(cell_for("tokened", body="return {'ok': 3}"))
        assert "security token" in cell.error.evalue, cell
        assert stats(server)["signature_failures"] >= 1
    finally:
        server.stop()


def test_every_call_is_signed_counted_once_and_connections_are_reused(aws_workspace, standin):
    """Sixty calls in a row: the stand-in's own count of invocations
    matches, none was refused for its signature, and they came over the
    kernel's kept-alive connection, not one connection each."""
    workspace = aws_workspace.use(standin.url)
    before = stats(standin)
    deployed, calls = workspace.run(cell_for("quick", body="return request['i']", options="memory=128"),
                                    "print(sum(quick({'i': i}) for i in range(60)))")
    assert calls.ok().stdout.strip() == str(sum(range(60)))
    after = stats(standin)
    assert after["invocations"] - before["invocations"] == 60
    assert after["signature_failures"] == before["signature_failures"]
    assert after["connections"] - before["connections"] <= 3, "calls did not reuse their connection"


def test_a_profile_chosen_in_the_notebook(aws_workspace, standin):
    """Keys from the shared credentials file: `%platform aws profile=dev`
    picks the profile the stand-in knows; the default profile's keys are
    refused by it, and neither secret is ever shown."""
    workspace = aws_workspace.use(standin.url)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        del workspace.env[key]
    credentials = workspace.folder.parent / "credentials"
    credentials.write_text("[default]\naws_access_key_id = AKIAOTHERKEY00000000\naws_secret_access_key = other-secret\n"
                           f"[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    config = workspace.folder.parent / "config"
    config.write_text("[profile dev]\nregion = us-east-1\n[default]\nregion = us-east-1\n")
    workspace.env["AWS_SHARED_CREDENTIALS_FILE"] = str(credentials)
    workspace.env["AWS_CONFIG_FILE"] = str(config)
    chosen, deployed, default, refused = workspace.run(
        "%platform aws profile=dev", cell_for("profiled"), "%platform aws",
        cell_for("profiled", body="return {'changed': True}"))
    shown = chosen.ok().stdout
    assert "profile 'dev'" in shown and ACCESS_KEY[:4] + "..." + ACCESS_KEY[-4:] in shown, shown
    assert aws_line(deployed)["verb"] == "deployed"
    assert "AKIA...0000" in default.ok().stdout, default
    assert "UnrecognizedClientException" in refused.error.evalue, refused
    shown_all = outputs_text([chosen, deployed, default, refused])
    assert SECRET_KEY not in shown_all and "other-secret" not in shown_all


def shutdown_when(sandbox, logs_dir, standin_options, setup, ready):
    """Starts a stand-in with STANDIN_OPTIONS and a kernel pointed at it,
    runs SETUP(kernel), waits until READY(stats) holds, then shuts the
    kernel down: it must exit at once, cleanly, with no sanitizer report."""
    server = start_standin(logs_dir, *standin_options)
    try:
        env = {k: v for k, v in client_env(server.url).items() if k.startswith("AWS_")}
        env["FAASET_AWS_ROLE"] = ROLE
        kernel = DirectKernel(sandbox, extra_env=env)
        try:
            setup(kernel)
            deadline = time.monotonic() + 20
            while not ready(stats(server)):
                assert time.monotonic() < deadline, stats(server)
                time.sleep(0.1)
            took = kernel.shutdown(timeout=30)
            # prompt: it must not wait out the 60 s Pending or the 30 s Retry-After;
            # 10 s is for ASan (LeakSanitizer at exit) on a loaded 2-core machine
            assert took < 10, f"the kernel took {took:.1f} s to shut down"
        finally:
            assert kernel.stop() == 0
    finally:
        server.stop()


@pytest.mark.deadline(90)
def test_shutdown_while_a_deploy_waits_for_lambda(sandbox, logs_dir):
    """While a deploy polls a Pending function: nothing leaks."""
    shutdown_when(sandbox, logs_dir, ("--pending-seconds", "60"),
                  lambda kernel: kernel.client.execute(cell_for("waiting")),
                  lambda counters: counters["requests"].get("GetFunction", 0) >= 3)


@pytest.mark.deadline(90)
def test_shutdown_while_a_throttled_call_backs_off(sandbox, logs_dir):
    """While a throttled call waits to be sent again: nothing leaks."""
    def two_calls_at_concurrency_one(kernel):
        reply, _ = kernel.execute(SLEEPER, timeout=30)
        assert reply["status"] == "ok", reply
        kernel.client.execute("import threading\n"
                              "threads = [threading.Thread(target=sleeper, args=({'sleep': 3},)) for _ in range(2)]\n"
                              "[t.start() for t in threads]\n[t.join() for t in threads]")

    shutdown_when(sandbox, logs_dir, ("--pending-seconds", "0.2", "--concurrency", "1", "--retry-after", "30"),
                  two_calls_at_concurrency_one, lambda counters: counters["throttled_429"] >= 1)
