"""The framer, the field parsers and the line scan pass over bytes eight at a time, and the
tables' string columns are copied so: every byte searched for must still be found where it
is, at every distance from where the search starts (every place in a word), bytes next to
it in value must not be taken for it, and every row must hold its own bytes. Also the
bitmaps of missing values the numeric columns are made with in one pass."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bofan_analytics._numba import jit, read_only
from bofan_analytics.decode._framing_kernels import frame_segments
from bofan_analytics.decode._text_kernels import find_byte, parse_decimal

# bytes close in value to a stop byte, or that pass the word test only just
_FILLER = bytes([0x25, 0x26, 0x41, 0x7E, 0x7F, 0x80, 0xBE, 0xC0, 0xFF, 0x2C, 0x30])


def _frames(data: bytes):
    buf = read_only(np.frombuffer(data, np.uint8))
    one = np.ones(1, np.int8)
    out = frame_segments(buf, np.zeros(1, np.int64), np.array([len(data)], np.int64), one, one,
                         np.full(1, -1, np.int64))
    return list(zip(out[0].tolist(), out[2].tolist(), strict=True)), out[6].tolist()


def _filler(n: int, shift: int) -> bytes:
    return bytes(_FILLER[(j + shift) % len(_FILLER)] for j in range(n))


@pytest.mark.parametrize("stop", [b"\r", b"\n", b"$", b"\xbf"])
def test_a_sentence_ends_at_its_stop_byte_at_every_distance(stop):
    for lead in range(4):  # where the sentence starts relative to a word
        for length in range(1, 40):
            body = b"$" + _filler(length - 1, lead + length)
            data = b"\n" * lead + body + stop + b"\n"
            frames, _ = _frames(data)
            assert frames[0] == (lead, lead + length), (lead, length)


def test_bytes_near_the_stop_bytes_do_not_end_a_sentence():
    for length in range(1, 40):
        data = b"$" + _filler(length, length) + b"#! \n"  # ' ', '!', '#' are below '$' too
        frames, _ = _frames(data)
        assert frames == [(0, length + 4)]


@pytest.mark.parametrize("stop,end", [(b"\r", 0), (b"\n", 0), (b"@R#@", 4), (b"@E#@", 4),
                                      (b"@G#@", 0), (b"@B#@", 0)])
def test_a_pt60_frame_ends_at_its_terminator_at_every_distance(stop, end):
    for lead in range(4):
        for length in range(5, 45):
            # an '@' that starts nothing, CR/LF-like bytes that are not CR or LF
            body = b"@G#@" + (b"\x0b\x0e@x" + _filler(40, length))[: length - 4]
            data = b"\n" * lead + body + stop + b"\n"
            frames, _ = _frames(data)
            assert frames[0] == (lead, lead + length + end), (lead, length)


@jit
def _find(buf, s, e, b):
    return find_byte(buf, s, e, b)


@pytest.mark.parametrize("b", [0, 1, 44, 47, 0x7F, 0x80, 0xFF])
def test_find_byte_finds_the_first_at_every_distance(b):
    near = bytes({(b - 1) % 256, (b + 1) % 256, b ^ 0x80, b ^ 0x01, b ^ 0xFF})
    for start in range(9):
        for at in range(start, start + 26):
            data = bytearray(near[j % len(near)] for j in range(start + 40))
            data[at] = b
            data[at + 1 + at % 3] = b  # a later one is not the first
            buf = read_only(np.frombuffer(bytes(data), np.uint8))
            assert _find(buf, start, len(data), b) == at, (start, at)
            assert _find(buf, start, at, b) == at  # absent before the end: the end
            assert _find(buf, at + 1, at + 1, b) == at + 1  # an empty range


def test_find_byte_finds_what_a_byte_by_byte_search_finds():
    """(The suite's plain-Python run checks the plain twin of the word test the same way.)"""
    rng = np.random.default_rng(7)
    data = rng.integers(0, 6, 3000).astype(np.uint8) * np.uint8(43)  # 0, 43, 86, 129, ...
    buf = read_only(data)
    for s in range(0, 2900, 37):
        for b in (0, 43, 129, 172, 215, 7):
            assert _find(buf, s, s + 60, b) == next(
                (s + j for j in range(60) if data[s + j] == b), s + 60)


def test_each_line_s_receive_date_is_its_own():
    """A line's date is not read again when it is written as the last one read: lines
    whose dates differ in any one byte, or are invalid after a valid one, keep their own."""
    from bofan_analytics.decode._lines_kernels import scan_lines

    stamps = ["2026-10-26T23:59:59.999Z", "2026-10-26T00:00:00Z", "2026-10-27T00:00:00.5Z",
              "2026-10-17T00:00:00Z", "2026-11-27T00:00:00Z", "2027-11-27T00:00:00Z",
              "2027-11-27T00:00:00Z", "2027-02-29T00:00:00Z", "2028-02-29T00:00:00Z",
              "2028-02-30T00:00:00Z", "2028-02-29T12:34:56Z", "2028-02-29 12:34:56Z",
              "2028-02-29T12:34:56+01:00", "2028-02-2xT12:34:56Z", "2028-02-29T12:34:56Z"]
    data = "".join(f"{stamp} $POS,1\n" for stamp in stamps).encode()
    buf = read_only(np.frombuffer(data, np.uint8))
    _, _, recv, _, _ = scan_lines(buf, 0, len(data), True)
    expected = []
    for stamp in stamps:
        one = (stamp + " $POS,1\n").encode()
        expected.append(int(scan_lines(read_only(np.frombuffer(one, np.uint8)), 0, len(one),
                                       True)[2][0]))
    assert recv.tolist() == expected
    null = int(np.iinfo(np.int64).min)
    assert [v == null for v in expected] == [False] * 7 + [True, False, True, False, True,
                                                          False, True, False]
    assert expected[1] - expected[0] == -86_399_999
    assert expected[2] - expected[1] == 86_400_500


def test_string_columns_gathered_eight_bytes_at_a_time_hold_each_row_s_bytes():
    """Rows of every length, at every place in a word, up to the input's last byte, cut at
    the cap, and null rows between them."""
    from bofan_analytics.decode._assemble import _string_array

    data = bytes(range(33, 33 + 90))
    starts, ends = [], []
    for s in range(0, 90, 7):
        for length in (0, 1, 7, 8, 9, 17):
            starts.append(min(s, 90 - length))
            ends.append(min(s, 90 - length) + length)
        starts.append(-1)
        ends.append(-1)
    starts += [90 - 3, 0]
    ends += [90, 90]
    buf = read_only(np.frombuffer(data, np.uint8))
    for cap in (1 << 30, 5):
        column = _string_array(buf, np.array(starts), np.array(ends), cap=cap)
        expected = [None if s < 0 else data[s:min(e, s + cap)].decode()
                    for s, e in zip(starts, ends, strict=True)]
        assert column.to_pylist() == expected
        assert column.null_count == expected.count(None)


def test_numeric_columns_are_missing_where_their_values_are_null_or_nan():
    import pyarrow as pa

    from bofan_analytics.decode._assemble import _floats, _ints, _times

    ints = np.array([-1, 0, 5, -1, 7, 8, 9, 10, -1, 2**31 - 1], np.int32)
    assert _ints(ints, pa.int32()).to_pylist() == [None, 0, 5, None, 7, 8, 9, 10, None,
                                                    2**31 - 1]
    assert _ints(ints[1:3], pa.int32()).null_count == 0
    floats = np.array([np.nan, 0.0, -1.0, 1.5, np.nan, np.inf, 3.0, 4.0, 5.0])
    assert _floats(floats).to_pylist() == [None, 0.0, -1.0, 1.5, None, np.inf, 3.0, 4.0, 5.0]
    null = np.iinfo(np.int64).min
    times = _times(np.array([null, 0, 86_400_000, null], np.int64))
    assert times.type == pa.timestamp("ms", tz="UTC")
    assert [t if t is None else t.isoformat() for t in times.to_pylist()] == [
        None, "1970-01-01T00:00:00+00:00", "1970-01-02T00:00:00+00:00", None]
    assert _ints(np.zeros(0, np.int32), pa.int32()).to_pylist() == []


def _pt502_rows(sentences: list[bytes]):
    """Each sentence decoded alone: its message row, or its reject reason."""
    import bofan_analytics as ba

    out = []
    for sentence in sentences:
        log = ba.read_log(sentence + b"\r\n", format="stream")
        out.append(log.messages.to_pylist()[0] if len(log.messages)
                   else log.rejects.column("reason")[0].as_py())  # fmt: skip
    return out


def test_pt502_fields_cut_eight_bytes_at_a_time_are_each_their_own():
    """The commas of a sentence are found a word at a time: fields of every length, at
    every place in a word (ids of 1 to 20 digits shift them), read as a byte-by-byte split
    reads them."""
    sentences, expected = [], []
    for digits in range(1, 21):
        device = b"12345678901234567890"[:digits]
        for speed, course in ((b"0", b"7"), (b"55.15", b"104.06"), (b"", b""),
                              (b"123.456", b"0.5")):
            sentences.append(b"$POS," + device + b",073320.500,A,4910.1319,N,01648.1673,E,"
                             + speed + b"," + course + b",261026,,,A/00000,00000/0//fa6//")
            expected.append((device.decode(), 4910.1319, speed, course))
    for (device, _, speed, course), row in zip(expected, _pt502_rows(sentences), strict=True):
        assert row["device_id"] == device
        assert row["time"].isoformat() == "2026-10-26T07:33:20.500000+00:00"
        assert row["lat"] == pytest.approx(49 + 10.1319 / 60, abs=1e-12)
        assert row["lon"] == pytest.approx(16 + 48.1673 / 60, abs=1e-12)
        assert row["speed_kmh"] == (float(speed) * 1.852 if speed else None)
        assert row["course"] == (float(course) if course else None)


def test_bytes_next_to_a_comma_do_not_cut_a_pt502_field():
    """``-`` (``,`` + 1) right after a comma passes the quick zero-byte test a word at a
    time (a false mark above a true one): a negative speed is a bad field, not an empty
    speed with the fields after it moved. ``+``, ``.`` and bytes with the high bit are not
    commas either."""
    head = b"$POS,123456789012345,073320.000,A,4910.1319,N,01648.1673,E,"
    rows = _pt502_rows([head + b"-1.5,10.0,261026,,,A/", head + b"+1.5,10.0,261026,,,A/",
                        head + b"1.5,-0,261026,,,A/", head + b"1.5,\xac1,261026,,,A/"])
    assert rows[0] == "bad_field"
    assert rows[1]["speed_kmh"] == 1.5 * 1.852 and rows[1]["course"] == 10.0
    assert rows[2]["course"] == 0.0
    assert rows[3] == "bad_field"


def test_a_pt502_time_read_by_position_checks_every_digit():
    """``hhmmss.fff`` is read by position: a byte next to the digits (``/``, ``:``) in any
    of its nine places, or an hour, minute or second out of range, is a bad time; other
    shapes of the field are read as before."""
    def sentence(time):
        return (b"$POS,123456789012345," + time + b",A,4910.1319,N,01648.1673,E,1.0,2.0,"
                b"261026,,,A/")

    bad = [b"073320.000"[:j] + c + b"073320.000"[j + 1:] for j in (0, 1, 2, 3, 4, 5, 7, 8, 9)
           for c in (b"/", b":")]  # fmt: skip
    bad += [b"240000.000", b"236000.000", b"235960.000", b"073320:000"]
    assert _pt502_rows([sentence(t) for t in bad]) == ["bad_time"] * len(bad)
    good = [b"235959.999", b"000000.000", b"073320.5", b"073320", b"073320.123456"]
    times = [row["time"].time() for row in _pt502_rows([sentence(t) for t in good])]
    assert [t.isoformat("milliseconds") for t in times] == [
        "23:59:59.999", "00:00:00.000", "07:33:20.500", "07:33:20.000", "07:33:20.123"]


@jit
def _decimal(buf, s, e):
    return parse_decimal(buf, s, e)


def _read_decimal(text: bytes):
    buf = read_only(np.frombuffer(text + b",xxxxxxxx", np.uint8))
    return _decimal(buf, 0, len(text))


@settings(deadline=None)  # the first example compiles the kernel
@given(st.integers(0, 10**15 - 1), st.integers(0, 15), st.sampled_from(["", "-", "+"]))
@example(297, 2, "")  # 2.97, 1.602, 5.238, 1.485, 3.50492: 2 + 97 / 100 is not 2.97
@example(1602, 3, "")
@example(5238, 3, "-")
@example(1485, 3, "+")
@example(350492, 5, "")
def test_a_decimal_field_reads_as_the_double_nearest_its_text(number, point, sign):
    """As ``float`` reads it: the digits are one integer divided by a power of ten once
    (summing the whole and the fraction rounded twice, and missed the nearest double for
    about one number in two hundred)."""
    digits = str(number)
    point = min(point, len(digits))
    text = (sign + digits[: len(digits) - point] + "." + digits[len(digits) - point :]).encode()
    value, status = _read_decimal(text)
    assert status == 0 and value == float(text) and str(value) == str(float(text))


def test_malformed_and_empty_decimal_fields():
    for text in (b"-", b"+", b".", b"1.2.3", b"1a", b" 1", b"--1", b"1-", b"1234567890123456789",
                 b"0.1234567890123456789", b"12345678901234567890"):
        value, status = _read_decimal(text)
        assert status == 2 and np.isnan(value), text
    assert np.isnan(_read_decimal(b"")[0]) and _read_decimal(b"")[1] == 1
    # 18 digits read; longer numbers with up to 18 on each side of the dot as well
    assert _read_decimal(b"123456789012345678") == (123456789012345678.0, 0)
    assert _read_decimal(b"123456789012345678.123456789012345678")[0] == pytest.approx(
        123456789012345678.12345678)
    assert _read_decimal(b"-.5") == (-0.5, 0) and _read_decimal(b"7.") == (7.0, 0)
