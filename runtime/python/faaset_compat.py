# FaaSET's vocabulary in the kernel's terms: what the compatibility modules
# (the paper's interactive_helpers, today's FaaSET, FaaSRunner, FaaSETUI) and
# the built-in @cloud_function share.
#
# - platform(value): a FaaSET platform name ("aws", "aws_docker_arm",
#   "google_gen2", FaaSET2's "AWS Docker", a Platform member) becomes the
#   kernel's platform plus the options it implies (arch=arm64 for the _arm
#   images). Docker-image platforms deploy an image: the user's own (config
#   "image"), else one the kernel builds and pushes (containerize=True; the
#   registry from config "registry" or `%platform aws registry=`).
# - options(config, platform): a FaaSET config dict (today's keys `role`,
#   `memory`, `timeout`, `architectures`, `runtime`, `env`, the paper's
#   `lambdaRoleARN`, `lambdaRuntime`, `lambdaEnvironment`, ...) becomes
#   cloud function options. A key the kernel has no use for (a platform
#   setting such as `region` or `profile`, a build detail such as `handler`
#   or `subnets`) is reported once per kernel in a note that says where the
#   setting lives here, never silently dropped; empty values say nothing.
# - references_source(references): the source of the functions a cloud
#   function references (cloud functions, plain functions, or their names in
#   the notebook), to be packaged before its own, so calling them inside it
#   works on the platform: each referenced cloud function brings the source
#   it was deployed with (its cell's imports and helpers, and its own
#   references), a plain function its def.
import __main__
import inspect
import re
import sys
import textwrap

# FaaSET's names (lower case, spaces and dashes as _) -> (kernel platform, options implied, deploys an image)
PLATFORM_NAMES = {
    "local": ("local", {}, False),
    "aws": ("aws", {}, False),
    "aws_lambda": ("aws", {}, False),
    "lambda": ("aws", {}, False),
    "aws_boto3": ("aws", {}, False),
    "aws_function_url": ("aws", {}, False),
    "aws_api_gateway": ("aws", {}, False),
    "aws_docker": ("aws", {}, True),
    "aws_docker_debian": ("aws", {}, True),
    "aws_docker_arm": ("aws", {"arch": "arm64"}, True),
    "aws_docker_debian_arm": ("aws", {"arch": "arm64"}, True),
    "gcf": ("gcf", {}, False),
    "google": ("gcf", {}, False),
    "google_gen1": ("gcf", {}, False),
    "google_gen2": ("gcf", {}, False),
    "google_cloud_functions": ("gcf", {}, False),
    "ibm": ("ibm", {}, False),
    "ibm_cloud_functions": ("ibm", {}, False),
    "openwhisk": ("openwhisk", {}, False),
    "azure": ("azure", {}, False),
    "azure_functions": ("azure", {}, False),
    "openfaas": ("openfaas", {}, False),
}

# config key -> cloud function option
OPTION_KEYS = {
    "memory": "memory", "timeout": "timeout", "role": "role", "lambdaRoleARN": "role",
    "architectures": "arch", "architecture": "arch", "arch": "arch",
    "runtime": "runtime", "lambdaRuntime": "runtime", "googleRuntime": "runtime", "ibmRuntime": "runtime",
    "env": "env", "lambdaEnvironment": "env", "environment": "env",
    "image": "image", "image_uri": "image", "imageUri": "image", "image_base": "image_base",
    "registry": "registry", "containerize": "containerize", "max_instances": "max_instances",
}
# config keys that are `%platform NAME key=value` settings here (one value for every function of the platform)
PLATFORM_SETTINGS = {"region": "region", "profile": "profile", "aws_profile": "profile", "project": "project",
                     "endpoint": "endpoint"}
# config keys the kernel sets itself or that only FaaSET's own scripts read
SELF_SET = {"function_name", "functionName", "test", "README", "version", "faaset_parent_platform", "handlerFile"}

_noted = set()  # (platform, key) already reported in this kernel


class CompatibilityError(ValueError):
    """A FaaSET setting the kernel cannot honour; the message says what to use instead."""


def platform_name(value):
    """The normalised FaaSET name of VALUE (a string or a Platform member)."""
    text = getattr(value, "value", value)
    if not isinstance(text, str) or not text.strip():
        raise CompatibilityError("a platform is a name such as 'aws' or 'local', not %r" % (value,))
    return re.sub(r"[\s\-]+", "_", text.strip()).lower()


def platform(value, config=None, check_image=True):
    """(kernel platform, options) for FaaSET's platform VALUE; CONFIG is the
    function's FaaSET config (an image platform without its `image` gets
    containerize=True: the kernel builds the image; not with CHECK_IMAGE
    false: a call only needs the platform)."""
    name = platform_name(value)
    if name not in PLATFORM_NAMES:
        raise CompatibilityError(
            "unknown platform %r; FaaSET's names here: %s" % (getattr(value, "value", value),
                                                             ", ".join(sorted(PLATFORM_NAMES))))
    kernel_name, implied, deploys_image = PLATFORM_NAMES[name]
    config = config or {}
    options = dict(implied)
    if check_image and deploys_image and not any(config.get(key) for key in ("image", "image_uri", "imageUri")):
        options["containerize"] = True
    return kernel_name, options


