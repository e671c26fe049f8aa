#!/usr/bin/python3
"""Dependencies on aws: an unchanged cell with a large dependency layer is
checked inside the kernel without reading the layer, and a code-only change
sends only the code.

Builds a wheelhouse (tests/support/wheels.py: there is no package index
here) holding `bulkdata` 1.0, a wheel of --deps-mb MB (default 30) of
incompressible files, stored, which pip finds through PIP_FIND_LINKS with
PIP_NO_INDEX=1; starts the strict Lambda stand-in
(tests/aws/lambda_standin.py, run by --aws-python, the interpreter with its
dependencies) behind a TCP relay that counts the bytes the kernel sends it;
and starts one faaset kernel whose AWS_ENDPOINT_URL is the relay.

1. Deploy: `%%cloud_function platforms=aws requirements="bulkdata==1.0"`.
   pip installs the wheel for Lambda's x86_64 Python, the layer is published
   once (PublishLayerVersion of layer.zip), the function created with the
   small zip of the handler, SAAF and the code. Reported: the bytes the
   kernel sent to the Lambda API (the relay's count) and the kernel's time.
2. The same cell --unchanged times (default 200, after --warmup untimed;
   the first run of a new kernel checks the function with GetFunction and
   is not timed). Each prints `aws: up to date NAME (hash) in 0.31 ms`,
   measured inside the kernel from the runtime's `define` upcall to its
   answer: the hash of the source and of the requirements' text (never of
   the installed files) and the state file's read. p50, p99, max.
3. A code-only change of the same cell: `updated code of`, and the bytes
   sent (UpdateFunctionCode with the small zip; the layer is already
   published, so nothing of it is sent again).

Targets (--check makes them the exit status): the unchanged check's p50
under 1 ms; the code change sends less than 1% of the first deploy's bytes.

    cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release && cmake --build build-release -j2
    /usr/bin/python3 tests/bench/deps_bench.py [--deps-mb 30] [--aws-python python3] [--check]
"""
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
from bench_common import (ROOT, BenchError, Table, add_common_options, check_faaset, free_ports,  # noqa: E402
                          new_parser, percentile, print_targets, progress, reap, run_benchmark, spawn, track, untrack)
from cloud_bench import Kernel  # noqa: E402
from wheels import make_wheel  # noqa: E402

ACCESS_KEY = "AKIAFAASETBENCH00001"
SECRET_KEY = "faasetBenchSecret/NeverShown+0123456789abcd"
REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/faaset-bench"
UNCHANGED_TARGET_MS = 1.0
AWS_LINE = re.compile(r"^aws: (?P<verb>.+?) (?P<name>\w+) \((?P<hash>[0-9a-f]{8})\) in "
                      r"(?P<ms>[0-9]+(?:\.[0-9]+)?) ms", re.M)


