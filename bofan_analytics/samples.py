"""A realistic sample fleet with known truth: the frames, the captures and what they contain.

:func:`generate_fleet` simulates Bofan PT-502 vehicle trackers and PT-60 personal trackers
for a few days and returns every frame they send together with the episodes planted in
them (trips, parks, overspeed, geofence crossings, charges, alarms). :func:`render_capture`
turns a fleet into the bytes of one capture format (``stream``, ``lines`` or ``traccar``)
and the truth of that file; :func:`write_samples` writes the committed sample set.

Everything is deterministic for a given ``seed``: the same seed gives the same bytes.

What the simulation does
------------------------
Vehicles (PT-502) park overnight at a depot, then drive three to five trips a day along
grid-like roads (urban 30-50 km/h, arterial 60-85, highway 95-120), stopping 30-90 s at
traffic lights (speed 0, not a stop), and park from 20 min to a few hours between trips
with 10-20 m of GPS jitter. They report every 10-30 s while driving and every 2-5 min while
parked, or fall asleep while parked. The ignition is wired to input 2: on (``00010``) in
every frame of a trip, off at the arrival fix and while parked. Drivers badge in with an
RFID tag, sent in the driver field of every frame of their trip: each vehicle is shared by
two drivers of a roster of six (by trip), so drivers drive several vehicles, and every
fifth trip nobody badged in. Alarms, invalid (``V``) fixes, duplicated frames, a
coverage gap whose fixes are uploaded late, one photo and one firmware report are planted.

Personal trackers (PT-60, ``@G#@`` and ``@B#@`` families) walk at 3-6 km/h between home,
work and a shop, report positions, cell towers, heart rate, steps and battery, drain their
battery at a known rate and charge overnight.

Truth
-----
:func:`render_capture` gives the truth of a capture in two parts: ``frames``, one row per
frame in file order (columns and types as in :data:`bofan_analytics.schema.MESSAGES`, plus
``duplicate``, ``late`` and ``offset``), and ``truth``, a JSON-serialisable dict of counts
and planted episodes. Values are those a correct decoder reads back, after the rounding
the frame text imposes. :func:`write_samples` stores them as ``<capture>.frames.parquet``
and ``<capture>.truth.json``; ``data/samples/README.md`` describes every key.
"""

from __future__ import annotations

import gzip
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .decode.grammar import PT502_ALARMS

__all__ = [
    "FORMATS",
    "TRACCAR_LAYOUTS",
    "SPEED_LIMIT_KMH",
    "TRUTH_VERSION",
    "Fleet",
    "Capture",
    "generate_fleet",
    "render_capture",
    "compress_sentence",
    "frames_table",
    "write_samples",
    "TRUTH_FRAME_COLUMNS",
    "PT502_FRAME_RE",
    "PT60_G_FRAME_RE",
    "PT60_B_FRAME_RE",
]

#: Capture formats :func:`render_capture` writes.
FORMATS = ("stream", "lines", "traccar")

#: The speed limit of the planted overspeed episodes.
SPEED_LIMIT_KMH = 90.0

#: Version of the truth document layout; bumped when a key changes meaning.
TRUTH_VERSION = 2

_KNOT_KMH = 1.852

#: Grammar of a PT-502 sentence as the generator writes it (without line end).
PT502_FRAME_RE = (
    r"^\$(POS|IN1|GOF|TOW|HDA|HDB|FDA|SKA|PMA|CPA|DFR|PHO\d+-\d+),(\d+),"
    r"(\d{6}\.\d{3}),([AV]),(\d{4}\.\d{4}),([NS]),(\d{5}\.\d{4}),([EW]),"
    r"(\d+\.\d{2}),(\d+\.\d{2}),(\d{6}),,,A/([01]{5}),([01]{5})/([0-9a-f]+(?:,[0-9a-f]+)*)"
    r"/(\d+)/([0-9A-F]*)/([0-9a-f]{3})//$"
)
#: Grammar of a PT-60 ``@G#@`` frame (without terminator).
PT60_G_FRAME_RE = (
    r"^@G#@,V01,(1|6|13|14),(\d{15}),(\d{16}),"
    r"(?:(\d{14}),(-?\d+\.\d{6};-?\d+\.\d{6}|\d+|\d+,\d+),)?$"
)
#: Grammar of a PT-60 ``@B#@`` frame (without terminator).
PT60_B_FRAME_RE = (
    r"^@B#@\|01\|(001|003|033)\|(\d{15})\|(\d{16})\|"
    r"(?:[A-Za-z0-9_.\-]+\|)?([01])\|(\d{1,3})\|(\d{14})\|"
    r"(?:(-?\d+\.\d{6})\|(-?\d+\.\d{6})\|1\||((?:\d+,\d+,\d+,\d+,\d+\|)+)2\|)?$"
)

_M_PER_DEG = 111_320.0
_EARTH_RADIUS_M = 6_371_008.8
_MS = 1000
_MIN_STREET_M = 120.0

# Where the fleet lives: (name, latitude, longitude, mcc, grid bearing in degrees, zone).
_CITIES = (
    ("Johannesburg", -26.1715, 28.0381, 655, 12.0, "Africa/Johannesburg"),
    ("Bogota", 4.6533, -74.0836, 732, -8.0, "America/Bogota"),
)

#: RFID tags of the simulated drivers, as the PT-502 driver field carries them.
_RFID = ("04A1B2C3D4", "04B7E2910F", "0519C3AA7E", "05D2846B1C", "06003F9A2B", "06E5C1D378")

_B_FIRMWARE = "S6_EN_A_V1.3.7"
_PT502_FIRMWARE = "510-V1.12,A11-V3.0"

# Alarm sentence types and the alarm name a decoder reports for them: the decoder's table.
_PT502_ALARMS = PT502_ALARMS


# --------------------------------------------------------------------------- containers


@dataclass
class Fleet:
    """Every frame a simulated fleet sent, and the episodes planted in it.

    Attributes
    ----------
    frames : pandas.DataFrame
        One row per frame, in the order the server received them (``received_ms``).
        Columns: ``device_id, protocol, msg_type, time_ms, received_ms, valid, lat, lon,
        speed_kmh, course, alarm, battery_pct, ..., driver_id`` with the values a decoder
        reads back, ``inputs`` as the frame spells them (``00010``: ignition on), plus ``text`` (the frame without terminator; ``$PHD`` binary data is in
        ``payload``), ``duplicate`` and ``late``.
    episodes : dict of str to pandas.DataFrame
        ``trips`` (with each trip's ``driver_id`` and ``engine_s``), ``stops``,
        ``overspeed``, ``zone_overspeed``, ``geofence_events``, ``charges``, ``battery``,
        ``alarms``, ``photos``, ``daily`` (per vehicle and local day of its city:
        ``distance_m``, ``engine_s``, ``trips``) and ``zones`` (each device's time zone);
        times in ms since the epoch.
    geofences : dict
        A GeoJSON FeatureCollection of the geofences the episodes refer to.
    seed : int
        The seed the fleet was generated from.
    start, end : pandas.Timestamp
        The time span of the capture (UTC).
    """

    frames: pd.DataFrame
    episodes: dict
    geofences: dict
    seed: int
    start: pd.Timestamp
    end: pd.Timestamp

    def _repr_html_(self) -> str:
        counts = self.frames.groupby("protocol").size().to_dict()
        rows = "".join(f"<tr><td>{k}</td><td>{len(v)}</td></tr>" for k, v in self.episodes.items())
        return (
            f"<b>Fleet</b> seed={self.seed}, {self.frames['device_id'].nunique()} devices, "
            f"{len(self.frames)} frames {counts}, {self.start} to {self.end}"
            f"<table>{rows}</table>"
        )


@dataclass
class Capture:
    """One capture file as bytes, and its truth document.

    Attributes
    ----------
    data : bytes
        The file content (uncompressed).
    truth : dict
        Counts and planted episodes (JSON-serialisable), see :func:`render_capture`.
    frames : pandas.DataFrame
        One row per frame a decoder must return, in file order, see :func:`render_capture`.
    """

    data: bytes
    truth: dict
    frames: pd.DataFrame


# --------------------------------------------------------------------------- geometry


def _to_latlon(city, x, y):
    lat0, lon0 = city[1], city[2]
    lat = lat0 + np.asarray(y) / _M_PER_DEG
    lon = lon0 + np.asarray(x) / (_M_PER_DEG * math.cos(math.radians(lat0)))
    return lat, lon


def _haversine_m(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


def _rotate(xy, degrees):
    a = math.radians(degrees)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.asarray(xy, dtype=float) @ rot.T


def _route(rng, start, end, grid_bearing):
    """Waypoints of a grid-like road route from ``start`` to ``end`` (local metres)."""
    local = _rotate(np.array([start, end]), -grid_bearing)
    delta = local[1] - local[0]
    legs = int(rng.integers(2, 4))
    fx = rng.dirichlet(np.full(legs, 4.0)) * delta[0]
    fy = rng.dirichlet(np.full(legs, 4.0)) * delta[1]
    steps = np.zeros((2 * legs, 2))
    x_first = rng.random() < 0.5
    steps[0::2, 0 if x_first else 1] = fx if x_first else fy
    steps[1::2, 1 if x_first else 0] = fy if x_first else fx
    points = local[0] + np.vstack([[0.0, 0.0], np.cumsum(steps, axis=0)])
    points[-1] = local[1]
    # no street shorter than a block: a vehicle must be able to brake within one
    kept = [points[0]]
    for point in points[1:-1]:
        if np.hypot(*(point - kept[-1])) >= _MIN_STREET_M:
            kept.append(point)
    if len(kept) > 1 and np.hypot(*(points[-1] - kept[-1])) < _MIN_STREET_M:
        kept.pop()
    kept.append(points[-1])
    return _rotate(np.array(kept), grid_bearing)


def _knots(lengths, targets_kmh, corner_ms, dwell_s, accel, brake):
    """Times and speeds (m/s) of a piecewise-linear speed profile along the segments."""
    t, v = [0.0], [0.0]
    for i, length in enumerate(lengths):
        v0, v1 = corner_ms[i], corner_ms[i + 1]
        a, b = accel[i], brake[i]
        vt = max(targets_kmh[i] / 3.6, v0, v1)
        d1 = (vt**2 - v0**2) / (2 * a)
        d2 = (vt**2 - v1**2) / (2 * b)
        if d1 + d2 > length:
            vt = math.sqrt((2 * a * b * length + b * v0**2 + a * v1**2) / (a + b))
            d1 = (vt**2 - v0**2) / (2 * a)
            d2 = (vt**2 - v1**2) / (2 * b)
        now = t[-1]
        now += (vt - v0) / a
        t.append(now), v.append(vt)
        now += (length - d1 - d2) / vt
        t.append(now), v.append(vt)
        now += (vt - v1) / b
        t.append(now), v.append(v1)
        if dwell_s[i + 1] > 0:
            t.append(now + dwell_s[i + 1]), v.append(0.0)
    t, v = np.array(t), np.array(v)
    keep = np.concatenate([[True], np.diff(t) > 1e-6])
    t, v = t[keep], v[keep]
    s = np.concatenate([[0.0], np.cumsum((v[1:] + v[:-1]) / 2 * np.diff(t))])
    return t, v, s


def _kinematics(knot_t, knot_v, knot_s, t):
    """Speed (m/s) and distance (m) of a piecewise-linear profile at times ``t``."""
    i = np.clip(np.searchsorted(knot_t, t, side="right") - 1, 0, len(knot_t) - 2)
    dt = np.clip(t - knot_t[i], 0.0, None)
    acc = (knot_v[i + 1] - knot_v[i]) / (knot_t[i + 1] - knot_t[i])
    speed = np.clip(knot_v[i] + acc * dt, 0.0, None)
    dist = knot_s[i] + knot_v[i] * dt + 0.5 * acc * dt**2
    over = t >= knot_t[-1]
    speed[over], dist[over] = knot_v[-1], knot_s[-1]
    return speed, dist


def _along(points, dist):
    """Positions and headings (degrees from north) at distances along a polyline."""
    seg = np.diff(points, axis=0)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*seg.T))])
    dist = np.clip(dist, 0.0, cum[-1])
    x = np.interp(dist, cum, points[:, 0])
    y = np.interp(dist, cum, points[:, 1])
    heading = (np.degrees(np.arctan2(seg[:, 0], seg[:, 1])) + 360.0) % 360.0
    idx = np.clip(np.searchsorted(cum, dist, side="right") - 1, 0, len(seg) - 1)
    return x, y, heading[idx]


