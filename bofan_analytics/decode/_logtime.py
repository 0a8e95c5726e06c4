"""A time zone as the table of its offset changes, for kernels that read local log times."""

import functools
from datetime import datetime, timedelta, timezone

import numpy as np

from .._validate import zone as check_zone

__all__ = ["zone_table"]

_FIRST_YEAR, _LAST_YEAR = 1970, 2100
_STEP = timedelta(days=7)  # offsets never change twice within a week


@functools.lru_cache(maxsize=32)
def zone_table(zone: str | None):
    """``(utc_ms, offset_ms)``: the offset in effect from each UTC instant on.

    The first entry holds since the beginning of time; changes are found between 1970 and
    2100 (week by week, then to the second). ``None`` or ``"UTC"`` is one entry.

    >>> utc, off = zone_table("Europe/Berlin")
    >>> int(off[0]) // 3_600_000
    1
    """
    if zone is None or zone == "UTC":
        return np.array([np.iinfo(np.int64).min], np.int64), np.zeros(1, np.int64)
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(check_zone(zone))  # an unknown zone: the one FormatError of _validate

    def offset(t):
        return t.astimezone(tz).utcoffset()

    t = datetime(_FIRST_YEAR, 1, 1, tzinfo=timezone.utc)
    end = datetime(_LAST_YEAR, 1, 1, tzinfo=timezone.utc)
    utc = [np.iinfo(np.int64).min]
    offs = [offset(t)]
    while t < end:
        nxt = t + _STEP
        if offset(nxt) != offs[-1]:
            lo, hi = t, nxt  # offset(lo) is the old one, offset(hi) the new
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if offset(mid) == offs[-1]:
                    lo = mid
                else:
                    hi = mid
            hi = hi.replace(microsecond=0)
            utc.append(int(hi.timestamp()) * 1000)
            offs.append(offset(hi))
        t = nxt
    return (
        np.array(utc, np.int64),
        np.array([int(o.total_seconds()) * 1000 for o in offs], np.int64),
    )
