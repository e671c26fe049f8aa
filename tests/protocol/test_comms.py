"""Jupyter comms through a jupyter_client, as a widget frontend drives them:
the widget version handshake a frontend opens on connecting, an ipywidgets
slider and button created in a cell and changed / clicked from the
frontend (the callbacks run in the runtime, their output under the
comm_msg), comm_info with the runtime's comms, a comm target registered
in Python and opened from the frontend, comms sent from a thread between
cells, an interrupted callback, and malformed comm messages (ignored, the
kernel keeps answering)."""
import time

import pytest
from widget_frontend import VIEW_MIME, handshake, send, texts, under, widget_opens  # tests/support (conftest)

pytest.importorskip("ipywidgets")  # Debian's python3-ipywidgets (6.0.0 here)


def test_version_handshake_imports_ipywidgets(kernel):
    kc = kernel.client
    handshake(kc)
    reply, outputs = kernel.execute("import sys; print('ipywidgets' in sys.modules)")
    assert texts(outputs) == "True\n"


def test_slider_and_button_callbacks_run_in_the_runtime(kernel):
    kc = kernel.client
    handshake(kc)
    reply, outputs = kernel.execute(
        "import ipywidgets as widgets\n"
        "slider = widgets.IntSlider(value=3, min=0, max=10)\n"
        "slider.observe(lambda change: print('slider', change['new']), 'value')\n"
        "button = widgets.Button(description='go')\n"
        "button.on_click(lambda b: print('clicked', slider.value))\n"
        "display(slider)\n"
        "button")
    assert reply["status"] == "ok", reply
    assert texts(outputs, "stderr") == ""  # no "Widget Javascript not detected": the handshake counted
    models = {data["_model_name"]: comm_id for comm_id, data in widget_opens(outputs).items()}
    assert "IntSliderModel" in models and "ButtonModel" in models
    views = [m["content"]["data"][VIEW_MIME]["model_id"] for m in outputs if m["msg_type"] == "display_data"]
    assert views == [models["IntSliderModel"], models["ButtonModel"]]
    assert not [m for m in outputs if m["msg_type"] == "execute_result"]  # a widget shows itself once

    # The frontend moves the slider: the observer runs, its output goes under the comm_msg.
    change = send(kc, "comm_msg", {"comm_id": models["IntSliderModel"],
                                   "data": {"method": "backbone", "sync_data": {"value": 7}}})
    messages = under(kc, change)
    assert texts(messages) == "slider 7\n"
    assert all(m["parent_header"]["msg_id"] == change for m in messages)

    click = send(kc, "comm_msg", {"comm_id": models["ButtonModel"],
                                  "data": {"method": "custom", "content": {"event": "click"}}})
    assert texts(under(kc, click)) == "clicked 7\n"

    # The kernel side sees the new value, and setting it there updates the frontend.
    reply, outputs = kernel.execute("print(slider.value); slider.value = 9")
    assert texts(outputs) == "7\nslider 9\n"
    updates = [m["content"] for m in outputs if m["msg_type"] == "comm_msg"]
    assert [(u["comm_id"], u["data"]["method"], u["data"]["state"]) for u in updates] == \
        [(models["IntSliderModel"], "update", {"value": 9})]

    # comm_info lists the runtime's comms, for all targets or one.
    kc.comm_info()
    comms = kc.get_shell_msg(timeout=10)["content"]["comms"]
    assert comms[models["IntSliderModel"]] == {"target_name": "jupyter.widget"}
    kc.comm_info(target_name="no.such.target")
    assert kc.get_shell_msg(timeout=10)["content"] == {"status": "ok", "comms": {}}

    # The frontend closes the slider's comm: the kernel forgets it.
    under(kc, send(kc, "comm_close", {"comm_id": models["IntSliderModel"], "data": {}}))
    kc.comm_info()
    assert models["IntSliderModel"] not in kc.get_shell_msg(timeout=10)["content"]["comms"]


