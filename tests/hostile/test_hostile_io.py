"""Inputs that used to vanish with exit 0: a forced format that does not fit, a cut-off
``.zst``, directories that cannot be read or are reached through links, file names that
are not UTF-8."""

import gzip
import os
import re
from pathlib import Path

import pytest
import zstandard

import bofan_analytics as ba
from bofan_analytics.cli import main
from bofan_analytics.errors import InputError, TruncatedInputError
from bofan_analytics.io import files as io_files
from bofan_analytics.io import iter_capture_files

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
POS = b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/\r\n"
LINES = b"".join(b"2026-11-02T07:10:%02d.000Z " % i + POS for i in range(40))


def _run(argv, capsys):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


# --------------------------------------------------------------------- forced format


@pytest.mark.parametrize("command", ["convert", "summary"])
def test_a_forced_format_that_does_not_fit_is_an_error(tmp_path, capsys, command):
    log = tmp_path / "dump.log"
    log.write_bytes(LINES)
    argv = [command, str(log), "--format", "traccar"]
    if command == "convert":
        argv += ["-o", str(tmp_path / "ds")]
    code, out, err = _run(argv, capsys)
    assert code == 1
    assert err == (
        f"bofan: {log}: does not fit --format traccar: {len(LINES):,} bytes gave no frame "
        "and no reject (leave the format out to detect it)\n"
    )
    if command == "convert":
        assert out == f"0 file(s) converted: 0 messages, 0 rejects -> {tmp_path / 'ds'}\n"


def test_read_log_with_a_forced_format_that_does_not_fit(tmp_path):
    log = tmp_path / "dump.log"
    log.write_bytes(LINES)
    with pytest.raises(InputError) as caught:
        ba.read_log(log, format="traccar")
    assert str(caught.value) == (
        f"{log}: does not fit --format traccar: {len(LINES):,} bytes gave no frame and no reject "
        "(leave the format out to detect it)"
    )
    with pytest.raises(InputError, match=r"^<bytes>: does not fit --format traccar"):
        ba.read_log(LINES, format="traccar")
    # the format that fits, forced or detected, decodes every line
    assert len(ba.read_log(log, format="lines").messages) == 40
    assert len(ba.read_log(log).messages) == 40
    # a forced format on input that holds frames or rejects is not an error
    assert len(ba.read_log(b"noise\n", format="stream").rejects) == 1
    # a file of nothing, or of line ends and spaces, gives nothing in any format: no error
    for blank in (b"", b"\r\n \n\t"):
        (tmp_path / "blank.log").write_bytes(blank)
        assert len(ba.read_log(tmp_path / "blank.log", format="traccar").messages) == 0


# --------------------------------------------------------------------- compression


def _cut_zst(tmp_path, keep):
    data = (SAMPLES / "fleet.log").read_bytes()
    packed = zstandard.ZstdCompressor(level=3).compress(data)
    path = tmp_path / "fleet.log.zst"
    path.write_bytes(packed[:keep] if isinstance(keep, int) else packed[: int(len(packed) * keep)])
    return path, data


@pytest.mark.parametrize("packer", ["zst", "gz"])
def test_a_cut_off_compressed_file_keeps_what_came_before(tmp_path, packer):
    data = (SAMPLES / "fleet.log").read_bytes()
    if packer == "zst":
        packed = zstandard.ZstdCompressor(level=3).compress(data)
    else:
        packed = gzip.compress(data)
    path = tmp_path / f"fleet.log.{packer}"
    path.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(TruncatedInputError) as caught:
        ba.read_log(path)
    err = caught.value
    assert isinstance(err, InputError)
    assert 0 < err.decoded_bytes < len(data)
    # exactly what an uncut file of the bytes before the break decodes to
    before = ba.read_log(data[: err.decoded_bytes], source_name=str(path))
    assert err.partial.messages.equals(before.messages)
    assert err.partial.rejects.equals(before.rejects)
    assert len(err.partial.messages) > 100
    assert str(err) == (
        f"{path}: compressed data cut off after {err.decoded_bytes:,} decompressed bytes "
        "(the file ends inside a compressed frame); decoded before the break: "
        f"{len(before.messages):,} messages, {len(before.rejects):,} rejects "
        "(kept in the error's .partial)"
    )


@pytest.mark.parametrize("keep", [4, 6], ids=["magic-only", "magic-and-header"])
def test_a_zst_of_only_its_magic_bytes(tmp_path, capsys, keep):
    path, _ = _cut_zst(tmp_path, keep)
    with pytest.raises(TruncatedInputError) as caught:
        ba.read_log(path)
    assert caught.value.decoded_bytes == 0
    assert len(caught.value.partial.messages) == len(caught.value.partial.rejects) == 0
    code, out, err = _run(["summary", str(path)], capsys)
    assert code == 1
    assert err == (
        f"bofan: {path}: compressed data cut off after 0 decompressed bytes "
        "(the file ends inside a compressed frame); counted up to the break\n"
    )
    assert out.splitlines()[0] == f"{path}: nothing readable (cut off), 0 messages, 0 rejects"


def test_summary_of_a_cut_off_zst_is_one_line_and_exit_1(tmp_path, capsys):
    path, data = _cut_zst(tmp_path, 0.5)
    with pytest.raises(TruncatedInputError) as caught:
        ba.read_log(path)
    partial = caught.value.partial
    code, out, err = _run(["summary", str(path)], capsys)
    assert code == 1
    assert err == (
        f"bofan: {path}: compressed data cut off after {caught.value.decoded_bytes:,} "
        "decompressed bytes (the file ends inside a compressed frame); counted up to the break\n"
    )
    # what came before the break is counted, the frame cut there as a truncated reject
    assert out.splitlines()[0] == (
        f"{path}: lines (cut off), {len(partial.messages)} messages, "
        f"{len(partial.rejects)} rejects"
    )
    assert partial.rejects.column("reason").to_pylist()[-1] == "truncated"


