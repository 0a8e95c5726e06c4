"""Converting again: only what is new is decoded, every frame lands exactly once."""

from __future__ import annotations

import gzip
import os
import shutil

import pyarrow as pa
import pytest

from bofan_analytics.dataset import _convert, convert, read_dataset
from bofan_analytics.decode import reading
from bofan_analytics.samples import generate_fleet, render_capture

ORDER = [("source", "ascending"), ("offset", "ascending")]


@pytest.fixture(scope="module")
def captures():
    fleet = generate_fleet(seed=3, vehicles=2, personal=1, days=1)
    return {fmt: render_capture(fleet, fmt).data for fmt in ("stream", "lines", "traccar")}


def _tables(path):
    return (
        read_dataset(path).sort_by(ORDER),
        read_dataset(path, table="rejects").sort_by(ORDER),
    )


def _fresh(tmp_path, files: dict[str, bytes]):
    """The dataset one conversion of the final files gives."""
    src = tmp_path / "fresh_src"
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    convert(src, tmp_path / "fresh")
    messages, rejects = _tables(tmp_path / "fresh")
    # the same rows, from files under another directory
    rename = {os.fspath(src / n): os.fspath(tmp_path / "src" / n) for n in files}

    def moved(table):
        sources = [rename[s] for s in table["source"].to_pylist()]
        return table.set_column(
            table.schema.get_field_index("source"), "source", pa.array(sources, pa.string())
        ).sort_by(ORDER)

    return moved(messages), moved(rejects)


@pytest.mark.parametrize("fmt", ["stream", "lines", "traccar"])
def test_appends_mid_frame_new_and_unchanged_files(tmp_path, captures, fmt):
    data = captures[fmt]
    other_fmt, added_fmt = [f for f in ("stream", "lines", "traccar") if f != fmt]
    other = captures[other_fmt]
    src = tmp_path / "src"
    src.mkdir()
    grow, still = src / "grow.cap", src / "still.cap"
    cut1, cut2 = len(data) // 3 + 7, 2 * len(data) // 3 + 11  # inside frames
    grow.write_bytes(data[:cut1])
    still.write_bytes(other)
    first = convert(src, tmp_path / "ds")
    assert [f.status for f in first.files] == ["new", "new"]

    with open(grow, "ab") as f:
        f.write(data[cut1:cut2])
    (src / "added.cap").write_bytes(captures[added_fmt])
    second = convert(src, tmp_path / "ds")
    assert [(os.path.basename(f.path), f.status) for f in second.files] == [
        ("added.cap", "new"),
        ("grow.cap", "appended"),
        ("still.cap", "unchanged"),
    ]
    unchanged = second.files[2]
    assert (unchanged.decoded_bytes, unchanged.messages, unchanged.rejects) == (0, 0, 0)
    # only the bytes after the last complete frame were decoded again
    assert 0 < second.files[1].decoded_bytes - (cut2 - cut1) < 2000

    with open(grow, "ab") as f:
        f.write(data[cut2:])
    third = convert(src, tmp_path / "ds")
    assert [f.status for f in third.files] == ["unchanged", "appended", "unchanged"]

    files = {"added.cap": (src / "added.cap").read_bytes(), "grow.cap": data, "still.cap": other}
    messages, rejects = _tables(tmp_path / "ds")
    fresh_messages, fresh_rejects = _fresh(tmp_path, files)
    assert messages.equals(fresh_messages)
    assert rejects.equals(fresh_rejects)


