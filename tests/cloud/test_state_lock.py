"""Two deployers in one folder at once (two kernels, or a kernel and the
CLI) never corrupt the state: every state file stays a whole, valid record
of the last deploy, and a function deployed by one is up to date for the
other."""
import json
import os
import pathlib
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import binary  # noqa: E402


def deploy(folder, name, version):
    source = f"def {name}(request, context):\n    return {{'version': {version}}}\n"
    path = folder / f"{name}-{version}.py"
    path.write_text(source)
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    return subprocess.run([binary(), "deploy", str(path), "--memory", str(128 + version)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=120)


def test_parallel_deployers_keep_state_whole(tmp_path):
    jobs = [(name, version) for version in range(4) for name in ("alpha", "beta", "gamma")]
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda job: deploy(tmp_path, *job), jobs))
    for result in results:
        assert result.returncode == 0, result.stderr
    state = tmp_path / ".faaset" / "state" / "local"
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for name in ("alpha", "beta", "gamma"):
        path = state / f"{name}.json"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        record = json.loads(path.read_text())
        assert record["format"] == "faaset-deploy-state" and record["name"] == name
        assert len(record["code_hash"]) == 64 and 128 <= record["memory_mb"] <= 131
    assert not [p for p in state.iterdir() if ".tmp." in p.name], "a temporary file was left behind"
    # whatever deploy landed last, redeploying that same version is up to date
    for name in ("alpha", "beta", "gamma"):
        memory = json.loads((state / f"{name}.json").read_text())["memory_mb"]
        again = deploy(tmp_path, name, memory - 128)
        assert again.returncode == 0 and "up to date" in again.stdout, again.stdout + again.stderr
