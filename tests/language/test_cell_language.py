"""IPython's cell language in plain cells, through nbclient: `!cmd`,
`x = !cmd`, line magics on any line (in loops, `x = %pwd`), cell magics,
each magic notebooks rely on, VS Code's start-up `%config` line among
Python, `%pip` against a local wheel, `%load`'s payload, and the errors for
a magic nothing knows. Every test runs once with IPython importable in the
runtime (IPython's transformer and magics) and once without (the runtime's
own), see conftest.py.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/language/test_cell_language.py
"""
import base64
import hashlib
import time
import zipfile

import pytest

from faaset_testing import python_without, texts

MAGIC_CELLS = {
    "which": "import IPython\nprint('ipython' if isinstance(get_ipython(), IPython.core.interactiveshell."
             "InteractiveShell) else 'other')",
    "bang_assign": "x = !echo hi there\nprint(x, x.s)",
    "bang": "!echo bang from the shell",
    "expand": "name = 'world'\n!echo hello {name} $name",
    "writefile": "%%writefile greet.py\nimport sys\nprint('hello', sys.argv[1:])\nVALUE = 7\n",
    "run": "%run greet.py a b\nVALUE",
    "bash": "%%bash\necho from bash $((2 + 3))",
    "sh": "%%sh\necho from sh",
    "time": "%time total = sum(range(1000))\ntotal",
    "cell_time": "%%time\ny = 2\ny * 21",
    "timeit": "%timeit -n 5 -r 2 sum(range(100))",
    "loop": "for i in range(2):\n    %time i\nprint('looped', i)",
    "env": "%env FAASET_DEMO=on\nimport os\nprint('environ', os.environ['FAASET_DEMO'])\n%env FAASET_DEMO",
    "cd": "import os\nos.makedirs('sub', exist_ok=True)\nstart = %pwd\n%cd sub\nhere = %pwd\n%cd -\nback = %pwd\n"
          "print(here == os.path.join(start, 'sub'), back == start)",
    "who": "%who",
    "whos": "%whos",
    "lsmagic": "%lsmagic",
    "vscode": "import sys\n%config Completer.use_jedi = False\nvscode_ok = True\nvscode_ok",
    "config_inline": "%config InlineBackend.figure_formats = ['png']",
    "matplotlib": "%matplotlib inline",
    "matplotlib_bare": "%matplotlib",
    "history": "%history",
    "reset": "%reset -f\nprint('VALUE' in globals(), 'x' in globals())",
    "unknown_line": "%whoo",
    "unknown_cell": "%%writefil notes.txt\nsome text",
    "kernel_magic_among_python": "x = 1\n%platform local",
    "conda": "%conda install nothing",
    "syntax": "1 +* 2",
    "order": "print('before')\n!echo middle\nprint('after')",
}


@pytest.mark.deadline(180)
def test_every_magic_in_a_notebook(workspace, path):
    cells = dict(zip(MAGIC_CELLS, workspace.run(*MAGIC_CELLS.values())))
    name = path[0]
    for key in MAGIC_CELLS:
        if key not in ("which", "unknown_line", "unknown_cell", "kernel_magic_among_python", "conda", "syntax"):
            cells[key].ok()
    if name == "ipython":
        assert cells["which"].ok().stdout == "ipython\n", cells["which"]
    else:
        assert cells["which"].error.ename == "ImportError", cells["which"]
        assert cells["which"].error.evalue == "No module named 'IPython' (hidden by the test)", cells["which"]
    assert "['hi there'] hi there" in cells["bang_assign"].stdout, cells["bang_assign"]
    assert "bang from the shell" in cells["bang"].stdout, cells["bang"]
    assert "hello world world" in cells["expand"].stdout, cells["expand"]
    assert "Writing greet.py" in cells["writefile"].stdout, cells["writefile"]
    assert "hello ['a', 'b']" in cells["run"].stdout and cells["run"].result == "7", cells["run"]
    assert "from bash 5" in cells["bash"].stdout, cells["bash"]
    assert "from sh" in cells["sh"].stdout, cells["sh"]
    assert "Wall time" in cells["time"].stdout and cells["time"].result == "499500", cells["time"]
    assert "Wall time" in cells["cell_time"].stdout and cells["cell_time"].result == "42", cells["cell_time"]
    assert "per loop" in cells["timeit"].stdout and "2 runs, 5 loops each" in cells["timeit"].stdout, cells["timeit"]
    assert cells["loop"].stdout.count("Wall time") == 2 and "looped 1" in cells["loop"].stdout, cells["loop"]
    assert "env: FAASET_DEMO=on" in cells["env"].stdout and "environ on" in cells["env"].stdout, cells["env"]
    assert cells["env"].result == "'on'", cells["env"]
    assert "True True" in cells["cd"].stdout, cells["cd"]
    for variable in ("VALUE", "total", "name", "start"):
        assert variable in cells["who"].stdout, cells["who"]
    assert "Variable" in cells["whos"].stdout and "VALUE" in cells["whos"].stdout, cells["whos"]
    listing = cells["lsmagic"].stdout + "".join(r.data["text/plain"] for r in cells["lsmagic"].results)
    for magic in ("%timeit", "%pip", "%%writefile", "%%bash"):
        assert magic in listing, cells["lsmagic"]
    assert cells["vscode"].result == "True", cells["vscode"]
    assert "%%writefile greet.py" in cells["history"].stdout and "%run greet.py a b" in cells["history"].stdout, \
        cells["history"]
    assert "False False" in cells["reset"].stdout, cells["reset"]
    error = cells["unknown_line"].error
    assert error.ename == "UsageError" and "%whoo" in error.evalue and "did you mean %who?" in error.evalue, error
    error = cells["unknown_cell"].error
    assert error.ename == "UsageError" and "%%writefil" in error.evalue and "%%writefile" in error.evalue, error
    error = cells["kernel_magic_among_python"].error
    assert "%platform is a FaaSET kernel magic: it must be alone in a cell of its own" in error.evalue, error
    error = cells["conda"].error
    assert "conda" in error.evalue and "%pip install" in error.evalue, error
    assert cells["syntax"].error.ename == "SyntaxError", cells["syntax"]
    assert cells["order"].ok().stdout.replace("\r\n", "\n") == "before\nmiddle\nafter\n", cells["order"]


