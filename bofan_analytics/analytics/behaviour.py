"""Driving behaviour: harsh events from the track, per-driver summaries, scorecards.

Harsh events from the track
---------------------------
Between two consecutive fixes of a device no more than ``max_gap_s`` apart, the
longitudinal acceleration is the change of speed over the time between them
(``(v2 - v1) / dt`` in m/s²) and the lateral one the speed times the turn rate (the mean
of the two speeds times the course change over ``dt``, in rad/s; only where both fixes
have a course and move at ``turn_min_speed_kmh`` or more, since a slow vehicle's course is
noise). A hop at or above ``accel_ms2`` is hard acceleration, one at or below
``-brake_ms2`` hard braking, one at or above ``turn_ms2`` sideways a harsh turn;
consecutive hops of the same kind are one event, stamped at the first fix of its first hop
and carrying its peak. Speeds are the device's, or from positions where it sends none
(PT-60; such devices send no course, so no turns). Devices that detect harsh driving
themselves send alarms (``hard_acceleration``, ``hard_braking``); those are merged in with
``source="device"``, the computed ones having ``source="track"``.

Thresholds are in m/s², as tracking servers set them; 3 m/s² is about 0.3 g. With fixes
10 s apart a short, sharp stop averages out over the hop: the thresholds see the mean.

Scorecard
---------
Per vehicle (``by="device"``) or driver (``by="driver"``) over the trips of
:func:`~.trips.detect_trips`::

    score = 100 - 5 * events_per_100km - 50 * overspeed_share
                - 20 * idle_share - 10 * night_share        (clipped to 0 .. 100)

* ``events_per_100km``: harsh events (track and device) during the trips per 100 km driven;
* ``overspeed_share``: time of overspeed episodes (starting in a trip) over driving time;
* ``idle_share``: standing with the engine on over driving time plus that standing:
  standing inside trips, plus, with ``ignition_input``, the engine-on time of the stop
  that follows each trip (the driver left it running at the kerb);
* ``night_share``: driving time between ``night`` hours (local, default 22:00-05:00) over
  driving time.

A share that cannot be computed (no limit given) adds no penalty. An entity has a row once
it has a trip (its score is NaN if its trips took no time). Only events and overspeed that
start during a trip count, for the trip's vehicle and driver.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd

from .._numba import pjit
from .._validate import choice, positive
from ..schema import (
    ALARM,
    DEVICE_ID,
    DISTANCE_M,
    DRIVER_ID,
    DRIVING_S,
    DURATION_S,
    IDLE_S,
    LAT,
    LON,
    NULL_TIME_MS,
    OVERSPEED_S,
    SPEED_KMH,
    TIME,
)
from ._cluster import on_cluster
from ._input import as_positions
from ._track import Track, compact_rows, device_array, float_column, prepare, to_times
from ._tz import local_hour, resolve_tz
from .daily import FREQS, periods, range_hops

__all__ = ["harsh_events", "scorecard", "driver_summary", "HARSH_COLUMNS", "SCORE_COLUMNS",
           "DRIVER_COLUMNS", "HARSH_KINDS"]

HARSH_COLUMNS = (DEVICE_ID, TIME, "event", "value_ms2", SPEED_KMH, LAT, LON, "source",
                 DURATION_S)
#: Event names, as the device alarms spell the first two.
HARSH_KINDS = ("hard_acceleration", "hard_braking", "harsh_turn")
SCORE_COLUMNS = (DISTANCE_M, DRIVING_S, "trips", "harsh_events", "events_per_100km",
                 OVERSPEED_S, "overspeed_share", IDLE_S, "idle_share", "night_s",
                 "night_share", "score")
DRIVER_COLUMNS = (DRIVER_ID, "period_start", "devices", "trips", DISTANCE_M, DRIVING_S,
                  "overspeed", OVERSPEED_S, "harsh_events")
_BY = ("device", "driver")


@pjit
def _harsh(t_ms, speed, course, bounds, max_gap_ms, accel, brake, turn, turn_min_kmh):
    """Harsh events per device at offset ``2 * bounds[g]``: start row, end row, kind, peak.

    A device of m rows has room for 2 m events: an event of one kind takes two rows at
    least (its first hit and the row that ends it), so each kind has at most m / 2 of them
    and the three kinds 1.5 m, more than the m rows themselves."""
    n = t_ms.shape[0]
    g_count = bounds.shape[0] - 1
    ev_s = np.empty(2 * n, np.int64)
    ev_e = np.empty(2 * n, np.int64)
    ev_k = np.empty(2 * n, np.int64)
    ev_v = np.empty(2 * n)
    counts = np.zeros(g_count, np.int64)
    for g in numba.prange(g_count):
        s0 = bounds[g]
        e0 = bounds[g + 1]
        k = 0
        for kind in range(3):
            open_at = -1
            peak = 0.0
            for i in range(s0, e0):
                hit = False
                val = 0.0
                if i + 1 < e0:
                    dt = t_ms[i + 1] - t_ms[i]
                    if 0 < dt <= max_gap_ms:
                        sec = dt / 1000.0
                        if kind < 2:
                            a = (speed[i + 1] - speed[i]) / 3.6 / sec
                            if kind == 0 and a >= accel:
                                hit, val = True, a
                            elif kind == 1 and a <= -brake:
                                hit, val = True, -a
                        elif not (math.isnan(course[i]) or math.isnan(course[i + 1])) and \
                                speed[i] >= turn_min_kmh and speed[i + 1] >= turn_min_kmh:
                            d = (course[i + 1] - course[i] + 180.0) % 360.0 - 180.0
                            lat_a = (speed[i] + speed[i + 1]) / 7.2 * abs(d) * math.pi / 180.0 / sec
                            if lat_a >= turn:
                                hit, val = True, lat_a
                if hit:
                    if open_at < 0:
                        open_at = i
                        peak = val
                    elif val > peak:
                        peak = val
                    continue
                if open_at >= 0:
                    ev_s[2 * s0 + k] = open_at
                    ev_e[2 * s0 + k] = i
                    ev_k[2 * s0 + k] = kind
                    ev_v[2 * s0 + k] = peak
                    k += 1
                    open_at = -1
        counts[g] = k
    return ev_s, ev_e, ev_k, ev_v, counts


#: The thresholds of the harsh-event detection (all numbers > 0).
_HARSH_ARGS = ("accel_ms2", "brake_ms2", "turn_ms2", "max_gap_s")


def _check(**values):
    for name, value in values.items():
        positive(name, value)


def _track_events(track: Track, frame, *, accel_ms2, brake_ms2, turn_ms2, turn_min_speed_kmh,
                  max_gap_s):
    _check(accel_ms2=accel_ms2, brake_ms2=brake_ms2, turn_ms2=turn_ms2, max_gap_s=max_gap_s)
    course = track.take(np.ascontiguousarray(float_column(frame, "course")))
    speed = track.speed_or_derived()
    ev_s, ev_e, ev_k, ev_v, counts = _harsh(
        track.t_ms, speed, np.ascontiguousarray(course, dtype=np.float64), track.bounds,
        int(round(max_gap_s * 1000)), float(accel_ms2), float(brake_ms2), float(turn_ms2),
        float(turn_min_speed_kmh))
    idx = compact_rows(2 * track.bounds, counts)  # see _harsh: room for 2 m events
    s, e, k, v = ev_s[idx], ev_e[idx], ev_k[idx], ev_v[idx]
    order = np.lexsort((k, s))  # by row: device, then time
    return s[order], e[order], k[order], v[order], speed


def _events_frame(track: Track, frame: pd.DataFrame, params) -> pd.DataFrame:
    """Track and device events, UTC milliseconds in ``t_ms``, sorted by device and time."""
    s, e, k, v, speed = _track_events(track, frame, **params)
    kinds = np.asarray(HARSH_KINDS, dtype=object)
    mine = pd.DataFrame({
        DEVICE_ID: track.device_of(s),
        "t_ms": track.t_ms[s],
        "event": kinds[k],
        "value_ms2": v,
        SPEED_KMH: speed[s],
        LAT: track.lat[s],
        LON: track.lon[s],
        "source": "track",
        DURATION_S: (track.t_ms[e] - track.t_ms[s]) / 1000.0,
    })
    if ALARM in frame.columns:
        alarm = frame[ALARM]
        pick = alarm.isin(HARSH_KINDS[:2]).to_numpy() & frame[TIME].notna().to_numpy()
        sub = frame.loc[pick]
        if len(sub):
            from ._track import times_ms

            device = pd.DataFrame({
                DEVICE_ID: sub[DEVICE_ID].astype(str).to_numpy(dtype=object),
                "t_ms": times_ms(sub[TIME]),
                "event": sub[ALARM].astype(str).to_numpy(dtype=object),
                "value_ms2": np.nan,
                SPEED_KMH: float_column(sub, SPEED_KMH),
                LAT: float_column(sub, LAT),
                LON: float_column(sub, LON),
                "source": "device",
                DURATION_S: np.nan,
            }).drop_duplicates([DEVICE_ID, "t_ms", "event"])
            mine = pd.concat([mine, device], ignore_index=True) if len(mine) else device
    return mine.sort_values([DEVICE_ID, "t_ms", "source"], kind="stable", ignore_index=True)


_HARSH_DEFAULTS = {"accel_ms2": 3.0, "brake_ms2": 3.5, "turn_ms2": 4.0,
                   "turn_min_speed_kmh": 20.0, "max_gap_s": 15.0}


@on_cluster(check=lambda a: _check(**{k: a[k] for k in _HARSH_ARGS}))
def harsh_events(
    positions,
    *,
    accel_ms2: float = 3.0,
    brake_ms2: float = 3.5,
    turn_ms2: float = 4.0,
    turn_min_speed_kmh: float = 20,
    max_gap_s: float = 15,
    tz=None,
    devices=None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Harsh acceleration, braking and turns computed from speed and course changes, with
    the devices' own harsh-driving alarms merged in.

    See the module docstring for the method.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices (an ``alarm`` column brings the device alarms).
    accel_ms2, brake_ms2, turn_ms2 : float
        Thresholds in m/s² for speeding up, slowing down and turning.
    turn_min_speed_kmh : float
        Turns count only between fixes both at least this fast.
    max_gap_s : float
        Fixes further apart than this are not compared.
    tz, devices, start, end : optional
        As for :func:`~.trips.detect_trips`.

    Returns
    -------
    pandas.DataFrame
        ``device_id, time, event`` (``hard_acceleration``, ``hard_braking``,
        ``harsh_turn``), ``value_ms2`` (peak; NaN for device alarms), ``speed_kmh, lat,
        lon, source`` (``track`` or ``device``), ``duration_s``; sorted by device and time.

    Examples
    --------
    >>> harsh_events(log, brake_ms2=4)                          # doctest: +SKIP
    """
    params = {"accel_ms2": accel_ms2, "brake_ms2": brake_ms2, "turn_ms2": turn_ms2,
              "turn_min_speed_kmh": turn_min_speed_kmh, "max_gap_s": max_gap_s}
    frame = as_positions(positions, devices=devices, start=start, end=end, tz=tz)
    track = prepare(frame)
    zones = resolve_tz(tz, track)
    ev = _events_frame(track, frame, params)
    dev = ev[DEVICE_ID].to_numpy(dtype=object)
    return pd.DataFrame({
        DEVICE_ID: device_array(dev),
        TIME: to_times(ev["t_ms"].to_numpy(np.int64), zones, dev),
        "event": device_array(ev["event"].to_numpy(dtype=object)),
        "value_ms2": ev["value_ms2"].to_numpy(float),
        SPEED_KMH: ev[SPEED_KMH].to_numpy(float),
        LAT: ev[LAT].to_numpy(float),
        LON: ev[LON].to_numpy(float),
        "source": device_array(ev["source"].to_numpy(dtype=object)),
        DURATION_S: ev[DURATION_S].to_numpy(float),
    }, columns=list(HARSH_COLUMNS))


