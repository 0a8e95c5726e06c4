"""Position filters that tracking servers offer, each one reporting what it removed."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

from .._numba import pjit
from .._validate import non_negative
from ..schema import DEVICE_ID, LAT, LON, NULL_TIME_MS, RECEIVED_AT, TIME, VALID
from ._geo import haversine_m
from ._input import as_positions
from ._track import (
    _first_of_each_time,
    _needs_sort,
    float_column,
    localize_frame,
    prepare,
    times_ms,
)
from ._tz import AUTO, resolve_tz

__all__ = ["clean", "REASONS"]

#: Why ``clean`` removed a fix, in the order the filters run.
REASONS = {
    "invalid": "the device flagged the fix invalid, or it has no coordinates",
    "zero": "the fix is at 0°/0° (a receiver without a fix)",
    "future": "the fix time is later than when it was received (or now) by more than the tolerance",
    "duplicate": "another fix of the device has the same time",
    "jump": "reaching the fix from the previous kept one needs more than max_speed_kmh",
    "too_close": "the fix is within min_distance_m of the previous kept one",
}

_NAT = NULL_TIME_MS


def _epoch_ms(now) -> int:
    stamp = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.value // 1_000_000)


@pjit
def _sequential(t_ms, lat, lon, bounds, max_speed_kmh, min_distance_m):
    """0 keep, 1 jump, 2 too close: each fix against the last fix kept before it."""
    out = np.zeros(t_ms.shape[0], np.int8)
    for g in numba.prange(bounds.shape[0] - 1):
        last = bounds[g]
        for i in range(bounds[g] + 1, bounds[g + 1]):
            d = haversine_m(lat[last], lon[last], lat[i], lon[i])
            dt = (t_ms[i] - t_ms[last]) / 1000.0
            if max_speed_kmh > 0 and d > max_speed_kmh / 3.6 * dt:
                out[i] = 1
            elif d < min_distance_m:
                out[i] = 2
            else:
                last = i
    return out


def clean(
    positions,
    *,
    invalid: bool = True,
    zero: bool = True,
    duplicates: bool = True,
    future_s: float | None = 300,
    max_speed_kmh: float | None = None,
    min_distance_m: float | None = None,
    now=None,
    tz=None,
    devices=None,
    start=None,
    end=None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove unusable fixes, and say which filter removed each one.

    Filters run in this order, each on what the previous ones kept: ``invalid`` (fix flag
    false, or no coordinates), ``zero`` (0°/0°), ``future`` (time more than ``future_s``
    after ``received_at``, or after ``now`` where the receive time is unknown),
    ``duplicate`` (same device and time: the first in input order stays), ``jump`` (the
    speed implied from the previous kept fix is above ``max_speed_kmh``) and ``too_close``
    (within ``min_distance_m`` of the previous kept fix). ``jump`` and ``too_close`` compare
    with the last *kept* fix, so a single wild fix does not also remove the good one after it.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices, in any order.
    invalid, zero, duplicates : bool
        Switch those filters on or off.
    future_s : float or None
        Tolerance of the future-time filter; None switches it off.
    max_speed_kmh : float or None
        Limit of the jump filter (for example 300 for cars); None switches it off.
    min_distance_m : float or None
        Distance of the too-close filter; None switches it off.
    now : timestamp-like, optional
        The present, for fixes without ``received_at`` (default: the clock).
    tz : str, mapping or "auto", optional
        Time zone of the returned rows' ``time`` and ``received_at`` (default UTC; see
        :mod:`bofan_analytics.analytics._tz`); naive ``start``/``end`` are read in it.
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]`` (UTC, or local
        time when ``tz`` is one zone; a bare end date covers its whole day). From a dataset path only those rows are read.

    Returns
    -------
    kept : pandas.DataFrame
        The remaining rows, columns unchanged, sorted by device and time.
    removed : pandas.DataFrame
        The removed rows with a ``reason`` column (see :data:`REASONS`), in input order.

    Examples
    --------
    >>> kept, removed = clean(log.positions(), max_speed_kmh=250)    # doctest: +SKIP
    >>> removed.reason.value_counts()                                 # doctest: +SKIP
    """
    for name, value in (("future_s", future_s), ("max_speed_kmh", max_speed_kmh),
                        ("min_distance_m", min_distance_m)):
        non_negative(name, value, allow_none=True)
    frame = as_positions(positions, devices=devices, start=start, end=end, tz=tz)
    n = len(frame)
    reason = np.full(n, None, dtype=object)
    t = times_ms(frame[TIME]) if n else np.empty(0, np.int64)
    lat = float_column(frame, LAT)
    lon = float_column(frame, LON)

    def mark(mask, why):
        reason[mask & pd.isna(reason)] = why

    if invalid:
        bad = np.isnan(lat) | np.isnan(lon) | (t == _NAT)
        if VALID in frame.columns:
            bad |= ~frame[VALID].to_numpy(dtype=bool, na_value=True)
        mark(bad, "invalid")
    if zero:
        mark((lat == 0.0) & (lon == 0.0), "zero")
    if future_s is not None:
        ref = np.full(n, _epoch_ms(now), dtype=np.int64)
        if RECEIVED_AT in frame.columns and n:
            rec = times_ms(frame[RECEIVED_AT])
            ref = np.where(rec != _NAT, rec, ref)
        mark((t != _NAT) & (t > ref + int(round(future_s * 1000))), "future")
    rows = np.flatnonzero(pd.isna(reason))
    codes, _ = pd.factorize(frame[DEVICE_ID], sort=True)
    c, tt = codes[rows].astype(np.int64), t[rows]
    if _needs_sort(c, tt):
        order = np.lexsort((tt, c))
        rows, c, tt = rows[order], c[order], tt[order]
    if duplicates:
        first = _first_of_each_time(c, tt)
        reason[rows[~first]] = "duplicate"
        rows, c, tt = rows[first], c[first], tt[first]
    if max_speed_kmh is not None or min_distance_m is not None:
        starts = np.flatnonzero(np.diff(c)) + 1
        bounds = np.concatenate(([0], starts, [c.shape[0]])).astype(np.int64)
        verdict = _sequential(tt, np.ascontiguousarray(lat[rows]), np.ascontiguousarray(lon[rows]),
                              bounds, float(max_speed_kmh or 0), float(min_distance_m or 0))
        reason[rows[verdict == 1]] = "jump"
        reason[rows[verdict == 2]] = "too_close"
        rows = rows[verdict == 0]
    kept = frame.iloc[rows].reset_index(drop=True)
    gone = np.flatnonzero(~pd.isna(reason))
    removed = frame.iloc[gone].reset_index(drop=True)
    removed["reason"] = pd.array(reason[gone], dtype="str")
    if tz is not None:
        zones = resolve_tz(tz, prepare(kept) if isinstance(tz, str) and tz == AUTO else None)
        kept, removed = localize_frame(kept, zones), localize_frame(removed, zones)
    return kept, removed
