"""Battery: drain rate, charge episodes and low-battery events per device.

Every frame with a battery reading counts: PT-60 percent in positions, heartbeats and
heart-rate frames, and the PT-502 level (its 0-15 nibble scaled to percent).

One pass per device over its readings in time order, with hysteresis against noise
(``noise_pct``, the readings' ± error; ``tol = 2 * noise_pct + 1`` points once rounding
is counted):

* **Charging** starts when a reading is at least ``min_charge_pct`` above the lowest
  reading since the last charge. It is dated back along the readings that rise (or hold)
  and stand more than ``tol`` above that lowest one or more than ``2 * noise_pct`` above
  the reading before them: the episode starts at the reading before those, the last one
  before the charger was plugged in. It ends at the
  first reading of its highest value, once a reading falls more than ``tol`` below it (or
  the data ends).
* **Discharge spans** run from the last reading near the top of a charge (within
  ``tol``; a full battery still on the charger is not draining) to the start of the next
  charge. The drain rate is one least-squares slope fitted on all spans of the device
  together, each span with its own intercept, so ±1 % noise averages out and charges never
  enter the fit.
* **Low battery** is a reading below ``low_pct`` after one at or above ``low_pct + tol``
  (or the first reading).
* **Hours left** come from the latest discharge span alone (its own least-squares slope):
  the battery as it drains now, after the last charge, not as it drained a week ago.
"""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd

from .._numba import pjit
from .._validate import non_negative
from ..schema import BATTERY_PCT, DEVICE_ID, DURATION_S, END_TIME, FIRST_TIME, LAST_TIME, START_TIME
from ._cluster import on_cluster
from ._input import as_messages
from ._track import compact_rows, device_array, float_column, prepare, to_times
from ._tz import AUTO, resolve_tz

__all__ = ["battery_trends", "charge_episodes", "BATTERY_COLUMNS", "CHARGE_COLUMNS"]

BATTERY_COLUMNS = (
    DEVICE_ID,
    FIRST_TIME,
    LAST_TIME,
    "first_pct",
    "last_pct",
    "drain_pct_per_h",
    "charges",
    "low_battery_events",
    "hours_left",
)
CHARGE_COLUMNS = (DEVICE_ID, START_TIME, END_TIME, DURATION_S, "start_pct", "end_pct")

_MS_PER_H = 3_600_000.0
#: A drain slower than this (percent per hour) is a full battery on mains, not a drain.
_FLAT_PCT_PER_H = 1e-6


@pjit
def _battery(t_ms, v, bounds, min_charge, tol, low):
    """Per device: drain slope (pct/ms), charge count, low events, charging-at-end flag;
    charge episodes (start row, end row) written at offset ``bounds[g]``."""
    n = t_ms.shape[0]
    g_count = bounds.shape[0] - 1
    # room for m episodes per device of m rows: each starts on a later row than the last ended
    ep_s = np.empty(n, np.int64)
    ep_e = np.empty(n, np.int64)
    n_ep = np.zeros(g_count, np.int64)
    slope = np.full(g_count, np.nan)
    lows = np.zeros(g_count, np.int64)
    charging_at_end = np.zeros(g_count, np.bool_)
    last_slope = np.full(g_count, np.nan)
    for g in numba.prange(g_count):
        s0 = bounds[g]
        e0 = bounds[g + 1]
        # pooled regression accumulators and the current span's sums
        sxy = 0.0
        sxx = 0.0
        span_from = s0
        charging = False
        lo = v[s0]
        hi = 0.0
        hi_at = s0
        k = 0
        armed = True
        for i in range(s0, e0 + 1):
            if i < e0:
                x = v[i]
                if armed and x < low:
                    lows[g] += 1
                    armed = False
                elif x >= low + tol:
                    armed = True
            if charging:
                if i < e0 and x > hi:
                    hi = x
                    hi_at = i
                if i == e0 or x < hi - tol:
                    ep_e[s0 + k] = hi_at
                    k += 1
                    charging = i == e0
                    if i < e0:
                        # the span starts at the last reading near the top
                        span_from = hi_at
                        for j in range(hi_at, i + 1):
                            if v[j] >= hi - tol:
                                span_from = j
                        lo = x
                continue
            if i == e0:
                start = e0
            else:
                if x < lo:
                    lo = x
                if x < lo + min_charge:
                    continue
                # date the rise back over the readings that belong to it: not below the
                # next one, and either clearly above the floor or clearly up on the one
                # before (a first charging reading can still sit near the floor)
                start = i
                while start - 1 > span_from and v[start - 1] <= v[start] and (
                        v[start - 1] > lo + tol or v[start - 1] - v[start - 2] > tol - 1.0):
                    start -= 1
                if start > span_from:  # no reading before a device's first: start there
                    start -= 1
                ep_s[s0 + k] = start
                charging = True
                hi = x
                hi_at = i
            # close the discharge span span_from .. start
            m = start - span_from + 1 if i < e0 else e0 - span_from
            if m >= 2:
                last = span_from + m - 1
                mt = 0.0
                mv = 0.0
                for j in range(span_from, last + 1):
                    mt += t_ms[j] - t_ms[span_from]
                    mv += v[j]
                mt /= m
                mv /= m  # a flat span stays exactly flat: no slope out of rounding
                span_xy = 0.0
                span_xx = 0.0
                for j in range(span_from, last + 1):
                    dt = (t_ms[j] - t_ms[span_from]) - mt
                    span_xy += dt * (v[j] - mv)
                    span_xx += dt * dt
                sxy += span_xy
                sxx += span_xx
                if span_xx > 0:
                    last_slope[g] = span_xy / span_xx
        n_ep[g] = k
        charging_at_end[g] = charging
        if sxx > 0:
            slope[g] = sxy / sxx
    return ep_s, ep_e, n_ep, slope, lows, charging_at_end, last_slope


