"""The framer, the field parsers and the line scan pass over bytes eight at a time, and the
tables' string columns are copied so: every byte searched for must still be found where it
is, at every distance from where the search starts (every place in a word), bytes next to
it in value must not be taken for it, and every row must hold its own bytes. Also the
bitmaps of missing values the numeric columns are made with in one pass."""

import numpy as np
import pytest

from bofan_analytics._numba import jit, read_only
from bofan_analytics.decode._framing_kernels import frame_segments
from bofan_analytics.decode._text_kernels import find_byte

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
