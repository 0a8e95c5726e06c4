"""Decode throughput: the numba decoder against a plain Python ``re`` decoder, same frames,
same run.

Writes a line log of at least 50 MB (PT-502 and PT-60 frames with receive-time prefixes),
decodes it with ``bofan_analytics.read_log`` and with the regular-expression reference
decoder of the test suite, and prints MB/s, frames/s, the ratio, the decoder's peak memory
over the input size (measured in a fresh process), and how long a fresh process takes to
decode its first small file once the JIT cache is warm.

    python benchmarks/bench_decode.py [--mb 50]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_log(path: Path, target_mb: float, seed: int = 7, *, t0: int = 1_793_000_000,
             days: int = 30, append: bool = False) -> int:
    """A realistic line log: 200 devices, PT-502 fixes and alarms, PT-60 fixes and heartbeats,
    in time order over ``days`` days from ``t0`` (2026-10); ``append`` adds to ``path``."""
    rng = np.random.default_rng(seed)
    n = int(target_mb * 1e6 / 125) + 1
    dev = rng.integers(0, 200, n)
    t = t0 + np.sort(rng.integers(0, days * 86400, n))
    lat = 48.0 + rng.random(n) * 4
    lon = 14.0 + rng.random(n) * 6
    knots = rng.random(n) * 60
    course = rng.random(n) * 360
    kinds = rng.choice(np.array(["POS", "POS", "POS", "HDA", "G6", "B33"]), n)
    out = []
    for i in range(n):  # generating the input is not what is measured
        ts = time.gmtime(int(t[i]))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", ts)
        k = kinds[i]
        if k in ("POS", "HDA"):
            la = min(round((lat[i] % 1) * 60, 4), 59.9999)
            lo = min(round((lon[i] % 1) * 60, 4), 59.9999)
            frame = (
                f"${k},{860000000000000 + dev[i]},{time.strftime('%H%M%S', ts)}.000,A,"
                f"{int(lat[i]):02d}{la:07.4f},N,{int(lon[i]):03d}{lo:07.4f},E,"
                f"{knots[i]:.2f},{course[i]:.2f},{time.strftime('%d%m%y', ts)},,,A/00000,00000/"
                f"0,0,0,0/{i * 7}//fa{dev[i] % 10}//"
            )
        elif k == "G6":
            frame = (
                f"@G#@,V01,6,{350000000000000 + dev[i]},9460025014649193,"
                f"{time.strftime('%Y%m%d%H%M%S', ts)},{lat[i]:.6f};{lon[i]:.6f},@R#@"
            )
        else:
            frame = (
                f"@B#@|01|033|{350000000000000 + dev[i]}|9425010450971470|0|{dev[i] % 100}|"
                f"{time.strftime('%Y%m%d%H%M%S', ts)}|@E#@"
            )
        out.append(f"{stamp}.{i % 1000:03d}Z {frame}\n")
    with open(path, "ab" if append else "wb") as f:
        f.write("".join(out).encode())
    return n


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def peak_memory_child(path: str) -> None:
    """Peak resident memory the decode adds, table included (Linux: VmHWM after a reset)."""
    import bofan_analytics as ba

    ba.read_log(ROOT / "tests" / "data" / "vectors" / "pt502_frames.tsv", format="lines")
    base = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # resets the high-water mark
    t = time.perf_counter()
    log = ba.read_log(path)
    dt = time.perf_counter() - t
    peak = _status_kb("VmHWM")
    print(f"{(peak - base) * 1024} {dt} {len(log.messages)}")


def first_file_seconds() -> float:
    code = (
        "import time; t = time.perf_counter(); import bofan_analytics as ba; "
        f"ba.read_log({str(ROOT / 'tests' / 'data' / 'vectors' / 'pt502_stream_framing.tsv')!r}); "
        "print(time.perf_counter() - t)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # warms the cache
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0, help="size of the generated log")
    ap.add_argument("--keep", help="write the log here instead of a temporary file")
    args = ap.parse_args(argv)

    import bofan_analytics as ba
    from tests.decode.naive import decode_lines

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep or Path(tmp) / "bench.log")
        n = make_log(path, args.mb)
        size = path.stat().st_size
        data = path.read_bytes()
        ba.read_log(data[:100_000])  # compile or load the cached kernels first

        # the two decoders take turns, best of each: this machine's speed drifts, and
        # turns keep a slow spell from landing on one side only
        best = peer = floor = fixes = float("inf")
        for turn in range(6):
            t = time.perf_counter()
            path.read_bytes().count(b"\n")  # the floor: read the file and count its lines
            floor = min(floor, time.perf_counter() - t)
            t = time.perf_counter()
            log = ba.read_log(path)
            best = min(best, time.perf_counter() - t)
            t = time.perf_counter()
            positions = log.positions()
            fixes = min(fixes, time.perf_counter() - t)
            if turn % 3 == 0:
                t = time.perf_counter()
                rows, rejected = decode_lines(data)
                peer = min(peer, time.perf_counter() - t)
        frames = len(log.messages)

        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path)], check=True, capture_output=True,
            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout.split()
        peak, child_dt = int(out[0]), float(out[1])

    first = first_file_seconds()
    mb = size / 1e6
    print(f"input: {mb:.1f} MB line log, {n:,} frames ({frames:,} decoded, {len(log.rejects)} rejects)")
    print(f"floor (read + count lines): {floor:7.3f} s  {mb / floor:8.1f} MB/s")
    print(f"numba decoder : {best:7.3f} s  {mb / best:8.1f} MB/s  {frames / best:12,.0f} frames/s"
          f"  ({floor / best:.0%} of the floor)")
    both = best + fixes
    print(f"+ positions() : {fixes:7.3f} s  ({len(positions):,} fixes); decode + positions "
          f"{both:.3f} s = {mb / both:.1f} MB/s, {peer / both:.1f}x the re peer")
    print(f"python re peer: {peer:7.3f} s  {mb / peer:8.1f} MB/s  {len(rows) / peer:12,.0f} frames/s"
          f"  ({len(rows):,} frames, {rejected} not matched)")
    print(f"speed-up      : {peer / best:.1f}x")
    print(f"peak memory   : {peak / 1e6:.0f} MB = {peak / size:.2f}x the input (fresh process, {child_dt:.2f} s)")
    print(f"first small file in a fresh process, JIT cache warm: {first:.2f} s")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        peak_memory_child(sys.argv[2])
    else:
        main()
