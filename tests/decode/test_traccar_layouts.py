"""Tracker-server logs as Traccar releases write them: text mode, 4.x and 3.x layouts, the
server's local time, rotated files, and lines that look like device reads but cannot be read."""

import json
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bofan_analytics as ba
from bofan_analytics import schema
from bofan_analytics.decode import StreamDecoder
from bofan_analytics.errors import FormatError, InputError
from bofan_analytics.samples import compress_sentence, generate_fleet, render_capture

#: what a frame says, whatever the log layout it came in
SAME = [c for c in schema.MESSAGES.names if c not in (schema.SOURCE, schema.OFFSET, schema.LENGTH)]

POS = b"$POS,7210285832,184655.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/00000,00000/0/0//"


def _line(payload, when=b"2026-11-02 07:10:27", session=b"T1a2b3c4d", proto=b"pt502", d=b"<"):
    return b"%s  INFO: [%s: %s %s 10.0.0.5] %s\n" % (when, session, proto, d, payload)


@pytest.fixture(scope="module")
def fleet():
    return generate_fleet(seed=11, vehicles=2, personal=2, days=1)


@pytest.fixture(scope="module")
def hex_log(fleet):
    capture = render_capture(fleet, "traccar")
    return capture, ba.read_log(capture.data)


@pytest.mark.parametrize("layout", ["text", "4.x", "3.x"])
def test_every_layout_decodes_to_the_messages_of_the_hex_log(fleet, hex_log, layout):
    capture, expected = hex_log
    other = render_capture(fleet, "traccar", layout=layout)
    assert other.data != capture.data
    log = ba.read_log(other.data)
    assert log.messages.select(SAME).equals(expected.messages.select(SAME))
    assert len(log.messages) == capture.truth["frame_count"]
    acc = log.accounting.to_pylist()[0]
    assert acc["message_bytes"] + acc["reject_bytes"] + acc["other_bytes"] == len(other.data)


def test_text_layout_writes_reads_as_traccar_6_3_does(fleet):
    data = render_capture(fleet, "traccar", layout="text").data
    assert b"//\\r\\n" in data  # CR LF of a PT-502 sentence, as the two escapes
    assert b"] 24504f53" in data or b"] bffb" in data  # reads with a binary header stay hex


def test_local_time_log_gives_the_same_utc_receive_times(fleet, hex_log):
    _, expected = hex_log
    local = render_capture(fleet, "traccar", log_tz="America/Bogota")
    log = ba.read_log(local.data, log_tz="America/Bogota")
    assert log.messages.select(SAME).equals(expected.messages.select(SAME))
    naive = ba.read_log(local.data)
    shift = (
        np.asarray(expected.messages.column("received_at").cast(pa.int64()))
        - np.asarray(naive.messages.column("received_at").cast(pa.int64()))
    )
    assert set(shift.tolist()) == {5 * 3_600_000}  # Bogota is UTC-5, no daylight saving


def test_log_time_across_the_end_of_daylight_saving():
    # Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice
    lines = [
        _line(POS + b"\\r\\n", b"2026-10-25 01:30:00"),
        _line(POS + b"\\r\\n", b"2026-10-25 02:30:00"),  # first time: CEST, 00:30 UTC
        _line(POS + b"\\r\\n", b"2026-10-25 02:59:59"),
        _line(POS + b"\\r\\n", b"2026-10-25 02:10:00"),  # clocks went back: CET, 01:10 UTC
        _line(POS + b"\\r\\n", b"2026-10-25 02:30:00"),  # CET, 01:30 UTC
        _line(POS + b"\\r\\n", b"2026-10-25 03:30:00"),
    ]
    log = ba.read_log(b"".join(lines), log_tz="Europe/Berlin")
    got = [t.strftime("%H:%M:%S") for t in log.messages.column("received_at").to_pylist()]
    assert got == ["23:30:00", "00:30:00", "00:59:59", "01:10:00", "01:30:00", "02:30:00"]
    # spring forward, 2026-03-29 02:30 never happens: read with the offset before (CET)
    log = ba.read_log(_line(POS + b"\\r\\n", b"2026-03-29 02:30:00"), log_tz="Europe/Berlin")
    assert log.messages.column("received_at")[0].as_py() == datetime(2026, 3, 29, 1, 30,
                                                                       tzinfo=timezone.utc)


