"""Geofences: load them, find which fixes are inside, and turn that into events and visits.

A geofence is an area with a ``name``: a Polygon or MultiPolygon, or a circle given as a
GeoJSON Point with a ``radius_m`` property. Coordinates are lon/lat (GeoJSON order).

Which fixes are inside is computed per geofence over all fixes at once: a bounding-box
filter over the coordinate arrays, then shapely 2's vectorized ``intersects_xy`` against the
prepared polygon (a point on the boundary counts as inside), or the great-circle distance
for a circle. With many geofences an STRtree of their bounding boxes pairs fixes with the
geofences that may hold them instead. No Python loop ever runs per fix.
"""

from __future__ import annotations

import json
import math
import os

import numba
import numpy as np
import pandas as pd
import shapely

from .._numba import helper, jit, pjit, read_only
from .._validate import non_negative
from ..errors import GeofenceError
from ..schema import DEVICE_ID, DWELL_S, LAT, LON, NULL_TIME_MS, TIME
from ._cluster import on_cluster
from ._geo import EARTH_RADIUS_M, haversine_m
from ._input import as_positions
from ._track import Track, device_array, prepare, to_times
from ._tz import resolve_tz

__all__ = [
    "load_geofences",
    "geofence_events",
    "geofence_visits",
    "EVENT_COLUMNS",
    "VISIT_COLUMNS",
]

EVENT_COLUMNS = (DEVICE_ID, "geofence", "event", TIME, LAT, LON)
VISIT_COLUMNS = (DEVICE_ID, "geofence", "enter_time", "exit_time", DWELL_S)

#: Above this many geofences, fixes are paired with candidate geofences by an STRtree.
_TREE_FROM = 16
_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
_NAT = NULL_TIME_MS


