"""Datasets written by earlier releases (golden files, see make_golden.py) still read."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from _dataset_helpers import make_messages, make_rejects
from make_golden import GOLDEN_MESSAGES, GOLDEN_REJECTS

from bofan_analytics import schema
from bofan_analytics.dataset import read_dataset, read_positions

DATA = Path(__file__).resolve().parent / "data"


def test_golden_versions_are_kept():
    assert (DATA / f"v{schema.SCHEMA_VERSION}").is_dir(), "run make_golden.py for the new version"


@pytest.mark.parametrize("version", [1])
def test_golden_dataset_reads(version):
    path = DATA / f"v{version}"
    messages = read_dataset(path)
    expected = make_messages(GOLDEN_MESSAGES, source="golden.log")
    order = [("source", "ascending"), ("offset", "ascending")]
    assert messages.sort_by(order).equals(expected.sort_by(order))
    assert messages.schema.equals(schema.MESSAGES, check_metadata=False)
    rejects = read_dataset(path, table="rejects")
    assert rejects.equals(make_rejects(GOLDEN_REJECTS, source="golden.log"))
    positions = read_positions(path, devices="0123456789")
    assert positions["lat"].tolist() == [-32.96956, 6.43601]
    assert isinstance(messages, pa.Table)
