"""Geometries for analytics results: GeoDataFrames in EPSG:4326 that GIS tools read.

Every geometry is built for all rows at once with shapely 2's array functions: points
from the coordinate columns (:func:`shapely.points`), lines from row ranges of the sorted
track (:func:`shapely.linestrings` with an ``indices`` array naming the line each vertex
belongs to). No Python code runs per fix or per row.

* :func:`to_geodataframe`: one point per position, every column kept.
* ``detect_trips(..., geometry=True)`` and ``find_overspeed(..., geometry=True)``: a
  LineString through every fix of the trip or episode, in time order, first vertex the
  start fix and last vertex the end fix. An overspeed episode of a single fix is a Point.
* ``detect_stops(..., geometry=True)`` and ``geofence_events(..., geometry=True)``: a
  point at the row's ``lat``/``lon``.

Lines are simplified only when asked (``simplify_m=``): Douglas-Peucker with a tolerance
in metres, run on coordinates whose longitudes are scaled by the cosine of the line's mean
latitude so that one tolerance means the same distance east-west and north-south. The
first and last vertex always stay.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._validate import positive
from ..schema import LAT, LON
from ._geo import EARTH_RADIUS_M
from ._input import as_positions
from ._track import Track

__all__ = ["to_geodataframe", "with_lines", "with_points", "line_array", "geo_frame", "CRS"]

#: Every geometry here is WGS-84 longitude/latitude.
CRS = "EPSG:4326"

_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0


def _range_rows(s: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``s[k]..e[k]`` (inclusive) of every range, concatenated, and the range of each."""
    lengths = (e - s + 1).astype(np.int64)
    owner = np.repeat(np.arange(lengths.shape[0], dtype=np.int64), lengths)
    starts = np.cumsum(lengths) - lengths  # where each range begins in the output
    rows = np.arange(owner.shape[0], dtype=np.int64) - starts[owner] + s[owner]
    return rows, owner


def _simplified(x: np.ndarray, y: np.ndarray, owner: np.ndarray, m: int, tolerance_m: float):
    """Douglas-Peucker of the lines ``owner`` at ``tolerance_m`` metres: new x, y, owner."""
    import shapely

    sums = np.bincount(owner, weights=y, minlength=m)
    counts = np.bincount(owner, minlength=m)
    scale = np.cos(np.radians(sums / np.maximum(counts, 1)))  # per line
    lines = shapely.linestrings(x * scale[owner], y, indices=owner)
    lines = shapely.simplify(lines, tolerance_m / _M_PER_DEG, preserve_topology=False)
    coords, new_owner = shapely.get_coordinates(lines, return_index=True)
    nx, ny = coords[:, 0] / scale[new_owner], coords[:, 1]
    # the ends are kept by the algorithm; put back their exact coordinates, which the
    # scaling round trip may have moved by an ulp
    lines_idx = np.arange(m)
    old_first = np.searchsorted(owner, lines_idx)
    old_last = np.searchsorted(owner, lines_idx, side="right") - 1
    new_first = np.searchsorted(new_owner, lines_idx)
    new_last = np.searchsorted(new_owner, lines_idx, side="right") - 1
    nx[new_first], ny[new_first] = x[old_first], y[old_first]
    nx[new_last], ny[new_last] = x[old_last], y[old_last]
    return nx, ny, new_owner


def line_array(track: Track, s: np.ndarray, e: np.ndarray, *, simplify_m=None) -> np.ndarray:
    """One geometry per inclusive row range ``s[k]..e[k]`` of ``track``.

    A range of two or more fixes is a LineString through them, a range of one fix a Point.
    """
    import shapely

    positive("simplify_m", simplify_m, allow_none=True)
    s = np.asarray(s, dtype=np.int64)
    e = np.asarray(e, dtype=np.int64)
    out = np.empty(s.shape[0], dtype=object)
    one = s == e
    if one.any():
        out[one] = shapely.points(track.lon[s[one]], track.lat[s[one]])
    many = np.flatnonzero(~one)
    if many.shape[0]:
        rows, owner = _range_rows(s[many], e[many])
        x, y = track.lon[rows], track.lat[rows]
        if simplify_m is not None:
            x, y, owner = _simplified(x, y, owner, many.shape[0], float(simplify_m))
        out[many] = shapely.linestrings(x, y, indices=owner)
    return out


def geo_frame(frame: pd.DataFrame, geoms):
    """``frame`` with ``geoms`` (one per row) as its geometry column, in EPSG:4326."""
    import geopandas

    return geopandas.GeoDataFrame(frame, geometry=geopandas.GeoSeries(geoms, index=frame.index,
                                                                      crs=CRS), crs=CRS)


def with_lines(frame: pd.DataFrame, track: Track, s, e, *, simplify_m=None):
    """``frame`` (one row per range ``s..e`` of ``track``) as a GeoDataFrame of its lines."""
    return geo_frame(frame, line_array(track, s, e, simplify_m=simplify_m))


def _points(lat, lon) -> np.ndarray:
    """Points at ``lon``/``lat``; None where a coordinate is missing (never POINT (NaN NaN))."""
    import shapely

    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    missing = np.isnan(lat) | np.isnan(lon)
    if not missing.any():
        return shapely.points(np.column_stack((lon, lat)))
    out = np.full(lat.shape[0], None, dtype=object)
    out[~missing] = shapely.points(np.column_stack((lon[~missing], lat[~missing])))
    return out


def _float(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)


def with_points(frame: pd.DataFrame, *, lat: str = LAT, lon: str = LON):
    """``frame`` as a GeoDataFrame of points at its ``lat``/``lon`` columns."""
    return geo_frame(frame, _points(_float(frame, lat), _float(frame, lon)))


def to_geodataframe(positions, *, devices=None, start=None, end=None):
    """Positions as a GeoDataFrame of points (EPSG:4326), every column kept.

    Rows stay as given (no sorting, nothing dropped); a row without coordinates gets a
    missing geometry, never a point at 0°/0° or NaN.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices.
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]`` (UTC; a bare
        end date covers its whole day). From a dataset path only those rows are read.

    Returns
    -------
    geopandas.GeoDataFrame
        The positions with a ``geometry`` column of points.

    Examples
    --------
    >>> points = to_geodataframe(log.positions())        # doctest: +SKIP
    >>> points.to_parquet("positions.parquet")           # doctest: +SKIP
    """
    frame = as_positions(positions, devices=devices, start=start, end=end)
    return with_points(frame)
