"""convert() and the readers on hand-made tables (see conftest.FakeDecoder)."""

from __future__ import annotations

import datetime as dt
import os
import threading

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from _dataset_helpers import make_messages, make_rejects, ts
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics import schema
from bofan_analytics.dataset import (
    _convert,
    _parquet,
    _parts,
    convert,
    read_dataset,
    read_messages,
    read_positions,
    read_rejects,
)
from bofan_analytics.decode import reading
from bofan_analytics.errors import FormatError, InputError, SchemaError

ROWS_A = [
    {"device_id": "002", "time": "2026-11-02 10:00:00", "lat": 1.0, "lon": 2.0, "speed_kmh": 5.0},
    {"device_id": "001", "time": "2026-11-02 09:00:00", "lat": 1.5, "lon": 2.5},
    {"device_id": "001", "time": "2026-11-03 00:00:01", "lat": 1.6, "lon": 2.6},
    # no device time: goes by received_at
    {"device_id": "001", "msg_type": "FUS", "received_at": "2026-11-04 12:00:00", "valid": None},
    # no time at all
    {"device_id": "003", "msg_type": "PHD", "valid": None, "payload": b"\xff\xd8"},
]
ROWS_B = [
    {"device_id": "001", "time": "2026-11-02 08:00:00", "lat": 1.4, "lon": 2.4, "valid": False},
    {
        "device_id": "004",
        "protocol": "pt60",
        "msg_type": "B1",
        "time": "2026-11-02 08:30:00",
        "lat": -32.96956,
        "lon": 27.92392,
        "battery_pct": 84.0,
        "cell_towers": [{"mcc": 404, "mnc": 12, "lac": 10461, "cid": 425, "rssi": 10}],
    },
]


@pytest.fixture
def two_inputs(tmp_path, fake_decoder):
    src = tmp_path / "in"
    src.mkdir()
    a = fake_decoder.add(
        src / "a.log",
        make_messages(ROWS_A, source="a.log"),
        make_rejects([{"received_at": "2026-11-02 10:00:00"}, {}], source="a.log"),
    )
    b = fake_decoder.add(src / "b.log", make_messages(ROWS_B, source="b.log"))
    (src / "geofences.geojson").write_text("{}")
    (src / "README.md").write_text("notes")
    return src, a, b


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([("source", "ascending"), ("offset", "ascending")])


def test_round_trip_keeps_rows_and_types(tmp_path, two_inputs):
    src, a, b = two_inputs
    result = convert([src], tmp_path / "ds")
    assert result.ok, result.errors
    assert [os.path.basename(f.path) for f in result.files] == ["a.log", "b.log"]
    assert (result.messages, result.rejects) == (7, 2)

    back = read_dataset(tmp_path / "ds")
    assert back.schema.equals(schema.MESSAGES, check_metadata=False)
    expected = pa.concat_tables(
        [make_messages(ROWS_A, source="a.log"), make_messages(ROWS_B, source="b.log")]
    )
    assert _sorted(back).equals(_sorted(expected))
    rejects = read_dataset(tmp_path / "ds", table="rejects")
    assert rejects.num_rows == 2 and rejects.schema.equals(schema.REJECTS, check_metadata=False)


def test_layout_partitions_sorting_and_metadata(tmp_path, two_inputs):
    src, _, _ = two_inputs
    convert(src, tmp_path / "ds")
    root = tmp_path / "ds" / "messages"
    days = sorted(p.name for p in root.iterdir())
    # 1970-01-01 holds the row without any time
    assert days == ["date=1970-01-01", "date=2026-11-02", "date=2026-11-03", "date=2026-11-04"]
    rejects_days = sorted(p.name for p in (tmp_path / "ds" / "rejects").iterdir())
    assert rejects_days == ["date=1970-01-01", "date=2026-11-02"]

    files = sorted(root.glob("date=2026-11-02/*.parquet"))
    assert len(files) == 2  # one per input
    for f in files:
        meta = pq.ParquetFile(f)
        assert meta.schema_arrow.metadata[schema.SCHEMA_VERSION_KEY] == str(schema.SCHEMA_VERSION).encode()
        group = meta.metadata.row_group(0)
        for chunk in (group.column(i) for i in range(group.num_columns)):  # zstd, but pages
            assert chunk.compression == "ZSTD" or (  # of a few bytes: as they are
                chunk.compression == "UNCOMPRESSED"
                and chunk.total_uncompressed_size < _parquet._SMALL_PAGE + 32)
        rows = pq.read_table(f).select(["device_id", "time"]).to_pylist()
        assert rows == sorted(rows, key=lambda r: (r["device_id"], r["time"]))
    a_rows = pq.read_table(
        next(f for f in files if pq.read_table(f)["source"][0].as_py() == "a.log")
    )
    assert a_rows["device_id"].to_pylist() == ["001", "002"]


