"""%%cloud_function end to end through nbclient: deploy on the local platform,
call from Python and with %invoke / %%invoke, SAAF attributes, the deploy
cache and its state files, options, threads, the concurrency cap, the
decorator and the kernel-answered magics.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/cloud
"""
import json
import os
import re
import stat

import pytest

from cloud_helpers import text

HASH = r"[0-9a-f]{8}"
ELAPSED = r"\d+(?:\.\d+)? ms"


def line_pattern(verb, name):
    return re.compile(rf"^local: {verb} {name} \(({HASH})\) in {ELAPSED}$")


def deploy_line(cell, verb, name):
    """Asserts the cell printed exactly one deploy line `local: VERB NAME (hash) in T ms`;
    returns the short hash."""
    lines = cell.stdout.splitlines()
    matches = [line_pattern(verb, name).match(line) for line in lines]
    found = [m for m in matches if m]
    assert len(found) == 1 and len([l for l in lines if l.startswith("local:")]) == 1, \
        f"expected one 'local: {verb} {name} (...) in ... ms' line:\n{cell!r}"
    return found[0].group(1)


HELLO = '''%%cloud_function memory=256
def hello(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectAll()
    inspector.addAttribute("message", "Hello " + request["name"] + "!")
    return inspector.finish()
hello({"name": "x"})'''


def test_deploy_call_invoke_and_saaf(workspace):
    cells = workspace.run(
        HELLO,
        'import json\nprint(json.dumps([hello({"name": "Bob"}), hello({"name": "Ann"})]))',
        '%invoke hello {"name": "Ann"}',
        '%%invoke hello\n{"name": "Zed"}',
        "print(json.dumps([repr(hello), hello.__name__]))",
    )
    define, calls, invoke, cell_invoke, binding = cells

    define.ok()
    deploy_line(define, "deployed", "hello")
    # the statement after the def ran in the notebook and is the cell's result
    first = define.result
    assert "'message': 'Hello x!'" in first and "'newcontainer': 1" in first, define
    assert "'platform': 'FaaSET Local'" in first and "'functionMemory': '256'" in first, define

    bob, ann = calls.ok().json()
    for result, name in ((bob, "Bob"), (ann, "Ann")):
        assert result["message"] == f"Hello {name}!"
        assert result["platform"] == "FaaSET Local"
        assert result["functionMemory"] == "256"
        assert result["functionName"] == "hello"
        assert result["newcontainer"] == 0, "a warm worker should serve the second and later calls"
        assert isinstance(result["roundTripTime"], float) and result["roundTripTime"] > 0
        assert result["latency"] == pytest.approx(result["roundTripTime"] - result["runtime"])
    assert bob["uuid"] == ann["uuid"], "the same warm container should serve sequential calls"

    for cell, name in ((invoke, "Ann"), (cell_invoke, "Zed")):
        cell.ok()
        assert len(cell.results) == 1, cell
        data = cell.results[0].data
        shown = json.loads(text(data["text/plain"]))
        as_json = data["application/json"]
        assert as_json["message"] == shown["message"] == f"Hello {name}!", cell
        assert as_json["platform"] == "FaaSET Local" and as_json["newcontainer"] == 0, cell
        assert as_json["roundTripTime"] > 0, cell
        assert as_json["latency"] == pytest.approx(as_json["roundTripTime"] - as_json["runtime"]), cell
        assert text(data["text/plain"]).startswith("{\n  \""), f"text/plain should be indented JSON:\n{cell!r}"

    shown, name = binding.ok().json()
    assert name == "hello" and "hello" in shown

    assert workspace.trace.ops("deploy") == [{"platform": "local", "op": "deploy", "function": "hello"}]
    assert workspace.trace.ops("configure") == []
    assert len(workspace.trace.ops("invoke", "hello")) == 5, workspace.trace.entries()


