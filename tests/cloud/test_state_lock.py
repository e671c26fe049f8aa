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


def cell_for(version):
    return f"%%cloud_function\ndef race(request, context):\n    return {{'version': '{version}'}}"


def test_two_kernels_and_the_cli_racing_on_one_name_agree_with_the_platform(sandbox):
    """Kernels A and B and `faaset deploy` deploy different bodies of one
    function at the same moment, round after round. Each deploy is claimed
    (.faaset/locks/local/race.lock), so the state always names the code the
    platform holds (without the claim, 2 rounds in 10 ended with the state
    saying A's code while the platform ran B's)."""
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from cloud_helpers import DirectKernel
    kernels = [DirectKernel(sandbox), DirectKernel(sandbox)]
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    state = sandbox.dir / ".faaset" / "state" / "local" / "race.json"
    deployment = sandbox.dir / ".faaset" / "local" / "race" / "deployment.json"
    try:
        for round_ in range(6):
            (sandbox.dir / "race.py").write_text(f"def race(request, context):\n    return {{'version': 'C{round_}'}}\n")
            ids = [k.client.execute(cell_for(f"{name}{round_}")) for k, name in zip(kernels, "AB")]
            cli = subprocess.Popen([binary(), "deploy", "race.py"], cwd=sandbox.dir, env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for k, msg_id in zip(kernels, ids):
                reply, outputs = k.collect(msg_id, timeout=120)
                assert reply["status"] == "ok", (reply, outputs)
            out, err = cli.communicate(timeout=120)
            assert cli.returncode == 0, err
            recorded = json.loads(state.read_text())["code_hash"]
            deployed = json.loads(deployment.read_text())["code_hash"]
            assert recorded == deployed, f"round {round_}: the state says {recorded}, the platform holds {deployed}"
        # what the state says is what runs: the cell whose hash it holds is up to date and returns its own version
        invoked = subprocess.run([binary(), "invoke", "race"], cwd=sandbox.dir, env=env, capture_output=True,
                                 text=True, timeout=60)
        version = json.loads(invoked.stdout)["version"]
        source = cell_for(version) if version[0] in "AB" else None
        if source is not None:
            reply, outputs = kernels[0].execute(source, timeout=60)
            shown = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
            assert reply["status"] == "ok" and "up to date race" in shown, (reply, outputs)
    finally:
        for k in kernels:
            k.stop()


def test_a_deploy_killed_at_any_point_leaves_whole_files_and_the_next_one_converges(tmp_path):
    """`faaset deploy` is SIGKILLed at 30 points from its start to its end:
    every state and deployment file left is whole JSON, the claim dies
    with the process (the next deploy does not wait for it), and the next
    deploy makes the state and the platform agree."""
    import random
    import signal
    import time
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3")
    state = tmp_path / ".faaset" / "state" / "local" / "victim.json"
    deployment = tmp_path / ".faaset" / "local" / "victim" / "deployment.json"
    rng = random.Random(11)
    for attempt in range(30):
        source = tmp_path / "victim.py"
        source.write_text(f"def victim(request, context):\n    return {{'attempt': {attempt}}}\n")
        process = subprocess.Popen([binary(), "deploy", str(source)], cwd=tmp_path, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, 0.15))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        for path in (state, deployment):
            if path.exists():
                json.loads(path.read_text())  # whole, never torn
        started = time.monotonic()
        settled = subprocess.run([binary(), "deploy", str(source)], cwd=tmp_path, env=env, capture_output=True,
                                 text=True, timeout=120)
        assert settled.returncode == 0, settled.stderr
        assert "DeployBusy" not in settled.stderr and time.monotonic() - started < 60
        assert json.loads(state.read_text())["code_hash"] == json.loads(deployment.read_text())["code_hash"]
        invoked = subprocess.run([binary(), "invoke", "victim"], cwd=tmp_path, env=env, capture_output=True,
                                 text=True, timeout=60)
        assert json.loads(invoked.stdout)["attempt"] == attempt, invoked.stdout + invoked.stderr