class CountingRelay:
    """A TCP relay on loopback to TARGET_PORT that counts the bytes its clients send."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.sent = 0
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source, sink, counted):
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                if counted:
                    with self.lock:
                        self.sent += len(data)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def mark(self):
        with self.lock:
            return self.sent

    def stop(self):
        self.listener.close()


class Standin:
    """tests/aws/lambda_standin.py on a free loopback port."""

    def __init__(self, args, workdir):
        [self.port] = free_ports(1)
        self.log_path = workdir / "standin.log"
        argv = [args.aws_python, str(ROOT / "tests" / "aws" / "lambda_standin.py"), "--port", str(self.port),
                "--port-file", str(workdir / "standin.port"), "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY,
                "--region", REGION]
        with open(self.log_path, "wb") as log:
            self.process = spawn(argv, stdout=log, stderr=subprocess.STDOUT)
        track(self)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise BenchError(f"the Lambda stand-in exited: {self.log_path.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_standin/stats", timeout=2).read()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError("the Lambda stand-in did not answer within 60 s") from None
                time.sleep(0.2)

    def stop(self):
        untrack(self)
        if self.process.poll() is None:
            self.process.terminate()
        reap(self.process, "stand-in")


def aws_line(stdout, verbs):
    match = AWS_LINE.search(stdout)
    if match is None or match["verb"] not in verbs:
        raise BenchError(f"expected an 'aws: {' / '.join(verbs)} ...' line, got:\n{stdout[-2000:]}")
    return match["hash"], float(match["ms"])


def cell(body):
    return ('%%cloud_function platforms=aws memory=256 requirements="bulkdata==1.0"\n'
            "def bulky(request, context):\n"
            f"    return {body}\n")


def run(args, workdir):
    wheels = workdir / "wheels"
    progress(f"making a {args.deps_mb} MB wheel ...")
    make_wheel(wheels, "bulkdata", "1.0",
               {**{f"bulkdata/part{i:03d}.bin": os.urandom(1024 * 1024) for i in range(args.deps_mb)},
                "bulkdata/__init__.py": "PARTS = %d\n" % args.deps_mb}, compress=False)
    standin = Standin(args, workdir)
    relay = CountingRelay(standin.port)
    env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION,
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{relay.port}", "AWS_CONFIG_FILE": "/nonexistent/config",
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials", "FAASET_AWS_ROLE": ROLE,
           "PIP_FIND_LINKS": str(wheels), "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    kernel = None
    try:
        progress("starting the kernel ...")
        kernel = Kernel(args, workdir, extra_env=env)
        progress("deploying (pip, the layer, the function) ...")
        mark = relay.mark()
        deploy_wall, out = kernel.run_cell(cell('{"parts": 1}'))
        first_hash, deploy_ms = aws_line(out, ("deployed",))
        deploy_bytes = relay.mark() - mark
        kernel.run_cell(cell('{"parts": 1}'))  # a new kernel's first unchanged run checks the function
        progress(f"{args.warmup} warm-up + {args.unchanged} timed runs of the unchanged cell ...")
        samples = []
        for n in range(args.warmup + args.unchanged):
            _, out = kernel.run_cell(cell('{"parts": 1}'))
            seen_hash, ms = aws_line(out, ("up to date",))
            if seen_hash != first_hash:
                raise BenchError(f"the unchanged cell's hash changed: {first_hash} -> {seen_hash}")
            if n >= args.warmup:
                samples.append(ms)
        progress("a code-only change ...")
        mark = relay.mark()
        _, out = kernel.run_cell(cell('{"parts": 2}'))
        _, change_ms = aws_line(out, ("updated code of",))
        change_bytes = relay.mark() - mark
    finally:
        if kernel is not None:
            kernel.stop()
        relay.stop()
        standin.stop()
    layer_zip = next((workdir / "notebook" / ".faaset" / "deps").glob("*/layer.zip"), None)
    results = {
        "deps_mb": args.deps_mb, "layer_zip_bytes": layer_zip.stat().st_size if layer_zip else None,
        "deploy": {"bytes_sent": deploy_bytes, "kernel_ms": deploy_ms, "round_trip_ms": deploy_wall * 1000},
        "unchanged": {"p50": percentile(samples, 0.5), "p99": percentile(samples, 0.99), "max": max(samples),
                      "samples_ms": samples},
        "code_change": {"bytes_sent": change_bytes, "kernel_ms": change_ms},
    }
    results["targets"] = [
        {"name": f"unchanged cell checked in under {UNCHANGED_TARGET_MS:g} ms (p50, in the kernel)",
         "passed": results["unchanged"]["p50"] < UNCHANGED_TARGET_MS,
         "detail": f"p50 {results['unchanged']['p50']:.2f} ms"},
        {"name": "a code-only change sends less than 1% of the first deploy",
         "passed": change_bytes < deploy_bytes / 100,
         "detail": f"{change_bytes:,} of {deploy_bytes:,} bytes ({100 * change_bytes / deploy_bytes:.3f}%)"},
    ]
    return results


def report(results, _args):
    table = Table([24])
    table.section(f"aws with a {results['deps_mb']} MB dependency (layer.zip {results['layer_zip_bytes']:,} bytes)")
    table.add("  first deploy: bytes sent", f"{results['deploy']['bytes_sent']:,}")
    table.add("  first deploy: in the kernel", f"{results['deploy']['kernel_ms'] / 1000:.1f} s")
    unchanged = results["unchanged"]
    table.add("  unchanged cell, p50 / p99 / max",
              f"{unchanged['p50']:.2f} / {unchanged['p99']:.2f} / {unchanged['max']:.2f} ms")
    table.add("  code-only change: bytes sent", f"{results['code_change']['bytes_sent']:,}")
    table.add("  code-only change: in the kernel", f"{results['code_change']['kernel_ms']:.0f} ms")
    table.print()
    print_targets(results["targets"])


def parse_args():
    parser = new_parser(__doc__)
    parser.add_argument("--deps-mb", type=int, default=30, help="MB of the dependency (default 30)")
    parser.add_argument("--unchanged", type=int, default=200, help="timed runs of the unchanged cell (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed unchanged runs first (default 10)")
    parser.add_argument("--aws-python", default=shutil.which("python3") or "python3",
                        help="the python3 with the stand-in's dependencies (default: the first on PATH)")
    add_common_options(parser, "interpreter for the kernel's cells")
    args = parser.parse_args()
    if args.deps_mb < 1 or args.unchanged < 1 or args.warmup < 0:
        parser.error("--deps-mb and --unchanged must be at least 1, --warmup not negative")
    check_faaset(parser, args)
    return args


def main():
    return run_benchmark("deps_bench", parse_args(), run, report, "faaset-deps-bench-")


if __name__ == "__main__":
    sys.exit(main())
