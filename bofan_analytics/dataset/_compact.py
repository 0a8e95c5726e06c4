"""``compact``: merge a day's many small part files into a few large, device-sorted ones."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.dataset as ds

from .._validate import positive
from ..errors import InputError
from . import _layout as layout
from . import _parquet, _parts
from ._manifest import DatasetLock, Manifest

__all__ = ["compact", "CompactResult", "compact_day", "crowded_days"]

#: Rows per row group of a compacted file: small enough that the ``device_id`` statistics
#: of a group let a reader of a few devices skip most of a file.
ROW_GROUP_ROWS = 64 * 1024

#: the row order of each table's files, as a conversion's parts have it
_ORDERS = {layout.MESSAGES_DIR: _parts.MESSAGE_ORDER, layout.REJECTS_DIR: _parts.REJECT_ORDER}


@dataclass
class CompactResult:
    """What :func:`compact` did: per day directory, the files before and after."""

    dataset: str
    days: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def files_before(self) -> int:
        return sum(before for before, _ in self.days.values())

    @property
    def files_after(self) -> int:
        return sum(after for _, after in self.days.values())

    def __repr__(self) -> str:
        return (
            f"CompactResult(dataset={self.dataset!r}, days={len(self.days)}, "
            f"files {self.files_before} -> {self.files_after})"
        )


def compact(
    dataset: str | os.PathLike, *, target_mb: float = 128, lock_wait_s: float | None = None
) -> CompactResult:
    """Merge each day's part files into few large files sorted by device and time.

    The merged rows go to new files, which replace the old ones in one manifest commit:
    a reader sees the old files or the new ones, never a row missing or twice, and a
    compaction killed at any point leaves the dataset as it was (run it again). The rows of
    an input still growing (the tail of its last conversion) are left out until it is
    final. Inputs are told apart in merged files by their ``source`` name, so inputs
    sharing one are not merged.

    Parameters
    ----------
    dataset : path
        A dataset written by :func:`convert`.
    target_mb : float
        Roughly how large (compressed) each merged file becomes.
    lock_wait_s : float, optional
        How long to wait for another writer of the same dataset (default 10 s).

    Returns
    -------
    CompactResult
        Files per day before and after.

    Examples
    --------
    >>> compact("build/dataset", target_mb=64)           # doctest: +SKIP
    CompactResult(dataset='build/dataset', days=3, files 180 -> 3)
    """
    positive("target_mb", target_mb)
    root = Path(layout.dataset_path(dataset))
    if not Manifest.exists(root):
        what = "no such dataset" if not root.exists() else "not a dataset written by bofan convert"
        raise InputError(f"{root}: {what} (no {layout.MANIFEST})")
    result = CompactResult(os.fspath(root))
    with DatasetLock(root, wait_s=lock_wait_s):
        manifest = Manifest.load(root)
        manifest.collect_garbage()
        for day in crowded_days(manifest, 1):
            before, after = compact_day(manifest, day, target_bytes=int(target_mb * 2**20))
            if after != before:  # (a day of unfinished tails only stays as it is)
                result.days[day] = (before, after)
    return result


def crowded_days(manifest: Manifest, more_than: int) -> list[str]:
    """Day directories (``messages/date=…``) holding more than ``more_than`` live files."""
    counts = Counter(layout.day_of(relative) for relative in manifest.live())
    return sorted(day for day, n in counts.items() if n > more_than)


def compact_day(
    manifest: Manifest, day: str, *, target_bytes: int = 128 * 2**20
) -> tuple[int, int]:
    """Merge the final parts and earlier merged files of one day; commit; delete the old."""
    sources = Counter(
        entry["source"] for entry in manifest.inputs.values() if entry.get("duplicate_of") is None
    )
    merged: dict[str, list[str]] = {}  # file -> inputs whose rows it holds
    for real, entry in manifest.inputs.items():
        if sources[entry["source"]] > 1:
            continue  # two inputs with one name could not be told apart in a merged file
        for relative in entry["parts"]:
            if layout.day_of(relative) == day:
                merged[relative] = [real]
    for relative, owners in manifest.compacted.items():
        if layout.day_of(relative) == day:
            merged[relative] = owners
    files_here = sum(layout.day_of(r) == day for r in manifest.live())
    if len(merged) < 2:
        return files_here, files_here

    paths = [manifest.root / relative for relative in sorted(merged)]
    size = sum(path.stat().st_size for path in paths)
    # one scan of them all: reading each file on its own cost more in opening it than in
    # its rows (2-3 ms a small part)
    table = ds.dataset(paths, format="parquet").to_table().combine_chunks()
    rows, encoded = _parts.sorted_rows(table, _ORDERS[day.split("/", 1)[0]])
    per_file = max(1, table.num_rows * target_bytes // max(size, 1))
    generation = layout.new_generation()
    owners = sorted({owner for owners in merged.values() for owner in owners})
    written = []

    for number, start in enumerate(range(0, table.num_rows, per_file)):
        target = manifest.root / day / layout.compacted_name(generation, number)
        _parquet.write_sorted(table, rows[start:start + per_file], target, encoded=encoded,
                              row_group_rows=ROW_GROUP_ROWS)
        written.append(target.relative_to(manifest.root).as_posix())

    for entry in manifest.inputs.values():
        entry["parts"] = [p for p in entry["parts"] if p not in merged]
    for relative in merged:
        manifest.compacted.pop(relative, None)
    for relative in written:
        manifest.compacted[relative] = owners
    manifest.commit()
    manifest.remove_files(merged)
    return files_here, files_here - len(merged) + len(written)
