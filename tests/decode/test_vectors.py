"""The real frames from the field decode as the reference server says, with exact values."""

import math

import numpy as np
import pyarrow as pa
import pytest

import bofan_analytics as ba
from bofan_analytics.decode._framing_kernels import frame_segments

from .vectors import ALL_FRAMES, framing


def _one(frame: bytes):
    log = ba.read_log(frame + b"\r\n")
    assert len(log.rejects) == 0, log.rejects.to_pylist()
    assert len(log.messages) == 1
    return log.messages.to_pylist()[0]


@pytest.mark.parametrize("expectation,frame", ALL_FRAMES, ids=lambda v: str(v)[:24])
def test_every_vector_is_a_message_as_expected(expectation, frame):
    row = _one(frame)
    assert row["protocol"] == ("pt502" if frame[:1] == b"$" else "pt60")
    if expectation == "position":
        assert row["lat"] is not None and row["lon"] is not None
        assert row["time"] is not None
        assert -90 <= row["lat"] <= 90 and -180 <= row["lon"] <= 180
    if frame.startswith((b"$POS", b"$HDA", b"$HDB", b"$DFR", b"$FDA", b"$CPA", b"$PHO")):
        assert row["device_id"] == frame.split(b",")[1].decode()
        assert row["valid"] == (frame.split(b",")[3] == b"A")


def test_known_answer():
    row = _one(
        b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,"
        b"A/0000,0//232300//5b3/"
    )
    assert row["time"].isoformat() == "2015-09-10T16:32:37+00:00"
    assert row["valid"] is True
    assert round(row["lat"], 5) == -32.96956
    assert round(row["lon"], 5) == 27.92392
    assert row["speed_kmh"] == 0.0
    assert row["course"] == 215.88
    assert row["odometer_m"] == 232300.0
    # state 0x5b3: battery level 5 of 15, rssi 11, 3 satellites
    assert row["battery_pct"] == pytest.approx(100 * 5 / 15)
    assert (row["rssi"], row["satellites"]) == (11, 3)
    # schema version 2: I/O as bit masks read as binary
    assert row["inputs"] == 0 and row["outputs"] == 0 and row["fix_mode"] == "A"
    assert row["adc"] is None and row["driver_id"] is None
    assert row["msg_type"] == "POS" and row["alarm"] is None


def test_pt502_details():
    row = _one(
        b"$HDA,20007,134657.000,A,0626.1607,N,00330.2245,E,33.38,81.79,041016,,,"
        b"A/00010,00000/270,0,0,0/19948900//fa4//"
    )
    assert row["alarm"] == "hard_acceleration"
    assert row["speed_kmh"] == pytest.approx(33.38 * 1.852)
    assert row["adc"] == [0x270, 0, 0, 0]  # hex in the frame
    assert row["inputs"] == 2  # 00010: input 2 (the last digit is input 1)
    assert (row["outputs"], row["fix_mode"]) == (0, "A")
    assert (row["battery_pct"], row["rssi"], row["satellites"]) == (100.0, 10, 4)
    assert row["lat"] == pytest.approx(6 + 26.1607 / 60, abs=1e-12)

    # empty speed and course are unknown, not zero; upper-case state hex
    row = _one(b"$POS,6095,233344.000,V,0933.0451,N,06912.3360,W,,,151112,,,N/00000,00000/0/1677600/")
    assert row["speed_kmh"] is None and row["course"] is None
    assert row["valid"] is False and row["lon"] == pytest.approx(-(69 + 12.336 / 60))
    row = _one(b"$POS,865328026243864,151105.000,A,1332.7096,N,204.6787,E,0.0,10.00,050517,,,A/00000,10/1,0/234//FD9/")
    assert (row["battery_pct"], row["rssi"], row["satellites"]) == (100.0, 13, 9)
    assert row["lon"] == pytest.approx(2 + 4.6787 / 60)

    row = _one(b"$PHO3821-1,1156802639,022125.000,A,0707.0014,N,07307.3725,W,0.0,0.1,110418,,,A/00000,00000/0,0,0,0/500//fd4//")
    assert (row["msg_type"], row["photo_size"]) == ("PHO", 3821)
    row = _one(b"$FUS865328026243864,510-V1.12,A11-V3.0")
    assert (row["msg_type"], row["device_id"], row["firmware"]) == (
        "FUS", "865328026243864", "510-V1.12,A11-V3.0")
    assert row["time"] is None and row["lat"] is None
    row = _one(b"$CPA,40456789,083125.000,A,2232.0971,N,11400.9504,E,7.62,265.24,291117,,,A/00000,00000/0/1200//#")
    assert row["alarm"] == "power_cut" and row["battery_pct"] is None


