import naive
import numpy as np
import pandas as pd
import pytest
from helpers import at, make_track, ts
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics.analytics import find_overspeed
from bofan_analytics.analytics.overspeed import OVERSPEED_COLUMNS
from bofan_analytics.errors import FormatError


def straight(speeds, *, step_s=10):
    """Fixes every ``step_s`` east along a line, each hop driven at the fix's speed."""
    fixes, x = [], 0.0
    for i, v in enumerate(speeds):
        if i:
            x += v / 3.6 * step_s
        fixes.append((i * step_s, x, 0.0, float(v)))
    return fixes


def square(name, x0, y0, x1, y1, **props):
    ring = [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1), at(x0, y0)]
    return {"type": "Feature", "properties": {"name": name, **props},
            "geometry": {"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in ring]]}}


def test_runs_above_the_limit():
    track = make_track(straight([50, 95, 100, 97, 50, 50, 120, 50, 91, 92]))
    out = find_overspeed(track, limit_kmh=90, min_duration_s=0)
    assert list(out.columns) == list(OVERSPEED_COLUMNS)
    assert list(out.start_time) == [ts(10), ts(60), ts(80)]
    assert list(out.end_time) == [ts(30), ts(60), ts(90)]
    assert list(out.duration_s) == [20, 0, 10]
    assert list(out.max_speed_kmh) == [100, 120, 92]
    assert list(out.distance_m) == pytest.approx([(100 + 97) / 3.6 * 10, 0, 92 / 3.6 * 10],
                                                 rel=1e-6)
    assert list(out.limit_kmh) == [90, 90, 90]
    longer = find_overspeed(track, limit_kmh=90, min_duration_s=15)
    assert list(longer.start_time) == [ts(10)]


def test_pt60_speed_from_positions():
    fixes = straight([0, 36, 108, 108, 36])
    track = make_track(fixes, speed=False, protocol="pt60")
    out = find_overspeed(track, limit_kmh=100)
    assert list(out.start_time) == [ts(20)] and list(out.end_time) == [ts(30)]
    assert out.max_speed_kmh[0] == pytest.approx(108, rel=1e-4)


def test_zone_limits_and_overlaps():
    # zone "town" 50 km/h from 0 to 1000 m, "school" 30 km/h from 500 to 700 m, 80 outside
    fences = {"type": "FeatureCollection", "features": [
        square("town", -10, -50, 1000, 50, speed_limit_kmh=50),
        square("school", 500, -50, 700, 50, speed_limit_kmh=30),
        square("unlimited", 5000, -50, 6000, 50),
    ]}
    track = make_track(straight([40] * 30, step_s=18))  # a fix every 200 m, at 40 km/h
    out = find_overspeed(track, limit_kmh=80, geofences=fences, min_duration_s=0)
    assert list(out.start_time) == [ts(3 * 18)] and list(out.end_time) == [ts(3 * 18)]
    assert list(out.limit_kmh) == [30]
    assert list(out.geofence) == ["school"]
    # one fix inside the school zone is no episode by default (10 s)
    assert find_overspeed(track, limit_kmh=80, geofences=fences).empty
    highest = find_overspeed(track, limit_kmh=80, geofences=fences, overlap="highest")
    assert highest.empty
    # a zone may allow more than the default limit
    fast = make_track(straight([100] * 12, step_s=18))
    out = find_overspeed(fast, limit_kmh=90, geofences={"type": "FeatureCollection", "features": [
        square("motorway", -10, -50, 2100, 50, speed_limit_kmh=120)]})
    assert list(out.start_time) == [ts(5 * 18)] and list(out.end_time) == [ts(11 * 18)]
    assert list(out.limit_kmh) == [90]
    assert out.geofence.isna().tolist() == [True]
    with pytest.raises(FormatError, match="lowest, highest"):
        find_overspeed(track, limit_kmh=80, geofences=fences, overlap="mean")
    with pytest.raises(FormatError):
        find_overspeed(track)


def test_empty_and_single_fix():
    out = find_overspeed(make_track([]), limit_kmh=90)
    assert out.empty and list(out.columns) == list(OVERSPEED_COLUMNS)
    assert str(out.start_time.dtype) == "datetime64[ms, UTC]"
    one = find_overspeed(make_track([(0, 0, 0, 130.0)]), limit_kmh=90, min_duration_s=0)
    assert list(one.duration_s) == [0]
    assert find_overspeed(make_track([(0, 0, 0, 130.0)]), limit_kmh=90).empty


@settings(max_examples=50, deadline=None)
@given(speeds=st.lists(st.sampled_from([0, 40, 89, 90, 91, 130]), min_size=1, max_size=40),
       min_dur=st.sampled_from([0, 10, 25]))
def test_matches_reference(speeds, min_dur):
    track = make_track(straight(speeds))
    out = find_overspeed(track, limit_kmh=90, min_duration_s=min_dur)
    times = [10 * i for i in range(len(speeds))]
    runs = naive.overspeed_runs(times, speeds, [90] * len(speeds), min_dur)
    assert list(out.start_time) == [ts(times[a]) for a, _ in runs]
    assert list(out.end_time) == [ts(times[b]) for _, b in runs]
    assert list(out.max_speed_kmh) == [max(speeds[a:b + 1]) for a, b in runs]


def test_many_devices_unsorted():
    a = make_track(straight([50, 100, 50]), device="a")
    b = make_track(straight([100, 100, 50]), device="b")
    out = find_overspeed(pd.concat([b, a]).sample(frac=1, random_state=1), limit_kmh=90,
                         min_duration_s=0)
    assert list(out.device_id) == ["a", "b"]
    assert list(out.start_time) == [ts(10), ts(0)]
    assert np.all(out.duration_s.to_numpy() == [0, 10])


def test_entering_a_zone_at_speed_is_one_episode_per_limit():
    # 100 km/h on the open road (limit 90), on into a 50 zone from 1000 m, braking to 70
    # inside it and out again at 2000 m: one episode at 90 before the zone, one at 50 in it
    fences = {"type": "FeatureCollection", "features": [
        square("village", 990, -50, 2000, 50, speed_limit_kmh=50)]}
    speeds = [100] * 4 + [70] * 6 + [100] * 3
    fixes, x = [], 0.0
    for i, v in enumerate(speeds):
        fixes.append((i * 10.0, x, 0.0, float(v)))
        x += 1000 / 3 if i < 3 else 1000 / 6 if i < 9 else 1000 / 3
    track = make_track(fixes)
    out = find_overspeed(track, limit_kmh=90, geofences=fences)
    # fix 3 (x=1000, 100 km/h) enters the zone at speed: the zone's episode starts there
    assert list(out.limit_kmh) == [90, 50, 90]
    assert out.geofence.fillna("-").tolist() == ["-", "village", "-"]
    assert list(out.start_time) == [ts(0), ts(30), ts(100)]
    assert list(out.end_time) == [ts(20), ts(90), ts(120)]
    assert list(out.max_speed_kmh) == [100, 100, 100]
