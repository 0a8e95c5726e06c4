"""Parquet datasets of decoded captures: ``convert`` writes them, ``read_*`` read them back.

Layout
------
::

    DATASET/
        messages/date=YYYY-MM-DD/part-<input>-<chunk>.parquet
        rejects/date=YYYY-MM-DD/part-<input>-<chunk>.parquet

* Files follow :data:`bofan_analytics.schema.MESSAGES` and
  :data:`~bofan_analytics.schema.REJECTS`, zstd-compressed. Their key-value metadata holds
  ``bofan_analytics.schema_version`` = :data:`~bofan_analytics.schema.SCHEMA_VERSION`;
  the readers here refuse files of another version with a :class:`SchemaError`.
* ``date`` is the UTC day of the device ``time``; rows without one go by ``received_at``,
  and rows with neither (heartbeats, photo chunks of a raw stream) to ``date=1970-01-01``,
  a real date so every reader still parses the directory name. Rejects go by
  ``received_at``.
* ``<input>`` is a hash of the input file's absolute path, ``<chunk>`` the number of the
  slice of rows it was written in (large captures are decoded and written chunk by chunk).
  Converting a file again therefore overwrites its parts and removes the ones it no longer
  needs: no duplicates. Within a file, messages are sorted by ``device_id`` then ``time``.
  Inputs of one conversion with the same decompressed content (``x.log`` and
  ``x.log.gz``) are kept once.
* Parts are written under a hidden temporary name and renamed, so no reader ever sees a
  half-written file; every Parquet reader skips hidden files.

The directories read as they are with ``pyarrow.dataset`` (hive partitioning), pandas
(``pd.read_parquet("DATASET/messages")``), DuckDB
(``read_parquet('DATASET/messages/**/*.parquet', hive_partitioning=true)``) and Dask
(``dask.dataframe.read_parquet("DATASET/messages")``).
"""

from ._convert import ConvertResult, FileResult, convert
from ._read import read_dataset, read_messages, read_positions, read_rejects

__all__ = [
    "convert",
    "ConvertResult",
    "FileResult",
    "read_dataset",
    "read_messages",
    "read_positions",
    "read_rejects",
]
