"""One sort, then arrays: the common first step of every positions analysis.

:func:`prepare` keeps the usable fixes (time and coordinates present, fix flag not false,
not 0°/0°), sorts them by ``(device_id, time)`` once, drops repeated ``(device_id, time)``
fixes (a device that re-sends its log), and hands back plain contiguous arrays plus the
group boundaries ``bounds`` (device ``g`` owns rows ``bounds[g]:bounds[g + 1]``). Kernels
then run per device over sorted arrays. Late uploads are placed by their time: arrival
order plays no part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._numba import jit
from ..schema import DEVICE_ID, LAT, LON, ODOMETER_M, SPEED_KMH, TIME, VALID
from ._geo import fill_speed, hop_distances

__all__ = ["Track", "prepare", "compact_rows", "float_column", "times_ms", "to_times", "device_array"]

_NAT = np.iinfo(np.int64).min


@dataclass
class Track:
    """Sorted, de-duplicated fixes of many devices as arrays."""

    devices: np.ndarray  #: device id of each group (object array)
    bounds: np.ndarray  #: int64, group g is rows bounds[g]:bounds[g+1]
    rows: np.ndarray  #: int64, row of the input frame each fix came from
    t_ms: np.ndarray  #: int64 milliseconds since the epoch, UTC
    lat: np.ndarray
    lon: np.ndarray
    speed_kmh: np.ndarray  #: reported speed, NaN where the protocol has none
    odometer_m: np.ndarray

    @property
    def n(self) -> int:
        return int(self.t_ms.shape[0])

    def group_of(self, idx: np.ndarray) -> np.ndarray:
        """Group number of each row index in ``idx``."""
        return np.searchsorted(self.bounds, idx, side="right") - 1

    def device_of(self, idx: np.ndarray) -> np.ndarray:
        return self.devices[self.group_of(idx)]

    def hops_m(self) -> np.ndarray:
        """Metres from the previous fix of the same device (0 at a device's first fix)."""
        if self._hops is None:
            self._hops = hop_distances(self.lat, self.lon, self.bounds)
        return self._hops

    def speed_or_derived(self) -> np.ndarray:
        """Reported speed, or where it is missing (PT-60) the speed implied by positions."""
        return fill_speed(self.speed_kmh, self.hops_m(), self.t_ms, self.bounds)

    _hops: np.ndarray | None = None


def float_column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A column as float64 with NaN for null; all NaN when the column is absent."""
    if name not in frame.columns:
        return np.full(len(frame), np.nan)
    col = frame[name]
    if col.dtype == np.float64:
        return col.to_numpy()
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


def times_ms(col: pd.Series) -> np.ndarray:
    """Milliseconds since the epoch (UTC) of a time column; naive times are taken as UTC."""
    if not isinstance(col.dtype, pd.DatetimeTZDtype):
        col = pd.to_datetime(col, utc=True)
    index = pd.DatetimeIndex(col)
    return np.asarray(index.tz_convert("UTC").as_unit("ms").asi8)


def to_times(t_ms: np.ndarray, tz=None) -> pd.DatetimeIndex:
    """Epoch milliseconds as tz-aware times: UTC, or local in ``tz`` (same instants)."""
    index = pd.DatetimeIndex(np.asarray(t_ms, dtype=np.int64).view("datetime64[ms]"))
    index = index.tz_localize("UTC")
    return index if tz is None else index.tz_convert(tz)


def device_array(values) -> pd.arrays.ArrowStringArray | np.ndarray:
    """Device ids as the package's string dtype."""
    return pd.array(np.asarray(values, dtype=object), dtype="str")


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


def prepare(frame: pd.DataFrame, *, require_fix: bool = True) -> Track:
    """Sort and de-duplicate the fixes of ``frame`` into a :class:`Track`.

    Parameters
    ----------
    frame : pandas.DataFrame
        Positions or messages (any extra columns are ignored).
    require_fix : bool
        Keep only rows with coordinates, a fix flag that is not false and not 0°/0°.
    """
    t = times_ms(frame[TIME]) if len(frame) else np.empty(0, np.int64)
    codes, uniques = pd.factorize(frame[DEVICE_ID], sort=True)
    codes = codes.astype(np.int64, copy=False)
    lat = float_column(frame, LAT)
    lon = float_column(frame, LON)
    keep = (t != _NAT) & (codes >= 0)
    if require_fix:
        keep &= ~(np.isnan(lat) | np.isnan(lon))
        keep &= ~((lat == 0.0) & (lon == 0.0))
        if VALID in frame.columns:
            keep &= frame[VALID].to_numpy(dtype=bool, na_value=True)
    rows = np.arange(len(frame), dtype=np.int64) if keep.all() else np.flatnonzero(keep)
    if rows.shape[0] != len(frame):
        c, tt = codes[rows], t[rows]
    else:
        c, tt = codes, t
    if _needs_sort(c, tt):
        order = np.lexsort((tt, c))  # stable: duplicates keep input order
        rows, c, tt = rows[order], c[order], tt[order]
    first = _first_of_each_time(c, tt)
    if not first.all():
        rows, c, tt = rows[first], c[first], tt[first]
    starts = np.flatnonzero(np.diff(c)) + 1
    bounds = np.concatenate(([0], starts, [c.shape[0]])).astype(np.int64)
    if c.shape[0] == 0:
        bounds = np.zeros(1, dtype=np.int64)
    devices = np.asarray(uniques, dtype=object)[c[bounds[:-1]]]
    whole = rows.shape[0] == len(frame) and rows[-1:].tolist() == [len(frame) - 1]
    identity = whole and not (rows[1:] < rows[:-1]).any()

    def take(a):
        return np.ascontiguousarray(a if identity else a[rows])

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
