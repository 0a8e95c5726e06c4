"""Frames of a byte stream as they arrive, cut by the decoder's own framing kernel.

Code that must act on each frame while a connection is still open (the listener answers
PT-60 frames, requests photo chunks and records every frame) cuts with :class:`StreamCutter`.
It runs the kernel :class:`~bofan_analytics.decode.StreamDecoder` runs on a ``stream``
capture (:func:`~bofan_analytics.decode._framing_kernels.frame_segments`) with the same
carry-over of an unfinished frame, so a frame the listener sees is exactly a frame the
decoder will see, whatever pieces the bytes arrived in.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._numba import byte_array
from ._codes import REASONS
from ._framing_kernels import frame_segments

__all__ = ["Cut", "StreamCutter"]

_ONE = np.zeros(1, np.int64)
_ALONE = np.full(1, -1, np.int64)  # the one segment goes on from none


class Cut(NamedTuple):
    """What one piece of a stream completed.

    ``frames`` are the frames' bytes (a ``0xBF`` binary header included, line ends not) and
    ``offsets`` where each starts; ``rejects`` are ``(offset, length, reason)`` of stretches
    that are not frames. Offsets count from the start of the stream.
    """

    frames: list[bytes]
    offsets: list[int]
    rejects: list[tuple[int, int, str]]


class StreamCutter:
    """Cut a stream into frames piece by piece, carrying an unfinished frame over.

    Examples
    --------
    >>> cutter = StreamCutter()
    >>> cutter.feed(b"@B#@|01|001|864891030184852|9425010450971470|1|45|@E#@$POS,1").frames
    [b'@B#@|01|001|864891030184852|9425010450971470|1|45|@E#@']
    >>> cutter.held
    6
    >>> cutter.finish().frames
    [b'$POS,1']
    """

    def __init__(self) -> None:
        self._tail = b""
        self._base = 0  # stream offset of self._tail[0]
        self._line_start = True

    @property
    def held(self) -> int:
        """Bytes kept for a frame that is not complete yet."""
        return len(self._tail)

    @property
    def offset(self) -> int:
        """Stream offset of the first byte held."""
        return self._base

    def feed(self, data: bytes, *, final: bool = False) -> Cut:
        """Add received bytes; return the frames and rejects they complete.

        ``final=True`` says the stream ends with them (a UDP datagram is a whole stream).
        """
        return self._cut(self._tail + data if self._tail else data, final=final)

    def finish(self) -> Cut:
        """The end of the stream: what is held becomes a frame or a reject."""
        return self._cut(self._tail, final=True)

    def drop(self) -> tuple[int, int]:
        """Forget the bytes held (to resynchronise); returns their ``(offset, length)``."""
        dropped = (self._base, len(self._tail))
        self._base += len(self._tail)
        self._tail = b""
        self._line_start = False
        return dropped

    def _cut(self, data: bytes, final: bool) -> Cut:
        if not data:
            return Cut([], [], [])
        buf = byte_array(data)
        ends = np.array([len(data)], np.int64)
        (f_off, _f_s, f_e, _f_seg, r_s, r_e, r_reason, _r_seg, consumed, _compressed,
         end_ls) = frame_segments(
            buf, _ONE, ends, np.array([final], np.int8), np.array([self._line_start], np.int8),
            _ALONE,
        )
        starts = f_off.tolist()
        frames = [data[s:e] for s, e in zip(starts, f_e.tolist(), strict=True)]
        base = self._base
        rejects = [
            (base + s, e - s, REASONS[r])
            for s, e, r in zip(r_s.tolist(), r_e.tolist(), r_reason.tolist(), strict=True)
        ]
        used = int(consumed[0])
        self._line_start = bool(end_ls[0])
        self._tail = data[used:]
        self._base = base + used
        return Cut(frames, [base + s for s in starts], rejects)
