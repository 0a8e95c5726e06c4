"""From kernel outputs to Arrow tables: one call per chunk, never a Python step per frame."""

import functools

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema as S
from .._numba import read_only
from ..io.formats._parallel import Split, on_halves, pool
from ._arrow_kernels import (
    gather_columns,
    gather_slices,
    inherit_device,
    last_devices,
    locate_pieces,
    piece_lengths,
    piece_sources,
    take_strings,
    validity_of,
)
from ._codes import ALARM_NAMES, P_PT502, PROTOCOL_NAMES, REASONS
from ._compressed_kernels import (
    REF_AUX,
    REF_BUF,
    REF_INIT,
    expand_compressed,
    last_references,
)
from ._fields import (
    C_ALARM,
    C_PROTO,
    C_STATUS,
    C_VALID,
    F_BATTERY,
    F_COURSE,
    F_LAT,
    F_LON,
    F_ODOMETER,
    F_SPEED,
    I_ADC,
    I_CELLS,
    I_HEART,
    I_INPUTS,
    I_OUTPUTS,
    I_PHOTO_OFFSET,
    I_PHOTO_SIZE,
    I_RSSI,
    I_SATS,
    I_STEPS,
    I_WIFI,
    S_DEVICE,
    S_DRIVER,
    S_FIRMWARE,
    S_MODE,
    S_PAYLOAD,
    W_MAC_E,
    W_MAC_S,
    W_RSSI,
    W_SSID_E,
    W_SSID_S,
    pack_type,
    unpack_type,
)
from ._framing_kernels import frame_segments
from ._lines_kernels import dictionary_codes, last_of_key
from ._parse import parse_frames
from ._text_kernels import INT64_NULL

__all__ = ["Segments", "OffsetMap", "PieceMap", "decode_segments", "empty_messages", "empty_rejects"]


RAW_CAP = 1024
_T_PHD = pack_type("PHD")
_PROTO_DICT = [name or "" for name in PROTOCOL_NAMES]
_ALARM_DICT = [name or "" for name in ALARM_NAMES]
_REASON_DICT = list(REASONS)


class Segments:
    """The ranges of a buffer the framer cuts, with what is known of each."""

    __slots__ = ("s", "e", "final", "line_start", "key", "recv", "fresh", "closes", "conn",
                 "prev", "cont", "_last")

    def __init__(self, s, e, final, line_start, key=None, recv=None, fresh=None, closes=None,
                 conn=None, prev=None, cont=None):
        self.s = np.ascontiguousarray(s, np.int64)
        self.e = np.ascontiguousarray(e, np.int64)
        n = self.s.shape[0]
        self.final = np.broadcast_to(np.asarray(final, np.int8), (n,)).copy()
        self.line_start = np.broadcast_to(np.asarray(line_start, np.int8), (n,)).copy()
        self.key = np.zeros(n, np.int64) if key is None else np.asarray(key, np.int64)
        self.recv = recv  # int64 ms per segment, or None
        # connections (segments of one key, together) that closed: ``closes`` marks the
        # empty segment where one did, ``fresh`` a segment that takes its id again after
        no = np.zeros(n, bool)
        self.fresh = no if fresh is None else np.asarray(fresh, bool)
        self.closes = no if closes is None else np.asarray(closes, bool)
        #: the connection of each segment (numbered from 0, segments of one together): a
        #: photo chunk takes the device of the frame before it there
        self.conn = np.arange(n, dtype=np.int32) if conn is None else np.asarray(conn, np.int32)
        #: the segment of the same key before each one (-1: none), and the one it goes on
        #: from, its bytes the continuation of that one's (-1: it starts afresh). Segments
        #: of one key are in input order, other keys' may come between them.
        none = np.full(n, -1, np.int64)
        self.prev = none if prev is None else np.asarray(prev, np.int64)
        self.cont = none if cont is None else np.asarray(cont, np.int64)
        self._last = None

    def last_of_key(self):
        """Per segment, whether it is the last of its key here (no segment names it as its
        ``prev``); worked out once, asked for by several steps."""
        if self._last is None:
            self._last = last_of_key(self.prev)
        return self._last

    def live(self):
        """Per segment, whether no close of its connection follows it in this buffer: what
        it leaves (a device id, a reference sentence) goes on to later chunks."""
        n = self.s.shape[0]
        at = np.flatnonzero(self.closes)
        if at.shape[0] == 0:
            return np.ones(n, bool)
        keys, which = np.unique(self.key[at], return_inverse=True)
        last = np.full(keys.shape[0], -1, np.int64)  # the last close of each key
        np.maximum.at(last, which, at)
        j = np.minimum(np.searchsorted(keys, self.key), keys.shape[0] - 1)
        return ~((keys[j] == self.key) & (last[j] > np.arange(n)))


