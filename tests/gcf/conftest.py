"""Fixtures of tests/gcf: a stand-in per test (see standin_fixture.py)."""
import pytest

from standin_fixture import GcfStandin

collect_ignore = ["node"]  # Google's Node libraries check the stand-in there (node --test)


@pytest.fixture
def standin(tmp_path):
    server = GcfStandin(tmp_path)
    yield server
    server.stop()
