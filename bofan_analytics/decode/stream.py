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
from .._numba import compile_aside
from .._validate import choice
from ..errors import FormatError, InputError
from ..io._pcap_kernels import (
    MAX_BAD_STRETCH,
    MAX_RECORD,
    PCAP_CLASSIC,
    PCAP_NG,
    T_OTHER,
    T_TCP,
    T_UDP,
    parse_packets,
    reassemble_tcp,
    scan_records,
)
from ..io._pcap_magic import PCAP_MAGIC, PCAP_MAGIC_NS, PCAPNG_MAGIC_BYTES
from ..io.files import CAPTURE_FORMATS, source_name
from ._assemble import (
    PARSER_MODULE,
    OffsetMap,
    PieceMap,
    Segments,
    decode_segments,
    empty_messages,
    empty_rejects,
)
from ._codes import R_BAD_CAPTURE, R_BAD_HEX, R_BAD_LINE, R_LONG_LINE, R_TRUNCATED, REASONS
from ._lines_kernels import (
    L_BAD,
    L_DATA,
    L_LONG,
    P_ESCAPE,
    P_HEX,
    P_ODD_HEX,
    P_TEXT,
    classify_pieces,
    gather_pieces,
    resolve_text,
    scan_lines,
    scan_traccar,
    split_escapes,
)
from ._logtime import zone_table
from ._text_kernels import INT64_NULL

__all__ = ["StreamDecoder", "Accounting", "DEFAULT_PORT"]

_UDP_BIT = 1 << 48
#: the port devices send to unless told otherwise (``port=``), as ``bofan listen`` uses
DEFAULT_PORT = 8888
#: ``port="auto"`` guesses from the first this many TCP/UDP packets ...
GUESS_PACKETS = 256
#: ... of the records that end within this many bytes of the start of the file
GUESS_BYTES = 4 << 20
_GUESS_DATA_BYTES = GUESS_BYTES + MAX_BAD_STRETCH + MAX_RECORD + 64
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


def _stream_bounds(data, parts):
    """Cut points of a raw stream where no frame can span: a line end followed by the start
    of a sentence or a PT-60 frame, with no binary header just before. A chunk holding a
    ``$PHD`` photo chunk (binary data may contain anything) is not cut at all."""
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
#: every capture format decodes incrementally; the list is declared once, in ``io``
_FORMATS = tuple(CAPTURE_FORMATS)


class Accounting:
    """Where the bytes of one source went.

    ``input_bytes = message_bytes + reject_bytes + other_bytes``; ``other_bytes`` are the
    known non-frame bytes: CR/LF separators, receive-time prefixes and log-line headers,
    server replies and log lines that carry no device data.
    """

    __slots__ = ("source", "format", "input_bytes", "message_bytes", "reject_bytes",
                 "messages", "rejects")

    def __init__(self, source, fmt):
        self.source = source
        self.format = fmt
        self.input_bytes = 0
        self.message_bytes = 0
        self.reject_bytes = 0
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


