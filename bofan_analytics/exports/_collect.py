"""What every export holds: the fixes, trips, stops, alarms and geofence events, once.

The exports draw from one :class:`Collected`: the sorted track, the trips and stops (as
:func:`detect_trips` / :func:`detect_stops` find them, or as the caller passes them) with
the track rows each one spans, the alarms with a position and, with geofences, the
enter/exit events. Finding the rows of a trip is one ``searchsorted`` over a combined
``(device, time)`` key for all trips at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validate import zone
from ..analytics._input import as_positions
from ..analytics._track import Track, prepare, times_ms
from ..errors import SchemaError
from ..schema import DEVICE_ID, END_TIME, LAT, LON, START_TIME

__all__ = ["Collected", "collect", "xml_text", "utc_text", "local_text"]

# characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab/LF/CR, lone
# surrogates, U+FFFE/U+FFFF): a device id or geofence name holding one would make the file
# unreadable, so each becomes U+FFFD
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value) -> str:
    """``value`` as text an XML writer can escape: characters XML forbids replaced."""
    return _NOT_XML.sub("\ufffd", "" if value is None else str(value))


def utc_text(t_ms: np.ndarray) -> np.ndarray:
    """ISO 8601 UTC times with milliseconds and a ``Z`` (what GPX asks for)."""
    t = np.asarray(t_ms, dtype=np.int64).view("datetime64[ms]")
    return np.char.add(np.datetime_as_string(t, unit="ms"), "Z")


def local_text(times) -> list:
    """ISO 8601 times with their UTC offset, e.g. ``2026-11-02T08:10:00+01:00``."""
    return [t.isoformat() for t in times]


@dataclass
class Collected:
    """The pieces of one export."""

    positions: pd.DataFrame
    track: Track
    trips: pd.DataFrame
    trip_rows: tuple  #: (first, last) track row of each trip
    stops: pd.DataFrame
    alarms: pd.DataFrame  #: only alarms with a position
    events: pd.DataFrame | None  #: geofence events, or None without geofences
    tz: object


def _rows_of(track: Track, devices, t_ms: np.ndarray) -> np.ndarray:
    """The track row of each ``(device, time)``; -1 where the track has no such fix."""
    if len(t_ms) == 0 or track.n == 0:
        return np.full(len(t_ms), -1, dtype=np.int64)
    g = pd.Index(track.devices).get_indexer(np.asarray(devices, dtype=object))
    t0 = int(track.t_ms.min())
    span = int(track.t_ms.max()) - t0 + 1
    row_group = np.repeat(np.arange(track.bounds.shape[0] - 1, dtype=np.int64),
                          np.diff(track.bounds))
    key = row_group * span + (track.t_ms - t0)  # rising: the track is sorted by (device, time)
    want = g.astype(np.int64) * span + (np.asarray(t_ms, dtype=np.int64) - t0)
    pos = np.minimum(np.searchsorted(key, want), track.n - 1)
    ok = (g >= 0) & (key[pos] == want)
    return np.where(ok, pos, -1)


def _ranges(track: Track, frame: pd.DataFrame, what: str):
    if len(frame) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    for col in (DEVICE_ID, START_TIME, END_TIME):
        if col not in frame.columns:
            raise SchemaError(f"{what} lack the column {col}")
    devices = frame[DEVICE_ID].to_numpy(dtype=object)
    s = _rows_of(track, devices, times_ms(frame[START_TIME]))
    e = _rows_of(track, devices, times_ms(frame[END_TIME]))
    if (s < 0).any() or (e < 0).any():
        raise SchemaError(f"{what} start or end at a time the positions have no fix for")
    return s, e


def collect(source, *, tz=None, devices=None, start=None, end=None, geofences=None,
            trips=None, stops=None) -> Collected:
    """Read ``source`` once and find what the exports write."""
    from ..analytics import alarms, detect_stops, detect_trips, geofence_events

    if tz is not None and not isinstance(tz, dict):
        zone(tz)  # an unknown zone fails here, before any work
    positions = as_positions(source, devices=devices, start=start, end=end)
    track = prepare(positions)
    if trips is None:
        trips = detect_trips(positions, tz=tz)
    if stops is None:
        stops = detect_stops(positions, tz=tz)
    trip_rows = _ranges(track, trips, "trips")
    found = alarms(source, tz=tz, devices=devices, start=start, end=end)
    found = found[found[LAT].notna() & found[LON].notna()].reset_index(drop=True)
    events = None
    if geofences is not None:
        events = geofence_events(positions, geofences, tz=tz)
    return Collected(positions=positions, track=track, trips=trips.reset_index(drop=True),
                     trip_rows=trip_rows, stops=stops.reset_index(drop=True), alarms=found,
                     events=events, tz=tz)