def test_replaced_and_truncated_files_are_converted_again(tmp_path, captures):
    src = tmp_path / "src"
    src.mkdir()
    data = captures["lines"]
    path = src / "cap.log"
    path.write_bytes(data)
    convert(src, tmp_path / "ds")

    path.write_bytes(data[: len(data) // 2])  # truncated
    result = convert(src, tmp_path / "ds")
    assert [f.status for f in result.files] == ["replaced"]
    messages, rejects = _tables(tmp_path / "ds")
    fresh = _fresh(tmp_path, {"cap.log": data[: len(data) // 2]})
    assert messages.equals(fresh[0]) and rejects.equals(fresh[1])

    replaced = captures["stream"]  # another capture under the same name
    path.write_bytes(replaced)
    assert [f.status for f in convert(src, tmp_path / "ds").files] == ["replaced"]
    messages, rejects = _tables(tmp_path / "ds")
    fresh = _fresh(tmp_path, {"cap.log": replaced})
    assert messages.equals(fresh[0]) and rejects.equals(fresh[1])

    # --full decodes everything again; the rows stay the same
    result = convert(src, tmp_path / "ds", full=True)
    assert [(f.status, f.decoded_bytes) for f in result.files] == [("replaced", len(replaced))]
    assert _tables(tmp_path / "ds")[0].equals(fresh[0])


def test_unchanged_old_file_is_skipped_without_reading(tmp_path, captures, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    path = src / "old.log"
    path.write_bytes(captures["lines"])
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))  # modified long before it is read
    convert(src, tmp_path / "ds")

    def no_reading(*args, **kwargs):
        raise AssertionError("an unchanged file was opened")

    monkeypatch.setattr(_convert, "_Reader", no_reading)  # what opens an input
    result = convert(src, tmp_path / "ds")
    assert [(f.status, f.decoded_bytes) for f in result.files] == [("unchanged", 0)]


def test_same_content_through_symlink_copy_or_gz_is_kept_once(tmp_path, captures):
    src = tmp_path / "src"
    src.mkdir()
    data = captures["stream"]
    (src / "a.bin").write_bytes(data)
    first = convert(src / "a.bin", tmp_path / "ds")
    rows = read_dataset(tmp_path / "ds").num_rows
    assert first.messages == rows > 0

    other = tmp_path / "other"
    other.mkdir()
    (other / "copy.bin").write_bytes(data)
    (other / "a.bin.gz").write_bytes(gzip.compress(data))
    os.symlink(src / "a.bin", other / "link.bin")
    result = convert(other, tmp_path / "ds")
    assert [(os.path.basename(f.path), f.status) for f in result.files] == [
        ("a.bin.gz", "duplicate"),
        ("copy.bin", "duplicate"),
        ("link.bin", "unchanged"),  # the same file as src/a.bin
    ]
    assert result.duplicates == [
        (os.fspath(other / "a.bin.gz"), os.fspath(src / "a.bin")),
        (os.fspath(other / "copy.bin"), os.fspath(src / "a.bin")),
    ]
    assert result.messages == 0
    assert read_dataset(tmp_path / "ds").num_rows == rows
    # and again: nothing changes
    again = convert([other, src], tmp_path / "ds")
    assert {f.status for f in again.files} == {"unchanged"}
    assert read_dataset(tmp_path / "ds").num_rows == rows


def test_truncated_gz_keeps_and_reports_what_was_decoded(tmp_path, captures, monkeypatch):
    monkeypatch.setattr(reading, "CHUNK_BYTES", 4096)
    data = captures["lines"]
    packed = gzip.compress(data, mtime=0)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(packed[: len(packed) * 3 // 4])
    result = convert(path, tmp_path / "ds")
    assert not result.ok
    [(where, reason)] = result.errors
    kept = result.files[0]
    assert where == os.fspath(path) and kept.partial and kept.status == "new"
    assert reason == (
        f"compressed data cut off after {kept.decoded_bytes:,} decompressed bytes (the file "
        f"ends inside a compressed frame); kept {kept.messages} messages and {kept.rejects} rejects "
        f"from the first {kept.decoded_bytes} bytes"
    )
    assert 0 < kept.decoded_bytes < len(data)
    assert read_dataset(tmp_path / "ds").num_rows == kept.messages > 0


def test_a_copy_is_converted_once_its_original_changed(tmp_path, captures):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(captures["stream"])
    (src / "b.bin").write_bytes(captures["stream"])  # a copy: kept once
    assert [f.status for f in convert(src, tmp_path / "ds").files] == ["new", "duplicate"]
    (src / "a.bin").write_bytes(captures["lines"])  # the original is replaced
    assert [f.status for f in convert(src, tmp_path / "ds").files] == ["replaced", "unchanged"]
    # the copy's content is no longer in the dataset: the next run converts it
    assert [f.status for f in convert(src, tmp_path / "ds").files] == ["unchanged", "new"]
    messages, rejects = _tables(tmp_path / "ds")
    fresh = _fresh(tmp_path, {"a.bin": captures["lines"], "b.bin": captures["stream"]})
    assert messages.equals(fresh[0]) and rejects.equals(fresh[1])


def test_a_dataset_without_manifest_is_not_written_into(tmp_path, captures):
    from bofan_analytics.errors import InputError

    old = tmp_path / "old" / "messages" / "date=2026-11-02"
    old.mkdir(parents=True)
    (old / "part-0123456789abcdef-00000.parquet").write_bytes(b"PAR1")
    (tmp_path / "c.bin").write_bytes(captures["stream"])
    with pytest.raises(InputError, match="holds part files but no _manifest.json"):
        convert(tmp_path / "c.bin", tmp_path / "old")


def test_inputs_hashed_by_an_older_version_are_still_recognised(tmp_path, captures):
    """Manifests written before hashes were named hold bare blake2b digits: an input so
    recorded is unchanged while its bytes are, and grows by its new bytes only."""
    import hashlib
    import json

    data = captures["lines"]
    src = tmp_path / "src"
    src.mkdir()
    path = src / "cap.log"
    cut = len(data) // 2 + 5
    path.write_bytes(data[:cut])
    first = convert(src, tmp_path / "ds")
    assert first.files[0].content_hash.startswith("xxh3-128:")

    manifest = tmp_path / "ds" / "_manifest.json"
    held = json.loads(manifest.read_text())
    (entry,) = held["inputs"].values()
    blake = lambda b: hashlib.blake2b(b, digest_size=16).hexdigest()  # noqa: E731
    entry["head_hash"] = blake(data[: min(cut, reading.HEAD_BYTES)])
    entry["content_hash"] = blake(data[:cut])
    entry["checked_ns"] = 0  # (not "surely unchanged" from its time: its bytes are read)
    manifest.write_text(json.dumps(held))

    again = convert(src, tmp_path / "ds")
    assert [(f.status, f.decoded_bytes) for f in again.files] == [("unchanged", 0)]
    with open(path, "ab") as f:
        f.write(data[cut:])
    grown = convert(src, tmp_path / "ds")
    assert [f.status for f in grown.files] == ["appended"]
    # the grown input keeps the kind of hash it was recorded with
    assert grown.files[0].content_hash == blake(data)
    messages, rejects = _tables(tmp_path / "ds")
    fresh = _fresh(tmp_path, {"cap.log": data})
    assert messages.equals(fresh[0]) and rejects.equals(fresh[1])


def test_convert_reads_in_a_share_of_the_decode_loops_chunks(tmp_path, monkeypatch):
    """``convert`` holds rows for its writer besides the chunk it decodes, so it reads in
    smaller chunks than ``read_log`` (:data:`CHUNK_SHARE` of them), each cut after a line
    end, every byte once."""
    from bofan_analytics.dataset._reader import CHUNK_SHARE, ManifestReader

    monkeypatch.setattr(reading, "CHUNK_BYTES", 4000)
    lines = [f"2026-11-02T07:00:{i % 60:02d}Z $POS,{i:05d}\n".encode() for i in range(10_000)]
    path = tmp_path / "x.log"
    path.write_bytes(b"".join(lines))
    reader = ManifestReader(str(path), None)
    try:
        chunks = list(reader.chunks(scale=1))
    finally:
        reader.close()
    assert CHUNK_SHARE == 0.5
    assert b"".join(chunks) == path.read_bytes()
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    # after the head (read whole first, to tell the format): 2,000 bytes a chunk and the
    # end of a line the chunk before cut off, cut back to the last line end (lines of 32)
    assert len(chunks[0]) >= reading.HEAD_BYTES - 32
    assert {len(chunk) for chunk in chunks[2:-1]} == {1984, 2016}
