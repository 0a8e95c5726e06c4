import math

import naive
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from helpers import at, concat, drive, make_track, park, ts
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics.analytics import detect_stops, detect_trips
from bofan_analytics.analytics.trips import STOP_COLUMNS, TRIP_COLUMNS
from bofan_analytics.errors import FormatError, InputError


def times(frame, column):
    return list(frame[column])


def one_trip_track(**kw):
    # parked 10 min at home, 2 km east at 50 km/h (144 s), parked 12.5 min
    return make_track(concat(park(0, 600, 0, 0),
                             drive(600, (0, 0), (2000, 0), 50),
                             park(754, 1504, 2000, 0)), **kw)


def test_one_trip_between_two_stops():
    track = one_trip_track()
    trips = detect_trips(track)
    stops = detect_stops(track)
    assert list(trips.columns) == list(TRIP_COLUMNS)
    assert list(stops.columns) == list(STOP_COLUMNS)
    assert len(trips) == 1 and len(stops) == 2
    trip = trips.iloc[0]
    # from the first moving fix to the arrival fix
    first_hop = 50 / 3.6 * 10
    assert (trip.start_time, trip.end_time) == (ts(610), ts(744))
    assert trip.duration_s == 134
    assert trip.distance_m == pytest.approx(2000 - first_hop, abs=0.01)
    assert trip.max_speed_kmh == 50
    assert trip.avg_speed_kmh == pytest.approx((2000 - first_hop) / 134 * 3.6, rel=1e-5)
    assert (trip.start_lat, trip.start_lon) == pytest.approx(at(first_hop, 0))
    assert (trip.end_lat, trip.end_lon) == pytest.approx(at(2000, 0))
    assert trip.idle_s == 0
    # from the arrival fix to the departure fix (the first one no longer parked)
    assert times(stops, "start_time") == [ts(0), ts(744)]
    assert times(stops, "end_time") == [ts(610), ts(1504)]
    assert list(stops.duration_s) == [610, 760]
    assert list(stops.open) == [False, True]
    assert (stops.lat[1], stops.lon[1]) == pytest.approx(at(2000, 0))


def test_trips_and_stops_tile_the_timeline():
    trips, stops = detect_trips(one_trip_track()), detect_stops(one_trip_track())
    assert trips.start_time[0] == stops.end_time[0]
    assert trips.end_time[0] == stops.start_time[1]


def test_trip_start_at_last_stationary_fix():
    trip = detect_trips(one_trip_track(), trip_start="stop").iloc[0]
    assert trip.start_time == ts(600)
    assert trip.distance_m == pytest.approx(2000, abs=0.01)
    assert (trip.start_lat, trip.start_lon) == at(0, 0)
    with pytest.raises(FormatError, match="move, stop"):
        detect_trips(one_trip_track(), trip_start="later")


def test_traffic_light_does_not_split_the_trip_and_counts_as_idle():
    # 36 km/h = 100 m per 10 s; 60 s at a red light after 1 km
    track = make_track(concat(park(0, 300, 0, 0),
                              drive(300, (0, 0), (1000, 0), 36),
                              park(410, 460, 1000, 0),
                              drive(460, (1000, 0), (2000, 0), 36),
                              park(570, 900, 2000, 0)))
    trips = detect_trips(track)
    assert len(trips) == 1
    assert (trips.start_time[0], trips.end_time[0]) == (ts(310), ts(560))
    assert trips.idle_s[0] == 60
    assert times(detect_stops(track), "start_time") == [ts(0), ts(560)]


def test_parked_jitter_is_not_movement():
    # an hour of fixes scattered up to 25 m around one spot (35 m diagonally)
    track = make_track(park(0, 3600, 0, 0, jitter_m=25, seed=3))
    assert detect_trips(track).empty
    stops = detect_stops(track)
    assert len(stops) == 1
    assert (stops.start_time[0], stops.end_time[0], stops.open[0]) == (ts(0), ts(3600), True)


def test_out_of_order_upload_and_duplicates_are_placed_by_time():
    track = one_trip_track()
    # a coverage gap uploaded late: the drive arrives after the park, some frames twice
    late = pd.concat([track.iloc[:40], track.iloc[62:], track.iloc[40:62], track.iloc[45:50]])
    pd.testing.assert_frame_equal(detect_trips(late), detect_trips(track))
    pd.testing.assert_frame_equal(detect_stops(late), detect_stops(track))
    shuffled = track.sample(frac=1, random_state=7)
    pd.testing.assert_frame_equal(detect_trips(shuffled), detect_trips(track))


def test_data_gap_ends_a_trip():
    track = make_track(concat(park(0, 300, 0, 0),
                              drive(300, (0, 0), (2000, 0), 50, stop_at_end=False),
                              drive(7644, (2000, 0), (4000, 0), 50),
                              park(7798, 8400, 4000, 0)))
    trips = detect_trips(track)
    assert times(trips, "start_time") == [ts(310), ts(7654)]
    assert times(trips, "end_time") == [ts(444), ts(7788)]
    stops = detect_stops(track)
    assert times(stops, "start_time") == [ts(0), ts(7788)]
    # with a longer allowance the gap is just part of one trip
    assert len(detect_trips(track, stop_gap_s=8000)) == 1