def test_magics_functions_platform_help(workspace):
    cells = workspace.run(
        "%functions",
        HELLO.replace("hello", "listed").replace(
            "memory=256", 'memory=512 timeout=45 max_instances=3 env="API_TOKEN=hunter2;MODE=fast"'),
        "%functions",
        "%platform",
        "%help",
        "%help invoke",
    )
    empty, define, listing, platform, help_, help_invoke = cells
    assert "No functions deployed" in text(empty.ok().displays[0].data["text/plain"]), empty
    deploy_line(define.ok(), "deployed", "listed")
    listing.ok()
    assert len(listing.displays) == 1, listing
    data = listing.displays[0].data
    html, plain = text(data["text/html"]), text(data["text/plain"])
    assert html.startswith("<table") and "<td>listed</td>" in html and "<td>local</td>" in html, html
    assert "512 MB" in html and "45 s" in html, html
    row = [line for line in plain.splitlines() if line.startswith("listed ")]
    assert len(row) == 1 and " local " in row[0] and " 512 MB " in row[0], plain
    # the full configuration: arch, runtime, max_instances, when, and the env names without their values
    assert re.search(r" 45 s +x86_64 +python3\.\d+ +3 +\d{4}-\d\d-\d\dT[\d:.]+Z +API_TOKEN,MODE +", row[0]), plain
    assert "<td>API_TOKEN,MODE</td>" in html and "<td>3</td>" in html, html
    assert "hunter2" not in html + plain and "fast" not in html + plain, plain
    state = (workspace.folder / ".faaset" / "state" / "local" / "listed.json").read_text()
    assert "API_TOKEN" in state and "hunter2" not in state, state
    assert platform.ok().stdout == "Default platform: local\n", platform
    listed = help_.ok().stdout
    for magic in ("%%cloud_function", "%invoke", "%%invoke", "%platform", "%functions", "%help"):
        assert re.search(rf"^\s+{re.escape(magic)}\b", listed, re.M), f"%help does not list {magic}:\n{listed}"
    # %help NAME answers with the pager (nbclient keeps no payload, but the cell must not fail)
    help_invoke.ok()


CACHED = '''%%cloud_function memory={memory}{extra}
def cached(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectPlatform()
    inspector.addAttribute("version", "{version}")
    return inspector.finish()'''

CALL_CACHED = 'import json\nr = cached({})\nprint(json.dumps([r["version"], r["functionMemory"]]))'


def cached(memory=128, version="one", extra=""):
    return CACHED.format(memory=memory, version=version, extra=extra)


def test_deploy_cache_counts_platform_calls(workspace):
    trace = workspace.trace
    marks = []

    cells = workspace.run(
        cached(),
        f"{CALL_CACHED}",
        cached(),                                  # unchanged: no platform call
        cached(version="onE"),                     # one character: code update
        CALL_CACHED,
        cached(version="onE", memory=1024),        # memory only: configuration update
        CALL_CACHED,
        cached(version="onE", memory=1024, extra=" force=true"),
        cached(version="onE", memory=1024, extra=" deploy=false"),
        CALL_CACHED,
    )
    first, call1, same, code, call2, config, call3, forced, linked, call4 = cells
    h1 = deploy_line(first.ok(), "deployed", "cached")
    assert call1.ok().json() == ["one", "128"]
    assert deploy_line(same.ok(), "up to date", "cached") == h1
    h2 = deploy_line(code.ok(), "updated code of", "cached")
    assert h2 != h1
    assert call2.ok().json() == ["onE", "128"], "the call after a code update must run the new code"
    assert deploy_line(config.ok(), "updated configuration of", "cached") == h2
    assert call3.ok().json() == ["onE", "1024"], "the call after a memory change must see the new memory"
    deploy_line(forced.ok(), "(?:updated code of|deployed|redeployed)", "cached")
    deploy_line(linked.ok(), "linked", "cached")
    assert call4.ok().json() == ["onE", "1024"]

    ops = [(e["op"], e["function"]) for e in trace.entries()]
    assert ops == [
        ("deploy", "cached"), ("invoke", "cached"),
        # unchanged cell: nothing
        ("deploy", "cached"), ("invoke", "cached"),
        ("configure", "cached"), ("invoke", "cached"),
        ("deploy", "cached"),                      # force=true
        # deploy=false: nothing
        ("invoke", "cached"),
    ], ops
    marks.append(trace.mark())

    # the state file: private, in a private folder, naming what was deployed
    state_file = workspace.state_dir / "cached.json"
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600, oct(os.stat(state_file).st_mode)
    assert stat.S_IMODE(os.stat(workspace.state_dir).st_mode) == 0o700
    state = json.loads(state_file.read_text())
    assert state["memory_mb"] == 1024 and state["code_hash"].startswith(h2), state

    # a new kernel in the same folder: the deploy cache survives
    again, call5 = workspace.run(cached(version="onE", memory=1024), CALL_CACHED)
    assert deploy_line(again.ok(), "up to date", "cached") == h2
    assert call5.ok().json() == ["onE", "1024"]
    assert [(e["op"], e["function"]) for e in trace.since(marks[-1])] == [("invoke", "cached")]
    marks.append(trace.mark())

    # a corrupted state file: redeployed with a line that says so, no crash
    state_file.write_text("garbage{{{ not json")
    broken, call6, after = workspace.run(cached(version="onE", memory=1024), CALL_CACHED, cached(version="onE", memory=1024))
    broken.ok()
    assert re.search(r"^local: .*\bcached\b.*state file.*unreadable", broken.stdout, re.M) or \
        re.search(r"^local: .*state file.*unreadable.*\bcached\b", broken.stdout, re.M), broken
    assert call6.ok().json() == ["onE", "1024"]
    deploy_line(after.ok(), "up to date", "cached")
    assert [(e["op"], e["function"]) for e in trace.since(marks[-1])] == [("deploy", "cached"), ("invoke", "cached")]
    assert json.loads(state_file.read_text())["memory_mb"] == 1024
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600


