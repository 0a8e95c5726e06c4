"""The part-file writer (:mod:`bofan_analytics.dataset._parquet`): a chunk's rows written in
sorted order straight from the unsorted table read back, with three Parquet readers of
their own (Arrow's, DuckDB's, polars'), as ``table.take(rows)``."""

import datetime as dt
from pathlib import Path

import duckdb
import naive
import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics import schema
from bofan_analytics.dataset import _parquet
from bofan_analytics.dataset._parquet_kernels import encode_delta, encode_hybrid

CELL = pa.struct([("cid", pa.int64()), ("rssi", pa.int32()), ("name", pa.string())])
SCHEMA = pa.schema(
    [
        (schema.DEVICE_ID, pa.string()),
        (schema.TIME, schema.TIMESTAMP),
        (schema.VALID, pa.bool_()),
        (schema.LAT, pa.float64()),  # byte-stream-split
        (schema.SPEED_KMH, pa.float64()),
        (schema.SATELLITES, pa.int32()),
        (schema.OFFSET, pa.int64()),  # delta encoded
        (schema.LENGTH, pa.int32()),  # delta encoded
        (schema.ADC, pa.list_(pa.int32())),
        (schema.CELL_TOWERS, pa.list_(CELL)),
        (schema.PAYLOAD, pa.binary()),
    ],
    metadata={b"bofan_analytics.schema_version": b"2"},
)
T0 = dt.datetime(2026, 11, 2, 7, 0, tzinfo=dt.timezone.utc)
VECTORS = Path(__file__).resolve().parents[1] / "data" / "vectors"


def _write(tmp_path, table, rows, name="part.parquet"):
    target = tmp_path / "date=2026-11-02" / name
    _parquet.write_sorted(table, np.asarray(rows, np.int64), target)
    assert not list(target.parent.glob(".*"))  # the hidden file renamed into place
    return target


def _readers_agree(path, expected: pa.Table):
    """Arrow reads ``path`` back as ``expected`` written by Arrow's own writer (types and
    metadata included: a list's items are ``element`` either way); DuckDB and polars read
    the same values."""
    sink = pa.BufferOutputStream()
    pq.write_table(expected, sink)
    arrow_written = pq.read_table(pa.BufferReader(sink.getvalue()))
    back = pq.read_table(path)
    assert back.schema.equals(arrow_written.schema, check_metadata=True)
    assert back.equals(arrow_written)
    rows = expected.to_pylist()
    with duckdb.connect() as con:
        query = f"select * from read_parquet('{path}', hive_partitioning = false)"
        assert con.sql(query).fetchall() == [tuple(row.values()) for row in rows]
    assert pl.read_parquet(path).to_arrow().to_pylist() == rows


def _table(columns: dict) -> pa.Table:
    """A table of :data:`SCHEMA`, the columns not given null."""
    n = len(next(iter(columns.values())))
    return pa.table({name: columns.get(name, pa.nulls(n, SCHEMA.field(name).type))
                     for name in SCHEMA.names}, schema=SCHEMA)  # fmt: skip


def test_every_kind_of_column_reads_back_in_the_order_given(tmp_path):
    """Strings (empty, short, longer than a word, not ASCII, null), times, booleans,
    numbers, lists of numbers and of structs with nulls at every level, binary data: the
    rows ``rows`` name, in that order, one row left out."""
    n = 8
    table = _table({
        schema.DEVICE_ID: ["860000000000001", None, "a", "", "ünïcode-id", "a",
                           "860000000000001", "b"],
        schema.TIME: [T0 + dt.timedelta(seconds=i) if i != 3 else None for i in range(n)],
        schema.VALID: [True, False, None, True, True, False, None, True],
        schema.LAT: [1.5, None, -0.0, 90.0, -33.25, None, 1e-300, 7.0],
        schema.SPEED_KMH: [None] * n,
        schema.SATELLITES: [4, None, 0, -1, 2**31 - 1, -(2**31), 7, None],
        schema.OFFSET: [0, 2**63 - 1, -(2**63), None, 5, 4, 3, 2],
        schema.LENGTH: [10, 12, None, 9, 0, 2**31 - 1, 11, 10],
        schema.ADC: [[1, 2], None, [], [None, 3], [4], None, [5, None, 6], []],
        schema.CELL_TOWERS: [
            [{"cid": 1, "rssi": -70, "name": "x"}], None, [],
            [None, {"cid": None, "rssi": 3, "name": None}], [{"cid": 2**40, "rssi": None,
                                                              "name": "long cell name"}],
            None, [None], [{"cid": 5, "rssi": 5, "name": ""}],
        ],
        schema.PAYLOAD: [b"\x00\x01", None, b"", b"x" * 300, None, b"\xff", b"y", None],
    })  # fmt: skip
    rows = [7, 2, 0, 5, 3, 1, 6]
    path = _write(tmp_path, table, rows)
    _readers_agree(path, table.take(rows))


