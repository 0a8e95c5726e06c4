"""Framing: cut a byte stream into frames, separators and rejected stretches.

One serial state machine over the bytes of each *segment* (a stream, a log line, or the
reassembled bytes of one tracker-server session). A segment marked not-final may end in
the middle of a frame: the kernel stops there and reports how far it got, so the caller
can carry the tail over to the next chunk. Every decision needs only bytes up to a bounded
distance (:data:`MAX_TEXT_FRAME`), so cutting a stream into chunks anywhere gives the
same frames as decoding it whole.

Frame kinds recognised at a frame start:

* ``$``: a PT-502 sentence up to CR or LF (or up to the next ``$`` / ``0xBF``, which only
  start frames); ``$PHD<offset>,<length>,`` is followed by ``length`` binary bytes, at
  most :data:`MAX_PHOTO_CHUNK`. Unless a ``0xBF`` header vouches for the chunk, data that
  holds the start of a frame (``$ABC,<digit>``, ``@G#@,``, ``@B#@|``) means the length
  lies: the header is a ``bad_photo`` reject and framing goes on right after it;
* ``0xBF`` + 4 bytes + ``$``: the PT-502 binary header in front of a sentence;
* ``@G#@`` / ``@B#@``: a PT-60 frame up to and including ``@R#@`` / ``@E#@`` (or the
  line end, in line logs);
* ``@`` + check byte + groups ``[field < 32][kept][length][length bytes]``: a compressed
  PT-502 sentence (see :mod:`._compressed_kernels`). It has no terminator: it ends where
  the next byte is not a field number above the last one.
"""

import numpy as np

from .._numba import helper, jit
from ._codes import (
    MAX_PHOTO_CHUNK,
    MAX_TEXT_FRAME,
    R_BAD_PHOTO,
    R_GARBAGE,
    R_TOO_LONG,
    R_TRUNCATED,
    R_UNKNOWN_PROTOCOL,
)
from ._text_kernels import HIGH_BITS, ONES, ZERO, byte_at, grow_i8, grow_i32, grow_i64, load_word

__all__ = ["frame_segments"]

_NEED_MORE = 0
_FRAME = 1
_REJECT = 2

_CR = 13
_LF = 10
_DOLLAR = 36
_AT = 64
_HDR = 0xBF
#: a word with no byte below this and no byte from 0x80 holds no byte a sentence stops at
_TEXT_STOPS = ONES * np.uint64(_DOLLAR + 1)
#: the same for a PT-60 frame: CR and LF are below this; '@' in every byte
_PT60_STOPS = ONES * np.uint64(_CR + 1)
_ATS = ONES * np.uint64(_AT)


@helper
def _is_pt60_start(buf, j):
    # caller guarantees j + 4 <= len
    return (
        byte_at(buf, j) == _AT
        and (byte_at(buf, j + 1) == 71 or byte_at(buf, j + 1) == 66)  # G or B
        and byte_at(buf, j + 2) == 35  # '#'
        and byte_at(buf, j + 3) == _AT
    )


@helper
def _is_pt60_end(buf, j):
    return (
        byte_at(buf, j) == _AT
        and (byte_at(buf, j + 1) == 82 or byte_at(buf, j + 1) == 69)  # R or E
        and byte_at(buf, j + 2) == 35
        and byte_at(buf, j + 3) == _AT
    )


@helper
def _is_compressed_start(buf, j, e):
    """``@`` + check byte + a field number (below 32): caller checked it is no PT-60 start
    and that ``j + 3 <= e``."""
    return byte_at(buf, j) == _AT and byte_at(buf, j + 2) < 32


@helper(inline=True)
def _starts_frame(buf, j, e, final):
    """Whether a frame (or a separator) starts at j: 1 yes, 0 no, -1 cannot tell yet."""
    c = byte_at(buf, j)
    if c == _CR or c == _LF or c == _DOLLAR:
        return 1
    if c == _AT:
        if j + 4 > e:
            if j + 3 <= e and _is_compressed_start(buf, j, e):
                return 1
            return 0 if final else -1
        return 1 if _is_pt60_start(buf, j) or _is_compressed_start(buf, j, e) else 0
    if c == _HDR:
        if j + 6 > e:
            return 0 if final else -1
        if byte_at(buf, j + 5) == _DOLLAR:
            return 1
        if byte_at(buf, j + 5) == _AT:
            if j + 8 > e:
                return 0 if final else -1
            return 1 if _is_compressed_start(buf, j + 5, e) else 0
        return 0
    return 0