def test_rerun_gives_no_duplicates_and_drops_stale_parts(tmp_path, two_inputs, fake_decoder):
    src, a, b = two_inputs
    convert(src, tmp_path / "ds")
    first = read_dataset(tmp_path / "ds")
    convert(src, tmp_path / "ds")
    convert([a, b, a], tmp_path / "ds")  # named twice: converted once
    assert _sorted(read_dataset(tmp_path / "ds")).equals(_sorted(first))

    # a capture rewritten since: only its new rows remain, its old days are gone
    fake_decoder.add(a, make_messages(ROWS_A[:1], source="a.log"))
    convert(src, tmp_path / "ds")
    again = read_dataset(tmp_path / "ds")
    assert again.num_rows == 1 + len(ROWS_B)
    assert not list((tmp_path / "ds" / "messages" / "date=2026-11-04").glob("*.parquet"))


def test_large_input_is_written_chunk_by_chunk(tmp_path, fake_decoder, monkeypatch):
    monkeypatch.setattr(_parts, "CHUNK_ROWS", 3)
    monkeypatch.setattr(reading, "HEAD_BYTES", 4)  # one piece per feed of 4 bytes
    monkeypatch.setattr(reading, "CHUNK_BYTES", 4)
    rows = [
        {"device_id": f"{i % 3}", "time": f"2026-11-02 10:{i:02d}:00", "lat": 1.0, "lon": 1.0}
        for i in range(10)
    ]
    path = fake_decoder.add(tmp_path / "big.log", make_messages(rows), pieces=5)
    result = convert(path, tmp_path / "ds")
    # pieces of 2 rows, flushed once 3 are held: chunks of 4, 4 and 2 rows
    assert result.files[0].parts == 3 and result.messages == 10
    assert read_dataset(tmp_path / "ds").num_rows == 10
    convert(path, tmp_path / "ds")
    assert read_dataset(tmp_path / "ds").num_rows == 10


def test_convert_decodes_no_chunk_ahead(tmp_path, monkeypatch):
    """``read_log`` works on each chunk of a line log ahead while the chunk before it is
    decoded; ``convert`` does not: its writer sets the pace, and a chunk ahead would only
    hold more memory. The rows are the same."""
    from bofan_analytics import read_log
    from bofan_analytics.decode.stream import StreamDecoder

    asked = []
    prepare = StreamDecoder.prepare

    def counted(self, chunk):
        asked.append(len(chunk))
        return prepare(self, chunk)

    monkeypatch.setattr(StreamDecoder, "prepare", counted)
    monkeypatch.setattr(reading, "CHUNK_BYTES", 8192)
    line = (b"2026-11-02T07:10:27.948Z $POS,860000000000136,073335.000,A,4823.4451,N,"
            b"01446.7173,E,11.75,313.77,021126,,,A/00000,00000/0,0,0,0/14//fa6//\n")
    path = tmp_path / "x.log"
    path.write_bytes(line * 2000)
    result = convert(path, tmp_path / "ds", progress=False)
    assert asked == [] and result.messages == 2000
    log = read_log(path)
    assert len(asked) > 20 and len(log.messages) == 2000  # the head, then chunks of 8 KiB
    stored = read_dataset(tmp_path / "ds").sort_by([("offset", "ascending")])
    assert stored.column("offset").to_pylist() == log.messages.column("offset").to_pylist()


def test_killed_conversion_leaves_no_half_written_file(tmp_path, two_inputs, monkeypatch):
    src, a, b = two_inputs
    real_replace = os.replace
    calls = []

    def dies_on_second(tmp, target):
        calls.append(target)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process is killed between write and rename
        real_replace(tmp, target)

    monkeypatch.setattr(_convert.os, "replace", dies_on_second)
    with pytest.raises(KeyboardInterrupt):
        convert(src, tmp_path / "ds")
    monkeypatch.setattr(_convert.os, "replace", real_replace)

    root = tmp_path / "ds" / "messages"
    leftovers = list(root.glob("date=*/.part-*.tmp"))
    assert len(leftovers) == 1
    # every visible file is complete; nothing was committed, so readers see no rows
    for f in root.glob("date=*/*.parquet"):
        pq.read_table(f)
    assert read_dataset(tmp_path / "ds").num_rows == 0
    assert ds.dataset(root, partitioning="hive").count_rows() == 0

    convert(src, tmp_path / "ds")
    assert not list(root.glob("date=*/.part-*.tmp"))
    assert read_dataset(tmp_path / "ds").num_rows == 7


