# Today's FaaSET's FaaSETUI as `import FaaSETUI` (faaset_library serves it
# under that name): UI(function) shows what the kernel knows of a cloud
# function (the `describe` upcall, as `fn?` does) as a table under the
# cell: where it runs, memory, timeout, code hash, when it was deployed.
# FaaSET's buttons (config, source, reconfigure, redeploy) are not drawn:
# FaaSET.reconfigure, FaaSET.deploy and `fn??` do the same from a cell.
import html

import faaset_host


class UI:
    """The panel of FUNCTION (a cloud function), shown when made."""

    def __init__(self, function):
        if not isinstance(function, faaset_host.CloudFunction):
            raise TypeError("FaaSETUI.UI takes a cloud function, not %r" % (function,))
        self.function = function
        self.name = function.name
        display(self)  # noqa: F821 (the runtime's display, in builtins)

    def _rows(self):
        described = self.function.describe()
        for entry in described.get("platforms") or []:
            yield [entry.get("platform"), entry.get("memory_mb"), entry.get("timeout_s"),
                   str(entry.get("code_hash") or "")[:12], entry.get("deployed_at"), entry.get("state")]

    def _repr_html_(self):
        head = "".join("<th>%s</th>" % h for h in ("platform", "memory (MB)", "timeout (s)", "code hash",
                                                    "deployed at", "state"))
        body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape(str(v if v is not None else ""))
                                               for v in row) for row in self._rows())
        return "<b>%s</b><table><tr>%s</tr>%s</table>" % (html.escape(self.name), head, body)

    def __repr__(self):
        lines = ["%s" % self.name] + ["  " + "  ".join(str(v if v is not None else "-") for v in row)
                                      for row in self._rows()]
        return "\n".join(lines)
