"""Where rows go in a dataset directory, and how a part file is named.

Kept apart from the writer and the reader so that both, and the tests, take the layout
from one place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from ..errors import FormatError

__all__ = [
    "dataset_path",
    "MESSAGES_DIR",
    "REJECTS_DIR",
    "PARTITION",
    "UNDATED",
    "partition_dates",
    "input_key",
    "part_name",
    "part_glob",
    "tmp_glob",
    "partition_dir",
    "MANIFEST",
    "LOCK",
    "new_generation",
    "compacted_name",
    "day_of",
    "table_files",
    "STATISTICS",
    "BYTE_STREAM_SPLIT",
    "DELTA_INT32",
]

#: the columns whose Parquet min/max statistics readers prune row groups with (the only
#: ones written: in the other columns every row group spans about the whole range)
STATISTICS = (schema.DEVICE_ID, schema.TIME, schema.RECEIVED_AT)

#: the float columns written byte-stream-split (each byte of the values in a stream of its
#: own): in rows sorted by device and time their high bytes repeat, which the compressor
#: finds faster and packs smaller (a 64 Ki-row part: 7 % less time, 4 % fewer bytes).
#: Speeds and courses jump about more: split, they took more bytes.
BYTE_STREAM_SPLIT = (schema.LAT, schema.LON, schema.ODOMETER_M, schema.BATTERY_PCT)

#: the 32-bit integer columns written delta encoded: frame lengths differ by a few bytes
#: from row to row (a 97 k-row part: 2.0 ms and 34 kB against 2.9 ms and 40 kB)
DELTA_INT32 = (schema.LENGTH,)

MESSAGES_DIR = "messages"
REJECTS_DIR = "rejects"

#: What the dataset holds, per input: the one file whose replacement commits a change.
#: Parquet readers skip names starting with ``_`` or ``.``.
MANIFEST = "_manifest.json"

#: The advisory lock writers (``convert``, ``compact``) hold while they change the dataset.
LOCK = ".lock"

#: The hive partition key: ``date=YYYY-MM-DD`` directories.
PARTITION = "date"

#: Partition of rows that carry no time at all (neither ``time`` nor ``received_at``).
#: A real date keeps the directory name parseable as a date by every reader
#: (``__HIVE_DEFAULT_PARTITION__`` breaks ``pandas.read_parquet``); the rows themselves
#: keep their null times, so a time filter never selects them.
UNDATED = dt.date(1970, 1, 1)

_EPOCH_DAYS_UNDATED = (UNDATED - dt.date(1970, 1, 1)).days


def partition_dates(table: pa.Table) -> pa.Array:
    """The UTC day each row belongs to, as ``date32``.

    Messages go by device ``time``, then ``received_at``; rejects (which have no device
    time) by ``received_at``; rows with neither go to :data:`UNDATED`.
    """
    candidates = [
        table.column(name)
        for name in (schema.TIME, schema.RECEIVED_AT)
        if name in table.column_names
    ]
    if not candidates:
        return pa.array([UNDATED] * table.num_rows, pa.date32())
    when = pc.coalesce(*candidates) if len(candidates) > 1 else candidates[0]
    # the columns are UTC already; drop the zone so the cast cuts the UTC day
    when = when.cast(pa.timestamp("ms"))
    days = when.cast(pa.date32())
    return pc.fill_null(days, pa.scalar(_EPOCH_DAYS_UNDATED, pa.date32()))


def input_key(path: str | os.PathLike) -> str:
    """A short, stable name for one input file: a hash of its real path."""
    real = os.path.realpath(os.fspath(path))
    return hashlib.sha256(real.encode("utf-8", "surrogateescape")).hexdigest()[:16]


def new_generation() -> str:
    """A fresh token naming the part files of one run: a run never overwrites live files."""
    return os.urandom(4).hex()


def part_name(key: str, generation: str, chunk: int) -> str:
    """File name of the part written for chunk ``chunk`` of input ``key`` in ``generation``."""
    return f"part-{key}-{generation}-{chunk:05d}.parquet"


def compacted_name(generation: str, number: int) -> str:
    """File name of the ``number``-th file a compaction writes."""
    return f"part-c-{generation}-{number:05d}.parquet"


def part_glob(root: Path, key: str) -> list[Path]:
    """Every part file of input ``key`` under a table directory, in any partition."""
    return sorted(root.glob(f"{PARTITION}=*/part-{key}-*.parquet"))


def tmp_glob(root: Path, key: str) -> list[Path]:
    """Temporary files a killed conversion of input ``key`` may have left behind."""
    return sorted(root.glob(f"{PARTITION}=*/.part-{key}-*.tmp"))


def table_files(root: Path) -> list[Path]:
    """Every part file and temporary part file a writer made under a table directory, live
    or not (files of other names are not ours: left alone)."""
    return sorted([*root.glob(f"{PARTITION}=*/part-*.parquet"),
                   *root.glob(f"{PARTITION}=*/.part-*.tmp")])  # fmt: skip


def day_of(relative: str) -> str:
    """``"messages/date=2026-11-02/part-…"`` -> ``"messages/date=2026-11-02"``."""
    return relative.rsplit("/", 1)[0]


def partition_dir(root: Path, day: dt.date) -> Path:
    """The ``date=YYYY-MM-DD`` directory of ``day`` under a table directory."""
    return root / f"{PARTITION}={day.isoformat()}"


def dataset_path(path) -> str:
    """``path`` as a dataset directory name, or a :class:`FormatError` when it is not valid
    UTF-8: pyarrow can neither write nor read files under such a name, so a conversion into
    it would fail half-way.

    >>> dataset_path("fleet/2026")
    'fleet/2026'
    """
    name = os.fsdecode(path)
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise FormatError(
            f"dataset path {shown!r} is not valid UTF-8, which Parquet readers need; "
            "choose another name"
        ) from None
    return name