def _jitter(rng, n, low_m, high_m):
    r = rng.uniform(low_m, high_m, n)
    a = rng.uniform(0, 2 * np.pi, n)
    return r * np.sin(a), r * np.cos(a)


def _report_times(rng, start, end, low, high):
    """Integer second offsets in ``[start, end)`` spaced ``low``..``high`` seconds apart."""
    if end <= start:
        return np.zeros(0, dtype=np.int64)
    n = int((end - start) / low) + 2
    t = start + np.cumsum(rng.integers(low, high + 1, n))
    return t[t < end].astype(np.int64)


# --------------------------------------------------------------------------- the fleet


def _device_ids(rng, n):
    """PT-502 unit ids in the shapes seen in the field, some with leading zeros."""
    ids = []
    for i in range(n):
        style = i % 4
        if style == 0:
            ids.append("8653280" + "".join(map(str, rng.integers(0, 10, 8))))
        elif style == 1:
            ids.append("0" + "".join(map(str, rng.integers(0, 10, 14))))
        elif style == 2:
            ids.append(f"{int(rng.integers(1, 99999)):07d}")
        else:
            ids.append(str(int(rng.integers(10_000, 10**11))))
    return ids


def _digits(rng, n):
    return str(int(rng.integers(1, 10))) + "".join(map(str, rng.integers(0, 10, n - 1)))


def _geofences(city):
    """Depot polygon and a client circle in the first city, as GeoJSON."""
    depot = np.array(
        [[-180.0, -140.0], [190.0, -150.0], [210.0, 130.0], [0.0, 190.0], [-170.0, 120.0]]
    )
    lat, lon = _to_latlon(city, depot[:, 0], depot[:, 1])
    ring = [[round(float(a), 7), round(float(b), 7)] for a, b in zip(lon, lat, strict=True)]
    ring.append(ring[0])
    c_lat, c_lon = _to_latlon(city, 2600.0, 3100.0)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "Depot", "speed_limit_kmh": 20},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            },
            {
                "type": "Feature",
                "properties": {"name": "Client Rosebank", "radius_m": 300, "speed_limit_kmh": 60},
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(float(c_lon), 7), round(float(c_lat), 7)],
                },
            },
        ],
    }


def _inside_geofences(geofences, lat, lon):
    """Boolean array (n, n_geofences): which fence each point is in."""
    import shapely

    out = np.zeros((len(lat), len(geofences["features"])), dtype=bool)
    for k, feature in enumerate(geofences["features"]):
        geom = feature["geometry"]
        if geom["type"] == "Point":
            c_lon, c_lat = geom["coordinates"]
            radius = feature["properties"]["radius_m"]
            out[:, k] = _haversine_m(lat, lon, c_lat, c_lon) <= radius
        else:
            poly = shapely.geometry.shape(geom)
            out[:, k] = shapely.contains_xy(poly, lon, lat)
    return out


def _clear_of_fences(city, x, y, geofences, margin_m=150.0):
    """True when no point within ``margin_m`` of (x, y) is inside a geofence."""
    ring = np.array(
        [[x + dx, y + dy] for dx in (-margin_m, 0, margin_m) for dy in (-margin_m, 0, margin_m)]
    )
    lat, lon = _to_latlon(city, ring[:, 0], ring[:, 1])
    return not _inside_geofences(geofences, lat, lon).any()


def _place(rng, city, origin, r_min, r_max, geofences, avoid=()):
    """A place ``r_min``..``r_max`` metres from ``origin``, away from fences and ``avoid``."""
    while True:
        r = rng.uniform(r_min, r_max)
        a = rng.uniform(0, 2 * np.pi)
        x, y = origin[0] + r * math.sin(a), origin[1] + r * math.cos(a)
        far = all(math.hypot(x - ax, y - ay) > 1500 for ax, ay in avoid)
        if far and _clear_of_fences(city, x, y, geofences):
            return (x, y)


def _sites(rng, city, n, geofences, with_client):
    """Park places (local metres) of the vehicles, one of them inside the client circle."""
    sites = [(2600.0 + 40.0, 3100.0 - 60.0)] if with_client else []
    while len(sites) < n:
        sites.append(_place(rng, city, (0.0, 0.0), 2500, 7000, geofences, avoid=sites))
    return sites


class _Recorder:
    """Columns of frames collected piece by piece before they become one DataFrame."""

    def __init__(self, **defaults):
        self.defaults = defaults
        self.parts = []

    def add(self, **cols):
        cols = {**self.defaults, **cols}
        n = max((len(v) for v in cols.values() if isinstance(v, np.ndarray)), default=1)
        self.parts.append(
            {
                k: v
                if isinstance(v, np.ndarray)
                else np.full(n, v, dtype=object if v is None or isinstance(v, str) else None)
                for k, v in cols.items()
            }
        )

    def frame(self):
        return pd.concat([pd.DataFrame(p) for p in self.parts], ignore_index=True)


def _schedule(rng, t0, days, n_sites):
    """(earliest departure, destination site) of every trip; site 0 is the depot."""
    trips = []
    for day in range(days):
        t = t0 + day * 86400 + int(rng.uniform(5.5, 7.5) * 3600)
        n_trips = int(rng.integers(3, 6))
        here = 0
        for k in range(n_trips):
            last = k == n_trips - 1
            dest = 0 if last else int(rng.choice([i for i in range(1, n_sites) if i != here]))
            trips.append((t, dest))
            here = dest
            t += 2400 + int(rng.uniform(15, 120) * 60)
    return trips


def _drive(rng, start, target, bearing, hard_accel, hard_brake):
    """Route and speed profile of one trip; times of the planted hard accel/brake."""
    points = _route(rng, start, target, bearing)
    lengths = np.hypot(*np.diff(points, axis=0).T)
    m = len(lengths)
    classes = np.where(
        lengths > 1200,
        np.where(rng.random(m) < 0.55, 2, 1),
        np.where(lengths > 600, rng.integers(0, 2, m), 0),
    )
    targets = np.choose(
        classes, [rng.uniform(30, 50, m), rng.uniform(60, 85, m), rng.uniform(95, 120, m)]
    )
    lights = rng.random(m + 1) < 0.45
    lights[0] = lights[-1] = False
    lights[1:] &= ~lights[:-1]  # never two red lights in a row: one wait is at most 90 s
    corner = np.where(lights, 0.0, rng.uniform(15, 30, m + 1) / 3.6)
    corner[0] = corner[-1] = 0.0
    dwell = np.where(lights, rng.integers(30, 91, m + 1), 0)
    accel = rng.uniform(1.2, 2.2, m)
    brake = rng.uniform(1.5, 2.5, m)
    light_at = np.flatnonzero(lights)
    events = {}
    if hard_accel and len(light_at):
        accel[light_at[0]] = 3.8  # the segment leaving the first light
    if hard_brake and len(light_at):
        brake[light_at[-1] - 1] = 5.0  # the segment ending at the last light
    kt, kv, ks = _knots(lengths, targets, corner, dwell, accel, brake)
    stopped = np.flatnonzero((kv[:-1] == 0) & (kv[1:] == 0))
    if hard_accel and len(light_at):
        events["HDA"] = kt[stopped[0] + 1] + 2
    if hard_brake and len(light_at):
        events["HDB"] = kt[stopped[-1]] - 2
    return points, (kt, kv, ks), events


