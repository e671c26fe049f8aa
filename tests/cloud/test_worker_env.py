"""The local platform gives a function the environment a cloud would: its
own `env` over a minimal base, never the user's credentials; and the CLI
deploys from a pipe as well as from a file."""
import json
import os
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import binary  # noqa: E402

SOURCE = """import os
def envy(request, context):
    return {key: os.environ.get(key) for key in request["keys"]}
"""


def test_credentials_never_reach_a_function(tmp_path):
    env = dict(os.environ, FAASET_PYTHON="/usr/bin/python3", AWS_SECRET_ACCESS_KEY="sekrit-value",
               AWS_ACCESS_KEY_ID="AKIDEXAMPLE", GOOGLE_APPLICATION_CREDENTIALS="/keys.json", HOME="/root",
               FAASET_TRACE_PLATFORM="")
    deploy = subprocess.run([binary(), "deploy", "/dev/stdin", "--env", "GREETING=hi"], input=SOURCE, text=True,
                            capture_output=True, cwd=tmp_path, env=env, timeout=60)
    assert deploy.returncode == 0, deploy.stderr
    assert deploy.stdout.startswith("local: deployed envy (")
    keys = ["AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "GOOGLE_APPLICATION_CREDENTIALS", "GREETING", "HOME",
            "FAASET_PLATFORM", "TMPDIR", "FAASET_FRAMES_SOURCE", "FAASET_WORKER_FD"]
    invoke = subprocess.run([binary(), "invoke", "envy", json.dumps({"keys": keys})], text=True,
                            capture_output=True, cwd=tmp_path, env=env, timeout=60)
    assert invoke.returncode == 0, invoke.stderr
    seen = json.loads(invoke.stdout)
    assert seen["AWS_SECRET_ACCESS_KEY"] is None and seen["AWS_ACCESS_KEY_ID"] is None
    assert seen["GOOGLE_APPLICATION_CREDENTIALS"] is None
    assert seen["GREETING"] == "hi" and seen["HOME"] == "/root" and seen["FAASET_PLATFORM"] == "local"
    assert seen["FAASET_FRAMES_SOURCE"] is None and seen["FAASET_WORKER_FD"] is None  # the worker's own, taken
    assert seen["TMPDIR"].startswith(str(tmp_path / ".faaset" / "local" / "envy" / "tmp"))
    assert "sekrit-value" not in invoke.stdout + invoke.stderr + deploy.stdout + deploy.stderr
