"""Regenerate the golden dataset of the current schema version.

Run from the repository root: ``python tests/dataset/make_golden.py``.

The files under ``data/v<SCHEMA_VERSION>/`` are checked in; ``test_golden.py`` reads every
version kept there, so a change to the schema or the layout that breaks datasets users
already wrote shows up as a failing test instead of in the field.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _dataset_helpers import FakeDecoder, make_messages, make_rejects  # noqa: E402

from bofan_analytics import schema  # noqa: E402
from bofan_analytics.dataset import _convert  # noqa: E402

GOLDEN_MESSAGES = [
    {"device_id": "0123456789", "time": "2026-11-02 07:10:27", "received_at": "2026-11-02 07:10:28",
     "lat": -32.96956, "lon": 27.92392, "speed_kmh": 12.5, "course": 215.88, "satellites": 8,
     "rssi": 21, "battery_pct": 80.0, "odometer_m": 232300.0},
    {"device_id": "864891030184852", "protocol": "pt60", "msg_type": "B1",
     "time": "2026-11-02 08:00:00", "lat": 32.701093, "lon": 35.570938, "battery_pct": 45.0,
     "cell_towers": [{"mcc": 404, "mnc": 12, "lac": 10461, "cid": 425, "rssi": 10}]},
    {"device_id": "0123456789", "msg_type": "HDA", "alarm": "hard_acceleration",
     "time": "2026-11-03 00:00:00", "lat": 6.43601, "lon": 3.50374},
    {"device_id": "0123456789", "msg_type": "PHD", "valid": None, "payload": b"\xff\xd8\xff",
     "photo_size": 960, "photo_offset": 0},
]  # fmt: skip
#: what version 2 adds, on the rows above (a version-1 dataset reads back with these null)
GOLDEN_V2 = {
    0: {"inputs": 2, "outputs": 0, "adc": [0x270, 0, 0, 0], "fix_mode": "A"},
    1: {"wifi_access_points": [{"mac": "88:25:93:e8:56:9e", "ssid": "KFRouter", "rssi": -49},
                               {"mac": "94:d9:b3:64:5a:2d", "ssid": None, "rssi": -51}]},
}  # fmt: skip


def golden_messages(version: int) -> list[dict]:
    """The rows of the golden dataset of ``version``, as they read back today."""
    if version == 1:
        return GOLDEN_MESSAGES
    return [{**row, **GOLDEN_V2.get(i, {})} for i, row in enumerate(GOLDEN_MESSAGES)]


GOLDEN_REJECTS = [{"received_at": "2026-11-02 07:11:00", "reason": "bad_checksum", "raw": b"$POS,"}]


def write(target: Path) -> None:
    decoder = FakeDecoder()
    _convert._decoder_for = decoder
    scratch = target.parent / "_scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    capture = decoder.add(
        scratch / "golden.log",
        make_messages(golden_messages(schema.SCHEMA_VERSION), source="golden.log"),
        make_rejects(GOLDEN_REJECTS, source="golden.log"),
    )
    shutil.rmtree(target, ignore_errors=True)
    _convert.convert(capture, str(target))
    shutil.rmtree(scratch)


if __name__ == "__main__":
    write(HERE / "data" / f"v{schema.SCHEMA_VERSION}")
