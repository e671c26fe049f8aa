"""What goes wrong in a %%cloud_function notebook: bad options, bad bodies,
functions that raise, time out, crash or run out of memory, bad %invoke
payloads and names. Each must be an `error` output that names the problem,
deploy nothing, and leave the kernel working.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/cloud/test_errors.py
"""
import re

from cloud_helpers import text

BODY = "def {name}(request, context):\n    return {{'ok': True}}"


def cloud(options, name):
    return f"%%cloud_function {options}\n" + BODY.format(name=name)


# (cell, ename, regular expressions its evalue must match)
OPTION_ERRORS = [
    (cloud("memry=256", "typo"), "InvalidOption", [r"unknown option 'memry'", r"did you mean 'memory'\?"]),
    (cloud("arch=x86", "badarch"), "InvalidOption", [r"\barch\b", r"x86_64", r"arm64"]),
    (cloud("memory=64", "small"), "InvalidOption", [r"\bmemory\b", r"\b128\b", r"\b10240\b"]),
    (cloud("memory=10241", "big"), "InvalidOption", [r"\bmemory\b", r"\b128\b", r"\b10240\b"]),
    (cloud("timeout=901", "slowest"), "InvalidOption", [r"\btimeout\b", r"\b1\b", r"\b900\b"]),
    (cloud("timeout=0", "fastest"), "InvalidOption", [r"\btimeout\b", r"\b900\b"]),
    (cloud("runtime=python3.7", "old"), "InvalidOption", [r"\bruntime\b", r"python3\.8", r"python3\.13"]),
    (cloud("platforms=openfaas", "onopenfaas"), None, [r"no credentials for the OpenFaaS gateway", r"faas-cli login"]),
    (cloud("platforms=azure", "onazure"), None, [r"no Azure credentials", r"AZURE_CLIENT_ID", r"publish_profile="]),
    (cloud("platforms=nope", "nowhere"), None, [r"unknown platform 'nope'"]),
    (cloud("deploy=maybe", "unsure"), "InvalidOption", [r"\bdeploy\b", r"true or false"]),
    (cloud("run=remote", "where"), "InvalidOption", [r"\brun\b", r"\bcloud\b", r"\blocal\b"]),
    (cloud("env=1A=2", "badenv"), "InvalidOption", [r"\benv\b", r"1A=2"]),
    (cloud("name=bad-name", "badname"), "InvalidOption", [r"\bname\b", r"identifier"]),
    (cloud("memory", "novalue"), None, [r"memory", r"key=value"]),
    # lines and keys are read whole (they were cut at 4,095 and 63 bytes)
    (cloud("env=A=" + "x" * 5000, "bigenv"), "InvalidOption", [r"\benv is 50\d\d bytes", r"at most 4 KB"]),
    (cloud('env="A=' + "x" * 5000 + '"', "bigquotedenv"), "InvalidOption", [r"\benv is 50\d\d bytes", r"4 KB"]),
    (cloud("\u00e9" * 40 + "=1", "accented"), "InvalidOption", [r"unknown option '(\u00e9){40}'"]),
    ("%%cloud_function\n" + BODY.format(name="f" * 70), "InvalidOption",
     [r"has 70 characters", r"at most 64", r"name=SHORTER"]),
]


def test_option_errors_deploy_nothing(workspace):
    names = [re.search(r"def (\w+)", cell).group(1) for cell, _, _ in OPTION_ERRORS]
    names = [name for name in names if len(name) <= 64]
    sources = [cell for cell, _, _ in OPTION_ERRORS]
    sources += ["%platform nope", "%platform local concurrency=0", "%platform local speed=3",
                "%%cloud_functon\n" + BODY.format(name="misspelt"), "1 + 1",
                f"print(sorted(n for n in {names!r} if n in globals()))"]
    cells = workspace.run(*sources)
    for cell, (_, ename, patterns) in zip(cells, OPTION_ERRORS):
        error = cell.error
        if ename is not None:
            assert error.ename == ename, cell
        for pattern in patterns:
            assert re.search(pattern, error.evalue), f"evalue should match {pattern!r}:\n{cell!r}"
        assert error.traceback, cell
        assert not cell.stdout.startswith("local: deployed"), cell
    nope, zero, speed, misspelt, still_alive, bound = cells[len(OPTION_ERRORS):]
    assert "unknown platform 'nope'" in nope.error.evalue, nope
    assert re.search(r"concurrency.*\b1\b", zero.error.evalue), zero
    assert "speed" in speed.error.evalue, speed
    assert "%%cloud_function" in misspelt.error.evalue, misspelt  # a suggestion
    assert still_alive.ok().result == "2"

    assert workspace.trace.entries() == [], f"a failing cell made platform calls: {workspace.trace.entries()}"
    state = workspace.state_dir
    assert not state.exists() or list(state.iterdir()) == [], list(state.iterdir())
    assert bound.ok().stdout == "[]\n", f"failed cells bound their function names: {bound!r}"


