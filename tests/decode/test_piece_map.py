"""How positions in a buffer joined from pieces of a tracker-server log map back to the log.

A piece of hex stands for half as many buffer bytes as it has source bytes (factor 2), a
piece of text for as many (factor 1). The map answers with one binary search per position;
these tests compare it with a byte-by-byte walk of the same pieces.
"""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics.decode._assemble import PieceMap


def _walk(lengths, src, factor):
    """For each buffer byte, the source offset of its first byte, by walking every piece."""
    where = []
    for n, s, f in zip(lengths, src, factor, strict=True):
        where += [s + k * f for k in range(n)]
    return np.array(where, np.int64)


pieces = st.lists(st.tuples(st.integers(1, 6), st.sampled_from([1, 2])), min_size=1,
                  max_size=8)  # fmt: skip


@settings(deadline=None)  # the first example may compile the map's kernel
@given(pieces, st.data())
def test_offsets_and_lengths_match_a_walk_of_the_pieces(spec, data):
    lengths = [n for n, _ in spec]
    factor = [f for _, f in spec]
    # pieces of a session come from lines far apart in the log, in any order
    src = data.draw(st.permutations([1000 * (k + 1) for k in range(len(spec))]))
    out_start = np.concatenate([[0], np.cumsum(lengths)])
    m = PieceMap(out_start, src, factor, recv=np.arange(len(spec)) * 10)
    walked = _walk(lengths, src, factor)
    total = int(out_start[-1])
    x = np.arange(total)
    assert m.src(x).tolist() == walked.tolist()
    assert m.received(np.zeros(total, np.int64), x).tolist() == np.repeat(
        np.arange(len(spec)) * 10, lengths).tolist()
    # a range's source length: its bytes' own source lengths added up, whether it ends
    # inside a piece or exactly where the next begins
    own = np.repeat(factor, lengths)
    s = np.array(data.draw(st.lists(st.integers(0, total - 1), min_size=1, max_size=10)))
    e = np.minimum(s + np.array(data.draw(st.lists(st.integers(0, total), min_size=len(s),
                                                   max_size=len(s)))), total)  # fmt: skip
    expected = [int(own[a:b].sum()) for a, b in zip(s, e, strict=True)]
    assert m.src_len(s, e).tolist() == expected
    first, last = m.locate(s), m.locate(e - 1)
    assert m.src_len(s, e, at=first, last_at=last).tolist() == expected
    assert m.src(s, at=first).tolist() == m.src(s).tolist()


def test_a_range_ending_where_the_next_piece_begins():
    """Two hex pieces of 3 buffer bytes each, from offsets 100 and 500: the first piece's
    bytes span 6 source bytes, wherever the next piece comes from."""
    m = PieceMap([0, 3, 6], [100, 500], [2, 2], [0, 0])
    assert m.src_len(np.array([0, 1, 3]), np.array([3, 6, 6])).tolist() == [6, 10, 6]
    assert m.src(np.array([2, 3])).tolist() == [104, 500]


@settings(deadline=None)
@given(st.text(max_size=40), st.integers(0, 3000))
def test_a_source_column_is_the_name_repeated(name, n):
    """Every row's ``source``, built from the name's bytes repeated: what ``pa.repeat``
    gives, valid UTF-8 (names may hold any character a path can)."""
    import pyarrow as pa

    from bofan_analytics.decode._assemble import _source_array

    column = _source_array(name, n)
    column.validate(full=True)
    assert column.equals(pa.repeat(name, n))