def test_chunked_and_sliced_columns_are_read_from_their_own_buffers(tmp_path):
    """A column in several chunks (a chunk's decoded pieces) and arrays that are slices of
    larger ones (offsets into shared buffers) give the same rows as whole arrays."""
    whole = _table({
        schema.DEVICE_ID: [f"dev{i % 3}" if i % 4 else None for i in range(40)],
        schema.TIME: [T0 + dt.timedelta(minutes=i) for i in range(40)],
        schema.VALID: [i % 3 == 0 if i % 5 else None for i in range(40)],
        schema.LAT: [i / 8 if i % 6 else None for i in range(40)],
        schema.SPEED_KMH: [float(i) for i in range(40)],
        schema.SATELLITES: [i if i % 2 else None for i in range(40)],
        schema.OFFSET: [1000 * i for i in range(40)],
        schema.LENGTH: [60 + i % 4 for i in range(40)],
        schema.ADC: [[i, None] if i % 3 else None for i in range(40)],
        schema.CELL_TOWERS: [[{"cid": i, "rssi": None, "name": f"c{i}"}] if i % 7 else None
                             for i in range(40)],
        schema.PAYLOAD: [bytes([i]) * i if i % 2 else None for i in range(40)],
    })  # fmt: skip
    sliced = whole.slice(5, 30)
    pieces = pa.concat_tables([sliced.slice(0, 11), sliced.slice(11, 1), sliced.slice(12)])
    assert pieces.column(schema.ADC).num_chunks == 3
    rows = list(range(29, -1, -2)) + list(range(0, 30, 2))
    _readers_agree(_write(tmp_path, pieces, rows), sliced.take(rows))


def test_columns_of_nulls_only_are_written_as_nulls(tmp_path):
    """A column no row of the chunk has (a field of the other tracker model, cell towers
    of a vehicle fleet) reads back as nulls of its type, not as empty lists or zeros."""
    n = 5
    table = _table({
        schema.DEVICE_ID: ["d"] * n,
        schema.TIME: [T0] * n,
        **{name: pa.nulls(n, SCHEMA.field(name).type)
           for name in SCHEMA.names if name not in (schema.DEVICE_ID, schema.TIME)},
    })  # fmt: skip
    path = _write(tmp_path, table, [4, 3, 2, 1, 0])
    _readers_agree(path, table.take([4, 3, 2, 1, 0]))
    assert pq.read_table(path).column(schema.CELL_TOWERS).null_count == n


def test_float_bits_round_trip(tmp_path):
    """NaN, infinities, negative zero and the smallest subnormal come back bit for bit,
    byte-stream-split (latitude) and plain (speed)."""
    values = np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324], np.float64)
    table = _table({schema.DEVICE_ID: ["d"] * 5, schema.LAT: values,
                    schema.SPEED_KMH: values})  # fmt: skip
    back = pq.read_table(_write(tmp_path, table, [0, 1, 2, 3, 4]))
    for name in (schema.LAT, schema.SPEED_KMH):
        got = back.column(name).to_numpy().view(np.uint64)
        assert got.tolist() == values.view(np.uint64).tolist()


def test_statistics_are_those_of_the_rows_written(tmp_path):
    """Device and time min/max and null counts, which readers skip row groups by, are those
    of the rows written, not of the whole chunk (another day's rows share the dictionary);
    the other columns carry none."""
    table = _table({
        schema.DEVICE_ID: ["d9", "d1", None, "d5", "d0"],
        schema.TIME: [T0, T0 + dt.timedelta(days=1), None, T0 + dt.timedelta(hours=3),
                      T0 - dt.timedelta(days=1)],
        schema.LAT: [1.0, 2.0, 3.0, 4.0, 5.0],
    })  # fmt: skip
    meta = pq.ParquetFile(_write(tmp_path, table, [3, 2, 1])).metadata.row_group(0)
    device = meta.column(0).statistics
    assert (device.min, device.max, device.null_count) == ("d1", "d5", 1)
    time = meta.column(1).statistics
    assert (time.min, time.max, time.null_count) == (T0 + dt.timedelta(hours=3),
                                                     T0 + dt.timedelta(days=1), 1)
    assert [meta.column(i).is_stats_set for i in range(2, meta.num_columns)] == [False] * (
        meta.num_columns - 2)
    assert meta.column(0).encodings == ("PLAIN", "RLE", "RLE_DICTIONARY")
    assert meta.column(1).encodings == ("RLE", "DELTA_BINARY_PACKED")
    assert meta.column(3).encodings == ("RLE", "BYTE_STREAM_SPLIT")


