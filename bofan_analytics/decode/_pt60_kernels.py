"""Field parsing of PT-60 frames into the columns of :mod:`._fields`.

Grammar::

    @G#@,V01,TYPE,IMEI,IMSI,yyyymmddhhmmss,DATA,[@R#@]
    @B#@|01|TYPE|IMEI|IMSI|[FIRMWARE|STATE|BATTERY|]yyyymmddhhmmss|DATA|[@E#@]

What DATA holds comes from the layout table of :mod:`.grammar`. A kernel of its own, so
that a fleet of PT-502 units never compiles it (and a first run compiles it in parallel
with the rest, see ``_numba.compile_aside``).
"""

import numpy as np

from .._numba import helper, jit
from ._codes import (
    P_PT60,
    R_BAD_DATE,
    R_BAD_DEVICE_ID,
    R_BAD_FIELD,
    R_BAD_LATITUDE,
    R_BAD_LONGITUDE,
    R_BAD_TIME,
    R_OK,
    R_TRUNCATED,
)
from ._fields import (
    C_PROTO,
    C_STATUS,
    C_VALID,
    F_BATTERY,
    F_LAT,
    F_LON,
    I_CELLS,
    I_HEART,
    I_STEPS,
    I_WIFI,
    INT32_MAX,
    MS_DAY,
    N_W,
    S_DEVICE,
    S_FIRMWARE,
    S_PAYLOAD,
    W_MAC_E,
    W_MAC_S,
    W_RSSI,
    W_SSID_E,
    W_SSID_S,
    clear_row,
    empty_columns,
    set_slice,
)
from ._text_kernels import (
    INT64_NULL,
    byte_at,
    days_from_civil,
    find_byte,
    is_digits,
    is_printable,
    parse_decimal,
    parse_hex,
    parse_uint,
    valid_date,
)
from .grammar import PT60_LAYOUT_NAMES, pt60_layout_array

__all__ = ["parse_pt60", "KERNELS", "warm_up"]

# what a PT-60 frame holds after its IMSI, by family and type (grammar.PT60_LAYOUTS)
_PT60_LAYOUT = pt60_layout_array()
(_L_PAYLOAD, _L_NO_TIME, _L_BATTERY, _L_FIX, _L_STEPS, _L_HEART, _L_SCAN, _L_LOCATION,
 _L_CELLS, _L_CELLS_OR_FIX, _L_EMPTY) = range(len(PT60_LAYOUT_NAMES))


@helper(inline=True)
def _parse_int_signed(buf, s, e):
    """(value, ok) for ``-?digits``."""
    if e <= s:
        return 0, False
    neg = byte_at(buf, s) == 45
    v = parse_uint(buf, s + 1 if neg else s, e)
    if v < 0:
        return 0, False
    return (-v if neg else v), True


@helper(inline=True)
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


@helper(inline=True)
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
    return days_from_civil(y, mo, d) * MS_DAY + ((h * 60 + mi) * 60 + se) * 1000, R_OK


@helper(inline=True)
def _fits_i32(v):
    return -INT32_MAX - 1 <= v <= INT32_MAX


@helper(allocates=True)
def _grow_cells(cells_i, cells_cid, n, need):
    m = max(16, cells_i.shape[1] * 2, n + need)
    new_i = np.empty((4, m), np.int32)
    new_cid = np.empty(m, np.int64)
    for i in range(n):
        for j in range(4):
            new_i[j, i] = cells_i[j, i]
        new_cid[i] = cells_cid[i]
    return new_i, new_cid


@helper(allocates=True)
def _grow_wifi(wifi, n, need):
    out = np.empty((N_W, max(16, wifi.shape[1] * 2, n + need)), np.int32)
    for i in range(n):
        for j in range(N_W):
            out[j, i] = wifi[j, i]
    return out


