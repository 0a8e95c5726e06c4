"""Scaling figures: conversion on 1 and 2 Dask workers, trips on >= 10 M fixes in memory and
on a 2-worker LocalCluster, and a no-change re-conversion against the first.

1. Writes ``--files`` line logs of ``--mb`` MB each (the generator of ``bench_decode``),
   converts them in this process, on a LocalCluster of 1 worker process and of 2; prints
   MB/s and the speed-up. Each cluster first converts a small file so that its workers
   have loaded the compiled kernels before the clock starts.
2. Converts the same files again into the same dataset: nothing changed, nothing decoded.
3. Writes a dataset of ``--fixes`` synthetic fixes (``--devices`` devices reporting every
   10 s, driving and parking in turns) as ``bofan compact`` lays it out (per day, files of
   device ranges, 64 Ki-row groups), then runs ``detect_trips`` on it in memory and on a
   2-worker LocalCluster and checks that both give the same trips.

    python benchmarks/bench_scale.py [--files 8] [--mb 6] [--fixes 10000000]

The machine is shared: figures vary from run to run; the printout says how many cores
the machine has.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _cluster(workers: int):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return cluster, Client(cluster, set_as_default=False)


def bench_convert(work: Path, files: int, mb: float) -> dict:
    from bench_decode import make_log

    from bofan_analytics.dataset import convert

    src = work / "captures"
    src.mkdir()
    for i in range(files):
        make_log(src / f"day{i:02d}.log", mb, seed=100 + i)
    size = sum(p.stat().st_size for p in src.iterdir())
    warm = work / "warm.log"
    make_log(warm, 0.2, seed=1)
    convert(warm, work / "warm_here")  # compile/load the kernels in this process

    out = {"input_mb": size / 1e6, "files": files}
    start = time.perf_counter()
    first = convert(src, work / "here")
    out["here_s"] = time.perf_counter() - start
    assert first.ok, first.errors
    start = time.perf_counter()
    again = convert(src, work / "here")
    out["again_s"] = time.perf_counter() - start
    assert again.count("unchanged") == files and again.messages == 0

    for workers in (1, 2):
        cluster, client = _cluster(workers)
        try:
            convert(warm, work / f"warm{workers}", scheduler=cluster.scheduler_address)
            start = time.perf_counter()
            result = convert(src, work / f"dask{workers}", scheduler=cluster.scheduler_address)
            out[f"dask{workers}_s"] = time.perf_counter() - start
            assert result.ok and result.messages == first.messages
        finally:
            client.close()
            cluster.close()
    out["messages"] = first.messages
    return out


def write_fixes(path: Path, n_fixes: int, devices: int, seed: int = 5) -> int:
    """A dataset of synthetic fixes laid out as ``bofan compact`` writes one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bofan_analytics import schema
    from bofan_analytics.dataset import _layout as layout

    rng = np.random.default_rng(seed)
    per = n_fixes // devices
    n = per * devices
    dev = np.repeat(np.arange(devices), per)
    k = np.tile(np.arange(per), devices)
    t0 = 1_793_577_600_000  # 2026-11-02 00:00 UTC, ms
    t = t0 + (k * 10 + np.repeat(rng.integers(0, 600, devices), per)) * 1000
    # driving and parking in turns of 30 to 90 minutes (180..540 fixes)
    phase = np.repeat(rng.integers(0, 540, devices), per)
    moving = ((k + phase) // 360) % 2 == 0
    speed = np.where(moving, 30 + 40 * rng.random(n), 0.0)
    heading = np.cumsum(rng.normal(0, 0.2, n))
    step = speed / 3.6 * 10 / 111_320.0  # degrees per 10 s
    jitter = rng.normal(0, 0.00003, (2, n))  # GPS noise while parked
    dlat = step * np.cos(heading) + jitter[0]
    dlon = step * np.sin(heading) + jitter[1]
    lat = np.cumsum(dlat)
    lon = np.cumsum(dlon)
    first = np.arange(devices) * per
    base_lat = 48 + 4 * rng.random(devices)
    base_lon = 14 + 6 * rng.random(devices)
    lat = lat - np.repeat(lat[first], per) + np.repeat(base_lat, per)
    lon = lon - np.repeat(lon[first], per) + np.repeat(base_lon, per)

    ids = np.array([f"86{i:013d}" for i in range(devices)], dtype=object)[dev]
    columns = {
        schema.DEVICE_ID: pa.array(ids, pa.string()),
        schema.PROTOCOL: pa.array(np.full(n, "pt502", dtype=object), pa.string()),
        schema.MSG_TYPE: pa.array(np.full(n, "POS", dtype=object), pa.string()),
        schema.TIME: pa.array(t, pa.int64()).cast(pa.timestamp("ms", tz="UTC")),
        schema.VALID: pa.array(np.ones(n, bool)),
        schema.LAT: pa.array(lat),
        schema.LON: pa.array(lon),
        schema.SPEED_KMH: pa.array(speed),
        schema.SOURCE: pa.array(np.full(n, "synthetic", dtype=object), pa.string()),
        schema.OFFSET: pa.array(np.arange(n, dtype=np.int64)),
        schema.LENGTH: pa.array(np.full(n, 100, np.int32)),
    }
    arrays = [
        columns[f.name].cast(f.type) if f.name in columns else pa.nulls(n, f.type)
        for f in schema.MESSAGES
    ]
    table = pa.Table.from_arrays(arrays, schema=schema.MESSAGES)
    days = (t // 86_400_000).astype(np.int64)
    root = path / layout.MESSAGES_DIR
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)  # already sorted by device and time
        folder = layout.partition_dir(root, layout.UNDATED + np.timedelta64(int(day), "D").item())
        folder.mkdir(parents=True, exist_ok=True)
        per_file = 2_000_000
        for j, lo in enumerate(range(0, rows.shape[0], per_file)):
            part = table.take(pa.array(rows[lo : lo + per_file]))
            pq.write_table(
                part, folder / f"part-c-bench-{j:05d}.parquet", compression="zstd",
                row_group_size=64 * 1024,
            )  # fmt: skip
    (path / layout.REJECTS_DIR).mkdir(parents=True, exist_ok=True)
    return n


def bench_trips(work: Path, n_fixes: int, devices: int) -> dict:
    import pandas as pd

    from bofan_analytics import detect_trips

    path = work / "fixes"
    start = time.perf_counter()
    n = write_fixes(path, n_fixes, devices)
    out = {"fixes": n, "devices": devices, "write_s": time.perf_counter() - start}
    # load the kernels, serial and parallel ones, before the clock starts
    warm = [f"86{i:013d}" for i in range(max(1, 250_000 * devices // n))]
    detect_trips(path, devices=warm)
    start = time.perf_counter()
    here = detect_trips(path)
    out["here_s"] = time.perf_counter() - start
    out["trips"] = len(here)
    cluster, client = _cluster(2)
    try:
        client.run(detect_trips, path, devices=warm)  # on every worker
        start = time.perf_counter()
        there = detect_trips(path, client=client)
        out["dask2_s"] = time.perf_counter() - start
    finally:
        client.close()
        cluster.close()
    pd.testing.assert_frame_equal(there, here)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--mb", type=float, default=6.0, help="MB per capture file")
    parser.add_argument("--fixes", type=int, default=10_000_000)
    parser.add_argument("--devices", type=int, default=1000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    try:
        print(f"machine: {os.cpu_count()} cores (shared; figures vary between runs)")
        c = bench_convert(work, args.files, args.mb)
        mb = c["input_mb"]
        print(f"convert {c['files']} files, {mb:.1f} MB, {c['messages']} messages")
        print(f"  in this process:      {c['here_s']:7.2f} s  {mb / c['here_s']:6.1f} MB/s")
        for w in (1, 2):
            s = c[f"dask{w}_s"]
            print(f"  LocalCluster {w} worker: {s:7.2f} s  {mb / s:6.1f} MB/s")
        print(f"  speed-up 2 vs 1 worker: {c['dask1_s'] / c['dask2_s']:.2f}x")
        print(
            f"  no-change re-conversion: {c['again_s']:.2f} s "
            f"({c['again_s'] / c['here_s'] * 100:.1f} % of the first)"
        )
        t = bench_trips(work, args.fixes, args.devices)
        print(f"trips on {t['fixes']:,} fixes of {t['devices']} devices: {t['trips']} trips")
        print(
            f"  in memory:              {t['here_s']:7.2f} s  "
            f"{t['fixes'] / t['here_s'] / 1e6:.2f} M fixes/s"
        )
        print(
            f"  LocalCluster 2 workers: {t['dask2_s']:7.2f} s  "
            f"{t['fixes'] / t['dask2_s'] / 1e6:.2f} M fixes/s  (same trips)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
