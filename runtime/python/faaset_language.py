# FaaSET cell language: IPython's syntax and magics in the runtime's cells.
#
# A plain cell that Python cannot parse is handed to a Language, which turns
# `!cmd`, `x = !cmd`, `%magic` (on any line, in loops, `x = %pwd`) and
# `%%magic` cells into calls on the object get_ipython() returns, as IPython
# does. start() picks one of two Languages:
#
# - IPythonLanguage (faaset_ipython.py) when IPython imports in the runtime's
#   interpreter: IPython's own TransformerManager and a real InteractiveShell
#   on the notebook's namespace, so every IPython magic is IPython's own.
# - OwnLanguage (faaset_magics.py) otherwise: faaset_transform.py's
#   transformer and this project's implementations of the magics people use.
#
# What both share lives here: the hooks the runtime calls around a cell
# (before_cell / after_cell, where figures are flushed, faaset_inline.py),
# format() for objects that need a formatter (matplotlib figures), and the
# error for a magic neither the runtime nor the kernel has, which names it
# and suggests the nearest one. The kernel lists its own magics in each
# execute request (`kernel_magics`), so a kernel magic written among Python
# lines gets an error saying where it belongs.
import difflib
import os
import sys

import faaset_inline

# FAASET_IPYTHON=0 makes the runtime use its own cell language even where IPython imports.
IPYTHON_SWITCH = "FAASET_IPYTHON"


class Language:
    """What the runtime calls; the two languages fill in transform() and the shell."""

    name = ""

    def __init__(self, runtime):
        self.runtime = runtime
        self.figures = faaset_inline.Figures()
        self.kernel_magics = ()
        self.shell = None

    def get_ipython(self):
        """builtins.get_ipython: the shell the transformed calls go to."""
        return self.shell

    def transform(self, code):
        """The Python source of a cell written in IPython's language."""
        raise NotImplementedError

    def before_cell(self, request, code):
        magics = request.get("kernel_magics")
        self.kernel_magics = tuple(str(name) for name in magics) if isinstance(magics, list) else ()
        self.figures.begin_cell()

    def after_cell(self):
        """Runs after every cell, also one that raised: shows the figures it left."""

    def format(self, obj):
        """(data, metadata) for an object the runtime's mime_bundle cannot show, else None."""
        if not faaset_inline.is_figure(obj):
            return None
        self.figures.mark_shown(obj)
        return self.figure_bundle(obj)

    def figure_bundle(self, figure):
        raise NotImplementedError

    def magic_names(self):
        """The runtime's magics as typed: ["%name", ..., "%%name", ...]."""
        raise NotImplementedError

    def not_found(self, kind, name, known, error_class):
        """The error for a `%name` (kind "line") or `%%name` (kind "cell") that nothing knows."""
        if name.startswith("%"):  # `%%name` below the first line: IPython's transformer makes it a line magic
            return error_class("%%%s is a cell magic: it must be the first line of its cell" % name)
        marks = "%" if kind == "line" else "%%"
        typed = marks + name
        kernel = [magic for magic in self.kernel_magics if magic.lstrip("%") == name]
        if kernel:
            where = ("alone in a cell of its own (blank and comment lines aside)" if kernel[0].count("%") == 1
                     else "the first line of its cell")
            return error_class("%s is a FaaSET kernel magic: it must be %s" % (kernel[0], where))
        candidates = [marks + magic for magic in known] + list(self.kernel_magics)
        nearest = difflib.get_close_matches(typed, candidates, n=1, cutoff=0.6)
        hint = " (did you mean %s?)" % nearest[0] if nearest else ""
        return error_class("%s magic `%s` not found%s; %%lsmagic lists the magics"
                           % ("Line" if kind == "line" else "Cell", typed, hint))


def start(runtime):
    """The Language for this interpreter: IPython's when it imports (and
    FAASET_IPYTHON is not 0), else the runtime's own."""
    if os.environ.get(IPYTHON_SWITCH, "1") != "0":
        import faaset_ipython
        try:
            return faaset_ipython.IPythonLanguage(runtime)
        except ImportError:
            pass
        except Exception as error:  # an IPython this code does not fit: say so, keep working
            sys.stderr.write("FaaSET: IPython's shell did not start (%s: %s); using the runtime's own cell "
                             "language\n" % (type(error).__name__, error))
    import faaset_magics
    return faaset_magics.OwnLanguage(runtime)
