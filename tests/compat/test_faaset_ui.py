"""FaaSETUI.UI(fn), the panel of a cloud function, driven as a widget
frontend drives it (jupyter_client, the kernel's comms; the runtime is
Debian's python3 with its python3-ipywidgets): a cell shows the panel of a
function on the local platform, the test types into its fields and clicks
its buttons with comm messages, and checks what the kernel did (describe)
and what the panel's Output shows (the stream messages under the click,
claimed by the Output widget through its msg_id). Without ipywidgets the
panel is a table and says once how to get the widgets.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/compat/test_faaset_ui.py
"""
import json
import re

import pytest
from faaset_testing import DirectKernel, python_without
from widget_frontend import change, click, find_widget, handshake, texts, widget_states, widget_value

pytest.importorskip("ipywidgets")  # Debian's python3-ipywidgets: the runtime's interpreter here

SECRET = "panel-secret-5f1d0c"

FAASET_CELL = '''import FaaSET
import FaaSETUI

@FaaSET.cloud_function(platform="local", config={"memory": 256, "timeout": 20})
def greet(request, context):
    return {"message": "Hello " + request["name"]}

FaaSETUI.UI(greet)'''

MAGIC_CELL = '''%%cloud_function platforms=local memory=256 env=API_TOKEN=''' + SECRET + ''';MODE=test
def shout(request, context):
    import os
    return {"text": request["text"].upper(), "mode": os.environ["MODE"]}'''


def described(kernel, name):
    """The kernel's describe() of NAME's local platform, read in a cell."""
    reply, outputs = kernel.execute("import json\nprint(json.dumps(%s.describe()['platforms'][0]))" % name)
    assert reply["status"] == "ok", outputs
    return json.loads(texts(outputs))


def show_panel(kernel, code):
    """Runs CODE (ending in FaaSETUI.UI(...)); returns {comm_id: state} of the widgets it opened."""
    reply, outputs = kernel.execute(code, timeout=60)
    assert reply["status"] == "ok", outputs
    assert texts(outputs, "stderr") == "", outputs  # the handshake counted: no "Widget Javascript not detected"
    views = [m for m in outputs if m["msg_type"] == "display_data"]
    assert len(views) == 1, outputs  # the panel, shown once; UI returns None
    assert not [m for m in outputs if m["msg_type"] == "execute_result"]
    return widget_states(outputs)


def panel_click(kernel, opens, button):
    """Clicks BUTTON; returns what the panel's Output shows, after checking that
    the Output claimed the click's messages (its msg_id is the click's while
    it runs, then empty) and that the panel wrote nothing to stderr."""
    output = find_widget(opens, "OutputModel")
    msg_id, messages = click(kernel.client, find_widget(opens, "ButtonModel", button))
    claims = [m["content"]["data"]["state"]["msg_id"] for m in messages if m["msg_type"] == "comm_msg"
              and m["content"]["comm_id"] == output and "msg_id" in m["content"]["data"].get("state", {})]
    assert claims == [msg_id, ""], messages
    first, last = (i for i, m in enumerate(messages) if m["msg_type"] == "comm_msg"
                   and m["content"]["comm_id"] == output and "msg_id" in m["content"]["data"].get("state", {}))
    assert all(first < i < last for i, m in enumerate(messages) if m["msg_type"] == "stream"), messages
    assert texts(messages, "stderr") == "", messages
    return texts(messages)


