"""Line-oriented log layouts: receive-time prefixed line logs and tracker-server logs."""

import numpy as np

from .._numba import jit
from ._text_kernels import INT64_NULL, days_from_civil, find_byte, parse_uint, valid_date

__all__ = ["MAX_LINE_BYTES", "scan_lines", "scan_traccar", "classify_pieces", "gather_pieces"]

_MS_DAY = 86_400_000
L_DATA, L_REPLY, L_OTHER = 0, 1, 2


@jit
def _datetime_ms(buf, s, e, sep):
    """``YYYY-MM-DD<sep>HH:MM:SS[.fff|,fff]`` at s. Returns (ms, end) or (INT64_NULL, s)."""
    if e - s < 19:
        return INT64_NULL, s
    if buf[s + 4] != 45 or buf[s + 7] != 45 or buf[s + 10] != sep:
        return INT64_NULL, s
    if buf[s + 13] != 58 or buf[s + 16] != 58:
        return INT64_NULL, s
    y = parse_uint(buf, s, s + 4)
    mo = parse_uint(buf, s + 5, s + 7)
    d = parse_uint(buf, s + 8, s + 10)
    h = parse_uint(buf, s + 11, s + 13)
    mi = parse_uint(buf, s + 14, s + 16)
    se = parse_uint(buf, s + 17, s + 19)
    if y < 0 or mo < 0 or d < 0 or h < 0 or mi < 0 or se < 0:
        return INT64_NULL, s
    if not valid_date(y, mo, d) or h > 23 or mi > 59 or se > 60:
        return INT64_NULL, s
    ms = 0
    p = s + 19
    if p < e and (buf[p] == 46 or buf[p] == 44):
        p += 1
        nd = 0
        while p < e and 48 <= buf[p] <= 57:
            if nd < 3:
                ms = ms * 10 + (buf[p] - 48)
            nd += 1
            p += 1
        if nd == 0:
            return INT64_NULL, s
        for _ in range(nd, 3):
            ms *= 10
    t = days_from_civil(y, mo, d) * _MS_DAY + ((h * 60 + mi) * 60 + se) * 1000 + ms
    return t, p


#: a line longer than this is cut there: an endless line must not hold unbounded memory
MAX_LINE_BYTES = 1 << 20


@jit
def _line_end(buf, i, e0, final):
    """End of the line starting at i (its LF, or the cut of an overlong line) and where the
    next line starts; ``(-1, -1)`` when the line may go on in the next chunk."""
    limit = min(e0, i + MAX_LINE_BYTES)
    nl = find_byte(buf, i, limit, 10)
    if nl < limit:
        return nl, nl + 1
    if limit == i + MAX_LINE_BYTES:
        return limit, limit
    if final:
        return e0, e0
    return -1, -1


@jit
def _count_lines(buf, s0, e0):
    """An exact bound on the lines in ``buf[s0:e0]``, so the scanners never grow an array
    inside their loop (numba would then count references on every iteration)."""
    n = 1 + (e0 - s0) // MAX_LINE_BYTES
    for i in range(s0, e0):
        if buf[i] == 10:
            n += 1
    return n


@jit
def scan_lines(buf, s0, e0, final):
    """Split ``buf[s0:e0]`` into lines of the ``lines`` format.

    Each line may start with an ISO-8601 receive time (``2026-11-02T07:10:27.948Z``,
    ``Z`` or ``±hh:mm``) and a space. Returns ``(pay_s, pay_e, recv_ms, line_s, consumed)``;
    the payload excludes the prefix and the CR/LF; ``consumed`` is the end of the last
    complete line (everything when ``final``).
    """
    cap = _count_lines(buf, s0, e0)
    pay_s = np.empty(cap, np.int64)
    pay_e = np.empty(cap, np.int64)
    recv = np.empty(cap, np.int64)
    line_s = np.empty(cap, np.int64)
    n = 0
    i = s0
    while i < e0:
        nl, nxt = _line_end(buf, i, e0, final)
        if nl < 0:
            break
        end = nl
        while end > i and buf[end - 1] == 13:
            end -= 1
        t, p = _datetime_ms(buf, i, end, 84)  # 'T'
        if t != INT64_NULL:
            ok = True
            if p < end and buf[p] == 90:  # Z
                p += 1
            elif p + 6 <= end and (buf[p] == 43 or buf[p] == 45) and buf[p + 3] == 58:
                oh = parse_uint(buf, p + 1, p + 3)
                om = parse_uint(buf, p + 4, p + 6)
                if oh < 0 or om < 0:
                    ok = False
                else:
                    off = (oh * 60 + om) * 60000
                    t = t - off if buf[p] == 43 else t + off
                    p += 6
            if ok and p < end and buf[p] == 32:
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


