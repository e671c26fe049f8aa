# FaaSET cell language without IPython: turns IPython's syntax into Python.
#
# The runtime uses IPython's own TransformerManager when IPython imports
# (faaset_language.py); this module is what it uses when it does not. It
# produces the same calls IPython's transformer does, so the rest of the
# runtime sees one form whichever path made it:
#
#   %%name args\nbody   ->  get_ipython().run_cell_magic('name', 'args', 'body')
#   %name args           ->  get_ipython().run_line_magic('name', 'args')
#   !cmd                 ->  get_ipython().system('cmd')
#   x = !cmd             ->  x = get_ipython().getoutput('cmd')
#   x = %name args       ->  x = get_ipython().run_line_magic('name', 'args')
#
# A `%` or `!` line is recognised only where a Python statement could start:
# not inside a string that spans lines, not inside brackets, not after a
# backslash continuation. A small scanner tracks those three states line by
# line (strings, comments and brackets; it does not need a full tokenizer,
# since a line it rewrites is shell text, not Python). Indentation is kept,
# so magics work inside loops and function bodies, as in IPython.
import re

_ASSIGNED = re.compile(r"^(?P<target>[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*(?P<escape>!|%)(?P<rest>.*)$")
_MAGIC = re.compile(r"^%(?P<name>[A-Za-z_][\w.]*)(?P<args>.*)$")


def transform_cell(code):
    """The Python source for a cell written in IPython's language."""
    stripped = code.lstrip("\n")
    if stripped.startswith("%%"):
        first, _, body = stripped.partition("\n")
        match = re.match(r"%%(?P<name>[A-Za-z_]\w*)(?P<args>.*)$", first)
        if match is None:
            raise SyntaxError("%r is not a cell magic line: write %%%%NAME [arguments]" % first)
        return "get_ipython().run_cell_magic(%r, %r, %r)\n" % (match["name"], match["args"].strip(), body)
    scanner = _Scanner()
    lines = []
    for line in code.split("\n"):
        if scanner.at_statement_start():
            rewritten = _rewrite_line(line)
            if rewritten is not None:
                lines.append(rewritten)
                continue
        scanner.feed(line)
        lines.append(line)
    return "\n".join(lines)


def _rewrite_line(line):
    """The Python form of one `%` / `!` line, or None if it is plain Python."""
    body = line.lstrip()
    indent = line[:len(line) - len(body)]
    if not body:
        return None
    assigned = _ASSIGNED.match(body)
    target = ""
    if assigned is not None:
        target = assigned["target"] + " = "
        body = assigned["escape"] + assigned["rest"]
    if body.startswith("!!"):
        return "%s%sget_ipython().getoutput(%r)" % (indent, target, body[2:].strip())
    if body.startswith("!"):
        call = "getoutput" if target else "system"
        return "%s%sget_ipython().%s(%r)" % (indent, target, call, body[1:].strip())
    if body.startswith("%"):  # `%%name` here is not a cell's first line: a line magic named `%name`, as in IPython
        cell_mark = "%" if body.startswith("%%") else ""
        magic = _MAGIC.match(body[len(cell_mark):])
        if magic is None:
            return None
        return "%s%sget_ipython().run_line_magic(%r, %r)" % (indent, target, cell_mark + magic["name"],
                                                            magic["args"].strip())
    return None


class _Scanner:
    """Tracks, line after line, whether the next line starts a statement."""

    def __init__(self):
        self._quote = None      # the quote of a string that spans lines (''' or \"\"\" or ' / " after \\)
        self._depth = 0         # open brackets
        self._continued = False  # the last line ended with a backslash

    def at_statement_start(self):
        return self._quote is None and self._depth == 0 and not self._continued

    def feed(self, line):
        index, length = 0, len(line)
        self._continued = False
        while index < length:
            if self._quote is not None:
                end = line.find(self._quote, index)
                escaped = end
                while end >= 0 and _escaped(line, end):
                    end = line.find(self._quote, end + 1)
                    escaped = end
                if escaped < 0:
                    self._continued = len(self._quote) == 1 and line.endswith("\\")
                    if len(self._quote) == 1 and not self._continued:
                        self._quote = None  # an unterminated one-line string: Python reports it
                    return
                index = end + len(self._quote)
                self._quote = None
                continue
            char = line[index]
            if char == "#":
                return
            if char in "'\"":
                triple = line[index:index + 3]
                self._quote = triple if triple in ("'''", '"""') else char
                index += len(self._quote)
                continue
            if char in "([{":
                self._depth += 1
            elif char in ")]}":
                self._depth = max(0, self._depth - 1)
            index += 1
        self._continued = line.endswith("\\")


def _escaped(line, position):
    """The character at position follows an odd number of backslashes."""
    count = 0
    while position - count - 1 >= 0 and line[position - count - 1] == "\\":
        count += 1
    return count % 2 == 1
