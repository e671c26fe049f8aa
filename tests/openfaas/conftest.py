"""Fixtures of tests/openfaas: one test registry for the module's tests and
a gateway stand-in per test (see registry_fixture.py, standin_fixture.py)."""
import pytest

from registry_fixture import Registry
from standin_fixture import OfStandin


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    server = Registry(tmp_path_factory.mktemp("registry"))
    yield server
    server.stop()


@pytest.fixture
def gateway(tmp_path, registry):
    server = OfStandin(tmp_path / "gateway", registry, ["--ready-delay", "0.5", "--scale-wait", "20"])
    yield server
    server.stop()
