"""What a fresh install waits for: the first decode and the first notebook flow with an empty
JIT cache.

Each measurement runs in a new process whose ``NUMBA_CACHE_DIR`` points at an empty
directory, so every kernel the flow needs is compiled, as on a machine that has just
installed the package. It prints the wall time, the aims (10 s for the first small line
log, 20 s for the notebook flow) and what the process said on stderr while it compiled.
The same flow is then run once more against the now warm cache for comparison.

    python benchmarks/bench_first_run.py
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"

FIRST_DECODE = f"""
import bofan_analytics as ba
log = ba.read_log({str(SAMPLES / "fleet.log")!r})
print(len(log.messages), "messages")
"""

NOTEBOOK_FLOW = f"""
import tempfile, os
import bofan_analytics as ba
log = ba.read_log({str(SAMPLES / "fleet.log")!r})
positions = log.positions()
trips = ba.detect_trips(positions)
stops = ba.detect_stops(positions)
speeding = ba.find_overspeed(positions, limit_kmh=90)
fences = {str(SAMPLES / "geofences.geojson")!r}
visits = ba.geofence_visits(positions, fences)
m = ba.track_map(positions, trips=trips, geofences=fences)
m.get_root().render()
out = os.path.join(tempfile.mkdtemp(), "report.html")
ba.write_report(log, out, speed_limit_kmh=90, geofences=fences)
print(len(trips), "trips,", len(stops), "stops,", os.path.getsize(out), "report bytes")
"""

AIMS = {"first read_log of a small line log": 10.0, "first notebook flow": 20.0}


def run(code: str, cache_dir: str) -> tuple[float, str, str]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True)
    return time.perf_counter() - t0, done.stdout.strip(), done.stderr.strip()


def main() -> None:
    for name, code in (("first read_log of a small line log", FIRST_DECODE),
                       ("first notebook flow", NOTEBOOK_FLOW)):
        with tempfile.TemporaryDirectory() as cache:
            cold, out, err = run(code, cache)
            warm, _, _ = run(code, cache)
        aim = AIMS[name]
        verdict = "meets" if cold <= aim else "misses"
        print(f"{name}: empty cache {cold:.1f} s ({verdict} the {aim:.0f} s aim), "
              f"warm cache {warm:.2f} s; {out}")
        for line in err.splitlines():
            print(f"    stderr: {line}")


if __name__ == "__main__":
    main()
