"""``bofan convert`` and ``bofan compact`` on the command line: exit codes and the one line."""

from __future__ import annotations

import gzip
import re
import threading
import time

import pytest

from bofan_analytics.cli import main
from bofan_analytics.dataset import _manifest, compact, convert, read_dataset
from bofan_analytics.dataset._manifest import DatasetLock

FRAMES = b"".join(
    b"$POS,20007,1347%02d.000,A,0626.1698,N,00330.2870,E,31.23,79.58,041016,,,"
    b"A/00010,00000/26c,0,0,0/19949100//fa4//#\r\n" % (i % 60)
    for i in range(3000)
)
FRAME = len(FRAMES) // 3000


@pytest.fixture
def capture(tmp_path):
    path = tmp_path / "cap.bin"
    path.write_bytes(FRAMES)
    return path


def test_truncated_gz_says_what_was_kept(tmp_path, capsys, monkeypatch):
    from bofan_analytics.decode import reading

    monkeypatch.setattr(reading, "CHUNK_BYTES", 16384)
    packed = gzip.compress(FRAMES, mtime=0)
    path = tmp_path / "cut.bin.gz"
    path.write_bytes(packed[: len(packed) // 2])
    assert main(["convert", str(path), "-o", str(tmp_path / "ds")]) == 1
    out, err = capsys.readouterr()
    kept = read_dataset(tmp_path / "ds").num_rows
    [line] = err.splitlines()
    found = re.fullmatch(
        rf"bofan: {re.escape(str(path))}: compressed data cut off after ([\d,]+) decompressed "
        r"bytes \(the file ends inside a compressed frame\); kept (\d+) messages and 1 rejects "
        r"from the first (\d+) bytes",
        line,
    )  # the frame cut by the break is a reject
    assert found, line
    read = int(found[3])
    assert int(found[1].replace(",", "")) == read
    assert 0 < int(found[2]) == kept == read // FRAME < 3000
    assert out.startswith(f"1 file(s) converted: {kept} messages, 1 rejects")


def test_second_writer_waits_then_gives_up_with_one_line(tmp_path, capture, capsys, monkeypatch):
    ds = tmp_path / "ds"
    convert(capture, ds)
    monkeypatch.setattr(_manifest, "LOCK_WAIT_S", 0.2)
    with DatasetLock(ds):
        assert main(["convert", str(capture), "-o", str(ds), "--full"]) == 1
        assert main(["compact", str(ds)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        err
        == [
            f"bofan: {ds}: another bofan convert or compact is writing this dataset "
            "(pid {}); try again when it has finished".format(__import__("os").getpid())
        ]
        * 2
    )

    # a lock released while the second writer waits: it goes ahead
    monkeypatch.setattr(_manifest, "LOCK_WAIT_S", 30)
    lock = DatasetLock(ds).__enter__()
    threading.Timer(0.3, lock.__exit__).start()
    started = time.monotonic()
    assert main(["convert", str(capture), "-o", str(ds), "--full"]) == 0
    assert time.monotonic() - started > 0.2
    assert read_dataset(ds).num_rows == 3000


def test_compact_command_and_full(tmp_path, capture, capsys):
    ds = tmp_path / "ds"
    for i in range(3):  # three captures of one day: three part files
        part = tmp_path / f"c{i}.bin"
        part.write_bytes(FRAMES[i * FRAME * 1000 : (i + 1) * FRAME * 1000])
        assert main(["convert", str(part), "-o", str(ds)]) == 0
    before = read_dataset(ds)
    assert len(list(ds.glob("messages/date=*/*.parquet"))) == 3
    assert main(["compact", str(ds), "--target-mb", "64"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"1 day(s) compacted: 3 -> 1 files in {ds}"
    assert read_dataset(ds).equals(before)
    assert compact(ds).days == {}

    assert main(["convert", str(tmp_path / "c1.bin"), "-o", str(ds)]) == 0
    assert capsys.readouterr().out.startswith(
        "0 file(s) converted: 0 messages, 0 rejects; 1 unchanged"
    )
    # --full: decoded again, rows replaced (also inside the merged file), none doubled
    assert main(["convert", str(tmp_path / "c1.bin"), "-o", str(ds), "--full"]) == 0
    assert capsys.readouterr().out.startswith("1 file(s) converted: 1000 messages, 0 rejects")
    assert read_dataset(ds).equals(before)


def test_compact_of_no_dataset_is_one_line(tmp_path, capsys):
    assert main(["compact", str(tmp_path / "nope")]) == 1
    assert (
        capsys.readouterr().err
        == f"bofan: {tmp_path / 'nope'}: no such dataset (no _manifest.json)\n"
    )
    assert main(["compact", str(tmp_path), "--target-mb", "0"]) == 2


def test_dask_options_and_a_wrong_address(tmp_path, capture, capsys, monkeypatch):
    from bofan_analytics.dataset import _convert

    pytest.importorskip("distributed")
    ds = tmp_path / "ds"
    args = ["convert", str(capture), "-o", str(ds)]
    assert main([*args, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert capsys.readouterr().err == "bofan: error: give --workers or --scheduler, not both\n"
    monkeypatch.setattr(_convert, "SCHEDULER_TIMEOUT_S", 1)
    assert main([*args, "--scheduler", "tcp://127.0.0.1:1"]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("bofan: cannot reach the Dask scheduler at tcp://127.0.0.1:1: ")
    assert main([*args, "--scheduler", "nonsense://x"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("bofan: bad scheduler address 'nonsense://x'")
    assert not ds.exists()  # a failed connection leaves no empty dataset behind


def test_convert_keeps_the_file_count_of_a_day_bounded(tmp_path, monkeypatch):
    from bofan_analytics.dataset import _convert

    monkeypatch.setattr(_convert, "MAX_DAY_PARTS", 2)
    ds = tmp_path / "ds"
    counts = []
    for i in range(5):  # five captures of one day, converted night after night
        part = tmp_path / f"c{i}.bin"
        part.write_bytes(FRAMES[i * FRAME * 550 : (i + 1) * FRAME * 550])  # not copies
        result = convert(part, ds)
        counts.append((len(list(ds.glob("messages/date=*/*.parquet"))), result.compacted))
    assert counts == [
        (1, []),
        (2, []),
        (1, ["messages/date=2016-10-04"]),  # a third part: the day is merged
        (2, []),
        (1, ["messages/date=2016-10-04"]),
    ]
    assert read_dataset(ds).num_rows == 5 * 550


@pytest.mark.slow
def test_two_converts_at_once_take_turns(tmp_path):
    import os
    import subprocess
    import sys

    big = tmp_path / "big.bin"
    big.write_bytes(FRAMES * 20)  # 60,000 frames: the runs overlap
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [
        sys.executable,
        "-m",
        "bofan_analytics",
        "convert",
        str(big),
        "-o",
        str(tmp_path / "ds"),
    ]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=env) for _ in range(2)]  # fmt: skip
    outcomes = sorted((run.wait(), *run.communicate()) for run in runs)
    assert [(code, err) for code, _, err in outcomes] == [(0, ""), (0, "")]
    said = sorted(out.split(" ->")[0] for _, out, _ in outcomes)
    assert said == [
        "0 file(s) converted: 0 messages, 0 rejects; 1 unchanged",  # waited, then found it done
        "1 file(s) converted: 60000 messages, 0 rejects",
    ]
    assert read_dataset(tmp_path / "ds").num_rows == 60000
