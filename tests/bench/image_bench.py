"""Image rebuilds: after a code change, the kernel's image builder
(platforms/oci_push.c, driven by tests/unit/oci_push_tool) pushes one small
layer and the config, not the image.

Starts Debian's docker-registry on loopback (tests/support/oci_registry.py),
pushes the tiny base image into it, then builds and pushes a function's
image three times: the first push (a dependency layer of --deps-mb MB of
incompressible files, the code layer, the config), the same cell again,
and the cell with one line of code changed. Prints the bytes and blobs
each push sent (counted by the builder and checked against the registry's
access log) and how long it took.

    cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release && cmake --build build-release -j2
    /usr/bin/python3 tests/bench/image_bench.py [--deps-mb 20] [--check]

Targets (--check): the same cell sends 0 bytes; the code change sends less
than 1% of the first push and exactly two blobs.
"""
import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "support"))
import bench_common  # noqa: E402
import oci_registry  # noqa: E402

SOURCE = 'def hello(request, context):\n    return {"hi": request.get("name")}\n'


def push(tool, registry, env, workdir, source, deps):
    (workdir / "source.py").write_text(source)
    started = time.monotonic()
    mark = registry.log_mark()
    done = subprocess.run([tool, "--base", f"{registry.host}/base/tiny:1", "--target", f"{registry.host}/fn/bench:v1",
                           "--source", str(workdir / "source.py"), "--function", "hello", "--deps", str(deps),
                           "--cmd", "faaset_handler.handle"], capture_output=True, text=True, env=env, timeout=600)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise bench_common.BenchError(f"the push tool failed: {done.stdout}{done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    if not result["ok"]:
        raise bench_common.BenchError(f"the push failed: {result['message']}")
    result["seconds"] = seconds
    result["registry_uploads"] = len(registry.blob_uploads_since(mark))
    return result


def run(args, workdir):
    registry = oci_registry.Registry(workdir / "registry")
    bench_common.track(registry)
    try:
        registry.push_layout(oci_registry.tiny_base_image(workdir / "base"), "base/tiny:1")
        env = dict(os.environ, DOCKER_CONFIG=str(oci_registry.docker_config(workdir / "docker", registry.host)))
        deps = workdir / "deps"
        for index in range(args.deps_mb):
            package = deps / f"package{index:03d}"
            package.mkdir(parents=True)
            (package / "__init__.py").write_text(f"INDEX = {index}\n")
            (package / "data.bin").write_bytes(os.urandom(1024 * 1024))
        bench_common.progress("first push")
        first = push(args.tool, registry, env, workdir, SOURCE, deps)
        bench_common.progress("the same cell again")
        same = push(args.tool, registry, env, workdir, SOURCE, deps)
        bench_common.progress("after a code change")
        changed = push(args.tool, registry, env, workdir, SOURCE.replace("hi", "hello"), deps)
    finally:
        registry.stop()
        bench_common.untrack(registry)
    targets = [
        {"name": "the same cell sends nothing", "passed": same["bytes_sent"] == 0 and same["registry_uploads"] == 0,
         "detail": f"{same['bytes_sent']} bytes, {same['registry_uploads']} uploads"},
        {"name": "a code change sends one small layer and the config",
         "passed": changed["blobs_sent"] == 2 == changed["registry_uploads"]
         and changed["bytes_sent"] < first["bytes_sent"] / 100,
         "detail": f"{changed['bytes_sent']} bytes in {changed['blobs_sent']} blobs "
                   f"({100 * changed['bytes_sent'] / first['bytes_sent']:.3f}% of the first push)"},
    ]
    return {"deps_mb": args.deps_mb, "pushes": {"first": first, "same": same, "changed": changed},
            "targets": targets}


def report(results, _args):
    table = bench_common.Table([14, 8, 10, 10, 10], headers=["bytes sent", "blobs", "uploads", "present", "seconds"])
    table.section(f"Pushes of one function's image ({results['deps_mb']} MB of dependencies)")
    for label, key in (("first push", "first"), ("same cell", "same"), ("code change", "changed")):
        push_ = results["pushes"][key]
        table.add(f"  {label}", f"{push_['bytes_sent']:,}", push_["blobs_sent"], push_["registry_uploads"],
                  push_["blobs_present"] + push_["blobs_mounted"], f"{push_['seconds']:.2f}")
    table.print()
    bench_common.print_targets(results["targets"])


def main():
    parser = bench_common.new_parser(__doc__)
    parser.add_argument("--tool", default=os.environ.get("FAASET_OCI_PUSH_TOOL")
                        or str(HERE.parents[1] / "build-release" / "tests" / "unit" / "oci_push_tool"),
                        help="oci_push_tool (default $FAASET_OCI_PUSH_TOOL, else build-release/tests/unit/oci_push_tool)")
    parser.add_argument("--deps-mb", type=int, default=20, help="size of the dependency layer in MB (default 20)")
    parser.add_argument("--json", metavar="PATH", help="also write the raw figures here as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args()
    if not os.access(args.tool, os.X_OK):
        parser.error(f"oci_push_tool not found at {args.tool}: build it (see the docstring) or pass --tool")
    return bench_common.run_benchmark("image_bench", args, run, report, "faaset-image-bench-")


if __name__ == "__main__":
    sys.exit(main())