class OffsetMap:
    """Buffer positions that are source offsets plus a base (stream and line logs)."""

    reorders = False
    files = None

    def __init__(self, base, seg_recv=None):
        self.base = base
        self.seg_recv = seg_recv

    def locate(self, x):
        return None

    def src(self, x, at=None):
        return self.base + x

    def src_len(self, s, e, at=None, last_at=None):
        return e - s

    def received(self, seg, last, at=None):
        if self.seg_recv is None:
            return np.full(seg.shape[0], INT64_NULL, np.int64)
        return self.seg_recv[seg]


class PieceMap:
    """Buffer assembled from pieces of the source (hex-decoded log payloads, in session order).

    ``out_start[j]`` is where piece j begins in the buffer (with a final end entry);
    ``src[j]`` its first source byte; ``factor[j]`` source bytes per buffer byte (2 for hex).
    ``files``, when pieces come from several files (a rotated log): ``(file index per
    piece, file names)``.

    The methods take, as ``at``, the pieces the positions are in when the caller has them
    from :meth:`locate` already (a binary search per position: done once, not per use).
    """

    reorders = True
    files = None

    def __init__(self, out_start, src, factor, recv):
        self.out_start = read_only(np.asarray(out_start, np.int64))
        self.src0 = read_only(np.asarray(src, np.int64))
        self.factor = read_only(np.asarray(factor, np.int64))
        self.recv = np.asarray(recv, np.int64)
        cum = np.zeros(self.out_start.shape[0], np.int64)  # (a piece more: the end)
        np.cumsum(np.diff(self.out_start) * self.factor, out=cum[1:])
        self.cum = read_only(cum)

    def locate(self, x):
        """The piece each buffer position ``x`` is in."""
        return locate_pieces(self.out_start, _positions(x))

    def src(self, x, at=None):
        x = _positions(x)
        j = self.locate(x) if at is None else at
        return piece_sources(self.out_start, self.src0, self.factor, x, read_only(j))

    def src_len(self, s, e, at=None, last_at=None):
        """Source bytes of buffer ranges ``[s, e)``; ``last_at``: the pieces of ``e - 1``
        (an end maps through the piece of the byte before it as well as its own)."""
        s, e = _positions(s), _positions(e)
        js = self.locate(s) if at is None else at
        je = self.locate(e - 1) if last_at is None else last_at
        return piece_lengths(self.out_start, self.factor, self.cum, s, e, read_only(js),
                             read_only(je))

    def received(self, seg, last, at=None):
        return self.recv[self.locate(last) if at is None else at]

    def order_key(self, x, at=None):
        """A key that sorts buffer positions in input order, files of a rotated set too."""
        j = self.locate(x) if at is None else at
        key = self.src(x, at=j)
        if self.files is not None:
            key = key + (self.files[0][j].astype(np.int64) << 44)
        return key


def _positions(x):
    """Buffer positions as the kernels of :class:`PieceMap` take them."""
    return read_only(np.ascontiguousarray(x, np.int64))


_STRING = pa.string()


def _string_array(buf, starts, ends, typ=_STRING, cap=1 << 30):
    """Strings (or bytes, ``typ``) ``buf[starts[k]:ends[k]]``, null where a start is
    negative; a column no frame has (a driver id in a chunk of positions) is made as nulls
    without a pass over its rows."""
    starts = np.asarray(starts)
    if starts.shape[0] and starts.max() < 0:
        return pa.nulls(starts.shape[0], typ)
    # one signature per kernel keeps the first (uncached) compilation short
    starts = starts.astype(np.int32, copy=False)
    ends = np.asarray(ends, np.int32)
    offsets, data, validity, nulls = gather_slices(read_only(buf), read_only(starts),
                                                   read_only(ends), cap)
    return pa.Array.from_buffers(
        typ, starts.shape[0],
        [pa.py_buffer(validity) if nulls else None, pa.py_buffer(offsets), pa.py_buffer(data)],
        null_count=nulls,
    )


def _dict_strings(indices, dictionary, null_code=None):
    """A string column from small integer codes into ``dictionary`` (a list of str)."""
    codes = np.ascontiguousarray(indices, np.int32)
    dict_offsets, dict_data = _encoded(tuple(dictionary))
    offsets, data = take_strings(read_only(codes), dict_offsets, dict_data)
    n = codes.shape[0]
    bitmap, nulls = (None, 0) if null_code is None else _bitmap(codes != null_code)
    return pa.Array.from_buffers(
        pa.string(), n, [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)], null_count=nulls
    )