BAD_BODIES = [
    # a syntax error on the cell's line 4 (line 1 is the magic)
    ("%%cloud_function\nimport os\n\ndef broken(request, context)\n    return 1", "SyntaxError", 4),
    ("%%cloud_function memory=256\ndef broken(request, context):\n    return {'a': 1\n", "SyntaxError", 3),
    ("%%cloud_function\nx = 1\nprint(x)", None, None),                                   # no def at all
    ("%%cloud_function\ndef one_arg(request):\n    return request", None, None),          # not a handler
]


def test_body_errors_deploy_nothing(workspace):
    cells = workspace.run(*(cell for cell, _, _ in BAD_BODIES), "1 + 1")
    for cell, (_, ename, line) in zip(cells, BAD_BODIES):
        error = cell.error
        if ename is not None:
            assert error.ename == ename, cell
        if line is not None:
            shown = "\n".join(error.traceback) + error.evalue
            assert re.search(rf"\bline {line}\b", shown), f"the error should point at the cell's line {line}:\n{cell!r}"
        else:
            assert re.search(r"def NAME\(request, context\)|request, context", error.evalue), cell
        assert "deployed" not in cell.stdout, cell
    assert cells[-1].ok().result == "2"
    assert workspace.trace.entries() == []


def test_compile_time_syntax_errors_are_caught_at_the_cell(workspace):
    """Errors Python reports when compiling, not parsing (`return` outside a
    function, `import *` inside one), are syntax errors of the body too: the
    cell must fail with SyntaxError at the cell's line and deploy nothing,
    not deploy code that can never be imported."""
    cells = workspace.run(
        "%%cloud_function\nimport os\n\nreturn 5\ndef outside(request, context):\n    return 1",
        "%%cloud_function\ndef star(request, context):\n    from os import *\n    return 1",
        "1 + 1",
    )
    outside, star, alive = cells
    for cell, line in ((outside, 4), (star, 3)):
        assert cell.errors, f"the cell should fail with a SyntaxError:\n{cell!r}"
        error = cell.error
        assert error.ename == "SyntaxError", cell
        assert re.search(rf"\bline {line}\b", "\n".join(error.traceback) + error.evalue), cell
    assert alive.ok().result == "2"
    assert workspace.trace.entries() == [], f"deployed code that cannot be imported: {workspace.trace.entries()}"


def test_unavailable_platform_in_a_list_deploys_nothing(workspace):
    """platforms=local,azure: azure cannot be used here (no Azure credentials
    in this sandbox), which is known before any platform call; the cell must
    fail and deploy nothing anywhere (not deploy to local behind an error
    that hides it)."""
    mixed, listing = workspace.run(
        "%%cloud_function platforms=local,azure\ndef mixed(request, context):\n    return {'m': 1}",
        "%functions",
    )
    assert mixed.error.ename == "PlatformUnavailable" and "no Azure credentials" in mixed.error.evalue, mixed
    assert workspace.trace.entries() == [], \
        f"an error was shown but local was deployed: {workspace.trace.entries()}\n{mixed!r}"
    assert "<td>mixed</td>" not in text(listing.displays[0].data["text/html"]), listing


RAISES = '''%%cloud_function
def boom(request, context):
    value = request["why"]
    raise ValueError("bad " + value)'''

SLOW = '''%%cloud_function timeout=1
import time
def slow(request, context):
    time.sleep(request.get("seconds", 30))
    return {"slept": request.get("seconds", 30)}'''

CRASH = '''%%cloud_function
import os
def crash(request, context):
    if request.get("die"):
        os._exit(3)
    return {"alive": True}'''

HOG = '''%%cloud_function memory=128
def hog(request, context):
    if request.get("mb"):
        block = bytearray(request["mb"] * 1024 * 1024)
        return {"allocated": len(block)}
    return {"small": True}'''


def remote_traceback_shows(cell, remote_line):
    joined = "\n".join(cell.error.traceback)
    assert "Remote traceback" in joined, cell
    assert remote_line in joined, f"the remote line {remote_line!r} is not in the traceback:\n{cell!r}"