def test_a_dictionary_too_large_is_written_plain(tmp_path, monkeypatch):
    """Strings whose distinct values outgrow a dictionary page are written PLAIN, as
    Arrow's writer falls back; the statistics stay."""
    monkeypatch.setattr(_parquet, "DICTIONARY_BYTES", 8)
    table = _table({schema.DEVICE_ID: ["860000000000001", "860000000000002", None]})
    path = _write(tmp_path, table, [1, 2, 0])
    meta = pq.ParquetFile(path).metadata.row_group(0).column(0)
    assert meta.encodings == ("RLE", "PLAIN")
    assert (meta.statistics.min, meta.statistics.max) == ("860000000000001", "860000000000002")
    _readers_agree(path, table.take([1, 2, 0]))


_devices = st.sampled_from(["860000000000001", "8600000000000010", "a", "", "ß", None])


@st.composite
def _tables(draw):
    n = draw(st.integers(1, 60))

    def column(strategy):
        return draw(st.lists(strategy, min_size=n, max_size=n))

    ints = st.none() | st.integers(-(2**31), 2**31 - 1)
    table = _table({
        schema.DEVICE_ID: column(_devices),
        schema.TIME: column(st.none() | st.integers(-(2**40), 2**40).map(
            lambda ms: T0 + dt.timedelta(milliseconds=ms))),
        schema.VALID: column(st.none() | st.booleans()),
        schema.LAT: column(st.none() | st.floats(-90, 90)),
        schema.SATELLITES: column(ints),
        schema.OFFSET: column(st.none() | st.integers(-(2**63), 2**63 - 1)),
        schema.LENGTH: column(st.none() | st.integers(0, 2**31 - 1)),
        schema.ADC: column(st.none() | st.lists(ints, max_size=4)),
        schema.CELL_TOWERS: column(st.none() | st.lists(st.none() | st.fixed_dictionaries(
            {"cid": st.none() | st.integers(-(2**63), 2**63 - 1), "rssi": ints,
             "name": _devices}), max_size=3)),
        schema.PAYLOAD: column(st.none() | st.binary(max_size=20)),
    })  # fmt: skip
    if draw(st.booleans()):  # some rows left out, the others in any order
        rows = draw(st.permutations(range(n)))[: draw(st.integers(1, n))]
    else:  # some rows twice
        rows = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2 * n))
    return table, rows


@settings(max_examples=60, deadline=None)
@given(case=_tables())
def test_any_table_in_any_order_reads_back_as_take(tmp_path_factory, case):
    table, rows = case
    path = _write(tmp_path_factory.mktemp("p"), table, rows)
    assert pq.read_table(path).equals(table.take(rows))


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(0, 3), max_size=80) | st.lists(st.sampled_from([0, 1]),
                                                                    max_size=80),
       width=st.integers(2, 20))  # fmt: skip
def test_hybrid_encoding_decodes_to_its_values(values, width):
    """Runs of every length around eight (a run or a bit-packed group), any width."""
    data = np.array(values, np.int32)
    out = np.zeros(len(values) * (width + 6) // 8 + 32, np.uint8)
    size = encode_hybrid(data, len(values), width, out)
    assert naive.parquet_hybrid(out[:size].tobytes(), len(values), width) == values


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=300)
       | st.lists(st.integers(0, 40), max_size=300).map(lambda steps: list(np.cumsum(steps))))