def test_photo_chunk_keeps_its_bytes():
    phd = next(f for _, f in ALL_FRAMES if f.startswith(b"$PHD"))
    row = _one(phd)
    assert (row["msg_type"], row["photo_offset"]) == ("PHD", 0)
    assert row["payload"] == phd[len(b"$PHD0,960,"):]
    assert len(row["payload"]) == 960 and row["payload"][:2] == b"\xff\xd8"


def test_pt60_details():
    rows = {f: _one(f) for e, f in ALL_FRAMES if f.startswith(b"@")}
    by_prefix = {f[:40]: r for f, r in rows.items()}

    def get(prefix):
        return next(r for f, r in by_prefix.items() if f.startswith(prefix))

    g6 = get(b"@G#@,V01,6,")
    assert (g6["msg_type"], g6["lat"], g6["lon"], g6["valid"]) == ("G6", 23.201405, 104.235212, True)
    assert g6["time"].isoformat() == "2015-03-12T01:02:03+00:00" and g6["speed_kmh"] is None
    g14 = get(b"@G#@,V01,14,")
    assert (g14["heart_rate"], g14["battery_pct"], g14["valid"]) == (101, 26.0, None)
    assert get(b"@G#@,V01,13,")["steps"] == 1180
    g1 = get(b"@G#@,V01,1,")
    assert (g1["msg_type"], g1["device_id"], g1["time"]) == ("G1", "353882080015633", None)
    g43 = get(b"@G#@,V01,43,")
    assert len(g43["cell_towers"]) == 5
    assert g43["cell_towers"][0] == {"mcc": 460, "mnc": 0, "lac": 9763, "cid": 3852, "rssi": -63}
    assert b"14:b8:37:26:64:88" in g43["payload"]

    b_cells = get(b"@B#@|01|001|864891030184852|94250104509")
    assert b_cells["msg_type"] == "B1"
    b1 = [r for f, r in rows.items() if f.startswith(b"@B#@|01|001|864891030184852")]
    cells = next(r for r in b1 if r["cell_towers"])
    assert cells["valid"] is False and cells["lat"] is None and cells["battery_pct"] == 84.0
    assert cells["cell_towers"] == [{"mcc": 425, "mnc": 1, "lac": 10461, "cid": 40412, "rssi": 10}]
    gps = next(r for r in b1 if not r["cell_towers"])
    assert (gps["lat"], gps["lon"], gps["valid"], gps["battery_pct"]) == (32.701093, 35.570938, True, 45.0)
    b3 = get(b"@B#@|01|003|")
    assert (b3["firmware"], b3["battery_pct"], len(b3["cell_towers"])) == ("S6_EN_A_V1.3.7", 66.0, 3)
    b33 = get(b"@B#@|01|033|")
    assert (b33["msg_type"], b33["battery_pct"]) == ("B33", 4.0)
    assert b33["time"].isoformat() == "2018-11-20T15:17:44+00:00"


@pytest.mark.parametrize("received,first", framing(), ids=lambda v: v[:6].hex())
def test_framing_vectors_cut_exactly(received, first):
    buf = np.frombuffer(received, np.uint8)
    one = np.ones(1, np.int8)
    f_off, f_s, f_e, *_ = frame_segments(buf, np.array([0]), np.array([len(buf)]), one, one,
                                         np.array([-1]))
    assert bytes(buf[f_s[0] : f_e[0]]) == first
    log = ba.read_log(received)
    assert len(log.rejects) == 0
    m = log.messages.to_pylist()[0]
    assert m["offset"] == 0
    header = 5 if received[0] == 0xBF else 0
    assert m["length"] == header + len(first)


