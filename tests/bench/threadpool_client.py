#!/usr/bin/python3
"""A thread-per-slot HTTP client doing what FaaS Runner does, for
experiment_bench.py's comparison (run as its own process so its memory is
measured like faaset's).

    threadpool_client.py --url http(s)://HOST:PORT/ --threads 1000 --runs 5000
                         --sleep 2 --out rows.jsonl [--timeout S] [--deadline S] [--ca FILE]

One OS thread per slot, all started one after another as FaaS Runner starts
its threads; thread t makes runs t, t + threads, t + 2 threads, ... one
after another (FaaS Runner's even split), each a blocking POST of
{"sleep": SLEEP} as JSON over the thread's own keep-alive HTTP/1.1
connection (http.client; a connection that fails is replaced on the next
run); for https:// one ssl context verifies every connection against --ca
(a PEM file), else the system's store. Each run becomes a row with FaaS Runner's columns (1_run_id,
2_thread_id, clientSendTime / clientReceiveTime in epoch ms,
roundTripTime in ms from the monotonic clock, latency = roundTripTime -
runtime) with the server's JSON merged in, or status "error" with
errorType / errorMessage. The rows are written to --out as JSON lines when
every thread has finished; progress goes to stderr once a second.

--timeout bounds one request (default sleep + 60 s); --deadline bounds the
whole run (default (runs / threads) * (sleep + 60) + 60 s): threads still
running then are abandoned and the client exits 1 with what it has. The
soft limit on open files is raised to the hard one.
"""
import argparse
import http.client
import json
import resource
import ssl
import sys
import threading
import time
import urllib.parse


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--runs", type=int, required=True)
    parser.add_argument("--sleep", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--deadline", type=float)
    parser.add_argument("--ca", help="PEM file of the CA to trust for https://")
    args = parser.parse_args()
    if args.threads < 1 or args.threads > args.runs:
        parser.error("threads must be between 1 and runs")
    url = urllib.parse.urlsplit(args.url)
    if url.scheme not in ("http", "https") or url.hostname is None:
        parser.error("--url must be http(s)://HOST:PORT/PATH")
    secure = url.scheme == "https"
    host, port, path = url.hostname, url.port or (443 if secure else 80), url.path or "/"
    context = ssl.create_default_context(cafile=args.ca) if secure else None
    timeout = args.timeout or args.sleep + 60
    deadline = args.deadline or (args.runs / args.threads) * (args.sleep + 60) + 60
    raise_nofile()

    payload = {"sleep": args.sleep}
    body = json.dumps(payload).encode()
    payload_text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    rows = [None] * args.runs
    lock = threading.Lock()
    counts = {"done": 0, "failed": 0}

    def slot(index):
        conn = None
        for run in range(index, args.runs, args.threads):
            row = {"1_run_id": run, "2_thread_id": index, "3_pipeline_stage": 0, "payload": payload_text,
                   "endpoint": args.url}
            send_epoch = time.time() * 1000.0
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = (http.client.HTTPSConnection(host, port, timeout=timeout, context=context) if secure
                            else http.client.HTTPConnection(host, port, timeout=timeout))
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                round_trip = (time.perf_counter() - started) * 1000.0
                receive_epoch = time.time() * 1000.0
                if response.status != 200:
                    raise RuntimeError(f"HTTP {response.status}: {data[:200]!r}")
                result = json.loads(data)
                if isinstance(result, dict):
                    row.update(result)
                else:
                    row["result"] = result
                row["status"] = "ok"
                if response.will_close:
                    conn.close()
                    conn = None
            except Exception as error:  # noqa: BLE001 - every failure is a row, as in FaaS Runner
                round_trip = (time.perf_counter() - started) * 1000.0
                receive_epoch = time.time() * 1000.0
                row["status"] = "error"
                row["errorType"] = type(error).__name__
                row["errorMessage"] = str(error)[:500]
                if conn is not None:
                    conn.close()
                conn = None
            row["clientSendTime"] = send_epoch
            row["clientReceiveTime"] = receive_epoch
            row["roundTripTime"] = round_trip
            if row["status"] == "ok" and isinstance(row.get("runtime"), (int, float)):
                row["latency"] = round_trip - row["runtime"]
            rows[run] = row
            with lock:
                counts["done"] += 1
                counts["failed"] += row["status"] != "ok"
        if conn is not None:
            conn.close()

    started = time.monotonic()
    threads = []
    for index in range(args.threads):
        thread = threading.Thread(target=slot, args=(index,), name=f"slot-{index}", daemon=True)
        thread.start()
        threads.append(thread)
    last = 0.0
    while any(t.is_alive() for t in threads):
        now = time.monotonic()
        if now - started > deadline:
            print(f"threadpool_client: deadline of {deadline:.0f} s reached; abandoning the threads still running",
                  file=sys.stderr, flush=True)
            break
        if now - last >= 1.0:
            last = now
            with lock:
                done, failed = counts["done"], counts["failed"]
            print(f"{done}/{args.runs} done, {failed} failed", file=sys.stderr, flush=True)
        threads[-1].join(0.2) if threads[-1].is_alive() else time.sleep(0.2)
    complete = all(not t.is_alive() for t in threads)
    with open(args.out, "w") as out:
        for row in rows:
            if row is not None:
                out.write(json.dumps(row) + "\n")
    with lock:
        print(f"{counts['done']}/{args.runs} done, {counts['failed']} failed, "
              f"{time.monotonic() - started:.2f} s", file=sys.stderr, flush=True)
    return 0 if complete else 1


if __name__ == "__main__":
    # daemon threads: a deadline or a signal ends the process without joining them
    sys.exit(main())
