"""PT-60 personal trackers: walks between home, work and a shop; battery, steps, heart rate."""

from __future__ import annotations

import math

import numpy as np

from .world import (
    _along,
    _jitter,
    _kinematics,
    _knots,
    _place,
    _Recorder,
    _report_times,
    _route,
    _to_latlon,
)

__all__ = []


def _battery_model(rng, t0, days, low):
    """Interval table of a PT-60 battery: drain at a known rate, charge overnight."""
    drain = float(rng.uniform(2.0, 3.5))
    charge = float(rng.uniform(30, 45))
    plugs = []
    for day in range(days):
        plug = t0 + day * 86400 + int(rng.uniform(19.5, 21.5) * 3600)
        unplug = t0 + (day + 1) * 86400 + int(rng.uniform(5.0, 6.0) * 3600)
        plugs.append((plug, unplug))
    first_hours = (plugs[0][0] - t0) / 3600
    if low:
        b0 = float(rng.uniform(92, 99))
        drain = (b0 - float(rng.uniform(9, 13))) / first_hours
    else:
        b0 = float(rng.uniform(80, 98))
        drain = min(drain, (b0 - 24) / first_hours)
    # (start, end, start_pct, slope per s, cap)
    table, t, b = [], t0, b0
    charges = []
    for plug, unplug in plugs:
        table.append((t, plug, b, -drain / 3600))
        b = b - drain * (plug - t) / 3600
        full = plug + int(round((100 - b) / charge * 3600))
        charges.append({"start": plug, "end": full, "start_pct": b, "rate": charge})
        table.append((plug, unplug, b, charge / 3600))
        t, b = unplug, 100.0
    table.append((t, t0 + days * 86400 + 86400, b, -drain / 3600))
    return table, charges, drain


def _battery_at(table, t, rng, noisy=True):
    starts = np.array([row[0] for row in table])
    i = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(table) - 1)
    base = np.array([row[2] for row in table])[i]
    slope = np.array([row[3] for row in table])[i]
    pct = np.minimum(base + slope * (t - starts[i]), 100.0)
    # the gauge is noisy while draining, smooth on the charger
    noise = rng.uniform(-1.0, 1.0, len(t)) if noisy else 0.0
    pct = np.where(slope > 0, pct, pct + noise)
    return np.clip(np.round(pct), 1, 100)


