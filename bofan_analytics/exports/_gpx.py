"""GPX 1.1: one track per trip, stops, alarms and geofence events as waypoints.

Layout (elements in the order the GPX 1.1 schema requires)::

    <gpx version="1.1" creator="bofan_analytics ...">
      <metadata><name/><bounds/></metadata>
      <wpt lat lon><time/><name/><desc/><type>stop|alarm|geofence</type></wpt>   ...
      <trk><name/><desc/><type>trip</type>
        <trkseg><trkpt lat lon><time/><extensions>
          <gpxtpx:TrackPointExtension><gpxtpx:speed>m/s</gpxtpx:speed></...>
        </extensions></trkpt> ...</trkseg>
      </trk> ...
    </gpx>

A trip is one ``trk`` with one ``trkseg`` holding every fix from its start to its end.
Times are UTC (GPX's rule); ``tz`` shows in the names and descriptions. Speed, where the
device reported one, goes in Garmin's TrackPointExtension v2 ``speed`` element (metres per
second), the extension route-replay apps and GIS tools already read. Coordinates are
written with every digit (``repr``), so they read back exactly.

The file is built with :mod:`xml.etree.ElementTree`: every string from a device or a user
(device ids, geofence names) is text of an element, escaped by the writer.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from .._version import __version__
from ..analytics._track import times_ms
from ..schema import LAT, LON, START_TIME, TIME
from ._collect import Collected, utc_text, xml_text

__all__ = ["write_gpx", "GPX_NS", "TPX_NS"]

GPX_NS = "http://www.topografix.com/GPX/1/1"
TPX_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMAS = (f"{GPX_NS} http://www.topografix.com/GPX/1/1/gpx.xsd "
            f"{TPX_NS} https://www8.garmin.com/xmlschemas/TrackPointExtensionv2.xsd")


def _g(tag: str) -> str:
    return f"{{{GPX_NS}}}{tag}"


def _sub(parent, tag: str, text=None, **attrib):
    el = ET.SubElement(parent, tag, attrib)
    if text is not None:
        el.text = xml_text(text)
    return el


def _waypoints(root, frame, *, t_col, name, desc, kind):
    if frame is None or len(frame) == 0:
        return
    lat = frame[LAT].to_numpy(dtype=np.float64)
    lon = frame[LON].to_numpy(dtype=np.float64)
    when = utc_text(times_ms(frame[t_col]))
    for i, row in enumerate(frame.itertuples(index=False)):
        wpt = _sub(root, _g("wpt"), lat=repr(float(lat[i])), lon=repr(float(lon[i])))
        _sub(wpt, _g("time"), when[i])
        _sub(wpt, _g("name"), name(row))
        _sub(wpt, _g("desc"), desc(row))
        _sub(wpt, _g("type"), kind)


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min"


def build_gpx(c: Collected) -> ET.Element:
    """The ``<gpx>`` element of an export."""
    ET.register_namespace("", GPX_NS)
    ET.register_namespace("gpxtpx", TPX_NS)
    ET.register_namespace("xsi", _XSI)
    root = ET.Element(_g("gpx"), {"version": "1.1", "creator": f"bofan_analytics {__version__}",
                                  f"{{{_XSI}}}schemaLocation": _SCHEMAS})
    meta = _sub(root, _g("metadata"))
    _sub(meta, _g("name"), "Bofan tracker export")
    track = c.track
    if track.n:
        _sub(meta, _g("bounds"), minlat=repr(float(track.lat.min())),
             minlon=repr(float(track.lon.min())), maxlat=repr(float(track.lat.max())),
             maxlon=repr(float(track.lon.max())))

    _waypoints(root, c.stops, t_col=START_TIME, kind="stop",
               name=lambda r: f"{r.device_id} stop {r.start_time:%Y-%m-%d %H:%M %Z}",
               desc=lambda r: f"stopped {_minutes(r.duration_s)}, until "
                              f"{r.end_time:%Y-%m-%d %H:%M %Z}")
    _waypoints(root, c.alarms, t_col=TIME, kind="alarm",
               name=lambda r: f"{r.device_id} {r.alarm}",
               desc=lambda r: f"alarm {r.alarm} at {r.time:%Y-%m-%d %H:%M:%S %Z}")
    _waypoints(root, c.events, t_col=TIME, kind="geofence",
               name=lambda r: f"{r.device_id} {r.event} {r.geofence}",
               desc=lambda r: f"{r.event} {r.geofence} at {r.time:%Y-%m-%d %H:%M:%S %Z}")

    s_rows, e_rows = c.trip_rows
    if len(s_rows):
        when = utc_text(track.t_ms)
        lat = track.lat
        lon = track.lon
        speed_ms = track.speed_kmh / 3.6
        for k, trip in enumerate(c.trips.itertuples(index=False)):
            trk = _sub(root, _g("trk"))
            _sub(trk, _g("name"),
                 f"{trip.device_id} trip {trip.start_time:%Y-%m-%d %H:%M %Z}")
            _sub(trk, _g("desc"), f"{trip.distance_m / 1000:.2f} km in "
                                  f"{_minutes(trip.duration_s)}")
            _sub(trk, _g("type"), "trip")
            seg = _sub(trk, _g("trkseg"))
            for i in range(int(s_rows[k]), int(e_rows[k]) + 1):
                pt = _sub(seg, _g("trkpt"), lat=repr(float(lat[i])), lon=repr(float(lon[i])))
                _sub(pt, _g("time"), when[i])
                if speed_ms[i] == speed_ms[i]:  # reported; NaN (none sent) writes nothing
                    ext = _sub(_sub(pt, _g("extensions")), f"{{{TPX_NS}}}TrackPointExtension")
                    _sub(ext, f"{{{TPX_NS}}}speed", repr(float(speed_ms[i])))
    return root


def write_gpx(c: Collected, path) -> None:
    """Write the GPX 1.1 document of ``c`` to ``path`` (UTF-8)."""
    ET.ElementTree(build_gpx(c)).write(path, encoding="UTF-8", xml_declaration=True)