def _trip_of(track: Track, trips: dict, devices, t_ms) -> np.ndarray:
    """Index of the trip of that device whose time span holds ``t_ms``, -1 for none."""
    s, e = trips["s"], trips["e"]
    m = s.shape[0]
    if m == 0 or len(t_ms) == 0:
        return np.full(len(t_ms), -1, np.int64)
    code = {d: i for i, d in enumerate(track.devices)}
    g = pd.Series(np.asarray(devices, dtype=object)).map(code).fillna(-1).to_numpy(np.int64)
    tg = track.group_of(s)
    # one sorted key: device group, then time (trips of a device do not overlap)
    span = int(track.t_ms.max() - track.t_ms.min() + 1) if track.n else 1
    t0 = int(track.t_ms.min()) if track.n else 0
    key_s = tg * span + (track.t_ms[s] - t0)
    key = g * span + (np.asarray(t_ms, np.int64) - t0)
    k = np.searchsorted(key_s, key, side="right") - 1
    ok = (k >= 0) & (g >= 0)
    kk = np.maximum(k, 0)
    ok &= (tg[kk] == g) & (np.asarray(t_ms, np.int64) <= track.t_ms[e[kk]])
    return np.where(ok, k, -1)


def _night_ms(track: Track, zones, s, e, night) -> np.ndarray:
    """Per trip, the time between its fixes whose midpoint falls in the local ``night``."""
    lo, hi = night
    hops = range_hops(s, e)
    trip = np.repeat(np.arange(s.shape[0]), np.maximum(e - s, 0))
    if hops.shape[0] == 0:
        return np.zeros(s.shape[0])
    mid = (track.t_ms[hops] + track.t_ms[hops + 1]) // 2
    hour = local_hour(mid, zones, track.device_of(hops))
    dark = (hour >= lo) | (hour < hi) if lo > hi else (hour >= lo) & (hour < hi)
    dt = (track.t_ms[hops + 1] - track.t_ms[hops]).astype(float)
    return np.bincount(trip, weights=np.where(dark, dt, 0.0), minlength=s.shape[0])


