"""The aws tests: faaset's SigV4 signer against botocore's, and the Lambda
stand-in (lambda_standin.py) against what AWS does.

They run with the machine's preinstalled python3 (the first on PATH that is
not Debian's), which has botocore. Without botocore they cannot prove
anything, so they fail rather than skip.

Fixtures for the stand-in (see standin_fixture.py): `standin` is one
stand-in per test module with the default options; `standin_factory(**options)`
starts another with start_standin()'s options (concurrency, session_token,
containers, ...), stopped after the test. Stopping fails the test if the
stand-in logged an internal error."""
import os
import sys

import pytest

try:
    import botocore  # noqa: F401
except ImportError as error:
    pytest.exit(
        f"tests/aws need botocore, and {sys.executable} cannot import it ({error}). "
        "Run them with the python3 that has botocore (cmake picks the first python3 on PATH "
        "other than /usr/bin/python3; set -DFAASET_AWS_PYTHON=/path/to/python3 to choose).",
        returncode=3,
    )

from standin_fixture import start_standin  # noqa: E402 (needs botocore, checked above)


@pytest.fixture(scope="session")
def sigv4_tool():
    path = os.environ.get("FAASET_SIGV4_TOOL")
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"FAASET_SIGV4_TOOL must name the built sigv4_tool (got {path!r})")
    return path


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    running = start_standin(tmp_path_factory.mktemp("standin"))
    yield running
    running.stop()


@pytest.fixture
def standin_factory(tmp_path):
    started = []

    def start(**options):
        started.append(start_standin(tmp_path / ("standin-%d" % len(started)), **options))
        return started[-1]
    yield start
    for running in started:
        running.stop()
