"""GPX, KML/KMZ and GeoParquet exports: structure, exact read-back, hostile names."""

import json
import xml.etree.ElementTree as ET
import zipfile

import duckdb
import geopandas
import gpxpy
import numpy as np
import pandas as pd
import pytest
import shapely
from helpers import at, concat, drive, make_track, park, ts

from bofan_analytics import export
from bofan_analytics.analytics import detect_stops, detect_trips
from bofan_analytics.errors import FormatError, SchemaError

GPX = "{http://www.topografix.com/GPX/1/1}"
TPX = "{http://www.garmin.com/xmlschemas/TrackPointExtension/v2}"
KML = "{http://www.opengis.net/kml/2.2}"

HOSTILE_DEVICE = "<dev>&\"'\x01]]>"
HOSTILE_FENCE = "</name><script>alert(1)</script>&amp;"

# The GPX 1.1 schema's content model for the elements an export uses: each element's
# children in the order the xsd:sequence allows (every one optional and repeatable here).
_WPT = ("ele", "time", "magvar", "geoidheight", "name", "cmt", "desc", "src", "link", "sym",
        "type", "fix", "sat", "hdop", "vdop", "pdop", "ageofdgpsdata", "dgpsid", "extensions")
GPX_SEQUENCE = {
    "gpx": ("metadata", "wpt", "rte", "trk", "extensions"),
    "metadata": ("name", "desc", "author", "copyright", "link", "time", "keywords", "bounds",
                 "extensions"),
    "wpt": _WPT,
    "trkpt": _WPT,
    "trk": ("name", "cmt", "desc", "src", "link", "number", "type", "extensions", "trkseg"),
    "trkseg": ("trkpt", "extensions"),
}
_SIMPLE = {"ele", "time", "name", "cmt", "desc", "src", "type", "sym", "bounds"}


def check_gpx_structure(el, tag="gpx"):
    """Raise AssertionError where ``el`` breaks the GPX 1.1 content model."""
    assert el.tag == GPX + tag, el.tag
    if tag in ("wpt", "trkpt"):
        assert -90 <= float(el.get("lat")) <= 90 and -180 <= float(el.get("lon")) < 180
    if tag == "gpx":
        assert el.get("version") == "1.1" and el.get("creator")
    if tag in _SIMPLE:
        assert len(el) == 0
        if tag == "time":
            assert pd.Timestamp(el.text).tzinfo is not None  # xsd:dateTime, zoned
        return
    if tag == "extensions":
        return  # any elements of other namespaces
    order = GPX_SEQUENCE[tag]
    last = -1
    for child in el:
        name = child.tag.removeprefix(GPX)
        assert name in order, f"<{name}> not allowed in <{tag}>"
        assert order.index(name) >= last, f"<{name}> out of order in <{tag}>"
        last = order.index(name)
        check_gpx_structure(child, name)


def hostile_track():
    # parked, 2 km east at 50 km/h, parked, 1 km north at 36 km/h (speeds reported), parked;
    # an SOS while parked at the far end and one alarm frame without a position
    fixes = concat(park(0, 600, 0, 0, step_s=60), drive(600, (0, 0), (2000, 0), 50),
                   park(804, 1404, 2000, 0, step_s=60),
                   drive(1404, (2000, 0), (2000, 1000), 36),
                   park(1564, 2164, 2000, 1000, step_s=60))
    track = make_track(fixes, device=HOSTILE_DEVICE, alarms={30: "sos", 31: "power_cut"})
    track.loc[31, ["lat", "lon"]] = np.nan
    return track


def fence():
    lat, lon = at(2000, 500)
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": HOSTILE_FENCE, "radius_m": 100},
         "geometry": {"type": "Point", "coordinates": [lon, lat]}}]}


def fixes_between(track, start, end):
    sel = track[(track.time >= start) & (track.time <= end)]
    return list(zip(sel.lat, sel.lon, sel.time, strict=True))


