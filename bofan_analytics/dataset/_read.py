"""Reading a dataset written by ``convert``: filters pushed down to the Parquet files."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from .. import schema
from .._fix import usable_fix
from .._select import Devices, TimeBound, device_list, time_range
from .._validate import choice
from ..errors import FormatError, InputError, SchemaError
from . import _layout as layout
from ._manifest import Manifest

__all__ = [
    "read_dataset",
    "read_messages",
    "read_positions",
    "read_rejects",
    "message_files",
    "device_counts",
]

#: What ``start``/``end`` accept: an ISO string, a date (a whole day), a datetime or a
#: pandas Timestamp; naive values are UTC.

_TABLES = {layout.MESSAGES_DIR: schema.MESSAGES, layout.REJECTS_DIR: schema.REJECTS}
_PARTITIONING = ds.partitioning(pa.schema([(layout.PARTITION, pa.date32())]), flavor="hive")


def read_dataset(
    path: str | os.PathLike,
    *,
    devices: Devices = None,
    start: TimeBound = None,
    end: TimeBound = None,
    columns: Sequence[str] | None = None,
    table: str = "messages",
    tz=None,
) -> pa.Table:
    """Read the messages of a dataset written by :func:`convert` as an Arrow table.

    Parameters
    ----------
    path : path
        The dataset directory (or its ``messages/`` directory).
    devices : str or list of str, optional
        Keep only these device ids.
    start, end : str, date, datetime or pandas.Timestamp, optional
        Keep rows whose device ``time`` lies in ``[start, end]`` (UTC when no zone is
        given). A bare date as ``end`` includes that whole day. Rows without a time are
        left out as soon as either bound is given.
    columns : list of str, optional
        Columns to read (default: all of :data:`bofan_analytics.schema.MESSAGES`); the
        partition column ``date`` may be asked for too.
    table : {"messages", "rejects"}
        Which table to read; rejects are filtered on ``received_at`` and have no devices.
    tz : str or mapping, optional
        When it names one zone, naive ``start``/``end`` are that zone's local time (a bare
        end date ends at its local midnight). The table's times stay UTC.

    Returns
    -------
    pyarrow.Table
        Rows sorted by device and time, with the types of the schema the files were
        written with.

    Raises
    ------
    InputError
        ``path`` is not a dataset.
    SchemaError
        A file was written with another schema version, or ``columns`` names an unknown
        column.

    Examples
    --------
    >>> t = read_dataset("build/dataset", devices=["864891030184954"],
    ...                  start="2026-11-02", end="2026-11-03")       # doctest: +SKIP
    """
    choice("table", table, _TABLES)
    target = _TABLES[table]
    root = _table_dir(path, table)
    names = list(target.names) if columns is None else list(columns)
    known = [*target.names, layout.PARTITION]
    unknown = [c for c in names if c not in known]
    if unknown:
        raise SchemaError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; {table} has {', '.join(known)}"
        )

    time_column = schema.TIME if table == layout.MESSAGES_DIR else schema.RECEIVED_AT
    if devices is not None and table != layout.MESSAGES_DIR:
        raise FormatError("rejects have no device id; leave devices out")
    where = _filter(devices, start, end, time_column, tz)

    order = (
        [schema.DEVICE_ID, schema.TIME, schema.SOURCE, schema.OFFSET]
        if table == layout.MESSAGES_DIR
        else [schema.SOURCE, schema.OFFSET]
    )
    wanted = names + [c for c in order if c not in names]
    result = _scan(root, target, wanted, where)
    result = result.sort_by([(c, "ascending") for c in order]).select(names)
    return result.replace_schema_metadata(target.metadata)


def read_messages(
    path: str | os.PathLike,
    *,
    devices: Devices = None,
    start: TimeBound = None,
    end: TimeBound = None,
    columns: Sequence[str] | None = None,
    tz=None,
):
    """:func:`read_dataset` as a pandas DataFrame, times in ``tz`` (see
    :func:`read_positions`).

    Examples
    --------
    >>> df = read_messages("build/dataset", columns=["device_id", "time", "alarm"])  # doctest: +SKIP
    """
    table = read_dataset(path, devices=devices, start=start, end=end, columns=columns, tz=tz)
    return _local(_to_pandas(table), tz)


def read_rejects(
    path: str | os.PathLike,
    *,
    start: TimeBound = None,
    end: TimeBound = None,
    columns: Sequence[str] | None = None,
):
    """The rejects of a dataset as a pandas DataFrame, filtered on ``received_at``.

    Examples
    --------
    >>> read_rejects("build/dataset")["reason"].value_counts()     # doctest: +SKIP
    """
    return _to_pandas(read_dataset(path, start=start, end=end, columns=columns, table="rejects"))


def _to_pandas(table: pa.Table):
    """Like ``DecodedLog.positions()``: int32 columns stay integers (nullable) in pandas."""
    import pandas as pd

    return table.to_pandas(types_mapper={pa.int32(): pd.Int32Dtype()}.get)


def read_positions(
    path: str | os.PathLike,
    *,
    devices: Devices = None,
    start: TimeBound = None,
    end: TimeBound = None,
    tz=None,
):
    """Valid fixes of a dataset, as :meth:`DecodedLog.positions` gives them for a log.

    With ``tz`` (an IANA zone, a mapping ``device_id -> zone`` or ``"auto"``, see
    :mod:`bofan_analytics.analytics._tz`) the times are local and naive ``start``/``end``
    are read in that zone when it is one zone.

    Only usable fixes are read (valid, timed, with coordinates, not 0°/0°: see
    :mod:`bofan_analytics._fix`; the filter runs on the Parquet files); duplicates (the same fix received twice) are dropped, and rows are
    sorted by device and time. Columns are :data:`bofan_analytics.schema.POSITION_COLUMNS`.

    Examples
    --------
    >>> pos = read_positions("build/dataset", devices="864891030184954")   # doctest: +SKIP
    >>> pos.columns[0]                                                      # doctest: +SKIP
    'device_id'
    """
    where_fix = usable_fix()
    root = _table_dir(path, layout.MESSAGES_DIR)
    where = _filter(devices, start, end, schema.TIME, tz)
    where = where_fix if where is None else where & where_fix
    columns = [*schema.POSITION_COLUMNS, schema.SOURCE, schema.OFFSET]
    fixes = _scan(root, schema.MESSAGES, columns, where)
    # Input order (as read_log of the same files gives it) decides which of two duplicate
    # fixes is kept; then the same dedup and order as DecodedLog.positions().
    from ..decode import positions_from_messages

    fixes = fixes.sort_by([(schema.SOURCE, "ascending"), (schema.OFFSET, "ascending")])
    return _local(positions_from_messages(fixes), tz)


def _local(frame, tz):
    from ..analytics._track import localize_frame

    return localize_frame(frame, tz)


def _scan(root: str, target: pa.Schema, columns: list[str], where) -> pa.Table:
    """Read ``columns`` of the rows matching ``where``, after checking the files' versions;
    files of an older supported version are read with their own schema and upgraded.

    With a manifest only the files it lists are read: leftovers of a killed or replaced
    run are ignored. A writer may commit and delete files between our reading the manifest
    and opening them; then the manifest is read again.
    """
    date = pa.field(layout.PARTITION, pa.date32())
    for attempt in range(_ATTEMPTS):
        try:
            dataset = ds.dataset(_files(root), schema=pa.schema([*target, date]),
                                 format="parquet", partitioning=_PARTITIONING,
                                 partition_base_dir=root)
            versions = _check_versions(dataset, where, root)
            old = [path for path, version in versions.items() if version == 1]
            if not old:
                return dataset.to_table(columns=columns, filter=where)
            parts = []
            new = [path for path, version in versions.items() if version != 1]
            if new:
                current = ds.dataset(new, schema=pa.schema([*target, date]), format="parquet",
                                     partitioning=_PARTITIONING, partition_base_dir=root)
                parts.append(current.to_table(columns=columns, filter=where))
            v1 = schema.MESSAGES_V1 if target.equals(schema.MESSAGES) else target
            legacy = ds.dataset(old, schema=pa.schema([*v1, date]), format="parquet",
                                partitioning=_PARTITIONING, partition_base_dir=root)
            have = [c for c in columns if c in legacy.schema.names]
            parts.append(upgrade_v1(legacy.to_table(columns=have, filter=where), columns))
            return pa.concat_tables(parts)
        except FileNotFoundError:
            if attempt == _ATTEMPTS - 1:
                raise
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            # a foreign or broken file, or a directory that is not a date=YYYY-MM-DD partition
            reason = str(exc).splitlines()[0]
            raise SchemaError(f"{root}: not a dataset written by bofan convert: {reason}") from None
    raise AssertionError("unreachable")


#: Times a read is tried while writers replace the files under it.
_ATTEMPTS = 10


def _files(root: str) -> str | list[str]:
    """The live files of a table directory: those its manifest lists, or (a dataset written
    before manifests existed) every visible file."""
    base = os.path.dirname(os.path.normpath(root))
    if not Manifest.exists(base):
        return root
    table = os.path.basename(os.path.normpath(root))
    live = Manifest.load(base).live()
    return sorted(os.path.join(base, f) for f in live if f.startswith(table + "/"))


def message_files(path: str | os.PathLike) -> list[str]:
    """The live message files of a dataset (what its manifest lists, or every file)."""
    root = _table_dir(path, layout.MESSAGES_DIR)
    files = _files(root)
    if isinstance(files, str):  # no manifest: every visible file, as the readers take them
        found = Path(root).glob(f"{layout.PARTITION}=*/*.parquet")
        files = sorted(os.fspath(p) for p in found if not p.name.startswith((".", "_")))
    return files


def device_counts(path, files: Sequence[str], *, devices=None, start=None, end=None) -> dict:
    """Rows per device in some of the message files of a dataset, with the same selection
    as :func:`read_dataset` (a task of an analysis on a cluster lists devices with it)."""
    root = _table_dir(path, layout.MESSAGES_DIR)
    if not files:
        return {}
    where = _filter(devices, start, end, schema.TIME)
    dataset = ds.dataset(
        list(files),
        schema=pa.schema([*schema.MESSAGES, pa.field(layout.PARTITION, pa.date32())]),
        format="parquet",
        partitioning=_PARTITIONING,
        partition_base_dir=root,
    )
    ids = dataset.to_table(columns=[schema.DEVICE_ID], filter=where).column(schema.DEVICE_ID)
    counts = ids.drop_null().value_counts()
    return dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(),
                    strict=True))  # fmt: skip


def _table_dir(path: str | os.PathLike, table: str) -> str:
    root = layout.dataset_path(path)
    if os.path.isdir(os.path.join(root, table)):
        return os.path.join(root, table)
    if os.path.basename(os.path.normpath(root)) == table and os.path.isdir(root):
        return root
    if not os.path.exists(root):
        raise InputError(f"{root}: no such dataset")
    raise InputError(f"{root}: not a dataset written by bofan convert (no {table}/ directory)")


def _check_versions(dataset: ds.Dataset, where, root: str) -> dict[str, int]:
    """The schema version of every file that ``where`` touches; an error for a file of a
    version this release cannot read."""
    supported = {str(v).encode(): v for v in schema.SUPPORTED_SCHEMA_VERSIONS}
    key = schema.SCHEMA_VERSION_KEY
    versions = {}
    for fragment in dataset.get_fragments(filter=where):
        found = (fragment.physical_schema.metadata or {}).get(key)
        if found in supported:
            versions[fragment.path] = supported[found]
            continue
        name = os.path.relpath(fragment.path, root)
        if found is None:
            raise SchemaError(
                f"{os.path.join(root, name)}: no {key.decode()} in its metadata; "
                "not written by bofan convert"
            )
        raise SchemaError(
            f"{os.path.join(root, name)} has schema version {found.decode(errors='replace')}, "
            "this bofan_analytics reads versions "
            f"{', '.join(map(str, schema.SUPPORTED_SCHEMA_VERSIONS))}; convert the captures again"
        )
    return versions


def _binary_mask(text):
    try:
        return int(text, 2) if text and len(text) <= 31 else None
    except ValueError:
        return None


def _hex_list(text):
    try:
        return [int(v, 16) for v in text.split(",")] if text else None
    except ValueError:
        return None


def _by_distinct(column: pa.ChunkedArray, convert, typ) -> pa.Array:
    """Apply ``convert`` to each distinct value of a string column (I/O and ADC texts take
    few values), then spread the results over the rows."""
    codes = pc.dictionary_encode(column.combine_chunks())
    values = pa.array([convert(v) for v in codes.dictionary.to_pylist()], typ)
    return values.take(codes.indices)


def upgrade_v1(table: pa.Table, columns: list[str]) -> pa.Table:
    """Columns of a schema-version-1 messages table as version 2 has them.

    ``inputs`` and ``outputs`` (binary text) become int32 bit masks, ``adc`` (hex values
    joined by ``,``) a list of int32; ``fix_mode`` and ``wifi_access_points`` did not exist
    and are null. Text that does not read as such becomes null.
    """
    out = {}
    n = table.num_rows
    for name in columns:
        field = schema.MESSAGES.field(name) if name in schema.MESSAGES.names else None
        if name not in table.column_names:
            out[name] = pa.nulls(n, field.type)
        elif name in (schema.INPUTS, schema.OUTPUTS) and table.schema.field(name).type == pa.string():
            out[name] = _by_distinct(table[name], _binary_mask, pa.int32())
        elif name == schema.ADC and table.schema.field(name).type == pa.string():
            out[name] = _by_distinct(table[name], _hex_list, pa.list_(pa.int32()))
        else:
            out[name] = table[name]
    return pa.table(out)


def _filter(devices, start, end, time_column: str, tz=None):
    parts = []
    ids = device_list(devices)
    if ids is not None:
        parts.append(ds.field(schema.DEVICE_ID).isin(pa.array(ids, pa.string())))
        if ids:  # as a range too: row-group statistics of device-sorted files prune on it
            parts.append(ds.field(schema.DEVICE_ID) >= min(ids))
            parts.append(ds.field(schema.DEVICE_ID) <= max(ids))
    lo, hi, inclusive = time_range(start, end, tz)
    if lo is not None:
        parts.append(ds.field(time_column) >= pa.scalar(lo, schema.TIMESTAMP))
        parts.append(ds.field(layout.PARTITION) >= pa.scalar(lo.date(), pa.date32()))
    if hi is not None:
        if inclusive:
            parts.append(ds.field(time_column) <= pa.scalar(hi, schema.TIMESTAMP))
            last_day = hi.date()
        else:
            parts.append(ds.field(time_column) < pa.scalar(hi, schema.TIMESTAMP))
            last_day = (hi - dt.timedelta(microseconds=1)).date()
        parts.append(ds.field(layout.PARTITION) <= pa.scalar(last_day, pa.date32()))
    if not parts:
        return None
    where = parts[0]
    for part in parts[1:]:
        where = where & part
    return where
