"""Line-oriented log layouts: receive-time prefixed line logs and tracker-server logs."""

import numpy as np

from .._numba import helper, jit
from ._text_kernels import (
    INT64_NULL,
    ZERO,
    byte_at,
    days_from_civil,
    find_byte,
    first_byte_set,
    load_word,
    parse_uint,
    valid_date,
)

__all__ = [
    "MAX_LINE_BYTES",
    "L_DATA",
    "L_REPLY",
    "L_OTHER",
    "L_BAD",
    "L_LONG",
    "L_CLOSE",
    "P_TEXT",
    "P_HEX",
    "P_ODD_HEX",
    "P_ESCAPE",
    "P_END",
    "scan_lines",
    "scan_traccar",
    "read_pieces",
    "piece_starts",
    "resolve_text",
    "split_escapes",
    "gather_pieces",
    "group_by_key",
    "previous_of_key",
    "last_of_key",
    "dictionary_codes",
    "piece_pauses",
    "lay_out",
    "cut_segments",
]

_MS_DAY = 86_400_000


@helper(inline=True)
def _datetime_ms(buf, s, e, sep, memo):
    """``YYYY-MM-DD<sep>HH:MM:SS[.fff|,fff]`` at s. Returns (ms, end) or (INT64_NULL, s).

    ``memo`` holds where the date was last read and that day's start (``memo[0]`` is -1
    before the first): the lines of a log share their date for hours, so a date written
    as the last one was is not read again."""
    if e - s < 19:
        return INT64_NULL, s
    if byte_at(buf, s + 4) != 45 or byte_at(buf, s + 7) != 45 or byte_at(buf, s + 10) != sep:
        return INT64_NULL, s
    if byte_at(buf, s + 13) != 58 or byte_at(buf, s + 16) != 58:
        return INT64_NULL, s
    m = memo[0]
    if (m >= 0 and load_word(buf, s) == load_word(buf, m)
            and byte_at(buf, s + 8) == byte_at(buf, m + 8)
            and byte_at(buf, s + 9) == byte_at(buf, m + 9)):
        day = memo[1]
    else:
        y = parse_uint(buf, s, s + 4)
        mo = parse_uint(buf, s + 5, s + 7)
        d = parse_uint(buf, s + 8, s + 10)
        if y < 0 or mo < 0 or d < 0 or not valid_date(y, mo, d):
            return INT64_NULL, s
        day = days_from_civil(y, mo, d) * _MS_DAY
        memo[0] = s
        memo[1] = day
    h = parse_uint(buf, s + 11, s + 13)
    mi = parse_uint(buf, s + 14, s + 16)
    se = parse_uint(buf, s + 17, s + 19)
    if h < 0 or mi < 0 or se < 0 or h > 23 or mi > 59 or se > 60:
        return INT64_NULL, s
    ms = 0
    p = s + 19
    if p < e and (byte_at(buf, p) == 46 or byte_at(buf, p) == 44):
        p += 1
        nd = 0
        while p < e and 48 <= byte_at(buf, p) <= 57:
            if nd < 3:
                ms = ms * 10 + (byte_at(buf, p) + ZERO - 48)
            nd += 1
            p += 1
        if nd == 0:
            return INT64_NULL, s
        for _ in range(nd, 3):
            ms *= 10
    return day + ((h * 60 + mi) * 60 + se) * 1000 + ms, p


#: a line longer than this is cut there: an endless line must not hold unbounded memory
MAX_LINE_BYTES = 1 << 20


_LF_WORD = np.uint64(0x0A0A0A0A0A0A0A0A)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)


@helper
def _lf_bits(word):
    """0x80 in each byte of ``word`` (8 bytes of the input) that is LF, 0 elsewhere."""
    x = word ^ _LF_WORD
    return ~(((x & _LOW7) + _LOW7) | x | _LOW7)


#: words (of 8 bytes) :func:`newlines` reads between checks that its result has room
_LF_BLOCK_WORDS = 4096


