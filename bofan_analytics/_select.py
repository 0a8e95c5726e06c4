"""Selecting rows by device and time range, the same way for datasets and in-memory tables.

``start`` is inclusive; ``end`` is inclusive too, and a bare date (``"2026-11-02"``) as
``end`` covers that whole day. Naive times are UTC.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from .errors import FormatError
from .schema import DEVICE_ID, TIME

__all__ = ["TimeBound", "Devices", "device_list", "time_range", "filter_rows"]

TimeBound = str | dt.date | dt.datetime | None
Devices = str | Iterable[str] | None

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def device_list(devices: Devices) -> list[str] | None:
    """``devices`` as a list of ids (one id may be given as a plain string)."""
    if devices is None:
        return None
    return [devices] if isinstance(devices, str) else [str(d) for d in devices]


def _bound(value, name: str) -> tuple[dt.datetime, bool]:
    """``value`` as an aware UTC datetime, and whether it was a bare date."""
    import pandas as pd

    whole_day = (isinstance(value, dt.date) and not isinstance(value, dt.datetime)) or (
        isinstance(value, str) and bool(_DATE_ONLY.match(value.strip()))
    )
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise FormatError(f"{name}: cannot read {value!r} as a date or time") from None
    if pd.isna(stamp):
        raise FormatError(f"{name}: cannot read {value!r} as a date or time")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime(), whole_day


def time_range(start: TimeBound, end: TimeBound):
    """``(lo, hi, hi_inclusive)``: rows with ``lo <= time`` and ``time <= hi`` (or ``< hi``
    when ``hi_inclusive`` is false: a bare end date becomes the next midnight)."""
    lo = _bound(start, "start")[0] if start is not None else None
    hi = None
    inclusive = True
    if end is not None:
        hi, whole_day = _bound(end, "end")
        if whole_day:
            hi += dt.timedelta(days=1)
            inclusive = False
    return lo, hi, inclusive


def filter_rows(frame, *, devices: Devices = None, start: TimeBound = None,
                end: TimeBound = None, time_column: str = TIME):
    """The rows of a pandas DataFrame of these devices within ``[start, end]``."""
    import pandas as pd

    ids = device_list(devices)
    if ids is None and start is None and end is None:
        return frame
    keep = pd.Series(True, index=frame.index)
    if ids is not None:
        keep &= frame[DEVICE_ID].isin(ids)
    lo, hi, inclusive = time_range(start, end)
    if lo is not None or hi is not None:
        time = pd.to_datetime(frame[time_column], utc=True)
        if lo is not None:
            keep &= time >= pd.Timestamp(lo)
        if hi is not None:
            keep &= (time <= pd.Timestamp(hi)) if inclusive else (time < pd.Timestamp(hi))
    return frame.loc[keep.fillna(False).astype(bool)]
