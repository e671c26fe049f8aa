#!/usr/bin/python3
"""Benchmark `faaset run` (FaaS Runner's experiment on faaset's HTTP
event loop) against a thread-per-slot client, side by side, in one run,
against the same loopback sleeper server: the paper's experiment.

The experiment (the paper's sleeper experiment, FaaS Runner's schema): a sleeper function
called --runs times (default 5000) with --threads in flight (default 1000),
each call sleeping --sleep seconds (default 2), one iteration. Concurrency
is computed from the function's own start and end times, latency as round
trip minus runtime.

1. The server: tests/bench/sleeper_server.c, compiled here with `cc -O2`
   into the temporary folder. POST / with {"sleep": S} is held for S seconds
   on a timer (epoll + timerfd, no thread per request) and answered with
   SAAF's fields: startTime / endTime (epoch ms, when the request had fully
   arrived and when its timer fired), runtime (ms), uuid, newcontainer 0,
   plus the server process's pid and the number of the TCP connection the
   request came on. HTTP/1.1 keep-alive. --server-workers processes
   (default 4, or one per 2500 slots above 10,000) share the port with
   SO_REUSEPORT, each with its own accept queue (net.core.somaxconn caps
   each queue; it is reported). Each worker also logs every answered
   request's start and end, so the server's own count of requests is
   checked against the client's rows. It binds 127.0.0.1 only; all traffic
   stays on loopback.

2. The clients, one after the other, each a separate process whose memory
   is measured the same way: /proc/PID/status (VmRSS, VmHWM, VmSize,
   Threads) polled every 50 ms while it runs, and ru_maxrss from os.wait4
   when it exits (the peak resident set, the figure reported).
   (a) faaset: `faaset run -f FUNCTION.json -e EXPERIMENT.json -o DIR` with a
       FaaS Runner function file {"function": "sleeper", "platform": "HTTP",
       "endpoint": "http://127.0.0.1:PORT/"} and an experiment file {"runs",
       "threads", "iterations": 1, "payloads": [{"sleep": S}]}. Its rows are
       read back from DIR/sleeper/NAME-TIME/runs.jsonl; its summary (stdout)
       is kept as a cross-check of its own statistics.
   (b) threadpool: tests/bench/threadpool_client.py, run by /usr/bin/python3:
       one OS thread per slot, each a blocking http.client POST over its own
       keep-alive connection, slot t making runs t, t + threads, ... as FaaS
       Runner does; the same rows. Skipped with --scale10 (10,000 Python
       threads would measure the interpreter, not the design; the report
       says so) or --skip-threadpool.

3. Figures, for each client, from its rows:
   - server-side concurrency: the intervals [startTime, endTime] the server
     put in the rows, swept in time order: the peak, and the time-weighted
     mean over the run (from the first start to the last end);
   - client overhead = roundTripTime - runtime (the runner's `latency`
     column), p50 / p90 / p99 / max, nearest rank; split into the request
     leg (clientSendTime -> server startTime) and the response leg (server
     endTime -> clientReceiveTime), both on this machine's one clock;
   - runs ok / failed / missing (every run must have a row with status ok);
   - wall time: process start to exit, and first send to last receive,
     against the ideal ceil(runs / threads) x sleep;
   - the client's peak RSS, peak virtual size, thread count, CPU time and
     context switches, the number of TCP connections it used (distinct
     server connection numbers in its rows) and the server's CPU time
     during its run;
   - machine-wide TCP counters over the run (/proc/net/netstat and snmp):
     accept queue overflows and listen drops (a server that could not keep
     up with new connections would show here), retransmitted segments,
     connections opened;
   - the rest of the machine: CPU seconds used by every other process
     during the run (/proc/stat's busy time minus the client's, the
     server's and this script's) and the load average before it. This
     machine may be shared: a run during which others used more than 10 %
     of the CPU is flagged with a warning line, as its figures are not
     those of a quiet machine.

With --platform aws the faaset client calls the sleeper through the `aws`
platform adapter instead: the function file is FaaS Runner's {"function":
"sleeper", "platform": "AWS Lambda"}, and the server (started with -k) is
also a stand-in for Lambda's Invoke API that checks every request's SigV4
signature (recomputed with the project's signer, which tests/aws proves
equal to botocore's; a bad one is a 403). So every run is signed by the
client and verified by the server, and answered with Lambda's headers. The
thread pool still POSTs to / unsigned. The same targets apply. (The strict
Python stand-in of tests/aws runs functions for real but cannot hold a
thousand invocations itself: it would measure itself, not the client.)

With --platform gcf the faaset client calls the sleeper through the `gcf`
platform adapter, as a Google user's notebook calls a function: the
function file is FaaS Runner's {"function": "sleeper", "platform":
"Google Cloud Functions"}, the credentials a service-account key made
here (an RSA key by openssl; GOOGLE_APPLICATION_CREDENTIALS names its JSON,
whose token_uri is the server's), the API the server (GCF_ENDPOINT_URL).
The server (started with -g and the key's public half) is also Google's
token endpoint, which verifies the client's RS256 JWT and issues an access
token and the function URL's ID token, and the API's function GET, which
gives the function URL; the function URL answers only with that ID token
in the Authorization header. So the adapter runs its real path: the GET
for the URL, the token exchanges, and every call with its ID token on a
connection kept alive (opened ahead of the pass by the adapter's
prepare). The thread pool POSTs to / without a token. The same targets
apply.

With --platform ibm the faaset client calls the sleeper through the `ibm`
platform adapter (OpenWhisk, IBM Cloud Functions), as a wsk user's
notebook calls an action: the function file is FaaS Runner's {"function":
"sleeper", "platform": "IBM Cloud Functions"}, the API host and key those
of __OW_API_HOST and __OW_API_KEY (a UUID:KEY made here). The server
(started with -o and that key) is also an OpenWhisk controller for the
action: it answers POST /api/v1/namespaces/_/actions/sleeper?blocking=true
&result=true as the controller does (the result, with its
x-openwhisk-activation-id), only with that key as HTTP Basic auth. So
every run is the adapter's blocking call, with its activation id in the
row. The thread pool POSTs to / without a key. The same targets apply.

With --platform azure the faaset client calls the sleeper through the
`azure` platform adapter, as an Azure user's notebook calls a function: the
function file is FaaS Runner's {"function": "sleeper", "platform":
"Azure"}, the credentials a service principal in AZURE_CLIENT_ID /
AZURE_CLIENT_SECRET / AZURE_TENANT_ID (test values), the authority,
Resource Manager and the app's host (FAASET_AZURE_APP_URL's pattern) the
server, started with -z and that client secret: it is also Entra ID's
token endpoint (client-credentials grant, the secret checked), Resource
Manager's listkeys for the function (the bearer token checked), and the
Functions host, which answers only with that key in x-functions-key. So
the adapter runs its real path: the token, the key (read ahead of the pass
by the adapter's prepare, with the pass's connections), then every call
with the key. The same targets apply.

With --tls every client reaches the sleeper over HTTPS: a second
sleeper_server, started with -t, speaks TLS itself (OpenSSL, TLS 1.2/1.3,
session tickets shared by its workers), with a CA and a certificate for
localhost made here (tests/support/tls_terminator.py's make_certificates).
faaset gets https://localhost:PORT/ (a host name, as real endpoints are)
with SSL_CERT_FILE naming the CA (AWS_CA_BUNDLE with --platform aws), the
thread pool the same URL with --ca. In the same run, before them, faaset
makes the same experiment over plain HTTP to the first sleeper: the
baseline its TLS figures are compared with. (A proxy such as nginx in
front of the sleeper was tried first: on two cores its second hop per
request, not the client, set the pace at ten thousand in flight.) What
loopback measures: the client's CPU and memory per TLS connection and
request; not a network, whose round trips every client pays alike.

4. Targets, printed as PASS/FAIL lines. Default scale: faaset has no failed
   or missing run, peak concurrency >= 99 % of threads (990 of 1000), mean
   >= 98 % (980), peak RSS < 64 MiB, overhead p99 < 20 ms, and a lower
   overhead p50 and p99 and a lower peak RSS than the thread pool.
   --scale10 (threads 10000, runs 20000 unless given): no failed or missing
   run, mean >= 95 % of threads (9500), peak RSS < 256 MiB. With --tls:
   the default-scale targets, plus client CPU at most 3x the plain-HTTP
   baseline's (reported, not a target, with --scale10); --scale10 --tls: mean >= 9500
   and peak RSS < 512 MiB. They are
   informational: the exit status is 0 unless --check is given, then 1 if
   any target fails (2 if the benchmark itself could not run).

The soft limit on open files is raised to the hard limit for this script and
so for the server and both clients (reported; each slot holds a socket in
the client and one in the server). Run with Debian's /usr/bin/python3. The
faaset binary is --faaset, else $FAASET_BINARY, else build-release/faaset (a
release build without sanitizers):

    cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release && cmake --build build-release -j2
    /usr/bin/python3 tests/bench/experiment_bench.py [--scale10]

--json PATH also writes every figure (with the overhead samples and the RSS
timeline) as JSON. Every process started here runs in a session of its own
and gets SIGKILL if this script dies; all of them are killed on exit, on
Ctrl-C, SIGTERM or an error, and the temporary folder is removed (--keep
keeps it and prints where). Every wait has a deadline, so a client or
server that hangs fails the run instead of hanging it.
"""
import ctypes
import glob
import json
import math
import os
import pathlib
import platform
import resource
import signal
import ssl
import subprocess
import sys
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from tls_terminator import TlsTerminatorError, make_certificates  # noqa: E402
from bench_common import (ROOT, BenchError, Table, add_common_options, check_faaset, children_of,  # noqa: E402
                          clean_env, command_output, cpu_model, kill_quietly, machine_line, new_parser, print_targets,
                          proc_status, progress, python_version, reap, run_benchmark, spawn, status_kib, track,
                          untrack)