@helper
def _cut_text(buf, i, e, final):
    """A PT-502 text sentence starting at i. Returns (kind, end, next, reason)."""
    limit = min(e, i + MAX_TEXT_FRAME)
    j = i + 1
    while j < limit:
        stop = min(j + 8, limit)
        if stop == j + 8:
            # eight bytes at a time: a word whose bytes are all above '$' and below 0x80
            # (every stop byte is <= '$' or is 0xBF) is passed over in one test
            x = load_word(buf, j)
            if ((x - _TEXT_STOPS) | x) & HIGH_BITS == 0:
                j = stop
                continue
        for m in range(j, stop):
            c = byte_at(buf, m)
            if c <= _DOLLAR or c == _HDR:
                if c == _CR or c == _LF or c == _DOLLAR or c == _HDR:
                    return _FRAME, m, m, 0
        j = stop
    if limit == e and e - i < MAX_TEXT_FRAME:
        if final:
            return _FRAME, e, e, 0
        return _NEED_MORE, 0, 0, 0
    return _REJECT, limit, limit, R_TOO_LONG


@helper
def _sentence_inside(buf, s, e):
    """Whether a frame starts in ``buf[s:e]`` (the whole signature inside): ``$`` three
    capitals ``,`` and a digit (a PT-502 sentence and its device id), ``@G#@,`` or
    ``@B#@|``. Random photo bytes hold one about once in a billion chunks."""
    for j in range(s, e - 5):
        c = byte_at(buf, j)
        if c == _DOLLAR:
            ok = True
            for m in range(1, 4):
                if byte_at(buf, j + m) < 65 or byte_at(buf, j + m) > 90:
                    ok = False
                    break
            if ok and byte_at(buf, j + 4) == 44 and 48 <= byte_at(buf, j + 5) <= 57:
                return True
        elif c == _AT and _is_pt60_start(buf, j):
            family, sep = byte_at(buf, j + 1), byte_at(buf, j + 4)
            if (family == 71 and sep == 44) or (family == 66 and sep == 124):
                return True
    return False


@helper
def _cut_photo(buf, i, e, final, vouched):
    """``$PHD<offset>,<length>,<length bytes>``; falls back to text when the header is odd."""
    j = i + 4
    fields = 0
    length = 0
    ndig = 0
    while j < e and j < i + 24:
        c = byte_at(buf, j) + ZERO
        if c == 44:  # ','
            if ndig == 0:
                return _cut_text(buf, i, e, final)
            fields += 1
            if fields == 2:
                break
            ndig = 0
            length = 0
        elif 48 <= c <= 57:
            ndig += 1
            length = length * 10 + (c - 48)
        else:
            return _cut_text(buf, i, e, final)
        j += 1
    if fields < 2:
        if j >= e and not final and j < i + 24:
            return _NEED_MORE, 0, 0, 0
        return _cut_text(buf, i, e, final)
    if length > MAX_PHOTO_CHUNK:
        # the data cannot be skipped safely: reject the header, resync on what follows
        return _REJECT, j + 1, j + 1, R_BAD_PHOTO
    end = j + 1 + length
    if not vouched and _sentence_inside(buf, j + 1, min(end, e)):
        return _REJECT, j + 1, j + 1, R_BAD_PHOTO
    if end > e:
        if final:
            return _REJECT, e, e, R_TRUNCATED
        return _NEED_MORE, 0, 0, 0
    return _FRAME, end, end, 0


@helper(inline=True)
def _cut_dollar(buf, i, e, final, vouched):
    if i + 4 > e:
        if not final:
            return _NEED_MORE, 0, 0, 0
        return _cut_text(buf, i, e, final)
    if byte_at(buf, i + 1) == 80 and byte_at(buf, i + 2) == 72 and byte_at(buf, i + 3) == 68:  # PHD
        return _cut_photo(buf, i, e, final, vouched)
    return _cut_text(buf, i, e, final)


@helper(inline=True)
def _cut_pt60(buf, i, e, final):
    limit = min(e, i + MAX_TEXT_FRAME)
    j = i + 4
    while j < limit:
        if j + 8 <= limit:
            # eight bytes at a time: a word with no byte below CR + 1 and no '@' holds no
            # byte a frame stops at (exact tests of "some byte is below n" and "some byte
            # is zero")
            x = load_word(buf, j)
            at = x ^ _ATS
            if ((x - _PT60_STOPS) & ~x | (at - ONES) & ~at) & HIGH_BITS == 0:
                j += 8
                continue
        c = byte_at(buf, j)
        if c <= _CR and (c == _CR or c == _LF):
            return _FRAME, j, j, 0
        if c == _AT:
            if j + 4 > e:
                if final:
                    j += 1
                    continue
                return _NEED_MORE, 0, 0, 0
            if _is_pt60_end(buf, j):
                return _FRAME, j + 4, j + 4, 0
            if _is_pt60_start(buf, j):
                return _FRAME, j, j, 0
        j += 1
    if limit == e and e - i < MAX_TEXT_FRAME:
        if final:
            return _FRAME, e, e, 0
        return _NEED_MORE, 0, 0, 0
    return _REJECT, limit, limit, R_TOO_LONG


