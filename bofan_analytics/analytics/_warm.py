"""The analyses a first notebook runs, on a tiny made-up fleet: what a second process runs
on a fresh install to compile their kernels while the first process compiles its own.

When a process first compiles an analytics kernel (nothing of them is in the on-disk cache
yet), :mod:`bofan_analytics._numba` has :func:`warm_up` run in a second process, at a lower
priority, on the core the first one leaves idle: that process compiles the kernels of the
analyses the notebooks and the report call, and the first process then loads each from the
cache instead of compiling it, when it gets there after the second. The first process
compiles whatever it reaches first itself, so nothing waits for the second.

The fleet goes through the same code as a user's data (a messages table, ``positions()``,
the public functions), so the kernels are compiled for the argument types the package
passes: a test checks that a real flow adds no second signature.
"""

from __future__ import annotations

import numpy as np

from . import battery, behaviour, daily, geofences, overspeed

__all__ = ["KERNELS", "warm_up", "tiny_fleet"]


#: what :func:`~bofan_analytics._numba.compile_aside` checks the on-disk cache of
KERNELS = (overspeed._runs.serial, geofences._crossings.serial, battery._battery.serial,
           behaviour._harsh.serial, daily._fix_stats)  # fmt: skip


#: a square around the first device's route, as GeoJSON (a geofence it enters and leaves)
_FENCE = {
    "type": "FeatureCollection",
    "features": [{
        "type": "Feature",
        "properties": {"name": "depot", "speed_limit_kmh": 20},
        "geometry": {"type": "Polygon", "coordinates": [[
            [28.030, -26.180], [28.036, -26.180], [28.036, -26.174], [28.030, -26.174],
            [28.030, -26.180],
        ]]},
    }],
}


def tiny_fleet():
    """A :class:`~bofan_analytics.DecodedLog` of two devices over two hours: a vehicle
    (PT-502) that drives out of a depot, speeds, stops and drives again, with ignition,
    driver, battery and an alarm; a personal tracker (PT-60) walking with a falling
    battery. Made as a table, not decoded: warming up the analyses compiles no decoder."""
    import pyarrow as pa

    from .. import schema as S
    from ..decode import DecodedLog

    n = 240
    t0 = 1_793_000_000_000
    step = np.arange(n)
    # the vehicle: 30 s apart; drives (ramping up past 100 km/h), stops, drives on
    moving = (step < 100) | (step >= 140)
    speed = np.where(moving, np.minimum(step % 100, 60) * 2.0, 0.0)
    lat = -26.177 + np.cumsum(speed) * 2e-6
    lon = 28.033 + np.cumsum(speed) * 1e-6
    car = {
        S.DEVICE_ID: ["7001"] * n,
        S.PROTOCOL: ["pt502"] * n,
        S.MSG_TYPE: ["POS"] * n,
        S.TIME: t0 + step * 30_000,
        S.VALID: [True] * n,
        S.LAT: lat,
        S.LON: lon,
        S.SPEED_KMH: speed,
        S.COURSE: np.full(n, 45.0),
        S.ALARM: [("sos" if k == 50 else None) for k in range(n)],
        S.BATTERY_PCT: np.linspace(90.0, 60.0, n).round(),
        S.SATELLITES: np.full(n, 9, np.int32),
        S.INPUTS: np.where(moving, 1, 0).astype(np.int32),
        S.ODOMETER_M: np.cumsum(speed / 3.6 * 30.0),
        S.DRIVER_ID: ["D1"] * n,
    }
    walk = {
        S.DEVICE_ID: ["8002"] * n,
        S.PROTOCOL: ["pt60"] * n,
        S.MSG_TYPE: ["G6"] * n,
        S.TIME: t0 + step * 30_000 + 7_000,
        S.VALID: [True] * n,
        S.LAT: -26.170 + step * 1e-5,
        S.LON: 28.040 - step * 1e-5,
        S.SPEED_KMH: np.full(n, 4.0),
        S.ALARM: [("low_battery" if k == 200 else None) for k in range(n)],
        S.BATTERY_PCT: np.linspace(40.0, 10.0, n).round(),
    }
    parts = []
    for rows in (car, walk):
        columns = {}
        for field in S.MESSAGES:
            if field.name in rows:
                values = rows[field.name]
                if field.name == S.TIME:
                    values = pa.array(values, pa.int64()).cast(field.type)
                columns[field.name] = pa.array(values, field.type)
            else:
                columns[field.name] = pa.nulls(n, field.type)
        parts.append(pa.table(columns, schema=S.MESSAGES))
    messages = pa.concat_tables(parts).sort_by([(S.TIME, "ascending")])
    return DecodedLog(messages, S.REJECTS.empty_table())


def warm_up() -> None:
    """Run the analyses of the notebooks and the report on :func:`tiny_fleet`: the later
    steps of a notebook first (the first process is busy with the first ones)."""
    import os
    import tempfile

    import bofan_analytics as ba

    from ..viz._regions import find_regions

    log = tiny_fleet()
    positions = log.positions()
    ba.find_overspeed(positions, limit_kmh=90)
    ba.geofence_visits(positions, _FENCE)
    # a map's own kernels (a map also splits trips, which the first process is compiling)
    find_regions(positions)
    ba.battery_trends(log)
    ba.alarms(log)
    ba.daily_summary(positions, limit_kmh=90)
    ba.harsh_events(positions)
    ba.scorecard(positions)
    with tempfile.TemporaryDirectory() as folder:
        ba.write_report(log, os.path.join(folder, "report.html"), speed_limit_kmh=90,
                        geofences=_FENCE)
    stops = ba.detect_stops(positions)
    ba.detect_trips(positions)
    ba.track_map(positions, geofences=_FENCE).get_root().render()
    ba.places(stops)
