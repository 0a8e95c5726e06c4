"""Selecting rows by device and time range, the same way for datasets and in-memory tables.

``start`` is inclusive; ``end`` is inclusive too, and a bare date (``"2026-11-02"``) as
``end`` covers that whole day. Naive times (and bare dates) are UTC, or local time in
``tz`` when one zone is given: ``end="2026-03-29"`` with ``tz="Europe/Berlin"`` ends at
Berlin's midnight, whatever the day's length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ._validate import moment
from .schema import DEVICE_ID, TIME

__all__ = ["TimeBound", "Devices", "device_list", "time_range", "filter_rows"]

TimeBound = str | dt.date | dt.datetime | None
Devices = str | Iterable[str] | None


def device_list(devices: Devices) -> list[str] | None:
    """``devices`` as a list of ids (one id may be given as a plain string)."""
    if devices is None:
        return None
    return [devices] if isinstance(devices, str) else [str(d) for d in devices]


def time_range(start: TimeBound, end: TimeBound, tz=None):
    """``(lo, hi, hi_inclusive)``: rows with ``lo <= time`` and ``time <= hi`` (or ``< hi``
    when ``hi_inclusive`` is false: a bare end date becomes the next local midnight).
    Naive bounds are read in the one zone ``tz`` names (see :func:`..analytics._tz.single_zone`)."""
    import pandas as pd

    if tz is not None:
        from .analytics._tz import single_zone

        tz = single_zone(tz)
    lo = moment("start", start, tz)[0] if start is not None else None
    if lo is not None:
        lo = lo.astimezone(dt.timezone.utc)
    hi = None
    inclusive = True
    if end is not None:
        hi, whole_day = moment("end", end, tz)
        if whole_day:
            # the next local midnight: a calendar day, 23 or 25 hours on a DST change
            nxt = (pd.Timestamp(hi).tz_localize(None) + pd.Timedelta(days=1))
            hi = nxt.tz_localize(pd.Timestamp(hi).tz, nonexistent="shift_forward",
                                 ambiguous=False).to_pydatetime()
            inclusive = False
        hi = hi.astimezone(dt.timezone.utc)
    return lo, hi, inclusive


def filter_rows(frame, *, devices: Devices = None, start: TimeBound = None,
                end: TimeBound = None, time_column: str = TIME, tz=None):
    """The rows of a pandas DataFrame of these devices within ``[start, end]`` (naive
    bounds in ``tz``)."""
    import pandas as pd

    ids = device_list(devices)
    if ids is None and start is None and end is None:
        return frame
    keep = pd.Series(True, index=frame.index)
    if ids is not None:
        keep &= frame[DEVICE_ID].isin(ids)
    lo, hi, inclusive = time_range(start, end, tz)
    if lo is not None or hi is not None:
        time = pd.to_datetime(frame[time_column], utc=True)
        if lo is not None:
            keep &= time >= pd.Timestamp(lo)
        if hi is not None:
            keep &= (time <= pd.Timestamp(hi)) if inclusive else (time < pd.Timestamp(hi))
    return frame.loc[keep.fillna(False).astype(bool)]
