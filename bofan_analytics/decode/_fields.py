"""The columns a parsed frame is written to, shared by the PT-502 and PT-60 parsers.

A parser writes one row per frame into column-major arrays: ``cv`` small codes (status,
protocol, valid, alarm), ``iv`` int32 fields, ``tm`` the device time (epoch ms), ``fv``
floats, ``sl`` byte ranges of text fields (``-1`` when absent), ``tcode`` the message type
packed into an int64 (up to 8 ASCII bytes). Cell towers go to flat arrays, ``iv[I_CELLS]``
of them per frame, and so do Wi-Fi access points (``wifi``: MAC range, SSID range, RSSI;
``iv[I_WIFI]`` per frame). ``adc`` holds up to :data:`MAX_ADC` ADC values per frame
(``iv[I_ADC]`` of them). A frame with a malformed field gets a reject code in
``cv[C_STATUS]``; the Python side turns it into a reject row. Nothing becomes 0 by
accident: missing is NaN or ``-1``.

The columns are allocated unset (:func:`unset_columns`): a parser first sets each row it
parses to "every field missing" (:func:`clear_row`, values from :data:`CV_UNSET` and
:data:`IV_UNSET`), in the same pass as the parsing, and the caller clears the rows no
parser takes (:func:`clear_rows`). Filling the columns beforehand was a pass of its own
over some 2 MB per 4 MiB of input.
"""

import numpy as np

from .._numba import helper
from ._text_kernels import INT64_NULL

__all__ = [
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
    "S_DRIVER",
    "S_FIRMWARE",
    "S_PAYLOAD",
    "S_MODE",
    "N_S",
    "N_W",
    "INT32_MAX",
    "MS_DAY",
    "set_slice",
    "CV_UNSET",
    "IV_UNSET",
    "clear_row",
    "clear_rows",
    "unset_columns",
    "empty_columns",
]

C_STATUS, C_PROTO, C_VALID, C_ALARM, N_C = 0, 1, 2, 3, 4
(I_SATS, I_RSSI, I_STEPS, I_HEART, I_PHOTO_SIZE, I_PHOTO_OFFSET, I_CELLS, I_INPUTS,
 I_OUTPUTS, I_ADC, I_WIFI, N_I) = range(12)
#: the most ADC values one PT-502 sentence carries (firmwares send 1 to 4)
MAX_ADC = 8
W_MAC_S, W_MAC_E, W_SSID_S, W_SSID_E, W_RSSI, N_W = range(6)
INT32_MAX = 2**31 - 1
F_LAT, F_LON, F_SPEED, F_COURSE, F_BATTERY, F_ODOMETER, N_F = range(7)
#: the text fields kept as byte ranges (start, end) of the frame, for the string columns
S_DEVICE, S_DRIVER, S_FIRMWARE, S_PAYLOAD, S_MODE, N_S = range(6)

#: ``cv`` and ``iv`` of a row with every field missing: validity unknown, no reason yet,
#: counts of cell towers and access points 0, every other number -1
CV_UNSET = np.zeros(N_C, np.int8)
CV_UNSET[C_VALID] = -1
IV_UNSET = np.full(N_I, -1, np.int32)
IV_UNSET[I_CELLS] = 0
IV_UNSET[I_WIFI] = 0

MS_DAY = 86_400_000


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


@helper
def set_slice(sl, f, k, s, e):
    if e > s:
        sl[2 * f, k] = s
        sl[2 * f + 1, k] = e


@helper(inline=True)
def clear_row(k, cv, iv, tm, fv, sl, tcode):
    """Row ``k`` of the columns: every field missing (what a parser starts a frame with)."""
    for j in range(N_C):
        cv[j, k] = CV_UNSET[j]
    for j in range(N_I):
        iv[j, k] = IV_UNSET[j]
    tm[k] = INT64_NULL
    for j in range(N_F):
        fv[j, k] = np.nan
    for j in range(2 * N_S):
        sl[j, k] = -1
    tcode[k] = 0


def clear_rows(columns, rows):
    """Rows ``rows`` (indices, or a mask) of ``columns`` (``(cv, iv, tm, fv, sl, tcode,
    adc)``): every field missing, as :func:`clear_row` leaves one."""
    cv, iv, tm, fv, sl, tcode, _adc = columns
    cv[:, rows] = CV_UNSET[:, None]
    iv[:, rows] = IV_UNSET[:, None]
    tm[rows] = INT64_NULL
    fv[:, rows] = np.nan
    sl[:, rows] = -1
    tcode[rows] = 0


def unset_columns(n):
    """The columns of ``n`` frames, allocated and not yet set: ``(cv, iv, tm, fv, sl,
    tcode, adc)`` (see the module docstring). Every row must be cleared (:func:`clear_row`,
    :func:`clear_rows`) before it is read."""
    cv = np.empty((N_C, n), np.int8)
    iv = np.empty((N_I, n), np.int32)
    tm = np.empty(n, np.int64)
    fv = np.empty((N_F, n))
    sl = np.empty((2 * N_S, n), np.int32)  # chunks stay far below 2 GiB
    tcode = np.empty(n, np.int64)
    adc = np.empty((MAX_ADC, n), np.int32)
    return cv, iv, tm, fv, sl, tcode, adc


def empty_columns(n):
    """The columns of ``n`` frames, every field missing: ``(cv, iv, tm, fv, sl, tcode,
    adc)`` (see the module docstring)."""
    columns = unset_columns(n)
    clear_rows(columns, slice(None))
    return columns
