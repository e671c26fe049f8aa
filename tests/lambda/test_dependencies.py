"""Functions with dependencies on the `aws` platform: the packages are
installed for Lambda (its Python version, x86_64 or arm64 manylinux
wheels), published once as a Lambda layer (faaset-deps-HASH) and attached
to the function, whose own zip stays the handler, SAAF and the code.

Against the stand-in, which runs the uploaded zip with its layers on the
path, the call imports the packages (the arm64 function gets the aarch64
wheel); against moto, Lambda's API shapes of PublishLayerVersion,
ListLayerVersions and Layers in the configuration. The wheels are made by
the test (tests/support/wheels.py) and found by pip through PIP_FIND_LINKS
with PIP_NO_INDEX: no package index is reached.
"""
import json
import pathlib
import sys
import urllib.request

import pytest
from conftest import aws_line, tool

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from wheels import make_wheel, wheelhouse  # noqa: E402

BODY = '''import greetlib
import native_probe


def {name}(request, context):
    return {{"message": greetlib.greet(request["name"]), "machine": native_probe.MACHINE{extra}}}'''


def deps_cell(name, options="", extra=""):
    return (f'%%cloud_function platforms=aws requirements="greetlib==1.0" {options}\n'
            + BODY.format(name=name, extra=extra))


def call(name):
    return (f'import json\nanswer = {name}({{"name": "Ann"}})\n'
            'print(json.dumps({k: v for k, v in answer.items() if k not in ("roundTripTime", "latency")}))')


