"""Small byte-level parsing helpers shared by every decode kernel.

All take the byte buffer and a half-open range ``[s, e)`` and return a value with a
"missing" sentinel (NaN for floats, ``-1`` or ``INT64_NULL`` for integers) so that the
calling kernel can tell *empty* from *malformed* and reject the frame with a reason.
"""

import numpy as np

from .._numba import PLAIN, helper
from ..schema import NULL_TIME_MS

__all__ = [
    "INT64_NULL",
    "byte_at",
    "ZERO",
    "BAD",
    "parse_uint",
    "parse_hex",
    "parse_decimal",
    "POW10",
    "is_digits",
    "is_printable",
    "days_from_civil",
    "valid_date",
    "find_byte",
    "load_word",
    "store_word",
    "first_byte_set",
    "ONES",
    "HIGH_BITS",
    "grow_i64",
    "grow_i32",
    "grow_i8",
]

INT64_NULL = NULL_TIME_MS
# Kernels copy and fill arrays with loops, not slice assignment: ``a[:n] = b[:n]`` makes a
# fresh install compile numba's general array-assignment code (and the text formatting of
# its error message), seconds of waiting for what a loop does as fast.

#: A byte that digits or dates are computed from is read as ``buf[i] + ZERO``: an int64,
#: compiled (what numba widens a uint8 to anyway) and as plain Python alike
#: (NUMBA_DISABLE_JIT=1, for tracebacks and coverage), where a numpy uint8 would wrap
#: around (``c - 48``, ``v * 10``). ``int(buf[i])`` did the same at a second more of
#: compiling on a fresh install.
ZERO = np.int64(0)
#: returned by the integer parsers for malformed input (empty input gives -1)
BAD = -2

if PLAIN:
    def byte_at(buf, i):
        """``buf[i]``, ``i`` never negative (see the compiled one)."""
        return buf[i]
else:
    @helper(inline=True)
    def byte_at(buf, i):
        """``buf[i]``, for an index that is never negative: what the byte parsers read
        bytes with. Numba reads an array at a signed index as Python does, a negative one
        counting from the end: three more instructions for every byte read, in loops that
        LLVM then cannot vectorise. An unsigned index has no such case, and is
        bounds-checked alike under ``NUMBA_BOUNDSCHECK`` (a negative one fails there). The
        PT-502 parse took 13 % less time."""
        return buf[np.uint64(i)]


@helper
def is_digits(buf, s, e):
    if e <= s:
        return False
    for i in range(s, e):
        c = byte_at(buf, i)
        if c < 48 or c > 57:
            return False
    return True


@helper
def is_printable(buf, s, e):
    """Whether ``buf[s:e]`` is printable ASCII (or empty): what a free-text field (firmware
    version, driver id) may hold. Other bytes would make the string column invalid UTF-8,
    which Arrow and pandas refuse to read."""
    for i in range(s, e):
        c = byte_at(buf, i)
        if c < 32 or c > 126:
            return False
    return True


@helper
def parse_uint(buf, s, e):
    """Unsigned decimal integer: -1 when empty, BAD when not all digits (or too long)."""
    if e <= s:
        return -1
    if e - s > 18:
        return BAD
    v = 0
    for i in range(s, e):
        c = byte_at(buf, i) + ZERO
        if c < 48 or c > 57:
            return BAD
        v = v * 10 + (c - 48)
    return v


@helper
def parse_hex(buf, s, e):
    """Unsigned hex integer, either case: -1 when empty, BAD when malformed."""
    if e <= s:
        return -1
    if e - s > 15:
        return BAD
    v = 0
    for i in range(s, e):
        c = byte_at(buf, i) + ZERO
        if 48 <= c <= 57:
            d = c - 48
        elif 97 <= c <= 102:
            d = c - 87
        elif 65 <= c <= 70:
            d = c - 55
        else:
            return BAD
        v = v * 16 + d
    return v


#: exact powers of ten for scaling integer-accumulated fractions
POW10 = np.array([10.0**k for k in range(19)])


@helper(inline=True)
def parse_decimal(buf, s, e):
    """Signed decimal number ``-?d*(.d*)?`` with at least one digit.

    Returns ``(value, status)``: status 0 ok, 1 empty (value NaN), 2 malformed (value NaN).
    Up to 18 digits, the digits are read as one integer (the dot left out as one pass goes
    by) and divided by a power of ten once: one rounding, so the value is the double
    nearest the text, what ``float`` reads, up to 15 digits. Longer numbers take
    :func:`_long_decimal`.
    """
    if e <= s:
        return np.nan, 1
    neg = byte_at(buf, s) == 45  # '-'
    i = s + 1 if neg or byte_at(buf, s) == 43 else s  # '+'
    if e - i > 19:
        return _long_decimal(buf, i, e, neg)
    v = 0
    dots = 0
    frac = 0  # digits after the dot
    other = 0
    for j in range(i, e):
        c = byte_at(buf, j) + ZERO
        d = c - 48
        dot = 1 if c == 46 else 0
        digit = 1 if 0 <= d <= 9 else 0
        other |= 1 - (digit | dot)
        dots += dot
        frac += digit * min(dots, 1)
        v = v * (10 - 9 * dot) + d * digit
    digits = e - i - dots
    if other or dots > 1 or digits == 0 or digits > 18:  # a byte of neither, two dots
        return np.nan, 2
    value = v / POW10[frac]
    return (-value if neg else value), 0