def test_silent_gap_while_parked_stays_one_stop():
    track = make_track(concat(park(0, 300, 0, 0), park(5 * 3600, 5 * 3600 + 300, 5, 5),
                              drive(5 * 3600 + 300, (5, 5), (1000, 5), 50)))
    stops = detect_stops(track)
    assert len(stops) == 1
    assert (stops.start_time[0], stops.end_time[0]) == (ts(0), ts(5 * 3600 + 310))
    assert not stops.open[0]


def test_short_move_between_stops_merges_them():
    # re-parking 100 m away is less than min_distance_m: one stop
    track = make_track(concat(park(0, 600, 0, 0), drive(600, (0, 0), (100, 0), 10),
                              park(646, 1496, 100, 0)))
    assert detect_trips(track).empty
    stops = detect_stops(track)
    assert (stops.start_time[0], stops.end_time[0]) == (ts(0), ts(1496))
    assert len(detect_trips(track, min_distance_m=50)) == 1


def test_single_fix_device_and_other_devices():
    lone = make_track([(0, 0, 0, 0.0)], device="7")
    both = pd.concat([one_trip_track(), lone])
    trips = detect_trips(both)
    assert list(trips.device_id) == ["860000000000001"]
    assert detect_trips(lone).empty and detect_stops(lone).empty


def test_devices_are_separate():
    a = one_trip_track(device="A")
    b = one_trip_track(device="B")
    b["time"] = b["time"] + pd.Timedelta(seconds=30)
    trips = detect_trips(pd.concat([b, a]))
    assert list(trips.device_id) == ["A", "B"]
    assert list(trips.start_time) == [ts(610), ts(640)]


@pytest.mark.parametrize("fn, columns", [(detect_trips, TRIP_COLUMNS), (detect_stops, STOP_COLUMNS)])
def test_empty_input_gives_typed_empty_frame(fn, columns):
    out = fn(one_trip_track().iloc[:0])
    assert out.empty and list(out.columns) == list(columns)
    assert str(out["start_time"].dtype) == "datetime64[ms, UTC]"
    assert out["duration_s"].dtype == np.float64
    assert out["device_id"].dtype == "str"


def test_pt60_track_without_speed():
    track = one_trip_track(speed=False, protocol="pt60")
    assert track.speed_kmh.isna().all()
    trips = detect_trips(track)
    assert (trips.start_time[0], trips.end_time[0]) == (ts(610), ts(744))
    assert trips.max_speed_kmh[0] == pytest.approx(50, rel=1e-3)
    assert times(detect_stops(track), "start_time") == [ts(0), ts(744)]


def test_rolling_arrival_inside_the_radius_belongs_to_the_trip():
    # the fix 30 m short of the spot still rolls at 10 km/h: the stop starts at the spot
    fixes = concat(park(0, 600, 0, 0), drive(600, (0, 0), (1900, 0), 50, stop_at_end=False),
                   [(750, 1970, 0, 10.0), (760, 2000, 0, 0.0)], park(770, 1500, 2000, 0))
    trips = detect_trips(make_track(fixes))
    assert trips.end_time[0] == ts(760)
    # without a speed field the hops tell: reached at 25 km/h, left at 11 km/h
    assert detect_trips(make_track(fixes, speed=False)).end_time[0] == ts(760)


def test_odometer_at_both_ends():
    track = one_trip_track()
    track["odometer_m"] = np.where(track.time <= ts(600), 1000.0, 3000.0)
    track.loc[track.time == ts(610), "odometer_m"] = np.nan
    trip = detect_trips(track).iloc[0]
    # the start fix has none: the first reading inside the trip stands in
    assert (trip.start_odometer_m, trip.end_odometer_m) == (3000.0, 3000.0)
    assert math.isnan(detect_trips(one_trip_track()).start_odometer_m[0])


def test_local_times_across_a_daylight_saving_change():
    # Europe/Berlin falls back at 01:00 UTC on 2026-10-25: a stop from 00:30 to 02:30 UTC
    start = pd.Timestamp("2026-10-25T00:30:00Z")
    track = make_track(concat(park(0, 7200, 0, 0), drive(7200, (0, 0), (2000, 0), 50)),
                       start=start)
    stops = detect_stops(track, tz="Europe/Berlin")
    assert stops.duration_s[0] == 7210
    assert str(stops.start_time.dt.tz) == "Europe/Berlin"
    assert stops.start_time[0] == start
    assert stops.start_time[0].utcoffset() == pd.Timedelta(hours=2)
    assert stops.end_time[0].utcoffset() == pd.Timedelta(hours=1)


