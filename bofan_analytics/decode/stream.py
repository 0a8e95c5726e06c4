"""Incremental decoding: feed bytes as they come, get tables of the frames completed so far.

:class:`StreamDecoder` keeps only what an unfinished frame needs between calls (the tail of
a stream, an unfinished log line, the unfinished frame of each tracker-server session), so
memory stays bounded however large the input, and cutting the input into chunks anywhere
gives the same tables as decoding it whole.

How a format's bytes become frames is its own (the capture formats in
:mod:`bofan_analytics.io.formats`): the decoder hands each chunk to its format's ``step``
and keeps what all formats share, the frames carried over, device ids, the references of
compressed sentences, rows waiting for a carried frame, the accounting and checkpoints.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema as S
from .._numba import byte_array, read_only
from ..errors import FormatError, InputError
from ..io._pcap_kernels import TCP_FORGET_MS
from ..io.files import source_name
from ..io.formats import DEFAULT_PORT, capture_format, check_port
from ..io.formats._base import CaptureFormat
from ..io.formats._parallel import by_halves
from ._assemble import PieceMap, Segments, decode_segments, empty_rejects
from ._codes import REASONS
from ._framing_kernels import frame_segments
from ._lines_kernels import (
    P_END,
    P_ESCAPE,
    P_HEX,
    P_TEXT,
    cut_segments,
    gather_pieces,
    group_by_key,
    last_of_key,
    lay_out,
    piece_pauses,
    piece_starts,
    previous_of_key,
)
from ._parse import start_compiling

__all__ = ["StreamDecoder", "Accounting", "DEFAULT_PORT", "MAX_FRAME_PAUSE_MS",
           "FORGET_CONNECTION_MS"]

#: A connection's unfinished frame is cut off (a ``truncated`` reject) once the capture's
#: clock, the latest receive time of any read so far, has run this long past the
#: connection's last read. The reads of one frame come within seconds; a connection that
#: stops mid-frame and is never seen to close must not hold its frame, and every row
#: after it, to the end of a long capture. The rule reads only the capture, so every
#: chunking cuts the same frames.
MAX_FRAME_PAUSE_MS = 10 * 60_000
#: What is kept for a connection between its reads (its device id, for photo chunks that
#: name none; its last full sentence, for compressed ones) is forgotten once the capture's
#: clock has run this long past its last read, as a packet capture's TCP reassembly
#: forgets it: a later read of it starts afresh. Connections that die without being seen
#: to close (a mobile network dropping them) would otherwise be kept to the end of the
#: capture, however long. The rule reads only the capture, like the pause above.
FORGET_CONNECTION_MS = TCP_FORGET_MS


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
        the capture (see :data:`~bofan_analytics.io.formats.pcap.GUESS_PACKETS`): the destination port most connections
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
        #: the :class:`~bofan_analytics.io.formats.CaptureFormat` that cuts the bytes
        self.capture_format = capture_format(format)
        self.port = check_port(port)
        self.format = format
        self.source = source = source_name(source)
        self.log_tz = log_tz
        self.forced = forced
        self._only_blank = True  # nothing but line ends and spaces fed so far
        self.accounting = Accounting(source, format)
        self._accounts = [self.accounting]  # one per file of a rotated set
        self._tail = b""
        self._base = 0  # source offset of self._tail[0]
        #: device ids known per connection, and each connection's last full PT-502
        #: sentence (for compressed ones): kept across chunks, shared with the format
        self.known_devices = {}
        self.references = {}
        self._held = None  # rows that wait for a carried frame (see _release)
        self._clock = S.NULL_TIME_MS  # the latest receive time of a piece so far
        #: connection key -> the clock at its last read (connections heard from lately)
        self._heard = {}
        self._swept = S.NULL_TIME_MS  # the clock when forgotten connections were dropped
        self._carry = {}  # connection key -> (bytes, [(rel, src, factor, recv), ...])
        self._finished = False
        self._state = self.capture_format.start(self)  # what the format keeps between chunks

    # -- public -------------------------------------------------------------------------
    @property
    def prepares(self) -> bool:
        """Whether the format does anything ahead (:meth:`prepare`)."""
        return type(self.capture_format).prepare is not CaptureFormat.prepare

    def prepare(self, chunk: bytes):
        """What can be done with ``chunk`` before the chunks ahead of it are decoded (on
        another thread, meanwhile), to be given to :meth:`feed` with it as ``ahead``."""
        return self.capture_format.prepare(self, self._state, chunk)

    def feed(self, chunk: bytes, *, ahead=None):
        """Decode what ``chunk`` completes; returns a ``DecodedLog`` of those frames.
        ``ahead``: what :meth:`prepare` returned for this chunk, if it was called."""
        if self._finished:
            raise FormatError("this decoder has finished; make a new one")
        if not self.accounting.input_bytes and len(chunk):
            start_compiling(bytes(chunk[:65536]))  # a first run compiles parsers meanwhile
        self.accounting.input_bytes += len(chunk)
        if self._only_blank and self.forced:
            self._only_blank = not bytes(chunk).strip(b" \t\r\n")
        return self._step(chunk, final=False, ahead=ahead)

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
        if not self.capture_format.rotates:
            raise FormatError("only tracker-server logs are read across rotated files")
        if self._finished:
            raise FormatError("this decoder has finished already")
        log = self._step(b"", final=False, last_line=True)
        self.source = source
        self.accounting = Accounting(source, self.format)
        self._accounts.append(self.accounting)
        self._base = 0
        self._tail = b""
        self.capture_format.next_file(self._state)
        return log

    def checkpoint(self) -> dict | None:
        """What a new decoder needs to go on where this one stopped, as plain JSON data.

        Taken after the last :meth:`feed` and before :meth:`finish`: ``consumed`` is the
        offset up to which every frame is decoded for good; the bytes from there on (an
        unfinished frame) are fed again, after ``consumed``, to the decoder made by
        :meth:`resume`. ``None`` for packet captures, whose reassembly state is not kept.
        A decoder that read several files of a rotated log (:meth:`next_file`) also
        saves their names, ``files``: a frame carried over may begin in an earlier one.
        """
        if not self.capture_format.resumable or self._finished:
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
            "devices": {str(k): v for k, v in self.known_devices.items()},
            "carry": carry,
            "held": held,
            "clock": self._clock,
            "heard": {str(k): v for k, v in self._heard.items()},
            # compressed PT-502 frames: each connection's last full sentence
            "references": {
                str(k): [sentence.hex(), le.hex(), bool(is_open)]
                for k, (sentence, le, is_open) in self.references.items()
            },
            "log_tz": self.log_tz,
            **({"files": [acc.source for acc in self._accounts]}
               if len(self._accounts) > 1 else {}),
            # the format's own: a stream's line start; a tracker-server log's clock, an
            # overlong line, sessions inside a text frame
            **self.capture_format.save(self._state),
        }

    @classmethod
    def resume(cls, format: str, source: str, state: dict) -> "StreamDecoder":
        """A decoder that goes on from a :meth:`checkpoint`; feed it the bytes from
        ``state["consumed"]`` on and it gives the rows one decoder fed everything would
        have given after that point."""
        decoder = cls(format, source, log_tz=state.get("log_tz"))
        if state.get("files"):  # the earlier files of a rotated log, then this one
            decoder._accounts = [Accounting(name, format) for name in state["files"][:-1]]
            decoder._accounts.append(decoder.accounting)
        decoder._base = int(state["consumed"])
        decoder.known_devices = {int(k): v for k, v in state["devices"].items()}
        decoder._clock = int(state.get("clock", S.NULL_TIME_MS))
        decoder._heard = {int(k): int(v) for k, v in state.get("heard", {}).items()}
        decoder._carry = {
            int(key): (bytes.fromhex(entry[0]), [tuple(piece) for piece in entry[1]],
                       bool(entry[2]) if len(entry) > 2 else True)
            for key, entry in state["carry"].items()
        }
        if state.get("held"):
            h_msg, h_msg_end, h_rej, h_rej_end = state["held"]
            decoder._held = (_table_from_hex(h_msg), np.array(h_msg_end, np.int64),
                             _table_from_hex(h_rej), np.array(h_rej_end, np.int64))
        decoder.references = {
            int(k): (bytes.fromhex(sentence), bytes.fromhex(le), bool(is_open))
            for k, (sentence, le, is_open) in state.get("references", {}).items()
        }
        decoder._state = decoder.capture_format.load(decoder, state)
        return decoder

    @property
    def base(self) -> int:
        """The source offset of the first byte the decoder still holds (for formats)."""
        return self._base

    # -- internals ----------------------------------------------------------------------
    def _step(self, chunk, final, last_line=False, ahead=None):
        from .decoded import DecodedLog

        if not isinstance(chunk, (bytes, bytearray)):
            chunk = bytes(chunk)
        data = self._tail + chunk if self._tail else chunk  # a reader's chunk is not copied
        messages, rejects, consumed = self.capture_format.step(
            self, self._state, data, final, last_line, ahead)
        consumed = int(consumed)  # a kernel's numpy integer, maybe: checkpoints are JSON
        self._tail = bytes(data[consumed:])
        self._base += consumed
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

    def decode_pieces(self, data, pay_s, pay_e, hexcls, recv, key, datagram, brk, final,
                       extra_rejects=None, decoded=None):
        """Decode payload pieces of ``data`` (log reads, packets) of many connections.

        Pieces of one connection are joined in order (after the unfinished tail it left in
        the previous chunk); a datagram, a piece after a hole (``brk``) or a long pause
        starts a segment of its own. ``extra_rejects`` are merged in source order.
        ``decoded``: what :func:`gather_pieces` makes of the pieces in input order, when
        known already (a tracker-server log's reads, decoded as they were told): it is
        joined from, not ``data``.
        """
        blob, c_s, c_e, c_src, c_fac, c_recv, c_key, c_file, c_ls = self._carry_pieces()
        nc = c_s.shape[0]
        pay_s, pay_e, recv, key = (np.ascontiguousarray(a, np.int64)
                                   for a in (pay_s, pay_e, recv, key))
        hexcls = np.ascontiguousarray(hexcls, np.int8)
        datagram, brk = (np.ascontiguousarray(a, bool) for a in (datagram, brk))

        def after_carried(carried, mine):  # (mine alone, not a copy, when none is carried)
            return np.concatenate([carried, mine]) if nc else mine

        none = np.zeros(nc, bool)
        all_hex = after_carried(np.zeros(nc, np.int8), hexcls)
        # the bytes the pieces are gathered from, where each lies there and how it is read:
        # the carried tails (as they are) and then the chunk's pieces
        shift = len(blob)
        if decoded is None:
            buf = byte_array(blob + data if blob else data)
            g_s = after_carried(c_s, pay_s + shift if shift else pay_s)
            g_e = after_carried(c_e, pay_e + shift if shift else pay_e)
            g_cls = all_hex
        else:
            buf = read_only(np.concatenate([np.frombuffer(blob, np.uint8), decoded])
                            if blob else decoded)
            at = piece_starts(pay_s, pay_e, hexcls) + shift
            g_s, g_e = after_carried(c_s, at[:-1]), after_carried(c_e, at[1:])
            g_cls = np.full(g_s.shape[0], P_TEXT, np.int8)
        all_src = after_carried(c_src, self._base + pay_s)
        all_fac = after_carried(c_fac, np.where((hexcls == P_HEX) | (hexcls == P_ESCAPE), 2, 1))
        all_recv = after_carried(c_recv, recv)
        all_key = after_carried(c_key, key)
        all_dgram = after_carried(none, datagram)
        all_brk = after_carried(none, brk)
        all_file = after_carried(c_file, np.full(pay_s.shape[0], len(self._accounts) - 1))
        # whether a carried tail starts a line, as it did when it was cut off
        all_ls = after_carried(c_ls, np.ones(pay_s.shape[0], bool))
        # each piece's previous one on its connection, and where a segment must start
        # whatever comes between: a datagram, after one, after a hole or a long pause
        prev = previous_of_key(all_key)
        ends = all_hex == P_END  # where a connection closed: an empty piece
        dgram = all_dgram | ends
        starts, stale, heard, forgotten = self._pauses(all_recv, all_key, nc, prev, dgram,
                                                       all_brk)
        # pieces are joined in input order, so frames are parsed and tabulated where they
        # lie; a connection whose frame goes on from one of its pieces to its next, others'
        # between them, has its pieces joined together instead. Those of a frame carried
        # from the last chunk do; the framer finds the others (see _joined_layout).
        open_frame = all_key[:nc][c_e > c_s]  # (an empty carried piece holds a line state)
        together = np.isin(all_key, open_frame)
        while True:
            order, segs, goes_on, out, out_start, last_piece, framed = self._joined_layout(
                buf, g_s, g_e, g_cls, all_key, all_ls, all_brk, prev, starts, dgram,
                ends, stale, forgotten, final, together)
            # a segment that another goes on from must end where a frame does
            split = goes_on & (framed[8] < segs.e)
            if not split.any():
                break
            together |= np.isin(all_key, segs.key[split])
        seg_key = segs.key
        mapping = PieceMap(out_start, all_src[order], all_fac[order], all_recv[order])
        if len(self._accounts) > 1:
            mapping.files = (all_file[order], [acc.source for acc in self._accounts])
        messages, rejects, consumed_segs, rej_end, msg_end, end_ls = decode_segments(
            out, segs, mapping, self.source, self.known_devices, self.references, framed
        )
        self._carry = {}
        seg_e = segs.e
        for k in np.flatnonzero(consumed_segs < seg_e):
            a, b = int(consumed_segs[k]), int(seg_e[k])
            line_start = bool(end_ls[k])
            self._carry[int(seg_key[k])] = (*self._carry_entry(out, mapping, a, b), line_start)
        # a connection that goes on mid-line (after a PT-60 frame, say) goes on so in the
        # next chunk: an empty piece carries its line state there, as a segment would
        last_seg = segs.last_of_key()
        mid_line = last_seg & (segs.final == 0) & (consumed_segs == seg_e) & (end_ls == 0)
        for k in np.flatnonzero(mid_line):
            p = last_piece[k]
            self._carry[int(seg_key[k])] = (b"", [(0, 0, int(all_src[p]), int(all_fac[p]),
                                                  int(all_recv[p]), int(all_file[p]))], False)
        self._remember_heard(all_key, prev, heard, segs.key[segs.closes & last_seg])
        if extra_rejects is not None and len(extra_rejects):
            offs = extra_rejects.column(S.OFFSET).to_numpy()
            lens = extra_rejects.column(S.LENGTH).to_numpy()
            ends = np.concatenate([rej_end, offs + lens + ((len(self._accounts) - 1) << 44)])
            rejects, rej_end = _in_order(pa.concat_tables([rejects, extra_rejects]), ends)
        return self._release(messages, msg_end, rejects, rej_end, final)

    def _pauses(self, recv, keys, nc, prev, dgram, brk):
        """Where a segment must start whatever comes between, and when each piece's
        connection was heard from (:func:`piece_pauses`): per piece ``starts``, ``stale``,
        ``heard``, ``forgotten``.

        The capture's clock is the latest receive time of any piece so far; a piece is
        heard at the clock when it comes (a log's time stamps need not ascend). A piece
        heard more than :data:`MAX_FRAME_PAUSE_MS` after the one before it on its
        connection starts a segment; one after which the clock has run that long by the end
        of the chunk ends its segment for good (``stale``); one heard more than
        :data:`FORGET_CONNECTION_MS` after its connection's last read before starts it
        afresh (``forgotten``). ``recv``: the receive times in input order, the first
        ``nc`` of them those of pieces carried from earlier chunks, heard when their
        connection was last heard. Advances the clock."""
        null = S.NULL_TIME_MS
        # a few: the connections of open frames, and of each connection's first piece here
        before = np.array([self._heard.get(k, null) for k in keys[:nc].tolist()], np.int64)
        opens = np.flatnonzero(prev[nc:] < 0) + nc
        last = np.array([self._heard.get(k, null) for k in keys[opens].tolist()], np.int64)
        starts, stale, heard, forgotten, clock = piece_pauses(
            recv, prev, dgram, brk, nc, self._clock, before, opens, last, MAX_FRAME_PAUSE_MS,
            FORGET_CONNECTION_MS)
        self._clock = int(clock)  # (a numpy integer in the plain-Python twin)
        return starts, stale, heard, forgotten

    def _remember_heard(self, keys, prev, heard, closed):
        """Note when each connection was last heard (the last of its pieces here); those
        that ``closed`` are done with. What is kept for connections silent for
        :data:`FORGET_CONNECTION_MS` is dropped (now and then: that they are forgotten is
        decided from when they were heard, so dropping it sooner or later changes
        nothing but memory)."""
        last = last_of_key(prev)
        self._heard.update(zip(keys[last].tolist(), heard[last].tolist(), strict=True))
        for k in closed.tolist():
            self._heard.pop(k, None)
        null = S.NULL_TIME_MS
        if self._clock == null or self._clock - self._swept < FORGET_CONNECTION_MS // 4:
            return
        self._swept = self._clock
        limit = self._clock - FORGET_CONNECTION_MS
        for k in [k for k, t in self._heard.items() if t != null and t < limit]:
            del self._heard[k]
            self.known_devices.pop(k, None)
            self.references.pop(k, None)
            self._carry.pop(k, None)

    @staticmethod
    def _joined_layout(buf, g_s, g_e, g_cls, all_key, all_ls, all_brk, prev, starts,
                       dgram, ends, stale, forgotten, final, together):
        """Join the pieces (``buf[g_s[k]:g_e[k]]`` read as ``g_cls[k]`` says, in input order,
        the connections marked ``together`` each in one place), cut the result into
        segments and frame them.

        A segment is a run of pieces of one connection; it goes on from (``cont``) the
        segment before it on its connection unless a piece ``starts`` it. Such a pair
        frames as if joined as long as the first one ends where a frame does: the framer
        decides nothing it needs later bytes for, so it stops inside a frame. The caller
        checks that and joins the connections where it does not hold.

        Returns ``(order, segs, goes_on, out, out_start, last, framed)``: the pieces'
        order, the segments, which of them another goes on from, the joined bytes and where
        each piece starts in them, the last piece (input index) of each segment, and what
        :func:`frame_segments` found.
        """
        n = all_key.shape[0]
        if together.any():
            order = lay_out(all_key, group_by_key(all_key), prev, together)
        else:
            order = np.arange(n)
        out, out_start = _gather_pieces(buf, g_s[order], g_e[order], g_cls[order])
        (first, last, seg_s, seg_e, seg_prev, cont, goes_on, seg_final, seg_line_start, closes,
         fresh, conn) = cut_segments(order, all_key, starts, prev, dgram, ends, stale,
                                     forgotten, all_brk, all_ls, out_start, bool(final))
        segs = Segments(seg_s, seg_e, seg_final, seg_line_start, key=all_key[first],
                        fresh=fresh, closes=closes, conn=conn, prev=seg_prev, cont=cont)
        framed = frame_segments(read_only(out), segs.s, segs.e, segs.final, segs.line_start,
                                segs.cont)
        return order, segs, goes_on, out, out_start, last, framed

    def _release(self, messages, msg_end, rejects, rej_end, final):
        """Rows in input order whatever the chunking: rows are ordered by where their frame
        ends, and a frame still carried over (its end is not known yet) may end before rows
        completed now. Those rows wait until no carried frame starts before them."""
        if self._held is not None:
            h_msg, h_msg_end, h_rej, h_rej_end = self._held
            messages, msg_end = _in_order(pa.concat_tables([h_msg, messages]),
                                          np.concatenate([h_msg_end, msg_end]))
            rejects, rej_end = _in_order(pa.concat_tables([h_rej, rejects]),
                                         np.concatenate([h_rej_end, rej_end]))
            self._held = None
        frames = [pieces[0] for data, pieces, _ in self._carry.values() if data]
        if final or not frames:  # (an empty carry holds no frame, only a line state)
            return messages, rejects
        first = min(piece[2] + (piece[5] << 44) for piece in frames)
        m_cut = int(np.searchsorted(msg_end, first, side="right"))
        r_cut = int(np.searchsorted(rej_end, first, side="right"))
        if m_cut < len(messages) or r_cut < len(rejects):
            self._held = (messages.slice(m_cut), msg_end[m_cut:], rejects.slice(r_cut),
                          rej_end[r_cut:])
        return messages.slice(0, m_cut), rejects.slice(0, r_cut)

    @staticmethod
    def _carry_entry(out, mapping, a, b):
        j0 = int(mapping.locate(np.array([a]))[0])
        j1 = int(mapping.locate(np.array([b - 1]))[0])
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

    def stretch_rejects(self, buf, s, e, recv, reason):
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


def _gather_pieces(buf, s, e, cls):
    """:func:`gather_pieces`, the two halves of a large chunk's pieces on two threads; or
    ``buf`` itself, for pieces copied as they are that lie in it one after another from
    its start to its end (a tracker-server log's reads decoded already, in input order)."""
    n = s.shape[0]
    if (n and s[0] == 0 and e[-1] == buf.shape[0] and (s[1:] == e[:-1]).all()
            and (cls == P_TEXT).all()):
        return buf, np.append(s, e[-1])
    parts = by_halves(gather_pieces, (buf,), (s, e, cls), buf.shape[0])
    if len(parts) == 1:
        return parts[0]
    (out_a, start_a), (out_b, start_b) = parts
    return (np.concatenate([out_a, out_b]),
            np.concatenate([start_a[:-1], start_b + out_a.shape[0]]))


def _in_order(table, ends):
    """The rows of ``table`` ordered by ``ends`` (stably), and the ends so ordered.

    Rows held back from one chunk go before the next chunk's rows but for a few (frames
    completed from what was carried over): only the stretch of rows that moves is taken,
    not every column of the whole chunk again."""
    order = np.argsort(ends, kind="stable")
    moved = np.flatnonzero(order != np.arange(order.shape[0]))
    if moved.shape[0] == 0:
        return table, ends
    lo, hi = int(moved[0]), int(moved[-1]) + 1
    window = table.slice(lo, hi - lo).take(pa.array(order[lo:hi] - lo))
    return pa.concat_tables([table.slice(0, lo), window, table.slice(hi)]), ends[order]
