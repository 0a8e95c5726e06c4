"""Parquet datasets of decoded captures: ``convert`` writes them, ``read_*`` read them back.

Layout
------
::

    DATASET/
        _manifest.json
        messages/date=YYYY-MM-DD/part-<input>-<gen>-<chunk>.parquet
        rejects/date=YYYY-MM-DD/part-<input>-<gen>-<chunk>.parquet

* Files follow :data:`bofan_analytics.schema.MESSAGES` and
  :data:`~bofan_analytics.schema.REJECTS`, zstd-compressed. Their key-value metadata holds
  ``bofan_analytics.schema_version`` = :data:`~bofan_analytics.schema.SCHEMA_VERSION`;
  the readers here refuse files of another version with a :class:`SchemaError`.
* ``date`` is the UTC day of the device ``time``; rows without one go by ``received_at``,
  and rows with neither (heartbeats, photo chunks of a raw stream) to ``date=1970-01-01``,
  a real date so every reader still parses the directory name. Rejects go by
  ``received_at``.
* ``DATASET/_manifest.json`` lists the live files and, per input, what was converted
  (see :mod:`._manifest`). ``<input>`` is a hash of an input's real path and ``<gen>`` a
  fresh token per run: a run writes new files beside the old ones and switches to them by
  replacing the manifest in one rename, so a reader or a killed run never sees an input's
  old and new rows side by side. Files the manifest does not list are ignored by the
  readers here and deleted by the next writer. Merged files from :func:`compact` are
  named ``part-c-<gen>-<n>.parquet``. Within a file, messages are sorted by
  ``device_id`` then ``time``.
* Writers (``convert``, ``compact``) hold an advisory lock on ``DATASET/.lock``.
* Inputs with the same decompressed content (``x.log`` and ``x.log.gz``, a copy, a
  symlink), in one run or across runs, are kept once.
* Parts are written under a hidden temporary name and renamed, so no reader ever sees a
  half-written file; every Parquet reader skips hidden files and ``_manifest.json``.

The directories read as they are with ``pyarrow.dataset`` (hive partitioning), pandas
(``pd.read_parquet("DATASET/messages")``), DuckDB
(``read_parquet('DATASET/messages/**/*.parquet', hive_partitioning=true)``) and Dask
(``dask.dataframe.read_parquet("DATASET/messages")``); while a writer runs, or after one
was killed, such directory readers may see leftover files the manifest does not list.
"""

from ._compact import CompactResult, compact
from ._convert import ConvertResult, FileResult, convert
from ._read import read_dataset, read_messages, read_positions, read_rejects

__all__ = [
    "convert",
    "compact",
    "CompactResult",
    "ConvertResult",
    "FileResult",
    "read_dataset",
    "read_messages",
    "read_positions",
    "read_rejects",
]
