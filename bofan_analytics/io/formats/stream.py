"""``stream``: raw bytes as the devices sent them, frames back to back."""

from __future__ import annotations

from ._base import CaptureFormat
from ._parallel import PARALLEL_MIN_BYTES, pool, threads

__all__ = ["STREAM", "stream_bounds"]

#: what a raw stream holds somewhere near its start: a sentence, a PT-60 frame, a header
FRAME_STARTS = (b"$", b"@G#@", b"@B#@", b"\xbf")


class _Stream(CaptureFormat):
    name = "stream"
    description = "raw bytes as the devices sent them, frames back to back"
    detect_rank = 90  # what is left when no other format says yes

    def detect(self, head):
        """Any frame start in the head (an empty file is a stream too)."""
        return not head or any(start in head for start in FRAME_STARTS)

    def start(self, decoder):
        return {"line_start": True}

    def save(self, state):
        return {"line_start": bool(state["line_start"])}

    def load(self, decoder, saved):
        return {"line_start": bool(saved.get("line_start", True))}

    def step(self, decoder, state, data, final, last_line, ahead=None):
        import pyarrow as pa

        from ..._numba import byte_array

        buf = byte_array(data)
        bounds = [0, len(data)]
        if len(data) >= PARALLEL_MIN_BYTES and threads() > 1:
            bounds = stream_bounds(data, threads())
        parts = []
        for j in range(len(bounds) - 1):
            last = j == len(bounds) - 2
            # every cut is a line end followed by a frame start: nothing spans it
            parts.append((bounds[j], bounds[j + 1], final or not last,
                          state["line_start"] if j == 0 else True))
        if len(parts) == 1:
            results = [_part(decoder, buf, *parts[0], decoder.known_devices,
                             decoder.references)]
        else:
            # no compressed sentence in this chunk (see stream_bounds): each part only
            # leaves the last sentence it saw for the next chunk
            results = list(pool().map(
                lambda jp: _part(decoder, buf, *jp[1], {},
                                 decoder.references if jp[0] == 0 else {}),
                enumerate(parts)))
            for r in results:
                decoder.known_devices.update(r[3])
                decoder.references.update(r[4])
        messages = pa.concat_tables([r[0] for r in results])
        rejects = pa.concat_tables([r[1] for r in results])
        state["line_start"] = results[-1][5]
        return messages, rejects, results[-1][2]


def _part(decoder, buf, lo, hi, final, line_start, known, references):
    from ...decode._assemble import OffsetMap, Segments, decode_segments

    segs = Segments([lo], [hi], final, line_start)
    messages, rejects, consumed, _, _, line_starts = decode_segments(
        buf, segs, OffsetMap(decoder.base), decoder.source, known, references
    )
    return messages, rejects, int(consumed[0]), known, references, bool(line_starts[0])


def stream_bounds(data: bytes, parts: int) -> list[int]:
    """Cut points of a raw stream where no frame can span: a line end followed by the start
    of a sentence or a PT-60 frame, with no binary header just before. A chunk holding a
    ``$PHD`` photo chunk (binary data may contain anything) or a compressed sentence is
    not cut at all.

    >>> stream_bounds(b"$POS,1\\r\\n" * 4, 2)
    [0, 24, 32]
    """
    if data.find(b"$PHD") >= 0 or _maybe_compressed(data):
        return [0, len(data)]
    bounds = [0]
    step = len(data) // parts
    for k in range(1, parts):
        pos = max(bounds[-1], k * step)
        while True:
            cut = data.find(b"\n", pos)
            if cut < 0 or cut + 5 > len(data):
                cut = -1
                break
            start = data[cut + 1 : cut + 5]
            frame = start[:1] == b"$" or start in (b"@G#@", b"@B#@")
            if frame and data.find(b"\xbf", max(0, cut - 5), cut + 1) < 0:
                break
            pos = cut + 1
        if cut < 0:
            break
        bounds.append(cut + 1)
    bounds.append(len(data))
    return bounds


def _maybe_compressed(data):
    """Whether ``data`` may hold a compressed PT-502 sentence (an ``@`` that is no PT-60
    marker): those are expanded against the sentence before, so the chunk is not cut."""
    at = data.count(b"@")
    return at and at != 2 * sum(data.count(m) for m in (b"@G#@", b"@B#@", b"@R#@", b"@E#@"))


STREAM = _Stream()
