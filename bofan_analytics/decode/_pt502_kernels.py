"""Field parsing of PT-502 sentences into the columns of :mod:`._fields`.

Grammar (fields separated by ``,``, the tail by ``/``)::

    $TYPE,ID,hhmmss.sss,A|V,DDMM.MMMM,N|S,DDDMM.MMMM,E|W,knots,course,ddmmyy,...
        mode/INPUTS,OUTPUTS/ADC/ODOMETER/DRIVER/STATE/ [#]
    $PHO<size>[-<n>],...same as above     $FUS<id>,<firmware>
    $PHD<offset>,<length>,<length binary bytes>

A kernel of its own, so that a fleet of PT-60 units never compiles it (and a first run
compiles it in parallel with the rest, see ``_numba.compile_aside``).
"""

import numpy as np

from .._numba import helper, jit
from ._codes import (
    P_PT502,
    R_BAD_DATE,
    R_BAD_DEVICE_ID,
    R_BAD_FIELD,
    R_BAD_LATITUDE,
    R_BAD_LONGITUDE,
    R_BAD_PHOTO,
    R_BAD_TIME,
    R_BAD_VALIDITY,
    R_OK,
    R_TRUNCATED,
    R_UNKNOWN_PROTOCOL,
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
    I_INPUTS,
    I_OUTPUTS,
    I_PHOTO_OFFSET,
    I_PHOTO_SIZE,
    I_RSSI,
    I_SATS,
    INT32_MAX,
    MAX_ADC,
    MS_DAY,
    S_DEVICE,
    S_DRIVER,
    S_FIRMWARE,
    S_MODE,
    S_PAYLOAD,
    clear_row,
    empty_columns,
    pack_type,
    set_slice,
)
from ._text_kernels import (
    BAD,
    ONES,
    POW10,
    ZERO,
    byte_at,
    days_from_civil,
    find_byte,
    first_byte_set,
    is_digits,
    is_printable,
    load_word,
    parse_decimal,
    parse_hex,
    parse_uint,
    valid_date,
)
from .grammar import KNOT_KMH, pt502_alarm_arrays

__all__ = ["parse_pt502", "KERNELS", "warm_up", "T_PHD"]

_T_PHO = pack_type("PHO")
T_PHD = pack_type("PHD")
_T_FUS = pack_type("FUS")
# alarm sentence types and their alarm codes, from the grammar table (numba reads these
# module-level arrays as constants)
_ALARM_TYPES, _ALARM_CODES = pt502_alarm_arrays()
#: fixed fields of a PT-502 sentence after its type: id, time, validity, latitude,
#: N/S, longitude, E/W, speed, course, date
_PT502_FIELDS = 10
#: a comma in every byte, and every byte's low seven bits: for the exact test of which
#: bytes of a word are commas (the quick test :func:`find_byte` uses marks false ones
#: above a true one)
_COMMAS = ONES * np.uint64(44)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)


@helper
def _alarm_code(t):
    for j in range(_ALARM_TYPES.shape[0]):
        if _ALARM_TYPES[j] == t:
            return _ALARM_CODES[j]
    return 0


@helper
def _is_alnum(c):
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122)


@helper(inline=True)
def _type_is(buf, t, comma, a, b, c):
    """Whether the type ``buf[t:comma]`` starts with the three letters ``a b c``."""
    return (comma - t >= 3 and byte_at(buf, t) == a and byte_at(buf, t + 1) == b
            and byte_at(buf, t + 2) == c)


@helper(inline=True)
def _trailing(c, a, b, d):
    """Whether the byte ``c`` is one of ``a``, ``b``, ``d`` (what a frame's end is trimmed of)."""
    return c == a or c == b or c == d


@helper(inline=True)
def _digit(buf, i):
    """The digit ``buf[i]``; below 0 or above 9 when it is none."""
    return byte_at(buf, i) + ZERO - 48


@helper(inline=True)
def _pack(buf, s, e):
    v = np.int64(0)
    for i in range(s, e):
        v |= np.int64(byte_at(buf, i)) << np.int64(8 * (i - s))
    return v