def _bitmap(present):
    """Arrow's validity bitmap of the rows ``present`` (bools) and how many are missing;
    no bitmap when none is."""
    nulls = present.shape[0] - int(np.count_nonzero(present))
    return (pa.py_buffer(np.packbits(present, bitorder="little")) if nulls else None), nulls


@functools.lru_cache(maxsize=256)
def _encoded(dictionary: tuple) -> tuple:
    """``(offsets, data)`` of the UTF-8 strings of ``dictionary``, for
    :func:`take_strings`: made once for the dictionaries every chunk uses (protocols,
    alarms, reasons), not per column."""
    encoded = [text.encode() for text in dictionary]
    offsets = np.zeros(len(encoded) + 1, np.int32)
    np.cumsum([len(b) for b in encoded], out=offsets[1:])
    data = np.frombuffer(b"".join(encoded) or b"\0", np.uint8)
    return read_only(offsets), data


def _with_nulls(values, typ, null):
    """An Arrow column of ``typ`` over ``values`` (its physical type), missing where they
    are ``null`` or NaN: the values are its data as they are, the bitmap made in one pass."""
    values = read_only(values)  # contiguous, and the one type the kernel is compiled for
    validity, missing = validity_of(values, null)
    return pa.Array.from_buffers(
        typ, values.shape[0], [pa.py_buffer(validity) if missing else None,
                               pa.py_buffer(values)], null_count=missing)


def _flags(values):
    """A bool column of ``values`` (1 true, 0 false, below 0 missing), its two bitmaps
    packed by numpy (``pa.array`` with a mask took ten times as long: 154 against 14 µs
    for 32 k rows)."""
    bitmap, nulls = _bitmap(values >= 0)
    data = pa.py_buffer(np.packbits(values == 1, bitorder="little"))
    return pa.Array.from_buffers(pa.bool_(), values.shape[0], [bitmap, data], null_count=nulls)


def _ints(values, typ, null=-1):
    return _with_nulls(values.astype(typ.to_pandas_dtype(), copy=False), typ, null)


def _floats(values):
    return _with_nulls(values, pa.float64(), np.nan)


def _times(values):
    return _with_nulls(values, S.TIMESTAMP, INT64_NULL)


def _source_array(source, n):
    """``source`` ``n`` times, as a string column: its bytes repeated and evenly spaced
    offsets, a few times faster than ``pa.repeat``, which builds it value by value."""
    text = source.encode()
    if not text or n * len(text) >= 2**31:  # (offsets are int32)
        return pa.repeat(source, n)
    offsets = np.arange(0, (n + 1) * len(text), len(text), dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(text * n)])


def _source_column(mapping, source, at, pieces=None):
    """The ``source`` of rows starting at buffer positions ``at`` (in ``pieces``, when
    located already): the file of their first byte when the buffer joins several files."""
    if mapping.files is None:
        return _source_array(source, at.shape[0])
    file_of_piece, names = mapping.files
    files = file_of_piece[mapping.locate(at) if pieces is None else pieces]
    return _dict_strings(files, names)


@functools.cache
def empty_messages():
    """The table of no messages (one: tables are immutable, and making one takes 0.2 ms)."""
    return S.MESSAGES.empty_table()


@functools.cache
def empty_rejects():
    """The table of no rejects (one, as :func:`empty_messages`)."""
    return S.REJECTS.empty_table()


