"""The line-end search reads 8 bytes at a time: every LF found, wherever the range starts
and ends against the word grid."""

import numpy as np
import pytest

from bofan_analytics._numba import jit
from bofan_analytics.decode._lines_kernels import newlines as _newlines


@jit
def newlines(buf, s0, e0):  # a helper runs compiled only inside a kernel
    return _newlines(buf, s0, e0)


@pytest.mark.parametrize("seed", range(4))
def test_every_line_end_at_any_alignment(seed):
    rng = np.random.default_rng(seed)
    # LF dense (1 in 4) and sparse, and runs of LF filling whole words
    buf = rng.choice(np.array([10, 65, 66, 0, 255, 138], np.uint8), 203, p=[0.25, 0.35, 0.1, 0.1, 0.1, 0.1])
    buf[40:56] = 10
    buf[100:130] = 66
    for s0 in range(0, 17):
        for e0 in (s0, s0 + 1, s0 + 7, 64, 129, 190, 203):
            if e0 < s0:
                continue
            expected = s0 + np.flatnonzero(buf[s0:e0] == 10)
            assert newlines(buf, s0, e0).tolist() == expected.tolist()


def test_no_line_end():
    assert newlines(np.frombuffer(b"x" * 50, np.uint8), 3, 50).tolist() == []
    assert newlines(np.frombuffer(b"", np.uint8), 0, 0).tolist() == []


@pytest.mark.parametrize("lf_share", [1.0, 0.5, 0.01, 0.0])
def test_line_ends_over_many_blocks_as_the_result_grows(lf_share):
    """Ranges of several blocks of words, from every byte a line end (the result grows at
    each block) to none, at odd starts and ends."""
    from bofan_analytics.decode._lines_kernels import _LF_BLOCK_WORDS

    rng = np.random.default_rng(7)
    n = 8 * _LF_BLOCK_WORDS * 3 + 29
    buf = np.where(rng.random(n) < lf_share, 10, 65).astype(np.uint8)
    for s0, e0 in ((0, n), (3, n - 5), (8 * _LF_BLOCK_WORDS - 1, 8 * _LF_BLOCK_WORDS + 9),
                   (5, 8 * _LF_BLOCK_WORDS * 2 + 3)):
        expected = s0 + np.flatnonzero(buf[s0:e0] == 10)
        assert newlines(buf, s0, e0).tolist() == expected.tolist()
