"""The thread pool formats decode large chunks on (the kernels release the GIL)."""

from __future__ import annotations

import os
import threading

__all__ = ["PARALLEL_MIN_BYTES", "pool", "threads", "by_halves", "on_halves", "in_pool"]

#: below this a chunk is decoded on one thread: the parts would be too small to pay off
PARALLEL_MIN_BYTES = 1 << 20
_POOL = None
_MAKING = threading.Lock()
_PREFIX = "bofan-decode"


def threads() -> int:
    """Threads a chunk is cut for: one per core, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


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


def on_halves(work, n: int, data_bytes: int) -> list:
    """``work(0, n)``, or for a large input (as :func:`by_halves` says) ``work(0, m)`` and
    ``work(m, n)`` on two threads, ``m = n // 2``. Returns the results in order."""
    if n < 2 or data_bytes < PARALLEL_MIN_BYTES or threads() < 2 or in_pool():
        return [work(0, n)]
    m = n // 2
    later = pool().submit(work, m, n)
    return [work(0, m), later.result()]


def in_pool() -> bool:
    import threading

    return threading.current_thread().name.startswith(_PREFIX)