def write_wheel(folder):
    """A tiny pure-Python wheel (faaset_demo_pkg 0.1, ANSWER = 42), made here: no index is reachable."""
    files = {
        "faaset_demo_pkg/__init__.py": "ANSWER = 42\n",
        "faaset_demo_pkg-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: faaset-demo-pkg\nVersion: 0.1\n",
        "faaset_demo_pkg-0.1.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: faaset-tests\nRoot-Is-Purelib: true\n"
                                               "Tag: py3-none-any\n",
    }
    record = []
    for name, content in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(content.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(content.encode())}")
    files["faaset_demo_pkg-0.1.dist-info/RECORD"] = "\n".join(record + ["faaset_demo_pkg-0.1.dist-info/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / "faaset_demo_pkg-0.1-py3-none-any.whl", "w") as wheel:
        for name, content in files.items():
            wheel.writestr(name, content)


@pytest.mark.deadline(180)
def test_pip_installs_with_the_runtimes_interpreter(workspace, tmp_path):
    """%pip runs `sys.executable -m pip`: a local wheel (--no-index, --find-links) installs into a target
    folder, imports, and the cell says a restart may be needed."""
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels)
    target = tmp_path / "site"
    install, version, use = workspace.run(
        f"%pip install --no-index --find-links {wheels} --target {target} faaset_demo_pkg",
        "%pip --version\nimport sys\nprint('runtime', sys.executable)",
        f"import sys\nsys.path.insert(0, {str(target)!r})\nimport faaset_demo_pkg\nfaaset_demo_pkg.ANSWER",
        cell_timeout=120)
    install.ok()
    assert "Successfully installed faaset_demo_pkg-0.1" in install.stdout, install
    assert "restart the kernel" in install.stdout, install
    version.ok()
    executable = version.stdout.split("runtime ")[-1].strip()
    assert "pip " in version.stdout and "python 3" in version.stdout, version
    assert executable.startswith("/"), version
    assert use.ok().result == "42", use


@pytest.mark.deadline(120)
def test_interrupt_stops_a_shell_command(kernel, path):
    """An interrupt during `!sleep 60` ends the command at once; the kernel goes on. The own shell then
    raises KeyboardInterrupt; IPython's ends the command and lets the cell go on, as in ipykernel."""
    msg_id = kernel.client.execute("marker = 'kept'\n!sleep 60")
    time.sleep(3)
    kernel.client.control_channel.send(kernel.client.session.msg("interrupt_request"))
    started = time.monotonic()
    reply, outputs = kernel.collect(msg_id, timeout=60)
    assert time.monotonic() - started < 30, "the interrupt did not stop the command"
    if path[0] == "own":
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
    reply, outputs = kernel.execute("print(marker)")
    assert texts(outputs) == "kept\n", outputs


def test_vscode_startup_where_matplotlib_is_missing(tmp_path):
    """VS Code's hidden start-up lines run where IPython (and matplotlib_inline) import but matplotlib does
    not: %config must not need matplotlib."""
    from cloud_helpers import DirectKernel, Sandbox, kill_processes_in
    box = Sandbox(python=python_without(tmp_path, "matplotlib"))
    kernel = DirectKernel(box)
    try:
        reply, outputs = kernel.execute("import sys\n%config Completer.use_jedi = False\n"
                                        "%config InlineBackend.figure_formats = ['svg']\nprint('started')")
        assert reply["status"] == "ok" and texts(outputs) == "started\n", (reply, outputs)
    finally:
        kernel.stop()
        kill_processes_in(box.dir)
        box.cleanup()


def test_load_sends_the_file_to_the_next_input(kernel, sandbox):
    (sandbox.dir / "snippet.py").write_text("print('loaded')\n")
    reply, outputs = kernel.execute("%load snippet.py")
    assert reply["status"] == "ok", reply
    payload, = reply["payload"]
    assert payload["source"] == "set_next_input" and payload["replace"] is True, payload
    assert payload["text"] == "# %load snippet.py\nprint('loaded')\n", payload


def test_ipython_can_be_switched_off(kernel, sandbox, path):
    """FAASET_IPYTHON=0 in the kernel's environment: the runtime's own language even where IPython imports."""
    from cloud_helpers import DirectKernel
    own = DirectKernel(sandbox, extra_env={"FAASET_IPYTHON": "0"})
    try:
        reply, outputs = own.execute("print(repr(get_ipython()))\nfiles = !ls\nprint(type(files).__name__)")
        assert reply["status"] == "ok", reply
        assert "FaaSET shell (IPython is not used" in texts(outputs) and "SList" in texts(outputs), outputs
    finally:
        own.stop()