@helper
def _parse_cell(buf, s, e, sep, order_b, cells_i, cells_cid, nc):
    """One cell tower of 5 numbers; B order ``cid,lac,mnc,mcc,rssi``, G order
    ``mcc;mnc;lac;cid;rssi``. Returns how many towers it adds: 0 for an unused slot
    (``0,0,0,0,0``, which B frames fill to a fixed count), -1 when malformed."""
    v0 = v1 = v2 = v3 = v4 = 0  # scalars, not an array: a helper makes no arrays
    p = s
    for j in range(5):
        q = find_byte(buf, p, e, sep)
        if (q == e) != (j == 4):
            return -1
        v, ok = _parse_int_signed(buf, p, q)
        if not ok:
            return -1
        if j == 0:
            v0 = v
        elif j == 1:
            v1 = v
        elif j == 2:
            v2 = v
        elif j == 3:
            v3 = v
        else:
            v4 = v
        p = q + 1
    if v0 == 0 and v1 == 0 and v2 == 0 and v3 == 0 and v4 == 0:
        return 0
    if order_b:
        cid, lac, mnc, mcc = v0, v1, v2, v3
    else:
        mcc, mnc, lac, cid = v0, v1, v2, v3
    if not (_fits_i32(mcc) and _fits_i32(mnc) and _fits_i32(lac) and _fits_i32(v4)):
        return -1  # the int32 columns would keep only the low bits
    cells_i[0, nc] = mcc
    cells_i[1, nc] = mnc
    cells_i[2, nc] = lac
    cells_i[3, nc] = v4
    cells_cid[nc] = cid
    return 1


@helper(inline=True)
def _count_byte(buf, s, e, b):
    n = 0
    for i in range(s, e):
        if byte_at(buf, i) == b:
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
            if byte_at(buf, j) != 58:  # ':'
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
    if not ok or not _fits_i32(rssi):
        return False
    wifi[W_RSSI, nw] = rssi
    return True


@helper(inline=True)
def _parse_pt60(buf, s, e, k, cv, iv, tm, fv, sl, cells_i, cells_cid, nc, wifi, nw):
    """One PT-60 frame. Returns (reason, tcode, nc, nw); the cell and Wi-Fi arrays have
    room for every tower or access point the frame can hold (each takes at least 10
    bytes)."""
    cv[C_PROTO, k] = P_PT60
    while e > s and (byte_at(buf, e - 1) == 32 or byte_at(buf, e - 1) == 13
                     or byte_at(buf, e - 1) == 10):
        e -= 1
    if (e - s >= 8 and byte_at(buf, e - 4) == 64 and byte_at(buf, e - 2) == 35
            and byte_at(buf, e - 1) == 64):
        if byte_at(buf, e - 3) == 82 or byte_at(buf, e - 3) == 69:  # @R#@ / @E#@
            e -= 4
    fam = byte_at(buf, s + 1)
    p = s + 4
    if p >= e:
        return R_TRUNCATED, np.int64(0), nc, nw
    sep = byte_at(buf, p)
    if sep != 44 and sep != 124:
        return R_BAD_FIELD, np.int64(0), nc, nw
    p += 1
    # version
    q = find_byte(buf, p, e, sep)
    if q == e:
        return R_TRUNCATED, np.int64(0), nc, nw
    vs = p + 1 if q > p and byte_at(buf, p) == 86 else p
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
    # the family letter, then the type's decimal digits (most significant first)
    tcode = np.int64(fam)
    width = 1 if mtype < 10 else (2 if mtype < 100 else 3)
    x = mtype
    for j in range(width):
        tcode |= np.int64(48 + x % 10) << np.int64(8 * (width - j))
        x //= 10
    # imei
    p = q + 1
    q = find_byte(buf, p, e, sep)
    if q == e:
        return R_TRUNCATED, tcode, nc, nw
    if not is_digits(buf, p, q) or q - p > 20:
        return R_BAD_DEVICE_ID, tcode, nc, nw
    set_slice(sl, S_DEVICE, k, p, q)
    # imsi
    p = q + 1
    q = find_byte(buf, p, e, sep)
    if q > p and not is_digits(buf, p, q):
        return R_BAD_FIELD, tcode, nc, nw
    p = q + 1
    layout = _PT60_LAYOUT[0 if fam == 71 else 1, mtype]
    if layout == _L_NO_TIME:
        if p < e:
            set_slice(sl, S_PAYLOAD, k, p, e)
        return R_OK, tcode, nc, nw
    if p >= e:
        return R_TRUNCATED, tcode, nc, nw
    q = find_byte(buf, p, e, sep)
    if fam == 66 and not (q - p == 14 and is_digits(buf, p, q)):
        # [firmware|] state | battery | time
        if not is_digits(buf, p, q):
            if not is_printable(buf, p, q):
                return R_BAD_FIELD, tcode, nc, nw
            set_slice(sl, S_FIRMWARE, k, p, q)
            p = q + 1
            q = find_byte(buf, p, e, sep)
        if q - p != 1 or (byte_at(buf, p) != 48 and byte_at(buf, p) != 49):
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
            if steps < 0 or steps > INT32_MAX:
                return (R_TRUNCATED if p >= e else R_BAD_FIELD), tcode, nc, nw
            iv[I_STEPS, k] = steps
        elif layout == _L_BATTERY:
            if q > p:
                battery = parse_uint(buf, p, q)
                if battery < 0 or battery > 100:
                    return R_BAD_FIELD, tcode, nc, nw
                fv[F_BATTERY, k] = battery
            if q + 1 < e:
                set_slice(sl, S_PAYLOAD, k, q + 1, e)
        elif layout == _L_HEART:
            heart = parse_uint(buf, p, q)
            q2 = find_byte(buf, q + 1, e, 44) if q < e else e
            battery = parse_uint(buf, q + 1, q2) if q < e else -1
            if heart < 0 or heart > INT32_MAX or battery < 0 or battery > 100:
                return (R_TRUNCATED if q >= e else R_BAD_FIELD), tcode, nc, nw
            iv[I_HEART, k] = heart
            fv[F_BATTERY, k] = battery
        else:
            if p < e:
                set_slice(sl, S_PAYLOAD, k, p, e)
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
            set_slice(sl, S_PAYLOAD, k, p, e)
    iv[I_CELLS, k] = nc - ncell0
    iv[I_WIFI, k] = nw - nw0
    return R_OK, tcode, nc, nw


