"""What a correct decoder and correct analyses find in the fleet: the truth tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .encoder import _iso_ms
from .world import _MS, _haversine_m, _inside_geofences

__all__ = ["SPEED_LIMIT_KMH", "TRUTH_VERSION", "TRUTH_FRAME_COLUMNS", "frames_table"]


#: The speed limit of the planted overspeed episodes.
SPEED_LIMIT_KMH = 90.0


#: Version of the truth document layout; bumped when a key changes meaning.
TRUTH_VERSION = 2


def _positions(df):
    """Valid fixes without duplicates, by device and time: what ``positions()`` returns."""
    pos = df[df["valid"].fillna(False).astype(bool) & ~df["duplicate"] & df["lat"].notna()]
    return pos.sort_values(["device_id", "time_ms"], kind="stable")


def _engine_s(fixes):
    """Ignition-on time over ``fixes`` (a PT-502 trip): the hops from fixes sent while
    driving (ignition on) up to the arrival fix (off); None for PT-60 (no ignition)."""
    if fixes["protocol"].iloc[0] != "pt502":
        return None
    t = fixes["time_ms"].to_numpy(np.int64)
    on = (fixes["trip"].to_numpy() >= 0)[:-1]
    return float(np.diff(t)[on].sum()) / _MS


def _daily(df, trips, zones):
    """Per vehicle and local calendar day (the zone of its city): distance and engine time
    of its trips, a hop over midnight shared in proportion to time, and trips by start."""
    pos = _positions(df)
    rows = []
    for trip in trips[trips["protocol"] == "pt502"].itertuples():
        g = pos[(pos["device_id"] == trip.device_id)
                & pos["time_ms"].between(trip.start_time, trip.end_time)]
        t = g["time_ms"].to_numpy(np.int64)
        lat, lon = g["lat"].to_numpy(float), g["lon"].to_numpy(float)
        on = g["trip"].to_numpy() >= 0
        zone = zones[trip.device_id]
        day0 = pd.Timestamp(t[0], unit="ms", tz="UTC").tz_convert(zone).date()
        rows.append((trip.device_id, day0, 0.0, 0.0, 1))
        for i in range(len(t) - 1):  # hop by hop: the slow, obvious reference
            d = float(_haversine_m(lat[i], lon[i], lat[i + 1], lon[i + 1]))
            a = pd.Timestamp(t[i], unit="ms", tz="UTC").tz_convert(zone)
            b = pd.Timestamp(t[i + 1], unit="ms", tz="UTC").tz_convert(zone)
            cut = (a.tz_localize(None).normalize() + pd.Timedelta(days=1)).tz_localize(zone)
            parts = [(a, b)] if b <= cut else [(a, cut), (cut, b)]
            for x, y in parts:
                share = (y - x) / (b - a)
                rows.append((trip.device_id, x.date(), d * share,
                             (y - x).total_seconds() if on[i] else 0.0, 0))
    daily = pd.DataFrame(rows, columns=["device_id", "day", "distance_m", "engine_s", "trips"])
    daily = daily.groupby(["device_id", "day"], sort=True).sum().reset_index()
    daily["day"] = daily["day"].astype(str)
    daily["zone"] = daily["device_id"].map(zones)
    return daily[["device_id", "day", "zone", "distance_m", "engine_s", "trips"]]


def _track_length_m(lat, lon):
    if len(lat) < 2:
        return 0.0
    return float(_haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]).sum())


def _overspeed(pos, limits, zones):
    """Runs of consecutive fixes of a device above their limit (a new limit starts a run)."""
    rows = []
    device = pos["device_id"].to_numpy(object)
    speed = pos["speed_kmh"].to_numpy(float)
    t = pos["time_ms"].to_numpy()
    above = speed > limits
    same = np.concatenate([[False], (device[1:] == device[:-1]) & (limits[1:] == limits[:-1])])
    starts = np.flatnonzero(above & ~(same & np.concatenate([[False], above[:-1]])))
    for a in starts:
        b = a + 1
        while b < len(pos) and above[b] and same[b]:
            b += 1
        rows.append(
            {
                "device_id": device[a],
                "start_time": t[a],
                "end_time": t[b - 1],
                "max_speed_kmh": float(speed[a:b].max()),
                "fixes": int(b - a),
                "limit_kmh": float(limits[a]),
                "geofence": zones[a],
            }
        )
    columns = [
        "device_id",
        "start_time",
        "end_time",
        "max_speed_kmh",
        "fixes",
        "limit_kmh",
        "geofence",
    ]
    return pd.DataFrame(rows, columns=columns)


def _episodes(df, trips, stops, charges, battery, geofences):
    """The planted episodes as tables, with times taken from the frames."""
    pos = _positions(df)
    by_device = {d: g for d, g in pos.groupby("device_id", sort=False)}

    trip_rows = []
    for trip in trips:
        g = by_device[trip["device_id"]]
        t = g["time_ms"].to_numpy()
        inside = g[(t >= trip["start"] * _MS) & (t <= trip["end"] * _MS)]
        speed = inside["speed_kmh"].astype(float)
        trip_rows.append(
            {
                "device_id": trip["device_id"],
                "protocol": inside["protocol"].iloc[0],
                "start_time": inside["time_ms"].iloc[0],
                "end_time": inside["time_ms"].iloc[-1],
                "distance_m": _track_length_m(
                    inside["lat"].to_numpy(float), inside["lon"].to_numpy(float)
                ),
                "max_speed_kmh": speed.max() if speed.notna().any() else None,
                "fixes": len(inside),
                "driver_id": trip["driver_id"],
                "engine_s": _engine_s(inside),
            }
        )
    trips_df = pd.DataFrame(trip_rows)

    stop_rows = []
    for stop in stops:
        g = by_device[stop["device_id"]]
        t = g["time_ms"].to_numpy()
        inside = t[(t >= stop["start"] * _MS) & (t < stop["end"] * _MS)]
        later = t[t >= stop["end"] * _MS]
        if not len(inside):
            continue
        end_time = later[0] if len(later) else inside[-1]
        stop_rows.append(
            {
                "device_id": stop["device_id"],
                "start_time": inside[0],
                "end_time": end_time,
                "duration_s": (end_time - inside[0]) / _MS,
                "lat": stop["lat"],
                "lon": stop["lon"],
                "fixes": len(inside),
                "open_started": bool(t[0] == inside[0]),
                "open_ended": not len(later),
            }
        )
    stops_df = pd.DataFrame(stop_rows)

    vehicles = pos[pos["protocol"] == "pt502"]
    over_df = _overspeed(vehicles, np.full(len(vehicles), SPEED_LIMIT_KMH), [None] * len(vehicles))
    # with the zones' own limits: a fix in a zone with speed_limit_kmh takes the lowest
    limits = np.full(len(vehicles), SPEED_LIMIT_KMH)
    zone = np.full(len(vehicles), None, dtype=object)
    inside = _inside_geofences(
        geofences, vehicles["lat"].to_numpy(float), vehicles["lon"].to_numpy(float)
    )
    for k, feature in enumerate(geofences["features"]):
        limit = feature["properties"].get("speed_limit_kmh")
        if limit is None:
            continue
        lower = inside[:, k] & (limit < limits)
        limits[lower], zone[lower] = limit, feature["properties"]["name"]
    zone_df = _overspeed(vehicles, limits, zone)

    names = [f["properties"]["name"] for f in geofences["features"]]
    fence_rows = []
    for device, g in by_device.items():
        lat, lon = g["lat"].to_numpy(float), g["lon"].to_numpy(float)
        inside = _inside_geofences(geofences, lat, lon)
        t = g["time_ms"].to_numpy()
        for k, name in enumerate(names):
            for i in np.flatnonzero(np.diff(inside[:, k].astype(np.int8))) + 1:
                fence_rows.append(
                    {
                        "device_id": device,
                        "geofence": name,
                        "event": "enter" if inside[i, k] else "exit",
                        "time": t[i],
                        "lat": lat[i],
                        "lon": lon[i],
                    }
                )
    fences_df = pd.DataFrame(
        fence_rows, columns=["device_id", "geofence", "event", "time", "lat", "lon"]
    )
    fences_df = fences_df.sort_values(["device_id", "time", "geofence"], kind="stable").reset_index(
        drop=True
    )

    charges_df = pd.DataFrame(
        [
            {
                "device_id": c["device_id"],
                "start_time": c["start"] * _MS,
                "end_time": None if c["end"] is None else c["end"] * _MS,
                "start_pct": round(c["start_pct"], 2),
                "end_pct": round(c["end_pct"], 2),
                "rate_pct_per_h": round(c["rate"], 3),
                "complete": c["complete"],
            }
            for c in charges
        ],
        columns=[
            "device_id",
            "start_time",
            "end_time",
            "start_pct",
            "end_pct",
            "rate_pct_per_h",
            "complete",
        ],
    )
    alarm_rows = df[df["alarm"].notna() & ~df["duplicate"]]
    alarms_df = alarm_rows[["device_id", "time_ms", "alarm", "lat", "lon", "msg_type"]].rename(
        columns={"time_ms": "time"}
    )
    alarms_df = alarms_df.sort_values(["device_id", "time"], kind="stable").reset_index(drop=True)
    pho = df[df["msg_type"] == "PHO"]
    photos_df = pd.DataFrame(
        {
            "device_id": pho["device_id"].to_numpy(),
            "time": pho["time_ms"].to_numpy(),
            "size": pho["photo_size"].to_numpy(),
            "chunks": [
                int(((df["msg_type"] == "PHD") & (df["device_id"] == d)).sum())
                for d in pho["device_id"]
            ],
        }
    )
    return {
        "trips": trips_df,
        "stops": stops_df,
        "overspeed": over_df.drop(columns="geofence"),
        "zone_overspeed": zone_df,
        "geofence_events": fences_df,
        "charges": charges_df,
        "battery": pd.DataFrame(battery, columns=["device_id", "drain_pct_per_h", "noise_pct"]),
        "alarms": alarms_df,
        "photos": photos_df,
    }


#: Columns of ``truth["frames"]``, in order.
TRUTH_FRAME_COLUMNS = (
    "device_id",
    "protocol",
    "msg_type",
    "time",
    "received_at",
    "valid",
    "lat",
    "lon",
    "speed_kmh",
    "course",
    "alarm",
    "battery_pct",
    "satellites",
    "rssi",
    "odometer_m",
    "firmware",
    "steps",
    "heart_rate",
    "photo_size",
    "photo_offset",
    "duplicate",
    "late",
    "offset",
    "driver_id",
)


_TIME_COLUMNS = {"time", "received_at", "start_time", "end_time"}


_DIGITS = {
    "lat": 9,
    "lon": 9,
    "speed_kmh": 6,
    "course": 2,
    "battery_pct": 6,
    "distance_m": 1,
    "max_speed_kmh": 6,
    "duration_s": 3,
    "start_pct": 2,
    "engine_s": 3,
}


def _json_value(value, col):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if col in _TIME_COLUMNS:
        return _iso_ms(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return round(value, _DIGITS[col]) if col in _DIGITS else value
    return str(value)


def _json_column(series, col):
    return [_json_value(v, col) for v in series.astype(object).tolist()]


def _json_records(df):
    cols = {c: _json_column(df[c], c) for c in df.columns}
    return [dict(zip(cols, values, strict=True)) for values in zip(*cols.values(), strict=True)]


def frames_table(frames: pd.DataFrame):
    """The truth frames as a pyarrow Table, typed as :data:`bofan_analytics.schema.MESSAGES`.

    Parameters
    ----------
    frames : pandas.DataFrame
        ``Capture.frames``.

    Returns
    -------
    pyarrow.Table
        Columns of :data:`TRUTH_FRAME_COLUMNS`; ``duplicate``, ``late`` are bool and
        ``offset`` int64.

    Examples
    --------
    >>> capture = render_capture(generate_fleet(seed=1, vehicles=2, personal=1, days=1), "lines")
    >>> frames_table(capture.frames).schema.field("time").type
    TimestampType(timestamp[ms, tz=UTC])
    """
    import pyarrow as pa

    from .. import schema

    fields = []
    for col in TRUTH_FRAME_COLUMNS:
        if col in schema.MESSAGES.names:
            fields.append(schema.MESSAGES.field(col))
        elif col in ("duplicate", "late"):
            fields.append(pa.field(col, pa.bool_()))
        else:
            fields.append(pa.field(col, pa.int64()))
    arrow_schema = pa.schema(
        fields, metadata={b"bofan_analytics.samples.truth_version": str(TRUTH_VERSION).encode()}
    )
    columns = {}
    for f in fields:
        values = frames[f.name].astype(object).where(frames[f.name].notna(), None).tolist()
        columns[f.name] = pa.array(values, type=f.type)
    return pa.table(columns, schema=arrow_schema)
