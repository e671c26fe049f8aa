"""`from Inspector import *` inside a function, as the FaaSET paper prints it.

Python 3 refuses `import *` anywhere but at module level (a SyntaxError when
the code is compiled), yet the paper's Figure 2 puts SAAF's import inside the
cloud function's def. The runtime accepts exactly that one import: before a
cell (or a %%cloud_function body, or the source @cloud_function deploys) is
compiled, `rewrite` replaces each `from Inspector import *` that stands inside
a def or lambda's body with an import of the Inspector module's public names
(its `__all__`: `from Inspector import Inspector`), in place, so every line
keeps its number and the deployed source is the rewritten one. Any other
`import *` inside a def is left alone and stays Python's SyntaxError, as is
text that does not parse. The check is a substring test first, so cells
without the import cost nothing more.
"""
import ast

_MODULE = "Inspector"


def _public_names():
    import Inspector
    return ", ".join(Inspector.__all__)


def _star_imports_in_functions(tree):
    """The `from Inspector import *` nodes that are inside a function body."""
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            if (in_function and isinstance(child, ast.ImportFrom) and child.module == _MODULE
                    and child.level == 0 and [alias.name for alias in child.names] == ["*"]):
                found.append(child)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                           ast.Lambda)))
    visit(tree, False)
    return found


def rewrite(source):
    """`source` with every `from Inspector import *` inside a def made an
    import of the Inspector's public names; unchanged when there is none."""
    if "import" not in source or "*" not in source or _MODULE not in source:
        return source
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    nodes = _star_imports_in_functions(tree)
    if not nodes:
        return source
    lines = source.splitlines(True)
    replacement = ("from %s import %s" % (_MODULE, _public_names())).encode("utf-8")
    # From the last to the first, so earlier offsets stay valid; offsets are UTF-8 bytes.
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        if node.lineno != node.end_lineno:  # `from Inspector import \` over lines: join them
            first = lines[node.lineno - 1].encode("utf-8")
            last = lines[node.end_lineno - 1].encode("utf-8")
            lines[node.lineno - 1] = (first[:node.col_offset] + replacement
                                      + last[node.end_col_offset:]).decode("utf-8")
            for number in range(node.lineno, node.end_lineno):
                lines[number] = "\n"
            continue
        line = lines[node.lineno - 1].encode("utf-8")
        lines[node.lineno - 1] = (line[:node.col_offset] + replacement
                                  + line[node.end_col_offset:]).decode("utf-8")
    return "".join(lines)