def test_convert_of_a_cut_off_zst_is_one_line_and_exit_1(tmp_path, capsys):
    path, _ = _cut_zst(tmp_path, 0.5)
    with pytest.raises(TruncatedInputError) as caught:
        ba.read_log(path)
    code, out, err = _run(["convert", str(path), "-o", str(tmp_path / "ds")], capsys)
    assert code == 1
    head = (
        f"bofan: {path}: compressed data cut off after {caught.value.decoded_bytes:,} "
        "decompressed bytes (the file ends inside a compressed frame)"
    )
    assert err.startswith(head)
    # what was decoded before the break is kept, and the line says so
    kept = re.fullmatch(r"; kept (\d+) messages and (\d+) rejects from the first (\d+) bytes\n",
                        err[len(head):])
    assert kept, err
    assert int(kept[1]) == ba.read_dataset(tmp_path / "ds").num_rows > 0


def test_whole_zst_files_in_several_frames_and_from_pzstd_read_completely(tmp_path):
    data = (SAMPLES / "fleet.log").read_bytes()
    packer = zstandard.ZstdCompressor()
    half = len(data) // 2
    two_frames = packer.compress(data[:half]) + packer.compress(data[half:])
    # pzstd starts each frame with a skippable frame holding its size
    skippable = b"\x50\x2a\x4d\x18" + (4).to_bytes(4, "little") + bytes(4)
    for name, blob in [("two.zst", two_frames), ("pz.zst", skippable + packer.compress(data))]:
        (tmp_path / name).write_bytes(blob)
        with io_files.open_capture(tmp_path / name) as f:
            assert f.read() == data, name


# --------------------------------------------------------------------- directories


@pytest.fixture
def tree(tmp_path):
    """``top/a.log``, ``top/locked/b.log`` (made unreadable below), ``top/sub/c.log``,
    ``top/zlink -> sub`` and ``top/sub/loop -> ..`` (a loop), all line logs."""
    top = tmp_path / "top"
    lines = LINES.splitlines(keepends=True)
    for rel, n in (("a.log", 40), ("locked/b.log", 30), ("sub/c.log", 20)):
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_bytes(b"".join(lines[:n]))
    os.symlink("sub", top / "zlink")
    os.symlink("..", top / "sub" / "loop")
    return top


@pytest.fixture
def locked(tree, monkeypatch):
    """``top/locked`` cannot be listed (root can read any directory, so pretend)."""
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(io_files.os, "scandir", scandir)
    return tree / "locked"


def test_links_to_directories_are_followed_once(tree):
    assert list(iter_capture_files(tree)) == [
        tree / "a.log",
        tree / "locked" / "b.log",
        tree / "sub" / "c.log",
    ]
    outside = tree.parent / "outside"
    outside.mkdir()
    (outside / "d.log").write_bytes(LINES)
    os.symlink(outside, tree / "elsewhere")
    assert tree / "elsewhere" / "d.log" in list(iter_capture_files(tree))


def test_a_broken_link_is_reported(tree):
    os.symlink("nowhere", tree / "gone.log")
    with pytest.raises(InputError) as caught:
        list(iter_capture_files(tree))
    assert str(caught.value) == f"{tree / 'gone.log'}: a symbolic link to nothing (broken link)"


def test_an_unreadable_directory_stops_read_log(tree, locked):
    with pytest.raises(InputError) as caught:
        ba.read_log(tree)
    assert str(caught.value) == f"{locked}: cannot read this directory: permission denied"


def test_an_unreadable_directory_is_an_error_and_the_rest_converts(tree, locked, tmp_path, capsys):
    out_dir = tmp_path / "ds"
    code, out, err = _run(["convert", str(tree), "-o", str(out_dir)], capsys)
    assert code == 1
    assert err == f"bofan: {locked}: cannot read this directory: permission denied\n"
    assert out == f"2 file(s) converted: 60 messages, 0 rejects -> {out_dir}\n"


# --------------------------------------------------------------------- file names


def test_a_file_name_that_is_not_utf8(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    name = os.fsdecode(b"caf\xe9.log")
    (folder / name).write_bytes(LINES)
    shown = str(folder) + "/caf\\xe9.log"

    log = ba.read_log(folder)
    assert set(log.messages.column("source").to_pylist()) == {shown}
    assert log.accounting.column("source").to_pylist() == [shown]

    code, out, err = _run(["convert", str(folder), "-o", str(tmp_path / "ds")], capsys)
    assert (code, err) == (0, "")
    assert out == f"1 file(s) converted: 40 messages, 0 rejects -> {tmp_path / 'ds'}\n"
    from bofan_analytics.dataset import read_messages

    stored = read_messages(tmp_path / "ds")
    assert set(stored["source"]) == {shown}


def test_a_dataset_path_that_is_not_utf8_is_refused_before_anything_is_written(
        tmp_path, capsys):
    capture = tmp_path / "fleet.log"
    capture.write_bytes((SAMPLES / "fleet.log").read_bytes()[:20000])
    target = os.fsdecode(os.fsencode(tmp_path) + b"/ds\xff")
    code, out, err = _run(["convert", str(capture), "-o", target], capsys)
    assert code == 2 and out == ""
    shown = os.fsencode(tmp_path).decode() + "/ds\\xff"
    assert err == (f"bofan: dataset path {shown!r} is not valid UTF-8, which Parquet readers "
                   "need; choose another name\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.log"]
