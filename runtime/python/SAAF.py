"""SAAF-compatible profiler for FaaSET functions.

What it is
----------
A function that wants to be profiled creates an ``Inspector`` when it starts,
calls some ``inspect*`` methods, and returns ``inspector.finish()``: a plain
dict of attributes with the names, value types and methods of the Python
Inspector of SAAF v0.7 (the Serverless Application Analytics Framework), so
that analysis code written for SAAF and FaaS Runner reports (``outputGroups``
by ``uuid``, ``cpuType``, ``vmID``, ...) keep working::

    from SAAF import Inspector          # or: from Inspector import *

    def handler(event, context):
        inspector = Inspector()
        inspector.inspectAll()
        ...                              # the function's work
        inspector.inspectAllDeltas()
        return inspector.finish()

This module is written from SAAF's published attribute list and method set
alone. It imports only cheap standard-library modules at load time, because
it is loaded inside every function invocation, and it runs no commands.

How it works (attribute: type)
------------------------------
* Constructor: ``version`` (float, 0.7: the SAAF version whose schema this
  is), ``lang`` "python", ``startTime`` (epoch ms, int), ``invocations``
  (int, Inspectors made in this process, this one included) and
  ``initializationTime`` (epoch ms, int, when this module was first imported
  in the process: the same for every invocation a warm process serves).
* ``inspectContainer``: ``uuid`` (str) and ``newcontainer`` (int 1/0). The id
  lives in the file ``container-id`` in ``tempfile.gettempdir()`` (which
  honours ``TMPDIR``; FaaSET's local platform gives each worker its own). The
  first use writes a fresh UUID to a private file and hard-links it into
  place, so exactly one of several racing processes creates it and nobody
  reads a half-written id. If the folder cannot be written, a per-process
  UUID is used instead (``newcontainer`` 1 only the first time).
* ``inspectCPUInfo`` (``/proc/cpuinfo``): ``cpuType`` (str, "model name"),
  ``cpuModel`` (str, "model"; on ARM the nearest equivalents), ``cpuCores``
  (int, the "processor" entries), ``architecture`` ("x86", "arm64" or the
  machine name) and ``cpuInfo``: a list with one dict per core, its keys the
  cpuinfo field names with spaces as underscores ("model_name"), its values
  strings, except ``flags``, ``bugs`` and ``Features``: lists of words.
* ``pollCPUStats``: appends one poll of ``/proc/stat`` to the Inspector's
  polls (``time`` epoch ms; ``cpuTotal`` and ``cpu0``, ``cpu1``, ... each a
  dict of the ten cpu fields below in ms as floats; every other line, e.g.
  ``ctxt``, ``btime``, ``processes``, as an int). ``processCPUPolls`` puts
  the list of polls into the attributes as ``cpuPolls``.
* ``inspectCPU``: polls, then ``cpuUser``, ``cpuNice``, ``cpuKernel``,
  ``cpuIdle``, ``cpuIOWait``, ``cpuIrq``, ``cpuSoftIrq``, ``cpuSteal``,
  ``cpuGuest``, ``cpuGuestNice`` (machine-wide ms, floats: ticks * 1000 /
  CLK_TCK) and ``bootTime`` (int, epoch s), plus faaset's
  ``contextSwitches`` (int). ``inspectCPUDelta`` polls again and adds each
  cpu field with a ``Delta`` suffix (float, this poll minus the inspectCPU
  poll) and ``contextSwitchesDelta`` (int); without an earlier
  ``inspectCPU`` it sets ``SAAFCPUDeltaError`` (str) instead.
* ``inspectMemory``: ``totalMemory``, ``freeMemory`` (int kB,
  ``/proc/meminfo``), ``pageFaults``, ``majorPageFaults`` (int,
  ``/proc/vmstat`` pgfault, pgmajfault); without ``/proc/vmstat`` it sets
  ``SAAFMemoryError``. ``inspectMemoryDelta`` adds ``pageFaultsDelta`` and
  ``majorPageFaultsDelta`` (int); without an earlier ``inspectMemory`` (or
  without ``/proc/vmstat``) it sets ``SAAFMemoryDeltaError`` instead.
* ``inspectPlatform``: ``platform``, ``containerID``, ``functionName``,
  ``functionMemory`` (str, the setting's text as the platform's environment
  gives it, as in SAAF), ``functionRegion`` and ``vmID`` (str), detected from
  the environment: FAASET_PLATFORM=local ("FaaSET Local") or =notebook
  ("FaaSET Notebook", the function ran in the notebook's own Python),
  AWS_LAMBDA_LOG_STREAM_NAME ("AWS Lambda"), K_SERVICE / FUNCTION_TARGET /
  X_GOOGLE_FUNCTION_NAME ("Google Cloud Functions"), __OW_ACTION_NAME ("IBM
  Cloud Functions"), WEBSITE_SITE_NAME, or CONTAINER_NAME next to one of the
  Functions host's variables such as FUNCTIONS_WORKER_RUNTIME ("Azure
  Functions"; CONTAINER_NAME alone is set by too many unrelated tools),
  fprocess ("OpenFaaS"), otherwise "Unknown Platform". The first match in
  this order wins. An attribute whose source is missing is left out.
  ``vmID`` identifies the machine (VM): the id in a "sandbox-root-<id>"
  component of ``/proc/self/cgroup`` when there is one (AWS Lambda's host
  id, found by splitting the cgroup paths into components), otherwise the
  kernel's boot id (``/proc/sys/kernel/random/boot_id``), random per boot and
  shared by every container on one VM. ``containerID`` is the platform's own
  instance name when it has one (Lambda's log stream, Azure's container
  name), otherwise ``hostname:pid`` for FaaSET (a worker process is the
  container) and the hostname elsewhere. Outside FaaSET, ``functionMemory``
  falls back to the cgroup memory limit when the platform does not say.
* ``inspectLinux``: ``linuxVersion`` (str), the line ``uname -a`` prints,
  built from ``os.uname()``.
* ``inspectAll`` runs inspectContainer, inspectCPUInfo, inspectPlatform,
  inspectLinux, inspectMemory and inspectCPU, then sets ``frameworkRuntime``
  (int ms since startTime). ``inspectAllDeltas`` sets ``userRuntime`` (int
  ms since startTime + frameworkRuntime; only after inspectAll), runs both
  deltas, recommends a configuration and sets ``frameworkRuntimeDeltas``
  (int ms the deltas took). The recommendation needs inspectPlatform and
  inspectCPUDelta (else ``SAAFRecommendConfigurationError``, str); on AWS
  Lambda it sets ``availableCPUs`` (float, functionMemory / 1792),
  ``utilizedCPUs`` (float, (cpuUserDelta + cpuKernelDelta) / userRuntime)
  and ``recommendedMemory`` (int MB, 128 to 10240).
* ``addAttribute(key, value)``, ``getAttribute(key)``,
  ``addTimeStamp(key, timeSince=None)`` (int ms from ``timeSince``, epoch
  ms, or from ``startTime``), ``finish()`` (``endTime`` epoch ms and
  ``runtime`` = endTime - startTime, ints; returns the attributes dict).

The v0.5 names
--------------
SAAF v0.5 (the FaaSET paper's era, still grouped by in FaaS Runner's example
experiments) named the CPU counters ``cpuUsr``, ``cpuNice``, ``cpuKrn``,
``cpuIdle``, ``cpuIowait``, ``cpuIrq``, ``cpuSoftIrq``, ``vmcpusteal`` (int
clock ticks, with ``...Delta``) and reported the boot time as ``vmuptime``
from inspectContainer. ``Inspector(names="0.5")``, or the environment
variable ``FAASET_SAAF_NAMES=0.5`` when no ``names`` is given (set it on a
function with ``env=``), switches to those names and units; ``version`` is
then 0.5 and ``bootTime``, ``cpuGuest`` and ``cpuGuestNice`` are not
reported. Everything else is as above.

Deliberate differences from the original SAAF
---------------------------------------------
No ``inspect*`` method raises: a missing or unreadable ``/proc`` file leaves
its attributes out. ``getAttribute`` returns None for a missing key.
Major page faults are read from ``pgmajfault`` (the original looked for a
misspelt key and never found it); ``contextSwitches`` (+Delta) are reported
as by SAAF's Java version; ``vmID`` is parsed by components instead of
fixed string offsets and found on every platform; the platforms FaaSET runs
on are detected. ``recommendedMemory`` inverts SAAF's fit of vCPUs to
memory (vCPUs = 0.000556 * MB + 0.012346), which the original applied the
wrong way round so that it always recommended 128 MB.
"""

