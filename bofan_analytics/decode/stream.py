"""Incremental decoding: feed bytes as they come, get tables of the frames completed so far.

:class:`StreamDecoder` keeps only what an unfinished frame needs between calls (the tail of
a stream, an unfinished log line, the unfinished frame of each tracker-server session), so
memory stays bounded however large the input, and cutting the input into chunks anywhere
gives the same tables as decoding it whole.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema as S
from ..errors import FormatError
from ._assemble import OffsetMap, PieceMap, Segments, decode_segments, empty_rejects
from ._codes import R_BAD_HEX, REASONS
from ._lines_kernels import classify_pieces, gather_pieces, scan_lines, scan_traccar
from ._text_kernels import INT64_NULL

__all__ = ["StreamDecoder", "Accounting"]

_UDP_BIT = 1 << 48
#: below this a chunk is decoded on one thread: the parts would be too small to pay off
_PARALLEL_MIN_BYTES = 4 << 20
_POOL = None


def _threads():
    return max(1, min(8, os.cpu_count() or 1))


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(_threads(), thread_name_prefix="bofan-decode")
    return _POOL


def _line_bounds(data, parts):
    """Cut points of ``data`` into about ``parts`` pieces, each ending just after a line end."""
    bounds = [0]
    step = len(data) // parts
    for k in range(1, parts):
        cut = data.find(b"\n", max(bounds[-1], k * step))
        if cut < 0:
            break
        bounds.append(cut + 1)
    bounds.append(len(data))
    return sorted(set(bounds)) if len(data) else [0, 0]
_FORMATS = ("stream", "lines", "traccar")


class Accounting:
    """Where the bytes of one source went.

    ``input_bytes = message_bytes + reject_bytes + other_bytes``; ``other_bytes`` are the
    known non-frame bytes: CR/LF separators, receive-time prefixes and log-line headers,
    server replies and log lines that carry no device data.
    """

    __slots__ = ("source", "format", "input_bytes", "message_bytes", "reject_bytes",
                 "separator_bytes", "messages", "rejects")

    def __init__(self, source, fmt):
        self.source = source
        self.format = fmt
        self.input_bytes = 0
        self.message_bytes = 0
        self.reject_bytes = 0
        self.separator_bytes = 0
        self.messages = 0
        self.rejects = 0

    @property
    def other_bytes(self):
        return self.input_bytes - self.message_bytes - self.reject_bytes

    def as_dict(self):
        return {
            "source": self.source,
            "format": self.format,
            "input_bytes": self.input_bytes,
            "message_bytes": self.message_bytes,
            "reject_bytes": self.reject_bytes,
            "other_bytes": self.other_bytes,
            "messages": self.messages,
            "rejects": self.rejects,
        }


class StreamDecoder:
    """Decode one capture incrementally.

    Parameters
    ----------
    format : {"stream", "lines", "traccar"}
        The capture's layout (see ``bofan_analytics.io.CAPTURE_FORMATS``).
    source : str
        Name written to the ``source`` column of every row.

    Examples
    --------
    >>> dec = StreamDecoder("stream", source="dump.bin")
    >>> part = dec.feed(b"$POS,1,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//fd7/\\r")
    >>> rest = dec.finish()
    >>> len(part.messages) + len(rest.messages)
    1
    """

    def __init__(self, format: str = "stream", source: str = "<bytes>"):
        if format not in _FORMATS:
            raise FormatError(
                f"cannot decode format {format!r} incrementally; choose one of: {', '.join(_FORMATS)}"
            )
        self.format = format
        self.source = source
        self.accounting = Accounting(source, format)
        self._tail = b""
        self._base = 0  # source offset of self._tail[0]
        self._line_start = True
        self._known_devices = {}
        self._carry = {}  # traccar: session key -> (bytes, [(rel, src, factor, recv), ...])
        self._finished = False

    # -- public -------------------------------------------------------------------------
    def feed(self, chunk: bytes):
        """Decode what ``chunk`` completes; returns a ``DecodedLog`` of those frames."""
        if self._finished:
            raise FormatError("this decoder has finished; make a new one")
        self.accounting.input_bytes += len(chunk)
        return self._step(chunk, final=False)

    def finish(self):
        """Decode everything left; an unfinished frame at the end becomes a reject."""
        if self._finished:
            raise FormatError("this decoder has finished already")
        log = self._step(b"", final=True)
        self._finished = True
        return log

    # -- internals ----------------------------------------------------------------------
    def _step(self, chunk, final):
        from .log import DecodedLog

        data = self._tail + bytes(chunk) if self._tail else bytes(chunk)
        if self.format == "stream":
            messages, rejects = self._step_stream(data, final)
        elif self.format == "lines":
            messages, rejects = self._step_lines(data, final)
        else:
            messages, rejects = self._step_traccar(data, final)
        acc = self.accounting
        acc.messages += len(messages)
        acc.rejects += len(rejects)
        if len(messages):
            acc.message_bytes += int(pc.sum(messages.column(S.LENGTH)).as_py())
        if len(rejects):
            acc.reject_bytes += int(pc.sum(rejects.column(S.LENGTH)).as_py())
        return DecodedLog(messages, rejects, [acc.as_dict()] if final else [])

    def _step_stream(self, data, final):
        buf = np.frombuffer(data, np.uint8)
        segs = Segments([0], [buf.shape[0]], final, self._line_start)
        messages, rejects, consumed, stats, _ = decode_segments(
            buf, segs, OffsetMap(self._base), self.source, self._known_devices
        )
        used = int(consumed[0])
        self.accounting.separator_bytes += stats["separator_bytes"]
        if used > 0:
            self._line_start = data[used - 1] in (10, 13)
        self._tail = data[used:]
        self._base += used
        return messages, rejects

    def _step_lines(self, data, final):
        buf = np.frombuffer(data, np.uint8)
        # lines are independent: a large chunk is cut at line ends and the parts decoded on
        # threads (the kernels release the GIL); positions stay relative to ``data``
        bounds = _line_bounds(data, _threads() if len(data) >= _PARALLEL_MIN_BYTES else 1)
        parts = [(lo, hi, final or hi < len(data)) for lo, hi in pairwise(bounds)]
        if len(parts) == 1:
            results = [self._lines_part(buf, *parts[0])]
        else:
            results = list(_pool().map(lambda part: self._lines_part(buf, *part), parts))
        messages = pa.concat_tables([r[0] for r in results])
        rejects = pa.concat_tables([r[1] for r in results])
        self.accounting.separator_bytes += sum(r[2] for r in results)
        consumed = results[-1][3]
        self._tail = data[consumed:]
        self._base += consumed
        return messages, rejects

    def _lines_part(self, buf, lo, hi, final):
        pay_s, pay_e, recv, _line_s, consumed = scan_lines(buf, lo, hi, final)
        segs = Segments(pay_s, pay_e, 1, 1, recv=recv)
        messages, rejects, _, stats, _ = decode_segments(
            buf, segs, OffsetMap(self._base, recv), self.source
        )
        return messages, rejects, stats["separator_bytes"], consumed

    def _step_traccar(self, data, final):
        buf = np.frombuffer(data, np.uint8)
        kind, recv, key, pay_s, pay_e, _line_s, consumed = scan_traccar(
            buf, 0, buf.shape[0], final
        )
        device = np.flatnonzero(kind == 0)
        pay_s, pay_e, recv, key = pay_s[device], pay_e[device], recv[device], key[device]
        cls = classify_pieces(buf, pay_s, pay_e)
        bad = cls == 2
        pay_e_bad = pay_e[bad]
        bad_hex = self._bad_hex_rejects(buf, pay_s[bad], pay_e_bad, recv[bad])
        keep = ~bad
        pay_s, pay_e, recv, key, cls = pay_s[keep], pay_e[keep], recv[keep], key[keep], cls[keep]

        # carried-over session tails first, then this chunk's reads, grouped by session
        blob, c_s, c_e, c_src, c_fac, c_recv, c_key = self._carry_pieces()
        read_buf = np.frombuffer(blob + data, np.uint8) if blob else buf
        shift = len(blob)
        all_s = np.concatenate([c_s, pay_s + shift])
        all_e = np.concatenate([c_e, pay_e + shift])
        all_hex = np.concatenate([np.zeros(c_s.shape[0], np.int8), cls])
        all_src = np.concatenate([c_src, self._base + pay_s])
        all_fac = np.concatenate([c_fac, np.where(cls == 1, 2, 1)])
        all_recv = np.concatenate([c_recv, recv])
        all_key = np.concatenate([c_key, key])
        order = np.argsort(all_key, kind="stable")
        out, out_start = gather_pieces(
            read_buf, all_s[order], all_e[order], all_hex[order]
        )
        out.flags.writeable = False  # the same kernel signature as for file bytes
        keys = all_key[order]
        udp = keys >= _UDP_BIT
        # one segment per TCP session run; every UDP datagram is a segment of its own
        new_seg = np.ones(keys.shape[0], bool)
        new_seg[1:] = (keys[1:] != keys[:-1]) | udp[1:]
        first = np.flatnonzero(new_seg)
        seg_s = out_start[first]
        seg_e = np.append(out_start[first[1:]], out_start[-1])
        seg_key = keys[first]
        seg_final = np.where(seg_key >= _UDP_BIT, 1, 1 if final else 0).astype(np.int8)
        segs = Segments(seg_s, seg_e, seg_final, 1, key=seg_key)
        mapping = PieceMap(out_start, all_src[order], all_fac[order], all_recv[order])
        messages, rejects, consumed_segs, stats, rej_end = decode_segments(
            out, segs, mapping, self.source, self._known_devices
        )
        self.accounting.separator_bytes += stats["separator_bytes"]
        self._carry = {}
        for k in np.flatnonzero(consumed_segs < seg_e):
            a, b = int(consumed_segs[k]), int(seg_e[k])
            self._carry[int(seg_key[k])] = self._carry_entry(out, mapping, a, b)
        if len(bad_hex):
            ends = np.concatenate([rej_end, self._base + pay_e_bad])
            rejects = pa.concat_tables([rejects, bad_hex])
            rejects = rejects.take(pa.array(np.argsort(ends, kind="stable")))
        self._tail = data[consumed:]
        self._base += consumed
        return messages, rejects

    @staticmethod
    def _carry_entry(out, mapping, a, b):
        j0 = int(mapping._locate(np.array([a]))[0])
        j1 = int(mapping._locate(np.array([b - 1]))[0])
        pieces = []
        for j in range(j0, j1 + 1):
            lo = max(a, int(mapping.out_start[j]))
            hi = min(b, int(mapping.out_start[j + 1]))
            src = int(mapping.src0[j]) + (lo - int(mapping.out_start[j])) * int(mapping.factor[j])
            pieces.append((lo - a, hi - a, src, int(mapping.factor[j]), int(mapping.recv[j])))
        return out[a:b].tobytes(), pieces

    def _carry_pieces(self):
        if not self._carry:
            z = np.zeros(0, np.int64)
            return b"", z, z, z, z, z, z
        blob = bytearray()
        rows = []
        for key, (data, pieces) in self._carry.items():
            base = len(blob)
            blob += data
            for lo, hi, src, fac, recv in pieces:
                rows.append((base + lo, base + hi, src, fac, recv, key))
        arr = np.array(rows, np.int64).reshape(-1, 6)
        return bytes(blob), arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5]

    def _bad_hex_rejects(self, buf, s, e, recv):
        if s.shape[0] == 0:
            return empty_rejects()
        from ._assemble import _string_array, _times

        n = s.shape[0]
        return pa.Table.from_pydict(
            {
                S.SOURCE: pa.array([self.source] * n, pa.string()),
                S.OFFSET: pa.array(self._base + s, pa.int64()),
                S.LENGTH: pa.array((e - s).astype(np.int32), pa.int32()),
                S.REASON: pa.array([REASONS[R_BAD_HEX]] * n, pa.string()),
                S.PROTOCOL: pa.nulls(n, pa.string()),
                S.RECEIVED_AT: _times(np.where(recv == INT64_NULL, INT64_NULL, recv)),
                S.RAW: _string_array(buf, s, e, typ=pa.binary(), cap=1024),
            },
            schema=S.REJECTS,
        )
