"""Field parsing of PT-502 sentences and PT-60 frames into preallocated columns.

:func:`parse_frames` walks the frames the framer cut and writes one row per frame into
column-major arrays: ``cv`` small codes (status, protocol, valid, alarm), ``iv`` int32
fields, ``tm`` the device time (epoch ms), ``fv`` floats, ``sl`` byte ranges of text
fields (``-1`` when absent), ``tcode`` the message type packed into an int64 (up to 8
ASCII bytes). Cell towers go to flat arrays,
``iv[I_CELLS]`` of them per frame, and so do Wi-Fi access points (``wifi``: MAC range,
SSID range, RSSI; ``iv[I_WIFI]`` per frame). ``adc`` holds up to :data:`MAX_ADC` ADC values
per frame (``iv[I_ADC]`` of them). A frame with a malformed field gets a reject code in
``cv[C_STATUS]``; the Python side turns it into a reject row. Nothing becomes 0 by
accident: missing is NaN or ``-1``.

PT-502 grammar (fields separated by ``,``, the tail by ``/``)::

    $TYPE,ID,hhmmss.sss,A|V,DDMM.MMMM,N|S,DDDMM.MMMM,E|W,knots,course,ddmmyy,...
        mode/INPUTS,OUTPUTS/ADC/ODOMETER/DRIVER/STATE/ [#]
    $PHO<size>[-<n>],...same as above     $FUS<id>,<firmware>
    $PHD<offset>,<length>,<length binary bytes>

PT-60 grammar::

    @G#@,V01,TYPE,IMEI,IMSI,yyyymmddhhmmss,DATA,[@R#@]
    @B#@|01|TYPE|IMEI|IMSI|[FIRMWARE|STATE|BATTERY|]yyyymmddhhmmss|DATA|[@E#@]
"""

import numpy as np

