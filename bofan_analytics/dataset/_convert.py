"""``convert``: captures in, a partitioned Parquet dataset out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import html
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .. import schema
from ..decode._logtime import zone_table
from ..errors import BofanError, FormatError, SchemaError
from ..io.files import check_format
from . import _layout as layout
from ._inputs import decode_file, describe_error, find_captures, is_input_error

__all__ = ["convert", "ConvertResult", "FileResult"]

#: Decoded rows held in memory before they are written out as one chunk of part files.
CHUNK_ROWS = 250_000

#: Seconds to wait for a Dask scheduler given by address before giving up.
SCHEDULER_TIMEOUT_S = 10

_MESSAGE_ORDER = [
    (schema.DEVICE_ID, "ascending"),
    (schema.TIME, "ascending"),
    (schema.SOURCE, "ascending"),
    (schema.OFFSET, "ascending"),
]
_REJECT_ORDER = [(schema.SOURCE, "ascending"), (schema.OFFSET, "ascending")]


@dataclass(frozen=True)
class FileResult:
    """What converting one input gave: its format and row counts, or why it failed."""

    path: str
    format: str | None = None
    messages: int = 0
    rejects: int = 0
    parts: int = 0
    error: str | None = None
    #: hash of the decompressed bytes
    content_hash: str | None = None
    #: an earlier input with the same content: this one's rows were not kept
    duplicate_of: str | None = None


@dataclass
class ConvertResult:
    """The outcome of :func:`convert`: one :class:`FileResult` per input, in input order.

    ``ok`` is False when any input could not be read; ``errors`` lists those as
    ``(path, reason)``. An input with the same content as an earlier one (``x`` and
    ``x.gz``) is kept once: the later one has ``duplicate_of`` set and counts no rows.
    """

    output: str
    files: list[FileResult] = field(default_factory=list)

    @property
    def messages(self) -> int:
        return sum(f.messages for f in self.files if f.duplicate_of is None)

    @property
    def rejects(self) -> int:
        return sum(f.rejects for f in self.files if f.duplicate_of is None)

    @property
    def duplicates(self) -> list[tuple[str, str]]:
        return [(f.path, f.duplicate_of) for f in self.files if f.duplicate_of is not None]

    @property
    def errors(self) -> list[tuple[str, str]]:
        return [(f.path, f.error) for f in self.files if f.error is not None]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_pandas(self):
        """One row per input: path, format, messages, rejects, parts, error, duplicate_of."""
        import pandas as pd

        return pd.DataFrame(
            [vars(f) for f in self.files],
            columns=["path", "format", "messages", "rejects", "parts", "error", "duplicate_of"],
        )

    def __repr__(self) -> str:
        return (
            f"ConvertResult(output={self.output!r}, files={len(self.files)}, "
            f"messages={self.messages}, rejects={self.rejects}, errors={len(self.errors)})"
        )

    def _repr_html_(self) -> str:
        head = (
            f"<p><b>{html.escape(self.output)}</b>: {len(self.files)} inputs, "
            f"{self.messages} messages, {self.rejects} rejects, {len(self.errors)} errors</p>"
        )
        return head + self.to_pandas().to_html(index=False, na_rep="")


def convert(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    output: str | os.PathLike,
    *,
    format: str = "auto",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = None,
    log_tz: str | None = None,
) -> ConvertResult:
    """Decode capture files into a Parquet dataset partitioned by day.

    Parameters
    ----------
    inputs : path or list of paths
        Capture files, or directories walked for them (metadata such as ``.json``,
        ``.geojson``, ``.md`` and ``.parquet`` files is skipped).
    output : path
        The dataset directory; ``messages/`` and ``rejects/`` are created in it. Inputs
        converted before are replaced, not added again.
    format : {"auto", "stream", "lines", "traccar", "pcap"}
        Input format; ``"auto"`` detects it per file.
    workers : int, optional
        With more than one, files are converted in parallel on a local Dask cluster of that
        many processes.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``) to convert the files on;
        its workers must see the same paths.
    progress : bool, optional
        Show a progress bar on stderr; by default only when stderr is a terminal.
    log_tz : str, optional
        The zone of tracker-server log time stamps (the server's local time); default UTC.

    Returns
    -------
    ConvertResult
        Row counts per file; inputs that could not be read are listed in ``errors``
        instead of stopping the others.

    Examples
    --------
    >>> result = convert("data/samples", "build/dataset")      # doctest: +SKIP
    >>> result.ok, result.messages                              # doctest: +SKIP
    (True, 1234)
    """
    check_format(format)
    zone_table(log_tz)  # an unknown zone is a bad argument, before any file is touched
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise FormatError(f"workers must be a positive integer, not {workers!r}")
    out = Path(output)
    if out.exists() and not out.is_dir():
        raise FormatError(f"output {os.fspath(out)!r} exists and is not a directory")
    found = find_captures(inputs)
    for sub in (layout.MESSAGES_DIR, layout.REJECTS_DIR):
        (out / sub).mkdir(parents=True, exist_ok=True)

    todo = [f.path for f in found if f.error is None]
    if progress is None:
        progress = _stderr_is_terminal()
    if scheduler is not None or (workers or 1) > 1:
        done = _convert_on_dask(todo, os.fspath(out), format, workers, scheduler, progress,
                                log_tz)
    else:
        done = _convert_here(todo, os.fspath(out), format, progress, log_tz)
    results = [
        FileResult(f.path, error=f.error) if f.error is not None else done[f.path] for f in found
    ]
    return ConvertResult(os.fspath(out), _drop_duplicates(results, out))


def _drop_duplicates(results: list[FileResult], output: Path) -> list[FileResult]:
    """Keep the rows of the first of several inputs with the same content, in input order."""
    first: dict[str, str] = {}
    kept = []
    for result in results:
        key = result.content_hash
        if key is None or result.error is not None or not (result.messages or result.rejects):
            kept.append(result)
        elif key in first:
            name = layout.input_key(result.path)
            for root in (output / layout.MESSAGES_DIR, output / layout.REJECTS_DIR):
                for part in layout.part_glob(root, name):
                    part.unlink(missing_ok=True)
            kept.append(dataclasses.replace(result, parts=0, duplicate_of=first[key]))
        else:
            first[key] = result.path
            kept.append(result)
    return kept


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _progress_bar(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="file", desc="convert", file=sys.stderr)


def _convert_here(paths: list[str], output: str, format: str, progress: bool,
                  log_tz: str | None = None) -> dict:
    bar = _progress_bar(len(paths), progress)
    done = {}
    try:
        for path in paths:
            done[path] = convert_file(path, output, format=format, log_tz=log_tz)
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
    return done


def _convert_on_dask(
    paths: list[str],
    output: str,
    format: str,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
    log_tz: str | None = None,
) -> dict:
    import logging

    from distributed import Client, LocalCluster, as_completed

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except ValueError as exc:
            raise FormatError(f"bad scheduler address {scheduler!r}: {exc}") from None
        except (OSError, TimeoutError) as exc:
            raise BofanError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
        cluster = None
    else:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    bar = _progress_bar(len(paths), progress)
    done = {}
    try:
        # workers may run on other machines: hand them absolute paths, keep the user's
        # spelling for the ``source`` column
        futures = {
            client.submit(
                convert_file,
                os.path.abspath(path),
                os.path.abspath(output),
                format=format,
                source=path,
                log_tz=log_tz,
                pure=False,
            ): path
            for path in paths
        }
        for future in as_completed(futures):
            result = future.result()
            path = futures[future]
            done[path] = dataclasses.replace(result, path=path)
            if bar is not None:
                bar.update()
    finally:
        if bar is not None:
            bar.close()
        client.close()
        if cluster is not None:
            cluster.close()
    return done


def convert_file(
    path: str,
    output: str,
    *,
    format: str = "auto",
    source: str | None = None,
    log_tz: str | None = None,
) -> FileResult:
    """Convert one capture into ``output``, replacing what an earlier run wrote for it.

    Runs in-process or on a Dask worker. Part files are written under a temporary hidden
    name and renamed into place, so a reader (or a conversion killed half-way) never sees a
    half-written file; parts left from an earlier run of the same input that this run did
    not write again are removed at the end.
    """
    parts = _Parts(Path(output), layout.input_key(path))
    fmt = None
    digest = hashlib.blake2b(digest_size=16)
    try:
        fmt, pieces = decode_file(path, format=format, source=source, digest=digest,
                                  log_tz=log_tz)
        for piece in pieces:
            parts.add(piece)
        parts.flush()
    except Exception as exc:
        if not is_input_error(exc):
            raise
        return FileResult(path, fmt, error=describe_error(exc))
    parts.remove_stale()
    return FileResult(
        path, fmt, parts.messages, parts.rejects, len(parts.written), None, digest.hexdigest()
    )


class _Parts:
    """The part files of one input: rows held until :data:`CHUNK_ROWS`, then written."""

    def __init__(self, output: Path, key: str) -> None:
        self.roots = (output / layout.MESSAGES_DIR, output / layout.REJECTS_DIR)
        self.key = key
        self.written: set[Path] = set()
        self.messages = self.rejects = 0
        self._held: tuple[list[pa.Table], list[pa.Table]] = ([], [])
        self._rows = self._chunk = 0
        for root in self.roots:  # left by a run that was killed
            for tmp in layout.tmp_glob(root, key):
                tmp.unlink(missing_ok=True)

    def add(self, piece) -> None:
        self._held[0].append(piece.messages)
        self._held[1].append(piece.rejects)
        self._rows += piece.messages.num_rows + piece.rejects.num_rows
        if self._rows >= CHUNK_ROWS:
            self.flush()

    def flush(self) -> None:
        messages, rejects = self._held
        if messages:
            table = _conform(pa.concat_tables(messages), schema.MESSAGES)
            self._write(table, self.roots[0], _MESSAGE_ORDER)
            self.messages += table.num_rows
        if rejects:
            table = _conform(pa.concat_tables(rejects), schema.REJECTS)
            self._write(table, self.roots[1], _REJECT_ORDER)
            self.rejects += table.num_rows
        self._held = ([], [])
        self._rows = 0
        self._chunk += 1

    def remove_stale(self) -> None:
        for root in self.roots:
            for old in layout.part_glob(root, self.key):
                if old not in self.written:
                    old.unlink(missing_ok=True)

    def _write(self, table: pa.Table, root: Path, order: list[tuple[str, str]]) -> None:
        """Write ``table`` as one part per day, each sorted by ``order``."""
        if table.num_rows == 0:
            return
        day = "__day"
        table = table.append_column(day, layout.partition_dates(table))
        table = table.sort_by([(day, "ascending"), *order])
        days = table.column(day).cast(pa.int32()).to_numpy()
        table = table.drop_columns([day])
        bounds = np.concatenate([[0], np.flatnonzero(np.diff(days)) + 1, [len(days)]])
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            folder = layout.partition_dir(root, _epoch_day(int(days[lo])))
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / layout.part_name(self.key, self._chunk)
            tmp = folder / f".{target.name}.{os.getpid()}.tmp"
            pq.write_table(table.slice(int(lo), int(hi - lo)), tmp, compression="zstd")
            os.replace(tmp, target)
            self.written.add(target)


def _conform(table: pa.Table, target: pa.Schema) -> pa.Table:
    """``table`` with exactly the columns, order, types and metadata of ``target``."""
    missing = [name for name in target.names if name not in table.column_names]
    if missing:
        raise SchemaError(f"decoded table lacks columns {', '.join(missing)}")
    return table.select(target.names).cast(target).replace_schema_metadata(target.metadata)


def _epoch_day(days: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=days)
