# FaaSET cell language without IPython: the shell and the magics people use.
#
# When IPython does not import in the runtime's interpreter (or FAASET_IPYTHON
# is 0), OwnLanguage is the cell language: faaset_transform.py turns a cell
# into calls on OwnShell, which get_ipython() returns. OwnShell has IPython's
# call names (run_line_magic, run_cell_magic, system, getoutput) and one
# method per magic, `line_NAME(args)` or `cell_NAME(args, body)`, written to
# behave as IPython's do for what notebooks use: `!` / `%system`, %pip,
# %conda, %%writefile, %%bash / %%sh, %time / %%time, %timeit / %%timeit,
# %env, %cd / %pwd, %load, %run, %who / %whos, %lsmagic, %config
# (InlineBackend.* and Completer.*), %reset, %history and %matplotlib.
#
# Shell commands run with /bin/sh; their output is read here and written to
# the cell's stdout / stderr as it comes (in order with the cell's prints);
# `{expr}` and `$name` in them are expanded from the notebook's namespace
# first. An interrupt sends SIGINT to the command and stops the cell. Errors are UsageError (bad arguments, an
# unknown magic: named, with the nearest magic suggested).
import ast
import builtins
import codecs
import difflib
import os
import re
import selectors
import shlex
import signal
import subprocess
import sys
import threading
import time

import faaset_inline
import faaset_language
import faaset_transform

RESTART_NOTE = "Note: you may need to restart the kernel to use updated packages."
COMPLETER_SETTINGS = ("use_jedi", "greedy", "jedi_compute_type_timeout", "limit_to__all__", "merge_completions",
                      "omit__names", "backslash_combining_completions", "debug")


def _feed(pipe, data):
    """Writes a script to a command's stdin (on a thread: the command may write before it reads it all)."""
    try:
        pipe.write(data)
        pipe.close()
    except OSError:  # it exited without reading everything
        pass


class UsageError(Exception):
    """A magic used the wrong way, or one that does not exist."""


UsageError.__module__ = "builtins"  # the cell's error says `UsageError`, as IPython's


class SList(list):
    """What `x = !cmd` gives: the output's lines, with IPython's .s, .n and .l."""

    @property
    def s(self):
        return " ".join(self)

    @property
    def n(self):
        return "\n".join(self)

    @property
    def l(self):  # noqa: E743 - IPython's name
        return list(self)


class OwnLanguage(faaset_language.Language):
    name = "own"

    def magic_names(self):
        return self.shell.magic_names()

    def __init__(self, runtime):
        super().__init__(runtime)
        self.inline = faaset_inline.InlineConfig()
        self.shell = OwnShell(self)
        faaset_inline.install_own_backend(self.show_figures)

    def transform(self, code):
        return faaset_transform.transform_cell(code)

    def before_cell(self, request, code):
        super().before_cell(request, code)
        if request.get("store_history", True) and not request.get("silent", False):
            self.shell.history.append((int(request.get("execution_count") or 0), code))

    def after_cell(self):
        if faaset_inline.own_backend_active():
            close = self.inline.close_figures
            self.figures.flush(self._display, close, only_stale=not close)

    def show_figures(self, close=None, block=None):
        """plt.show() on the inline backend."""
        self.figures.flush(self._display, self.inline.close_figures if close is None else close)

    def figure_bundle(self, figure):
        return faaset_inline.figure_bundle(figure, self.inline)

    def _display(self, obj):
        import faaset_host
        faaset_host.display(obj)


def _parse_options(args, flags, valued=""):
    """(options, rest) for `-f -n 5 rest...` style arguments: flags take no value, valued ones do."""
    words = shlex.split(args)
    options = {}
    while words and words[0].startswith("-") and len(words[0]) == 2 and words[0][1] in flags + valued:
        letter = words.pop(0)[1]
        if letter in valued:
            if not words:
                raise UsageError("option -%s needs a value" % letter)
            options[letter] = words.pop(0)
        else:
            options[letter] = True
    return options, words


def _format_time(seconds):
    """IPython's way: 3 significant digits and a unit."""
    if seconds >= 60:
        minutes, rest = divmod(seconds, 60)
        return "%dmin %.0f s" % (minutes, rest)
    for unit, scale in (("s", 1), ("ms", 1e3), ("µs", 1e6), ("ns", 1e9)):
        if seconds >= 1 / scale or unit == "ns":
            return "%.3g %s" % (seconds * scale, unit)
    return "%.3g s" % seconds


