# FaaSET cell language with IPython: IPython's transformer, shell and magics.
#
# When IPython imports in the runtime's interpreter (Debian's python3-ipython
# for /usr/bin/python3), IPythonLanguage makes one InteractiveShell on the
# notebook's namespace (__main__) and uses IPython's own pieces rather than
# copies: TransformerManager turns a cell into Python, and every magic
# (%timeit, %run, %config, %pip, %%writefile, %matplotlib, ...) is IPython's.
# What a kernel must provide, ipykernel's part, is done here in a subclass:
#
# - display: the shell's DisplayPublisher sends display_data /
#   update_display_data / clear_output through the runtime, so
#   IPython.display.display() from any library reaches the cell;
# - set_next_input (what %load does) becomes the reply's payload;
# - %matplotlib accepts only inline (there is no GUI event loop here);
# - the shell's history is in memory, fed with each cell (for %history, In);
# - events pre_execute / pre_run_cell / post_execute / post_run_cell fire
#   around every cell, so extensions (%load_ext autoreload) work;
# - exit / quit stay the runtime's (the ask_exit payload), and the runtime's
#   display() stays builtins.display;
# - a magic that does not exist is an error naming the nearest one, the
#   kernel's magics included (faaset_language.Language.not_found).
#
# Figures: matplotlib_inline is the backend (faaset_inline.py); its
# end-of-cell flush is swapped for Figures.flush, which does not show again a
# figure the cell already showed. Where IPython imports but matplotlib_inline
# does not, the own backend of faaset_inline.py stands in, with the own
# shell's %matplotlib and %config InlineBackend.* (faaset_magics.py).
#
# IPython is imported only when IPythonLanguage is made (the runtime boots
# this module in every interpreter); ImportError then means "use the own
# language".
import builtins
import sys

import faaset_inline
import faaset_language


class IPythonLanguage(faaset_language.Language):
    name = "ipython"

    def magic_names(self):
        magics = self.shell.magics_manager.magics
        return ["%" + name for name in sorted(magics["line"])] + ["%%" + name for name in sorted(magics["cell"])]

    def __init__(self, runtime):
        super().__init__(runtime)
        from IPython.core.inputtransformer2 import TransformerManager
        self._transformer = TransformerManager()
        self._info = None
        import importlib.util
        found = importlib.util.find_spec("matplotlib_inline")  # found without importing it (it imports matplotlib)
        if found is not None and found.submodule_search_locations is not None:
            self.inline = self.stand_in = None  # matplotlib_inline's InlineBackend holds the settings
            faaset_inline.use_matplotlib_inline()
        else:  # the own backend, and the own %matplotlib and %config InlineBackend (IPython's need matplotlib_inline)
            import faaset_magics
            self.inline = faaset_inline.InlineConfig()
            faaset_inline.install_own_backend(self._show_figures)
            self.stand_in = faaset_magics.OwnShell(self)
        self.shell = _make_shell(self)

    def transform(self, code):
        return self._transformer.transform_cell(code)

    def before_cell(self, request, code):
        super().before_cell(request, code)
        from IPython.core.interactiveshell import ExecutionInfo
        shell = self.shell
        silent = bool(request.get("silent", False))
        store = bool(request.get("store_history", not silent)) and not silent
        if store:
            shell.execution_count = count = int(request.get("execution_count") or 0)
            shell.history_manager.store_inputs(count, code, code)
        try:
            self._info = ExecutionInfo(code, store, silent, True, request.get("cell_id"))
        except TypeError:  # IPython 7: no cell_id yet
            self._info = ExecutionInfo(code, store, silent, True)
        shell.events.trigger("pre_execute")
        if not silent:
            shell.events.trigger("pre_run_cell", self._info)

    def after_cell(self):
        from IPython.core.interactiveshell import ExecutionResult
        shell = self.shell
        inline = sys.modules.get("matplotlib_inline.backend_inline")
        if inline is not None:
            try:
                shell.events.unregister("post_execute", inline.flush_figures)
            except ValueError:
                pass
            self._flush_figures(inline)
        elif self.inline is not None and faaset_inline.own_backend_active():
            self.figures.flush(self._display, self.inline.close_figures)
        shell.events.trigger("post_execute")
        if not self._info.silent:
            shell.events.trigger("post_run_cell", ExecutionResult(self._info))

    def _flush_figures(self, inline):
        """matplotlib_inline's flush_figures, minus the figures the cell showed already."""
        show = inline.show
        if not getattr(show, "_draw_called", False):
            return
        close = inline.InlineBackend.instance().close_figures
        try:
            if close:
                self.figures.flush(self._display, close=True)
            else:
                waiting = [figure for figure in getattr(show, "_to_draw", []) if figure in self.figures.open_figures()]
                for figure in waiting:
                    if not self.figures.was_shown(figure):
                        self._display(figure)
        finally:
            show._to_draw = []
            show._draw_called = False

    def format(self, obj):
        """Figures (see Language.format), and objects with IPython's _repr_pretty_ (%lsmagic's), by IPython."""
        if not faaset_inline.is_figure(obj) and callable(getattr(type(obj), "_repr_pretty_", None)):
            return self.shell.display_formatter.format(obj)
        return super().format(obj)

    def _show_figures(self, close=None, block=None):
        """plt.show() when matplotlib_inline is missing and the own backend stands in."""
        self.figures.flush(self._display, self.inline.close_figures if close is None else close)

    def figure_bundle(self, figure):
        if self.inline is not None:
            return faaset_inline.figure_bundle(figure, self.inline)
        data, metadata = self.shell.display_formatter.format(figure)
        if set(data) == {"text/plain"}:  # no inline backend has set up the figure formatters yet
            from matplotlib_inline.config import InlineBackend
            return faaset_inline.figure_bundle(figure, InlineBackend.instance())
        return data, metadata

    def _display(self, obj):
        import faaset_host
        faaset_host.display(obj)


