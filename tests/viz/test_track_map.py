"""track_map: offline page, escaping, speed colours, and decimation that keeps events."""

import json
import re
import time

import folium
import numpy as np
import pandas as pd
import pytest
from helpers import at, concat, drive, make_track, park, ts

import bofan_analytics as ba
from bofan_analytics.errors import SchemaError
from bofan_analytics.viz import SPEED_CLASSES, UNKNOWN_SPEED_COLOR
from bofan_analytics.viz.maps import _Track

PAYLOAD = "<img src=x onerror=alert(1)>"
COLOURS = [c for _, c in SPEED_CLASSES]


def layers(html: str) -> list:
    """The JSON of every DataLayer in a rendered page."""
    return [json.loads(m) for m in re.findall(r"bofan\.draw\(\w+, (.*?)\);\n", html)]


def drawn_lines(html: str) -> dict:
    """Track lines per colour: {colour: [[[lat, lon], ...], ...]}."""
    out: dict = {}
    for commands in layers(html):
        for c in commands:
            if c["draw"] == "lines" and c["style"]["color"] in (*COLOURS, UNKNOWN_SPEED_COLOR):
                out.setdefault(c["style"]["color"], []).extend(c["lines"])
    return out


@pytest.fixture
def commute():
    """Park 5 min, drive 3 km east at 50 km/h, 4 km north at 120 km/h, park 15 min."""
    fixes = concat(
        park(0, 300, 0, 0),
        drive(300, (0, 0), (3000, 0), 50),
        drive(516, (3000, 0), (3000, 4000), 120),
        park(636, 1536, 3000, 4000),
    )
    return make_track(fixes, alarms={40: "sos"})


def render(m) -> str:
    return m.get_root().render()


def test_returns_a_folium_map_that_needs_no_network(commute):
    m = ba.track_map(commute, trips=False, stops=False)
    assert isinstance(m, folium.Map)
    html = render(m)
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert "https://cdn" not in html and "code.jquery.com" not in html
    assert 't.version="1.9.4"' in html  # Leaflet inlined
    assert "sourceMappingURL" not in html
    assert "url(images/" not in html  # stylesheet images are data: URIs


def test_tracks_are_coloured_by_speed(commute):
    lines = drawn_lines(render(ba.track_map(commute, trips=False, stops=False, alarms=False)))
    # 0 km/h parked, 50 km/h east, 120 km/h north
    assert set(lines) == {COLOURS[0], COLOURS[3], COLOURS[6]}
    east = lines[COLOURS[3]]
    assert len(east) == 1
    # a straight drive collapses to its two ends: the start and the corner
    assert len(east[0]) == 2
    lat_c, lon_c = at(3000, 0)
    assert east[0][-1] == pytest.approx([lat_c, lon_c], abs=2e-5)


def test_trackers_without_speed_get_a_computed_colour(commute):
    no_speed = commute.assign(speed_kmh=np.nan)
    lines = drawn_lines(render(ba.track_map(no_speed, trips=False, stops=False, alarms=False)))
    assert UNKNOWN_SPEED_COLOR not in lines or len(lines[UNKNOWN_SPEED_COLOR]) <= 1
    assert COLOURS[6] in lines  # the 120 km/h leg is recognised from distance over time


def test_event_points_stay_vertices():
    # 2 km straight at 60 km/h: without events this is one segment of two vertices
    fixes = drive(0, (0, 0), (2000, 0), 60, step_s=5, include_start=True)
    df = make_track(fixes, alarms={17: "hard_braking"})
    lines = drawn_lines(render(ba.track_map(df, trips=False, stops=False)))
    alarm = [round(df.lat[17], 5), round(df.lon[17], 5)]
    assert alarm in [pt for line in lines[COLOURS[3]] for pt in line]
    assert sum(len(line) for line in lines[COLOURS[3]]) == 4  # ends + the alarm on both sides


def test_a_long_gap_breaks_the_line(commute):
    later = make_track(drive(10_000, (3000, 4000), (6000, 4000), 50))
    df = pd.concat([commute, later], ignore_index=True)
    lines = drawn_lines(render(ba.track_map(df, trips=False, stops=False, max_gap_s=3600)))
    starts = [line[0] for colour in lines.values() for line in colour]
    lat, lon = at(3000, 4000)
    ends = [line[-1] for colour in lines.values() for line in colour]
    # nothing is drawn from the end of the first drive (t≈1536 s) to the later one (10 000 s)
    assert [round(lat, 5), round(lon, 5)] in ends
    assert not any(
        s == [round(lat, 5), round(lon, 5)] and e[1] > lon + 0.01
        for s, e in zip(starts, ends, strict=True)
    )


def test_device_and_user_strings_are_escaped(commute):
    evil = commute.assign(device_id=PAYLOAD, msg_type=PAYLOAD)
    lat, lon = at(3000, 4000)
    fences = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "name": PAYLOAD + "</script><script>alert(2)</script>",
                    "radius_m": 200,
                },
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
    }
    html = render(ba.track_map(evil, trips=False, stops=False, geofences=fences))
    assert "<img" not in html
    assert "alert(2)</script>" not in html
    # the labels reach the page as escaped text inside JSON
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in html


def test_overspeed_is_highlighted_with_its_numbers(commute):
    over = pd.DataFrame(
        {
            "device_id": [commute.device_id[0]],
            "start_time": [ts(530)],
            "end_time": [ts(630)],
            "duration_s": [100.0],
            "max_speed_kmh": [120.0],
            "distance_m": [3333.0],
            "limit_kmh": [100.0],
        }
    )
    html = render(
        ba.track_map(commute, trips=False, stops=False, overspeed=over, speed_limit_kmh=100)
    )
    (layer,) = [c for cmds in layers(html) for c in cmds if c["style"].get("color") == "#ff00ff"]
    assert len(layer["lines"]) == 1 and len(layer["lines"][0]) >= 2
    assert "120 km/h" in layer["tips"][0] and "1 min 40 s" in layer["tips"][0]
    assert "over 100 km/h" in html


