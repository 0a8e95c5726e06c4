"""The thread pool formats decode large chunks on (the kernels release the GIL)."""

from __future__ import annotations

import os

__all__ = ["PARALLEL_MIN_BYTES", "pool", "threads"]

#: below this a chunk is decoded on one thread: the parts would be too small to pay off
PARALLEL_MIN_BYTES = 4 << 20
_POOL = None


def threads() -> int:
    """Threads a chunk is cut for: one per core, at most 8."""
    return max(1, min(8, os.cpu_count() or 1))


def pool():
    """The shared decoding thread pool, made on first use."""
    global _POOL
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        _POOL = ThreadPoolExecutor(threads(), thread_name_prefix="bofan-decode")
    return _POOL
