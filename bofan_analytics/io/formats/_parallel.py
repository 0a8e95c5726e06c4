"""The thread pool formats decode large chunks on (the kernels release the GIL)."""

from __future__ import annotations

import functools
import threading
import time

__all__ = ["PARALLEL_MIN_BYTES", "pool", "threads", "by_halves", "on_halves", "in_pool", "Split"]

#: below this a chunk is decoded on one thread: the parts would be too small to pay off
PARALLEL_MIN_BYTES = 1 << 20
_POOL = None
_MAKING = threading.Lock()
_PREFIX = "bofan-decode"


@functools.cache
def threads() -> int:
    """Threads a chunk is cut for: one per core this process may use, at most 8 (counted
    once: asking the system took 20 µs, and every step of a decoder asks)."""
    from ..._cores import usable_cores

    return max(1, min(8, usable_cores()))


def pool():
    """The shared decoding thread pool, made on first use (by one thread: a line log's
    next chunk is handed to it from the thread that works ahead)."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        with _MAKING:
            if _POOL is None:
                _POOL = ThreadPoolExecutor(threads(), thread_name_prefix=_PREFIX)
    return _POOL


def by_halves(kernel, lead: tuple, items: tuple, data_bytes: int) -> list:
    """``kernel(*lead, *items)``, for a large input (``data_bytes`` from
    :data:`PARALLEL_MIN_BYTES` on, two items or more, a second core) as two calls on two
    threads, each given half of every array in ``items``. Returns the results in order:
    one, or one per half.

    For kernels that treat each item on its own (a log line's payload piece, say), so that
    the halves' results joined are the whole's. Called from one of the pool's own threads
    it makes one call: waiting there for another task of the pool could wait forever.
    """
    return on_halves(lambda lo, hi: kernel(*lead, *(a[lo:hi] for a in items)),
                     items[0].shape[0], data_bytes)


def on_halves(work, n: int, data_bytes: int, split: Split | None = None) -> list:
    """``work(0, n)``, or for a large input (as :func:`by_halves` says) ``work(0, m)`` and
    ``work(m, n)`` on two threads: ``m = n // 2``, or where ``split`` puts it. Returns the
    results in order."""
    if n < 2 or data_bytes < PARALLEL_MIN_BYTES or threads() < 2 or in_pool():
        return [work(0, n)]
    m = n // 2 if split is None else min(n - 1, max(1, round(n * split.share)))
    start = time.perf_counter()
    later = pool().submit(_timed, work, m, n)
    mine = work(0, m)
    mine_s = time.perf_counter() - start
    theirs, done = later.result()
    if split is not None:
        split.update(m, n, mine_s, done - start)
    return [mine, theirs]


def _timed(work, lo, hi):
    return work(lo, hi), time.perf_counter()


class Split:
    """Where :func:`on_halves` cuts one kind of work: the share of it the calling thread
    takes, moved after each call toward the share with which both threads would have
    ended together, at the pace each kept in that call (half way there, within 20-80 %).

    The two threads seldom keep one pace: the other core may also run the work a format
    does ahead, or the reading. With even halves the caller waited for the other half;
    here each takes what it gets through in the same time. The results do not depend on
    the cut (each item is worked on alone)."""

    def __init__(self) -> None:
        self.share = 0.5

    def update(self, m: int, n: int, mine_s: float, theirs_s: float) -> None:
        if mine_s <= 0 or theirs_s <= 0:
            return
        mine, theirs = m / mine_s, (n - m) / theirs_s  # items per second
        self.share = min(0.8, max(0.2, (self.share + mine / (mine + theirs)) / 2))


def in_pool() -> bool:
    import threading

    return threading.current_thread().name.startswith(_PREFIX)
