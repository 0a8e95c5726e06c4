"""Exports that GIS tools and route-replay apps read: GPX, KML/KMZ and GeoParquet.

(The package is ``exports``, plural, so that ``bofan_analytics.export`` stays the function.)

>>> import bofan_analytics as ba
>>> ba.export("build/dataset", "fleet.gpx", devices="864891030184954")   # doctest: +SKIP

Each format is written by a real writer, never by pasting strings: GPX and KML by
:mod:`xml.etree.ElementTree` (escaping is the writer's; characters XML cannot carry at all
become U+FFFD), GeoParquet by geopandas. See :mod:`._gpx`, :mod:`._kml` and
:mod:`._geoparquet` for what each file holds.
"""

from __future__ import annotations

import os
from pathlib import Path

from .._validate import choice
from ..errors import FormatError
from ._collect import collect

__all__ = ["export", "EXPORT_FORMATS"]

#: export format -> what it writes
EXPORT_FORMATS = {
    "gpx": "GPX 1.1 file: a track per trip, stops, alarms and geofence events as waypoints",
    "kml": "KML 2.2 file: a placemark per trip, stop, alarm and geofence event",
    "kmz": "the KML zipped (doc.kml)",
    "geoparquet": "directory of GeoParquet files: positions, trips, stops",
}

_SUFFIXES = {".gpx": "gpx", ".kml": "kml", ".kmz": "kmz"}


def _format_of(path: Path, to) -> str:
    if to is None:
        to = _SUFFIXES.get(path.suffix.lower())
        if to is None:
            raise FormatError(f"cannot tell the export format from {str(path)!r}: pass to= one "
                              f"of {', '.join(EXPORT_FORMATS)}")
    return choice("to", to, EXPORT_FORMATS)


def _atomic(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def export(
    source,
    path,
    *,
    to: str | None = None,
    tz=None,
    devices=None,
    start=None,
    end=None,
    geofences=None,
    trips=None,
    stops=None,
) -> list:
    """Write trips, stops, alarms (and geofence events) as GPX, KML/KMZ or GeoParquet.

    Parameters
    ----------
    source : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Positions (alarms come from the same source: a log's or dataset's messages, or the
        ``alarm`` column of a frame).
    path : str or path
        The file to write (``.gpx``, ``.kml``, ``.kmz``), or for ``geoparquet`` a directory
        that receives ``positions.parquet``, ``trips.parquet`` and ``stops.parquet``.
    to : {"gpx", "kml", "kmz", "geoparquet"}, optional
        The format; by default from the file's suffix.
    tz : str or tzinfo, optional
        Zone of the times in names, descriptions, KML and GeoParquet (GPX times stay UTC,
        as GPX requires).
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]``.
    geofences : GeoDataFrame, GeoJSON dict or path, optional
        Also write the enter/exit events of these geofences.
    trips, stops : DataFrame, optional
        Trips and stops to write instead of those :func:`detect_trips` and
        :func:`detect_stops` find with their defaults (e.g. found with other thresholds);
        their start and end times must be fixes of ``source``.

    Returns
    -------
    list of pathlib.Path
        The files written. Alarms without a position are not written (GPX and KML need
        coordinates).

    Examples
    --------
    >>> export(log, "week.kml", tz="Europe/Berlin")               # doctest: +SKIP
    [PosixPath('week.kml')]
    """
    path = Path(path)
    fmt = _format_of(path, to)
    collected = collect(source, tz=tz, devices=devices, start=start, end=end,
                        geofences=geofences, trips=trips, stops=stops)
    if fmt == "geoparquet":
        from ._geoparquet import write_geoparquet

        if path.exists() and not path.is_dir():
            raise FormatError(f"{path}: geoparquet writes a directory, and this is a file")
        return [Path(p) for p in write_geoparquet(collected, path)]
    if fmt == "gpx":
        from ._gpx import write_gpx

        _atomic(path, lambda p: write_gpx(collected, p))
    else:
        from ._kml import write_kml

        _atomic(path, lambda p: write_kml(collected, p, kmz=fmt == "kmz"))
    return [path]