class OwnShell:
    """get_ipython() without IPython: runs the transformed calls."""

    def __init__(self, language):
        self._language = language
        self.history = []  # (execution count, source) of the cells run here
        self.completer_settings = {}
        self._previous_dir = None
        self._hidden = set(self.user_ns)

    def __repr__(self):
        return "<FaaSET shell (IPython is not used: %s)>" % ("FAASET_IPYTHON=0" if os.environ.get(
            faaset_language.IPYTHON_SWITCH) == "0" else "it does not import")

    @property
    def user_ns(self):
        return self._language.runtime.namespace

    # -- what transformed cells call ---------------------------------------

    def run_line_magic(self, magic_name, line, _stack_depth=1):
        method = getattr(self, "line_" + magic_name, None)
        if method is None:
            raise self._language.not_found("line", magic_name, self._names("line_"), UsageError)
        return method(line)

    def run_cell_magic(self, magic_name, line, cell):
        method = getattr(self, "cell_" + magic_name, None)
        if method is None:
            if hasattr(self, "line_" + magic_name):
                raise UsageError("Cell magic `%%%%%s` not found (but line magic `%%%s` exists: write it "
                                 "with one %%)" % (magic_name, magic_name))
            raise self._language.not_found("cell", magic_name, self._names("cell_"), UsageError)
        return method(line, cell)

    def system(self, cmd):
        """`!cmd`: run it with /bin/sh; its output goes to the cell; _exit_code holds its status."""
        self.user_ns["_exit_code"] = self._run(["/bin/sh", "-c", self.var_expand(cmd)])

    def getoutput(self, cmd):
        """`x = !cmd`: its output (stdout and stderr) as a list of lines."""
        output = self._run(["/bin/sh", "-c", self.var_expand(cmd)], capture=True)
        return SList(output.splitlines())

    def var_expand(self, text):
        """`{expr}` and `$name` from the namespace, as IPython expands them (`$$` is `$`); what does not
        evaluate is left as written."""
        def replace(match):
            if match.group(0) == "$$":
                return "$"
            name, expression = match.group(1), match.group(2)
            try:
                if name is not None:
                    return str(self.user_ns[name]) if name in self.user_ns else match.group(0)
                return str(eval(expression, self.user_ns))
            except Exception:
                return match.group(0)
        return re.sub(r"\$\$|\$([A-Za-z_]\w*)|\{([^{}]+)\}", replace, text)

    def set_next_input(self, text, replace=False):
        """What %load does: the frontend puts text in the cell (IPython's set_next_input payload)."""
        cell = self._language.runtime.cell
        if cell is not None:
            cell.payload.append({"source": "set_next_input", "text": text, "replace": bool(replace)})

    # -- helpers -----------------------------------------------------------

    def _names(self, prefix):
        return sorted(name[len(prefix):] for name in dir(self) if name.startswith(prefix))

    def magic_names(self):
        return ["%" + name for name in self._names("line_")] + ["%%" + name for name in self._names("cell_")]

    def _run(self, argv, capture=False, stdin=None):
        """Runs argv; its status, or with capture its output (stdout and stderr).

        Its output is read here and written to sys.stdout / sys.stderr as it
        comes, so it stays in order with the cell's own prints. Interrupt:
        SIGINT to it (then SIGKILL after 2 s), and KeyboardInterrupt."""
        process = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT if capture else subprocess.PIPE)
        captured = []
        try:
            if stdin is not None:
                threading.Thread(target=_feed, args=(process.stdin, stdin.encode("utf-8")), daemon=True).start()
            pipes = [(process.stdout, sys.stdout)] + ([] if capture else [(process.stderr, sys.stderr)])
            with selectors.DefaultSelector() as selector:
                for pipe, writer in pipes:
                    selector.register(pipe, selectors.EVENT_READ, (writer, codecs.getincrementaldecoder("utf-8")("replace")))
                while selector.get_map():
                    for key, _ in selector.select():
                        block = os.read(key.fd, 65536)
                        writer, decoder = key.data
                        if not block:
                            selector.unregister(key.fileobj)
                        text = decoder.decode(block, final=not block)
                        if text and capture:
                            captured.append(text)
                        elif text:
                            writer.write(text)
            process.wait()
        except KeyboardInterrupt:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise
        finally:
            for pipe in (process.stdout, process.stderr):
                if pipe is not None:
                    pipe.close()
        return "".join(captured) if capture else process.returncode

    def _run_source(self, source, filename="<magic>"):
        """Runs a cell body (in this language) in the namespace; the value of its last expression."""
        try:
            module = ast.parse(source, filename)
        except SyntaxError:
            module = ast.parse(faaset_transform.transform_cell(source), filename)
        last = module.body.pop() if module.body and isinstance(module.body[-1], ast.Expr) else None
        exec(compile(module, filename, "exec"), self.user_ns)
        if last is not None:
            return eval(compile(ast.Expression(last.value), filename, "eval"), self.user_ns)
        return None

    # -- shell and packages ------------------------------------------------

    def line_system(self, line):
        return self.system(line)

    def line_sx(self, line):
        return self.getoutput(line)

    def line_pip(self, line):
        """%pip ARGS: pip of the runtime's interpreter (sys.executable -m pip)."""
        self._run([sys.executable, "-m", "pip"] + shlex.split(self.var_expand(line)))
        print(RESTART_NOTE)

    def line_conda(self, line):
        """%conda ARGS: conda, into the runtime's environment."""
        if not os.path.isdir(os.path.join(sys.prefix, "conda-meta")):
            raise UsageError("the Python runtime (%s) is not in a conda environment; use %%pip install instead"
                             % sys.executable)
        words = shlex.split(self.var_expand(line))
        if words and words[0] in ("install", "remove", "uninstall", "update", "upgrade", "list"):
            words[1:1] = ["--prefix", sys.prefix] + (["--yes"] if words[0] != "list" else [])
        self._run([os.environ.get("CONDA_EXE", "conda")] + words)
        print(RESTART_NOTE)

    def cell_bash(self, line, cell):
        self._script("bash", line, cell)

    def cell_sh(self, line, cell):
        self._script("sh", line, cell)

    def _script(self, program, line, cell):
        code = self._run([program] + shlex.split(line), stdin=cell)
        if code != 0:
            raise subprocess.CalledProcessError(code, program)

    def cell_writefile(self, line, cell):
        """%%writefile [-a] FILE: the body into FILE (-a: appended)."""
        options, words = _parse_options(line, "a")
        if len(words) != 1:
            raise UsageError("usage: %%writefile [-a] FILE")
        path = os.path.expanduser(words[0])
        exists = os.path.exists(path)
        print("%s %s" % ("Appending to" if options.get("a") else "Overwriting" if exists else "Writing", words[0]))
        with open(path, "a" if options.get("a") else "w", encoding="utf-8") as file:
            file.write(cell)

    # -- folders and the environment --------------------------------------

    def line_pwd(self, line):
        return os.getcwd()

    def line_cd(self, line):
        """%cd [DIR | -]: change the runtime's folder (no argument: home; -: the previous one)."""
        target = self.var_expand(line.strip())
        if target == "-":
            if self._previous_dir is None:
                raise UsageError("%cd -: there is no previous folder yet")
            target = self._previous_dir
        target = os.path.expanduser(target.strip("'\"") or "~")
        previous = os.getcwd()
        try:
            os.chdir(target)
        except OSError as error:
            raise UsageError("%%cd %s: %s" % (target, error.strerror)) from None
        self._previous_dir = previous
        print(os.getcwd())

    def line_env(self, line):
        """%env: all variables; %env NAME: one; %env NAME=VALUE or %env NAME VALUE: set it."""
        line = line.strip()
        if not line:
            return dict(os.environ)
        if "=" in line or " " in line:
            name, value = re.split(r"\s*=\s*|\s+", line, maxsplit=1)
            os.environ[name] = self.var_expand(value)
            print("env: %s=%s" % (name, os.environ[name]))
            return None
        if line not in os.environ:
            raise UsageError("Environment does not have key: %s" % line)
        return os.environ[line]

    # -- timing -------------------------------------------------------------

    def line_time(self, line):
        return self._time(line, "<timed exec>")

    def cell_time(self, line, cell):
        return self._time(cell, "<timed exec>")

    def _time(self, source, filename):
        wall, cpu = time.perf_counter(), os.times()
        try:
            return self._run_source(source, filename)
        finally:
            end = os.times()
            user, system = end.user - cpu.user, end.system - cpu.system
            print("CPU times: user %s, sys: %s, total: %s" % (_format_time(user), _format_time(system),
                                                             _format_time(user + system)))
            print("Wall time: %s" % _format_time(time.perf_counter() - wall))

    def line_timeit(self, line):
        return self._timeit(line, None)

    def cell_timeit(self, line, cell):
        return self._timeit(line, cell)

    def _timeit(self, line, cell):
        """%timeit [-n N] [-r R] [-q] [-o] STATEMENT; %%timeit [options] [SETUP] with the statement below."""
        import timeit
        options, words = _parse_options(line, "qo", "nr")
        rest = " ".join(words)
        statement, setup = (cell, rest or "pass") if cell is not None else (rest, "pass")
        if not statement.strip():
            raise UsageError("usage: %timeit [-n N] [-r R] [-q] [-o] STATEMENT")
        try:
            repeat = int(options.get("r", 7))
            number = int(options.get("n", 0))
        except ValueError:
            raise UsageError("%timeit: -n and -r take whole numbers") from None
        timer = timeit.Timer(statement, setup, globals=self.user_ns)
        if number <= 0:
            number = timer.autorange()[0]
        runs = [total / number for total in timer.repeat(repeat, number)]
        mean = sum(runs) / len(runs)
        deviation = (sum((run - mean) ** 2 for run in runs) / len(runs)) ** 0.5
        if not options.get("q"):
            print("%s ± %s per loop (mean ± std. dev. of %d run%s, %d loop%s each)"
                  % (_format_time(mean), _format_time(deviation), repeat, "" if repeat == 1 else "s",
                     number, "" if number == 1 else "s"))
        return {"loops": number, "repeat": repeat, "all_runs": runs, "average": mean,
                "stdev": deviation} if options.get("o") else None

    # -- the namespace --------------------------------------------------------

    def _user_names(self, types=()):
        names = []
        for name, value in self.user_ns.items():
            if name.startswith("_") or name in self._hidden:
                continue
            if types and type(value).__name__ not in types:
                continue
            names.append(name)
        return sorted(names)

    def line_who(self, line):
        names = self._user_names(line.split())
        print("\t ".join(names) if names else "Interactive namespace is empty.")

    def line_who_ls(self, line):
        return self._user_names(line.split())

    def line_whos(self, line):
        names = self._user_names(line.split())
        if not names:
            print("Interactive namespace is empty.")
            return
        rows = [(name, type(self.user_ns[name]).__name__, self._summary(self.user_ns[name])) for name in names]
        widths = [max(len("Variable"), *(len(r[0]) for r in rows)), max(len("Type"), *(len(r[1]) for r in rows))]
        print("%-*s   %-*s   Data/Info" % (widths[0], "Variable", widths[1], "Type"))
        print("-" * (widths[0] + widths[1] + 18))
        for name, kind, summary in rows:
            print("%-*s   %-*s   %s" % (widths[0], name, widths[1], kind, summary))

    @staticmethod
    def _summary(value):
        try:
            text = repr(value) if not isinstance(value, type(os)) else "<module '%s'>" % value.__name__
        except Exception:
            text = "<repr failed>"
        text = " ".join(text.split())
        return text if len(text) <= 60 else text[:57] + "..."

    def line_reset(self, line):
        """%reset [-f]: delete every name the notebook defined (asks first without -f)."""
        options, _ = _parse_options(line, "fs")
        if not options.get("f"):
            answer = builtins.input("Once deleted, variables cannot be recovered. Proceed (y/[n])? ")
            if answer.strip().lower() not in ("y", "yes"):
                print("Nothing done.")
                return
        import faaset_host
        faaset_host._clean_main_namespace()
        self._hidden = set(self.user_ns)

    def line_history(self, line):
        """%history [-n]: the cells this runtime ran (-n: with their numbers)."""
        options, _ = _parse_options(line, "ng")
        for count, source in self.history:
            if options.get("n"):
                lines = source.splitlines() or [""]
                print("%3d: %s" % (count, lines[0]))
                for more in lines[1:]:
                    print("     %s" % more)
            else:
                print(source)

    # -- files ---------------------------------------------------------------

    def line_load(self, line):
        """%load FILE: put FILE's text into the cell, for editing before it runs."""
        words = shlex.split(line)
        if len(words) != 1:
            raise UsageError("usage: %load FILE")
        try:
            with open(os.path.expanduser(words[0]), encoding="utf-8") as file:
                contents = file.read()
        except OSError as error:
            raise UsageError("%%load %s: %s" % (words[0], error.strerror)) from None
        self.set_next_input("# %%load %s\n%s" % (line.strip(), contents), replace=True)

    def line_run(self, line):
        """%run [-i] FILE.py [ARGS]: run FILE as __main__ (sys.argv = FILE ARGS); its names land in the
        notebook. -i: run it in the notebook's namespace itself."""
        options, words = _parse_options(line, "i")
        if not words:
            raise UsageError("usage: %run [-i] FILE.py [ARGS ...]")
        path = os.path.expanduser(words[0])
        if not os.path.isfile(path):
            raise UsageError("%%run: file not found: %s" % words[0])
        with open(path, encoding="utf-8") as file:
            source = file.read()
        namespace = self.user_ns if options.get("i") else {"__name__": "__main__", "__file__": path,
                                                           "__builtins__": builtins}
        saved_argv, saved_file = sys.argv, self.user_ns.get("__file__")
        sys.argv = [path] + words[1:]
        try:
            if options.get("i"):
                namespace["__file__"] = path
            exec(compile(source, path, "exec"), namespace)
        finally:
            sys.argv = saved_argv
            if options.get("i"):
                if saved_file is None:
                    namespace.pop("__file__", None)
                else:
                    namespace["__file__"] = saved_file
        if not options.get("i"):
            self.user_ns.update({k: v for k, v in namespace.items() if not k.startswith("__")})

    # -- settings and listing -----------------------------------------------

    def line_matplotlib(self, line):
        """%matplotlib [inline]: figures as pictures in the cell's output (the default already)."""
        gui = line.strip()
        if gui not in ("", "inline"):
            raise UsageError("%%matplotlib %s: this kernel shows figures inline only; use %%matplotlib inline"
                             % gui)
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None and pyplot.get_backend() != "module://" + faaset_inline.BACKEND_MODULE:
            pyplot.switch_backend("module://" + faaset_inline.BACKEND_MODULE)
        elif "matplotlib" in sys.modules and pyplot is None:
            sys.modules["matplotlib"].rcParams["backend"] = "module://" + faaset_inline.BACKEND_MODULE

    def line_config(self, line):
        """%config CLASS.NAME = VALUE for InlineBackend and Completer; %config CLASS shows one."""
        line = line.strip()
        if not line:
            print("Available objects for config:\n    InlineBackend\n    Completer")
            return
        match = re.match(r"^([A-Za-z_]\w*)(?:\.([A-Za-z_]\w*)\s*=\s*(.+))?$", line, re.S)
        if match is None:
            raise UsageError("usage: %%config CLASS.NAME = VALUE (not %r)" % line)
        cls, name, expression = match.groups()
        if cls not in ("InlineBackend", "Completer"):
            nearest = difflib.get_close_matches(cls, ["InlineBackend", "Completer"], n=1)
            raise UsageError("Invalid class name %s%s; %%config knows InlineBackend and Completer"
                             % (cls, " (did you mean %s?)" % nearest[0] if nearest else ""))
        if name is None:
            settings = (self._language.inline.settings() if cls == "InlineBackend"
                        else {**dict.fromkeys(COMPLETER_SETTINGS), **self.completer_settings})
            print("%s options\n%s" % (cls, "-" * (len(cls) + 8)))
            for key, value in sorted(settings.items()):
                print("%s.%s=%r" % (cls, key, value))
            return
        try:
            value = eval(expression, self.user_ns)
        except Exception as error:
            raise UsageError("%%config %s.%s: the value %s does not evaluate: %s" % (cls, name, expression.strip(),
                                                                                  error)) from None
        if cls == "Completer":
            if name not in COMPLETER_SETTINGS:
                raise UsageError("Completer has no setting %s; it has %s" % (name, ", ".join(COMPLETER_SETTINGS)))
            self.completer_settings[name] = value  # completion here is the runtime's own: accepted, no effect
            return
        try:
            self._language.inline.set(name, value)
        except ValueError as error:
            raise UsageError(str(error)) from None

    def line_lsmagic(self, line):
        print("Available line magics:\n%s\n\nAvailable cell magics:\n%s"
              % ("  ".join("%" + name for name in self._names("line_")),
                 "  ".join("%%" + name for name in self._names("cell_"))))
        if self._language.kernel_magics:
            print("\nFaaSET kernel magics (%%help explains them):\n%s" % "  ".join(self._language.kernel_magics))