def _table_hex(table: pa.Table) -> str:
    """An Arrow table as hex text (IPC stream), for a JSON checkpoint."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes().hex()


def _table_from_hex(text: str) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(bytes.fromhex(text))).read_all()


class StreamDecoder:
    """Decode one capture incrementally.

    Parameters
    ----------
    format : {"stream", "lines", "traccar", "pcap"}
        The capture's layout (see ``bofan_analytics.io.CAPTURE_FORMATS``).
    source : str
        Name written to the ``source`` column of every row (a name that is not UTF-8 is
        written with its odd bytes as ``\\xNN``).
    log_tz : str, optional
        The zone of a tracker-server log's time stamps (the server's local time); default
        UTC.
    forced : bool
        The format was named by the user, not detected. Then input that yields no frame
        and no reject at all although it holds more than line ends and spaces (every
        byte was read as log metadata or separators) does not fit the format:
        :meth:`finish` raises :class:`~bofan_analytics.errors.InputError` instead of
        reporting "0 messages, 0 rejects".
    port : int or "auto"
        For packet captures: the server port the devices send to (default 8888); only
        packets to it are device data. ``"auto"`` guesses it from the first packets of
        the capture (see :data:`GUESS_PACKETS`): the destination port most connections
        send data to.

    Examples
    --------
    >>> dec = StreamDecoder("stream", source="dump.bin")
    >>> part = dec.feed(b"$POS,1,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//fd7/\\r")
    >>> rest = dec.finish()
    >>> len(part.messages) + len(rest.messages)
    1
    """

    def __init__(self, format: str = "stream", source: str = "<bytes>",
                 log_tz: str | None = None, *, forced: bool = False,
                 port: int | str = DEFAULT_PORT):
        choice("format", format, _FORMATS)
        self.port = check_port(port)
        compile_aside(PARSER_MODULE)  # first run: the parser compiles on a second core meanwhile
        self.format = format
        self.source = source = source_name(source)
        self.forced = forced
        self._only_blank = True  # nothing but line ends and spaces fed so far
        self.accounting = Accounting(source, format)
        self._accounts = [self.accounting]  # one per file of a rotated set
        self._tail = b""
        self._base = 0  # source offset of self._tail[0]
        self._line_start = True
        self._known_devices = {}
        self._references = {}  # connection key -> its last full PT-502 sentence
        self._held = None  # rows that wait for a carried frame (see _release)
        self._carry = {}  # connection key -> (bytes, [(rel, src, factor, recv), ...])
        self._pcap = None
        self._finished = False
        # tracker-server logs: the zone of their time stamps, the UTC time of the last line,
        # whether the input is inside an overlong line, sessions inside an open text frame
        self._log_tz = log_tz
        self._tz = zone_table(log_tz)
        self._last_utc = INT64_NULL
        self._cont = False
        self._open_text = {}

    # -- public -------------------------------------------------------------------------
    def feed(self, chunk: bytes):
        """Decode what ``chunk`` completes; returns a ``DecodedLog`` of those frames."""
        if self._finished:
            raise FormatError("this decoder has finished; make a new one")
        self.accounting.input_bytes += len(chunk)
        if self._only_blank and self.forced:
            self._only_blank = not bytes(chunk).strip(b" \t\r\n")
        return self._step(chunk, final=False)

    def finish(self):
        """Decode everything left; an unfinished frame at the end becomes a reject."""
        if self._finished:
            raise FormatError("this decoder has finished already")
        log = self._step(b"", final=True)
        self._finished = True
        acc = self.accounting
        if self.forced and not self._only_blank and not acc.messages and not acc.rejects:
            raise InputError(
                f"does not fit --format {self.format}: {acc.input_bytes:,} bytes gave no frame "
                "and no reject (leave the format out to detect it)"
            )
        return log

    def next_file(self, source: str):
        """Go on with the next file of a rotated tracker-server log (``x.log.20261102``
        then ``x.log``): the last line of this file ends here, but a session's frame may go
        on in the next file and is joined.

        A joined frame's ``source`` and ``offset`` are those of its first byte; its
        ``length`` counts its bytes in both files, and so does the accounting of the file
        where it starts. Returns a ``DecodedLog`` of what this completes.
        """
        if self.format != "traccar":
            raise FormatError("only tracker-server logs are read across rotated files")
        if self._finished:
            raise FormatError("this decoder has finished already")
        log = self._step(b"", final=False, last_line=True)
        self.source = source
        self.accounting = Accounting(source, self.format)
        self._accounts.append(self.accounting)
        self._base = 0
        self._tail = b""
        self._cont = False
        return log

    def checkpoint(self) -> dict | None:
        """What a new decoder needs to go on where this one stopped, as plain JSON data.

        Taken after the last :meth:`feed` and before :meth:`finish`: ``consumed`` is the
        offset up to which every frame is decoded for good; the bytes from there on (an
        unfinished frame) are fed again, after ``consumed``, to the decoder made by
        :meth:`resume`. ``None`` for packet captures, whose reassembly state is not kept.
        """
        if self.format == "pcap" or self._finished:
            return None
        carry = {
            str(key): [data.hex(), [list(piece) for piece in pieces], bool(line_start)]
            for key, (data, pieces, line_start) in self._carry.items()
        }
        held = None
        if self._held is not None:  # rows decoded for good, waiting for a carried frame
            h_msg, h_msg_end, h_rej, h_rej_end = self._held
            held = [_table_hex(h_msg), h_msg_end.tolist(), _table_hex(h_rej), h_rej_end.tolist()]
        return {
            "consumed": self._base,
            "line_start": bool(self._line_start),
            "devices": {str(k): v for k, v in self._known_devices.items()},
            "carry": carry,
            "held": held,
            # compressed PT-502 frames: each connection's last full sentence
            "references": {
                str(k): [sentence.hex(), le.hex(), bool(is_open)]
                for k, (sentence, le, is_open) in self._references.items()
            },
            # tracker-server logs: the clock, an overlong line, sessions inside a text frame
            "log_tz": self._log_tz,
            "last_utc": int(self._last_utc),
            "cont": bool(self._cont),
            "open_text": [str(k) for k, is_open in self._open_text.items() if is_open],
        }

    @classmethod
    def resume(cls, format: str, source: str, state: dict) -> "StreamDecoder":
        """A decoder that goes on from a :meth:`checkpoint`; feed it the bytes from
        ``state["consumed"]`` on and it gives the rows one decoder fed everything would
        have given after that point."""
        decoder = cls(format, source, log_tz=state.get("log_tz"))
        decoder._base = int(state["consumed"])
        decoder._line_start = bool(state["line_start"])
        decoder._known_devices = {int(k): v for k, v in state["devices"].items()}
        decoder._carry = {
            int(key): (bytes.fromhex(entry[0]), [tuple(piece) for piece in entry[1]],
                       bool(entry[2]) if len(entry) > 2 else True)
            for key, entry in state["carry"].items()
        }
        if state.get("held"):
            h_msg, h_msg_end, h_rej, h_rej_end = state["held"]
            decoder._held = (_table_from_hex(h_msg), np.array(h_msg_end, np.int64),
                             _table_from_hex(h_rej), np.array(h_rej_end, np.int64))
        decoder._references = {
            int(k): (bytes.fromhex(sentence), bytes.fromhex(le), bool(is_open))
            for k, (sentence, le, is_open) in state.get("references", {}).items()
        }
        decoder._last_utc = int(state.get("last_utc", INT64_NULL))
        decoder._cont = bool(state.get("cont", False))
        decoder._open_text = {int(k): True for k in state.get("open_text", [])}
        return decoder

    # -- internals ----------------------------------------------------------------------
    def _step(self, chunk, final, last_line=False):
        from .decoded import DecodedLog

        data = self._tail + bytes(chunk) if self._tail else bytes(chunk)
        if self.format == "stream":
            messages, rejects = self._step_stream(data, final)
        elif self.format == "lines":
            messages, rejects = self._step_lines(data, final)
        elif self.format == "traccar":
            messages, rejects = self._step_traccar(data, final, last_line)
        else:
            messages, rejects = self._step_pcap(data, final)
        if final and self._held is not None:  # a capture that ended without more pieces
            messages = pa.concat_tables([self._held[0], messages])
            rejects = pa.concat_tables([self._held[2], rejects])
            self._held = None
        self._count(messages, "messages", "message_bytes")
        self._count(rejects, "rejects", "reject_bytes")
        accounts = [acc.as_dict() for acc in self._accounts] if final else []
        return DecodedLog(messages, rejects, accounts)

    def _count(self, table, rows, nbytes):
        """Add a table's rows and bytes to the accounting of the file each row is from."""
        if not len(table):
            return
        if len(self._accounts) == 1:
            parts = [(self.accounting, table)]
        else:
            src = table.column(S.SOURCE)
            parts = [(acc, table.filter(pc.equal(src, acc.source))) for acc in self._accounts]
        for acc, part in parts:
            setattr(acc, rows, getattr(acc, rows) + len(part))
            if len(part):
                total = int(pc.sum(part.column(S.LENGTH)).as_py())
                setattr(acc, nbytes, getattr(acc, nbytes) + total)

    def _step_stream(self, data, final):
        buf = np.frombuffer(data, np.uint8)
        bounds = [0, len(data)]
        if len(data) >= _PARALLEL_MIN_BYTES and _threads() > 1:
            bounds = _stream_bounds(data, _threads())
        parts = []
        for j, (lo, hi) in enumerate(pairwise(bounds)):
            last = j == len(bounds) - 2
            # every cut is a line end followed by a frame start: nothing spans it
            parts.append((lo, hi, final or not last, self._line_start if j == 0 else True))
        if len(parts) == 1:
            results = [self._stream_part(buf, *parts[0], self._known_devices, self._references)]
        else:
            # no compressed sentence in this chunk (see _stream_bounds): each part only
            # leaves the last sentence it saw for the next chunk
            results = list(_pool().map(
                lambda jp: self._stream_part(buf, *jp[1], {}, self._references if jp[0] == 0
                                             else {}), enumerate(parts)))
            for r in results:
                self._known_devices.update(r[3])
                self._references.update(r[4])
        messages = pa.concat_tables([r[0] for r in results])
        rejects = pa.concat_tables([r[1] for r in results])
        used = results[-1][2]
        self._line_start = results[-1][5]
        self._tail = data[used:]
        self._base += used
        return messages, rejects

    def _stream_part(self, buf, lo, hi, final, line_start, known, references):
        segs = Segments([lo], [hi], final, line_start)
        messages, rejects, consumed, _, _, line_starts = decode_segments(
            buf, segs, OffsetMap(self._base), self.source, known, references
        )
        return messages, rejects, int(consumed[0]), known, references, bool(line_starts[0])

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
        consumed = results[-1][2]
        self._tail = data[consumed:]
        self._base += consumed
        return messages, rejects

    def _lines_part(self, buf, lo, hi, final):
        pay_s, pay_e, recv, _line_s, consumed = scan_lines(buf, lo, hi, final)
        segs = Segments(pay_s, pay_e, 1, 1, recv=recv)
        messages, rejects, _, _, _, _ = decode_segments(
            buf, segs, OffsetMap(self._base, recv), self.source
        )
        return messages, rejects, consumed

    def _step_traccar(self, data, final, last_line=False):
        buf = np.frombuffer(data, np.uint8)
        kind, recv, key, pay_s, pay_e, _line_s, consumed, self._cont, self._last_utc = (
            scan_traccar(buf, 0, buf.shape[0], final or last_line, self._cont, *self._tz,
                         self._last_utc)
        )
        extra = [
            self._raw_rejects(buf, pay_s[kind == code], pay_e[kind == code],
                              recv[kind == code], reason)
            for code, reason in ((L_BAD, R_BAD_LINE), (L_LONG, R_LONG_LINE))
        ]
        device = np.flatnonzero(kind == L_DATA)
        pay_s, pay_e, recv, key = pay_s[device], pay_e[device], recv[device], key[device]
        cls = self._resolve_text(buf, pay_s, pay_e, classify_pieces(buf, pay_s, pay_e), key)
        bad = cls == P_ODD_HEX
        extra.append(self._raw_rejects(buf, pay_s[bad], pay_e[bad], recv[bad], R_BAD_HEX))
        keep = ~bad
        pay_s, pay_e, cls, parent = split_escapes(pay_s[keep], pay_e[keep], cls[keep], buf)
        recv, key = recv[keep][parent], key[keep][parent]
        udp = key >= _UDP_BIT
        messages, rejects = self._decode_pieces(
            data, pay_s, pay_e, cls, recv, key, udp, np.zeros(udp.shape[0], bool), final,
            pa.concat_tables(extra),
        )
        self._tail = data[consumed:]
        self._base += consumed
        return messages, rejects

    def _resolve_text(self, buf, pay_s, pay_e, cls, key):
        """Tell text from hex in pieces made only of hex digits, from each session's state
        (the rule: :func:`~._lines_kernels.resolve_text`)."""
        if not self._open_text and not (cls == P_TEXT).any():
            return cls
        order = np.argsort(key, kind="stable")
        ks = key[order]
        if ks.shape[0] == 0:
            return cls
        first = np.flatnonzero(np.append(True, ks[1:] != ks[:-1]))
        sessions = ks[first].tolist()
        state0 = np.array([self._open_text.get(k, False) for k in sessions], bool)
        cls, state = resolve_text(buf, pay_s, pay_e, cls, order,
                                  np.append(first, ks.shape[0]), state0)
        for k, is_open in zip(sessions, state.tolist(), strict=True):  # per session
            if is_open:
                self._open_text[k] = True
            else:
                self._open_text.pop(k, None)
        return cls

    def _step_pcap(self, data, final):
        buf = np.frombuffer(data, np.uint8)
        extra = []
        st = self._pcap
        start = 0
        if st is None:
            if len(data) < 24 and not final:
                self._tail = data  # the file header is not all here yet
                return empty_messages(), empty_rejects()
            st = self._pcap = _PcapState.from_header(data, self.port)
            start = st.header_bytes
            if st.kind == 0:
                st.dead = True
                if len(data) < 24 and _PcapState.from_header(data + bytes(24), None).kind:
                    # a capture whose file header is cut off (final: nothing more comes)
                    cut = self._raw_rejects(buf, np.array([0]), np.array([len(data)]),
                                            np.array([INT64_NULL]), R_TRUNCATED)
                    self._base += len(data)
                    self._tail = b""
                    return empty_messages(), cut
                return self._reject_pieces(data, final)
        if st.dead:
            return self._reject_pieces(data, final)
        (data_s, data_len, ts, link, consumed, st.n_if, st.big, status, bad_s, bad_e,
         st.resync, st.last_sec) = scan_records(
            buf, start, buf.shape[0], final, st.kind, st.big, st.nano, st.linktype,
            st.if_link, st.if_div, st.n_if, st.resync, st.last_sec,
        )
        if bad_s.shape[0]:
            extra.append(self._raw_rejects(buf, bad_s, bad_e,
                                           np.full(bad_s.shape[0], INT64_NULL), R_BAD_CAPTURE))
        if status:
            extra.append(self._raw_rejects(buf, np.array([consumed]), np.array([len(data)]),
                                           np.array([INT64_NULL]), R_TRUNCATED))
            consumed = len(data)
        proto, key, sport, dport, seq, flags, pay_s, pay_len, lost, bad = parse_packets(
            buf, data_s, data_len, link
        )
        if bad.any():
            extra.append(self._raw_rejects(buf, data_s[bad], data_s[bad] + data_len[bad],
                                           ts[bad], R_BAD_CAPTURE))
        if st.server_port is None:  # port="auto"
            transport = np.flatnonzero(proto != T_OTHER)
            enough = transport.shape[0] >= GUESS_PACKETS or len(data) >= _GUESS_DATA_BYTES
            if not (enough or final):
                # the guess must not depend on the chunking: decide on the same packets
                # whatever arrives first, so keep the whole start of the file until then
                self._pcap = None
                self._tail = data
                return empty_messages(), empty_rejects()
            first = transport[(data_s[transport] + data_len[transport]) <= GUESS_BYTES]
            st.server_port = _server_port(dport[first[:GUESS_PACKETS]], key[first[:GUESS_PACKETS]],
                                          pay_len[first[:GUESS_PACKETS]])
        device = (proto != T_OTHER) & (dport == st.server_port)
        tcp = np.flatnonzero(device & (proto == T_TCP))
        tcp = tcp[np.argsort(key[tcp], kind="stable")]
        next_seq = np.array([st.next_seq.get(int(k), -1) for k in key[tcp]], np.int64)
        first_seq = np.array([st.first_seq.get(int(k), -1) for k in key[tcp]], np.int64)
        t_start, t_len, t_brk, _dup = reassemble_tcp(
            key[tcp], seq[tcp], flags[tcp], pay_s[tcp], pay_len[tcp], lost[tcp], next_seq,
            first_seq,
        )
        if tcp.shape[0]:
            last = np.flatnonzero(np.append(key[tcp][1:] != key[tcp][:-1], True))
            st.next_seq.update(zip(key[tcp][last].tolist(), next_seq[last].tolist(), strict=True))
            st.first_seq.update(
                zip(key[tcp][last].tolist(), first_seq[last].tolist(), strict=True)
            )
        udp = np.flatnonzero(device & (proto == T_UDP) & (pay_len > 0))
        has = t_len > 0
        piece_s = np.concatenate([t_start[has], pay_s[udp]])
        piece_e = piece_s + np.concatenate([t_len[has], pay_len[udp]])
        order = np.argsort(np.concatenate([tcp[has], udp]), kind="stable")  # capture order
        messages, rejects = self._decode_pieces(
            data,
            piece_s[order],
            piece_e[order],
            np.zeros(piece_s.shape[0], np.int8),
            np.concatenate([ts[tcp][has], ts[udp]])[order],
            np.concatenate([key[tcp][has], key[udp]])[order],
            np.concatenate([np.zeros(int(has.sum()), bool), np.ones(udp.shape[0], bool)])[order],
            np.concatenate([t_brk[has], np.zeros(udp.shape[0], bool)])[order],
            final,
            _concat_rejects(extra) if extra else None,
        )
        self._tail = data[consumed:]
        self._base += consumed
        return messages, rejects

    def _reject_pieces(self, data, final):
        """A file that is not a capture: its bytes are ``bad_capture`` rejects, cut every
        ``MAX_BAD_STRETCH`` bytes from the start (whatever the chunks)."""
        keep = len(data) if final else len(data) // MAX_BAD_STRETCH * MAX_BAD_STRETCH
        s = np.arange(0, keep, MAX_BAD_STRETCH, dtype=np.int64)
        e = np.minimum(s + MAX_BAD_STRETCH, keep)
        rejects = self._raw_rejects(np.frombuffer(data, np.uint8), s, e,
                                    np.full(s.shape[0], INT64_NULL), R_BAD_CAPTURE)
        self._base += keep
        self._tail = data[keep:]
        return empty_messages(), rejects

    def _decode_pieces(self, data, pay_s, pay_e, hexcls, recv, key, datagram, brk, final,
                       extra_rejects=None):
        """Decode payload pieces of ``data`` (log reads, packets) grouped by connection.

        Pieces of one connection are joined in order (after the unfinished tail it left in
        the previous chunk); a datagram, or a piece after a hole (``brk``), starts a segment
        of its own. ``extra_rejects`` are merged in source order.
        """
        blob, c_s, c_e, c_src, c_fac, c_recv, c_key, c_file, c_ls = self._carry_pieces()
        buf = np.frombuffer(blob + data, np.uint8) if blob else np.frombuffer(data, np.uint8)
        shift = len(blob)
        nc = c_s.shape[0]
        all_s = np.concatenate([c_s, pay_s + shift])
        all_e = np.concatenate([c_e, pay_e + shift])
        all_hex = np.concatenate([np.zeros(nc, np.int8), hexcls])
        all_src = np.concatenate([c_src, self._base + pay_s])
        all_fac = np.concatenate(
            [c_fac, np.where((hexcls == P_HEX) | (hexcls == P_ESCAPE), 2, 1)]
        )
        all_recv = np.concatenate([c_recv, recv])
        all_key = np.concatenate([c_key, key])
        all_dgram = np.concatenate([np.zeros(nc, bool), datagram])
        all_brk = np.concatenate([np.zeros(nc, bool), brk])
        all_file = np.concatenate([c_file, np.full(pay_s.shape[0], len(self._accounts) - 1)])
        # whether a carried tail starts a line, as it did when it was cut off
        all_ls = np.concatenate([c_ls, np.ones(pay_s.shape[0], bool)])
        order = np.argsort(all_key, kind="stable")
        out, out_start = gather_pieces(buf, all_s[order], all_e[order], all_hex[order])
        out.flags.writeable = False  # the same kernel signature as for file bytes
        keys = all_key[order]
        dgram = all_dgram[order]
        new_seg = np.ones(keys.shape[0], bool)
        new_seg[1:] = (keys[1:] != keys[:-1]) | dgram[1:] | dgram[:-1] | all_brk[order][1:]
        first = np.flatnonzero(new_seg)
        seg_s = out_start[first]
        seg_e = np.append(out_start[first[1:]], out_start[-1])
        seg_key = keys[first]
        # a segment ends for good when it is a datagram or another of its connection follows
        followed = np.append(seg_key[1:] == seg_key[:-1], False)
        seg_final = (dgram[first] | followed | final).astype(np.int8)
        # after a hole in the data nothing says a line starts there
        seg_line_start = (~all_brk[order][first] & all_ls[order][first]).astype(np.int8)
        segs = Segments(seg_s, seg_e, seg_final, seg_line_start, key=seg_key)
        mapping = PieceMap(out_start, all_src[order], all_fac[order], all_recv[order])
        if len(self._accounts) > 1:
            mapping.files = (all_file[order], [acc.source for acc in self._accounts])
        messages, rejects, consumed_segs, rej_end, msg_end, end_ls = decode_segments(
            out, segs, mapping, self.source, self._known_devices, self._references
        )
        self._carry = {}
        for k in np.flatnonzero(consumed_segs < seg_e):
            a, b = int(consumed_segs[k]), int(seg_e[k])
            line_start = bool(end_ls[k])
            self._carry[int(seg_key[k])] = (*self._carry_entry(out, mapping, a, b), line_start)
        if extra_rejects is not None and len(extra_rejects):
            offs = extra_rejects.column(S.OFFSET).to_numpy()
            lens = extra_rejects.column(S.LENGTH).to_numpy()
            ends = np.concatenate([rej_end, offs + lens + ((len(self._accounts) - 1) << 44)])
            rejects = pa.concat_tables([rejects, extra_rejects])
            order = np.argsort(ends, kind="stable")
            rejects = rejects.take(pa.array(order))
            rej_end = ends[order]
        return self._release(messages, msg_end, rejects, rej_end, final)

    def _release(self, messages, msg_end, rejects, rej_end, final):
        """Rows in input order whatever the chunking: rows are ordered by where their frame
        ends, and a frame still carried over (its end is not known yet) may end before rows
        completed now. Those rows wait until no carried frame starts before them."""
        if self._held is not None:
            h_msg, h_msg_end, h_rej, h_rej_end = self._held
            msg_end = np.concatenate([h_msg_end, msg_end])
            rej_end = np.concatenate([h_rej_end, rej_end])
            order = np.argsort(msg_end, kind="stable")
            messages = pa.concat_tables([h_msg, messages]).take(pa.array(order))
            msg_end = msg_end[order]
            order = np.argsort(rej_end, kind="stable")
            rejects = pa.concat_tables([h_rej, rejects]).take(pa.array(order))
            rej_end = rej_end[order]
            self._held = None
        if final or not self._carry:
            return messages, rejects
        first = min(pieces[0][2] + (pieces[0][5] << 44) for _, pieces, _ in self._carry.values())
        m_cut = int(np.searchsorted(msg_end, first, side="right"))
        r_cut = int(np.searchsorted(rej_end, first, side="right"))
        if m_cut < len(messages) or r_cut < len(rejects):
            self._held = (messages.slice(m_cut), msg_end[m_cut:], rejects.slice(r_cut),
                          rej_end[r_cut:])
        return messages.slice(0, m_cut), rejects.slice(0, r_cut)

    @staticmethod
    def _carry_entry(out, mapping, a, b):
        j0 = int(mapping._locate(np.array([a]))[0])
        j1 = int(mapping._locate(np.array([b - 1]))[0])
        pieces = []
        for j in range(j0, j1 + 1):
            lo = max(a, int(mapping.out_start[j]))
            hi = min(b, int(mapping.out_start[j + 1]))
            src = int(mapping.src0[j]) + (lo - int(mapping.out_start[j])) * int(mapping.factor[j])
            file = int(mapping.files[0][j]) if mapping.files is not None else 0
            pieces.append(
                (lo - a, hi - a, src, int(mapping.factor[j]), int(mapping.recv[j]), file)
            )
        return out[a:b].tobytes(), pieces

    def _carry_pieces(self):
        if not self._carry:
            z = np.zeros(0, np.int64)
            return b"", z, z, z, z, z, z, z, np.zeros(0, bool)
        blob = bytearray()
        rows = []
        for key, (data, pieces, line_start) in self._carry.items():
            base = len(blob)
            blob += data
            for lo, hi, src, fac, recv, file in pieces:
                rows.append((base + lo, base + hi, src, fac, recv, key, file, line_start))
        arr = np.array(rows, np.int64).reshape(-1, 8)
        return (bytes(blob), arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4], arr[:, 5],
                arr[:, 6], arr[:, 7].astype(bool))

    def _raw_rejects(self, buf, s, e, recv, reason):
        """Rejects for stretches the framer never sees (bad hex, unreadable capture records)."""
        if s.shape[0] == 0:
            return empty_rejects()
        from ._assemble import _string_array, _times

        n = s.shape[0]
        return pa.Table.from_pydict(
            {
                S.SOURCE: pa.array([self.source] * n, pa.string()),
                S.OFFSET: pa.array(self._base + s, pa.int64()),
                S.LENGTH: pa.array((e - s).astype(np.int32), pa.int32()),
                S.REASON: pa.array([REASONS[reason]] * n, pa.string()),
                S.PROTOCOL: pa.nulls(n, pa.string()),
                S.RECEIVED_AT: _times(np.asarray(recv, np.int64)),
                S.RAW: _string_array(buf, s, e, typ=pa.binary(), cap=1024),
            },
            schema=S.REJECTS,
        )


