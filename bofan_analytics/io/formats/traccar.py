"""``traccar``: a tracker-server log, one network read per line, in the layouts its
releases write (see :data:`TRACCAR_LAYOUTS`)."""

from __future__ import annotations

import re

from ._base import CaptureFormat
from ._parallel import PARALLEL_MIN_BYTES, by_halves, in_pool, pool, threads

__all__ = ["TRACCAR", "TRACCAR_LAYOUTS"]

#: how tracker-server releases write a network read
TRACCAR_LAYOUTS = {
    "hex": "[T1a2b3c4d: pt502 < 10.0.0.5] 24504f53... (5.x, 6.x; a few reads as plain text)",
    "text": "6.3+ with logger.decodeTextData: a printable read as text, CR/LF as \\r \\n",
    "4.x": "[1a2b3c4d: pt502 < 10.0.0.5] HEX: 24504f53...",
    "3.x": "[1A2B3C4D: 5017 < 10.0.0.5] HEX: 24504f53... (the port, not the protocol)",
}

_TRACCAR_LINE = re.compile(
    rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?\s+[A-Z]+:? ", re.MULTILINE
)
#: a UDP session's key (``U…`` sessions) has this bit set
_UDP_BIT = 1 << 48


class _Traccar(CaptureFormat):
    name = "traccar"
    description = "a tracker-server log: one network read per line, hex or text payload"
    layouts = TRACCAR_LAYOUTS
    detect_rank = 20
    rotates = True
    # a read is written as hex: two bytes of the log for each byte of the frames
    chunk_scale = 2

    def detect(self, head):
        """A line like ``YYYY-MM-DD HH:MM:SS  INFO: ...`` in the first 4 KiB."""
        return _TRACCAR_LINE.search(head[:4096]) is not None

    def start(self, decoder):
        from ...decode._logtime import zone_table
        from ...decode._text_kernels import INT64_NULL

        # the zone of the time stamps, the UTC time of the last line, whether the input is
        # inside an overlong line, the sessions inside an open text frame
        return {"tz": zone_table(decoder.log_tz), "last_utc": INT64_NULL, "cont": False,
                "open_text": {}}

    def save(self, state):
        return {
            "last_utc": int(state["last_utc"]),
            "cont": bool(state["cont"]),
            "open_text": [str(k) for k, is_open in state["open_text"].items() if is_open],
        }

    def load(self, decoder, saved):
        from ...decode._text_kernels import INT64_NULL

        state = self.start(decoder)
        state["last_utc"] = int(saved.get("last_utc", INT64_NULL))
        state["cont"] = bool(saved.get("cont", False))
        state["open_text"] = {int(k): True for k in saved.get("open_text", [])}
        return state

    def next_file(self, state):
        """A rotated file ends: the next one does not go on with an overlong line."""
        state["cont"] = False

    def prepare(self, decoder, state, chunk):
        """Split a chunk into lines, read them and tell hex from text in their payloads,
        ahead: :func:`_lines_of` as a chunk that starts outside an overlong line and after
        a time stamp reads alike whatever came before it (a zone with one offset), for
        :meth:`step` to use if that holds."""
        from ..._numba import byte_array
        from ...decode._text_kernels import INT64_NULL

        tz_utc, _ = state["tz"]
        if tz_utc.shape[0] != 1 or threads() < 2:
            return None
        buf = byte_array(chunk)
        return chunk, _lines_of(chunk, buf, False, False, state["tz"], INT64_NULL, False)

    def step(self, decoder, state, data, final, last_line, ahead=None):
        import numpy as np
        import pyarrow as pa

        from ..._numba import byte_array
        from ...decode._codes import R_BAD_HEX, R_BAD_LINE, R_LONG_LINE
        from ...decode._lines_kernels import L_BAD, L_LONG, P_ODD_HEX, P_TEXT, split_escapes
        from ...decode._text_kernels import INT64_NULL

        buf = byte_array(data)
        if (ahead is not None and ahead[0] is data and not (final or last_line)
                and not state["cont"]):
            lines = ahead[1]  # read ahead, and it holds (see prepare)
            if lines[-1] == INT64_NULL:  # no time stamp in the chunk
                lines = (*lines[:-1], state["last_utc"])
        else:
            lines = _lines_of(data, buf, final or last_line, state["cont"], state["tz"],
                              state["last_utc"], True)
        (kind, recv, pay_s, pay_e, reads, cls, decoded, consumed, state["cont"],
         state["last_utc"]) = lines
        extra = []
        for code, reason in ((L_BAD, R_BAD_LINE), (L_LONG, R_LONG_LINE)):
            at = np.flatnonzero(kind == code)
            extra.append(decoder.stretch_rejects(buf, pay_s[at], pay_e[at], recv[at], reason))
        pay_s, pay_e, recv, key = reads
        told = _resolve_text(state["open_text"], buf, pay_s, pay_e, cls, key)
        if told is not cls and not np.array_equal(told, cls):
            decoded = None  # hex digits that go on with a text frame: decoded as hex
        cls = told
        bad = cls == P_ODD_HEX
        if bad.any():
            extra.append(decoder.stretch_rejects(buf, pay_s[bad], pay_e[bad], recv[bad],
                                                 R_BAD_HEX))
            keep = ~bad
            pay_s, pay_e, cls, recv, key = (a[keep] for a in (pay_s, pay_e, cls, recv, key))
        if (cls == P_TEXT).any():  # (escapes are only in text)
            pay_s, pay_e, cls, parent = split_escapes(pay_s, pay_e, cls, buf)
            recv, key = recv[parent], key[parent]
        udp = key >= _UDP_BIT
        messages, rejects = decoder.decode_pieces(
            data, pay_s, pay_e, cls, recv, key, udp, np.zeros(udp.shape[0], bool), final,
            pa.concat_tables(extra), decoded=decoded,
        )
        return messages, rejects, consumed