def decode_segments(buf, segs, mapping, source, known_devices=None, references=None,
                    framed=None):
    """Frame, parse and tabulate ``buf`` cut into ``segs``.

    ``known_devices`` maps a segment key (connection) to the last device id seen on it in an
    earlier chunk, for ``$PHD`` chunks that carry none; it is updated in place.
    ``references`` maps a segment key to the last full PT-502 sentence of that connection
    (what a compressed sentence is expanded against); updated in place. Without it every
    segment stands alone (line logs: each line is its own).
    Returns ``(messages, rejects, consumed, reject_ends, message_ends, line_starts)``; the
    ends are the source offsets just past each reject and message, in the tables' order
    (with the file's index in the high bits when a buffer joins several files);
    ``line_starts[k]`` says whether segment k stopped at a line start, as the framer saw it
    (what a later chunk of that connection starts with). ``framed``: what
    :func:`frame_segments` returned for ``buf`` and ``segs``, when the caller has it.
    """
    buf = read_only(buf)  # the type every kernel is compiled for, whoever made the bytes
    if framed is None:
        framed = frame_segments(buf, segs.s, segs.e, segs.final, segs.line_start, segs.cont)
    f_off, f_s, f_e, f_seg, r_s, r_e, r_reason, r_seg, consumed, n_compressed, end_ls = framed
    pbuf, p_s, p_e, expand_status = _expand_compressed(buf, segs, f_s, f_e, f_seg, references,
                                                       n_compressed > 0)
    # frames in input order: where sessions were regrouped (mapping.reorders), by where
    # each frame was completed, which does not depend on how the input was cut into
    # chunks. They are parsed in that order, so the tables come out in it (cheaper than
    # reordering every column after); within one connection it is the buffer's order.
    end_of = mapping.order_key if mapping.reorders else mapping.src
    # the pieces of each frame's first and last byte, located while the frames are in
    # buffer order (ascending: a step or two per frame instead of a binary search)
    first = mapping.locate(f_off)
    last = mapping.locate(f_e - 1)
    f_end = end_of(f_e - 1, at=last) + 1
    if mapping.reorders and f_end.shape[0] > 1 and (f_end[1:] < f_end[:-1]).any():
        order = np.argsort(f_end, kind="stable")
        f_off, f_e, f_seg, p_s, p_e, f_end, first, last = (
            a[order] for a in (f_off, f_e, f_seg, p_s, p_e, f_end, first, last))
        if expand_status is not None:
            expand_status = expand_status[order]
    # a large chunk's frames are parsed and tabulated in two parts on two threads (each
    # frame is parsed on its own); what joins frames, the device ids of photo chunks, is
    # done over the whole between the two steps
    halves = on_halves(lambda lo, hi: (lo, hi, parse_frames(
        pbuf, p_s[lo:hi], p_e[lo:hi], meanwhile=_compile_tables)), f_off.shape[0], buf.shape[0],
        _PARSE_SPLIT)
    for lo, hi, (cv, *_) in halves:
        if expand_status is not None:
            failed = expand_status[lo:hi] != 0
            cv[C_STATUS][failed] = expand_status[lo:hi][failed]
            cv[C_PROTO][failed] = P_PT502
    status, proto, dev_s, dev_e, tcode = (
        np.concatenate(parts) if len(parts) > 1 else parts[0]
        for parts in zip(*((cv[C_STATUS], cv[C_PROTO], sl[2 * S_DEVICE], sl[2 * S_DEVICE + 1],
                            tc) for _, _, (cv, _, _, _, sl, tc, *_) in halves), strict=True)
    )
    ok = status == 0
    photo = tcode == _T_PHD  # a photo chunk has no device id: it takes the one before it
    if not photo.any():
        orphans = _NO_FRAMES
    else:
        n_conns = int(segs.conn.max()) + 1 if segs.s.shape[0] else 0
        orphans = inherit_device(dev_s, dev_e, segs.conn[f_seg], n_conns, ok, photo)
        if len(halves) > 1:  # the ids photo chunks took, back into each half's columns
            for lo, hi, (_, _, _, _, sl, *_) in halves:
                sl[2 * S_DEVICE] = dev_s[lo:hi]
                sl[2 * S_DEVICE + 1] = dev_e[lo:hi]

    def tabulate(half):
        lo, hi, parsed = half
        rows = np.flatnonzero(ok[lo:hi])
        return _messages_table(pbuf, rows, f_off[lo:hi], f_e[lo:hi], f_seg[lo:hi], *parsed,
                               mapping, source, *(None if at is None else at[lo:hi][rows]
                                                  for at in (first, last)))

    idx = np.flatnonzero(ok)
    msg_end = f_end if idx.shape[0] == f_end.shape[0] else f_end[idx]
    if idx.shape[0] == 0:  # (a decoder's last step, most often: no table laid out)
        messages = empty_messages()
    elif len(halves) == 1:
        messages = tabulate(halves[0])
    else:
        later = pool().submit(tabulate, halves[1])
        messages = pa.concat_tables([tabulate(halves[0]), later.result()])
    if known_devices is not None:
        messages, filled = _fill_orphans(messages, idx, orphans, f_seg, segs, known_devices)
        for k in segs.key[segs.closes].tolist():
            known_devices.pop(k, None)
        _remember_devices(pbuf, dev_s, dev_e, ok, f_seg, f_off, filled, segs, known_devices)

    bad = np.flatnonzero(~ok)
    rej_s = np.concatenate([r_s, f_off[bad]])
    rej_e = np.concatenate([r_e, f_e[bad]])
    rej_reason = np.concatenate([r_reason, status[bad]])
    rej_proto = np.concatenate([np.zeros(r_s.shape[0], np.int8), proto[bad]])
    rej_seg = np.concatenate([r_seg, f_seg[bad]])
    order = np.argsort(rej_s, kind="stable")
    rej_end = end_of(np.maximum(rej_e[order] - 1, rej_s[order])) + 1
    if mapping.reorders:
        by_end = np.argsort(rej_end, kind="stable")
        order, rej_end = order[by_end], rej_end[by_end]
    rej_s, rej_e, rej_reason, rej_proto, rej_seg = (
        a[order] for a in (rej_s, rej_e, rej_reason, rej_proto, rej_seg)
    )
    rejects = _rejects_table(buf, rej_s, rej_e, rej_reason, rej_proto, rej_seg, mapping, source)
    return messages, rejects, consumed, rej_end, msg_end, end_ls


