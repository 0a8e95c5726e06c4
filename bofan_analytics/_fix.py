"""What counts as a usable fix: one rule for positions, datasets, analyses, report and maps.

A row is a usable fix when

* the device's own fix flag is true (``valid``; PT-60 cell-only frames are not, and a row
  whose flag is missing is not either),
* it has a ``time``,
* it has both coordinates (``lat`` and ``lon`` not null),
* and they are not 0°/0°: a receiver without a fix sends zeros, and no vehicle stands at
  that point of the Gulf of Guinea.

:func:`usable_fix` is that rule as a pyarrow expression: a dataset filter (it runs on the
Parquet files) and, through :func:`usable_mask`, a boolean mask over a table or arrays.

Of a fix a device sent more than once (same device, time and coordinates: a re-sent log),
the first copy in input order is kept; that needs the rows in order, so it is a step of
its own (:func:`bofan_analytics.decode.positions_from_messages` for Arrow tables, which
``DecodedLog.positions()`` and the dataset readers use, and
:func:`bofan_analytics.analytics._track.usable_fixes` for DataFrames), both ordering the
rows with :func:`device_time_order`. Analyses then keep one fix per device and time
(:mod:`.analytics._track`).
"""

from __future__ import annotations

import functools

import numpy as np
import pyarrow as pa

from .schema import LAT, LON, NULL_TIME_MS, TIME, VALID

__all__ = ["usable_fix", "usable_mask", "arrays_mask", "device_time_order", "NAT"]


@functools.lru_cache(maxsize=1)
def usable_fix():
    """The usable-fix rule as a ``pyarrow.compute.Expression`` over ``valid``, ``time``,
    ``lat`` and ``lon``.

    >>> import pyarrow.dataset as ds
    >>> print(usable_fix())  # doctest: +NORMALIZE_WHITESPACE
    (((((valid == true) and is_valid(time)) and is_valid(lat)) and is_valid(lon))
     and invert(((lat == 0) and (lon == 0))))
    """
    import pyarrow.compute as pc

    lat, lon = pc.field(LAT), pc.field(LON)
    return (
        (pc.field(VALID) == pa.scalar(True))
        & pc.field(TIME).is_valid()
        & lat.is_valid()
        & lon.is_valid()
        & ~((lat == pa.scalar(0.0)) & (lon == pa.scalar(0.0)))
    )


def usable_mask(table: pa.Table) -> np.ndarray:
    """A boolean numpy mask: which rows of ``table`` (with the four columns of the rule)
    are usable fixes."""
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    columns = table.select([VALID, TIME, LAT, LON])
    keep = ds.dataset(columns).to_table(columns={"keep": usable_fix()}).column("keep")
    return pc.fill_null(keep, False).to_numpy(zero_copy_only=False)


#: A missing time among int64 milliseconds (pandas' NaT).
NAT = NULL_TIME_MS


def arrays_mask(t_ms: np.ndarray, lat: np.ndarray, lon: np.ndarray,
                valid: np.ndarray) -> np.ndarray:
    """:func:`usable_mask` over plain arrays: times in ms (:data:`NAT` where missing), NaN
    for missing coordinates, the fix flags as bools."""
    table = pa.table({
        VALID: pa.array(np.asarray(valid, dtype=bool)),
        TIME: pa.array(t_ms, mask=t_ms == NAT),
        LAT: pa.array(lat, from_pandas=True),
        LON: pa.array(lon, from_pandas=True),
    })
    return usable_mask(table)


def device_time_order(device: np.ndarray, time: np.ndarray) -> np.ndarray:
    """The stable order of rows by ``device`` (integer codes from 0), then ``time``:
    ``np.lexsort((time, device))``, without sorting what is in order already.

    Rows are put in device order by a radix sort of the small codes; a log is mostly in
    time order per device, so only the devices whose times then go backwards somewhere
    (a unit sending fixes it buffered offline) are sorted by time too.

    >>> device_time_order(np.array([1, 0, 1, 0]), np.array([5, 9, 2, 7])).tolist()
    [3, 1, 2, 0]
    """
    if device.shape[0] == 0:
        return np.empty(0, np.int64)
    small = np.int16 if int(device.max()) < np.iinfo(np.int16).max else np.int64
    order = np.argsort(device.astype(small), kind="stable")
    d, t = device[order], time[order]
    back = (t[1:] < t[:-1]) & (d[1:] == d[:-1])
    if back.any():
        at = np.flatnonzero(np.isin(d, np.unique(d[1:][back])))  # those devices' rows
        sub = order[at]
        order[at] = sub[np.lexsort((time[sub], device[sub]))]
    return order
