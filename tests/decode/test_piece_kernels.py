"""Kernels over the payload pieces of tracker-server logs and captures: grouping by
connection (against a dict of groups in the order their keys first appear), telling and
decoding hex (against Python's own reading of hex)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics.decode._arrow_kernels import locate_pieces
from bofan_analytics.decode._lines_kernels import group_by_key


def _naive(keys):
    groups = {}
    for k, key in enumerate(keys):
        groups.setdefault(key, []).append(k)
    return [k for members in groups.values() for k in members]


@settings(deadline=None)  # the first example compiles the kernel
@given(st.lists(st.one_of(st.integers(0, 5), st.integers(0, 2**62)), max_size=300))
def test_groups_in_first_seen_order_each_in_input_order(keys):
    order = group_by_key(np.array(keys, np.int64))
    assert order.dtype == np.int64
    assert order.tolist() == _naive(keys)


def test_connections_with_random_ids_keep_the_log_order():
    # session ids of a tracker-server log are random: one read per connection stays in order
    keys = np.array([0x5E0000BC, 0x5E00007D, 0x1F, 0x5E0000BC + (1 << 48), 0x1F], np.int64)
    assert group_by_key(keys).tolist() == [0, 1, 2, 4, 3]
    assert group_by_key(np.zeros(0, np.int64)).tolist() == []


def test_hex_digits_are_told_and_decoded_for_every_byte_value():
    """The arithmetic hex test and decode (vector registers, no lookup) against Python's
    own reading of hex, for all 256 byte values and each case of letter."""
    from bofan_analytics.decode._lines_kernels import (
        P_HEX,
        P_ODD_HEX,
        P_TEXT,
        classify_pieces,
        gather_pieces,
    )

    digits = set(b"0123456789abcdefABCDEF")
    buf = np.array([b for b in range(256) for _ in range(2)], np.uint8)  # each byte twice
    s = np.arange(0, 512, 2, dtype=np.int64)
    cls = classify_pieces(buf, s, s + 2)
    assert cls.tolist() == [P_HEX if b in digits else P_TEXT for b in range(256)]
    one = np.frombuffer(b"abc", np.uint8)
    assert classify_pieces(one, s[:1], s[:1] + 3).tolist() == [P_ODD_HEX]
    text = b"00ff7F80a5B6c9DE" * 3
    tb = np.frombuffer(text, np.uint8)
    start = np.array([0, 16], np.int64)
    end = np.array([16, 48], np.int64)
    out, at = gather_pieces(tb, start, end, classify_pieces(tb, start, end))
    assert out.tobytes() == bytes.fromhex(text.decode()) and at.tolist() == [0, 8, 24]


@settings(deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=12), st.data())
def test_locating_positions_in_pieces_is_a_binary_search_however_they_come(lengths, data):
    """Pieces of any length (empty ones too, where a connection closed); positions in
    ascending order (frames in buffer order) or any order."""
    out_start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    total = int(out_start[-1])
    ascending = sorted(data.draw(st.lists(st.integers(0, max(total - 1, 0)), max_size=40)))
    shuffled = data.draw(st.permutations(ascending))
    for x in (ascending, shuffled):
        x = np.array(x, np.int64)
        expected = np.clip(np.searchsorted(out_start[:-1], x, side="right") - 1, 0, None)
        assert locate_pieces(out_start, x).tolist() == expected.tolist()
