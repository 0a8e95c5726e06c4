"""A writer killed (SIGKILL) at any point leaves a dataset with each input's old rows or its
new ones, never both, never a mix; the next run finishes the job."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from _dataset_helpers import FakeDecoder, make_messages

from bofan_analytics.dataset import _convert, _parts, compact, convert, read_dataset
from bofan_analytics.decode import reading

HERE = Path(__file__).resolve().parent
#: where the script finds this module and the dataset tests' stand-in decoder
SCRIPT_PATH = os.pathsep.join([str(HERE), str(HERE.parent / "dataset")])

# Runs convert or compact with the stand-in decoder; SIGKILLs itself at the KILL_AT-th
# rename (every file and the manifest become visible by a rename), or prints the count.
SCRIPT = r"""
import os, signal, sys
sys.path[:0] = sys.argv[1].split(os.pathsep)
from _dataset_helpers import FakeDecoder
from test_hostile_killed import register
from bofan_analytics.dataset import _convert, _parts, compact, convert
from bofan_analytics.decode import reading

mode, dataset, src, version, kill_at = sys.argv[2:7]
decoder = FakeDecoder()
_convert._decoder_for = decoder
_parts.CHUNK_ROWS = 2
reading.HEAD_BYTES = reading.CHUNK_BYTES = 1  # one row per feed: many small part files
register(decoder, src, int(version))
real, calls = os.replace, [0]

def replace(a, b):
    calls[0] += 1
    if calls[0] == int(kill_at):
        os.kill(os.getpid(), signal.SIGKILL)
    real(a, b)

os.replace = replace
if mode == "convert":
    convert(src, dataset)
else:
    compact(dataset)
print(calls[0])
"""


def _rows(version: int, source: str) -> list[dict]:
    n = 6 if version == 1 else 9
    return [
        {
            "device_id": f"{(i * 7 + version) % 4}",
            "time": f"2026-11-0{1 + i % 3} 1{version}:{i:02d}:00",
            "lat": float(version),
            "lon": float(i),
        }
        for i in range(n)
    ]


def register(decoder: FakeDecoder, src, version: int) -> None:
    """Input a.log changes between versions; b.log does not."""
    src = Path(src)
    a_rows = make_messages(_rows(version, "a.log"), source=str(src / "a.log"))
    decoder.add(src / "a.log", a_rows, pieces=a_rows.num_rows)
    decoder.add(src / "b.log", make_messages(_rows(1, "b.log"), source=str(src / "b.log")))


def _run(mode, dataset, src, version, kill_at=0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), SCRIPT_PATH])}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, SCRIPT_PATH, mode, str(dataset), str(src), str(version),
         str(kill_at)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip


def _content(dataset) -> list[tuple]:
    table = read_dataset(dataset, columns=["source", "offset", "device_id", "time", "lat"])
    return sorted(tuple(row.values()) for row in table.to_pylist())


@pytest.fixture
def here(monkeypatch, tmp_path):
    """Runs convert or compact in this process, as the script does without a kill."""
    monkeypatch.setattr(_parts, "CHUNK_ROWS", 2)
    monkeypatch.setattr(reading, "HEAD_BYTES", 1)
    monkeypatch.setattr(reading, "CHUNK_BYTES", 1)
    src = tmp_path / "src"
    src.mkdir()

    def run(mode, dataset, version):
        decoder = FakeDecoder()
        register(decoder, src, version)
        monkeypatch.setattr(_convert, "_decoder_for", decoder)
        return convert(src, dataset) if mode == "convert" else compact(dataset)

    return src, run


@pytest.mark.slow
@pytest.mark.parametrize("compacted", [False, True])
def test_killed_reconversion_shows_old_or_new_rows_never_both(tmp_path, here, compacted):
    """Also when the old rows sit in merged files, which the new run rewrites without them."""
    src, run = here
    run("convert", tmp_path / "old", 1)
    run("convert", tmp_path / "new", 2)
    old, new = _content(tmp_path / "old"), _content(tmp_path / "new")
    assert old != new
    if compacted:
        run("compact", tmp_path / "old", 1)
    renames = int(_run("convert", tmp_path / "old", src, 2).stdout)
    assert renames > 5  # many part files: many points to be killed at
    ds = tmp_path / "ds"
    for kill_at in sorted(random.Random(8).sample(range(1, renames), 3)) + [renames]:
        run("convert", ds, 1)
        if compacted:
            run("compact", ds, 1)
        assert _content(ds) == old
        killed = _run("convert", ds, src, 2, kill_at)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert _content(ds) in (old, new), kill_at
        run("convert", ds, 2)
        assert _content(ds) == new


@pytest.mark.slow
def test_killed_compaction_leaves_every_row_once(tmp_path, here):
    src, run = here
    ds = tmp_path / "ds"
    run("convert", ds, 2)
    rows = _content(ds)
    before = len(list(ds.glob("*/date=*/*.parquet")))
    renames = int(_run("compact", ds, src, 2).stdout)
    for kill_at in sorted(random.Random(9).sample(range(1, renames + 1), min(4, renames))):
        run("convert", ds, 1)  # back to small parts
        run("convert", ds, 2)
        killed = _run("compact", ds, src, 2, kill_at)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert _content(ds) == rows, kill_at
        run("compact", ds, 2)
        assert _content(ds) == rows
    after = len(list(ds.glob("*/date=*/*.parquet")))
    assert after < before
    assert compact(ds).days == {}  # nothing left to merge


def test_a_reader_sees_whole_states_while_writers_run(tmp_path, here):
    """Conversions and compactions commit while another thread reads: every read gives
    the rows of one committed state, never a file missing or a row twice."""
    import threading

    _, run = here
    run("convert", tmp_path / "one", 1)
    run("convert", tmp_path / "two", 2)
    states = (_content(tmp_path / "one"), _content(tmp_path / "two"))
    ds = tmp_path / "ds"
    run("convert", ds, 1)
    seen, errors, stop = [], [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                seen.append(_content(ds))
            except Exception as exc:  # a file deleted under the reader, say
                errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for version in (2, 1, 2, 1):
            run("convert", ds, version)
            run("compact", ds, version)
    finally:
        stop.set()
        thread.join()
    assert errors == []
    assert len(seen) > 3
    assert all(rows in states for rows in seen)
