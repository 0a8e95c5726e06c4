"""The kernels called directly on arrays, and the one-sort preparation they rely on."""

import math

import naive
import numpy as np
import pandas as pd
import pytest
from helpers import concat, drive, make_track, park
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics.analytics._geo import cumulative_m, fill_speed, haversine_m
from bofan_analytics.analytics._track import compact_rows, prepare
from bofan_analytics.analytics.geofences import _crossings
from bofan_analytics.analytics.overspeed import _runs


def test_haversine_known_distance():
    # one degree of latitude on the mean sphere
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(6_371_008.8 * math.pi / 180, rel=1e-12)
    assert haversine_m(52.0, 13.0, 52.0, 13.0) == 0.0


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(-0.2, 0.2), st.floats(-0.2, 0.2)), min_size=1,
                      max_size=30),
       split=st.integers(0, 30))
def test_cumulative_matches_haversine_path(steps, split):
    lat = 50 + np.cumsum([s[0] for s in steps])
    lon = 10 + np.cumsum([s[1] for s in steps])
    n = len(lat)
    cut = min(split, n)
    bounds = np.array([0, cut, n], dtype=np.int64)
    cum = cumulative_m(lat, lon, bounds)
    for s, e in ((0, cut), (cut, n)):
        rows = [(0, lat[i], lon[i]) for i in range(s, e)]
        for k in range(e - s):
            assert cum[s + k] == pytest.approx(naive.path_m(rows, 0, k), rel=1e-6, abs=1e-6)


def test_fill_speed_keeps_reported_and_derives_the_rest():
    t = np.array([0, 10_000, 20_000, 0], dtype=np.int64)
    cum = np.array([0.0, 100.0, 300.0, 0.0])
    speed = np.array([np.nan, 55.0, np.nan, np.nan])
    bounds = np.array([0, 3, 4], dtype=np.int64)
    out = fill_speed(speed, cum, t, bounds)
    # first fix: the hop out of it; then reported; then the hop in; a lone fix stays NaN
    assert out[:3].tolist() == [36.0, 55.0, 72.0] and math.isnan(out[3])


def test_compact_rows():
    bounds = np.array([0, 5, 5, 9], dtype=np.int64)
    counts = np.array([2, 0, 3], dtype=np.int64)
    assert compact_rows(bounds, counts).tolist() == [0, 1, 5, 6, 7]


def test_crossings_kernel():
    # device 0 rows 0-5, device 1 rows 6-9; one geofence, inside at rows 2,3 and 6,7
    t = np.arange(10, dtype=np.int64) * 1000
    rows = np.array([2, 3, 6, 7], dtype=np.int64)
    offsets = np.array([0, 4], dtype=np.int64)
    bounds = np.array([0, 6, 10], dtype=np.int64)
    ev_row, ev_enter, counts = _crossings(rows, offsets, t, bounds, 0)
    got = list(zip(ev_row[:counts[0]].tolist(), ev_enter[:counts[0]].tolist(), strict=True))
    # device 1 starts inside: no enter, an exit at row 8
    assert got == [(2, True), (4, False), (8, False)]
    # with a dwell: a stay to the end of the data counts up to the last fix
    ev_row, ev_enter, counts = _crossings(rows, offsets, t, bounds, 1500)
    assert ev_row[:counts[0]].tolist() == [2]
    ev_row, ev_enter, counts = _crossings(rows, offsets, t, bounds, 2500)
    assert counts[0] == 0


def test_overspeed_runs_kernel():
    t = np.arange(6, dtype=np.int64) * 1000
    speed = np.array([95, 95, 50, 95, 95, 95.0])
    limit = np.array([90, 90, 90, 90, 100, 90.0])
    cum = np.zeros(6)
    bounds = np.array([0, 6], dtype=np.int64)
    rs, re, peak, counts = _runs(t, speed, limit, cum, bounds, 0)
    k = counts[0]
    # a run breaks where the limit changes
    assert list(zip(rs[:k].tolist(), re[:k].tolist(), strict=True)) == [(0, 1), (3, 3), (5, 5)]


def test_fast_and_sorting_paths_prepare_the_same_track():
    a = make_track(concat(park(0, 300, 0, 0), drive(300, (0, 0), (900, 0), 40)), device="a")
    b = make_track(concat(park(0, 200, 50, 50), drive(200, (50, 50), (50, 700), 30)), device="b")
    ordered = pd.concat([a, b], ignore_index=True)
    fast = prepare(ordered)
    assert fast.rows is None  # sorted, clean input is used in place
    invalid = ordered.iloc[[0]].assign(valid=False, lat=0.0)
    messy = pd.concat([ordered.iloc[::-1], ordered.iloc[:5], invalid], ignore_index=True)
    slow = prepare(messy)
    assert slow.rows is not None
    for field in ("bounds", "t_ms", "lat", "lon", "speed_kmh"):
        np.testing.assert_array_equal(getattr(slow, field), getattr(fast, field))
    assert list(slow.devices) == list(fast.devices) == ["a", "b"]