def test_markers_for_trips_stops_and_alarms(commute):
    trips = pd.DataFrame(
        {
            "device_id": [commute.device_id[0]],
            "start_time": [ts(300)],
            "end_time": [ts(636)],
            "duration_s": [336.0],
            "distance_m": [7000.0],
            "max_speed_kmh": [120.0],
            "start_lat": [at(0, 0)[0]],
            "start_lon": [at(0, 0)[1]],
            "end_lat": [at(3000, 4000)[0]],
            "end_lon": [at(3000, 4000)[1]],
        }
    )
    stops = pd.DataFrame(
        {
            "device_id": [commute.device_id[0]],
            "start_time": [ts(636)],
            "end_time": [ts(1536)],
            "duration_s": [900.0],
            "lat": [at(3000, 4000)[0]],
            "lon": [at(3000, 4000)[1]],
        }
    )
    html = render(ba.track_map(commute, trips=trips, stops=stops))
    points = [c for cmds in layers(html) for c in cmds if c["draw"] == "points"]
    assert sorted(len(c["points"]) for c in points) == [1, 1, 1, 1]  # start, end, stop, alarm
    texts = " ".join(p[2] for c in points for p in c["points"])
    assert "Trip start" in texts and "Trip end" in texts and "15 min" in texts and "sos" in texts


def test_devices_filter_and_input_checks(commute):
    other = commute.assign(device_id="860000000000002")
    both = pd.concat([commute, other], ignore_index=True)
    html = render(ba.track_map(both, devices=["860000000000002"], trips=False, stops=False))
    assert "Track 860000000000002" in html and "Track 860000000000001" not in html
    with pytest.raises(SchemaError):
        ba.track_map(commute.drop(columns=["lat"]))


def test_invalid_fixes_are_not_drawn(commute):
    bad = commute.copy()
    bad.loc[100, "valid"] = False
    bad.loc[100, "lat"] = 0.0
    lines = drawn_lines(render(ba.track_map(bad, trips=False, stops=False)))
    assert all(pt[0] > 51 for colour in lines.values() for line in colour for pt in line)


def test_simplification_keeps_run_ends_exactly():
    t = _Track.build(make_track(drive(0, (0, 0), (1000, 0), 36, step_s=1, include_start=True)))
    ((device, commands),) = list(t.track_commands(2.0, 1000, 3600))
    assert sum(len(line) for c in commands for line in c["lines"]) == 2


@pytest.mark.slow
def test_a_million_fixes_make_a_small_page_quickly():
    rng = np.random.default_rng(7)
    frames = []
    for d in range(4):
        n = 250_000
        speed = np.abs(np.cumsum(rng.normal(0, 2, n))) % 130
        heading = np.cumsum(rng.normal(0, 0.03, n))
        step = speed / 3.6 * 5
        x, y = np.cumsum(step * np.cos(heading)), np.cumsum(step * np.sin(heading))
        frames.append(
            pd.DataFrame(
                {
                    "device_id": f"8600000000000{d:02d}",
                    "time": pd.Timestamp("2026-11-01", tz="UTC")
                    + pd.to_timedelta(np.arange(n) * 5, unit="s"),
                    "lat": 52 + y / 111_000,
                    "lon": 13 + x / 68_000,
                    "speed_kmh": speed,
                    "valid": True,
                    "alarm": None,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    df.loc[::50_000, "alarm"] = "vibration"
    start = time.perf_counter()
    html = render(ba.track_map(df, trips=False, stops=False, max_points=200_000))
    elapsed = time.perf_counter() - start
    assert len(html) < 10_000_000
    assert elapsed < 30
    lines = drawn_lines(html)
    assert sum(len(line) for colour in lines.values() for line in colour) <= 200_000 + 2 * sum(
        len(colour) for colour in lines.values()
    )
    vertices = {tuple(pt) for colour in lines.values() for line in colour for pt in line}
    for i in df.index[df.alarm.notna()]:
        assert (round(df.lat[i], 5), round(df.lon[i], 5)) in vertices


def test_tiles_can_be_left_out_and_keep_their_name(commute):
    bare = render(ba.track_map(commute, trips=False, stops=False, tiles=None))
    assert "L.tileLayer" not in bare
    osm = render(ba.track_map(commute, trips=False, stops=False))
    assert '"OpenStreetMap" :' in osm and "tile.openstreetmap.org" in osm


def test_map_speeds_are_the_analyses_speeds():
    # no reported speed (PT-60): 100 m every 10 s is 36 km/h, the first fix included (it
    # takes the hop out of it, as every analysis does); a re-sent fix and one at 0°/0° are
    # not part of the track
    frame = make_track([(0, 0, 0, 0), (10, 100, 0, 0), (20, 200, 0, 0), (30, 300, 0, 0)],
                       speed=False)
    resent = frame.iloc[[2]]
    zero = frame.iloc[[3]].assign(time=ts(40), lat=0.0, lon=0.0)
    t = _Track.build(pd.concat([frame, resent, zero], ignore_index=True))
    assert len(t) == 4
    assert t.speed == pytest.approx([36.0] * 4)
    assert t.t.tolist() == [ts(s).timestamp() for s in (0, 10, 20, 30)]