_TABLES_COMPILED = []
#: no frames (the photo chunks left without a device where there are none)
_NO_FRAMES = np.zeros(0, np.int64)
#: where a chunk's frames are cut for parsing (and tabulating) on two threads
_PARSE_SPLIT = Split()


def _compile_tables() -> None:
    """Compile the kernels that lay out the tables (string gathers, list columns, device
    ids of photo chunks), once per process, by tabulating a line that holds no frame: what
    a first decode does while its parsers still compile aside, instead of waiting for them
    and compiling these after."""
    if _TABLES_COMPILED:
        return
    _TABLES_COMPILED.append(True)
    decode_segments(np.frombuffer(b"x\n", np.uint8), Segments([0], [2], 1, 1), OffsetMap(0), "")
    # only a chunk with photo chunks calls it: with the types decode_segments passes
    none = np.zeros(0, np.int32)
    inherit_device(none, none.copy(), none.copy(), 0, np.zeros(0, bool), np.zeros(0, bool))


_NO_REF = (b"", b"", False)


def _expand_compressed(buf, segs, f_s, f_e, f_seg, references, compressed):
    """Compressed PT-502 frames expanded into the sentences they stand for.

    Returns ``(pbuf, p_s, p_e, status)``: the buffer and ranges to parse (``buf`` and the
    frames themselves when nothing was compressed), and per frame a reject reason of the
    expansion (or None when there was none). ``compressed``: whether any frame is a
    compressed sentence (the framer counts them).
    """
    nseg = segs.s.shape[0]
    if references is None and not compressed:
        return buf, f_s, f_e, None  # no state to keep and nothing to expand
    if references is None:
        chain = np.full(nseg, -1, np.int64)
        firsts = np.zeros(0, np.int64)
    else:
        # a segment goes on from the reference its key's segment before it ended with; a
        # fresh connection starts without one
        chain = np.where(segs.fresh, -1, segs.prev)
        firsts = np.flatnonzero((segs.prev < 0) & ~segs.fresh)
    init, init_s, init_e, init_le, init_nle, init_open = _references_in(
        references, firsts, segs.key[firsts], nseg)
    if not compressed:  # only the references the connections end with to keep
        at = _ending(segs)
        out = last_references(buf, segs.s, segs.e, segs.final, chain, f_s, f_e, f_seg, at,
                              init_s, init_e, init_le, init_nle, init_open)
        _keep_references(references, segs, at, out, {REF_BUF: buf, REF_INIT: init})
        return buf, f_s, f_e, None
    aux, x_s, x_e, status, out = expand_compressed(
        buf, segs.s, segs.e, segs.final, chain, f_s, f_e, f_seg.astype(np.int64),
        init, init_s, init_e, init_le, init_nle, init_open,
    )
    if references is not None:
        at = _ending(segs)
        _keep_references(references, segs, at, out[at], {REF_BUF: buf, REF_INIT: init,
                                                          REF_AUX: aux})
    expanded = x_s >= 0
    if not (status != 0).any() and not expanded.any():
        return buf, f_s, f_e, None
    if expanded.any():
        pbuf = np.concatenate([buf, aux])
        p_s = np.where(expanded, x_s + buf.shape[0], f_s)
        p_e = np.where(expanded, x_e + buf.shape[0], f_e)
    else:
        pbuf, p_s, p_e = buf, f_s, f_e
    return pbuf, p_s, p_e, status


def _ending(segs):
    """The segments connections end with in a chunk, but for those that closed: the ones
    whose references are kept."""
    return np.flatnonzero(segs.last_of_key() & ~segs.closes)


def _keep_references(references, segs, at, ends, sources):
    """The references connections end with in this chunk (``ends``: those of segments
    ``at``, the last of each connection that did not close) kept for the next chunk; a
    closed connection's is dropped."""
    for k in segs.key[segs.closes].tolist():
        references.pop(k, None)
    _references_out(references, segs.key[at], ends, sources)