from .._numba import helper, jit
from ._codes import (
    P_PT60,
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
from ._text_kernels import (
    BAD,
    INT64_NULL,
    POW10,
    days_from_civil,
    find_byte,
    is_digits,
    parse_decimal,
    parse_hex,
    parse_uint,
    valid_date,
)
from .grammar import KNOT_KMH, PT60_LAYOUT_NAMES, pt60_layout_array, pt502_alarm_arrays

__all__ = [
    "parse_frames",
    "KERNELS",
    "warm_up",
    "pack_type",
    "unpack_type",
    "C_STATUS",
    "C_PROTO",
    "C_VALID",
    "C_ALARM",
    "N_C",
    "I_SATS",
    "I_RSSI",
    "I_STEPS",
    "I_HEART",
    "I_PHOTO_SIZE",
    "I_PHOTO_OFFSET",
    "I_CELLS",
    "I_INPUTS",
    "I_OUTPUTS",
    "I_ADC",
    "I_WIFI",
    "N_I",
    "MAX_ADC",
    "W_MAC_S",
    "W_MAC_E",
    "W_SSID_S",
    "W_SSID_E",
    "W_RSSI",
    "F_LAT",
    "F_LON",
    "F_SPEED",
    "F_COURSE",
    "F_BATTERY",
    "F_ODOMETER",
    "N_F",
    "S_DEVICE",
    "S_INPUTS",
    "S_OUTPUTS",
    "S_ADC",
    "S_DRIVER",
    "S_FIRMWARE",
    "S_PAYLOAD",
    "S_MODE",
    "N_S",
]

C_STATUS, C_PROTO, C_VALID, C_ALARM, N_C = 0, 1, 2, 3, 4
(I_SATS, I_RSSI, I_STEPS, I_HEART, I_PHOTO_SIZE, I_PHOTO_OFFSET, I_CELLS, I_INPUTS,
 I_OUTPUTS, I_ADC, I_WIFI, N_I) = range(12)
#: the most ADC values one PT-502 sentence carries (firmwares send 1 to 4)
MAX_ADC = 8
W_MAC_S, W_MAC_E, W_SSID_S, W_SSID_E, W_RSSI, N_W = range(6)
_INT32_MAX = 2**31 - 1
F_LAT, F_LON, F_SPEED, F_COURSE, F_BATTERY, F_ODOMETER, N_F = range(7)
S_DEVICE, S_INPUTS, S_OUTPUTS, S_ADC, S_DRIVER, S_FIRMWARE, S_PAYLOAD, S_MODE, N_S = range(9)

_MS_DAY = 86_400_000


def pack_type(text):
    """Pack an ASCII message type of up to 8 characters into an int64 (as the kernel does)."""
    v = 0
    for i, ch in enumerate(text.encode("ascii")[:8]):
        v |= ch << (8 * i)
    return v


def unpack_type(code):
    code = int(code)
    out = bytearray()
    while code:
        out.append(code & 0xFF)
        code >>= 8
    return out.decode("ascii", "replace")


_T_PHO = pack_type("PHO")
_T_PHD = pack_type("PHD")
_T_FUS = pack_type("FUS")
# alarm sentence types and their alarm codes, from the grammar table (numba reads these
# module-level arrays as constants)
_ALARM_TYPES, _ALARM_CODES = pt502_alarm_arrays()
# what a PT-60 frame holds after its IMSI, by family and type (grammar.PT60_LAYOUTS)
_PT60_LAYOUT = pt60_layout_array()
(_L_PAYLOAD, _L_NO_TIME, _L_BATTERY, _L_FIX, _L_STEPS, _L_HEART, _L_SCAN, _L_LOCATION,
 _L_CELLS, _L_CELLS_OR_FIX, _L_EMPTY) = range(len(PT60_LAYOUT_NAMES))


@helper
def _alarm_code(t):
    for j in range(_ALARM_TYPES.shape[0]):
        if _ALARM_TYPES[j] == t:
            return _ALARM_CODES[j]
    return 0


@helper
def _is_alnum(c):
    return (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122)


@helper
def _pack(buf, s, e):
    v = np.int64(0)
    for i in range(s, e):
        v |= np.int64(buf[i]) << np.int64(8 * (i - s))
    return v


@helper
def _set_slice(sl, f, k, s, e):
    if e > s:
        sl[2 * f, k] = s
        sl[2 * f + 1, k] = e


@helper
def _parse_int_signed(buf, s, e):
    """(value, ok) for ``-?digits``."""
    if e <= s:
        return 0, False
    neg = buf[s] == 45
    v = parse_uint(buf, s + 1 if neg else s, e)
    if v < 0:
        return 0, False
    return (-v if neg else v), True


@helper
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


@helper
def _store_fix(fv, cv, k, lat, st_lat, lon, st_lon):
    """Store a PT-60 fix parsed from decimal degrees and mark it valid; 0, or the reject
    reason when a coordinate did not parse or lies off the globe (nothing stored then)."""
    if st_lat != 0 or not -90.0 <= lat <= 90.0:
        return R_BAD_LATITUDE
    if st_lon != 0 or not -180.0 <= lon <= 180.0:
        return R_BAD_LONGITUDE
    fv[F_LAT, k] = lat
    fv[F_LON, k] = lon
    cv[C_VALID, k] = 1
    return 0


@helper
def _parse_binary(buf, s, e):
    """A bit mask written as binary digits (``00010`` -> 2: the last digit is bit 0):
    -1 when empty, BAD when not binary or longer than 31 digits."""
    if e <= s:
        return -1
    if e - s > 31:
        return BAD
    v = 0
    for i in range(s, e):
        c = buf[i]
        if c != 48 and c != 49:
            return BAD
        v = v * 2 + (c - 48)
    return v


@helper
def _parse_adc(buf, s, e, adc, k):
    """ADC values in hex joined by ``,`` into ``adc[:, k]``: how many, or -1 when malformed."""
    n = 0
    p = s
    while p <= e:
        q = find_byte(buf, p, e, 44)
        v = parse_hex(buf, p, q)
        if v < 0 or v > _INT32_MAX or n == MAX_ADC:
            return -1
        adc[n, k] = v
        n += 1
        p = q + 1
    return n


#: fixed fields of a PT-502 sentence after its type: id, time, validity, latitude,
#: N/S, longitude, E/W, speed, course, date
_PT502_FIELDS = 10


@helper
def _time_of_day(buf, p, q):
    """``hhmmss[.f{1,6}]`` as milliseconds, or -1."""
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


@helper
def _coordinate(buf, p, q, hs, he, positive, negative, limit):
    """Degrees from ``DDMM.MMMM`` at ``buf[p:q]`` and the hemisphere letter ``buf[hs:he]``;
    NaN when either is malformed or the value is beyond ``limit``."""
    value, ok = _parse_ddmm(buf, p, q)
    if not ok or value > limit or he - hs != 1:
        return np.nan
    if buf[hs] != positive and buf[hs] != negative:
        return np.nan
    return -value if buf[hs] == negative else value


@helper
def _parse_compact_time(buf, s):
    """``yyyymmddhhmmss`` at s: (epoch ms, reason)."""
    y = parse_uint(buf, s, s + 4)
    mo = parse_uint(buf, s + 4, s + 6)
    d = parse_uint(buf, s + 6, s + 8)
    if y < 0 or mo < 0 or d < 0 or not valid_date(y, mo, d):
        return INT64_NULL, R_BAD_DATE
    h = parse_uint(buf, s + 8, s + 10)
    mi = parse_uint(buf, s + 10, s + 12)
    se = parse_uint(buf, s + 12, s + 14)
    if h < 0 or mi < 0 or se < 0 or h > 23 or mi > 59 or se > 59:
        return INT64_NULL, R_BAD_TIME
    return days_from_civil(y, mo, d) * _MS_DAY + ((h * 60 + mi) * 60 + se) * 1000, R_OK


@helper
def _grow_cells(cells_i, cells_cid, n, need):
    m = max(16, cells_i.shape[1] * 2, n + need)
    new_i = np.empty((4, m), np.int32)
    new_cid = np.empty(m, np.int64)
    for i in range(n):
        for j in range(4):
            new_i[j, i] = cells_i[j, i]
        new_cid[i] = cells_cid[i]
    return new_i, new_cid


@helper
def _grow_wifi(wifi, n, need):
    out = np.empty((N_W, max(16, wifi.shape[1] * 2, n + need)), np.int32)
    for i in range(n):
        for j in range(N_W):
            out[j, i] = wifi[j, i]
    return out


@helper
def _parse_pt502(buf, s, e, k, cv, iv, tm, fv, sl, cut, adc):
    """One PT-502 sentence ``buf[s:e]`` (binary header already stripped). Returns (reason, tcode)."""
    cv[C_PROTO, k] = P_PT502
    t = s + 1
    comma = find_byte(buf, t, e, 44)
    if comma == e:
        return R_TRUNCATED, 0
    # $PHD<offset>,<length>,<binary>: the data may hold any byte, so no trimming
    if comma - t >= 3 and buf[t] == 80 and buf[t + 1] == 72 and buf[t + 2] == 68:
        off = parse_uint(buf, t + 3, comma)
        c2 = find_byte(buf, comma + 1, e, 44)
        length = parse_uint(buf, comma + 1, c2)
        if off < 0 or off > _INT32_MAX or length < 0 or c2 == e and length > 0 or e - (c2 + 1) != length:
            return (R_TRUNCATED if c2 == e or e - (c2 + 1) < length else R_BAD_PHOTO), _T_PHD
        iv[I_PHOTO_OFFSET, k] = off
        sl[2 * S_PAYLOAD, k] = c2 + 1
        sl[2 * S_PAYLOAD + 1, k] = e
        return R_OK, _T_PHD
    while e > s and (buf[e - 1] == 35 or buf[e - 1] == 32 or buf[e - 1] == 0):  # '#', ' ', NUL
        e -= 1
    tcode = np.int64(0)
    if comma - t >= 3 and buf[t] == 70 and buf[t + 1] == 85 and buf[t + 2] == 83:  # FUS<id>,fw
        if not is_digits(buf, t + 3, comma) or comma - t - 3 > 20:
            return R_BAD_DEVICE_ID, _T_FUS
        _set_slice(sl, S_DEVICE, k, t + 3, comma)
        _set_slice(sl, S_FIRMWARE, k, comma + 1, e)
        return R_OK, _T_FUS
    if comma - t >= 3 and buf[t] == 80 and buf[t + 1] == 72 and buf[t + 2] == 79:  # PHO<size>[-n]
        dash = find_byte(buf, t + 3, comma, 45)
        size = parse_uint(buf, t + 3, dash)
        n = parse_uint(buf, dash + 1, comma) if dash < comma else -1
        if size == BAD or n == BAD or size > _INT32_MAX:
            return R_BAD_FIELD, _T_PHO
        iv[I_PHOTO_SIZE, k] = size
        tcode = _T_PHO
    else:
        if comma - t < 1 or comma - t > 8:
            return R_UNKNOWN_PROTOCOL, 0
        for i in range(t, comma):
            if not _is_alnum(buf[i]):
                return R_UNKNOWN_PROTOCOL, 0
        tcode = _pack(buf, t, comma)
    cv[C_ALARM, k] = _alarm_code(tcode)

    # the ten fixed fields after the type: field i is buf[cut[i - 1] + 1 : cut[i]]
    cut[0] = comma
    nf = 1
    p = comma + 1
    while nf <= _PT502_FIELDS:
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
    _set_slice(sl, S_DEVICE, k, cut[0] + 1, cut[1])
    # time hhmmss[.fff]
    tod = _time_of_day(buf, cut[1] + 1, cut[2])
    if tod < 0:
        return R_BAD_TIME, tcode
    # validity
    p = cut[2] + 1
    if cut[3] - p != 1 or (buf[p] != 65 and buf[p] != 86):
        return R_BAD_VALIDITY, tcode
    cv[C_VALID, k] = 1 if buf[p] == 65 else 0
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
    tm[k] = days_from_civil(year, mo, dd) * _MS_DAY + tod
    # tail: mode/INPUTS,OUTPUTS/ADC/ODOMETER/DRIVER/STATE/
    p = find_byte(buf, q, e, 47)
    if p >= e:
        return R_OK, tcode
    if p - 1 > q and _is_alnum(buf[p - 1]):  # the fix mode: A, D, E, N, ...
        _set_slice(sl, S_MODE, k, p - 1, p)
    p += 1
    q = find_byte(buf, p, e, 47)
    c = find_byte(buf, p, q, 44)
    _set_slice(sl, S_INPUTS, k, p, c)
    mask = _parse_binary(buf, p, c)
    if mask == BAD:
        return R_BAD_FIELD, tcode
    iv[I_INPUTS, k] = mask
    if c < q:
        _set_slice(sl, S_OUTPUTS, k, c + 1, q)
        mask = _parse_binary(buf, c + 1, q)
        if mask == BAD:
            return R_BAD_FIELD, tcode
        iv[I_OUTPUTS, k] = mask
    if q >= e:
        return R_OK, tcode
    p = q + 1
    q = find_byte(buf, p, e, 47)
    _set_slice(sl, S_ADC, k, p, q)
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
    _set_slice(sl, S_DRIVER, k, p, q)
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


@helper
def _parse_cell(buf, s, e, sep, order_b, cells_i, cells_cid, nc):
    """One cell tower of 5 numbers; B order ``cid,lac,mnc,mcc,rssi``, G order
    ``mcc;mnc;lac;cid;rssi``. Returns how many towers it adds: 0 for an unused slot
    (``0,0,0,0,0``, which B frames fill to a fixed count), -1 when malformed."""
    vals = np.empty(5, np.int64)
    p = s
    used = False
    for j in range(5):
        q = find_byte(buf, p, e, sep)
        if (q == e) != (j == 4):
            return -1
        v, ok = _parse_int_signed(buf, p, q)
        if not ok:
            return -1
        vals[j] = v
        used = used or v != 0
        p = q + 1
    if not used:
        return 0
    if order_b:
        cid, lac, mnc, mcc = vals[0], vals[1], vals[2], vals[3]
    else:
        mcc, mnc, lac, cid = vals[0], vals[1], vals[2], vals[3]
    cells_i[0, nc] = mcc
    cells_i[1, nc] = mnc
    cells_i[2, nc] = lac
    cells_i[3, nc] = vals[4]
    cells_cid[nc] = cid
    return 1


@helper
def _count_byte(buf, s, e, b):
    n = 0
    for i in range(s, e):
        if buf[i] == b:
            n += 1
    return n


@helper
def _parse_ap(buf, s, e, sep, wifi, nw):
    """One Wi-Fi access point: ``mac;ssid;rssi`` (G, SSID as UTF-16BE hex) or ``mac,rssi``
    (B). Returns False when malformed."""
    q = find_byte(buf, s, e, sep)
    if q - s != 17 or q == e:
        return False
    for j in range(s, q):
        if (j - s) % 3 == 2:
            if buf[j] != 58:  # ':'
                return False
        elif parse_hex(buf, j, j + 1) < 0:
            return False
    wifi[W_MAC_S, nw] = s
    wifi[W_MAC_E, nw] = q
    wifi[W_SSID_S, nw] = -1
    wifi[W_SSID_E, nw] = -1
    p = q + 1
    if sep == 59:  # G: the SSID comes between
        q = find_byte(buf, p, e, 59)
        if q == e or (q - p) % 4 != 0:
            return False
        for j in range(p, q):
            if parse_hex(buf, j, j + 1) < 0:
                return False
        wifi[W_SSID_S, nw] = p
        wifi[W_SSID_E, nw] = q
        p = q + 1
    rssi, ok = _parse_int_signed(buf, p, e)
    if not ok:
        return False
    wifi[W_RSSI, nw] = rssi
    return True


@helper
def _parse_pt60(buf, s, e, k, cv, iv, tm, fv, sl, cells_i, cells_cid, nc, wifi, nw):
    """One PT-60 frame. Returns (reason, tcode, nc, nw); the cell and Wi-Fi arrays have
    room for every tower or access point the frame can hold (each takes at least 10
    bytes)."""
    cv[C_PROTO, k] = P_PT60
    while e > s and (buf[e - 1] == 32 or buf[e - 1] == 13 or buf[e - 1] == 10):
        e -= 1
    if e - s >= 8 and buf[e - 4] == 64 and buf[e - 2] == 35 and buf[e - 1] == 64:
        if buf[e - 3] == 82 or buf[e - 3] == 69:  # @R#@ / @E#@
            e -= 4
    fam = buf[s + 1]
    p = s + 4
    if p >= e:
        return R_TRUNCATED, np.int64(0), nc, nw
    sep = buf[p]
    if sep != 44 and sep != 124:
        return R_BAD_FIELD, np.int64(0), nc, nw
    p += 1
    # version
    q = find_byte(buf, p, e, sep)
    if q == e:
        return R_TRUNCATED, np.int64(0), nc, nw
    vs = p + 1 if q > p and buf[p] == 86 else p
    if not is_digits(buf, vs, q):
        return R_BAD_FIELD, np.int64(0), nc, nw
    # type
    p = q + 1
    q = find_byte(buf, p, e, sep)
    if q == e:
        return R_TRUNCATED, np.int64(0), nc, nw
    mtype = parse_uint(buf, p, q)
    if mtype < 0 or q - p > 3:
        return R_BAD_FIELD, np.int64(0), nc, nw
    tcode = np.int64(fam)
    digits = np.empty(3, np.int64)
    nd = 0
    x = mtype
    while True:
        digits[nd] = 48 + x % 10
        nd += 1
        x //= 10
        if x == 0:
            break
    for j in range(nd):
        tcode |= digits[nd - 1 - j] << np.int64(8 * (j + 1))
    # imei
    p = q + 1
    q = find_byte(buf, p, e, sep)
    if q == e:
        return R_TRUNCATED, tcode, nc, nw
    if not is_digits(buf, p, q) or q - p > 20:
        return R_BAD_DEVICE_ID, tcode, nc, nw
    _set_slice(sl, S_DEVICE, k, p, q)
    # imsi
    p = q + 1
    q = find_byte(buf, p, e, sep)
    if q > p and not is_digits(buf, p, q):
        return R_BAD_FIELD, tcode, nc, nw
    p = q + 1
    layout = _PT60_LAYOUT[0 if fam == 71 else 1, mtype]
    if layout == _L_NO_TIME:
        if p < e:
            _set_slice(sl, S_PAYLOAD, k, p, e)
        return R_OK, tcode, nc, nw
    if p >= e:
        return R_TRUNCATED, tcode, nc, nw
    q = find_byte(buf, p, e, sep)
    if fam == 66 and not (q - p == 14 and is_digits(buf, p, q)):
        # [firmware|] state | battery | time
        if not is_digits(buf, p, q):
            _set_slice(sl, S_FIRMWARE, k, p, q)
            p = q + 1
            q = find_byte(buf, p, e, sep)
        if q - p != 1 or (buf[p] != 48 and buf[p] != 49):
            return (R_TRUNCATED if p >= e else R_BAD_FIELD), tcode, nc, nw
        p = q + 1
        q = find_byte(buf, p, e, sep)
        battery = parse_uint(buf, p, q)
        if battery < 0 or battery > 100:
            return (R_TRUNCATED if p >= e else R_BAD_FIELD), tcode, nc, nw
        fv[F_BATTERY, k] = battery
        p = q + 1
        q = find_byte(buf, p, e, sep)
    if q - p != 14 or not is_digits(buf, p, q):
        return (R_TRUNCATED if q - p < 14 and q == e else R_BAD_TIME), tcode, nc, nw
    t, reason = _parse_compact_time(buf, p)
    if reason != R_OK:
        return reason, tcode, nc, nw
    tm[k] = t
    p = q + 1
    if p > e:
        p = e
    ncell0 = nc
    nw0 = nw
    if fam == 71:
        q = find_byte(buf, p, e, 44)
        if layout == _L_FIX:
            semi = find_byte(buf, p, q, 59)
            lat, st1 = parse_decimal(buf, p, semi)
            lon, st2 = parse_decimal(buf, semi + 1, q) if semi < q else (np.nan, 1)
            reason = _store_fix(fv, cv, k, lat, st1, lon, st2)
            if reason != 0:
                if reason == R_BAD_LATITUDE and p >= e:
                    reason = R_TRUNCATED
                return reason, tcode, nc, nw
        elif layout == _L_STEPS:
            steps = parse_uint(buf, p, q)
            if steps < 0 or steps > _INT32_MAX:
                return (R_TRUNCATED if p >= e else R_BAD_FIELD), tcode, nc, nw
            iv[I_STEPS, k] = steps
        elif layout == _L_BATTERY:
            if q > p:
                battery = parse_uint(buf, p, q)
                if battery < 0 or battery > 100:
                    return R_BAD_FIELD, tcode, nc, nw
                fv[F_BATTERY, k] = battery
            if q + 1 < e:
                _set_slice(sl, S_PAYLOAD, k, q + 1, e)
        elif layout == _L_HEART:
            heart = parse_uint(buf, p, q)
            q2 = find_byte(buf, q + 1, e, 44) if q < e else e
            battery = parse_uint(buf, q + 1, q2) if q < e else -1
            if heart < 0 or heart > _INT32_MAX or battery < 0 or battery > 100:
                return (R_TRUNCATED if q >= e else R_BAD_FIELD), tcode, nc, nw
            iv[I_HEART, k] = heart
            fv[F_BATTERY, k] = battery
        else:
            if p < e:
                _set_slice(sl, S_PAYLOAD, k, p, e)
            if layout == _L_SCAN and q < e:
                # count, then mcc;mnc;lac;cid;rssi towers joined by '|'
                p2 = q + 1
                q2 = find_byte(buf, p2, e, 44)
                while p2 < q2:
                    r = find_byte(buf, p2, q2, 124)
                    added = _parse_cell(buf, p2, r, 59, False, cells_i, cells_cid, nc)
                    if added < 0:
                        return R_BAD_FIELD, tcode, ncell0, nw0
                    nc += added
                    p2 = r + 1
                # count, then mac;ssid;rssi access points joined by '|'
                if q2 < e:
                    p2 = find_byte(buf, q2 + 1, e, 44) + 1
                    q2 = find_byte(buf, p2, e, 44)
                    while p2 < q2:
                        r = find_byte(buf, p2, q2, 124)
                        if not _parse_ap(buf, p2, r, 59, wifi, nw):
                            return R_BAD_FIELD, tcode, ncell0, nw0
                        nw += 1
                        p2 = r + 1
    else:
        # B family: DATA fields joined by '|'; for type 1 the last one says GPS (1), cells
        # (2), or Wi-Fi access points then cells (3)
        kind = -1
        nf = 0
        r = p
        while r < e:
            q = find_byte(buf, r, e, 124)
            if q > r:
                kind = parse_uint(buf, r, q)
            nf += 1
            r = q + 1
        if layout == _L_LOCATION and kind == 1:
            q = find_byte(buf, p, e, 124)
            lat, st1 = parse_decimal(buf, p, q)
            q2 = find_byte(buf, q + 1, e, 124) if q < e else e
            lon, st2 = parse_decimal(buf, q + 1, q2) if q < e else (np.nan, 1)
            reason = _store_fix(fv, cv, k, lat, st1, lon, st2)
            if reason != 0:
                return reason, tcode, nc, nw
        elif layout == _L_LOCATION or layout == _L_CELLS or layout == _L_CELLS_OR_FIX:
            if layout == _L_LOCATION:
                if kind != 2 and kind != 3:
                    return (R_TRUNCATED if nf == 0 else R_BAD_FIELD), tcode, nc, nw
                cv[C_VALID, k] = 0
                if kind == 3:  # first the access points: mac,rssi joined by '&'
                    q = find_byte(buf, p, e, 124)
                    r = p
                    while r < q:
                        q2 = find_byte(buf, r, q, 38)
                        if not _parse_ap(buf, r, q2, 44, wifi, nw):
                            return R_BAD_FIELD, tcode, ncell0, nw0
                        nw += 1
                        r = q2 + 1
            if layout == _L_CELLS_OR_FIX:  # some firmwares put a fix first: lat|lon|
                q = find_byte(buf, p, e, 124)
                q2 = find_byte(buf, q + 1, e, 124) if q < e else e
                if find_byte(buf, p, q, 46) < q and q < e:
                    lat, st1 = parse_decimal(buf, p, q)
                    lon, st2 = parse_decimal(buf, q + 1, q2)
                    reason = _store_fix(fv, cv, k, lat, st1, lon, st2)
                    if reason != 0:
                        return reason, tcode, nc, nw
            r = p
            while r < e:
                q = find_byte(buf, r, e, 124)
                if _count_byte(buf, r, q, 44) == 4:
                    added = _parse_cell(buf, r, q, 44, True, cells_i, cells_cid, nc)
                    if added < 0:
                        return R_BAD_FIELD, tcode, ncell0, nw0
                    nc += added
                r = q + 1
        elif layout != _L_EMPTY and p < e:
            _set_slice(sl, S_PAYLOAD, k, p, e)
    iv[I_CELLS, k] = nc - ncell0
    iv[I_WIFI, k] = nw - nw0
    return R_OK, tcode, nc, nw


@helper
def _parse_into(buf, f_s, f_e, k, cv, iv, tm, fv, sl, tcode, cells_i, cells_cid, nc, cut,
                adc, wifi, nw):
    """The parse loop, resumable: returns before a PT-60 frame whose towers might not fit,
    so the caller grows the cell arrays outside the loop."""
    n = f_s.shape[0]
    while k < n:
        s = f_s[k]
        e = f_e[k]
        c = buf[s]
        if c == 36:
            reason, t = _parse_pt502(buf, s, e, k, cv, iv, tm, fv, sl, cut, adc)
        elif c == 64 and e - s >= 4:
            room = (e - s) // 10 + 1
            if nc + room > cells_cid.shape[0] or nw + room > wifi.shape[1]:
                return k, nc, nw
            reason, t, nc, nw = _parse_pt60(
                buf, s, e, k, cv, iv, tm, fv, sl, cells_i, cells_cid, nc, wifi, nw
            )
        else:
            reason, t = R_UNKNOWN_PROTOCOL, np.int64(0)
        cv[C_STATUS, k] = reason
        tcode[k] = t
        k += 1
    return k, nc, nw


@jit
def parse_frames(buf, f_s, f_e):
    """Parse every frame ``buf[f_s[k]:f_e[k]]``; see the module docstring for the outputs."""
    n = f_s.shape[0]
    cv = np.empty((N_C, n), np.int8)
    iv = np.empty((N_I, n), np.int32)
    tm = np.empty(n, np.int64)
    fv = np.empty((N_F, n), np.float64)
    sl = np.empty((2 * N_S, n), np.int32)  # chunks stay far below 2 GiB
    tcode = np.empty(n, np.int64)
    for k in range(n):  # missing until parsed: -1, NaN, no time
        for j in range(N_C):
            cv[j, k] = 0
        cv[C_VALID, k] = -1
        for j in range(N_I):
            iv[j, k] = -1
        iv[I_CELLS, k] = 0
        iv[I_WIFI, k] = 0
        tm[k] = INT64_NULL
        for j in range(N_F):
            fv[j, k] = np.nan
        for j in range(2 * N_S):
            sl[j, k] = -1
        tcode[k] = 0
    cells_i = np.empty((4, 64), np.int32)
    cells_cid = np.empty(64, np.int64)
    cut = np.empty(_PT502_FIELDS + 1, np.int64)  # scratch: field ends of one sentence
    adc = np.empty((MAX_ADC, n), np.int32)
    wifi = np.empty((N_W, 16), np.int32)
    # typed, not literal, zeros: a literal would compile _parse_into (and the grammars in
    # it) a second time, specialised for the constant, on a fresh install
    nc = np.int64(0)
    nw = np.int64(0)
    k = np.int64(0)
    while True:
        k, nc, nw = _parse_into(
            buf, f_s, f_e, k, cv, iv, tm, fv, sl, tcode, cells_i, cells_cid, nc, cut,
            adc, wifi, nw,
        )
        if k >= n:
            break
        room = (f_e[k] - f_s[k]) // 10 + 1
        cells_i, cells_cid = _grow_cells(cells_i, cells_cid, nc, room)
        wifi = _grow_wifi(wifi, nw, room)
    return (cv, iv, tm, fv, sl, tcode, cells_i[:, :nc], cells_cid[:nc], adc, wifi[:, :nw])


#: what :func:`bofan_analytics._numba.compile_aside` compiles in a second process on a
#: first run: the largest kernel of the decoder
KERNELS = (parse_frames,)


def warm_up():
    """Compile :func:`parse_frames` for the argument types decoding passes: the bytes of a
    chunk (read-only, as ``np.frombuffer`` gives them) and int64 frame bounds."""
    bounds = np.zeros(0, np.int64)
    parse_frames(np.frombuffer(b"$", np.uint8), bounds, bounds)

