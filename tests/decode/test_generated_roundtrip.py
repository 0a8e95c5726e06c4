"""Decode generated captures and compare every message with the generator's truth.

The generator (``bofan_analytics.samples``) knows what each frame says; a correct decoder
reads exactly that back, in every capture format, and rejects exactly the planted noise.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from bofan_analytics import schema
from bofan_analytics.samples import FORMATS, generate_fleet, render_capture

ba = pytest.importorskip("bofan_analytics")
if not hasattr(ba, "read_log"):  # pragma: no cover - the decoder is not there yet
    pytest.skip("decoder not available", allow_module_level=True)

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"
CAPTURES = {
    "fleet.bin": "fleet.bin",
    "fleet.log": "fleet.log",
    "fleet.log.gz": "fleet.log",
    "tracker-server.log": "tracker-server.log",
    "tracker-server.log.zst": "tracker-server.log",
}
TEXT = [
    schema.DEVICE_ID,
    schema.PROTOCOL,
    schema.MSG_TYPE,
    schema.ALARM,
    schema.FIRMWARE,
    schema.VALID,
    schema.DRIVER_ID,
]
EXACT = [
    schema.SATELLITES,
    schema.RSSI,
    schema.STEPS,
    schema.HEART_RATE,
    schema.PHOTO_SIZE,
    schema.PHOTO_OFFSET,
    schema.ODOMETER_M,
]
FLOAT = [schema.LAT, schema.LON, schema.SPEED_KMH, schema.BATTERY_PCT, schema.COURSE]


@pytest.fixture(scope="module")
def fleet():
    return generate_fleet(seed=7, vehicles=4, personal=2, days=1)


def _ms(series):
    """Timestamps as int64 ms since the epoch, -1 for null."""
    values = pd.to_datetime(series, utc=True)
    out = values.astype("int64") // 1_000_000 if values.dt.unit == "ns" else None
    if out is None:
        out = values.dt.as_unit("ms").astype("int64")
    return np.where(values.isna(), -1, out)


def _aligned(messages, truth, fmt):
    """Both tables in one row order: input order; per session for tracker-server logs."""
    messages = messages.reset_index(drop=True)
    truth = truth.reset_index(drop=True)
    if fmt == "traccar":
        # reads of one session are reassembled together, sessions are devices
        messages = messages.sort_values(schema.DEVICE_ID, kind="stable").reset_index(drop=True)
        truth = truth.sort_values(schema.DEVICE_ID, kind="stable").reset_index(drop=True)
    return messages, truth


def assert_messages_match(messages, truth, fmt):
    assert len(messages) == len(truth)
    got, want = _aligned(messages, truth, fmt)
    for col in TEXT:
        # photo chunks carry no device id: the decoder takes the announcing device's
        g, w = _objects(got[col]), _objects(want[col])
        bad = np.flatnonzero(g != w)
        assert not len(bad), f"{col}: row {bad[0]} decoded {g[bad[0]]!r}, truth {w[bad[0]]!r}"
    for col in EXACT:
        g, w = _objects(got[col].astype("Float64")), _objects(want[col].astype("Float64"))
        bad = np.flatnonzero(g != w)
        assert not len(bad), f"{col}: row {bad[0]} decoded {g[bad[0]]!r}, truth {w[bad[0]]!r}"
    for col in FLOAT:
        g = got[col].astype("float64").to_numpy()
        w = want[col].astype("float64").to_numpy()
        tol = (
            1e-6
            if col in (schema.LAT, schema.LON)
            else 1e-9 * np.maximum(1, np.abs(np.nan_to_num(w)))
        )
        same = (np.isnan(g) & np.isnan(w)) | (np.abs(g - w) <= tol)
        bad = np.flatnonzero(~same)
        assert not len(bad), f"{col}: row {bad[0]} decoded {g[bad[0]]!r}, truth {w[bad[0]]!r}"
    bad = np.flatnonzero(_ms(got[schema.TIME]) != _ms(want[schema.TIME]))
    assert not len(bad), (
        f"time: row {bad[0]}: {got[schema.TIME].iloc[bad[0]]} != {want[schema.TIME].iloc[bad[0]]}"
    )
    if fmt != "stream":
        bad = np.flatnonzero(_ms(got[schema.RECEIVED_AT]) != _ms(want[schema.RECEIVED_AT]))
        assert not len(bad), f"received_at: row {bad[0]}"


def _objects(series):
    return series.astype(object).where(series.notna(), None).to_numpy()


def assert_positions_match(log, truth):
    positions = log.positions()
    fixes = truth[
        truth[schema.VALID].fillna(False).astype(bool)
        & ~truth["duplicate"]
        & truth[schema.LAT].notna()
    ]
    assert len(positions) == len(fixes)
    assert not positions.duplicated([schema.DEVICE_ID, schema.TIME]).any()
    got = positions.sort_values([schema.DEVICE_ID, schema.TIME], kind="stable")
    want = fixes.sort_values([schema.DEVICE_ID, schema.TIME], kind="stable")
    assert got[schema.DEVICE_ID].tolist() == want[schema.DEVICE_ID].tolist()
    np.testing.assert_array_equal(_ms(got[schema.TIME]), _ms(want[schema.TIME]))
    np.testing.assert_allclose(
        got[schema.LAT].to_numpy(float), want[schema.LAT].to_numpy(float), atol=1e-6
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_generated_capture_decodes_to_truth(fleet, fmt):
    capture = render_capture(fleet, fmt)
    log = ba.read_log(capture.data, format=fmt)
    assert_messages_match(log.messages.to_pandas(), capture.frames, fmt)
    assert log.rejects.num_rows == capture.truth["rejects"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_positions_drop_duplicates_and_invalid_fixes(fleet, fmt):
    capture = render_capture(fleet, fmt)
    log = ba.read_log(capture.data, format=fmt)
    assert capture.frames["duplicate"].any()
    assert_positions_match(log, capture.frames)


@pytest.mark.parametrize("fmt", FORMATS)
def test_format_is_detected(fleet, fmt):
    capture = render_capture(fleet, fmt)
    log = ba.read_log(capture.data)
    assert log.messages.num_rows == len(capture.frames)
    assert log.rejects.num_rows == capture.truth["rejects"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_reject_reasons_are_known_codes(fleet, fmt):
    capture = render_capture(fleet, fmt)
    reasons = ba.read_log(capture.data, format=fmt).rejects.column(schema.REASON).to_pylist()
    assert set(reasons) <= set(schema.REJECT_REASONS)
    wanted = [n["reason"] for n in capture.truth["noise"]]
    assert sorted(r for r in reasons if r in ("truncated", "bad_latitude")) == sorted(
        r for r in wanted if r in ("truncated", "bad_latitude")
    )


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_committed_samples_decode_to_truth(name):
    base = CAPTURES[name]
    truth = json.loads((SAMPLES / f"{base}.truth.json").read_text())
    frames = pq.read_table(SAMPLES / f"{base}.frames.parquet").to_pandas()
    log = ba.read_log(SAMPLES / name)
    assert_messages_match(log.messages.to_pandas(), frames, truth["format"])
    assert log.rejects.num_rows == truth["rejects"]
    assert_positions_match(log, frames)