def _references_in(references, firsts, keys, nseg):
    """The references segments ``firsts`` (of ``keys``) start from, as the arrays of
    :func:`expand_compressed`: ``(init, init_s, init_e, init_le, init_nle, init_open)``.
    A chunk holds many connections: list steps, no array write per connection."""
    init_s = np.full(nseg, -1, np.int64)
    init_e = np.full(nseg, -1, np.int64)
    init_le = np.zeros((nseg, 2), np.uint8)
    init_nle = np.zeros(nseg, np.int64)
    init_open = np.zeros(nseg, np.int8)
    none = np.zeros(1, np.uint8), init_s, init_e, init_le, init_nle, init_open
    if not references:
        return none
    refs = [references.get(k, _NO_REF) for k in keys.tolist()]
    has = [k for k, ref in zip(firsts.tolist(), refs, strict=True) if ref[0]]
    if not has:
        return none
    refs = [ref for ref in refs if ref[0]]
    lengths = np.array([len(ref[0]) for ref in refs], np.int64)
    init_e[has] = np.cumsum(lengths)
    init_s[has] = init_e[has] - lengths
    init_nle[has] = [len(ref[1]) for ref in refs]
    init_le[has] = np.frombuffer(b"".join(ref[1].ljust(2, b"\0") for ref in refs),
                                 np.uint8).reshape(-1, 2)
    init_open[has] = [ref[2] for ref in refs]
    init = np.frombuffer(b"".join(ref[0] for ref in refs), np.uint8)
    return init, init_s, init_e, init_le, init_nle, init_open


def _references_out(references, keys, ends, sources):
    """Keep the reference each connection ends with (``ends``: rows of
    :func:`expand_compressed`'s ``out``, in ``sources``) under its key."""
    where = ends[:, 0]
    for code, source in sources.items():
        at = np.flatnonzero(where == code)
        if at.shape[0] == 0:
            continue
        texts = _string_array(source, ends[at, 1], ends[at, 2], typ=pa.binary()).to_pylist()
        pairs = ends[at, 3:5].astype(np.uint8).tobytes()
        les = [pairs[2 * i:2 * i + n] for i, n in enumerate(ends[at, 5].tolist())]
        references.update(zip(keys[at].tolist(),
                              zip(texts, les, (ends[at, 6] != 0).tolist(), strict=True),
                              strict=True))


def _adc_lists(adc, counts, idx):
    """``list<int32>`` of the ADC values of frames ``idx`` (null where a frame has none)."""
    offsets, values, validity, nulls = gather_columns(read_only(adc), read_only(counts),
                                                      read_only(idx))
    return pa.Array.from_buffers(
        _ADC, idx.shape[0], [pa.py_buffer(validity) if nulls else None, pa.py_buffer(offsets)],
        null_count=nulls,
        children=[pa.Array.from_buffers(pa.int32(), values.shape[0], [None, pa.py_buffer(values)])],
    )


_ADC = S.MESSAGES.field(S.ADC).type


def _ssid_names(buf, s, e):
    """Network names from UTF-16BE hex; ``ffff…`` (no name) and malformed hex are null.
    Decoded once per distinct name: a fleet sees few."""
    hexes = _string_array(buf, np.maximum(s, 0), np.maximum(e, 0))
    codes = pc.dictionary_encode(hexes)
    names = []
    for text in codes.dictionary.to_pylist():  # one step per distinct name
        name = None
        if text and text.strip("fF"):
            try:
                name = bytes.fromhex(text).decode("utf-16-be")
            except (ValueError, UnicodeDecodeError):
                name = None
        names.append(name)
    out = pa.array(names, pa.string()).take(codes.indices)
    return pc.if_else(pa.array(s < 0), pa.nulls(len(out), pa.string()), out)


def _list_rows(counts, idx, offsets):
    """Where the list items of frames ``idx`` are in the flat item arrays, in that order:
    items of frame k follow those of frame k - 1 and there are ``counts[k]`` of them;
    ``offsets`` are the list offsets of the rows. None when they are in place already
    (``idx`` in frame order, and every frame without items left out or holding none)."""
    all_n = counts.astype(np.int64)
    first = np.concatenate([[0], np.cumsum(all_n)])
    if offsets[-1] == first[-1] and (idx.shape[0] < 2 or (np.diff(idx) > 0).all()):
        return None
    return np.repeat(first[idx] - offsets[:-1], all_n[idx]) + np.arange(offsets[-1])


def _list_layout(counts, idx):
    """The lists of frames ``idx`` whose items are in flat arrays, ``counts[k]`` of frame
    k: each one's length, the list offsets, and where their items are (:func:`_list_rows`)."""
    n = counts[idx].astype(np.int64)
    offsets = np.zeros(idx.shape[0] + 1, np.int32)
    np.cumsum(n, out=offsets[1:])
    return n, offsets, _list_rows(counts, idx, offsets)


