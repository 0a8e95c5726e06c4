"""Throughput of the analytics on a synthetic fleet, and stops side by side with MovingPandas.

Run: ``python benchmarks/bench_analytics.py [--fixes 10000000] [--mpd-fixes 15000]``.

The fleet is built with vectorised numpy: every device reports every 10 s and cycles
through a park (GPS jitter of a few metres), a drive at a speed drawn per cycle (some above
the 90 km/h limit) with one traffic-light standstill, and back the other way. Ten geofences
(polygons and circles) sit around the devices' home spots so that crossings happen.

Printed: seconds and fixes/s of ``detect_trips``, ``detect_stops``, ``find_overspeed`` and
``geofence_events`` (each from the DataFrame, sorting included), their combined rate;
``daily_summary`` (Berlin days, engine hours from input 2, overspeed) and ``harsh_events``
(speed and course changes); the rate on input that needs sorting, then ``detect_stops`` and MovingPandas'
``TrajectoryStopDetector`` on the same slice: fixes/s of both, the ratio, and how many
stops agree (same start and end within three fixes); last, both on one long park, where a
detector that re-measures the whole stop at every fix slows down as the stop grows.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

# run from a checkout without installing it
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bofan_analytics as ba  # noqa: E402
from bofan_analytics._numba import PARALLEL_FROM  # noqa: E402

STEP_S = 10
PARK = 120  # fixes parked per cycle (20 min)
DRIVE = 240  # fixes driving per cycle (40 min), with a light in the middle
LIGHT = (100, 106)  # fixes of the drive stood at a traffic light (60 s)
CYCLE = PARK + DRIVE
M_PER_DEG = 6_371_008.8 * math.pi / 180


def fleet(n_fixes: int, *, per_device: int = 5000, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    rng = np.random.default_rng(seed)
    n_dev = max(1, n_fixes // per_device)
    k = np.arange(per_device)
    offset = rng.integers(0, CYCLE, n_dev)[:, None]
    c = (k[None, :] + offset) % CYCLE
    cycle = (k[None, :] + offset) // CYCLE
    n_cycles = int(cycle.max()) + 1
    speed_cycle = rng.uniform(30, 110, (n_dev, n_cycles))
    heading0 = rng.uniform(0, 2 * np.pi, n_dev)[:, None]
    heading = heading0 + np.pi * (cycle % 2)
    moving = (c >= PARK) & ~((c >= PARK + LIGHT[0]) & (c < PARK + LIGHT[1]))
    speed = np.where(moving, np.take_along_axis(speed_cycle, cycle, axis=1), 0.0)
    step = speed / 3.6 * STEP_S
    east = np.cumsum(step * np.sin(heading), axis=1)
    north = np.cumsum(step * np.cos(heading), axis=1)
    parked = c < PARK
    east += np.where(parked, rng.uniform(-8, 8, east.shape), 0.0)
    north += np.where(parked, rng.uniform(-8, 8, east.shape), 0.0)
    lat0 = rng.uniform(50, 54, n_dev)[:, None]
    lon0 = rng.uniform(8, 16, n_dev)[:, None]
    lat = lat0 + north / M_PER_DEG
    lon = lon0 + east / (M_PER_DEG * np.cos(np.radians(lat0)))
    t0 = pd.Timestamp("2026-11-02T00:00:00Z").value // 1_000_000
    t = t0 + (k[None, :] * STEP_S + rng.integers(0, STEP_S, n_dev)[:, None]) * 1000
    ids = np.array([f"86{d:013d}" for d in range(n_dev)], dtype=object)
    frame = pd.DataFrame({
        "device_id": pd.array(np.repeat(ids, per_device), dtype="str"),
        "time": pd.DatetimeIndex(t.ravel().view("datetime64[ms]")).tz_localize("UTC"),
        "lat": lat.ravel(),
        "lon": lon.ravel(),
        "speed_kmh": speed.ravel(),
        "course": np.degrees(heading % (2 * np.pi)).ravel(),
        "valid": np.ones(n_dev * per_device, bool),
        # the ignition on input 2 while moving, as an integer bit mask
        "inputs": np.where(moving, 2, 0).ravel().astype(np.int64),
    })
    features = []
    for j in range(10):
        d = int(rng.integers(0, n_dev))
        la, lo = float(lat0[d, 0]), float(lon0[d, 0])
        if j % 2:
            features.append({"type": "Feature", "properties": {"name": f"circle {j}", "radius_m": 1500},
                             "geometry": {"type": "Point", "coordinates": [lo, la]}})
        else:
            h = 2000 / M_PER_DEG
            w = h / math.cos(math.radians(la))
            ring = [[lo - w, la - h], [lo + w, la - h], [lo + w, la + h], [lo - w, la + h],
                    [lo - w, la - h]]
            features.append({"type": "Feature", "properties": {"name": f"box {j}"},
                             "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return frame, {"type": "FeatureCollection", "features": features}


def timed(fn, *args, **kw):
    start = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - start


def movingpandas_stops(frame: pd.DataFrame, *, max_diameter: float, min_duration_s: float):
    import geopandas as gpd
    import movingpandas as mpd

    gdf = gpd.GeoDataFrame(
        frame[["device_id", "time"]].assign(time=frame["time"].dt.tz_localize(None)),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
    collection = mpd.TrajectoryCollection(gdf, traj_id_col="device_id", t="time")
    detector = mpd.TrajectoryStopDetector(collection)
    ranges, seconds = timed(detector.get_stop_time_ranges, max_diameter=max_diameter,
                            min_duration=pd.Timedelta(seconds=min_duration_s))
    rows = [(str(r.traj_id), pd.Timestamp(r.t_0, tz="UTC"), pd.Timestamp(r.t_n, tz="UTC"))
            for r in ranges]
    return pd.DataFrame(rows, columns=["device_id", "start_time", "end_time"]), seconds


def agree(ours: pd.DataFrame, theirs: pd.DataFrame, tol_s: float) -> tuple[int, int]:
    """Stops of ``theirs`` matching one of ``ours`` (same device, start and end within
    ``tol_s``), and stops of ``theirs`` lying inside one of ``ours`` (within ``tol_s``)."""
    tol = pd.Timedelta(seconds=tol_s)
    merged = theirs.merge(ours, on="device_id", suffixes=("_mp", ""))
    same = ((merged.start_time - merged.start_time_mp).abs() <= tol) & (
        (merged.end_time - merged.end_time_mp).abs() <= tol)
    inside = (merged.start_time - tol <= merged.start_time_mp) & (
        merged.end_time_mp <= merged.end_time + tol)

    def count(mask):
        return int(merged[mask][["device_id", "start_time_mp"]].drop_duplicates().shape[0])

    return count(same), count(inside)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixes", type=int, default=10_000_000)
    parser.add_argument("--mpd-fixes", type=int, default=15_000)
    args = parser.parse_args()

    frame, fences = fleet(args.fixes)
    n = len(frame)
    print(f"fleet: {n:,} fixes, {frame.device_id.nunique():,} devices")
    # both the serial and the parallel kernels get compiled (or loaded from cache) here
    warm, warm_fences = fleet(2 * PARALLEL_FROM, per_device=2000, seed=1)
    ba.detect_trips(warm.iloc[:4000]), ba.detect_stops(warm.iloc[:4000])
    ba.detect_trips(warm), ba.detect_stops(warm), ba.find_overspeed(warm, limit_kmh=90)
    ba.geofence_events(warm, warm_fences)
    ba.daily_summary(warm, tz="Europe/Berlin", ignition_input=2, limit_kmh=90)
    ba.harsh_events(warm)

    total = 0.0
    for name, call in [
        ("detect_trips", lambda: ba.detect_trips(frame)),
        ("detect_stops", lambda: ba.detect_stops(frame)),
        ("find_overspeed", lambda: ba.find_overspeed(frame, limit_kmh=90)),
        ("geofence_events", lambda: ba.geofence_events(frame, fences)),
    ]:
        out, seconds = timed(call)
        total += seconds
        print(f"  {name:16s} {seconds:6.2f} s  {n / seconds / 1e6:6.2f} M fixes/s  {len(out):,} rows")
    print(f"together: {total:.2f} s for 4 x {n:,} fixes -> {n / total / 1e6:.2f} M fixes/s "
          f"(target >= 1.00)")
    for name, call in [
        ("daily_summary", lambda: ba.daily_summary(frame, tz="Europe/Berlin", ignition_input=2,
                                                   limit_kmh=90)),
        ("harsh_events", lambda: ba.harsh_events(frame)),
    ]:
        out, seconds = timed(call)
        print(f"  {name:16s} {seconds:6.2f} s  {n / seconds / 1e6:6.2f} M fixes/s  {len(out):,} rows")
    # the slow path: 1 % of the rows arrive late (moved to the end), so one sort is needed
    late = np.random.default_rng(3).random(n) < 0.01
    shuffled = pd.concat([frame[~late], frame[late]], ignore_index=True)
    _, seconds = timed(ba.detect_stops, shuffled)
    print(f"  detect_stops on input with 1 % late rows (sorted inside): {seconds:.2f} s, "
          f"{n / seconds / 1e6:.2f} M fixes/s")
    del shuffled

    # the first devices of the same fleet: a slice MovingPandas gets through in seconds
    first = np.flatnonzero(frame.device_id.to_numpy(dtype=object) != frame.device_id.iloc[0])
    per_device = int(first[0]) if len(first) else n
    mp_dev = max(1, args.mpd_fixes // per_device)
    small = frame.iloc[: mp_dev * per_device].reset_index(drop=True)
    # best of several: on a slice this small, waking the worker threads is most of the time
    runs = [timed(ba.detect_stops, small, stop_radius_m=50, min_duration_s=180) for _ in range(7)]
    ours, our_s = min(runs, key=lambda r: r[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs, their_s = movingpandas_stops(small, max_diameter=100, min_duration_s=180)
    m = len(small)
    print(f"stops on {m:,} fixes ({mp_dev} devices):")
    print(f"  bofan_analytics  {m / our_s:14,.0f} fixes/s  {len(ours)} stops (best of 7)")
    print(f"  movingpandas     {m / their_s:14,.0f} fixes/s  {len(theirs)} stops")
    big_rate = n / _stops_seconds(frame)
    print(f"  ratio {their_s / our_s:,.0f}x on the same slice; "
          f"{big_rate / (m / their_s):,.0f}x against our rate on {n:,} fixes")
    # ours end at the departure fix, theirs at the last fix before it; theirs may begin
    # with the fix that rolls into the spot: allow three fixes
    same, inside = agree(ours, theirs, 3 * STEP_S)
    print(f"  same stops: {same} of movingpandas' {len(theirs)} (ours: {len(ours)}) with start "
          f"and end within {3 * STEP_S} s; {inside} of theirs lie within one of ours")
    overnight()


def long_park(n: int, *, seed: int = 4) -> pd.DataFrame:
    """One device parked for ``n`` fixes (one a second) with 8 m of jitter."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2026-11-02T18:00:00Z").value // 1_000_000
    return pd.DataFrame({
        "device_id": pd.array(["860000000000042"] * n, dtype="str"),
        "time": pd.DatetimeIndex((t0 + np.arange(n) * 1000).view("datetime64[ms]")).tz_localize("UTC"),
        "lat": 52.0 + rng.uniform(-8, 8, n) / M_PER_DEG,
        "lon": 13.0 + rng.uniform(-8, 8, n) / (M_PER_DEG * math.cos(math.radians(52.0))),
        "speed_kmh": np.zeros(n),
    })


def overnight(ours_n: int = 1_000_000, theirs_n: int = 2_000) -> None:
    """Cost of one long stop: linear here, quadratic for a detector that re-measures the
    whole stop at every fix."""
    print("one long park (a fix a second, 8 m jitter):")
    for n in (ours_n // 10, ours_n):
        park = long_park(n)
        stops, seconds = timed(ba.detect_stops, park)
        print(f"  bofan_analytics  {n:>9,} fixes  {n / seconds:14,.0f} fixes/s  {len(stops)} stop")
    for n in (theirs_n // 2, theirs_n):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs, seconds = movingpandas_stops(long_park(n), max_diameter=100, min_duration_s=180)
        print(f"  movingpandas     {n:>9,} fixes  {n / seconds:14,.0f} fixes/s  {len(theirs)} stop")


def _stops_seconds(frame):
    return timed(ba.detect_stops, frame)[1]


if __name__ == "__main__":
    main()