def _check_battery_args(arguments) -> None:
    for name in ("low_pct", "min_charge_pct", "noise_pct"):
        if name in arguments:
            non_negative(name, arguments[name])


def _analyse(messages, *, low_pct, min_charge_pct, noise_pct, devices, start, end, tz=None):
    _check_battery_args({"low_pct": low_pct, "min_charge_pct": min_charge_pct,
                         "noise_pct": noise_pct})
    frame = as_messages(messages, devices=devices, start=start, end=end, tz=tz)
    # "auto" places a device by its fixes, which may be other frames than its readings
    zones = resolve_tz(tz, prepare(frame) if isinstance(tz, str) and tz == AUTO else None)
    pct = float_column(frame, BATTERY_PCT)
    has = ~np.isnan(pct)
    if not has.all():
        frame = frame[has]
        pct = pct[has]
    track = prepare(frame, require_fix=False)
    v = np.ascontiguousarray(track.take(pct))
    tol = 2.0 * noise_pct + 1.0
    out = _battery(track.t_ms, v, track.bounds, float(min_charge_pct), tol, float(low_pct))
    return track, v, out, zones


@on_cluster(check=_check_battery_args)
def battery_trends(messages, *, low_pct: float = 20, min_charge_pct: float = 10,
                   noise_pct: float = 1, tz=None, devices=None, start=None,
                   end=None) -> pd.DataFrame:
    """Battery level, drain rate, charges and low-battery events of every device.

    See the module docstring for the method.

    Parameters
    ----------
    messages : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Messages with ``battery_pct`` (any frame type: positions, heartbeats, heart rate).
    low_pct : float
        A reading below this is a low-battery event (once per dip).
    min_charge_pct : float
        Rise above the lowest reading since the last charge that means charging.
    noise_pct : float
        The readings' ± noise, in percentage points.
    tz : str, tzinfo, mapping or "auto", optional
        Time zone of the output times (default UTC): one zone, ``device_id -> zone``, or
        ``"auto"`` (each device's zone from its median position; see :mod:`._tz`).
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]`` (UTC, or local
        time when ``tz`` is one zone; a bare end date covers its whole day). From a dataset path only those rows are read.

    Returns
    -------
    pandas.DataFrame
        One row per device: ``device_id, first_time, last_time, first_pct, last_pct,
        drain_pct_per_h, charges, low_battery_events, hours_left``. ``drain_pct_per_h`` is
        positive while draining (NaN without two readings in a discharge span), fitted
        on all discharge spans; ``hours_left`` is ``last_pct`` over the drain rate of the
        latest discharge span, NaN when charging at the end or not draining.

    Examples
    --------
    >>> battery_trends(log, low_pct=15)[["device_id", "hours_left"]]   # doctest: +SKIP
    """
    track, v, (_, _, n_ep, slope, lows, charging, last_slope), tz = _analyse(
        messages, low_pct=low_pct, min_charge_pct=min_charge_pct, noise_pct=noise_pct,
        devices=devices, start=start, end=end, tz=tz)
    first = track.bounds[:-1]
    last = track.bounds[1:] - 1
    # + 0.0: a flat battery drains 0.0 %/h, not -0.0
    drain = -slope * _MS_PER_H + 0.0
    now = -last_slope * _MS_PER_H + 0.0
    last_pct = v[last]
    with np.errstate(divide="ignore", invalid="ignore"):
        hours = np.where(~charging & (now > _FLAT_PCT_PER_H), last_pct / now, np.nan)
    return pd.DataFrame({
        DEVICE_ID: device_array(track.devices),
        FIRST_TIME: to_times(track.t_ms[first], tz, track.devices),
        LAST_TIME: to_times(track.t_ms[last], tz, track.devices),
        "first_pct": v[first],
        "last_pct": last_pct,
        "drain_pct_per_h": drain,
        "charges": n_ep,
        "low_battery_events": lows,
        "hours_left": hours,
    }, columns=list(BATTERY_COLUMNS))


@on_cluster(check=_check_battery_args)
def charge_episodes(messages, *, min_charge_pct: float = 10, noise_pct: float = 1,
                    tz=None, devices=None, start=None, end=None) -> pd.DataFrame:
    """The charge episodes :func:`battery_trends` counts, one row each.

    Parameters
    ----------
    messages, min_charge_pct, noise_pct, tz, devices, start, end
        As for :func:`battery_trends`.

    Returns
    -------
    pandas.DataFrame
        ``device_id, start_time, end_time, duration_s, start_pct, end_pct``: from the last
        reading before the rise to the first reading of the top value.

    Examples
    --------
    >>> charge_episodes(log).duration_s.median() / 3600              # doctest: +SKIP
    """
    track, v, (ep_s, ep_e, n_ep, *_), tz = _analyse(
        messages, low_pct=0, min_charge_pct=min_charge_pct, noise_pct=noise_pct,
        devices=devices, start=start, end=end, tz=tz)
    idx = compact_rows(track.bounds, n_ep)
    s, e = ep_s[idx], ep_e[idx]
    dev = track.device_of(s)
    return pd.DataFrame({
        DEVICE_ID: device_array(dev),
        START_TIME: to_times(track.t_ms[s], tz, dev),
        END_TIME: to_times(track.t_ms[e], tz, dev),
        DURATION_S: (track.t_ms[e] - track.t_ms[s]) / 1000.0,
        "start_pct": v[s],
        "end_pct": v[e],
    }, columns=list(CHARGE_COLUMNS))

