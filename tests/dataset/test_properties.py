"""Property: whatever rows go in come out, each in the partition of its own day."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
from _dataset_helpers import FakeDecoder, make_messages
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bofan_analytics.dataset import _convert, _parts, convert, read_dataset

UTC = dt.timezone.utc
times = st.none() | st.datetimes(
    min_value=dt.datetime(1960, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=t.microsecond // 1000 * 1000))
rows = st.lists(
    st.fixed_dictionaries(
        {
            "device_id": st.text("0123456789", min_size=1, max_size=15),
            "time": times,
            "received_at": times,
            "lat": st.none() | st.floats(-90, 90),
            "lon": st.none() | st.floats(-180, 180),
            "valid": st.none() | st.booleans(),
        }
    ),
    max_size=40,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows, chunk_rows=st.integers(1, 50))
def test_rows_round_trip_into_their_day(monkeypatch, rows, chunk_rows):
    monkeypatch.setattr(_parts, "CHUNK_ROWS", chunk_rows)
    decoder = FakeDecoder()
    monkeypatch.setattr(_convert, "_decoder_for", decoder)
    with tempfile.TemporaryDirectory() as tmp:
        table = make_messages(rows)
        path = decoder.add(Path(tmp, "a.log"), table, pieces=3)
        convert(path, Path(tmp, "ds"))
        convert(path, Path(tmp, "ds"))  # a rerun changes nothing
        back = read_dataset(Path(tmp, "ds"))
        order = [("offset", "ascending")]
        assert back.sort_by(order).equals(table.sort_by(order))
        for part in Path(tmp, "ds", "messages").glob("date=*/*.parquet"):
            day = dt.date.fromisoformat(part.parent.name.removeprefix("date="))
            for row in pq.read_table(part, columns=["time", "received_at"]).to_pylist():
                when = row["time"] or row["received_at"]
                assert (when.date() if when else dt.date(1970, 1, 1)) == day
            # within a file: by device, then time (nulls last), as pyarrow sorts them
            keys = pq.read_table(part, columns=["device_id", "time", "offset"])
            order = [(name, "ascending") for name in keys.column_names]
            assert keys.equals(keys.sort_by(order))