@helper
def _cut_compressed(buf, i, e, final):
    """A compressed PT-502 sentence at i: walk its groups to the first byte that is not a
    field number above the last one."""
    j = i + 2
    prev = -1
    while True:
        if j - i > MAX_TEXT_FRAME:
            return _REJECT, j, j, R_TOO_LONG
        if j >= e:
            if final:
                return _FRAME, j, j, 0
            return _NEED_MORE, 0, 0, 0
        f = byte_at(buf, j)
        if f >= 32 or f <= prev:
            return _FRAME, j, j, 0
        if j + 3 > e:
            if final:
                return _REJECT, e, e, R_TRUNCATED
            return _NEED_MORE, 0, 0, 0
        end = j + 3 + (byte_at(buf, j + 2) + ZERO)
        if end > e:
            if final:
                return _REJECT, e, e, R_TRUNCATED
            return _NEED_MORE, 0, 0, 0
        prev = f
        j = end


@helper
def _cut_garbage(buf, i, e, final, line_start):
    limit = min(e, i + MAX_TEXT_FRAME)
    j = i + 1
    while j < limit:
        s = _starts_frame(buf, j, e, final)
        if s == -1:
            return _NEED_MORE, 0, 0, 0
        if s == 1:
            break
        j += 1
    if j == limit and limit == e and e - i < MAX_TEXT_FRAME and not final:
        return _NEED_MORE, 0, 0, 0
    whole_line = line_start and (j == e or byte_at(buf, j) == _CR or byte_at(buf, j) == _LF)
    return _REJECT, j, j, (R_UNKNOWN_PROTOCOL if whole_line else R_GARBAGE)


@helper(inline=True)
def _frame_into(buf, seg_s, seg_e, seg_final, seg_line_start, seg_cont, k, i, line_start,
                f_off, f_s, f_e, f_seg, nf, r_s, r_e, r_reason, r_seg, nr, consumed, end_ls):
    """The framing loop, resumable: it returns when an output array is full so that the
    caller can grow it. (Growing arrays inside the loop would make numba count references
    on every iteration, which costs more than the framing itself.)"""
    nseg = seg_s.shape[0]
    n_compressed = 0
    while k < nseg:
        e = seg_e[k]
        final = seg_final[k] != 0
        while i < e:
            if nf == f_off.shape[0] or nr == r_s.shape[0]:
                return k, i, line_start, nf, nr, n_compressed, False
            c = byte_at(buf, i)
            if c == _CR or c == _LF:
                i += 1
                line_start = True
                continue
            start = i
            content = i
            compressed = False
            if c == _DOLLAR:
                kind, fend, nxt, reason = _cut_dollar(buf, i, e, final, False)
            elif c == _HDR:
                if i + 6 > e:
                    if not final:
                        break
                    kind, fend, nxt, reason = _REJECT, e, e, R_TRUNCATED
                elif byte_at(buf, i + 5) == _DOLLAR:
                    content = i + 5
                    kind, fend, nxt, reason = _cut_dollar(buf, content, e, final, True)
                elif byte_at(buf, i + 5) == _AT and i + 8 > e and not final:
                    break
                elif (byte_at(buf, i + 5) == _AT and i + 8 <= e
                      and _is_compressed_start(buf, i + 5, e)):
                    content = i + 5
                    compressed = True
                    kind, fend, nxt, reason = _cut_compressed(buf, content, e, final)
                else:
                    kind, fend, nxt, reason = _cut_garbage(buf, i, e, final, line_start)
            elif c == _AT and i + 4 <= e and _is_pt60_start(buf, i):
                kind, fend, nxt, reason = _cut_pt60(buf, i, e, final)
            elif c == _AT and i + 3 <= e and _is_compressed_start(buf, i, e):
                compressed = True
                kind, fend, nxt, reason = _cut_compressed(buf, i, e, final)
            elif c == _AT and i + 4 > e and not final:
                break
            else:
                kind, fend, nxt, reason = _cut_garbage(buf, i, e, final, line_start)
            if kind == _NEED_MORE:
                break
            if kind == _FRAME:
                f_off[nf] = start
                f_s[nf] = content
                f_e[nf] = fend
                f_seg[nf] = k
                nf += 1
                if compressed and fend - content >= 3:  # (what the expansion takes up)
                    n_compressed += 1
            else:
                r_s[nr] = start
                r_e[nr] = fend
                r_reason[nr] = reason
                r_seg[nr] = k
                nr += 1
            i = nxt
            # a compressed sentence stands for a whole line, line end included (a PT-60
            # frame does not: what follows its terminator is on the same line)
            line_start = kind == _FRAME and compressed
        consumed[k] = i
        end_ls[k] = line_start  # where a later chunk goes on: the state at consumed[k]
        k += 1
        if k < nseg:
            i = seg_s[k]
            line_start = _line_start_of(seg_line_start, seg_cont, end_ls, k)
    return k, i, line_start, nf, nr, n_compressed, True