def _trip_facts(positions, *, tz, ignition_input, limit_kmh, geofences, min_overspeed_s,
                harsh, trip_params, devices, start, end, night=(22, 5)):
    """Trips with their driver, overspeed, harsh events, night and idle time (one row per
    trip), plus the resolved zones and the track."""
    from ._ignition import engine_ms
    from .overspeed import overspeed_rows
    from .trips import _seconds_or_nan, stop_rows, trip_drivers, trip_rows

    frame = as_positions(positions, devices=devices, start=start, end=end, tz=tz)
    track = prepare(frame)
    zones = resolve_tz(tz, track)
    rows = trip_rows(track, frame, ignition_input=ignition_input, **trip_params)
    s, e, cum = rows["s"], rows["e"], rows["cum"]
    m = s.shape[0]
    dev = track.device_of(s)
    facts = pd.DataFrame({
        DEVICE_ID: dev,
        DRIVER_ID: trip_drivers(track, frame, s, e),
        "t_ms": track.t_ms[s],
        DISTANCE_M: cum[e] - cum[s],
        DRIVING_S: (track.t_ms[e] - track.t_ms[s]) / 1000.0,
        IDLE_S: rows["idle_ms"] / 1000.0,
        "night_s": _night_ms(track, zones, s, e, night) / 1000.0,
    })
    # harsh events during trips
    ev = _events_frame(track, frame, harsh)
    k = _trip_of(track, rows, ev[DEVICE_ID].to_numpy(dtype=object), ev["t_ms"].to_numpy())
    facts["harsh_events"] = np.bincount(k[k >= 0], minlength=m)[:m] if m else []
    # overspeed episodes starting in a trip
    if limit_kmh is None and geofences is None:
        facts["overspeed"] = pd.array([pd.NA] * m, dtype="Int64")
        facts[OVERSPEED_S] = np.nan
    else:
        os_, oe, *_ = overspeed_rows(track, limit_kmh=limit_kmh, geofences=geofences,
                                     min_duration_s=min_overspeed_s)
        k = _trip_of(track, rows, track.device_of(os_), track.t_ms[os_])
        sel = k >= 0
        facts["overspeed"] = np.bincount(k[sel], minlength=m)[:m] if m else []
        facts[OVERSPEED_S] = np.bincount(
            k[sel], weights=(track.t_ms[oe[sel]] - track.t_ms[os_[sel]]) / 1000.0,
            minlength=m)[:m] if m else []
    # engine left running at the kerb: the stop that starts where the trip ends
    kerb = np.zeros(m)
    if rows["on"] is not None and m:
        st_s, st_e = rows["stops"]
        st_end, _ = stop_rows(track, st_s, st_e)
        idle = _seconds_or_nan(engine_ms(track.t_ms, rows["on"], st_s, st_end, rows["gap_ms"]))
        at = np.searchsorted(st_s, e)
        hit = (at < st_s.shape[0]) & (st_s[np.minimum(at, st_s.shape[0] - 1)] == e) \
            if st_s.shape[0] else np.zeros(m, bool)
        kerb[hit] = np.nan_to_num(idle[at[hit]])
    facts["kerb_idle_s"] = kerb
    return facts, ev, zones, track


