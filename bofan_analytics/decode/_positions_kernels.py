"""Kernel behind ``positions()``: drop resent fixes once the rows are in (device, time) order.

The rows arrive sorted by device rank, then time, then input order (a stable sort of two
integer keys, done by numpy). A resent fix has the same device, time and coordinates as an
earlier row; it can only sit in the run of rows that share its device and time, and those
runs are one or two rows long in practice, so each row is compared with the earlier rows of
its run only. The first copy in input order is kept, as ``drop_duplicates(keep="first")``
would, because the stable sort kept input order inside each run.
"""

import numpy as np

from .._numba import jit

__all__ = ["first_copies"]


@jit
def first_copies(device, time, lat, lon):
    """``keep[i]`` is False where row ``i`` repeats an earlier row of its (device, time) run."""
    n = len(device)
    keep = np.ones(n, dtype=np.bool_)
    run_start = 0
    for i in range(1, n):
        if device[i] != device[run_start] or time[i] != time[run_start]:
            run_start = i
            continue
        for j in range(run_start, i):
            if keep[j] and lat[j] == lat[i] and lon[j] == lon[i]:
                keep[i] = False
                break
    return keep
