"""The Parquet writer of the dataset's files: a chunk's rows written in sorted order
straight from the unsorted table (:func:`write_sorted`), for a conversion's part files and
a compaction's merged ones.

Why not Arrow's writer: writing a part took as much CPU as decoding its rows. Arrow first
makes a sorted copy of the chunk (``take``: about 1 ms a column of 98 k rows through its
general path over validity bitmaps, 18–30 ms a chunk) and then encodes each column (50–63
ms a chunk). Here each column is read once, in sorted order, by a kernel that writes its
definition levels and encoded values directly (:mod:`._parquet_kernels`, 0.2 ms for a
column of numbers); only the page compression (zstd) is Arrow's. A 1,056 MB log converted
in 5.4 s against 7.4–8.8 s, its part files 5 % larger.

What a file holds (one data page per column chunk, format 1 data pages):

- every field OPTIONAL, as Arrow writes them; lists in the three-level layout
  (``<name> (LIST)`` / ``repeated group list`` / ``element``);
- strings dictionary encoded (a PLAIN dictionary page, RLE_DICTIONARY indices) unless
  their distinct values pass :data:`DICTIONARY_BYTES`; binary data PLAIN; 64-bit integers,
  times and the int32 columns of :data:`._layout.DELTA_INT32` DELTA_BINARY_PACKED; the
  floats of :data:`._layout.BYTE_STREAM_SPLIT` so; other numbers and booleans PLAIN;
  definition and repetition levels RLE;
- min/max statistics and null counts for :data:`._layout.STATISTICS` (device, time,
  receive time), which readers skip row groups by;
- the Arrow schema (``ARROW:schema``, as Arrow's writer stores it) and the schema's own
  metadata: every reader gets back the types of a file Arrow's writer made, time zones and
  metadata included. ``tests/dataset/test_parquet.py`` reads the files with Arrow, DuckDB
  and polars.

Only the types of the dataset's schemas are known (strings, binary, booleans, 32- and
64-bit integers, doubles, millisecond UTC times, lists of those and of structs of those,
every field nullable); another raises TypeError.
"""

from __future__ import annotations

import base64
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._numba import await_aside, read_only
from .._version import __version__
from . import _parquet_kernels
from ._layout import BYTE_STREAM_SPLIT, DELTA_INT32, STATISTICS
from ._parquet_kernels import (
    encode_delta,
    encode_dictionary,
    encode_hybrid,
    gather_bits,
    gather_bytes,
    gather_values,
    list_levels,
)

__all__ = ["write_sorted", "Strings", "DICTIONARY_BYTES", "CREATED_BY"]

#: the largest dictionary page (the bytes of a column's distinct strings) a column is
#: dictionary encoded with, as Arrow's writer: beyond it, its values are written PLAIN
DICTIONARY_BYTES = 1 << 20

#: ``created_by`` of every file: readers judge a writer's statistics by its name and
#: version, and take min/max statistics from writers they do not know as correct
CREATED_BY = f"bofan_analytics version {__version__}"

# -- Parquet's enumerations (parquet.thrift) ----------------------------------------------
_BOOLEAN, _INT32, _INT64, _DOUBLE, _BYTE_ARRAY = 0, 1, 2, 5, 6
_OPTIONAL, _REPEATED = 1, 2
_UTF8, _LIST, _TIMESTAMP_MILLIS = 0, 3, 9
_PLAIN, _RLE, _DELTA_BINARY_PACKED, _RLE_DICTIONARY, _SPLIT = 0, 3, 5, 8, 9
_UNCOMPRESSED, _ZSTD = 0, 6
#: pages smaller than this (bytes) are written uncompressed
_SMALL_PAGE = 64
_PAGE_MAX = 2**31 - 1  # page sizes are 32-bit

# -- Thrift compact protocol ---------------------------------------------------------------
_T_TRUE, _T_FALSE, _T_I16, _T_I32, _T_I64, _T_BINARY, _T_LIST, _T_STRUCT = 1, 2, 4, 5, 6, 8, 9, 12


