"""Convert throughput: ``bofan convert`` of a large line log against decoding the same file,
same run, with the peak memory of each.

Writes a line log of about 1 GB (``bench_decode.make_log``, in time order over 30 days) into
a temporary directory, then takes turns: decode it with ``read_log`` in a fresh process,
convert it into a fresh dataset in a fresh process, each under ``/usr/bin/time -v`` for the
peak resident memory and the CPU time (all threads, the imports included); the best time of
each is kept. Last, a prefix of the log is converted twice in this process, as usual and
serially in small pieces (small reads, small chunks, no writer threads), and the two
datasets are compared table by table. Everything is deleted at the end (``--log``: a line
log to use instead of a generated one, left in place).

    python benchmarks/bench_convert.py [--mb 1024] [--rounds 2] [--check-mb 128] [--log PATH]
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

#: A piece of the generated log (MB) and the days it spans: pieces follow each other in time.
PIECE_MB = 100
PIECE_DAYS = 3

DECODE = """
import sys, time
import bofan_analytics as ba
t = time.perf_counter()
log = ba.read_log(sys.argv[1])
print(time.perf_counter() - t, len(log.messages), len(log.rejects))
"""

CONVERT = """
import sys, time
from bofan_analytics.dataset import convert
t = time.perf_counter()
result = convert(sys.argv[1], sys.argv[2], progress=False)
assert result.ok, result.errors
print(time.perf_counter() - t, result.messages, result.rejects)
"""


def make_big_log(path: Path, mb: float) -> int:
    from bench_decode import make_log

    frames, done, piece = 0, 0.0, 0
    while done < mb:
        size = min(PIECE_MB, mb - done)
        t0 = 1_793_000_000 + piece * PIECE_DAYS * 86400
        frames += make_log(path, size, seed=100 + piece, t0=t0, days=PIECE_DAYS, append=piece > 0)
        done += size
        piece += 1
    return frames


def timed_child(code: str, *args: str) -> tuple[float, int, str, float]:
    """Seconds the child reports, its peak resident memory (bytes), its stdout, and the CPU
    seconds it used (user and system, all threads)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-c", code, *args],
                          env=env, capture_output=True, text=True, check=True)  # fmt: skip
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)[1])
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", done.stderr)[1])
              for kind in ("User", "System"))  # fmt: skip
    out = done.stdout.split()
    return float(out[0]), peak_kb * 1024, " ".join(out[1:]), cpu


def prefix(path: Path, target: Path, nbytes: int) -> int:
    """The first ``nbytes`` of ``path`` or fewer, cut after a line end, written to ``target``."""
    with open(path, "rb") as f:
        data = f.read(nbytes)
    data = data[: data.rfind(b"\n") + 1]
    target.write_bytes(data)
    return len(data)


def serial_matches(path: Path, tmp: Path) -> tuple[bool, int]:
    """Convert ``path`` as usual and serially in small pieces; the same tables?"""
    from bofan_analytics.dataset import _parts, convert, read_dataset
    from bofan_analytics.decode import reading

    convert(path, tmp / "usual", progress=False)
    saved = _parts.WRITE_BEHIND, reading.CHUNK_BYTES, _parts.CHUNK_ROWS
    _parts.WRITE_BEHIND, reading.CHUNK_BYTES, _parts.CHUNK_ROWS = False, 64 * 1024, 20_000
    try:
        convert(path, tmp / "serial", progress=False)
    finally:
        _parts.WRITE_BEHIND, reading.CHUNK_BYTES, _parts.CHUNK_ROWS = saved
    order = [("source", "ascending"), ("offset", "ascending")]
    same, rows = True, 0
    for table in ("messages", "rejects"):
        usual = read_dataset(tmp / "usual", table=table).sort_by(order)
        serial = read_dataset(tmp / "serial", table=table).sort_by(order)
        same = same and usual.equals(serial)
        rows += usual.num_rows
    return same, rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=1024.0, help="size of the generated log")
    ap.add_argument("--rounds", type=int, default=2, help="turns of decode and convert")
    ap.add_argument("--check-mb", type=float, default=128.0,
                    help="prefix converted usually and serially, and compared")  # fmt: skip
    ap.add_argument("--log", type=Path, help="a line log to use instead of generating one")
    args = ap.parse_args(argv)
    if not Path("/usr/bin/time").exists():
        sys.exit("needs /usr/bin/time (GNU time) for the peak memory: apt-get install time")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.log is None:
            log = tmp / "big.log"
            frames = make_big_log(log, args.mb)
        else:
            log = args.log
            with open(log, "rb") as f:
                frames = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b""))
        size = log.stat().st_size
        timed_child(DECODE, str(ROOT / "tests" / "data" / "vectors" / "pt502_frames.tsv"))  # JIT

        decode = convert = (float("inf"), 0, "", 0.0)
        for _ in range(args.rounds):  # turns: a slow spell of the machine hits both sides
            decode = min(decode, timed_child(DECODE, str(log)))
            out = tmp / "dataset"
            shutil.rmtree(out, ignore_errors=True)
            convert = min(convert, timed_child(CONVERT, str(log), str(out)))
        files = len(list((tmp / "dataset").rglob("*.parquet")))
        dataset_mb = sum(p.stat().st_size for p in (tmp / "dataset").rglob("*.parquet")) / 1e6
        shutil.rmtree(tmp / "dataset")

        small = tmp / "prefix.log"
        checked = prefix(log, small, int(args.check_mb * 1e6))
        if args.log is None:
            log.unlink()
        same, rows = serial_matches(small, tmp)

    mb = size / 1e6
    ratio = decode[0] / convert[0]
    print(f"input: {mb:,.0f} MB line log, {frames:,} frames; best of {args.rounds} turns")
    print(f"decode (read_log) : {decode[0]:7.2f} s {mb / decode[0]:7.1f} MB/s  "
          f"peak RSS {decode[1] / 2**20:6.0f} MiB  (messages, rejects: {decode[2]}); "
          f"CPU {decode[3]:.1f} s")
    print(f"convert           : {convert[0]:7.2f} s {mb / convert[0]:7.1f} MB/s  "
          f"peak RSS {convert[1] / 2**20:6.0f} MiB  (messages, rejects: {convert[2]}); "
          f"{files} part files, {dataset_mb:.0f} MB; CPU {convert[3]:.1f} s")
    print(f"convert / decode  : {ratio:.0%} of decode speed (aim >= 70 %); peak RSS "
          f"{'<' if convert[1] < 512 * 2**20 else '>='} 512 MiB")
    print(f"identical to a serial small-chunk run: {'yes' if same else 'NO'} "
          f"(first {checked / 1e6:.0f} MB, {rows:,} rows)")


if __name__ == "__main__":
    main()
