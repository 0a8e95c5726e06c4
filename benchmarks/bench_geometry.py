"""Geometries at fleet scale: ``to_geodataframe`` and ``detect_trips(geometry=True)``.

Run: ``python benchmarks/bench_geometry.py [--fixes 10000000] [--mpd-fixes 100000]``.

The fleet is the one of ``bench_analytics.py`` (every device reports every 10 s, parks,
drives, stops at lights). Printed: seconds and fixes/s of ``to_geodataframe`` (a point per
fix), of ``detect_trips`` without and with ``geometry=True`` (a LineString through every
fix of each trip) and what the lines cost on top; then, on a slice, the same two next to
MovingPandas building a ``TrajectoryCollection`` from the fixes (points, then one
trajectory per device) and turning it into lines (``to_traj_gdf``), in fixes/s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

# run from a checkout without installing it
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_analytics import fleet, timed  # noqa: E402

import bofan_analytics as ba  # noqa: E402
from bofan_analytics._numba import PARALLEL_FROM  # noqa: E402


def movingpandas_lines(frame: pd.DataFrame):
    """MovingPandas from a fixes frame to one LineString per device; returns the seconds."""
    import geopandas as gpd
    import movingpandas as mpd

    start = time.perf_counter()
    gdf = gpd.GeoDataFrame(
        frame[["device_id", "time"]].assign(time=frame["time"].dt.tz_localize(None)),
        geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326")
    collection = mpd.TrajectoryCollection(gdf, traj_id_col="device_id", t="time")
    lines = collection.to_traj_gdf()
    return lines, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixes", type=int, default=10_000_000)
    parser.add_argument("--mpd-fixes", type=int, default=100_000)
    args = parser.parse_args()

    # compile the serial and the parallel kernels first
    warm, _ = fleet(2 * PARALLEL_FROM, per_device=2000, seed=1)
    for part in (warm, warm.iloc[:10_000]):
        ba.detect_trips(part, geometry=True)
        ba.to_geodataframe(part)
    del warm
    frame, _ = fleet(args.fixes)
    n = len(frame)
    small = frame.iloc[: args.mpd_fixes]

    print(f"{n:,} fixes, {frame.device_id.nunique():,} devices")
    points, s = timed(ba.to_geodataframe, frame)
    print(f"  to_geodataframe              {s:6.2f} s  {n / s:12,.0f} fixes/s  {len(points):,} points")
    del points
    plain, s_plain = timed(ba.detect_trips, frame)
    print(f"  detect_trips                 {s_plain:6.2f} s  {n / s_plain:12,.0f} fixes/s  "
          f"{len(plain):,} trips")
    lines, s_geo = timed(ba.detect_trips, frame, geometry=True)
    vertices = int(lines.geometry.count_coordinates().sum())
    print(f"  detect_trips(geometry=True)  {s_geo:6.2f} s  {n / s_geo:12,.0f} fixes/s  "
          f"{len(lines):,} lines, {vertices:,} vertices; the lines add {s_geo - s_plain:.2f} s")
    del lines, plain

    m = len(small)
    print(f"slice of {m:,} fixes, {small.device_id.nunique()} devices")
    _, ours_pts = timed(ba.to_geodataframe, small)
    _, ours_lines = timed(ba.detect_trips, small, geometry=True)
    theirs, their_s = movingpandas_lines(small)
    print(f"  to_geodataframe              {m / ours_pts:12,.0f} fixes/s")
    print(f"  detect_trips(geometry=True)  {m / ours_lines:12,.0f} fixes/s")
    print(f"  movingpandas collection      {m / their_s:12,.0f} fixes/s  "
          f"({len(theirs)} trajectories as lines)")
    print(f"  ratio: trips with lines {their_s / ours_lines:,.1f}x, points "
          f"{their_s / ours_pts:,.1f}x the MovingPandas rate")


if __name__ == "__main__":
    main()
