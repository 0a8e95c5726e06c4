"""Many small files: ``bofan convert`` of a directory of small line logs against decoding
the same files, same run.

A capture directory often holds many small files (a recorder rotating hourly, one file per
device and day): then what a file costs whatever its size (opening and hashing it, a
decoder's steps, a part file per input, the compaction of a crowded day) counts, not the
speed on bytes. Writes a line log (``bench_decode.make_log``, time order over 3 days) cut
at line ends into ``--files`` files in a temporary directory, then takes turns: decode
them all with ``read_log`` in a fresh process, convert the directory into a fresh dataset in
a fresh process (``/usr/bin/time -v`` for the CPU time and peak memory of each); the best
time of each is kept. Everything is deleted at the end.

    python benchmarks/bench_small_files.py [--files 300] [--kb 100] [--rounds 3]
"""

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_convert import timed_child  # noqa: E402

#: each child first decodes one file, which loads the compiled decoder from the JIT cache
#: (about a second, paid once by any process), and times what follows
WARM = """
import sys, time
from pathlib import Path
import bofan_analytics as ba
files = sorted(Path(sys.argv[1]).iterdir())
t = time.perf_counter()
ba.read_log(files[0])
warm = time.perf_counter() - t
"""
DECODE = WARM + """
t = time.perf_counter()
log = ba.read_log(files)
print(time.perf_counter() - t, len(log.messages), len(log.rejects), round(warm, 2))
"""
CONVERT = WARM + """
from bofan_analytics.dataset import convert
t = time.perf_counter()
result = convert(sys.argv[1], sys.argv[2], progress=False)
assert result.ok, result.errors
print(time.perf_counter() - t, result.messages, result.rejects, round(warm, 2))
"""


def cut_into_files(log: Path, folder: Path, files: int) -> int:
    """``log`` cut at line ends into ``files`` files of about the same size in ``folder``;
    returns the lines."""
    data = log.read_bytes()
    folder.mkdir()
    start = 0
    for i in range(files):
        end = len(data) if i == files - 1 else data.rfind(b"\n", start, len(data) * (i + 1) // files) + 1
        (folder / f"capture-{i:05d}.log").write_bytes(data[start:end])
        start = end
    return data.count(b"\n")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=300, help="how many files")
    ap.add_argument("--kb", type=float, default=100.0, help="size of each file (kB)")
    ap.add_argument("--rounds", type=int, default=3, help="turns of decode and convert")
    args = ap.parse_args(argv)
    if args.files < 1 or args.kb <= 0 or args.rounds < 1:
        ap.error("--files, --kb and --rounds must be positive")
    if not Path("/usr/bin/time").exists():
        sys.exit("needs /usr/bin/time (GNU time) for the CPU time: apt-get install time")
    from bench_decode import make_log

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        whole = tmp / "whole.log"
        make_log(whole, args.files * args.kb / 1000, seed=11, days=3)
        inputs = tmp / "captures"
        frames = cut_into_files(whole, inputs, args.files)
        size = whole.stat().st_size
        whole.unlink()
        timed_child(DECODE, str(inputs))  # the JIT cache and the page cache, filled once

        decode = convert = (float("inf"), 0, "", 0.0)
        out = tmp / "dataset"
        for _ in range(args.rounds):  # turns: a slow spell of the machine hits both sides
            decode = min(decode, timed_child(DECODE, str(inputs)))
            shutil.rmtree(out, ignore_errors=True)
            convert = min(convert, timed_child(CONVERT, str(inputs), str(out)))
        parts = len(list(out.rglob("*.parquet")))

    mb = size / 1e6
    n = args.files
    *decoded, warm = decode[2].split()
    print(f"input: {n:,} line logs of about {args.kb:g} kB ({mb:,.1f} MB, {frames:,} frames); "
          f"best of {args.rounds} turns, fresh processes, each timed after decoding one file "
          f"(the decoder loaded from the JIT cache: {warm} s)")
    print(f"decode (read_log of the list): {decode[0]:6.2f} s {mb / decode[0]:6.1f} MB/s  "
          f"{decode[0] / n * 1e3:5.2f} ms a file  (messages, rejects: {' '.join(decoded)}); "
          f"process CPU {decode[3]:.1f} s")
    print(f"convert (the directory)      : {convert[0]:6.2f} s {mb / convert[0]:6.1f} MB/s  "
          f"{convert[0] / n * 1e3:5.2f} ms a file  (messages, rejects: "
          f"{' '.join(convert[2].split()[:2])}); {parts} part files after compaction; "
          f"process CPU {convert[3]:.1f} s, peak RSS {convert[1] / 2**20:.0f} MiB")
    print(f"convert / decode: {decode[0] / convert[0]:.0%} of decode speed")


if __name__ == "__main__":
    main()