SERVER_SOURCE = HERE / "sleeper_server.c"
SIGV4_DIR = ROOT / "platforms"
GOOGLE_PROJECT = "faaset-bench"   # --platform gcf: the project in the key made here
# --platform azure: the service principal the client uses and the server's token endpoint takes (test values).
AZURE_PRINCIPAL = ("00000000-0000-4000-8000-0000000000be", "bench-client-secret-not-a-secret",
                   "faaset-bench.onmicrosoft.com")
# The keys the client signs with and the server checks (--platform aws): test values, not secrets.
LAMBDA_KEYS = ("AKIDBENCHMARK0000001", "benchmark/secret/key/not/a/real/one00000", "us-east-1")
# The UUID:KEY the ibm adapter sends as Basic auth and the server checks (--platform ibm): a test value.
OPENWHISK_KEY = "0b9e5a2c-be0c-4c2e-9e55-b3c1f2a0e001:benchmark-key-not-a-real-one-0000000000000000000000000000000"
THREADPOOL_CLIENT = HERE / "threadpool_client.py"
POLL_INTERVAL = 0.05            # seconds between /proc samples of a client
SERVER_START_TIMEOUT = 10.0

DEFAULT_RUNS, DEFAULT_THREADS = 5000, 1000
SCALE10_RUNS, SCALE10_THREADS = 20000, 10000
PEAK_FRACTION, MEAN_FRACTION = 0.99, 0.98
SCALE10_MEAN_FRACTION = 0.95
RSS_LIMIT_MIB, SCALE10_RSS_LIMIT_MIB = 64, 256
SCALE10_TLS_RSS_LIMIT_MIB = 512
TLS_CPU_RATIO_LIMIT = 3.0       # client CPU over TLS, at most this many times the plain-HTTP run's
OVERHEAD_P99_LIMIT_MS = 20.0
BUSY_MACHINE_SHARE = 0.10       # warn when other processes used more of the CPU than this


# ---------------------------------------------------------------- processes

def cpu_seconds(pid):
    """utime + stime of PID (itself, not its children) in seconds, or None."""
    try:
        stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds():
    """CPU seconds all processes have used (non-idle, non-iowait time in
    /proc/stat's first line), and the time since boot it was read at."""
    try:
        fields = pathlib.Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)
    # guest time is already counted in user time
    busy = sum(ticks[:8]) - idle
    return busy / os.sysconf("SC_CLK_TCK")


TCP_COUNTERS = [("TcpExt", "ListenOverflows"), ("TcpExt", "ListenDrops"), ("Tcp", "RetransSegs"),
                ("Tcp", "ActiveOpens"), ("Tcp", "PassiveOpens")]


def tcp_counters():
    """Machine-wide TCP counters from /proc/net/netstat and /proc/net/snmp:
    accept queue overflows and drops (a server that cannot keep up with
    connections), retransmitted segments, and connections opened."""
    values = {}
    for path in ("/proc/net/netstat", "/proc/net/snmp"):
        try:
            lines = pathlib.Path(path).read_text().splitlines()
        except OSError:
            continue
        for names, numbers in zip(lines[::2], lines[1::2]):
            prefix, _, keys = names.partition(":")
            for key, value in zip(keys.split(), numbers.partition(":")[2].split()):
                values[(prefix, key)] = int(value)
    return {f"{p}.{k}": values.get((p, k)) for p, k in TCP_COUNTERS}


def load_average():
    try:
        return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