def _cell_lists(cells_i, cells_cid, counts, idx):
    """``list<struct<mcc, mnc, lac, cell_id, rssi>>`` of the cell towers of frames ``idx``
    (``cells_i``: mcc, mnc, lac, rssi; ``cells_cid``: the cell ids)."""
    if cells_cid.shape[0] == 0:
        return pa.nulls(idx.shape[0], pa.list_(S.CELL_TOWER))
    n, offsets, take = _list_layout(counts, idx)
    if take is not None:
        cells_i, cells_cid = cells_i[:, take], cells_cid[take]
    cells = pa.StructArray.from_arrays(
        [
            pa.array(cells_i[0]),
            pa.array(cells_i[1]),
            pa.array(cells_i[2]),
            pa.array(cells_cid),
            pa.array(cells_i[3]),
        ],
        fields=list(S.CELL_TOWER),
    )
    return pa.ListArray.from_arrays(
        pa.array(offsets), cells, type=pa.list_(S.CELL_TOWER), mask=pa.array(n == 0)
    )


def _wifi_lists(buf, wifi, counts, idx):
    """``list<struct<mac, ssid, rssi>>`` of the access points of frames ``idx``."""
    if wifi.shape[1] == 0:
        return pa.nulls(idx.shape[0], pa.list_(S.WIFI_ACCESS_POINT))
    n, offsets, take = _list_layout(counts, idx)
    w = wifi if take is None else wifi[:, take]
    aps = pa.StructArray.from_arrays(
        [
            _string_array(buf, w[W_MAC_S], w[W_MAC_E]),
            _ssid_names(buf, w[W_SSID_S], w[W_SSID_E]),
            pa.array(w[W_RSSI], pa.int32()),
        ],
        fields=list(S.WIFI_ACCESS_POINT),
    )
    return pa.ListArray.from_arrays(
        pa.array(offsets), aps, type=pa.list_(S.WIFI_ACCESS_POINT), mask=pa.array(n == 0)
    )


def _messages_table(buf, idx, f_off, f_e, f_seg, cv, iv, tm, fv, sl, tcode,
                    cells_i, cells_cid, adc, wifi, mapping, source, first=None, last=None):
    """The messages of frames ``idx``, in that order; ``first``, ``last``: the map's
    pieces of the frames' first and last bytes, when located already."""
    n = idx.shape[0]
    if n == tcode.shape[0]:
        def rows(column):  # every frame is a message, in order: the columns as they are
            return column
    else:
        def rows(column):
            return column[idx]

    off = rows(f_off)
    end = rows(f_e)
    if first is None:
        first = mapping.locate(off)
    received = mapping.received(rows(f_seg), end - 1, at=last)
    offset = mapping.src(off, at=first)
    length = mapping.src_len(off, end, at=first, last_at=last).astype(np.int32)
    source_column = _source_column(mapping, source, off, pieces=first)

    def slc(field):
        return _string_array(buf, rows(sl[2 * field]), rows(sl[2 * field + 1]))

    types, packed = dictionary_codes(read_only(rows(tcode)))  # a few distinct types
    msg_type = _dict_strings(types, [unpack_type(c) for c in packed.tolist()])
    valid = rows(cv[C_VALID])
    towers = _cell_lists(cells_i, cells_cid, iv[I_CELLS], idx)
    columns = {
        S.DEVICE_ID: slc(S_DEVICE),
        S.PROTOCOL: _dict_strings(rows(cv[C_PROTO]), _PROTO_DICT, null_code=0),
        S.MSG_TYPE: msg_type,
        S.TIME: _times(rows(tm)),
        S.RECEIVED_AT: _times(received),
        S.VALID: _flags(valid),
        S.FIX_MODE: slc(S_MODE),
        S.LAT: _floats(rows(fv[F_LAT])),
        S.LON: _floats(rows(fv[F_LON])),
        S.SPEED_KMH: _floats(rows(fv[F_SPEED])),
        S.COURSE: _floats(rows(fv[F_COURSE])),
        S.ALARM: _dict_strings(rows(cv[C_ALARM]), _ALARM_DICT, null_code=0),
        S.BATTERY_PCT: _floats(rows(fv[F_BATTERY])),
        S.SATELLITES: _ints(rows(iv[I_SATS]), pa.int32()),
        S.RSSI: _ints(rows(iv[I_RSSI]), pa.int32()),
        S.ODOMETER_M: _floats(rows(fv[F_ODOMETER])),
        S.INPUTS: _ints(rows(iv[I_INPUTS]), pa.int32()),
        S.OUTPUTS: _ints(rows(iv[I_OUTPUTS]), pa.int32()),
        S.ADC: _adc_lists(adc, iv[I_ADC], idx),
        S.DRIVER_ID: slc(S_DRIVER),
        S.FIRMWARE: slc(S_FIRMWARE),
        S.STEPS: _ints(rows(iv[I_STEPS]), pa.int32()),
        S.HEART_RATE: _ints(rows(iv[I_HEART]), pa.int32()),
        S.PHOTO_SIZE: _ints(rows(iv[I_PHOTO_SIZE]), pa.int32()),
        S.PHOTO_OFFSET: _ints(rows(iv[I_PHOTO_OFFSET]), pa.int32()),
        S.CELL_TOWERS: towers,
        S.WIFI_ACCESS_POINTS: _wifi_lists(buf, wifi, iv[I_WIFI], idx),
        S.PAYLOAD: _string_array(
            buf, rows(sl[2 * S_PAYLOAD]), rows(sl[2 * S_PAYLOAD + 1]), typ=pa.binary()
        ),
        S.SOURCE: source_column,
        S.OFFSET: pa.array(offset, pa.int64()),
        S.LENGTH: pa.array(length, pa.int32()),
    }
    return pa.Table.from_pydict(columns, schema=S.MESSAGES)