class _PcapState:
    """What a packet capture's decoder keeps between chunks."""

    def __init__(self, kind, big=False, nano=False, linktype=1, header_bytes=0):
        self.kind = kind
        self.big = big
        self.nano = nano
        self.linktype = linktype
        self.header_bytes = header_bytes
        self.if_link = np.zeros(64, np.int64)
        self.if_div = np.ones(64, np.int64)
        self.n_if = 0
        self.server_port = None
        self.next_seq = {}
        self.first_seq = {}
        self.dead = False
        self.resync = False
        self.last_sec = -1

    @classmethod
    def from_header(cls, data, port):
        state = cls(0)
        magic = data[:4]
        if magic == PCAPNG_MAGIC_BYTES:
            state = cls(PCAP_NG)
        for big in (False, True):
            value = int.from_bytes(magic, "big" if big else "little")
            if value in (PCAP_MAGIC, PCAP_MAGIC_NS) and len(data) >= 24:
                link = int.from_bytes(data[20:24], "big" if big else "little") & 0xFFFF
                state = cls(PCAP_CLASSIC, big, value == PCAP_MAGIC_NS, link, 24)
        state.server_port = None if port == "auto" else port
        return state


def _server_port(dport, key, pay_len):
    """The device port guessed from packets (``port="auto"``).

    The destination port that the most connections send data to; a tie goes to the port
    that received more payload bytes, then to the lower port. Packets without payload
    (SYN, bare ACKs) do not count, so a connection attempt to another service does not
    win; -1 when no packet carries data.
    """
    data = pay_len > 0
    if not data.any():
        return -1
    pairs = np.unique(np.stack([dport[data].astype(np.int64), key[data]]), axis=1)
    conns = np.bincount(pairs[0], minlength=65536)
    volume = np.bincount(dport[data], weights=pay_len[data], minlength=65536)
    best = np.lexsort((-np.arange(65536), volume, conns))[-1]
    return int(best)


def check_port(port):
    """Validate a ``port=`` value: a port number, or ``"auto"``."""
    if port == "auto":
        return port
    if isinstance(port, (int, np.integer)) and not isinstance(port, bool) and 0 <= port <= 65535:
        return int(port)
    raise FormatError(f"port must be a number from 0 to 65535 or 'auto', not {port!r}")


def _concat_rejects(tables):
    return pa.concat_tables(tables) if tables else empty_rejects()