def _simulate_person(rng, index, family, city, t0, days, geofences):
    """Frames (DataFrame) and planted walks/places/charges of one PT-60 tracker."""
    end = t0 + days * 86400
    home = _place(rng, city, (0.0, 0.0), 1000, 4000, geofences)
    work = _place(rng, city, home, 1500, 2800, geofences)
    shop = _place(rng, city, work, 500, 1000, geofences)
    rec = _Recorder()
    walks, stays = [], []
    stay_start = t0
    here = home
    segments = []  # (start, end, points, kt, kv, ks)
    for day in range(days):
        base = t0 + day * 86400
        plan = [
            (base + int(rng.uniform(6.0, 7.5) * 3600), work),
            (base + int(rng.uniform(15.0, 16.5) * 3600), shop),
            (None, home),
        ]
        for depart, dest in plan:
            if depart is None:
                depart = stay_start + int(rng.uniform(15, 35) * 60)
            points = _route(rng, here, dest, city[4])
            lengths = np.hypot(*np.diff(points, axis=0).T)
            m = len(lengths)
            pace = rng.uniform(3.0, 6.0, m)
            waits = rng.random(m + 1) < 0.3
            waits[0] = waits[-1] = False
            corner = np.where(waits, 0.0, pace.min() / 3.6 * 0.8)
            corner = np.concatenate([[0.0], corner[1:-1], [0.0]])
            dwell = np.where(waits, rng.integers(20, 61, m + 1), 0)
            kt, kv, ks = _knots(lengths, pace, corner, dwell, np.full(m, 0.5), np.full(m, 0.5))
            duration = int(math.ceil(kt[-1]))
            stays.append({"start": stay_start, "end": depart, "x": here[0], "y": here[1]})
            segments.append((depart, depart + duration, points, kt, kv, ks))
            walks.append({"start": depart, "end": depart + duration})
            here = dest
            stay_start = depart + duration
    stays.append({"start": stay_start, "end": end, "x": here[0], "y": here[1]})

    table, charges, drain = _battery_model(rng, t0, days, low=index == 0)

    # positions: walking every 60-120 s, at places every 15-20 min (30-60 at night)
    pos_t, pos_lat, pos_lon, pos_walk, pos_trip = [], [], [], [], []
    for k, (start, stop, points, kt, kv, ks) in enumerate(segments):
        first = int(rng.integers(5, 20))
        rel = np.concatenate([[first], _report_times(rng, first, stop - start - 3, 60, 120)])
        _, dist = _kinematics(kt, kv, ks, rel.astype(float))
        x, y, _ = _along(points, dist)
        lat, lon = _to_latlon(city, x, y)
        pos_t.append(start + rel), pos_lat.append(lat), pos_lon.append(lon)
        pos_walk.append(np.ones(len(rel), bool)), pos_trip.append(np.full(len(rel), k))
    for stay in stays:
        # the first fix at a place is the arrival, at the end of the route
        first_stay = stay["start"] == t0
        rel = np.concatenate(
            [
                [30 if first_stay else 0],
                _report_times(rng, 30, stay["end"] - stay["start"] - 30, 900, 1200),
            ]
        )
        jx, jy = _jitter(rng, len(rel), 10, 20)
        if not first_stay:
            jx[0] = jy[0] = 0.0
        lat, lon = _to_latlon(city, stay["x"] + jx, stay["y"] + jy)
        pos_t.append(stay["start"] + rel), pos_lat.append(lat), pos_lon.append(lon)
        pos_walk.append(np.zeros(len(rel), bool)), pos_trip.append(np.full(len(rel), -1))
    pos_t = np.concatenate(pos_t)
    order = np.argsort(pos_t, kind="stable")
    pos_t, pos_lat, pos_lon = (
        pos_t[order],
        np.concatenate(pos_lat)[order],
        np.concatenate(pos_lon)[order],
    )
    pos_walk, pos_trip = np.concatenate(pos_walk)[order], np.concatenate(pos_trip)[order]
    keep = np.concatenate([[True], np.diff(pos_t) > 0]) & (pos_t < end)
    pos_t, pos_lat, pos_lon, pos_walk, pos_trip = (
        a[keep] for a in (pos_t, pos_lat, pos_lon, pos_walk, pos_trip)
    )
    battery = _battery_at(table, pos_t, rng)
    state = pos_walk.astype(int)

    login_t = t0 + int(rng.integers(1, 5))
    beat_t = _report_times(rng, 10, days * 86400 - 60, 1700, 1900) + t0
    beat_batt = _battery_at(table, beat_t, rng)
    walking_at = np.zeros(len(beat_t), bool)
    for start, stop, *_ in segments:
        walking_at |= (beat_t >= start) & (beat_t < stop)

    if family == "G":
        rec.add(kind="g_login", msg_type="G1", time=np.array([login_t]), timeless=True)
        rec.add(
            kind="g_pos",
            msg_type="G6",
            time=pos_t,
            lat=pos_lat,
            lon=pos_lon,
            valid=True,
            trip=pos_trip,
        )
        hr = np.where(
            walking_at, rng.integers(88, 118, len(beat_t)), rng.integers(58, 78, len(beat_t))
        )
        rec.add(kind="g_hr", msg_type="G14", time=beat_t, battery=beat_batt, heart_rate=hr)
        step_t = _report_times(rng, 1800, days * 86400 - 60, 3500, 3700) + t0
        rec.add(kind="g_steps", msg_type="G13", time=step_t, steps=_steps(step_t, segments, t0))
    else:
        mcc = city[3]
        cells = [
            ",".join(
                map(
                    str,
                    (
                        int(rng.integers(10000, 65000)),
                        int(rng.integers(1000, 30000)),
                        int(rng.integers(1, 11)),
                        mcc,
                        0,
                    ),
                )
            )
            for _ in range(3)
        ]
        rec.add(
            kind="b_login",
            msg_type="B3",
            time=np.array([login_t]),
            battery=_battery_at(table, np.array([login_t]), rng),
            state=0,
            cells="|".join(cells),
        )
        # outdoors and on arrival a GPS fix, indoors mostly cell towers
        gps = (
            pos_walk
            | np.concatenate([[True], pos_trip[:-1] >= 0])
            | (rng.random(len(pos_t)) < 0.25)
        )
        rssi = rng.integers(3, 31, (len(pos_t), 3))
        cell_text = np.array(
            [
                "|".join(f"{c.rsplit(',', 1)[0]},{r}" for c, r in zip(cells, row, strict=True))
                for row in rssi
            ],
            dtype=object,
        )
        rec.add(
            kind=np.where(gps, "b_gps", "b_cells"),
            msg_type="B1",
            time=pos_t,
            lat=np.where(gps, pos_lat, np.nan),
            lon=np.where(gps, pos_lon, np.nan),
            valid=gps,
            battery=battery,
            state=state,
            cells=np.where(gps, None, cell_text),
            trip=pos_trip,
        )
        rec.add(
            kind="b_beat",
            msg_type="B33",
            time=beat_t,
            battery=beat_batt,
            state=walking_at.astype(int),
        )
    df = rec.frame().sort_values("time", kind="stable").reset_index(drop=True)
    return df, walks, stays, charges, drain


def _steps(times, segments, t0):
    """Cumulative steps since midnight: walking at 0.72 m a step plus 250 an hour awake."""
    walked = np.zeros(len(times))
    for start, stop, _, kt, kv, ks in segments:
        _, dist = _kinematics(kt, kv, ks, np.clip(times - start, 0, stop - start).astype(float))
        walked += np.where(times >= start, dist, 0.0)
    midnight = t0 + (times - t0) // 86400 * 86400
    walked_before = np.zeros(len(times))
    for start, stop, _, kt, kv, ks in segments:
        _, dist = _kinematics(kt, kv, ks, np.clip(midnight - start, 0, stop - start).astype(float))
        walked_before += np.where(midnight >= start, dist, 0.0)
    awake_h = np.clip((times - midnight) / 3600 - 6, 0, 16)
    return ((walked - walked_before) / 0.72 + 250 * awake_h).astype(np.int64)
