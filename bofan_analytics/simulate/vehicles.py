"""PT-502 vehicle trackers: trips between sites, parks, ignition, drivers, alarms, a photo."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..decode.grammar import PT502_ALARMS
from .world import (
    _M_PER_DEG,
    _MS,
    _along,
    _inside_geofences,
    _jitter,
    _kinematics,
    _knots,
    _Recorder,
    _report_times,
    _route,
    _schedule,
    _to_latlon,
)

__all__ = []


#: RFID tags of the simulated drivers, as the PT-502 driver field carries them.
_RFID = ("04A1B2C3D4", "04B7E2910F", "0519C3AA7E", "05D2846B1C", "06003F9A2B", "06E5C1D378")


_PT502_FIRMWARE = "510-V1.12,A11-V3.0"


# Alarm sentence types and the alarm name a decoder reports for them: the decoder's table.
_PT502_ALARMS = PT502_ALARMS


def _drive(rng, start, target, bearing, hard_accel, hard_brake):
    """Route and speed profile of one trip; times of the planted hard accel/brake."""
    points = _route(rng, start, target, bearing)
    lengths = np.hypot(*np.diff(points, axis=0).T)
    m = len(lengths)
    classes = np.where(
        lengths > 1200,
        np.where(rng.random(m) < 0.55, 2, 1),
        np.where(lengths > 600, rng.integers(0, 2, m), 0),
    )
    targets = np.choose(
        classes, [rng.uniform(30, 50, m), rng.uniform(60, 85, m), rng.uniform(95, 120, m)]
    )
    lights = rng.random(m + 1) < 0.45
    lights[0] = lights[-1] = False
    lights[1:] &= ~lights[:-1]  # never two red lights in a row: one wait is at most 90 s
    corner = np.where(lights, 0.0, rng.uniform(15, 30, m + 1) / 3.6)
    corner[0] = corner[-1] = 0.0
    dwell = np.where(lights, rng.integers(30, 91, m + 1), 0)
    accel = rng.uniform(1.2, 2.2, m)
    brake = rng.uniform(1.5, 2.5, m)
    light_at = np.flatnonzero(lights)
    events = {}
    if hard_accel and len(light_at):
        accel[light_at[0]] = 3.8  # the segment leaving the first light
    if hard_brake and len(light_at):
        brake[light_at[-1] - 1] = 5.0  # the segment ending at the last light
    kt, kv, ks = _knots(lengths, targets, corner, dwell, accel, brake)
    stopped = np.flatnonzero((kv[:-1] == 0) & (kv[1:] == 0))
    if hard_accel and len(light_at):
        events["HDA"] = kt[stopped[0] + 1] + 2
    if hard_brake and len(light_at):
        events["HDB"] = kt[stopped[-1]] - 2
    return points, (kt, kv, ks), events


def _simulate_vehicle(rng, index, city, sites, t0, days, geofences):
    """Frames (DataFrame, by time) and planted trips/parks of one PT-502 vehicle.

    Frames of a trip carry its number in ``trip``, park frames -1; the arrival fix (speed 0,
    at the destination) is the first frame of the next park.
    """
    end = t0 + days * 86400
    awake_parked = index % 3 != 2
    rec = _Recorder(msg_type="POS", alarm=None, odometer=np.nan)
    trips, parks = [], []
    odometer = odometer0 = float(int(rng.uniform(1e7, 5e8)))
    position = np.array(sites[0])
    park_start = t0 + int(rng.integers(5, 60))
    heading = 0.0
    planted = {"HDA": False, "HDB": False}

    def park_fixes(start, stop):
        rel = _report_times(rng, 0, stop - start - 5, 120, 300)
        if not awake_parked:
            rel = rel[rel < 600]  # the tracker falls asleep
        jx, jy = _jitter(rng, len(rel), 10, 20)
        lat, lon = _to_latlon(city, position[0] + jx, position[1] + jy)
        rec.add(
            time=start + rel,
            lat=lat,
            lon=lon,
            speed_ms=0.0,
            course=heading,
            inputs="00000",
            trip=-1,
        )
        parks.append({"start": start, "end": stop, "x": position[0], "y": position[1]})

    schedule = _schedule(rng, t0, days, len(sites))
    for trip_no, (depart, dest) in enumerate(schedule):
        depart = max(depart, park_start + 1200)
        park_fixes(park_start, depart)
        target = np.array(sites[dest])
        want_a = not planted["HDA"] and rng.random() < 0.6
        want_b = not planted["HDB"] and rng.random() < 0.6
        points, (kt, kv, ks), events = _drive(rng, position, target, city[4], want_a, want_b)
        duration = int(math.ceil(kt[-1]))
        first = int(rng.integers(3, 7))
        rel = np.concatenate([[first], _report_times(rng, first, duration - 3, 10, 30)])
        lat, lon = _fixes_on_route(city, points, kt, kv, ks, rel, rec, depart, trip_no, odometer)
        taken = set(rel.tolist())
        alarms = [(msg, _PT502_ALARMS[msg], sec) for msg, sec in events.items()]
        planted.update(dict.fromkeys(events, True))
        for msg, when in _trip_alarms(index, trip_no, len(schedule)):
            if msg == "GOF":
                inside = _inside_geofences(geofences, lat, lon)[:, 0]
                if inside[0] and (~inside).any():
                    alarms.append((msg, "geofence", rel[np.argmax(~inside)] + 1))
            else:
                alarms.append((msg, _PT502_ALARMS[msg], duration * when))
        for msg, alarm, sec in alarms:
            sec = int(sec)
            while sec in taken:
                sec += 1
            taken.add(sec)
            _fixes_on_route(
                city,
                points,
                kt,
                kv,
                ks,
                np.array([sec]),
                rec,
                depart,
                trip_no,
                odometer,
                msg_type=msg,
                alarm=alarm,
            )
        odometer += ks[-1]
        position = target
        heading = float(_along(points, np.array([ks[-1]]))[2][0])
        trips.append({"start": depart, "end": depart + duration})
        alat, alon = _to_latlon(city, target[0], target[1])
        rec.add(
            time=np.array([depart + duration]),
            lat=np.array([alat]),
            lon=np.array([alon]),
            speed_ms=0.0,
            course=heading,
            inputs="00000",
            trip=-1,
            odometer=odometer,
        )
        park_start = depart + duration
    park_fixes(park_start, end - 60)
    parks[-1]["end"] = end

    df = rec.frame()
    df["odometer"] = df["odometer"].astype(float)
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    df["odometer"] = df["odometer"].fillna(odometer0).cummax()
    df["level"] = 15
    charges = _park_alarms(rng, index, df, parks, city)
    df = df.sort_values("time", kind="stable").reset_index(drop=True)
    return df, trips, parks, charges


def _fixes_on_route(city, points, kt, kv, ks, rel, rec, depart, trip_no, odometer, **extra):
    speed, dist = _kinematics(kt, kv, ks, rel.astype(float))
    x, y, course = _along(points, dist)
    lat, lon = _to_latlon(city, x, y)
    rec.add(
        time=depart + rel,
        lat=lat,
        lon=lon,
        speed_ms=speed,
        course=course,
        inputs="00010",
        trip=trip_no,
        odometer=odometer + dist,
        **extra,
    )
    return lat, lon


def _trip_alarms(index, trip_no, n_trips):
    """Alarms raised while driving, planted on a few vehicles: (type, fraction of the trip)."""
    if index == 1 and trip_no == 2:
        yield "IN1", 0.55
    if index == 2 and trip_no == n_trips - 2:
        yield "FDA", 0.8
    if index == 7 and trip_no in (0, n_trips // 2 + 1):
        yield "GOF", 0.0


def _park_alarms(rng, index, df, parks, city):
    """Alarms raised while parked: a power cut and a tow; the charge after the power cut.

    After the cut the backup battery drains one level (of 15) every 20 min; the power comes
    back when the vehicle leaves and the battery charges one level every 2 min.
    """
    charges = []
    if index % 10 == 3:
        park = next(p for p in parks[1:] if 1800 < p["end"] - p["start"] < 4 * 3600)
        t = park["start"] + 300
        rows = df.index[(df["time"] > t) & (df["time"] < park["end"]) & (df["trip"] == -1)]
        df.loc[rows, "level"] = np.maximum(14 - (df.loc[rows, "time"] - t) // 1200, 6)
        low = int(df.loc[rows, "level"].min())
        back = park["end"]
        full = back + (15 - low - 1) * 120
        rows = df.index[(df["time"] >= back) & (df["time"] < full)]
        df.loc[rows, "level"] = low + 1 + (df.loc[rows, "time"] - back) // 120
        _append_fix(df, rng, t, "CPA", park, city)
        charges.append(
            {"start": back, "end": full, "start_pct": low * 100 / 15, "rate": 100 / 15 * 30}
        )
    if index % 10 == 5:
        park = max(parks, key=lambda p: p["end"] - p["start"])
        _append_fix(df, rng, park["start"] + 4 * 3600 + 17, "TOW", park, city)
    return charges


def _append_fix(df, rng, t, msg, park, city):
    jx, jy = _jitter(rng, 1, 10, 20)
    lat, lon = _to_latlon(city, park["x"] + jx, park["y"] + jy)
    before = df[df["time"] <= t].iloc[-1].to_dict()
    before.update(
        msg_type=msg,
        alarm=_PT502_ALARMS[msg],
        time=t,
        lat=float(lat[0]),
        lon=float(lon[0]),
        speed_ms=0.0,
        trip=-1,
        level=15,
    )
    df.loc[len(df)] = before


def _driver_tag(index, trip_no):
    """The RFID of trip ``trip_no`` of vehicle ``index``, or None (nobody badged in)."""
    if trip_no < 0 or trip_no % 5 == 4:
        return None
    return _RFID[(index + trip_no % 2) % len(_RFID)]


def _driver_tags(index, trips):
    """:func:`_driver_tag` of every frame (``trips``: its trip number, -1 parked)."""
    tags = np.asarray(_RFID, dtype=object)[(index + trips % 2) % len(_RFID)]
    tags[(trips < 0) | (trips % 5 == 4)] = None
    return tags


def _finish_vehicle(rng, index, device_id, df):
    """Fix flags, state, photo, firmware, duplicates and the late upload of one vehicle."""
    n = len(df)
    df["device_id"], df["protocol"], df["kind"] = device_id, "pt502", "pos"
    df["valid"] = True
    df["sats"] = rng.integers(6, 13, n)
    df["rssi"] = rng.integers(9, 16, n)
    driving = (df["trip"] >= 0) & (df["msg_type"] == "POS")
    first_of_trip = df["trip"].ne(df["trip"].shift())
    invalid = (driving & ~first_of_trip & (rng.random(n) < 0.02)).to_numpy()
    df.loc[invalid, "valid"] = False
    df.loc[invalid, "sats"] = rng.integers(0, 4, int(invalid.sum()))
    jx, jy = _jitter(rng, int(invalid.sum()), 30, 150)
    df.loc[invalid, "lat"] += jy / _M_PER_DEG
    df.loc[invalid, "lon"] += jx / _M_PER_DEG
    df["adc"] = [f"{a:x},0,0,0" for a in rng.integers(0x130, 0x280, n)]
    df["time_ms"] = df["time"].astype(np.int64) * _MS
    df["received_ms"] = df["time_ms"] + rng.integers(300, 2500, n)
    df["late"] = False
    df["duplicate"] = False
    df["driver_id"] = _driver_tags(index, df["trip"].to_numpy(np.int64))

    if index % 6 == 0:
        # a coverage gap in the middle of the longest trip: its fixes arrive after it, late
        trip = int(df[driving].groupby("trip").size().idxmax())
        rows = np.flatnonzero((df["trip"] == trip).to_numpy())
        gap = rows[len(rows) // 3 : len(rows) // 3 + max(8, len(rows) // 6)]
        resume = int(df.loc[gap[-1] + 1, "received_ms"])
        df.loc[gap, "late"] = True
        df.loc[gap, "received_ms"] = resume + 800 + 150 * np.arange(len(gap))

    extra = []
    if index == 0:
        extra += _photo(rng, df)
        extra.append(
            {
                "device_id": device_id,
                "protocol": "pt502",
                "msg_type": "FUS",
                "kind": "fus",
                "received_ms": int(df["received_ms"].min()) - 2000,
                "firmware": _PT502_FIRMWARE,
            }
        )

    # the same frame sent twice
    candidates = np.flatnonzero(((df["msg_type"] == "POS") & df["valid"] & ~df["late"]).to_numpy())
    dup = np.sort(rng.choice(candidates, size=max(1, len(candidates) // 150), replace=False))
    copies = df.loc[dup].copy()
    copies["duplicate"] = True
    copies["received_ms"] = copies["received_ms"] + rng.integers(2000, 8000, len(copies))
    return pd.concat([df, copies, pd.DataFrame(extra)], ignore_index=True)


def _photo(rng, df):
    """A ``$PHO`` announcement during a daytime park and its ``$PHD`` chunks."""
    parked = df.index[(df["trip"] == -1) & (df["time"] > df["time"].iloc[0] + 7 * 3600)]
    row = df.loc[parked[1]].to_dict()
    t = int(row["time"]) + 37
    size = int(rng.integers(1800, 2600))
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    body = rng.integers(0, 256, size - len(head) - 2, dtype=np.uint8).tobytes()
    # a line break inside the binary data: framing must go by the length field
    body = body[:100] + b"\r\n" + body[102:]
    photo = head + body + b"\xff\xd9"
    row.update(
        msg_type=f"PHO{size}-1",
        time=t,
        time_ms=t * _MS,
        received_ms=t * _MS + 900,
        photo_size=size,
        duplicate=False,
        late=False,
    )
    rows = [row]
    for k, offset in enumerate(range(0, size, 960)):
        rows.append(
            {
                "device_id": row["device_id"],
                "protocol": "pt502",
                "msg_type": "PHD",
                "kind": "phd",
                "received_ms": t * _MS + 1000 + 40 * k,
                "payload": photo[offset : offset + 960],
                "photo_offset": offset,
            }
        )
    return rows
