"""Part files: the rows one conversion run decodes from one input, held until a chunk is
full, then sorted and written per day on writer threads (see :class:`Parts`)."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from pathlib import Path

import numpy as np
import pyarrow as pa

from .. import schema
from ..errors import SchemaError
from . import _layout as layout
from . import _parquet

__all__ = ["Parts", "sort_order", "sorted_rows", "MESSAGE_ORDER", "REJECT_ORDER", "CHUNK_ROWS",
           "WRITE_BEHIND", "WRITERS"]

#: Decoded rows held in memory before they are written out as one chunk of part files: the
#: size of a part's row group, as ``bofan compact`` writes them.
CHUNK_ROWS = 65_536

#: Sort and write full chunks on a writer thread while decoding goes on (``False``: in the
#: calling thread, one step after the other, the serial reference the benchmark compares).
WRITE_BEHIND = True

#: Chunks being sorted and written at once, each on its own writer thread. Writing sets
#: a conversion's pace: with one writer, the main thread waited for it a third of the time
#: and a core stood idle meanwhile. Two writers with chunks of 64 Ki rows hold as much
#: memory as one with 128 Ki rows did.
WRITERS = 2

#: Row order within a part file (after the day), ascending, nulls last.
MESSAGE_ORDER = [schema.DEVICE_ID, schema.TIME, schema.SOURCE, schema.OFFSET]
REJECT_ORDER = [schema.SOURCE, schema.OFFSET]


class Parts:
    """The part files one run writes for one input: rows held until :data:`CHUNK_ROWS`.

    A full chunk is sorted and written on a writer thread while the decoder goes on with the
    next (Arrow and Parquet work outside the GIL); at most :data:`WRITERS` chunks are being
    written, so memory stays at about that many chunks and one more. A writer's error is
    raised by the next :meth:`flush` or :meth:`close`. The writer threads are the process's
    (:func:`_writers`): starting and stopping two threads for each input cost a
    millisecond, as much as decoding a file of a few hundred rows.
    """

    def __init__(self, output: Path, key: str, generation: str) -> None:
        self.output = output
        self.roots = (output / layout.MESSAGES_DIR, output / layout.REJECTS_DIR)
        self.key = key
        self.generation = generation
        self.final: list[str] = []
        self.tail: list[str] = []
        self.messages = self.rejects = 0
        self._held: tuple[list[pa.Table], list[pa.Table]] = ([], [])
        self._rows = self._chunk = 0
        self._writing: deque[tuple[Future, list[str]]] = deque()

    def add(self, piece) -> None:
        self.add_tables(piece.messages, piece.rejects)

    def add_tables(self, messages: pa.Table, rejects: pa.Table) -> None:
        self._held[0].append(messages)
        self._held[1].append(rejects)
        self._rows += messages.num_rows + rejects.num_rows
        if self._rows >= CHUNK_ROWS:
            self.flush()

    def flush(self, *, tail: bool = False) -> None:
        """Hand the rows held to a writer thread (once one is free)."""
        jobs = self._jobs()
        chunk, self._chunk = self._chunk, self._chunk + 1
        self.wait(WRITERS - 1)
        if not any(table.num_rows for table, _, _ in jobs):
            return
        into = self.tail if tail else self.final
        if not WRITE_BEHIND:
            into += self._write_chunk(jobs, chunk)
            return
        self._writing.append((_writers().submit(self._write_chunk, jobs, chunk), into))

    def _jobs(self) -> list[list]:
        """The rows held, as ``[table, root, order]`` per table to write; nothing else
        holds the tables (see :meth:`_write`)."""
        jobs = []
        messages, rejects = self._held
        self._held = ([], [])
        self._rows = 0
        # (tables of no rows, the rejects of most chunks, write nothing: left out)
        if sum(table.num_rows for table in messages):
            table = _conform(pa.concat_tables(messages), schema.MESSAGES)
            jobs.append([table, self.roots[0], MESSAGE_ORDER])
            self.messages += table.num_rows
        if sum(table.num_rows for table in rejects):
            table = _conform(pa.concat_tables(rejects), schema.REJECTS)
            jobs.append([table, self.roots[1], REJECT_ORDER])
            self.rejects += table.num_rows
        return jobs

    def wait(self, writing: int = 0) -> None:
        """Wait until at most ``writing`` chunks are still being written, the oldest first,
        so the files are listed in chunk order; raise a writer's error (once the other
        writers are done, their files listed for :meth:`discard`)."""
        while len(self._writing) > writing:
            future, into = self._writing.popleft()
            try:
                into += future.result()
            except BaseException:
                for future, into in self._writing:
                    with contextlib.suppress(Exception):
                        into += future.result()
                self._writing.clear()
                raise

    def close(self) -> None:
        """Wait for the last chunks."""
        try:
            self.wait()
        finally:
            self.abandon()

    def abandon(self) -> None:
        """Give up the chunks not yet being written and wait for the others, whatever
        becomes of them (on an error): no writer works for these parts afterwards."""
        writing, self._writing = self._writing, deque()
        for future, _ in writing:
            if not future.cancel():
                wait_for([future])

    def drop(self) -> None:
        """Stop the writers after their chunks and delete every file they wrote, whatever
        became of the others (a job given up: its rows are not to be seen)."""
        try:
            with contextlib.suppress(Exception):
                self.wait()
        finally:
            self.abandon()
            for relative in [*self.final, *self.tail]:
                (self.output / relative).unlink(missing_ok=True)
            self.final, self.tail = [], []

    def discard(self) -> None:
        self.close()
        for relative in [*self.final, *self.tail]:
            (self.output / relative).unlink(missing_ok=True)
        self.final, self.tail = [], []

    def _write_chunk(self, jobs: list, chunk: int) -> list[str]:
        written = []
        while jobs:  # each table let go as soon as it is written
            written += self._write(jobs.pop(0), chunk)
        return written

    def _write(self, job: list, chunk: int) -> list[str]:
        """Write the table of ``job`` (``[table, root, order]``) as one part per day, each
        sorted by ``order``. The table is taken out of ``job``, so that it is let go once
        written: no sorted copy is made, the part files are written from it in sorted
        order (:func:`._parquet.write_sorted`)."""
        table, root, order = job
        job.clear()
        if table.num_rows == 0:
            return []
        table = table.combine_chunks()  # (the decoder's pieces) once, for every day's part
        days = layout.partition_dates(table).cast(pa.int32()).to_numpy(zero_copy_only=False)
        rows, encoded = sorted_rows(table, order, days)
        days = days[rows]
        bounds = np.concatenate([[0], np.flatnonzero(np.diff(days)) + 1, [len(days)]])
        written = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            folder = layout.partition_dir(root, _epoch_day(int(days[lo])))
            name = layout.part_name(self.key, self.generation, chunk)
            _parquet.write_sorted(table, rows[lo:hi], folder / name, encoded=encoded)
            written.append((folder / name).relative_to(self.output).as_posix())
        return written


_WRITERS: ThreadPoolExecutor | None = None
_MAKING = threading.Lock()


def _writers() -> ThreadPoolExecutor:
    """The :data:`WRITERS` threads that write the chunks of every :class:`Parts` of this
    process (made on first use)."""
    global _WRITERS
    if _WRITERS is None:
        with _MAKING:
            if _WRITERS is None:
                _WRITERS = ThreadPoolExecutor(WRITERS, thread_name_prefix="bofan-write")
    return _WRITERS


def sorted_rows(table: pa.Table, order: list[str], first=None) -> tuple[np.ndarray, dict]:
    """The row order that sorts ``table`` by the columns ``order`` (after the integer key
    ``first``, when given), and its string keys (device, source) dictionary encoded for
    the part files (``_parquet.write_sorted(encoded=…)``): encoded once, for both."""
    encoded = {name: _parquet.Strings(table.column(name)) for name in order
               if pa.types.is_string(table.schema.field(name).type)}  # fmt: skip
    keys = [encoded[name].ranks() if name in encoded else table.column(name) for name in order]
    return sort_order(keys if first is None else [first, *keys]), encoded


def sort_order(keys: list) -> np.ndarray:
    """The row order that sorts by ``keys`` (ascending, nulls last, stable), as
    ``pyarrow``'s ``sort_by`` gives it, from integer codes sorted by :func:`numpy.lexsort`:
    a string column ranked through its dictionary (sorting the few distinct strings, not
    the rows), a time or integer column as its integers. Keys are Arrow columns or numpy
    integer arrays without nulls.

    >>> sort_order([pa.chunked_array([["b", None, "a", "b"]]), np.array([2, 1, 1, 0])])
    array([2, 3, 0, 1])
    """
    codes = []
    for key in keys:
        if isinstance(key, np.ndarray):
            codes.append(key)
            continue
        if isinstance(key, pa.ChunkedArray):
            key = key.combine_chunks()
        if pa.types.is_string(key.type) or pa.types.is_binary(key.type):
            codes.append(_parquet.Strings(key).ranks())  # (nulls after every string)
        else:
            last = pa.scalar(np.iinfo(np.int64).max, pa.int64())
            codes.append(key.cast(pa.int64()).fill_null(last).to_numpy(zero_copy_only=False))
    return _lexsort(codes)


def _lexsort(codes: list) -> np.ndarray:
    """``np.lexsort`` of integer keys, the first the most significant, for rows that come
    mostly in order already.

    The leading keys with few values (day, device) are joined into one key of 16 bits,
    ``(a - a_min) * b_span + (b - b_min)``, which orders as they do, and sorted stably by
    numpy's radix sort, one pass. Within each group of that key the rows keep their input
    order; when the other keys (time, source, offset) already run in order there, as in a
    log read front to back, that is the order ``np.lexsort`` gives (both are stable).
    Otherwise, or when the leading keys have too many values, ``np.lexsort`` it is.

    >>> _lexsort([np.array([1, 0, 1]), np.array([5, 5, 5]), np.array([2, 9, 1])])
    array([1, 2, 0])
    """
    n = len(codes[0]) if codes else 0
    group = None
    span = 1
    lead = 0
    for key in codes:
        key = np.asarray(key, np.int64)
        low, high = (int(key.min()), int(key.max())) if n else (0, 0)
        if span * (high - low + 1) > 1 << 16:
            break
        if high > low:
            shifted = key - low
            group = shifted if group is None else group * (high - low + 1) + shifted
            span *= high - low + 1
        lead += 1
    if lead == 0 or n < 2:
        return np.lexsort(codes[::-1]) if n else np.arange(0)
    order = (np.arange(n) if group is None
             else np.argsort(group.astype(np.uint16), kind="stable"))
    if lead == len(codes):
        return order
    grouped = group[order] if group is not None else np.zeros(n, np.int64)
    same = grouped[1:] == grouped[:-1]
    before = np.zeros(n - 1, bool)  # the row sorts before the next by the other keys
    tied = np.ones(n - 1, bool)
    for key in codes[lead:]:
        values = np.asarray(key)[order]
        before |= tied & (values[:-1] < values[1:])
        tied &= values[:-1] == values[1:]
    if (same & ~(before | tied)).any():  # out of order within a group: sort them all
        return np.lexsort(codes[::-1])
    return order


def _conform(table: pa.Table, target: pa.Schema) -> pa.Table:
    """``table`` with exactly the columns, order, types and metadata of ``target``.

    Each chunk of every input passes here: a table the decoder made has the schema already
    and only takes its metadata (8 µs, where selecting its columns by name took 0.1 ms);
    another is not cast when its types are right (``cast`` took 0.15 ms even then), and the
    names are looked up in a set (``column_names`` is a list made anew at each use)."""
    if table.schema.equals(target, check_metadata=False):
        return table.replace_schema_metadata(target.metadata)
    have = set(table.column_names)
    missing = [name for name in target.names if name not in have]
    if missing:
        raise SchemaError(f"decoded table lacks columns {', '.join(missing)}")
    table = table.select(target.names)
    if not table.schema.equals(target, check_metadata=False):
        table = table.cast(target)
    return table.replace_schema_metadata(target.metadata)


def _epoch_day(days: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=days)


# -- committing a run --------------------------------------------------------------------
