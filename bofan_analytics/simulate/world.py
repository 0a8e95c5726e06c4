"""The simulated world: cities, streets, routes, motion along them, places and geofences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = []


_M_PER_DEG = 111_320.0


_EARTH_RADIUS_M = 6_371_008.8


_MS = 1000


_MIN_STREET_M = 120.0


# Where the fleet lives: (name, latitude, longitude, mcc, grid bearing in degrees, zone).
_CITIES = (
    ("Johannesburg", -26.1715, 28.0381, 655, 12.0, "Africa/Johannesburg"),
    ("Bogota", 4.6533, -74.0836, 732, -8.0, "America/Bogota"),
)


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


def _place_latlon(city, place):
    lat, lon = _to_latlon(city, place["x"], place["y"])
    return {"start": place["start"], "end": place["end"], "lat": float(lat), "lon": float(lon)}
