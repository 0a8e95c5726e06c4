"""KML 2.2 (or KMZ): a placemark per trip, stop, alarm and geofence event.

Layout::

    <kml><Document><name/><Style id="trip|stop|alarm|geofence"/>...
      <Folder><name>Trips</name>
        <Placemark><name/><description/><TimeSpan><begin/><end/></TimeSpan>
          <styleUrl>#trip</styleUrl><ExtendedData>...</ExtendedData>
          <LineString><tessellate>1</tessellate><coordinates>lon,lat ...</coordinates></LineString>
        </Placemark> ...
      </Folder>
      <Folder><name>Stops</name> (Points, TimeSpan of the stop) </Folder>
      <Folder><name>Alarms</name> (Points, TimeStamp) </Folder>
      <Folder><name>Geofence events</name> (Points, TimeStamp), with geofences only </Folder>
    </Document></kml>

Times carry their UTC offset (local with ``tz``), so Google Earth's time slider and QGIS
place them right. ``ExtendedData`` holds the device id and the figures of each item as
data, not markup. Built with :mod:`xml.etree.ElementTree` like the GPX writer: names from
devices and users are element text, escaped by the writer. A path ending in ``.kmz`` gets
the document zipped as ``doc.kml``, as KMZ readers expect.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
import zipfile

import numpy as np

from ..schema import DISTANCE_M, DURATION_S, END_TIME, LAT, LON, MAX_SPEED_KMH, START_TIME
from ._collect import Collected, local_text, xml_text

__all__ = ["write_kml", "KML_NS"]

KML_NS = "http://www.opengis.net/kml/2.2"

#: style id -> (KML colour aabbggrr, what it marks)
_STYLES = {"trip": "ffd07a1f", "stop": "ff2f8f2f", "alarm": "ff1f1fd0", "geofence": "ff1fa0e0"}


def _k(tag: str) -> str:
    return f"{{{KML_NS}}}{tag}"


def _sub(parent, tag: str, text=None):
    el = ET.SubElement(parent, _k(tag))
    if text is not None:
        el.text = xml_text(text)
    return el


def _num(value, digits: int) -> str:
    """A figure for ExtendedData; an empty value where it is missing (never ``nan``)."""
    return "" if value is None or value != value else f"{value:.{digits}f}"


def _coord(lon: float, lat: float) -> str:
    return f"{lon!r},{lat!r}"


def _placemark(folder, *, name, description, style, data, begin, end=None):
    pm = _sub(folder, "Placemark")
    _sub(pm, "name", name)
    _sub(pm, "description", description)
    if end is None:
        _sub(_sub(pm, "TimeStamp"), "when", begin)
    else:
        span = _sub(pm, "TimeSpan")
        _sub(span, "begin", begin)
        _sub(span, "end", end)
    _sub(pm, "styleUrl", f"#{style}")
    ext = _sub(pm, "ExtendedData")
    for key, value in data.items():
        el = _sub(ext, "Data")
        el.set("name", key)
        _sub(el, "value", value)
    return pm


def _point(pm, lat: float, lon: float) -> None:
    _sub(_sub(pm, "Point"), "coordinates", _coord(float(lon), float(lat)))


def _points(doc, title, frame, *, style, name, description, data, t_cols):
    if frame is None:
        return
    folder = _sub(doc, "Folder")
    _sub(folder, "name", title)
    if len(frame) == 0:
        return
    begins = local_text(frame[t_cols[0]])
    ends = local_text(frame[t_cols[1]]) if len(t_cols) > 1 else [None] * len(frame)
    lat = frame[LAT].to_numpy(dtype=np.float64)
    lon = frame[LON].to_numpy(dtype=np.float64)
    for i, row in enumerate(frame.itertuples(index=False)):
        pm = _placemark(folder, name=name(row), description=description(row), style=style,
                        data=data(row), begin=begins[i], end=ends[i])
        _point(pm, lat[i], lon[i])


def build_kml(c: Collected) -> ET.Element:
    """The ``<kml>`` element of an export."""
    ET.register_namespace("", KML_NS)
    root = ET.Element(_k("kml"))
    doc = _sub(root, "Document")
    _sub(doc, "name", "Bofan tracker export")
    for sid, colour in _STYLES.items():
        style = _sub(doc, "Style")
        style.set("id", sid)
        if sid == "trip":
            line = _sub(style, "LineStyle")
            _sub(line, "color", colour)
            _sub(line, "width", "3")
        else:
            _sub(_sub(style, "IconStyle"), "color", colour)

    folder = _sub(doc, "Folder")
    _sub(folder, "name", "Trips")
    s_rows, e_rows = c.trip_rows
    trips = c.trips
    if len(trips):
        track = c.track
        begins = local_text(trips[START_TIME])
        ends = local_text(trips[END_TIME])
        for k, trip in enumerate(trips.itertuples(index=False)):
            pm = _placemark(
                folder, name=f"{trip.device_id} trip {trip.start_time:%Y-%m-%d %H:%M %Z}",
                description=f"{trip.distance_m / 1000:.2f} km in {trip.duration_s / 60:.0f} min"
                            + (f", max {trip.max_speed_kmh:.0f} km/h"
                               if trip.max_speed_kmh == trip.max_speed_kmh else ""),
                style="trip", begin=begins[k], end=ends[k],
                data={"device_id": trip.device_id, DISTANCE_M: _num(trip.distance_m, 1),
                      DURATION_S: _num(trip.duration_s, 0),
                      MAX_SPEED_KMH: _num(trip.max_speed_kmh, 1)})
            line = _sub(pm, "LineString")
            _sub(line, "tessellate", "1")
            rows = slice(int(s_rows[k]), int(e_rows[k]) + 1)
            _sub(line, "coordinates",
                 " ".join(map(_coord, track.lon[rows].tolist(), track.lat[rows].tolist())))

    _points(doc, "Stops", c.stops, style="stop", t_cols=(START_TIME, END_TIME),
            name=lambda r: f"{r.device_id} stop {r.start_time:%Y-%m-%d %H:%M %Z}",
            description=lambda r: f"stopped {r.duration_s / 60:.0f} min",
            data=lambda r: {"device_id": r.device_id, DURATION_S: _num(r.duration_s, 0)})
    _points(doc, "Alarms", c.alarms, style="alarm", t_cols=("time",),
            name=lambda r: f"{r.device_id} {r.alarm}",
            description=lambda r: f"alarm {r.alarm} at {r.time:%Y-%m-%d %H:%M:%S %Z}",
            data=lambda r: {"device_id": r.device_id, "alarm": r.alarm})
    _points(doc, "Geofence events", c.events, style="geofence", t_cols=("time",),
            name=lambda r: f"{r.device_id} {r.event} {r.geofence}",
            description=lambda r: f"{r.event} {r.geofence} at {r.time:%Y-%m-%d %H:%M:%S %Z}",
            data=lambda r: {"device_id": r.device_id, "geofence": r.geofence,
                            "event": r.event})
    return root


def write_kml(c: Collected, path, *, kmz: bool = False) -> None:
    """Write the KML document of ``c`` to ``path``; zipped as ``doc.kml`` with ``kmz``."""
    tree = ET.ElementTree(build_kml(c))
    if not kmz:
        tree.write(path, encoding="UTF-8", xml_declaration=True)
        return
    buf = io.BytesIO()
    tree.write(buf, encoding="UTF-8", xml_declaration=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", buf.getvalue())
