"""SAAF-compatible profiler for FaaSET functions.

What it is
----------
A function that wants to be profiled creates an ``Inspector`` when it starts,
calls some ``inspect*`` methods, and returns ``inspector.finish()``: a plain
dict of attributes, the same attribute names the Serverless Application
Analytics Framework (SAAF) produces, so that FaaS Runner style reports
(``outputGroups`` by ``uuid``, ``cpuType``, ``vmID``, ...) keep working::

    from SAAF import Inspector          # or: from Inspector import *

    def handler(event, context):
        inspector = Inspector()
        inspector.inspectAll()
        ...                              # the function's work
        inspector.inspectAllDeltas()
        return inspector.finish()

This module is written from the published attribute list alone. It imports
only cheap standard-library modules at load time, because it is loaded inside
every function invocation.

How it works
------------
* Constructor: ``version``, ``lang``, ``startTime`` (epoch ms, int),
  ``invocations`` (how many Inspectors this process has made, this one
  included) and ``initializationTime`` (epoch ms at which this module was
  first imported in the process, i.e. when the function's code was loaded;
  the same value for every invocation a warm process serves). It also takes a
  silent snapshot of the CPU and memory counters, so that the ``*Delta``
  methods work even when ``inspectCPU`` / ``inspectMemory`` were never
  called: the deltas are then relative to the Inspector's construction.
  When ``inspectCPU`` / ``inspectMemory`` were called, the deltas are relative
  to the most recent such call (SAAF's meaning).
* ``inspectContainer``: ``uuid`` and ``newcontainer``. The id lives in the
  file ``container-id`` in ``tempfile.gettempdir()`` (which honours
  ``TMPDIR``; FaaSET's local platform gives each worker its own). The first
  use writes a fresh UUID to a private file and hard-links it into place, so
  exactly one of several racing processes creates it (``newcontainer`` 1) and
  nobody ever reads a half-written id. If the folder cannot be written, a
  per-process UUID is used instead (``newcontainer`` 1 only the first time).
* ``inspectCPUInfo`` (``/proc/cpuinfo``): ``cpuType`` is the processor's
  "model name" (e.g. "Intel(R) Xeon(R) Processor"), ``cpuModel`` its "model"
  number, as in SAAF; on processors without those fields (ARM) the nearest
  equivalents are used. ``cpuCores`` counts the "processor" entries;
  ``architecture`` is "x86" (x86_64, i686, ...), "arm64" (aarch64) or the
  machine name as the kernel reports it.
* ``inspectCPU`` (``/proc/stat``): the aggregate "cpu" line converted from
  clock ticks to ms (ticks * 1000 / CLK_TCK): ``cpuUser``, ``cpuNice``,
  ``cpuKernel``, ``cpuIdle``, ``cpuIOWait``, ``cpuIrq``, ``cpuSoftIrq``,
  ``cpuSteal``, ``cpuGuest``, ``cpuGuestNice``; ``bootTime`` (the "btime"
  line, epoch seconds) and ``contextSwitches`` (the "ctxt" line).
  ``inspectCPUDelta`` adds the same names with a ``Delta`` suffix (all but
  ``bootTime``). These are machine-wide counters, as in SAAF.
* ``inspectMemory``: ``totalMemory`` and ``freeMemory`` in kB
  (``/proc/meminfo`` MemTotal, MemFree), ``pageFaults`` and
  ``majorPageFaults`` (``/proc/vmstat`` pgfault, pgmajfault).
  ``inspectMemoryDelta`` adds ``pageFaultsDelta`` and ``majorPageFaultsDelta``.
* ``inspectPlatform``: ``platform``, ``containerID``, ``functionName``,
  ``functionMemory`` (MB), ``functionRegion`` and ``vmID``, detected from the
  environment: FAASET_PLATFORM=local ("FaaSET Local") or =notebook ("FaaSET
  Notebook", the function ran in the notebook's own Python),
  AWS_LAMBDA_LOG_STREAM_NAME ("AWS Lambda"), K_SERVICE / FUNCTION_TARGET /
  X_GOOGLE_FUNCTION_NAME ("Google Cloud Functions"), __OW_ACTION_NAME ("IBM
  Cloud Functions"), WEBSITE_SITE_NAME, or CONTAINER_NAME next to one of the
  Functions host's variables such as FUNCTIONS_WORKER_RUNTIME ("Azure
  Functions"; CONTAINER_NAME alone is set by too many unrelated tools),
  fprocess ("OpenFaaS"), otherwise "Unknown Platform". The first match in
  this order wins. An attribute whose
  source is missing is left out. ``vmID`` identifies the machine (VM) the
  container runs on: the id in a "sandbox-root-<id>" component of
  ``/proc/self/cgroup`` when there is one (AWS Lambda's host id, found by
  splitting the cgroup paths into components, not by fixed offsets),
  otherwise the kernel's boot id (``/proc/sys/kernel/random/boot_id``): it is
  random per kernel boot and not namespaced, so every container on one VM
  shares it and different VMs differ. ``containerID`` is the platform's own
  instance name when it has one (Lambda's log stream, Azure's container
  name), otherwise ``hostname:pid`` for FaaSET (a worker process is the
  container) and the hostname elsewhere. Outside FaaSET, ``functionMemory``
  falls back to the cgroup memory limit when the platform does not say.
* ``inspectLinux``: ``linuxVersion`` (the kernel release, as ``uname -r``).
* ``inspectAll`` runs all of the above; ``inspectAllDeltas`` both deltas.
* ``addTimeStamp(key, timeSince=None)``: ``key`` = ms from ``timeSince``
  (epoch ms) or from ``startTime`` to now.
* ``finish()``: ``endTime`` (epoch ms), ``runtime`` = endTime - startTime,
  ``frameworkRuntime`` (ms spent inside the Inspector itself: constructor and
  inspect* methods other than the deltas), ``frameworkRuntimeDeltas`` (ms
  spent in the delta methods) and ``userRuntime`` (the rest of the time since
  construction), so runtime ~= userRuntime + frameworkRuntime +
  frameworkRuntimeDeltas. These three are floats measured with a monotonic
  clock; the epoch times and ``runtime`` are ints, as in SAAF.

No ``inspect*`` method raises: on a system without a given ``/proc`` file the
attributes taken from it are simply absent.

Deliberate differences from the original SAAF: major page faults are read
from ``pgmajfault`` (the original looked for a misspelt key and never found
it), ``contextSwitches`` is reported by the Python version too, and ``vmID``
is parsed by components instead of fixed string offsets.
"""

