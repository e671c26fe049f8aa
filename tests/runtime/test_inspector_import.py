"""Tests for runtime/python/faaset_inspector_import.py: `from Inspector import *`
inside a def becomes an import of the Inspector's public names, in place (every
line keeps its number); nothing else changes, and any other `import *` in a
def still fails to compile.

    /usr/bin/python3 -m pytest -q tests/runtime/test_inspector_import.py
"""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "runtime" / "python"))

import faaset_inspector_import as star  # noqa: E402

FIGURE_2 = '''def hello_world(request, context):
    from Inspector import *
    inspector = Inspector()
    return inspector.finish()
'''


def test_the_papers_import_in_a_def_compiles_and_runs():
    source = star.rewrite(FIGURE_2)
    assert source == FIGURE_2.replace("import *", "import Inspector")
    namespace = {}
    exec(compile(source, "<cell>", "exec"), namespace)
    assert namespace["hello_world"]({}, None)["lang"] == "python"


def test_nested_async_lambda_multiline_and_semicolon_keep_line_numbers():
    source = ("async def a():\n"
              "    x = 1; from Inspector import *  # paper\n"
              "    def inner():\n"
              "        from Inspector import \\\n"
              "            *\n"
              "        return Inspector\n"
              "    return inner()\n")
    rewritten = star.rewrite(source)
    assert rewritten.count("from Inspector import Inspector") == 2
    assert "# paper" in rewritten
    assert len(rewritten.splitlines()) == len(source.splitlines())
    compile(rewritten, "<cell>", "exec")


def test_module_level_and_other_modules_are_left_alone():
    module_level = "from Inspector import *\nprint(Inspector)\n"
    assert star.rewrite(module_level) is module_level
    other = "def f():\n    from os import *\n"
    assert star.rewrite(other) is other
    with pytest.raises(SyntaxError, match="import \\* only allowed at module level"):
        compile(star.rewrite(other), "<cell>", "exec")
    relative = "def f():\n    from .Inspector import *\n"
    assert star.rewrite(relative) is relative
    both = "def f():\n    from Inspector import *\n    from os import *\n"
    with pytest.raises(SyntaxError):
        compile(star.rewrite(both), "<cell>", "exec")


def test_text_that_does_not_parse_is_returned_as_is():
    broken = "def f(:\n    from Inspector import *\n"
    assert star.rewrite(broken) is broken
    assert star.rewrite("") == ""
