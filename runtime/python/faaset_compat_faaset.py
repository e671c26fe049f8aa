# Today's FaaSET (SAAF's juypter_template/FaaSET.py, v3) as `import FaaSET`,
# made of the kernel's own machinery (faaset_library serves it under that
# name; FaaSET's deploy scripts, platform folders and FAASET.json files are
# not used).
#
# - @FaaSET.cloud_function(platform="aws", config={...}, deploy=True,
#   force_deploy=False): a `define` upcall on the kernel's platform for
#   FaaSET's platform name (faaset_compat.platform: "aws", "aws_docker_arm",
#   "google_gen2", FaaSET2's "AWS Docker", ...) with the config mapped to
#   options (faaset_compat.options). deploy=False links to the function
#   already deployed under that name; force_deploy deploys even unchanged.
#   As in FaaSET, the def alone is deployed (its imports go inside it).
#   Calling the function runs it on its platform as FaaSET.test(quiet=True)
#   does; calling it with None only makes sure it is deployed.
# - test(function, payload, quiet, outPath, tags, platform): one call
#   (`invoke` upcall); the answer gets FaaSET's `roundTripTime` (ms, to
#   0.01), `payload`, `latency` (round trip less the whole ms of runtime)
#   and the tags, is printed unless quiet, and is written where FaaSET
#   writes it, ./functions/NAME/experiments/OUTPATH/UUID.json (outPath=None:
#   not written), which FaaSRunner.load reads.
# - deploy, reconfigure, duplicate, clear: FaaSET's management calls, kept
#   per function in this kernel. A duplicate (`aws-big`) is, as FaaSET's
#   copied platform folder is, a deployment of its own: a second kernel
#   function, NAME_aws_big, on the source's platform with a copy of its
#   config, deployed by duplicate() and changed only by what names the
#   duplicate (reconfigure, deploy, test with platform="aws-big"); region
#   and profile stay `%platform` settings (faaset_compat notes it). As in
#   FaaSET, reconfigure(platform=P) makes P the function's own platform, so
#   calling the function (and FaaSRunner) then reach P's deployment. clear
#   forgets a platform's config and FaaSET's folder for it; the deployed
#   function stays (`%delete NAME PLATFORM`, or `%delete NAME_aws_big` for a
#   duplicate, deletes it).
# - FaaSET.NAME(payload): a function deployed from this folder before
#   (kernel state in .faaset/state/), called without defining it again.
import importlib.machinery
import json
import os
import re
import shutil
import uuid

import faaset_compat
import faaset_host

STATE_FOLDER = os.path.join(".faaset", "state")
_functions = {}  # name -> {"def": the def, "platform": FaaSET platform name, "configs": {platform: config},
#                   "copies": {duplicate's platform name: its own CloudFunction}}
_aliases = {}    # (name, duplicate's platform name) -> the FaaSET platform it was copied from


class FaaSETFunction(faaset_host.CloudFunction):
    """A cloud function called as FaaSET calls it: fn(payload) is
    FaaSET.test(fn, payload, quiet=True); fn(None) does nothing more than
    the definition did (deploy)."""

    def __call__(self, request=None, context=None):
        if request is None:
            return None
        return test(self, request, quiet=True)


def _name(function):
    name = function if isinstance(function, str) else getattr(function, "name", getattr(function, "__name__", None))
    if not isinstance(name, str) or not name:
        raise TypeError("FaaSET takes a cloud function or its name, not %r" % (function,))
    return name


def _entry(function):
    name = _name(function)
    if name not in _functions:
        raise NameError("FaaSET: %s was not defined with @FaaSET.cloud_function in this kernel" % name)
    return name, _functions[name]


def _base_platform(name, platform):
    """The FaaSET platform behind PLATFORM (a duplicate's source, or itself)."""
    normal = faaset_compat.platform_name(platform)
    return _aliases.get((name, normal), normal)


def _copy_name(name, duplicate_name):
    """The kernel's name for NAME's duplicate DUPLICATE_NAME ("aws-big" -> NAME_aws_big)."""
    return (name + "_" + (re.sub(r"[^A-Za-z0-9]+", "_", duplicate_name).strip("_") or "copy"))[:64]