def load_geofences(source):
    """Read geofences into a GeoDataFrame (``name``, ``geometry``, ``radius_m``, properties).

    Parameters
    ----------
    source : GeoDataFrame, dict, str or path
        A GeoDataFrame, a GeoJSON FeatureCollection (or single Feature) as a dict, or the
        path of a GeoJSON file. Each feature needs a ``name``; a Point needs ``radius_m`` (a
        circle), other geometries must be Polygon or MultiPolygon.

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:4326; ``radius_m`` is NaN for polygons. Other properties (for example
        ``speed_limit_kmh``) are kept as columns.

    Raises
    ------
    GeofenceError
        A feature without a name, a Point without a positive ``radius_m``, another geometry.

    Examples
    --------
    >>> fences = load_geofences({"type": "FeatureCollection", "features": [{
    ...     "type": "Feature", "properties": {"name": "depot", "radius_m": 150},
    ...     "geometry": {"type": "Point", "coordinates": [13.4, 52.5]}}]})
    >>> fences[["name", "radius_m"]].values.tolist()
    [['depot', 150.0]]
    """
    import geopandas as gpd

    if isinstance(source, gpd.GeoDataFrame):
        frame = source.copy()
        if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
            frame = frame.to_crs("EPSG:4326")
    else:
        if isinstance(source, (str, os.PathLike)):
            try:
                with open(source, encoding="utf-8") as fh:
                    source = json.load(fh)
            except (OSError, ValueError) as exc:
                raise GeofenceError(f"cannot read geofences from {source}: {exc}") from exc
        if not isinstance(source, dict):
            raise GeofenceError("geofences must be a GeoDataFrame, a GeoJSON dict or a path")
        if source.get("type") == "Feature":
            source = {"type": "FeatureCollection", "features": [source]}
        features = source.get("features")
        if not isinstance(features, list):
            raise GeofenceError("GeoJSON geofences need a FeatureCollection with features")
        frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
        if not features:
            frame = gpd.GeoDataFrame({"name": pd.Series([], dtype="str")},
                                     geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    if "name" not in frame.columns or frame["name"].isna().any():
        raise GeofenceError("every geofence needs a 'name' property")
    if "radius_m" not in frame.columns:
        frame["radius_m"] = np.nan
    frame["radius_m"] = pd.to_numeric(frame["radius_m"], errors="coerce").astype("float64")
    kinds = shapely.get_type_id(frame.geometry.values)
    point = kinds == shapely.GeometryType.POINT
    area = np.isin(kinds, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    bad = ~(point | area)
    if bad.any():
        name = frame["name"].iloc[int(np.flatnonzero(bad)[0])]
        raise GeofenceError(f"geofence {name!r}: only Polygon, MultiPolygon and Point "
                            "(with radius_m) are geofences")
    bad_radius = point & ~(frame["radius_m"].to_numpy() > 0)
    if bad_radius.any():
        name = frame["name"].iloc[int(np.flatnonzero(bad_radius)[0])]
        raise GeofenceError(f"geofence {name!r}: a Point needs a radius_m > 0")
    frame.loc[area, "radius_m"] = np.nan
    frame["name"] = frame["name"].astype(str)
    columns = ["name", "geometry", "radius_m"]
    return frame[columns + [c for c in frame.columns if c not in columns]].reset_index(drop=True)


@pjit
def _in_box(lat, lon, south, west, north, east):
    n = lat.shape[0]
    hit = np.empty(n, np.bool_)
    for i in numba.prange(n):
        hit[i] = south <= lat[i] <= north and west <= lon[i] <= east
    return np.flatnonzero(hit)


@jit
def _within_m(lat, lon, idx, clat, clon, radius_m):
    keep = np.empty(idx.shape[0], np.bool_)
    for k in range(idx.shape[0]):
        i = idx[k]
        keep[k] = haversine_m(lat[i], lon[i], clat, clon) <= radius_m
    return idx[keep]


def _circle_box(clat, clon, radius_m):
    dlat = radius_m / _M_PER_DEG * 1.001
    coslat = max(math.cos(math.radians(min(89.9, abs(clat) + dlat))), 1e-6)
    dlon = dlat / coslat
    return clat - dlat, clon - dlon, clat + dlat, clon + dlon


def _inside_one(fences, k: int, lat, lon, idx=None):
    """Sorted rows (of ``idx``, or all) whose fix lies in geofence ``k``."""
    geom = fences.geometry.values[k]
    radius = fences["radius_m"].to_numpy()[k]
    if radius > 0:
        clat, clon = geom.y, geom.x
        south, west, north, east = _circle_box(clat, clon, radius)
    else:
        west, south, east, north = geom.bounds
    if idx is None:
        cand = _in_box(lat, lon, south, west, north, east)
    else:
        box = (lat[idx] >= south) & (lat[idx] <= north) & (lon[idx] >= west) & (lon[idx] <= east)
        cand = idx[box]
    if radius > 0:
        return _within_m(read_only(lat), read_only(lon), read_only(cand), clat, clon, radius)
    shapely.prepare(geom)
    return cand[shapely.intersects_xy(geom, lon[cand], lat[cand])]


def inside_pairs(fences, lat, lon):
    """All (fix row, geofence number) pairs with the fix inside, grouped by geofence.

    Returns ``rows, offsets``: geofence ``k``'s rows (ascending) are
    ``rows[offsets[k]:offsets[k + 1]]``.
    """
    n_f = len(fences)
    parts = []
    if n_f <= _TREE_FROM:
        parts = [_inside_one(fences, k, lat, lon) for k in range(n_f)]
    else:
        boxes = []
        for k in range(n_f):
            radius = fences["radius_m"].to_numpy()[k]
            geom = fences.geometry.values[k]
            if radius > 0:
                s, w, nn, e = _circle_box(geom.y, geom.x, radius)
            else:
                w, s, e, nn = geom.bounds
            boxes.append(shapely.box(w, s, e, nn))
        tree = shapely.STRtree(boxes)
        w, s, e, nn = shapely.total_bounds(np.asarray(boxes))
        cand = _in_box(lat, lon, s, w, nn, e)
        pt, fence = tree.query(shapely.points(lon[cand], lat[cand]))
        order = np.lexsort((pt, fence))
        pt, fence = cand[pt[order]], fence[order]
        cuts = np.searchsorted(fence, np.arange(n_f + 1))
        parts = [_inside_one(fences, k, lat, lon, pt[cuts[k]:cuts[k + 1]]) for k in range(n_f)]
    offsets = np.zeros(n_f + 1, np.int64)
    offsets[1:] = np.cumsum([p.shape[0] for p in parts])
    rows = np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)
    return rows, offsets


@helper
def _settle(kind, start, dur, confirmed, min_dwell_ms, ev_row, ev_enter, n_ev, base):
    """Debounce one segment: a change of side that lasts ``min_dwell_ms`` is an event."""
    if kind != confirmed and dur >= min_dwell_ms:
        ev_row[base + n_ev] = start
        ev_enter[base + n_ev] = kind
        return kind, n_ev + 1
    return confirmed, n_ev


@pjit
def _crossings(rows, offsets, t_ms, bounds, min_dwell_ms):
    """Enter/exit events of every geofence from its sorted inside rows.

    A device's fixes alternate between segments inside and outside; its first segment sets
    the starting side (no event). Each later segment on the other side whose duration (to
    the first fix back, or to the device's last fix) reaches ``min_dwell_ms`` is an event
    stamped at its first fix. Geofence ``k`` writes at offset ``2 * offsets[k]``.
    """
    n_f = offsets.shape[0] - 1
    # a device with r runs of inside rows has at most 2 r segments after its first: an
    # event each
    m = 2 * rows.shape[0]
    ev_row = np.empty(m, np.int64)
    ev_enter = np.empty(m, np.bool_)
    counts = np.zeros(n_f, np.int64)
    for f in numba.prange(n_f):
        base = 2 * offsets[f]
        n_ev = 0
        p = offsets[f]
        end = offsets[f + 1]
        while p < end:
            g = np.searchsorted(bounds, rows[p], side="right") - 1
            ds = bounds[g]
            de = bounds[g + 1]
            confirmed = rows[p] == ds
            prev_end = ds - 1
            while p < end and rows[p] < de:
                a = rows[p]
                b = a
                while p + 1 < end and rows[p + 1] == b + 1 and b + 1 < de:
                    p += 1
                    b += 1
                p += 1
                if a > prev_end + 1:
                    confirmed, n_ev = _settle(False, prev_end + 1, t_ms[a] - t_ms[prev_end + 1],
                                              confirmed, min_dwell_ms, ev_row, ev_enter, n_ev, base)
                stop = t_ms[b + 1] if b + 1 < de else t_ms[b]
                confirmed, n_ev = _settle(True, a, stop - t_ms[a], confirmed, min_dwell_ms,
                                          ev_row, ev_enter, n_ev, base)
                prev_end = b
            if prev_end < de - 1:
                confirmed, n_ev = _settle(False, prev_end + 1, t_ms[de - 1] - t_ms[prev_end + 1],
                                          confirmed, min_dwell_ms, ev_row, ev_enter, n_ev, base)
        counts[f] = n_ev
    return ev_row, ev_enter, counts


def _events(track: Track, fences, min_dwell_s: float):
    non_negative("min_dwell_s", min_dwell_s)
    rows, offsets = inside_pairs(fences, track.lat, track.lon)
    ev_row, ev_enter, counts = _crossings(rows, offsets, track.t_ms, track.bounds,
                                          int(round(min_dwell_s * 1000)))
    fence_of = np.repeat(np.arange(len(fences), dtype=np.int64), counts)
    starts = np.repeat(2 * offsets[:-1] - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    take = np.arange(fence_of.shape[0], dtype=np.int64) + starts
    r, enter = ev_row[take], ev_enter[take]
    # device, time, geofence order: the row number already orders device then time
    order = np.lexsort((fence_of, r))
    return r[order], fence_of[order], enter[order]


@on_cluster(check=lambda a: non_negative("min_dwell_s", a["min_dwell_s"]))
def geofence_events(positions, geofences, *, min_dwell_s: float = 0, tz=None,
                    devices=None, start=None, end=None, geometry: bool = False) -> pd.DataFrame:
    """Enter and exit events of every device for every geofence.

    An event is stamped at the first fix on the other side of the boundary. A device's
    first fix only sets where it starts (no event). With ``min_dwell_s``, a stay on the
    other side shorter than that (to the first fix back) is GPS drift and ignored.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices, in any order.
    geofences : GeoDataFrame, GeoJSON dict or path
        See :func:`load_geofences`.
    min_dwell_s : float
        Shortest stay on the other side of a boundary that counts as a crossing.
    tz : str, tzinfo, mapping or "auto", optional
        Time zone of the output times (default UTC): one zone, ``device_id -> zone``, or
        ``"auto"`` (each device's zone from its median position; see :mod:`._tz`).
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]`` (UTC, or local
        time when ``tz`` is one zone; a bare end date covers its whole day). From a dataset
        path only those rows are read.
    geometry : bool
        Return a GeoDataFrame (EPSG:4326) with a point at each event's ``lat``/``lon``.

    Returns
    -------
    pandas.DataFrame
        ``device_id, geofence, event, time, lat, lon``; ``event`` is ``enter`` or
        ``exit``; sorted by device and time.

    Examples
    --------
    >>> events = geofence_events(log.positions(), "zones.geojson", min_dwell_s=60)  # doctest: +SKIP
    """
    fences = load_geofences(geofences)
    track = prepare(as_positions(positions, devices=devices, start=start, end=end, tz=tz))
    tz = resolve_tz(tz, track)
    r, f, enter = _events(track, fences, min_dwell_s)
    names = fences["name"].to_numpy(dtype=object)
    dev = track.device_of(r)
    events = pd.DataFrame({
        DEVICE_ID: device_array(dev),
        "geofence": device_array(names[f]),
        "event": device_array(np.where(enter, "enter", "exit").astype(object)),
        TIME: to_times(track.t_ms[r], tz, dev),
        LAT: track.lat[r],
        LON: track.lon[r],
    }, columns=list(EVENT_COLUMNS))
    if geometry:
        from .geometry import with_points

        return with_points(events)
    return events


@on_cluster(check=lambda a: non_negative("min_dwell_s", a["min_dwell_s"]))
def geofence_visits(positions, geofences, *, min_dwell_s: float = 0, tz=None,
                    devices=None, start=None, end=None) -> pd.DataFrame:
    """Stays inside geofences: each enter paired with the exit that follows it.

    A device that starts inside has a first visit without ``enter_time``; one still inside
    at its last fix has a visit without ``exit_time`` (both NaT, ``dwell_s`` NaN).

    Parameters
    ----------
    positions, geofences, min_dwell_s, tz, devices, start, end
        As for :func:`geofence_events`.

    Returns
    -------
    pandas.DataFrame
        ``device_id, geofence, enter_time, exit_time, dwell_s``, sorted by device,
        geofence and time.

    Examples
    --------
    >>> visits = geofence_visits(log.positions(), fences)           # doctest: +SKIP
    >>> visits.groupby("geofence").dwell_s.median()                  # doctest: +SKIP
    """
    fences = load_geofences(geofences)
    track = prepare(as_positions(positions, devices=devices, start=start, end=end, tz=tz))
    tz = resolve_tz(tz, track)
    r, f, enter = _events(track, fences, min_dwell_s)
    g = track.group_of(r)
    order = np.lexsort((r, f, g))
    r, f, enter, g = r[order], f[order], enter[order], g[order]
    same_prev = np.zeros(r.shape[0], bool)
    same_prev[1:] = (g[1:] == g[:-1]) & (f[1:] == f[:-1])
    same_next = np.zeros(r.shape[0], bool)
    same_next[:-1] = same_prev[1:]
    # one visit per enter, plus one per exit that has no enter before it
    enter_rows = np.flatnonzero(enter)
    has_exit = np.zeros(enter_rows.shape[0], bool)
    nxt = enter_rows + 1
    valid = nxt < r.shape[0]
    has_exit[valid] = same_next[enter_rows[valid]] & ~enter[nxt[valid]]
    lone_exit = np.flatnonzero(~enter & ~(same_prev & np.roll(enter, 1)))
    first = np.concatenate((enter_rows, lone_exit))
    # missing ends are NaT: the int64 minimum is NaT once viewed as datetime64
    enter_t = np.concatenate((track.t_ms[r[enter_rows]], np.full(lone_exit.shape[0], _NAT)))
    exit_t = np.full(first.shape[0], _NAT)
    exit_t[: enter_rows.shape[0]][has_exit] = track.t_ms[r[enter_rows[has_exit] + 1]]
    exit_t[enter_rows.shape[0]:] = track.t_ms[r[lone_exit]]
    order = np.argsort(first, kind="stable")
    first, enter_t, exit_t = first[order], enter_t[order], exit_t[order]
    names = fences["name"].to_numpy(dtype=object)
    both = (enter_t != _NAT) & (exit_t != _NAT)
    dwell = np.where(both, (exit_t - enter_t) / 1000.0, np.nan)
    dev = track.devices[g[first]]
    enter_times = to_times(enter_t, tz, dev)
    exit_times = to_times(exit_t, tz, dev)
    return pd.DataFrame({
        DEVICE_ID: device_array(dev),
        "geofence": device_array(names[f[first]]),
        "enter_time": enter_times,
        "exit_time": exit_times,
        DWELL_S: dwell,
    }, columns=list(VISIT_COLUMNS))
