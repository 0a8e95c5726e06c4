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

    def step(self, decoder, state, data, final, last_line, ahead=None):
        import numpy as np
        import pyarrow as pa

        buf = np.frombuffer(data, np.uint8)
        # lines are independent: a large chunk is cut at line ends and the parts decoded on
        # threads (the kernels release the GIL); positions stay relative to ``data``
        bounds = line_bounds(data, threads() if len(data) >= PARALLEL_MIN_BYTES else 1)
        parts = [(bounds[j], bounds[j + 1], final or bounds[j + 1] < len(data))
                 for j in range(len(bounds) - 1)]
        if len(parts) == 1:
            results = [_part(decoder, buf, *parts[0])]
        else:
            results = list(pool().map(lambda part: _part(decoder, buf, *part), parts))
        messages = pa.concat_tables([r[0] for r in results])
        rejects = pa.concat_tables([r[1] for r in results])
        return messages, rejects, results[-1][2]


def _part(decoder, buf, lo, hi, final):
    from ...decode._assemble import OffsetMap, Segments, decode_segments
    from ...decode._lines_kernels import scan_lines

    pay_s, pay_e, recv, _line_s, consumed = scan_lines(buf, lo, hi, final)
    segs = Segments(pay_s, pay_e, 1, 1, recv=recv)
    messages, rejects, _, _, _, _ = decode_segments(
        buf, segs, OffsetMap(decoder.base, recv), decoder.source
    )
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
