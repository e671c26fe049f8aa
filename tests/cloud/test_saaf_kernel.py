"""SAAF v0.7 schema through a kernel: a %%cloud_function on the local
platform calls every Inspector method and returns finish(); the attributes
that come back to the notebook keep SAAF v0.7's names and types
(tests/support/saaf_v07.py), and the v0.5 names appear when the function's
environment asks for them (env=FAASET_SAAF_NAMES=0.5).

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/cloud/test_saaf_kernel.py
"""
import saaf_v07 as schema

PROFILED = '''%%cloud_function memory=192{extra}
def profiled(request, context):
    from SAAF import Inspector
    inspector = Inspector()
    inspector.inspectAll()
    inspector.pollCPUStats()
    inspector.inspectAllDeltas()
    inspector.processCPUPolls()
    return inspector.finish()'''

CALL = 'import json\nprint(json.dumps(profiled({})))'


def test_every_method_through_the_kernel(workspace):
    define, call, define_legacy, call_legacy = workspace.run(
        PROFILED.format(extra=""), CALL, PROFILED.format(extra=" env=FAASET_SAAF_NAMES=0.5"), CALL)
    define.ok()
    attributes = call.ok().json()
    assert schema.missing(attributes, schema.CONSTRUCTOR, schema.CONTAINER, schema.CPU_INFO, schema.CPU,
                          schema.CPU_DELTA, schema.CPU_POLLS, schema.MEMORY, schema.MEMORY_DELTA,
                          schema.PLATFORM, schema.LINUX, schema.ALL, schema.ALL_DELTAS, schema.FINISH,
                          schema.FAASET) == []
    assert schema.type_errors(attributes) == []
    assert schema.cpu_info_errors(attributes["cpuInfo"]) == []
    assert schema.poll_errors(attributes["cpuPolls"]) == []
    assert (attributes["version"], attributes["platform"], attributes["functionMemory"]) == \
        (0.7, "FaaSET Local", "192")

    define_legacy.ok()
    legacy = call_legacy.ok().json()
    assert legacy["version"] == 0.5
    assert schema.missing(legacy, schema.LEGACY_CPU, schema.LEGACY_CPU_DELTA, schema.LEGACY_CONTAINER) == []
    assert schema.type_errors(legacy, schema.LEGACY) == []
    assert not set(schema.REPLACED) & set(legacy)
