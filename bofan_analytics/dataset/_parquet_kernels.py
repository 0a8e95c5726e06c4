"""Kernels of :mod:`._parquet`: a part's rows gathered in sorted order straight into the
encoded values and levels of its Parquet pages.

Each kernel reads an unsorted Arrow column through its buffers (values, validity bitmap,
offsets) in the order ``rows`` gives, so the sorted copy of the table that Arrow's ``take``
made is never built. Definition levels are written as they are found, one per row; the
level of a present value is the column's deepest one.
"""

import numpy as np

from .._numba import helper, jit, read_only
from ..decode._text_kernels import load_word

__all__ = ["gather_values", "gather_bits", "gather_bytes", "encode_dictionary", "list_levels",
           "encode_hybrid", "encode_delta", "KERNELS", "warm_up"]


@helper(inline=True)
def _valid_bit(bitmap, i):
    return (bitmap[i >> 3] >> (i & 7)) & 1


@helper(inline=True)
def _level(bitmap, bm_off, v, out_def, k):
    """Whether row ``v`` has a value (1) or is null (0, by ``bitmap``; an empty one: no
    nulls), written as the definition level of row ``k`` of the output."""
    present = 1 if bitmap.shape[0] == 0 else _valid_bit(bitmap, bm_off + v)
    out_def[k] = present
    return present


@jit
def gather_values(rows, bitmap, bm_off, width, values, out_def, out):
    """The values of ``rows`` (``width`` 32-bit words each, 1 or 2) that are present,
    packed in ``out``; ``out_def[k]`` 1 where row ``k`` has one, 0 where it is null (no
    bitmap: an empty ``bitmap``). Returns how many there are.

    Every row's value is copied and the write position moves on only past a present one:
    no branch per row (a null row's slot holds some value in Arrow's buffers too)."""
    m = rows.shape[0]
    if bitmap.shape[0] == 0:
        if width == 1:
            for k in range(m):
                out[k] = values[rows[k]]
        else:
            for k in range(m):
                v = rows[k]
                out[2 * k] = values[2 * v]
                out[2 * k + 1] = values[2 * v + 1]
        out_def[:m] = 1
        return m
    n = 0
    if width == 1:
        for k in range(m):
            v = rows[k]
            present = _valid_bit(bitmap, bm_off + v)
            out_def[k] = present
            out[n] = values[v]
            n += present
    else:
        for k in range(m):
            v = rows[k]
            present = _valid_bit(bitmap, bm_off + v)
            out_def[k] = present
            out[2 * n] = values[2 * v]
            out[2 * n + 1] = values[2 * v + 1]
            n += present
    return n


@jit
def gather_bits(rows, bitmap, bm_off, bits, bits_off, out_def, out):
    """:func:`gather_values` for a boolean column: the present values bit-packed in
    ``out`` (zeroed), least significant bit first, as Parquet's PLAIN booleans are."""
    n = 0
    for k in range(rows.shape[0]):
        v = rows[k]
        if _level(bitmap, bm_off, v, out_def, k) == 0:
            continue
        if _valid_bit(bits, bits_off + v):
            out[n >> 3] |= np.uint8(1 << (n & 7))
        n += 1
    return n


@jit
def gather_bytes(rows, bitmap, bm_off, offsets, data, out_def, out):
    """:func:`gather_values` for a string or binary column (``offsets`` int32, one more
    than its rows): the present values as PLAIN byte arrays in ``out``, each its length in
    four bytes (little endian) and its bytes. Returns the bytes written."""
    p = 0
    for k in range(rows.shape[0]):
        v = rows[k]
        if _level(bitmap, bm_off, v, out_def, k) == 0:
            continue
        s = offsets[v]
        e = offsets[v + 1]
        size = e - s
        out[p] = size & 0xFF
        out[p + 1] = (size >> 8) & 0xFF
        out[p + 2] = (size >> 16) & 0xFF
        out[p + 3] = (size >> 24) & 0xFF
        p += 4
        for i in range(s, e):
            out[p] = data[i]
            p += 1
    return p


@jit
def list_levels(rows, list_bm, list_off, offsets, item_bm, item_off, leaf_bm, leaf_off,
                nested, out_rep, out_def, out_child):
    """Repetition and definition levels of one leaf of a list column, its rows in the order
    ``rows``, and the indices (into the leaf's values) of the leaf values present.

    The list's items are the leaf itself (``list<int32>``: levels 0 null list, 1 empty,
    2 null item, 3 a value) or, ``nested``, structs holding it (``list<struct<…>>``:
    0 null list, 1 empty, 2 null struct, 3 null field, 4 a value). An empty bitmap means
    no nulls at that level. Returns (levels, values present)."""
    n = 0
    m = 0
    top = 4 if nested else 3
    for k in range(rows.shape[0]):
        v = rows[k]
        if list_bm.shape[0] > 0 and _valid_bit(list_bm, list_off + v) == 0:
            out_rep[n] = 0
            out_def[n] = 0
            n += 1
            continue
        s = offsets[v]
        e = offsets[v + 1]
        if s == e:
            out_rep[n] = 0
            out_def[n] = 1
            n += 1
            continue
        for j in range(s, e):
            out_rep[n] = 0 if j == s else 1
            if item_bm.shape[0] > 0 and _valid_bit(item_bm, item_off + j) == 0:
                out_def[n] = 2
            elif nested and leaf_bm.shape[0] > 0 and _valid_bit(leaf_bm, leaf_off + j) == 0:
                out_def[n] = 3
            else:
                out_def[n] = top
                out_child[m] = j
                m += 1
            n += 1
    return n, m


