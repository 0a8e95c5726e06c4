"""Digital inputs (the ignition) and RFID drivers as arrays in a track's row order.

PT-502 sends its inputs as a field of 0/1 characters (``00010``), the last character
being input 1; decoded tables carry them either as that string or as the integer bit mask
it spells in binary (``00010`` -> 2). :func:`input_mask` reads both. Only the distinct
values are parsed (a fleet uses a handful of input patterns), then spread back to the rows
through their codes: no per-row Python.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pandas as pd

from .._numba import jit, pjit
from .._validate import whole
from ..schema import DRIVER_ID, INPUTS

__all__ = ["input_mask", "input_state", "check_input", "driver_codes", "engine_ms",
           "mode_code", "ignition_trips"]

#: Highest input number a mask can hold.
MAX_INPUT = 62


def check_input(n) -> int:
    """``n`` as an input number 1..62, else a :class:`FormatError`."""
    return whole("ignition_input", n, lo=1, hi=MAX_INPUT)


def _parse_bits(text) -> int:
    if not isinstance(text, str):
        return -1
    text = text.strip()
    if not text or len(text) > MAX_INPUT or text.strip("01"):
        return -1
    return int(text, 2)


def input_mask(frame: pd.DataFrame) -> np.ndarray:
    """The inputs of each row as an int64 bit mask (input ``N`` is bit ``N - 1``); -1
    where the row has none or it cannot be read.

    Examples
    --------
    >>> import pandas as pd
    >>> input_mask(pd.DataFrame({"inputs": ["00010", None, 5, "x1"]})).tolist()
    [2, -1, 5, -1]
    """
    if INPUTS not in frame.columns:
        return np.full(len(frame), -1, np.int64)
    col = frame[INPUTS]
    if pd.api.types.is_integer_dtype(col.dtype):
        return col.to_numpy(dtype=np.int64, na_value=-1)
    # strings, or an object column mixing strings and integers: parse the distinct values
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    values = np.array(
        [int(u) if isinstance(u, (int, np.integer)) and u >= 0
         else int(u) if isinstance(u, float) and not math.isnan(u) and u >= 0
         else _parse_bits(u) for u in uniques],
        dtype=np.int64)
    out = np.full(codes.shape[0], -1, np.int64)
    known = codes >= 0
    out[known] = values[codes[known]]
    return out


def input_state(mask: np.ndarray, n: int) -> np.ndarray:
    """Input ``n`` of each row: 1 on, 0 off, -1 unknown (int8)."""
    n = check_input(n)
    state = ((mask >> (n - 1)) & 1).astype(np.int8)
    state[mask < 0] = -1
    return state


def driver_codes(frame: pd.DataFrame):
    """``(codes, names)``: the RFID of each row as a code into ``names``, -1 for none."""
    if DRIVER_ID not in frame.columns:
        return np.full(len(frame), -1, np.int64), np.empty(0, dtype=object)
    col = frame[DRIVER_ID].astype("str")
    col = col.where(col.str.strip().str.len() > 0)  # an empty RFID field is no driver
    codes, names = pd.factorize(col, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(names, dtype=object)


@jit
def engine_ms(t_ms, on, s, e, gap_ms):
    """Engine-on time within each row range ``s[k] .. e[k]`` (inclusive), in ms.

    The hop from fix ``i`` to ``i + 1`` counts when the ignition is on at fix ``i`` (the
    state holds until a fix says otherwise) and the hop is no longer than ``gap_ms`` (a
    data gap says nothing). -1 when no fix of the range knows the ignition state.
    """
    m = s.shape[0]
    out = np.zeros(m, np.int64)
    for k in range(m):
        known = False
        acc = 0
        for i in range(s[k], e[k] + 1):
            if on[i] >= 0:
                known = True
            if i < e[k] and on[i] == 1:
                dt = t_ms[i + 1] - t_ms[i]
                if dt <= gap_ms:
                    acc += dt
        out[k] = acc if known else -1
    return out


@jit
def mode_code(codes, s, e, n_codes):
    """The most frequent code >= 0 within each row range; -1 where the range has none.
    Of two equally frequent codes, the one that reached that count first wins."""
    m = s.shape[0]
    out = np.full(m, -1, np.int64)
    counts = np.zeros(max(n_codes, 1), np.int64)
    for k in range(m):
        best = -1
        best_n = 0
        for i in range(s[k], e[k] + 1):
            c = codes[i]
            if c >= 0:
                counts[c] += 1
                if counts[c] > best_n:
                    best_n = counts[c]
                    best = c
        out[k] = best
        for i in range(s[k], e[k] + 1):  # reset only what was touched
            if codes[i] >= 0:
                counts[codes[i]] = 0
    return out


@pjit
def ignition_trips(t_ms, on, cum_m, bounds, gap_ms, min_dist_m):
    """Trips from ignition edges, written per device at offset ``bounds[g]``.

    A trip starts at a fix with the ignition on that follows one with it off (or starts
    the data, or follows a gap longer than ``gap_ms``) and ends at the first fix with it
    off, or at the last fix before such a gap or the end of the data. Fixes whose state is
    unknown neither start nor end a trip. Trips shorter than ``min_dist_m`` are dropped.
    """
    n = t_ms.shape[0]
    g_count = bounds.shape[0] - 1
    # room for m trips per device of m rows: a trip takes two rows at least, none shared
    ts = np.empty(n, np.int64)
    te = np.empty(n, np.int64)
    counts = np.zeros(g_count, np.int64)
    for g in numba.prange(g_count):
        s0 = bounds[g]
        e0 = bounds[g + 1]
        k = 0
        a = -1
        for i in range(s0, e0 + 1):
            end = -1
            if a >= 0:
                if i == e0 or t_ms[i] - t_ms[i - 1] > gap_ms:
                    end = i - 1
                elif on[i] == 0:
                    end = i
            if end >= 0:
                if end > a and cum_m[end] - cum_m[a] >= min_dist_m:
                    ts[s0 + k] = a
                    te[s0 + k] = end
                    k += 1
                a = -1
            if i < e0 and a < 0 and on[i] == 1 and end != i:
                a = i
        counts[g] = k
    return ts, te, counts
