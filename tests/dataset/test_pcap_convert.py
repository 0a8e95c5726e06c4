"""A packet capture converts like any other capture."""

from pathlib import Path

import pyarrow.dataset as pads

from bofan_analytics.cli import main

CAPTURE = Path(__file__).resolve().parents[1] / "data" / "pcap" / "loopback.pcap"


def test_convert_a_tcpdump_capture(tmp_path):
    out = tmp_path / "ds"
    assert main(["convert", str(CAPTURE), "-o", str(out)]) == 0
    table = pads.dataset(out / "messages", format="parquet", partitioning="hive").to_table()
    assert sorted(table.column("msg_type").to_pylist()) == ["G6", "POS", "POS", "POS"]
    assert sorted(set(table.column("device_id").to_pylist())) == [
        "111112222233333", "216769295715", "353451000164"]