def test_unknown_log_zone_is_a_clear_error():
    with pytest.raises(FormatError, match="unknown time zone 'Mars/Olympus'"):
        ba.read_log(_line(b"2450"), log_tz="Mars/Olympus")


def test_text_read_with_escaped_line_end_is_one_complete_frame():
    data = _line(POS + b"\\r\\n")
    dec = StreamDecoder("traccar")
    part = dec.feed(data)  # complete on its own: no need for a next read to end it
    assert len(part.messages) == 1
    row = part.messages.to_pylist()[0]
    assert (row["device_id"], row["driver_id"], row["lat"]) == ("7210285832", None, 20.606471666666668)
    # the escaped CR LF is a separator, as a raw one is
    assert (row["offset"], row["length"]) == (data.index(b"$POS"), len(POS))
    assert len(dec.finish().rejects) == 0


def test_text_and_hex_reads_mixed_in_one_file_and_one_session():
    first, second = POS[:40], POS[40:]
    data = (
        _line(first)  # text, frame left open
        + _line(second + b"\\r\\n")  # text continues it
        + _line((b"\xbf\xfb\x01\x02\x03" + POS + b"\r\n").hex().encode())  # binary: hex
        + _line(b"$ACK\\r\\n", d=b">")  # a reply, not device data
        + _line(b"@G#@,V01,13,357653051059785,9404223001501310,20180419112656,1180,@R#@",
                session=b"T00000002", proto=b"pt60")
    )
    log = ba.read_log(data)
    assert log.messages.column("msg_type").to_pylist() == ["POS", "POS", "G13"]
    assert len(log.rejects) == 0


def test_hex_digit_continuation_is_resolved_from_the_session_state():
    # the text read leaves a frame open after "...,2036."; the next read "3883" is made only
    # of hex digits: inside a text frame it is text, not the two bytes 0x38 0x83
    head, tail = POS.split(b"2036.")
    digits, rest = b"3883", tail[len(b"3883"):]
    data = _line(head + b"2036.") + _line(digits) + _line(rest + b"\\r\\n")
    log = ba.read_log(data)
    assert log.messages.column("lat").to_pylist() == [20.606471666666668]
    assert len(log.rejects) == 0
    # the same digits in a session with no open text frame are hex (and odd ones bad hex)
    log = ba.read_log(_line(b"3883") + _line(b"388", session=b"T00000009"))
    rejects = sorted((r["offset"], r["reason"], r["raw"]) for r in log.rejects.to_pylist())
    second = len(_line(b"3883")) + 57
    assert rejects == [(57, "unknown_protocol", b"8\x83"), (second, "bad_hex", b"388")]


def test_hex_frame_start_after_an_open_text_frame_is_hex():
    data = _line(POS[:50]) + _line((POS + b"\r\n").hex().encode())
    log = ba.read_log(data)
    assert len(log.messages) == 1
    assert [r["reason"] for r in log.rejects.to_pylist()] == ["truncated"]


def test_4x_and_3x_lines():
    hexpos = (POS + b"\r\n").hex().encode()
    v4 = b"2019-05-13 10:01:02  INFO: [1a2b3c4d: pt502 < 10.0.0.5] HEX: " + hexpos + b"\n"
    v3 = b"2017-01-01 10:00:00  INFO: [7D4E1731: 5017 < 10.0.0.5] HEX: " + hexpos + b"\n"
    for data, when in ((v4, datetime(2019, 5, 13, 10, 1, 2, tzinfo=timezone.utc)),
                       (v3, datetime(2017, 1, 1, 10, 0, 0, tzinfo=timezone.utc))):
        log = ba.read_log(data)
        assert len(log.messages) == 1 and len(log.rejects) == 0
        row = log.messages.to_pylist()[0]
        assert (row["received_at"], row["offset"], row["length"]) == (
            when, data.index(hexpos), len(hexpos) - 4)  # the CR LF is a separator


