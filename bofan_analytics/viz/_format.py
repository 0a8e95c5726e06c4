"""Human-readable values for maps and reports (times in UTC, durations, distances)."""

import math

__all__ = ["fmt_time", "fmt_duration", "fmt_km", "fmt_number"]


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, NaT, pd.NA compare unequal to themselves
    except (TypeError, ValueError):
        return False


def fmt_time(value) -> str:
    """``2026-11-02 07:10:27 UTC``, or local time with its zone's abbreviation when the
    value is in a zone (``2026-11-02 08:10:27 CET``); an empty string for a missing time.

    Examples
    --------
    >>> import pandas as pd
    >>> fmt_time(pd.Timestamp("2026-11-02T07:10:27.948Z"))
    '2026-11-02 07:10:27 UTC'
    >>> fmt_time(pd.Timestamp("2026-11-02T07:10:27Z").tz_convert("Europe/Berlin"))
    '2026-11-02 08:10:27 CET'
    """
    if _missing(value):
        return ""
    import pandas as pd

    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    zone = ts.strftime("%Z")
    if not zone or zone[0] in "+-":  # zones without an abbreviation: the offset
        zone = "UTC" + ts.strftime("%z")[:3] + ":" + ts.strftime("%z")[3:]
    return ts.strftime("%Y-%m-%d %H:%M:%S ") + zone


def fmt_duration(seconds) -> str:
    """``2 h 05 min``, ``12 min``, ``4 min 30 s``, ``45 s``; an empty string when missing.

    Examples
    --------
    >>> fmt_duration(7500), fmt_duration(750), fmt_duration(270), fmt_duration(45)
    ('2 h 05 min', '12 min', '4 min 30 s', '45 s')
    """
    if _missing(seconds):
        return ""
    s = int(round(float(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def fmt_km(metres) -> str:
    """Metres as kilometres with one decimal: ``12.3 km``."""
    if _missing(metres):
        return ""
    return f"{float(metres) / 1000:.1f} km"


def fmt_number(value, digits: int = 1) -> str:
    """A number with ``digits`` decimals, or an empty string when missing."""
    if _missing(value):
        return ""
    v = float(value)
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v:.{digits}f}"