def _make_shell(language):
    """The InteractiveShell subclass this runtime needs, and its one instance."""
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.error import UsageError
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    import faaset_host

    class FaasetDisplayPublisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            display_id = (transient or {}).get("display_id")
            faaset_host.display(data, raw=True, metadata=metadata, display_id=display_id, update=update)

        def clear_output(self, wait=False):
            faaset_host.clear_output(wait)

    class FaasetShell(InteractiveShell):
        display_pub_class = FaasetDisplayPublisher

        def enable_matplotlib(self, gui=None):
            self.enable_gui(gui)  # before IPython switches matplotlib to a GUI backend
            return super().enable_matplotlib(gui)

        def enable_gui(self, gui=None):
            if gui not in (None, "inline"):
                raise UsageError("%%matplotlib %s: this kernel shows figures inline only; use %%matplotlib inline"
                                 % gui)

        def set_next_input(self, text, replace=False):
            cell = language.runtime.cell
            if cell is not None:
                cell.payload.append({"source": "set_next_input", "text": text, "replace": bool(replace)})

        def init_user_ns(self):
            super().init_user_ns()
            for name in ("exit", "quit"):
                self.user_ns.pop(name, None)
                self.user_ns_hidden.pop(name, None)

        def run_line_magic(self, magic_name, line, _stack_depth=1):
            if language.stand_in is not None and (magic_name == "matplotlib" or (
                    magic_name == "config" and line.strip().startswith("InlineBackend"))):
                return language.stand_in.run_line_magic(magic_name, line)
            if magic_name == "config" and language.inline is None:
                _configurable_inline_backend(self)
            if self.find_line_magic(magic_name) is None:
                raise language.not_found("line", magic_name, sorted(self.magics_manager.magics["line"]),
                                         UsageError)
            return super().run_line_magic(magic_name, line, _stack_depth + 1)

        def run_cell_magic(self, magic_name, line, cell):
            if self.find_cell_magic(magic_name) is None and self.find_line_magic(magic_name) is None:
                raise language.not_found("cell", magic_name, sorted(self.magics_manager.magics["cell"]),
                                         UsageError)
            return super().run_cell_magic(magic_name, line, cell)

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    display = builtins.display
    main = sys.modules["__main__"]
    shell = FaasetShell.instance(config=config, user_module=main, user_ns=main.__dict__)
    builtins.display = display  # InteractiveShell puts IPython's there; the runtime's tracks figures
    return shell


def _configurable_inline_backend(shell):
    """Lets %config set InlineBackend.* before any figure: matplotlib_inline
    registers it only when its backend loads. Importing it imports
    matplotlib, so this waits for the first %config; without matplotlib
    there is no InlineBackend, and %config says so if it is named."""
    try:
        from matplotlib_inline.config import InlineBackend
    except ImportError:
        return
    inline = InlineBackend.instance(parent=shell)
    if inline not in shell.configurables:
        inline.shell = shell
        shell.configurables.append(inline)