@helper(inline=True)
def _parse_ddmm(buf, s, e):
    """NMEA-style ``(d+)(dd.dddd)`` degrees and minutes: (degrees, ok)."""
    dot = find_byte(buf, s, e, 46)
    if dot - s < 3 or dot >= e - 1 or dot - s > 5:
        return np.nan, False
    ip = parse_uint(buf, s, dot)
    if ip < 0:
        return np.nan, False
    if e - dot - 1 > 18:
        return np.nan, False
    fp = parse_uint(buf, dot + 1, e)
    if fp < 0:
        return np.nan, False
    minutes = (ip % 100) + fp / POW10[e - dot - 1]
    if minutes >= 60.0:
        return np.nan, False
    return (ip // 100) + minutes / 60.0, True


@helper(inline=True)
def _parse_binary(buf, s, e):
    """A bit mask written as binary digits (``00010`` -> 2: the last digit is bit 0):
    -1 when empty, BAD when not binary or longer than 31 digits."""
    if e <= s:
        return -1
    if e - s > 31:
        return BAD
    v = 0
    for i in range(s, e):
        c = byte_at(buf, i) + ZERO
        if c != 48 and c != 49:
            return BAD
        v = v * 2 + (c - 48)
    return v


@helper(inline=True)
def _parse_adc(buf, s, e, adc, k):
    """ADC values in hex joined by ``,`` into ``adc[:, k]``: how many, or -1 when malformed."""
    n = 0
    p = s
    while p <= e:
        q = find_byte(buf, p, e, 44)
        v = parse_hex(buf, p, q)
        if v < 0 or v > INT32_MAX or n == MAX_ADC:
            return -1
        adc[n, k] = v
        n += 1
        p = q + 1
    return n


@helper(inline=True)
def _time_of_day(buf, p, q):
    """``hhmmss[.f{1,6}]`` as milliseconds, or -1. ``hhmmss.fff``, what units send, is
    read by position, one test for all nine digits."""
    if q - p == 10 and byte_at(buf, p + 6) == 46:
        h1, h0, m1, m0 = _digit(buf, p), _digit(buf, p + 1), _digit(buf, p + 2), _digit(buf, p + 3)
        s1, s0 = _digit(buf, p + 4), _digit(buf, p + 5)
        f2, f1, f0 = _digit(buf, p + 7), _digit(buf, p + 8), _digit(buf, p + 9)
        if (h1 | h0 | m1 | m0 | s1 | s0 | f2 | f1 | f0) < 0 or max(
                h1, h0, m1, m0, s1, s0, f2, f1, f0) > 9:
            return -1
        hh, mm, ss = h1 * 10 + h0, m1 * 10 + m0, s1 * 10 + s0
        if hh > 23 or mm > 59 or ss > 59:
            return -1
        return ((hh * 60 + mm) * 60 + ss) * 1000 + f2 * 100 + f1 * 10 + f0
    dot = find_byte(buf, p, q, 46)
    if dot - p != 6 or q - dot > 7 or (dot < q and q - dot < 2):
        return -1
    hh = parse_uint(buf, p, p + 2)
    mm = parse_uint(buf, p + 2, p + 4)
    ss = parse_uint(buf, p + 4, p + 6)
    ms = 0
    if dot < q:
        if parse_uint(buf, dot + 1, q) < 0:
            return -1
        ms = parse_uint(buf, dot + 1, min(q, dot + 4))
        for _ in range(min(q, dot + 4) - dot - 1, 3):
            ms *= 10
    if hh < 0 or mm < 0 or ss < 0 or hh > 23 or mm > 59 or ss > 59:
        return -1
    return ((hh * 60 + mm) * 60 + ss) * 1000 + ms


@helper(inline=True)
def _coordinate(buf, p, q, hs, he, positive, negative, limit):
    """Degrees from ``DDMM.MMMM`` at ``buf[p:q]`` and the hemisphere letter ``buf[hs:he]``;
    NaN when either is malformed or the value is beyond ``limit``."""
    value, ok = _parse_ddmm(buf, p, q)
    if not ok or value > limit or he - hs != 1:
        return np.nan
    if byte_at(buf, hs) != positive and byte_at(buf, hs) != negative:
        return np.nan
    return -value if byte_at(buf, hs) == negative else value


@helper(inline=True)
def _parse_pt502(buf, s, e, k, cv, iv, tm, fv, sl, cut, adc):
    """One PT-502 sentence ``buf[s:e]`` (binary header already stripped). Returns (reason,
    tcode)."""
    cv[C_PROTO, k] = P_PT502
    t = s + 1
    comma = find_byte(buf, t, e, 44)
    if comma == e:
        return R_TRUNCATED, 0
    # $PHD<offset>,<length>,<binary>: the data may hold any byte, so no trimming
    if _type_is(buf, t, comma, 80, 72, 68):
        off = parse_uint(buf, t + 3, comma)
        c2 = find_byte(buf, comma + 1, e, 44)
        length = parse_uint(buf, comma + 1, c2)
        if (off < 0 or off > INT32_MAX or length < 0 or c2 == e and length > 0
                or e - (c2 + 1) != length):
            return (R_TRUNCATED if c2 == e or e - (c2 + 1) < length else R_BAD_PHOTO), T_PHD
        iv[I_PHOTO_OFFSET, k] = off
        sl[2 * S_PAYLOAD, k] = c2 + 1
        sl[2 * S_PAYLOAD + 1, k] = e
        return R_OK, T_PHD
    while e > s and _trailing(byte_at(buf, e - 1), 35, 32, 0):  # '#', ' ', NUL
        e -= 1
    tcode = np.int64(0)
    if _type_is(buf, t, comma, 70, 85, 83):  # FUS<id>,fw
        if not is_digits(buf, t + 3, comma) or comma - t - 3 > 20:
            return R_BAD_DEVICE_ID, _T_FUS
        if not is_printable(buf, comma + 1, e):
            return R_BAD_FIELD, _T_FUS
        set_slice(sl, S_DEVICE, k, t + 3, comma)
        set_slice(sl, S_FIRMWARE, k, comma + 1, e)
        return R_OK, _T_FUS
    if _type_is(buf, t, comma, 80, 72, 79):  # PHO<size>[-n]
        dash = find_byte(buf, t + 3, comma, 45)
        size = parse_uint(buf, t + 3, dash)
        n = parse_uint(buf, dash + 1, comma) if dash < comma else -1
        if size == BAD or n == BAD or size > INT32_MAX:
            return R_BAD_FIELD, _T_PHO
        iv[I_PHOTO_SIZE, k] = size
        tcode = _T_PHO
    else:
        if comma - t < 1 or comma - t > 8:
            return R_UNKNOWN_PROTOCOL, 0
        for i in range(t, comma):
            if not _is_alnum(byte_at(buf, i)):
                return R_UNKNOWN_PROTOCOL, 0
        tcode = _pack(buf, t, comma)
    cv[C_ALARM, k] = _alarm_code(tcode)

    # the ten fixed fields after the type: field i is buf[cut[i - 1] + 1 : cut[i]]
    cut[0] = comma
    nf = 1
    p = comma + 1
    while nf <= _PT502_FIELDS and p + 8 <= e:  # the commas in eight bytes at a time
        y = load_word(buf, p) ^ _COMMAS
        found = ~(((y & _LOW7) + _LOW7) | y | _LOW7)  # 0x80 in each byte that is one
        while found != 0 and nf <= _PT502_FIELDS:
            cut[nf] = p + first_byte_set(found)
            nf += 1
            found &= found - np.uint64(1)
        p += 8
    while nf <= _PT502_FIELDS:  # the last bytes
        q = find_byte(buf, p, e, 44)
        cut[nf] = q
        nf += 1
        if q == e:
            break
        p = q + 1
    if nf <= _PT502_FIELDS:  # a field before the date ran into the end
        return R_TRUNCATED, tcode
    # device id
    if not is_digits(buf, cut[0] + 1, cut[1]) or cut[1] - cut[0] - 1 > 20:
        return R_BAD_DEVICE_ID, tcode
    set_slice(sl, S_DEVICE, k, cut[0] + 1, cut[1])
    # time hhmmss[.fff]
    tod = _time_of_day(buf, cut[1] + 1, cut[2])
    if tod < 0:
        return R_BAD_TIME, tcode
    # validity
    p = cut[2] + 1
    if cut[3] - p != 1 or (byte_at(buf, p) != 65 and byte_at(buf, p) != 86):
        return R_BAD_VALIDITY, tcode
    cv[C_VALID, k] = 1 if byte_at(buf, p) == 65 else 0
    # latitude and longitude, each with its hemisphere; a unit that never had a fix sends
    # all four fields empty: no position, not a bad one
    no_fix = cut[7] - cut[3] == 4
    if not no_fix:
        lat = _coordinate(buf, cut[3] + 1, cut[4], cut[4] + 1, cut[5], 78, 83, 90.0)  # N / S
        if np.isnan(lat):
            return R_BAD_LATITUDE, tcode
        lon = _coordinate(buf, cut[5] + 1, cut[6], cut[6] + 1, cut[7], 69, 87, 180.0)  # E / W
        if np.isnan(lon):
            return R_BAD_LONGITUDE, tcode
        fv[F_LAT, k] = lat
        fv[F_LON, k] = lon
    # speed (knots), course: empty means unknown
    v, st = parse_decimal(buf, cut[7] + 1, cut[8])
    if st == 2 or v < 0:
        return R_BAD_FIELD, tcode
    fv[F_SPEED, k] = v * KNOT_KMH
    v, st = parse_decimal(buf, cut[8] + 1, cut[9])
    if st == 2 or v < 0 or v > 360.0:
        return R_BAD_FIELD, tcode
    fv[F_COURSE, k] = v
    # date ddmmyy
    p = cut[9] + 1
    q = cut[10]
    if q - p != 6:
        return (R_TRUNCATED if q == e and q - p < 6 else R_BAD_DATE), tcode
    dd = parse_uint(buf, p, p + 2)
    mo = parse_uint(buf, p + 2, p + 4)
    yy = parse_uint(buf, p + 4, p + 6)
    if dd < 0 or mo < 0 or yy < 0:
        return R_BAD_DATE, tcode
    year = 2000 + yy if yy < 80 else 1900 + yy
    if not valid_date(year, mo, dd):
        return R_BAD_DATE, tcode
    tm[k] = days_from_civil(year, mo, dd) * MS_DAY + tod
    # tail: mode/INPUTS,OUTPUTS/ADC/ODOMETER/DRIVER/STATE/
    p = find_byte(buf, q, e, 47)
    if p >= e:
        return R_OK, tcode
    if p - 1 > q and _is_alnum(byte_at(buf, p - 1)):  # the fix mode: A, D, E, N, ...
        set_slice(sl, S_MODE, k, p - 1, p)
    p += 1
    q = find_byte(buf, p, e, 47)
    c = find_byte(buf, p, q, 44)
    mask = _parse_binary(buf, p, c)
    if mask == BAD:
        return R_BAD_FIELD, tcode
    iv[I_INPUTS, k] = mask
    if c < q:
        mask = _parse_binary(buf, c + 1, q)
        if mask == BAD:
            return R_BAD_FIELD, tcode
        iv[I_OUTPUTS, k] = mask
    if q >= e:
        return R_OK, tcode
    p = q + 1
    q = find_byte(buf, p, e, 47)
    if q > p:
        n_adc = _parse_adc(buf, p, q, adc, k)
        if n_adc < 0:
            return R_BAD_FIELD, tcode
        iv[I_ADC, k] = n_adc
    if q >= e:
        return R_OK, tcode
    p = q + 1
    q = find_byte(buf, p, e, 47)
    odo = parse_uint(buf, p, q)
    if odo == BAD:
        return R_BAD_FIELD, tcode
    if odo >= 0:
        fv[F_ODOMETER, k] = odo
    if q >= e:
        return R_OK, tcode
    p = q + 1
    q = find_byte(buf, p, e, 47)
    if not is_printable(buf, p, q):
        return R_BAD_FIELD, tcode
    set_slice(sl, S_DRIVER, k, p, q)
    if q >= e:
        return R_OK, tcode
    p = q + 1
    q = find_byte(buf, p, e, 47)
    if q > p:
        if q - p != 3:
            return R_BAD_FIELD, tcode
        state = parse_hex(buf, p, q)
        if state < 0:
            return R_BAD_FIELD, tcode
        fv[F_BATTERY, k] = (state >> 8) * 100.0 / 15.0
        iv[I_RSSI, k] = (state >> 4) & 0xF
        iv[I_SATS, k] = state & 0xF
    return R_OK, tcode


@jit
def parse_pt502(buf, f_s, f_e, cv, iv, tm, fv, sl, tcode, adc):
    """Parse every PT-502 sentence (a frame starting with ``$``) among the frames
    ``buf[f_s[k]:f_e[k]]`` into row ``k`` of the columns, which it clears first; other
    rows are left as they are."""
    cut = np.empty(_PT502_FIELDS + 1, np.int64)  # scratch: field ends of one sentence
    for k in range(f_s.shape[0]):
        s = f_s[k]
        if byte_at(buf, s) == 36:
            clear_row(k, cv, iv, tm, fv, sl, tcode)
            reason, t = _parse_pt502(buf, s, f_e[k], k, cv, iv, tm, fv, sl, cut, adc)
            cv[C_STATUS, k] = reason
            tcode[k] = t


#: what :func:`bofan_analytics._numba.compile_aside` compiles in a second process
KERNELS = (parse_pt502,)


def warm_up():
    """Compile :func:`parse_pt502` for the argument types :func:`._parse.parse_frames`
    passes: read-only chunk bytes, int64 frame bounds, the writable columns."""
    bounds = np.zeros(0, np.int64)
    cv, iv, tm, fv, sl, tcode, adc = empty_columns(0)
    parse_pt502(np.frombuffer(b"$", np.uint8), bounds, bounds, cv, iv, tm, fv, sl, tcode, adc)
