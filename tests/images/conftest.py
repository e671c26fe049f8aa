"""Fixtures of the image suite: a real registry (Debian's docker-registry,
htpasswd Basic auth) with the tiny base image pushed into it by skopeo, and
a DOCKER_CONFIG holding its credentials (tests/support/oci_registry.py)."""
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
import oci_registry  # noqa: E402


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry")
    running = oci_registry.Registry(folder / "server")
    try:
        running.push_layout(oci_registry.tiny_base_image(folder / "base"), "base/tiny:1")
        yield running
    finally:
        running.stop()


@pytest.fixture
def docker_env(registry, tmp_path):
    """The environment of a push: only DOCKER_CONFIG names credentials (a
    HOME and XDG_RUNTIME_DIR of the test's own, so the machine's do not count)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR")}
    env["HOME"] = str(tmp_path / "home")
    env["DOCKER_CONFIG"] = str(oci_registry.docker_config(tmp_path / "docker", registry.host))
    return env
