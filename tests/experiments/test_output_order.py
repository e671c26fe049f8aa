"""A cell's own output stays in the order the cell produced it: what it
printed (and a %%cloud_function's deploy line) before run_experiment()
comes before the experiment's start line and progress, and what it prints
after comes after the summary. The kernel coalesces stream output; an
upcall flushes it first.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/experiments/test_output_order.py
"""
from experiment_helpers import SLEEPER, Watcher

CELL = SLEEPER + '''
print("before the experiment")
rows = run_experiment(sleeper, {"runs": 4, "threads": 2, "payloads": [{"sleep": 0.05}], "experimentName": "ordered"})
print("after the experiment:", len(rows))
'''


def test_prints_and_deploy_line_stay_in_order_around_an_experiment(kernel):
    watcher = Watcher(kernel, CELL)
    watcher.pump(120)
    assert watcher.idle, "the cell did not end"
    assert watcher.reply(5)["content"]["status"] == "ok", watcher.reply(5)
    outputs = [m for _, m in watcher.messages if m["msg_type"] not in ("status", "execute_input")]
    shown = []
    for m in outputs:
        if m["msg_type"] == "stream":
            shown += [("text", line) for line in m["content"]["text"].splitlines()]
        elif m["msg_type"] in ("display_data", "update_display_data"):
            shown.append((m["msg_type"], m["content"]["data"].get("text/plain", "")[:30]))
    texts = [line for kind, line in shown if kind == "text"]
    assert texts[0].startswith("local: deployed sleeper"), shown
    assert texts[1] == "before the experiment", shown
    assert texts[-1] == "after the experiment: 4", shown
    first_display = next(i for i, (kind, _) in enumerate(shown) if kind != "text")
    last_display = max(i for i, (kind, _) in enumerate(shown) if kind != "text")
    before = shown.index(("text", "before the experiment"))
    assert before < first_display, shown
    assert shown.index(("text", "after the experiment: 4")) > last_display, shown
