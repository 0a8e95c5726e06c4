"""Local time: which zone each device's times are shown in.

Every analytics function computes in UTC and only converts its output times, so a
daylight-saving change never splits or stretches anything: the night the clocks go back
has 25 hours, the one they go forward 23, and no hour is repeated or missing in a result.
``tz=`` takes

* ``None``: UTC;
* an IANA zone name (``"Europe/Berlin"``) or a ``tzinfo``: every device in that zone;
* a mapping ``device_id -> zone``: each device in its zone (devices it leaves out stay UTC);
* ``"auto"``: each device in the zone of its median position (the median latitude and the
  median longitude of its fixes), looked up offline with ``timezonefinder``; a device
  without any fix, or whose median lies at sea outside any zone, stays UTC.

When the devices of a result end up in one zone, time columns are ordinary tz-aware
columns in that zone. When they are in several, a time column holds each row's time in
its own device's zone (object dtype: pandas cannot hold several zones in one datetime
column); ``pd.to_datetime(column, utc=True)`` turns it back into one UTC column.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._validate import zone as _zone
from ..errors import FormatError

__all__ = ["AUTO", "check_zone", "check_tz", "resolve_tz", "single_zone", "localize",
           "zone_of_rows", "local_hour"]

AUTO = "auto"


def check_zone(zone):
    """``zone`` if it is a time zone (IANA name or tzinfo), else a :class:`FormatError`."""
    return _zone(zone, also=", a mapping device_id -> zone, or 'auto'")


def check_tz(tz):
    """``tz`` if it is a valid ``tz=`` argument (None, a zone, a mapping of zones or
    ``"auto"``), else a :class:`FormatError`; reads no data."""
    if tz is None or (isinstance(tz, str) and tz == AUTO):
        return tz
    if isinstance(tz, Mapping):
        for zone in tz.values():
            check_zone(zone)
        return tz
    return check_zone(tz)


def single_zone(tz):
    """The one zone ``tz`` names (for reading ``start``/``end``), or None (UTC, or several
    zones, or ``"auto"``, which is only known once the positions are read)."""
    if tz is None or (isinstance(tz, str) and tz == AUTO):
        return None
    if isinstance(tz, Mapping):
        zones = {str(z) for z in tz.values()}
        return check_zone(next(iter(tz.values()))) if len(zones) == 1 else None
    return check_zone(tz)


def _median_zones(devices, lat, lon, bounds) -> dict:
    from timezonefinder import TimezoneFinder

    finder = TimezoneFinder()
    zones = {}
    for g, device in enumerate(devices):  # one lookup per device, not per fix
        a, b = bounds[g], bounds[g + 1]
        la, lo = lat[a:b], lon[a:b]
        ok = ~(np.isnan(la) | np.isnan(lo))
        if not ok.any():
            continue
        zone = finder.timezone_at(lat=float(np.median(la[ok])), lng=float(np.median(lo[ok])))
        if zone:
            zones[str(device)] = zone
    return zones


def resolve_tz(tz, track=None):
    """``tz`` as None, one zone, or a dict ``device_id -> zone`` for ``track``'s devices.

    ``"auto"`` needs ``track`` (its positions decide). A mapping whose devices all share
    one zone comes back as that zone.
    """
    if tz is None:
        return None
    if isinstance(tz, str) and tz == AUTO:
        if track is None:
            raise FormatError("tz='auto' needs positions to find the devices' zones")
        zones = _median_zones(track.devices, track.lat, track.lon, track.bounds)
        present = [str(d) for d in track.devices]
        return _collapse({d: zones.get(d, "UTC") for d in present})
    if isinstance(tz, Mapping):
        zones = {str(d): check_zone(z) for d, z in tz.items()}
        if track is not None:
            zones = {str(d): zones.get(str(d), "UTC") for d in track.devices}
        return _collapse(zones)
    return check_zone(tz)


def _collapse(zones: dict):
    distinct = {str(z) for z in zones.values()}
    if len(distinct) == 1:
        return next(iter(zones.values()))
    if not distinct:
        return None
    return zones


def zone_of_rows(tz, devices) -> np.ndarray:
    """The zone name of each row (``devices``: the device id of each row)."""
    devices = np.asarray(devices, dtype=object)
    if not isinstance(tz, dict):
        return np.full(devices.shape[0], "UTC" if tz is None else str(tz), dtype=object)
    out = pd.Series(devices.astype(str)).map(tz).fillna("UTC")
    return out.to_numpy(dtype=object)


def localize(index: pd.DatetimeIndex, tz, devices=None):
    """UTC ``index`` in ``tz`` (resolved by :func:`resolve_tz`); ``devices`` per row is
    needed when ``tz`` is a dict of several zones."""
    if tz is None:
        return index
    if not isinstance(tz, dict):
        return index.tz_convert(tz)
    if devices is None:
        raise FormatError("times in several zones need the device of each row")
    rows = zone_of_rows(tz, devices)
    out = np.empty(len(index), dtype=object)
    for zone in pd.unique(rows):  # one conversion per zone
        sel = rows == zone
        out[sel] = index[sel].tz_convert(zone).astype(object)
    return pd.Index(out, dtype=object)


def local_hour(t_ms: np.ndarray, tz, devices=None) -> np.ndarray:
    """The local hour (0-23) of each UTC millisecond time, one conversion per zone."""
    index = pd.DatetimeIndex(np.asarray(t_ms, np.int64).view("datetime64[ms]")).tz_localize("UTC")
    if not isinstance(tz, dict):
        return np.asarray((index if tz is None else index.tz_convert(tz)).hour)
    rows = zone_of_rows(tz, devices)
    out = np.empty(len(index), np.int64)
    for zone in pd.unique(rows):
        sel = rows == zone
        out[sel] = index[sel].tz_convert(zone).hour
    return out
