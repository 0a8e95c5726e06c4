"""Tiny hand-built tracks for exact tests: ``make_track`` and the moves it is built from.

Positions are written in metres east/north of :data:`ORIGIN` and times in seconds after
:data:`T0`, so an expected answer can be worked out on paper.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bofan_analytics.schema import (
    ALARM,
    BATTERY_PCT,
    COURSE,
    DEVICE_ID,
    LAT,
    LON,
    MSG_TYPE,
    ODOMETER_M,
    PROTOCOL,
    SPEED_KMH,
    TIME,
    VALID,
)

__all__ = ["T0", "ORIGIN", "at", "ts", "make_track", "park", "drive", "concat"]

T0 = pd.Timestamp("2026-11-02T07:00:00Z")
ORIGIN = (52.0, 13.0)
_M_PER_DEG = 6_371_008.8 * math.pi / 180.0


def at(east_m: float, north_m: float) -> tuple[float, float]:
    """(lat, lon) of a point ``east_m``/``north_m`` metres from :data:`ORIGIN`."""
    lat = ORIGIN[0] + north_m / _M_PER_DEG
    lon = ORIGIN[1] + east_m / (_M_PER_DEG * math.cos(math.radians(ORIGIN[0])))
    return lat, lon


def ts(seconds: float, start: pd.Timestamp = T0) -> pd.Timestamp:
    """The time ``seconds`` after ``start`` (UTC, millisecond unit like the schema)."""
    return (start + pd.Timedelta(seconds=seconds)).as_unit("ms")


def park(t0: float, t1: float, x: float, y: float, *, step_s: float = 10, jitter_m: float = 0,
         seed: int = 0) -> list[tuple]:
    """Fixes every ``step_s`` from ``t0`` to ``t1`` (both included) at (x, y) ± jitter."""
    rng = np.random.default_rng(seed)
    out = []
    for t in np.arange(t0, t1 + 1e-9, step_s):
        dx, dy = rng.uniform(-jitter_m, jitter_m, 2) if jitter_m else (0.0, 0.0)
        out.append((float(t), x + dx, y + dy, 0.0))
    return out


def drive(t0: float, start: tuple, end: tuple, speed_kmh: float, *, step_s: float = 10,
          include_start: bool = False, stop_at_end: bool = True) -> list[tuple]:
    """Fixes every ``step_s`` along the straight line start -> end at ``speed_kmh``.

    The first fix is one step after ``t0`` (the start is usually the last fix of a stop);
    the last fix is exactly at ``end`` (the final step may be shorter) and, with
    ``stop_at_end``, reports speed 0 like a vehicle that has arrived.
    """
    (x0, y0), (x1, y1) = start, end
    length = math.hypot(x1 - x0, y1 - y0)
    v = speed_kmh / 3.6
    total = length / v
    times = list(np.arange(0 if include_start else step_s, total, step_s)) + [total]
    out = []
    for dt in times:
        f = dt / total
        out.append((t0 + float(dt), x0 + f * (x1 - x0), y0 + f * (y1 - y0), speed_kmh))
    if stop_at_end:
        out[-1] = (*out[-1][:3], 0.0)
    return out


def concat(*parts) -> list[tuple]:
    return [fix for part in parts for fix in part]


def make_track(fixes, *, device: str = "860000000000001", protocol: str = "pt502",
               speed: bool = True, battery=None, odometer=None, alarms=None,
               start: pd.Timestamp = T0, inputs=None, drivers=None,
               course=None) -> pd.DataFrame:
    """Positions (the ``DecodedLog.positions()`` layout) from ``(t_s, east_m, north_m, speed)``.

    ``speed=False`` leaves ``speed_kmh`` null as PT-60 does. ``battery``/``odometer`` are
    per-fix sequences or None; ``alarms`` maps a fix index to an alarm name; times count
    from ``start``. ``inputs`` (strings like ``"00010"`` or integer masks), ``drivers``
    (RFID strings or None) and ``course`` (degrees) are per-fix sequences too.
    """
    fixes = list(fixes)
    n = len(fixes)
    lat = np.empty(n)
    lon = np.empty(n)
    for i, f in enumerate(fixes):
        lat[i], lon[i] = at(f[1], f[2])
    times = pd.DatetimeIndex([ts(f[0], start) for f in fixes], dtype="datetime64[ms, UTC]")
    spd = [f[3] if len(f) > 3 and speed else None for f in fixes]
    alarm = [None] * n
    for i, name in (alarms or {}).items():
        alarm[i] = name
    extra = {}
    if inputs is not None:
        ints = all(isinstance(v, (int, np.integer)) or v is None for v in inputs)
        extra["inputs"] = pd.array(list(inputs), dtype="Int64" if ints else "str")
    if drivers is not None:
        extra["driver_id"] = pd.array(list(drivers), dtype="str")
    return pd.DataFrame({
        DEVICE_ID: pd.array([device] * n, dtype="str"),
        TIME: times,
        LAT: lat,
        LON: lon,
        SPEED_KMH: pd.array(spd, dtype="float64"),
        COURSE: np.full(n, np.nan) if course is None else np.asarray(course, dtype=float),
        VALID: np.ones(n, dtype=bool),
        ALARM: pd.array(alarm, dtype="str"),
        BATTERY_PCT: pd.array(list(battery) if battery is not None else [None] * n, dtype="float64"),
        ODOMETER_M: pd.array(list(odometer) if odometer is not None else [None] * n, dtype="float64"),
        PROTOCOL: pd.array([protocol] * n, dtype="str"),
        MSG_TYPE: pd.array(["POS" if protocol == "pt502" else "G6"] * n, dtype="str"),
        **extra,
    })
