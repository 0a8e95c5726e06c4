"""``bofan listen`` under load: sustained frames/s and PT-60 reply latency, next to a bare
asyncio server that only reads and discards (the ceiling of the event loop), same run.

Each server runs in a process of its own. This process is the fleet: ``--connections``
TCP connections at once, all but 20 of them PT-502 units writing 100 fixes at a time,
first as fast as the server reads them, then paced at ``--paced-rate`` frames/s for the
whole fleet. A bulk connection ends with a PT-60 frame; its answer says the server has
handled everything before it, so the rate is all bulk frames over the time until the last
of those answers. Meanwhile a second process plays 20 PT-60 units that send a frame, wait
for the answer and send the next 10 ms later, timing each round trip. The bare server
answers a read holding ``@E#@`` with a fixed reply (one ``bytes.find`` per read) and
discards everything else, so the same clients can time it.

    python benchmarks/bench_listen.py [--connections 200] [--seconds 3] [--paced-rate 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBES = 20
B1 = b"@B#@|01|001|864891030184852|9425010450971470|1|45|20181127122717|32.701093|35.570938|1|@E#@"


def bulk_stream(unit: int, frames: int) -> bytes:
    """``frames`` PT-502 fixes of one unit, a second apart, every fifth behind the binary header."""
    out = []
    for k in range(frames):
        s = 6 * 3600 + k
        text = (
            f"$POS,{3000000000 + unit},{s // 3600 % 24:02d}{s // 60 % 60:02d}{s % 60:02d}.000,A,"
            f"3258.{1000 + k % 9000:04d},S,02755.4350,E,12.50,215.88,021126,,,A/0000,0//232300//5b3/"
        ).encode()
        if k % 5 == 0:
            text = b"\xbf\xfb\x00" + (len(text) + 7).to_bytes(2, "little") + text
        out.append(text + b"\r\n")
    return b"".join(out)


async def _bare_server() -> None:
    """Read and discard; answer a read that holds a PT-60 end marker."""

    class Discard(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            if data.find(b"@E#@") >= 0:
                self.transport.write(b"@B#@|01|002|0|0|20261102071027|@E#@")

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Discard, "127.0.0.1", 0, backlog=1024)
    print(f"bare: listening on 127.0.0.1:{server.sockets[0].getsockname()[1]} (tcp, udp)",
          file=sys.stderr, flush=True)
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    await done.wait()


def _start(kind: str, capture_dir: str) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if kind == "listen":
        cmd = [sys.executable, "-m", "bofan_analytics", "listen", "--port", "0", "-o",
               capture_dir, "--idle-timeout", "600", "--no-photos"]
    else:
        cmd = [sys.executable, __file__, "--bare-server"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=env)
    banner = proc.stderr.readline()
    match = re.search(r":(\d+) \(tcp, udp\)", banner)
    if match is None:
        proc.kill()
        raise SystemExit(f"{kind} server did not start: {banner}{proc.stderr.read()}")
    return proc, int(match.group(1))


def _peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def _probe(port: int, seconds: float) -> None:
    """PT-60 units: one frame, wait for the answer, the next; prints each round trip in ms."""
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(PROBES)]
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []

    async def unit(reader, writer):
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(B1)
            await writer.drain()
            await reader.readuntil(b"@E#@")
            latencies.append((time.perf_counter() - started) * 1e3)
            await asyncio.sleep(0.01)
        writer.close()

    await asyncio.gather(*(unit(r, w) for r, w in conns))
    print(json.dumps(latencies))


async def _fleet(port: int, pieces: list[bytes], per_piece: int, seconds: float,
                 piece_every_s: float | None) -> tuple[float, int]:
    """Bulk connections send ``pieces`` round and round for ``seconds``: as fast as the server
    reads, or one piece per ``piece_every_s``. Returns (elapsed, frames handled)."""
    opened = [await asyncio.open_connection("127.0.0.1", port) for _ in range(len(pieces))]
    sent = [0] * len(pieces)
    started = time.perf_counter()
    deadline = started + seconds

    async def bulk(k, reader, writer):
        piece = pieces[k]
        while time.perf_counter() < deadline:
            writer.write(piece)
            await writer.drain()
            sent[k] += per_piece
            if piece_every_s is not None:
                await asyncio.sleep(piece_every_s)
        writer.write(B1)  # its answer: everything before it was handled
        await writer.drain()
        await reader.readuntil(b"@E#@")
        writer.close()

    await asyncio.gather(*(bulk(k, r, w) for k, (r, w) in enumerate(opened)))
    return time.perf_counter() - started, sum(sent) + len(pieces)


def _run_phase(port: int, pieces, per_piece, seconds, piece_every_s, pid) -> dict:
    probe = subprocess.Popen(
        [sys.executable, __file__, "--probe", str(port), str(seconds)],
        stdout=subprocess.PIPE, text=True,
    )
    elapsed, frames = asyncio.run(_fleet(port, pieces, per_piece, seconds, piece_every_s))
    latencies = json.loads(probe.communicate(timeout=120)[0])
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "frames_s": frames / elapsed,
        "p50_ms": cuts[49],
        "p99_ms": cuts[98],
        "probes": len(latencies),
    }


def _measure(kind: str, pieces, per_piece, seconds, paced_rate) -> dict:
    with tempfile.TemporaryDirectory() as capture_dir:
        proc, port = _start(kind, capture_dir)
        try:
            full = _run_phase(port, pieces, per_piece, seconds, None, proc.pid)
            every = per_piece * len(pieces) / paced_rate
            paced = _run_phase(port, pieces, per_piece, seconds, every, proc.pid)
            peak = _peak_rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        written = sum(p.stat().st_size for p in Path(capture_dir).glob("*.log"))
    return {"full": full, "paced": paced, "peak_rss_mb": peak, "written_mb": written / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each phase")
    parser.add_argument("--paced-rate", type=float, default=20_000,
                        help="frames/s of the whole fleet in the paced phase")
    parser.add_argument("--bare-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe", nargs=2, type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_server:
        asyncio.run(_bare_server())
        return
    if args.probe:
        asyncio.run(_probe(int(args.probe[0]), args.probe[1]))
        return
    units = args.connections - PROBES
    per_piece = 100
    pieces = [bulk_stream(u, per_piece) for u in range(units)]
    print(f"{args.connections} connections: {units} PT-502 units sending {per_piece} frames "
          f"({len(pieces[0]) / 1e3:.1f} kB) per write, {PROBES} PT-60 units timing replies; "
          f"{args.seconds:g} s flat out, then {args.seconds:g} s at {args.paced_rate:,.0f} frames/s")
    results = {kind: _measure(kind, pieces, per_piece, args.seconds, args.paced_rate)
               for kind in ("bare", "listen")}
    for kind, r in results.items():
        full, paced = r["full"], r["paced"]
        print(
            f"{kind:>6}: flat out {full['frames_s']:>9,.0f} frames/s, PT-60 reply (saturated) p50 "
            f"{full['p50_ms']:.1f} ms p99 {full['p99_ms']:.1f} ms | paced "
            f"{paced['frames_s']:,.0f} frames/s, p50 {paced['p50_ms']:.2f} ms p99 "
            f"{paced['p99_ms']:.2f} ms | peak RSS {r['peak_rss_mb']:.0f} MB, "
            f"{r['written_mb']:.1f} MB written"
        )
    ratio = results["listen"]["full"]["frames_s"] / results["bare"]["full"]["frames_s"]
    print(f"bofan listen sustains {ratio:.1%} of the bare event loop's frame rate")


if __name__ == "__main__":
    main()