@helper
def _parse_into(buf, f_s, f_e, k, cv, iv, tm, fv, sl, tcode, cells_i, cells_cid, nc, wifi,
                nw):
    """The parse loop, resumable: returns before a frame whose towers might not fit, so
    the caller grows the cell arrays outside the loop."""
    n = f_s.shape[0]
    while k < n:
        s = f_s[k]
        e = f_e[k]
        if byte_at(buf, s) == 64 and e - s >= 4:
            room = (e - s) // 10 + 1
            if nc + room > cells_cid.shape[0] or nw + room > wifi.shape[1]:
                return k, nc, nw
            clear_row(k, cv, iv, tm, fv, sl, tcode)
            reason, t, nc, nw = _parse_pt60(
                buf, s, e, k, cv, iv, tm, fv, sl, cells_i, cells_cid, nc, wifi, nw
            )
            cv[C_STATUS, k] = reason
            tcode[k] = t
        k += 1
    return k, nc, nw


@jit
def parse_pt60(buf, f_s, f_e, cv, iv, tm, fv, sl, tcode):
    """Parse every PT-60 frame (starting with ``@``, at least 4 bytes) among the frames
    ``buf[f_s[k]:f_e[k]]`` into row ``k`` of the columns, which it clears first; other rows
    are left as they are.
    Returns the cell towers (``(4, towers)`` int32 mcc, mnc, lac, rssi and their int64
    cell ids) and the Wi-Fi access points (``(N_W, points)``), in frame order."""
    cells_i = np.empty((4, 64), np.int32)
    cells_cid = np.empty(64, np.int64)
    wifi = np.empty((N_W, 16), np.int32)
    # typed, not literal, zeros: a literal would compile _parse_into a second time,
    # specialised for the constant, on a fresh install
    nc = np.int64(0)
    nw = np.int64(0)
    k = np.int64(0)
    n = f_s.shape[0]
    while True:
        k, nc, nw = _parse_into(
            buf, f_s, f_e, k, cv, iv, tm, fv, sl, tcode, cells_i, cells_cid, nc, wifi, nw
        )
        if k >= n:
            break
        room = (f_e[k] - f_s[k]) // 10 + 1
        cells_i, cells_cid = _grow_cells(cells_i, cells_cid, nc, room)
        wifi = _grow_wifi(wifi, nw, room)
    return cells_i[:, :nc], cells_cid[:nc], wifi[:, :nw]


#: what :func:`bofan_analytics._numba.compile_aside` compiles in a second process
KERNELS = (parse_pt60,)


def warm_up():
    """Compile :func:`parse_pt60` for the argument types :func:`._parse.parse_frames`
    passes: read-only chunk bytes, int64 frame bounds, the writable columns."""
    bounds = np.zeros(0, np.int64)
    cv, iv, tm, fv, sl, tcode, _adc = empty_columns(0)
    parse_pt60(np.frombuffer(b"@", np.uint8), bounds, bounds, cv, iv, tm, fv, sl, tcode)
