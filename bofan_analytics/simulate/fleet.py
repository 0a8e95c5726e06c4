"""The fleet: every frame the devices send, and the episodes planted in them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .encoder import _B_FIRMWARE, _DECODED, _format
from .people import _simulate_person
from .truth import _daily, _episodes
from .vehicles import _driver_tag, _finish_vehicle, _simulate_vehicle
from .world import _CITIES, _MS, _device_ids, _digits, _geofences, _place_latlon, _sites

__all__ = ["Fleet", "generate_fleet"]


@dataclass
class Fleet:
    """Every frame a simulated fleet sent, and the episodes planted in it.

    Attributes
    ----------
    frames : pandas.DataFrame
        One row per frame, in the order the server received them (``received_ms``).
        Columns: ``device_id, protocol, msg_type, time_ms, received_ms, valid, lat, lon,
        speed_kmh, course, alarm, battery_pct, ..., driver_id`` with the values a decoder
        reads back, ``inputs`` as the frame spells them (``00010``: ignition on), plus ``text`` (the frame without terminator; ``$PHD`` binary data is in
        ``payload``), ``duplicate`` and ``late``.
    episodes : dict of str to pandas.DataFrame
        ``trips`` (with each trip's ``driver_id`` and ``engine_s``), ``stops``,
        ``overspeed``, ``zone_overspeed``, ``geofence_events``, ``charges``, ``battery``,
        ``alarms``, ``photos``, ``daily`` (per vehicle and local day of its city:
        ``distance_m``, ``engine_s``, ``trips``) and ``zones`` (each device's time zone);
        times in ms since the epoch.
    geofences : dict
        A GeoJSON FeatureCollection of the geofences the episodes refer to.
    seed : int
        The seed the fleet was generated from.
    start, end : pandas.Timestamp
        The time span of the capture (UTC).
    """

    frames: pd.DataFrame
    episodes: dict
    geofences: dict
    seed: int
    start: pd.Timestamp
    end: pd.Timestamp

    def _repr_html_(self) -> str:
        counts = self.frames.groupby("protocol").size().to_dict()
        rows = "".join(f"<tr><td>{k}</td><td>{len(v)}</td></tr>" for k, v in self.episodes.items())
        return (
            f"<b>Fleet</b> seed={self.seed}, {self.frames['device_id'].nunique()} devices, "
            f"{len(self.frames)} frames {counts}, {self.start} to {self.end}"
            f"<table>{rows}</table>"
        )


def _finalise(rng, df):
    """Common columns, the values a decoder reads back, frame text, receive order."""
    df = df.copy()
    for col in (
        "valid",
        "alarm",
        "payload",
        "photo_size",
        "photo_offset",
        "firmware",
        "steps",
        "heart_rate",
        "battery",
        "state",
        "cells",
        "imsi",
        "timeless",
        "time",
        "time_ms",
        "speed_ms",
        "course",
        "lat",
        "lon",
        "trip",
        "driver_id",
        "inputs",
    ):
        if col not in df:
            df[col] = None
    for col in ("late", "duplicate", "timeless"):
        df[col] = df[col].astype("boolean").fillna(False).astype(bool)
    is60 = (df["protocol"] == "pt60").to_numpy()
    time_ms = df["time_ms"].astype("float64").to_numpy().copy()
    time_ms[is60] = df.loc[is60, "time"].astype("float64").to_numpy() * _MS
    received = df["received_ms"].astype("float64").to_numpy().copy()
    received[is60] = time_ms[is60] + rng.integers(400, 3000, int(is60.sum()))
    timeless = df["timeless"].to_numpy() | df["kind"].isin(["phd", "fus"]).to_numpy()
    time_ms[timeless] = np.nan
    df["time_ms"], df["received_ms"] = time_ms, received.astype(np.int64)
    # one connection per device: its live frames arrive in the order they were made
    live = ~(df["late"] | df["duplicate"]).to_numpy() & ~np.isnan(time_ms)
    ordered = df[live].sort_values(["device_id", "time_ms"], kind="stable")
    df.loc[ordered.index, "received_ms"] = ordered.groupby("device_id")["received_ms"].cummax()
    df.loc[df["kind"] == "b_login", "firmware"] = _B_FIRMWARE

    texts, values = [], []
    for row in df.itertuples(index=False):
        text, vals = _format(row)
        texts.append(text)
        values.append(vals)
    df["text"] = texts
    decoded = pd.DataFrame(values, index=df.index, columns=list(_DECODED))
    for col in _DECODED:
        df[col] = decoded[col]
    df["msg_type"] = df["msg_type"].str.replace(r"^PHO.*", "PHO", regex=True)

    df = df.sort_values(["received_ms", "device_id", "time_ms"], kind="stable").reset_index(
        drop=True
    )
    # a device sends a photo announcement and its chunks back to back
    phd = df["msg_type"] == "PHD"
    if phd.any():
        chunks = df[phd]
        rest = df[~phd].reset_index(drop=True)
        at = int(np.flatnonzero((rest["msg_type"] == "PHO").to_numpy())[0]) + 1
        df = pd.concat([rest.iloc[:at], chunks, rest.iloc[at:]], ignore_index=True)
    keep = [
        "device_id",
        "protocol",
        "msg_type",
        "time_ms",
        "received_ms",
        "valid",
        *_DECODED,
        "alarm",
        "firmware",
        "steps",
        "heart_rate",
        "photo_size",
        "photo_offset",
        "duplicate",
        "late",
        "text",
        "payload",
        "trip",
        "driver_id",
        "inputs",
    ]
    df = df[keep].copy()
    # the driver field is read back as it is sent, and an empty one as no driver
    df["driver_id"] = df["driver_id"].where(df["driver_id"].map(
        lambda v: isinstance(v, str) and bool(v)), None)
    for col in ("steps", "heart_rate", "photo_size", "photo_offset", "satellites", "rssi"):
        df[col] = df[col].astype("Int64")
    df["valid"] = df["valid"].astype("boolean")
    return df


def generate_fleet(
    *,
    seed: int = 0,
    vehicles: int = 10,
    personal: int = 5,
    days: int = 2,
    start: str = "2026-11-02",
) -> Fleet:
    """Simulate a fleet of PT-502 vehicles and PT-60 personal trackers.

    Parameters
    ----------
    seed : int
        Seed of the random generator: the same seed gives the same fleet.
    vehicles, personal : int
        Number of PT-502 vehicle trackers and of PT-60 personal trackers (their families
        alternate ``@G#@``, ``@B#@``).
    days : int
        Length of the capture in days, from midnight UTC of ``start``.
    start : str
        First day (UTC).

    Returns
    -------
    Fleet
        Frames in the order the server received them, and the planted episodes.

    Examples
    --------
    >>> fleet = generate_fleet(seed=1, vehicles=2, personal=1, days=1)
    >>> sorted(fleet.frames["protocol"].unique())
    ['pt502', 'pt60']
    """
    if vehicles < 1 or personal < 0 or days < 1:
        raise ValueError("vehicles must be >= 1, personal >= 0 and days >= 1")
    rng = np.random.default_rng(seed)
    t0 = int(pd.Timestamp(start, tz="UTC").timestamp())
    end = t0 + days * 86400
    main = _CITIES[0]
    geofences = _geofences(main)

    frames, trips, stops, charges, battery = [], [], [], [], []
    zones = {}
    ids = _device_ids(rng, vehicles)
    main_sites = _sites(rng, main, 7, geofences, with_client=True)
    for i, device_id in enumerate(ids):
        city = _CITIES[1] if i % 5 == 4 and vehicles > 5 else main
        if city is main:
            sites = [(float(rng.uniform(-40, 40)), float(rng.uniform(-30, 30))), *main_sites]
        else:
            sites = _sites(rng, city, 6, {"features": []}, with_client=False)
        df, v_trips, v_parks, v_charges = _simulate_vehicle(
            rng, i, city, sites, t0, days, geofences
        )
        frames.append(_finish_vehicle(rng, i, device_id, df))
        charges += [
            {"device_id": device_id, **c, "end_pct": 100.0, "complete": True} for c in v_charges
        ]
        trips += [{"device_id": device_id, **t, "driver_id": _driver_tag(i, k)}
                  for k, t in enumerate(v_trips)]
        stops += [{"device_id": device_id, **_place_latlon(city, p)} for p in v_parks]
        zones[device_id] = city[5]

    for j in range(personal):
        family = "G" if j % 2 == 0 else "B"
        city = _CITIES[1] if j == 3 else main
        imei = ("35" if family == "G" else "86") + _digits(rng, 13)
        df, walks, stays, p_charges, drain = _simulate_person(
            rng, j, family, city, t0, days, geofences
        )
        df["device_id"], df["protocol"], df["imsi"] = imei, "pt60", _digits(rng, 16)
        frames.append(df)
        trips += [{"device_id": imei, **w, "driver_id": None} for w in walks]
        zones[imei] = city[5]
        stops += [{"device_id": imei, **_place_latlon(city, s)} for s in stays]
        for c in p_charges:
            # a charge still running when the capture ends has no end time yet
            complete = c["end"] <= end
            reached = c["start_pct"] + c["rate"] * (end - c["start"]) / 3600
            charges.append(
                {
                    "device_id": imei,
                    **c,
                    "end": c["end"] if complete else None,
                    "end_pct": 100.0 if complete else reached,
                    "complete": complete,
                }
            )
        battery.append({"device_id": imei, "drain_pct_per_h": round(drain, 4), "noise_pct": 1.0})

    df = _finalise(rng, pd.concat(frames, ignore_index=True))
    episodes = _episodes(df, trips, stops, charges, battery, geofences)
    episodes["daily"] = _daily(df, episodes["trips"], zones)
    episodes["zones"] = pd.DataFrame({"device_id": list(zones), "zone": list(zones.values())})
    return Fleet(
        frames=df,
        episodes=episodes,
        geofences=geofences,
        seed=seed,
        start=pd.Timestamp(t0, unit="s", tz="UTC"),
        end=pd.Timestamp(end, unit="s", tz="UTC"),
    )
