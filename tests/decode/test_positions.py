"""``positions()``: valid fixes, resent copies dropped, sorted by device and time.

Pinned against the obvious pandas formulation (filter, ``drop_duplicates(keep="first")``,
stable sort) on hand-built and random tables.
"""

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics import schema as S
from bofan_analytics._fix import device_time_order
from bofan_analytics.decode import positions_from_messages
from bofan_analytics.decode._positions_kernels import first_copies


def _messages(rows):
    """A messages table with the given (device, time_ms, lat, lon, valid) rows."""
    n = len(rows)
    cols = {name: pa.nulls(n, S.MESSAGES.field(name).type) for name in S.MESSAGES.names}
    dev, t, lat, lon, valid = zip(*rows, strict=True) if rows else ((),) * 5
    cols[S.DEVICE_ID] = pa.array(dev, pa.string())
    cols[S.TIME] = pa.array(t, pa.int64()).cast(S.MESSAGES.field(S.TIME).type)
    cols[S.LAT] = pa.array(lat, pa.float64())
    cols[S.LON] = pa.array(lon, pa.float64())
    cols[S.VALID] = pa.array(valid, pa.bool_())
    cols[S.SPEED_KMH] = pa.array(np.arange(n, dtype=np.float64))   # tells rows apart
    return pa.table(cols, schema=S.MESSAGES)


def _reference(messages):
    df = messages.select(list(S.POSITION_COLUMNS)).to_pandas()
    ok = df[S.VALID].fillna(False).astype(bool) & df[S.TIME].notna() & df[S.LAT].notna()
    ok &= df[S.LON].notna()
    df = df[ok].drop_duplicates([S.DEVICE_ID, S.TIME, S.LAT, S.LON], keep="first")
    return df.sort_values([S.DEVICE_ID, S.TIME], kind="stable", ignore_index=True)


def test_a_resent_fix_is_dropped_even_behind_another_fix_of_the_same_second():
    rows = [
        ("b", 2000, 1.0, 2.0, True),
        ("a", 1000, 1.0, 2.0, True),
        ("a", 1000, 1.5, 2.0, True),   # same second, elsewhere: kept
        ("a", 1000, 1.0, 2.0, True),   # resent copy of row 1: dropped
        ("a", 500, None, 2.0, True),   # no latitude: not a fix
        ("a", 400, 1.0, 2.0, False),   # invalid: not a fix
    ]
    got = positions_from_messages(_messages(rows))
    assert got[S.DEVICE_ID].tolist() == ["a", "a", "b"]
    assert got[S.LAT].tolist() == [1.0, 1.5, 1.0]
    assert got[S.SPEED_KMH].tolist() == [1.0, 2.0, 0.0]


def test_kernel_keeps_first_copy_of_each_run():
    device = np.array([0, 0, 0, 0, 1], dtype=np.int64)
    time = np.array([5, 5, 5, 6, 6], dtype=np.int64)
    lat = np.array([1.0, 2.0, 1.0, 1.0, 1.0])
    lon = np.array([3.0, 3.0, 3.0, 3.0, 3.0])
    assert first_copies(device, time, lat, lon).tolist() == [True, True, False, True, True]


def test_no_fix_gives_an_empty_frame_with_the_columns():
    got = positions_from_messages(_messages([("a", 1, None, None, True)]))
    assert list(got.columns) == list(S.POSITION_COLUMNS) and len(got) == 0


_row = st.tuples(
    st.sampled_from(["0012", "12", "a", "Z", "é"]),
    st.integers(0, 4),
    st.sampled_from([0.5, 1.0, None]),
    st.sampled_from([0.5, 1.0]),
    st.sampled_from([True, True, False, None]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_row, max_size=40))
def test_same_rows_as_the_pandas_formulation(rows):
    messages = _messages(rows)
    got = positions_from_messages(messages)
    want = _reference(messages)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 6)), max_size=60))
def test_device_time_order_is_the_stable_lexsort(pairs):
    device = np.array([d for d, _ in pairs], np.int64)
    time = np.array([t for _, t in pairs], np.int64)
    got = device_time_order(device, time)
    assert got.tolist() == np.lexsort((time, device)).tolist()


def test_a_large_table_is_taken_on_threads_with_the_same_rows():
    # from 65,536 rows the columns are taken on the decoding threads; a device whose unit
    # sent buffered fixes late has times going backwards and is sorted by time
    rng = np.random.default_rng(3)
    n = 70_000
    dev = rng.choice(["860000000000001", "860000000000002", "7", "x"], n)
    t = np.arange(n) * 1000
    t[dev == "7"] = t[dev == "7"][::-1]
    lat = rng.choice([1.0, 2.0, None], n)
    valid = rng.random(n) < 0.9
    messages = _messages(list(zip(dev.tolist(), t.tolist(), lat.tolist(), [3.0] * n,
                                  valid.tolist(), strict=True)))
    got = positions_from_messages(messages)
    want = _reference(messages)
    assert len(got) > 40_000
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
