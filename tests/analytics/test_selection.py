"""Every analysis takes ``devices=``, ``start=``, ``end=``: on a dataset path the filter runs on
the Parquet files, on anything else in memory, with the same result."""

from pathlib import Path

import pandas as pd
import pytest

import bofan_analytics as ba

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "fleet.log"


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    log = ba.read_log(SAMPLE)
    out = tmp_path_factory.mktemp("ds") / "dataset"
    ba.convert([SAMPLE], out)
    return log, out


def _by_hand(positions, device, start, end):
    t = positions.time
    keep = (positions.device_id == device) & (t >= pd.Timestamp(start)) & (t <= pd.Timestamp(end))
    return positions[keep]


@pytest.mark.parametrize(
    "analysis",
    [
        lambda src, **w: ba.detect_trips(src, **w),
        lambda src, **w: ba.detect_stops(src, **w),
        lambda src, **w: ba.find_overspeed(src, limit_kmh=50, **w),
        lambda src, **w: ba.geofence_events(src, SAMPLE.parent / "geofences.geojson", **w),
    ],
    ids=["trips", "stops", "overspeed", "geofences"],
)
def test_dataset_and_memory_select_the_same(sample, analysis):
    log, dataset = sample
    positions = log.positions()
    device = positions.device_id.value_counts().index[0]
    start, end = "2026-11-02T06:00:00Z", "2026-11-02T18:00:00Z"
    where = {"devices": [device], "start": start, "end": end}
    expected = analysis(_by_hand(positions, device, start, end))
    from_dataset = analysis(str(dataset), **where)
    from_memory = analysis(log, **where)
    pd.testing.assert_frame_equal(from_dataset, expected)
    pd.testing.assert_frame_equal(from_memory, expected)
    assert set(expected.device_id) <= {device}


def test_messages_analyses_select_too(sample):
    log, dataset = sample
    m = log.messages.to_pandas()
    device = m.loc[m.battery_pct.notna(), "device_id"].value_counts().index[0]
    a = ba.battery_trends(str(dataset), devices=device, end="2026-11-02")
    b = ba.battery_trends(log, devices=device)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.device_id) == [device]
    assert ba.alarms(log, devices="no such device").empty
    with pytest.raises(ba.FormatError, match="start"):
        ba.detect_trips(log, start="not a time")