import itertools
import os
import time

__all__ = ["Inspector"]

VERSION = "0.5-faaset"
CONTAINER_ID_FILE = "container-id"

# Epoch ms at which this module was first imported in this process.
_IMPORT_TIME_MS = int(time.time() * 1000)
_invocation_counter = itertools.count(1)
_process_uuid = None      # fallback container id when the temp folder is unusable
_process_uuid_used = False

_CPU_FIELDS = ("cpuUser", "cpuNice", "cpuKernel", "cpuIdle", "cpuIOWait", "cpuIrq",
               "cpuSoftIrq", "cpuSteal", "cpuGuest", "cpuGuestNice")


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


def _ticks_to_ms(ticks, clk):
    if 1000 % clk == 0:
        return ticks * (1000 // clk)
    return round(ticks * 1000 / clk, 3)


def _read_proc_stat():
    """{attribute: value} from /proc/stat: the cpu times in ms, bootTime, contextSwitches."""
    text = _read_text("/proc/stat")
    if text is None:
        return {}
    values = {}
    clk = None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        key = parts[0]
        try:
            if key == "cpu":
                clk = clk or _clock_ticks()
                for name, raw in zip(_CPU_FIELDS, parts[1:]):
                    values[name] = _ticks_to_ms(int(raw), clk)
            elif key == "btime" and len(parts) > 1:
                values["bootTime"] = int(parts[1])
            elif key == "ctxt" and len(parts) > 1:
                values["contextSwitches"] = int(parts[1])
        except ValueError:
            continue
    return values


def _read_vmstat():
    """{pageFaults, majorPageFaults} from /proc/vmstat."""
    text = _read_text("/proc/vmstat")
    if text is None:
        return {}
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
    """The cgroup memory limit in MB, or None when there is none (or it is unreadable)."""
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


def _int_or_text(value):
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value)
    return value or None


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
            "functionMemory": _int_or_text(get("FAASET_FUNCTION_MEMORY")),
            "functionRegion": "local",
        }
    if get("AWS_LAMBDA_LOG_STREAM_NAME"):
        return "AWS Lambda", {
            "containerID": get("AWS_LAMBDA_LOG_STREAM_NAME"),
            "functionName": get("AWS_LAMBDA_FUNCTION_NAME"),
            "functionMemory": _int_or_text(get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")),
            "functionRegion": get("AWS_REGION") or get("AWS_DEFAULT_REGION"),
        }
    if get("K_SERVICE") or get("FUNCTION_TARGET") or get("X_GOOGLE_FUNCTION_NAME"):
        return "Google Cloud Functions", {
            "containerID": _hostname(),
            "functionName": get("K_SERVICE") or get("X_GOOGLE_FUNCTION_NAME")
            or get("FUNCTION_NAME") or get("FUNCTION_TARGET"),
            "functionMemory": _int_or_text(get("X_GOOGLE_FUNCTION_MEMORY_MB")
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
            "functionMemory": _int_or_text(get("WEBSITE_MEMORY_LIMIT_MB")),
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


def _safe(delta=False):
    """Time a public method into the framework totals and swallow its errors."""
    def wrap(method):
        def timed(self, *args, **kwargs):
            outermost = self._depth == 0
            began = time.perf_counter() if outermost else 0.0
            self._depth += 1
            try:
                return method(self, *args, **kwargs)
            except Exception:
                return None
            finally:
                self._depth -= 1
                if outermost:
                    spent = time.perf_counter() - began
                    if delta:
                        self._framework_deltas += spent
                    else:
                        self._framework += spent
        timed.__name__ = method.__name__
        timed.__qualname__ = method.__qualname__
        timed.__doc__ = method.__doc__
        return timed
    return wrap


class Inspector:
    """Collects SAAF attributes about one function invocation; see the module docstring."""

    def __init__(self):
        self._began = time.perf_counter()
        self._start_ms = int(time.time() * 1000)
        self._depth = 0
        self._framework = 0.0
        self._framework_deltas = 0.0
        self._attributes = {
            "version": VERSION,
            "lang": "python",
            "startTime": self._start_ms,
            "invocations": next(_invocation_counter),
            "initializationTime": _IMPORT_TIME_MS,
        }
        try:
            self._cpu_base = _read_proc_stat()
        except Exception:
            self._cpu_base = {}
        try:
            self._memory_base = _read_vmstat()
        except Exception:
            self._memory_base = {}
        self._framework += time.perf_counter() - self._began

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
            self._attributes[key] = int(time.time() * 1000) - since
        except TypeError:
            self._attributes[key] = int(time.time() * 1000) - self._start_ms

    def _put(self, values):
        for key, value in values.items():
            if value is not None:
                self._attributes[key] = value

    # -- inspections --------------------------------------------------------

    @_safe()
    def inspectContainer(self):
        """uuid and newcontainer, from the container id file."""
        container_uuid, new = _container_id()
        self._attributes["uuid"] = container_uuid
        self._attributes["newcontainer"] = new

    @_safe()
    def inspectCPUInfo(self):
        """cpuType, cpuModel, cpuCores, architecture."""
        self._attributes["architecture"] = _architecture(_machine())
        text = _read_text("/proc/cpuinfo")
        if text is None:
            return
        first = {}
        cores = 0
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if not sep:
                continue
            key = key.strip()
            if key == "processor":
                cores += 1
            if key not in first:
                first[key] = value.strip()
        cpu_type = first.get("model name") or first.get("Processor") or first.get("cpu")
        if not cpu_type and "CPU implementer" in first:
            cpu_type = "implementer %s part %s" % (first.get("CPU implementer"),
                                                   first.get("CPU part", "?"))
        cpu_model = first.get("model") or first.get("CPU part") or first.get("cpu model")
        self._put({"cpuType": cpu_type, "cpuModel": cpu_model})
        if cores:
            self._attributes["cpuCores"] = cores

    @_safe()
    def inspectCPU(self):
        """CPU times (ms), bootTime and contextSwitches from /proc/stat."""
        values = _read_proc_stat()
        self._put(values)
        if values:
            self._cpu_base = values

    @_safe(delta=True)
    def inspectCPUDelta(self):
        """The change of each inspectCPU counter since inspectCPU (or construction)."""
        now = _read_proc_stat()
        for key, value in now.items():
            if key != "bootTime" and key in self._cpu_base:
                delta = value - self._cpu_base[key]
                self._attributes[key + "Delta"] = round(delta, 3) if isinstance(delta, float) else delta

    @_safe()
    def inspectMemory(self):
        """totalMemory, freeMemory (kB), pageFaults, majorPageFaults."""
        self._put(_read_meminfo())
        values = _read_vmstat()
        self._put(values)
        if values:
            self._memory_base = values

    @_safe(delta=True)
    def inspectMemoryDelta(self):
        """pageFaultsDelta, majorPageFaultsDelta since inspectMemory (or construction)."""
        now = _read_vmstat()
        for key, value in now.items():
            if key in self._memory_base:
                self._attributes[key + "Delta"] = value - self._memory_base[key]

    @_safe()
    def inspectPlatform(self):
        """platform, containerID, functionName, functionMemory, functionRegion, vmID."""
        name, values = _platform_attributes(os.environ)
        self._attributes["platform"] = name
        if values.get("functionMemory") is None and not name.startswith("FaaSET"):
            values["functionMemory"] = _cgroup_memory_mb()
        values["vmID"] = _vm_id()
        self._put(values)

    @_safe()
    def inspectLinux(self):
        """linuxVersion: the kernel release."""
        try:
            release = os.uname().release
        except AttributeError:
            import platform
            release = platform.release()
        if release:
            self._attributes["linuxVersion"] = release

    @_safe()
    def inspectAll(self):
        """Every non-delta inspection."""
        self.inspectContainer()
        self.inspectPlatform()
        self.inspectLinux()
        self.inspectCPUInfo()
        self.inspectCPU()
        self.inspectMemory()

    @_safe(delta=True)
    def inspectAllDeltas(self):
        """inspectCPUDelta and inspectMemoryDelta."""
        self.inspectCPUDelta()
        self.inspectMemoryDelta()

    # -- the end --------------------------------------------------------------

    def finish(self):
        """Add the timers and return the attributes dict."""
        elapsed = (time.perf_counter() - self._began) * 1000
        end_ms = int(time.time() * 1000)
        framework = self._framework * 1000
        framework_deltas = self._framework_deltas * 1000
        attributes = self._attributes
        attributes["frameworkRuntime"] = round(framework, 3)
        attributes["frameworkRuntimeDeltas"] = round(framework_deltas, 3)
        attributes["userRuntime"] = round(max(0.0, elapsed - framework - framework_deltas), 3)
        attributes["endTime"] = end_ms
        attributes["runtime"] = end_ms - self._start_ms
        return attributes
