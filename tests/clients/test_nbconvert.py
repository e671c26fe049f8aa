"""notebooks/quickstart.ipynb, notebooks/sleeper.ipynb (and small notebooks
made here) executed by `jupyter nbconvert --execute` and `jupyter execute`
with the faaset kernel; the shipped notebooks also with an interpreter for
cells in which IPython, pandas or matplotlib do not import.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -v tests/clients/test_nbconvert.py
"""
import contextlib
import os
import re
import shutil
import signal
import subprocess

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from client_helpers import (QUICKSTART, Sandbox, assert_no_sanitizer_report, processes_mentioning,
                            wait_for_no_kernels)
from faaset_testing import python_without

TIMEOUT = 180
KERNELSPEC = {"name": "faaset", "display_name": "FaaSET", "language": "python"}


def run(argv, sandbox, cwd):
    """Runs a Jupyter command in the sandbox; returns the CompletedProcess."""
    try:
        result = subprocess.run(argv, env=sandbox.env, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"{' '.join(argv)} did not finish in {TIMEOUT} s:\n{err.stdout}\n{err.stderr}")
    assert_no_sanitizer_report(result.stdout + result.stderr, f"the output of {argv[0]} {argv[1]}")
    left = wait_for_no_kernels(sandbox)
    assert not left, f"{argv[0]} {argv[1]} left kernel processes running: {left}"
    return result


def nbconvert(sandbox, notebook, output_name, *extra):
    argv = ["jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.kernel_name=faaset",
            "--ExecutePreprocessor.timeout=60", *extra, "--output", output_name, str(notebook)]
    return run(argv, sandbox, notebook.parent)


def write_notebook(path, *sources):
    nb = new_notebook(cells=[new_code_cell(source) for source in sources], metadata={"kernelspec": KERNELSPEC})
    nbformat.write(nb, path)
    return path


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def text(value):
    return "".join(value) if isinstance(value, list) else value


def describe(cell):
    return f"cell {cell.get('id')} {cell.source!r} has outputs {nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))}"


