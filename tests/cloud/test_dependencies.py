"""Functions with dependencies on the local platform, through a real kernel:
`requirements=` (a line, a list, a file) is installed by pip for the
target into a layer cached beside the notebook, the function imports it
when called, an unchanged cell never runs pip again, a code-only change
keeps the layer, and a package pip cannot find is one clear error before
anything is deployed. There is no package index here: the wheels are made
by the test (tests/support/wheels.py) and pip finds them through its own
PIP_FIND_LINKS / PIP_NO_INDEX, which is also how a user's pip
configuration reaches it.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/cloud/test_dependencies.py
"""
import json
import os
import pathlib
import platform
import re
import shutil
import stat
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
import nbformat  # noqa: E402
from wheels import quickstart_wheelhouse, wheelhouse  # noqa: E402

QUICKSTART = pathlib.Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"

DEPS_CELL = '''%%cloud_function requirements="greetlib==1.0"
import greetlib
import native_probe


def hello_deps(request, context):
    return {"message": greetlib.greet(request["name"]), "machine": native_probe.MACHINE}'''

CALL = ('import json\nanswer = hello_deps({"name": "Bob"})\n'
        'print(json.dumps({k: v for k, v in answer.items() if k != "roundTripTime"}))')


def use_wheelhouse(workspace, tmp_path):
    """Points the kernel's pip at the test's wheels, logging every pip run to a file."""
    wheelhouse(tmp_path / "wheels")
    log = tmp_path / "pip.log"
    workspace.env.update({"PIP_FIND_LINKS": str(tmp_path / "wheels"), "PIP_NO_INDEX": "1", "PIP_LOG": str(log),
                          "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return log


def pip_runs(log):
    """How many times pip ran (pip writes this line first into PIP_LOG)."""
    return log.read_text().count("Using pip ") if log.exists() else 0


def local_line(cell):
    lines = [line for line in cell.stdout.splitlines() if line.startswith("local: ")]
    assert len(lines) == 1, cell
    return lines[0]


def test_function_imports_its_dependencies_installed_once(workspace, tmp_path):
    log = use_wheelhouse(workspace, tmp_path)
    define, call, again = workspace.run(DEPS_CELL, CALL, DEPS_CELL)
    define.ok()
    assert re.match(r"^local: deployed hello_deps \([0-9a-f]{8}\) in [0-9.]+ ms; dependencies: installed "
                    r"greetlib 1\.0, native_probe 2\.0$", local_line(define)), define
    # the worker runs the unpacked package with the layer on its path: the wheel for this machine
    assert call.ok().json() == {"message": "Hello Bob", "machine": platform.machine()}
    assert pip_runs(log) == 1
    assert local_line(again.ok()).startswith("local: up to date hello_deps")

    # the layer beside the notebook, private, named by its hash
    deps = workspace.folder / ".faaset" / "deps"
    layers = [p for p in deps.iterdir()]
    assert len(layers) == 1 and re.fullmatch(r"[0-9a-f]{64}", layers[0].name), layers
    assert stat.S_IMODE(deps.stat().st_mode) == 0o700 and stat.S_IMODE(layers[0].stat().st_mode) == 0o700
    assert stat.S_IMODE((layers[0] / "layer.json").stat().st_mode) == 0o600
    assert (layers[0] / "python" / "native_probe" / "__init__.py").exists()
    assert not (layers[0] / "layer.zip").exists()  # local attaches the folder: nothing to upload

    # a new kernel, the code changed, the requirements not: no pip, the same layer
    changed = DEPS_CELL.replace('"message": greetlib', '"changed": True, "message": greetlib')
    redefine, call2 = workspace.run(changed, CALL)
    assert re.match(r"^local: updated code of hello_deps \([0-9a-f]{8}\) in [0-9.]+ ms; dependencies: "
                    r"greetlib 1\.0, native_probe 2\.0 \(cached\)$", local_line(redefine.ok())), redefine
    assert call2.ok().json() == {"changed": True, "message": "Hello Bob", "machine": platform.machine()}
    assert pip_runs(log) == 1
    assert len(list(deps.iterdir())) == 1


def test_a_deleted_layer_is_installed_again_by_an_unchanged_cell(workspace, tmp_path):
    log = use_wheelhouse(workspace, tmp_path)
    define, call = workspace.run(DEPS_CELL, CALL)
    define.ok()
    assert call.ok().json()["message"] == "Hello Bob"
    deps = workspace.folder / ".faaset" / "deps"
    shutil.rmtree(deps)

    # a new kernel (cold workers), the cell unchanged: the layer is installed again, nothing is deployed
    mark = workspace.trace.mark()
    again, call2 = workspace.run(DEPS_CELL, CALL)
    assert re.match(r"^local: up to date hello_deps \([0-9a-f]{8}\) in [0-9.]+ ms; dependencies: installed "
                    r"greetlib 1\.0, native_probe 2\.0 again \(their layer was missing from \.faaset/deps\)$",
                    local_line(again.ok())), again
    assert call2.ok().json() == {"message": "Hello Bob", "machine": platform.machine()}
    assert pip_runs(log) == 2
    assert [e["op"] for e in workspace.trace.since(mark)] == ["invoke"], workspace.trace.since(mark)  # no deploy

    # one layer's folder gone, and only the configuration changed: installed again, then reconfigured
    (layer,) = deps.iterdir()
    shutil.rmtree(layer)
    reconfigured, call3 = workspace.run(DEPS_CELL.replace("%%cloud_function ", "%%cloud_function memory=256 "), CALL)
    line = local_line(reconfigured.ok())
    assert line.startswith("local: updated configuration of hello_deps") and line.endswith(
        "again (their layer was missing from .faaset/deps)"), line
    assert call3.ok().json()["message"] == "Hello Bob"
    assert pip_runs(log) == 3
    assert (layer / "python" / "greetlib").exists()


def test_requirements_as_a_list_and_as_a_file(workspace, tmp_path):
    log = use_wheelhouse(workspace, tmp_path)
    (workspace.folder / "requirements.txt").write_text("# the function's packages\ngreetlib\n")
    decorated = """@cloud_function(requirements=["greetlib==1.0"], platforms=[Platform.LOCAL])
def listed(request, context):
    import greetlib
    return greetlib.greet("list")
"""
    from_file = """%%cloud_function requirements_file=requirements.txt
def filed(request, context):
    import native_probe
    return native_probe.MACHINE
"""
    cells = workspace.run(decorated, "print(listed({}))", from_file, "print(filed({}))",
                          '%%cloud_function requirements="a" requirements_file=requirements.txt\n'
                          'def both(request, context):\n    return 1')
    for cell in cells[:4]:
        cell.ok()
    assert cells[1].stdout.strip() == "Hello list"
    assert cells[3].stdout.strip() == platform.machine()
    assert "dependencies: installed greetlib 1.0, native_probe 2.0" in local_line(cells[2])
    assert pip_runs(log) == 2  # two requirement texts, two layers
    assert cells[4].error.ename == "InvalidOption" and "not both" in cells[4].error.evalue


def test_a_missing_package_is_one_clear_error_before_any_deploy(workspace, tmp_path):
    use_wheelhouse(workspace, tmp_path)
    cell = workspace.run('%%cloud_function requirements="greetlib==1.0 nosuchpkg==3.1"\n'
                         'def needy(request, context):\n    return 1')[0]
    error = cell.error
    assert error.ename == "DeployFailed", cell
    assert "nosuchpkg==3.1" in error.evalue and "local (the runtime's Python)" in error.evalue, error.evalue
    assert "No matching distribution" in error.evalue
    assert workspace.trace.ops("deploy") == []
    assert not (workspace.state_dir / "needy.json").exists()
    assert not any((workspace.folder / ".faaset" / "deps").iterdir())  # no half layer kept


def test_interrupt_stops_pip(sandbox):
    """pip waiting for an index that never answers: the kernel keeps answering, and an interrupt ends pip and
    the cell at once."""
    import socket
    import time

    from cloud_helpers import DirectKernel, processes_in

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections (the kernel's backlog) and never answers
    port = silent.getsockname()[1]
    env = {"PIP_INDEX_URL": f"http://127.0.0.1:{port}/simple", "PIP_TIMEOUT": "60", "PIP_RETRIES": "0",
           "PIP_FIND_LINKS": "", "PIP_NO_INDEX": ""}
    kernel = DirectKernel(sandbox, extra_env=env)
    try:
        msg_id = kernel.client.execute('%%cloud_function requirements="slowpkg"\ndef waits(request, context):\n'
                                       '    return 1')
        time.sleep(2)
        pips = [pid for pid in processes_in(sandbox.dir)
                if b"faaset_deps" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()
                or b"pip" in pathlib.Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert pips, "pip is not running"
        info = kernel.client.session.msg("kernel_info_request", {})
        kernel.client.control_channel.send(info)  # served while pip works
        reply = kernel.client.get_control_msg(timeout=5)
        assert reply["parent_header"]["msg_id"] == info["header"]["msg_id"] and reply["content"]["status"] == "ok"
        started = time.monotonic()
        kernel.client.control_channel.send(kernel.client.session.msg("interrupt_request", {}))
        content, _ = kernel.collect(msg_id, timeout=10)
        assert content["status"] == "error" and content["ename"] == "KeyboardInterrupt", content
        assert time.monotonic() - started < 5
        time.sleep(0.3)
        assert not [pid for pid in pips if pathlib.Path(f"/proc/{pid}").exists()
                    and "Z" not in pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1][:3]]
        staging = list((sandbox.dir / ".faaset" / "deps").glob("*")) if (sandbox.dir / ".faaset" / "deps").exists() \
            else []
        assert staging == []
    finally:
        kernel.stop()
        silent.close()


def test_the_quickstarts_dependencies_example_runs_as_written(workspace, tmp_path):
    """notebooks/quickstart.ipynb shows its dependencies cells as text (they need a package index, which a
    quickstart run cannot count on); here they run exactly as shown, with the line and table it promises."""
    section = next(cell.source for cell in nbformat.read(QUICKSTART, as_version=4).cells
                   if cell.cell_type == "markdown" and cell.source.startswith("## Dependencies"))
    define_source, call_source = re.findall(r"```python\n(.*?)\n```", section, re.S)
    workspace.env.update({"PIP_FIND_LINKS": str(quickstart_wheelhouse(tmp_path / "wheels")), "PIP_NO_INDEX": "1",
                          "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    define, call = workspace.run(define_source, call_source)
    assert re.match(r"^local: deployed report \([0-9a-f]{8}\) in [0-9.]+ ms; dependencies: installed tabulate "
                    r"0\.9\.0$", local_line(define.ok())), define
    assert "dependencies: installed tabulate 0.9.0" in section
    assert call.ok().stdout == "function      ms\n----------  ----\nhello         12\nresize        48\n", call