OPTIONS = '''%%cloud_function memory=384 timeout=900 arch=arm64 runtime=python3.11 env=GREETING=hi;OTHER=x=y{extra}
import os
def probe(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectPlatform()
    inspector.addAttribute("env", [os.environ.get("GREETING"), os.environ.get("OTHER")])
    inspector.addAttribute("context", [context.function_name, str(context.memory_limit_in_mb)])
    inspector.addAttribute("pid", os.getpid())
    return inspector.finish()'''

CALL_PROBE = '''import json, os
r = {name}({{}})
print(json.dumps([r["platform"], r["env"], r.get("functionMemory"), r["context"], r["pid"] == os.getpid(),
                  "roundTripTime" in r]))'''


def test_options_env_name_run_local(workspace):
    cells = workspace.run(
        OPTIONS.format(extra=""),
        CALL_PROBE.format(name="probe"),
        OPTIONS.format(extra=" name=renamed"),
        CALL_PROBE.format(name="renamed"),
        OPTIONS.format(extra=" name=here run=local"),
        CALL_PROBE.format(name="here"),
        "%%cloud_function memory=128 timeout=1\ndef low(request, context):\n    return 1",
        "%%cloud_function memory=10240\ndef high(request, context):\n    return 2\nprint(high({}))",
    )
    probe, call, renamed, call_renamed, here, call_here, low, high = cells
    deploy_line(probe.ok(), "deployed", "probe")
    assert call.ok().json() == ["FaaSET Local", ["hi", "x=y"], "384", ["probe", "384"], False, True]
    deploy_line(renamed.ok(), "deployed", "renamed")
    assert call_renamed.ok().json() == ["FaaSET Local", ["hi", "x=y"], "384", ["renamed", "384"], False, True]

    here.ok()
    assert re.search(r"^local: .*\bhere\b", here.stdout, re.M), here
    platform, env, _, _, in_notebook, has_round_trip = call_here.ok().json()
    assert platform == "FaaSET Notebook" and in_notebook, call_here
    assert not has_round_trip, "a run=local call makes no platform call, so there is no roundTripTime"

    deploy_line(low.ok(), "deployed", "low")
    deploy_line(high.ok(), "deployed", "high")
    assert high.stdout.splitlines()[-1] == "2"

    functions = [e["function"] for e in workspace.trace.entries()]
    assert "here" not in functions, f"run=local must make no platform call: {workspace.trace.entries()}"
    assert [(e["op"], e["function"]) for e in workspace.trace.entries()] == [
        ("deploy", "probe"), ("invoke", "probe"), ("deploy", "renamed"), ("invoke", "renamed"),
        ("deploy", "low"), ("deploy", "high"), ("invoke", "high")]
    assert not (workspace.state_dir / "here.json").exists()