_SMALL = [bytes([value]) for value in range(0x80)]


def _varint(value: int) -> bytes:
    if value < 0x80:
        return _SMALL[value]
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _zigzag(value: int) -> bytes:
    return _varint((value << 1) ^ (value >> 63))


def _struct(fields: list) -> bytes:
    """A Thrift struct in the compact protocol. ``fields``: ``(id, kind, value)`` in
    ascending ids, ``kind`` one of ``i16 i32 i64 bin bool struct list_i32 list_bin
    list_struct``; a ``None`` value leaves the field out."""
    out = bytearray()
    last = 0
    for fid, kind, value in fields:
        if value is None:
            continue
        if kind == "bool":
            ttype = _T_TRUE if value else _T_FALSE
        else:
            ttype = _TYPES[kind]
        if 0 < fid - last <= 15:
            out.append((fid - last) << 4 | ttype)
        else:
            out.append(ttype)
            out += _zigzag(fid)
        last = fid
        if kind != "bool":  # (a boolean field is its type nibble)
            out += _value(kind, value)
    out.append(0)
    return bytes(out)


_TYPES = {"i16": _T_I16, "i32": _T_I32, "i64": _T_I64, "bin": _T_BINARY, "struct": _T_STRUCT,
          "list_i32": _T_LIST, "list_bin": _T_LIST, "list_struct": _T_LIST}  # fmt: skip
_ELEMENTS = {"list_i32": ("i32", _T_I32), "list_bin": ("bin", _T_BINARY),
             "list_struct": ("struct", _T_STRUCT)}  # fmt: skip


def _value(kind: str, value) -> bytes:
    if kind in ("i16", "i32", "i64"):
        return _zigzag(value)
    if kind == "bin":
        value = value.encode() if isinstance(value, str) else value
        return _varint(len(value)) + value
    if kind == "struct":
        return value if isinstance(value, bytes) else _struct(value)
    element, ttype = _ELEMENTS[kind]
    if len(value) < 15:
        head = bytes([len(value) << 4 | ttype])
    else:
        head = bytes([0xF0 | ttype]) + _varint(len(value))
    return head + b"".join(_value(element, item) for item in value)


# -- the schema ----------------------------------------------------------------------------
class _Leaf:
    """One column of the Parquet file: where its values are in the Arrow table and how
    they are encoded."""

    def __init__(self, column: int, path: list[str], arrow_type: pa.DataType, *,
                 child: int | None = None, nested: bool = False, listed: bool = False):
        self.column = column  # the top-level column of the table
        self.path = path
        self.child = child  # the struct field, in a list of structs
        self.nested = nested
        self.max_def = (4 if nested else 3) if listed else 1
        self.max_rep = 1 if listed else 0
        self.physical = _physical(arrow_type)
        self.dictionary = pa.types.is_string(arrow_type) and not listed
        self.split = not listed and path[0] in BYTE_STREAM_SPLIT and pa.types.is_float64(arrow_type)
        self.statistics = not listed and path[0] in STATISTICS
        self.delta = not listed and (self.physical == _INT64 or path[0] in DELTA_INT32)


def _physical(typ: pa.DataType) -> int:
    if pa.types.is_string(typ) or pa.types.is_binary(typ):
        return _BYTE_ARRAY
    if pa.types.is_boolean(typ):
        return _BOOLEAN
    if pa.types.is_int32(typ):
        return _INT32
    if pa.types.is_int64(typ) or _is_time(typ):
        return _INT64
    if pa.types.is_float64(typ):
        return _DOUBLE
    raise TypeError(f"no Parquet encoding here for {typ}")


def _nullable(field: pa.Field) -> None:
    if not field.nullable:  # (would be REQUIRED, read back otherwise than written)
        raise TypeError(f"no Parquet encoding here for non-nullable {field}")


