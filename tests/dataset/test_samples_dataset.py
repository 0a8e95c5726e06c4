"""The committed sample captures convert to a dataset that holds exactly their frames."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from bofan_analytics.dataset import convert, read_dataset, read_positions, read_rejects
from bofan_analytics.decode import read_log

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"

pytestmark = pytest.mark.skipif(
    not (SAMPLES / "fleet.log").exists(), reason="data/samples not generated"
)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    output = tmp_path_factory.mktemp("samples") / "ds"
    return convert(SAMPLES, output), output


def test_counts_match_the_generator_truth(converted):
    result, _ = converted
    assert result.ok, result.errors
    by_name = {Path(f.path).name: f for f in result.files}
    for truth_file in SAMPLES.glob("*.truth.json"):
        truth = json.loads(truth_file.read_text())
        capture = by_name[truth_file.name.removesuffix(".truth.json")]
        assert (capture.messages, capture.rejects) == (truth["frame_count"], truth["rejects"])
    # compressed copies of the same captures are kept once
    assert sorted(Path(p).name for p, _ in result.duplicates) == [
        "fleet.log.gz",
        "tracker-server.log.zst",
    ]


def test_dataset_equals_decoding_the_captures(converted):
    result, output = converted
    kept = [f.path for f in result.files if f.duplicate_of is None]
    log = read_log(kept)
    assert read_dataset(output).num_rows == log.messages.num_rows
    assert len(read_rejects(output)) == log.rejects.num_rows
    pd.testing.assert_frame_equal(read_positions(output), log.positions())
    one_day = read_positions(output, start="2026-11-03", end="2026-11-03")
    assert len(one_day) and (one_day["time"].dt.date == pd.Timestamp("2026-11-03").date()).all()
