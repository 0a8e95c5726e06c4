"""A converted dataset reads as it is with pyarrow.dataset, pandas, DuckDB and Dask."""

from __future__ import annotations

import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from _dataset_helpers import make_messages, make_rejects

from bofan_analytics import schema
from bofan_analytics.dataset import convert, read_dataset

ROWS = [
    {"device_id": "0123", "time": "2026-11-02 10:00:00", "lat": 1.0, "lon": 2.0, "satellites": 7},
    {"device_id": "0123", "time": "2026-11-03 10:00:00", "lat": 1.5, "lon": 2.5, "rssi": 20},
    {"device_id": "0456", "time": "2026-11-03 11:00:00", "lat": -1.5, "lon": -2.5},
]


@pytest.fixture
def dataset(tmp_path, fake_decoder):
    path = fake_decoder.add(
        tmp_path / "a.log",
        make_messages(ROWS),
        make_rejects([{"received_at": "2026-11-02 10:00:00"}]),
    )
    convert(path, tmp_path / "ds")
    return tmp_path / "ds"


def test_pyarrow_dataset(dataset):
    table = ds.dataset(dataset / "messages", partitioning="hive").to_table()
    assert table.num_rows == 3
    for field in schema.MESSAGES:
        assert table.schema.field(field.name).type == field.type


def test_pandas(dataset):
    df = pd.read_parquet(dataset / "messages")
    assert len(df) == 3
    assert sorted(df["device_id"]) == ["0123", "0123", "0456"]  # leading zeros kept
    assert str(df["time"].dtype) == "datetime64[ms, UTC]"
    assert sorted(df["date"].astype(str).unique()) == ["2026-11-02", "2026-11-03"]
    assert len(pd.read_parquet(dataset / "rejects")) == 1


def test_duckdb(dataset):
    duckdb = pytest.importorskip("duckdb")
    glob = (dataset / "messages" / "**" / "*.parquet").as_posix()
    rows = duckdb.sql(
        f"select device_id, count(*), min(date) from read_parquet('{glob}', hive_partitioning=true) "
        "group by device_id order by device_id"
    ).fetchall()
    assert [(d, n, str(day)) for d, n, day in rows] == [
        ("0123", 2, "2026-11-02"),
        ("0456", 1, "2026-11-03"),
    ]


# dask itself still calls a pandas API that pandas 3 deprecates
@pytest.mark.filterwarnings("ignore:The inplace keyword:Warning")
def test_dask_dataframe(dataset):
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.read_parquet(dataset / "messages")
    assert len(frame.compute()) == 3
    assert frame["lat"].sum().compute() == pytest.approx(0.0 + 1.0)


def test_convert_on_a_dask_cluster(tmp_path, fake_decoder):
    distributed = pytest.importorskip("distributed")
    paths = [
        fake_decoder.add(tmp_path / f"{i}.log", make_messages(ROWS, source=f"{i}.log"))
        for i in range(3)
    ]
    # threads, not processes: the stand-in decoder lives in this process
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = convert(paths, tmp_path / "ds", scheduler=cluster.scheduler_address)
    assert result.ok and [f.path for f in result.files] == paths
    assert result.messages == 9
    table = read_dataset(tmp_path / "ds")
    assert table.num_rows == 9
    assert pc.count_distinct(table["source"]).as_py() == 3


def test_parts_keep_statistics_for_the_columns_readers_prune_by(tmp_path):
    """Row groups carry min/max of device, time and receive time (what reads filter on and
    rows are sorted by), not of the other columns."""
    import pyarrow.parquet as pq

    from bofan_analytics import read_log, schema
    from bofan_analytics.dataset import _parquet

    messages = read_log(
        b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/\r\n"
    ).messages
    _parquet.write_sorted(messages, range(messages.num_rows), tmp_path / "part.parquet")
    group = pq.ParquetFile(tmp_path / "part.parquet").metadata.row_group(0)
    with_stats = {group.column(i).path_in_schema for i in range(group.num_columns)
                  if group.column(i).is_stats_set}
    assert with_stats == {schema.DEVICE_ID, schema.TIME, schema.RECEIVED_AT}
    device = group.column(messages.schema.get_field_index(schema.DEVICE_ID)).statistics
    assert (device.min, device.max) == ("216769295715", "216769295715")


def test_parts_delta_encode_times_and_offsets(tmp_path):
    """Times, byte offsets and frame lengths are written delta encoded (small steps once
    rows are sorted), positions, odometers and battery levels byte-stream-split, strings
    dictionary encoded, the other columns plain; the file reads back as the table
    written (a missing position and odometer too)."""
    import pyarrow.parquet as pq

    from bofan_analytics import read_log, schema
    from bofan_analytics.dataset import _parquet

    messages = read_log(
        b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/\r\n"
        b"$POS,216769295715,163247.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/\r\n"
        b"@B#@|01|033|864891030184954|9425010450971470|0|4|20181120151744|@E#@\r\n"
    ).messages
    assert messages.column(schema.LAT).null_count == 1
    _parquet.write_sorted(messages, range(messages.num_rows), tmp_path / "part.parquet")
    group = pq.ParquetFile(tmp_path / "part.parquet").metadata.row_group(0)
    encodings = {group.column(i).path_in_schema: group.column(i).encodings
                 for i in range(group.num_columns)}  # fmt: skip
    for name in (schema.TIME, schema.OFFSET, schema.LENGTH):
        assert "DELTA_BINARY_PACKED" in encodings[name], name
    assert messages.column(schema.RECEIVED_AT).null_count == 3  # (no values: levels only)
    assert encodings[schema.RECEIVED_AT] == ("RLE", "PLAIN")
    for name in (schema.LAT, schema.LON, schema.ODOMETER_M, schema.BATTERY_PCT):
        assert "BYTE_STREAM_SPLIT" in encodings[name], name
    for name in (schema.DEVICE_ID, schema.MSG_TYPE, schema.SOURCE):
        assert "RLE_DICTIONARY" in encodings[name], name
    for name in (schema.SPEED_KMH, schema.COURSE, schema.SATELLITES):
        assert not {"DELTA_BINARY_PACKED", "BYTE_STREAM_SPLIT", "RLE_DICTIONARY"} & set(
            encodings[name]), name
    assert pq.read_table(tmp_path / "part.parquet").equals(messages)
