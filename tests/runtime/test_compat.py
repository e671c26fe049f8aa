"""Tests for runtime/python/faaset_compat.py alone: FaaSET's platform names
and config keys become the kernel's platforms and options (what cannot be
used is noted once, or refused with what to do instead), and references
become source packaged before a function's own.

    /usr/bin/python3 -m pytest -q tests/runtime/test_compat.py
"""
import pathlib
import sys
import textwrap

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "runtime" / "python"))

import faaset_compat as compat  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_notes():
    compat._noted.clear()


@pytest.mark.parametrize("name, expected", [
    ("aws", ("aws", {})), ("AWS", ("aws", {})), ("aws_function_url", ("aws", {})), ("Local", ("local", {})),
    ("google_gen2", ("gcf", {})), ("Google Gen1", ("gcf", {})), ("ibm", ("ibm", {})), ("azure", ("azure", {})),
])
def test_platform_names(name, expected):
    assert compat.platform(name) == expected


def test_docker_platforms_deploy_the_users_image_or_have_the_kernel_build_one():
    assert compat.platform("AWS Docker", {"image": "1.dkr.ecr.us-east-1.amazonaws.com/r:t"}) == ("aws", {})
    assert compat.platform("aws_docker_arm", {"image": "u"}) == ("aws", {"arch": "arm64"})
    assert compat.platform("aws_docker", check_image=False) == ("aws", {})
    assert compat.platform("AWS Docker") == ("aws", {"containerize": True})
    assert compat.platform("aws_docker_arm") == ("aws", {"arch": "arm64", "containerize": True})
    with pytest.raises(compat.CompatibilityError, match="unknown platform 'mars'"):
        compat.platform("mars")


def test_config_keys_become_options(capsys):
    config = {"lambdaRoleARN": "arn:aws:iam::1:role/r", "memory": "512", "timeout": 60, "architectures": "arm64",
              "lambdaRuntime": "python3.11", "lambdaEnvironment": "Variables={A=1,B=two}", "env": {"C": 3},
              "lambdaSubnets": "", "function_name": "f", "image": "u"}
    assert compat.options(config, "aws") == {"role": "arn:aws:iam::1:role/r", "memory": 512, "timeout": 60,
                                             "arch": "arm64", "runtime": "python3.11",
                                             "env": {"A": "1", "B": "two", "C": "3"}, "image": "u"}
    assert capsys.readouterr().out == ""
    assert compat.options({"runtime": "python312"}, "gcf") == {"runtime": "python3.12"}
    assert compat.options({"runtime": "python:3.9", "timeout": 300000}, "ibm") == {"runtime": "python3.9",
                                                                                  "timeout": 300}


def test_keys_without_a_meaning_are_noted_once(capsys):
    assert compat.options({"region": "us-east-2", "profile": "p", "handler": "x", "runtime": "nodejs18"}, "aws") == {}
    out = capsys.readouterr().out
    assert "'region' is a platform setting here" in out and "`%platform aws region=us-east-2`" in out
    assert "`%platform aws profile=p`" in out and "'handler' has no meaning" in out
    assert "'nodejs18' is not a Python runtime" in out
    compat.options({"region": "us-east-2"}, "aws")
    assert capsys.readouterr().out == ""
    with pytest.raises(compat.CompatibilityError, match="memory must be a number"):
        compat.options({"memory": "lots"}, "aws")
    with pytest.raises(compat.CompatibilityError, match="Variables="):
        compat.options({"env": "A"}, "aws")


def test_references_package_sources(monkeypatch):
    namespace = {}
    exec(compile(textwrap.dedent('''
        def helper(x):
            return x * 2
        '''), "<cell helper>", "exec"), namespace)

    class Deployed:  # what a cloud function carries: its name and its deployed source
        name = "greeter"
        source = "import os\ndef greeter(request, context):\n    return os.sep\n"

        def __call__(self, request=None, context=None):
            pass

    monkeypatch.setattr(compat, "_main_namespace", lambda: {"helper": namespace["helper"], "greeter": Deployed()})
    import linecache
    linecache.cache["<cell helper>"] = (0, None, ["\n", "def helper(x):\n", "    return x * 2\n"], "<cell helper>")
    source = compat.references_source([Deployed(), "helper", "greeter"], "relay")
    assert source == ("# greeter, packaged by references=\nimport os\ndef greeter(request, context):\n"
                      "    return os.sep\n\n# helper, packaged by references=\ndef helper(x):\n    return x * 2\n\n")
    assert compat.references_source(None) == ""
    with pytest.raises(compat.CompatibilityError, match="'nowhere' is not defined"):
        compat.references_source(["nowhere"])
    with pytest.raises(compat.CompatibilityError, match="functions or their names"):
        compat.references_source([42])
