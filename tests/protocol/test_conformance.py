"""Jupyter's standard conformance suite (jupyter_kernel_test) against faaset.

Every sample attribute is filled in, so no test of the suite is skipped; run
with `/usr/bin/python3 -m unittest -v` so each subtest is reported. The
kernelspec is installed into a private sandbox (see tests/support), with its
own history file, for the run of this module.
"""
import atexit
import os
import pathlib
import sys
import unittest

import jupyter_kernel_test

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "support"))
from faaset_testing import Sandbox  # noqa: E402

_sandbox = Sandbox()
os.environ.update(_sandbox.env)
atexit.register(_sandbox.cleanup)


class FaasetKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "faaset"
    language_name = "python"
    file_extension = ".py"

    code_hello_world = "print('hello, world')"
    code_stderr = "import sys; print('test', file=sys.stderr)"

    completion_samples = [
        {"text": "zi", "matches": {"zip"}},
        {"text": "str.isdi", "matches": {"isdigit"}},
        {"text": "print(len(abs", "matches": {"abs"}},
    ]
    complete_code_samples = ["1", "print('hello, world')", "def f(x):\n  return x*2\n\n\n"]
    incomplete_code_samples = ["print('''hello", "def f(x):\n  x*2", "for i in range(3):"]
    invalid_code_samples = ["import = 7q", "1 +* 2"]

    code_page_something = "print?"

    code_generate_error = "raise ValueError('conformance')"

    code_execute_result = [
        {"code": "1+2+3", "result": "6"},
        {"code": "[n*n for n in range(4)]", "result": "[0, 1, 4, 9]"},
        {"code": "class H:\n    def _repr_html_(self):\n        return '<b>hi</b>'\nH()",
         "mime": "text/html", "result": "<b>hi</b>"},
    ]
    code_display_data = [
        {"code": "display(1234)", "mime": "text/plain"},
        {"code": "class S:\n    def _repr_svg_(self):\n        return '<svg xmlns=\"http://www.w3.org/2000/svg\"/>'\ndisplay(S())",
         "mime": "image/svg+xml"},
    ]
    code_history_pattern = "1?2*"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "zip"
    code_clear_output = "clear_output(wait=True)"


if __name__ == "__main__":
    unittest.main(verbosity=2)