@jit
def scan_traccar(buf, s0, e0, final):
    """Split a tracker-server log into lines and read each one's layout::

        2026-11-02 07:10:27  INFO: [T1a2b3c4d: pt502 < 10.0.0.5] 24504f53...

    Returns ``(kind, recv_ms, key, pay_s, pay_e, line_s, consumed)``. ``kind`` is 0 for
    device data (``<``), 1 for a server reply (``>``), 2 for any other log line. ``key``
    identifies the session: the id's hex value, plus ``1 << 48`` for UDP (``U…``).
    """
    cap = _count_lines(buf, s0, e0)
    kind = np.empty(cap, np.int8)
    recv = np.empty(cap, np.int64)
    key = np.empty(cap, np.int64)
    pay_s = np.empty(cap, np.int64)
    pay_e = np.empty(cap, np.int64)
    line_s = np.empty(cap, np.int64)
    n = 0
    i = s0
    while i < e0:
        nl, nxt = _line_end(buf, i, e0, final)
        if nl < 0:
            break
        end = nl
        while end > i and (buf[end - 1] == 13 or buf[end - 1] == 32):
            end -= 1
        k = L_OTHER
        ps = end
        sess = np.int64(-1)
        t, p = _datetime_ms(buf, i, end, 32)
        if t != INT64_NULL:
            b = find_byte(buf, p, end, 91)  # '['
            if b + 2 < end and (buf[b + 1] == 84 or buf[b + 1] == 85):  # T / U
                j = b + 2
                v = np.int64(0)
                nd = 0
                while j < end and nd < 12:
                    c = buf[j]
                    if 48 <= c <= 57:
                        v = v * 16 + (c - 48)
                    elif 97 <= c <= 102:
                        v = v * 16 + (c - 87)
                    elif 65 <= c <= 70:
                        v = v * 16 + (c - 55)
                    else:
                        break
                    nd += 1
                    j += 1
                if nd > 0 and j < end and buf[j] == 58:  # ':'
                    close = find_byte(buf, j, end, 93)  # ']'
                    d = j + 1
                    while d < close and buf[d] == 32:
                        d += 1
                    while d < close and buf[d] != 32:  # protocol name
                        d += 1
                    while d < close and buf[d] == 32:
                        d += 1
                    if d < close and (buf[d] == 60 or buf[d] == 62):
                        ps = close + 1
                        if ps < end and buf[ps] == 32:
                            ps += 1
                        if ps < end:
                            k = L_DATA if buf[d] == 60 else L_REPLY
                            sess = v + (np.int64(1) << np.int64(48) if buf[b + 1] == 85 else 0)
                        else:
                            ps = end
        kind[n] = k
        recv[n] = t
        key[n] = sess
        pay_s[n] = ps
        pay_e[n] = end
        line_s[n] = i
        n += 1
        i = nxt
    return kind[:n], recv[:n], key[:n], pay_s[:n], pay_e[:n], line_s[:n], i


@jit
def _hexval(c):
    if 48 <= c <= 57:
        return c - 48
    if 97 <= c <= 102:
        return c - 87
    if 65 <= c <= 70:
        return c - 55
    return -1


@jit
def classify_pieces(buf, p_s, p_e):
    """0: text payload, 1: hex payload, 2: hex digits of odd length (cannot be decoded).

    Text frames start with ``$``, ``@`` or ``0xBF``, none a hex digit, so a payload made
    only of hex digits is hex.
    """
    n = p_s.shape[0]
    out = np.empty(n, np.int8)
    for k in range(n):
        is_hex = True
        for i in range(p_s[k], p_e[k]):
            if _hexval(buf[i]) < 0:
                is_hex = False
                break
        if not is_hex:
            out[k] = 0
        elif (p_e[k] - p_s[k]) % 2 == 1:
            out[k] = 2
        else:
            out[k] = 1
    return out


@jit
def gather_pieces(buf, p_s, p_e, p_hex):
    """Copy the pieces into one buffer, decoding the hex ones. Returns (out, out_start)."""
    n = p_s.shape[0]
    total = 0
    for k in range(n):
        ln = p_e[k] - p_s[k]
        total += ln // 2 if p_hex[k] == 1 else ln
    out = np.empty(total, np.uint8)
    out_start = np.empty(n + 1, np.int64)
    pos = 0
    for k in range(n):
        out_start[k] = pos
        if p_hex[k] == 1:
            for i in range(p_s[k], p_e[k], 2):
                out[pos] = _hexval(buf[i]) * 16 + _hexval(buf[i + 1])
                pos += 1
        else:
            for i in range(p_s[k], p_e[k]):
                out[pos] = buf[i]
                pos += 1
    out_start[n] = pos
    return out, out_start