def _is_time(typ: pa.DataType) -> bool:
    return pa.types.is_timestamp(typ) and typ.unit == "ms" and typ.tz in ("UTC", "+00:00")


def _element(name: str, typ: pa.DataType) -> list:
    """The SchemaElement fields of a primitive column."""
    fields = [(1, "i32", _physical(typ)), (3, "i32", _OPTIONAL), (4, "bin", name)]
    if pa.types.is_string(typ):
        fields += [(6, "i32", _UTF8), (10, "struct", [(1, "struct", [])])]
    elif _is_time(typ):
        unit = [(1, "struct", [])]  # MILLIS
        fields += [(6, "i32", _TIMESTAMP_MILLIS),
                   (10, "struct", [(8, "struct", [(1, "bool", True), (2, "struct", unit)])])]
    return fields


def _list_group(name: str) -> list[list]:
    """The SchemaElements of a list column down to its items: ``<name> (LIST)``, then
    ``repeated group list`` of one child, ``element``."""
    return [[(3, "i32", _OPTIONAL), (4, "bin", name), (5, "i32", 1), (6, "i32", _LIST),
             (10, "struct", [(3, "struct", [])])],
            [(3, "i32", _REPEATED), (4, "bin", "list"), (5, "i32", 1)]]


class _Layout:
    """What is written for one Arrow schema: its leaves and the constant parts of the
    footer (made once per schema)."""

    def __init__(self, arrow_schema: pa.Schema):
        self.arrow_schema = arrow_schema
        self.leaves: list[_Leaf] = []
        elements = [[(4, "bin", "schema"), (5, "i32", len(arrow_schema))]]
        for i, field in enumerate(arrow_schema):
            typ = field.type
            _nullable(field)
            if pa.types.is_list(typ):
                _nullable(typ.value_field)
                item = typ.value_type
                if pa.types.is_struct(item):
                    elements += _list_group(field.name)
                    elements.append([(3, "i32", _OPTIONAL), (4, "bin", "element"),
                                     (5, "i32", item.num_fields)])
                    for j in range(item.num_fields):
                        sub = item.field(j)
                        _nullable(sub)
                        elements.append(_element(sub.name, sub.type))
                        self.leaves.append(_Leaf(i, [field.name, "list", "element", sub.name],
                                                 sub.type, child=j, nested=True, listed=True))
                else:
                    elements += _list_group(field.name)
                    elements.append(_element("element", item))
                    self.leaves.append(_Leaf(i, [field.name, "list", "element"], item,
                                             listed=True))
            else:
                elements.append(_element(field.name, typ))
                self.leaves.append(_Leaf(i, [field.name], typ))
        self.schema = _value("list_struct", elements)
        metadata = dict(arrow_schema.metadata or {})
        metadata[b"ARROW:schema"] = base64.b64encode(arrow_schema.serialize().to_pybytes())
        pairs = [[(1, "bin", k), (2, "bin", v)] for k, v in metadata.items()]
        self.key_values = _value("list_struct", pairs)
        self.orders = _value("list_struct", [[(1, "struct", [])]] * len(self.leaves))


_LAYOUTS: dict[pa.Schema, _Layout] = {}
_LAYOUTS_LOCK = threading.Lock()


def _layout(arrow_schema: pa.Schema) -> _Layout:
    with _LAYOUTS_LOCK:
        layout = _LAYOUTS.get(arrow_schema)
        if layout is None or not layout.arrow_schema.equals(arrow_schema, check_metadata=True):
            layout = _LAYOUTS[arrow_schema] = _Layout(arrow_schema)
        return layout


# -- columns -------------------------------------------------------------------------------
_EMPTY = read_only(np.zeros(0, np.uint8))


def _buffer(array: pa.Array, i: int, dtype) -> np.ndarray:
    """Buffer ``i`` of ``array`` as the kernels take it: read-only (a buffer the decoder
    made from numpy is writable, one Arrow made is not; each kind compiled apart)."""
    return read_only(np.frombuffer(array.buffers()[i], dtype))