def test_target_registered_in_python_and_opened_by_the_frontend(kernel):
    kc = kernel.client
    reply, outputs = kernel.execute(
        "from faaset_comms import get_comm_manager\n"
        "def echo(comm, msg):\n"
        "    print('opened with', msg['content']['data'])\n"
        "    comm.on_msg(lambda m: comm.send({'echo': m['content']['data']}))\n"
        "    comm.on_close(lambda m: print('closed', m['content']['comm_id']))\n"
        "get_comm_manager().register_target('echo', echo)")
    assert reply["status"] == "ok", reply
    opened = send(kc, "comm_open", {"comm_id": "e1", "target_name": "echo", "data": {"x": 1}})
    assert texts(under(kc, opened)) == "opened with {'x': 1}\n"
    sent = send(kc, "comm_msg", {"comm_id": "e1", "data": {"n": 2}})
    echoes = [m for m in under(kc, sent) if m["msg_type"] == "comm_msg"]
    assert [m["content"] for m in echoes] == [{"comm_id": "e1", "data": {"echo": {"n": 2}}}]
    assert texts(under(kc, send(kc, "comm_close", {"comm_id": "e1", "data": {}}))) == "closed e1\n"
    # unknown target: closed at once, as ipykernel does
    unknown = send(kc, "comm_open", {"comm_id": "u1", "target_name": "nope", "data": {}})
    closes = [m for m in under(kc, unknown) if m["msg_type"] == "comm_close"]
    assert [m["content"]["comm_id"] for m in closes] == ["u1"]


def test_comm_from_a_thread_after_the_cell(kernel):
    kc = kernel.client
    msg_id = kc.execute(
        "import threading, time\n"
        "from ipykernel.comm import Comm\n"
        "def later():\n"
        "    time.sleep(0.5)\n"
        "    Comm(target_name='later', data={'from': 'thread'})\n"
        "threading.Thread(target=later).start()")
    reply, outputs = kernel.collect(msg_id)
    assert reply["status"] == "ok", reply
    deadline = time.monotonic() + 30
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["msg_type"] == "comm_open":
            break
    assert msg["content"]["target_name"] == "later" and msg["content"]["data"] == {"from": "thread"}
    assert msg["parent_header"]["msg_id"] == msg_id  # under the cell that started the thread


def test_interrupt_stops_a_callback(kernel):
    kc = kernel.client
    kernel.execute(
        "import time\n"
        "from faaset_comms import get_comm_manager\n"
        "def slow(comm, msg):\n"
        "    comm.on_msg(lambda m: time.sleep(300))\n"
        "get_comm_manager().register_target('slow', slow)")
    under(kc, send(kc, "comm_open", {"comm_id": "s1", "target_name": "slow", "data": {}}))
    stuck = send(kc, "comm_msg", {"comm_id": "s1", "data": {}})
    time.sleep(1)
    start = time.monotonic()
    kc.control_channel.send(kc.session.msg("interrupt_request"))
    messages = under(kc, stuck, timeout=60)
    assert time.monotonic() - start < 30
    assert "KeyboardInterrupt" in texts(messages, "stderr")
    reply, outputs = kernel.execute("print('alive')")
    assert texts(outputs) == "alive\n"


@pytest.mark.parametrize("msg_type, content", [
    ("comm_msg", {"data": {}}),                          # no comm_id
    ("comm_msg", {"comm_id": 7, "data": {}}),            # not a string
    ("comm_msg", {"comm_id": "x", "data": [1, 2]}),      # data not an object
    ("comm_open", {"comm_id": "x", "data": {}}),         # no target_name
    ("comm_close", {"comm_id": ""}),
    ("comm_msg", {"comm_id": "never-opened", "data": {"method": "custom"}}),
])
def test_malformed_comm_messages_are_ignored(kernel, msg_type, content):
    kc = kernel.client
    messages = under(kc, send(kc, msg_type, content))
    assert [m for m in messages if m["msg_type"] not in ("stream",)] == []
    assert texts(messages, "stderr") == ""
    reply, outputs = kernel.execute("print('still here')")
    assert texts(outputs) == "still here\n"
    assert "ignoring a %s" % msg_type in kernel.stderr() or content.get("comm_id") == "never-opened"
