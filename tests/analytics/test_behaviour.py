"""harsh_events, scorecard and driver_summary on tiny tracks with known answers."""

import naive
import numpy as np
import pandas as pd
import pytest
from helpers import concat, drive, make_track, park, ts
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bofan_analytics.analytics import driver_summary, harsh_events, scorecard
from bofan_analytics.analytics.behaviour import DRIVER_COLUMNS, HARSH_COLUMNS, SCORE_COLUMNS
from bofan_analytics.errors import FormatError


def speeds_track(speeds, courses=None, **kw):
    """A fix every second along a line east, at the given speeds (km/h)."""
    fixes, x = [], 0.0
    for i, v in enumerate(speeds):
        fixes.append((float(i), x, 0.0, float(v)))
        x += v / 3.6
    return make_track(fixes, course=courses, **kw)


def test_a_harsh_brake_computed_from_speeds():
    # 72 km/h, then 54 and 36 one second apart each: -5 m/s² twice, one event
    v = [72] * 11 + [54, 36] + [36] * 8 + [45, 54, 63, 72]
    events = harsh_events(speeds_track(v))
    assert list(events.columns) == list(HARSH_COLUMNS)
    assert events.event.tolist() == ["hard_braking"]
    assert events.time.tolist() == [ts(10)]
    assert events.value_ms2.tolist() == pytest.approx([5.0])
    assert events.duration_s.tolist() == [2.0]
    assert events.speed_kmh.tolist() == [72.0]
    assert events.source.tolist() == ["track"]
    # +2.5 m/s² is not hard at the default 3 m/s², is at 2
    soft = harsh_events(speeds_track(v), accel_ms2=2)
    assert soft.event.tolist() == ["hard_braking", "hard_acceleration"]
    assert soft.time.tolist() == [ts(10), ts(20)]
    assert soft.value_ms2.tolist() == pytest.approx([5.0, 2.5])
    # fixes too far apart are not compared
    sparse = make_track([(0, 0, 0, 72.0), (20, 400, 0, 0.0)])
    assert harsh_events(sparse, brake_ms2=0.5).empty
    assert not harsh_events(sparse, brake_ms2=0.5, max_gap_s=30).empty


def test_turns_from_course_changes_and_device_alarms_merged():
    # 36 km/h (10 m/s), heading turning 30° per second: 10 * 0.5236 = 5.24 m/s² sideways
    v = [36.0] * 8
    courses = [90, 90, 90, 120, 150, 180, 180, 180]
    track = speeds_track(v, courses, alarms={6: "hard_braking", 7: "sos"})
    events = harsh_events(track)
    assert events.event.tolist() == ["harsh_turn", "hard_braking"]
    assert events.source.tolist() == ["track", "device"]
    assert events.time.tolist() == [ts(2), ts(6)]
    assert events.value_ms2[0] == pytest.approx(10 * np.pi / 6)
    assert np.isnan(events.value_ms2[1])
    # a slow vehicle's course is noise: no turn below turn_min_speed_kmh
    assert harsh_events(speeds_track([10.0] * 8, courses)).empty
    with pytest.raises(FormatError, match="brake_ms2"):
        harsh_events(track, brake_ms2=0)


FIXES = concat(park(0, 600, 0, 0), drive(600, (0, 0), (2000, 0), 50),
               park(754, 1504, 2000, 0))
T = [f[0] for f in FIXES]