def _simulate_vehicle(rng, index, city, sites, t0, days, geofences):
    """Frames (DataFrame, by time) and planted trips/parks of one PT-502 vehicle.

    Frames of a trip carry its number in ``trip``, park frames -1; the arrival fix (speed 0,
    at the destination) is the first frame of the next park.
    """
    end = t0 + days * 86400
    awake_parked = index % 3 != 2
    rec = _Recorder(msg_type="POS", alarm=None, odometer=np.nan)
    trips, parks = [], []
    odometer = odometer0 = float(int(rng.uniform(1e7, 5e8)))
    position = np.array(sites[0])
    park_start = t0 + int(rng.integers(5, 60))
    heading = 0.0
    planted = {"HDA": False, "HDB": False}

    def park_fixes(start, stop):
        rel = _report_times(rng, 0, stop - start - 5, 120, 300)
        if not awake_parked:
            rel = rel[rel < 600]  # the tracker falls asleep
        jx, jy = _jitter(rng, len(rel), 10, 20)
        lat, lon = _to_latlon(city, position[0] + jx, position[1] + jy)
        rec.add(
            time=start + rel,
            lat=lat,
            lon=lon,
            speed_ms=0.0,
            course=heading,
            inputs="00000",
            trip=-1,
        )
        parks.append({"start": start, "end": stop, "x": position[0], "y": position[1]})

    schedule = _schedule(rng, t0, days, len(sites))
    for trip_no, (depart, dest) in enumerate(schedule):
        depart = max(depart, park_start + 1200)
        park_fixes(park_start, depart)
        target = np.array(sites[dest])
        want_a = not planted["HDA"] and rng.random() < 0.6
        want_b = not planted["HDB"] and rng.random() < 0.6
        points, (kt, kv, ks), events = _drive(rng, position, target, city[4], want_a, want_b)
        duration = int(math.ceil(kt[-1]))
        first = int(rng.integers(3, 7))
        rel = np.concatenate([[first], _report_times(rng, first, duration - 3, 10, 30)])
        lat, lon = _fixes_on_route(city, points, kt, kv, ks, rel, rec, depart, trip_no, odometer)
        taken = set(rel.tolist())
        alarms = [(msg, _PT502_ALARMS[msg], sec) for msg, sec in events.items()]
        planted.update(dict.fromkeys(events, True))
        for msg, when in _trip_alarms(index, trip_no, len(schedule)):
            if msg == "GOF":
                inside = _inside_geofences(geofences, lat, lon)[:, 0]
                if inside[0] and (~inside).any():
                    alarms.append((msg, "geofence", rel[np.argmax(~inside)] + 1))
            else:
                alarms.append((msg, _PT502_ALARMS[msg], duration * when))
        for msg, alarm, sec in alarms:
            sec = int(sec)
            while sec in taken:
                sec += 1
            taken.add(sec)
            _fixes_on_route(
                city,
                points,
                kt,
                kv,
                ks,
                np.array([sec]),
                rec,
                depart,
                trip_no,
                odometer,
                msg_type=msg,
                alarm=alarm,
            )
        odometer += ks[-1]
        position = target
        heading = float(_along(points, np.array([ks[-1]]))[2][0])
        trips.append({"start": depart, "end": depart + duration})
        alat, alon = _to_latlon(city, target[0], target[1])
        rec.add(
            time=np.array([depart + duration]),
            lat=np.array([alat]),
            lon=np.array([alon]),
            speed_ms=0.0,
            course=heading,
            inputs="00000",
            trip=-1,
            odometer=odometer,
        )
        park_start = depart + duration
    park_fixes(park_start, end - 60)
    parks[-1]["end"] = end

    df = rec.frame()
    df["odometer"] = df["odometer"].astype(float)
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    df["odometer"] = df["odometer"].fillna(odometer0).cummax()
    df["level"] = 15
    charges = _park_alarms(rng, index, df, parks, city)
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    return df, trips, parks, charges


def _fixes_on_route(city, points, kt, kv, ks, rel, rec, depart, trip_no, odometer, **extra):
    speed, dist = _kinematics(kt, kv, ks, rel.astype(float))
    x, y, course = _along(points, dist)
    lat, lon = _to_latlon(city, x, y)
    rec.add(
        time=depart + rel,
        lat=lat,
        lon=lon,
        speed_ms=speed,
        course=course,
        inputs="00010",
        trip=trip_no,
        odometer=odometer + dist,
        **extra,
    )
    return lat, lon