def _define(function, platform, config, deploy=True, force=False):
    name = function.__name__
    normal = faaset_compat.platform_name(platform)
    base = _base_platform(name, normal)
    kernel_platform, values = faaset_compat.platform(base, config)
    values.update(faaset_compat.options(config, kernel_platform))
    values["platforms"] = [kernel_platform]
    copy = (name, normal) in _aliases
    if copy:
        values["name"] = _copy_name(name, normal)
    if not deploy:
        values["deploy"] = False
    if force:
        values["force"] = True
    bound = faaset_host._define_decorated(function, values, cls=FaaSETFunction, whole_cell=False)
    entry = _functions.setdefault(name if copy else bound.name, {"configs": {}, "copies": {}})
    entry.update({"def": function, "platform": normal})
    entry["configs"][normal] = dict(config)
    if copy:
        entry["copies"][normal] = bound
        return bound
    namespace = faaset_compat._main_namespace()
    if isinstance(namespace.get(bound.name), faaset_host.CloudFunction):
        namespace[bound.name] = bound  # the notebook's name follows the latest definition
    return bound


def cloud_function(platform="aws", config=None, deploy=True, force_deploy=False):
    """FaaSET's decorator: deploys `def NAME(request, context)` to PLATFORM
    (FaaSET's names) with CONFIG (role, memory, timeout, ...)."""
    config = dict(config or {})

    def decorate(function):
        return _define(function, platform, config, deploy, force_deploy)

    return decorate


def deploy(name, platform):
    """Deploys the function again on PLATFORM, changed or not."""
    name, entry = _entry(name)
    config = entry["configs"].get(faaset_compat.platform_name(platform), entry["configs"].get(entry["platform"], {}))
    _define(entry["def"], platform, config, True, True)


def reconfigure(function, override_config=None, platform=None):
    """Applies OVERRIDE_CONFIG over the function's config on PLATFORM (default:
    its current one); without a config only the function's platform changes."""
    name, entry = _entry(function)
    normal = faaset_compat.platform_name(platform) if platform is not None else entry["platform"]
    if override_config is None:
        entry["platform"] = normal
        return None
    config = dict(entry["configs"].get(normal) or entry["configs"].get(_base_platform(name, normal)) or {})
    config.update(override_config)
    _define(entry["def"], normal, config)
    return None


def duplicate(function, source_platform, new_name):
    """NEW_NAME becomes a platform of FUNCTION's own, as FaaSET's copy of
    SOURCE_PLATFORM's folder is: the same platform with a copy of its config,
    deployed now as a second function that only NEW_NAME changes."""
    name, entry = _entry(function)
    source = faaset_compat.platform_name(source_platform)
    normal = faaset_compat.platform_name(new_name)
    if normal == source:
        raise ValueError("FaaSET.duplicate: the duplicate needs a new name, not its source's (%r)" % new_name)
    config = dict(entry["configs"].get(source) or entry["configs"].get(_base_platform(name, source)) or {})
    own_platform = entry["platform"]
    _aliases[(name, normal)] = _base_platform(name, source)
    try:
        copy = _define(entry["def"], normal, config)
    except BaseException:
        _aliases.pop((name, normal), None)
        raise
    finally:
        entry["platform"] = own_platform  # duplicating does not move the function, as in FaaSET
    kernel_platform = faaset_compat.platform(_aliases[(name, normal)], check_image=False)[0]
    print("FaaSET.duplicate: %r is %s's copy on %s, deployed as its own function %s (region and profile stay "
          "`%%platform %s` settings)" % (new_name, name, kernel_platform, copy.name, kernel_platform))


def _call_target(function, platform=None):
    """(the CloudFunction calls of FUNCTION on FaaSET's PLATFORM go to, the
    kernel's platform or None): a duplicate's own function, else FUNCTION's,
    PLATFORM defaulting to the function's own, as in FaaSET."""
    bound = _callable(function)
    entry = _functions.get(bound.name) or {}
    chosen = faaset_compat.platform_name(platform) if platform is not None else entry.get("platform")
    target = (entry.get("copies") or {}).get(chosen, bound)
    if platform is None:
        return target, None
    return target, faaset_compat.platform(_base_platform(bound.name, platform), check_image=False)[0]