def test_missing_and_empty_inputs_are_reported_not_raised(tmp_path, two_inputs):
    src, a, _ = two_inputs
    empty = tmp_path / "empty"
    empty.mkdir()
    result = convert([a, tmp_path / "nope.log", empty], tmp_path / "ds")
    assert not result.ok
    assert result.errors == [
        (os.fspath(tmp_path / "nope.log"), "no such file or directory"),
        (os.fspath(empty), "no capture files in this directory"),
    ]
    assert result.messages == len(ROWS_A)
    assert "errors=2" in repr(result) and "<table" in result._repr_html_()


def test_bad_options_raise(tmp_path, two_inputs):
    src, _, _ = two_inputs
    with pytest.raises(FormatError, match="format must be one of auto, stream"):
        convert(src, tmp_path / "ds", format="csv")
    with pytest.raises(FormatError, match="workers"):
        convert(src, tmp_path / "ds", workers=0)


def test_filters(tmp_path, two_inputs):
    src, _, _ = two_inputs
    convert(src, tmp_path / "ds")
    path = tmp_path / "ds"
    assert set(read_dataset(path, devices="001")["device_id"].to_pylist()) == {"001"}
    assert read_dataset(path, devices=["002", "004"]).num_rows == 2
    # a bare end date includes the whole day; rows without a time drop out
    day = read_dataset(path, start="2026-11-02", end="2026-11-02")
    assert day.num_rows == 4
    assert read_dataset(path, start=dt.date(2026, 11, 3)).num_rows == 1
    assert read_dataset(path, end="2026-11-02T08:30:00Z").num_rows == 2
    assert read_dataset(path, end=ts("2026-11-02 08:30:00")).num_rows == 2
    cols = read_dataset(path, columns=["time", "device_id", "date"])
    assert cols.column_names == ["time", "device_id", "date"]
    assert cols["date"].type == pa.date32()
    assert read_rejects(path, start="2026-11-02").shape[0] == 1
    df = read_messages(path, devices="004")
    assert df["cell_towers"][0][0]["cid"] == 425 and df["battery_pct"][0] == 84.0
    # nullable int32 columns stay integers, as in DecodedLog.positions()
    assert str(read_messages(path)["satellites"].dtype) == "Int32"


def test_read_errors_are_clear(tmp_path, two_inputs):
    src, _, _ = two_inputs
    convert(src, tmp_path / "ds")
    with pytest.raises(InputError, match="no such dataset"):
        read_dataset(tmp_path / "missing")
    with pytest.raises(InputError, match="not a dataset"):
        read_dataset(src)
    with pytest.raises(SchemaError, match="unknown column.*'speed'"):
        read_dataset(tmp_path / "ds", columns=["speed"])
    with pytest.raises(FormatError, match="cannot read 'yesterday'"):
        read_dataset(tmp_path / "ds", start="yesterday")
    with pytest.raises(FormatError, match="no device id"):
        read_dataset(tmp_path / "ds", devices="1", table="rejects")


def test_foreign_files_in_a_dataset_are_a_schema_error(tmp_path, two_inputs):
    src, _, _ = two_inputs
    convert(src, tmp_path / "ds")
    stray = tmp_path / "ds" / "messages" / "date=2026-11-02" / "notes.parquet"
    stray.write_text("not parquet")
    # the manifest lists the live files: a stray one is not read, nor deleted by a writer ...
    assert read_dataset(tmp_path / "ds").num_rows == 7
    convert(src, tmp_path / "ds")
    assert stray.read_text() == "not parquet"
    # ... but without a manifest (a dataset of an older release) every file is
    (tmp_path / "ds" / "_manifest.json").unlink()
    with pytest.raises(SchemaError, match="not a dataset written by bofan convert: .*notes"):
        read_dataset(tmp_path / "ds")
    stray.unlink()
    someday = tmp_path / "ds" / "messages" / "date=someday"
    someday.mkdir()
    good = next((tmp_path / "ds" / "messages" / "date=2026-11-02").glob("*.parquet"))
    (someday / good.name).write_bytes(good.read_bytes())
    with pytest.raises(SchemaError, match="error parsing 'someday'"):
        read_positions(tmp_path / "ds")