def test_quickstart_is_committed_clean():
    nb = nbformat.read(QUICKSTART, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "faaset"
    assert nb.metadata.kernelspec.language == "python"
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None, f"committed with outputs: {cell.source!r}"
    intro = nb.cells[0].source
    assert nb.cells[0].cell_type == "markdown" and "FaaSET: serverless from one notebook" in intro
    assert "%%cloud_function" in intro and "%%experiment" in intro


def test_nbconvert_executes_quickstart(sandbox, tmp_path):
    check_quickstart(sandbox, tmp_path)


def test_nbconvert_executes_quickstart_without_ipython_pandas_or_matplotlib(tmp_path):
    """The same notebook where the runtime's interpreter has none of the three (a PYTHONPATH shim hides
    them): the runtime's own cell language runs it, with the same outputs."""
    with sandbox_without(tmp_path, "IPython", "pandas", "matplotlib") as box:
        check_quickstart(box, tmp_path)


@contextlib.contextmanager
def sandbox_without(tmp_path, *modules):
    """A Sandbox whose kernelspec runs cells with an interpreter in which MODULES do not import."""
    box = Sandbox(python=python_without(tmp_path / "python", *modules))
    try:
        yield box
    finally:
        for pid in processes_mentioning(str(box.dir)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        box.cleanup()


def check_quickstart(sandbox, tmp_path):
    notebook = tmp_path / "quickstart.ipynb"
    shutil.copy(QUICKSTART, notebook)
    result = nbconvert(sandbox, notebook, "executed")
    assert result.returncode == 0, f"nbconvert failed ({result.returncode}):\n{result.stderr}"
    nb = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    nbformat.validate(nb)
    cells = code_cells(nb)
    assert len(cells) == 11, f"expected 11 code cells, found {len(cells)}"
    assert [c.execution_count for c in cells] == list(range(1, 12))
    for cell in cells:
        assert all(o.output_type != "error" for o in cell.outputs), describe(cell)

    printed, result_cell, html, updated, svg, stderr, define, call, redefine, invoke, listing = cells

    assert [(o.output_type, o.get("name"), text(o.get("text"))) for o in printed.outputs] == \
        [("stream", "stdout", "Hello from FaaSET!\n")], describe(printed)

    assert len(result_cell.outputs) == 1, describe(result_cell)
    out = result_cell.outputs[0]
    assert out.output_type == "execute_result" and out.execution_count == 2, describe(result_cell)
    assert text(out.data["text/plain"]) == "55"

    assert len(html.outputs) == 1 and html.outputs[0].output_type == "display_data", describe(html)
    page = text(html.outputs[0].data["text/html"])
    assert page.startswith('<table class="faaset-demo">') and "<td>resize</td><td>48 ms</td>" in page
    assert "text/plain" in html.outputs[0].data

    assert len(updated.outputs) == 1, describe(updated)
    assert updated.outputs[0].output_type == "display_data", describe(updated)
    assert text(updated.outputs[0].data["text/plain"]) == "'step 2'", describe(updated)

    assert len(svg.outputs) == 1 and svg.outputs[0].output_type == "execute_result", describe(svg)
    drawing = text(svg.outputs[0].data["image/svg+xml"])
    assert drawing.startswith("<svg") and drawing.count("<rect") == 5, drawing

    assert [(o.output_type, o.get("name"), text(o.get("text"))) for o in stderr.outputs] == \
        [("stream", "stderr", "this line goes to stderr\n")], describe(stderr)

    assert nb.metadata.language_info.name == "python"
    assert nb.metadata.kernelspec.name == "faaset"

    # the cloud function section, on the local platform
    assert [o.output_type for o in define.outputs] == ["stream"], describe(define)
    assert re.match(r"^local: deployed hello \([0-9a-f]{8}\) in [0-9.]+ ms\n$", text(define.outputs[0].text)), \
        describe(define)
    assert text(call.outputs[0].text) == "Hello Bob! ran on FaaSET Local with 256 MB\nnew container: 1 then 0\n", \
        describe(call)
    assert re.match(r"^local: updated code of hello \([0-9a-f]{8}\) in [0-9.]+ ms\n$", text(redefine.outputs[0].text)), \
        describe(redefine)
    result = invoke.outputs[0]
    assert result.output_type == "execute_result", describe(invoke)
    assert result.data["application/json"]["message"] == "Hi Eve!"
    assert result.data["application/json"]["roundTripTime"] >= 0
    assert "<td>hello</td>" in text(listing.outputs[0].data["text/html"]), describe(listing)


def test_nbconvert_display_updates_across_cells(sandbox, tmp_path):
    """update_display_data for a display made by an earlier cell replaces that
    cell's output; clear_output empties the cell that calls it."""
    notebook = write_notebook(
        tmp_path / "displays.ipynb",
        "h = display('step 1', display_id=True)",
        "h.update('step 2')",
        "display('first', display_id='fixed')\ndisplay('other')",
        "update_display('second', display_id='fixed')",
        "print('gone')\nclear_output()\nprint('kept')",
        "print('waiting')\nclear_output(wait=True)\nprint('replaced')",
    )
    result = nbconvert(sandbox, notebook, "displays-out")
    assert result.returncode == 0, result.stderr
    cells = code_cells(nbformat.read(tmp_path / "displays-out.ipynb", as_version=4))
    plain = [[text(o.data["text/plain"]) if "data" in o else text(o.text) for o in c.outputs] for c in cells]
    assert plain == [
        ["'step 2'"],
        [],
        ["'second'", "'other'"],
        [],
        ["kept\n"],
        ["replaced\n"],
    ], plain


def test_jupyter_execute_runs_quickstart(sandbox, tmp_path):
    assert shutil.which("jupyter-execute", path=sandbox.env.get("PATH")), "jupyter-execute (python3-nbclient) is missing"
    notebook = tmp_path / "quickstart.ipynb"
    shutil.copy(QUICKSTART, notebook)
    result = run(["jupyter", "execute", "--kernel_name=faaset", "--timeout=60", str(notebook)], sandbox, tmp_path)
    assert result.returncode == 0, f"jupyter execute failed ({result.returncode}):\n{result.stderr}"
    assert "Executing notebook with kernel: faaset" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


ERROR_CELLS = ("print('before')", "values = {}\nvalues['missing'] + 1", "print('after')")


def test_nbconvert_fails_on_an_error(sandbox, tmp_path):
    notebook = write_notebook(tmp_path / "broken.ipynb", *ERROR_CELLS)
    result = nbconvert(sandbox, notebook, "broken-out")
    assert result.returncode != 0, f"nbconvert succeeded on a failing notebook:\n{result.stderr}"
    assert "CellExecutionError" in result.stderr, result.stderr
    assert "KeyError: 'missing'" in result.stderr, result.stderr
    assert "values['missing'] + 1" in result.stderr, result.stderr
    assert not (tmp_path / "broken-out.ipynb").exists()


def test_nbconvert_allow_errors_keeps_the_error(sandbox, tmp_path):
    notebook = write_notebook(tmp_path / "broken.ipynb", *ERROR_CELLS)
    result = nbconvert(sandbox, notebook, "broken-out", "--allow-errors")
    assert result.returncode == 0, f"nbconvert --allow-errors failed:\n{result.stderr}"
    before, failing, after = code_cells(nbformat.read(tmp_path / "broken-out.ipynb", as_version=4))
    assert text(before.outputs[0].text) == "before\n"
    errors = [o for o in failing.outputs if o.output_type == "error"]
    assert len(errors) == 1, describe(failing)
    assert errors[0].ename == "KeyError" and errors[0].evalue == "'missing'", describe(failing)
    assert errors[0].traceback and "KeyError" in "\n".join(errors[0].traceback), describe(failing)
    assert failing.execution_count == 2
    assert [text(o.text) for o in after.outputs] == ["after\n"], describe(after)


def test_jupyter_execute_fails_on_an_error(sandbox, tmp_path):
    notebook = write_notebook(tmp_path / "broken.ipynb", *ERROR_CELLS)
    result = run(["jupyter", "execute", "--kernel_name=faaset", "--timeout=60", str(notebook)], sandbox, tmp_path)
    assert result.returncode != 0, f"jupyter execute succeeded on a failing notebook:\n{result.stderr}"
    assert "KeyError: 'missing'" in result.stderr, result.stderr


def test_jupyter_execute_allow_errors(sandbox, tmp_path):
    notebook = write_notebook(tmp_path / "broken.ipynb", *ERROR_CELLS)
    result = run(["jupyter", "execute", "--kernel_name=faaset", "--allow-errors", str(notebook)], sandbox, tmp_path)
    assert result.returncode == 0, f"jupyter execute --allow-errors failed:\n{result.stderr}"


def test_nbconvert_executes_the_sleeper_experiment(sandbox, tmp_path):
    """notebooks/sleeper.ipynb: the paper's experiment sized for the local
    platform: summary, the three charts in all three forms, rows on disk."""
    notebook = tmp_path / "sleeper.ipynb"
    shutil.copy(QUICKSTART.parent / "sleeper.ipynb", notebook)
    result = nbconvert(sandbox, notebook, "sleeper-out")
    assert result.returncode == 0, f"nbconvert failed ({result.returncode}):\n{result.stderr}"
    cells = code_cells(nbformat.read(tmp_path / "sleeper-out.ipynb", as_version=4))
    for cell in cells:
        assert all(o.output_type != "error" for o in cell.outputs), describe(cell)
    experiment = cells[1]
    summary = [o for o in experiment.outputs if o.output_type == "display_data" and "text/html" in o.data]
    assert any("sleeper-paper on local: complete" in text(o.data["text/plain"]) for o in summary), describe(experiment)
    assert any("runs 800, succeeded 800" in text(o.data["text/plain"]) for o in summary), describe(experiment)
    charts = [o for o in experiment.outputs if o.output_type == "display_data" and "image/svg+xml" in o.data]
    assert len(charts) == 3, describe(experiment)
    for chart in charts:
        assert chart.data["application/vnd.vegalite.v5+json"]["$schema"].endswith("vega-lite/v5.json")
        assert text(chart.data["image/svg+xml"]).startswith("<svg")
    assert "Runs in flight over time" in text(charts[0].data["text/plain"])
    rows = list((tmp_path / "faaset-results" / "sleeper").glob("sleeper-paper-*/runs.jsonl"))
    assert len(rows) == 1 and len(rows[0].read_text().splitlines()) == 800
    assert_warm_after_the_restore(cells)
    assert "roundTripTime" in text(cells[3].outputs[0].text) and " to " in text(cells[3].outputs[-1].text), \
        describe(cells[3])
    pictures = [o for o in cells[4].outputs if o.output_type == "display_data" and "image/png" in o.data]
    assert len(pictures) == 1, describe(cells[4])


def assert_warm_after_the_restore(cells):
    """The memory experiment ended by putting the cell's 128 MB back, which
    retires the local workers: in the Python experiment after it, each of
    the 10 threads starts at most one container, every other run is warm."""
    summary = [text(o.data["text/plain"]) for o in cells[1].outputs
               if o.output_type == "display_data" and "text/html" in o.data]
    assert any("\n  memory restored to 128 MB\n" in s for s in summary), describe(cells[1])
    said = re.fullmatch(r"40 runs; (\d+) on warm containers\n", text(cells[2].outputs[-1].text))
    assert said and 30 <= int(said.group(1)) < 40, describe(cells[2])


def test_nbconvert_executes_the_sleeper_experiment_without_pandas_or_matplotlib(tmp_path):
    """The same notebook where neither pandas nor matplotlib imports in the
    runtime (a PYTHONPATH shim hides them): the rows are the same list, and
    the two optional cells say what is missing instead of failing."""
    with sandbox_without(tmp_path, "pandas", "matplotlib") as box:
        notebook = tmp_path / "sleeper.ipynb"
        shutil.copy(QUICKSTART.parent / "sleeper.ipynb", notebook)
        result = nbconvert(box, notebook, "sleeper-out")
        assert result.returncode == 0, f"nbconvert failed ({result.returncode}):\n{result.stderr}"
        cells = code_cells(nbformat.read(tmp_path / "sleeper-out.ipynb", as_version=4))
        for cell in cells:
            assert all(o.output_type != "error" for o in cell.outputs), describe(cell)
        assert_warm_after_the_restore(cells)
        assert "pandas is not installed" in text(cells[3].outputs[0].text), describe(cells[3])
        assert "matplotlib is not installed" in text(cells[4].outputs[0].text), describe(cells[4])