import itertools
import os
import time

__all__ = ["Inspector"]

VERSION = 0.7
LEGACY_VERSION = 0.5
NAMES_ENVIRONMENT = "FAASET_SAAF_NAMES"
CONTAINER_ID_FILE = "container-id"

# Epoch ms at which this module was first imported in this process.
_IMPORT_TIME_MS = int(time.time() * 1000)
_invocation_counter = itertools.count(1)
_process_uuid = None      # fallback container id when the temp folder is unusable
_process_uuid_used = False

_CPU_FIELDS = ("cpuUser", "cpuNice", "cpuKernel", "cpuIdle", "cpuIOWait", "cpuIrq",
               "cpuSoftIrq", "cpuSteal", "cpuGuest", "cpuGuestNice")
# SAAF v0.5's names of the first eight fields (reported in clock ticks).
_LEGACY_CPU_NAMES = {"cpuUser": "cpuUsr", "cpuNice": "cpuNice", "cpuKernel": "cpuKrn",
                     "cpuIdle": "cpuIdle", "cpuIOWait": "cpuIowait", "cpuIrq": "cpuIrq",
                     "cpuSoftIrq": "cpuSoftIrq", "cpuSteal": "vmcpusteal"}
_CPUINFO_LISTS = ("flags", "bugs", "Features")
# Lambda's vCPUs per MB of memory: vCPUs = _VCPU_PER_MB * MB + _VCPU_OFFSET (SAAF's fit).
_VCPU_PER_MB = 0.000556
_VCPU_OFFSET = 0.012346
_LAMBDA_MB_PER_VCPU = 1792
_LAMBDA_MEMORY_RANGE = (128, 10240)


