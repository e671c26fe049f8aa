"""SAAF v0.7 schema test: runtime/python/SAAF.py against the names, types and
methods of SAAF's own Python Inspector (tests/support/saaf_v07.py), in fresh
interpreters with the environment of the local platform, of AWS Lambda (where
SAAF recommends a configuration) and with the v0.5 names switched on.
tests/cloud/test_saaf_kernel.py checks the same table through a kernel.

    /usr/bin/python3 -m pytest -q tests/runtime/test_saaf_schema.py
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "runtime" / "python"
sys.path.insert(0, str(ROOT / "tests" / "support"))

import saaf_v07 as schema  # noqa: E402

# Every method, in an order that also exercises the delta errors first.
EVERY_METHOD = '''
import json, sys, time
sys.path.insert(0, %r)
from SAAF import Inspector
inspector = Inspector(%s)
inspector.inspectCPUDelta()
inspector.inspectMemoryDelta()
errors = dict(inspector.finish())
inspector = Inspector(%s)
inspector.inspectAll()
inspector.pollCPUStats()
end = time.process_time() + 0.05
while time.process_time() < end:
    pass
inspector.inspectAllDeltas()
inspector.processCPUPolls()
print(json.dumps([errors, inspector.finish()]))
'''


def run(env_vars, names=""):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(env_vars)
    with tempfile.TemporaryDirectory(prefix="saaf-schema-") as tmp:
        env["TMPDIR"] = tmp
        done = subprocess.run([sys.executable, "-c", EVERY_METHOD % (str(RUNTIME), names, names)],
                              env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


LOCAL = {"FAASET_PLATFORM": "local", "FAASET_FUNCTION_NAME": "schema", "FAASET_FUNCTION_MEMORY": "256"}
AWS = {"AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123abcd", "AWS_LAMBDA_FUNCTION_NAME": "schema",
       "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3584", "AWS_REGION": "us-east-1"}


def test_method_set():
    sys.path.insert(0, str(RUNTIME))
    import SAAF
    namespace = {}
    exec("from Inspector import *", namespace)
    assert namespace["Inspector"] is SAAF.Inspector
    public = {name for name in dir(SAAF.Inspector) if not name.startswith("_")}
    assert public == set(schema.METHODS), public ^ set(schema.METHODS)


def test_local_names_and_types():
    errors, attributes = run(LOCAL)
    assert errors["SAAFCPUDeltaError"] == "CPU not inspected before collecting deltas!"
    assert errors["SAAFMemoryDeltaError"] == "Memory not inspected before collecting deltas!"
    assert schema.type_errors(errors) == []
    assert schema.missing(attributes, schema.CONSTRUCTOR, schema.CONTAINER, schema.CPU_INFO, schema.CPU,
                          schema.CPU_DELTA, schema.CPU_POLLS, schema.MEMORY, schema.MEMORY_DELTA,
                          schema.PLATFORM, schema.LINUX, schema.ALL, schema.ALL_DELTAS, schema.FINISH,
                          schema.FAASET) == []
    assert schema.type_errors(attributes) == []
    assert schema.cpu_info_errors(attributes["cpuInfo"]) == []
    assert len(attributes["cpuInfo"]) == attributes["cpuCores"]
    assert schema.poll_errors(attributes["cpuPolls"]) == []
    assert len(attributes["cpuPolls"]) == 3, "inspectCPU, pollCPUStats and inspectCPUDelta each poll"
    assert attributes["version"] == 0.7 and attributes["functionMemory"] == "256"
    assert attributes["linuxVersion"].split()[:3] == [os.uname().sysname, os.uname().nodename,
                                                     os.uname().release]
    # SAAF recommends only on AWS Lambda; the v0.5 names are off.
    assert not set(schema.RECOMMENDATION) & set(attributes)
    assert not (set(schema.LEGACY) - set(schema.EVERYTHING)) & set(attributes)
    assert not set(schema.ERRORS) & set(attributes)


def test_aws_recommendation():
    _, attributes = run(AWS)
    assert schema.missing(attributes, schema.RECOMMENDATION) == [], attributes
    assert schema.type_errors(attributes) == []
    assert attributes["functionMemory"] == "3584"
    assert attributes["availableCPUs"] == 2.0
    utilized = (attributes["cpuUserDelta"] + attributes["cpuKernelDelta"]) / attributes["userRuntime"]
    assert attributes["utilizedCPUs"] == pytest.approx(utilized, abs=0.001)
    wanted = 2.0 * 1.1 if 2.0 - attributes["utilizedCPUs"] < 0.1 else attributes["utilizedCPUs"]
    expected = min(max(round((wanted - 0.012346) / 0.000556), 128), 10240)
    assert abs(attributes["recommendedMemory"] - expected) <= 2


def test_recommendation_needs_platform_and_cpu_delta():
    code = ("import sys, json\nsys.path.insert(0, %r)\nfrom SAAF import Inspector\n"
            "i = Inspector()\ni.inspectAllDeltas()\nprint(json.dumps(i.finish()))\n" % str(RUNTIME))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=dict(AWS, PATH=os.environ.get("PATH", "/usr/bin:/bin")))
    attributes = json.loads(done.stdout)
    assert attributes["SAAFRecommendConfigurationError"].startswith("CPU, CPU Delta, and Platform")
    assert "SAAFCPUDeltaError" in attributes and "SAAFMemoryDeltaError" in attributes


@pytest.mark.parametrize("how", ["environment", "argument"])
def test_v05_names(how):
    if how == "environment":
        _, attributes = run(dict(LOCAL, FAASET_SAAF_NAMES="0.5"))
    else:
        _, attributes = run(LOCAL, names='names="0.5"')
    assert attributes["version"] == 0.5
    assert schema.missing(attributes, schema.LEGACY_CPU, schema.LEGACY_CPU_DELTA,
                          schema.LEGACY_CONTAINER, schema.FAASET) == []
    assert schema.type_errors(attributes, schema.LEGACY) == []
    assert not set(schema.REPLACED) & set(attributes), set(schema.REPLACED) & set(attributes)
    ticks = os.sysconf("SC_CLK_TCK")
    # v0.5 reported clock ticks: the poll has ms.
    poll = attributes["cpuPolls"][0]["cpuTotal"]
    assert attributes["cpuUsr"] == round(poll["cpuUser"] * ticks / 1000)
