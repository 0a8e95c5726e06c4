"""One sort, then arrays: the common first step of every positions analysis.

:func:`prepare` keeps the usable fixes (see :mod:`bofan_analytics._fix`: flagged valid,
timed, with coordinates, not 0°/0°), sorts them by ``(device_id, time)`` once, drops repeated ``(device_id, time)``
fixes (a device that re-sends its log), and hands back plain contiguous arrays plus the
group boundaries ``bounds`` (device ``g`` owns rows ``bounds[g]:bounds[g + 1]``). Kernels
then run per device over sorted arrays. Late uploads are placed by their time: arrival
order plays no part.

Input that is already clean and sorted (``DecodedLog.positions()``, a dataset read back)
takes a fast path: the device runs come from Arrow's run-end encoding of the ids, the
checks run without temporaries, and the columns are used in place.
Only otherwise are ids factorized and rows sorted; on a memory-starved machine every
full-length temporary costs as much as a kernel pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._fix import arrays_mask, device_time_order
from .._numba import jit, read_only
from ..schema import (
    DEVICE_ID,
    LAT,
    LON,
    NULL_TIME_MS,
    ODOMETER_M,
    RECEIVED_AT,
    SPEED_KMH,
    TIME,
    VALID,
)
from ._geo import cumulative_m, fill_speed

__all__ = [
    "Track",
    "prepare",
    "compact_rows",
    "float_column",
    "times_ms",
    "to_times",
    "device_array",
    "usable_fixes",
    "localize_frame",
]

_NAT = NULL_TIME_MS


@dataclass
class Track:
    """Sorted, de-duplicated fixes of many devices as arrays."""

    devices: np.ndarray  #: device id of each group (object array)
    bounds: np.ndarray  #: int64, group g is rows bounds[g]:bounds[g+1]
    rows: np.ndarray | None  #: row of the input frame of each fix; None: the same rows
    t_ms: np.ndarray  #: int64 milliseconds since the epoch, UTC
    lat: np.ndarray
    lon: np.ndarray
    speed_kmh: np.ndarray  #: reported speed, NaN where the protocol has none
    odometer_m: np.ndarray
    _cum: np.ndarray | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return int(self.t_ms.shape[0])

    def take(self, values: np.ndarray) -> np.ndarray:
        """A column of the input frame in the track's row order."""
        return values if self.rows is None else np.ascontiguousarray(values[self.rows])

    def group_of(self, idx: np.ndarray) -> np.ndarray:
        """Group number of each row index in ``idx``."""
        return np.searchsorted(self.bounds, idx, side="right") - 1

    def device_of(self, idx: np.ndarray) -> np.ndarray:
        return self.devices[self.group_of(idx)]

    def cum_m(self) -> np.ndarray:
        """Path length from each device's first fix (see :func:`._geo.cumulative_m`)."""
        if self._cum is None:
            self._cum = cumulative_m(self.lat, self.lon, self.bounds)
        return self._cum

    def speed_or_derived(self) -> np.ndarray:
        """Reported speed, or where it is missing (PT-60) the speed implied by positions."""
        if not _any_nan(read_only(self.speed_kmh)):
            return self.speed_kmh
        return fill_speed(self.speed_kmh, self.cum_m(), self.t_ms, self.bounds)


