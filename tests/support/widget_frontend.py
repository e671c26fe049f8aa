"""What a widget frontend sends and reads, on a jupyter_client
BlockingKernelClient: comm messages to the kernel, the IOPub messages under
one request, the jupyter.widget.version handshake the classic notebook's
widget manager does on connecting, the widgets a cell opened, and a widget
changed or clicked the way the installed ipywidgets expects (its 6.x
`backbone` / `sync_data`, or the `update` / `state` of 7 and later).

Runs on Debian's /usr/bin/python3, which has jupyter_client.
"""
import time

VIEW_MIME = "application/vnd.jupyter.widget-view+json"


def send(kc, msg_type, content):
    """Sends a shell message; returns its msg_id."""
    msg = kc.session.msg(msg_type, content)
    kc.shell_channel.send(msg)
    return msg["header"]["msg_id"]


def under(kc, msg_id, timeout=30):
    """IOPub messages whose parent is msg_id, from busy to idle (both left out)."""
    deadline = time.monotonic() + timeout
    seen, started = [], False
    while True:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status":
            if msg["content"]["execution_state"] == "busy":
                started = True
                continue
            assert started, "idle before busy"
            return seen
        seen.append(msg)


def texts(messages, name="stdout"):
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream" and m["content"]["name"] == name)


def handshake(kc):
    """What the classic notebook's widget manager does on connecting: open
    jupyter.widget.version, read the kernel's version, say it is valid."""
    opened = send(kc, "comm_open", {"comm_id": "version-comm", "target_name": "jupyter.widget.version", "data": {}})
    messages = under(kc, opened, timeout=60)  # the first one imports ipywidgets
    versions = [m for m in messages if m["msg_type"] == "comm_msg"]
    assert versions and versions[0]["content"]["comm_id"] == "version-comm", messages
    assert "version" in versions[0]["content"]["data"]
    under(kc, send(kc, "comm_msg", {"comm_id": "version-comm", "data": {"validated": True}}))


def widget_opens(outputs):
    """{comm_id: the state it opened with} of the widgets among OUTPUTS."""
    return {m["content"]["comm_id"]: m["content"]["data"] for m in outputs if m["msg_type"] == "comm_open"}


def widget_states(outputs):
    """{comm_id: state} of the widgets among OUTPUTS as a frontend holds them:
    the state each opened with, then the updates the kernel sent."""
    states = {}
    for m in outputs:
        data = m["content"].get("data") or {}
        if m["msg_type"] == "comm_open":
            states[m["content"]["comm_id"]] = dict(_state(data))
        elif m["msg_type"] == "comm_msg" and data.get("method") == "update" and m["content"]["comm_id"] in states:
            states[m["content"]["comm_id"]].update(data.get("state") or {})
    return states


def _state(data):
    return data.get("state", data)  # ipywidgets 7 and later nest the state


def find_widget(opens, model, description=None):
    """The comm_id of the one widget of MODEL (e.g. "ButtonModel") with DESCRIPTION."""
    found = [comm_id for comm_id, data in opens.items() if _state(data).get("_model_name") == model
             and (description is None or _state(data).get("description") == description)]
    assert len(found) == 1, (model, description, opens)
    return found[0]


def widget_value(opens, comm_id):
    return _state(opens[comm_id]).get("value")


def change(kc, opens, comm_id, **state):
    """The frontend sets STATE on the widget (as typing in it does); returns the messages under it."""
    if _state(opens[comm_id]).get("_model_module") == "jupyter-js-widgets":  # ipywidgets 6
        data = {"method": "backbone", "sync_data": state}
    else:
        data = {"method": "update", "state": state}
    return under(kc, send(kc, "comm_msg", {"comm_id": comm_id, "data": data}))


def click(kc, comm_id, timeout=60):
    """The frontend clicks the button; returns (the click's msg_id, the messages under it)."""
    msg_id = send(kc, "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}})
    return msg_id, under(kc, msg_id, timeout=timeout)
