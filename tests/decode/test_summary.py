"""One summary for ``bofan summary`` and a DecodedLog: exact counts of a hand-built table."""

import datetime as dt

import pyarrow as pa

from bofan_analytics import schema as S
from bofan_analytics.decode.summary import Summary, count

T = dt.datetime(2026, 11, 2, 7, 0, tzinfo=dt.timezone.utc)


def _messages():
    def row(device, msg_type, valid, lat, lon, minute=0, protocol="pt502"):
        return {S.DEVICE_ID: device, S.PROTOCOL: protocol, S.MSG_TYPE: msg_type,
                S.TIME: T + dt.timedelta(minutes=minute), S.VALID: valid, S.LAT: lat, S.LON: lon}

    rows = [
        row("A", "POS", True, 52.5, 13.4),
        row("A", "POS", True, 52.5, 13.4),              # the same fix re-sent: counted once
        row("A", "POS", True, 0.0, 0.0, minute=1),      # no fix: 0°/0°
        row("A", "POS", False, 52.6, 13.4, minute=2),   # the device says the fix is invalid
        row("A", "POS", True, 52.6, 13.5, minute=3),
        row("B", "B33", None, None, None, protocol="pt60"),
    ]
    rejects = pa.Table.from_pylist(
        [{S.REASON: "bad_time"}, {S.REASON: "truncated"}, {S.REASON: "bad_time"}],
        schema=S.REJECTS)
    return pa.Table.from_pylist(rows, schema=S.MESSAGES), rejects


def test_counts_of_one_table():
    messages, rejects = _messages()
    assert Summary.of(messages, rejects).counts() == {
        "devices": 2,
        "messages": 6,
        "positions": 2,
        "rejects": 3,
        "by_type": {("pt502", "POS"): 5, ("pt60", "B33"): 1},
        "rejects_by_reason": {"bad_time": 2, "truncated": 1},
    }


def test_counting_in_pieces_gives_the_same_summary():
    messages, rejects = _messages()
    whole = Summary.of(messages, rejects)
    pieces = Summary.from_counts([count(messages.slice(0, 2), rejects.slice(0, 1)),
                                  count(messages.slice(2), rejects.slice(1))])
    assert pieces.counts() == whole.counts()
    assert pieces.lines() == whole.lines() == [
        "devices: 2",
        "  A  pt502  5 messages, 2 positions, 2026-11-02T07:00:00Z .. 2026-11-02T07:03:00Z",
        "  B  pt60  1 messages, 0 positions, 2026-11-02T07:00:00Z .. 2026-11-02T07:00:00Z",
        "frames by protocol and type:",
        "  pt502  POS  5",
        "  pt60  B33  1",
        "positions: 2",
        "rejects by reason:",
        "  bad_time  2",
        "  truncated  1",
    ]