def test_scorecard_formula_on_one_trip():
    # 20.05 km at 50 km/h: arrives 1443.6 s after leaving, its last hop 3.6 s long, a
    # braking of 13.9 m/s over 3.6 s = 3.86 m/s² (harsh at the default 3.5)
    arrive = 600 + 20_050 / (50 / 3.6)
    fixes = concat(park(0, 600, 0, 0), drive(600, (0, 0), (20_050, 0), 50),
                   park(arrive + 10, arrive + 700, 20_050, 0))
    t = [f[0] for f in fixes]
    inputs = ["00010" if 590 <= x < arrive + 20 else "00000" for x in t]
    drivers = [None if x < 610 else "anna" for x in t]
    track = make_track(fixes, inputs=inputs, drivers=drivers)
    card = scorecard(track, ignition_input=2, limit_kmh=40)
    assert list(card.columns) == ["device_id", *SCORE_COLUMNS]
    row = card.iloc[0]
    distance = 20_050 - 50 / 3.6 * 10
    driving = arrive - 610
    assert row.distance_m == pytest.approx(distance)
    assert row.driving_s == pytest.approx(driving)
    assert (row.trips, row.harsh_events) == (1, 1)  # the arrival
    assert row.overspeed_s == 1430.0  # 610 .. 2040 s at 50 km/h
    assert row.idle_s == pytest.approx(20.0)  # engine on at the kerb after the trip
    assert row.night_s == 0.0
    expected = (100 - 5 * (1 / distance * 100_000) - 50 * 1430 / driving
                - 20 * 20 / (driving + 20))
    assert row.score == pytest.approx(expected)
    assert 20 < row.score < 30
    by_driver = scorecard(track, by="driver", ignition_input=2, limit_kmh=40)
    assert by_driver.driver_id.tolist() == ["anna"]
    assert by_driver.score.tolist() == pytest.approx([expected])
    # no limit: no overspeed penalty, and the share is missing
    free = scorecard(track).iloc[0]
    assert np.isnan(free.overspeed_share) and free.idle_s == 0.0
    assert free.score == pytest.approx(100 - 5 * (1 / distance * 100_000))
    with pytest.raises(FormatError, match="device, driver"):
        scorecard(track, by="fleet")


def test_night_driving_is_counted_in_local_hours():
    # the same trip at 22:10 Berlin time (21:10 UTC) is night driving there, not in UTC
    track = make_track(FIXES, start=pd.Timestamp("2026-11-02T21:00:00Z"))
    assert scorecard(track, tz="Europe/Berlin").night_share.tolist() == [1.0]
    assert scorecard(track).night_share.tolist() == [0.0]


def test_driver_summary_per_driver_and_day():
    there_and_back = concat(park(0, 600, 0, 0), drive(600, (0, 0), (2000, 0), 50),
                            park(754, 1504, 2000, 0), drive(1504, (2000, 0), (0, 0), 100),
                            park(1586, 2000, 0, 0))
    t = [f[0] for f in there_and_back]
    drivers = ["anna" if x < 1000 else "ben" for x in t]
    a = make_track(there_and_back, drivers=drivers)
    b = make_track(there_and_back, device="860000000000009", drivers=["ben"] * len(t))
    table = driver_summary(pd.concat([a, b], ignore_index=True), limit_kmh=90)
    assert list(table.columns) == list(DRIVER_COLUMNS)
    assert table.driver_id.tolist() == ["anna", "ben"]
    assert table.trips.tolist() == [1, 3]
    assert table.devices.tolist() == [1, 2]
    assert table.driving_s.tolist() == [134.0, 134.0 + 2 * 62.0]  # 1514 .. 1576 s back
    assert table.overspeed.tolist() == [0, 2]  # the way back at 100 km/h, both vehicles
    assert table.period_start.isna().all()
    days = driver_summary(a, tz="Europe/Berlin", freq="D")
    assert [d.isoformat() for d in days.period_start] == ["2026-11-02T00:00:00+01:00"] * 2
    assert days.overspeed.isna().all()


@settings(max_examples=40, deadline=None)
# four fixes with four events (accelerate, brake, turn, accelerate): more events than rows,
# which overran the kernel's per-device room
@example(steps=[(1, 30, 0), (1, 50, 90), (1, 30, 90), (1, 50, 0)])
@given(steps=st.lists(st.tuples(st.sampled_from([1, 2, 5, 20]),
                                st.sampled_from([0, 10, 30, 50, 72, 90]),
                                st.sampled_from([0, 15, 40, 90, 180, 270, 350])),
                      min_size=1, max_size=30))
def test_harsh_events_match_the_reference(steps):
    times, speeds, courses = [], [], []
    t = 0.0
    for dt, v, c in steps:
        t += dt
        times.append(t)
        speeds.append(float(v))
        courses.append(float(c))
    track = make_track([(tt, 10.0 * i, 0.0, v) for i, (tt, v) in enumerate(
        zip(times, speeds, strict=True))], course=courses)
    out = harsh_events(track)
    want = naive.harsh(times, speeds, courses, accel=3.0, brake=3.5, turn=4.0,
                       turn_min_kmh=20, max_gap_s=15)
    kinds = ["hard_acceleration", "hard_braking", "harsh_turn"]
    assert out.event.tolist() == [kinds[k] for _, _, k, _ in want]
    assert out.time.tolist() == [ts(times[a]) for a, _, _, _ in want]
    assert out.duration_s.tolist() == [times[b] - times[a] for a, b, _, _ in want]
    assert out.value_ms2.tolist() == pytest.approx([v for *_, v in want])
