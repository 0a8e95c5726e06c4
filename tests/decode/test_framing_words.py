"""The framer passes over a sentence eight bytes at a time: every stop byte must still end
the frame where it is, at every distance from the frame start (every place in a word), and
bytes next to the stop bytes in value must not end it."""

import numpy as np
import pytest

from bofan_analytics._numba import read_only
from bofan_analytics.decode._framing_kernels import frame_segments

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
