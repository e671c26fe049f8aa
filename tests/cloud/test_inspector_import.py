"""The paper's Figure 2, `from Inspector import *` inside the cloud
function's def, through nbclient on the local platform: in a %%cloud_function
cell and under @cloud_function in a plain cell, it deploys and runs (the
package holds the rewritten import); any other `import *` inside a def stays
Python's SyntaxError on both paths. (test_pager_completion checks that
%%cloud_function's help says so.)

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/cloud/test_inspector_import.py
"""
MAGIC = '''%%cloud_function memory=128
def figure2(request, context):
    from Inspector import *
    inspector = Inspector()
    inspector.inspectAll()
    inspector.addAttribute("message", "Hello " + request["name"] + "!")
    return inspector.finish()'''

DECORATED = '''@cloud_function(memory=128, platforms=[Platform.LOCAL])
def decorated(request, context):
    from Inspector import *
    inspector = Inspector()
    inspector.inspectPlatform()
    inspector.addAttribute("message", "Hi " + request["name"])
    return inspector.finish()'''

CALL = 'import json\nr = {name}({{"name": "Bob"}})\nprint(json.dumps([r["message"], r["platform"], r["lang"]]))'

OTHER_MAGIC = '''%%cloud_function
def other(request, context):
    from os import *
    return 1'''

OTHER_DECORATED = '''@cloud_function(platforms=[Platform.LOCAL])
def other_decorated(request, context):
    from os import *
    return 1'''


def test_figure_2_in_a_magic_cell_and_under_the_decorator(workspace):
    magic, call_magic, decorated, call_decorated, other, other_decorated = workspace.run(
        MAGIC, CALL.format(name="figure2"), DECORATED, CALL.format(name="decorated"),
        OTHER_MAGIC, OTHER_DECORATED)
    assert magic.ok().stdout.startswith("local: deployed figure2"), magic
    assert call_magic.ok().json() == ["Hello Bob!", "FaaSET Local", "python"]
    assert decorated.ok().stdout.startswith("local: deployed decorated"), decorated
    assert call_decorated.ok().json() == ["Hi Bob", "FaaSET Local", "python"]
    for cell in (other, other_decorated):
        assert cell.error.ename == "SyntaxError", cell
        assert "import * only allowed at module level" in cell.error.evalue, cell
        assert "deployed" not in cell.stdout, cell
    packaged = list((workspace.folder / ".faaset" / "local").glob("*/packages/*/faaset_function.py"))
    sources = {path.parent.parent.parent.name: path.read_text() for path in packaged}
    assert set(sources) == {"figure2", "decorated"}, sources
    for source in sources.values():
        assert "from Inspector import Inspector" in source and "import *" not in source, source
