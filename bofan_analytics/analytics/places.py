"""Places: the spots a device keeps coming back to, found from its stops.

Clustering
----------
A device's stops are taken in time order. Each stop joins the nearest place whose seed (the
stop that founded it) lies within ``radius_m``, or founds a new place. Seeds never move, so
a place cannot creep along a street stop by stop. To find the seeds near a stop without
looking at all of them, seeds are kept in a grid of ``radius_m`` squares (a hash map from
square to the seeds in it, in a local flat projection around the device's first stop): only
the 3 × 3 squares around the stop can hold a seed within ``radius_m``. The cost is linear
in the number of stops. A place's position is the mean of its stops; it is kept when it has
``min_visits`` stops or more.

Home and work (``label="home_work"``)
------------------------------------
Times are read in ``tz`` (default UTC), as wall-clock time.

* **home**: the place where the device spent the most time at night, 22:00 to 06:00,
  summed over its stops (a stop's dwell is cut to the night hours it covers).
* **work**: of the other places, the one where the device spent the most time on weekdays
  (Monday to Friday) between 08:00 and 18:00.

A place with no night (or weekday daytime) dwell at all is never home (or work), and a
device with no such place has neither. These are the rules tracking libraries use for
personal devices (night presence for home, weekday office hours for work); they mislabel a
night-shift worker's home, and say so here rather than guess.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd

from .._numba import jit, read_only
from .._validate import choice, positive, whole
from ..errors import SchemaError
from ..schema import DEVICE_ID, DURATION_S, DWELL_S, END_TIME, LAT, LON, START_TIME
from ._geo import EARTH_RADIUS_M
from ._track import device_array, times_ms, to_times

__all__ = ["places", "PLACE_COLUMNS", "NIGHT_HOURS", "WORK_HOURS"]

PLACE_COLUMNS = (DEVICE_ID, "place", LAT, LON, "visits", DWELL_S, "first_visit",
                 "last_visit")
#: Local hours counted as night for ``home`` (from 22:00 to 06:00 the next day).
NIGHT_HOURS = (22, 6)
#: Local weekday hours counted as working time for ``work``.
WORK_HOURS = (8, 18)

_LABELS = ("home_work",)
_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0
_DAY_MS = 86_400_000
_HALF = 1 << 30


@jit
def _cluster(lat, lon, bounds, radius_m):
    """Place number (per device, in order of founding) of each stop; see the module text."""
    n = lat.shape[0]
    place = np.empty(n, np.int64)
    seed_x = np.empty(n)  # a device of m stops founds m places at most
    seed_y = np.empty(n)
    next_seed = np.empty(n, np.int64)  # the next seed in the same grid square, or -1
    for g in range(bounds.shape[0] - 1):
        s0 = bounds[g]
        e0 = bounds[g + 1]
        if e0 == s0:
            continue
        heads = numba.typed.Dict.empty(key_type=numba.types.int64, value_type=numba.types.int64)
        coslat = math.cos(lat[s0] * math.pi / 180.0)
        lat0 = lat[s0]
        lon0 = lon[s0]
        n_places = 0
        for i in range(s0, e0):
            x = (lon[i] - lon0) * _M_PER_DEG * coslat
            y = (lat[i] - lat0) * _M_PER_DEG
            cx = int(math.floor(x / radius_m))
            cy = int(math.floor(y / radius_m))
            best = -1
            best_d2 = radius_m * radius_m
            for dx in range(-1, 2):
                for dy in range(-1, 2):
                    key = (cx + dx + _HALF) * (2 * _HALF) + (cy + dy + _HALF)
                    k = heads.get(key, -1)
                    while k >= 0:
                        d2 = (seed_x[s0 + k] - x) ** 2 + (seed_y[s0 + k] - y) ** 2
                        if d2 <= best_d2:
                            best_d2 = d2
                            best = k
                        k = next_seed[s0 + k]
            if best < 0:
                best = n_places
                n_places += 1
                seed_x[s0 + best] = x
                seed_y[s0 + best] = y
                key = (cx + _HALF) * (2 * _HALF) + (cy + _HALF)
                next_seed[s0 + best] = heads.get(key, -1)
                heads[key] = best
            place[i] = best
    return place


@jit
def _window_ms(start, end, from_h, to_h, weekdays_only):
    """Milliseconds of each ``[start, end)`` (local wall ms) inside the daily window
    ``from_h``–``to_h`` (past midnight when ``to_h < from_h``), weekdays only if asked."""
    n = start.shape[0]
    out = np.zeros(n, np.int64)
    a_off = from_h * 3_600_000
    b_off = to_h * 3_600_000 if to_h > from_h else (to_h + 24) * 3_600_000
    for i in range(n):
        s = start[i]
        e = end[i]
        if e <= s:
            continue
        d = s // _DAY_MS - 1  # a night window that began the day before
        while d * _DAY_MS + a_off < e:
            # 1970-01-01 was a Thursday: Monday is 0
            if not weekdays_only or (d + 3) % 7 < 5:
                a = d * _DAY_MS + a_off
                b = d * _DAY_MS + b_off
                lo = s if s > a else a
                hi = e if e < b else b
                if hi > lo:
                    out[i] += hi - lo
            d += 1
    return out


def _wall_ms(t_ms: np.ndarray, tz) -> np.ndarray:
    """Local wall-clock milliseconds (as if the local time were UTC) of UTC ``t_ms``."""
    local = to_times(t_ms, tz)
    return np.asarray(local.tz_localize(None).as_unit("ms").asi8)


def _best(values: np.ndarray, group: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Per group, a mask of the row with the largest positive ``values`` among ``eligible``."""
    score = np.where(eligible & (values > 0), values, -1)
    order = np.lexsort((-score, group))  # per group, the best first
    first = np.ones(order.shape[0], bool)
    first[1:] = group[order][1:] != group[order][:-1]
    pick = np.zeros(values.shape[0], bool)
    pick[order[first]] = score[order[first]] > 0
    return pick