@helper(inline=True)
def _line_start_of(seg_line_start, seg_cont, end_ls, k):
    """Whether segment k starts at a line start: as the segment it continues ended (an
    earlier one), or as the caller says."""
    if seg_cont[k] >= 0:
        return end_ls[seg_cont[k]] != 0
    return seg_line_start[k] != 0


@jit
def frame_segments(buf, seg_s, seg_e, seg_final, seg_line_start, seg_cont):
    """Cut every segment ``buf[seg_s[k]:seg_e[k]]`` into frames and rejects.

    ``seg_cont[k]``, when not -1, is an earlier segment that segment k goes on from (the
    same connection's bytes, other connections' in between): the framer starts k in the
    line state that segment ended in. The caller makes sure it ended at a frame boundary
    (see ``decode_pieces``); ``seg_line_start[k]`` gives the state otherwise.

    Returns ``(f_off, f_s, f_e, f_seg, r_s, r_e, r_reason, r_seg, consumed, n_compressed,
    end_ls)``:
    frame k occupies ``buf[f_off[k]:f_e[k]]`` (the binary header included) and its text is
    ``buf[f_s[k]:f_e[k]]``; reject k is ``buf[r_s[k]:r_e[k]]``; ``consumed[k]`` is where
    segment k stopped (its end unless it is not final and ends inside a frame);
    ``n_compressed`` counts the compressed sentences among the frames (what
    :mod:`._compressed_kernels` expands); ``end_ls[k]`` is whether ``consumed[k]`` is at a line
    start as the framer sees it, which is how a later chunk of that segment must begin.
    """
    nseg = seg_s.shape[0]
    cap = 16 + nseg + (buf.shape[0] >> 7)
    f_off = np.empty(cap, np.int64)
    f_s = np.empty(cap, np.int64)
    f_e = np.empty(cap, np.int64)
    f_seg = np.empty(cap, np.int32)
    rcap = 16
    r_s = np.empty(rcap, np.int64)
    r_e = np.empty(rcap, np.int64)
    r_reason = np.empty(rcap, np.int8)
    r_seg = np.empty(rcap, np.int32)
    consumed = np.empty(nseg, np.int64)
    end_ls = np.empty(nseg, np.int8)
    # typed, not literal, zeros: a literal would compile _frame_into twice on a fresh install
    k = np.int64(0)
    i = seg_s[0] if nseg > 0 else np.int64(0)
    line_start = _line_start_of(seg_line_start, seg_cont, end_ls, 0) if nseg > 0 else True
    nf = np.int64(0)
    nr = np.int64(0)
    n_compressed = np.int64(0)
    while True:
        k, i, line_start, nf, nr, more, done = _frame_into(
            buf, seg_s, seg_e, seg_final, seg_line_start, seg_cont, k, i, line_start,
            f_off, f_s, f_e, f_seg, nf, r_s, r_e, r_reason, r_seg, nr, consumed, end_ls,
        )
        n_compressed += more
        if done:
            break
        if nf == f_off.shape[0]:
            f_off = grow_i64(f_off, nf)
            f_s = grow_i64(f_s, nf)
            f_e = grow_i64(f_e, nf)
            f_seg = grow_i32(f_seg, nf)
        if nr == r_s.shape[0]:
            r_s = grow_i64(r_s, nr)
            r_e = grow_i64(r_e, nr)
            r_reason = grow_i8(r_reason, nr)
            r_seg = grow_i32(r_seg, nr)
    return (
        f_off[:nf],
        f_s[:nf],
        f_e[:nf],
        f_seg[:nf],
        r_s[:nr],
        r_e[:nr],
        r_reason[:nr],
        r_seg[:nr],
        consumed,
        n_compressed,
        end_ls,
    )
