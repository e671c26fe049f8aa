# Today's FaaSET's FaaSETUI as `import FaaSETUI` (faaset_library serves it
# under that name): UI(function) shows a cloud function's panel under the
# cell and returns None.
#
# With ipywidgets in the runtime the panel is widgets on the kernel's comms
# (faaset_comms): the function's name, where it runs and its deploy state
# (the `describe` upcall, as `fn?` shows it); a platform menu (FaaSET's
# names for a function of @FaaSET.cloud_function, duplicates included, as
# FaaSET's panel lists them; the kernel's otherwise); its configuration as
# fields (memory, timeout, arch, runtime, and role on aws, max_instances on
# gcf; env shows its names only: values may be secrets); "Reconfigure"
# applies the fields that were edited and "Redeploy" deploys again even
# unchanged, both through the kernel's define (FaaSET.reconfigure /
# FaaSET.deploy for a FaaSET function, CloudFunction.redefine otherwise),
# whose deployed / updated / up to date line shows in the panel's Output;
# the source, read-only; a JSON payload and "Test", which calls the function
# on the chosen platform (the invoke upcall; a FaaSET duplicate's own
# function) and shows its answer or its exception. A click's own mistakes (memory not a number, payload not JSON,
# the kernel refusing a value) are one sentence in the Output, never a
# traceback of the panel.
#
# The Output shows what a click printed because the widget's msg_id is the
# click's message id while it runs (faaset_comms.parent_message): the
# frontend routes IOPub messages under that id into the widget, as
# ipywidgets' `with output:` arranges under ipykernel.
#
# Without ipywidgets the panel is a read-only table of the deploy state,
# and the first one says how to get the widgets; so too with ipywidgets 6
# when no frontend answered its version check (nbconvert / nbclient, which
# cannot read ipywidgets 6's messages).
import html
import json
import sys

import faaset_comms
import faaset_compat
import faaset_host

DEFAULTS = {"memory": "128", "timeout": "30", "arch": "x86_64", "runtime": "python3.12"}  # cloud_options' defaults
ARCHES = ("x86_64", "arm64")
WHOLE_NUMBERS = {"memory": "memory (MB)", "timeout": "timeout (s)", "max_instances": "max_instances"}
FAASET_CONFIG_KEYS = {"memory": "memory", "timeout": "timeout", "arch": "architectures", "runtime": "runtime",
                      "role": "role", "max_instances": "max_instances"}
_told = set()  # why a table was shown instead of the panel, said once each


class PanelError(ValueError):
    """A value in the panel the kernel cannot take; the message says which and why."""


def UI(function):  # noqa: N802 (FaaSET's name)
    """Shows FUNCTION's panel (a cloud function) under the cell."""
    if not isinstance(function, faaset_host.CloudFunction):
        raise TypeError("FaaSETUI.UI takes a cloud function, not %r" % (function,))
    try:
        import ipywidgets
    except ImportError:
        _show_table(function, "ipywidgets is not installed in the runtime's Python, so this is a read-only table; "
                    "`%pip install ipywidgets` (then restart the kernel) gives the panel with editable "
                    "configuration, Reconfigure, Redeploy and Test")
        return None
    if ipywidgets.version_info[0] < 7 and not ipywidgets.Widget._version_validated:
        # ipywidgets 6 speaks to a frontend that answered its version check
        # (the classic notebook's widgets); other clients (nbclient) fail on it
        _show_table(function, "no widget frontend answered ipywidgets %s's version check (a notebook run by "
                    "nbconvert, or widgets not enabled in the notebook), so this is a read-only table"
                    % ipywidgets.__version__)
        return None
    display(_Panel(function, ipywidgets).box)  # noqa: F821 (the runtime's display, in builtins)
    return None


def _state_rows(function):
    """[platform, memory, timeout, code hash, deployed at, state] per platform, from the kernel."""
    try:
        described = function.describe()
    except Exception as error:  # not defined in this kernel (a FaaSET.NAME of an earlier one)
        return [[platform, None, None, "", None, str(error)] for platform in function.platforms]
    return [[entry.get("platform"), entry.get("memory_mb"), entry.get("timeout_s"),
             str(entry.get("code_hash") or "")[:12], entry.get("deployed_at"), entry.get("state")]
            for entry in described.get("platforms") or []]