@helper(inline=True)
def _put_varint(out, p, value):
    while value >= 0x80:
        out[p] = (value & 0x7F) | 0x80
        value >>= 7
        p += 1
    out[p] = value
    return p + 1


@helper(inline=True)
def _put_bits(out, p, acc, bits, value, width):
    """Append the low ``width`` (at most 32) bits of ``value`` to a stream packed least
    significant bit first: ``acc`` holds ``bits`` bits not yet written, whole bytes go to
    ``out[p:]``. Returns the new (p, acc, bits)."""
    acc |= (value & ((np.uint64(1) << np.uint64(width)) - np.uint64(1))) << np.uint64(bits)
    bits += width
    while bits >= 8:
        out[p] = acc & np.uint64(0xFF)
        acc >>= np.uint64(8)
        bits -= 8
        p += 1
    return p, acc, bits


@jit
def encode_hybrid(values, n, width, out):
    """Parquet's RLE / bit-packed hybrid encoding of ``values[:n]`` (each below
    ``2**width``) into ``out``; returns the bytes written.

    A run of eight or more equal values becomes one RLE run; the values between runs are
    bit-packed in groups of eight (the last group padded with zeros, which the reader
    ignores: it knows how many values there are)."""
    p = 0
    i = 0
    value_bytes = (width + 7) // 8
    while i < n:
        run = 1
        while i + run < n and values[i + run] == values[i]:
            run += 1
        if run >= 8:
            p = _put_varint(out, p, run << 1)
            value = values[i]
            for b in range(value_bytes):
                out[p] = (value >> (8 * b)) & 0xFF
                p += 1
            i += run
            continue
        # groups of eight, up to the start of the next run of eight equal values
        end = i + 8
        while end < n:
            same = 1
            while same < 8 and end + same < n and values[end + same] == values[end]:
                same += 1
            if same >= 8:
                break
            end += 8
        groups = (min(end, n) - i + 7) // 8
        p = _put_varint(out, p, (groups << 1) | 1)
        acc = np.uint64(0)
        bits = 0
        for j in range(i, i + groups * 8):
            value = np.uint64(values[j]) if j < n else np.uint64(0)
            p, acc, bits = _put_bits(out, p, acc, bits, value, width)
        i = min(end, n)
    return p


@helper(inline=True)
def _same_bytes(a, i, b, j, size):
    """Whether ``a[i:i + size]`` and ``b[j:j + size]`` hold the same bytes."""
    t = 0
    while t + 8 <= size:
        if load_word(a, i + t) != load_word(b, j + t):
            return False
        t += 8
    if t == size:
        return True
    if size >= 8:  # the last bytes, as the eight that end them
        return load_word(a, i + size - 8) == load_word(b, j + size - 8)
    while t < size:
        if a[i + t] != b[j + t]:
            return False
        t += 1
    return True


@helper(inline=True)
def _hash_bytes(data, s, e):
    """A 64-bit hash of ``data[s:e]``, eight bytes at a time."""
    h = np.uint64(14695981039346656037) ^ np.uint64(e - s)
    t = s
    while t + 8 <= e:
        h = (h ^ load_word(data, t)) * np.uint64(1099511628211)
        h ^= h >> np.uint64(29)
        t += 8
    if t < e and e - s >= 8:  # the last bytes, as the eight that end them
        h = (h ^ load_word(data, e - 8)) * np.uint64(1099511628211)
    else:
        while t < e:
            h = (h ^ np.uint64(data[t])) * np.uint64(1099511628211)
            t += 1
    # a multiplication carries a byte's bits only upwards: mix the high ones down (the
    # finisher of MurmurHash3), or ids alike in their first bytes share slots
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


