import json

import naive
import numpy as np
import pandas as pd
import pytest
from helpers import at, make_track, ts
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics.analytics import geofence_events, geofence_visits, load_geofences
from bofan_analytics.analytics.geofences import EVENT_COLUMNS, VISIT_COLUMNS
from bofan_analytics.errors import GeofenceError


def ring(x0, y0, x1, y1):
    pts = [at(x0, y0), at(x1, y0), at(x1, y1), at(x0, y1), at(x0, y0)]
    return [[lon, lat] for lat, lon in pts]


def polygon(name, x0, y0, x1, y1):
    return {"type": "Feature", "properties": {"name": name},
            "geometry": {"type": "Polygon", "coordinates": [ring(x0, y0, x1, y1)]}}


def circle(name, x, y, radius_m):
    lat, lon = at(x, y)
    return {"type": "Feature", "properties": {"name": name, "radius_m": radius_m},
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def collection(*features):
    return {"type": "FeatureCollection", "features": list(features)}


def walk(xs, *, step_s=10, device="860000000000001"):
    """A fix every ``step_s`` at each x (east, metres) on the line y = 0."""
    return make_track([(i * step_s, x, 0.0, 5.0) for i, x in enumerate(xs)], device=device)


XS = [0, 100, 200, 300, 400, 500, 600, 500, 400, 300, 200]


def test_enter_and_exit_at_the_first_fix_on_the_other_side():
    events = geofence_events(walk(XS), collection(polygon("yard", 250, -50, 450, 50)))
    assert list(events.columns) == list(EVENT_COLUMNS)
    assert list(events.event) == ["enter", "exit", "enter", "exit"]
    assert list(events.time) == [ts(30), ts(50), ts(80), ts(100)]
    assert (events.lat[0], events.lon[0]) == at(300, 0)
    assert set(events.geofence) == {"yard"}


def test_multipolygon_circle_and_overlap():
    multi = {"type": "Feature", "properties": {"name": "two lots"},
             "geometry": {"type": "MultiPolygon", "coordinates": [
                 [ring(50, -50, 150, 50)], [ring(450, -50, 550, 50)]]}}
    fences = collection(multi, circle("client", 500, 0, 120), polygon("big", 350, -80, 650, 80))
    events = geofence_events(walk(XS), fences)
    got = list(zip(events.time, events.geofence, events.event, strict=True))
    assert got == [
        (ts(10), "two lots", "enter"),
        (ts(20), "two lots", "exit"),
        (ts(40), "client", "enter"),
        (ts(40), "big", "enter"),
        (ts(50), "two lots", "enter"),
        (ts(60), "two lots", "exit"),
        (ts(70), "two lots", "enter"),
        (ts(80), "two lots", "exit"),
        (ts(90), "client", "exit"),
        (ts(90), "big", "exit"),
    ]


def test_start_inside_is_no_event_and_visits_pair_up():
    fences = collection(polygon("home", -50, -50, 50, 50), polygon("shop", 450, -50, 650, 50))
    events = geofence_events(walk(XS), fences)
    assert list(zip(events.geofence, events.event, strict=True)) == [
        ("home", "exit"), ("shop", "enter"), ("shop", "exit")]
    visits = geofence_visits(walk(XS), fences)
    assert list(visits.columns) == list(VISIT_COLUMNS)
    assert list(visits.geofence) == ["home", "shop"]
    assert pd.isna(visits.enter_time[0]) and visits.exit_time[0] == ts(10)
    assert (visits.enter_time[1], visits.exit_time[1]) == (ts(50), ts(80))
    assert visits.dwell_s[1] == 30 and np.isnan(visits.dwell_s[0])
    open_visit = geofence_visits(walk(XS[:6]), fences)
    assert open_visit.enter_time[1] == ts(50) and pd.isna(open_visit.exit_time[1])


def test_drift_excursion_shorter_than_min_dwell_is_ignored():
    # parked inside, one fix drifts 80 m out for 20 s, later really leaves
    xs = [0, 5, 0, 90, 90, 3, 0, 4, 200, 300, 300, 300]
    fences = collection(circle("depot", 0, 0, 50))
    assert list(geofence_events(walk(xs), fences).time) == [ts(30), ts(50), ts(80)]
    events = geofence_events(walk(xs), fences, min_dwell_s=30)
    assert list(events.time) == [ts(80)] and list(events.event) == ["exit"]
    # a stay outside that reaches min_dwell_s is a real exit
    assert len(geofence_events(walk(xs), fences, min_dwell_s=20)) == 3


def test_unsorted_many_devices_and_empty():
    fences = collection(polygon("yard", 250, -50, 450, 50))
    a, b = walk(XS, device="a"), walk(XS[::-1], device="b")
    events = geofence_events(pd.concat([b, a]).sample(frac=1, random_state=3), fences)
    assert list(events.device_id) == ["a"] * 4 + ["b"] * 4
    empty = geofence_events(walk([]), fences)
    assert empty.empty and list(empty.columns) == list(EVENT_COLUMNS)
    assert str(empty.time.dtype) == "datetime64[ms, UTC]"
    assert geofence_visits(walk([]), fences).empty


def test_many_geofences_use_the_tree_and_agree():
    rng = np.random.default_rng(5)
    features = []
    for k in range(40):
        x, y = rng.uniform(-2000, 2000, 2)
        if k % 3:
            features.append(polygon(f"p{k}", x, y, x + rng.uniform(50, 900), y + rng.uniform(50, 900)))
        else:
            features.append(circle(f"c{k}", x, y, rng.uniform(50, 600)))
    xs = np.cumsum(rng.uniform(-150, 150, 400))
    ys = np.cumsum(rng.uniform(-150, 150, 400))
    track = make_track([(10 * i, x, y, 10.0) for i, (x, y) in enumerate(zip(xs, ys, strict=True))])
    fences = collection(*features)
    tree = geofence_events(track, fences)
    loop = pd.concat([geofence_events(track, collection(*features[i:i + 8]))
                      for i in range(0, 40, 8)])
    key = ["time", "geofence"]
    pd.testing.assert_frame_equal(tree.sort_values(key).reset_index(drop=True),
                                  loop.sort_values(key).reset_index(drop=True))
    assert len(tree) > 20


@settings(max_examples=40, deadline=None)
@given(xs=st.lists(st.integers(-300, 300), min_size=0, max_size=30),
       dwell=st.sampled_from([0, 15, 40]))
def test_matches_reference(xs, dwell):
    fences = collection(polygon("box", -100, -50, 100, 50), circle("round", 150, 0, 80))
    track = walk(xs)
    events = geofence_events(track, fences, min_dwell_s=dwell)
    frame = load_geofences(fences)
    expected = []
    for k in range(len(frame)):
        flags = [naive.inside(frame.geometry[k], frame.radius_m[k], *at(x, 0)) for x in xs]
        for i, enter in naive.crossings([10 * j for j in range(len(xs))], flags, dwell):
            expected.append((ts(10 * i), frame.name[k], "enter" if enter else "exit"))
    got = list(zip(events.time, events.geofence, events.event, strict=True))
    assert sorted(got) == sorted(expected)


def test_load_geofences_sources(tmp_path):
    fc = collection(polygon("yard", 0, 0, 10, 10), circle("gate", 0, 0, 25))
    path = tmp_path / "fences.geojson"
    path.write_text(json.dumps(fc))
    from_path = load_geofences(path)
    assert list(from_path.name) == ["yard", "gate"]
    assert np.isnan(from_path.radius_m[0]) and from_path.radius_m[1] == 25
    again = load_geofences(from_path)
    assert list(again.name) == ["yard", "gate"]
    single = load_geofences(fc["features"][1])
    assert list(single.name) == ["gate"]


@pytest.mark.parametrize("feature, message", [
    ({"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [13, 52]}},
     "name"),
    ({"type": "Feature", "properties": {"name": "x"},
      "geometry": {"type": "Point", "coordinates": [13, 52]}}, "radius_m"),
    ({"type": "Feature", "properties": {"name": "x"},
      "geometry": {"type": "LineString", "coordinates": [[13, 52], [13.1, 52]]}}, "Polygon"),
])
def test_bad_geofences(feature, message):
    with pytest.raises(GeofenceError, match=message):
        load_geofences(collection(feature))
    with pytest.raises(GeofenceError):
        load_geofences("/nonexistent/fences.geojson")


def test_no_geofences_no_events():
    empty = collection()
    assert load_geofences(empty).empty
    assert geofence_events(walk(XS), empty).empty
    assert geofence_visits(walk(XS), empty).empty