def _read_text(path):
    """The text of a file, or None if it cannot be read."""
    try:
        with open(path, "r", encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except (OSError, ValueError):
        return None


def _clock_ticks():
    try:
        ticks = os.sysconf("SC_CLK_TCK")
        if ticks > 0:
            return ticks
    except (AttributeError, ValueError, OSError):
        pass
    return 100


def _poll_proc_stat(clk):
    """One SAAF poll of /proc/stat: {"time": epoch ms, "cpuTotal": {...}, "cpu0": {...}, ...}.

    The aggregate "cpu" line is "cpuTotal", each core's line keeps its name;
    their ten fields are ms as floats (ticks * 1000 / CLK_TCK, SAAF's type).
    Every other line keeps its first number as an int ("ctxt", "btime",
    "processes", "intr", ...). None when /proc/stat cannot be read.
    """
    text = _read_text("/proc/stat")
    if text is None:
        return None
    poll = {"time": int(time.time() * 1000)}
    rate = 1000 / clk
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        title = "cpuTotal" if parts[0] == "cpu" else parts[0]
        try:
            if title.startswith("cpu"):
                poll[title] = {name: int(raw) * rate for name, raw in zip(_CPU_FIELDS, parts[1:])}
            else:
                poll[title] = int(parts[1])
        except ValueError:
            continue
    return poll


def _read_vmstat():
    """{pageFaults, majorPageFaults} from /proc/vmstat, or None when it cannot be read."""
    text = _read_text("/proc/vmstat")
    if text is None:
        return None
    values = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        try:
            if parts[0] == "pgfault":
                values["pageFaults"] = int(parts[1])
            elif parts[0] == "pgmajfault":
                values["majorPageFaults"] = int(parts[1])
        except ValueError:
            continue
    return values


def _read_meminfo():
    """{totalMemory, freeMemory} in kB from /proc/meminfo."""
    text = _read_text("/proc/meminfo")
    if text is None:
        return {}
    wanted = {"MemTotal": "totalMemory", "MemFree": "freeMemory"}
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in wanted:
            parts = rest.split()
            if parts:
                try:
                    values[wanted[key]] = int(parts[0])
                except ValueError:
                    pass
    return values


def _architecture(machine):
    lowered = (machine or "").lower()
    if lowered in ("x86_64", "amd64", "x86", "i386", "i486", "i586", "i686", "x64"):
        return "x86"
    if lowered in ("aarch64", "arm64", "aarch64_be", "armv8l", "armv8b"):
        return "arm64"
    return machine


def _machine():
    try:
        return os.uname().machine
    except AttributeError:
        import platform
        return platform.machine()


def _hostname():
    try:
        return os.uname().nodename
    except AttributeError:
        import platform
        return platform.node()


def _vm_id():
    """The id of the (virtual) machine: Lambda's sandbox-root id, else the kernel boot id."""
    text = _read_text("/proc/self/cgroup")
    if text:
        for line in text.splitlines():
            # hierarchy-ID:controllers:path
            path = line.split(":", 2)[-1]
            for component in path.split("/"):
                if component.startswith("sandbox-root-") and len(component) > len("sandbox-root-"):
                    return component[len("sandbox-root-"):]
    boot_id = _read_text("/proc/sys/kernel/random/boot_id")
    if boot_id and boot_id.strip():
        return boot_id.strip()
    return None


def _cgroup_memory_mb():
    """The cgroup memory limit in MB (an int), or None when there is none (or it is unreadable)."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        text = _read_text(path)
        if text is None:
            continue
        text = text.strip()
        if text.isdigit():
            limit = int(text)
            # cgroup v1 reports "no limit" as a huge page-rounded number.
            if 0 < limit < (1 << 50):
                return limit // (1024 * 1024)
        return None
    return None


def _memory_text(value):
    """functionMemory as SAAF types it: the setting's text ("512"), or None."""
    if value is None:
        return None
    return str(value).strip() or None


def _region_from_api_host(api_host):
    """'https://us-south.functions.cloud.ibm.com' -> 'us-south'."""
    if not api_host:
        return None
    host = api_host.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    label = host.split(".", 1)[0]
    return label or None


def _azure_functions_host(env):
    """True if the Azure Functions host's own variables are present.

    CONTAINER_NAME alone is too common (Docker tooling and sandboxes set it),
    so it counts as Azure only next to one of these.
    """
    return any(env.get(name) for name in (
        "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION", "WEBSITE_INSTANCE_ID",
        "AzureWebJobsStorage", "AzureWebJobsScriptRoot"))


def _platform_attributes(env):
    """(platform, {attribute: value or None}) from the environment."""
    get = env.get
    faaset = (get("FAASET_PLATFORM") or "").strip().lower()
    if faaset in ("local", "notebook"):
        name = "FaaSET Local" if faaset == "local" else "FaaSET Notebook"
        return name, {
            "containerID": "%s:%d" % (_hostname(), os.getpid()),
            "functionName": get("FAASET_FUNCTION_NAME"),
            "functionMemory": _memory_text(get("FAASET_FUNCTION_MEMORY")),
            "functionRegion": "local",
        }
    if get("AWS_LAMBDA_LOG_STREAM_NAME"):
        return "AWS Lambda", {
            "containerID": get("AWS_LAMBDA_LOG_STREAM_NAME"),
            "functionName": get("AWS_LAMBDA_FUNCTION_NAME"),
            "functionMemory": _memory_text(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")),
            "functionRegion": get("AWS_REGION") or get("AWS_DEFAULT_REGION"),
        }
    if get("K_SERVICE") or get("FUNCTION_TARGET") or get("X_GOOGLE_FUNCTION_NAME"):
        return "Google Cloud Functions", {
            "containerID": _hostname(),
            "functionName": get("K_SERVICE") or get("X_GOOGLE_FUNCTION_NAME")
            or get("FUNCTION_NAME") or get("FUNCTION_TARGET"),
            "functionMemory": _memory_text(get("X_GOOGLE_FUNCTION_MEMORY_MB")
                                           or get("FUNCTION_MEMORY_MB")),
            "functionRegion": get("X_GOOGLE_FUNCTION_REGION") or get("FUNCTION_REGION"),
        }
    if get("__OW_ACTION_NAME"):
        return "IBM Cloud Functions", {
            "containerID": _hostname(),
            "functionName": get("__OW_ACTION_NAME"),
            "functionMemory": None,
            "functionRegion": _region_from_api_host(get("__OW_API_HOST")),
        }
    if get("WEBSITE_SITE_NAME") or (get("CONTAINER_NAME") and _azure_functions_host(env)):
        return "Azure Functions", {
            "containerID": get("CONTAINER_NAME") or get("WEBSITE_INSTANCE_ID") or _hostname(),
            "functionName": get("WEBSITE_SITE_NAME") or get("CONTAINER_NAME"),
            "functionMemory": _memory_text(get("WEBSITE_MEMORY_LIMIT_MB")),
            "functionRegion": get("REGION_NAME"),
        }
    if get("fprocess"):
        return "OpenFaaS", {
            "containerID": _hostname(),
            "functionName": get("OPENFAAS_FUNCTION_NAME") or get("FAAS_FUNCTION_NAME"),
            "functionMemory": None,
            "functionRegion": None,
        }
    return "Unknown Platform", {
        "containerID": _hostname(),
        "functionName": None,
        "functionMemory": None,
        "functionRegion": None,
    }


def _container_id():
    """(uuid, newcontainer) from the id file in the temporary folder."""
    global _process_uuid, _process_uuid_used
    import uuid
    try:
        import tempfile
        directory = tempfile.gettempdir()
        target = os.path.join(directory, CONTAINER_ID_FILE)
        for attempt in range(6):
            existing = _read_text(target)
            if existing is not None and existing.strip():
                return existing.strip(), 0
            if existing is not None and attempt < 3:
                # Empty: maybe another process is filling it (no-hard-link path below).
                time.sleep(0.002)
                continue
            fresh = str(uuid.uuid4())
            private = os.path.join(directory, ".%s.%s" % (CONTAINER_ID_FILE, fresh))
            fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, fresh.encode("ascii"))
            finally:
                os.close(fd)
            try:
                if existing is None:
                    try:
                        # The file appears complete, and only if it did not exist:
                        # of several racing processes exactly one wins.
                        os.link(private, target)
                    except FileExistsError:
                        continue
                    except OSError:
                        # No hard links on this file system: claim the name, then fill it.
                        try:
                            os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
                        except FileExistsError:
                            continue
                        os.replace(private, target)
                else:
                    # A file that stayed empty is broken: replace it in one step.
                    os.replace(private, target)
                return fresh, 1
            finally:
                try:
                    os.unlink(private)
                except OSError:
                    pass
    except Exception:
        pass
    if _process_uuid is None:
        _process_uuid = str(uuid.uuid4())
    new = 0 if _process_uuid_used else 1
    _process_uuid_used = True
    return _process_uuid, new


def _uname_a():
    """The line `uname -a` prints (coreutils omits an unknown processor and platform)."""
    name = os.uname()
    words = [name.sysname, name.nodename, name.release, name.version, name.machine]
    if name.sysname == "Linux":
        words.append("GNU/Linux")
    return " ".join(words)


def _parse_cpuinfo(text):
    """(per-core dicts, first value of every field) from /proc/cpuinfo's text.

    Blocks are separated by blank lines; a block with a "processor" field is
    a core. Keys have spaces replaced by underscores, as SAAF's cpuInfo has.
    """
    cores = []
    first = {}
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key, value = key.strip(), value.strip()
            first.setdefault(key, value)
            name = key.replace(" ", "_")
            fields[name] = value.split() if name in _CPUINFO_LISTS else value
        if "processor" in fields:
            cores.append(fields)
    return cores, first


def _recommendation(attributes):
    """availableCPUs, utilizedCPUs, recommendedMemory for AWS Lambda, from SAAF attributes.

    Raises (KeyError, ValueError, ZeroDivisionError) when an input is missing.
    """
    available = int(attributes["functionMemory"]) / _LAMBDA_MB_PER_VCPU
    utilized = (attributes["cpuUserDelta"] + attributes["cpuKernelDelta"]) / attributes["userRuntime"]
    wanted = available * 1.1 if available - utilized < 0.1 else utilized
    low, high = _LAMBDA_MEMORY_RANGE
    memory = min(max(round((wanted - _VCPU_OFFSET) / _VCPU_PER_MB), low), high)
    return {"availableCPUs": round(available, 3), "utilizedCPUs": round(utilized, 3),
            "recommendedMemory": int(memory)}


def _quiet(method):
    """Make an inspect method swallow its errors: a profiler must not fail its function."""
    def guarded(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception:
            return None
    guarded.__name__ = method.__name__
    guarded.__qualname__ = method.__qualname__
    guarded.__doc__ = method.__doc__
    return guarded


def _epoch_ms():
    return int(time.time() * 1000)


class Inspector:
    """Collects SAAF attributes about one function invocation; see the module docstring."""

    def __init__(self, names=None):
        if names is None:
            names = os.environ.get(NAMES_ENVIRONMENT, "")
        self._legacy = str(names).strip() == "0.5"
        self._start_ms = _epoch_ms()
        self._clk = _clock_ticks()
        self._cpu_polls = []
        self._cpu_base = None       # the poll inspectCPU made
        self._memory_base = None    # the vmstat values inspectMemory read
        self._inspected_platform = False
        self._inspected_cpu_delta = False
        self._attributes = {
            "version": LEGACY_VERSION if self._legacy else VERSION,
            "lang": "python",
            "startTime": self._start_ms,
            "invocations": next(_invocation_counter),
            "initializationTime": _IMPORT_TIME_MS,
        }

    # -- attributes -------------------------------------------------------

    def addAttribute(self, key, value):
        """Set attribute `key` to `value`."""
        self._attributes[key] = value

    def getAttribute(self, key):
        """The value of attribute `key`, or None if it is not set."""
        return self._attributes.get(key)

    def addTimeStamp(self, key, timeSince=None):
        """Set `key` to the ms elapsed since `timeSince` (epoch ms), or since startTime."""
        since = self._start_ms if timeSince is None else timeSince
        try:
            self._attributes[key] = _epoch_ms() - since
        except TypeError:
            self._attributes[key] = _epoch_ms() - self._start_ms

    def _put(self, values):
        for key, value in values.items():
            if value is not None:
                self._attributes[key] = value

    # -- inspections --------------------------------------------------------

    @_quiet
    def inspectContainer(self):
        """uuid and newcontainer, from the container id file (and v0.5's vmuptime)."""
        container_uuid, new = _container_id()
        self._attributes["uuid"] = container_uuid
        self._attributes["newcontainer"] = new
        if self._legacy:
            poll = _poll_proc_stat(self._clk)
            if poll and "btime" in poll:
                self._attributes["vmuptime"] = poll["btime"]

    @_quiet
    def inspectCPUInfo(self):
        """cpuType, cpuModel, cpuCores, architecture and the per-core cpuInfo list."""
        self._attributes["architecture"] = _architecture(_machine())
        text = _read_text("/proc/cpuinfo")
        if text is None:
            return
        cores, first = _parse_cpuinfo(text)
        cpu_type = first.get("model name") or first.get("Processor") or first.get("cpu")
        if not cpu_type and "CPU implementer" in first:
            cpu_type = "implementer %s part %s" % (first.get("CPU implementer"),
                                                   first.get("CPU part", "?"))
        cpu_model = first.get("model") or first.get("Model") or first.get("CPU part") \
            or first.get("cpu model")
        self._put({"cpuType": cpu_type, "cpuModel": cpu_model})
        if cores:
            self._attributes["cpuCores"] = len(cores)
        self._attributes["cpuInfo"] = cores

    @_quiet
    def pollCPUStats(self):
        """Append one poll of /proc/stat to the polls (see processCPUPolls)."""
        poll = _poll_proc_stat(self._clk)
        if poll is not None:
            self._cpu_polls.append(poll)
        return None

    def _cpu_values(self, poll):
        """The inspectCPU attributes of one poll, under the names in use."""
        total = poll.get("cpuTotal", {})
        values = {}
        if self._legacy:
            ticks = 1000 / self._clk
            for name, legacy in _LEGACY_CPU_NAMES.items():
                if name in total:
                    values[legacy] = int(round(total[name] / ticks))
        else:
            values.update(total)
            values["bootTime"] = poll.get("btime")
        values["contextSwitches"] = poll.get("ctxt")
        return values

    @_quiet
    def inspectCPU(self):
        """CPU times (ms), bootTime and contextSwitches from a poll of /proc/stat."""
        self.pollCPUStats()
        if not self._cpu_polls:
            return
        self._cpu_base = self._cpu_polls[-1]
        self._put(self._cpu_values(self._cpu_base))

    @_quiet
    def inspectCPUDelta(self):
        """The change of each inspectCPU counter since inspectCPU, as `...Delta`."""
        if self._cpu_base is None:
            self._attributes["SAAFCPUDeltaError"] = "CPU not inspected before collecting deltas!"
            return
        self.pollCPUStats()
        self._inspected_cpu_delta = True
        base = self._cpu_values(self._cpu_base)
        now = self._cpu_values(self._cpu_polls[-1])
        for key, value in now.items():
            if key != "bootTime" and value is not None and base.get(key) is not None:
                self._attributes[key + "Delta"] = value - base[key]

    def processCPUPolls(self):
        """Put the list of CPU polls into the attributes as cpuPolls."""
        self._attributes["cpuPolls"] = self._cpu_polls

    @_quiet
    def inspectMemory(self):
        """totalMemory, freeMemory (kB), pageFaults, majorPageFaults."""
        self._put(_read_meminfo())
        values = _read_vmstat()
        if values is None:
            self._attributes["SAAFMemoryError"] = "/proc/vmstat does not exist!"
            return
        self._put(values)
        self._memory_base = values

    @_quiet
    def inspectMemoryDelta(self):
        """pageFaultsDelta, majorPageFaultsDelta since inspectMemory."""
        if self._memory_base is None:
            self._attributes["SAAFMemoryDeltaError"] = "Memory not inspected before collecting deltas!"
            return
        now = _read_vmstat()
        if now is None:
            self._attributes["SAAFMemoryDeltaError"] = "/proc/vmstat does not exist!"
            return
        for key, value in now.items():
            if key in self._memory_base:
                self._attributes[key + "Delta"] = value - self._memory_base[key]

    @_quiet
    def inspectPlatform(self):
        """platform, containerID, functionName, functionMemory, functionRegion, vmID."""
        self._inspected_platform = True
        name, values = _platform_attributes(os.environ)
        self._attributes["platform"] = name
        if values.get("functionMemory") is None and not name.startswith("FaaSET"):
            values["functionMemory"] = _memory_text(_cgroup_memory_mb())
        values["vmID"] = _vm_id()
        self._put(values)

    @_quiet
    def inspectLinux(self):
        """linuxVersion: the line `uname -a` prints."""
        self._attributes["linuxVersion"] = _uname_a()

    def _recommend_configuration(self):
        if not (self._inspected_platform and self._inspected_cpu_delta):
            self._attributes["SAAFRecommendConfigurationError"] = (
                "CPU, CPU Delta, and Platform must be inspected before recommending a configuration!")
            return
        if self._attributes.get("platform") != "AWS Lambda":
            return
        try:
            self._attributes.update(_recommendation(self._attributes))
        except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
            self._attributes["SAAFRecommendConfigurationError"] = (
                "Unable to recommend a configuration. %s" % error)

    def inspectAll(self):
        """Every non-delta inspection, then frameworkRuntime (ms since startTime)."""
        self.inspectContainer()
        self.inspectCPUInfo()
        self.inspectPlatform()
        self.inspectLinux()
        self.inspectMemory()
        self.inspectCPU()
        self.addTimeStamp("frameworkRuntime")

    def inspectAllDeltas(self):
        """userRuntime, both deltas, the recommendation, frameworkRuntimeDeltas."""
        framework = self._attributes.get("frameworkRuntime")
        if isinstance(framework, int):
            self.addTimeStamp("userRuntime", self._start_ms + framework)
        began = _epoch_ms()
        self.inspectCPUDelta()
        self.inspectMemoryDelta()
        self._recommend_configuration()
        self.addTimeStamp("frameworkRuntimeDeltas", began)

    # -- the end --------------------------------------------------------------

    def finish(self):
        """Add endTime and runtime (ms) and return the attributes dict."""
        end_ms = _epoch_ms()
        self._attributes["endTime"] = end_ms
        self._attributes["runtime"] = end_ms - self._start_ms
        return self._attributes