def _lines_of(data, buf, final, cont, tz, last_utc, threaded):
    """The lines of a chunk, read (:func:`_scan`), and the device reads among them, each
    one's payload told and decoded
    (:func:`~bofan_analytics.decode._lines_kernels.read_pieces`). Where a connection
    closed, an empty piece of the class ``P_END`` stands among the reads: it ends the
    session (the frame it left unfinished is cut off there, not held to the end of the
    log, and what was kept for the connection is dropped). ``threaded``: on two threads
    where that pays (not on a thread that works ahead).

    Returns ``(kind, recv, pay_s, pay_e, reads, cls, decoded, consumed, cont,
    last_utc)``: ``kind``, ``recv`` and the payload ranges of every line; ``reads`` the
    payload ranges, receive times and session keys of the device reads and closes, which
    ``cls`` and ``decoded`` follow."""
    import numpy as np

    from ...decode._lines_kernels import L_CLOSE, L_DATA, P_END, read_pieces

    kind, recv, key, pay_s, pay_e, consumed, cont, last_utc = _scan(
        data, buf, final, cont, tz, last_utc, threaded)
    device = np.flatnonzero((kind == L_DATA) | (kind == L_CLOSE))
    reads = (pay_s[device], pay_e[device], recv[device], key[device])
    if threaded:
        halves = by_halves(read_pieces, (buf,), reads[:2], buf.shape[0])
        cls, decoded = (np.concatenate(parts) if len(parts) > 1 else parts[0]
                        for parts in zip(*halves, strict=True))
    else:
        cls, decoded = read_pieces(buf, *reads[:2])
    cls[kind[device] == L_CLOSE] = P_END  # (an empty piece: what was decoded holds)
    return kind, recv, pay_s, pay_e, reads, cls, decoded, consumed, cont, last_utc


def _scan(data, buf, final, cont, tz, last_utc, threaded=True):
    """:func:`~bofan_analytics.decode._lines_kernels.scan_traccar` of a chunk: for a large
    one, in two halves on two threads, cut just after a line end.

    Halves need no state from each other when the log's zone has one offset (a time stamp
    then reads alike whatever came before it) and the chunk does not start inside an
    overlong line: a line end is where the scan of the whole would start a line too, not
    inside one. ``cont``, ``last_utc``: the state the chunk starts in; ``threaded``: use
    the second thread if it pays. Returns ``(kind, recv, key, pay_s, pay_e, consumed,
    cont, last_utc)``.
    """
    import numpy as np

    from ...decode._lines_kernels import MAX_LINE_BYTES, scan_traccar
    from ...decode._text_kernels import INT64_NULL

    tz_utc, tz_off = tz
    n = buf.shape[0]
    cut = 0
    if (threaded and n >= PARALLEL_MIN_BYTES and tz_utc.shape[0] == 1 and not cont
            and threads() > 1 and not in_pool()):
        cut = data.find(b"\n", n // 2, n // 2 + MAX_LINE_BYTES) + 1
    if not 0 < cut < n:
        out = scan_traccar(buf, 0, n, final, cont, tz_utc, tz_off, last_utc)
        return (*out[:5], *out[6:])
    later = pool().submit(scan_traccar, buf, cut, n, final, False, tz_utc, tz_off, last_utc)
    first = scan_traccar(buf, 0, cut, True, False, tz_utc, tz_off, last_utc)
    second = later.result()
    joined = [np.concatenate([a, b]) for a, b in zip(first[:5], second[:5], strict=True)]
    # the time of the last line with one: the second half's, if it had any
    last = second[8] if (second[1] != INT64_NULL).any() else first[8]
    return (*joined, second[6], second[7], last)


def _resolve_text(open_text, buf, pay_s, pay_e, cls, key):
    """Tell text from hex in pieces made only of hex digits, from each session's state
    (the rule: :func:`~bofan_analytics.decode._lines_kernels.resolve_text`); ``open_text``
    holds the sessions inside a text frame and is updated."""
    import numpy as np

    from ...decode._lines_kernels import P_TEXT, group_by_key, resolve_text

    if not open_text and not (cls == P_TEXT).any():
        return cls
    order = group_by_key(key)
    ks = key[order]
    if ks.shape[0] == 0:
        return cls
    first = np.flatnonzero(np.append(True, ks[1:] != ks[:-1]))
    sessions = ks[first].tolist()
    state0 = np.array([open_text.get(k, False) for k in sessions], bool)
    cls, state = resolve_text(buf, pay_s, pay_e, cls, order, np.append(first, ks.shape[0]),
                              state0)
    for k, is_open in zip(sessions, state.tolist(), strict=True):  # per session
        if is_open:
            open_text[k] = True
        else:
            open_text.pop(k, None)
    return cls


TRACCAR = _Traccar()
