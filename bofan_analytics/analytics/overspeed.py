"""Speeding: maximal runs of fixes above the speed limit that applies to each fix."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

from .._numba import pjit
from ..errors import FormatError
from ..schema import DEVICE_ID
from ._cluster import on_cluster
from ._input import as_positions
from ._track import Track, compact_rows, device_array, prepare, to_times
from .geofences import inside_pairs, load_geofences

__all__ = ["find_overspeed", "OVERSPEED_COLUMNS"]

OVERSPEED_COLUMNS = (
    DEVICE_ID,
    "start_time",
    "end_time",
    "duration_s",
    "max_speed_kmh",
    "distance_m",
    "limit_kmh",
)

_OVERLAPS = ("lowest", "highest")


@pjit
def _runs(t_ms, speed, limit, cum_m, bounds, min_dur_ms):
    """Runs of consecutive fixes of a device with ``speed > limit`` under one limit.

    Device ``g`` writes its runs at offset ``bounds[g]``; returns start and end rows, peak
    speed and the count per device. A NaN speed or limit is never above the limit.
    """
    n = t_ms.shape[0]
    g_count = bounds.shape[0] - 1
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
            if over and a >= 0 and limit[i] == limit[a]:
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


def _limits(track: Track, limit_kmh, geofences, overlap: str) -> np.ndarray:
    base = np.nan if limit_kmh is None else float(limit_kmh)
    limit = np.full(track.n, np.nan)
    if geofences is not None:
        fences = load_geofences(geofences)
        if "speed_limit_kmh" not in fences.columns:
            raise FormatError("geofences for find_overspeed need a speed_limit_kmh property")
        zone = pd.to_numeric(fences["speed_limit_kmh"], errors="coerce").to_numpy(float)
        keep = ~np.isnan(zone)
        fences = fences[keep].reset_index(drop=True)
        zone = zone[keep]
        rows, offsets = inside_pairs(fences, track.lat, track.lon)
        pick = np.fmin if overlap == "lowest" else np.fmax
        for k in range(len(fences)):
            r = rows[offsets[k]:offsets[k + 1]]
            limit[r] = pick(limit[r], zone[k])
    return np.where(np.isnan(limit), base, limit)


@on_cluster
def find_overspeed(
    positions,
    *,
    limit_kmh: float | None = None,
    min_duration_s: float = 0,
    geofences=None,
    overlap: str = "lowest",
    tz=None,
    devices=None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Find the episodes where a device drove above the speed limit.

    An episode is a maximal run of consecutive fixes whose speed is above the limit that
    applies to them, lasting (first to last fix) at least ``min_duration_s``. The speed is
    the device's where it sends one, else the speed implied by consecutive positions
    (PT-60). With ``geofences``, a fix inside a zone with a ``speed_limit_kmh`` property
    takes the zone's limit (``overlap`` picks the lowest or highest where zones overlap)
    and elsewhere ``limit_kmh``; a run also ends where the applicable limit changes.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices, in any order.
    limit_kmh : float, optional
        The limit outside any zone; None means no limit there (zones only).
    min_duration_s : float
        Shortest episode reported.
    geofences : GeoDataFrame, GeoJSON dict or path, optional
        Zones with a ``speed_limit_kmh`` property (see :func:`load_geofences`).
    overlap : {"lowest", "highest"}
        Which zone limit a fix inside several zones takes.
    tz : str or tzinfo, optional
        Time zone of the output times (default UTC).
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]`` (UTC; a bare
        end date covers its whole day). From a dataset path only those rows are read.

    Returns
    -------
    pandas.DataFrame
        ``device_id, start_time, end_time, duration_s, max_speed_kmh, distance_m,
        limit_kmh``: one row per episode; ``distance_m`` is the path from its first to its
        last fix.

    Examples
    --------
    >>> find_overspeed(log.positions(), limit_kmh=90, min_duration_s=30)  # doctest: +SKIP
    """
    if overlap not in _OVERLAPS:
        raise FormatError(f"overlap must be one of {', '.join(_OVERLAPS)}, got {overlap!r}")
    if limit_kmh is None and geofences is None:
        raise FormatError("find_overspeed needs limit_kmh, geofences with speed limits, or both")
    if not min_duration_s >= 0:
        raise FormatError(f"min_duration_s must be a number >= 0, got {min_duration_s!r}")
    track = prepare(as_positions(positions, devices=devices, start=start, end=end))
    limit = _limits(track, limit_kmh, geofences, overlap)
    speed = track.speed_or_derived()
    cum = track.cum_m()
    rs, re, peak, counts = _runs(track.t_ms, speed, limit, cum, track.bounds,
                                 int(round(min_duration_s * 1000)))
    idx = compact_rows(track.bounds, counts)
    s, e, peak = rs[idx], re[idx], peak[idx]
    return pd.DataFrame({
        DEVICE_ID: device_array(track.device_of(s)),
        "start_time": to_times(track.t_ms[s], tz),
        "end_time": to_times(track.t_ms[e], tz),
        "duration_s": (track.t_ms[e] - track.t_ms[s]) / 1000.0,
        "max_speed_kmh": peak,
        "distance_m": cum[e] - cum[s],
        "limit_kmh": limit[s],
    }, columns=list(OVERSPEED_COLUMNS))

