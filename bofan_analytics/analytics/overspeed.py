"""Speeding: maximal runs of fixes above the speed limit that applies to each fix.

Each fix takes the limit of the zone it is in (geofences with a ``speed_limit_kmh``
property) or else the general ``limit_kmh``. A run of consecutive fixes above their limit
is one episode as long as the same limit of the same zone applies; driving from the open
road into a town at speed is therefore one episode at the general limit (if broken) and
one at the town's, each with the limit it broke. An episode lasts from its first to its
last fix and is reported when it lasts at least ``min_duration_s``: the default of 10 s
needs two fixes over the limit, so a single fix (the first fix inside a zone, taken while
braking for it) is not an episode of its own.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

from .._numba import pjit
from .._validate import choice, non_negative, positive
from ..errors import FormatError
from ..schema import (
    DEVICE_ID,
    DISTANCE_M,
    DURATION_S,
    END_TIME,
    LIMIT_KMH,
    MAX_SPEED_KMH,
    START_TIME,
)
from ._cluster import on_cluster
from ._input import as_positions
from ._track import Track, compact_rows, device_array, prepare, to_times
from ._tz import resolve_tz
from .geofences import inside_pairs, load_geofences

__all__ = ["find_overspeed", "OVERSPEED_COLUMNS", "MIN_DURATION_S", "overspeed_rows"]

OVERSPEED_COLUMNS = (
    DEVICE_ID,
    START_TIME,
    END_TIME,
    DURATION_S,
    MAX_SPEED_KMH,
    DISTANCE_M,
    LIMIT_KMH,
    "geofence",
)

#: Shortest episode :func:`find_overspeed` reports by default, in seconds.
MIN_DURATION_S = 10

_OVERLAPS = ("lowest", "highest")


@pjit
def _runs(t_ms, speed, limit, zone, bounds, min_dur_ms):
    """Runs of consecutive fixes of a device with ``speed > limit`` under one limit of one
    zone (``zone``: the index of the zone whose limit applies, -1 for the general one).

    Device ``g`` writes its runs at offset ``bounds[g]``; returns start and end rows, peak
    speed and the count per device. A NaN speed or limit is never above the limit.
    """
    n = t_ms.shape[0]
    g_count = bounds.shape[0] - 1
    # room for m runs per device of m rows: runs are disjoint and one row long at least
    rs = np.empty(n, np.int64)
    re = np.empty(n, np.int64)
    peak = np.empty(n)
    counts = np.zeros(g_count, np.int64)
    for g in numba.prange(g_count):
        s0 = bounds[g]
        e0 = bounds[g + 1]
        k = 0
        a = -1
        top = 0.0
        for i in range(s0, e0 + 1):
            over = i < e0 and speed[i] > limit[i]
            if over and a >= 0 and limit[i] == limit[a] and zone[i] == zone[a]:
                if speed[i] > top:
                    top = speed[i]
                continue
            if a >= 0 and t_ms[i - 1] - t_ms[a] >= min_dur_ms:
                rs[s0 + k] = a
                re[s0 + k] = i - 1
                peak[s0 + k] = top
                k += 1
            a = -1
            if over:
                a = i
                top = speed[i]
        counts[g] = k
    return rs, re, peak, counts


def _limits(track: Track, limit_kmh, geofences, overlap: str):
    """The limit of each fix, the zone it comes from (-1: the general limit), zone names."""
    base = np.nan if limit_kmh is None else float(limit_kmh)
    limit = np.full(track.n, np.nan)
    zone_of = np.full(track.n, -1, np.int64)
    names = np.empty(0, dtype=object)
    if geofences is not None:
        fences = load_geofences(geofences)
        if "speed_limit_kmh" not in fences.columns:
            raise FormatError("geofences for find_overspeed need a speed_limit_kmh property")
        zone = pd.to_numeric(fences["speed_limit_kmh"], errors="coerce").to_numpy(float)
        keep = ~np.isnan(zone)
        fences = fences[keep].reset_index(drop=True)
        zone = zone[keep]
        names = fences["name"].to_numpy(dtype=object)
        rows, offsets = inside_pairs(fences, track.lat, track.lon)
        for k in range(len(fences)):  # one pass per zone, vectorized over its fixes
            r = rows[offsets[k]:offsets[k + 1]]
            cur = limit[r]
            better = np.isnan(cur) | ((zone[k] < cur) if overlap == "lowest" else (zone[k] > cur))
            limit[r[better]] = zone[k]
            zone_of[r[better]] = k
    return np.where(np.isnan(limit), base, limit), zone_of, names


def overspeed_rows(track: Track, *, limit_kmh=None, geofences=None, min_duration_s=MIN_DURATION_S,
                   overlap: str = "lowest"):
    """Episodes of ``track`` as ``(start rows, end rows, peak speed, limit per fix,
    zone index per episode (-1 general), zone names)``; see :func:`find_overspeed`."""
    choice("overlap", overlap, _OVERLAPS)
    if limit_kmh is None and geofences is None:
        raise FormatError("find_overspeed needs limit_kmh, geofences with speed limits, or both")
    non_negative("min_duration_s", min_duration_s)
    limit, zone, names = _limits(track, limit_kmh, geofences, overlap)
    speed = track.speed_or_derived()
    rs, re, peak, counts = _runs(track.t_ms, speed, limit, zone, track.bounds,
                                 int(round(min_duration_s * 1000)))
    idx = compact_rows(track.bounds, counts)
    s, e = rs[idx], re[idx]
    return s, e, peak[idx], limit, zone[s], names


def _check_overspeed_args(arguments) -> None:
    choice("overlap", arguments["overlap"], _OVERLAPS)
    if arguments["limit_kmh"] is None and arguments["geofences"] is None:
        raise FormatError("find_overspeed needs limit_kmh, geofences with speed limits, or both")
    non_negative("min_duration_s", arguments["min_duration_s"])
    positive("simplify_m", arguments["simplify_m"], allow_none=True)


@on_cluster(check=_check_overspeed_args)
def find_overspeed(
    positions,
    *,
    limit_kmh: float | None = None,
    min_duration_s: float = MIN_DURATION_S,
    geofences=None,
    overlap: str = "lowest",
    tz=None,
    devices=None,
    start=None,
    end=None,
    geometry: bool = False,
    simplify_m: float | None = None,
) -> pd.DataFrame:
    """Find the episodes where a device drove above the speed limit.

    An episode is a maximal run of consecutive fixes whose speed is above the limit that
    applies to them, lasting (first to last fix) at least ``min_duration_s``. The speed is
    the device's where it sends one, else the speed implied by consecutive positions
    (PT-60). With ``geofences``, a fix inside a zone with a ``speed_limit_kmh`` property
    takes the zone's limit (``overlap`` picks the lowest or highest where zones overlap)
    and elsewhere ``limit_kmh``; a run also ends where the applicable limit (or the zone
    it comes from) changes, so each episode has one limit, the one it broke.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices, in any order.
    limit_kmh : float, optional
        The limit outside any zone; None means no limit there (zones only).
    min_duration_s : float
        Shortest episode reported, first to last fix over the limit; default
        :data:`MIN_DURATION_S` (10 s): one fix alone over the limit is no episode.
        ``0`` reports every run, single fixes included.
    geofences : GeoDataFrame, GeoJSON dict or path, optional
        Zones with a ``speed_limit_kmh`` property (see :func:`load_geofences`).
    overlap : {"lowest", "highest"}
        Which zone limit a fix inside several zones takes.
    tz : str, tzinfo, mapping or "auto", optional
        Time zone of the output times (default UTC): one zone, ``device_id -> zone``, or
        ``"auto"`` (each device's zone from its median position; see :mod:`._tz`).
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]`` (UTC, or local
        time when ``tz`` is one zone; a bare end date covers its whole day). From a dataset
        path only those rows are read.
    geometry : bool
        Return a GeoDataFrame (EPSG:4326) with a LineString through the fixes of each
        episode (a Point for an episode of one fix).
    simplify_m : float, optional
        With ``geometry``, simplify the lines to this tolerance in metres (ends kept).

    Returns
    -------
    pandas.DataFrame
        ``device_id, start_time, end_time, duration_s, max_speed_kmh, distance_m,
        limit_kmh, geofence``: one row per episode; ``distance_m`` is the path from its
        first to its last fix; ``geofence`` the zone whose limit applied (null for the
        general limit).

    Examples
    --------
    >>> find_overspeed(log.positions(), limit_kmh=90, min_duration_s=30)  # doctest: +SKIP
    """
    track = prepare(as_positions(positions, devices=devices, start=start, end=end, tz=tz))
    tz = resolve_tz(tz, track)
    s, e, peak, limit, zone, names = overspeed_rows(
        track, limit_kmh=limit_kmh, geofences=geofences, min_duration_s=min_duration_s,
        overlap=overlap)
    cum = track.cum_m()
    fence = np.full(s.shape[0], None, dtype=object)
    fence[zone >= 0] = names[zone[zone >= 0]]
    dev = track.device_of(s)
    episodes = pd.DataFrame({
        DEVICE_ID: device_array(dev),
        START_TIME: to_times(track.t_ms[s], tz, dev),
        END_TIME: to_times(track.t_ms[e], tz, dev),
        DURATION_S: (track.t_ms[e] - track.t_ms[s]) / 1000.0,
        MAX_SPEED_KMH: peak,
        DISTANCE_M: cum[e] - cum[s],
        LIMIT_KMH: limit[s],
        "geofence": device_array(fence),
    }, columns=list(OVERSPEED_COLUMNS))
    if geometry:
        from .geometry import with_lines

        return with_lines(episodes, track, s, e, simplify_m=simplify_m)
    return episodes

