"""Daily (weekly, monthly) summaries per device in local time.

How the figures are made
------------------------
Periods are calendar days (``freq="D"``), weeks starting on Monday (``"W"``) or months
(``"M"``) in each device's zone (see :mod:`._tz`), from local midnight to local midnight:
a day has 23 or 25 hours on a daylight-saving night. Trips and stops are those of
:func:`~.trips.detect_trips` / :func:`~.trips.detect_stops` with the same parameters.
Figures that last in time are split at period boundaries:

* ``driving_s``: the time of trips (departure fix to arrival fix) within the period; a
  trip crossing midnight counts on both days, each its part.
* ``distance_m``: the path of trips, hop by hop; a hop between two fixes that straddles
  the boundary is shared in proportion to its time on each side.
* ``idle_s``: standing inside trips (as ``detect_trips``' ``idle_s``), split the same way.
* ``engine_s``: time with the ignition on (hops whose first fix has it on and that are
  no longer than ``stop_gap_s``), trips and stops alike; NaN without ``ignition_input`` or
  for a device none of whose fixes knows its inputs.
* ``overspeed_s``: time of :func:`~.overspeed.find_overspeed` episodes; NaN without a
  ``limit_kmh`` or geofences.

Counts go to the period where the item starts (``trips``, ``stops``); ``max_speed_kmh``,
``first_time``/``last_time`` and the odometer readings are those of the fixes within the
period. A device gets a row for every period holding one of its fixes or part of a trip
or engine time; a period it spent wholly parked and silent has no row.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .._numba import jit, read_only
from .._validate import choice, non_negative
from ..schema import (
    DEVICE_ID,
    DISTANCE_M,
    DRIVING_S,
    END_ODOMETER_M,
    ENGINE_S,
    FIRST_TIME,
    IDLE_S,
    LAST_TIME,
    MAX_SPEED_KMH,
    NULL_TIME_MS,
    OVERSPEED_S,
    START_ODOMETER_M,
)
from ._cluster import on_cluster
from ._input import as_positions
from ._track import Track, device_array, prepare, to_times
from ._tz import resolve_tz

__all__ = ["daily_summary", "DAILY_COLUMNS", "FREQS", "Periods", "periods"]

#: Columns of :func:`daily_summary`, in order (API.md).
DAILY_COLUMNS = (
    DEVICE_ID,
    "period_start",
    DISTANCE_M,
    DRIVING_S,
    IDLE_S,
    ENGINE_S,
    "trips",
    "stops",
    MAX_SPEED_KMH,
    OVERSPEED_S,
    FIRST_TIME,
    LAST_TIME,
    START_ODOMETER_M,
    END_ODOMETER_M,
)

#: Period lengths: calendar day, week from Monday, calendar month.
FREQS = ("D", "W", "M")


class Periods:
    """Local period boundaries of every device of a track, as UTC milliseconds.

    Device ``g`` owns periods ``pbeg[g] .. pend[g]`` of ``edges`` (period ``p`` runs
    ``edges[p]`` to ``edges[p + 1]``); its rows in a result are ``rowoff[g] ..``.
    """

    def __init__(self, edges, pbeg, pend):
        self.edges = edges
        self.pbeg = pbeg
        self.pend = pend
        counts = np.where(pend >= pbeg, pend - pbeg + 1, 0)
        self.rowoff = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)

    @property
    def n_rows(self) -> int:
        return int(self.rowoff[-1])

    def rows(self, groups, t_ms):
        """Result row of each (group, time)."""
        return _row_of(*map(read_only, (np.asarray(groups, np.int64),
                                        np.asarray(t_ms, np.int64), self.edges, self.pbeg,
                                        self.pend, self.rowoff)))

    def row_starts(self):
        """``(group, period start ms)`` of every result row."""
        g = np.repeat(np.arange(self.pbeg.shape[0]), np.diff(self.rowoff))
        p = np.arange(self.n_rows) - self.rowoff[g] + self.pbeg[g]
        return g, self.edges[p]


def _local_edges(zone, lo_ms: int, hi_ms: int, freq: str) -> np.ndarray:
    """Local period starts in ``zone`` from the one holding ``lo_ms`` to the one after
    ``hi_ms``, as UTC ms."""
    lo = pd.Timestamp(lo_ms, unit="ms", tz="UTC").tz_convert(zone).tz_localize(None).normalize()
    hi = pd.Timestamp(hi_ms, unit="ms", tz="UTC").tz_convert(zone).tz_localize(None).normalize()
    if freq == "D":
        wall = pd.date_range(lo, hi + pd.Timedelta(days=1), freq="D")
    elif freq == "W":
        lo = lo - pd.Timedelta(days=lo.weekday())
        wall = pd.date_range(lo, hi + pd.Timedelta(days=7), freq="7D")
    else:
        lo = lo.replace(day=1)
        wall = pd.date_range(lo, hi + pd.offsets.MonthBegin(1), freq="MS")
    # a midnight the clocks skip starts the day at the first wall time there is; one they
    # repeat (rare: most zones change at night, not at midnight) at its first occurrence
    local = wall.tz_localize(zone, ambiguous=np.ones(len(wall), bool),
                             nonexistent="shift_forward")
    return np.asarray(local.as_unit("ms").asi8, dtype=np.int64)


def periods(track: Track, zones, freq: str = "D") -> Periods:
    """The local periods of every device of ``track`` (``zones`` from :func:`resolve_tz`)."""
    choice("freq", freq, FREQS)
    g_count = track.bounds.shape[0] - 1
    pbeg = np.zeros(g_count, np.int64)
    pend = np.full(g_count, -1, np.int64)
    if track.n == 0:
        return Periods(np.zeros(1, np.int64), pbeg, pend)
    first = track.t_ms[track.bounds[:-1]]
    last = track.t_ms[track.bounds[1:] - 1]
    zone_of = np.array([str(zones.get(str(d), "UTC")) if isinstance(zones, dict)
                        else "UTC" if zones is None else zones for d in track.devices],
                       dtype=object)
    parts = []
    offset = 0
    for zone in pd.unique(zone_of):  # one calendar per zone
        mine = np.flatnonzero(zone_of == zone)
        edges = _local_edges(zone, int(first[mine].min()), int(last[mine].max()), freq)
        pbeg[mine] = np.searchsorted(edges, first[mine], side="right") - 1 + offset
        pend[mine] = np.searchsorted(edges, last[mine], side="right") - 1 + offset
        parts.append(edges)
        offset += edges.shape[0]
    return Periods(np.concatenate(parts), pbeg, pend)


@jit
def _row_of(groups, t_ms, edges, pbeg, pend, rowoff):
    out = np.empty(groups.shape[0], np.int64)
    for k in range(groups.shape[0]):
        g = groups[k]
        p = np.searchsorted(edges[pbeg[g]:pend[g] + 2], t_ms[k], side="right") - 1
        p = min(max(p, 0), pend[g] - pbeg[g])
        out[k] = rowoff[g] + p
    return out


@jit
def spread(groups, t0, t1, value, edges, pbeg, pend, rowoff, out):
    """Add ``value[k]`` to the result rows of group ``groups[k]``, shared among the periods
    that ``[t0[k], t1[k]]`` overlaps in proportion to the overlap (all of it to the period
    of ``t0`` for an instant). Skips NaN values."""
    for k in range(groups.shape[0]):
        v = value[k]
        if math.isnan(v):
            continue
        g = groups[k]
        n_p = pend[g] - pbeg[g] + 1
        base = pbeg[g]
        p = np.searchsorted(edges[base:base + n_p + 1], t0[k], side="right") - 1
        p = min(max(p, 0), n_p - 1)
        span = t1[k] - t0[k]
        if span <= 0:
            out[rowoff[g] + p] += v
            continue
        while p < n_p:
            a = max(t0[k], edges[base + p])
            b = min(t1[k], edges[base + p + 1])
            if b > a:
                out[rowoff[g] + p] += v * ((b - a) / span)
            if p + 1 >= n_p or edges[base + p + 1] >= t1[k]:
                break
            p += 1


@jit
def _fix_stats(t_ms, speed, odo, bounds, edges, pbeg, pend, rowoff):
    """Per result row: fixes, max speed, first and last row, first and last odometer."""
    r_count = rowoff[-1]
    fixes = np.zeros(r_count, np.int64)
    vmax = np.full(r_count, np.nan)
    first = np.full(r_count, -1, np.int64)
    last = np.full(r_count, -1, np.int64)
    odo0 = np.full(r_count, np.nan)
    odo1 = np.full(r_count, np.nan)
    for g in range(bounds.shape[0] - 1):
        base = pbeg[g]
        n_p = pend[g] - pbeg[g] + 1
        p = 0
        for i in range(bounds[g], bounds[g + 1]):
            while p + 1 < n_p and t_ms[i] >= edges[base + p + 1]:
                p += 1
            r = rowoff[g] + p
            fixes[r] += 1
            if first[r] < 0:
                first[r] = i
            last[r] = i
            if not math.isnan(speed[i]) and (math.isnan(vmax[r]) or speed[i] > vmax[r]):
                vmax[r] = speed[i]
            if not math.isnan(odo[i]):
                if math.isnan(odo0[r]):
                    odo0[r] = odo[i]
                odo1[r] = odo[i]
    return fixes, vmax, first, last, odo0, odo1


@jit
def range_hops(s, e):
    """Every row ``i`` with ``s[k] <= i < e[k]`` for some k: the hops of row ranges."""
    total = 0
    for k in range(s.shape[0]):
        if e[k] > s[k]:
            total += e[k] - s[k]
    out = np.empty(total, np.int64)
    j = 0
    for k in range(s.shape[0]):
        for i in range(s[k], e[k]):
            out[j] = i
            j += 1
    return out


def engine_hops(track: Track, on: np.ndarray, gap_ms: int) -> np.ndarray:
    """Rows ``i`` whose hop to ``i + 1`` (same device) is engine time."""
    if track.n < 2:
        return np.empty(0, np.int64)
    same = np.ones(track.n - 1, bool)
    same[track.bounds[1:-1] - 1] = False
    hop = np.diff(track.t_ms)
    return np.flatnonzero(same & (on[:-1] == 1) & (hop <= gap_ms))


def _spread_hops(track, per, out, rows, values):
    g = track.group_of(rows)
    spread(g, track.t_ms[rows], track.t_ms[rows + 1], values, per.edges, per.pbeg, per.pend,
           per.rowoff, out)


def _check_daily_args(arguments) -> None:
    from .trips import check_trip_args

    check_trip_args(arguments)
    choice("freq", arguments["freq"], FREQS)
    non_negative("min_overspeed_s", arguments["min_overspeed_s"])


@on_cluster(check=_check_daily_args)
def daily_summary(
    positions,
    *,
    tz=None,
    freq: str = "D",
    ignition_input: int | None = None,
    limit_kmh: float | None = None,
    geofences=None,
    min_overspeed_s: float = 10,
    min_distance_m: float = 200,
    min_duration_s: float = 180,
    stop_gap_s: float = 3600,
    stop_radius_m: float = 50,
    moving_speed_kmh: float = 2,
    devices=None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """One row per device and local day (week, month): distance, driving, idle and engine
    time, trips, stops, top speed, speeding, first and last fix, odometer.

    See the module docstring for how each figure is made; a trip crossing local midnight
    is split at midnight.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices, in any order.
    tz : str, tzinfo, mapping or "auto", optional
        The zone whose calendar makes the periods (default UTC; see :mod:`._tz`).
    freq : {"D", "W", "M"}
        Calendar days, weeks from Monday, or months.
    ignition_input : int, optional
        The input wired to the ignition, for ``engine_s``.
    limit_kmh, geofences : optional
        Speed limit and zones with limits for ``overspeed_s`` (as
        :func:`~.overspeed.find_overspeed`); episodes of at least ``min_overspeed_s``.
    min_distance_m, min_duration_s, stop_gap_s, stop_radius_m, moving_speed_kmh : float
        Trip and stop parameters, as for :func:`~.trips.detect_trips`.
    devices, start, end : optional
        Only these devices within ``[start, end]`` (naive bounds in ``tz`` when it is one
        zone; a bare end date covers its whole local day).

    Returns
    -------
    pandas.DataFrame
        ``device_id, period_start`` (local midnight, tz-aware), ``distance_m, driving_s,
        idle_s, engine_s, trips, stops, max_speed_kmh, overspeed_s, first_time,
        last_time, start_odometer_m, end_odometer_m``; sorted by device and period.

    Examples
    --------
    >>> days = daily_summary(log, tz="Europe/Berlin", ignition_input=2)   # doctest: +SKIP
    >>> days.pivot(index="period_start", columns="device_id", values="distance_m")  # doctest: +SKIP
    """
    from .overspeed import overspeed_rows
    from .trips import trip_rows

    choice("freq", freq, FREQS)
    frame = as_positions(positions, devices=devices, start=start, end=end, tz=tz)
    track = prepare(frame)
    zones = resolve_tz(tz, track)
    rows = trip_rows(track, frame, min_distance_m=min_distance_m,
                     min_duration_s=min_duration_s, stop_gap_s=stop_gap_s,
                     stop_radius_m=stop_radius_m, moving_speed_kmh=moving_speed_kmh,
                     ignition_input=ignition_input)
    per = periods(track, zones, freq)
    n = per.n_rows
    t, s, e, cum = track.t_ms, rows["s"], rows["e"], rows["cum"]

    driving = np.zeros(n)
    spread(track.group_of(s), t[s], t[e], (t[e] - t[s]) / 1000.0, per.edges, per.pbeg,
           per.pend, per.rowoff, driving)
    distance = np.zeros(n)
    hops = range_hops(s, e)
    _spread_hops(track, per, distance, hops, cum[hops + 1] - cum[hops])
    idle = np.zeros(n)
    st_s, st_e = rows["standstills"]
    spread(track.group_of(st_s), t[st_s], t[st_e], (t[st_e] - t[st_s]) / 1000.0, per.edges,
           per.pbeg, per.pend, per.rowoff, idle)

    if rows["on"] is None:
        engine = np.full(n, np.nan)
    else:
        engine = np.zeros(n)
        on_hops = engine_hops(track, rows["on"], rows["gap_ms"])
        _spread_hops(track, per, engine, on_hops, (t[on_hops + 1] - t[on_hops]) / 1000.0)
        # a device whose fixes never tell their inputs: unknown, not zero
        known = np.add.reduceat((rows["on"] >= 0).astype(np.int64), track.bounds[:-1]) \
            if track.n else np.zeros(0, np.int64)
        blind = np.repeat(known == 0, np.diff(per.rowoff))
        engine[blind] = np.nan

    if limit_kmh is None and geofences is None:
        over = np.full(n, np.nan)
    else:
        os_, oe, *_ = overspeed_rows(track, limit_kmh=limit_kmh, geofences=geofences,
                                     min_duration_s=min_overspeed_s)
        over = np.zeros(n)
        spread(track.group_of(os_), t[os_], t[oe], (t[oe] - t[os_]) / 1000.0, per.edges,
               per.pbeg, per.pend, per.rowoff, over)

    trips_n = np.bincount(per.rows(track.group_of(s), t[s]), minlength=n)
    stop_s, _ = rows["stops"]
    stops_n = np.bincount(per.rows(track.group_of(stop_s), t[stop_s]), minlength=n)
    fixes, vmax, first, last, odo0, odo1 = _fix_stats(*map(read_only, (
        t, rows["speed"], track.odometer_m, track.bounds, per.edges, per.pbeg, per.pend,
        per.rowoff)))
    g, pstart = per.row_starts()
    keep = (fixes > 0) | (driving > 0) | (np.nan_to_num(engine) > 0)
    g, pstart = g[keep], pstart[keep]
    dev = track.devices[g]
    nat = NULL_TIME_MS
    first_t = np.where(first[keep] >= 0, t[np.maximum(first[keep], 0)], nat)
    last_t = np.where(last[keep] >= 0, t[np.maximum(last[keep], 0)], nat)
    return pd.DataFrame({
        DEVICE_ID: device_array(dev),
        "period_start": to_times(pstart, zones, dev),
        DISTANCE_M: distance[keep],
        DRIVING_S: driving[keep],
        IDLE_S: idle[keep],
        ENGINE_S: engine[keep],
        "trips": trips_n[keep],
        "stops": stops_n[keep],
        MAX_SPEED_KMH: vmax[keep],
        OVERSPEED_S: over[keep],
        FIRST_TIME: to_times(first_t, zones, dev),
        LAST_TIME: to_times(last_t, zones, dev),
        START_ODOMETER_M: odo0[keep],
        END_ODOMETER_M: odo1[keep],
    }, columns=list(DAILY_COLUMNS))
