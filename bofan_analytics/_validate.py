"""Checking a caller's arguments, with one wording for each kind of mistake.

Every public function and the command line check their options here before they read any
data, so the same mistake gets the same one-line :class:`~bofan_analytics.errors.FormatError`
wherever it is made:

* ``choice``: ``trip_mode must be one of move, ignition, got 'drive'``
* ``non_negative`` / ``positive``: ``min_duration_s must be a number >= 0, got -1``
* ``whole``: ``min_visits must be a whole number >= 1, got 0``
* ``zone``: ``unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin``
* ``moment``: ``start: cannot read 'yesterday' as a date or time``
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import zoneinfo
from collections.abc import Iterable

from .errors import FormatError

__all__ = ["choice", "non_negative", "positive", "whole", "zone", "moment"]

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def choice(name: str, value, options: Iterable):
    """``value`` if it is one of ``options`` (``None`` among them allows None), else a
    :class:`FormatError` that lists the choices.

    >>> choice("freq", "W", ("D", "W", "MS"))
    'W'
    >>> choice("freq", "Y", ("D", "W", None))
    Traceback (most recent call last):
    ...
    bofan_analytics.errors.FormatError: freq must be one of D, W or None, got 'Y'
    """
    options = tuple(options)
    try:
        if value in options:
            return value
    except TypeError:  # an unhashable or uncomparable value is no choice either
        pass
    shown = ", ".join(str(o) for o in options if o is not None)
    if None in options:
        shown += " or None"
    raise FormatError(f"{name} must be one of {shown}, got {value!r}")


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    number = float(value)
    return None if math.isnan(number) else number


def non_negative(name: str, value, *, allow_none: bool = False):
    """``value`` if it is a number >= 0 (or None when ``allow_none``), else a
    :class:`FormatError`.

    >>> non_negative("min_duration_s", 0)
    0
    """
    if value is None and allow_none:
        return value
    number = _number(value)
    if number is None or number < 0:
        tail = " or None" if allow_none else ""
        raise FormatError(f"{name} must be a number >= 0{tail}, got {value!r}")
    return value


def positive(name: str, value, *, allow_none: bool = False):
    """``value`` if it is a finite number > 0 (or None when ``allow_none``), else a
    :class:`FormatError`.

    >>> positive("radius_m", 150.0)
    150.0
    """
    if value is None and allow_none:
        return value
    number = _number(value)
    if number is None or not 0 < number < math.inf:
        tail = " or None" if allow_none else ""
        raise FormatError(f"{name} must be a number > 0{tail}, got {value!r}")
    return value


def whole(name: str, value, *, lo: int | None = None, hi: int | None = None) -> int:
    """``value`` as an int if it is a whole number within ``[lo, hi]``, else a
    :class:`FormatError`.

    >>> whole("resolution", 8, lo=0, hi=15)
    8
    """
    import numpy as np

    ok = not isinstance(value, bool) and isinstance(value, (int, np.integer))
    if ok and ((lo is not None and value < lo) or (hi is not None and value > hi)):
        ok = False
    if not ok:
        if lo is not None and hi is not None:
            bounds = f" from {lo} to {hi}"
        elif lo is not None:
            bounds = f" >= {lo}"
        elif hi is not None:
            bounds = f" <= {hi}"
        else:
            bounds = ""
        raise FormatError(f"{name} must be a whole number{bounds}, got {value!r}")
    return int(value)


def zone(value, *, also: str = ""):
    """``value`` if it names a time zone: an IANA name (``"UTC"`` in any case comes back as
    ``"UTC"``) or a ``tzinfo``; else a :class:`FormatError`. ``also`` names the other
    accepted values in the message (``", or auto"``).

    >>> zone("Europe/Berlin")
    'Europe/Berlin'
    >>> zone("Mars/Olympus")
    Traceback (most recent call last):
    ...
    bofan_analytics.errors.FormatError: unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin
    """
    if isinstance(value, dt.tzinfo):
        return value
    if isinstance(value, str) and value:
        if value.upper() == "UTC":
            return "UTC"
        try:
            zoneinfo.ZoneInfo(value)
            return value
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    raise FormatError(
        f"unknown time zone {value!r}: use an IANA name such as Europe/Berlin{also}")


def moment(name: str, value, tz=None) -> tuple[dt.datetime, bool]:
    """``value`` (text, date or datetime) as an aware datetime, and whether it was a bare
    date. A naive value is read in ``tz`` (one zone; default UTC); a wall time that the
    clocks skip or repeat reads as the later instant. A bare date comes back as its local
    midnight, not converted; anything else in UTC.

    >>> moment("start", "2026-11-02T07:10:00")
    (datetime.datetime(2026, 11, 2, 7, 10, tzinfo=datetime.timezone.utc), False)
    """
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
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz or "UTC", nonexistent="shift_forward", ambiguous=False)
    if whole_day:
        return stamp.to_pydatetime(), whole_day
    return stamp.tz_convert("UTC").to_pydatetime(), whole_day
