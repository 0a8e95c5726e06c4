"""The thread pool formats decode large chunks on (the kernels release the GIL)."""

from __future__ import annotations

import os

__all__ = ["PARALLEL_MIN_BYTES", "pool", "threads", "two_halves"]

#: below this a chunk is decoded on one thread: the parts would be too small to pay off
PARALLEL_MIN_BYTES = 4 << 20
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


def two_halves(kernel, n: int, data_bytes: int, whole: tuple, first: tuple, second: tuple):
    """``(kernel(*first), kernel(*second))`` on two threads when the input is large
    (``data_bytes`` from :data:`PARALLEL_MIN_BYTES` on, more than one item, and a second
    core), else ``None``: the caller then runs ``kernel(*whole)`` once.

    For kernels that treat each item on its own (a log line's payload piece, say), so that
    the halves' results joined are the whole's. Called from one of the pool's own threads
    it says ``None`` too: waiting there for another task of the pool could wait forever.
    """
    if n < 2 or data_bytes < PARALLEL_MIN_BYTES or threads() < 2 or _in_pool():
        return None
    later = pool().submit(kernel, *second)
    return kernel(*first), later.result()


def _in_pool() -> bool:
    import threading

    return threading.current_thread().name.startswith(_PREFIX)