def _score(table: pd.DataFrame) -> pd.DataFrame:
    drive = table[DRIVING_S].to_numpy(float)
    dist = table[DISTANCE_M].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per100 = np.where(dist > 0, table["harsh_events"].to_numpy(float) / dist * 100_000, np.nan)
        over = np.where(drive > 0, table[OVERSPEED_S].to_numpy(float) / drive, np.nan)
        idle_all = table[IDLE_S].to_numpy(float)
        idle = np.where(drive + idle_all > 0, idle_all / (drive + idle_all), np.nan)
        night = np.where(drive > 0, table["night_s"].to_numpy(float) / drive, np.nan)
    over = np.minimum(over, 1.0)
    penalty = (5 * np.nan_to_num(per100) + 50 * np.nan_to_num(over) + 20 * np.nan_to_num(idle)
               + 10 * np.nan_to_num(night))
    score = np.where(drive > 0, np.clip(100.0 - penalty, 0.0, 100.0), np.nan)
    table = table.copy()
    table["events_per_100km"] = per100
    table["overspeed_share"] = over
    table["idle_share"] = idle
    table["night_share"] = night
    table["score"] = score
    return table


_TRIP_DEFAULTS = {"min_distance_m": 200, "min_duration_s": 180, "stop_gap_s": 3600,
                  "stop_radius_m": 50, "moving_speed_kmh": 2}