def test_rotated_logs_are_read_in_date_order_and_a_split_frame_is_joined(tmp_path):
    old = _line(b"$POS,1,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//\\r\\n")
    live_part = _line(b"$POS,2,120001.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/",
                      b"2026-11-02 23:59:59")
    (tmp_path / "tracker-server.log.20261101").write_bytes(_line(POS + b"\\r\\n", b"2026-11-01 10:00:00"))
    (tmp_path / "tracker-server.log.20261102").write_bytes(old + live_part)
    rest = _line(b"0//\\r\\n", b"2026-11-03 00:00:00")
    (tmp_path / "tracker-server.log").write_bytes(rest)
    log = ba.read_log(tmp_path, workers=1)
    rows = log.messages.to_pylist()
    assert [r["device_id"] for r in rows] == ["7210285832", "1", "2"]
    joined = rows[2]
    assert joined["source"] == str(tmp_path / "tracker-server.log.20261102")
    assert joined["offset"] == len(old) + live_part.index(b"$POS")
    assert joined["received_at"] == datetime(2026, 11, 3, tzinfo=timezone.utc)
    assert len(log.rejects) == 0
    acc = {r["source"].rsplit("/", 1)[1]: r for r in log.accounting.to_pylist()}
    assert list(acc) == ["tracker-server.log.20261101", "tracker-server.log.20261102",
                         "tracker-server.log"]
    assert sum(r["input_bytes"] for r in acc.values()) == sum(
        len(p.read_bytes()) for p in tmp_path.iterdir())
    # read alone, the live file's end of line is a frame with no beginning
    alone = ba.read_log(tmp_path / "tracker-server.log")
    assert [(r["reason"], r["raw"]) for r in alone.rejects.to_pylist()] == [("unknown_protocol", b"0//")]


def test_device_read_that_cannot_be_read_is_a_reject_and_an_unplaceable_file_an_error(tmp_path):
    data = _line(b"not hex, not a frame")
    log = ba.read_log(data)
    assert [r["reason"] for r in log.rejects.to_pylist()] == ["unknown_protocol"]
    odd = tmp_path / "notes.txt"
    odd.write_bytes(b"shopping list: milk, eggs\n")
    with pytest.raises(InputError, match="cannot tell the format of .*notes.txt"):
        ba.read_log(odd)


_CAPTURES = {}


def _capture(layout):
    if layout not in _CAPTURES:
        fleet = generate_fleet(seed=11, vehicles=2, personal=2, days=1)
        zone = "Europe/Berlin" if layout == "text" else None
        data = render_capture(fleet, "traccar", layout=layout, log_tz=zone).data
        _CAPTURES[layout] = (data, zone, ba.read_log(data, log_tz=zone))
    return _CAPTURES[layout]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["hex", "text", "4.x", "3.x"]), st.lists(st.integers(0, 10**7), max_size=5))
def test_generated_logs_in_every_layout_decode_alike_however_cut(layout, cuts):
    data, zone, whole = _capture(layout)
    dec = StreamDecoder("traccar", log_tz=zone)
    parts, last = [], 0
    for c in sorted({c % (len(data) + 1) for c in cuts}):
        parts.append(dec.feed(data[last:c]))
        last = c
    parts += [dec.feed(data[last:]), dec.finish()]
    assert pa.concat_tables([p.messages for p in parts]).equals(whole.messages)
    assert pa.concat_tables([p.rejects for p in parts]).equals(whole.rejects)


def test_generated_log_rotated_mid_frame_decodes_like_the_whole(tmp_path, fleet, hex_log):
    capture, expected = hex_log
    lines = capture.data.split(b"\n")
    # rotate right after the first half of a frame split over two reads of a session
    cut = next(
        i for i, line in enumerate(lines)
        if i > len(lines) // 3 and b"pt502 <" in line
        and line.rsplit(b"] ", 1)[1].startswith(b"24504f53")
        and not line.endswith(b"0d0a")
    )
    old = b"\n".join(lines[: cut + 1]) + b"\n"
    (tmp_path / "tracker-server.log.20261102").write_bytes(old)
    (tmp_path / "tracker-server.log").write_bytes(capture.data[len(old):])
    log = ba.read_log(tmp_path)
    assert log.messages.select(SAME).equals(expected.messages.select(SAME))
    assert log.rejects.column("reason").to_pylist() == expected.rejects.column("reason").to_pylist()
    # read apart, the frame split by the rotation is lost to two rejects
    apart = ba.read_log(tmp_path / "tracker-server.log.20261102").messages.num_rows + ba.read_log(
        tmp_path / "tracker-server.log").messages.num_rows
    assert apart == len(expected.messages) - 1


