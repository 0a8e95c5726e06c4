"""The thread pool formats decode large chunks on (the kernels release the GIL)."""

from __future__ import annotations

import os

__all__ = ["PARALLEL_MIN_BYTES", "pool", "threads", "by_halves", "in_pool"]

#: below this a chunk is decoded on one thread: the parts would be too small to pay off
PARALLEL_MIN_BYTES = 1 << 20
_POOL = None
_PREFIX = "bofan-decode"


def threads() -> int:
    """Threads a chunk is cut for: one per core, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


def pool():
    """The shared decoding thread pool, made on first use."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

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
    n = items[0].shape[0]
    if n < 2 or data_bytes < PARALLEL_MIN_BYTES or threads() < 2 or in_pool():
        return [kernel(*lead, *items)]
    m = n // 2
    later = pool().submit(kernel, *lead, *(a[m:] for a in items))
    return [kernel(*lead, *(a[:m] for a in items)), later.result()]


def in_pool() -> bool:
    import threading

    return threading.current_thread().name.startswith(_PREFIX)
