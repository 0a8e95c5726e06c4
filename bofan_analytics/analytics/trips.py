"""Trips and stops: one linear pass per device over its time-sorted fixes.

The algorithm (shared by :func:`detect_trips` and :func:`detect_stops`)
------------------------------------------------------------------------
1. **Stationary clusters.** Walking a device's fixes in time order, a cluster grows while
   each new fix lies within ``stop_radius_m`` of the running centroid of the cluster; the
   first fix outside starts the next cluster. Where the device reports its speed, a fix
   moving at ``moving_speed_kmh`` or more also ends the cluster, and is dropped from the
   start of the one it begins: a vehicle pulling out of its spot, or rolling in, is inside
   the radius while already (or still) driving. Without a speed field, the hops around
   the first and last fix decide, for one fix at each end: a first fix reached and left
   at walking pace or faster is still arriving, a last fix reached slowly after a long
   silence but left fast, and soon, is already leaving. Parked GPS jitter therefore stays inside
   one cluster, and a silent gap while parked (a sleeping tracker) does too, because only
   positions are compared, never the time between them. Each fix is looked at once, so
   the cost is linear however long a stop lasts.
2. **Stop candidates.** A cluster lasting at least ``min_duration_s`` is a stop candidate.
   It lasts to its last fix, or, when the device was seen standing (two fixes in the
   cluster, or a reported speed of zero) and then fell silent for ``min_duration_s`` or
   more, to its next fix: a tracker that sleeps while parked reports again only when it
   drives off, so one or two fixes can make a long stop. A shorter cluster of two or more
   fixes is a standstill inside a trip (traffic light, queue): it does not split the trip
   and its duration is added to the trip's ``idle_s``.
3. **Movement between stops.** The fixes from the last fix of one candidate to the first
   fix of the next are cut wherever two consecutive fixes are more than ``stop_gap_s``
   apart (a data gap ends a trip). Each piece that covers at least ``min_distance_m`` of
   path is a trip. When the whole movement covers less than ``min_distance_m`` and has no
   such gap, it was not a real departure (jitter, re-parking): the two candidates merge
   into one stop.
4. **Ends of the data.** Movement before the first or after the last stop is a trip like
   any other. A stop that is still going on at the last fix is reported with ``open``
   true and ends at that fix.

What the rows mean
------------------
A stop runs from its first stationary fix (the arrival) to the first fix after it (the
departure: the device was last seen parked before that, and gone at it), so a silent
tracker's stop lasts until it reports again. A trip runs from that departure fix (or, with
``trip_start="stop"``, from the last stationary fix) to the arrival fix of the next stop:
stops and trips tile the timeline and share their boundary fixes. The position of a stop
is the mean of its stationary fixes; distances are path lengths over all fixes.

Fixes are ordered by their own time, never by arrival, so positions a device uploads late
after a coverage gap land where they belong. Speed comes from the device where it sends
one and from positions otherwise (PT-60). Without a speed field, boundaries rest on the
hops around them and can be one fix off where parked jitter looks like movement. All computing is in UTC; ``tz=`` only
converts the output times, so a daylight-saving change never splits anything.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd

from .._numba import helper, pjit
from .._validate import choice, non_negative, positive
from ..errors import FormatError
from ..schema import (
    AVG_SPEED_KMH,
    DEVICE_ID,
    DISTANCE_M,
    DRIVER_ID,
    DURATION_S,
    END_LAT,
    END_LON,
    END_ODOMETER_M,
    END_TIME,
    ENGINE_IDLE_S,
    ENGINE_S,
    IDLE_S,
    LAT,
    LON,
    MAX_SPEED_KMH,
    START_LAT,
    START_LON,
    START_ODOMETER_M,
    START_TIME,
)
from ._cluster import on_cluster
from ._geo import EARTH_RADIUS_M
from ._ignition import (
    check_input,
    driver_codes,
    engine_ms,
    ignition_trips,
    input_mask,
    input_state,
    mode_code,
)
from ._input import as_positions
from ._track import Track, compact_rows, device_array, prepare, to_times
from ._tz import resolve_tz

__all__ = ["detect_trips", "detect_stops", "TRIP_COLUMNS", "STOP_COLUMNS"]

#: Columns of :func:`detect_trips`, in order (API.md, then additions).
TRIP_COLUMNS = (
    DEVICE_ID,
    START_TIME,
    END_TIME,
    DURATION_S,
    DISTANCE_M,
    MAX_SPEED_KMH,
    AVG_SPEED_KMH,
    START_LAT,
    START_LON,
    END_LAT,
    END_LON,
    IDLE_S,
    START_ODOMETER_M,
    END_ODOMETER_M,
    DRIVER_ID,
    ENGINE_S,
)

#: Columns of :func:`detect_stops`, in order (API.md, then additions).
STOP_COLUMNS = (DEVICE_ID, START_TIME, END_TIME, DURATION_S, LAT, LON, "open",
                ENGINE_IDLE_S)

_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
_TRIP_STARTS = ("move", "stop")
_TRIP_MODES = ("move", "ignition")


@helper
def _hop_kmh(t_ms, cum_m, i):
    """Speed of the hop from fix ``i`` to fix ``i + 1`` (same device) in km/h."""
    dt = t_ms[i + 1] - t_ms[i]
    return (cum_m[i + 1] - cum_m[i]) / dt * 3600.0 if dt > 0 else 0.0


@helper
def _segment_device(t_ms, lat, lon, speed, cum_m, s0, e0, radius_m, moving_kmh, min_dur_ms,
                    gap_ms, min_dist_m,
                    stop_s, stop_e, trip_s, trip_e, trip_idle_ms, trip_after_stop,
                    idle_s, idle_e):
    """Stops and trips of one device, rows ``s0:e0``; writes at offset ``s0``.

    Returns ``(n_stops, n_trips, n_idle)``; the standstills (shorter than a stop) are
    left in ``idle_s``/``idle_e`` rows ``s0:s0 + n_idle``.
    """
    # pass 1: stationary clusters -> stop candidates (written into stop_s/stop_e) and
    # short standstills (idle_s/idle_e)
    n_cand = 0
    n_idle = 0
    cs = s0
    sum_lat = lat[s0]
    sum_lon = lon[s0]
    cnt = 1
    # the east-west scale of the cluster, from its first fix: a cluster spans metres
    coslat = math.cos(lat[s0] * math.pi / 180.0)
    for i in range(s0 + 1, e0 + 1):
        inside = False
        if i < e0:
            clat = sum_lat / cnt
            clon = sum_lon / cnt
            dy = (lat[i] - clat) * _M_PER_DEG
            dx = (lon[i] - clon) * _M_PER_DEG * coslat
            # a fix whose reported speed says it moves never belongs to a standstill
            inside = dx * dx + dy * dy <= radius_m * radius_m and not speed[i] >= moving_kmh
        if inside:
            sum_lat += lat[i]
            sum_lon += lon[i]
            cnt += 1
            continue
        ce = i - 1
        together = ce > cs  # seen standing: two fixes within the radius
        # an arriving or leaving device can be inside the radius while still moving: that
        # fix belongs to the trip. A reported speed decides (a NaN compares false) ...
        while cs < ce and speed[cs] >= moving_kmh:
            cs += 1
        while ce > cs and speed[ce] >= moving_kmh:
            ce -= 1
        # ... else the hops around it, for one fix at most: hops between jittery fixes
        # can look fast too and must not eat into the stop. Arriving: moving into the fix
        # and on out of it. Leaving: reached slowly after a longer silence than the one
        # before the next fix, and left fast (a tracker that reports more often once it
        # moves, and whose first report on the way lies a few metres from its spot).
        if cs < ce and math.isnan(speed[cs]) and cs > s0 and \
                _hop_kmh(t_ms, cum_m, cs - 1) >= moving_kmh and \
                _hop_kmh(t_ms, cum_m, cs) >= moving_kmh:
            cs += 1
        if ce > cs and math.isnan(speed[ce]) and ce + 1 < e0 and \
                t_ms[ce] - t_ms[ce - 1] > t_ms[ce + 1] - t_ms[ce] and \
                _hop_kmh(t_ms, cum_m, ce - 1) < moving_kmh and \
                _hop_kmh(t_ms, cum_m, ce) >= moving_kmh:
            ce -= 1
        # a device seen standing (two fixes together, or one reporting zero speed) that
        # then falls silent for a stop's length was parked until its next fix: a tracker
        # that sleeps while parked makes long stops out of one or two fixes
        lasted = t_ms[ce] - t_ms[cs]
        if ce + 1 < e0 and (together or speed[ce] < moving_kmh) and \
                t_ms[ce + 1] - t_ms[ce] >= min_dur_ms:
            lasted = t_ms[ce + 1] - t_ms[cs]
        if lasted >= min_dur_ms:
            stop_s[s0 + n_cand] = cs
            stop_e[s0 + n_cand] = ce
            n_cand += 1
        elif ce > cs:
            idle_s[s0 + n_idle] = cs
            idle_e[s0 + n_idle] = ce
            n_idle += 1
        if i < e0:
            cs = i
            sum_lat = lat[i]
            sum_lon = lon[i]
            cnt = 1
            coslat = math.cos(lat[i] * math.pi / 180.0)

    # pass 2: merge candidates joined by less than min_dist_m of gap-free movement, and
    # cut the movement between kept stops into trips. Stops are rewritten in place
    # (n_stops <= k always), trips go to their own arrays.
    n_stops = 0
    n_trips = 0
    p_idle = 0
    move_from = s0  # first row of movement not yet assigned
    k = 0
    while k < n_cand:
        a = stop_s[s0 + k]
        b = stop_e[s0 + k]
        k += 1
        while k < n_cand:
            na = stop_s[s0 + k]
            gap = False
            for j in range(b + 1, na + 1):
                if t_ms[j] - t_ms[j - 1] > gap_ms:
                    gap = True
                    break
            if gap or cum_m[na] - cum_m[b] >= min_dist_m:
                break
            b = stop_e[s0 + k]
            k += 1
        # movement before this stop: rows move_from .. a
        if a > move_from:
            n_trips, p_idle = _emit_trips(t_ms, cum_m, move_from, a, n_stops > 0, gap_ms,
                                          min_dist_m, s0, n_trips, trip_s, trip_e,
                                          trip_idle_ms, trip_after_stop, idle_s, idle_e,
                                          n_idle, p_idle)
        stop_s[s0 + n_stops] = a
        stop_e[s0 + n_stops] = b
        n_stops += 1
        move_from = b
    if e0 - 1 > move_from:
        n_trips, p_idle = _emit_trips(t_ms, cum_m, move_from, e0 - 1, n_stops > 0, gap_ms,
                                      min_dist_m, s0, n_trips, trip_s, trip_e, trip_idle_ms,
                                      trip_after_stop, idle_s, idle_e, n_idle, p_idle)
    return n_stops, n_trips, n_idle


@helper
def _emit_trips(t_ms, cum_m, a, b, a_ends_stop, gap_ms, min_dist_m, s0, n_trips, trip_s,
                trip_e, trip_idle_ms, trip_after_stop, idle_s, idle_e, n_idle, p_idle):
    """Cut rows ``a..b`` at data gaps; each piece of at least ``min_dist_m`` is a trip.

    ``a_ends_stop`` tells that row ``a`` is the last fix of a stop.
    """
    ps = a
    for j in range(a + 1, b + 2):
        if j <= b and t_ms[j] - t_ms[j - 1] <= gap_ms:
            continue
        pe = j - 1
        if pe > ps and cum_m[pe] - cum_m[ps] >= min_dist_m:
            # standstills wholly inside the piece are idle time
            while p_idle < n_idle and idle_s[s0 + p_idle] < ps:
                p_idle += 1
            idle = 0
            while p_idle < n_idle and idle_e[s0 + p_idle] <= pe:
                idle += t_ms[idle_e[s0 + p_idle]] - t_ms[idle_s[s0 + p_idle]]
                p_idle += 1
            trip_s[s0 + n_trips] = ps
            trip_e[s0 + n_trips] = pe
            trip_idle_ms[s0 + n_trips] = idle
            trip_after_stop[s0 + n_trips] = a_ends_stop and ps == a
            n_trips += 1
        ps = j
    return n_trips, p_idle


@pjit
def _segment_all(t_ms, lat, lon, speed, cum_m, bounds, radius_m, moving_kmh, min_dur_ms,
                 gap_ms, min_dist_m):
    n = t_ms.shape[0]
    g_count = bounds.shape[0] - 1
    # room for m of each per device of m rows: a stop or standstill is one cluster of
    # disjoint rows, and a trip at least one hop, no hop in two trips
    stop_s = np.empty(n, np.int64)
    stop_e = np.empty(n, np.int64)
    trip_s = np.empty(n, np.int64)
    trip_e = np.empty(n, np.int64)
    trip_idle = np.empty(n, np.int64)
    after_stop = np.empty(n, np.bool_)
    idle_s = np.empty(n, np.int64)
    idle_e = np.empty(n, np.int64)
    n_stops = np.zeros(g_count, np.int64)
    n_trips = np.zeros(g_count, np.int64)
    n_idle = np.zeros(g_count, np.int64)
    for g in numba.prange(g_count):
        s0 = bounds[g]
        e0 = bounds[g + 1]
        if e0 > s0:
            n_stops[g], n_trips[g], n_idle[g] = _segment_device(
                t_ms, lat, lon, speed, cum_m, s0, e0, radius_m, moving_kmh, min_dur_ms,
                gap_ms, min_dist_m,
                stop_s, stop_e, trip_s, trip_e, trip_idle, after_stop, idle_s, idle_e)
    return (stop_s, stop_e, n_stops, trip_s, trip_e, trip_idle, after_stop, n_trips,
            idle_s, idle_e, n_idle)


@pjit
def _range_stats(values, s, e):
    """Max (NaN-skipping) and mean of ``values`` over each inclusive row range."""
    m = s.shape[0]
    vmax = np.full(m, np.nan)
    vmean = np.full(m, np.nan)
    for k in numba.prange(m):
        acc = 0.0
        cnt = 0
        for i in range(s[k], e[k] + 1):
            v = values[i]
            if not math.isnan(v):
                acc += v
                cnt += 1
                if math.isnan(vmax[k]) or v > vmax[k]:
                    vmax[k] = v
        if cnt:
            vmean[k] = acc / cnt
    return vmax, vmean


@pjit
def _first_last(values, s, e):
    """First and last non-NaN value of ``values`` over each inclusive row range."""
    m = s.shape[0]
    first = np.full(m, np.nan)
    last = np.full(m, np.nan)
    for k in numba.prange(m):
        for i in range(s[k], e[k] + 1):
            if not math.isnan(values[i]):
                first[k] = values[i]
                break
        for i in range(e[k], s[k] - 1, -1):
            if not math.isnan(values[i]):
                last[k] = values[i]
                break
    return first, last


#: The thresholds of the trip and stop segmentation (all numbers >= 0).
SEGMENT_ARGS = ("min_distance_m", "min_duration_s", "stop_gap_s", "stop_radius_m",
                "moving_speed_kmh")


def _check_positive(**values):
    for name, value in values.items():
        non_negative(name, value)


def check_trip_args(arguments) -> None:
    """Check the trip options among ``arguments`` (a call's bound arguments), before any
    data is read."""
    _check_positive(**{k: arguments[k] for k in SEGMENT_ARGS if k in arguments})
    if "trip_start" in arguments:
        choice("trip_start", arguments["trip_start"], _TRIP_STARTS)
    if "trip_mode" in arguments:
        choice("trip_mode", arguments["trip_mode"], _TRIP_MODES)
    if arguments.get("ignition_input") is not None:
        check_input(arguments["ignition_input"])
    if arguments.get("trip_mode") == "ignition" and arguments.get("ignition_input") is None:
        raise FormatError("trip_mode='ignition' needs ignition_input (the input number)")
    if arguments.get("simplify_m") is not None:
        positive("simplify_m", arguments["simplify_m"])


def _segment(track: Track, *, min_distance_m, min_duration_s, stop_gap_s, stop_radius_m,
             moving_speed_kmh, standstills=False):
    _check_positive(min_distance_m=min_distance_m, min_duration_s=min_duration_s,
                    stop_gap_s=stop_gap_s, stop_radius_m=stop_radius_m,
                    moving_speed_kmh=moving_speed_kmh)
    cum = track.cum_m()
    out = _segment_all(track.t_ms, track.lat, track.lon, track.speed_kmh, cum, track.bounds,
                       float(stop_radius_m), float(moving_speed_kmh),
                       int(round(min_duration_s * 1000)), int(round(stop_gap_s * 1000)),
                       float(min_distance_m))
    stop_s, stop_e, n_stops, trip_s, trip_e, trip_idle, after_stop, n_trips = out[:8]
    si = compact_rows(track.bounds, n_stops)
    ti = compact_rows(track.bounds, n_trips)
    if standstills:
        ii = compact_rows(track.bounds, out[10])
        return cum, (stop_s[si], stop_e[si]), (trip_s[ti], trip_e[ti], trip_idle[ti],
                                               after_stop[ti]), (out[8][ii], out[9][ii])
    return cum, (stop_s[si], stop_e[si]), (trip_s[ti], trip_e[ti], trip_idle[ti],
                                           after_stop[ti])


def _frame(columns, data) -> pd.DataFrame:
    return pd.DataFrame({c: data[c] for c in columns}, columns=list(columns))


def _ignition(track: Track, frame: pd.DataFrame, ignition_input):
    """Ignition state per track row (1 on, 0 off, -1 unknown), or None without an input."""
    if ignition_input is None:
        return None
    n = check_input(ignition_input)
    return track.take(input_state(input_mask(frame), n))


def _seconds_or_nan(ms: np.ndarray) -> np.ndarray:
    """Milliseconds as seconds; -1 (unknown) as NaN."""
    return np.where(ms >= 0, ms / 1000.0, np.nan)


def _standing_ms(t_ms, speed, s, e, moving_kmh):
    """Time within each row range spent between two fixes that both stand (speed below
    ``moving_kmh``): the idle time of an ignition trip."""
    stand = speed < moving_kmh
    both = np.zeros(t_ms.shape[0], np.int64)
    if t_ms.shape[0] > 1:
        hop = np.diff(t_ms)
        both[:-1] = np.where(stand[:-1] & stand[1:], hop, 0)
    csum = np.concatenate(([0], np.cumsum(both)))
    return csum[e] - csum[s]


def trip_rows(track: Track, frame: pd.DataFrame, *, min_distance_m, min_duration_s,
              stop_gap_s, stop_radius_m, moving_speed_kmh, trip_start="move",
              trip_mode="move", ignition_input=None, standstills=False):
    """The trips of ``track`` as row ranges: a dict of arrays shared by the trip, daily
    and driver analyses (``s``, ``e`` rows, ``idle_ms``, ``cum``, ``on``, ``speed``)."""
    check_trip_args({"trip_start": trip_start, "trip_mode": trip_mode,
                     "ignition_input": ignition_input})
    on = _ignition(track, frame, ignition_input)
    seg = _segment(track, min_distance_m=min_distance_m, min_duration_s=min_duration_s,
                   stop_gap_s=stop_gap_s, stop_radius_m=stop_radius_m,
                   moving_speed_kmh=moving_speed_kmh, standstills=True)
    cum, stops, (s, e, idle_ms, after_stop), (st_s, st_e) = seg
    speed = track.speed_or_derived()
    gap_ms = int(round(stop_gap_s * 1000))
    if trip_mode == "ignition":
        ts, te, counts = ignition_trips(track.t_ms, on, cum, track.bounds, gap_ms,
                                        float(min_distance_m))
        idx = compact_rows(track.bounds, counts)
        s, e = ts[idx], te[idx]
        idle_ms = _standing_ms(track.t_ms, speed, s, e, float(moving_speed_kmh))
    else:
        # standstills wholly inside a trip are its idle time (counted before the shift)
        k = np.searchsorted(s, st_s, side="right") - 1
        ok = k >= 0
        ok[ok] = (st_e[ok] <= e[k[ok]])
        st_s, st_e = st_s[ok], st_e[ok]
        if trip_start == "move":
            # the first fix after the stop; a trip that began the data or follows a gap
            # already starts at a moving fix
            s = s + after_stop
    return {"s": s, "e": e, "idle_ms": idle_ms, "cum": cum, "on": on, "speed": speed,
            "stops": stops, "standstills": (st_s, st_e), "gap_ms": gap_ms}


def trip_drivers(track: Track, frame: pd.DataFrame, s, e) -> np.ndarray:
    """The driver of each trip: the RFID seen most often during it (object, None if none)."""
    codes, names = driver_codes(frame)
    codes = track.take(codes)
    best = mode_code(codes, s, e, names.shape[0])
    out = np.full(best.shape[0], None, dtype=object)
    out[best >= 0] = names[best[best >= 0]]
    return out


@on_cluster(check=check_trip_args)
def detect_trips(
    positions,
    *,
    min_distance_m: float = 200,
    min_duration_s: float = 180,
    stop_gap_s: float = 3600,
    stop_radius_m: float = 50,
    moving_speed_kmh: float = 2,
    trip_start: str = "move",
    trip_mode: str = "move",
    ignition_input: int | None = None,
    tz=None,
    devices=None,
    start=None,
    end=None,
    geometry: bool = False,
    simplify_m: float | None = None,
) -> pd.DataFrame:
    """Find the trips of every device: the movement between two stops.

    See the module docstring for the algorithm; in short, a trip leaves a stop (a place the
    device stays within ``stop_radius_m`` for ``min_duration_s``), covers at least
    ``min_distance_m`` of path and ends at the first fix of the next stop or before a data
    gap longer than ``stop_gap_s``.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices, in any order; duplicates are dropped.
    min_distance_m : float
        Shortest path that counts as a trip; less between two stops merges them.
    min_duration_s : float
        Shortest standstill that counts as a stop; shorter ones are idle time in a trip.
    stop_gap_s : float
        A data gap longer than this ends a trip (it never splits a stop).
    stop_radius_m : float
        Fixes within this distance of the stop's centroid are GPS jitter, not movement.
    moving_speed_kmh : float
        A fix at the edge of a stop whose reported speed is at least this belongs to the
        trip, not the stop (devices without a speed field: not used).
    trip_start : {"move", "stop"}
        Start a trip at the first fix after the stop it leaves (where the stop ends), or at
        the last fix of that stop.
    trip_mode : {"move", "ignition"}
        ``"move"``: trips are the movement between stops (above). ``"ignition"``: a trip
        runs from the fix where the ignition is seen on to the first fix where it is seen
        off (or the last fix before a gap longer than ``stop_gap_s``), if it covers
        ``min_distance_m``; its ``idle_s`` is the time between fixes that both stand
        (below ``moving_speed_kmh``). Needs ``ignition_input``.
    ignition_input : int, optional
        The device input wired to the ignition (``IN1`` is the last character of the
        PT-502 inputs field, bit 0 of the mask). Gives ``engine_s``: the time within the
        trip with the ignition on (a hop counts when the ignition is on at its first fix
        and it is no longer than ``stop_gap_s``); NaN without it, or where no fix of the
        trip has an input state.
    tz : str, tzinfo, mapping or "auto", optional
        Time zone of the output times (default UTC): one zone, ``device_id -> zone``, or
        ``"auto"`` (each device's zone from its median position; see :mod:`._tz`).
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]`` (UTC, or local
        time when ``tz`` is one zone; a bare end date covers its whole day). From a dataset
        path only those rows are read.
    geometry : bool
        Return a GeoDataFrame (EPSG:4326) with a LineString through every fix of each
        trip, first vertex the start fix and last the end fix.
    simplify_m : float, optional
        With ``geometry``, simplify the lines to this tolerance in metres (ends kept).

    Returns
    -------
    pandas.DataFrame
        One row per trip: ``device_id, start_time, end_time, duration_s, distance_m,
        max_speed_kmh, avg_speed_kmh, start_lat, start_lon, end_lat, end_lon, idle_s,
        start_odometer_m, end_odometer_m, driver_id, engine_s``; sorted by device and start
        time. ``driver_id`` is the RFID seen most often during the trip (null if none).

    Examples
    --------
    >>> trips = detect_trips(log.positions(), min_duration_s=300)   # doctest: +SKIP
    >>> trips.groupby("device_id").distance_m.sum()                  # doctest: +SKIP
    >>> detect_trips(log, ignition_input=2, tz="Europe/Berlin")      # doctest: +SKIP
    """
    frame = as_positions(positions, devices=devices, start=start, end=end, tz=tz)
    track = prepare(frame)
    tz = resolve_tz(tz, track)
    rows = trip_rows(track, frame, min_distance_m=min_distance_m,
                     min_duration_s=min_duration_s, stop_gap_s=stop_gap_s,
                     stop_radius_m=stop_radius_m, moving_speed_kmh=moving_speed_kmh,
                     trip_start=trip_start, trip_mode=trip_mode, ignition_input=ignition_input)
    s, e, cum = rows["s"], rows["e"], rows["cum"]
    vmax, _ = _range_stats(rows["speed"], s, e)
    odo0, odo1 = _first_last(track.odometer_m, s, e)
    duration = (track.t_ms[e] - track.t_ms[s]) / 1000.0
    distance = cum[e] - cum[s]
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(duration > 0, distance / duration * 3.6, np.nan)
    if rows["on"] is None:
        engine = np.full(s.shape[0], np.nan)
    else:
        engine = _seconds_or_nan(engine_ms(track.t_ms, rows["on"], s, e, rows["gap_ms"]))
    dev = track.device_of(s)
    trips = _frame(TRIP_COLUMNS, {
        DEVICE_ID: device_array(dev),
        START_TIME: to_times(track.t_ms[s], tz, dev),
        END_TIME: to_times(track.t_ms[e], tz, dev),
        DURATION_S: duration,
        DISTANCE_M: distance,
        MAX_SPEED_KMH: vmax,
        AVG_SPEED_KMH: avg,
        START_LAT: track.lat[s],
        START_LON: track.lon[s],
        END_LAT: track.lat[e],
        END_LON: track.lon[e],
        IDLE_S: rows["idle_ms"] / 1000.0,
        START_ODOMETER_M: odo0,
        END_ODOMETER_M: odo1,
        DRIVER_ID: device_array(trip_drivers(track, frame, s, e)),
        ENGINE_S: engine,
    })
    if geometry:
        from .geometry import with_lines

        return with_lines(trips, track, s, e, simplify_m=simplify_m)
    return trips


def stop_rows(track: Track, s, e):
    """Departure row of each stop (its end) and whether it is still open."""
    last_row = track.bounds[track.group_of(e) + 1] - 1 if e.shape[0] else e
    is_open = e == last_row
    return np.where(is_open, e, e + 1), is_open


@on_cluster(check=check_trip_args)
def detect_stops(
    positions,
    *,
    min_distance_m: float = 200,
    min_duration_s: float = 180,
    stop_gap_s: float = 3600,
    stop_radius_m: float = 50,
    moving_speed_kmh: float = 2,
    ignition_input: int | None = None,
    tz=None,
    devices=None,
    start=None,
    end=None,
    geometry: bool = False,
) -> pd.DataFrame:
    """Find the stops of every device: where it stayed put for at least ``min_duration_s``.

    Same algorithm and parameters as :func:`detect_trips` (see the module docstring), so
    the stops and trips of a device tile its timeline: a stop ends where a trip starts.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices, in any order; duplicates are dropped.
    min_distance_m, min_duration_s, stop_gap_s, stop_radius_m, moving_speed_kmh : float
        As for :func:`detect_trips`.
    ignition_input : int, optional
        The input wired to the ignition (as for :func:`detect_trips`); gives
        ``engine_idle_s``, the time of the stop with the engine running (fuel burnt at the
        kerb). NaN without it, or where no fix of the stop has an input state.
    tz : str, tzinfo, mapping or "auto", optional
        Time zone of the output times (default UTC): one zone, ``device_id -> zone``, or
        ``"auto"`` (each device's zone from its median position; see :mod:`._tz`).
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]`` (UTC, or local
        time when ``tz`` is one zone; a bare end date covers its whole day). From a dataset
        path only those rows are read.
    geometry : bool
        Return a GeoDataFrame (EPSG:4326) with a point at each stop's ``lat``/``lon``.

    Returns
    -------
    pandas.DataFrame
        One row per stop: ``device_id, start_time, end_time, duration_s, lat, lon, open,
        engine_idle_s``: from the arrival fix to the departure fix (the first fix after the
        stationary ones), ``lat``/``lon`` the mean of the stationary fixes, ``open`` when
        the stop is still going on at the device's last fix (it then ends there).

    Examples
    --------
    >>> stops = detect_stops(log.positions(), tz="Europe/Berlin")   # doctest: +SKIP
    >>> stops[stops.duration_s > 8 * 3600]                          # doctest: +SKIP
    """
    frame = as_positions(positions, devices=devices, start=start, end=end, tz=tz)
    track = prepare(frame)
    tz = resolve_tz(tz, track)
    _, (s, e), _ = _segment(
        track, min_distance_m=min_distance_m, min_duration_s=min_duration_s,
        stop_gap_s=stop_gap_s, stop_radius_m=stop_radius_m, moving_speed_kmh=moving_speed_kmh)
    _, mlat = _range_stats(track.lat, s, e)
    _, mlon = _range_stats(track.lon, s, e)
    end, is_open = stop_rows(track, s, e)
    on = _ignition(track, frame, ignition_input)
    if on is None:
        idle = np.full(s.shape[0], np.nan)
    else:
        idle = _seconds_or_nan(engine_ms(track.t_ms, on, s, end,
                                         int(round(stop_gap_s * 1000))))
    dev = track.device_of(s)
    stops = _frame(STOP_COLUMNS, {
        DEVICE_ID: device_array(dev),
        START_TIME: to_times(track.t_ms[s], tz, dev),
        END_TIME: to_times(track.t_ms[end], tz, dev),
        DURATION_S: (track.t_ms[end] - track.t_ms[s]) / 1000.0,
        LAT: mlat,
        LON: mlon,
        "open": is_open,
        ENGINE_IDLE_S: idle,
    })
    if geometry:
        from .geometry import with_points

        return with_points(stops)
    return stops