def _rewrite_metadata(path, metadata):
    table = pq.read_table(path)
    pq.write_table(table.replace_schema_metadata(metadata), path)


def test_other_schema_version_is_refused(tmp_path, two_inputs):
    src, _, _ = two_inputs
    convert(src, tmp_path / "ds")
    victim = sorted((tmp_path / "ds" / "messages").glob("date=2026-11-03/*.parquet"))[0]
    _rewrite_metadata(victim, {schema.SCHEMA_VERSION_KEY: b"99"})
    with pytest.raises(SchemaError, match="schema version 99, .* reads versions 1, 2;"):
        read_dataset(tmp_path / "ds")
    # a filter that skips that day never opens the file
    assert read_dataset(tmp_path / "ds", end="2026-11-02").num_rows == 4
    _rewrite_metadata(victim, None)
    with pytest.raises(SchemaError, match="not written by bofan convert"):
        read_positions(tmp_path / "ds")


def test_read_positions_valid_fixes_deduplicated_sorted(tmp_path, fake_decoder):
    fix = {"device_id": "7", "time": "2026-11-02 10:00:00", "lat": 1.0, "lon": 2.0}
    a = fake_decoder.add(
        tmp_path / "a.log",
        make_messages(
            [
                {**fix, "time": "2026-11-02 11:00:00"},
                fix,
                {**fix, "valid": False},
                {"device_id": "7", "time": "2026-11-02 12:00:00"},  # no coordinates
                {"device_id": "6", "time": "2026-11-02 12:00:00", "lat": 3.0, "lon": 4.0},
            ]
        ),
    )
    # the same fix, also in a second capture
    b = fake_decoder.add(tmp_path / "b.log", make_messages([fix], source="b.log"))
    convert([a, b], tmp_path / "ds")
    pos = read_positions(tmp_path / "ds")
    assert tuple(pos.columns) == schema.POSITION_COLUMNS
    assert list(zip(pos.device_id, pos.time.dt.hour, strict=True)) == [
        ("6", 12),
        ("7", 10),
        ("7", 11),
    ]
    assert len(read_positions(tmp_path / "ds", devices=["7"], start="2026-11-02T10:30")) == 1


def test_part_order_from_integer_codes_is_pyarrows_sort():
    """Files are sorted through integer codes (strings ranked by their dictionary, nulls
    last); the order is the one ``pyarrow`` gives sorting the columns themselves."""
    table = pa.table({
        "device_id": pa.array(["b", None, "a", "b", "ä", "a", None, "b"]),
        "time": pa.array([5, 1, None, 5, 0, 3, 1, None], pa.timestamp("ms", tz="UTC")),
        "offset": pa.array([7, 6, 5, 4, 3, 2, 1, 0], pa.int64()),
    })  # fmt: skip
    keys = ["device_id", "time", "offset"]
    expected = pc.sort_indices(table, [(k, "ascending") for k in keys]).to_numpy()
    rows = _parts.sort_order([table.column(k) for k in keys])
    assert rows.tolist() == expected.tolist() == [5, 2, 3, 0, 7, 4, 6, 1]


_KEY = st.one_of(
    st.integers(-3, 3),  # few values, often one
    st.integers(0, 1 << 40),  # offsets, times
    st.sampled_from([np.iinfo(np.int64).max, np.iinfo(np.int64).min, 0]),  # null fillers
)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 40).flatmap(lambda n: st.lists(
    st.lists(_KEY, min_size=n, max_size=n), min_size=1, max_size=5)),
    st.integers(0, 4), st.booleans())
def test_part_order_of_rows_mostly_in_order_is_numpys_lexsort(columns, lead, in_order):
    """The leading keys of few values sorted as one and the rows of each group kept in
    input order where the later keys run in order there (rows read front to back), else
    every key sorted: the order is ``np.lexsort``'s, whatever the values."""
    codes = [np.array(c, np.int64) for c in columns]
    if in_order and len(codes[0]):  # the later keys in order, as a log read front to back
        rest = np.lexsort(codes[lead:][::-1]) if codes[lead:] else np.arange(len(codes[0]))
        codes = [c[rest] for c in codes]
    expected = np.lexsort(codes[::-1]) if len(codes[0]) else np.arange(0)
    assert _parts._lexsort(codes).tolist() == expected.tolist()