def _bitmap(array: pa.Array) -> tuple[np.ndarray, int]:
    """The validity bitmap of ``array`` as bytes and the bit of its first element; an empty
    bitmap when nothing is null."""
    if array.null_count == 0 or array.buffers()[0] is None:
        return _EMPTY, 0
    return _buffer(array, 0, np.uint8), array.offset


def _words(array: pa.Array, width: int) -> np.ndarray:
    """The values of a fixed-width column as 32-bit words, from its first element."""
    return _buffer(array, 1, np.uint32)[array.offset * width:]


def _offsets(array: pa.Array) -> np.ndarray:
    return _buffer(array, 1, np.int32)[array.offset:array.offset + len(array) + 1]


def _data(array: pa.Array) -> np.ndarray:
    return _EMPTY if array.buffers()[2] is None else _buffer(array, 2, np.uint8)


def _hybrid(values: np.ndarray, n: int, width: int) -> bytes:
    """``values[:n]`` RLE / bit-packed (:func:`encode_hybrid`)."""
    # at worst eight values bit-packed, then a run of eight: 1 + width + 1 + 4 bytes
    out = np.empty(n * (width + 6) // 8 + 32, np.uint8)
    size = encode_hybrid(values, n, width, out)
    return out[:size].tobytes()


def _bytes_of(offsets: np.ndarray, rows: np.ndarray) -> int:
    """The bytes (or list items) of the values ``rows`` of a column with ``offsets``."""
    return int(np.diff(offsets)[rows].sum()) if rows.shape[0] else 0


def _levels(levels: np.ndarray, n: int, width: int) -> bytes:
    """Levels RLE / bit-packed, with the length in four bytes before them."""
    encoded = _hybrid(levels, n, width)
    return struct.pack("<i", len(encoded)) + encoded


def _constant_levels(value: int, n: int, width: int) -> bytes:
    """``n`` levels all ``value``: one RLE run."""
    run = _varint(n << 1) + bytes([value]) if n else b""
    return struct.pack("<i", len(run)) + run


class _Encoded:
    """One column chunk's pages, uncompressed: the data page body and the dictionary, with
    what its metadata says."""

    __slots__ = ("body", "levels", "encoding", "dictionary", "dict_values", "nulls",
                 "minimum", "maximum")

    def __init__(self):
        self.dictionary = None
        self.dict_values = 0
        self.minimum = self.maximum = None


def _encode_flat(leaf: _Leaf, array: pa.Array, rows: np.ndarray,
                 strings: Strings | None = None) -> _Encoded:
    n = rows.shape[0]
    enc = _Encoded()
    enc.levels = n
    enc.encoding = _PLAIN
    if array.null_count == len(array):  # a column this chunk has nothing in
        enc.body = _constant_levels(0, n, 1)
        enc.nulls = n
        return enc
    defs = np.empty(n, np.int32)
    bitmap, bm_off = _bitmap(array)
    if leaf.dictionary and strings is None:
        strings = Strings(array)
    encoded = (strings.codes, strings.offsets, strings.data) if leaf.dictionary else None
    if encoded is not None and encoded[2].shape[0] <= DICTIONARY_BYTES:
        all_codes, dict_offsets, dict_data = encoded
        out = np.empty(n, np.uint32)
        count = gather_values(rows, bitmap, bm_off, 1, all_codes.view(np.uint32), defs, out)
        codes = out[:count].view(np.int32)
        entries = dict_offsets.shape[0] - 1
        width = max(1, (entries - 1).bit_length())
        values = bytes([width]) + _hybrid(codes, count, width)
        enc.encoding = _RLE_DICTIONARY
        enc.dictionary = _plain(dict_offsets, dict_data)
        enc.dict_values = entries
        if leaf.statistics and count:
            enc.minimum, enc.maximum = strings.extremes(codes)
    elif leaf.physical == _BYTE_ARRAY:
        offsets = _offsets(array)
        out = np.empty(4 * n + _bytes_of(offsets, rows), np.uint8)
        size = gather_bytes(rows, bitmap, bm_off, offsets, _data(array), defs, out)
        values = out[:size].tobytes()
        count = int(np.count_nonzero(defs))
        if leaf.statistics and count:  # (strings too many for a dictionary: rare)
            low, high = pc.min_max(array.take(pa.array(rows))).values()
            enc.minimum, enc.maximum = low.as_py().encode(), high.as_py().encode()
    elif leaf.physical == _BOOLEAN:
        out = np.zeros(n // 8 + 1, np.uint8)
        bits = _buffer(array, 1, np.uint8)
        count = gather_bits(rows, bitmap, bm_off, bits, array.offset, defs, out)
        values = out[:(count + 7) // 8].tobytes()
    else:
        width = 1 if leaf.physical == _INT32 else 2
        out = np.empty(n * width, np.uint32)
        count = gather_values(rows, bitmap, bm_off, width, _words(array, width), defs, out)
        gathered = out[:count * width]
        if leaf.statistics and count:
            as_int = gathered.view(np.int64)
            enc.minimum = struct.pack("<q", int(as_int.min()))
            enc.maximum = struct.pack("<q", int(as_int.max()))
        if leaf.split:
            enc.encoding = _SPLIT
            values = gathered.view(np.uint8).reshape(count, 8).T.tobytes()
        elif leaf.delta:
            enc.encoding = _DELTA_BINARY_PACKED
            numbers = gathered.view(np.int64 if width == 2 else np.int32).astype(np.int64)
            # a header, then for each block of 128: its least step, four widths, at worst
            # four miniblocks of 32 values of 64 bits, the last block's as full as the others
            packed = np.empty(40 + (count + 127) // 128 * (14 + 4 * 32 * 8), np.uint8)
            values = packed[:encode_delta(numbers, count, packed)].tobytes()
        else:
            values = gathered.tobytes()
    enc.nulls = n - count
    enc.body = _levels(defs, n, 1) + values
    return enc


def _plain(offsets: np.ndarray, data: np.ndarray) -> bytes:
    """Strings without nulls (``offsets``, ``data``) PLAIN: each its length and bytes."""
    n = offsets.shape[0] - 1
    out = np.empty(4 * n + int(offsets[-1] - offsets[0]), np.uint8)
    defs = np.empty(n, np.int32)
    size = gather_bytes(read_only(np.arange(n)), _EMPTY, 0, read_only(offsets), read_only(data),
                        defs, out)
    return out[:size].tobytes()


class Strings:
    """A string (or binary) column dictionary encoded (:func:`encode_dictionary`): ``codes`` a code for
    each row, -1 for null; the distinct strings in the order first met, as Arrow's
    ``offsets`` and ``data``. Made once for a chunk's sort key (:meth:`ranks`) and its part
    files (``write_sorted(encoded=…)``)."""

    def __init__(self, array: pa.Array):
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        offsets = _offsets(array)
        n = len(array)
        codes = np.empty(n, np.int32)
        dict_offsets = np.empty(n + 1, np.int32)
        dict_data = np.empty(max(1, int(offsets[-1] - offsets[0])), np.uint8)
        bitmap, bm_off = _bitmap(array)
        entries, used = encode_dictionary(bitmap, bm_off, offsets, _data(array), codes,
                                          np.empty(n, np.uint64), dict_offsets, dict_data)
        self.type = array.type  # (string or binary: ordered by their bytes alike)
        self.codes = read_only(codes)
        self.offsets = dict_offsets[:entries + 1]
        self.data = dict_data[:used]
        self._order = self._rank = None

    def _sort(self) -> None:
        """The distinct strings in byte order (Parquet's and Arrow's order of strings):
        ``_order`` the entries in that order, ``_rank`` each entry's place (and one more
        place, after every string, for a code of -1: null)."""
        if self._rank is None:
            entries = self.offsets.shape[0] - 1
            dictionary = pa.Array.from_buffers(self.type, entries, [
                None, pa.py_buffer(self.offsets), pa.py_buffer(self.data)])
            self._order = pc.sort_indices(dictionary).to_numpy()
            rank = np.empty(entries + 1, np.int64)
            rank[self._order] = np.arange(entries)
            rank[entries] = entries
            self._rank = rank

    def ranks(self) -> np.ndarray:
        """Each row's place among the distinct strings, null after every string: a sort
        key."""
        self._sort()
        return self._rank[self.codes]

    def extremes(self, codes: np.ndarray) -> tuple[bytes, bytes]:
        """The least and the greatest of the strings ``codes`` (not empty, no null) name."""
        self._sort()
        ranks = self._rank[codes]
        return (self._entry(int(self._order[ranks.min()])),
                self._entry(int(self._order[ranks.max()])))

    def _entry(self, code: int) -> bytes:
        return self.data[self.offsets[code]:self.offsets[code + 1]].tobytes()


def _encode_listed(leaf: _Leaf, array: pa.Array, rows: np.ndarray) -> _Encoded:
    n = rows.shape[0]
    enc = _Encoded()
    enc.encoding = _PLAIN
    rep_width = 1
    def_width = leaf.max_def.bit_length()
    if array.null_count == len(array):
        enc.levels = n
        enc.nulls = n
        enc.body = _constant_levels(0, n, rep_width) + _constant_levels(0, n, def_width)
        return enc
    offsets = _offsets(array)
    items = array.values  # (the list's whole child: offsets index it)
    item_bitmap, item_off = _bitmap(items)
    leaf_array = items.field(leaf.child) if leaf.nested else items
    leaf_bitmap, leaf_off = _bitmap(leaf_array) if leaf.nested else (_EMPTY, 0)
    most = n + _bytes_of(offsets, rows)  # (items, here)
    reps = np.empty(most, np.int32)
    defs = np.empty(most, np.int32)
    children = np.empty(most, np.int64)
    list_bitmap, list_off = _bitmap(array)
    levels, count = list_levels(rows, list_bitmap, list_off, offsets, item_bitmap, item_off,
                                leaf_bitmap, leaf_off, leaf.nested, reps, defs, children)
    children = read_only(children[:count])
    scratch = np.empty(count, np.int32)
    if leaf.physical == _BYTE_ARRAY:
        leaf_offsets = _offsets(leaf_array)
        out = np.empty(4 * count + _bytes_of(leaf_offsets, children), np.uint8)
        size = gather_bytes(children, _EMPTY, 0, leaf_offsets, _data(leaf_array), scratch, out)
        values = out[:size].tobytes()
    elif leaf.physical == _BOOLEAN:
        out = np.zeros(count // 8 + 1, np.uint8)
        bits = _buffer(leaf_array, 1, np.uint8)
        gather_bits(children, _EMPTY, 0, bits, leaf_array.offset, scratch, out)
        values = out[:(count + 7) // 8].tobytes()
    else:
        width = 1 if leaf.physical == _INT32 else 2
        out = np.empty(count * width, np.uint32)
        gather_values(children, _EMPTY, 0, width, _words(leaf_array, width), scratch, out)
        values = out.tobytes()
    enc.levels = levels
    enc.nulls = int(np.count_nonzero(defs[:levels] < leaf.max_def - 1))
    enc.body = _levels(reps, levels, rep_width) + _levels(defs, levels, def_width) + values
    return enc


# -- the file ------------------------------------------------------------------------------
_CODECS = threading.local()


def _compress(data: bytes) -> bytes:
    codec = getattr(_CODECS, "zstd", None)
    if codec is None:
        codec = _CODECS.zstd = pa.Codec("zstd")
    return codec.compress(data, asbytes=True)


def _page_body(body: bytes, codec: int) -> bytes:
    if len(body) > _PAGE_MAX:
        raise ValueError(f"a page of {len(body):,} bytes is beyond what Parquet can hold")
    return _compress(body) if codec == _ZSTD else body


# The structs written for every column chunk, spelled out (a file has a few dozen column
# chunks: the general encoder took 3 ms a file); each the bytes of :func:`_struct` on its
# fields, which the tests check.
def _statistics(leaf: _Leaf, enc: _Encoded) -> bytes | None:
    """Statistics {1, 2 max, min (legacy: numbers only), 3 nulls, 5, 6 max, min value,
    7, 8 exact} of a column of :data:`._layout.STATISTICS`."""
    if not leaf.statistics:
        return None
    if enc.minimum is None:
        return _struct([(3, "i64", enc.nulls)])
    legacy = leaf.physical != _BYTE_ARRAY  # (strings: only the fields of their byte order)
    return _struct([(1, "bin", enc.maximum if legacy else None),
                    (2, "bin", enc.minimum if legacy else None),
                    (3, "i64", enc.nulls), (5, "bin", enc.maximum), (6, "bin", enc.minimum),
                    (7, "bool", True), (8, "bool", True)])


def _data_page_header(size: int, packed: int, levels: int, encoding: int) -> bytes:
    """PageHeader {1 type: DATA_PAGE, 2, 3 sizes, 5 DataPageHeader {1 values, 2 encoding,
    3, 4 level encodings: RLE}}."""
    return b"".join((b"\x15\x00\x15", _zigzag(size), b"\x15", _zigzag(packed), b"\x2c\x15",
                     _zigzag(levels), b"\x15", _zigzag(encoding), b"\x15\x06\x15\x06\x00\x00"))


def _dictionary_page_header(size: int, packed: int, values: int) -> bytes:
    """PageHeader {1 type: DICTIONARY_PAGE, 2, 3 sizes, 7 DictionaryPageHeader {1 values,
    2 encoding: PLAIN}}."""
    return b"".join((b"\x15\x04\x15", _zigzag(size), b"\x15", _zigzag(packed), b"\x4c\x15",
                     _zigzag(values), b"\x15\x00\x00\x00"))


_CHUNK_HEADS: dict[tuple, bytes] = {}


def _column_chunk(leaf: _Leaf, encodings: tuple, codec: int, start: int, levels: int,
                  size: int, packed: int, data_offset: int, dictionary_offset: int | None,
                  statistics: bytes | None) -> bytes:
    """ColumnChunk {2 file offset, 3 ColumnMetaData {1 type, 2 encodings, 3 path, 4 codec,
    5 values, 6, 7 sizes, 9 data page offset, 11 dictionary page offset, 12 statistics}}."""
    key = (tuple(leaf.path), leaf.physical, encodings, codec)
    head = _CHUNK_HEADS.get(key)
    if head is None:
        head = _CHUNK_HEADS[key] = _struct([(1, "i32", leaf.physical),
                                            (2, "list_i32", list(encodings)),
                                            (3, "list_bin", leaf.path),
                                            (4, "i32", codec)])[:-1]  # (open: more follow)
    parts = [b"\x26", _zigzag(start), b"\x1c", head, b"\x16", _zigzag(levels), b"\x16",
             _zigzag(size), b"\x16", _zigzag(packed), b"\x26", _zigzag(data_offset)]
    last = 9
    if dictionary_offset is not None:
        parts += [b"\x26", _zigzag(dictionary_offset)]
        last = 11
    if statistics is not None:
        parts += [bytes([(12 - last) << 4 | _T_STRUCT]), statistics]
    parts.append(b"\x00\x00")
    return b"".join(parts)


def write_sorted(table: pa.Table, rows: np.ndarray, target: Path, *,
                 encoded: dict[str, Strings] | None = None,
                 row_group_rows: int | None = None) -> None:
    """Write the rows ``rows`` of ``table``, in that order, as one Parquet file, under a
    hidden name, then rename it into place.

    Reading the file back gives ``table.take(rows)``, its schema and metadata included.
    ``encoded``: string columns of ``table`` by name, dictionary encoded already (the
    sort's keys, see :class:`Strings`). ``row_group_rows``: rows per row group (one row
    group when not given).
    """
    await_aside(_parquet_kernels.__name__)  # a first run's kernels, compiling meanwhile
    layout = _layout(table.schema)
    rows = read_only(np.ascontiguousarray(rows, np.int64))
    arrays = [column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
              for column in table.columns]
    n = int(rows.shape[0])
    step = n if not row_group_rows else row_group_rows
    pieces = [b"PAR1"]
    groups = []
    for ordinal, first in enumerate(range(0, max(n, 1), max(step, 1))):
        groups.append(_row_group(layout, arrays, rows[first:first + step], encoded or {},
                                 pieces, ordinal))
    footer = (bytes([0x15]) + _zigzag(2)  # 1: version, i32
              + bytes([0x19]) + layout.schema  # 2: schema, list
              + bytes([0x16]) + _zigzag(n)  # 3: num_rows, i64
              + bytes([0x19]) + _value("list_struct", groups)  # 4: row_groups
              + bytes([0x19]) + layout.key_values  # 5: key_value_metadata
              + bytes([0x18]) + _value("bin", CREATED_BY)  # 6: created_by
              + bytes([0x19]) + layout.orders  # 7: column_orders
              + b"\0")
    pieces += [footer, struct.pack("<i", len(footer)), b"PAR1"]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.writelines(pieces)
    os.replace(tmp, target)


def _row_group(layout: _Layout, arrays: list, rows: np.ndarray, encoded: dict,
               pieces: list, ordinal: int) -> bytes:
    """Encode the rows ``rows`` as one row group: its pages appended to ``pieces`` (the
    file so far), its RowGroup struct returned."""
    begin = at = sum(len(piece) for piece in pieces)
    chunks = []
    total_uncompressed = 0
    for leaf in layout.leaves:
        array = arrays[leaf.column]
        if leaf.max_rep:
            enc = _encode_listed(leaf, array, rows)
        else:
            enc = _encode_flat(leaf, array, rows, encoded.get(leaf.path[0]))
        start = at
        dictionary_offset = None
        # a page of a few bytes (a column of nulls) is smaller as it is than compressed
        small = len(enc.body) + len(enc.dictionary or b"") < _SMALL_PAGE
        codec = _UNCOMPRESSED if small else _ZSTD
        size = packed = 0
        if enc.dictionary is not None:
            body = _page_body(enc.dictionary, codec)
            head = _dictionary_page_header(len(enc.dictionary), len(body), enc.dict_values)
            pieces += [head, body]
            dictionary_offset = at
            at += len(head) + len(body)
            size += len(head) + len(enc.dictionary)
            packed += len(head) + len(body)
            encodings = (_PLAIN, _RLE, _RLE_DICTIONARY)
        else:
            encodings = (_RLE, enc.encoding)
        body = _page_body(enc.body, codec)
        head = _data_page_header(len(enc.body), len(body), enc.levels, enc.encoding)
        pieces += [head, body]
        data_offset = at
        at += len(head) + len(body)
        size += len(head) + len(enc.body)
        packed += len(head) + len(body)
        total_uncompressed += size
        chunks.append(_column_chunk(leaf, encodings, codec, start, enc.levels, size, packed,
                                    data_offset, dictionary_offset, _statistics(leaf, enc)))
    return _struct([(1, "list_struct", chunks), (2, "i64", total_uncompressed),
                    (3, "i64", int(rows.shape[0])), (5, "i64", begin), (6, "i64", at - begin),
                    (7, "i16", ordinal)])