def places(
    stops,
    *,
    radius_m: float = 100,
    min_visits: int = 2,
    label: str | None = None,
    tz=None,
) -> pd.DataFrame:
    """Cluster each device's stops into the places it comes back to.

    See the module docstring for the clustering and for the home/work rules.

    Parameters
    ----------
    stops : pandas.DataFrame
        Stops as :func:`detect_stops` returns them (``device_id, start_time, end_time,
        lat, lon``; ``duration_s`` is used when present).
    radius_m : float
        A stop within this distance of a place's founding stop belongs to it.
    min_visits : int
        Places with fewer stops are left out.
    label : {"home_work"}, optional
        Add a ``label`` column: ``home``, ``work`` or null.
    tz : str or tzinfo, optional
        Zone whose wall-clock hours decide night and working time (default UTC).

    Returns
    -------
    pandas.DataFrame
        ``device_id, place, lat, lon, visits, dwell_s, first_visit, last_visit`` (and
        ``label``): ``place`` numbers a device's places from 0, most visited first (then
        longest dwell); ``first_visit``/``last_visit`` are the first stop's start and the
        last stop's end, in ``tz``.

    Examples
    --------
    >>> spots = places(detect_stops(log), label="home_work", tz="Europe/Berlin")  # doctest: +SKIP
    >>> spots[spots.label == "home"]                                                # doctest: +SKIP
    """
    positive("radius_m", radius_m)
    whole("min_visits", min_visits, lo=1)
    choice("label", label, (*_LABELS, None))
    if not isinstance(stops, pd.DataFrame):
        raise SchemaError("places takes the stops DataFrame that detect_stops returns")
    missing = [c for c in (DEVICE_ID, START_TIME, END_TIME, LAT, LON)
               if c not in stops.columns]
    if missing:
        raise SchemaError(f"stops lack the column(s) {', '.join(missing)}")
    to_times(np.empty(0, np.int64), tz)  # an unknown zone fails before any work

    lat_all = stops[LAT].to_numpy(dtype=np.float64, na_value=np.nan)
    lon_all = stops[LON].to_numpy(dtype=np.float64, na_value=np.nan)
    # a stop without a device would get code -1, outside every device's rows of _cluster
    frame = stops[~(np.isnan(lat_all) | np.isnan(lon_all)) & stops[DEVICE_ID].notna().to_numpy()]
    codes, uniques = pd.factorize(frame[DEVICE_ID], sort=True)
    t0 = times_ms(frame[START_TIME]) if len(frame) else np.empty(0, np.int64)
    t1 = times_ms(frame[END_TIME]) if len(frame) else np.empty(0, np.int64)
    order = np.lexsort((t0, codes))
    codes, t0, t1 = codes[order], t0[order], t1[order]
    lat = np.ascontiguousarray(frame[LAT].to_numpy(dtype=np.float64)[order])
    lon = np.ascontiguousarray(frame[LON].to_numpy(dtype=np.float64)[order])
    dwell = (frame[DURATION_S].to_numpy(dtype=np.float64, na_value=np.nan)[order]
              if DURATION_S in frame.columns else (t1 - t0) / 1000.0)
    dwell = np.where(np.isnan(dwell), (t1 - t0) / 1000.0, dwell)
    bounds = np.searchsorted(codes, np.arange(len(uniques) + 1)).astype(np.int64)
    place = _cluster(read_only(lat), read_only(lon), read_only(bounds), float(radius_m))

    # one row per (device, place): numbered densely in stop order
    key = codes.astype(np.int64) * (len(codes) + 1) + place
    pid, first_row = np.unique(key, return_index=True)
    member = np.searchsorted(pid, key)
    m = pid.shape[0]
    visits = np.bincount(member, minlength=m)
    out = pd.DataFrame({
        "_device": codes[first_row],
        LAT: np.bincount(member, weights=lat, minlength=m) / np.maximum(visits, 1),
        LON: np.bincount(member, weights=lon, minlength=m) / np.maximum(visits, 1),
        "visits": visits.astype(np.int64),
        DWELL_S: np.bincount(member, weights=dwell, minlength=m),
        "_first": pd.Series(t0).groupby(member).min().to_numpy() if m else t0[:0],
        "_last": pd.Series(t1).groupby(member).max().to_numpy() if m else t1[:0],
    })
    if label == "home_work":
        tzone = tz if tz is not None else "UTC"
        w0 = _wall_ms(t0, tzone)
        w1 = _wall_ms(t1, tzone)
        night = _window_ms(w0, w1, NIGHT_HOURS[0], NIGHT_HOURS[1], False)
        work = _window_ms(w0, w1, WORK_HOURS[0], WORK_HOURS[1], True)
        out["_night"] = np.bincount(member, weights=night, minlength=m)
        out["_work"] = np.bincount(member, weights=work, minlength=m)
    keep = out["visits"].to_numpy() >= min_visits
    out = out[keep].sort_values(["_device", "visits", DWELL_S], ascending=[True, False, False],
                                kind="stable").reset_index(drop=True)
    device = out["_device"].to_numpy()
    start_of_device = np.searchsorted(device, device)
    result = pd.DataFrame({
        DEVICE_ID: device_array(np.asarray(uniques, dtype=object)[device]),
        "place": (np.arange(len(out)) - start_of_device).astype(np.int64),
        LAT: out[LAT].to_numpy(),
        LON: out[LON].to_numpy(),
        "visits": out["visits"].to_numpy(),
        DWELL_S: out[DWELL_S].to_numpy(),
        "first_visit": to_times(out["_first"].to_numpy(dtype=np.int64), tz),
        "last_visit": to_times(out["_last"].to_numpy(dtype=np.int64), tz),
    }, columns=list(PLACE_COLUMNS))
    if label == "home_work":
        home = _best(out["_night"].to_numpy(), device, np.ones(len(out), bool))
        work = _best(out["_work"].to_numpy(), device, ~home)
        names = np.full(len(out), None, dtype=object)
        names[home] = "home"
        names[work] = "work"
        result["label"] = pd.array(names, dtype="str")
    return result