@helper(allocates=True)
def newlines(buf, s0, e0):
    """Positions of every LF in ``buf[s0:e0]``, ascending.

    Eight bytes at a time: a word holding no LF (most of them, in lines of ~100 bytes) is
    passed over with a few integer operations. One pass: before each block of
    :data:`_LF_BLOCK_WORDS` words the result is grown, if need be, to hold an LF at every
    byte of the block. (Counting them first, to make the result once at its size, read the
    input twice: 1.5 times as long.)
    """
    w0 = (s0 + 7) // 8 * 8  # the whole words: buf[w0:w1]
    w1 = e0 // 8 * 8
    if w1 <= w0:
        w0 = w1 = e0  # none: every byte is read one by one (fewer than 16)
    words = buf[: e0 // 8 * 8].view(np.uint64)
    out = np.empty(16 + (e0 - s0) // 64, np.int64)
    k = 0
    for i in range(s0, w0):
        if byte_at(buf, i) == 10:
            out[k] = i
            k += 1
    for b in range(w0 // 8, w1 // 8, _LF_BLOCK_WORDS):
        end = min(w1 // 8, b + _LF_BLOCK_WORDS)
        if k + 8 * (end - b) + 8 > out.shape[0]:  # (and the last bytes after the block)
            out = _grown(out, k, max(2 * out.shape[0], k + 8 * (end - b) + 8))
        for w in range(b, end):
            lfs = _lf_bits(words[w])
            while lfs != 0:  # each LF of the word, lowest first
                out[k] = w * 8 + first_byte_set(lfs)
                k += 1
                lfs &= lfs - np.uint64(1)
    for i in range(w1, e0):
        if byte_at(buf, i) == 10:
            out[k] = i
            k += 1
    return out[:k]


@helper(allocates=True)
def _grown(a, n, size):
    """A new array of ``size`` items that starts with ``a[:n]``."""
    out = np.empty(size, a.dtype)
    out[:n] = a[:n]
    return out


@jit
def scan_lines(buf, s0, e0, final):
    """Split ``buf[s0:e0]`` into lines of the ``lines`` format.

    Each line may start with an ISO-8601 receive time (``2026-11-02T07:10:27.948Z``,
    ``Z`` or ``±hh:mm``) and a space. Returns ``(pay_s, pay_e, recv_ms, line_s, consumed)``;
    the payload excludes the prefix and the CR/LF; ``consumed`` is the end of the last
    complete line (everything when ``final``).
    """
    lf = newlines(buf, s0, e0)  # one pass finds every line end
    cap = 1 + (e0 - s0) // MAX_LINE_BYTES + lf.shape[0]
    pay_s = np.empty(cap, np.int64)
    pay_e = np.empty(cap, np.int64)
    recv = np.empty(cap, np.int64)
    line_s = np.empty(cap, np.int64)
    memo = np.empty(2, np.int64)  # see _datetime_ms
    memo[0] = -1
    n = 0
    k = 0  # the next line end in lf
    i = s0
    while i < e0:
        # the line's LF, or the cut of an overlong line, or (unfinished) wait for more
        limit = min(e0, i + MAX_LINE_BYTES)
        if k < lf.shape[0] and lf[k] < limit:
            nl = lf[k]
            nxt = nl + 1
            k += 1
        elif limit == i + MAX_LINE_BYTES:
            nl = nxt = limit
        elif final:
            nl = nxt = e0
        else:
            break
        end = nl
        while end > i and byte_at(buf, end - 1) == 13:
            end -= 1
        t, p = _datetime_ms(buf, i, end, 84, memo)  # 'T'
        if t != INT64_NULL:
            ok = True
            if p < end and byte_at(buf, p) == 90:  # Z
                p += 1
            elif (p + 6 <= end and (byte_at(buf, p) == 43 or byte_at(buf, p) == 45)
                  and byte_at(buf, p + 3) == 58):
                oh = parse_uint(buf, p + 1, p + 3)
                om = parse_uint(buf, p + 4, p + 6)
                if oh < 0 or om < 0:
                    ok = False
                else:
                    off = (oh * 60 + om) * 60000
                    t = t - off if byte_at(buf, p) == 43 else t + off
                    p += 6
            if ok and p < end and byte_at(buf, p) == 32:
                p += 1
            elif ok and p == end:
                pass
            else:
                ok = False
            if not ok:
                t = INT64_NULL
                p = i
        else:
            p = i
        pay_s[n] = p
        pay_e[n] = end
        recv[n] = t
        line_s[n] = i
        n += 1
        i = nxt
    return pay_s[:n], pay_e[:n], recv[:n], line_s[:n], i


#: what a tracker-server log line is (``kind`` of :func:`scan_traccar`)
L_DATA, L_REPLY, L_OTHER, L_BAD, L_LONG, L_CLOSE = 0, 1, 2, 3, 4, 5


@helper
def _device_shaped(buf, s, e):
    """Whether ``buf[s:e]`` holds ``[...< ...] payload``: the layout of a device read,
    whatever the state of its time stamp or session id."""
    b = find_byte(buf, s, e, 91)  # '['
    close = find_byte(buf, b, e, 93)  # ']'
    if close >= e - 1:
        return False
    for j in range(b + 1, close - 1):
        if (byte_at(buf, j) == 60 and byte_at(buf, j - 1) == 32
                and byte_at(buf, j + 1) == 32):  # ' < '
            return True
    return False


@helper(inline=True)
def _wall_to_utc(w, tz_utc, tz_off, last_utc):
    """UTC ms of the wall-clock time ``w`` (ms) in a zone given as offset changes.

    ``tz_off[k]`` is the offset (ms) in effect from the instant ``tz_utc[k]``; the first
    entry is in effect since the beginning of time. A wall time that happens twice (clocks
    set back) is its first occurrence unless that lies more than 30 minutes before the
    previous line (``last_utc``): a log runs forward, so it has passed into the second. A
    wall time that never happens (clocks set forward) is read with the offset before the
    change.
    """
    n = tz_utc.shape[0]
    if n == 1:
        return w - tz_off[0]
    day = np.int64(86_400_000)
    k0 = max(np.searchsorted(tz_utc, w - day, side="right") - 1, 0)
    k1 = max(np.searchsorted(tz_utc, w + day, side="right") - 1, 0)
    o0 = tz_off[k0]
    o1 = tz_off[k1]
    u0 = w - o0
    u1 = w - o1
    ok0 = tz_off[max(np.searchsorted(tz_utc, u0, side="right") - 1, 0)] == o0
    ok1 = tz_off[max(np.searchsorted(tz_utc, u1, side="right") - 1, 0)] == o1
    if ok0 and ok1 and u0 != u1:
        first = min(u0, u1)
        if last_utc != INT64_NULL and first < last_utc - 1_800_000:
            return max(u0, u1)
        return first
    if ok1:
        return u1
    return u0


#: the value of each byte as a hex digit, -1 for a byte that is none
_HEX_VALUE = np.full(256, -1, np.int64)
_HEX_VALUE[48:58] = np.arange(10)
_HEX_VALUE[97:103] = np.arange(10, 16)
_HEX_VALUE[65:71] = np.arange(10, 16)


@helper
def _hexval(c):
    """The value of the hex digit ``c`` (a byte), or -1. Looked up, not compared: which of
    digit and letter a byte of hex is cannot be predicted, and a mispredicted branch per
    byte cost more than the lookup (hex decoding and classifying took 4 ns a byte)."""
    return _HEX_VALUE[c]


@helper(inline=True)
def _session(buf, b, end, term):
    """Session key of ``[T1a2b3c4d`` / ``[1a2b3c4d`` at ``b`` (the ``[``), followed by the
    byte ``term``: the id's hex value, plus ``1 << 48`` for UDP (``U``). Returns ``(key,
    index of term)`` or ``(-1, b)`` when malformed."""
    j = b + 1
    udp = False
    if j < end and (byte_at(buf, j) == 84 or byte_at(buf, j) == 85):  # T / U
        udp = byte_at(buf, j) == 85
        j += 1
    v = np.int64(0)
    nd = 0
    while j < end and nd < 13:
        d = _hexval(byte_at(buf, j))
        if d < 0:
            break
        v = v * 16 + d
        nd += 1
        j += 1
    if nd == 0 or nd > 12 or j >= end or byte_at(buf, j) != term:
        return np.int64(-1), b
    return v + (np.int64(1) << np.int64(48) if udp else np.int64(0)), j


@helper
def _closed(buf, b, end):
    """The session key of a line ending in ``[<session>] disconnected`` (``b``: the ``[``),
    what a tracker server writes when a connection has closed; -1 for any other line."""
    close = end - 14
    if close <= b + 1 or byte_at(buf, close) != 93:  # ']'
        return np.int64(-1)
    for q in range(13):
        if byte_at(buf, close + 1 + q) != _DISCONNECTED[q]:
            return np.int64(-1)
    v, j = _session(buf, b, end, 93)
    return v if j == close else np.int64(-1)


_DISCONNECTED = np.frombuffer(b" disconnected", np.uint8).copy()


@jit
def scan_traccar(buf, s0, e0, final, cont, tz_utc, tz_off, last_utc):
    """Split a tracker-server log into lines and read each one's layout::

        2026-11-02 07:10:27  INFO: [T1a2b3c4d: pt502 < 10.0.0.5] 24504f53...   (5.x, 6.x)
        2019-05-13 10:01:02  INFO: [1a2b3c4d: pt502 < 10.0.0.5] HEX: 24504f53... (4.x)
        2017-01-01 10:00:00  INFO: [7D4E1731: 5017 < 10.0.0.5] HEX: 24504f53...  (3.x)
        2026-11-02 07:10:29  INFO: [T1a2b3c4d] disconnected

    The time stamp is wall-clock time in the server's zone (``tz_utc``, ``tz_off``: see
    :func:`_wall_to_utc`). ``cont`` says that ``s0`` lies inside a line cut at
    :data:`MAX_LINE_BYTES`.

    Returns ``(kind, recv_ms, key, pay_s, pay_e, line_s, consumed, cont, last_utc)``.
    ``kind`` is ``L_DATA`` for device data (``<``), ``L_REPLY`` for a server reply
    (``>``), ``L_OTHER`` for any other log line, ``L_BAD`` for a line with the layout of a
    device read whose time stamp or session cannot be read, ``L_LONG`` for a piece of a line
    longer than :data:`MAX_LINE_BYTES` (no network read is that long); for the last two the
    payload range is the whole line. ``L_CLOSE`` is the line a server writes when a
    connection has closed (``[T1a2b3c4d] disconnected``), with an empty payload range at its
    end. ``key`` identifies the session: the id's hex value, plus ``1 << 48`` for UDP
    (``U…``).
    """
    lf = newlines(buf, s0, e0)  # one pass finds every line end: payloads are not re-read
    cap = 1 + (e0 - s0) // MAX_LINE_BYTES + lf.shape[0]
    kind = np.empty(cap, np.int8)
    recv = np.empty(cap, np.int64)
    key = np.empty(cap, np.int64)
    pay_s = np.empty(cap, np.int64)
    pay_e = np.empty(cap, np.int64)
    line_s = np.empty(cap, np.int64)
    memo = np.empty(2, np.int64)  # see _datetime_ms
    memo[0] = -1
    n = 0
    k_lf = 0  # the next line end in lf
    i = s0
    while i < e0:
        limit = min(e0, i + MAX_LINE_BYTES)
        cut = False
        if k_lf < lf.shape[0] and lf[k_lf] < limit:
            nl = lf[k_lf]
            nxt = nl + 1
            k_lf += 1
        elif limit == i + MAX_LINE_BYTES:
            nl = nxt = limit
            cut = True
        elif final:
            nl = nxt = e0
        else:
            break
        end = nl
        while end > i and (byte_at(buf, end - 1) == 13 or byte_at(buf, end - 1) == 32):
            end -= 1
        k = L_OTHER
        ps = end
        pe = end
        sess = np.int64(-1)
        t = INT64_NULL
        if cut or cont:
            k = L_LONG
            ps = i
            pe = nl if cut else end
        else:
            w, p = _datetime_ms(buf, i, end, 32, memo)
            if w != INT64_NULL:
                t = _wall_to_utc(w, tz_utc, tz_off, last_utc)
                last_utc = t
                b = find_byte(buf, p, end, 91)  # '['
                v, j = _session(buf, b, end, 58)  # ':'
                if v < 0:
                    sess = _closed(buf, b, end)
                    if sess >= 0:
                        k = L_CLOSE
                    elif _device_shaped(buf, i, end):
                        k = L_BAD
                else:
                    close = find_byte(buf, j, end, 93)  # ']'
                    d = j + 1
                    while d < close and byte_at(buf, d) == 32:
                        d += 1
                    while d < close and byte_at(buf, d) != 32:  # protocol name, or port (3.x)
                        d += 1
                    while d < close and byte_at(buf, d) == 32:
                        d += 1
                    if d < close and (byte_at(buf, d) == 60 or byte_at(buf, d) == 62):
                        ps = close + 1
                        if ps < end and byte_at(buf, ps) == 32:
                            ps += 1
                        # 3.x and 4.x write "HEX: " before the payload
                        if (ps + 5 <= end and byte_at(buf, ps) == 72 and byte_at(buf, ps + 1) == 69
                                and byte_at(buf, ps + 2) == 88 and byte_at(buf, ps + 3) == 58
                                and byte_at(buf, ps + 4) == 32):
                            ps += 5
                        if ps < end:
                            k = L_DATA if byte_at(buf, d) == 60 else L_REPLY
                            sess = v
                        else:
                            ps = end
                    elif _device_shaped(buf, i, end):
                        k = L_BAD
            elif _device_shaped(buf, i, end):
                k = L_BAD
            if k == L_BAD:
                ps = i
                pe = end
        kind[n] = k
        recv[n] = t
        key[n] = sess
        pay_s[n] = ps
        pay_e[n] = pe
        line_s[n] = i
        n += 1
        cont = cut
        i = nxt
    return kind[:n], recv[:n], key[:n], pay_s[:n], pay_e[:n], line_s[:n], i, cont, last_utc


#: classes of a tracker-server payload piece
#: (``P_END``: the empty piece that stands where a connection closed)
P_TEXT, P_HEX, P_ODD_HEX, P_ESCAPE, P_END = 0, 1, 2, 3, 4


@jit
def read_pieces(buf, p_s, p_e):
    """Tell each payload piece's class and decode it, in one pass over its bytes.

    ``P_HEX``: hex digits only, of even count, decoded; ``P_ODD_HEX``: hex digits of odd
    count (cannot be hex), nothing kept; ``P_TEXT``: anything else, kept as written but for
    the escapes ``\\r`` and ``\\n`` (:func:`_escape_at`), each one byte. Text frames start
    with ``$``, ``@`` or ``0xBF``, none a hex digit, so a payload made only of hex digits is
    hex, unless it continues a text frame: see :func:`resolve_text`.

    Returns ``(cls, out)``: ``out`` is what :func:`gather_pieces` makes of the pieces with
    these classes (odd ones left out), after :func:`split_escapes`; a piece read as hex is
    decoded while its digits are tested, and copied again as text if one is not a digit.
    """
    n = p_s.shape[0]
    room = 0
    for k in range(n):
        room += p_e[k] - p_s[k]
    out = np.empty(room, np.uint8)
    cls = np.empty(n, np.int8)
    pos = 0
    for k in range(n):
        s = p_s[k]
        e = p_e[k]
        m = (e - s) // 2
        if _unhex_tested(buf[s:s + 2 * m], out[pos:pos + m]):
            if (e - s) % 2 == 0:
                cls[k] = P_HEX
                pos += m
                continue
            if _hexval(byte_at(buf, e - 1)) >= 0:
                cls[k] = P_ODD_HEX
                continue
        cls[k] = P_TEXT
        i = s
        while i < e:
            c = _escape_at(buf, i, e)
            if c != 0:
                out[pos] = c
                i += 2
            else:
                out[pos] = byte_at(buf, i)
                i += 1
            pos += 1
    return cls, out[:pos]


@helper
def _escape_at(buf, i, e):
    """The byte the two-character escape at ``buf[i]`` stands for: ``\\r`` CR, ``\\n`` LF,
    as a tracker server writes them in a text read (ending before ``e``); 0 for none."""
    if byte_at(buf, i) == 92 and i + 1 < e:
        if byte_at(buf, i + 1) == 114:
            return 13
        if byte_at(buf, i + 1) == 110:
            return 10
    return 0


@helper
def _ends_frame(buf, s, e):
    """Whether a text read ends a frame: a line end (raw or written ``\\n``) or a PT-60
    terminator ``@R#@`` / ``@E#@``."""
    if e <= s:
        return False
    if byte_at(buf, e - 1) == 10:
        return True
    if e - s >= 2 and byte_at(buf, e - 2) == 92 and byte_at(buf, e - 1) == 110:
        return True
    return (e - s >= 4 and byte_at(buf, e - 4) == 64 and byte_at(buf, e - 2) == 35
            and byte_at(buf, e - 1) == 64
            and (byte_at(buf, e - 3) == 82 or byte_at(buf, e - 3) == 69))


@jit
def resolve_text(buf, p_s, p_e, cls, order, group_start, open_text):
    """Decide hex-digit-only pieces from their session's state; returns the new classes
    and the state each session is left in.

    Pieces are visited session by session (``order``; session g owns
    ``order[group_start[g]:group_start[g + 1]]``) in input order; ``open_text[g]`` says
    whether the session's previous read was text that left a frame open. The rule: a
    piece made only of hex digits is text when its session is inside an open text frame
    and the piece does not read, as hex, as the start of a frame (``$``, ``@``, ``0xBF``);
    otherwise it is hex. A text read leaves a frame open unless it ends in a line end or a
    PT-60 terminator; a hex read (binary, so never written as text) closes it, and so does
    the connection's end (``P_END``).
    """
    out = cls.copy()
    state = open_text.copy()
    for g in range(group_start.shape[0] - 1):
        st = state[g]
        for q in range(group_start[g], group_start[g + 1]):
            k = order[q]
            c = out[k]
            if (c == P_HEX or c == P_ODD_HEX) and st:
                starts = False
                if c == P_HEX and p_e[k] - p_s[k] >= 2:
                    b0 = _hexval(buf[p_s[k]]) * 16 + _hexval(buf[p_s[k] + 1])
                    starts = b0 == 36 or b0 == 64 or b0 == 191
                if not starts:
                    c = P_TEXT
                    out[k] = c
            if c == P_TEXT:
                st = not _ends_frame(buf, p_s[k], p_e[k])
            elif c == P_HEX or c == P_END:
                st = False
        state[g] = st
    return out, state


@jit
def split_escapes(p_s, p_e, cls, buf):
    """Cut text pieces around the two-character escapes ``\\r`` and ``\\n`` that a
    tracker-server writes for CR and LF; each escape becomes a ``P_ESCAPE`` piece (two
    source bytes for one byte, like hex). Returns ``(s, e, cls, parent)``."""
    n = p_s.shape[0]
    total = n
    for k in range(n):
        if cls[k] == P_TEXT:
            i = p_s[k]
            while i + 1 < p_e[k]:
                if _escape_at(buf, i, p_e[k]) != 0:
                    total += 2
                    i += 2
                else:
                    i += 1
    o_s = np.empty(total, np.int64)
    o_e = np.empty(total, np.int64)
    o_c = np.empty(total, np.int8)
    parent = np.empty(total, np.int64)
    m = 0
    for k in range(n):
        if cls[k] != P_TEXT:
            o_s[m] = p_s[k]
            o_e[m] = p_e[k]
            o_c[m] = cls[k]
            parent[m] = k
            m += 1
            continue
        a = p_s[k]
        i = a
        while i + 1 < p_e[k]:
            if _escape_at(buf, i, p_e[k]) != 0:
                if i > a:
                    o_s[m] = a
                    o_e[m] = i
                    o_c[m] = P_TEXT
                    parent[m] = k
                    m += 1
                o_s[m] = i
                o_e[m] = i + 2
                o_c[m] = P_ESCAPE
                parent[m] = k
                m += 1
                i += 2
                a = i
            else:
                i += 1
        if p_e[k] > a or a == p_s[k]:
            o_s[m] = a
            o_e[m] = p_e[k]
            o_c[m] = P_TEXT
            parent[m] = k
            m += 1
    return o_s[:m], o_e[:m], o_c[:m], parent[:m]


_FIBONACCI = np.uint64(0x9E3779B97F4A7C15)


@helper(allocates=True)
def _hash_table(n):
    """An empty open-addressing hash table for up to ``n`` keys (at most half full):
    ``(bits, slot_key, slot_value)``, ``1 << bits`` slots, each value -1 (not in use)."""
    bits = 4
    while (1 << bits) < 2 * n:
        bits += 1
    return bits, np.empty(1 << bits, np.int64), np.full(1 << bits, -1, np.int64)


@helper
def _slot(slot_key, slot_value, bits, key):
    """The slot of ``key`` in an open-addressing table of ``1 << bits`` slots, those in use
    holding a value of at least 0: the one holding it, or the empty one it goes into."""
    mask = (1 << bits) - 1
    j = np.int64((np.uint64(key) * _FIBONACCI) >> np.uint64(64 - bits))
    while slot_value[j] >= 0 and slot_key[j] != key:
        j = (j + 1) & mask
    return j


@jit
def previous_of_key(key):
    """Each item's previous item of the same ``key`` (-1 for the first of its key): one
    pass, with a hash table of each key's last item."""
    n = key.shape[0]
    bits, slot_key, slot_last = _hash_table(n)
    prev = np.empty(n, np.int64)
    for k in range(n):
        j = _slot(slot_key, slot_last, bits, key[k])
        prev[k] = slot_last[j]
        slot_key[j] = key[k]
        slot_last[j] = k
    return prev


@jit
def last_of_key(prev):
    """Which items are the last of their key, given each one's previous item of its key
    (``prev``, -1 for none): those no other item names as its previous. (A loop: numpy's
    mask, compaction and scatter took five times as long, four times per chunk.)"""
    last = np.ones(prev.shape[0], np.bool_)
    for k in range(prev.shape[0]):
        if prev[k] >= 0:
            last[prev[k]] = False
    return last


@helper(allocates=True)
def _first_seen_codes(key):
    """Each item's index among the distinct keys, and those keys in the order they first
    appear: one pass, with a hash table of the keys."""
    n = key.shape[0]
    bits, slot_key, slot_code = _hash_table(n)
    codes = np.empty(n, np.int32)
    distinct = np.empty(n, np.int64)
    m = 0
    for k in range(n):
        j = _slot(slot_key, slot_code, bits, key[k])
        if slot_code[j] < 0:
            slot_code[j] = m
            slot_key[j] = key[k]
            distinct[m] = key[k]
            m += 1
        codes[k] = slot_code[j]
    return codes, distinct[:m]


@jit
def dictionary_codes(key):
    """A dictionary encoding of ``key``: each item's index among the distinct keys, and
    those keys in the order they first appear."""
    return _first_seen_codes(key)


@jit
def piece_pauses(recv, prev, dgram, brk, nc, clock, before, opens, last, max_pause, forget):
    """When each piece's connection was heard from, and where a segment must start.

    The capture's clock is the latest receive time (``recv``) of any piece so far, from
    ``clock``; a piece is heard at the clock when it comes, but for the first ``nc`` ones
    (carried from earlier chunks), heard at ``before``. ``prev``: each piece's previous
    one of its connection (-1: none); ``opens``: those without one after the carried ones,
    their connections last heard at ``last`` in earlier chunks. ``dgram``: a datagram or a
    close; ``brk``: a piece after a hole in the capture. Null times are
    :data:`~bofan_analytics.decode._text_kernels.INT64_NULL`.

    Returns ``(starts, stale, heard, forgotten, clock)``: a piece starts a segment when it
    has no previous one, is a datagram or follows one, comes after a hole, or is heard
    more than ``max_pause`` ms after its previous one; ``stale``: the clock has run more
    than ``max_pause`` after it by the end; ``heard``; ``forgotten``: heard more than
    ``forget`` ms after its connection's read before (it starts the connection afresh);
    the clock at the end.
    """
    n = recv.shape[0]
    heard = np.empty(n, np.int64)
    earlier = np.full(n, INT64_NULL, np.int64)  # when the connection was heard before
    for i in range(nc):
        heard[i] = before[i]
    for i in range(nc, n):
        if recv[i] > clock:
            clock = recv[i]
        heard[i] = clock
    for q in range(opens.shape[0]):
        earlier[opens[q]] = last[q]
    starts = np.empty(n, np.bool_)
    stale = np.empty(n, np.bool_)
    forgotten = np.empty(n, np.bool_)
    for i in range(n):
        p = prev[i]
        if p >= 0:
            earlier[i] = heard[p]
        gap = 0
        if earlier[i] != INT64_NULL and heard[i] != INT64_NULL:
            gap = heard[i] - earlier[i]
        forgotten[i] = gap > forget
        stale[i] = heard[i] != INT64_NULL and clock - heard[i] > max_pause
        starts[i] = p < 0 or dgram[i] or brk[i] or gap > max_pause or dgram[p]
    return starts, stale, heard, forgotten, clock


@jit
def group_by_key(key):
    """An order of the items that puts equal ``key``\\ s together: the groups in the order
    their keys first appear, each group's items in input order.

    How pieces of one connection are brought together. A sort by key would do as well for
    the framer, but it orders the connections by their ids, and those are random: frames
    would then be parsed and tabulated in input order from places all over the buffer. In
    this order a log whose connections are short (connect, a read, disconnect) keeps its
    buffer in input order. The keys coded by a hash table, then a counting sort: no sort.
    """
    n = key.shape[0]
    group, distinct = _first_seen_codes(key)
    groups = distinct.shape[0]
    start = np.zeros(groups + 1, np.int64)
    for k in range(n):
        start[group[k] + 1] += 1
    for g in range(groups):
        start[g + 1] += start[g]
    order = np.empty(n, np.int64)
    for k in range(n):
        order[start[group[k]]] = k
        start[group[k]] += 1
    return order


@jit
def lay_out(key, grouped, prev, together):
    """The order to join pieces in: input order, except that the pieces of a connection
    marked ``together`` are all placed where its first one is (``grouped``: the order of
    :func:`group_by_key`; ``prev``: each piece's previous one of its key, or -1)."""
    n = key.shape[0]
    at = np.empty(n, np.int64)  # where each piece is in ``grouped``
    for i in range(n):
        at[grouped[i]] = i
    order = np.empty(n, np.int64)
    m = 0
    for p in range(n):
        if not together[p]:
            order[m] = p
            m += 1
        elif prev[p] < 0:
            i = at[p]
            while i < n and key[grouped[i]] == key[p]:
                order[m] = grouped[i]
                m += 1
                i += 1
    return order


@jit
def cut_segments(order, key, starts, prev, dgram, ends, stale, forgotten, brk, line_start,
                 out_start, final):
    """Cut pieces joined in ``order`` (bytes: ``out_start``, one more than pieces) into
    segments: runs of one key, a new one where a piece ``starts`` one.

    Per piece, in input order: ``key``; ``prev``, the piece before it on its key (-1:
    none); ``dgram``, a datagram or close (a segment after one starts afresh); ``ends``, a
    close; ``stale``, a piece after which its connection has been silent too long;
    ``forgotten``, one that starts its connection afresh; ``brk``, one after a hole;
    ``line_start``, one that starts a line. ``final``: the input ends here.

    Returns per segment ``(first, last, s, e, prev, cont, goes_on, final, line_start,
    closes, fresh, conn)``: its first and last piece; its bytes; the segment of its key
    before it (-1: none) and the one it goes on from (``prev`` unless a piece starts it);
    whether one goes on from it; whether it ends for good (a datagram, another of its key
    follows without going on from it, its connection silent too long, or the input's
    end); whether it starts at a line start (nothing says so after a hole); whether it is
    a close; whether it starts its connection afresh (after a close of its key, or
    ``forgotten``); and its connection, numbered in the order they first appear.
    """
    n = order.shape[0]
    seg_of = np.empty(n, np.int64)  # the segment of each piece (input index)
    first = np.empty(n, np.int64)
    last = np.empty(n, np.int64)
    seg_s = np.empty(n, np.int64)
    seg_e = np.empty(n, np.int64)
    m = -1
    for i in range(n):
        p = order[i]
        if i == 0 or key[p] != key[order[i - 1]] or starts[p]:
            m += 1
            first[m] = p
            seg_s[m] = out_start[i]
        seg_of[p] = m
        last[m] = p
        seg_e[m] = out_start[i + 1]
    nseg = m + 1
    seg_prev = np.empty(nseg, np.int64)
    cont = np.empty(nseg, np.int64)
    nxt = np.full(nseg, -1, np.int64)  # the next segment of the key
    for k in range(nseg):
        p = prev[first[k]]
        seg_prev[k] = seg_of[p] if p >= 0 else -1
        cont[k] = -1 if starts[first[k]] else seg_prev[k]
        if seg_prev[k] >= 0:
            nxt[seg_prev[k]] = k
    goes_on = np.empty(nseg, np.bool_)
    seg_final = np.empty(nseg, np.int8)
    seg_ls = np.empty(nseg, np.int8)
    closes = np.empty(nseg, np.bool_)
    fresh = np.empty(nseg, np.bool_)
    conn = np.empty(nseg, np.int32)
    c = 0
    for k in range(nseg):
        f = first[k]
        goes_on[k] = nxt[k] >= 0 and cont[nxt[k]] >= 0
        ended = dgram[f] or nxt[k] >= 0 or stale[last[k]] or final
        seg_final[k] = 1 if ended and not goes_on[k] else 0
        seg_ls[k] = 1 if line_start[f] and not brk[f] else 0
        closes[k] = ends[f]
        fresh[k] = (seg_prev[k] >= 0 and closes[seg_prev[k]]) or forgotten[f]
        if seg_prev[k] < 0 or fresh[k]:
            conn[k] = c
            c += 1
        else:
            conn[k] = conn[seg_prev[k]]
    return (first[:nseg], last[:nseg], seg_s[:nseg], seg_e[:nseg], seg_prev, cont, goes_on,
            seg_final, seg_ls, closes, fresh, conn)


@helper(inline=True)
def _unhex_tested(digits, out):
    """Decode ``digits`` (an even count) into ``out``; returns whether every byte of
    ``digits`` is a hex digit (what was decoded means nothing where one is not). A
    digit's value is ``(c & 15) + 9 * (c >> 6)`` for 0-9, a-f and A-F alike. Byte
    arithmetic in one type, no early exit and no lookup, test and decode in one loop, so
    that it runs on vector registers, in one pass over the bytes (a test per byte that
    stops at the first other byte, a lookup or helper calls ran four to five times
    slower); :func:`_hexval` reads one byte at a time where that is all there is."""
    other = np.uint8(0)
    for q in range(out.shape[0]):
        hi = byte_at(digits, 2 * q)
        lo = byte_at(digits, 2 * q + 1)
        digit = np.uint8(hi - np.uint8(48)) < np.uint8(10)
        letter = np.uint8((hi | np.uint8(32)) - np.uint8(97)) < np.uint8(6)
        other |= np.uint8(not digit) & np.uint8(not letter)
        digit = np.uint8(lo - np.uint8(48)) < np.uint8(10)
        letter = np.uint8((lo | np.uint8(32)) - np.uint8(97)) < np.uint8(6)
        other |= np.uint8(not digit) & np.uint8(not letter)
        out[q] = (((hi & 15) + 9 * (hi >> 6)) << 4) | ((lo & 15) + 9 * (lo >> 6))
    return other == 0


@jit
def piece_starts(p_s, p_e, p_hex):
    """Where each piece starts in what :func:`gather_pieces` makes of them, and the end of
    the last (``n + 1`` offsets): a hex piece or an escape takes half its bytes."""
    n = p_s.shape[0]
    out_start = np.empty(n + 1, np.int64)
    pos = 0
    for k in range(n):
        out_start[k] = pos
        ln = p_e[k] - p_s[k]
        pos += ln // 2 if (p_hex[k] == P_HEX or p_hex[k] == P_ESCAPE) else ln
    out_start[n] = pos
    return out_start


@jit
def gather_pieces(buf, p_s, p_e, p_hex):
    """Copy the pieces into one buffer, decoding hex and escapes. Returns (out, out_start)."""
    n = p_s.shape[0]
    out_start = piece_starts(p_s, p_e, p_hex)
    out = np.empty(out_start[n], np.uint8)
    for k in range(n):
        pos = out_start[k]
        if p_hex[k] == P_HEX:
            m = (p_e[k] - p_s[k]) // 2
            _unhex_tested(buf[p_s[k]:p_s[k] + 2 * m], out[pos:pos + m])  # (told before)
        elif p_hex[k] == P_ESCAPE:
            out[pos] = 13 if buf[p_s[k] + 1] == 114 else 10
        else:
            for i in range(p_s[k], p_e[k]):
                out[pos] = byte_at(buf, i)
                pos += 1
    return out, out_start
