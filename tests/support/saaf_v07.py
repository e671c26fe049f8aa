"""The schema of SAAF v0.7's Python Inspector, as its documentation and
source (wlloyduw/SAAF, python_template/src/Inspector.py) give it: which
methods exist, which attributes each method adds, and each attribute's type.
Written down here by hand, to check FaaSET's runtime/python/SAAF.py against;
`check(attributes)` returns the list of mismatches (empty when the dict
keeps SAAF's names and types).

faaset's own additions (contextSwitches and majorPageFaults with their
deltas, the Inspector surviving a missing /proc file) are listed apart, so
a test can tell an addition from a divergence.
"""

METHODS = [
    "inspectContainer", "inspectCPUInfo", "pollCPUStats", "inspectCPU", "inspectCPUDelta",
    "processCPUPolls", "inspectMemory", "inspectMemoryDelta", "inspectPlatform", "inspectLinux",
    "inspectAll", "inspectAllDeltas", "addAttribute", "getAttribute", "addTimeStamp", "finish",
]

CPU_FIELDS = ["cpuUser", "cpuNice", "cpuKernel", "cpuIdle", "cpuIOWait", "cpuIrq", "cpuSoftIrq",
              "cpuSteal", "cpuGuest", "cpuGuestNice"]

# attribute -> type, grouped by the method that adds it.
CONSTRUCTOR = {"version": float, "lang": str, "startTime": int, "invocations": int,
               "initializationTime": int}
CONTAINER = {"uuid": str, "newcontainer": int}
CPU_INFO = {"cpuType": str, "cpuModel": str, "cpuCores": int, "architecture": str, "cpuInfo": list}
CPU = dict({name: float for name in CPU_FIELDS}, bootTime=int)
CPU_DELTA = {name + "Delta": float for name in CPU_FIELDS}
CPU_POLLS = {"cpuPolls": list}
MEMORY = {"totalMemory": int, "freeMemory": int, "pageFaults": int}
MEMORY_DELTA = {"pageFaultsDelta": int}
PLATFORM = {"platform": str, "containerID": str, "functionName": str, "functionMemory": str,
            "functionRegion": str, "vmID": str}
LINUX = {"linuxVersion": str}
ALL = {"frameworkRuntime": int}
ALL_DELTAS = {"userRuntime": int, "frameworkRuntimeDeltas": int}
RECOMMENDATION = {"availableCPUs": float, "utilizedCPUs": float, "recommendedMemory": int}
FINISH = {"runtime": int, "endTime": int}
ERRORS = {"SAAFCPUDeltaError": str, "SAAFMemoryError": str, "SAAFMemoryDeltaError": str,
          "SAAFRecommendConfigurationError": str}

# faaset's additions, reported next to SAAF's.
FAASET = {"contextSwitches": int, "contextSwitchesDelta": int, "majorPageFaults": int,
          "majorPageFaultsDelta": int}

# SAAF v0.5's names (the FaaSET paper's era): ints, clock ticks.
LEGACY_CPU = {"cpuUsr": int, "cpuNice": int, "cpuKrn": int, "cpuIdle": int, "cpuIowait": int,
              "cpuIrq": int, "cpuSoftIrq": int, "vmcpusteal": int}
LEGACY_CPU_DELTA = {name + "Delta": int for name in LEGACY_CPU}
LEGACY_CONTAINER = {"vmuptime": int}

# Polls of /proc/stat: these keys, each cpu line a dict of CPU_FIELDS (floats).
POLL_KEYS = {"time": int, "cpuTotal": dict, "ctxt": int, "btime": int, "processes": int}

EVERYTHING = {}
for _group in (CONSTRUCTOR, CONTAINER, CPU_INFO, CPU, CPU_DELTA, CPU_POLLS, MEMORY, MEMORY_DELTA,
               PLATFORM, LINUX, ALL, ALL_DELTAS, RECOMMENDATION, FINISH, ERRORS, FAASET):
    EVERYTHING.update(_group)
# With the v0.5 names: the shared names (cpuNice, cpuIdle, ...) are ints then.
LEGACY = dict(EVERYTHING, version=float, **LEGACY_CPU, **LEGACY_CPU_DELTA, **LEGACY_CONTAINER)
# The v0.7 names that the v0.5 switch replaces.
REPLACED = sorted(set(CPU) - set(LEGACY_CPU) | set(CPU_DELTA) - set(LEGACY_CPU_DELTA))


def type_errors(attributes, schema=None):
    """Mismatches between the types in `attributes` and `schema` (default: SAAF v0.7's names)."""
    schema = EVERYTHING if schema is None else schema
    errors = []
    for key, wanted in schema.items():
        if key in attributes and type(attributes[key]) is not wanted:
            errors.append("%s is %s, SAAF has %s" % (key, type(attributes[key]).__name__,
                                                     wanted.__name__))
    return errors


def missing(attributes, *groups):
    """The names of `groups` that `attributes` lacks."""
    return sorted(key for group in groups for key in group if key not in attributes)


def cpu_info_errors(cores):
    """Mismatches of a cpuInfo value: a list of per-core dicts of str (flags etc. lists)."""
    errors = []
    for core in cores:
        for key, value in core.items():
            wanted = list if key in ("flags", "bugs", "Features") else str
            if " " in key or type(value) is not wanted:
                errors.append("cpuInfo %s: %r" % (key, type(value).__name__))
    return errors


def poll_errors(polls):
    """Mismatches of a cpuPolls value."""
    errors = []
    for poll in polls:
        errors += ["poll " + e for e in type_errors(poll, POLL_KEYS)]
        errors += ["poll lacks %s" % key for key in POLL_KEYS if key not in poll]
        for name, value in poll.items():
            if name.startswith("cpu") and (list(value) != CPU_FIELDS
                                           or any(type(v) is not float for v in value.values())):
                errors.append("poll %s: %r" % (name, value))
    return errors
