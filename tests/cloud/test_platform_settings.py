"""%platform never takes a credential into the notebook, and says so
without echoing the value; settings a platform does not know are errors."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import DirectKernel, Sandbox, texts  # noqa: E402


def test_platform_refuses_secrets_and_unknown_settings():
    sandbox = Sandbox()
    kernel = DirectKernel(sandbox)
    try:
        reply, outputs = kernel.execute("%platform local api_token=hunter2")
        assert reply["status"] == "error" and reply["ename"] == "InvalidSetting"
        assert "api_token" in reply["evalue"] and "hunter2" not in str(outputs) + str(reply)
        reply, _ = kernel.execute("%platform local colour=blue")
        assert reply["status"] == "error" and "unknown setting 'colour'" in reply["evalue"]
        reply, outputs = kernel.execute("%platform local concurrency=4")
        assert reply["status"] == "ok" and texts(outputs) == "Default platform: local\n"
        reply, outputs = kernel.execute("%platform")
        assert texts(outputs) == "Default platform: local\n"
        assert "hunter2" not in kernel.stderr()
    finally:
        kernel.stop()
        sandbox.cleanup()