class Child:
    """A process in a session of its own, killed with its group on cleanup."""

    def __init__(self, name, argv, cwd, stdout, stderr, env=None, graceful=False):
        self.name = name
        self.graceful = graceful    # SIGTERM first (it reaps its own children), SIGKILL after 3 s
        self.argv = argv
        self.process = spawn(argv, name, cwd=cwd, env=env, stdout=stdout, stderr=stderr)
        self.started = time.monotonic()
        self.reaped = False
        track(self)

    @property
    def pid(self):
        return self.process.pid

    def stop(self):
        untrack(self)
        if self.reaped:
            return
        if self.graceful and self.process.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.process.wait(timeout=3)
            except (ProcessLookupError, PermissionError, subprocess.TimeoutExpired):
                pass
        kill_quietly(os.killpg, self.pid)
        reap(self.process, self.name)
        self.reaped = True


def watch_client(child, deadline_s):
    """Waits for CHILD, sampling its memory; returns the figures. Kills it
    and raises BenchError at the deadline."""
    samples = []          # [t_s, rss_kib]
    peak = {"VmRSS": 0, "VmHWM": 0, "VmSize": 0, "VmPeak": 0, "Threads": 0}
    extra_children = set()
    last_children_check = 0.0
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        now = time.monotonic()
        if pid == child.pid:
            child.reaped = True
            child.process.returncode = os.waitstatus_to_exitcode(status)
            untrack(child)
            break
        st = proc_status(child.pid)
        if st:
            for key in ("VmRSS", "VmHWM", "VmSize", "VmPeak"):
                value = status_kib(st, key)
                if value is not None:
                    peak[key] = max(peak[key], value)
            if st.get("Threads"):
                peak["Threads"] = max(peak["Threads"], int(st["Threads"]))
            samples.append([round(now - child.started, 3), status_kib(st, "VmRSS")])
        if now - last_children_check > 1.0:
            last_children_check = now
            extra_children.update(children_of(child.pid))
        if now - child.started > deadline_s:
            child.stop()
            raise BenchError(f"{child.name} did not finish within {deadline_s:.0f} s; killed")
        time.sleep(POLL_INTERVAL)
    wall = time.monotonic() - child.started
    return {
        "exit_code": child.process.returncode,
        "wall_s": wall,
        "ru_maxrss_kib": usage.ru_maxrss,
        "cpu_user_s": usage.ru_utime,
        "cpu_sys_s": usage.ru_stime,
        "voluntary_ctx_switches": usage.ru_nvcsw,
        "involuntary_ctx_switches": usage.ru_nivcsw,
        "polled_peak_kib": {k: v for k, v in peak.items() if k != "Threads"},
        "max_threads": peak["Threads"],
        "child_processes": sorted(extra_children),
        "rss_timeline": samples,
    }


# ---------------------------------------------------------------- the server