def test_the_panel_of_a_faaset_function_reconfigures_redeploys_and_tests(kernel):
    kc = kernel.client
    handshake(kc)
    opens = show_panel(kernel, FAASET_CELL)
    memory = find_widget(opens, "TextModel", "memory (MB)")
    assert widget_value(opens, memory) == "256"
    assert widget_value(opens, find_widget(opens, "TextModel", "timeout (s)")) == "20"
    assert widget_value(opens, find_widget(opens, "DropdownModel", "platform")) == "local"
    assert "def greet(request, context):" in widget_value(opens, find_widget(opens, "TextareaModel", "source"))

    # typed into the memory field, then Reconfigure: FaaSET.reconfigure, the kernel updates the configuration
    change(kc, opens, memory, value="512")
    shown = panel_click(kernel, opens, "Reconfigure")
    assert re.fullmatch(r"local: updated configuration of greet \([0-9a-f]{8}\) in [0-9.]+ ms\n", shown), shown
    assert described(kernel, "greet")["memory_mb"] == 512
    reply, outputs = kernel.execute("print(FaaSET._functions['greet']['configs']['local']['memory'], "
                                    "greet.options['memory'])")
    assert texts(outputs) == "512 512\n", outputs  # FaaSET's record and the notebook's name follow

    # nothing edited: up to date
    assert re.fullmatch(r"local: up to date greet \([0-9a-f]{8}\)[^\n]*\n", panel_click(kernel, opens, "Reconfigure"))
    # Redeploy deploys again, unchanged
    assert re.match(r"local: (deployed|updated code of) greet ", panel_click(kernel, opens, "Redeploy"))

    payload = find_widget(opens, "TextareaModel", "payload")
    change(kc, opens, payload, value='{"name": "Ann"}')
    answer = json.loads(panel_click(kernel, opens, "Test"))
    assert answer["message"] == "Hello Ann" and answer["roundTripTime"] > 0, answer

    change(kc, opens, payload, value='{"name": ')
    shown = panel_click(kernel, opens, "Test")
    assert shown.startswith("Test: the payload is not valid JSON (") and shown.count("\n") == 1, shown

    change(kc, opens, payload, value='{"nom": "Ann"}')  # the function's own exception
    shown = panel_click(kernel, opens, "Test")
    assert shown.splitlines()[-1] == "KeyError: 'name'", shown
    assert 'request["name"]' in shown and "faaset_compat_ui" not in shown, shown  # its traceback, not the panel's

    change(kc, opens, memory, value="lots")
    assert panel_click(kernel, opens, "Reconfigure") == \
        "Reconfigure: memory (MB) must be a whole number, not 'lots'\n"
    change(kc, opens, memory, value="64")  # a number the kernel refuses
    shown = panel_click(kernel, opens, "Reconfigure")
    assert re.fullmatch(r"Reconfigure: \w+: memory must be a whole number of MB from 128 to \d+\n", shown), shown
    assert described(kernel, "greet")["memory_mb"] == 512


def test_the_panel_of_a_magic_cell_function_keeps_env_values_out(kernel, sandbox):
    kc = kernel.client
    handshake(kc)
    reply, outputs = kernel.execute(MAGIC_CELL, timeout=60)
    assert reply["status"] == "ok", outputs
    opens = show_panel(kernel, "import FaaSETUI\nFaaSETUI.UI(shout)")
    assert "API_TOKEN, MODE" in json.dumps(opens)
    change(kc, opens, find_widget(opens, "TextModel", "timeout (s)"), value="45")
    shown = panel_click(kernel, opens, "Reconfigure")
    assert re.fullmatch(r"local: updated configuration of shout \([0-9a-f]{8}\) in [0-9.]+ ms\n", shown), shown
    assert described(kernel, "shout")["timeout_s"] == 45
    change(kc, opens, find_widget(opens, "TextareaModel", "payload"), value='{"text": "hi"}')
    answer = json.loads(panel_click(kernel, opens, "Test"))
    assert (answer["text"], answer["mode"]) == ("HI", "test"), answer  # the env still reaches the function

    # a run=local function: Test runs the def in the notebook, as calling it does
    opens = show_panel(kernel, "%%cloud_function run=local\ndef near(request, context):\n"
                               "    return {'twice': request['n'] * 2}\nFaaSETUI.UI(near)")
    change(kc, opens, find_widget(opens, "TextareaModel", "payload"), value='{"n": 21}')
    assert json.loads(panel_click(kernel, opens, "Test")) == {"twice": 42}

    # a function this kernel only knows by name (FaaSET.NAME of an earlier kernel) has no source to redefine
    reply, outputs = kernel.execute("import faaset_host\n"
                                    "faaset_host.CloudFunction('ghost', ['local'], 'cloud', 'ghost', '', {}).redefine({})")
    assert reply["ename"] == "ValueError" and "was not defined in this kernel" in reply["evalue"], reply

    kernel.stop()
    assert SECRET not in json.dumps(opens)
    platform = sandbox.dir / ".faaset" / "local"  # the local platform's deployments hold the values, as Lambda does
    for path in sandbox.dir.rglob("*"):  # the kernel's state and stderr, the connection file
        if path.is_file() and path.name != "history.jsonl" and platform not in path.parents:  # history: as typed
            assert SECRET.encode() not in path.read_bytes(), path


def test_without_ipywidgets_the_panel_is_a_table_that_says_how_to_get_the_widgets(sandbox):
    kernel = DirectKernel(sandbox, python=python_without(sandbox.dir, "ipywidgets"))
    try:
        reply, outputs = kernel.execute(FAASET_CELL, timeout=60)
        assert reply["status"] == "ok", outputs
        again_reply, again = kernel.execute("FaaSETUI.UI(greet)")
    finally:
        kernel.stop()
    assert "`%pip install ipywidgets`" in texts(outputs) and "pip install" not in texts(again), (outputs, again)
    for shown in (outputs, again):
        tables = [m["content"]["data"]["text/html"] for m in shown if m["msg_type"] == "display_data"]
        assert len(tables) == 1 and "<b>greet</b>" in tables[0] and "<td>256</td>" in tables[0], shown
