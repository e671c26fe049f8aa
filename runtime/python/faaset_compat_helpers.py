# The FaaSET paper's notebook API (HotCloudPerf 2022, SAAF's
# jupyter_workspace): what `from platforms.jupyter.interactive_helpers import *`
# gives a notebook, made of the kernel's own machinery (faaset_library serves
# it under that name).
#
# - cloud_function(platforms, memory, config, references, requirements,
#   containerize, deploy, runMode): the built-in decorator (a `define`
#   upcall) with the config set by setGlobalConfig() under the function's
#   own, and the paper's run modes: CLOUD (default) calls run on the
#   platform, LOCAL calls run the def in the notebook while the function is
#   still deployed (test() reaches it), NONE calls do nothing. As in the
#   paper, the def alone is deployed (its imports go inside it), with the
#   functions it references packaged before it. After
#   setDeploy(False) (setGlobalDeploy) functions are defined without being
#   deployed and every call runs in the notebook.
# - test(function, payload, config, quiet, skipLocal): runs the def in the
#   notebook, then on each of its platforms (`invoke` upcalls); prints the
#   answers unless quiet; returns the answer (a dict of them, by platform,
#   for a function on several platforms).
# - run_experiment(function, experiment, config, platform): the kernel's
#   experiment (FaaS Runner's keys); returns a pandas DataFrame of the runs
#   when pandas is installed (the paper returned FaaS Runner's raw results
#   as one), else the rows.
# - Platform and RunMode are the kernel's; the paper's star import also gave
#   cells pandas as pd and numpy as np, json, os, time and math, and so does
#   this module (pandas and numpy when installed).
import json
import math
import os
import time

import faaset_compat
import faaset_host
from faaset_host import Platform, RunMode

try:
    import numpy as np
    import pandas as pd
except ImportError:  # the names the paper's notebooks use stay undefined, as without the packages
    pass

__all__ = ["Platform", "RunMode", "cloud_function", "setDeploy", "setGlobalDeploy", "setGlobalConfig", "test",
           "run_experiment", "json", "math", "os", "time"] + [name for name in ("pd", "np") if name in globals()]

_deploy = True
_global_config = {}


class PaperFunction(faaset_host.CloudFunction):
    """A cloud function with the paper's run mode: calls go to the platform
    (cloud), run the def in the notebook (local) or do nothing (none)."""

    call_mode = "cloud"

    def __call__(self, request=None, context=None):
        if self.call_mode == "none":
            return None
        if self.call_mode == "local":
            return self._call_here(request, context)
        return faaset_host.CloudFunction.__call__(self, request, context)


def setDeploy(doDeploy):
    """Whether functions defined from now on are deployed (True) or only
    kept in the notebook, every call running there (False)."""
    global _deploy
    _deploy = bool(doDeploy)


setGlobalDeploy = setDeploy


def setGlobalConfig(config):
    """The config every cloud_function starts from (its own config wins)."""
    global _global_config
    if not isinstance(config, dict):
        raise TypeError("setGlobalConfig takes a dict of settings, not %s" % type(config).__name__)
    _global_config = dict(config)


def cloud_function(platforms=None, memory=None, config=None, references=None, requirements=None,
                   containerize=False, deploy=True, runMode=None, **options):
    """The paper's decorator: deploys `def NAME(request, context)` to PLATFORMS
    (Platform members) with MEMORY MB; CONFIG holds FaaSET's settings
    (lambdaRoleARN, timeout, ...), REFERENCES the functions it calls,
    packaged with it. runMode: RunMode.CLOUD, LOCAL or NONE."""
    if config is not None and not isinstance(config, dict):
        raise TypeError("cloud_function's config must be a dict of FaaSET settings, not %s" % type(config).__name__)
    merged = dict(_global_config)
    merged.update(config or {})
    mode = str(getattr(runMode, "value", runMode) or "cloud").lower()
    if mode not in ("cloud", "local", "none"):
        raise ValueError("runMode must be RunMode.CLOUD, RunMode.LOCAL or RunMode.NONE, not %r" % (runMode,))
    run = "cloud" if _deploy else "local"
    values = faaset_host._decorator_options(platforms, memory, merged or None, requirements, containerize, deploy,
                                            run, options)

    def decorate(function):
        bound = faaset_host._define_decorated(function, values, references=references, cls=PaperFunction,
                                              whole_cell=False)
        bound.call_mode = mode if run == "cloud" else "local"
        return bound

    return decorate


def _cloud_function(function):
    if isinstance(function, str):
        function = faaset_compat._main_namespace().get(function, function)
    if not isinstance(function, faaset_host.CloudFunction):
        raise TypeError("test() takes a function made by @cloud_function (or its name), not %r" % (function,))
    return function


def test(function, payload=None, config=None, quiet=False, skipLocal=False):
    """Runs FUNCTION with PAYLOAD in the notebook (unless skipLocal), then on
    each of its platforms; returns the platform's answer (by platform when
    there are several). CONFIG is the paper's and not needed here."""
    function = _cloud_function(function)
    local = None
    if not skipLocal or function.run == "local":
        if not quiet:
            print("Running local test...", end=" ")
        local = function._call_here(payload, None)
        if not quiet:
            print("Success! Testing on cloud...")
    if function.run == "local":
        print("%s is not deployed (setDeploy(False)): that was its only run" % function.name)
        return local
    answers = {}
    for platform in function.platforms:
        answers[platform] = function.invoke(payload, platform=platform)
        if not quiet:
            print(json.dumps(answers[platform], indent=4, default=str))
    return answers[function.platforms[0]] if len(answers) == 1 else answers


def run_experiment(function, experiment, config=None, platform=None, platform_order=None):
    """Runs a FaaS Runner EXPERIMENT (a dict) against FUNCTION on PLATFORM (a
    Platform member, or a list of them: the same runs on each, at once or
    with platform_order="sequential" one after another; default: every
    platform it is deployed to); returns its runs as a pandas DataFrame
    (the rows when pandas is not installed). CONFIG is not needed."""
    chosen = platform if isinstance(platform, (list, tuple)) else [platform] if platform is not None else None
    kernel_platforms = None if chosen is None else \
        [faaset_compat.platform(one, check_image=False)[0] for one in chosen]
    rows = faaset_host.run_experiment(function, experiment, platforms=kernel_platforms, platform_order=platform_order)
    try:
        return rows.df
    except ImportError:
        return rows
