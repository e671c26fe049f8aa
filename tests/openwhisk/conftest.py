"""Fixtures of tests/openwhisk: a stand-in per test (see standin_fixture.py)."""
import pytest

from standin_fixture import OwStandin

collect_ignore = ["node"]  # the official openwhisk npm client checks the stand-in there (node --test)


@pytest.fixture
def standin(tmp_path):
    server = OwStandin(tmp_path, ["--controller-wait", "3", "--max-code-bytes", "200000"])
    yield server
    server.stop()
