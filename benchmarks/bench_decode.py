"""Decode throughput: the numba decoder against a plain Python ``re`` decoder and polars
regex extraction, same frames, same run.

Writes a line log of at least 50 MB (PT-502 and PT-60 frames with receive-time prefixes) and
the same frames as a tracker-server log (hex reads), then takes turns: the floor (read the
file, count its lines), ``bofan_analytics.read_log`` of each log, ``positions()``, the
regular-expression reference decoder of the test suite and polars regex extraction. Prints
MB/s, frames/s and the ratios (of the best time of each, and the median over the turns of
each turn's own ratio: the figure the aims are about), the decoder's peak memory over the
input size (measured in a fresh process), and how long a fresh process takes to decode its
first small file once the JIT cache is warm.

    python benchmarks/bench_decode.py [--mb 50] [--turns 6]
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
             days: int = 30, append: bool = False, traccar: set | None = None) -> int:
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
        if traccar is None:
            out.append(f"{stamp}.{i % 1000:03d}Z {frame}\n")
            continue
        # the same frame as a tracker server logs a read: its session, protocol, peer, hex
        session, proto = 0x5E000000 + int(dev[i]), "pt502" if k in ("POS", "HDA") else "pt60"
        wire = (frame + "\r\n" if proto == "pt502" else frame).encode()
        if session not in traccar:
            traccar.add(session)
            out.append(f"{stamp.replace('T', ' ')}  INFO: [T{session:08x}] connected\n")
        out.append(f"{stamp.replace('T', ' ')}  INFO: [T{session:08x}: {proto} < "
                   f"10.0.0.{dev[i] % 250 + 2}] {wire.hex()}\n")
    with open(path, "ab" if append else "wb") as f:
        f.write("".join(out).encode())
    return n


def make_traccar_log(path: Path, target_mb: float, seed: int = 7) -> int:
    """The frames of :func:`make_log` (same size and seed) as a tracker-server log: each a
    read of its device's TCP session, hex encoded, behind the server's time stamp."""
    return make_log(path, target_mb, seed, traccar=set())


# polars peer: the grammars of the ``re`` peer (tests/decode/naive.py) as Rust regexes, an
# optional receive-time prefix in front
_PL_PT502 = (
    r"^(?:\S+ )?\$(?P<type>[A-Z0-9]+),(?P<id>\d+),(?P<hms>\d{6})(?:\.\d+)?,(?P<valid>[AV]),"
    r"(?P<latd>\d+)(?P<latm>\d\d\.\d+),(?P<ns>[NS]),(?P<lond>\d+)(?P<lonm>\d\d\.\d+),(?P<ew>[EW]),"
    r"(?P<speed>[\d.]*),(?P<course>[\d.]*),(?P<dd>\d\d)(?P<mo>\d\d)(?P<yy>\d\d)"
)
_PL_G6 = r"^(?:\S+ )?@G#@,V?\d+,6,(?P<id>\d+),\d*,(?P<t>\d{14}),(?P<lat>-?[\d.]+);(?P<lon>-?[\d.]+),"
_PL_B = r"^(?:\S+ )?@B#@\|\d+\|(?P<type>\d+)\|(?P<id>\d+)\|\d*\|(?:[01]\|(?P<bat>\d+)\|)?(?P<t>\d{14})\|"


def polars_decode(path: Path):
    """Regex extraction with polars: the lines read by its CSV reader, the three grammars
    extracted as columns, times parsed, coordinates converted; the main columns of the
    ``re`` peer."""
    import polars as pl

    lines = pl.read_csv(path, has_header=False, separator="\x1f", quote_char=None,
                        new_columns=["line"], schema_overrides=[pl.String])  # fmt: skip
    line = pl.col("line")
    parts = lines.select(p=line.str.extract_groups(_PL_PT502), g=line.str.extract_groups(_PL_G6),
                         b=line.str.extract_groups(_PL_B))  # fmt: skip
    p, g, b = (pl.col(name).struct.field for name in "pgb")
    f64, when = pl.Float64, pl.Datetime("ms", "UTC")
    stamp = pl.concat_str([pl.lit("20"), p("yy"), p("mo"), p("dd"), p("hms")])
    lat = p("latd").cast(f64) + p("latm").cast(f64) / 60
    lon = p("lond").cast(f64) + p("lonm").cast(f64) / 60
    table = parts.select(
        device_id=pl.coalesce(p("id"), g("id"), b("id")),
        msg_type=pl.coalesce(p("type"), pl.when(g("id").is_not_null()).then(pl.lit("G6")),
                             pl.lit("B") + b("type").cast(pl.Int32).cast(pl.String)),
        time=pl.coalesce(stamp, g("t"), b("t")).str.strptime(when, "%Y%m%d%H%M%S"),
        valid=pl.coalesce(p("valid") == "A", pl.when(g("id").is_not_null()).then(True)),
        lat=pl.coalesce(pl.when(p("ns") == "S").then(-lat).otherwise(lat), g("lat").cast(f64)),
        lon=pl.coalesce(pl.when(p("ew") == "W").then(-lon).otherwise(lon), g("lon").cast(f64)),
        speed_kmh=p("speed").cast(f64, strict=False) * 1.852,
        course=p("course").cast(f64, strict=False),
        battery_pct=b("bat").cast(f64),
    )  # fmt: skip
    matched = table.filter(pl.col("device_id").is_not_null())
    return matched, table.height - matched.height


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
        f"ba.read_log({str(ROOT / 'data' / 'samples' / 'fleet.log')!r}); "
        "print(time.perf_counter() - t)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-c", code]
    subprocess.run(run, check=True, capture_output=True, env=env)  # warms the cache
    out = subprocess.run(run, check=True, capture_output=True, text=True, env=env)
    return float(out.stdout.strip())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=50.0, help="size of the generated log")
    ap.add_argument("--keep", help="write the log here instead of a temporary file")
    ap.add_argument("--turns", type=int, default=6, help="alternating turns (each times all)")
    args = ap.parse_args(argv)

    import bofan_analytics as ba
    from tests.decode.naive import decode_lines

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep or Path(tmp) / "bench.log")
        n = make_log(path, args.mb)
        server = Path(tmp) / "tracker-server.log"
        make_traccar_log(server, args.mb)  # the same frames, as a tracker server logs them
        size, server_size = path.stat().st_size, server.stat().st_size
        data = path.read_bytes()
        ba.read_log(data[:100_000])  # compile or load the cached kernels first
        ba.read_log(server.read_bytes()[:100_000])
        polars_decode(path)  # (its first call sets up its thread pool)

        # everything takes turns, best of each: this machine's speed drifts, and turns keep
        # a slow spell from landing on one side only
        turns = {name: [] for name in ("floor", "lines", "positions", "traccar", "re", "polars")}

        def timed(name, fn):
            t = time.perf_counter()
            out = fn()
            turns[name].append(time.perf_counter() - t)
            return out

        for _turn in range(args.turns):
            timed("floor", lambda: path.read_bytes().count(b"\n"))  # read + count lines
            log = timed("lines", lambda: ba.read_log(path))
            positions = timed("positions", log.positions)
            served = timed("traccar", lambda: ba.read_log(server))
            pl_rows, pl_missed = timed("polars", lambda: polars_decode(path))
            rows, rejected = timed("re", lambda: decode_lines(data))
        best = {name: min(times) for name, times in turns.items()}
        frames = len(log.messages)
        served_frames = len(served.messages)

        out = subprocess.run(
            [sys.executable, __file__, "--child", str(path)], check=True, capture_output=True,
            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout.split()
        peak, child_dt = int(out[0]), float(out[1])

    first = first_file_seconds()
    mb, server_mb = size / 1e6, server_size / 1e6
    floor, lines, fixes = best["floor"], best["lines"], best["positions"]
    peer, polars, served_s = best["re"], best["polars"], best["traccar"]
    print(f"input: {mb:.1f} MB line log, {n:,} frames ({frames:,} decoded, {len(log.rejects)} "
          f"rejects); best of alternating turns")
    print(f"floor (read + count lines): {floor:7.3f} s  {mb / floor:8.1f} MB/s")
    print(f"numba decoder : {lines:7.3f} s  {mb / lines:8.1f} MB/s  {frames / lines:12,.0f} frames/s"
          f"  ({floor / lines:.0%} of the floor)")
    both = lines + fixes
    print(f"+ positions() : {fixes:7.3f} s  ({len(positions):,} fixes); decode + positions "
          f"{both:.3f} s = {mb / both:.1f} MB/s, {peer / both:.1f}x the re peer")
    print(f"tracker-server: {served_s:7.3f} s  {server_mb / served_s:8.1f} MB/s  "
          f"{served_frames / served_s:12,.0f} frames/s  ({server_mb:.1f} MB log of the same frames, "
          f"{served_frames:,} decoded); {lines / served_s:.0%} of the line log's frames/s")
    print(f"python re peer: {peer:7.3f} s  {mb / peer:8.1f} MB/s  {len(rows) / peer:12,.0f} frames/s"
          f"  ({len(rows):,} frames, {rejected} not matched)")
    print(f"polars regex  : {polars:7.3f} s  {mb / polars:8.1f} MB/s  "
          f"{pl_rows.height / polars:12,.0f} frames/s  ({pl_rows.height:,} frames, {pl_missed} not "
          f"matched)")
    print(f"speed-up      : {peer / lines:.1f}x the re peer, {polars / lines:.1f}x polars")
    print(f"peak memory   : {peak / 1e6:.0f} MB = {peak / size:.2f}x the input (fresh process, {child_dt:.2f} s)")
    print(f"first small file in a fresh process, JIT cache warm: {first:.2f} s")
    # the aims are ratios: taken within each turn (its figures were measured seconds apart)
    # and the median over turns, so that a slow spell of the machine weighs on both sides
    t = {name: np.array(times) for name, times in turns.items()}
    print("each turn (s): " + "; ".join(
        f"{name} {' '.join(f'{x:.3f}' for x in times)}" for name, times in t.items()))
    median = {
        "lines / re": np.median(t["re"] / t["lines"]),
        "lines / floor": np.median(t["floor"] / t["lines"]),
        "lines + positions / re": np.median(t["re"] / (t["lines"] + t["positions"])),
        "tracker-server / lines (frames/s)": np.median(
            (served_frames / t["traccar"]) / (frames / t["lines"])),
        "lines / polars": np.median(t["polars"] / t["lines"]),
    }
    print(f"median of the {len(t['re'])} turns' ratios: "
          f"lines {median['lines / re']:.1f}x the re peer (aim 25x), "
          f"{median['lines / floor']:.0%} of the floor (aim 50 %), "
          f"{median['lines / polars']:.1f}x polars; lines + positions "
          f"{median['lines + positions / re']:.1f}x the re peer (aim 15x); tracker-server "
          f"{median['tracker-server / lines (frames/s)']:.0%} of the line log's frames/s "
          f"(aim 50 %)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        peak_memory_child(sys.argv[2])
    else:
        main()