def test_delta_encoding_decodes_to_its_values(values):
    """Steps of any size (wrapping around the 64-bit range) and small ones, in blocks of
    128 and a last block of any length."""
    data = np.array(values, np.int64)
    out = np.zeros(40 + (len(values) + 127) // 128 * (14 + 4 * 32 * 8), np.uint8)
    size = encode_delta(data, len(values), out)
    assert naive.parquet_delta(out[:size].tobytes()) == [int(v) for v in values]


def test_real_frames_read_back_as_the_decoded_rows_sorted(tmp_path):
    """The messages schema itself, on the frames of real devices (PT-60 cell towers and
    Wi-Fi access points, PT-502 positions, photos, firmware): every column as Arrow's
    take, and the same values through DuckDB and polars."""
    from bofan_analytics import read_log
    from bofan_analytics.dataset import _parts

    lines = []
    for name in ("pt502_frames.tsv", "pt60_frames.tsv"):
        for line in (VECTORS / name).read_text().splitlines():
            fields = line.split("\t")
            if not line.startswith("#") and fields[1] == "text":
                lines.append(fields[2])
    log = tmp_path / "real.log"
    log.write_text("\n".join(lines) + "\n")
    table = _parts._conform(read_log(log).messages, schema.MESSAGES)
    assert table.column(schema.CELL_TOWERS).null_count < table.num_rows
    rows = _parts.sort_order([table.column(name) for name in _parts.MESSAGE_ORDER])
    path = _write(tmp_path, table, rows)
    _readers_agree(path, table.take(rows))


@settings(max_examples=60, deadline=None)
@given(values=st.lists(_devices, min_size=1, max_size=40))
def test_strings_rank_as_arrow_sorts_them_and_write_the_same_file(tmp_path_factory, values):
    """A string sort key encoded once (:class:`_parquet.Strings`) ranks its rows in Arrow's
    order, nulls last, and the part written from that encoding reads back as take."""
    column = pa.chunked_array([pa.array(values, pa.string())])
    strings = _parquet.Strings(column)
    expected = pc.sort_indices(column).to_numpy()  # (nulls at the end)
    assert np.argsort(strings.ranks(), kind="stable").tolist() == expected.tolist()
    table = _table({schema.DEVICE_ID: column})
    rows = expected[::-1]
    target = tmp_path_factory.mktemp("p") / "part.parquet"
    _parquet.write_sorted(table, rows, target, encoded={schema.DEVICE_ID: strings})
    assert pq.read_table(target).equals(table.take(rows))


@pytest.mark.parametrize("number", [0, 5, 127, 128, 300, 2**31 - 1, 2**40])
def test_the_structs_spelled_out_are_the_general_encoders(number):
    """The page headers and column chunks written for every column (bytes put together by
    hand, for speed) are what the general Thrift encoder makes of their fields."""
    t = _parquet
    assert t._data_page_header(number, 7, number + 1, 8) == t._struct(
        [(1, "i32", 0), (2, "i32", number), (3, "i32", 7),
         (5, "struct", [(1, "i32", number + 1), (2, "i32", 8), (3, "i32", 3), (4, "i32", 3)])])
    assert t._dictionary_page_header(number, 9, 3) == t._struct(
        [(1, "i32", 2), (2, "i32", number), (3, "i32", 9),
         (7, "struct", [(1, "i32", 3), (2, "i32", 0)])])
    leaf = t._layout(SCHEMA).leaves[0]
    stats = t._struct([(3, "i64", 4)])
    for dictionary, encodings in ((None, (3, 0)), (number + 9, (0, 3, 8))):
        for statistics in (None, stats):
            assert t._column_chunk(leaf, encodings, 6, 4, number, 11, 10, number + 5,
                                   dictionary, statistics) == t._struct(
                [(2, "i64", 4),
                 (3, "struct", [(1, "i32", 6), (2, "list_i32", list(encodings)),
                                (3, "list_bin", ["device_id"]), (4, "i32", 6),
                                (5, "i64", number), (6, "i64", 11), (7, "i64", 10),
                                (9, "i64", number + 5), (11, "i64", dictionary),
                                (12, "struct", statistics)])])  # fmt: skip


def test_pages_of_a_few_bytes_are_not_compressed(tmp_path):
    """A column of nulls is a page of a few bytes: stored as it is (zstd would make it
    larger), the others zstd-compressed; every reader takes both."""
    table = _table({schema.DEVICE_ID: ["d"] * 200, schema.LAT: [float(i) for i in range(200)]})
    meta = pq.ParquetFile(_write(tmp_path, table, range(200))).metadata.row_group(0)
    codecs = {meta.column(i).path_in_schema: meta.column(i).compression
              for i in range(meta.num_columns)}
    assert codecs[schema.LAT] == "ZSTD" and codecs[schema.TIME] == "UNCOMPRESSED"
    _readers_agree(_write(tmp_path, table, range(200), "b.parquet"), table)


def test_row_groups_of_a_given_size_each_with_its_statistics(tmp_path):
    """A compacted file's rows in row groups of ``row_group_rows`` (the last one shorter),
    each with the device and time range of its own rows, which a reader of a few devices
    skips the others by."""
    table = _table({
        schema.DEVICE_ID: [f"d{i // 3}" for i in range(8)],
        schema.TIME: [T0 + dt.timedelta(minutes=i) for i in range(8)],
        schema.ADC: [[i] for i in range(8)],
    })  # fmt: skip
    rows = [7, 6, 5, 4, 3, 2, 1, 0]
    target = tmp_path / "c.parquet"
    _parquet.write_sorted(table, rows, target, row_group_rows=3)
    meta = pq.ParquetFile(target).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [3, 3, 2]
    ranges = [(meta.row_group(i).column(0).statistics.min,
               meta.row_group(i).column(0).statistics.max) for i in range(3)]
    assert ranges == [("d1", "d2"), ("d0", "d1"), ("d0", "d0")]
    _readers_agree(target, table.take(rows))
