# FaaSET inline figures: matplotlib's figures shown in the cell's output.
#
# Two ways, chosen by faaset_language.py:
#
# - With IPython, matplotlib's backend is matplotlib_inline's (Debian's
#   python3-matplotlib-inline, the one ipykernel uses): matplotlib's backend
#   defaults to module://matplotlib_inline.backend_inline, so `plt.show()`, `%matplotlib
#   inline` and `%config InlineBackend.*` are its own. Only its end-of-cell
#   flush is replaced by Figures.flush below, which skips figures the cell
#   already showed (matplotlib_inline shows a figure again that `display(fig)`
#   or a last-line `fig` already showed).
# - Without IPython, it defaults to module://faaset_inline_backend, a module
#   this file creates when matplotlib first imports it. Its
#   show() displays every open figure and closes it; InlineConfig holds the
#   InlineBackend settings `%config` sets (figure_formats, print_figure_kwargs,
#   close_figures, rc).
#
# The default is set by a finder on sys.meta_path when a cell first imports
# matplotlib (matplotlib is never imported before a cell does), not through
# MPLBACKEND, which subprocesses would inherit; a user's MPLBACKEND wins.
#
# Either way a figure is one display_data (image/png base64, or image/svg+xml)
# with text/plain, and a figure shown during a cell (display(fig), plt.show(),
# the last expression) is not shown again by the flush at its end.
import base64
import importlib.abc
import importlib.util
import io
import os
import sys

BACKEND_MODULE = "faaset_inline_backend"
MATPLOTLIB_INLINE = "module://matplotlib_inline.backend_inline"
FORMATS = {"png": "image/png", "retina": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg",
           "svg": "image/svg+xml", "pdf": "application/pdf"}


class InlineConfig:
    """InlineBackend's settings without IPython (its names and defaults)."""

    def __init__(self):
        self.figure_formats = {"png"}
        self.print_figure_kwargs = {"bbox_inches": "tight"}
        self.close_figures = True
        self.rc = {}

    def settings(self):
        return {"figure_formats": self.figure_formats, "print_figure_kwargs": self.print_figure_kwargs,
                "close_figures": self.close_figures, "rc": self.rc}

    def set(self, name, value):
        """InlineBackend.NAME = value; ValueError says what is wrong."""
        if name == "figure_format":  # IPython's older, singular name
            name, value = "figure_formats", [value]
        if name == "figure_formats":
            formats = {value} if isinstance(value, str) else set(value)
            unknown = sorted(str(f) for f in formats if f not in FORMATS)
            if unknown or not formats:
                raise ValueError("InlineBackend.figure_formats takes formats among %s, not %s"
                                 % (", ".join(sorted(FORMATS)), ", ".join(unknown) or "nothing"))
            self.figure_formats = formats
        elif name == "print_figure_kwargs" and isinstance(value, dict):
            self.print_figure_kwargs = dict(value)
        elif name == "close_figures":
            self.close_figures = bool(value)
        elif name == "rc" and isinstance(value, dict):
            self.rc = dict(value)
            if "matplotlib" in sys.modules:
                sys.modules["matplotlib"].rcParams.update(self.rc)
        else:
            raise ValueError("InlineBackend has no setting %s of that type; it has figure_formats (a list), "
                             "print_figure_kwargs (a dict), close_figures (a bool) and rc (a dict)" % name)


def figure_bundle(figure, config):
    """(data, metadata) of a matplotlib figure in config's formats."""
    data = {"text/plain": repr(figure)}
    for name in sorted(config.figure_formats):
        mime = FORMATS[name]
        buffer = io.BytesIO()
        kwargs = dict(config.print_figure_kwargs)
        if name == "retina":
            kwargs["dpi"] = 2 * figure.dpi
            name = "png"
        figure.canvas.print_figure(buffer, format=name, **kwargs)
        raw = buffer.getvalue()
        data[mime] = raw.decode("utf-8") if mime == "image/svg+xml" else base64.b64encode(raw).decode("ascii")
    return data, {}


def own_backend_active():
    """pyplot is in use with faaset_inline_backend (not a backend the user chose)."""
    matplotlib = sys.modules.get("matplotlib")
    return (matplotlib is not None and "matplotlib.pyplot" in sys.modules
            and matplotlib.get_backend() == "module://" + BACKEND_MODULE)


def is_figure(obj):
    figure_module = sys.modules.get("matplotlib.figure")
    return figure_module is not None and isinstance(obj, figure_module.Figure)


class Figures:
    """What this cell showed, and the flush at its end."""

    def __init__(self):
        self._shown = set()

    def begin_cell(self):
        self._shown.clear()

    def mark_shown(self, figure):
        self._shown.add(id(figure))

    def was_shown(self, figure):
        return id(figure) in self._shown

    def open_figures(self):
        """The figures pyplot holds open (none if pyplot was never imported)."""
        helpers = sys.modules.get("matplotlib._pylab_helpers")
        if helpers is None:
            return []
        return [manager.canvas.figure for manager in helpers.Gcf.get_all_fig_managers()]

    def flush(self, display, close, only_stale=False):
        """Show each open figure not shown yet by this cell; close them all if close."""
        try:
            for figure in self.open_figures():
                if not self.was_shown(figure) and (not only_stale or figure.stale):
                    display(figure)
                    self.mark_shown(figure)
        finally:
            if close and self.open_figures():
                sys.modules["matplotlib.pyplot"].close("all")


class _MatplotlibHook(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Sets matplotlib's default backend when a cell first imports matplotlib
    (not through MPLBACKEND, which subprocesses would inherit), and creates
    faaset_inline_backend when matplotlib imports it."""

    def __init__(self, backend, show):
        self._backend = backend
        self._show = show

    def find_spec(self, name, path=None, target=None):
        if name == BACKEND_MODULE and self._show is not None:
            return importlib.util.spec_from_loader(name, self)
        if name != "matplotlib" or "MPLBACKEND" in os.environ:
            return None
        for finder in sys.meta_path:
            spec = finder.find_spec(name, path, target) if finder is not self and hasattr(finder, "find_spec") else None
            if spec is not None and spec.loader is not None:
                load = spec.loader.exec_module
                spec.loader.exec_module = lambda module: (load(module), self._set_backend(module))
                return spec
        return None

    def _set_backend(self, matplotlib):
        matplotlib.rcParams["backend"] = self._backend
        matplotlib.rcParamsOrig["backend"] = self._backend  # what a bare %matplotlib goes back to

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        from matplotlib.backend_bases import FigureManagerBase
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        module.FigureCanvas = FigureCanvasAgg
        module.FigureManager = FigureManagerBase
        module.show = self._show


def install_own_backend(show):
    """Makes module://faaset_inline_backend matplotlib's default backend;
    show(close=None, block=None) is its show()."""
    sys.meta_path.insert(0, _MatplotlibHook("module://" + BACKEND_MODULE, show))


def use_matplotlib_inline():
    """Makes matplotlib_inline's backend matplotlib's default one (as ipykernel does)."""
    sys.meta_path.insert(0, _MatplotlibHook(MATPLOTLIB_INLINE, None))