def test_gpx_structure_and_exact_read_back(tmp_path):
    track = hostile_track()
    path = tmp_path / "out.gpx"
    assert export(track, path, geofences=fence()) == [path]
    root = ET.parse(path).getroot()
    check_gpx_structure(root)

    trips = detect_trips(track)
    stops = detect_stops(track)
    gpx = gpxpy.parse(path.read_text(encoding="utf-8"))
    assert len(gpx.tracks) == len(trips) == 2
    for trk, trip in zip(gpx.tracks, trips.itertuples(), strict=True):
        assert len(trk.segments) == 1
        got = [(p.latitude, p.longitude, pd.Timestamp(p.time)) for p in trk.segments[0].points]
        assert got == fixes_between(track, trip.start_time, trip.end_time)  # every fix, exact
        assert trk.name == f"{HOSTILE_DEVICE.replace(chr(1), chr(0xFFFD))} trip " \
                           f"{trip.start_time:%Y-%m-%d %H:%M} UTC"
    # speed in m/s in the TrackPointExtension: 50 km/h while driving, 0 at the arrival
    speeds = [float(s.text) for s in root.iter(TPX + "speed")]
    assert speeds[:3] == [50 / 3.6] * 3 and speeds[len(gpx.tracks[0].segments[0].points) - 1] == 0

    kinds = [w.type for w in gpx.waypoints]
    assert kinds == ["stop"] * 3 + ["alarm"] + ["geofence"] * 2
    assert [(w.latitude, w.longitude) for w in gpx.waypoints[:3]] == list(zip(stops.lat, stops.lon,
                                                                             strict=True))
    assert [pd.Timestamp(w.time) for w in gpx.waypoints[:3]] == list(stops.start_time)
    sos = gpx.waypoints[3]
    assert (sos.latitude, sos.longitude, pd.Timestamp(sos.time)) == (track.lat[30], track.lon[30],
                                                                     ts(1044))
    assert sos.name.endswith(" sos")  # the alarm without a position is left out
    assert [w.name.split(" ")[-2:] for w in gpx.waypoints[4:]] == [
        ["enter", "</name><script>alert(1)</script>&amp;"],
        ["exit", "</name><script>alert(1)</script>&amp;"]]


def test_gpx_escapes_hostile_names_in_the_bytes(tmp_path):
    path = tmp_path / "out.gpx"
    export(hostile_track(), path, geofences=fence())
    raw = path.read_bytes()
    assert b"<script>" not in raw and b"</name><script>" not in raw
    assert b"&lt;/name&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;amp;" in raw
    assert b"&lt;dev&gt;&amp;\"'\xef\xbf\xbd]]&gt;" in raw  # \x01 cannot be XML: U+FFFD
    assert b"\x01" not in raw


def test_kml_has_a_placemark_per_trip_stop_alarm_and_event(tmp_path):
    track = hostile_track()
    path = tmp_path / "out.kml"
    export(track, path, geofences=fence(), tz="Europe/Berlin")
    root = ET.parse(path).getroot()
    assert root.tag == KML + "kml"
    folders = root.findall(f"{KML}Document/{KML}Folder")
    assert [f.findtext(KML + "name") for f in folders] == ["Trips", "Stops", "Alarms",
                                                           "Geofence events"]
    counts = [len(f.findall(KML + "Placemark")) for f in folders]
    assert counts == [2, 3, 1, 2]
    trips = detect_trips(track, tz="Europe/Berlin")
    first = folders[0].find(KML + "Placemark")
    coords = first.findtext(f"{KML}LineString/{KML}coordinates").split(" ")
    expected = fixes_between(track, trips.start_time[0], trips.end_time[0])
    assert [tuple(map(float, c.split(","))) for c in coords] == [(lon, lat) for lat, lon, _
                                                                 in expected]
    assert first.findtext(f"{KML}TimeSpan/{KML}begin") == trips.start_time[0].isoformat()
    assert first.findtext(f"{KML}TimeSpan/{KML}begin").endswith("+01:00")
    data = {d.get("name"): d.findtext(KML + "value")
            for d in first.findall(f"{KML}ExtendedData/{KML}Data")}
    assert data["device_id"] == HOSTILE_DEVICE.replace("\x01", "\ufffd")
    assert data["max_speed_kmh"] == "50.0" and data["duration_s"] == "134"
    assert first.findtext(KML + "description") == "1.86 km in 2 min, max 50 km/h"
    event = folders[3].find(KML + "Placemark")
    assert event.findtext(KML + "name").endswith(f"enter {HOSTILE_FENCE}")
    raw = path.read_bytes()
    assert b"<script>" not in raw and b"\x01" not in raw