def use_wheelhouse(workspace, tmp_path):
    wheelhouse(tmp_path / "wheels")
    log = tmp_path / "pip.log"
    workspace.env.update({"PIP_FIND_LINKS": str(tmp_path / "wheels"), "PIP_NO_INDEX": "1", "PIP_LOG": str(log),
                          "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return log


def pip_runs(log):
    return log.read_text().count("Using pip ") if log.exists() else 0


def stats(server):
    with urllib.request.urlopen(server.url + "/_standin/stats", timeout=10) as answer:
        return json.load(answer)


@pytest.fixture(scope="module")
def standin(logs_dir):
    from conftest import start_standin
    server = start_standin(logs_dir, "--pending-seconds", "0.2", "--update-seconds", "0.2")
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.deadline(240)
def test_layers_run_on_the_standin_per_architecture_and_are_published_once(aws_workspace, standin, tmp_path):
    workspace = aws_workspace.use(standin.url)
    log = use_wheelhouse(workspace, tmp_path)
    published = stats(standin).get("layers_published", 0)
    x86, x86_call, arm, arm_call, again = workspace.run(
        deps_cell("deps_x86"), call("deps_x86"), deps_cell("deps_arm", "architecture=arm64"), call("deps_arm"),
        deps_cell("deps_x86"))
    line = aws_line(x86)
    assert line["verb"] == "deployed" and line["note"] == "dependencies: installed greetlib 1.0, native_probe 2.0"
    assert x86_call.ok().json() == {"message": "Hello Ann", "machine": "x86_64"}
    assert aws_line(arm)["verb"] == "deployed"
    assert arm_call.ok().json() == {"message": "Hello Ann", "machine": "aarch64"}  # the arm64 target's wheel
    assert aws_line(again)["verb"] == "up to date"
    assert pip_runs(log) == 2  # one layer per architecture, and none for the unchanged cell
    assert stats(standin)["layers_published"] == published + 2

    layers = tool(standin.url, "layer-versions")
    function = tool(standin.url, "get", "deps_x86")
    attached = [layer["Arn"] for layer in function["Configuration"]["Layers"]]
    assert len(attached) == 1 and ":layer:faaset-deps-" in attached[0]
    assert attached[0] in sum(layers.values(), [])
    assert function["Configuration"]["CodeSize"] < 100_000  # the handler, SAAF and the code: no packages

    # a new kernel, a code-only change: no pip, no new layer version, the same layer attached
    changed, changed_call = workspace.run(deps_cell("deps_x86", extra=', "v": 2'), call("deps_x86"))
    line = aws_line(changed)
    assert line["verb"] == "updated code of" and line["note"].endswith("(cached)"), line.string
    assert changed_call.ok().json() == {"message": "Hello Ann", "machine": "x86_64", "v": 2}
    assert pip_runs(log) == 2
    assert stats(standin)["layers_published"] == published + 2
    assert tool(standin.url, "get", "deps_x86")["Configuration"]["Layers"][0]["Arn"] == attached[0]


def test_a_deleted_layer_is_installed_again_and_not_published_again(aws_workspace, standin, tmp_path):
    workspace = aws_workspace.use(standin.url)
    log = use_wheelhouse(workspace, tmp_path)
    published = stats(standin).get("layers_published", 0)
    # requirements of this test alone: a layer no other test published
    cell = deps_cell("deps_lost").replace('requirements="greetlib==1.0"',
                                          'requirements="greetlib==1.0 native_probe==2.0"')
    deployed, removed, unchanged = workspace.run(cell, 'import shutil\nshutil.rmtree(".faaset/deps")', cell)
    assert aws_line(deployed)["verb"] == "deployed"
    removed.ok()
    line = aws_line(unchanged)
    assert line["verb"] == "up to date", line.string
    assert line["note"] == ("dependencies: installed greetlib 1.0, native_probe 2.0 again (their layer was missing "
                            "from .faaset/deps)"), line.string
    assert pip_runs(log) == 2
    assert stats(standin)["layers_published"] == published + 1  # Lambda has it: not published again

    # a new kernel, a code change: the layer on disk again, so no pip, and the same Lambda layer attached
    attached = tool(standin.url, "get", "deps_lost")["Configuration"]["Layers"][0]["Arn"]
    changed_cell = cell.replace("native_probe.MACHINE}", 'native_probe.MACHINE, "v": 2}')
    changed, changed_call = workspace.run(changed_cell, call("deps_lost"))
    assert aws_line(changed)["verb"] == "updated code of" and aws_line(changed)["note"].endswith("(cached)")
    assert changed_call.ok().json() == {"message": "Hello Ann", "machine": "x86_64", "v": 2}
    assert pip_runs(log) == 2
    assert stats(standin)["layers_published"] == published + 1
    assert tool(standin.url, "get", "deps_lost")["Configuration"]["Layers"][0]["Arn"] == attached


def test_moto_takes_the_layer_and_its_attachment(aws_workspace, moto, tmp_path):
    workspace = aws_workspace.use(moto)
    use_wheelhouse(workspace, tmp_path)
    deployed, = workspace.run(deps_cell("deps_moto"))
    assert aws_line(deployed)["verb"] == "deployed"
    config = tool(moto, "get", "deps_moto")["Configuration"]
    layers = tool(moto, "layer-versions")
    ours = {name: arns for name, arns in layers.items() if name.startswith("faaset-deps-")}
    assert len(ours) == 1 and len(next(iter(ours.values()))) == 1, layers
    assert [layer["Arn"] for layer in config["Layers"]] == next(iter(ours.values()))

    changed, = workspace.run(deps_cell("deps_moto", extra=', "v": 2'))
    assert aws_line(changed)["verb"] == "updated code of"
    after = {name: arns for name, arns in tool(moto, "layer-versions").items() if name.startswith("faaset-deps-")}
    assert after == ours  # the kernel found the published version: nothing re-published


def test_a_missing_wheel_is_one_error_before_any_upload(aws_workspace, standin, tmp_path):
    workspace = aws_workspace.use(standin.url)
    use_wheelhouse(workspace, tmp_path)
    make_wheel(tmp_path / "wheels", "x86only", "1.0", {"x86only.py": "X = 1\n"}, tag="py3-none-manylinux2014_x86_64")
    requests = stats(standin)["requests"]
    cell, = workspace.run('%%cloud_function platforms=aws architecture=arm64 requirements="x86only==1.0"\n'
                          'def needs_x86(request, context):\n    import x86only\n    return x86only.X')
    error = cell.error
    assert error.ename == "DeployFailed"
    assert "no installable wheel of x86only==1.0 for aws (python3.12, arm64: manylinux aarch64 wheels)" \
        in error.evalue, error.evalue
    assert stats(standin)["requests"] == requests  # not even a GetFunction
    assert workspace.trace.ops("deploy") == []


@pytest.mark.deadline(240)
def test_dependencies_over_lambdas_size_limit_say_so_before_any_upload(aws_workspace, standin, tmp_path):
    workspace = aws_workspace.use(standin.url)
    use_wheelhouse(workspace, tmp_path)
    # 251 MB unpacked, a few hundred KB as a wheel
    make_wheel(tmp_path / "wheels", "hugedata", "1.0", {"hugedata/blob.bin": bytes(251 * 1024 * 1024)})
    requests = stats(standin)["requests"]
    cell, = workspace.run('%%cloud_function platforms=aws requirements="hugedata"\n'
                          'def huge(request, context):\n    return 1', cell_timeout=180)
    error = cell.error
    assert error.ename == "DeployFailed"
    assert "MB unzipped; Lambda allows 250 MB unzipped" in error.evalue and "containerize=True" in error.evalue, \
        error.evalue
    assert stats(standin)["requests"] == requests