def _trip_alarms(index, trip_no, n_trips):
    """Alarms raised while driving, planted on a few vehicles: (type, fraction of the trip)."""
    if index == 1 and trip_no == 2:
        yield "IN1", 0.55
    if index == 2 and trip_no == n_trips - 2:
        yield "FDA", 0.8
    if index == 7 and trip_no in (0, n_trips // 2 + 1):
        yield "GOF", 0.0


def _park_alarms(rng, index, df, parks, city):
    """Alarms raised while parked: a power cut and a tow; the charge after the power cut.

    After the cut the backup battery drains one level (of 15) every 20 min; the power comes
    back when the vehicle leaves and the battery charges one level every 2 min.
    """
    charges = []
    if index % 10 == 3:
        park = next(p for p in parks[1:] if 1800 < p["end"] - p["start"] < 4 * 3600)
        t = park["start"] + 300
        rows = df.index[(df["time"] > t) & (df["time"] < park["end"]) & (df["trip"] == -1)]
        df.loc[rows, "level"] = np.maximum(14 - (df.loc[rows, "time"] - t) // 1200, 6)
        low = int(df.loc[rows, "level"].min())
        back = park["end"]
        full = back + (15 - low - 1) * 120
        rows = df.index[(df["time"] >= back) & (df["time"] < full)]
        df.loc[rows, "level"] = low + 1 + (df.loc[rows, "time"] - back) // 120
        _append_fix(df, rng, t, "CPA", park, city)
        charges.append(
            {"start": back, "end": full, "start_pct": low * 100 / 15, "rate": 100 / 15 * 30}
        )
    if index % 10 == 5:
        park = max(parks, key=lambda p: p["end"] - p["start"])
        _append_fix(df, rng, park["start"] + 4 * 3600 + 17, "TOW", park, city)
    return charges


def _append_fix(df, rng, t, msg, park, city):
    jx, jy = _jitter(rng, 1, 10, 20)
    lat, lon = _to_latlon(city, park["x"] + jx, park["y"] + jy)
    before = df[df["time"] <= t].iloc[-1].to_dict()
    before.update(
        msg_type=msg,
        alarm=_PT502_ALARMS[msg],
        time=t,
        lat=float(lat[0]),
        lon=float(lon[0]),
        speed_ms=0.0,
        trip=-1,
        level=15,
    )
    df.loc[len(df)] = before


def _battery_model(rng, t0, days, low):
    """Interval table of a PT-60 battery: drain at a known rate, charge overnight."""
    drain = float(rng.uniform(2.0, 3.5))
    charge = float(rng.uniform(30, 45))
    plugs = []
    for day in range(days):
        plug = t0 + day * 86400 + int(rng.uniform(19.5, 21.5) * 3600)
        unplug = t0 + (day + 1) * 86400 + int(rng.uniform(5.0, 6.0) * 3600)
        plugs.append((plug, unplug))
    first_hours = (plugs[0][0] - t0) / 3600
    if low:
        b0 = float(rng.uniform(92, 99))
        drain = (b0 - float(rng.uniform(9, 13))) / first_hours
    else:
        b0 = float(rng.uniform(80, 98))
        drain = min(drain, (b0 - 24) / first_hours)
    # (start, end, start_pct, slope per s, cap)
    table, t, b = [], t0, b0
    charges = []
    for plug, unplug in plugs:
        table.append((t, plug, b, -drain / 3600))
        b = b - drain * (plug - t) / 3600
        full = plug + int(round((100 - b) / charge * 3600))
        charges.append({"start": plug, "end": full, "start_pct": b, "rate": charge})
        table.append((plug, unplug, b, charge / 3600))
        t, b = unplug, 100.0
    table.append((t, t0 + days * 86400 + 86400, b, -drain / 3600))
    return table, charges, drain


def _battery_at(table, t, rng, noisy=True):
    starts = np.array([row[0] for row in table])
    i = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(table) - 1)
    base = np.array([row[2] for row in table])[i]
    slope = np.array([row[3] for row in table])[i]
    pct = np.minimum(base + slope * (t - starts[i]), 100.0)
    # the gauge is noisy while draining, smooth on the charger
    noise = rng.uniform(-1.0, 1.0, len(t)) if noisy else 0.0
    pct = np.where(slope > 0, pct, pct + noise)
    return np.clip(np.round(pct), 1, 100)


def _simulate_person(rng, index, family, city, t0, days, geofences):
    """Frames (DataFrame) and planted walks/places/charges of one PT-60 tracker."""
    end = t0 + days * 86400
    home = _place(rng, city, (0.0, 0.0), 1000, 4000, geofences)
    work = _place(rng, city, home, 1500, 2800, geofences)
    shop = _place(rng, city, work, 500, 1000, geofences)
    rec = _Recorder()
    walks, stays = [], []
    stay_start = t0
    here = home
    segments = []  # (start, end, points, kt, kv, ks)
    for day in range(days):
        base = t0 + day * 86400
        plan = [
            (base + int(rng.uniform(6.0, 7.5) * 3600), work),
            (base + int(rng.uniform(15.0, 16.5) * 3600), shop),
            (None, home),
        ]
        for depart, dest in plan:
            if depart is None:
                depart = stay_start + int(rng.uniform(15, 35) * 60)
            points = _route(rng, here, dest, city[4])
            lengths = np.hypot(*np.diff(points, axis=0).T)
            m = len(lengths)
            pace = rng.uniform(3.0, 6.0, m)
            waits = rng.random(m + 1) < 0.3
            waits[0] = waits[-1] = False
            corner = np.where(waits, 0.0, pace.min() / 3.6 * 0.8)
            corner = np.concatenate([[0.0], corner[1:-1], [0.0]])
            dwell = np.where(waits, rng.integers(20, 61, m + 1), 0)
            kt, kv, ks = _knots(lengths, pace, corner, dwell, np.full(m, 0.5), np.full(m, 0.5))
            duration = int(math.ceil(kt[-1]))
            stays.append({"start": stay_start, "end": depart, "x": here[0], "y": here[1]})
            segments.append((depart, depart + duration, points, kt, kv, ks))
            walks.append({"start": depart, "end": depart + duration})
            here = dest
            stay_start = depart + duration
    stays.append({"start": stay_start, "end": end, "x": here[0], "y": here[1]})

    table, charges, drain = _battery_model(rng, t0, days, low=index == 0)

    # positions: walking every 60-120 s, at places every 15-20 min (30-60 at night)
    pos_t, pos_lat, pos_lon, pos_walk, pos_trip = [], [], [], [], []
    for k, (start, stop, points, kt, kv, ks) in enumerate(segments):
        first = int(rng.integers(5, 20))
        rel = np.concatenate([[first], _report_times(rng, first, stop - start - 3, 60, 120)])
        _, dist = _kinematics(kt, kv, ks, rel.astype(float))
        x, y, _ = _along(points, dist)
        lat, lon = _to_latlon(city, x, y)
        pos_t.append(start + rel), pos_lat.append(lat), pos_lon.append(lon)
        pos_walk.append(np.ones(len(rel), bool)), pos_trip.append(np.full(len(rel), k))
    for stay in stays:
        # the first fix at a place is the arrival, at the end of the route
        first_stay = stay["start"] == t0
        rel = np.concatenate(
            [
                [30 if first_stay else 0],
                _report_times(rng, 30, stay["end"] - stay["start"] - 30, 900, 1200),
            ]
        )
        jx, jy = _jitter(rng, len(rel), 10, 20)
        if not first_stay:
            jx[0] = jy[0] = 0.0
        lat, lon = _to_latlon(city, stay["x"] + jx, stay["y"] + jy)
        pos_t.append(stay["start"] + rel), pos_lat.append(lat), pos_lon.append(lon)
        pos_walk.append(np.zeros(len(rel), bool)), pos_trip.append(np.full(len(rel), -1))
    pos_t = np.concatenate(pos_t)
    order = np.argsort(pos_t, kind="stable")
    pos_t, pos_lat, pos_lon = (
        pos_t[order],
        np.concatenate(pos_lat)[order],
        np.concatenate(pos_lon)[order],
    )
    pos_walk, pos_trip = np.concatenate(pos_walk)[order], np.concatenate(pos_trip)[order]
    keep = np.concatenate([[True], np.diff(pos_t) > 0]) & (pos_t < end)
    pos_t, pos_lat, pos_lon, pos_walk, pos_trip = (
        a[keep] for a in (pos_t, pos_lat, pos_lon, pos_walk, pos_trip)
    )
    battery = _battery_at(table, pos_t, rng)
    state = pos_walk.astype(int)

    login_t = t0 + int(rng.integers(1, 5))
    beat_t = _report_times(rng, 10, days * 86400 - 60, 1700, 1900) + t0
    beat_batt = _battery_at(table, beat_t, rng)
    walking_at = np.zeros(len(beat_t), bool)
    for start, stop, *_ in segments:
        walking_at |= (beat_t >= start) & (beat_t < stop)

    if family == "G":
        rec.add(kind="g_login", msg_type="G1", time=np.array([login_t]), timeless=True)
        rec.add(
            kind="g_pos",
            msg_type="G6",
            time=pos_t,
            lat=pos_lat,
            lon=pos_lon,
            valid=True,
            trip=pos_trip,
        )
        hr = np.where(
            walking_at, rng.integers(88, 118, len(beat_t)), rng.integers(58, 78, len(beat_t))
        )
        rec.add(kind="g_hr", msg_type="G14", time=beat_t, battery=beat_batt, heart_rate=hr)
        step_t = _report_times(rng, 1800, days * 86400 - 60, 3500, 3700) + t0
        rec.add(kind="g_steps", msg_type="G13", time=step_t, steps=_steps(step_t, segments, t0))
    else:
        mcc = city[3]
        cells = [
            ",".join(
                map(
                    str,
                    (
                        int(rng.integers(10000, 65000)),
                        int(rng.integers(1000, 30000)),
                        int(rng.integers(1, 11)),
                        mcc,
                        0,
                    ),
                )
            )
            for _ in range(3)
        ]
        rec.add(
            kind="b_login",
            msg_type="B3",
            time=np.array([login_t]),
            battery=_battery_at(table, np.array([login_t]), rng),
            state=0,
            cells="|".join(cells),
        )
        # outdoors and on arrival a GPS fix, indoors mostly cell towers
        gps = (
            pos_walk
            | np.concatenate([[True], pos_trip[:-1] >= 0])
            | (rng.random(len(pos_t)) < 0.25)
        )
        rssi = rng.integers(3, 31, (len(pos_t), 3))
        cell_text = np.array(
            [
                "|".join(f"{c.rsplit(',', 1)[0]},{r}" for c, r in zip(cells, row, strict=True))
                for row in rssi
            ],
            dtype=object,
        )
        rec.add(
            kind=np.where(gps, "b_gps", "b_cells"),
            msg_type="B1",
            time=pos_t,
            lat=np.where(gps, pos_lat, np.nan),
            lon=np.where(gps, pos_lon, np.nan),
            valid=gps,
            battery=battery,
            state=state,
            cells=np.where(gps, None, cell_text),
            trip=pos_trip,
        )
        rec.add(
            kind="b_beat",
            msg_type="B33",
            time=beat_t,
            battery=beat_batt,
            state=walking_at.astype(int),
        )
    df = rec.frame().sort_values("time", kind="stable").reset_index(drop=True)
    return df, walks, stays, charges, drain


def _steps(times, segments, t0):
    """Cumulative steps since midnight: walking at 0.72 m a step plus 250 an hour awake."""
    walked = np.zeros(len(times))
    for start, stop, _, kt, kv, ks in segments:
        _, dist = _kinematics(kt, kv, ks, np.clip(times - start, 0, stop - start).astype(float))
        walked += np.where(times >= start, dist, 0.0)
    midnight = t0 + (times - t0) // 86400 * 86400
    walked_before = np.zeros(len(times))
    for start, stop, _, kt, kv, ks in segments:
        _, dist = _kinematics(kt, kv, ks, np.clip(midnight - start, 0, stop - start).astype(float))
        walked_before += np.where(midnight >= start, dist, 0.0)
    awake_h = np.clip((times - midnight) / 3600 - 6, 0, 16)
    return ((walked - walked_before) / 0.72 + 250 * awake_h).astype(np.int64)


def _driver_tag(index, trip_no):
    """The RFID of trip ``trip_no`` of vehicle ``index``, or None (nobody badged in)."""
    if trip_no < 0 or trip_no % 5 == 4:
        return None
    return _RFID[(index + trip_no % 2) % len(_RFID)]


def _driver_tags(index, trips):
    """:func:`_driver_tag` of every frame (``trips``: its trip number, -1 parked)."""
    tags = np.asarray(_RFID, dtype=object)[(index + trips % 2) % len(_RFID)]
    tags[(trips < 0) | (trips % 5 == 4)] = None
    return tags


def _finish_vehicle(rng, index, device_id, df):
    """Fix flags, state, photo, firmware, duplicates and the late upload of one vehicle."""
    n = len(df)
    df["device_id"], df["protocol"], df["kind"] = device_id, "pt502", "pos"
    df["valid"] = True
    df["sats"] = rng.integers(6, 13, n)
    df["rssi"] = rng.integers(9, 16, n)
    driving = (df["trip"] >= 0) & (df["msg_type"] == "POS")
    first_of_trip = df["trip"].ne(df["trip"].shift())
    invalid = (driving & ~first_of_trip & (rng.random(n) < 0.02)).to_numpy()
    df.loc[invalid, "valid"] = False
    df.loc[invalid, "sats"] = rng.integers(0, 4, int(invalid.sum()))
    jx, jy = _jitter(rng, int(invalid.sum()), 30, 150)
    df.loc[invalid, "lat"] += jy / _M_PER_DEG
    df.loc[invalid, "lon"] += jx / _M_PER_DEG
    df["adc"] = [f"{a:x},0,0,0" for a in rng.integers(0x130, 0x280, n)]
    df["time_ms"] = df["time"].astype(np.int64) * _MS
    df["received_ms"] = df["time_ms"] + rng.integers(300, 2500, n)
    df["late"] = False
    df["duplicate"] = False
    df["driver_id"] = _driver_tags(index, df["trip"].to_numpy(np.int64))

    if index % 6 == 0:
        # a coverage gap in the middle of the longest trip: its fixes arrive after it, late
        trip = int(df[driving].groupby("trip").size().idxmax())
        rows = np.flatnonzero((df["trip"] == trip).to_numpy())
        gap = rows[len(rows) // 3 : len(rows) // 3 + max(8, len(rows) // 6)]
        resume = int(df.loc[gap[-1] + 1, "received_ms"])
        df.loc[gap, "late"] = True
        df.loc[gap, "received_ms"] = resume + 800 + 150 * np.arange(len(gap))

    extra = []
    if index == 0:
        extra += _photo(rng, df)
        extra.append(
            {
                "device_id": device_id,
                "protocol": "pt502",
                "msg_type": "FUS",
                "kind": "fus",
                "received_ms": int(df["received_ms"].min()) - 2000,
                "firmware": _PT502_FIRMWARE,
            }
        )

    # the same frame sent twice
    candidates = np.flatnonzero(((df["msg_type"] == "POS") & df["valid"] & ~df["late"]).to_numpy())
    dup = np.sort(rng.choice(candidates, size=max(1, len(candidates) // 150), replace=False))
    copies = df.loc[dup].copy()
    copies["duplicate"] = True
    copies["received_ms"] = copies["received_ms"] + rng.integers(2000, 8000, len(copies))
    return pd.concat([df, copies, pd.DataFrame(extra)], ignore_index=True)


def _photo(rng, df):
    """A ``$PHO`` announcement during a daytime park and its ``$PHD`` chunks."""
    parked = df.index[(df["trip"] == -1) & (df["time"] > df["time"].iloc[0] + 7 * 3600)]
    row = df.loc[parked[1]].to_dict()
    t = int(row["time"]) + 37
    size = int(rng.integers(1800, 2600))
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    body = rng.integers(0, 256, size - len(head) - 2, dtype=np.uint8).tobytes()
    # a line break inside the binary data: framing must go by the length field
    body = body[:100] + b"\r\n" + body[102:]
    photo = head + body + b"\xff\xd9"
    row.update(
        msg_type=f"PHO{size}-1",
        time=t,
        time_ms=t * _MS,
        received_ms=t * _MS + 900,
        photo_size=size,
        duplicate=False,
        late=False,
    )
    rows = [row]
    for k, offset in enumerate(range(0, size, 960)):
        rows.append(
            {
                "device_id": row["device_id"],
                "protocol": "pt502",
                "msg_type": "PHD",
                "kind": "phd",
                "received_ms": t * _MS + 1000 + 40 * k,
                "payload": photo[offset : offset + 960],
                "photo_offset": offset,
            }
        )
    return rows


def _finalise(rng, df):
    """Common columns, the values a decoder reads back, frame text, receive order."""
    df = df.copy()
    for col in (
        "valid",
        "alarm",
        "payload",
        "photo_size",
        "photo_offset",
        "firmware",
        "steps",
        "heart_rate",
        "battery",
        "state",
        "cells",
        "imsi",
        "timeless",
        "time",
        "time_ms",
        "speed_ms",
        "course",
        "lat",
        "lon",
        "trip",
        "driver_id",
        "inputs",
    ):
        if col not in df:
            df[col] = None
    for col in ("late", "duplicate", "timeless"):
        df[col] = df[col].astype("boolean").fillna(False).astype(bool)
    is60 = (df["protocol"] == "pt60").to_numpy()
    time_ms = df["time_ms"].astype("float64").to_numpy().copy()
    time_ms[is60] = df.loc[is60, "time"].astype("float64").to_numpy() * _MS
    received = df["received_ms"].astype("float64").to_numpy().copy()
    received[is60] = time_ms[is60] + rng.integers(400, 3000, int(is60.sum()))
    timeless = df["timeless"].to_numpy() | df["kind"].isin(["phd", "fus"]).to_numpy()
    time_ms[timeless] = np.nan
    df["time_ms"], df["received_ms"] = time_ms, received.astype(np.int64)
    # one connection per device: its live frames arrive in the order they were made
    live = ~(df["late"] | df["duplicate"]).to_numpy() & ~np.isnan(time_ms)
    ordered = df[live].sort_values(["device_id", "time_ms"], kind="stable")
    df.loc[ordered.index, "received_ms"] = ordered.groupby("device_id")["received_ms"].cummax()
    df.loc[df["kind"] == "b_login", "firmware"] = _B_FIRMWARE

    texts, values = [], []
    for row in df.itertuples(index=False):
        text, vals = _format(row)
        texts.append(text)
        values.append(vals)
    df["text"] = texts
    decoded = pd.DataFrame(values, index=df.index, columns=list(_DECODED))
    for col in _DECODED:
        df[col] = decoded[col]
    df["msg_type"] = df["msg_type"].str.replace(r"^PHO.*", "PHO", regex=True)

    df = df.sort_values(["received_ms", "device_id", "time_ms"], kind="stable").reset_index(
        drop=True
    )
    # a device sends a photo announcement and its chunks back to back
    phd = df["msg_type"] == "PHD"
    if phd.any():
        chunks = df[phd]
        rest = df[~phd].reset_index(drop=True)
        at = int(np.flatnonzero((rest["msg_type"] == "PHO").to_numpy())[0]) + 1
        df = pd.concat([rest.iloc[:at], chunks, rest.iloc[at:]], ignore_index=True)
    keep = [
        "device_id",
        "protocol",
        "msg_type",
        "time_ms",
        "received_ms",
        "valid",
        *_DECODED,
        "alarm",
        "firmware",
        "steps",
        "heart_rate",
        "photo_size",
        "photo_offset",
        "duplicate",
        "late",
        "text",
        "payload",
        "trip",
        "driver_id",
        "inputs",
    ]
    df = df[keep].copy()
    # the driver field is read back as it is sent, and an empty one as no driver
    df["driver_id"] = df["driver_id"].where(df["driver_id"].map(
        lambda v: isinstance(v, str) and bool(v)), None)
    for col in ("steps", "heart_rate", "photo_size", "photo_offset", "satellites", "rssi"):
        df[col] = df[col].astype("Int64")
    df["valid"] = df["valid"].astype("boolean")
    return df


#: Columns whose values :func:`_format` derives from the frame text.
_DECODED = ("lat", "lon", "speed_kmh", "course", "battery_pct", "satellites", "rssi", "odometer_m")


def _fmt_coord(value, width):
    """Degrees as PT-502 ``DDMM.MMMM`` text and the value that text stands for."""
    units = int(round(abs(value) * 60 * 10_000))
    deg, rest = divmod(units, 600_000)
    text = f"{deg:0{width}d}{rest // 10_000:02d}.{rest % 10_000:04d}"
    decoded = deg + rest / 10_000 / 60
    return text, (-decoded if value < 0 else decoded)


def _ts(seconds, layout):
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").strftime(layout)


def _format(row):
    """Frame text (without terminator) and the decoded values of one frame."""
    kind = row.kind
    if kind == "pos":
        lat_text, lat = _fmt_coord(row.lat, 2)
        lon_text, lon = _fmt_coord(row.lon, 3)
        knots = f"{row.speed_ms * 3.6 / _KNOT_KMH:.2f}"
        course = f"{row.course:.2f}"
        level = int(row.level)
        odometer = int(row.odometer)
        driver = row.driver_id if isinstance(row.driver_id, str) else ""
        text = (
            f"${row.msg_type},{row.device_id},{_ts(row.time, '%H%M%S')}.000,"
            f"{'A' if row.valid else 'V'},{lat_text},{'S' if row.lat < 0 else 'N'},"
            f"{lon_text},{'W' if row.lon < 0 else 'E'},{knots},{course},"
            f"{_ts(row.time, '%d%m%y')},,,A/{row.inputs},00000/{row.adc}/{odometer}/{driver}/"
            f"{level:x}{int(row.rssi):x}{int(row.sats):x}//"
        )
        return text, (
            lat,
            lon,
            float(knots) * _KNOT_KMH,
            float(course),
            level * 100 / 15,
            int(row.sats),
            int(row.rssi),
            float(odometer),
        )
    blank = (None,) * len(_DECODED)
    if kind == "phd":
        return f"$PHD{int(row.photo_offset)},{len(row.payload)},", blank
    if kind == "fus":
        return f"$FUS{row.device_id},{row.firmware}", blank
    if kind == "g_login":
        return f"@G#@,V01,1,{row.device_id},{row.imsi},", blank
    when = _ts(row.time, "%Y%m%d%H%M%S")
    lat, lon = f"{row.lat:.6f}", f"{row.lon:.6f}"
    position = (float(lat), float(lon)) if lat != "nan" else (None, None)
    head = f"@G#@,V01,{row.msg_type[1:]},{row.device_id},{row.imsi},{when},"
    if kind == "g_pos":
        return f"{head}{lat};{lon},", (*position, *blank[2:])
    if kind == "g_hr":
        return f"{head}{int(row.heart_rate)},{int(row.battery)},", (None,) * 4 + (
            float(row.battery),
        ) + (None,) * 3
    if kind == "g_steps":
        return f"{head}{int(row.steps)},", blank
    batt = int(row.battery)
    with_battery = (None,) * 4 + (float(batt),) + (None,) * 3
    head = f"@B#@|01|{int(row.msg_type[1:]):03d}|{row.device_id}|{row.imsi}|"
    tail = f"{int(row.state)}|{batt}|{when}|"
    if kind == "b_login":
        return f"{head}{_B_FIRMWARE}|{tail}{row.cells}|2|", with_battery
    if kind == "b_gps":
        return f"{head}{tail}{lat}|{lon}|1|", (*position, *with_battery[2:])
    if kind == "b_cells":
        return f"{head}{tail}{row.cells}|2|", with_battery
    if kind == "b_beat":
        return f"{head}{tail}", with_battery
    raise ValueError(f"unknown frame kind {kind!r}")


def generate_fleet(
    *,
    seed: int = 0,
    vehicles: int = 10,
    personal: int = 5,
    days: int = 2,
    start: str = "2026-11-02",
) -> Fleet:
    """Simulate a fleet of PT-502 vehicles and PT-60 personal trackers.

    Parameters
    ----------
    seed : int
        Seed of the random generator: the same seed gives the same fleet.
    vehicles, personal : int
        Number of PT-502 vehicle trackers and of PT-60 personal trackers (their families
        alternate ``@G#@``, ``@B#@``).
    days : int
        Length of the capture in days, from midnight UTC of ``start``.
    start : str
        First day (UTC).

    Returns
    -------
    Fleet
        Frames in the order the server received them, and the planted episodes.

    Examples
    --------
    >>> fleet = generate_fleet(seed=1, vehicles=2, personal=1, days=1)
    >>> sorted(fleet.frames["protocol"].unique())
    ['pt502', 'pt60']
    """
    if vehicles < 1 or personal < 0 or days < 1:
        raise ValueError("vehicles must be >= 1, personal >= 0 and days >= 1")
    rng = np.random.default_rng(seed)
    t0 = int(pd.Timestamp(start, tz="UTC").timestamp())
    end = t0 + days * 86400
    main = _CITIES[0]
    geofences = _geofences(main)

    frames, trips, stops, charges, battery = [], [], [], [], []
    zones = {}
    ids = _device_ids(rng, vehicles)
    main_sites = _sites(rng, main, 7, geofences, with_client=True)
    for i, device_id in enumerate(ids):
        city = _CITIES[1] if i % 5 == 4 and vehicles > 5 else main
        if city is main:
            sites = [(float(rng.uniform(-40, 40)), float(rng.uniform(-30, 30))), *main_sites]
        else:
            sites = _sites(rng, city, 6, {"features": []}, with_client=False)
        df, v_trips, v_parks, v_charges = _simulate_vehicle(
            rng, i, city, sites, t0, days, geofences
        )
        frames.append(_finish_vehicle(rng, i, device_id, df))
        charges += [
            {"device_id": device_id, **c, "end_pct": 100.0, "complete": True} for c in v_charges
        ]
        trips += [{"device_id": device_id, **t, "driver_id": _driver_tag(i, k)}
                  for k, t in enumerate(v_trips)]
        stops += [{"device_id": device_id, **_place_latlon(city, p)} for p in v_parks]
        zones[device_id] = city[5]

    for j in range(personal):
        family = "G" if j % 2 == 0 else "B"
        city = _CITIES[1] if j == 3 else main
        imei = ("35" if family == "G" else "86") + _digits(rng, 13)
        df, walks, stays, p_charges, drain = _simulate_person(
            rng, j, family, city, t0, days, geofences
        )
        df["device_id"], df["protocol"], df["imsi"] = imei, "pt60", _digits(rng, 16)
        frames.append(df)
        trips += [{"device_id": imei, **w, "driver_id": None} for w in walks]
        zones[imei] = city[5]
        stops += [{"device_id": imei, **_place_latlon(city, s)} for s in stays]
        for c in p_charges:
            # a charge still running when the capture ends has no end time yet
            complete = c["end"] <= end
            reached = c["start_pct"] + c["rate"] * (end - c["start"]) / 3600
            charges.append(
                {
                    "device_id": imei,
                    **c,
                    "end": c["end"] if complete else None,
                    "end_pct": 100.0 if complete else reached,
                    "complete": complete,
                }
            )
        battery.append({"device_id": imei, "drain_pct_per_h": round(drain, 4), "noise_pct": 1.0})

    df = _finalise(rng, pd.concat(frames, ignore_index=True))
    episodes = _episodes(df, trips, stops, charges, battery, geofences)
    episodes["daily"] = _daily(df, episodes["trips"], zones)
    episodes["zones"] = pd.DataFrame({"device_id": list(zones), "zone": list(zones.values())})
    return Fleet(
        frames=df,
        episodes=episodes,
        geofences=geofences,
        seed=seed,
        start=pd.Timestamp(t0, unit="s", tz="UTC"),
        end=pd.Timestamp(end, unit="s", tz="UTC"),
    )


def _place_latlon(city, place):
    lat, lon = _to_latlon(city, place["x"], place["y"])
    return {"start": place["start"], "end": place["end"], "lat": float(lat), "lon": float(lon)}


# --------------------------------------------------------------------------- episodes


def _positions(df):
    """Valid fixes without duplicates, by device and time: what ``positions()`` returns."""
    pos = df[df["valid"].fillna(False).astype(bool) & ~df["duplicate"] & df["lat"].notna()]
    return pos.sort_values(["device_id", "time_ms"], kind="stable")


def _engine_s(fixes):
    """Ignition-on time over ``fixes`` (a PT-502 trip): the hops from fixes sent while
    driving (ignition on) up to the arrival fix (off); None for PT-60 (no ignition)."""
    if fixes["protocol"].iloc[0] != "pt502":
        return None
    t = fixes["time_ms"].to_numpy(np.int64)
    on = (fixes["trip"].to_numpy() >= 0)[:-1]
    return float(np.diff(t)[on].sum()) / _MS


def _daily(df, trips, zones):
    """Per vehicle and local calendar day (the zone of its city): distance and engine time
    of its trips, a hop over midnight shared in proportion to time, and trips by start."""
    pos = _positions(df)
    rows = []
    for trip in trips[trips["protocol"] == "pt502"].itertuples():
        g = pos[(pos["device_id"] == trip.device_id)
                & pos["time_ms"].between(trip.start_time, trip.end_time)]
        t = g["time_ms"].to_numpy(np.int64)
        lat, lon = g["lat"].to_numpy(float), g["lon"].to_numpy(float)
        on = g["trip"].to_numpy() >= 0
        zone = zones[trip.device_id]
        day0 = pd.Timestamp(t[0], unit="ms", tz="UTC").tz_convert(zone).date()
        rows.append((trip.device_id, day0, 0.0, 0.0, 1))
        for i in range(len(t) - 1):  # hop by hop: the slow, obvious reference
            d = float(_haversine_m(lat[i], lon[i], lat[i + 1], lon[i + 1]))
            a = pd.Timestamp(t[i], unit="ms", tz="UTC").tz_convert(zone)
            b = pd.Timestamp(t[i + 1], unit="ms", tz="UTC").tz_convert(zone)
            cut = (a.tz_localize(None).normalize() + pd.Timedelta(days=1)).tz_localize(zone)
            parts = [(a, b)] if b <= cut else [(a, cut), (cut, b)]
            for x, y in parts:
                share = (y - x) / (b - a)
                rows.append((trip.device_id, x.date(), d * share,
                             (y - x).total_seconds() if on[i] else 0.0, 0))
    daily = pd.DataFrame(rows, columns=["device_id", "day", "distance_m", "engine_s", "trips"])
    daily = daily.groupby(["device_id", "day"], sort=True).sum().reset_index()
    daily["day"] = daily["day"].astype(str)
    daily["zone"] = daily["device_id"].map(zones)
    return daily[["device_id", "day", "zone", "distance_m", "engine_s", "trips"]]


def _track_length_m(lat, lon):
    if len(lat) < 2:
        return 0.0
    return float(_haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum())


def _overspeed(pos, limits, zones):
    """Runs of consecutive fixes of a device above their limit (a new limit starts a run)."""
    rows = []
    device = pos["device_id"].to_numpy(object)
    speed = pos["speed_kmh"].to_numpy(float)
    t = pos["time_ms"].to_numpy()
    above = speed > limits
    same = np.concatenate([[False], (device[1:] == device[:-1]) & (limits[1:] == limits[:-1])])
    starts = np.flatnonzero(above & ~(same & np.concatenate([[False], above[:-1]])))
    for a in starts:
        b = a + 1
        while b < len(pos) and above[b] and same[b]:
            b += 1
        rows.append(
            {
                "device_id": device[a],
                "start_time": t[a],
                "end_time": t[b - 1],
                "max_speed_kmh": float(speed[a:b].max()),
                "fixes": int(b - a),
                "limit_kmh": float(limits[a]),
                "geofence": zones[a],
            }
        )
    columns = [
        "device_id",
        "start_time",
        "end_time",
        "max_speed_kmh",
        "fixes",
        "limit_kmh",
        "geofence",
    ]
    return pd.DataFrame(rows, columns=columns)


def _episodes(df, trips, stops, charges, battery, geofences):
    """The planted episodes as tables, with times taken from the frames."""
    pos = _positions(df)
    by_device = {d: g for d, g in pos.groupby("device_id", sort=False)}

    trip_rows = []
    for trip in trips:
        g = by_device[trip["device_id"]]
        t = g["time_ms"].to_numpy()
        inside = g[(t >= trip["start"] * _MS) & (t <= trip["end"] * _MS)]
        speed = inside["speed_kmh"].astype(float)
        trip_rows.append(
            {
                "device_id": trip["device_id"],
                "protocol": inside["protocol"].iloc[0],
                "start_time": inside["time_ms"].iloc[0],
                "end_time": inside["time_ms"].iloc[-1],
                "distance_m": _track_length_m(
                    inside["lat"].to_numpy(float), inside["lon"].to_numpy(float)
                ),
                "max_speed_kmh": speed.max() if speed.notna().any() else None,
                "fixes": len(inside),
                "driver_id": trip["driver_id"],
                "engine_s": _engine_s(inside),
            }
        )
    trips_df = pd.DataFrame(trip_rows)

    stop_rows = []
    for stop in stops:
        g = by_device[stop["device_id"]]
        t = g["time_ms"].to_numpy()
        inside = t[(t >= stop["start"] * _MS) & (t < stop["end"] * _MS)]
        later = t[t >= stop["end"] * _MS]
        if not len(inside):
            continue
        end_time = later[0] if len(later) else inside[-1]
        stop_rows.append(
            {
                "device_id": stop["device_id"],
                "start_time": inside[0],
                "end_time": end_time,
                "duration_s": (end_time - inside[0]) / _MS,
                "lat": stop["lat"],
                "lon": stop["lon"],
                "fixes": len(inside),
                "open_started": bool(t[0] == inside[0]),
                "open_ended": not len(later),
            }
        )
    stops_df = pd.DataFrame(stop_rows)

    vehicles = pos[pos["protocol"] == "pt502"]
    over_df = _overspeed(vehicles, np.full(len(vehicles), SPEED_LIMIT_KMH), [None] * len(vehicles))
    # with the zones' own limits: a fix in a zone with speed_limit_kmh takes the lowest
    limits = np.full(len(vehicles), SPEED_LIMIT_KMH)
    zone = np.full(len(vehicles), None, dtype=object)
    inside = _inside_geofences(
        geofences, vehicles["lat"].to_numpy(float), vehicles["lon"].to_numpy(float)
    )
    for k, feature in enumerate(geofences["features"]):
        limit = feature["properties"].get("speed_limit_kmh")
        if limit is None:
            continue
        lower = inside[:, k] & (limit < limits)
        limits[lower], zone[lower] = limit, feature["properties"]["name"]
    zone_df = _overspeed(vehicles, limits, zone)

    names = [f["properties"]["name"] for f in geofences["features"]]
    fence_rows = []
    for device, g in by_device.items():
        lat, lon = g["lat"].to_numpy(float), g["lon"].to_numpy(float)
        inside = _inside_geofences(geofences, lat, lon)
        t = g["time_ms"].to_numpy()
        for k, name in enumerate(names):
            for i in np.flatnonzero(np.diff(inside[:, k].astype(np.int8))) + 1:
                fence_rows.append(
                    {
                        "device_id": device,
                        "geofence": name,
                        "event": "enter" if inside[i, k] else "exit",
                        "time": t[i],
                        "lat": lat[i],
                        "lon": lon[i],
                    }
                )
    fences_df = pd.DataFrame(
        fence_rows, columns=["device_id", "geofence", "event", "time", "lat", "lon"]
    )
    fences_df = fences_df.sort_values(["device_id", "time", "geofence"], kind="stable").reset_index(
        drop=True
    )

    charges_df = pd.DataFrame(
        [
            {
                "device_id": c["device_id"],
                "start_time": c["start"] * _MS,
                "end_time": None if c["end"] is None else c["end"] * _MS,
                "start_pct": round(c["start_pct"], 2),
                "end_pct": round(c["end_pct"], 2),
                "rate_pct_per_h": round(c["rate"], 3),
                "complete": c["complete"],
            }
            for c in charges
        ],
        columns=[
            "device_id",
            "start_time",
            "end_time",
            "start_pct",
            "end_pct",
            "rate_pct_per_h",
            "complete",
        ],
    )
    alarm_rows = df[df["alarm"].notna() & ~df["duplicate"]]
    alarms_df = alarm_rows[["device_id", "time_ms", "alarm", "lat", "lon", "msg_type"]].rename(
        columns={"time_ms": "time"}
    )
    alarms_df = alarms_df.sort_values(["device_id", "time"], kind="stable").reset_index(drop=True)
    pho = df[df["msg_type"] == "PHO"]
    photos_df = pd.DataFrame(
        {
            "device_id": pho["device_id"].to_numpy(),
            "time": pho["time_ms"].to_numpy(),
            "size": pho["photo_size"].to_numpy(),
            "chunks": [
                int(((df["msg_type"] == "PHD") & (df["device_id"] == d)).sum())
                for d in pho["device_id"]
            ],
        }
    )
    return {
        "trips": trips_df,
        "stops": stops_df,
        "overspeed": over_df.drop(columns="geofence"),
        "zone_overspeed": zone_df,
        "geofence_events": fences_df,
        "charges": charges_df,
        "battery": pd.DataFrame(battery, columns=["device_id", "drain_pct_per_h", "noise_pct"]),
        "alarms": alarms_df,
        "photos": photos_df,
    }


# --------------------------------------------------------------------------- captures

_TERMINATOR = {"G": b"@R#@", "B": b"@E#@"}

#: Columns of ``truth["frames"]``, in order.
TRUTH_FRAME_COLUMNS = (
    "device_id",
    "protocol",
    "msg_type",
    "time",
    "received_at",
    "valid",
    "lat",
    "lon",
    "speed_kmh",
    "course",
    "alarm",
    "battery_pct",
    "satellites",
    "rssi",
    "odometer_m",
    "firmware",
    "steps",
    "heart_rate",
    "photo_size",
    "photo_offset",
    "duplicate",
    "late",
    "offset",
    "driver_id",
)


def _wire(text, payload, protocol):
    """A frame as the device sends it: text, binary payload, terminator."""
    body = text.encode("ascii") + (payload if isinstance(payload, bytes) else b"")
    if protocol == "pt502":
        return body, b"\r\n"
    return body, _TERMINATOR[text[1]]


def _noise(rng, frames, fmt):
    """Known stretches that are not frames: (bytes, expected reject reason)."""
    pos = frames[(frames["msg_type"] == "POS") & ~frames["duplicate"]]
    sample = pos["text"].iloc[int(rng.integers(0, len(pos)))]
    fields = sample.split(",")
    truncated = ",".join(fields[:5])[:-3]
    bad_lat = ",".join([*fields[:4], "9512.3456", *fields[5:]])
    g = frames[frames["msg_type"] == "G6"]["text"]
    b = frames[frames["msg_type"] == "B1"]["text"]
    g_head = ",".join(g.iloc[0].split(",")[:5]) + "," if len(g) else "@G#@,V01,6,"
    b_head = "|".join(b.iloc[0].split("|")[:4]) + "|" if len(b) else "@B#@|01|001|"
    if fmt == "stream":
        return [
            (b"\x00\x00\xff\xfe\x10\x02ATE0\r\n", "garbage"),
            (truncated.encode() + b"\r\n", "truncated"),
            (g_head.encode() + b"@R#@", "truncated"),
            (b"AT+CSQ\r\n", "unknown_protocol"),
            (bad_lat.encode() + b"\r\n", "bad_latitude"),
        ]
    if fmt == "lines":
        return [
            (b"AT+CSQ", "unknown_protocol"),
            (truncated.encode(), "truncated"),
            (b_head.encode(), "truncated"),
            (b"+CME ERROR: 30", "unknown_protocol"),
            (bad_lat.encode(), "bad_latitude"),
        ]
    return [
        (b"\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03", "garbage"),
        (truncated.encode() + b"\r\n", "truncated"),
        (b"GET / HTTP/1.1", "unknown_protocol"),
        (b"24504f532c3", "bad_hex"),
        (bad_lat.encode() + b"\r\n", "bad_latitude"),
    ]


def _noise_slots(rng, frames, count):
    """Where noise goes: before these frame numbers, never inside a photo, never adjacent."""
    n = len(frames)
    eligible = np.flatnonzero((frames["msg_type"] != "PHD").to_numpy())
    eligible = eligible[(eligible > 5) & (eligible < n - 5)]
    while True:
        slots = np.sort(rng.choice(eligible, size=count, replace=False))
        if (np.diff(slots) > 2).all():
            return slots


def _iso_ms(ms):
    """Milliseconds since the epoch as ISO-8601 text with a Z, or None."""
    if ms is None or pd.isna(ms):
        return None
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def compress_sentence(reference: bytes, sentence: bytes) -> bytes | None:
    """A PT-502 sentence as PT502/PT600X firmwares compress it against the connection's
    previous full sentence (both with their line ends), or None when it cannot be.

    ``@``, the XOR of the reference's bytes, then for each field that differs (fields cut
    on ``,`` and ``/``; the line end belongs to the last one) ``[field][kept][length]``
    and the new bytes: ``kept`` bytes of the old value are kept. Field numbers must stay
    below 32 and both sentences must have the same separators.

    >>> ref = b"$POS,1,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//\r\n"
    >>> compress_sentence(ref, ref.replace(b"120000", b"120015")).hex()
    '405102040631352e303030'
    """
    def split(text):
        return re.split(rb"([,/])", text)

    old, new = split(reference), split(sentence)
    if len(old) != len(new) or old[1::2] != new[1::2] or len(old) // 2 + 1 > 32:
        return None
    groups = bytearray()
    for field, (a, b) in enumerate(zip(old[::2], new[::2], strict=True)):
        if a == b:
            continue
        kept = 0
        while kept < min(len(a), len(b), 255) and a[kept] == b[kept]:
            kept += 1
        rest = b[kept:]
        if len(rest) > 255:
            return None
        groups += bytes([field, kept, len(rest)]) + rest
    if not groups:  # nothing changed: keep the whole type field
        groups += bytes([0, min(len(old[0]), 255), 0])
    check = 0
    for byte in reference:
        check ^= byte
    return b"@" + bytes([check]) + bytes(groups)


def _render_stream(rng, frames, compress=False):
    noise = _noise(rng, frames, "stream")
    slots = dict(zip(_noise_slots(rng, frames, len(noise)).tolist(), noise, strict=True))
    pt60_ids = sorted(frames.loc[frames["protocol"] == "pt60", "device_id"].unique())
    crlf_after = set(pt60_ids[::2])  # some PT-60 firmwares end each frame with CR LF too
    out, offsets, noise_at = bytearray(), [], []
    reference = None  # the last full PT-502 sentence, for compressed ones
    for i, row in enumerate(frames.itertuples(index=False)):
        if i in slots:
            noise_at.append(len(out))
            out += slots[i][0]
            if slots[i][0].startswith(b"$"):
                reference = slots[i][0]
        body, term = _wire(row.text, row.payload, row.protocol)
        if compress and row.protocol == "pt502" and row.msg_type != "PHD":
            packed = compress_sentence(reference, body + term) if reference and i % 2 else None
            reference = body + term
            if packed is not None:
                body, term = packed, b""
        if row.protocol == "pt502" and rng.random() < 0.15:
            out += (
                b"\xbf\xfb"
                + rng.integers(0, 256, 2, dtype=np.uint8).tobytes()
                + bytes([int(rng.integers(0, 4))])
            )
        offsets.append(len(out))
        out += body + term
        if row.device_id in crlf_after:
            out += b"\r\n"
    received = [None] * len(frames)
    return (
        bytes(out),
        offsets,
        received,
        [(o, r) for o, (_, r) in zip(noise_at, noise, strict=True)],
        0,
    )


def _render_lines(rng, frames):
    frames = frames[frames["msg_type"] != "PHD"].reset_index(drop=True)
    noise = _noise(rng, frames, "lines")
    slots = dict(zip(_noise_slots(rng, frames, len(noise)).tolist(), noise, strict=True))
    out, offsets, noise_at = bytearray(), [], []
    for i, row in enumerate(frames.itertuples(index=False)):
        stamp = (_iso_ms(row.received_ms) + " ").encode()
        if i in slots:
            noise_at.append(len(out))
            text, reason = slots[i]
            # a modem error line comes without the recorder's time stamp
            out += (b"" if text.startswith(b"+") else stamp) + text + b"\n"
        body, term = _wire(row.text, row.payload, row.protocol)
        out += stamp
        offsets.append(len(out))
        out += body + (term if row.protocol == "pt60" and rng.random() < 0.5 else b"") + b"\n"
    received = frames["received_ms"].tolist()
    return (
        bytes(out),
        offsets,
        received,
        [(o, r) for o, (_, r) in zip(noise_at, noise, strict=True)],
        frames,
    )


#: how tracker-server releases write a network read (``render_capture(layout=...)``)
TRACCAR_LAYOUTS = {
    "hex": "[T1a2b3c4d: pt502 < 10.0.0.5] 24504f53... (5.x, 6.x; a few reads as plain text)",
    "text": "6.3+ with logger.decodeTextData: a printable read as text, CR/LF as \\r \\n",
    "4.x": "[1a2b3c4d: pt502 < 10.0.0.5] HEX: 24504f53...",
    "3.x": "[1A2B3C4D: 5017 < 10.0.0.5] HEX: 24504f53... (the port, not the protocol)",
}
_PORTS_3X = {"pt502": 5017, "pt60": 5018}


def _printable(data):
    return all(32 <= b < 127 or b in (10, 13) for b in data)


def _read_line(layout, sid, proto, direction, ip, data, as_text):
    """One read as the log line's bracket and payload, in a release's layout."""
    if layout == "hex":
        payload = data.decode("ascii") if as_text else data.hex()
        return f"[{sid}: {proto} {direction} {ip}] {payload}"
    if layout == "text":
        if _printable(data):
            text = data.decode("ascii").replace("\r", "\\r").replace("\n", "\\n")
            return f"[{sid}: {proto} {direction} {ip}] {text}"
        return f"[{sid}: {proto} {direction} {ip}] {data.hex()}"
    if layout == "4.x":
        return f"[{sid[1:]}: {proto} {direction} {ip}] HEX: {data.hex()}"
    return f"[{sid[1:].upper()}: {_PORTS_3X[proto]} {direction} {ip}] HEX: {data.hex()}"


def _render_traccar(rng, frames, layout="hex", log_tz=None):
    frames = frames[frames["msg_type"] != "PHD"].reset_index(drop=True)
    devices = list(dict.fromkeys(frames["device_id"]))
    sessions, ips = {}, {}
    for k, device in enumerate(devices):
        udp = k == 1
        sessions[device] = ("U" if udp else "T") + f"{int(rng.integers(0, 2**32)):08x}"
        ips[device] = f"10.0.{k // 200}.{k % 200 + 2}"
    noise = _noise(rng, frames, "traccar")
    slots = dict(zip(_noise_slots(rng, frames, len(noise)).tolist(), noise, strict=True))

    # one entry per network read: [second, session, protocol, ip, direction, bytes, as_text, frames]
    reads = []
    for i, row in enumerate(frames.itertuples(index=False)):
        sec = int(row.received_ms) // _MS
        if i in slots:
            data, reason = slots[i]
            if reason in ("truncated", "bad_latitude"):
                sid, ip, proto = sessions[row.device_id], ips[row.device_id], "pt502"
            else:
                sid, ip, proto = (
                    f"T{int(rng.integers(0, 2**32)):08x}",
                    f"203.0.113.{int(rng.integers(2, 250))}",
                    "pt502",
                )
            reads.append(
                [
                    sec,
                    sid,
                    proto,
                    ip,
                    "<",
                    data,
                    reason in ("unknown_protocol", "bad_hex"),
                    ["noise"],
                ]
            )
        body, term = _wire(row.text, row.payload, row.protocol)
        as_text = rng.random() < 0.08
        if as_text:
            data = body + (term if row.protocol == "pt60" else b"")
        else:
            data = body + term
            if row.protocol == "pt502" and rng.random() < 0.1:
                data = b"\xbf\xfb" + rng.integers(0, 256, 3, dtype=np.uint8).tobytes() + data
        reads.append(
            [
                sec,
                sessions[row.device_id],
                row.protocol,
                ips[row.device_id],
                "<",
                data,
                as_text,
                [i],
            ]
        )
        if row.msg_type in ("G1", "B3") or rng.random() < 0.03:
            ack = b"$ACK\r\n" if row.protocol == "pt502" else b"@G#@,V01,ACK,@R#@"
            reads.append(
                [
                    sec,
                    sessions[row.device_id],
                    row.protocol,
                    ips[row.device_id],
                    ">",
                    ack,
                    False,
                    [],
                ]
            )

    # several frames in one read: frames of one session received within the same second
    merged = []
    for read in reads:
        last = merged[-1] if merged else None
        if (
            last is not None
            and read[4] == last[4] == "<"
            and read[1] == last[1]
            and read[0] == last[0]
            and not read[6]
            and not last[6]
            and read[7] != ["noise"]
            and last[7] != ["noise"]
            and rng.random() < 0.6
        ):
            last[5] += read[5]
            last[7] = last[7] + read[7]
        else:
            merged.append(read)
    # a frame split over two reads; another session's read may come in between
    reads = []
    pending = None
    for read in merged:
        splittable = (
            read[4] == "<"
            and read[1].startswith("T")
            and not read[6]
            and len(read[7]) == 1
            and read[7] != ["noise"]
            and len(read[5]) > 20
        )
        if pending is not None:
            if read[0] == pending[0] and read[1] != pending[1]:
                reads.append(read)
                reads.append(pending)
                pending = None
                continue
            reads.append(pending)
            pending = None
        if splittable and rng.random() < 0.05:
            cut = int(rng.integers(5, len(read[5]) - 5))
            reads.append([*read[:5], read[5][:cut], False, read[7]])
            pending = [*read[:5], read[5][cut:], False, []]
        else:
            reads.append(read)
    if pending is not None:
        reads.append(pending)

    def stamp(sec):
        t = pd.Timestamp(sec, unit="s", tz="UTC")
        return (t if log_tz is None else t.tz_convert(log_tz)).strftime("%Y-%m-%d %H:%M:%S")

    first = reads[0][0] - 2
    header = [
        "Operating system name: Linux version: 6.1.0-28-amd64 architecture: amd64",
        "Java runtime name: OpenJDK 64-Bit Server VM vendor: Debian version: 17.0.13+11-Debian-2",
        "Version: 6.5",
        "Starting server...",
        "Started server",
    ]
    lines = [f"{stamp(first)}  INFO: {text}" for text in header]
    log_lines = len(header)
    received = [None] * len(frames)
    noise_at = []
    seen = set()
    for sec, sid, proto, ip, direction, data, as_text, numbers in reads:
        if sid not in seen and direction == "<" and sid.startswith("T"):
            seen.add(sid)
            shown = sid if layout in ("hex", "text") else sid[1:]
            lines.append(f"{stamp(sec)}  INFO: [{shown}] connected")
            log_lines += 1
        if layout == "text" and as_text and proto == "pt502" and numbers != ["noise"]:
            data = data + b"\r\n"  # text mode writes the line end too, as \r\n
        if numbers == ["noise"]:
            noise_at.append(len(lines))
        for i in numbers:
            if i != "noise" and received[i] is None:
                received[i] = sec * _MS
        read = _read_line(layout, sid, proto, direction, ip, data, as_text)
        lines.append(f"{stamp(sec)}  INFO: {read}")
        log_lines += direction == ">"
    last = reads[-1][0]
    lines.append(f"{stamp(last)}  WARN: Connection reset by peer - {sorted(seen)[0]}")
    lines.append(f"{stamp(last + 1)}  INFO: Stopping server...")
    log_lines += 2
    data = ("\n".join(lines) + "\n").encode("ascii")
    reasons = [(line_no, r) for line_no, (_, r) in zip(noise_at, noise, strict=True)]
    return data, [None] * len(frames), received, reasons, (frames, log_lines)


def render_capture(
    fleet: Fleet,
    format: str = "stream",
    *,
    layout: str = "hex",
    log_tz: str | None = None,
    compress: bool = False,
) -> Capture:
    """Write a fleet's frames as one capture file, with the truth of that file.

    Parameters
    ----------
    fleet : Fleet
        From :func:`generate_fleet`.
    format : {"stream", "lines", "traccar"}
        ``stream``: raw bytes as devices send them (photo chunks included); ``lines``: one
        frame per line behind its ISO-8601 receive time; ``traccar``: a tracker-server log
        with hex (sometimes text) payloads, split and merged reads, replies and log lines.
        Each format also gets five known noise stretches that a decoder must reject.
    layout : str
        For ``traccar``: how the server release writes a read (:data:`TRACCAR_LAYOUTS`).
        The noise is written in that layout too, so its reject reasons may differ from
        ``truth["noise"]`` outside ``hex``.
    log_tz : str, optional
        For ``traccar``: write the log's time stamps in this zone, as a server in it does
        (``received_at`` in ``frames`` stays UTC).
    compress : bool
        For ``stream``: send every other PT-502 sentence compressed against the one
        before (:func:`compress_sentence`), as PT502/PT600X firmwares do.

    Returns
    -------
    Capture
        ``data`` (bytes); ``frames``: one row per frame in file order, the columns of
        :data:`TRUTH_FRAME_COLUMNS` (times ``datetime64[ms, UTC]``; ``offset`` is the byte
        offset of the frame's first byte, after any ``0xBF`` header or line time stamp,
        null in traccar logs); ``truth``: a JSON-serialisable dict with ``frame_count``,
        ``rejects`` (how many reject rows the noise makes), ``noise`` (byte offset, or
        line number in traccar logs, and the expected reason), ``log_lines`` (traccar lines
        that are neither device data nor noise) and the episodes: ``trips``, ``stops``,
        ``overspeed``, ``geofence_events``, ``charges``, ``battery``, ``alarms``,
        ``photos`` (lists of records, times as ISO-8601 text with ms and a Z).

    Examples
    --------
    >>> fleet = generate_fleet(seed=1, vehicles=2, personal=1, days=1)
    >>> capture = render_capture(fleet, "lines")
    >>> capture.truth["rejects"]
    5
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    if layout not in TRACCAR_LAYOUTS or (layout != "hex" and format != "traccar"):
        raise ValueError(f"layout must be one of {', '.join(TRACCAR_LAYOUTS)} (traccar only)")
    if compress and format != "stream":
        raise ValueError("compress=True is for the stream format")
    rng = np.random.default_rng([fleet.seed, FORMATS.index(format)])
    frames = fleet.frames
    log_lines = 0
    if format == "stream":
        data, offsets, received, noise, _ = _render_stream(rng, frames, compress)
    elif format == "lines":
        data, offsets, received, noise, frames = _render_lines(rng, frames)
    else:
        data, offsets, received, noise, (frames, log_lines) = _render_traccar(
            rng, frames, layout, log_tz
        )
    table = frames.assign(
        offset=pd.array(offsets, dtype="Int64"),
        received_at=pd.to_datetime(pd.array(received, dtype="Int64"), unit="ms", utc=True),
        time=pd.to_datetime(frames["time_ms"].astype("Int64"), unit="ms", utc=True),
    )[list(TRUTH_FRAME_COLUMNS)].reset_index(drop=True)
    truth = {
        "truth_version": TRUTH_VERSION,
        "generator": "bofan_analytics.samples",
        "seed": fleet.seed,
        "format": format,
        "start": _iso_ms(fleet.start.value // 1_000_000),
        "end": _iso_ms(fleet.end.value // 1_000_000),
        "speed_limit_kmh": SPEED_LIMIT_KMH,
        "frame_count": len(table),
        "rejects": len(noise),
        "noise": [{"at": int(at), "reason": reason} for at, reason in noise],
        "log_lines": int(log_lines),
    }
    for name, episodes in fleet.episodes.items():
        truth[name] = _json_records(episodes)
    return Capture(data=data, truth=truth, frames=table)


_TIME_COLUMNS = {"time", "received_at", "start_time", "end_time"}
_DIGITS = {
    "lat": 9,
    "lon": 9,
    "speed_kmh": 6,
    "course": 2,
    "battery_pct": 6,
    "distance_m": 1,
    "max_speed_kmh": 6,
    "duration_s": 3,
    "start_pct": 2,
    "engine_s": 3,
}


def _json_value(value, col):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if col in _TIME_COLUMNS:
        return _iso_ms(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return round(value, _DIGITS[col]) if col in _DIGITS else value
    return str(value)


def _json_column(series, col):
    return [_json_value(v, col) for v in series.astype(object).tolist()]


def _json_records(df):
    cols = {c: _json_column(df[c], c) for c in df.columns}
    return [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]


def write_samples(directory, *, seed: int = 20261102) -> dict:
    """Write the sample captures, their truth and the geofences into ``directory``.

    Three fleets, one per format, so that each file has its own devices:

    - ``fleet.bin``: stream, 10 vehicles and 5 personal trackers over two days;
    - ``fleet.log`` and ``fleet.log.gz``: lines, 4 vehicles and 2 personal trackers, one day;
    - ``tracker-server.log`` and ``tracker-server.log.zst``: traccar, 3 vehicles and 2
      personal trackers, one day;
    - ``<capture>.truth.json`` for each capture (the compressed copies share the truth of
      the file they copy), and ``geofences.geojson``.

    Parameters
    ----------
    directory : str or os.PathLike
        Created if missing; files in it with these names are overwritten.
    seed : int
        The same seed writes the same bytes.

    Returns
    -------
    dict of str to pathlib.Path
        The files written, by name.

    Examples
    --------
    >>> paths = write_samples("data/samples")  # doctest: +SKIP
    >>> sorted(paths)[:2]  # doctest: +SKIP
    ['fleet.bin', 'fleet.bin.truth.json']
    """
    import zstandard

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plan = (
        ("fleet.bin", "stream", {"vehicles": 10, "personal": 5, "days": 2}),
        ("fleet.log", "lines", {"vehicles": 4, "personal": 2, "days": 1}),
        ("tracker-server.log", "traccar", {"vehicles": 3, "personal": 2, "days": 1}),
    )
    written = {}
    geofences = None
    for k, (name, fmt, size) in enumerate(plan):
        fleet = generate_fleet(seed=seed + k, **size)
        geofences = fleet.geofences
        capture = render_capture(fleet, fmt)
        written[name] = _write(directory / name, capture.data)
        truth = json.dumps(capture.truth, separators=(",", ":"), ensure_ascii=True) + "\n"
        written[f"{name}.truth.json"] = _write(directory / f"{name}.truth.json", truth.encode())
        written[f"{name}.frames.parquet"] = _write_frames(
            directory / f"{name}.frames.parquet", capture.frames
        )
        if fmt == "lines":
            written[f"{name}.gz"] = _write(
                directory / f"{name}.gz", gzip.compress(capture.data, mtime=0)
            )
        if fmt == "traccar":
            zst = zstandard.ZstdCompressor(level=19).compress(capture.data)
            written[f"{name}.zst"] = _write(directory / f"{name}.zst", zst)
    text = json.dumps(geofences, indent=2) + "\n"
    written["geofences.geojson"] = _write(directory / "geofences.geojson", text.encode())
    return written


def frames_table(frames: pd.DataFrame):
    """The truth frames as a pyarrow Table, typed as :data:`bofan_analytics.schema.MESSAGES`.

    Parameters
    ----------
    frames : pandas.DataFrame
        ``Capture.frames``.

    Returns
    -------
    pyarrow.Table
        Columns of :data:`TRUTH_FRAME_COLUMNS`; ``duplicate``, ``late`` are bool and
        ``offset`` int64.

    Examples
    --------
    >>> capture = render_capture(generate_fleet(seed=1, vehicles=2, personal=1, days=1), "lines")
    >>> frames_table(capture.frames).schema.field("time").type
    TimestampType(timestamp[ms, tz=UTC])
    """
    import pyarrow as pa

    from . import schema

    fields = []
    for col in TRUTH_FRAME_COLUMNS:
        if col in schema.MESSAGES.names:
            fields.append(schema.MESSAGES.field(col))
        elif col in ("duplicate", "late"):
            fields.append(pa.field(col, pa.bool_()))
        else:
            fields.append(pa.field(col, pa.int64()))
    arrow_schema = pa.schema(
        fields, metadata={b"bofan_analytics.samples.truth_version": str(TRUTH_VERSION).encode()}
    )
    columns = {}
    for f in fields:
        values = frames[f.name].astype(object).where(frames[f.name].notna(), None).tolist()
        columns[f.name] = pa.array(values, type=f.type)
    return pa.table(columns, schema=arrow_schema)


def _write_frames(path, frames):
    import pyarrow.parquet as pq

    pq.write_table(frames_table(frames), path, compression="zstd")
    return path


def _write(path, data):
    path.write_bytes(data)
    return path