def clear(function, platform):
    """Forgets FUNCTION's config for PLATFORM and FaaSET's folder for it; the
    deployed function stays."""
    name = _name(function)
    normal = faaset_compat.platform_name(platform)
    copy = None
    if name in _functions:
        _functions[name]["configs"].pop(normal, None)
        copy = _functions[name]["copies"].pop(normal, None)
    _aliases.pop((name, normal), None)
    folder = os.path.join("functions", name, str(platform))
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    print("FaaSET.clear: forgot %s's settings for %s (the deployed function stays: `%%delete %s` deletes it)"
          % (name, platform, copy.name if copy is not None else name))


def _callable(function):
    if isinstance(function, faaset_host.CloudFunction):
        return function
    name = _name(function)
    bound = faaset_compat._main_namespace().get(name)
    if isinstance(bound, faaset_host.CloudFunction):
        return bound
    return _deployed(name) or _fail_unknown(name)


def _fail_unknown(name):
    raise NameError("FaaSET: no cloud function %s here (define it with @FaaSET.cloud_function)" % name)


def test(function, payload, quiet=False, outPath="default", tags=None, platform=None):
    """Calls FUNCTION with PAYLOAD on PLATFORM (default: its own) and returns
    the answer with FaaSET's roundTripTime, payload, latency and TAGS."""
    bound = _callable(function)
    target, kernel_platform = _call_target(bound, platform)
    answer = target.invoke(payload, platform=kernel_platform)
    result = dict(answer) if isinstance(answer, dict) else {"response": answer}
    round_trip = result.get("roundTripTime")
    if isinstance(round_trip, (int, float)):
        result["roundTripTime"] = round(round_trip, 2)
    result["payload"] = payload
    runtime = result.get("runtime")
    if isinstance(round_trip, (int, float)) and isinstance(runtime, (int, float)):
        result["latency"] = round(round_trip - int(runtime), 2)
    result.update(tags or {})
    if not quiet:
        print(json.dumps(result, indent=4, default=str))
    if outPath is not None:
        folder = os.path.join("functions", bound.name, "experiments", str(outPath))
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "%s.json" % uuid.uuid4()), "w", encoding="utf-8") as file:
            json.dump(result, file, indent=4, default=str)
    return result


def _deployed_platforms(name):
    """The platforms whose kernel state (in this folder) has NAME deployed."""
    try:
        platforms = sorted(os.listdir(STATE_FOLDER))
    except OSError:
        return []
    return [p for p in platforms if os.path.isfile(os.path.join(STATE_FOLDER, p, name + ".json"))]


def _deployed(name):
    """A callable for NAME deployed from this folder before, or None."""
    platforms = _deployed_platforms(name)
    if not platforms:
        return None
    return FaaSETFunction(name, platforms, "cloud", name, "", {})


def __getattr__(name):
    """FaaSET.NAME: a function deployed from this folder in an earlier kernel."""
    found = None if name.startswith("_") else _deployed(name)
    if found is None:
        raise AttributeError("module 'FaaSET' has no attribute %r (and no function %s was deployed from this "
                             "folder)" % (name, name))
    return found


def _banner():
    shadowed = importlib.machinery.PathFinder.find_spec("FaaSET")
    names = set()
    for platform in (os.listdir(STATE_FOLDER) if os.path.isdir(STATE_FOLDER) else ()):
        folder = os.path.join(STATE_FOLDER, platform)
        if os.path.isdir(folder):
            names.update(f[:-5] for f in os.listdir(folder) if f.endswith(".json"))
    print("FaaSET on the faaset kernel: functions deploy and run through the kernel (platforms local, aws, gcf)%s"
          % ("; %s is not used" % shadowed.origin if shadowed is not None and shadowed.origin else ""))
    if names:
        print("Deployed from this folder: %s" % ", ".join(sorted(names)))


_banner()
