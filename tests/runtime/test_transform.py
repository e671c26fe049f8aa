"""Tests for runtime/python/faaset_transform.py, the runtime's own turning of
IPython's syntax into Python (used where IPython does not import): it must
give the calls IPython's TransformerManager gives (compared here, with
Debian's IPython), and leave alone what is not IPython's syntax (a `%` line
inside a string or brackets, Python's own `%`).

    /usr/bin/python3 -m pytest -q tests/runtime/test_transform.py
"""
import ast
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "runtime", "python"))

import faaset_transform  # noqa: E402

SAME_AS_IPYTHON = [
    "!ls -l",
    "files = !ls\nprint(files)",
    "x = %pwd",
    "%time total = sum(range(10))",
    "a = 1\n%config Completer.use_jedi = False\nb = 2",
    "for i in range(3):\n    %time i\n    !echo $i\n",
    "def f():\n    %timeit -n 1 pass\n    return 1\n",
    "%%writefile f.py\nprint('x')\n",
    "%%bash\necho {1 + 2}\n",
    "%%time\nx = 1\nx\n",
    "import os\n%%cloud_function memory=256\ndef f(request, context):\n    return {}",
    "a, b = !echo 1; echo 2",
    "%env A=1",
]


class SameAsIPython(unittest.TestCase):
    def test_the_same_calls_as_ipythons_transformer(self):
        try:
            from IPython.core.inputtransformer2 import TransformerManager
        except ImportError:
            self.fail("IPython is needed to compare with (Debian's python3-ipython for /usr/bin/python3)")
        ipython = TransformerManager()
        for cell in SAME_AS_IPYTHON:
            with self.subTest(cell=cell):
                ours = faaset_transform.transform_cell(cell)
                self.assertEqual(ours.rstrip("\n"), ipython.transform_cell(cell).rstrip("\n"))
                ast.parse(ours)


class LeftAlone(unittest.TestCase):
    def test_percent_and_bang_lines_that_are_python(self):
        for cell in ('s = """\n%not a magic\n!nor this\n"""\nprint(s)',
                     "values = [\n    1,\n    2\n]\n%time 1",
                     "x = (1 +\n     2)\n!echo after",
                     "y = 7 % 3\n!echo ok",
                     "z = 'a' \\\n    '%b'\n%pwd"):
            with self.subTest(cell=cell):
                python = faaset_transform.transform_cell(cell)
                ast.parse(python)
                self.assertNotIn("run_line_magic('not", python)
                self.assertNotIn("system('nor", python)

    def test_a_cell_magic_line_must_name_one(self):
        with self.assertRaises(SyntaxError):
            faaset_transform.transform_cell("%% no name\nbody")


if __name__ == "__main__":
    unittest.main()