def test_other_inputs(monkeypatch, tmp_path):
    track = one_trip_track()
    expected = detect_trips(track)
    table = pa.Table.from_pandas(track, preserve_index=False)
    pd.testing.assert_frame_equal(detect_trips(table), expected)

    class Log:
        messages = table

        def positions(self):
            return track

    pd.testing.assert_frame_equal(detect_trips(Log()), expected)
    from bofan_analytics import dataset

    seen = []
    monkeypatch.setattr(
        dataset, "read_positions", lambda path, **where: seen.append((path, where)) or track
    )
    pd.testing.assert_frame_equal(detect_trips(tmp_path), expected)
    pd.testing.assert_frame_equal(detect_trips(tmp_path, devices="x", end="2026-11-02"), expected)
    assert seen == [
        (tmp_path, {"devices": None, "start": None, "end": None}),
        (tmp_path, {"devices": "x", "start": None, "end": "2026-11-02"}),
    ]
    with pytest.raises(InputError):
        detect_trips([1, 2, 3])


def test_bad_threshold_and_zone():
    with pytest.raises(FormatError, match="min_duration_s"):
        detect_stops(one_trip_track(), min_duration_s=-1)
    with pytest.raises(FormatError, match="Europe/Berlin"):
        detect_stops(one_trip_track(), tz="Mars/Olympus_Mons")


# --------------------------------------------------------------- against the reference

_piece = st.one_of(
    st.tuples(st.just("park"), st.integers(1, 80), st.floats(0, 30)),
    st.tuples(st.just("drive"), st.integers(1, 40), st.floats(1, 120)),
    st.tuples(st.just("gap"), st.integers(60, 9000), st.just(0.0)),
)


@settings(max_examples=60, deadline=None)
@given(pieces=st.lists(_piece, min_size=1, max_size=8), seed=st.integers(0, 1000),
       with_speed=st.booleans())
def test_matches_reference(pieces, seed, with_speed):
    rng = np.random.default_rng(seed)
    t, x, y = 0.0, 0.0, 0.0
    fixes = []
    for kind, count, value in pieces:
        if kind == "gap":
            t += count
            continue
        heading = rng.uniform(0, 2 * np.pi)
        for _ in range(count):
            dt = float(rng.integers(5, 60))
            t += dt
            if kind == "drive":
                # the speed times the real interval: a fixed step made the centroid of a slow
                # crawl land exactly on stop_radius_m, where rounding alone decides
                step = value / 3.6 * dt
                x, y = x + step * np.cos(heading), y + step * np.sin(heading)
                fixes.append((t, x, y, value))
            else:
                fixes.append((t, x + rng.uniform(-value, value), y + rng.uniform(-value, value), 0.0))
    track = make_track(fixes, speed=with_speed)
    trips, stops = detect_trips(track), detect_stops(track)
    rows = [(f[0], *at(f[1], f[2]), f[3] if with_speed else math.nan) for f in fixes]
    ref_stops, ref_trips, ref_idle = naive.stops_and_trips(rows)
    last = len(rows) - 1
    assert times(stops, "start_time") == [ts(rows[a][0]) for a, _ in ref_stops]
    assert times(stops, "end_time") == [ts(rows[min(b + 1, last)][0]) for _, b in ref_stops]
    assert list(stops.open) == [b == last for _, b in ref_stops]
    assert times(trips, "start_time") == [ts(rows[a][0]) for a, _ in ref_trips]
    assert times(trips, "end_time") == [ts(rows[b][0]) for _, b in ref_trips]
    assert list(trips.idle_s) == pytest.approx(ref_idle)
    assert list(trips.distance_m) == pytest.approx(
        [naive.path_m(rows, a, b) for a, b in ref_trips], rel=1e-6)


def test_parallel_and_serial_kernels_agree(monkeypatch):
    from bofan_analytics import _numba
    from bofan_analytics.analytics import find_overspeed, geofence_events

    fences = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "home", "radius_m": 100},
        "geometry": {"type": "Point", "coordinates": [at(0, 0)[1], at(0, 0)[0]]}}]}
    fleet = pd.concat([one_trip_track(device=str(d), speed=d % 2 == 0) for d in range(5)])
    calls = [detect_trips, detect_stops, lambda f: find_overspeed(f, limit_kmh=30),
             lambda f: geofence_events(f, fences)]
    serial = [call(fleet) for call in calls]
    monkeypatch.setattr(_numba, "PARALLEL_FROM", 0)
    for call, expected in zip(calls, serial, strict=True):
        pd.testing.assert_frame_equal(call(fleet), expected)


@pytest.mark.parametrize("change", [
    lambda t: t.assign(device_id=7),                                    # integer ids
    lambda t: t.assign(device_id=t.device_id.astype(object)),           # plain objects
    lambda t: t.assign(device_id=t.device_id.astype("category")),
    lambda t: t.assign(time=t.time.dt.tz_localize(None)),               # naive UTC
    lambda t: t.assign(time=t.time.astype("datetime64[ns, UTC]")),
    lambda t: t.assign(speed_kmh=t.speed_kmh.astype("Float64"), valid=t.valid.astype("boolean")),
    lambda t: t.convert_dtypes(dtype_backend="pyarrow"),
])
def test_column_variants(change):
    trips = detect_trips(change(one_trip_track()))
    assert (trips.start_time[0], trips.end_time[0]) == (ts(610), ts(744))
    assert trips.device_id.dtype == "str"