class Server:
    def __init__(self, workdir, workers, lambda_keys=None, tls=None, google_key=None, openwhisk_key=None,
                 azure_secret=None):
        """TLS: (certificate, key, CA file) to serve HTTPS to https://localhost:PORT/.
        GOOGLE_KEY: the public PEM of the service account a Google stand-in (-g) trusts.
        OPENWHISK_KEY: the UUID:KEY an OpenWhisk controller stand-in (-o) takes.
        AZURE_SECRET: the client secret an Azure stand-in (-z) takes."""
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.binary = workdir / "sleeper_server"
        cc = os.environ.get("CC", "cc")
        build = subprocess.run([cc, "-O2", "-Wall", f"-I{SIGV4_DIR}", "-o", str(self.binary), str(SERVER_SOURCE),
                                str(SIGV4_DIR / "sigv4.c"), "-lsodium", "-lssl", "-lcrypto"], capture_output=True,
                               text=True, timeout=120)
        if build.returncode != 0:
            raise BenchError(f"cannot compile {SERVER_SOURCE.name} with {cc}:\n{build.stderr}")
        self.cc_version = command_output([cc, "--version"]).splitlines()[0]
        self.log_prefix = workdir / "server-log"
        self.stdout_path = workdir / "server.stdout"
        self.stderr_path = workdir / "server.stderr"
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            argv = [str(self.binary), "-w", str(workers), "-l", str(self.log_prefix)]
            if lambda_keys:
                argv += ["-k", ":".join(lambda_keys)]
            if google_key:
                argv += ["-g", str(google_key)]
            if openwhisk_key:
                argv += ["-o", openwhisk_key]
            if azure_secret:
                argv += ["-z", azure_secret]
            if tls:
                argv += ["-t", f"{tls[0]}:{tls[1]}"]
            self.child = Child("sleeper_server", argv, workdir, out, err, graceful=True)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            text = self.stdout_path.read_text()
            if text.startswith("listening") and text.endswith("\n"):
                _, self.host, port, n = text.split()
                self.port, self.workers = int(port), int(n)
                break
            if self.child.process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"sleeper_server did not start: {self.stderr_path.read_text()[-2000:]}")
            time.sleep(0.02)
        self.url = f"https://localhost:{self.port}/" if tls else f"http://127.0.0.1:{self.port}/"
        self.ca_file = tls[2] if tls else None
        # The workers are the children of the parent process.
        for _ in range(100):
            self.worker_pids = children_of(self.child.pid)
            if len(self.worker_pids) == self.workers:
                break
            time.sleep(0.02)
        request = urllib.request.Request(self.url, data=b'{"sleep": 0}', headers={"Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=str(self.ca_file)) if tls else None
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            answer = json.loads(response.read())
        if not {"startTime", "endTime", "runtime", "uuid"} <= answer.keys():
            raise BenchError(f"sleeper_server answered {answer}")
        # The worker logs a request just after answering it: wait for that
        # line, so it is not counted in the first client's share of the log.
        for _ in range(100):
            if sum(os.path.getsize(p) for p in glob.glob(f"{self.log_prefix}.*")) > 0:
                break
            time.sleep(0.01)
        self.log_offsets = {}

    def mark(self):
        """Remembers where the request logs end and the workers' CPU time now."""
        self.log_offsets = {path: os.path.getsize(path) for path in glob.glob(f"{self.log_prefix}.*")}
        self.cpu_mark = sum(cpu_seconds(pid) or 0 for pid in self.worker_pids)

    def since_mark(self):
        """[(start_ms, end_ms)] the server logged since mark(), and its CPU seconds since."""
        intervals = []
        for path in glob.glob(f"{self.log_prefix}.*"):
            with open(path) as log:
                log.seek(self.log_offsets.get(path, 0))
                for line in log:
                    parts = line.split()
                    if len(parts) >= 2:
                        intervals.append((float(parts[0]), float(parts[1])))
        cpu = sum(cpu_seconds(pid) or 0 for pid in self.worker_pids) - self.cpu_mark
        return intervals, cpu

    def stop(self):
        self.child.stop()


# ---------------------------------------------------------------- the clients

def make_google_key(folder):
    """A service account's RSA key made by openssl: (private PEM text, public PEM path)."""
    folder.mkdir(parents=True, exist_ok=True)
    private, public = folder / "account.key", folder / "account.pub.pem"
    for argv in (["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(private)],
                 ["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)]):
        made = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            raise BenchError(f"cannot make the service account's key with openssl: {made.stderr.strip()}")
    return private.read_text(), public


def google_env(env, folder, base, private_pem):
    """ENV for the gcf adapter: a key file whose token_uri is BASE's, the API at BASE, no gcloud folder."""
    env = {k: v for k, v in env.items() if not k.startswith(("GOOGLE_", "CLOUDSDK_", "GCF_"))}
    key_file = folder / "service-account.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": GOOGLE_PROJECT, "private_key_id": "bench",
        "private_key": private_pem, "client_email": f"bench@{GOOGLE_PROJECT}.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": base + "/token"}))
    key_file.chmod(0o600)
    (folder / "gcloud").mkdir()
    env.update({"GOOGLE_APPLICATION_CREDENTIALS": str(key_file), "CLOUDSDK_CONFIG": str(folder / "gcloud"),
                "GCF_ENDPOINT_URL": base})
    return env


def azure_env(env, base):
    """ENV for the azure adapter: the bench's service principal, the authority, ARM and the app's host all at
    BASE (the app's host as BASE/{app}.azurewebsites.net)."""
    env = {k: v for k, v in env.items() if not k.startswith(("AZURE_", "FAASET_AZURE_"))}
    client_id, secret, tenant = AZURE_PRINCIPAL
    env.update({"AZURE_CLIENT_ID": client_id, "AZURE_CLIENT_SECRET": secret, "AZURE_TENANT_ID": tenant,
                "AZURE_SUBSCRIPTION_ID": "00000000-0000-4000-8000-00000000bec4", "AZURE_RESOURCE_GROUP": "bench",
                "AZURE_AUTHORITY_HOST": base, "FAASET_AZURE_MANAGEMENT_URL": base,
                "FAASET_AZURE_APP_URL": base + "/{app}.azurewebsites.net",
                "FAASET_AZURE_SCM_URL": base + "/{app}.scm.azurewebsites.net"})
    return env


def run_faaset(args, server, workdir, name="faaset", google_pem=None):
    """faaset run against SERVER (trusting its CA when it speaks TLS);
    GOOGLE_PEM: the service account's private key with --platform gcf."""
    url, ca_file = server.url, server.ca_file
    folder = workdir / name
    folder.mkdir()
    function_file = folder / "sleeper.json"
    experiment_file = folder / "bench.json"
    if args.platform == "aws":
        function_file.write_text(json.dumps({"function": "sleeper", "platform": "AWS Lambda"}))
    elif args.platform == "gcf":
        function_file.write_text(json.dumps({"function": "sleeper", "platform": "Google Cloud Functions"}))
    elif args.platform == "ibm":
        function_file.write_text(json.dumps({"function": "sleeper", "platform": "IBM Cloud Functions"}))
    elif args.platform == "azure":
        function_file.write_text(json.dumps({"function": "sleeper", "platform": "Azure"}))
    else:
        function_file.write_text(json.dumps({"function": "sleeper", "platform": "HTTP", "endpoint": url}))
    experiment_file.write_text(json.dumps({"experimentName": "sleeper-bench", "runs": args.runs,
                                           "threads": args.threads, "iterations": 1,
                                           "payloads": [{"sleep": args.sleep}]}))
    env = clean_env(("FAASET_LOG_LEVEL", "FAASET_PYTHON", "FAASET_RUNTIME_FD"))
    if args.platform == "aws":
        env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
        env.update({"AWS_ACCESS_KEY_ID": LAMBDA_KEYS[0], "AWS_SECRET_ACCESS_KEY": LAMBDA_KEYS[1],
                    "AWS_REGION": LAMBDA_KEYS[2], "AWS_ENDPOINT_URL": url.rstrip("/"),
                    "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
        if ca_file:
            env["AWS_CA_BUNDLE"] = str(ca_file)
    elif args.platform == "gcf":
        env = google_env(env, folder, url.rstrip("/"), google_pem)
    elif args.platform == "ibm":
        env = {k: v for k, v in env.items()
               if not k.startswith(("__OW_", "WSK_")) and k not in ("IBMCLOUD_API_KEY", "IC_API_KEY")}
        env.update({"__OW_API_HOST": url.rstrip("/"), "__OW_API_KEY": OPENWHISK_KEY, "WSK_CONFIG_FILE": os.devnull})
    elif args.platform == "azure":
        env = azure_env(env, url.rstrip("/"))
    if args.platform != "aws" and ca_file:
        env["SSL_CERT_FILE"] = str(ca_file)
    stdout_path, stderr_path = folder / "summary.json", folder / "stderr.txt"
    server.mark()
    before = background_mark()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        child = Child("faaset run", [args.faaset, "run", "-f", str(function_file), "-e", str(experiment_file),
                                     "-o", str(folder / "results")], folder, out, err, env)
    watched = watch_client(child, deadline(args))
    server_intervals, server_cpu = server.since_mark()
    watched["background"] = background_since(before, watched, server_cpu)
    stderr_text = stderr_path.read_text(errors="replace")
    if watched["exit_code"] != 0:
        print(f"warning: faaset run exited with {watched['exit_code']}; stderr:\n{stderr_text[-3000:]}",
              file=sys.stderr)
    rows_files = glob.glob(str(folder / "results" / "sleeper" / "*" / "runs.jsonl"))
    if len(rows_files) != 1:
        raise BenchError(f"faaset run left {len(rows_files)} runs.jsonl files; stderr:\n{stderr_text[-3000:]}")
    rows = read_rows(rows_files[0])
    try:
        summary = json.loads(stdout_path.read_text())
    except ValueError:
        summary = None
    return {"rows": rows, "process": watched, "summary": summary, "server_intervals": server_intervals,
            "server_cpu_s": server_cpu, "stderr_tail": stderr_text[-2000:]}


def run_threadpool(args, server, workdir):
    folder = workdir / "threadpool"
    folder.mkdir()
    rows_path = folder / "runs.jsonl"
    stderr_path = folder / "stderr.txt"
    server.mark()
    before = background_mark()
    argv = [args.python, str(THREADPOOL_CLIENT), "--url", server.url, "--threads",
            str(args.threads), "--runs", str(args.runs), "--sleep", str(args.sleep), "--out", str(rows_path),
            "--deadline", str(deadline(args) - 30)]
    if server.ca_file:
        argv += ["--ca", str(server.ca_file)]
    with open(stderr_path, "wb") as err:
        child = Child("threadpool client", argv, folder, subprocess.DEVNULL, err)
    watched = watch_client(child, deadline(args))
    server_intervals, server_cpu = server.since_mark()
    watched["background"] = background_since(before, watched, server_cpu)
    stderr_text = stderr_path.read_text(errors="replace")
    if watched["exit_code"] != 0:
        print(f"warning: the thread pool client exited with {watched['exit_code']}; stderr:\n{stderr_text[-3000:]}",
              file=sys.stderr)
    rows = read_rows(rows_path) if rows_path.exists() else []
    return {"rows": rows, "process": watched, "summary": None, "server_intervals": server_intervals,
            "server_cpu_s": server_cpu, "stderr_tail": stderr_text[-2000:]}


def background_mark():
    own = os.times()
    return {"busy": machine_busy_seconds(), "own": own.user + own.system, "wall": time.monotonic(),
            "loadavg": load_average(), "tcp": tcp_counters()}


def background_since(before, watched, server_cpu):
    """What the rest of the machine did while a client ran: CPU seconds used
    by processes other than the client, the server and this script."""
    busy = machine_busy_seconds()
    own = os.times()
    tcp_now = tcp_counters()
    tcp = {k: (tcp_now[k] - before["tcp"][k]) if tcp_now.get(k) is not None and before["tcp"].get(k) is not None
           else None for k in tcp_now}
    wall = time.monotonic() - before["wall"]
    if busy is None or before["busy"] is None:
        return {"loadavg_before": before["loadavg"], "other_cpu_s": None, "other_share": None, "tcp": tcp}
    client = watched["cpu_user_s"] + watched["cpu_sys_s"]
    other = (busy - before["busy"]) - client - server_cpu - (own.user + own.system - before["own"])
    other = max(0.0, other)
    return {"loadavg_before": before["loadavg"], "other_cpu_s": other,
            "other_share": other / (wall * (os.cpu_count() or 1)) if wall > 0 else None, "tcp": tcp}


def read_rows(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    rows.append(json.loads(line))
                except ValueError:
                    pass    # a cut last line
    return rows


def deadline(args):
    """Seconds one client may take: three times the ideal, plus two minutes."""
    return 3 * math.ceil(args.runs / args.threads) * args.sleep + 120


# ---------------------------------------------------------------- figures

def percentile(samples, fraction):
    """Nearest-rank percentile of SAMPLES (None when empty). The rank is
    ceil(fraction * n): not bench_common.percentile, which rounds it the way
    the other two benchmarks always have."""
    if not samples:
        return None
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def distribution(samples):
    if not samples:
        return None
    return {"n": len(samples), "p50": percentile(samples, 0.50), "p90": percentile(samples, 0.90),
            "p99": percentile(samples, 0.99), "max": max(samples), "min": min(samples),
            "mean": sum(samples) / len(samples)}


def concurrency(intervals):
    """Peak and time-weighted mean number of overlapping [start, end]
    intervals over [first start, last end]; ends sort before starts at the
    same instant."""
    if not intervals:
        return None
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    level = peak = 0
    area = 0.0
    previous = events[0][0]
    for time_ms, delta in events:
        area += level * (time_ms - previous)
        previous = time_ms
        level += delta
        peak = max(peak, level)
    span = events[-1][0] - events[0][0]
    return {"peak": peak, "mean": area / span if span > 0 else float(peak), "span_s": span / 1000.0}


def analyse(args, result):
    rows = result["rows"]
    ok = [r for r in rows if r.get("status") == "ok" and all(
        isinstance(r.get(k), (int, float)) for k in ("startTime", "endTime", "runtime", "roundTripTime"))]
    ok_ids = {id(r) for r in ok}
    failed = [r for r in rows if id(r) not in ok_ids]
    errors = {}
    for r in failed:
        key = f"{r.get('errorType', 'no SAAF fields')}: {str(r.get('errorMessage', ''))[:80]}"
        errors[key] = errors.get(key, 0) + 1
    run_ids = {r.get("1_run_id") for r in rows}
    overhead = [r["roundTripTime"] - r["runtime"] for r in ok]
    request_leg = [r["startTime"] - r["clientSendTime"] for r in ok if "clientSendTime" in r]
    response_leg = [r["clientReceiveTime"] - r["endTime"] for r in ok if "clientReceiveTime" in r]
    sends = [r["clientSendTime"] for r in rows if "clientSendTime" in r]
    receives = [r["clientReceiveTime"] for r in rows if "clientReceiveTime" in r]
    connections = {(r.get("pid"), r.get("connection")) for r in ok}
    p = result["process"]
    return {
        "runs_expected": args.runs,
        "rows": len(rows),
        "ok": len(ok),
        "failed": len(failed),
        "missing": args.runs - len(run_ids),
        "errors": errors,
        "concurrency_server": concurrency([(r["startTime"], r["endTime"]) for r in ok]),
        "concurrency_server_log": concurrency(result["server_intervals"]),
        "server_logged_requests": len(result["server_intervals"]),
        "concurrency_client": concurrency([(r["clientSendTime"], r["clientReceiveTime"]) for r in ok]),
        "overhead_ms": distribution(overhead),
        "request_leg_ms": distribution(request_leg),
        "response_leg_ms": distribution(response_leg),
        "runtime_ms": distribution([r["runtime"] for r in ok]),
        "wall_process_s": p["wall_s"],
        "wall_span_s": (max(receives) - min(sends)) / 1000.0 if sends and receives else None,
        "ideal_s": math.ceil(args.runs / args.threads) * args.sleep,
        "peak_rss_kib": p["ru_maxrss_kib"],
        "polled_peak_kib": p["polled_peak_kib"],
        "max_threads": p["max_threads"],
        "cpu_s": p["cpu_user_s"] + p["cpu_sys_s"],
        "cpu_user_s": p["cpu_user_s"],
        "cpu_sys_s": p["cpu_sys_s"],
        "context_switches": p["voluntary_ctx_switches"] + p["involuntary_ctx_switches"],
        "child_processes": p["child_processes"],
        "exit_code": p["exit_code"],
        "tcp_connections": len(connections),
        "server_cpu_s": result["server_cpu_s"],
        "background": p.get("background"),
        "overhead_samples_ms": [round(x, 3) for x in overhead],
        "rss_timeline": p["rss_timeline"],
        "own_summary": result["summary"],
    }


def evaluate_targets(args, figures):
    f = figures["faaset"]
    t = figures.get("threadpool")
    threads = args.threads
    conc = f["concurrency_server"] or {"peak": 0, "mean": 0.0}
    rss_mib = f["peak_rss_kib"] / 1024
    o = f["overhead_ms"] or {"p50": math.inf, "p99": math.inf}
    clean = f["failed"] == 0 and f["missing"] == 0 and f["ok"] == args.runs and f["exit_code"] == 0
    targets = [{"name": "faaset: every run succeeded", "passed": clean,
                "detail": f"{f['ok']} ok, {f['failed']} failed, {f['missing']} missing of {args.runs}; "
                          f"exit status {f['exit_code']}"}]
    base = figures.get("faaset_plain")
    if base is not None and not args.scale10:  # (at ten thousand, the handshakes alone are several times the run)
        cpu_ratio = f["cpu_s"] / base["cpu_s"] if base["cpu_s"] else math.inf
        targets.append({"name": f"faaset: client CPU over TLS <= {TLS_CPU_RATIO_LIMIT:g}x the plain-HTTP run's",
                        "passed": cpu_ratio <= TLS_CPU_RATIO_LIMIT,
                        "detail": f"{f['cpu_s']:.2f} s vs {base['cpu_s']:.2f} s: {cpu_ratio:.2f}x"})
    if args.scale10:
        mean_min = SCALE10_MEAN_FRACTION * threads
        rss_limit = SCALE10_TLS_RSS_LIMIT_MIB if args.tls else SCALE10_RSS_LIMIT_MIB
        targets += [
            {"name": f"faaset: mean concurrency >= {mean_min:g} (time-weighted, server side)",
             "passed": conc["mean"] >= mean_min, "detail": f"{conc['mean']:.1f} (peak {conc['peak']})"},
            {"name": f"faaset: peak RSS < {rss_limit} MiB", "passed": rss_mib < rss_limit,
             "detail": f"{rss_mib:.1f} MiB"},
        ]
    else:
        peak_min, mean_min = math.ceil(PEAK_FRACTION * threads), MEAN_FRACTION * threads
        targets += [
            {"name": f"faaset: peak concurrency >= {peak_min} (server side)", "passed": conc["peak"] >= peak_min,
             "detail": f"{conc['peak']}"},
            {"name": f"faaset: mean concurrency >= {mean_min:g} (time-weighted, server side)",
             "passed": conc["mean"] >= mean_min, "detail": f"{conc['mean']:.1f}"},
            {"name": f"faaset: peak RSS < {RSS_LIMIT_MIB} MiB", "passed": rss_mib < RSS_LIMIT_MIB,
             "detail": f"{rss_mib:.1f} MiB"},
            {"name": f"faaset: overhead p99 < {OVERHEAD_P99_LIMIT_MS:g} ms", "passed": o["p99"] < OVERHEAD_P99_LIMIT_MS,
             "detail": f"{o['p99']:.2f} ms"},
        ]
        if t is not None:
            to = t["overhead_ms"] or {"p50": math.inf, "p99": math.inf}
            targets += [
                {"name": "faaset: lower overhead than the thread pool (p50 and p99)",
                 "passed": o["p50"] < to["p50"] and o["p99"] < to["p99"],
                 "detail": f"p50 {o['p50']:.2f} vs {to['p50']:.2f} ms, p99 {o['p99']:.2f} vs {to['p99']:.2f} ms"},
                {"name": "faaset: less memory than the thread pool (peak RSS)",
                 "passed": f["peak_rss_kib"] < t["peak_rss_kib"],
                 "detail": f"{rss_mib:.1f} vs {t['peak_rss_kib'] / 1024:.1f} MiB"},
            ]
        else:
            targets.append({"name": "faaset: lower overhead and memory than the thread pool", "passed": False,
                            "detail": "not measured: the thread pool was skipped"})
    return targets


# ---------------------------------------------------------------- reporting

def read_sysctl(name):
    try:
        return pathlib.Path("/proc/sys/" + name.replace(".", "/")).read_text().strip()
    except OSError:
        return "?"


def machine_info(args, nofile):
    try:
        libcurl = ctypes.CDLL("libcurl.so.4")
        libcurl.curl_version.restype = ctypes.c_char_p
        curl = libcurl.curl_version().decode()
    except OSError:
        curl = "unavailable"
    mem_kib = None
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(), "cpu_model": cpu_model(), "kernel": platform.release(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1) if mem_kib else None,
        "faaset_binary": args.faaset, "faaset_version": command_output([args.faaset, "--version"]),
        "faaset_built": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(args.faaset))),
        "git_head": command_output(["git", "-C", str(ROOT), "describe", "--always", "--dirty"]),
        "libcurl": curl, "client_python": args.python,
        "client_python_version": python_version(args.python),
        "bench_python_version": sys.version.split()[0],
        "nofile_soft_before": nofile[0], "nofile_soft": nofile[1], "nofile_hard": nofile[2],
        "somaxconn": read_sysctl("net.core.somaxconn"),
        "tcp_max_syn_backlog": read_sysctl("net.ipv4.tcp_max_syn_backlog"),
        "ip_local_port_range": " - ".join(read_sysctl("net.ipv4.ip_local_port_range").split()),
    }


def fmt(value, spec="{:.2f}"):
    return "-" if value is None else spec.format(value)


def ratio(a, b):
    return "-" if a is None or b is None or not b else f"{a / b:.2f}x"


def print_report(results, args):
    m, s = results["machine"], results["server"]
    f = results["figures"]["faaset"]
    t = results["figures"].get("threadpool")
    print()
    print(machine_line(m))
    print(f"Versions: {m['faaset_version']} ({m['faaset_binary']}, built {m['faaset_built']}; "
          f"source tree {m['git_head']}); {m['libcurl']}; "
          f"thread pool on Python {m['client_python_version']} ({m['client_python']})")
    print(f"Limits:   open files soft {m['nofile_soft_before']} -> {m['nofile_soft']} (hard {m['nofile_hard']}); "
          f"somaxconn {m['somaxconn']}; tcp_max_syn_backlog {m['tcp_max_syn_backlog']}; "
          f"ephemeral ports {m['ip_local_port_range']}")
    print(f"Server:   sleeper_server.c ({s['cc']}, -O2), epoll + timerfd, {s['workers']} worker process(es) "
          f"with SO_REUSEPORT on {s['url']}")
    if args.platform == "aws":
        print("Platform: faaset calls through the aws adapter (Lambda Invoke, SigV4-signed; the server checks "
              "every signature); the thread pool POSTs to / unsigned")
    if args.platform == "ibm":
        print("Platform: faaset calls through the ibm adapter (OpenWhisk blocking calls with result=true, Basic auth "
              "the server checks, each answer's activation id); the thread pool POSTs to / without a key")
    if args.platform == "gcf":
        print("Platform: faaset calls through the gcf adapter (service-account JWT verified by the server's token "
              "endpoint, the function's GET, then every call to the function URL with the ID token the server "
              "checks); the thread pool POSTs to / without a token")
    if args.platform == "azure":
        print("Platform: faaset calls through the azure adapter (Entra ID's client-credentials token from the "
              "server's token endpoint, the function key from its listkeys, then every call to the function host "
              "with the key the server checks); the thread pool POSTs to / without a key")
    if args.tls:
        print(f"TLS:      both clients over HTTPS to {results['tls']['url']} (a second sleeper_server speaking TLS "
              "itself with OpenSSL, same workers; CA and certificate made for the run); baseline: faaset over "
              "plain HTTP to the first, in the same run")
    ideal = f["ideal_s"]
    print(f"Experiment: {args.runs} runs, {args.threads} in flight, sleep {args.sleep:g} s, 1 iteration "
          f"(ideal wall time {ideal:g} s)")
    if t is None:
        print(f"Thread pool: skipped ({results['threadpool_skipped']})")
    print()

    table = Table((12, 12, 11), ("faaset", "threadpool", "faaset/tp"))
    section = table.section

    def row(label, fv, tv, spec="{:.2f}", with_ratio=True):
        table.add("  " + label, fmt(fv, spec), fmt(tv, spec) if t is not None else "-",
                  ratio(fv, tv) if with_ratio and t is not None else "")

    def get(figs, *path):
        value = figs
        for key in path:
            if value is None:
                return None
            value = value.get(key)
        return value

    section("Runs")
    row("ok", f["ok"], get(t, "ok"), "{:d}", False)
    table.add("  failed / missing", f"{f['failed']} / {f['missing']}",
              f"{t['failed']} / {t['missing']}" if t else "-", "")
    row("TCP connections used", f["tcp_connections"], get(t, "tcp_connections"), "{:d}", False)
    section("Concurrency from the server's startTime/endTime in the rows")
    row("peak", get(f, "concurrency_server", "peak"), get(t, "concurrency_server", "peak"), "{:d}")
    row("time-weighted mean", get(f, "concurrency_server", "mean"), get(t, "concurrency_server", "mean"), "{:.1f}")
    row("mean, from the server's own log", get(f, "concurrency_server_log", "mean"),
        get(t, "concurrency_server_log", "mean"), "{:.1f}")
    row("requests in the server's log", f["server_logged_requests"], get(t, "server_logged_requests"), "{:d}", False)
    section("Client overhead, roundTripTime - runtime (ms)")
    for key in ("p50", "p90", "p99", "max"):
        row(key, get(f, "overhead_ms", key), get(t, "overhead_ms", key))
    row("request leg p50 (send -> server start)", get(f, "request_leg_ms", "p50"), get(t, "request_leg_ms", "p50"))
    row("request leg p99", get(f, "request_leg_ms", "p99"), get(t, "request_leg_ms", "p99"))
    row("response leg p50 (server end -> receive)", get(f, "response_leg_ms", "p50"),
        get(t, "response_leg_ms", "p50"))
    row("response leg p99", get(f, "response_leg_ms", "p99"), get(t, "response_leg_ms", "p99"))
    section("Wall time (s)")
    row("process start to exit", f["wall_process_s"], get(t, "wall_process_s"))
    row("first send to last receive", f["wall_span_s"], get(t, "wall_span_s"))
    section("Client process")
    row("peak RSS, ru_maxrss (MiB)", f["peak_rss_kib"] / 1024, t["peak_rss_kib"] / 1024 if t else None, "{:.1f}")
    row("peak virtual size, VmPeak (MiB)", f["polled_peak_kib"]["VmPeak"] / 1024,
        t["polled_peak_kib"]["VmPeak"] / 1024 if t else None, "{:.1f}")
    row("threads (most seen)", f["max_threads"], get(t, "max_threads"), "{:d}", False)
    row("CPU time, user + sys (s)", f["cpu_s"], get(t, "cpu_s"))
    row("context switches", f["context_switches"], get(t, "context_switches"), "{:d}")
    row("server CPU time during the run (s)", f["server_cpu_s"], get(t, "server_cpu_s"))
    section("Machine-wide TCP counters during the run")
    for key, label in (("TcpExt.ListenOverflows", "accept queue overflows"), ("TcpExt.ListenDrops", "listen drops"),
                       ("Tcp.RetransSegs", "retransmitted segments"), ("Tcp.ActiveOpens", "connections opened")):
        row(label, get(f, "background", "tcp", key), get(t, "background", "tcp", key), "{:d}", False)
    section("The rest of the machine")
    row("other processes' CPU during the run (s)", get(f, "background", "other_cpu_s"),
        get(t, "background", "other_cpu_s"), "{:.2f}", False)
    table.add("  1-minute load average before the run",
              (get(f, "background", "loadavg_before") or "-").split()[0],
              (get(t, "background", "loadavg_before") or "-").split()[0] if t else "-", "")
    table.print()
    base = results["figures"].get("faaset_plain")
    if base is not None:
        bc = base["concurrency_server"] or {"peak": 0, "mean": 0.0}
        fc = f["concurrency_server"] or {"peak": 0, "mean": 0.0}
        print(f"\nfaaset over TLS vs the same experiment over plain HTTP, in this run:")
        tls_table = Table((12, 12, 11), ("TLS", "plain", "TLS/plain"))
        tls_table.add("  peak in flight", fmt(fc["peak"], "{:d}"), fmt(bc["peak"], "{:d}"), "")
        tls_table.add("  mean in flight", fmt(fc["mean"], "{:.1f}"), fmt(bc["mean"], "{:.1f}"), "")
        tls_table.add("  wall, first send to last receive (s)", fmt(f["wall_span_s"]), fmt(base["wall_span_s"]),
                      ratio(f["wall_span_s"], base["wall_span_s"]))
        tls_table.add("  overhead p50 (ms)", fmt(get(f, "overhead_ms", "p50")), fmt(get(base, "overhead_ms", "p50")),
                      ratio(get(f, "overhead_ms", "p50"), get(base, "overhead_ms", "p50")))
        tls_table.add("  overhead p99 (ms)", fmt(get(f, "overhead_ms", "p99")), fmt(get(base, "overhead_ms", "p99")),
                      ratio(get(f, "overhead_ms", "p99"), get(base, "overhead_ms", "p99")))
        tls_table.add("  peak RSS (MiB)", fmt(f["peak_rss_kib"] / 1024, "{:.1f}"),
                      fmt(base["peak_rss_kib"] / 1024, "{:.1f}"), ratio(f["peak_rss_kib"], base["peak_rss_kib"]))
        tls_table.add("  client CPU, user + sys (s)", fmt(f["cpu_s"]), fmt(base["cpu_s"]),
                      ratio(f["cpu_s"], base["cpu_s"]))
        tls_table.add("  server CPU during the run (s)", fmt(f["server_cpu_s"]), fmt(base["server_cpu_s"]),
                      ratio(f["server_cpu_s"], base["server_cpu_s"]))
        tls_table.print()
    own = f.get("own_summary")
    if own:
        c, lat = own.get("concurrency") or {}, own.get("latency") or {}
        print(f"\nfaaset's own summary (cross-check): concurrency peak {c.get('peak')} mean "
              f"{fmt(c.get('mean'), '{:.1f}')} ({c.get('source')}); latency p50 {fmt(lat.get('p50'))} "
              f"p99 {fmt(lat.get('p99'))} ms; status {own.get('status')}")
    for name, figs in (("faaset", f), ("threadpool", t)):
        if figs and figs["errors"]:
            print(f"{name} errors: " + "; ".join(f"{n} x {k}" for k, n in sorted(figs["errors"].items())))
        if figs and figs["child_processes"]:
            print(f"{name} started child processes: {figs['child_processes']}")
    for name, figs in (("faaset", f), ("threadpool", t)):
        share = get(figs, "background", "other_share")
        if share is not None and share > BUSY_MACHINE_SHARE:
            print(f"warning: other processes used {share:.0%} of the machine's CPU during the {name} run: "
                  "its figures are not those of a quiet machine")
    print_targets(results["targets"])


# ---------------------------------------------------------------- main

def parse_args():
    parser = new_parser(__doc__)
    parser.add_argument("--runs", type=int, help=f"invocations (default {DEFAULT_RUNS}, {SCALE10_RUNS} with --scale10)")
    parser.add_argument("--threads", type=int,
                        help=f"in flight at once (default {DEFAULT_THREADS}, {SCALE10_THREADS} with --scale10)")
    parser.add_argument("--sleep", type=float, default=2.0, help="seconds each call sleeps (default 2)")
    parser.add_argument("--scale10", action="store_true",
                        help=f"threads {SCALE10_THREADS}, runs {SCALE10_RUNS}, faaset only, scale-10 targets")
    parser.add_argument("--skip-threadpool", action="store_true", help="measure faaset only")
    parser.add_argument("--platform", choices=("http", "aws", "gcf", "ibm", "azure"), default="http",
                        help="how faaset calls the sleeper: HTTP (default), the aws adapter (signed Lambda Invoke), "
                             "the gcf adapter (a function URL with ID tokens), the ibm adapter (OpenWhisk "
                             "blocking calls with Basic auth) or the azure adapter (a function key read "
                             "through Resource Manager)")
    parser.add_argument("--tls", action="store_true",
                        help="every client over HTTPS to a sleeper that speaks TLS (a CA made here); faaset over plain HTTP too, "
                             "as the baseline")
    parser.add_argument("--server-workers", type=int,
                        help="sleeper server processes sharing the port (default 4, or threads / 2500 above 10000)")
    add_common_options(parser, "interpreter of the thread pool client", "also write every figure here as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (rows, logs) and say where")
    args = parser.parse_args()
    args.runs = args.runs or (SCALE10_RUNS if args.scale10 else DEFAULT_RUNS)
    args.threads = args.threads or (SCALE10_THREADS if args.scale10 else DEFAULT_THREADS)
    if args.threads < 1 or args.runs < args.threads:
        parser.error("--threads must be at least 1 and at most --runs")
    if not 0 <= args.sleep <= 600:
        parser.error("--sleep must be between 0 and 600 seconds")
    if args.server_workers is None:
        # One process is the bottleneck for a client that keeps its waves
        # tight: at 1000 in flight a wave of answers and the next wave's
        # requests (about 12 us of server CPU each) meet within about 15 ms,
        # the requests queue in the server, and its late startTime counts
        # as client overhead (measured, faaset: overhead p50 1.1-2.1 ms with
        # one process, 0.4-0.6 ms with two or four; the thread pool, whose
        # waves are spread wider: 0.5-0.9 ms with one, 1.2-1.3 ms with four,
        # its 1001 threads then sharing the cores with four servers).
        # --server-workers 1 repeats the one-process figures.
        args.server_workers = max(4, min(8, math.ceil(args.threads / 2500)))
    if not 1 <= args.server_workers <= 64:
        parser.error("--server-workers must be between 1 and 64")
    check_faaset(parser, args)
    return args


def raise_nofile(threads, workers):
    """Soft limit to the hard one; (soft before, soft now, hard). Errors if
    one process cannot hold a socket per slot."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    before = soft
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    need = threads + 64
    if soft != resource.RLIM_INFINITY and soft < need:
        raise BenchError(f"the open file limit ({soft}, hard {hard}) is below the {need} the client needs "
                         f"for {threads} connections: raise `ulimit -Hn`")
    return before, soft, hard


def run(args, workdir):
    nofile = raise_nofile(args.threads, args.server_workers)
    results = {"machine": machine_info(args, nofile),
               "settings": {"runs": args.runs, "threads": args.threads, "sleep_s": args.sleep, "iterations": 1,
                            "scale10": args.scale10, "server_workers": args.server_workers,
                            "platform": args.platform, "tls": args.tls}}
    google_pem, google_public = make_google_key(workdir / "google") if args.platform == "gcf" else (None, None)
    progress(f"compiling and starting the sleeper server ({args.server_workers} worker(s)) ...")
    openwhisk_key = OPENWHISK_KEY if args.platform == "ibm" else None
    azure_secret = AZURE_PRINCIPAL[1] if args.platform == "azure" else None
    server = Server(workdir, args.server_workers, LAMBDA_KEYS if args.platform == "aws" else None,
                    google_key=google_public, openwhisk_key=openwhisk_key, azure_secret=azure_secret)
    results["server"] = {"url": server.url, "workers": server.workers, "cc": server.cc_version}
    tls_server = None
    try:
        raw = {}
        measured = server
        if args.tls:
            progress("making a CA and a certificate, starting a sleeper_server that speaks TLS ...")
            try:
                ca_file, cert, key = make_certificates(workdir / "tls")
            except TlsTerminatorError as error:
                raise BenchError(str(error))
            tls_server = Server(workdir / "tls-server", args.server_workers,
                                LAMBDA_KEYS if args.platform == "aws" else None, (cert, key, ca_file),
                                google_key=google_public, openwhisk_key=openwhisk_key,
                                azure_secret=azure_secret)
            results["tls"] = {"url": tls_server.url}
            progress(f"faaset run over plain HTTP (the baseline): {args.runs} runs, {args.threads} in flight ...")
            raw["faaset_plain"] = run_faaset(args, server, workdir, name="faaset-plain", google_pem=google_pem)
            time.sleep(1.0)
            measured = tls_server
            progress(f"faaset run over TLS: {args.runs} runs, {args.threads} in flight, sleep {args.sleep:g} s ...")
        else:
            progress(f"faaset run: {args.runs} runs, {args.threads} in flight, sleep {args.sleep:g} s ...")
        raw["faaset"] = run_faaset(args, measured, workdir, google_pem=google_pem)
        skip_reason = None
        if args.scale10:
            skip_reason = (f"--scale10: {args.threads} OS threads in one Python process measure the interpreter "
                           "and the machine's thread limits, not the design")
        elif args.skip_threadpool:
            skip_reason = "--skip-threadpool"
        if skip_reason is None:
            time.sleep(1.0)   # let the last connections close
            progress(f"thread pool: {args.threads} threads, {args.runs} runs, sleep {args.sleep:g} s ...")
            raw["threadpool"] = run_threadpool(args, measured, workdir)
        results["threadpool_skipped"] = skip_reason
    finally:
        if tls_server is not None:
            tls_server.stop()
        server.stop()
    results["figures"] = {name: analyse(args, result) for name, result in raw.items()}
    results["targets"] = evaluate_targets(args, results["figures"])
    return results


def main():
    args = parse_args()
    return run_benchmark("experiment_bench", args, run, print_report, "faaset-experiment-bench-", keep=args.keep,
                         say_signal=True, json_what="Figures")


if __name__ == "__main__":
    sys.exit(main())
