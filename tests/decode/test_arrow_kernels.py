"""The kernels that lay out Arrow string buffers, against the bytes joined in Python."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st


@settings(deadline=None)  # the first example compiles the kernel
@given(st.lists(st.text(max_size=80), min_size=1, max_size=12), st.data())
def test_strings_taken_from_a_dictionary_are_its_strings_joined(dictionary, data):
    """``take_strings``: word copies of padded strings up to 64 bytes, a byte loop past
    that; rows of any lengths next to each other, the empty string among them."""
    from bofan_analytics._numba import read_only
    from bofan_analytics.decode._arrow_kernels import take_strings
    from bofan_analytics.decode._assemble import _encoded

    codes = data.draw(st.lists(st.integers(0, len(dictionary) - 1), max_size=200))
    dict_offsets, dict_data = _encoded(tuple(dictionary))
    offsets, out = take_strings(read_only(np.array(codes, np.int32)), dict_offsets, dict_data)
    texts = [dictionary[c].encode() for c in codes]
    assert offsets.tolist() == np.cumsum([0, *map(len, texts)]).tolist()
    assert out.tobytes() == b"".join(texts)


@settings(deadline=None)  # the first example compiles the kernel
@given(st.integers(1, 8), st.data())
def test_list_rows_gathered_from_columns_are_their_first_counts_values(width, data):
    """``gather_columns``: each row copies its whole column and the next row overwrites
    what lies past its count; a count of zero or less is a null row. Rows with and
    without values side by side, the widest ones last (nothing written past the end)."""
    from bofan_analytics._numba import read_only
    from bofan_analytics.decode._arrow_kernels import gather_columns

    n = data.draw(st.integers(0, 30))
    counts = np.array(data.draw(st.lists(st.integers(-1, width), min_size=n, max_size=n)),
                      np.int32)  # fmt: skip
    values = np.arange(width * n, dtype=np.int32).reshape(width, n) + 1000
    idx = np.array(data.draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=40 if n else 0)),
                   np.int64)  # fmt: skip
    # read-only, as decoding passes them: one signature compiled
    offsets, out, validity, nulls = gather_columns(read_only(values), read_only(counts),
                                                   read_only(idx))
    rows = [list(values[: max(counts[k], 0), k]) for k in idx]
    assert offsets.tolist() == np.cumsum([0, *map(len, rows)]).tolist()
    assert out.tolist() == [v for row in rows for v in row]
    present = [counts[k] > 0 for k in idx]
    assert np.unpackbits(validity, bitorder="little")[: len(idx)].tolist() == present
    assert nulls == len(idx) - sum(present)


@settings(deadline=None)  # the first example compiles the kernel
@given(st.sampled_from(["float64", "int32", "int64"]), st.data())
def test_validity_bitmap_marks_the_values_that_are_neither_null_nor_nan(dtype, data):
    """``validity_of``: whole bytes of eight values, then the values after the last
    whole byte; lengths below, at and past a multiple of eight, missing values anywhere."""
    from bofan_analytics._numba import read_only
    from bofan_analytics.decode._arrow_kernels import validity_of

    n = data.draw(st.integers(0, 40))
    missing = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    null = {"float64": np.nan, "int32": np.int32(-1), "int64": np.int64(-(2**63))}[dtype]
    values = np.arange(n).astype(dtype)
    if dtype == "float64":  # NaN is missing too, and so is the null given
        null = np.float64(-7.5)
        nan = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
        values[np.array(nan, bool)] = np.nan
        missing = [m or x for m, x in zip(missing, nan, strict=True)]
    values[np.array(missing, bool)] = null
    validity, count = validity_of(read_only(values), null)
    assert validity.shape[0] == (n + 7) // 8
    assert np.unpackbits(validity, bitorder="little")[:n].tolist() == [not m for m in missing]
    assert count == sum(missing)


@given(st.lists(st.sampled_from([-1, 0, 1]), max_size=40))
def test_a_flag_column_is_true_false_or_missing_as_its_codes_say(codes):
    """``_flags``: the validity flag's column packed by numpy, equal to what ``pa.array``
    makes of it with a mask (1 true, 0 false, -1 missing), at every length around a byte."""
    import pyarrow as pa

    from bofan_analytics.decode._assemble import _flags

    values = np.array(codes, np.int8)
    column = _flags(values)
    column.validate(full=True)
    assert column.equals(pa.array(values == 1, pa.bool_(), mask=values < 0))
    assert column.to_pylist() == [None if c < 0 else c == 1 for c in codes]
