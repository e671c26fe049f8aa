"""Fixtures for the real-client tests (nbconvert, jupyter execute, jupyter
console)."""
import os
import signal

import pytest

from client_helpers import Sandbox, processes_mentioning


@pytest.fixture
def sandbox():
    box = Sandbox()
    try:
        yield box
    finally:
        for pid in processes_mentioning(str(box.dir)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        box.cleanup()

