"""What run_experiment returns, through nbclient: one type (Results, a list
of row dicts with .df) whether or not pandas is installed; every row has
roundTripTime, latency and runtime, from the client when the function has
no SAAF; in the DataFrame the times are datetimes. Once with Debian's
pandas importable in the runtime, once with pandas made unimportable (a
PYTHONPATH shim, see faaset_testing.python_without).

    FAASET_BINARY=build/faaset /usr/bin/python3 -m pytest -q tests/language/test_results.py
"""
import pytest

from faaset_testing import python_without

CELLS = (
    "%%cloud_function\ndef timed(request, context):\n    from SAAF import Inspector\n    inspector = Inspector()\n"
    "    inspector.inspectContainer()\n    return inspector.finish()",
    "%%cloud_function\ndef plain(request, context):\n    return {'echo': request.get('n')}",
    "import json\n"
    "timed_rows = run_experiment(function=timed, experiment={'runs': 4, 'threads': 2, 'experimentName': 'timed'})\n"
    "plain_rows = run_experiment(function=plain, experiment={'runs': 3, 'threads': 2, 'payloads': [{'n': 1}],\n"
    "                                                        'experimentName': 'plain'})\n"
    "rows = list(timed_rows) + list(plain_rows)\n"
    "print(json.dumps({'type': type(plain_rows).__name__, 'is_list': isinstance(plain_rows, list),\n"
    "                  'lengths': [len(timed_rows), len(plain_rows)],\n"
    "                  'keys': all(all(k in r for k in ('roundTripTime', 'latency', 'runtime')) for r in rows),\n"
    "                  'sources': [sorted({r['runtimeSource'] for r in timed_rows}),\n"
    "                              sorted({r['runtimeSource'] for r in plain_rows})],\n"
    "                  'plain': [r['runtime'] == r['roundTripTime'] and r['latency'] == 0 for r in plain_rows],\n"
    "                  'timed': [abs(r['latency'] - (r['roundTripTime'] - r['runtime'])) < 1e-6 for r in timed_rows],\n"
    "                  'echo': [r['echo'] for r in plain_rows]}))",
    "try:\n"
    "    frame = timed_rows.df\n"
    "except ImportError as error:\n"
    "    print(json.dumps({'error': str(error)}))\n"
    "else:\n"
    "    print(json.dumps({'dtypes': [str(frame[c].dtype) for c in ('clientSendTime', 'clientReceiveTime', 'startTime',\n"
    "                                                              'endTime', 'roundTripTime', 'latency', 'runtime')],\n"
    "                      'same': frame is timed_rows.df, 'rows': len(frame),\n"
    "                      'plain_runtime': str(plain_rows.to_pandas()['runtime'].dtype)}))",
    "timed_rows",
)


@pytest.fixture(params=["with pandas", "without pandas"])
def path(request, tmp_path_factory):
    """Overrides conftest's: the runtime's interpreter with or without pandas."""
    if request.param == "with pandas":
        return request.param, None
    return request.param, python_without(tmp_path_factory.mktemp("python"), "pandas")


@pytest.mark.deadline(180)
def test_run_experiment_returns_results(workspace, path):
    timed, plain, listing, frame, shown = workspace.run(*CELLS, cell_timeout=120)
    timed.ok()
    plain.ok()
    rows = listing.ok().json()
    assert rows == {"type": "Results", "is_list": True, "lengths": [4, 3], "keys": True,
                    "sources": [["saaf"], ["client"]], "plain": [True] * 3, "timed": [True] * 4,
                    "echo": [1, 1, 1]}, listing
    summary = frame.ok().json()
    if path[0] == "with pandas":
        dtypes = summary.pop("dtypes")
        assert dtypes[:4] == ["datetime64[ns, UTC]"] * 4, frame  # the times
        assert all(kind in ("float64", "int64") for kind in dtypes[4:]), frame  # durations in ms (SAAF's are ints)
        assert summary == {"same": True, "rows": 4, "plain_runtime": "float64"}, frame
    else:
        assert "pandas is not installed" in summary["error"] and "%pip install pandas" in summary["error"], frame
    assert shown.ok().result.startswith("<Results: 4 runs of timed in "), shown
