"""GeoParquet: positions (points), trips (LineStrings) and stops (points) in a directory.

``OUT/positions.parquet``, ``OUT/trips.parquet`` and ``OUT/stops.parquet`` are written by
geopandas' own GeoParquet writer: a WKB ``geometry`` column and the ``geo`` file metadata
(version, primary column, encoding, geometry types, bounding box, CRS as PROJJSON of
EPSG:4326). WKB rather than native GeoArrow because every reader of GeoParquet 1.0 takes it
(geopandas, GDAL/QGIS, DuckDB spatial, and plain Parquet readers that hand the bytes on).
With ``tz`` the time columns are written in that zone (the same instants).
"""

from __future__ import annotations

import os

import pandas as pd

from ..analytics.geometry import with_lines, with_points
from ._collect import Collected

__all__ = ["write_geoparquet", "GEOPARQUET_FILES"]

#: the files an export directory holds
GEOPARQUET_FILES = ("positions.parquet", "trips.parquet", "stops.parquet")


def _in_zone(frame: pd.DataFrame, tz) -> pd.DataFrame:
    if tz is None:
        return frame
    zoned = {c: frame[c].dt.tz_convert(tz) for c in frame.columns
             if isinstance(frame[c].dtype, pd.DatetimeTZDtype)}
    return frame.assign(**zoned) if zoned else frame


def _write(frame, path: str) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    frame.to_parquet(tmp, index=False, compression="zstd")
    os.replace(tmp, path)  # a reader never sees a half-written file


def write_geoparquet(c: Collected, directory) -> list:
    """Write the three GeoParquet files of ``c`` into ``directory``; returns their paths."""
    os.makedirs(directory, exist_ok=True)
    s, e = c.trip_rows
    frames = (
        with_points(_in_zone(c.positions, c.tz)),
        with_lines(_in_zone(c.trips, c.tz), c.track, s, e),
        with_points(_in_zone(c.stops, c.tz)),
    )
    paths = []
    for name, frame in zip(GEOPARQUET_FILES, frames, strict=True):
        path = os.path.join(os.fspath(directory), name)
        _write(frame, path)
        paths.append(path)
    return paths
