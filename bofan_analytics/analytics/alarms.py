"""Device alarms: every frame that carries one, as a tidy table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validate import choice
from ..schema import ALARM, ALARMS, DEVICE_ID, LAT, LON, MSG_TYPE, TIME
from ._cluster import on_cluster
from ._input import as_messages
from ._track import device_array, float_column, prepare, times_ms, to_times
from ._tz import AUTO, resolve_tz

__all__ = ["alarms", "ALARM_COLUMNS"]

ALARM_COLUMNS = (DEVICE_ID, TIME, ALARM, LAT, LON, MSG_TYPE)


def _kinds(kinds):
    """``kinds`` as a list of alarm names (one may be a plain string), or None."""
    if kinds is None:
        return None
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    for kind in kinds:
        choice("kinds", kind, ALARMS)
    return kinds


@on_cluster(check=lambda arguments: _kinds(arguments["kinds"]))
def alarms(messages, *, kinds=None, tz=None, devices=None, start=None,
           end=None) -> pd.DataFrame:
    """The alarms the devices raised: SOS, geofence, harsh acceleration/braking, fatigue,
    tow, vibration, movement, power cut, low battery.

    A frame repeated by the device (same device, time and alarm) is listed once.

    Parameters
    ----------
    messages : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Decoded messages (alarm frames may carry no fix: ``lat``/``lon`` are then NaN).
    kinds : iterable of str, optional
        Keep only these alarms (names as in ``bofan_analytics.schema.ALARMS``).
    tz : str, tzinfo, mapping or "auto", optional
        Time zone of the output times (default UTC): one zone, ``device_id -> zone``, or
        ``"auto"`` (each device's zone from its median position; see :mod:`._tz`).
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]`` (UTC, or local
        time when ``tz`` is one zone; a bare end date covers its whole day). From a dataset path only those rows are read.

    Returns
    -------
    pandas.DataFrame
        ``device_id, time, alarm, lat, lon, msg_type``, sorted by device and time.

    Examples
    --------
    >>> alarms(log, kinds=["sos", "power_cut"])                      # doctest: +SKIP
    """
    kinds = _kinds(kinds)
    frame = as_messages(messages, devices=devices, start=start, end=end, tz=tz)
    # "auto" places a device by its fixes, which may be other rows than its alarms
    tz = resolve_tz(tz, prepare(frame) if isinstance(tz, str) and tz == AUTO else None)
    if ALARM not in frame.columns:
        frame = frame.iloc[:0].assign(**{ALARM: pd.Series([], dtype="str")})
    keep = frame[ALARM].notna().to_numpy() & frame[TIME].notna().to_numpy()
    if kinds is not None:
        keep &= frame[ALARM].isin(kinds).to_numpy()
    sub = frame[keep]
    t = times_ms(sub[TIME]) if len(sub) else np.empty(0, np.int64)
    dev = sub[DEVICE_ID].astype("str").to_numpy(dtype=object)
    kind = sub[ALARM].astype("str").to_numpy(dtype=object)
    msg = (sub[MSG_TYPE].astype("str").to_numpy(dtype=object) if MSG_TYPE in sub.columns
           else np.full(len(sub), None, dtype=object))
    lat = float_column(sub, LAT)
    lon = float_column(sub, LON)
    if len(sub):
        order = np.lexsort((kind.astype(str), t, dev.astype(str)))
    else:
        order = np.empty(0, np.int64)
    dev, t, kind, msg = dev[order], t[order], kind[order], msg[order]
    lat, lon = lat[order], lon[order]
    first = np.ones(len(order), bool)
    first[1:] = ~((dev[1:] == dev[:-1]) & (t[1:] == t[:-1]) & (kind[1:] == kind[:-1]))
    return pd.DataFrame({
        DEVICE_ID: device_array(dev[first]),
        TIME: to_times(t[first], tz, dev[first]),
        ALARM: device_array(kind[first]),
        LAT: lat[first],
        LON: lon[first],
        MSG_TYPE: device_array(msg[first]),
    }, columns=list(ALARM_COLUMNS))
