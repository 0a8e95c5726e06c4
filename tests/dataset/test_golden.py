"""Datasets written by earlier releases (golden files, see make_golden.py) still read."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from _dataset_helpers import make_messages, make_rejects
from make_golden import GOLDEN_REJECTS, golden_messages

from bofan_analytics import schema
from bofan_analytics.dataset import read_dataset, read_positions

DATA = Path(__file__).resolve().parent / "data"


def test_golden_versions_are_kept():
    assert (DATA / f"v{schema.SCHEMA_VERSION}").is_dir(), "run make_golden.py for the new version"


def test_every_supported_version_has_golden_files():
    assert sorted(int(p.name[1:]) for p in DATA.glob("v*")) == list(schema.SUPPORTED_SCHEMA_VERSIONS)


@pytest.mark.parametrize("version", schema.SUPPORTED_SCHEMA_VERSIONS)
def test_golden_dataset_reads(version):
    path = DATA / f"v{version}"
    messages = read_dataset(path)
    expected = make_messages(golden_messages(version), source="golden.log")
    order = [("source", "ascending"), ("offset", "ascending")]
    assert messages.sort_by(order).equals(expected.sort_by(order))
    assert messages.schema.equals(schema.MESSAGES, check_metadata=False)
    rejects = read_dataset(path, table="rejects")
    assert rejects.equals(make_rejects(GOLDEN_REJECTS, source="golden.log"))
    positions = read_positions(path, devices="0123456789")
    assert positions["lat"].tolist() == [-32.96956, 6.43601]
    assert isinstance(messages, pa.Table)


def test_version_1_text_columns_are_upgraded_on_read(tmp_path):
    import pyarrow.parquet as pq

    rows = [
        {"device_id": "1", "protocol": "pt502", "msg_type": "POS", "inputs": "00010",
         "outputs": "10", "adc": "270,0,1f8", "source": "a.log", "offset": 0, "length": 9},
        {"device_id": "2", "protocol": "pt502", "msg_type": "POS", "inputs": "0x9",
         "outputs": None, "adc": "", "source": "a.log", "offset": 9, "length": 9},
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=schema.MESSAGES_V1)
    part = tmp_path / "ds" / "messages" / "date=1970-01-01"
    part.mkdir(parents=True)
    pq.write_table(table, part / "part-0.parquet")
    (tmp_path / "ds" / "rejects").mkdir()
    got = read_dataset(tmp_path / "ds")
    assert got.schema.equals(schema.MESSAGES, check_metadata=False)
    assert got.column("inputs").to_pylist() == [2, None]  # not binary: null
    assert got.column("outputs").to_pylist() == [2, None]
    assert got.column("adc").to_pylist() == [[0x270, 0, 0x1F8], None]
    assert got.column("fix_mode").to_pylist() == [None, None]
    assert got.column("wifi_access_points").to_pylist() == [None, None]
    assert read_dataset(tmp_path / "ds", columns=["device_id", "inputs"]).column_names == [
        "device_id", "inputs"]