def test_kml_leaves_a_missing_figure_empty(tmp_path):
    track = hostile_track()
    trips = detect_trips(track).assign(max_speed_kmh=np.nan)
    export(track, tmp_path / "out.kml", trips=trips)
    first = ET.parse(tmp_path / "out.kml").getroot().find(f".//{KML}Placemark")
    data = {d.get("name"): d.findtext(KML + "value")
            for d in first.findall(f"{KML}ExtendedData/{KML}Data")}
    assert data["max_speed_kmh"] == ""
    assert first.findtext(KML + "description") == "1.86 km in 2 min"


def test_kmz_is_the_kml_zipped(tmp_path):
    track = hostile_track()
    export(track, tmp_path / "a.kml")
    export(track, tmp_path / "a.kmz")
    with zipfile.ZipFile(tmp_path / "a.kmz") as z:
        assert z.namelist() == ["doc.kml"]
        assert z.read("doc.kml") == (tmp_path / "a.kml").read_bytes()


def test_geoparquet_reads_back_with_geopandas_and_duckdb(tmp_path):
    track = hostile_track()
    paths = export(track, tmp_path / "gp", to="geoparquet", tz="Europe/Berlin")
    assert [p.name for p in paths] == ["positions.parquet", "trips.parquet", "stops.parquet"]
    positions = geopandas.read_parquet(paths[0])
    trips = geopandas.read_parquet(paths[1])
    stops = geopandas.read_parquet(paths[2])
    for frame in (positions, trips, stops):
        assert frame.crs.to_epsg() == 4326
    assert len(positions) == len(track)
    assert positions.geometry.isna().tolist() == track.lat.isna().tolist()
    fixed = track.lat.notna()
    assert list(positions.geometry[fixed].x) == list(track.lon[fixed])
    assert list(positions.geometry[fixed].y) == list(track.lat[fixed])
    assert str(positions.time.dtype) == "datetime64[ms, Europe/Berlin]"
    expected = detect_trips(track, geometry=True)
    assert list(trips.geometry.to_wkb()) == list(expected.geometry.to_wkb())
    assert list(trips.start_time) == list(expected.start_time)  # same instants
    assert list(stops.geometry.x) == list(detect_stops(track).lon)

    # DuckDB reads the files as they are: the GeoParquet column comes back as a GEOMETRY
    # with the file's CRS (its core reader; the spatial extension cannot be installed
    # offline here), and the geo metadata is there for any other reader
    con = duckdb.connect()
    rows = con.execute(f"SELECT ST_AsText(geometry), typeof(geometry) FROM "
                       f"read_parquet('{paths[1]}')").fetchall()
    assert [r[0] for r in rows] == [shapely.to_wkt(g, rounding_precision=-1)
                                    for g in expected.geometry]
    assert all('"code":4326' in r[1] for r in rows)
    meta = dict(con.execute(f"SELECT key, value FROM parquet_kv_metadata('{paths[1]}')").fetchall())
    geo = json.loads(meta[b"geo"])
    assert geo["primary_column"] == "geometry"
    assert geo["columns"]["geometry"]["encoding"] == "WKB"
    assert geo["columns"]["geometry"]["geometry_types"] == ["LineString"]


def test_own_trips_and_errors(tmp_path):
    track = hostile_track()
    one = detect_trips(track).iloc[[1]]
    export(track, tmp_path / "one.gpx", trips=one, stops=detect_stops(track).iloc[:0])
    gpx = gpxpy.parse((tmp_path / "one.gpx").read_text())
    assert len(gpx.tracks) == 1 and [w.type for w in gpx.waypoints] == ["alarm"]
    with pytest.raises(FormatError, match="cannot tell the export format"):
        export(track, tmp_path / "out.txt")
    with pytest.raises(FormatError, match="one of gpx, kml, kmz, geoparquet"):
        export(track, tmp_path / "out.gpx", to="shp")
    with pytest.raises(FormatError, match="time zone"):
        export(track, tmp_path / "out.gpx", tz="Mars/Olympus")
    shifted = one.assign(start_time=one.start_time + pd.Timedelta(seconds=1))
    with pytest.raises(SchemaError, match="no fix"):
        export(track, tmp_path / "out.gpx", trips=shifted)
    assert not (tmp_path / "out.gpx").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(FormatError, match="writes a directory"):
        export(track, tmp_path / "file", to="geoparquet")