THREADS = '''import json, threading
results = [None] * 20
def call(i):
    try:
        r = square({"n": i})
        results[i] = [r["n"], r["sq"]]
    except Exception as error:
        results[i] = repr(error)
threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
for t in threads:
    t.start()
for t in threads:
    t.join(30)
print(json.dumps([results, sum(t.is_alive() for t in threads)]))'''

SLEEPER = '''%%cloud_function
import time
def sleeper(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectContainer()
    time.sleep(0.5)
    return inspector.finish()'''

CAPPED = '''import json, threading, time
out, failures = [], []
def call():
    try:
        out.append(sleeper({}))
    except Exception as error:
        failures.append(repr(error))
start = time.monotonic()
threads = [threading.Thread(target=call) for _ in range(6)]
for t in threads:
    t.start()
for t in threads:
    t.join(30)
elapsed = time.monotonic() - start
print(json.dumps([len(out), failures, elapsed, sorted({r["uuid"] for r in out}),
                  [[r["startTime"], r["endTime"]] for r in out]]))'''


def test_threads_and_concurrency_cap(workspace):
    cells = workspace.run(
        '%%cloud_function\ndef square(request, context):\n    return {"n": request["n"], "sq": request["n"] ** 2}',
        THREADS,
        "%platform local concurrency=2",
        SLEEPER,
        CAPPED,
    )
    square, threads, platform, sleeper, capped = cells
    deploy_line(square.ok(), "deployed", "square")
    results, alive = threads.ok().json()
    assert alive == 0, "threads still waiting for their call after 30 s"
    assert results == [[i, i * i] for i in range(20)], results
    assert len(workspace.trace.ops("invoke", "square")) == 20
    platform.ok()
    deploy_line(sleeper.ok(), "deployed", "sleeper")
    count, failures, elapsed, uuids, spans = capped.ok().json()
    assert failures == [] and count == 6, capped
    assert elapsed >= 1.4, f"6 calls of 0.5 s with concurrency=2 took only {elapsed:.2f} s: the cap is not applied"
    # Two at a time, from the functions' own start and end times (was: < 2.9 s
    # in all, which a loaded machine could miss): the most calls running at one
    # moment is 2, not more (the cap) and not 1 (one at a time).
    peak = max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)
    assert peak == 2, f"6 calls of 0.5 s with concurrency=2 had {peak} running at once: {spans}"
    assert 1 <= len(uuids) <= 2, f"concurrency=2 but {len(uuids)} containers served: {uuids}"


DECORATED = '''from Inspector import *

@cloud_function(memory=256, platforms=[Platform.LOCAL])
def hello_world(request, context):
    inspector = Inspector()
    inspector.inspectAll()
    inspector.addAttribute("message", "Hello " + request["name"] + "!")
    return inspector.finish()'''

DECORATED_LOCAL = '''from SAAF import Inspector

@cloud_function(memory=256, runMode=RunMode.LOCAL)
def in_notebook(request, context):
    import os
    inspector = Inspector()
    inspector.inspectPlatform()
    inspector.addAttribute("pid", os.getpid())
    inspector.addAttribute("message", "Hi " + request["name"])
    return inspector.finish()'''


PAPER_MAGIC = '''%%cloud_function
from Inspector import *

def paper(request, context):
    inspector = Inspector()
    inspector.inspectAll()
    inspector.addAttribute("message", "Hello " + request["name"] + "!")
    return inspector.finish()
paper({"name": "Eve"})["message"]'''


