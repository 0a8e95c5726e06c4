"""Hostile decoder inputs: each case ends in messages and rejects with reasons, never in bytes
silently counted as "other"."""

import random

import pytest

import bofan_analytics as ba
from bofan_analytics.decode import StreamDecoder

HEAD = b"2026-11-02 07:10:25  INFO: Starting server...\n"
POS = b"$POS,7210285832,184655.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/00000,00000/0/0//"
HEXPOS = (POS + b"\r\n").hex().encode()
GOOD = b"2026-11-02 07:10:27  INFO: [T1a2b3c4d: pt502 < 10.0.0.5] " + HEXPOS + b"\n"
MIB = 1 << 20


def _rejects(log):
    return [(r["offset"], r["length"], r["reason"]) for r in log.rejects.to_pylist()]


def _check_accounting(log, size):
    acc = log.accounting.to_pylist()[0]
    assert acc["input_bytes"] == size
    assert acc["message_bytes"] + acc["reject_bytes"] + acc["other_bytes"] == size
    return acc


def _bad_line_case(line):
    data = HEAD + GOOD + line + GOOD
    log = ba.read_log(data)
    assert len(log.messages) == 2
    start = len(HEAD) + len(GOOD)
    assert _rejects(log) == [(start, len(line) - 1, "bad_line")]
    assert log.rejects.column("raw")[0].as_py() == line[:-1]
    acc = _check_accounting(log, len(data))
    # what is left over is the log lines' headers and line ends, nothing of the bad line
    assert acc["reject_bytes"] == len(line) - 1


def test_traccar_line_with_a_bad_date_is_a_reject():
    _bad_line_case(b"2026-13-45 07:10:27  INFO: [T1a2b3c4d: pt502 < 10.0.0.5] " + HEXPOS + b"\n")


def test_traccar_line_with_a_t_separator_is_a_reject():
    _bad_line_case(b"2026-11-02T07:10:27  INFO: [T1a2b3c4d: pt502 < 10.0.0.5] " + HEXPOS + b"\n")


def test_traccar_line_with_a_malformed_session_is_a_reject():
    _bad_line_case(b"2026-11-02 07:10:27  INFO: [Tzz1a2b: pt502 < 10.0.0.5] " + HEXPOS + b"\n")
    _bad_line_case(b"2026-11-02 07:10:27  INFO: [: pt502 < 10.0.0.5] " + HEXPOS + b"\n")


def test_traccar_line_with_leading_nuls_is_a_reject():
    _bad_line_case(b"\x00" * 300 + GOOD)