@jit
def encode_dictionary(bitmap, bm_off, offsets, data, codes, entry_hash, dict_offsets,
                      dict_data):
    """Dictionary encoding of a string column (``offsets``, ``data``) in its own order:
    ``codes[k]`` the entry of row ``k`` (-1 null), the distinct strings in the order first
    met in ``dict_offsets`` and ``dict_data`` (``entry_hash``: scratch, a row's worth).
    Returns (entries, dictionary bytes).

    The column is read front to back (a gather in sorted order would jump about its
    bytes); a string equal to the row before's (a source file, a protocol) is not hashed.
    The hash table starts small and grows fourfold when half full: sized for the rows, it
    spread a few hundred device ids over a megabyte, a cache miss a row."""
    slots = np.full(256, -1, np.int32)
    mask = slots.shape[0] - 1
    checked = bitmap.shape[0] > 0
    entries = 0
    used = 0
    last_s = 0
    last_size = -1
    last_code = -1
    dict_offsets[0] = 0
    for k in range(codes.shape[0]):
        if checked and _valid_bit(bitmap, bm_off + k) == 0:
            codes[k] = -1
            continue
        s = offsets[k]
        size = offsets[k + 1] - s
        if size == last_size and _same_bytes(data, s, data, last_s, size):
            codes[k] = last_code
            last_s = s
            continue
        h = _hash_bytes(data, s, s + size)
        slot = np.int64(h & np.uint64(mask))
        while True:
            code = slots[slot]
            if code < 0:
                code = entries
                slots[slot] = code
                entry_hash[code] = h
                for t in range(size):
                    dict_data[used + t] = data[s + t]
                used += size
                dict_offsets[code + 1] = used
                entries += 1
                if 2 * entries > slots.shape[0]:
                    slots = np.full(4 * slots.shape[0], -1, np.int32)
                    mask = slots.shape[0] - 1
                    for e in range(entries):
                        at = np.int64(entry_hash[e] & np.uint64(mask))
                        while slots[at] >= 0:
                            at = (at + 1) & mask
                        slots[at] = e
                break
            ds = dict_offsets[code]
            if dict_offsets[code + 1] - ds == size and _same_bytes(dict_data, ds, data, s, size):
                break
            slot = (slot + 1) & mask
        codes[k] = code
        last_s = s
        last_size = size
        last_code = code
    return entries, used


@helper(inline=True)
def _zigzag_u64(value):
    return np.uint64((value << 1) ^ (value >> 63))


@helper(inline=True)
def _put_uvarint(out, p, value):
    while value >= np.uint64(0x80):
        out[p] = (value & np.uint64(0x7F)) | np.uint64(0x80)
        value >>= np.uint64(7)
        p += 1
    out[p] = value
    return p + 1


@jit
def encode_delta(values, n, out):
    """Parquet's DELTA_BINARY_PACKED encoding of ``values[:n]`` (int64) into ``out``:
    blocks of 128 values, four miniblocks of 32 each; returns the bytes written.

    Differences are taken with wrapping 64-bit arithmetic, as readers undo them."""
    p = _put_uvarint(out, 0, np.uint64(128))
    p = _put_uvarint(out, p, np.uint64(4))
    p = _put_uvarint(out, p, np.uint64(n))
    p = _put_uvarint(out, p, _zigzag_u64(values[0]) if n else np.uint64(0))
    i = 1
    while i < n:
        end = min(i + 128, n)
        low = values[i] - values[i - 1]
        for j in range(i + 1, end):
            low = min(low, values[j] - values[j - 1])
        p = _put_uvarint(out, p, _zigzag_u64(low))
        widths = p
        p += 4
        for mb in range(4):
            s = i + 32 * mb
            if s >= end:
                out[widths + mb] = 0
                continue
            e = min(s + 32, end)
            seen = np.uint64(0)
            for j in range(s, e):
                seen |= np.uint64(values[j] - values[j - 1] - low)
            width = 0
            while width < 64 and (seen >> np.uint64(width)) != np.uint64(0):
                width += 1
            out[widths + mb] = width
            acc = np.uint64(0)
            bits = 0
            for j in range(s, s + 32):
                u = np.uint64(values[j] - values[j - 1] - low) if j < e else np.uint64(0)
                left = width
                while left > 0:  # (a step of up to 64 bits in two parts)
                    take = min(left, 32)
                    p, acc, bits = _put_bits(out, p, acc, bits, u, take)
                    u >>= np.uint64(take)
                    left -= take
        i = end
    return p


#: what :func:`bofan_analytics._numba.compile_aside` compiles in a second process
KERNELS = (gather_values, gather_bits, gather_bytes, list_levels, encode_hybrid,
           encode_dictionary, encode_delta)


def warm_up():
    """Compile every kernel for the argument types :mod:`._parquet` passes: read-only
    inputs (Arrow's buffers, the sort order), writable outputs."""
    rows = read_only(np.zeros(1, np.int64))
    bitmap = read_only(np.ones(1, np.uint8))
    offsets = read_only(np.zeros(2, np.int32))
    data = read_only(np.zeros(1, np.uint8))
    levels = np.zeros(4, np.int32)
    out = np.zeros(64, np.uint8)
    gather_values(rows, bitmap, 0, 1, read_only(np.zeros(2, np.uint32)), levels,
                  np.zeros(2, np.uint32))
    gather_bits(rows, bitmap, 0, data, 0, levels, out)
    gather_bytes(rows, bitmap, 0, offsets, data, levels, out)
    list_levels(rows, bitmap, 0, offsets, bitmap, 0, bitmap, 0, True, levels, levels,
                np.zeros(4, np.int64))
    encode_hybrid(levels, 1, 1, out)
    encode_dictionary(bitmap, 0, offsets, data, levels[:1], np.zeros(1, np.uint64), levels[:2],
                      out)
    encode_delta(np.zeros(1, np.int64), 1, np.zeros(2000, np.uint8))