def test_the_writer_alone_holds_a_chunk_it_sorts(tmp_path, monkeypatch):
    """Rows handed to the parts are held by the writer alone, once: the part files are
    written from the unsorted rows (no sorted copy is made), and each table is let go once
    written (a conversion holds one copy of the chunk being written, not two)."""
    pool = pa.proxy_memory_pool(pa.default_memory_pool())  # counts the unsorted rows
    monkeypatch.setattr(_parts, "WRITE_BEHIND", False)
    held_while_writing = []

    def write_sorted(table, rows, target, **options):
        held_while_writing.append(pool.bytes_allocated())
        write(table, rows, target, **options)

    write = _parts._parquet.write_sorted
    monkeypatch.setattr(_parts._parquet, "write_sorted", write_sorted)
    parts = _parts.Parts(tmp_path, "k", "g")
    handed = []

    def hand_over():  # keeps no reference to the tables it makes
        usual = pa.default_memory_pool()
        pa.set_memory_pool(pool)
        try:
            messages = make_messages([
                {schema.DEVICE_ID: f"d{i % 3}", schema.TIME: ts("2026-11-02T07:00:00") + dt.timedelta(seconds=i),
                 schema.PAYLOAD: b"x" * 50} for i in range(2000)
            ])  # fmt: skip
        finally:
            pa.set_memory_pool(usual)
        handed.append(pool.bytes_allocated())
        parts.add_tables(messages, make_rejects([{schema.RECEIVED_AT: "2026-11-02T07:00:00"}]))

    hand_over()
    assert handed[0] > 100_000
    parts.flush()
    parts.close()
    # the messages written from the rows handed over, nothing more; the rejects after them
    assert held_while_writing == [handed[0], 0]
    assert pool.bytes_allocated() == 0
    assert read_dataset(tmp_path).num_rows == 2000


def _two_chunks_second_first(tmp_path, monkeypatch, first_fails):
    """Parts with two writers, handed two chunks of one day each; the first chunk's write
    waits until the second's is done (then fails, if ``first_fails``)."""
    monkeypatch.setattr(_parts, "WRITERS", 2)
    second_written = threading.Event()
    write = _parts._parquet.write_sorted

    def write_sorted(table, rows, target, **options):
        if target.name.endswith("-00000.parquet"):
            assert second_written.wait(30)
            if first_fails:
                raise OSError("disk full")
        write(table, rows, target, **options)
        if target.name.endswith("-00001.parquet"):
            second_written.set()

    monkeypatch.setattr(_parts._parquet, "write_sorted", write_sorted)
    parts = _parts.Parts(tmp_path, "k", "g")
    for day in ("2026-11-02", "2026-11-03"):
        parts.add_tables(make_messages([{schema.DEVICE_ID: "d", schema.TIME: ts(f"{day}T07:00:00")}]),
                         make_rejects([]))  # fmt: skip
        parts.flush()
    return parts


def test_two_writers_list_the_files_in_chunk_order(tmp_path, monkeypatch):
    """Two chunks are written at once: the second may be done first, the files are listed
    in chunk order all the same."""
    parts = _two_chunks_second_first(tmp_path, monkeypatch, first_fails=False)
    parts.close()
    assert parts.final == ["messages/date=2026-11-02/part-k-g-00000.parquet",
                           "messages/date=2026-11-03/part-k-g-00001.parquet"]  # fmt: skip
    assert read_dataset(tmp_path).num_rows == 2


def test_a_writer_error_lists_the_other_writers_files_for_discard(tmp_path, monkeypatch):
    """A chunk whose write fails while another chunk is written: the error is raised once
    the other is done, its file is listed, and discarding the parts leaves no file."""
    parts = _two_chunks_second_first(tmp_path, monkeypatch, first_fails=True)
    with pytest.raises(OSError, match="disk full"):
        parts.close()
    assert parts.final == ["messages/date=2026-11-03/part-k-g-00001.parquet"]
    parts.discard()
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == []


def test_a_chunk_is_conformed_to_the_schema_in_order_type_and_metadata():
    """Columns are put in the schema's order and cast where their type differs; a table
    that already conforms is kept as it is; a missing column is a SchemaError."""
    target = pa.schema([pa.field("a", pa.int32()), pa.field("b", pa.string())],
                       metadata={b"k": b"v"})
    other = pa.table({"b": ["x", None], "a": pa.array([1, 2], pa.int64()), "c": [0.5, 1.5]})
    conformed = _parts._conform(other, target)
    assert conformed.schema.equals(target, check_metadata=True)
    assert conformed.to_pydict() == {"a": [1, 2], "b": ["x", None]}
    already = pa.table({"a": pa.array([3], pa.int32()), "b": ["y"]})
    kept = _parts._conform(already, target)
    assert kept.schema.equals(target, check_metadata=True)
    assert kept.column("a").chunk(0).buffers()[1].address == (
        already.column("a").chunk(0).buffers()[1].address)  # not copied
    with pytest.raises(SchemaError, match="lacks columns b"):
        _parts._conform(pa.table({"a": [1]}), target)


def test_the_next_input_is_decoded_while_the_last_one_is_written(two_inputs, tmp_path,
                                                                 fake_decoder, monkeypatch):
    """Each input's part files are written while the next input is decoded: a file of a
    few hundred rows waited as long for its writer as it took to decode."""
    src, a, b = two_inputs
    b_started = threading.Event()
    seen = {}
    decoder, write = _convert._decoder_for, _parts._parquet.write_sorted

    def decoding(path, *args, **options):
        if os.path.basename(path) == "b.log":
            b_started.set()
        return decoder(path, *args, **options)

    def writing(table, rows, target, **options):
        sources = set(table.column("source").take(rows).to_pylist())
        if sources == {"a.log"} and "a" not in seen:  # a's first file: b decoded meanwhile?
            seen["a"] = b_started.wait(timeout=20)
        return write(table, rows, target, **options)

    monkeypatch.setattr(_convert, "_decoder_for", decoding)
    monkeypatch.setattr(_parts._parquet, "write_sorted", writing)
    result = convert(src, tmp_path / "ds", progress=False)
    assert seen == {"a": True}
    assert result.messages == 7 and read_dataset(tmp_path / "ds").num_rows == 7


@pytest.mark.parametrize("when", ["decoding b", "writing b"])
def test_an_interrupted_conversion_leaves_no_file_of_its_own(two_inputs, tmp_path, fake_decoder,
                                                             monkeypatch, when):
    """Nothing of an interrupted run is committed, and the files it wrote (a's, done before
    the interrupt; b's, being written) are deleted: a reader of the bare files sees what the
    manifest says, the rows of the run before."""
    src, a, b = two_inputs
    old = tmp_path / "old.log"
    fake_decoder.add(old, make_messages([{"device_id": "009", "time": "2026-11-02 08:00:00"}],
                                        source="old.log"))
    convert(old, tmp_path / "ds", progress=False)
    decoder, write = _convert._decoder_for, _parts._parquet.write_sorted

    def decoding(path, *args, **options):
        if when == "decoding b" and os.path.basename(path) == "b.log":
            raise KeyboardInterrupt
        return decoder(path, *args, **options)

    def writing(table, rows, target, **options):
        if when == "writing b" and "b.log" in table.column("source").take(rows).to_pylist():
            raise KeyboardInterrupt
        return write(table, rows, target, **options)

    monkeypatch.setattr(_convert, "_decoder_for", decoding)
    monkeypatch.setattr(_parts._parquet, "write_sorted", writing)
    with pytest.raises(KeyboardInterrupt):
        convert([old, src], tmp_path / "ds", progress=False)
    root = tmp_path / "ds" / "messages"
    assert ds.dataset(root, partitioning="hive").to_table().column("source").to_pylist() == [
        "old.log"
    ]
    assert read_dataset(tmp_path / "ds").num_rows == 1


def test_the_writer_threads_serve_every_input(tmp_path, fake_decoder, monkeypatch):
    """Two threads made for each input and stopped after it cost a millisecond an input;
    the process's writer threads write every input's chunks."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        fake_decoder.add(src / f"c{i}.log", make_messages(
            [{"device_id": f"00{i}", "time": "2026-11-02 10:00:00"}], source=f"c{i}.log"))
    threads = []
    write = _parts.Parts._write_chunk

    def writing(self, jobs, chunk):
        threads.append(threading.current_thread())
        return write(self, jobs, chunk)

    monkeypatch.setattr(_parts.Parts, "_write_chunk", writing)
    assert convert(src, tmp_path / "ds", progress=False).messages == 6
    assert len(threads) == 6 and len(set(threads)) <= _parts.WRITERS
    assert all(t.is_alive() for t in set(threads))  # kept for the next input
