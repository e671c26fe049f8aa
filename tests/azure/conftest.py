"""Fixtures of tests/azure: a stand-in per test (see standin_fixture.py)."""
import pytest

from standin_fixture import AzureStandin

collect_ignore = ["node", "worker_lib"]  # @azure/identity checks the stand-in there (node --test)


@pytest.fixture
def standin(tmp_path):
    server = AzureStandin(tmp_path)
    yield server
    server.stop()