@helper
def _long_decimal(buf, i, e, neg):
    """:func:`parse_decimal` of a number of more than 18 digits (``buf[i:e]``, its sign
    read): up to 18 before the dot and 18 after, summed as two integers."""
    ip = 0
    ni = 0
    while i < e and 48 <= byte_at(buf, i) <= 57:
        ip = ip * 10 + (byte_at(buf, i) + ZERO - 48)
        ni += 1
        i += 1
    fp = 0
    nf = 0
    if i < e and byte_at(buf, i) == 46:  # '.'
        i += 1
        while i < e and 48 <= byte_at(buf, i) <= 57:
            fp = fp * 10 + (byte_at(buf, i) + ZERO - 48)
            nf += 1
            i += 1
    if i != e or ni + nf == 0 or ni > 18 or nf > 18:
        return np.nan, 2
    v = ip + fp / POW10[nf]
    return (-v if neg else v), 0


@helper(inline=True)
def days_from_civil(y, m, d):
    """Days since 1970-01-01 of a proleptic Gregorian date."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@helper(inline=True)
def valid_date(y, m, d):
    if m < 1 or m > 12 or d < 1:
        return False
    if m == 2:
        leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
        return d <= (29 if leap else 28)
    if m == 4 or m == 6 or m == 9 or m == 11:
        return d <= 30
    return d <= 31


#: 0x01 and 0x80 in every byte of a word, for tests on eight bytes at once
ONES = np.uint64(0x0101010101010101)
HIGH_BITS = np.uint64(0x8080808080808080)

if PLAIN:
    def load_word(buf, i):
        """The eight bytes ``buf[i:i + 8]`` as one little-endian uint64 (any ``i``)."""
        return np.uint64(int.from_bytes(buf[i:i + 8].tobytes(), "little"))

    def store_word(out, i, word):
        """Write the uint64 ``word`` to ``out[i:i + 8]``, little-endian (any ``i``)."""
        out[i:i + 8] = np.frombuffer(int(word).to_bytes(8, "little"), np.uint8)

    def first_byte_set(z):
        """Which byte (0 the lowest) of the nonzero word ``z`` is the lowest with a bit set."""
        z = int(z)
        return ((z & -z).bit_length() - 1) >> 3
else:
    from llvmlite import ir
    from numba.core import types
    from numba.cpython.unsafe.numbers import trailing_zeros
    from numba.extending import intrinsic

    @helper(inline=True)
    def first_byte_set(z):
        """Which byte (0 the lowest) of the nonzero word ``z`` is the lowest with a bit set."""
        return trailing_zeros(z) >> 3

    @intrinsic
    def load_word(typingctx, buf, i):
        """The eight bytes ``buf[i:i + 8]`` as one little-endian uint64 (any ``i``): one
        unaligned load, where numba would read eight bytes one by one. The caller makes
        sure ``i + 8`` is within ``buf``."""
        def codegen(context, builder, sig, args):
            array = context.make_array(sig.args[0])(context, builder, args[0])
            at = builder.gep(array.data, [args[1]])
            return builder.load(builder.bitcast(at, ir.IntType(64).as_pointer()), align=1)

        return types.uint64(buf, types.intp), codegen

    @intrinsic
    def store_word(typingctx, out, i, word):
        """Write the uint64 ``word`` to ``out[i:i + 8]``, little-endian (any ``i``): one
        unaligned store. The caller makes sure ``i + 8`` is within ``out``."""
        def codegen(context, builder, sig, args):
            array = context.make_array(sig.args[0])(context, builder, args[0])
            at = builder.gep(array.data, [args[1]])
            builder.store(args[2], builder.bitcast(at, ir.IntType(64).as_pointer()), align=1)
            return context.get_dummy_value()

        return types.none(out, types.intp, types.uint64), codegen


@helper
def find_byte(buf, s, e, b):
    """Index of the first ``b`` in ``buf[s:e]``, or ``e`` when absent.

    Eight bytes at a time: a word XOR eight ``b`` has a zero byte where ``b`` is, and the
    lowest byte the zero test marks is exact (its false marks lie above a true one)."""
    pattern = ONES * np.uint64(b)
    i = s
    while i + 8 <= e:
        y = load_word(buf, i) ^ pattern
        zero = (y - ONES) & ~y & HIGH_BITS
        if zero != 0:
            return i + first_byte_set(zero)
        i += 8
    while i < e:
        if byte_at(buf, i) == b:
            return i
        i += 1
    return e


@helper(allocates=True)
def grow_i64(a, n):
    out = np.empty(max(16, a.shape[0] * 2), dtype=np.int64)
    for i in range(n):
        out[i] = a[i]
    return out


@helper(allocates=True)
def grow_i32(a, n):
    out = np.empty(max(16, a.shape[0] * 2), dtype=np.int32)
    for i in range(n):
        out[i] = a[i]
    return out


@helper(allocates=True)
def grow_i8(a, n):
    out = np.empty(max(16, a.shape[0] * 2), dtype=np.int8)
    for i in range(n):
        out[i] = a[i]
    return out
