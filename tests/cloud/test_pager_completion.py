"""What nbclient cannot see: the pager payload of `?%%cloud_function` and
completion of magics, options and function names. A kernel is started
directly (tests/support DirectKernel, a BlockingKernelClient); its stderr is
checked for sanitizer reports when it stops.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/cloud/test_pager_completion.py
"""
import pytest

import cloud_helpers  # noqa: F401 (puts tests/support on sys.path)
from faaset_testing import texts


def pages(reply):
    return [p for p in reply.get("payload", []) if p.get("source") == "page"]


@pytest.mark.parametrize("code", ["?%%cloud_function", "%%cloud_function?", "%help cloud_function"])
def test_cloud_function_help_opens_the_pager(kernel, code):
    reply, outputs = kernel.execute(code)
    assert reply["status"] == "ok", reply
    page, = pages(reply)
    shown = page["data"]["text/plain"]
    assert shown.startswith("%%cloud_function [key=value ...]"), shown
    for option in ("platforms=", "memory=", "timeout=", "arch=", "runtime=", "name=", "deploy=false", "force=true",
                   "run=cloud|local", "env="):
        assert option in shown, f"the help does not explain {option}:\n{shown}"
    assert "`from Inspector import *` is accepted inside the def" in shown, shown
    assert not [m for m in outputs if m["msg_type"] == "error"], outputs


def test_pager_for_other_magics_and_unknown_names(kernel):
    reply, _ = kernel.execute("%invoke??")
    page, = pages(reply)
    assert page["data"]["text/plain"].startswith("%invoke NAME JSON"), page
    reply, outputs = kernel.execute("?%nosuch")
    assert reply["status"] == "error" and reply["ename"] == "UnknownMagic", reply
    assert [m["content"]["ename"] for m in outputs if m["msg_type"] == "error"] == ["UnknownMagic"]


@pytest.mark.parametrize("code", [" ", "\n", "\t", "  \n\t ", "\r\n", " ? ", "\n?\n"])
def test_blank_cells_and_lone_question_marks(kernel, code):
    """Whitespace-only cells once read before the code (ASan: heap overflow)."""
    reply, outputs = kernel.execute(code)
    assert reply["status"] in ("ok", "error"), reply
    assert not pages(reply), reply
    reply, _ = kernel.execute("1 + 1")
    assert reply["status"] == "ok", reply


def complete(kernel, code, cursor=None):
    kernel.client.complete(code, len(code) if cursor is None else cursor)
    reply = kernel.client.get_shell_msg(timeout=10)
    assert reply["msg_type"] == "complete_reply", reply
    assert reply["content"]["status"] == "ok", reply
    return reply["content"]


def test_completion(kernel):
    for name in ("hello", "helper", "other"):
        reply, outputs = kernel.execute(f"%%cloud_function\ndef {name}(request, context):\n    return {{}}")
        assert reply["status"] == "ok", (reply, outputs)
        assert f"local: deployed {name} " in texts(outputs), outputs

    content = complete(kernel, "%%cloud_function mem")
    assert content["matches"] == ["memory="], content
    assert (content["cursor_start"], content["cursor_end"]) == (17, 20), content

    code = "%%cloud_function memory=256 ti\ndef f(request, context):\n    return 1"
    content = complete(kernel, code, cursor=len("%%cloud_function memory=256 ti"))
    assert content["matches"] == ["timeout="], content
    assert (content["cursor_start"], content["cursor_end"]) == (28, 30), content

    content = complete(kernel, "%inv")
    assert "%invoke" in content["matches"], content
    assert (content["cursor_start"], content["cursor_end"]) == (0, 4), content

    # magic names: the runtime's (IPython's or its own) with the kernel's
    content = complete(kernel, "%ti")
    assert {"%time", "%timeit"} <= set(content["matches"]), content
    content = complete(kernel, "%%")
    assert {"%%cloud_function", "%%experiment", "%%writefile", "%%bash"} <= set(content["matches"]), content
    assert (content["cursor_start"], content["cursor_end"]) == (0, 2), content

    content = complete(kernel, "%invoke he")
    assert sorted(content["matches"]) == ["hello", "helper"], content
    assert (content["cursor_start"], content["cursor_end"]) == (8, 10), content

    content = complete(kernel, "%%invoke o")
    assert content["matches"] == ["other"], content

    # plain Python completes the callables bound in the namespace
    content = complete(kernel, "hel")
    assert {"hello", "helper"} <= set(content["matches"]), content


def test_a_cloud_function_introspected(kernel):
    """`fn?`, `fn??` and an inspect_request on a cloud function show where it
    runs, its memory, timeout, code hash, when it was deployed, its state and
    (with ??) its source."""
    reply, _ = kernel.execute('%%cloud_function platforms=local memory=256 timeout=20\n'
                              'def greeter(request, context):\n    """Says hello."""\n    return {"hi": 1}')
    assert reply["status"] == "ok", reply
    reply, _ = kernel.execute("greeter?")
    page, = pages(reply)
    shown = page["data"]["text/plain"]
    for part in ("Type:", "cloud function", "Runs:", "on local", "Platform local:", "memory 256 MB",
                 "timeout 20 s", "code hash ", "deployed at 20", "up to date", "Says hello."):
        assert part in shown, f"{part!r} is not in:\n{shown}"
    assert "Source:" not in shown
    reply, _ = kernel.execute("greeter??")
    page, = pages(reply)
    assert "Source:" in page["data"]["text/plain"] and 'return {"hi": 1}' in page["data"]["text/plain"]
    kernel.client.inspect("greeter", 4, 0)
    inspected = kernel.client.get_shell_msg(timeout=20)["content"]
    assert inspected["found"] and "memory 256 MB" in inspected["data"]["text/plain"], inspected


def test_experiment_keys_complete_in_the_cell(kernel):
    code = '%%experiment f\n{"runs": 10, "thr'
    content = complete(kernel, code)
    assert content["matches"] == ["threads"], content