def test_function_errors(workspace):
    cells = workspace.run(
        RAISES,
        'boom({"why": "input"})',
        '%invoke boom {"why": "magic"}',
        'try:\n    boom({"why": "caught"})\nexcept ValueError as error:\n    print("caught", type(error).__name__, error)',
        SLOW,
        "import time\nstarted = time.monotonic()",
        "slow({})",
        "print(round(time.monotonic() - started, 2))",
        'slow({"seconds": 0})["slept"]',
        CRASH,
        'crash({"die": True})',
        "crash({})['alive']",
        HOG,
        'hog({"mb": 600})',
        'hog({})["small"]',
        '%invoke hog {"mb": ',
        '%%invoke hog\n{"mb": [1, 2}',
        "%invoke nosuch {}",
        "nosuch_result = 1 + 1\nnosuch_result",
    )
    (raises, call, invoke, caught, slow, start, timed_out, elapsed, slow_again, crash, crashed, crash_again, hog,
     hogged, hog_again, bad_json, bad_json_body, unknown, alive) = cells

    raises.ok()
    assert call.error.ename == "ValueError" and call.error.evalue == "bad input", call
    remote_traceback_shows(call, 'raise ValueError("bad " + value)')
    assert invoke.error.ename == "ValueError" and invoke.error.evalue == "bad magic", invoke
    remote_traceback_shows(invoke, 'raise ValueError("bad " + value)')
    assert caught.ok().stdout == "caught ValueError bad caught\n"

    slow.ok()
    assert timed_out.error.ename == "FunctionTimeout", timed_out
    assert "1 second" in timed_out.error.evalue, timed_out
    seconds = float(elapsed.ok().stdout)
    # ended at the 1 s timeout, not after the 30 s sleep: 10 s leaves a loaded
    # 2-core ASan machine its margin and is still a third of the sleep
    assert 0.9 <= seconds < 10, f"a call with timeout=1 that sleeps 30 s ended after {seconds} s"
    assert slow_again.ok().result == "0", "the call after a timeout must work"

    crash.ok()
    assert crashed.error.ename == "WorkerCrashed", crashed
    assert "3" in crashed.error.evalue, crashed  # its exit status
    assert crash_again.ok().result == "True", "the call after a crash must work"

    hog.ok()
    assert hogged.error.ename == "MemoryError", hogged
    assert hog_again.ok().result == "True", "the call after a MemoryError must work"

    assert bad_json.error.ename == "InvalidJSON" and "hog" in bad_json.error.evalue, bad_json
    assert bad_json_body.error.ename == "InvalidJSON", bad_json_body
    assert unknown.error.ename == "NotDeployed" and "nosuch" in unknown.error.evalue, unknown
    assert alive.ok().result == "2"

    invokes = [(e["op"], e["function"]) for e in workspace.trace.entries() if e["op"] == "invoke"]
    assert ("invoke", "hog") in invokes and invokes.count(("invoke", "hog")) == 2, \
        f"invalid JSON must not reach the platform: {invokes}"


def test_line_numbers_are_the_cells_own(workspace):
    """Errors in a %%cloud_function cell point at the cell's own lines, also
    when blank lines stand above the magic (the kernel accepts that cell)."""
    plain, after_blank, syntax_after_blank, alive = workspace.run(
        "%%cloud_function\ndef f(request, context):\n    return 1\nx = 2\n1/0",
        "\n%%cloud_function\ndef g(request, context):\n    return 1\nx = 2\n1/0",
        "\n\n%%cloud_function\nimport os\ndef broken(request, context)\n    return 1",
        "1 + 1",
    )
    # the control: no blank line above the magic
    assert plain.error.ename == "ZeroDivisionError", plain
    assert re.search(r"line 5\b.*\n\s*1/0", "\n".join(plain.error.traceback)), plain

    assert after_blank.error.ename == "ZeroDivisionError", after_blank
    assert re.search(r"line 6\b.*\n\s*1/0", "\n".join(after_blank.error.traceback)), \
        f"1/0 is on the cell's line 6:\n{after_blank!r}"
    assert syntax_after_blank.error.ename == "SyntaxError", syntax_after_blank
    assert re.search(r"\bline 5\b", "\n".join(syntax_after_blank.error.traceback)), \
        f"the def missing its colon is on the cell's line 5:\n{syntax_after_blank!r}"
    assert alive.ok().result == "2"


def test_a_magic_line_is_read_whole(workspace):
    """Options after a 4,080-byte value still count (the line was cut at
    4,095 bytes: memory=256 was lost and the function got 128 MB)."""
    value = "y" * 4080  # the line is 4,118 bytes; the environment 4,090 (under 4 KB)
    cell, = workspace.run(f'%%cloud_function env="BIG={value}" memory=256\n'
                          "def whole(request, context):\n"
                          "    import os\n"
                          "    return {'big': len(os.environ['BIG']), 'memory': os.environ['FAASET_FUNCTION_MEMORY']}\n"
                          "print(whole({}))")
    assert "local: deployed whole" in cell.ok().stdout, cell
    assert "'big': 4080" in cell.stdout and "'memory': '256'" in cell.stdout, cell


def test_clear_errors_for_nul_bytes_long_names_and_missing_files(workspace):
    """A NUL in a function's cell once cut its body silently; a too-long
    %invoke name got the usage line; a missing experiment file said
    "(line -1)"."""
    nul, long_invoke, missing, alive = workspace.run(
        "%%cloud_function\ndef has_nul(request, context):\n    return 'a\x00b'",
        "%invoke " + "n" * 70 + " {}",
        "%experiment anything /nonexistent/exp.json",
        "1 + 1")
    assert nul.error.ename == "SyntaxError" and "NUL character (line 3)" in nul.error.evalue, nul
    assert "has_nul" not in nul.stdout, nul
    assert long_invoke.error.ename == "UsageError", long_invoke
    assert "at most 64 characters; this one has 70" in long_invoke.error.evalue, long_invoke
    assert "/nonexistent/exp.json" in missing.error.evalue and "line -1" not in missing.error.evalue, missing
    assert alive.ok().result == "2"
