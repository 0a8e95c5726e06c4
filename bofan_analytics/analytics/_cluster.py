"""Running an analysis of a dataset on a Dask cluster: ``client=`` or ``scheduler=``.

The devices of the dataset (those asked for, within ``start``/``end``) are counted on
the cluster, a batch of files per task, listed in sorted order and cut into contiguous
groups of about equal rows (at most :data:`ROWS_PER_TASK` each), one task per group. A task calls the same
function on the dataset path with ``devices=`` its group, so it reads only the rows of
those devices, of every day (its track is never cut at midnight or at a file boundary),
and runs the same kernels. The devices of a group form a range of ids, which the reader
also passes down as a range, so the row-group statistics of device-sorted files (see
``bofan compact``) let it skip most of the data. Results are concatenated in group order:
the rows, their order and their types are those of the call in memory.
"""

from __future__ import annotations

import functools
import inspect
import os
from concurrent.futures import CancelledError

import numpy as np

from ..errors import BofanError, FormatError

__all__ = ["on_cluster", "TASKS_PER_WORKER", "ROWS_PER_TASK"]

#: Tasks per worker thread: several, so a slow group does not hold up the end of the run.
TASKS_PER_WORKER = 4

#: Rows one task reads at most (unless one device alone has more): a year of a large
#: fleet is cut into enough groups that each fits a worker's memory.
ROWS_PER_TASK = 5_000_000


def on_cluster(func=None, *, check=None):
    """Let ``func(data, ..., devices=, start=, end=)`` also take ``client=`` or ``scheduler=``.

    Without either the call is unchanged. With one, ``data`` must be a dataset path and the
    work runs on that Dask cluster (see the module docstring). Either way the arguments are
    checked before any data is read: ``tz`` (when ``func`` has one) and whatever
    ``check(arguments)`` checks, ``arguments`` the call's bound arguments with defaults.
    """
    if func is None:
        return functools.partial(on_cluster, check=check)
    signature = inspect.signature(func)

    @functools.wraps(func)
    def wrapper(data, *args, client=None, scheduler=None, **kwargs):
        _check(signature, check, data, args, kwargs)
        if client is None and scheduler is None:
            return func(data, *args, **kwargs)
        if client is not None and scheduler is not None:
            raise FormatError("give client= or scheduler=, not both")
        if not isinstance(data, (str, os.PathLike)):
            raise FormatError(
                f"client= and scheduler= run on a dataset path, not on a {type(data).__name__}"
            )
        return _run(func, os.fspath(data), args, kwargs, client, scheduler)

    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None)
        for name in ("client", "scheduler")
    ]
    wrapper.__signature__ = signature.replace(parameters=[*signature.parameters.values(), *extra])
    return wrapper


def _check(signature, check, data, args, kwargs) -> None:
    from ._tz import check_tz

    try:
        bound = signature.bind(data, *args, **kwargs)
    except TypeError:
        return  # the call itself raises the TypeError, with Python's own message
    bound.apply_defaults()
    arguments = bound.arguments
    if "tz" in arguments:
        check_tz(arguments["tz"])
    if check is not None:
        check(arguments)


def _run(func, path: str, args, kwargs, client, scheduler):
    import pandas as pd

    from ..dataset._convert import connect

    devices, start, end = (kwargs.pop(k, None) for k in ("devices", "start", "end"))
    own = client is None
    if own:
        client = connect(scheduler)
    try:
        threads = sum(client.nthreads().values()) or 1
        counts = _device_counts(client, path, threads, devices, start, end)
        groups = _groups(counts, threads * TASKS_PER_WORKER)
        futures = [
            client.submit(func, path, *args, devices=group, start=start, end=end, pure=False,
                          **kwargs)
            for group in groups
        ]  # fmt: skip
        try:
            parts = client.gather(futures)
        except (CancelledError, OSError) as exc:  # the scheduler went away
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BofanError(f"lost the Dask scheduler: {reason}") from None
    finally:
        if own:
            client.close()
    if not groups:  # nothing to split: the empty answer, with its columns, from here
        return func(path, *args, devices=devices, start=start, end=end, **kwargs)
    return pd.concat(parts, ignore_index=True)


def _device_counts(client, path, threads, devices, start, end) -> dict:
    """Rows per device, counted on the cluster a batch of files per task."""
    from ..dataset._read import device_counts, message_files

    files = message_files(path)
    n = max(1, min(len(files), threads * TASKS_PER_WORKER))
    batches = [files[i * len(files) // n : (i + 1) * len(files) // n] for i in range(n)]
    futures = [
        client.submit(device_counts, path, batch, devices=devices, start=start, end=end,
                      pure=False)
        for batch in batches
    ]  # fmt: skip
    total: dict = {}
    for part in client.gather(futures):
        for device, rows in part.items():
            total[device] = total.get(device, 0) + rows
    return total


def _groups(counts: dict, at_least: int) -> list[list[str]]:
    """Sorted devices cut into contiguous groups of about equal rows: at least
    ``at_least`` groups (when there are that many devices), none much above
    :data:`ROWS_PER_TASK` rows unless one device alone has more."""
    ids = sorted(counts)
    if not ids:
        return []
    rows = np.array([counts[d] for d in ids], np.int64)
    total = int(rows.sum())
    n = min(len(ids), max(at_least, -(-total // ROWS_PER_TASK)))
    # cut where the running row count passes each n-th of the total
    cuts = np.searchsorted(np.cumsum(rows), np.arange(1, n) * total / n, side="left") + 1
    bounds = np.unique(np.concatenate([[0], np.clip(cuts, 1, len(ids)), [len(ids)]]))
    return [ids[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