def _state_html(function):
    head = "".join("<th>%s</th>" % h for h in ("platform", "memory (MB)", "timeout (s)", "code hash",
                                                "deployed at", "state"))
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(str(v if v is not None else ""))
                                           for v in row) for row in _state_rows(function))
    return '<table style="border-spacing: 1em 0"><tr>%s</tr>%s</table>' % (head, body)


class _Table:
    """The read-only panel: the deploy state as a table."""

    def __init__(self, function):
        self.function = function

    def _repr_html_(self):
        return "<b>%s</b>%s" % (html.escape(self.function.name), _state_html(self.function))

    def __repr__(self):
        return "\n".join([self.function.name] + ["  " + "  ".join(str(v if v is not None else "-") for v in row)
                                                 for row in _state_rows(self.function)])


def _show_table(function, why):
    """The table, saying WHY once per kernel."""
    if why not in _told:
        _told.add(why)
        print("FaaSETUI: %s" % why)
    display(_Table(function))  # noqa: F821


def _faaset_entry(function):
    """(the FaaSET module, its record of FUNCTION) for a function of @FaaSET.cloud_function, else (None, None)."""
    module = sys.modules.get("FaaSET")
    if module is None or not isinstance(function, getattr(module, "FaaSETFunction", ())):
        return None, None
    return module, module._functions.get(function.name)


def _whole_number(key, text):
    try:
        return int(text.strip())
    except ValueError:
        raise PanelError("%s must be a whole number, not %r" % (WHOLE_NUMBERS[key], text)) from None


