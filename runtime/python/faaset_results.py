# FaaSET experiment results in Python: what run_experiment() returns.
#
# One type whether or not pandas is installed: Results, a list of the runs'
# rows (dicts, as in runs.jsonl), so `for row in rows`, `len(rows)` and
# `rows[0]["roundTripTime"]` always work, with the pandas view one attribute
# away: `rows.df` (or `rows.to_pandas()`) is a DataFrame, built once, whose
# time columns are datetimes (clientSendTime, clientReceiveTime, startTime,
# endTime: epoch milliseconds; bootTime: epoch seconds). Without pandas,
# `.df` raises an ImportError that says how to install it.
#
# Every row has roundTripTime, latency and runtime (ms). When the function
# did not report SAAF's runtime (no Inspector), the client's measure stands
# in: runtime = roundTripTime and latency = 0, and runtimeSource says which
# ("saaf" or "client"). A run that got no answer has None there.
import sys

MS_TIME_COLUMNS = ("clientSendTime", "clientReceiveTime", "startTime", "endTime")
SECOND_TIME_COLUMNS = ("bootTime",)


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def complete_row(row):
    """The row with roundTripTime, latency, runtime and runtimeSource filled in."""
    round_trip = row.get("roundTripTime")
    round_trip = round_trip if _number(round_trip) else None
    row["roundTripTime"] = round_trip
    if _number(row.get("runtime")):
        row["runtimeSource"] = "saaf"
        if not _number(row.get("latency")) and round_trip is not None:
            row["latency"] = round_trip - row["runtime"]
    else:
        row["runtimeSource"] = "client"
        row["runtime"] = round_trip
        row["latency"] = None if round_trip is None else 0.0
    row.setdefault("latency", None)
    return row


class Results(list):
    """The runs of one experiment: a list of row dicts; .df is the pandas DataFrame."""

    def __init__(self, rows, folder=None, function=None):
        super().__init__(complete_row(row) for row in rows)
        self.folder = folder
        self.function = function
        self._frame = None

    def __repr__(self):
        return "<Results: %d run%s of %s in %s; .df for a pandas DataFrame>" % (
            len(self), "" if len(self) == 1 else "s", self.function or "an experiment", self.folder or "memory")

    @property
    def df(self):
        """The rows as a pandas DataFrame (made once; times as datetimes)."""
        if self._frame is None:
            self._frame = self.to_pandas()
        return self._frame

    def to_pandas(self):
        """A new pandas DataFrame of the rows, times as datetimes (UTC)."""
        try:
            import pandas
        except ImportError:
            raise ImportError("pandas is not installed in the runtime's Python (%s): run `%%pip install pandas`, "
                              "or use the rows as a list of dicts" % sys.executable) from None
        frame = pandas.DataFrame(list(self))
        for columns, unit in ((MS_TIME_COLUMNS, "ms"), (SECOND_TIME_COLUMNS, "s")):
            for column in columns:
                if column in frame.columns:
                    values = pandas.to_numeric(frame[column], errors="coerce")
                    frame[column] = pandas.to_datetime(values, unit=unit, utc=True)
        return frame
