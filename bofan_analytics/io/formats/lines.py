"""``lines``: one frame per line, optionally after an ISO-8601 receive time and a space."""

from __future__ import annotations

import re

from ._base import CaptureFormat
from ._parallel import PARALLEL_MIN_BYTES, pool, threads

__all__ = ["LINES", "line_bounds"]

_ISO_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", re.MULTILINE)


class _Lines(CaptureFormat):
    name = "lines"
    description = "one frame per line, optionally after an ISO-8601 receive time and a space"
    detect_rank = 30

    def detect(self, head):
        """The file starts with an ISO-8601 time (``2026-11-02T07:10:27.948Z ...``)."""
        return _ISO_LINE.match(head[:65536]) is not None

    def prepare(self, decoder, state, chunk):
        """Start decoding ``chunk`` ahead: its parts go to the decoding threads now, queued
        behind the parts of the chunk before it, so a thread done with its part of that
        chunk goes on with this one instead of waiting for the other thread to finish (a
        chunk's parts seldom take the same time). Lines are independent: a chunk that
        starts at a line end decodes alike whatever came before it, but for the source
        offsets, which :meth:`step` adds the chunk's place to. Not for a decoder's first
        chunks: those start the compiling of the parsers (see ``StreamDecoder.feed``)."""
        from ..._numba import byte_array

        if not decoder.accounting.input_bytes or len(chunk) < PARALLEL_MIN_BYTES:
            return None
        buf = byte_array(chunk)
        source = decoder.source
        return chunk, source, [pool().submit(_part, buf, *part, 0, source)
                               for part in _parts(chunk, False)]

    def step(self, decoder, state, data, final, last_line, ahead=None):
        import pyarrow as pa

        from ..._numba import byte_array

        results = None
        if ahead is not None:
            chunk, source, started = ahead
            if chunk is data and source == decoder.source and not (final or last_line):
                results = [future.result() for future in started]
            else:
                for future in started:  # of other bytes than these: not used
                    future.cancel()
        ahead_used = results is not None
        if not ahead_used:
            buf = byte_array(data)
            parts = _parts(data, final)
            if len(parts) == 1:
                results = [_part(buf, *parts[0], decoder.base, decoder.source)]
            else:
                results = list(pool().map(
                    lambda part: _part(buf, *part, decoder.base, decoder.source), parts))
        messages, rejects = (pa.concat_tables([r[k] for r in results]) for k in (0, 1))
        if ahead_used:  # decoded from offset 0: moved to the chunk's place
            messages, rejects = _placed(messages, decoder.base), _placed(rejects, decoder.base)
        return messages, rejects, results[-1][2]


def _parts(data, final: bool) -> list[tuple[int, int, bool]]:
    """``(start, end, final)`` of each part ``data`` is decoded in: a large chunk is cut at
    line ends into one part per thread (the kernels release the GIL); positions stay
    relative to ``data``. Only the last part may end in an unfinished line."""
    bounds = line_bounds(data, threads() if len(data) >= PARALLEL_MIN_BYTES else 1)
    return [(bounds[j], bounds[j + 1], final or bounds[j + 1] < len(data))
            for j in range(len(bounds) - 1)]


def _placed(table, base: int):
    """``table`` of a chunk decoded ahead (source offsets from 0) with its offsets moved to
    the chunk's place in the source, ``base``."""
    import pyarrow as pa

    from ...schema import OFFSET

    if not base or not table.num_rows:
        return table
    at = table.schema.get_field_index(OFFSET)
    offsets = table.column(at).to_numpy() + base
    return table.set_column(at, table.schema.field(at), pa.array(offsets, pa.int64()))


def _part(buf, lo, hi, final, base, source):
    from ...decode._assemble import OffsetMap, Segments, decode_segments
    from ...decode._lines_kernels import scan_lines

    pay_s, pay_e, recv, _line_s, consumed = scan_lines(buf, lo, hi, final)
    segs = Segments(pay_s, pay_e, 1, 1, recv=recv)
    messages, rejects, _, _, _, _ = decode_segments(buf, segs, OffsetMap(base, recv), source)
    return messages, rejects, consumed


def line_bounds(data: bytes, parts: int) -> list[int]:
    """Cut points of ``data`` into about ``parts`` pieces, each ending just after a line end.

    >>> line_bounds(b"a\\nb\\nc\\nd\\n", 2)
    [0, 6, 8]
    """
    bounds = [0]
    step = len(data) // parts
    for k in range(1, parts):
        cut = data.find(b"\n", max(bounds[-1], k * step))
        if cut < 0:
            break
        bounds.append(cut + 1)
    bounds.append(len(data))
    return sorted(set(bounds)) if len(data) else [0, 0]


LINES = _Lines()