class _Panel:
    """The widgets of one function's panel and what their buttons do."""

    def __init__(self, function, widgets):
        self.function = function
        self.faaset, self.entry = _faaset_entry(function)
        if self.entry is not None:  # FaaSET's platform names, its duplicates too
            names = [self.entry["platform"]] + [p for p in self.entry["configs"] if p != self.entry["platform"]]
        else:
            names = list(function.platforms)
        self.platform = widgets.Dropdown(options=names or [""], value=(names or [""])[0], description="platform")
        self.platform.observe(lambda change: self._load_fields(), "value")
        runs = ("runs in the notebook (run=local)" if function.run == "local"
                else "on " + (", ".join(function.platforms) or "no platform"))
        self.title = widgets.HTML("<b>%s</b> %s" % (html.escape(function.name), html.escape(runs)))
        self.state = widgets.HTML(_state_html(function))
        self.fields = {"memory": widgets.Text(description="memory (MB)"),
                       "timeout": widgets.Text(description="timeout (s)"),
                       "arch": widgets.Dropdown(options=list(ARCHES), description="arch"),
                       "runtime": widgets.Text(description="runtime")}
        if "aws" in function.platforms:
            self.fields["role"] = widgets.Text(description="role", placeholder="the platform's role")
        if "gcf" in function.platforms:
            self.fields["max_instances"] = widgets.Text(description="max_instances",
                                                        placeholder="the platform's default")
        self.env = widgets.HTML()
        self.shown = {}
        self._load_fields()
        self.output = widgets.Output()
        reconfigure = widgets.Button(description="Reconfigure", icon="gear",
                                     tooltip="apply the edited configuration (deploys what changed)")
        reconfigure.on_click(lambda button: self._run("Reconfigure", self._reconfigure, False))
        redeploy = widgets.Button(description="Redeploy", icon="rocket", tooltip="deploy again, changed or not")
        redeploy.on_click(lambda button: self._run("Redeploy", self._reconfigure, True))
        wide = {"layout": widgets.Layout(width="90%")}
        source = widgets.Textarea(value=function.source, disabled=True, description="source",
                                  rows=min(20, max(3, function.source.count("\n") + 1)), **wide)
        self.payload = widgets.Textarea(value="{}", description="payload", rows=3, **wide)
        test = widgets.Button(description="Test", icon="play", tooltip="call the function with the payload")
        test.on_click(lambda button: self._run("Test", self._test))
        self.box = widgets.VBox([self.title, self.state, self.platform,
                                 widgets.VBox(list(self.fields.values()) + [self.env]),
                                 widgets.HBox([reconfigure, redeploy]), source, self.payload, test, self.output])

    # -- fields ---------------------------------------------------------------

    def _kernel_platform(self, name):
        """The kernel's platform for a name in the platform menu."""
        if self.entry is None:
            return name
        return faaset_compat.platform(self.faaset._base_platform(self.function.name, name), check_image=False)[0]

    def _target(self):
        """(the function calls on the chosen platform go to, its kernel platform): a FaaSET duplicate's own."""
        if self.entry is None or not self.platform.value:
            return self.function, self.platform.value or None
        return self.faaset._call_target(self.function, self.platform.value)

    def _load_fields(self):
        """The fields as the function is now on the chosen platform: deployed
        memory and timeout from the kernel, the rest from its options."""
        options = self.function.options
        values = dict(DEFAULTS)
        values.update({key: str(options[key]) for key in self.fields if options.get(key) not in (None, "")})
        if self.entry is not None:  # the chosen FaaSET platform's own config (a duplicate's may differ)
            config = self.entry["configs"].get(self.platform.value) or {}
            values.update({key: str(value) for key, value in
                           faaset_compat.options(config, self._kernel_platform(self.platform.value)).items()
                           if key in self.fields})
        for row in _state_rows(self._target()[0]):
            if row[0] == self._kernel_platform(self.platform.value):
                values.update({key: str(value) for key, value in (("memory", row[1]), ("timeout", row[2])) if value})
        for key, field in self.fields.items():
            field.value = values.get(key, "")
        self.shown = {key: field.value for key, field in self.fields.items()}
        env = options.get("env")
        names = (sorted(env) if isinstance(env, dict)  # a magic line's is KEY=V;KEY2=V2
                 else [item.partition("=")[0].strip() for item in str(env or "").split(";") if item.strip()])
        self.env.value = ("env: %s (values not shown; set them where the function is defined)"
                          % html.escape(", ".join(names)) if names else "")

    def _edits(self):
        """{option: new value} of the fields edited since shown (None: cleared)."""
        edits = {}
        for key, field in self.fields.items():
            text = field.value.strip()
            if text == self.shown[key].strip():
                continue
            if not text:
                edits[key] = None
            else:
                edits[key] = _whole_number(key, text) if key in WHOLE_NUMBERS else text
        return edits

    # -- buttons --------------------------------------------------------------

    def _run(self, what, action, *args):
        """ACTION's output into the Output widget; a failure is one sentence there."""
        self.output.msg_id = str(faaset_comms.parent_message().get("msg_id") or "")
        try:
            faaset_host.clear_output(wait=True)
            action(*args)
        except Exception as error:
            print("%s: %s" % (what, _sentence(error)))
        finally:
            sys.stdout.flush()
            self.output.msg_id = ""

    def _reconfigure(self, force):
        edits = self._edits()
        if self.entry is not None:
            self._reconfigure_faaset(edits, force)
        else:
            self.function = self.function.redefine(dict(edits, force=True) if force else edits)
        self.state.value = _state_html(self.function)
        self._load_fields()

    def _reconfigure_faaset(self, edits, force):
        platform = self.platform.value
        config = {FAASET_CONFIG_KEYS[key]: value for key, value in edits.items()}
        if "timeout" in config and self._kernel_platform(platform) in ("ibm", "openwhisk") and config["timeout"]:
            config["timeout"] *= 1000  # FaaSET's OpenWhisk timeouts are in ms
        if config or not force:
            self.faaset.reconfigure(self.function, override_config=config, platform=platform)
        if force:
            self.faaset.deploy(self.function, platform)
        bound = faaset_compat._main_namespace().get(self.function.name)
        if isinstance(bound, faaset_host.CloudFunction):
            self.function = bound

    def _test(self):
        try:
            payload = json.loads(self.payload.value or "null")
        except ValueError as error:
            raise PanelError("the payload is not valid JSON (%s); write it as JSON, e.g. {\"name\": \"Ann\"}"
                             % error) from None
        target, platform = self._target()
        try:
            if self.function.run == "local":  # runs the def in the notebook, as calling it does
                answer = faaset_host.CloudFunction.__call__(self.function, payload)
            else:
                answer = target.invoke(payload, platform=platform)
        except faaset_host.CloudFunctionError as error:
            for line in error.remote_traceback:
                print(str(line).rstrip("\n"))
            print("%s: %s" % (type(error).__name__, error))
            return
        print(json.dumps(answer, indent=2, default=str))


def _sentence(error):
    """An exception as one line: its message, named unless it is the panel's own."""
    text = str(error).strip() or type(error).__name__
    if isinstance(error, PanelError):
        return text
    return "%s: %s" % (type(error).__name__, text)
