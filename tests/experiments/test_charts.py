"""The experiment charts through a real client (nbclient, Debian's
python3): an experiment with two memory settings shows three charts, each
one display with an SVG and a Vega-Lite v5 spec; the spec's legend names
the memory settings, its points are cold and warm starts, its axes start
at zero and end near the data, and its mean in flight is the summary
table's. `%results NAME --save DIR` writes the SVGs and says where; odd
experiments (every run failed, a single run) give a note or plain charts.

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/experiments/test_charts.py
"""
import json
import re

import pytest

from experiment_helpers import SLEEPER, display_text, experiment_cell, run_folder, run_with_deadline, text

VEGALITE = "application/vnd.vegalite.v5+json"
CHARTED = {"runs": 8, "threads": 4, "memorySettings": [256, 512], "payloads": [{"sleep": 0.2}],
           "experimentName": "charted"}
ALL_FAIL = {"runs": 3, "threads": 3, "payloads": [{"fail": True}], "experimentName": "all-fail"}
ONE = {"runs": 1, "threads": 1, "payloads": [{"sleep": 0.01}], "experimentName": "one"}
CELLS = {
    "deploy": SLEEPER,
    "charted": experiment_cell(CHARTED),
    "saved": "%results charted --save saved-charts",
    "no-dir": "%results charted --save",
    "all-fail": experiment_cell(ALL_FAIL),
    "one": experiment_cell(ONE),
}


@pytest.fixture(scope="module")
def cells(shared_workspace):
    outputs = run_with_deadline(shared_workspace, list(CELLS.values()), 90)
    return shared_workspace.folder, dict(zip(CELLS, outputs))


def charts_of(cell):
    """{name: display} of the cell's charts, by the file name the kernel gives them."""
    found = {}
    for display in cell.displays:
        if VEGALITE in display.data:
            spec = display.data[VEGALITE]
            assert isinstance(spec, dict), f"the Vega-Lite spec is not JSON: {spec!r}"
            title = spec["title"]["text"]
            name = ("concurrency" if title.startswith("Runs in flight") else
                    "latency" if title.startswith("Latency") else "runtime")
            found[name] = display
    return found


def encoding(spec, channel):
    return spec["layer"][0]["encoding"][channel]


def rules(spec):
    return {v["label"].split()[0]: v["value"] for layer in spec["layer"]
            for v in layer.get("data", {}).get("values", []) if "label" in v}


def test_two_memory_settings_give_three_charts_in_two_forms(cells):
    _, cell = cells
    charted = cell["charted"].ok()
    charts = charts_of(charted)
    assert set(charts) == {"concurrency", "latency", "runtime"}, charted
    for name, display in charts.items():
        svg = text(display.data["image/svg+xml"])
        assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>"), name
        assert not re.search(r">[-\d.]+e[+-]\d+<", svg), f"a tick in scientific notation in {name}"
        assert "memory 0" not in svg and "0 MB" not in svg, name
        spec = display.data[VEGALITE]
        assert spec["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"
        json.dumps(spec)  # plain JSON all the way down
        # the subtitle says what was run
        assert spec["title"]["subtitle"] == "sleeper on local · 16 runs · 4 threads · memory 256, 512 MB", spec["title"]
        assert "sleeper on local · 16 runs · 4 threads · memory 256, 512 MB" in svg


def test_the_legend_names_the_memory_settings_and_the_points_cold_and_warm_starts(cells):
    _, cell = cells
    latency = charts_of(cell["charted"])["latency"].data[VEGALITE]
    color = encoding(latency, "color")
    assert color["field"] == "series" and color["scale"]["domain"] == ["256 MB", "512 MB"], color
    shape = encoding(latency, "shape")
    assert shape["field"] == "start" and "cold start" in shape["scale"]["domain"], shape
    values = latency["data"]["values"]
    assert {v["series"] for v in values} == {"256 MB", "512 MB"}
    starts = {v["start"] for v in values}
    # each memory setting starts new workers (SAAF newcontainer 1), which are then reused (0)
    assert starts == {"cold start", "warm start"}, starts
    y = encoding(latency, "y")["scale"]
    assert y["domain"][0] == 0 and y["clamp"] is True, y
    runtime = charts_of(cell["charted"])["runtime"].data[VEGALITE]
    assert [v["series"] for v in runtime["data"]["values"]] == ["256 MB", "512 MB"]
    for v in runtime["data"]["values"]:
        assert v["p50"] <= v["p90"] <= v["p99"] <= v["max"] and v["runs"] == 8, v
        assert v["p50"] >= 200, v  # a 0.2 s sleep


def test_the_chart_takes_its_numbers_from_the_summary(cells):
    folder, cell = cells
    charted = cell["charted"]
    table = display_text(charted.displays[1])
    mean_in_table = re.search(r"concurrency peak (\d+), mean (\d+\.\d)", table)
    assert mean_in_table, table
    concurrency = charts_of(charted)["concurrency"]
    spec = concurrency.data[VEGALITE]
    drawn = rules(spec)
    assert f"{drawn['mean']:.1f}" == mean_in_table.group(2), (drawn, table)
    assert f"{drawn['peak']:.0f}" == mean_in_table.group(1), (drawn, table)
    assert f"mean {mean_in_table.group(2)} in flight" in display_text(concurrency)
    summary = run_folder(folder, "charted").summary
    assert drawn["mean"] == pytest.approx(summary["concurrency"]["mean"], rel=1e-12)
    latency = charts_of(charted)["latency"].data[VEGALITE]
    assert rules(latency)["p99"] == pytest.approx(summary["latency"]["p99"], rel=1e-12)
    # the time axis ends at the first tick past the last point
    x = encoding(spec, "x")
    last = max(v["x"] for v in spec["data"]["values"])
    ticks = x["axis"]["values"]
    step = ticks[1] - ticks[0]
    assert x["scale"]["domain"] == [0, ticks[-1]] and last <= ticks[-1] < last + step + 1e-9, (x, last)


def test_results_save_writes_the_svg_files_and_says_where(cells):
    folder, cell = cells
    saved = cell["saved"].ok()
    match = re.search(r"^Saved 3 charts of (charted-\S+) as SVG in saved-charts: (.+)$", saved.stdout, re.M)
    assert match, saved
    paths = match.group(2).split()
    assert [p.rsplit("-", 1)[1] for p in paths] == ["concurrency.svg", "latency.svg", "runtime.svg"], paths
    shown = {name: text(d.data["image/svg+xml"]) for name, d in charts_of(saved).items()}
    for path in paths:
        written = (folder / path).read_text()
        assert written.startswith("<svg"), path
        assert written == shown[path.rsplit("-", 1)[1][:-4]], f"{path} is not the chart shown"
    error = cell["no-dir"].error
    assert error.ename == "UsageError" and "--save needs a folder" in error.evalue, error


def test_odd_experiments_give_a_note_or_plain_charts(cells):
    _, cell = cells
    failed = cell["all-fail"].ok()
    notes = [display_text(d) for d in failed.displays if "no run succeeded" in display_text(d)]
    assert notes, failed
    assert set(charts_of(failed)) == {"concurrency"}, failed
    one = charts_of(cell["one"].ok())
    assert set(one) == {"concurrency", "latency", "runtime"}
    assert "1 run · 1 thread · the function's configured memory" in one["runtime"].data[VEGALITE]["title"]["subtitle"]
