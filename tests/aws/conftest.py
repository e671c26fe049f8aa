"""The aws tests compare faaset's SigV4 signer with botocore's.

They run with the machine's preinstalled python3 (the first on PATH that is
not Debian's), which has botocore. Without botocore they cannot prove
anything, so they fail rather than skip."""
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


@pytest.fixture(scope="session")
def sigv4_tool():
    path = os.environ.get("FAASET_SIGV4_TOOL")
    if not path or not os.access(path, os.X_OK):
        pytest.fail(f"FAASET_SIGV4_TOOL must name the built sigv4_tool (got {path!r})")
    return path