@pytest.mark.parametrize("layout", ["hex", "text", "4.x", "3.x"])
def test_every_layout_decodes_alike_in_halves_on_two_threads(fleet, monkeypatch, layout):
    """The lines of a large chunk scanned, and its frames parsed and tabulated, in two
    halves on two threads (forced here for a small log): the rows of one thread, in each
    layout Traccar releases write."""
    import bofan_analytics.io.formats._parallel as parallel
    import bofan_analytics.io.formats.traccar as traccar_mod

    data = render_capture(fleet, "traccar", **({} if layout == "hex" else {"layout": layout})).data
    whole = ba.read_log(data)
    for mod in (parallel, traccar_mod):
        monkeypatch.setattr(mod, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(mod, "threads", lambda: 2)
    for size in (len(data), 65536):
        halves = ba.read_log(data, chunk_bytes=size)
        assert halves.messages.equals(whole.messages), size
        assert halves.rejects.equals(whole.rejects), size
    assert len(whole.messages) > 100


@pytest.mark.parametrize("layout", ["hex", "text", "4.x", "3.x"])
def test_reads_decoded_as_told_give_the_rows_of_reads_gathered_from_the_log(
        fleet, monkeypatch, layout):
    """A chunk's reads are decoded in the pass that tells hex from text, and the frames are
    joined from those bytes; where a session's state then reads hex digits as text (a text
    frame going on), they are gathered from the log's bytes again. Both give the rows of
    gathering every chunk from the log: with text, escapes, odd hex, a frame split over
    two reads with another session's between, a disconnect, and any chunking."""
    real = StreamDecoder.decode_pieces
    told = []

    def as_told(self, *args, decoded=None, **kw):
        told.append(decoded is not None)
        return real(self, *args, decoded=decoded, **kw)

    def from_the_log(self, *args, decoded=None, **kw):
        return real(self, *args, **kw)

    head, tail = POS.split(b"2036.")
    framed = (POS + b"\r\n").hex().encode()
    written = render_capture(fleet, "traccar", **({} if layout == "hex" else {"layout": layout}))
    fleet_log = b"".join(written.data.splitlines(keepends=True)[:300])
    data = fleet_log + (
        _line(head + b"2036.", session=b"T77") + _line(b"3883", session=b"T77")
        + _line(framed[:30], session=b"T78") + _line(b"388", session=b"T79")
        + _line(tail[4:] + b"\\r\\n", session=b"T77") + _line(framed[30:], session=b"T78")
        + _line(framed[:40], session=b"T78") + b"2026-11-02 07:10:28  INFO: [T78] disconnected\n")
    for size in (len(data), 8192, 700):
        told.clear()
        monkeypatch.setattr(StreamDecoder, "decode_pieces", as_told)
        log = ba.read_log(data, format="traccar", chunk_bytes=size)
        monkeypatch.setattr(StreamDecoder, "decode_pieces", from_the_log)
        gathered = ba.read_log(data, format="traccar", chunk_bytes=size)
        assert log.messages.equals(gathered.messages), size
        assert log.rejects.equals(gathered.rejects), size
        assert True in told and False in told, size  # both ways taken
    alone = ba.read_log(fleet_log, format="traccar")
    assert log.messages.slice(0, len(alone.messages)).equals(alone.messages)
    assert log.messages.column("lat").to_pylist()[len(alone.messages):] == [20.606471666666668] * 2
    # the odd read, and the frame the close cut off
    assert log.rejects.column("reason").to_pylist() == [
        *alone.rejects.column("reason").to_pylist(), "bad_hex", "truncated"]


_LAYOUT_OF_SESSION = {  # how each release writes a read, and its disconnect line
    "hex": (b"T1a2b3c4d", b""),
    "4.x": (b"1a2b3c4d", b"HEX: "),
    "3.x": (b"7D4E1731", b"HEX: "),
}


@pytest.mark.parametrize("layout", list(_LAYOUT_OF_SESSION))
def test_a_frame_cut_off_by_a_disconnect_is_rejected_there_not_held(layout):
    """A connection that closes mid-frame (``[…] disconnected``, as Traccar logs a closed
    channel) ends its frame there: a ``truncated`` reject at once, and the rows after it
    are not held back until the end of the log."""
    session, mark = _LAYOUT_OF_SESSION[layout]
    half = (POS[:40]).hex().encode()
    lines = [
        _line(mark + half, session=session),
        b"2026-11-02 07:10:28  INFO: [%s] disconnected\n" % session,
        _line(mark + (POS + b"\r\n").hex().encode(), b"2026-11-02 07:10:29", session=b"Tfeed"
              if layout == "hex" else b"feed"),
    ]
    data = b"".join(lines)
    dec = StreamDecoder("traccar")
    fed = dec.feed(data)
    assert len(fed.messages) == 1
    assert [(r["reason"], r["offset"], r["length"]) for r in fed.rejects.to_pylist()] == [
        ("truncated", data.index(half), len(half))]
    # the closed connection is forgotten, the open one remembered
    assert dec.checkpoint()["devices"] == {str(0xFEED): "7210285832"}
    rest = dec.finish()
    assert len(rest.messages) == 0 and len(rest.rejects) == 0
    # the disconnect line itself is the server's, neither message nor reject
    acc = rest.accounting.to_pylist()[0]
    assert acc["other_bytes"] == len(data) - len(half) - acc["message_bytes"]


def _fed_at_every_line(lines):
    """The device ids a decoder gives, fed the lines whole and cut at each line end."""
    results = []
    for cut in range(len(lines) + 1):
        dec = StreamDecoder("traccar")
        parts = [dec.feed(b"".join(lines[:cut])), dec.feed(b"".join(lines[cut:])), dec.finish()]
        results.append([d for p in parts for d in p.messages.column("device_id").to_pylist()])
    return results


def test_a_session_id_taken_again_after_a_disconnect_starts_afresh():
    """A photo chunk names no device; after its connection's id was closed and taken
    again, it does not take the device of the closed connection, however the log is cut."""
    pos = (POS + b"\r\n").hex().encode()
    phd = b"$PHD0,4,abcd\r\n".hex().encode()
    closed = [_line(pos), b"2026-11-02 07:10:28  INFO: [T1a2b3c4d] disconnected\n",
              _line(phd, b"2026-11-02 07:10:29")]
    assert set(map(tuple, _fed_at_every_line(closed))) == {("7210285832", None)}
    still_open = [closed[0], closed[2]]
    assert set(map(tuple, _fed_at_every_line(still_open))) == {("7210285832", "7210285832")}


@pytest.mark.parametrize("silent_min, device", [(25, "7210285832"), (31, None)])
def test_a_photo_chunk_takes_its_connections_device_until_it_is_forgotten(silent_min, device):
    """A pause cuts off an unfinished frame, not the connection: a photo chunk after it
    still takes the device of the frame before it, however the log is cut. A connection
    silent for FORGET_CONNECTION_MS is forgotten (as a TCP reassembly forgets it): a
    photo chunk after that names no device, however the log is cut."""
    from bofan_analytics.decode.stream import FORGET_CONNECTION_MS

    assert FORGET_CONNECTION_MS == 30 * 60_000
    pos = (POS + b"\r\n").hex().encode()
    phd = b"$PHD0,4,abcd\r\n".hex().encode()
    lines = [_line(pos, b"2026-11-02 07:00:00"),
             _line(pos, b"2026-11-02 07:20:00", b"Tb"),
             _line(phd, b"2026-11-02 07:%02d:00" % silent_min)]
    assert set(map(tuple, _fed_at_every_line(lines))) == {("7210285832", "7210285832", device)}


def test_connections_that_never_close_are_forgotten_when_silent():
    """A capture of connections that die unseen (no ``disconnected`` line) keeps state
    only for those heard from in the last FORGET_CONNECTION_MS, however long it is."""
    pos = (POS + b"\r\n").hex().encode()
    data = b"".join(
        _line(pos, b"2026-11-02 %02d:%02d:00" % divmod(minute, 60), b"T%08x" % (minute + 1))
        for minute in range(0, 600, 2)  # a new connection every two minutes, for ten hours
    )
    dec = StreamDecoder("traccar")
    assert len(dec.feed(data).messages) == 300
    state = json.loads(json.dumps(dec.checkpoint()))
    # the sweep runs every quarter of the limit: at most 30 + 7.5 minutes are kept
    assert 15 <= len(state["devices"]) <= 19 and len(state["heard"]) == len(state["devices"])
    assert len(state["references"]) == len(state["devices"])


def test_many_short_connections_keep_no_state_behind():
    """A log of connect, read, disconnect keeps nothing per closed connection: its
    checkpoint stays small however many connections the log had."""
    pos = (POS + b"\r\n").hex().encode()
    data = b"".join(
        b"2026-11-02 07:10:27  INFO: [T%08x] connected\n" % k
        + _line(pos, session=b"T%08x" % k)
        + b"2026-11-02 07:10:27  INFO: [T%08x] disconnected\n" % k
        for k in range(1, 2001)
    )
    dec = StreamDecoder("traccar")
    assert len(dec.feed(data).messages) == 2000
    state = dec.checkpoint()
    assert state["devices"] == {} and state["references"] == {}


def _paused_log(resume_after_s):
    """Session A sends half a frame at 07:00:00; session B reports every minute for 20
    minutes; A sends the rest ``resume_after_s`` seconds after its first half."""
    half = len(POS) // 2
    lines = [(0, _line(POS[:half].hex().encode(), b"2026-11-02 07:00:00"))]
    for minute in range(1, 21):
        when = b"2026-11-02 07:%02d:00" % minute
        lines.append((minute * 60, _line((POS + b"\r\n").hex().encode(), when, b"Tb")))
    rest_at = b"2026-11-02 07:%02d:%02d" % divmod(resume_after_s, 60)
    lines.append((resume_after_s, _line((POS[half:] + b"\r\n").hex().encode(), rest_at)))
    return b"".join(line for _, line in sorted(lines, key=lambda x: x[0])), half


@pytest.mark.parametrize("resume_after_s, joined", [(9 * 60 + 30, True), (10 * 60 + 30, False)])
def test_a_frame_paused_longer_than_the_limit_is_cut_off_whatever_the_chunks(
        resume_after_s, joined):
    """A connection that stops mid-frame and is never seen to close: its frame is cut off
    once the log's clock runs MAX_FRAME_PAUSE_MS (10 minutes) past its last read, and the
    rest that comes later starts afresh; within the limit the reads are joined."""
    from bofan_analytics.decode.stream import MAX_FRAME_PAUSE_MS

    assert MAX_FRAME_PAUSE_MS == 600_000
    data, half = _paused_log(resume_after_s)
    whole = ba.read_log(data)
    if joined:
        assert (len(whole.messages), len(whole.rejects)) == (21, 0)
    else:
        # the first half cut off; the rest, alone, is no frame a device starts with
        rest = (POS[half:] + b"\r\n").hex().encode()
        assert len(whole.messages) == 20
        assert whole.rejects.select(["offset", "length", "reason"]).to_pylist() == [
            {"offset": data.index(POS[:half].hex().encode()), "length": 2 * half,
             "reason": "truncated"},
            {"offset": data.index(rest, data.index(b"07:10:30")), "length": len(rest) - 4, "reason": "unknown_protocol"},
        ]
    for size in (97, 400, 1000, 4096):
        parts = ba.read_log(data, chunk_bytes=size)
        assert parts.messages.equals(whole.messages), size
        assert parts.rejects.equals(whole.rejects), size


def test_rows_flow_on_after_a_frame_is_cut_off_and_a_resumed_decoder_keeps_the_clock():
    data, _ = _paused_log(30 * 60)
    lines = data.splitlines(keepends=True)
    dec = StreamDecoder("traccar")
    fed = dec.feed(b"".join(lines[:13]))  # up to 07:12: the half frame is cut off by now
    assert [r["reason"] for r in fed.rejects.to_pylist()] == ["truncated"]
    assert len(fed.messages) == 12  # not held back behind the unfinished frame
    state = json.loads(json.dumps(dec.checkpoint()))
    rest = b"".join(lines[13:])
    again = StreamDecoder.resume("traccar", "<bytes>", state)
    a = [again.feed(rest), again.finish()]
    b = [dec.feed(rest), dec.finish()]
    for x, y in zip(a, b, strict=True):
        assert x.messages.equals(y.messages) and x.rejects.equals(y.rejects)


@pytest.mark.parametrize("stamps, joined", [
    ((b"07:00:00", b"07:20:00", b"07:05:00"), False),  # the rest heard at 07:20: cut off
    ((b"07:05:00", b"07:20:00", b"07:21:00"), True),  # the first half heard at 07:20 too
], ids=["rest-stamped-back", "half-stamped-back"])
def test_a_pause_is_read_on_the_log_clock_when_time_stamps_go_back(stamps, joined):
    """A read is heard when the log's clock (its latest time stamp) says, even when its
    own stamp is earlier. Every cut of the log, with a checkpoint in between, gives the
    same rows: a frame carried to the next chunk keeps when it was heard."""
    half = len(POS) // 2
    a_half = _line(POS[:half].hex().encode(), b"2026-11-02 " + stamps[0])
    b_full = _line((POS + b"\r\n").hex().encode(), b"2026-11-02 " + stamps[1], b"Tb")
    a_rest = _line((POS[half:] + b"\r\n").hex().encode(), b"2026-11-02 " + stamps[2])
    lines = [a_half, b_full, a_rest] if not joined else [b_full, a_half, a_rest]
    whole = ba.read_log(b"".join(lines))
    reasons = whole.rejects.column("reason").to_pylist()
    assert (len(whole.messages), reasons) == ((2, []) if joined else
                                              (1, ["truncated", "unknown_protocol"]))
    for cut in range(len(lines) + 1):
        dec = StreamDecoder("traccar")
        first = dec.feed(b"".join(lines[:cut]))
        again = StreamDecoder.resume("traccar", "<bytes>", json.loads(json.dumps(dec.checkpoint())))
        parts = [first, again.feed(b"".join(lines[cut:])), again.finish()]
        assert pa.concat_tables([p.messages for p in parts]).equals(whole.messages), cut
        assert pa.concat_tables([p.rejects for p in parts]).equals(whole.rejects), cut


#: what a connection may send: frames of both protocols, a photo chunk, a compressed
#: sentence (against the POS before it), stray line ends and bytes that are no frame
_G6 = b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,23.2014050;104.235212,@R#@"
_SENT = [
    POS + b"\r\n",
    _G6,
    b"$PHD0,4,ab\ncd\r\n",
    b"xyz\r\n",
    b"zz",
    b"\r",
    b"\n",
    compress_sentence(POS + b"\r\n", POS.replace(b"184655", b"184710") + b"\r\n"),
]


@st.composite
def _interleaved_sessions(draw):
    """Two to four connections, each a stream of the items above cut into reads at random
    places, their reads interleaved at random (each connection's in its order)."""
    streams = [b"".join(draw(st.lists(st.sampled_from(_SENT), min_size=1, max_size=6)))
               for _ in range(draw(st.integers(2, 4)))]
    streams[0] += _SENT[0]  # (a log with no frame at all is an error)
    reads = []
    for k, stream in enumerate(streams):
        cuts = sorted(set(draw(st.lists(st.integers(1, len(stream) - 1), max_size=4)))
                      if len(stream) > 1 else [])
        bounds = [0, *cuts, len(stream)]
        reads.append([(k, stream[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    log = []
    while any(reads):
        k = draw(st.sampled_from([k for k, r in enumerate(reads) if r]))
        log.append(reads[k].pop(0))
    return streams, log


@given(_interleaved_sessions(), st.integers(60, 4000))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_interleaved_connections_decode_as_each_connection_alone(sessions, chunk):
    """However the reads of several connections interleave, and wherever a frame is split
    between reads, each connection's rows are those of its bytes decoded as one stream:
    reads are joined in input order only where that frames the same, and together where
    a frame goes on from one read to the next."""
    streams, reads = sessions
    lines, starts = [], []
    at = 0
    for k, payload in reads:
        starts.append(at)
        lines.append(_line(payload.hex().encode(), session=b"T%08x" % (k + 1)))
        at += len(lines[-1])
    data = b"".join(lines)
    line_of = np.array(starts)
    same = [c for c in SAME if c != schema.RECEIVED_AT]
    for size in (len(data), chunk):
        log = ba.read_log(data, format="traccar", chunk_bytes=size)
        owner = np.array([k for k, _ in reads])
        msg_k = owner[np.searchsorted(line_of, log.messages.column("offset").to_numpy(), "right") - 1]
        rej_k = owner[np.searchsorted(line_of, log.rejects.column("offset").to_numpy(), "right") - 1]
        for k, stream in enumerate(streams):
            alone = ba.read_log(stream, format="stream")
            mine = log.messages.filter(pa.array(msg_k == k)).select(same)
            assert mine.equals(alone.messages.select(same)), (k, size)
            got = log.rejects.filter(pa.array(rej_k == k)).to_pylist()
            want = alone.rejects.to_pylist()
            assert [(r["reason"], r["raw"]) for r in got] == [(r["reason"], r["raw"]) for r in want], (k, size)
    # and a decoder resumed from a checkpoint between two reads goes on alike
    cut = sum(len(x) for x in lines[: chunk % (len(lines) + 1)])
    dec = StreamDecoder("traccar")
    parts = [dec.feed(data[:cut])]
    again = StreamDecoder.resume("traccar", "<bytes>", json.loads(json.dumps(dec.checkpoint())))
    parts += [again.feed(data[cut:]), again.finish()]
    assert pa.concat_tables([p.messages for p in parts]).equals(log.messages)
    assert pa.concat_tables([p.rejects for p in parts]).equals(log.rejects)


def test_a_connection_that_stops_mid_line_goes_on_mid_line_in_the_next_chunk():
    """After a frame that ends without a line end (a photo chunk, a PT-60 frame) the next
    read of the connection goes on in that line: its stray bytes are ``garbage``, not a
    line of ``unknown_protocol``, in whichever chunk that read comes."""
    lines = [_line((POS + b"\r\n").hex().encode(), session=b"T1"),
             _line(b"$PHD0,4,ab\nc".hex().encode(), session=b"T3"),
             _line((POS + b"\r\n").hex().encode(), session=b"T1"),
             _line(b"d\r\n".hex().encode(), session=b"T3")]
    data = b"".join(lines)
    assert ba.read_log(b"$PHD0,4,ab\ncd\r\n", format="stream").rejects.column(
        "reason").to_pylist() == ["garbage"]
    for size in (len(data), 60, len(lines[0]) + len(lines[1])):
        log = ba.read_log(data, format="traccar", chunk_bytes=size)
        assert log.rejects.column("reason").to_pylist() == ["garbage"], size
        assert log.messages.column("msg_type").to_pylist() == ["POS", "PHD", "POS"]
    dec = StreamDecoder("traccar")
    first = dec.feed(b"".join(lines[:2]))
    assert first.messages.column("msg_type").to_pylist() == ["POS", "PHD"]  # not held back


@pytest.mark.parametrize("log_tz, overlong", [(None, True), ("Europe/Vienna", False)])
def test_lines_read_ahead_give_the_rows_of_lines_read_in_turn(hex_log, monkeypatch, log_tz,
                                                              overlong):
    """``read_log`` reads each chunk's lines on a thread of its own while the chunk before
    is decoded (``prepare``). Its rows are those of a decoder fed the same chunks in turn,
    also where the work ahead does not hold: after an overlong line cut between chunks,
    in a zone with daylight saving (none is done ahead there)."""
    from bofan_analytics.decode._lines_kernels import MAX_LINE_BYTES
    from bofan_analytics.decode.reading import BytesReader
    from bofan_analytics.io.formats import _parallel, traccar

    monkeypatch.setattr(_parallel, "threads", lambda: 2)
    capture, _ = hex_log
    lines = capture.data.splitlines(keepends=True)
    long_line = b"y" * (MAX_LINE_BYTES + 5000) + b"\n" if overlong else b""
    data = b"".join(lines[:200]) + long_line + b"".join(lines[200:])
    reads = []
    real = traccar._lines_of
    monkeypatch.setattr(traccar, "_lines_of", lambda data, buf, final, cont, tz, last, threaded:
                        reads.append((len(data), threaded))
                        or real(data, buf, final, cont, tz, last, threaded))
    for size in (len(data), 300_000 if overlong else 50_000):
        reads.clear()
        log = ba.read_log(data, format="traccar", chunk_bytes=size, log_tz=log_tz)
        read = list(reads)
        dec = StreamDecoder("traccar", log_tz=log_tz)
        parts = [dec.feed(c) for c in BytesReader(data, chunk_bytes=size).chunks()]
        parts.append(dec.finish())
        assert pa.concat_tables([p.messages for p in parts]).equals(log.messages), size
        assert pa.concat_tables([p.rejects for p in parts]).equals(log.rejects), size
        assert ("long_line" in log.rejects.column("reason").to_pylist()) == overlong
        ahead = [n for n, threaded in read if not threaded]
        if log_tz is None and size < len(data):  # read ahead, and used
            assert len(ahead) > 3
            in_turn = [n for n, threaded in read if threaded and n > 0]
            # only where the overlong line ran on (the decoder held its start)
            assert 0 < len(in_turn) <= (MAX_LINE_BYTES + 5000) // size + 2, in_turn
        elif log_tz is not None:
            assert ahead == []
