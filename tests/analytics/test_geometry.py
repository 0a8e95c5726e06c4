"""Geometries on request: every vertex is a fix of the track, in time order."""

import geopandas
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from helpers import at, concat, drive, make_track, park, ts

from bofan_analytics.analytics import (
    detect_stops,
    detect_trips,
    find_overspeed,
    geofence_events,
    to_geodataframe,
)
from bofan_analytics.analytics.geometry import _range_rows
from bofan_analytics.errors import FormatError


def two_trip_track(device="860000000000001"):
    # parked 10 min, 2 km east at 50 km/h, parked 10 min, 1 km north at 36 km/h, parked
    return make_track(concat(park(0, 600, 0, 0),
                             drive(600, (0, 0), (2000, 0), 50),
                             park(754, 1354, 2000, 0),
                             drive(1354, (2000, 0), (2000, 1000), 36),
                             park(1464, 2064, 2000, 1000)), device=device)


def fix_rows(track, start, end):
    """The track's fixes from ``start`` to ``end`` (inclusive) as (lon, lat) pairs."""
    sel = track[(track.time >= start) & (track.time <= end)]
    return np.column_stack([sel.lon.to_numpy(), sel.lat.to_numpy()])


def test_range_rows():
    rows, owner = _range_rows(np.array([3, 10, 4]), np.array([5, 10, 7]))
    assert rows.tolist() == [3, 4, 5, 10, 4, 5, 6, 7]
    assert owner.tolist() == [0, 0, 0, 1, 2, 2, 2, 2]


def test_trip_lines_pass_through_every_fix_of_the_trip():
    track = two_trip_track()
    plain = detect_trips(track)
    trips = detect_trips(track, geometry=True)
    assert isinstance(trips, geopandas.GeoDataFrame)
    assert trips.crs.to_epsg() == 4326
    assert list(trips.columns) == [*plain.columns, "geometry"]
    pd.testing.assert_frame_equal(pd.DataFrame(trips.drop(columns="geometry")), plain)
    assert list(trips.geom_type) == ["LineString", "LineString"]
    # trip 1: the first moving fix (t=610, 620 ... 740) to the arrival (t=744): 15 fixes
    # trip 2: t=1364 to the arrival at t=1454: 10 fixes
    assert list(shapely.get_num_coordinates(trips.geometry.values)) == [15, 10]
    for _, trip in trips.iterrows():
        coords = shapely.get_coordinates(trip.geometry)
        expected = fix_rows(track, trip.start_time, trip.end_time)
        np.testing.assert_array_equal(coords, expected)  # exact, every vertex
        assert tuple(coords[0]) == (trip.start_lon, trip.start_lat)
        assert tuple(coords[-1]) == (trip.end_lon, trip.end_lat)


def test_trip_lines_of_many_unsorted_devices_and_empty():
    a, b = two_trip_track("A1"), two_trip_track("B2")
    b = b.assign(lat=b.lat + 0.5)
    mixed = pd.concat([b, a]).sample(frac=1, random_state=7)
    trips = detect_trips(mixed, geometry=True)
    assert list(trips.device_id) == ["A1", "A1", "B2", "B2"]
    for _, trip in trips.iterrows():
        src = a if trip.device_id == "A1" else b
        np.testing.assert_array_equal(shapely.get_coordinates(trip.geometry),
                                      fix_rows(src, trip.start_time, trip.end_time))
    empty = detect_trips(a.iloc[:0], geometry=True)
    assert isinstance(empty, geopandas.GeoDataFrame) and len(empty) == 0
    assert empty.crs.to_epsg() == 4326


def test_simplify_keeps_the_ends_and_drops_collinear_fixes():
    track = two_trip_track()
    trips = detect_trips(track, geometry=True, simplify_m=5)
    # straight drives: only the two ends remain, and they are the exact fixes
    assert list(shapely.get_num_coordinates(trips.geometry.values)) == [2, 2]
    for _, trip in trips.iterrows():
        coords = shapely.get_coordinates(trip.geometry)
        assert tuple(coords[0]) == (trip.start_lon, trip.start_lat)
        assert tuple(coords[-1]) == (trip.end_lon, trip.end_lat)


