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
