"""The faaset command line: help, version, install in each scope (and what
`jupyter kernelspec list` then shows), and clear errors with exit code 2 for
bad arguments and bad connection files."""
import json
import os
import struct
import subprocess

import pytest

from faaset_testing import binary


def run(*args, env=None):
    return subprocess.run([binary(), *args], capture_output=True, text=True, env=env, timeout=30)


def test_help_and_version():
    result = run("--help")
    assert result.returncode == 0
    for word in ("kernel -f CONNECTION_FILE", "install", "--sys-prefix", "--prefix", "--python", "FAASET_PYTHON"):
        assert word in result.stdout
    result = run("--version")
    assert result.returncode == 0 and result.stdout.startswith("faaset ")


@pytest.mark.parametrize("command, words", [
    ("kernel", ("-f, --connection-file", "--interrupt-mode")),
    ("install", ("--sys-prefix", "--prefix DIR", "--display-name")),
    ("deploy", ("FILE.py", "--platform")),
    ("invoke", ("NAME", "JSON")),
    ("delete", ("NAME",)),
    ("run", ("-e EXPERIMENT.json",)),
])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_subcommand_has_help(command, words, flag, tmp_path):
    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path))
    result = run(command, flag, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: faaset %s" % command)
    for word in words:
        assert word in result.stdout
    assert result.stderr == ""
    assert not (tmp_path / "kernels").exists()  # `install --help` installs nothing


def test_help_after_other_options():
    result = run("install", "--user", "--help")
    assert result.returncode == 0 and result.stdout.startswith("Usage: faaset install")


@pytest.mark.parametrize("args, message", [
    ((), "missing command"),
    (("frobnicate",), "unknown command 'frobnicate'"),
    (("kernel",), "needs -f CONNECTION_FILE"),
    (("kernel", "-f"), "option -f needs a value"),
    (("kernel", "-f", "x", "--interrupt-mode", "loud"), "must be message or signal"),
    (("install", "--bogus"), "unknown option '--bogus'"),
    (("install", "--name", "bad name!"), "may only use ASCII letters"),
])
def test_bad_arguments(args, message, tmp_path):
    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path))
    result = run(*args, env=env)
    assert result.returncode in (1, 2)
    assert message in result.stderr


@pytest.mark.parametrize("content, message", [
    ("{not json", "cannot read connection file"),
    ("[]", "must hold a JSON object"),
    ('{"shell_port": 1}', '"control_port" must be an integer'),
    ('{"transport": "udp", "shell_port": 1}', '"transport" must be "tcp" or "ipc"'),
])
def test_bad_connection_file(content, message, tmp_path):
    path = tmp_path / "connection.json"
    path.write_text(content)
    result = run("kernel", "-f", str(path))
    assert result.returncode == 2
    assert message in result.stderr


def test_connection_file_missing(tmp_path):
    result = run("kernel", "-f", str(tmp_path / "nope.json"))
    assert result.returncode == 2 and "nope.json" in result.stderr


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def check_kernelspec(folder, python):
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["argv"][0] == binary() or os.path.samefile(spec["argv"][0], binary())
    assert spec["argv"][1:4] == ["kernel", "-f", "{connection_file}"]
    assert spec["argv"][spec["argv"].index("--python") + 1] == python
    assert spec["language"] == "python" and spec["display_name"] == "FaaSET"
    assert spec["interrupt_mode"] == "message"
    assert png_size(folder / "logo-32x32.png") == (32, 32)
    assert png_size(folder / "logo-64x64.png") == (64, 64)


def test_install_user_and_kernelspec_list(tmp_path):
    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path / "data"))
    result = run("install", "--user", "--python", "/usr/bin/python3", env=env)
    assert result.returncode == 0, result.stderr
    check_kernelspec(tmp_path / "data" / "kernels" / "faaset", "/usr/bin/python3")
    listing = subprocess.run(["/usr/bin/python3", "-m", "jupyter_client.kernelspecapp", "list", "--json"],
                             capture_output=True, text=True, env=env, timeout=60)
    if listing.returncode != 0:
        listing = subprocess.run(["jupyter", "kernelspec", "list", "--json"], capture_output=True, text=True,
                                 env=env, timeout=60)
    specs = json.loads(listing.stdout)["kernelspecs"]
    assert "faaset" in specs
    assert specs["faaset"]["spec"]["display_name"] == "FaaSET"


def test_install_prefix_and_options(tmp_path):
    result = run("install", "--prefix", str(tmp_path), "--python", "/usr/bin/python3", "--name", "faaset-dev",
                 "--display-name", "FaaSET (dev)", "--interrupt-mode", "signal")
    assert result.returncode == 0, result.stderr
    spec = json.loads((tmp_path / "share/jupyter/kernels/faaset-dev/kernel.json").read_text())
    assert spec["display_name"] == "FaaSET (dev)" and spec["interrupt_mode"] == "signal"


def test_install_sys_prefix_asks_the_interpreter(tmp_path):
    fake_python = tmp_path / "python"
    fake_python.write_text(f"#!/bin/sh\necho {tmp_path}/env\n")
    fake_python.chmod(0o755)
    result = run("install", "--sys-prefix", "--python", str(fake_python))
    assert result.returncode == 0, result.stderr
    check_kernelspec(tmp_path / "env/share/jupyter/kernels/faaset", str(fake_python))


def test_install_default_python_is_python3_on_path(tmp_path):
    env = dict(os.environ, JUPYTER_DATA_DIR=str(tmp_path), PATH=f"{tmp_path}/bin:/usr/bin:/bin")
    (tmp_path / "bin").mkdir()
    os.symlink("/usr/bin/python3", tmp_path / "bin" / "python3")
    assert run("install", env=env).returncode == 0
    check_kernelspec(tmp_path / "kernels" / "faaset", f"{tmp_path}/bin/python3")