def scorecard(
    positions,
    *,
    by: str = "device",
    tz=None,
    ignition_input: int | None = None,
    limit_kmh: float | None = None,
    geofences=None,
    min_overspeed_s: float = 10,
    night: tuple = (22, 5),
    accel_ms2: float = 3.0,
    brake_ms2: float = 3.5,
    turn_ms2: float = 4.0,
    devices=None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """A 0-100 driving score per vehicle or driver, with the figures it is made of.

    See the module docstring for the formula.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices.
    by : {"device", "driver"}
        Score vehicles, or the drivers identified by RFID (trips without one are left out).
    tz : optional
        Zone of the night hours (default UTC; see :mod:`._tz`).
    ignition_input : int, optional
        Counts engine-on time at the kerb after each trip as idling.
    limit_kmh, geofences, min_overspeed_s : optional
        Speed limits for ``overspeed_share``, as :func:`~.overspeed.find_overspeed`.
    night : (int, int)
        Local hours from and to which driving is night driving.
    accel_ms2, brake_ms2, turn_ms2 : float
        Harsh-event thresholds, as :func:`harsh_events`.
    devices, start, end : optional
        As for :func:`~.trips.detect_trips`.

    Returns
    -------
    pandas.DataFrame
        ``device_id`` (or ``driver_id``), ``distance_m, driving_s, trips, harsh_events,
        events_per_100km, overspeed_s, overspeed_share, idle_s, idle_share, night_s,
        night_share, score``; sorted by id.

    Examples
    --------
    >>> scorecard(log, by="driver", limit_kmh=90).sort_values("score")   # doctest: +SKIP
    """
    choice("by", by, _BY)
    harsh = dict(_HARSH_DEFAULTS, accel_ms2=accel_ms2, brake_ms2=brake_ms2, turn_ms2=turn_ms2)
    facts, _, _, _ = _trip_facts(
        positions, tz=tz, ignition_input=ignition_input, limit_kmh=limit_kmh,
        geofences=geofences, min_overspeed_s=min_overspeed_s, harsh=harsh,
        trip_params=_TRIP_DEFAULTS, devices=devices, start=start, end=end, night=night)
    key = DEVICE_ID if by == "device" else DRIVER_ID
    facts = facts.loc[facts[key].notna()]
    facts = facts.assign(idle_s=facts[IDLE_S] + facts["kerb_idle_s"], trips=1)
    sums = [DISTANCE_M, DRIVING_S, "trips", "harsh_events", OVERSPEED_S, IDLE_S,
            "night_s"]
    table = facts.groupby(key, sort=True)[sums].sum(min_count=1).reset_index()
    if limit_kmh is None and geofences is None:
        table[OVERSPEED_S] = np.nan
    table = _score(table)
    table[key] = device_array(table[key].to_numpy(dtype=object))
    table["trips"] = table["trips"].astype(np.int64)
    table["harsh_events"] = table["harsh_events"].astype(np.int64)
    return table[[key, *SCORE_COLUMNS]]


def driver_summary(
    positions,
    *,
    tz=None,
    freq: str | None = None,
    limit_kmh: float | None = None,
    geofences=None,
    min_overspeed_s: float = 10,
    accel_ms2: float = 3.0,
    brake_ms2: float = 3.5,
    turn_ms2: float = 4.0,
    devices=None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Per driver (RFID) and, with ``freq``, per local period: trips, distance, driving
    time, overspeed and harsh events.

    A trip belongs to the driver seen most during it (see :func:`~.trips.detect_trips`)
    and, with ``freq``, to the period it starts in; overspeed episodes and harsh events
    to the trip they start in. Trips without a driver are left out.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes with a ``driver_id`` column.
    tz : optional
        The zone of the periods (default UTC).
    freq : {"D", "W", "M"} or None
        Periods as in :func:`~.daily.daily_summary`; None: one row per driver
        (``period_start`` then NaT).
    limit_kmh, geofences, min_overspeed_s : optional
        For ``overspeed`` and ``overspeed_s``, as :func:`~.overspeed.find_overspeed`;
        missing without a limit.
    accel_ms2, brake_ms2, turn_ms2 : float
        Thresholds of :func:`harsh_events`.
    devices, start, end : optional
        As for :func:`~.trips.detect_trips`.

    Returns
    -------
    pandas.DataFrame
        ``driver_id, period_start, devices`` (vehicles driven), ``trips, distance_m,
        driving_s, overspeed, overspeed_s, harsh_events``.

    Examples
    --------
    >>> driver_summary(log, tz="Europe/Berlin", freq="W", limit_kmh=90)   # doctest: +SKIP
    """
    choice("freq", freq, (*FREQS, None))
    harsh = dict(_HARSH_DEFAULTS, accel_ms2=accel_ms2, brake_ms2=brake_ms2, turn_ms2=turn_ms2)
    facts, _, zones, track = _trip_facts(
        positions, tz=tz, ignition_input=None, limit_kmh=limit_kmh, geofences=geofences,
        min_overspeed_s=min_overspeed_s, harsh=harsh, trip_params=_TRIP_DEFAULTS,
        devices=devices, start=start, end=end)
    nat = NULL_TIME_MS
    if freq is None or facts.empty:
        facts["p_ms"] = nat
    else:
        per = periods(track, zones, freq)
        g = pd.Series(facts[DEVICE_ID]).map({d: i for i, d in enumerate(track.devices)})
        rows = per.rows(g.to_numpy(np.int64), facts["t_ms"].to_numpy(np.int64))
        _, starts = per.row_starts()
        facts["p_ms"] = starts[rows]
    facts = facts.loc[facts[DRIVER_ID].notna()].assign(trips=1)
    grouped = facts.groupby([DRIVER_ID, "p_ms"], sort=True)
    table = grouped[["trips", DISTANCE_M, DRIVING_S, "overspeed", OVERSPEED_S,
                     "harsh_events"]].sum(min_count=1).reset_index()
    table["devices"] = grouped[DEVICE_ID].nunique().to_numpy()
    if limit_kmh is None and geofences is None:
        table["overspeed"] = pd.array([pd.NA] * len(table), dtype="Int64")
        table[OVERSPEED_S] = np.nan
    # a driver's periods are in the zone of the vehicle they drove first in the period
    first_dev = grouped[DEVICE_ID].first().to_numpy(dtype=object)
    table["period_start"] = to_times(table["p_ms"].to_numpy(np.int64), zones, first_dev)
    table[DRIVER_ID] = device_array(table[DRIVER_ID].to_numpy(dtype=object))
    for c in ("trips", "harsh_events", "devices"):
        table[c] = table[c].astype(np.int64)
    return table[list(DRIVER_COLUMNS)]
