"""convert and the readers on real frames, through the real decoder."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from bofan_analytics import schema
from bofan_analytics.dataset import (
    _parts,
    convert,
    read_dataset,
    read_positions,
    read_rejects,
)
from bofan_analytics.decode import read_log, reading

# real frames (see the shared test vectors); times span several days
PT502 = [
    b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/",
    b"$POS,20007,134704.000,A,0626.1698,N,00330.2870,E,31.23,79.58,041016,,,A/00010,00000/26c,0,0,0/19949100//fa4//#",
    b"$HDA,20007,134657.000,A,0626.1607,N,00330.2245,E,33.38,81.79,041016,,,A/00010,00000/270,0,0,0/19948900//fa4//",
    b"$HDB,20007,134708.000,A,0626.1759,N,00330.3192,E,26.55,80.37,041016,,,A/00010,00000/23b,0,0,0/19949100//fa4//",
    b"$POS,718005258,121930.000,V,0514.0960,S,14547.3245,E,0.0,0.0,151020,,/00000,00000/0,0,0,0/106945600//f00//",
    b"$FUS865328026243864,510-V1.12,A11-V3.0",
]
PT60 = [
    b"@B#@|01|001|864891030184852|9425010450971470|1|45|20181127122717|32.701093|35.570938|1|",
    b"@B#@|01|001|864891030184852|9425010450971470|1|84|20181205161005|40412,10461,1,425,10|2|",
    b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,23.2014050;104.235212,",
    b"@G#@,V01,1,353882080015633,9460025014649193,",
]


@pytest.fixture
def captures(tmp_path):
    src = tmp_path / "captures"
    src.mkdir()
    (src / "device.bin").write_bytes(b"\r\n".join(PT502) + b"\r\n")
    lines = [b"2026-11-02T07:10:%02d.948Z " % i + f for i, f in enumerate(PT60 + PT502[:2])]
    lines.append(b"2026-11-02T07:11:00.000Z this is no frame")
    (src / "server.log.gz").write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    (src / "zones.geojson").write_text("{}")
    return src


def test_dataset_holds_what_the_decoder_gives(tmp_path, captures):
    result = convert(captures, tmp_path / "ds")
    assert result.ok, result.errors
    assert [f.format for f in result.files] == ["stream", "lines"]
    log = read_log(captures)
    assert (result.messages, result.rejects) == (log.messages.num_rows, log.rejects.num_rows)

    order = [("source", "ascending"), ("offset", "ascending")]
    back = read_dataset(tmp_path / "ds")
    assert back.sort_by(order).equals(log.messages.sort_by(order))
    assert (
        read_dataset(tmp_path / "ds", table="rejects")
        .sort_by(order)
        .equals(log.rejects.sort_by(order))
    )
    assert read_rejects(tmp_path / "ds")["reason"].tolist() == ["unknown_protocol"]
    pd.testing.assert_frame_equal(read_positions(tmp_path / "ds"), log.positions())

    # the known answer of the shared vectors
    fix = read_positions(tmp_path / "ds", devices="216769295715")
    assert fix["time"].tolist() == [pd.Timestamp("2015-09-10 16:32:37", tz="UTC")]
    assert round(fix["lat"][0], 5) == -32.96956 and round(fix["lon"][0], 5) == 27.92392

    convert(captures, tmp_path / "ds")
    assert read_dataset(tmp_path / "ds").num_rows == log.messages.num_rows


def test_small_reads_and_chunks_give_the_same_rows(tmp_path, captures, monkeypatch):
    convert(captures, tmp_path / "whole")
    # frames split across reads, rows written in many small chunks
    monkeypatch.setattr(reading, "HEAD_BYTES", 50)
    monkeypatch.setattr(reading, "CHUNK_BYTES", 37)
    monkeypatch.setattr(_parts, "CHUNK_ROWS", 2)
    result = convert(captures, tmp_path / "chunked")
    assert result.files[0].parts > 3
    order = [(c, "ascending") for c in ("source", "offset")]
    whole = read_dataset(tmp_path / "whole").sort_by(order)
    assert read_dataset(tmp_path / "chunked").sort_by(order).equals(whole)


def test_unreadable_input_is_reported(tmp_path, captures):
    (captures / "broken.bin.gz").write_bytes(gzip.compress(b"$POS,1,2,3\r\n" * 100)[:40])
    result = convert(captures, tmp_path / "ds")
    assert [path.endswith("broken.bin.gz") for path, _ in result.errors] == [True]
    assert result.messages == read_dataset(tmp_path / "ds").num_rows > 0


@pytest.mark.slow
def test_workers_run_files_on_a_local_dask_cluster(tmp_path, captures):
    pytest.importorskip("distributed")
    result = convert(captures, tmp_path / "ds", workers=2)
    assert result.ok, result.errors
    assert [f.path for f in result.files] == [
        str(captures / "device.bin"),
        str(captures / "server.log.gz"),
    ]
    log = read_log(captures)
    assert result.messages == log.messages.num_rows
    assert sorted(
        read_dataset(tmp_path / "ds", columns=[schema.SOURCE])["source"].unique().to_pylist()
    ) == [
        str(captures / "device.bin"),
        str(captures / "server.log.gz"),
    ]


def test_the_same_capture_stored_twice_is_kept_once(tmp_path, captures):
    plain = (captures / "device.bin").read_bytes()
    (captures / "device.bin.gz").write_bytes(gzip.compress(plain))
    for run in range(2):
        result = convert(captures, tmp_path / "ds")
        assert result.ok
        assert result.duplicates == [
            (str(captures / "device.bin.gz"), str(captures / "device.bin"))
        ]
        single = read_log([captures / "device.bin", captures / "server.log.gz"])
        # rows added: all of them the first time, none when nothing changed
        assert result.messages == (single.messages.num_rows if run == 0 else 0)
        assert read_dataset(tmp_path / "ds").num_rows == single.messages.num_rows
    assert "duplicate_of" in result.to_pandas().columns
