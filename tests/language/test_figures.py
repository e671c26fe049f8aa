"""Figures and rich outputs through nbclient: matplotlib draws inline as PNG
(as SVG after `%config InlineBackend.figure_formats = ['svg']`) without
`%matplotlib inline`, `plt.show()`, `display(fig)` and a last-line `fig`
each show a figure exactly once, and objects with `_repr_mimebundle_`
(Vega-Lite, as altair makes) or raw bundles (as plotly sends) keep their
mimetypes. Once with IPython importable in the runtime, once without, and
once with IPython but without matplotlib_inline.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/language/test_figures.py
"""
import base64

import pytest

from cloud_helpers import text
from faaset_testing import python_without

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
VEGALITE = "application/vnd.vegalite.v5+json"
PLOTLY = "application/vnd.plotly.v1+json"

CHART_CLASS = """class Chart:
    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"application/vnd.vegalite.v5+json": {"$schema": "https://vega.github.io/schema/vega-lite/v5.json",
                                                      "mark": "bar", "data": {"values": [{"a": 1}]}},
                "text/plain": "<Chart>"}
"""


@pytest.fixture(params=["ipython", "own", "ipython without matplotlib_inline"])
def path(request, tmp_path_factory):
    """Overrides conftest's: also IPython's shell with the runtime's own backend standing in."""
    hidden = {"ipython": (), "own": ("IPython",), "ipython without matplotlib_inline": ("matplotlib_inline",)}
    modules = hidden[request.param]
    return request.param, python_without(tmp_path_factory.mktemp("python"), *modules) if modules else None


def images(cell, mime):
    """The outputs of CELL (display_data or execute_result) that hold MIME."""
    return [o for o in cell.outputs if o.output_type in ("display_data", "execute_result") and mime in o.data]


def assert_one_png(cell):
    shown = images(cell, "image/png")
    assert len(shown) == 1, f"expected one PNG:\n{cell!r}"
    assert base64.b64decode(text(shown[0].data["image/png"]))[:8] == PNG_MAGIC, cell
    assert text(shown[0].data["text/plain"]).startswith("<Figure size"), cell


@pytest.mark.deadline(180)
def test_matplotlib_figures_show_once(workspace):
    plot, show, display_fig, last_fig, inline, bare, gui, svg, svg_plot = workspace.run(
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])",
        "fig = plt.figure()\nplt.plot([3, 1])\nplt.show()\nprint('after show')",
        "fig, ax = plt.subplots()\nax.plot([1, 4])\ndisplay(fig)",
        "fig, ax = plt.subplots()\nax.bar([1, 2], [3, 4])\nfig",
        "%matplotlib inline",
        "%matplotlib",
        "%matplotlib qt",
        "%config InlineBackend.figure_formats = ['svg']",
        "plt.hist([1, 2, 2, 3, 3, 3])\nplt.title('svg now');",
        cell_timeout=120)
    assert_one_png(plot.ok())
    assert "Line2D" in plot.result, plot
    assert_one_png(show.ok())
    assert "after show" in show.stdout, show
    assert_one_png(display_fig.ok())
    assert_one_png(last_fig.ok())
    assert len(last_fig.results) == 1 and not last_fig.displays, last_fig
    inline.ok()
    bare.ok()
    assert "qt" in gui.error.evalue and "inline" in gui.error.evalue, gui
    svg.ok()
    shown = images(svg_plot.ok(), "image/svg+xml")
    assert len(shown) == 1 and not images(svg_plot, "image/png"), svg_plot
    assert "<svg" in text(shown[0].data["image/svg+xml"]), svg_plot


@pytest.mark.deadline(120)
def test_rich_mimetypes_pass_through(workspace, path):
    raw = "display({%r: {'data': [{'type': 'bar', 'y': [1, 2]}], 'layout': {}}, 'text/plain': 'Figure'}, raw=True)" % PLOTLY
    sources = [CHART_CLASS + "Chart()", "display(Chart())", raw]
    if path[0] == "ipython":  # what plotly's fig.show() calls in a notebook
        sources.append("from IPython.display import display as ipython_display\n" + raw.replace("display(", "ipython_display(", 1))
    cells = workspace.run(*sources)
    result, displayed, plotly = cells[:3]
    spec = result.ok().results[0].data[VEGALITE]
    assert spec["mark"] == "bar" and spec["$schema"].endswith("vega-lite/v5.json"), result
    assert displayed.ok().displays[0].data[VEGALITE]["mark"] == "bar", displayed
    assert plotly.ok().displays[0].data[PLOTLY]["data"][0]["y"] == [1, 2], plotly
    if path[0] == "ipython":
        assert cells[3].ok().displays[0].data[PLOTLY]["data"][0]["type"] == "bar", cells[3]