def test_pt60_stream_frames_end_at_their_terminators():
    data = (
        b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,23.2014050;104.235212,@R#@"
        b"@B#@|01|033|864891030184954|9425010450971470|0|4|20181120151744|@E#@\r\n"
        b"$POS,6094,205523.000,A,1013.6223,N,06728.4248,W,0.0,99.3,011112,,,A/00000,00000/0/23895000//\r\n"
    )
    log = ba.read_log(data)
    assert log.messages.column("msg_type").to_pylist() == ["G6", "B33", "POS"]
    assert log.messages.column("offset").to_pylist() == [0, 85, 155]
    assert len(log.rejects) == 0


def test_nothing_is_zero_by_accident():
    row = _one(b"$POS,6120,233326.000,V,0935.1201,N,06914.6933,W,0.00,,151112,,,A/00000,00000/0/0/")
    assert row["course"] is None and row["battery_pct"] is None and row["satellites"] is None
    assert row["odometer_m"] == 0.0  # the device did send 0
    assert not any(isinstance(v, float) and math.isnan(v) for v in row.values())
    assert pa.types.is_timestamp(ba.read_log(b"").messages.schema.field("time").type)


def test_numbers_too_large_for_their_column_are_rejected():
    # int32 columns: a count beyond 2**31 - 1 is a bad field, not a wrapped value
    big = b"@G#@,V01,13,357653051059785,9404223001501310,20180419112656,99999999999,"
    assert [r["reason"] for r in ba.read_log(big + b"\r\n").rejects.to_pylist()] == ["bad_field"]
    phd = b"$PHD9999999999,4,abcd"
    assert [r["reason"] for r in ba.read_log(phd + b"\r\n").rejects.to_pylist()] == ["bad_photo"]


@pytest.mark.parametrize("layout", ["hex", "text", "4.x", "3.x"])
def test_every_vector_read_from_a_tracker_server_log_is_the_stream_row(layout, monkeypatch):
    """The real frames as a tracker server logs the reads of one connection (a read per
    frame, as its releases write them: hex, or with ``decodeTextData`` printable reads as
    text with CR and LF escaped) give the rows of the connection's raw bytes (a photo
    chunk takes the device of the frame before it), every read decoded in the one pass
    that tells hex from text."""
    from bofan_analytics import schema
    from bofan_analytics.decode import StreamDecoder

    sessions = {"hex": b"[T%08x: pt502 < 10.0.0.5] ", "text": b"[T%08x: pt502 < 10.0.0.5] ",
                "4.x": b"[%08x: pt502 < 10.0.0.5] HEX: ", "3.x": b"[%08X: 5017 < 10.0.0.5] HEX: "}
    stream, lines = b"", []
    for _, frame in ALL_FRAMES:
        read = frame + (b"" if frame.endswith(b"@R#@") else b"\r\n")
        stream += read
        printable = all(32 <= b < 127 for b in frame)
        payload = (read.replace(b"\r", b"\\r").replace(b"\n", b"\\n")
                   if layout == "text" and printable else read.hex().encode())
        lines.append(b"2026-11-02 07:10:27  INFO: " + sessions[layout] % 0x5E0000BC + payload
                     + b"\n")
    told = []
    real = StreamDecoder.decode_pieces

    def spy(self, *args, decoded=None, **kw):
        told.append(decoded is not None)
        return real(self, *args, decoded=decoded, **kw)

    monkeypatch.setattr(StreamDecoder, "decode_pieces", spy)
    log = ba.read_log(b"".join(lines), format="traccar")
    alone = ba.read_log(stream, format="stream")
    same = [c for c in schema.MESSAGES.names
            if c not in (schema.SOURCE, schema.OFFSET, schema.LENGTH, schema.RECEIVED_AT)]
    assert len(log.rejects) == 0, log.rejects.to_pylist()[:3]
    assert len(log.messages) == len(ALL_FRAMES)
    assert log.messages.select(same).equals(alone.messages.select(same))
    assert told and all(told)