def _rejects_table(buf, r_s, r_e, reason, proto, seg, mapping, source):
    if r_s.shape[0] == 0:  # (most chunks: the table of none, made once)
        return empty_rejects()
    columns = {
        S.SOURCE: _source_column(mapping, source, r_s),
        S.OFFSET: pa.array(mapping.src(r_s), pa.int64()),
        S.LENGTH: pa.array(mapping.src_len(r_s, r_e).astype(np.int32), pa.int32()),
        S.REASON: _dict_strings(reason, _REASON_DICT),
        S.PROTOCOL: _dict_strings(proto, _PROTO_DICT, null_code=0),
        S.RECEIVED_AT: _times(mapping.received(seg, np.maximum(r_e - 1, r_s))),
        S.RAW: _string_array(buf, r_s, r_e, typ=pa.binary(), cap=RAW_CAP),
    }
    return pa.Table.from_pydict(columns, schema=S.REJECTS)


def _fill_orphans(messages, idx, orphans, f_seg, segs, known):
    """Device ids of ``$PHD`` chunks that open a chunk, from the connection's earlier frames.
    Returns the messages and ``{frame: device id}`` of the frames given one."""
    if orphans.shape[0] == 0 or not known:
        return messages, {}
    # a photo chunk that opens a connection's frames here takes the device the connection
    # had in an earlier chunk, kept under the key of the connection's first segment; one
    # taken again after a close had none. A connection's first segment is one that does
    # not go on from an earlier one of its key, or starts it afresh (cut_segments numbers
    # the connections so).
    opens = np.flatnonzero((segs.prev < 0) | segs.fresh)
    seg_key = np.where(segs.fresh[opens], -1, segs.key[opens])[segs.conn]
    row_of = np.empty(f_seg.shape[0], np.int64)
    row_of[idx] = np.arange(idx.shape[0])
    rows = row_of[orphans]
    devices = messages.column(S.DEVICE_ID).to_pylist()
    filled = {}
    for row, frame in zip(rows.tolist(), orphans.tolist(), strict=True):
        dev = known.get(int(seg_key[f_seg[frame]]))
        if dev is not None:
            devices[row] = dev
            filled[frame] = dev
    if not filled:
        return messages, filled
    col = messages.schema.get_field_index(S.DEVICE_ID)
    field = S.MESSAGES.field(S.DEVICE_ID)
    return messages.set_column(col, field, pa.array(devices, pa.string())), filled


def _remember_devices(buf, dev_s, dev_e, ok, f_seg, f_off, filled, segs, known):
    """The last device id of each connection, from the messages (frames ``ok``, their ids
    at ``buf[dev_s:dev_e]`` or in ``filled``) of segments that no close of it follows.
    Each connection's last segment is traced back (:func:`last_devices`); the messages'
    id column is not looked at. Kept in the order of the messages they come from."""
    usable = ok & (dev_s >= 0)
    if filled:
        usable[list(filled)] = True
    targets = np.flatnonzero(segs.last_of_key())
    frames = last_devices(f_seg, f_off, usable, segs.prev, segs.live(), targets)
    found = np.flatnonzero(frames >= 0)
    if found.shape[0] == 0:
        return
    order = np.argsort(frames[found])  # as the messages come
    frames = frames[found][order]
    keys = segs.key[targets[found][order]].tolist()
    devices = _string_array(buf, dev_s[frames], dev_e[frames]).to_pylist()
    if filled:  # (photo chunks given their connection's device)
        for i, frame in enumerate(frames.tolist()):
            if frame in filled:
                devices[i] = filled[frame]
    known.update(zip(keys, devices, strict=True))