def test_traccar_log_of_100_mb_without_a_newline(tmp_path):
    path = tmp_path / "tracker-server.log"
    line = b"2026-11-02 07:10:27  INFO: [T1a2b3c4d: pt502 < 10.0.0.5] "
    size = 100 * MIB
    with open(path, "wb") as f:
        f.write(HEAD + line)
        block = HEXPOS * (MIB // len(HEXPOS) + 1)
        left = size - len(HEAD) - len(line)
        while left > 0:
            f.write(block[: min(left, MIB)])
            left -= MIB
    log = ba.read_log(path)
    assert len(log.messages) == 0
    # cut every MiB from the line's start, each piece a reject of its own
    expected = [(len(HEAD) + k * MIB, MIB, "long_line") for k in range(99)]
    last = len(HEAD) + 99 * MIB
    expected.append((last, size - last, "long_line"))
    assert _rejects(log) == expected
    assert log.rejects.column("raw")[0].as_py() == (HEAD + line + HEXPOS * 20)[len(HEAD):][:1024]
    acc = _check_accounting(log, size)
    assert acc["other_bytes"] == len(HEAD)


def test_traccar_long_line_is_cut_alike_however_the_input_is_fed():
    data = HEAD + b"x" * (2 * MIB + 5) + b"\n" + GOOD
    whole = ba.read_log(data, format="traccar")
    dec = StreamDecoder("traccar")
    parts = [dec.feed(data[i : i + 333_333]) for i in range(0, len(data), 333_333)]
    parts.append(dec.finish())
    rejects = [r for p in parts for r in _rejects(p)]
    assert rejects == _rejects(whole) == [
        (len(HEAD), MIB, "long_line"),
        (len(HEAD) + MIB, MIB, "long_line"),
        (len(HEAD) + 2 * MIB, 5, "long_line"),
    ]
    assert sum(len(p.messages) for p in parts) == len(whole.messages) == 1


def _pos(i):
    return b"$POS,%d,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//" % (1000 + i)


def test_photo_chunk_with_a_lying_length_does_not_swallow_the_frames_after_it():
    frames = [_pos(i) for i in range(594)]
    head = b"$PHD0,60000,"
    data = head + b"\r\n".join(frames) + b"\r\n"
    log = ba.read_log(data, format="stream")
    # the length is beyond the longest chunk a device sends: the header alone is rejected
    assert _rejects(log) == [(0, len(head), "bad_photo")]
    assert log.messages.column("device_id").to_pylist() == [str(1000 + i) for i in range(594)]
    assert log.messages.column("offset")[0].as_py() == len(head)
    acc = _check_accounting(log, len(data))
    assert acc["other_bytes"] == 2 * 594  # the CR LF after each sentence


def test_photo_chunk_within_the_cap_holding_frame_starts_is_a_reject():
    frames = [_pos(i) for i in range(10)]
    body = b"\r\n".join(frames) + b"\r\n"
    head = b"$PHD0,%d," % (len(body) + 50)  # under the cap, longer than what follows
    log = ba.read_log(head + body, format="stream")
    assert _rejects(log) == [(0, len(head), "bad_photo")]
    assert len(log.messages) == 10
    # chunked anywhere, the same
    dec = StreamDecoder("stream")
    data = head + body
    parts = [dec.feed(data[i : i + 7]) for i in range(0, len(data), 7)] + [dec.finish()]
    assert [r for p in parts for r in _rejects(p)] == [(0, len(head), "bad_photo")]
    assert sum(len(p.messages) for p in parts) == 10


def test_photo_chunk_behind_a_binary_header_is_taken_at_its_length():
    # the 0xBF header vouches for the chunk: its data is a photo even if it reads like text
    data = b"\x00" * 8 + _pos(1) + b"\r\n" + b"\xff" * 20
    frame = b"\xbf\xfb\x01\x02\x03$PHD960,%d," % len(data) + data
    log = ba.read_log(frame + _pos(2) + b"\r\n", format="stream")
    assert len(log.rejects) == 0
    assert log.messages.column("msg_type").to_pylist() == ["PHD", "POS"]
    assert log.messages.column("payload")[0].as_py() == data


def test_real_photo_chunk_without_a_header_is_kept():
    rng = random.Random(5)
    data = bytes(rng.randrange(256) for _ in range(960))
    log = ba.read_log(b"$PHD0,960," + data + _pos(3) + b"\r\n", format="stream")
    assert len(log.rejects) == 0
    assert log.messages.column("msg_type").to_pylist() == ["PHD", "POS"]
    assert log.messages.column("payload")[0].as_py() == data


# -- fields a column cannot hold --------------------------------------------------------------
_G43 = (b"@G#@,V01,43,105681639001701,9460000412618231,20180410092923,5,"
        b"460;0;9763;3852;-63|460;0;9763;3851;-26,2,"
        b"14:b8:37:26:64:88;004300680069006e0061004e00650074002d006e0047006e0058;-76|"
        b"08:9b:4b:93:b5:b1;005400480049004e004b0052004100430045;-77,")  # fmt: skip
_B3 = (b"@B#@|01|003|864891030184954|9425010450971470|S6_EN_A_V1.3.7|0|66|20181122113251|"
       b"40412,10461,1,425,18|2|")  # fmt: skip
_FUS = b"$FUS865328018286339,510-V1.12,A11-V3.0"
_POS = (b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,"
        b"A/0000,0/0/0/D42/5b3/")  # fmt: skip


@pytest.mark.parametrize("good, bad", [
    (_FUS, _FUS + b"}\xb7<"),                            # firmware text, not UTF-8
    (_POS, _POS.replace(b"/D42/", b"/D\xc3\x28/")),      # driver id, not UTF-8
    (_POS, _POS.replace(b"/D42/", b"/D\x0142/")),        # driver id, a control byte
    (_B3, _B3.replace(b"S6_EN_A_V1.3.7", b"S6_EN_\xe9_V1.3.7")),  # PT-60 firmware
    (_B3, _B3.replace(b",425,18|", b",99999999999,18|")),           # mcc past int32
    (_G43, _G43.replace(b";3852;-63|", b";3852;-9999999999|")),      # cell rssi past int32
    (_G43, _G43.replace(b";-77,", b";-99999999999,")),              # Wi-Fi rssi past int32
])  # fmt: skip
def test_a_field_no_column_can_hold_rejects_the_frame(good, bad):
    """Text that is not printable ASCII would make a string column invalid UTF-8 (Arrow
    and pandas refuse to read it), and a number past int32 would keep only its low bits in
    its int32 column: either rejects the frame as ``bad_field``, with its offset, instead
    of a table nobody can read or a silently wrong number."""
    assert len(ba.read_log(good + b"\r\n").messages) == 1
    data = good + b"\r\n" + bad + b"\r\n"
    log = ba.read_log(data)
    assert len(log.messages) == 1
    log.messages.validate(full=True)
    assert [(r["reason"], r["offset"], r["raw"]) for r in log.rejects.to_pylist()] == [
        ("bad_field", len(good) + 2, bad)
    ]
