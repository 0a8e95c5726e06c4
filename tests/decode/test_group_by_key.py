"""How the pieces of one connection are brought together: ``group_by_key`` against the
obvious way (a dict of groups in the order their keys first appear)."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from bofan_analytics.decode._lines_kernels import group_by_key


def _naive(keys):
    groups = {}
    for k, key in enumerate(keys):
        groups.setdefault(key, []).append(k)
    return [k for members in groups.values() for k in members]


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