def test_decorator_and_the_papers_notation(workspace):
    cells = workspace.run(
        PAPER_MAGIC,
        DECORATED,
        'import json\nr = hello_world({"name": "Bob"})\n'
        'print(json.dumps([r["message"] == "Hello Bob!", r["functionMemory"], r["platform"], r["newcontainer"]]))',
        DECORATED,
        DECORATED_LOCAL,
        'import os\nr = in_notebook({"name": "Ann"})\nprint(json.dumps([r["message"], r["platform"], r["pid"] == os.getpid()]))',
    )
    paper, decorated, call, again, local, call_local = cells
    deploy_line(paper.ok(), "deployed", "paper")
    assert paper.result == "'Hello Eve!'"
    deploy_line(decorated.ok(), "deployed", "hello_world")
    assert call.ok().json() == [True, "256", "FaaSET Local", 1]
    deploy_line(again.ok(), "up to date", "hello_world")
    local.ok()
    assert call_local.ok().json() == ["Hi Ann", "FaaSET Notebook", True]
    assert [(e["op"], e["function"]) for e in workspace.trace.entries()] == [
        ("deploy", "paper"), ("invoke", "paper"), ("deploy", "hello_world"), ("invoke", "hello_world")]


def test_delete_removes_the_function_and_its_state(workspace):
    """%delete stops the function's workers, removes its folder and its
    state; calls then fail clearly, and the cell deploys it anew."""
    source = '%%cloud_function\ndef doomed(request, context):\n    return {"alive": True}'
    deployed, called, deleted, call_after, again, redeployed = workspace.run(
        source, "doomed({})", "%delete doomed", "doomed({})", "%delete doomed", source)
    deploy_line(deployed.ok(), "deployed", "doomed")
    called.ok()
    assert re.match(rf"^local: deleted doomed in {ELAPSED}$", deleted.ok().stdout.strip()), deleted
    assert call_after.error.ename == "NotDeployed" and "doomed" in call_after.error.evalue, call_after
    assert again.error.ename == "NotDeployed", again
    deploy_line(redeployed.ok(), "deployed", "doomed")
    ops = [(e["op"], e["function"]) for e in workspace.trace.entries() if e["op"] != "invoke"]
    assert ops == [("deploy", "doomed"), ("remove", "doomed"), ("remove", "doomed"), ("deploy", "doomed")], ops
    cli = workspace.cli("delete", "doomed")
    assert cli.returncode == 0 and cli.stdout.startswith("local: deleted doomed"), cli
    assert not (workspace.state_dir / "doomed.json").exists()
    assert not (workspace.folder / ".faaset" / "local" / "doomed").exists()
    bad = workspace.cli("delete", "../escape")
    assert bad.returncode != 0 and "function name" in bad.stderr, bad


REFERENCED = [
    "def shout(text):\n    return text.upper() + '!'",
    "%%cloud_function memory=128\ndef greeter(request, context):\n    return {'greeting': 'hi ' + request['name']}",
    # references= packages shout and greeter (with the cell greeter was deployed from) before this cell's source
    "%%cloud_function references=shout,greeter\n"
    "def relay(request, context):\n"
    "    return {'relayed': shout(greeter(request, None)['greeting'])}\n"
    "print(relay({'name': 'Ada'})['relayed'])",
    # run=local: the cell's lines keep their numbers in a traceback although references come first
    "%%cloud_function references=shout run=local\n"
    "def nearby(request, context):\n"
    "    return shout(request['missing'])\n"
    "nearby({})",
    "%%cloud_function references=nowhere\ndef lost(request, context):\n    return nowhere()",
]


def test_references_on_the_magic_line(workspace):
    shout, greeter, relay, nearby, lost = workspace.run(*REFERENCED)
    shout.ok()
    deploy_line(greeter.ok(), "deployed", "greeter")
    deploy_line(relay.ok(), "deployed", "relay")
    assert relay.stdout.splitlines()[-1] == "HI ADA!", relay
    packaged = next((workspace.folder / ".faaset" / "local" / "relay" / "packages").glob("*/faaset_function.py"))
    source = packaged.read_text()
    assert source.index("def shout(") < source.index("def greeter(") < source.index("def relay("), source
    assert nearby.error.ename == "KeyError", nearby
    assert any('line 3, in nearby' in line for line in nearby.error.traceback), nearby
    assert lost.error.ename == "CompatibilityError" and "'nowhere' is not defined in the notebook" in \
        lost.error.evalue, lost
