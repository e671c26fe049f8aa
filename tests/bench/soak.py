#!/usr/bin/python3
"""Soak: one kernel through 10,000 cells, 100,000 calls of a local cloud
function and a 100,000-run experiment, with the C kernel's and the Python
runtime's resident memory and open files measured before and after each
phase. Not part of CI's pass/fail: it prints figures, and PASS/FAIL lines
for the C kernel's RSS staying flat (within 5 %) and its open files
constant, from after a warm-up (a few of each: it starts the local
function's 20 warm workers, whose sockets stay open, and fills allocator
pools and caches) to the end.

    cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release && cmake --build build-release -j2
    /usr/bin/python3 tests/bench/soak.py [--cells 10000] [--calls 100000] [--runs 100000] [--faaset PATH]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

from jupyter_client import BlockingKernelClient
from jupyter_client.connect import write_connection_file

ROOT = pathlib.Path(__file__).resolve().parents[2]


def status_kib(pid, field):
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def open_files(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def runtime_pid(kernel_pid):
    """The Python runtime: the kernel's child that runs faaset_host (the first child)."""
    children = pathlib.Path(f"/proc/{kernel_pid}/task/{kernel_pid}/children").read_text().split()
    return int(children[0]) if children else None


def measure(kernel, label, started):
    runtime = runtime_pid(kernel.pid)
    return {"phase": label, "seconds": round(time.monotonic() - started, 1),
            "kernel_rss_kib": status_kib(kernel.pid, "VmRSS"), "kernel_fds": open_files(kernel.pid),
            "runtime_rss_kib": status_kib(runtime, "VmRSS") if runtime else 0,
            "runtime_fds": open_files(runtime) if runtime else 0}


def run_cell(client, code, timeout):
    """Runs CODE; returns the reply content (outputs are dropped)."""
    msg_id = client.execute(code, store_history=True)
    deadline = time.monotonic() + timeout
    while True:
        reply = client.get_shell_msg(timeout=max(1, deadline - time.monotonic()))
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    while True:  # drain iopub up to this cell's idle
        try:
            msg = client.get_iopub_msg(timeout=5)
        except Exception:
            break
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle" and \
                msg["parent_header"].get("msg_id") == msg_id:
            break
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {code[:80]!r}: {reply['content'].get('ename')}: "
                           f"{reply['content'].get('evalue')}")
    return reply["content"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10000)
    parser.add_argument("--calls", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=100000)
    parser.add_argument("--faaset", default=os.environ.get("FAASET_BINARY", str(ROOT / "build-release" / "faaset")))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faaset-soak-") as folder:
        connection, _ = write_connection_file(os.path.join(folder, "kernel.json"))
        env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3", FAASET_HISTORY=os.path.join(folder, "history.jsonl"))
        kernel = subprocess.Popen([args.faaset, "kernel", "-f", connection], cwd=folder, env=env,
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(folder, "kernel.log"), "wb"))
        client = BlockingKernelClient(connection_file=connection)
        client.load_connection_file()
        client.start_channels()
        started = time.monotonic()
        rows = []
        try:
            client.wait_for_ready(timeout=60)
            rows.append(measure(kernel, "started", started))
            run_cell(client, "%%cloud_function\ndef inc(request, context):\n"
                             "    return {'x': request['x'] + 1}", 60)
            experiment = {"runs": 0, "threads": 20, "payloads": [{"x": 1}], "experimentName": "soak"}
            for phase, cells, calls, runs in (("warm-up", 100, 1000, 1000),
                                              ("the soak", args.cells, args.calls, args.runs),
                                              ("again", args.cells // 10, args.calls // 10, args.runs)):
                for i in range(cells):
                    run_cell(client, f"x = {i}", 60)
                rows.append(measure(kernel, f"{phase}: after {cells} cells", started))
                run_cell(client, f"for i in range({calls}):\n    assert inc({{'x': i}})['x'] == i + 1", 3600)
                rows.append(measure(kernel, f"{phase}: after {calls} local calls", started))
                run_cell(client, "%%experiment inc\n" + json.dumps(dict(experiment, runs=runs)), 3600)
                rows.append(measure(kernel, f"{phase}: after a {runs}-run experiment", started))
        finally:
            client.stop_channels()
            kernel.kill()
            kernel.wait()
    print(f"{'phase':40s} {'time (s)':>9s} {'kernel RSS (KiB)':>17s} {'kernel fds':>11s} "
          f"{'runtime RSS (KiB)':>18s} {'runtime fds':>12s}")
    for row in rows:
        print(f"{row['phase']:40s} {row['seconds']:9.1f} {row['kernel_rss_kib']:17d} {row['kernel_fds']:11d} "
              f"{row['runtime_rss_kib']:18d} {row['runtime_fds']:12d}")
    warm, soaked, last = rows[3]["kernel_rss_kib"], rows[6]["kernel_rss_kib"], rows[-1]["kernel_rss_kib"]
    growth = (last - soaked) / soaked * 100
    flat = abs(growth) <= 5
    print(f"\nC kernel RSS after the warm-up {warm} KiB, after the soak {soaked} KiB "
          f"({(soaked - warm) / warm * 100:+.1f} %: the largest experiment's pages the allocator keeps)")
    print(f"{'PASS' if flat else 'FAIL'}  C kernel RSS flat within 5 % from the soak to the end (as much work "
          f"again): {soaked} -> {last} KiB ({growth:+.1f} %)")
    fds = rows[-1]["kernel_fds"] - rows[3]["kernel_fds"]  # the warm workers are open from the warm-up on
    print(f"{'PASS' if fds == 0 else 'FAIL'}  C kernel open files constant after warm-up: {rows[3]['kernel_fds']} -> "
          f"{rows[-1]['kernel_fds']}")
    return 0 if flat and fds == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