def _note(platform_, key, text):
    if (platform_, key) not in _noted:
        _noted.add((platform_, key))
        print("FaaSET config: %s" % text)


def _runtime_option(value):
    """python3.12 from FaaSET's spellings (python3.12, python312, python:3.12), or None."""
    match = re.fullmatch(r"python:?3\.?(\d+)", str(value).strip())
    return "python3.%s" % match.group(1) if match else None


def _env_option(value):
    """A dict of variables from a dict or from the AWS CLI's `Variables={A=1,B=2}`."""
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    text = str(value).strip()
    match = re.fullmatch(r"Variables=\{(.*)\}", text, re.S)
    body = match.group(1) if match else text
    variables = {}
    for item in filter(None, (part.strip() for part in body.split(","))):
        key, equals, val = item.partition("=")
        if not equals:
            raise CompatibilityError("env %r: write it as Variables={KEY=VALUE,KEY2=VALUE2} or a dict" % (value,))
        variables[key.strip()] = val.strip()
    return variables


def _integer(key, value, divide=1):
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        raise CompatibilityError("config %s must be a number, not %r" % (key, value)) from None
    return max(1, number // divide) if divide > 1 else number


def options(config, platform_):
    """Cloud function options from the FaaSET CONFIG of a function on the
    kernel's PLATFORM_; keys without a meaning here are noted once."""
    result = {}
    for key, value in (config or {}).items():
        if value is None or value == "" or (key == "env" and value == "Variables={}"):
            continue
        if key in SELF_SET:
            continue
        option = OPTION_KEYS.get(key)
        if option == "memory":
            result["memory"] = _integer(key, value)
        elif option == "timeout":
            # OpenWhisk counts its timeout in ms (FaaSET's ibm default is 300000)
            result["timeout"] = _integer(key, value, 1000 if platform_ in ("ibm", "openwhisk") else 1)
        elif option == "runtime":
            runtime = _runtime_option(value)
            if runtime:
                result["runtime"] = runtime
            else:
                _note(platform_, key, "%s=%r is not a Python runtime the kernel deploys (python3.8 to python3.13); "
                      "the default python3.12 is used" % (key, value))
        elif option == "env":
            result.setdefault("env", {}).update(_env_option(value))
        elif option == "role":  # aws's; the other platforms have no execution role to give
            result["role"] = str(value)
        elif option == "arch":
            result["arch"] = "arm64" if "arm" in str(value).lower() else "x86_64"
        elif option is not None:
            result[option] = value
        elif key in PLATFORM_SETTINGS:
            _note(platform_, key, "%r is a platform setting here, one for all of %s's functions: run "
                  "`%%platform %s %s=%s` in a cell of its own; not applied per function"
                  % (key, platform_, platform_, PLATFORM_SETTINGS[key], value))
        else:
            _note(platform_, key, "%r has no meaning for the kernel's %s platform (it builds and deploys the "
                  "package itself); ignored" % (key, platform_))
    return result


def _main_namespace():
    return sys.modules.get("__main__", __main__).__dict__


def _function_source(function):
    """The def of a plain Python function, dedented, without its decorators."""
    try:
        lines, _ = inspect.getsourcelines(function)
    except (OSError, TypeError) as error:
        raise CompatibilityError("references: cannot find the source of %r (%s)" % (function, error)) from None
    source = textwrap.dedent("".join(lines))
    index = source.find("\ndef ") if source.startswith("@") else -1  # decorators end where the def starts
    return source[index + 1:] if index >= 0 else source


def references_source(references, own_name=None):
    """The source that packages REFERENCES (functions or names) before a
    function's own: one block per referenced function, each once."""
    if references is None:
        return ""
    if isinstance(references, (str, bytes)) or callable(references):
        references = [references]
    blocks, seen = [], set()
    namespace = _main_namespace()
    for reference in references:
        target = reference
        if isinstance(reference, str):
            if reference not in namespace:
                raise CompatibilityError("references: %r is not defined in the notebook" % reference)
            target = namespace[reference]
        name = getattr(target, "name", None) or getattr(target, "__name__", None)
        if not isinstance(name, str) or not callable(target):
            raise CompatibilityError("references take functions or their names, not %r" % (reference,))
        if name in seen or name == own_name:
            continue
        seen.add(name)
        source = getattr(target, "source", None)
        if not isinstance(source, str) or not source.strip():
            source = _function_source(target)
        blocks.append("# %s, packaged by references=\n%s" % (name, source if source.endswith("\n") else source + "\n"))
    return "\n".join(blocks) + ("\n" if blocks else "")

