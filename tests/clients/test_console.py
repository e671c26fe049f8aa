"""`jupyter console --kernel faaset` typed into through a pseudo-terminal
(pexpect), the way a person uses it.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -v tests/clients/test_console.py
"""
import re
import shutil
import termios
import time

import pexpect
import pytest

from client_helpers import assert_no_sanitizer_report, wait_for_no_kernels

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")
STEP = 30  # seconds for any one expected answer


class Console:
    """A jupyter-console session in a pty, with its whole transcript kept."""

    def __init__(self, sandbox):
        program = shutil.which("jupyter-console", path=sandbox.env.get("PATH")) or "/usr/bin/jupyter-console"
        env = dict(sandbox.env, TERM="dumb", COLUMNS="200", LINES="50")
        self.child = pexpect.spawn(program, ["--kernel", "faaset"], env=env, cwd=str(sandbox.dir),
                                   encoding="utf-8", codec_errors="replace", timeout=STEP, dimensions=(50, 200))
        self.raw = []
        self.pos = 0  # where in the cleaned transcript the next expect() looks
        self.child.logfile_read = self

    # pexpect writes what it reads here
    def write(self, data):
        self.raw.append(data)

    def flush(self):
        pass

    def transcript(self):
        return ANSI.sub("", "".join(self.raw))

    def expect(self, pattern, timeout=STEP):
        """Waits for PATTERN (a regex, or pexpect.EOF) in the transcript with
        terminal escapes removed, after the previous match."""
        deadline = time.monotonic() + timeout
        while True:
            if pattern is not pexpect.EOF:
                match = re.compile(pattern).search(self.transcript(), self.pos)
                if match:
                    self.pos = match.end()
                    return match
            try:
                self.child.read_nonblocking(4096, timeout=0.1)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                if pattern is pexpect.EOF:
                    return None
                pytest.fail(f"jupyter console ended while waiting for {pattern!r}; transcript:\n{self.transcript()}")
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter console: no {pattern!r} within {timeout} s; transcript:\n{self.transcript()}")

    def prompt(self, n):
        self.expect(rf"In \[{n}\]: ")

    def wait_for_line_editor(self, timeout=STEP):
        """Waits until prompt_toolkit reads the terminal in raw mode (ICANON
        off): keys typed before that would go through the tty's line editing."""
        deadline = time.monotonic() + timeout
        while termios.tcgetattr(self.child.child_fd)[3] & termios.ICANON:
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter console did not start reading its prompt; transcript:\n{self.transcript()}")
            try:
                self.child.read_nonblocking(4096, timeout=0.05)
            except pexpect.TIMEOUT:
                pass
            except pexpect.EOF:
                pytest.fail(f"jupyter console ended; transcript:\n{self.transcript()}")

    def type(self, line, at_prompt=True):
        """Types LINE and Enter; AT_PROMPT waits for the line editor first
        (an answer to input() is read by plain input() instead)."""
        if at_prompt:
            self.wait_for_line_editor()
        self.child.send(line + "\r")

    def close(self):
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def console(sandbox):
    session = Console(sandbox)
    try:
        yield session
    finally:
        session.close()


def exit_console(console, sandbox):
    """Ctrl-D, confirmed with y; checks the console and its kernel end quickly."""
    console.wait_for_line_editor()
    started = time.monotonic()
    console.child.send("\x04")
    console.expect(r"Do you really want to exit \(\[y\]/n\)\? ")
    console.type("y", at_prompt=False)
    console.expect(pexpect.EOF, timeout=10)
    console.child.close()
    elapsed = time.monotonic() - started
    assert console.child.exitstatus == 0, (
        f"jupyter console exited with {console.child.exitstatus} / signal {console.child.signalstatus}:\n"
        f"{console.transcript()}")
    assert elapsed < 8, f"exiting took {elapsed:.1f} s:\n{console.transcript()}"
    assert "Shutting down kernel" in console.transcript()
    left = wait_for_no_kernels(sandbox, timeout=5)
    assert not left, f"the kernel is still running after the console exited: {left}\n{console.transcript()}"
    assert_no_sanitizer_report(console.transcript(), "the console (kernel stderr goes to the terminal)")


def test_console_input_and_print(console, sandbox):
    console.expect("FaaSET kernel")  # the kernel's banner from kernel_info
    console.prompt(1)
    # Debian's jupyter-console 6.4.4 breaks ("cannot enter context ... is already entered") when an
    # input_request comes more than about 0.1 s after the cell starts, with ipykernel too (time.sleep(0.12)
    # before input() is enough); the first cell also waits for IPython's shell, so input() comes second
    console.type("greeting = 'hi'")
    console.prompt(2)
    console.type("name = input('Your name: ')")
    console.expect("Your name: ")
    console.type("Ada", at_prompt=False)
    console.prompt(3)
    console.type("print(greeting, name)")
    console.expect(r"\nhi Ada\r?\n")
    console.prompt(4)
    exit_console(console, sandbox)
    transcript = console.transcript()
    assert "Traceback" not in transcript, transcript


def test_console_results_errors_and_continuation_lines(console, sandbox):
    console.prompt(1)
    console.type("6 * 7")
    console.expect(r"Out\[1\]: 42\n")
    console.prompt(2)
    console.type("{}['missing']")
    console.expect(r"Traceback \(most recent call last\)")
    console.expect(r"KeyError: 'missing'\n")
    console.prompt(3)
    # is_complete_request says these lines need more: the console keeps
    # reading (its continuation prompt is not drawn on TERM=dumb) and indents
    # the next line as the kernel asked; a kernel answering "complete" would
    # make it run `def double(x):` alone, a SyntaxError
    start = console.pos
    console.type("def double(x):")
    console.type("return x * 2")
    console.type("")
    console.prompt(4)
    defined = console.transcript()[start:console.pos]
    assert "Error" not in defined, defined
    console.type("double(21)")
    console.expect(r"Out\[4\]: 42\n")
    console.prompt(5)
    exit_console(console, sandbox)
    transcript = console.transcript()
    assert "is_complete_request" not in transcript, transcript
