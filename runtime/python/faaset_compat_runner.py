# Today's FaaSET's FaaSRunner (SAAF's juypter_template/FaaSRunner.py) as
# `import FaaSRunner`, made of the kernel's experiment machinery
# (faaset_library serves it under that name).
#
# experiment(function, threads, runs_per_thread, payloads, shuffle_payloads,
# experiment_name, tags) is one kernel experiment (the `experiment` upcall,
# so progress, summary and charts show under the cell and the rows stay in
# faaset-results/): threads x runs_per_thread runs, `threads` at once,
# payloads dealt out (shuffled with FaaSRunner's seed, 42, unless
# shuffle_payloads=False). Each run comes back as FaaSRunner keeps it: the
# function's answer with roundTripTime, latency, payload, threadID, runID
# (its number within its thread) and the tags, written as a JSON file to
# ./functions/NAME/experiments/EXPERIMENT_NAME/ as FaaSET's test() writes
# them, and returned as a pandas DataFrame (a list of dicts without
# pandas). The runs call the function where its FaaSET platform is (after
# FaaSET.reconfigure(platform=DUPLICATE), the duplicate's own function), as
# FaaSRunner's calls through FaaSET.test do. When no run succeeded it says FaaSRunner's "ERROR - ALL REQUESTS
# FAILED" and returns None. load(function, experiment, tags) reads such a
# folder back.
import json
import os
import uuid

import faaset_host

import FaaSET  # the same module the notebook imports: one registry of functions


def _frame(rows):
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows)


def _folder(name, experiment_name):
    return os.path.join("functions", name, "experiments", str(experiment_name))


def experiment(function, threads=1, runs_per_thread=1, payloads=None, shuffle_payloads=True,
               experiment_name="default", tags=None):
    """Runs FUNCTION threads x runs_per_thread times, THREADS at once; returns the runs."""
    name = FaaSET._name(function)
    spec = {"payloads": list(payloads or [{}]), "runs": int(threads) * int(runs_per_thread), "threads": int(threads),
            "shufflePayloads": bool(shuffle_payloads), "randomSeed": 42, "experimentName": str(experiment_name)}
    target = FaaSET._call_target(function)[0] if name in FaaSET._functions else None
    rows = faaset_host.run_experiment(target.name if target is not None else name, spec)  # a duplicate's own
    folder = _folder(name, experiment_name)
    os.makedirs(folder, exist_ok=True)
    kept, counts = [], {}
    for row in sorted(rows, key=lambda r: (r.get("2_thread_id", 0), r.get("1_run_id", 0))):
        thread = row.get("2_thread_id", 0)
        run = dict(row, threadID=thread, runID=counts.get(thread, 0), **(tags or {}))
        counts[thread] = run["runID"] + 1
        if run.get("errorType"):
            print("Run %s.%s failed: %s: %s" % (thread, run["runID"], run["errorType"], run.get("errorMessage", "")))
        else:
            with open(os.path.join(folder, "%s.json" % uuid.uuid4()), "w", encoding="utf-8") as file:
                json.dump(run, file, indent=4, default=str)
        kept.append(run)
    if not any(not run.get("errorType") for run in kept):
        print("ERROR - ALL REQUESTS FAILED")
        return None
    return _frame(kept)


def load(function, experiment, tags=None):
    """The runs kept in ./functions/NAME/experiments/EXPERIMENT/, with TAGS added."""
    folder = _folder(FaaSET._name(function), experiment)
    runs = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            with open(entry.path, encoding="utf-8") as file:
                runs.append(dict(json.load(file), **(tags or {})))
    return _frame(runs)
