"""Every input byte ends in a message, a reject, or a known separator."""

from pathlib import Path

import numpy as np
import pytest

import bofan_analytics as ba
from bofan_analytics.io import detect_format, iter_capture_files, open_capture

from .vectors import ALL_FRAMES, framing

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def covered(log, size):
    """A mask of the bytes covered by messages and rejects; asserts they do not overlap."""
    mask = np.zeros(size, np.int8)
    for table in (log.messages, log.rejects):
        for off, ln in zip(table.column("offset").to_pylist(), table.column("length").to_pylist(), strict=True):
            assert 0 <= off and off + ln <= size
            assert not mask[off : off + ln].any(), f"overlap at {off}"
            mask[off : off + ln] = 1
    return mask.astype(bool)


def check_stream(data: bytes):
    log = ba.read_log(data, format="stream")
    mask = covered(log, len(data))
    rest = np.frombuffer(data, np.uint8)[~mask]
    assert set(rest.tolist()) <= {10, 13}, "uncovered bytes must be CR/LF separators"
    acc = log.accounting.to_pylist()[0]
    assert acc["input_bytes"] == len(data)
    assert acc["message_bytes"] + acc["reject_bytes"] + acc["other_bytes"] == len(data)
    assert acc["other_bytes"] == len(rest)
    return log


def test_vectors_stream_accounting():
    data = b"\r\n".join(f for _, f in ALL_FRAMES) + b"\r\n"
    log = check_stream(data)
    assert len(log.messages) == len(ALL_FRAMES) and len(log.rejects) == 0
    for received, _ in framing():
        check_stream(received)


def test_noise_is_rejected_with_offsets():
    pos = b"$POS,6094,205523.000,A,1013.6223,N,06728.4248,W,0.0,99.3,011112,,,A/00000,00000/0/23895000//"
    data = (
        pos + b"\r\n" + b"\x00\x01garbage" + pos + b"\r\nGET / HTTP/1.1\r\n"
        + pos[:40] + b"\r\n" + pos.replace(b"1013.6223,N", b"9913.6223,N") + b"\r\n"
        + b"\xbf\xfb\x01\x02\x03" + pos[:30]
    )
    log = check_stream(data)
    reasons = [(r["reason"], r["offset"]) for r in log.rejects.to_pylist()]
    assert reasons == [
        ("garbage", len(pos) + 2),
        ("unknown_protocol", data.index(b"GET")),
        ("truncated", data.index(b"GET") + 16),
        ("bad_latitude", data.index(b"$POS,6094,205523.000,A,9913")),
        ("truncated", data.index(b"\xbf")),
    ]
    assert len(log.messages) == 2


@pytest.mark.parametrize("path", list(iter_capture_files(SAMPLES)), ids=lambda p: p.name)
def test_sample_files_account_for_every_byte(path):
    with open_capture(path) as f:
        data = f.read()
    fmt = detect_format(data[:65536])
    log = ba.read_log(path)
    acc = log.accounting.to_pylist()[0]
    assert acc["input_bytes"] == len(data)
    assert acc["message_bytes"] + acc["reject_bytes"] + acc["other_bytes"] == len(data)
    if fmt == "stream":
        check_stream(data)
    elif fmt == "lines":
        mask = covered(log, len(data))
        # what is left are line ends and receive-time prefixes
        for line_start, line in _lines(data):
            body = np.flatnonzero(mask[line_start : line_start + len(line)])
            if len(line.strip(b"\r")) and len(body) == 0:
                raise AssertionError(f"line at {line_start} is in no message or reject")
    # duplicates stay in messages, positions() drops them
    pos = log.positions()
    assert not pos.duplicated(["device_id", "time", "lat", "lon"]).any()


def _lines(data):
    start = 0
    for line in data.split(b"\n"):
        yield start, line
        start += len(line) + 1