def test_simplify_tolerance_is_in_metres_east_west_too():
    # a 30 m detour east of a north-south line at 60° N (a degree of longitude is half a
    # degree of latitude there): kept at 20 m, dropped at 40 m
    fixes = [(0, 0, 0, 0), (100, 0, 1, 40), (200, 30, 500, 40), (300, 0, 1000, 40),
             (310, 0, 1000, 0)]
    track = make_track(fixes)
    track = track.assign(lat=track.lat + 8.0)  # 52° -> 60° N; east offsets shrink a little
    m = find_overspeed(track, limit_kmh=30, geometry=True, simplify_m=20)
    assert shapely.get_num_coordinates(m.geometry.values).tolist() == [3]
    m = find_overspeed(track, limit_kmh=30, geometry=True, simplify_m=40)
    assert shapely.get_num_coordinates(m.geometry.values).tolist() == [2]


def test_overspeed_lines_and_a_single_fix_episode_is_a_point():
    fixes = [(0, 0, 0, 50), (10, 100, 0, 95), (20, 200, 0, 99), (30, 300, 0, 96),
             (40, 400, 0, 80), (50, 500, 0, 92), (60, 600, 0, 70)]
    track = make_track(fixes)
    plain = find_overspeed(track, limit_kmh=90, min_duration_s=0)
    episodes = find_overspeed(track, limit_kmh=90, min_duration_s=0, geometry=True)
    pd.testing.assert_frame_equal(pd.DataFrame(episodes.drop(columns="geometry")), plain)
    assert list(episodes.geom_type) == ["LineString", "Point"]
    line, point = episodes.geometry
    np.testing.assert_array_equal(shapely.get_coordinates(line),
                                  [[at(x, 0)[1], at(x, 0)[0]] for x in (100, 200, 300)])
    assert (point.x, point.y) == (at(500, 0)[1], at(500, 0)[0])


def test_stop_and_geofence_event_points():
    track = two_trip_track()
    stops = detect_stops(track, geometry=True)
    assert stops.crs.to_epsg() == 4326 and len(stops) == 3
    assert list(stops.geometry.x) == list(stops.lon)
    assert list(stops.geometry.y) == list(stops.lat)
    lat, lon = at(2000, 0)
    fence = {"type": "Feature", "properties": {"name": "<b>yard</b>", "radius_m": 100},
             "geometry": {"type": "Point", "coordinates": [lon, lat]}}
    events = geofence_events(track, {"type": "FeatureCollection", "features": [fence]},
                             geometry=True)
    assert list(events.event) == ["enter", "exit"]
    assert list(events.geometry.x) == list(events.lon)
    assert list(events.geometry.y) == list(events.lat)


def test_to_geodataframe_keeps_rows_and_columns_and_nulls_missing_points():
    track = make_track([(0, 0, 0, 0), (10, 100, 0, 36), (20, 200, 0, 36)])
    track.loc[1, ["lat", "lon"]] = np.nan
    before = track.copy()
    points = to_geodataframe(track)
    pd.testing.assert_frame_equal(track, before)  # the input is not changed
    assert list(points.columns) == [*track.columns, "geometry"]
    assert points.crs.to_epsg() == 4326
    assert [g is None for g in points.geometry] == [False, True, False]
    assert (points.geometry[2].x, points.geometry[2].y) == (at(200, 0)[1], at(200, 0)[0])
    from_arrow = to_geodataframe(pa.Table.from_pandas(track), devices="860000000000001",
                                 start=ts(5))
    assert len(from_arrow) == 2 and from_arrow.geometry.isna().tolist() == [True, False]


def test_bad_simplify():
    with pytest.raises(FormatError, match="simplify_m"):
        detect_trips(two_trip_track(), geometry=True, simplify_m=0)