def float_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as float64 with NaN for null; all NaN (read-only) when the column is absent."""
    if name not in frame.columns:
        # a zero-stride view: no full-length allocation for a column that is not there
        return np.broadcast_to(np.float64(np.nan), (len(frame),))
    col = frame[name]
    if col.dtype == np.float64:
        return col.to_numpy()
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def times_ms(col: pd.Series) -> np.ndarray:
    """Milliseconds since the epoch (UTC) of a time column; naive times are taken as UTC."""
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        col = pd.to_datetime(col, utc=True)
    index = pd.DatetimeIndex(col)
    if index.unit != "ms":
        index = index.as_unit("ms")
    return np.asarray(index.asi8)


def to_times(t_ms: np.ndarray, tz=None, devices=None) -> pd.DatetimeIndex:
    """Epoch milliseconds as tz-aware times: UTC, or local in ``tz`` (same instants).

    ``tz`` is what :func:`._tz.resolve_tz` returns: None, one zone, or a dict
    ``device_id -> zone`` (then ``devices`` gives each row's device; see :mod:`._tz`).
    """
    from ._tz import check_zone, localize

    index = pd.DatetimeIndex(np.asarray(t_ms, dtype=np.int64).view("datetime64[ms]"))
    index = index.tz_localize("UTC")
    if tz is None:
        return index
    if not isinstance(tz, dict):
        tz = check_zone(tz)
    return localize(index, tz, devices)


def device_array(values):
    """Device ids (or other labels) as the package's string dtype."""
    return pd.array(np.asarray(values, dtype=object), dtype="str")


@jit
def compact_rows(bounds, counts):
    """Rows ``bounds[g] + j`` for ``j < counts[g]``: where per-device kernels wrote items."""
    total = 0
    for g in range(counts.shape[0]):
        total += counts[g]
    idx = np.empty(total, np.int64)
    k = 0
    for g in range(counts.shape[0]):
        for j in range(counts[g]):
            idx[k] = bounds[g] + j
            k += 1
    return idx


@jit
def _any_nan(values):
    for v in values:
        if math.isnan(v):
            return True
    return False


@jit
def _needs_sort(codes, t_ms):
    for i in range(1, codes.shape[0]):
        if codes[i] < codes[i - 1] or (codes[i] == codes[i - 1] and t_ms[i] < t_ms[i - 1]):
            return True
    return False


@jit
def _first_of_each_time(codes, t_ms):
    keep = np.ones(codes.shape[0], dtype=np.bool_)
    for i in range(1, codes.shape[0]):
        if codes[i] == codes[i - 1] and t_ms[i] == t_ms[i - 1]:
            keep[i] = False
    return keep


@jit
def _clean_and_sorted(t_ms, lat, lon, valid, bounds):
    """Every fix usable (the rule of :func:`bofan_analytics._fix.usable_fix`, checked in
    place without temporaries), and times strictly rising within each device."""
    for g in range(bounds.shape[0] - 1):
        for i in range(bounds[g], bounds[g + 1]):
            if t_ms[i] == _NAT or math.isnan(lat[i]) or math.isnan(lon[i]) or not valid[i]:
                return False
            if lat[i] == 0.0 and lon[i] == 0.0:
                return False
            if i > bounds[g] and t_ms[i] <= t_ms[i - 1]:
                return False
    return True


def _device_runs(col: pd.Series):
    """Runs of equal ids: ``(bounds, run_codes, uniques)``, or None for non-string ids.

    ``uniques`` are the ids in sorted order and ``run_codes`` the code of each run; sorted,
    grouped input has ``run_codes == arange``. Only the run heads are factorized, so input
    that is grouped but for some late rows costs little more than sorted input.
    """
    try:
        arr = pa.array(col.array) if hasattr(col.array, "__arrow_array__") else None
    except (pa.ArrowException, TypeError):
        arr = None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr is None or arr.null_count or not (pa.types.is_string(arr.type)
                                             or pa.types.is_large_string(arr.type)):
        return None
    runs = pc.run_end_encode(arr, run_end_type=pa.int64())
    heads = runs.values
    bounds = np.concatenate(([0], runs.run_ends.to_numpy())).astype(np.int64)
    if len(heads) < 2 or pc.all(pc.less(heads.slice(0, len(heads) - 1), heads.slice(1))).as_py():
        return bounds, np.arange(len(heads), dtype=np.int64), np.asarray(heads.to_pylist(),
                                                                          dtype=object)
    run_codes, uniques = pd.factorize(pd.array(heads, dtype="str"), sort=True)
    return bounds, run_codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _valid_flags(frame: pd.DataFrame) -> np.ndarray:
    if VALID not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    col = frame[VALID]
    if col.dtype == np.bool_:
        return col.to_numpy()
    return col.to_numpy(dtype=bool, na_value=False)  # no flag: not a fix (see _fix)


def prepare(frame: pd.DataFrame, *, require_fix: bool = True) -> Track:
    """Sort and de-duplicate the fixes of ``frame`` into a :class:`Track`.

    Parameters
    ----------
    frame : pandas.DataFrame
        Positions or messages (any extra columns are ignored).
    require_fix : bool
        Keep only usable fixes (see :mod:`bofan_analytics._fix`): flagged valid (a frame
        without a ``valid`` column counts as flagged), timed, with coordinates, not 0°/0°.
    """
    n = len(frame)
    t = times_ms(frame[TIME]) if n else np.empty(0, np.int64)
    lat = float_column(frame, LAT)
    lon = float_column(frame, LON)
    valid = _valid_flags(frame)
    runs = _device_runs(frame[DEVICE_ID]) if n else None
    if runs is not None:
        bounds, run_codes, uniques = runs
        grouped = bool((run_codes == np.arange(run_codes.shape[0])).all())
        if grouped and require_fix and _clean_and_sorted(*map(read_only, (t, lat, lon, valid, bounds))):
            return Track(devices=uniques, bounds=bounds, rows=None, t_ms=t, lat=lat, lon=lon,
                         speed_kmh=float_column(frame, SPEED_KMH),
                         odometer_m=float_column(frame, ODOMETER_M))
        codes = np.repeat(run_codes, np.diff(bounds))
    else:
        codes, uniques = pd.factorize(frame[DEVICE_ID], sort=True)
        codes = codes.astype(np.int64, copy=False)
    keep = (t != _NAT) & (codes >= 0)
    if require_fix:
        keep &= arrays_mask(t, lat, lon, valid)
    rows = np.flatnonzero(keep)
    c, tt = codes[rows], t[rows]
    if _needs_sort(c, tt):
        order = device_time_order(c, tt)  # stable: duplicates keep input order
        rows, c, tt = rows[order], c[order], tt[order]
    first = _first_of_each_time(c, tt)
    if not first.all():
        rows, c, tt = rows[first], c[first], tt[first]
    starts = np.flatnonzero(np.diff(c)) + 1
    bounds = np.concatenate(([0], starts, [c.shape[0]])).astype(np.int64)
    if c.shape[0] == 0:
        bounds = np.zeros(1, dtype=np.int64)
    devices = np.asarray(uniques, dtype=object)[c[bounds[:-1]]]

    def take(a):
        return np.ascontiguousarray(a[rows])

    return Track(
        devices=devices,
        bounds=bounds,
        rows=rows,
        t_ms=np.ascontiguousarray(tt),
        lat=take(lat),
        lon=take(lon),
        speed_kmh=take(float_column(frame, SPEED_KMH)),
        odometer_m=take(float_column(frame, ODOMETER_M)),
    )


def usable_fixes(frame):
    """The usable fixes of a pandas DataFrame as ``DecodedLog.positions()`` gives them: the
    rule of :mod:`bofan_analytics._fix`, the first copy of a re-sent fix, sorted by device
    and time (stable).

    A frame without a ``valid`` column (a plain table of positions) counts every row as
    flagged valid. Columns are kept as they are.
    """
    n = len(frame)
    valid = (np.ones(n, dtype=bool) if VALID not in frame.columns
             else frame[VALID].to_numpy(dtype=bool, na_value=False))
    t = times_ms(frame[TIME]) if n else np.empty(0, np.int64)
    keep = arrays_mask(t, float_column(frame, LAT), float_column(frame, LON), valid)
    fixes = frame.loc[keep].drop_duplicates([DEVICE_ID, TIME, LAT, LON])
    return fixes.sort_values([DEVICE_ID, TIME], kind="stable").reset_index(drop=True)


def localize_frame(frame: pd.DataFrame, tz, columns=None, positions=None) -> pd.DataFrame:
    """``frame`` with its time ``columns`` (default ``time`` and ``received_at``) in ``tz``.

    The instants are unchanged; missing times stay NaT. ``"auto"`` places the devices by
    ``positions`` (default: ``frame`` itself).
    """
    from ._tz import AUTO, resolve_tz

    if tz is None or frame.empty:
        return frame
    auto = isinstance(tz, str) and tz == AUTO
    zones = resolve_tz(tz, prepare(frame if positions is None else positions) if auto else None)
    if zones is None:
        return frame
    devices = frame[DEVICE_ID].to_numpy(dtype=object)
    frame = frame.copy(deep=False)
    for column in (TIME, RECEIVED_AT) if columns is None else columns:
        if column in frame.columns:
            frame[column] = to_times(times_ms(frame[column]), zones, devices)
    return frame
