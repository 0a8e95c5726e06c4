"""``convert``: captures in, a partitioned Parquet dataset out, incrementally.

Each run reads the manifest (:mod:`._manifest`), decides per input what is new, decodes
only that, writes the rows under fresh file names and commits them with one manifest
replacement. See :func:`convert` for the per-input decisions.
"""

from __future__ import annotations

import dataclasses
import html
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import schema
from .._numba import compile_aside
from ..decode._logtime import zone_table
from ..decode.reading import DecodeRun
from ..errors import BofanError, FormatError, InputError
from ..io.files import check_format, source_name
from ..io.formats import check_port
from . import _layout as layout
from . import _parquet, _parquet_kernels, _parts
from ._inputs import describe_error, find_captures, is_input_error, rotation_groups
from ._manifest import DatasetLock, Manifest
from ._parts import Parts
from ._reader import ManifestReader as _Reader

__all__ = ["convert", "ConvertResult", "FileResult", "convert_input", "convert_job"]

#: Seconds to wait for a Dask scheduler given by address before giving up.
SCHEDULER_TIMEOUT_S = 10

#: Seconds between looks at the futures of a conversion on Dask.
POLL_S = 0.1

#: Seconds a conversion on Dask waits while the cluster has no worker at all.
NO_WORKERS_TIMEOUT_S = 60

#: A file modified this close (ns) to the moment it was last read may have changed within
#: the file system's timestamp resolution: its size and time are not trusted, its bytes
#: are checked (as git does for "racy" files).
RACY_NS = 2_000_000_000

#: Part files of one day in one table above which ``convert`` compacts that day.
MAX_DAY_PARTS = 64

#: Statuses of an input in a :class:`FileResult`.
STATUSES = ("new", "appended", "unchanged", "replaced", "duplicate", "failed")



@dataclass(frozen=True)
class FileResult:
    """What this run did with one input.

    ``status`` is ``"new"`` (decoded whole, first time), ``"appended"`` (only the bytes
    added since the last run were decoded), ``"unchanged"`` (nothing decoded),
    ``"replaced"`` (its content changed or shrank: decoded again, its old rows replaced),
    ``"duplicate"`` (the same content as ``duplicate_of``: no rows kept) or ``"failed"``.
    ``messages`` and ``rejects`` count the rows this run added; ``decoded_bytes`` the
    decompressed bytes it fed the decoder. An input whose reading broke off (a truncated
    ``.gz``) has ``error`` set *and* keeps the rows decoded before the break.
    """

    path: str
    format: str | None = None
    messages: int = 0
    rejects: int = 0
    parts: int = 0
    error: str | None = None
    #: hash of the decompressed bytes
    content_hash: str | None = None
    #: an input with the same content: this one's rows were not kept
    duplicate_of: str | None = None
    status: str = "failed"
    decoded_bytes: int = 0

    @property
    def partial(self) -> bool:
        """Reading broke off, and the rows decoded before the break were kept."""
        return self.error is not None and (self.messages or self.rejects) > 0


@dataclass
class ConvertResult:
    """The outcome of :func:`convert`: one :class:`FileResult` per input, in input order.

    ``ok`` is False when any input could not be read (whole or in part); ``errors`` lists
    those as ``(path, reason)``. An input with the same content as another (``x`` and
    ``x.gz``, a copy, a symlink) is kept once: the other has ``duplicate_of`` set.
    """

    output: str
    files: list[FileResult] = field(default_factory=list)
    #: days compacted because they held more than :data:`MAX_DAY_PARTS` files
    compacted: list[str] = field(default_factory=list)

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

    def count(self, status: str) -> int:
        """How many inputs ended with ``status`` (see :class:`FileResult`)."""
        return sum(f.status == status for f in self.files)

    def to_pandas(self):
        """One row per input: path, status, format, rows added, bytes decoded, error."""
        import pandas as pd

        columns = ["path", "status", "format", "messages", "rejects", "parts",
                   "decoded_bytes", "error", "duplicate_of"]  # fmt: skip
        return pd.DataFrame([vars(f) for f in self.files], columns=columns)

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
    port: int | str = 8888,
    full: bool = False,
    lock_wait_s: float | None = None,
) -> ConvertResult:
    """Decode capture files into a Parquet dataset partitioned by day, incrementally.

    The dataset's manifest remembers each input (by its real path): size, modification
    time, a hash of its head and of all its bytes, how far it was decoded and the
    unfinished frame at its end. Converting again then

    * skips an input that did not change (status ``"unchanged"``, nothing decoded);
    * decodes only the bytes appended to one that grew, going on from the unfinished
      frame where the last run stopped (``"appended"``): every frame lands exactly once;
    * decodes a new input (``"new"``), unless it has the same content as one the dataset
      holds (a copy, a symlink, ``x.gz`` of ``x``): then ``"duplicate"``, no rows added;
    * decodes again an input that was replaced or truncated, and replaces its old rows
      (``"replaced"``).

    Rows go to new files and become visible together in one manifest commit, so a reader,
    or a conversion killed at any point, never sees half an input or an input twice.
    Writers lock the dataset: a second ``convert`` waits up to ``lock_wait_s`` seconds.
    A day holding more than :data:`MAX_DAY_PARTS` files is compacted afterwards.

    Parameters
    ----------
    inputs : path or list of paths
        Capture files, or directories walked for them (metadata such as ``.json``,
        ``.geojson``, ``.md`` and ``.parquet`` files is skipped). The files of a rotated
        tracker-server log are decoded together, in date order, as ``read_log`` reads them
        (see :func:`convert_job`).
    output : path
        The dataset directory; ``messages/`` and ``rejects/`` are created in it.
    format : {"auto", "stream", "lines", "traccar", "pcap"}
        Input format; ``"auto"`` detects it per file.
    workers : int, optional
        With more than one, files are converted in parallel on a local Dask cluster of that
        many processes.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``) to convert the files on;
        its workers must see the same paths. Not together with ``workers``.
    progress : bool, optional
        Show a progress bar on stderr; by default only when stderr is a terminal.
    log_tz : str, optional
        The zone of tracker-server log time stamps (the server's local time); default UTC.
    port : int or "auto"
        Packet captures: the server port the devices send to (default 8888; ``"auto"``
        guesses it, see :func:`~bofan_analytics.read_log`).
    full : bool
        Ignore what the manifest says was converted: decode every input whole and replace
        its rows.
    lock_wait_s : float, optional
        How long to wait for another writer of the same dataset (default 10 s).

    Returns
    -------
    ConvertResult
        Per input its status and the rows added; inputs that could not be read are listed
        in ``errors`` instead of stopping the others.

    Examples
    --------
    >>> result = convert("data/samples", "build/dataset")      # doctest: +SKIP
    >>> result.ok, result.count("new")                          # doctest: +SKIP
    (True, 4)
    """
    check_format(format)
    zone_table(log_tz)  # an unknown zone is a bad argument, before any file is touched
    check_port(port)
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise FormatError(f"workers must be a positive integer, not {workers!r}")
    if workers is not None and scheduler is not None:
        raise FormatError("give workers or scheduler, not both")
    out = Path(layout.dataset_path(output))
    if out.exists() and not out.is_dir():
        raise FormatError(f"output {os.fspath(out)!r} exists and is not a directory")
    found = find_captures(inputs)
    if progress is None:
        progress = _stderr_is_terminal()
    # a first run: the part writer's kernels compile in a second process while the
    # decoder's compile here (its own first file's parts wait for them)
    compile_aside(_parquet_kernels.__name__)

    # connect first: a cluster that cannot be reached leaves no empty dataset behind
    cluster = _Cluster(workers, scheduler) if scheduler is not None or (workers or 1) > 1 else None
    try:
        out.mkdir(parents=True, exist_ok=True)
        with DatasetLock(out, wait_s=lock_wait_s):
            manifest = open_manifest(out)
            manifest.collect_garbage()
            done: dict[str, tuple[FileResult, dict | None]] = {}
            jobs = []  # each: the files of one input (a rotated log's in reading order)
            for group in rotation_groups(found):
                if group[0].error is not None:
                    continue
                job = [(item.path, manifest.inputs.get(os.path.realpath(item.path)))
                       for item in group]  # fmt: skip
                if not full and all(entry is not None and _surely_unchanged(path, entry)
                                    for path, entry in job):  # fmt: skip
                    done.update((path, (_unchanged(path, entry), None)) for path, entry in job)
                else:
                    jobs.append(job)
            generation = layout.new_generation()
            run = cluster.run if cluster is not None else _run_here
            failure = None
            try:
                run(jobs, os.fspath(out), format, generation, progress, done, full,
                    {"log_tz": log_tz, "port": port})
            except BofanError as exc:
                failure = exc  # keep what finished, then report
            except BaseException:  # interrupted: nothing is committed, its files go
                manifest.remove_files(_written(done) - manifest.live())
                raise
            results = _commit(manifest, found, done)
            if failure is not None:
                raise failure
            compacted = _compact_crowded_days(manifest)
    finally:
        if cluster is not None:
            cluster.close()
    return ConvertResult(os.fspath(out), results, compacted)


def _written(done: dict) -> set[str]:
    """The files the inputs in ``done`` list (those of earlier runs among them)."""
    return {relative for _, entry in done.values() if entry is not None
            for relative in (*entry["parts"], *entry["tail"])}  # fmt: skip


def open_manifest(out: Path) -> Manifest:
    """The manifest of a dataset being written (created when new), under the lock."""
    if not Manifest.exists(out):
        old = [p for sub in (layout.MESSAGES_DIR, layout.REJECTS_DIR)
               for p in (out / sub).glob(f"{layout.PARTITION}=*/*.parquet")]  # fmt: skip
        if old:
            raise InputError(
                f"{out}: holds part files but no {layout.MANIFEST} (written by an older "
                "bofan_analytics); convert into a new directory"
            )
        for sub in (layout.MESSAGES_DIR, layout.REJECTS_DIR):
            (out / sub).mkdir(parents=True, exist_ok=True)
        manifest = Manifest(out)
        manifest.commit()
        return manifest
    return Manifest.load(out)


def _surely_unchanged(path: str, entry: dict) -> bool:
    """Size and modification time as recorded, and not modified around the last reading."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (
        st.st_size == entry["size"]
        and st.st_mtime_ns == entry["mtime_ns"]
        and st.st_mtime_ns < entry["checked_ns"] - RACY_NS
    )


def _unchanged(path: str, entry: dict) -> FileResult:
    return FileResult(path, entry.get("format"), content_hash=entry.get("content_hash"),
                      status="unchanged")  # fmt: skip


# -- decoding one input (in-process or on a Dask worker) ---------------------------------


def _decoder_for(path: str, fmt: str, source: str, state: dict | None, *,
                 forced: bool = False, log_tz: str | None = None, port=8888):
    """The decoder of one input: fresh, or going on from a manifest checkpoint (which
    keeps the tracker-server log zone it was decoded with; packet captures are never
    resumed)."""
    from ..decode import StreamDecoder

    if state is None:
        return StreamDecoder(fmt, source, log_tz=log_tz, forced=forced, port=port)
    return StreamDecoder.resume(fmt, source, state)


def convert_input(
    path: str,
    output: str,
    *,
    format: str = "auto",
    source: str | None = None,
    entry: dict | None = None,
    generation: str = "0",
    full: bool = False,
    options: dict | None = None,
) -> tuple[FileResult, dict | None]:
    """Decode what is new in one input into part files; return its result and manifest entry.

    Runs in-process or on a Dask worker; writes only files under fresh names, which become
    part of the dataset when the caller commits the returned entry. ``entry`` is what the
    manifest holds for the input (``None``: a new input); with ``full`` it is decoded whole
    all the same. ``options`` go to the decoder: ``log_tz``, the zone of tracker-server log
    time stamps, and ``port``, the devices' port in packet captures.
    """
    return _start_input(path, output, format=format, source=source, entry=entry,
                        generation=generation, full=full, options=options).result()[0]


def _start_input(path: str, output: str, *, format: str, source: str | None,
                 entry: dict | None, generation: str, full: bool,
                 options: dict | None) -> _Writing:
    """:func:`convert_input`, returned while the part files may still be being written."""
    source = path if source is None else source
    try:
        # the time is taken before reading: a change made while we read is "racy"
        seen = _stat_fields(os.stat(path))
        plan = _Reader(path, None if full else entry)
        if full and entry is not None:
            plan.status = "replaced"
        if plan.status == "unchanged":
            new_entry = {**entry, **seen}
            return _Writing([(FileResult(path, entry.get("format"),
                                         content_hash=entry["content_hash"],
                                         status="unchanged"), new_entry)])  # fmt: skip
    except Exception as exc:
        if not is_input_error(exc):
            raise
        return _Writing([(FileResult(path, error=describe_error(exc), status="failed"), None)])

    if plan.status == "appended":
        source = entry["source"]
    member = _Member(path, source, plan, entry, seen)
    return _decode_members([member], output, format=format, generation=generation,
                           options=options)


def convert_job(
    job: list[tuple[str, dict | None]],
    output: str,
    *,
    format: str = "auto",
    sources: list[str] | None = None,
    generation: str = "0",
    full: bool = False,
    options: dict | None = None,
) -> list[tuple[FileResult, dict | None]]:
    """Convert one input: a file, or the files of a rotated log (``job``: ``(path,
    manifest entry)`` in reading order); returns ``(result, entry)`` per file, in order.

    The files of a rotated log are decoded in order through one decoder, so a frame
    split by the rotation is joined (its row goes with the file it begins in). Each
    file keeps its own manifest entry and part files. When only the last (live) file
    grew, it goes on from its checkpoint, which carries what the files before it left
    open; when any other file changed or is new, the whole log is decoded again.
    """
    return _start_job(job, output, format=format, sources=sources, generation=generation,
                      full=full, options=options).result()


def _start_job(job: list[tuple[str, dict | None]], output: str, *, format: str = "auto",
               sources: list[str] | None = None, generation: str = "0", full: bool = False,
               options: dict | None = None) -> _Writing:
    """:func:`convert_job`, returned while the part files may still be being written."""
    sources = [path for path, _ in job] if sources is None else sources
    if len(job) == 1:
        [(path, entry)] = job
        return _start_input(path, output, format=format, source=sources[0], entry=entry,
                            generation=generation, full=full, options=options)
    members = []
    try:
        for (path, entry), source in zip(job, sources, strict=True):
            seen = _stat_fields(os.stat(path))
            plan = _Reader(path, None if full else entry)
            members.append(_Member(path, source, plan, entry, seen))
    except Exception as exc:
        for member in members:
            member.plan.close()
        if not is_input_error(exc):
            raise
        # one of them cannot be read: each on its own, the unreadable one says why
        return _Writing([convert_input(path, output, format=format, source=source,
                                       entry=entry, generation=generation, full=full,
                                       options=options)
                         for (path, entry), source in zip(job, sources, strict=True)])
    *before, last = members
    if all(m.plan.status == "unchanged" for m in before):
        done = [(FileResult(m.path, m.entry.get("format"), content_hash=m.entry["content_hash"],
                            status="unchanged"), {**m.entry, **m.seen}) for m in before]
        if last.plan.status == "unchanged":
            return _Writing([*done, (FileResult(last.path, last.entry.get("format"),
                                                content_hash=last.entry["content_hash"],
                                                status="unchanged"),
                                     {**last.entry, **last.seen})])  # fmt: skip
        if last.plan.status == "appended" and not _joins_back(last.entry["resume"]):
            # the live file grew: it goes on from its checkpoint, the others stay
            last.source = last.entry["source"]
            return _decode_members([last], output, format=format, generation=generation,
                                   options=options).after(done)
    # decoded again from the first file: the state each file leaves the next changed
    for m in members:
        m.plan.close()
        m.plan = _Reader(m.path, None)
        if m.entry is not None:
            m.plan.status = "replaced"
    return _decode_members(members, output, format=format, generation=generation,
                           options=options)


def _joins_back(state: dict | None) -> bool:
    """Whether a checkpoint holds a frame or rows from an earlier file of a rotated log."""
    if not state or not state.get("files"):
        return False
    last = len(state["files"]) - 1
    pieces = [piece for entry in state["carry"].values() for piece in entry[1]]
    return bool(state.get("held")) or any(piece[5] < last for piece in pieces)


@dataclass
class _Member:
    """One file of an input being converted, with what the manifest and the reader know."""

    path: str
    source: str
    plan: _Reader
    entry: dict | None
    seen: dict


def _decode_members(members: list[_Member], output: str, *, format: str, generation: str,
                    options: dict | None) -> _Writing:
    """Decode the files of one input in order through the decode loop, each file's rows
    into its own part files; a single file that grew goes on from its checkpoint.
    Returns once the decoding is done: the writer threads may still be writing the last
    part files, which :meth:`_Writing.result` waits for."""
    names = {source_name(m.source): m for m in members}
    parts = {m.path: Parts(Path(output), layout.input_key(m.path), generation) for m in members}
    resuming = members[0].plan.status == "appended"  # (then it is the only one)
    forced = format != "auto"

    def make_decoder(fmt, name, state):
        return _decoder_for(names[name].path, fmt, name, state, forced=forced,
                            **(options or {}))  # fmt: skip

    for m in members:
        m.plan.name = source_name(m.source)
    first = members[0]
    run = DecodeRun((m.plan for m in members),
                    format=first.entry["format"] if resuming else format,
                    state=first.entry["resume"] if resuming else None, make_decoder=make_decoder,
                    ahead=False)  # the writer sets the pace: ahead would only hold memory
    formats: dict[str, str] = {}
    error = state = broke = None
    try:
        try:
            for piece in run:
                formats[names[run.current].path] = run.format
                if run.finishing:  # the rows of the unfinished end: replaced on append
                    state = run.state
                    for part in parts.values():
                        part.flush()
                    _hand_over(parts, piece, names)
                    for part in parts.values():
                        part.flush(tail=True)
                else:
                    _hand_over(parts, piece, names)
                # the parts hold its rows now: while the next piece is decoded, the writer
                # lets go of each column it has sorted only if nothing else holds them
                del piece
        except Exception as exc:
            if not is_input_error(exc):
                raise
            if not run.done:  # not started, or a forced format that did not fit: keep nothing
                for part in parts.values():
                    part.discard()
                return _Writing([(FileResult(m.path, formats.get(m.path, run.format),
                                             error=describe_error(exc), status="failed"), None)
                                 for m in members])  # fmt: skip
            error = describe_error(exc)  # reading broke off: what came before is kept
            broke = names[run.current].path
    except BaseException:
        _abandon(members, parts)
        raise

    def results():
        try:
            for part in parts.values():
                part.close()
        except BaseException:
            _abandon(members, parts)
            raise
        out = []
        for m in members:
            if m.path not in formats:  # not reached: a file before it broke off
                out.append((FileResult(m.path, error=f"not read: {broke} before it broke off",
                                       status="failed"), None))  # fmt: skip
                continue
            out.append(_member_result(m, parts[m.path], formats[m.path],
                                      error if m.path == broke else None,
                                      state if m is members[-1] or m.path == broke else None))
        return out

    rows = sum(part.messages + part.rejects for part in parts.values())
    return _Writing(results, abandon=lambda: _abandon(members, parts, drop=True),
                    small=rows < _parts.CHUNK_ROWS)


def _abandon(members: list[_Member], parts: dict[str, Parts], *, drop: bool = False) -> None:
    """Close the files of a job that failed and stop its writers (after their chunks: the
    files they wrote are no part of the dataset until a commit lists them); with ``drop``
    delete those files too (a job given up because the conversion failed after it)."""
    for m in members:
        m.plan.close()
    for part in parts.values():
        if drop:
            part.drop()
        else:
            part.abandon()


class _Writing:
    """The outcomes of a job, ``(FileResult, manifest entry)`` per file, once its part
    files are written: :meth:`result` waits for the writer threads (and raises a writer's
    error); :meth:`abandon` stops them when the conversion fails before it asks.
    ``small``: the job's rows make less than a chunk (what its writers may still hold)."""

    def __init__(self, outcomes, *, abandon=None, small: bool = True) -> None:
        self._outcomes = outcomes  # a list, or what makes it once the writers are done
        self._abandon = abandon
        self.small = small
        self._before: list = []

    def after(self, outcomes: list) -> _Writing:
        """The same, with ``outcomes`` (earlier files of the job) first."""
        self._before = [*outcomes, *self._before]
        return self

    def result(self) -> list[tuple[FileResult, dict | None]]:
        outcomes = self._outcomes
        if callable(outcomes):
            outcomes = self._outcomes = outcomes()
            self._abandon = None
        return [*self._before, *outcomes]

    def abandon(self) -> None:
        if self._abandon is not None:
            self._abandon()
            self._abandon = None


def _member_result(m: _Member, parts: Parts, fmt: str, error: str | None, state: dict | None):
    plan, entry = m.plan, m.entry
    resuming = plan.status == "appended"
    if error is not None:
        error = (
            f"{error}; kept {parts.messages} messages and {parts.rejects} rejects "
            f"from the first {plan.read} bytes"
        )
        if not (parts.messages or parts.rejects):
            parts.discard()
            return FileResult(m.path, fmt, error=error, status="failed"), None
    new_entry = {
        "path": m.path,
        "source": m.source,
        "format": fmt,
        **m.seen,
        "head_hash": plan.head_hash,
        "content_hash": plan.digest.hexdigest(),
        "read": plan.read,
        # an empty file's format is not known yet: when it grows, it is decoded whole
        "resume": state if plan.read else None,
        "parts": (entry["parts"] if resuming else []) + parts.final,
        "tail": parts.tail,
        "messages": (entry["messages"] if resuming else 0) + parts.messages,
        "rejects": (entry["rejects"] if resuming else 0) + parts.rejects,
        "duplicate_of": None,
        "error": error,
    }
    result = FileResult(m.path, fmt, parts.messages, parts.rejects,
                        len(parts.final) + len(parts.tail), error, new_entry["content_hash"],
                        None, plan.status, plan.fed)  # fmt: skip
    return result, new_entry


def _hand_over(parts, piece, names) -> None:
    """Add a piece's rows to the parts of the files they come from (and keep no reference
    to them here)."""
    for path, messages, rejects in _by_file(piece, names):
        parts[path].add_tables(messages, rejects)


def _by_file(piece, names):
    """A piece's rows per file they come from (one file: the piece as it is)."""
    if len(names) == 1:
        [member] = names.values()
        yield member.path, piece.messages, piece.rejects
        return
    for name, member in names.items():
        yield (
            member.path,
            piece.messages.filter(pc.equal(piece.messages[schema.SOURCE], name)),
            piece.rejects.filter(pc.equal(piece.rejects[schema.SOURCE], name)),
        )


def _stat_fields(st: os.stat_result) -> dict:
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "checked_ns": time.time_ns()}


def _commit(manifest: Manifest, found, done: dict) -> list[FileResult]:
    """Put what the run decoded into the manifest, in input order, in one commit.

    The first input holding some content keeps its rows; a later one with the same
    content (in this run or held from an earlier one) is a duplicate and its new files are
    dropped. An input whose file was replaced in this run does not own its old content any
    more: a rotated log's live file, renamed to ``x.log.20261102`` and started afresh,
    leaves its old bytes to the renamed file, whichever is listed first. Files the new
    manifest no longer lists are deleted after the commit.
    """
    owners = {
        entry["content_hash"]: real
        for real, entry in manifest.inputs.items()
        if entry.get("duplicate_of") is None and entry.get("messages", 0) + entry.get("rejects", 0)
    }
    for item in found:  # a file that holds other content now owns its old content no more:
        result, entry = done.get(item.path, (None, None))  # that may have moved (rotation)
        if result is not None and entry is not None and result.status == "replaced":
            real = os.path.realpath(item.path)
            for content in [c for c, o in owners.items() if o == real]:
                del owners[content]
    before = manifest.live()
    results = []
    for item in found:
        if item.error is not None:
            results.append(FileResult(item.path, error=item.error, status="failed"))
            continue
        result, entry = done.get(item.path, (None, None))
        if result is None:  # lost with a failed cluster
            continue
        real = os.path.realpath(item.path)
        old = manifest.inputs.get(real)
        if result.status == "unchanged":
            if entry is not None and old is not None:  # (None: forgotten as a stale copy)
                manifest.inputs[real] = entry
            owner = (old or {}).get("duplicate_of")
            if owner in manifest.inputs:  # still the same content as that one
                result = dataclasses.replace(result, duplicate_of=manifest.inputs[owner]["path"])
            results.append(result)
            continue
        if entry is None:  # unreadable: the old rows stay
            results.append(result)
            continue
        has_rows = entry["messages"] + entry["rejects"] > 0
        owner = owners.get(entry["content_hash"])
        if result.status in ("new", "replaced") and has_rows and owner not in (None, real):
            manifest.remove_files([*entry["parts"], *entry["tail"]])
            if old is not None and old.get("duplicate_of") is None:
                _drop_rows(manifest, real, old)
                _forget_copies(manifest, real, owners)
            manifest.inputs[real] = {**entry, "parts": [], "tail": [], "messages": 0,
                                     "rejects": 0, "duplicate_of": owner}  # fmt: skip
            first = manifest.inputs[owner]["path"]
            results.append(dataclasses.replace(
                result, messages=0, rejects=0, parts=0, duplicate_of=first, status="duplicate"
            ))  # fmt: skip
            continue
        if old is not None and result.status != "appended" and old.get("duplicate_of") is None:
            _drop_rows(manifest, real, old)
            _forget_copies(manifest, real, owners)
        manifest.inputs[real] = entry
        if has_rows:
            owners.setdefault(entry["content_hash"], real)
        results.append(result)
    manifest.commit()
    manifest.remove_files(before - manifest.live())
    return results


def _forget_copies(manifest: Manifest, real: str, owners: dict) -> None:
    """``real``'s old content is gone: inputs kept as copies of it are forgotten (the next
    run converts them as new), and it no longer owns that content."""
    for content, owner in list(owners.items()):
        if owner == real:
            del owners[content]
    for other in [k for k, e in manifest.inputs.items() if e.get("duplicate_of") == real]:
        del manifest.inputs[other]


def _drop_rows(manifest: Manifest, real: str, old: dict) -> None:
    """Take an input's rows out of the manifest: its own files, and from compacted files
    (rewritten without the rows of its ``source``) before the next commit."""
    for relative, owners in list(manifest.compacted.items()):
        if real not in owners:
            continue
        del manifest.compacted[relative]
        path = manifest.root / relative
        table = pq.read_table(path)
        others = pc.not_equal(table[schema.SOURCE], old["source"]).fill_null(False)
        kept = np.flatnonzero(others.to_numpy(zero_copy_only=False))  # in their order
        rest = [o for o in owners if o != real]
        if kept.shape[0] and rest:
            from ._compact import ROW_GROUP_ROWS

            target = path.with_name(layout.compacted_name(layout.new_generation(), 0))
            _parquet.write_sorted(table, kept, target, row_group_rows=ROW_GROUP_ROWS)
            manifest.compacted[target.relative_to(manifest.root).as_posix()] = rest


def _compact_crowded_days(manifest: Manifest) -> list[str]:
    from ._compact import compact_day, crowded_days

    done = []
    for day in crowded_days(manifest, MAX_DAY_PARTS):
        before, after = compact_day(manifest, day)
        if after != before:
            done.append(day)
    return done


# -- where the inputs are decoded -------------------------------------------------------


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


def _run_here(jobs, output, format, generation, progress, done, full, options=None) -> None:
    """Convert the jobs in this process, one after the other, the part files of a small job
    (less than a chunk of rows) written while the next is decoded: a file of a few hundred
    rows waited as long for its writer as it took to decode. After a larger job the next
    waits, so that memory holds the chunks of one job only. A job counts as done once its
    files are written; when the conversion fails, the jobs done before are kept for the
    commit."""
    bar = _progress_bar(sum(len(job) for job in jobs), progress)

    def record(job, writing):
        for (path, _), outcome in zip(job, writing.result(), strict=True):
            done[path] = outcome
            if bar is not None:
                bar.update()

    last = None  # (job, its _Writing) of the job decoded last
    try:
        for job in jobs:
            if last is not None and not last[1].small:
                record(*last)
                last = None
            try:
                writing = _start_job(job, output, format=format, generation=generation,
                                     full=full, options=options)
            except BaseException:
                if last is not None:
                    record(*last)
                raise
            if last is not None:
                try:
                    record(*last)
                except BaseException:
                    writing.abandon()
                    raise
            last = (job, writing)
        if last is not None:
            record(*last)
    finally:
        if bar is not None:
            bar.close()


class _Cluster:
    """A Dask client for one conversion: a local cluster of ``workers`` processes, or the
    scheduler at ``scheduler``. Failing to connect raises one clear error."""

    def __init__(self, workers: int | None, scheduler: str | None) -> None:
        import logging

        from distributed import Client, LocalCluster

        self.address = scheduler
        self.cluster = None
        self._next_check = 0.0
        if scheduler is not None:
            self.client = connect(scheduler)
        else:
            self.cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            self.client = Client(self.cluster, set_as_default=False)

    def run(self, jobs, output, format, generation, progress, done, full, options=None) -> None:

        bar = _progress_bar(sum(len(job) for job in jobs), progress)
        # workers may run on other machines: hand them absolute paths, keep the user's
        # spelling for the ``source`` column
        futures = {
            self.client.submit(
                convert_job, [(os.path.abspath(path), entry) for path, entry in job],
                os.path.abspath(output), format=format, sources=[path for path, _ in job],
                generation=generation, full=full, options=options, pure=False,
            ): job
            for job in jobs
        }  # fmt: skip
        pending = set(futures)
        idle_since = None
        try:
            while pending:
                finished = {future for future in pending if future.done()}
                pending -= finished
                if not finished:
                    time.sleep(POLL_S)
                for future in finished:
                    job = futures[future]
                    for (path, _), (result, entry) in zip(job, future.result(), strict=True):
                        if entry is not None:
                            entry = {**entry, "path": path}
                        done[path] = (dataclasses.replace(result, path=path), entry)
                        if bar is not None:
                            bar.update()
                idle_since = self._check_workers(idle_since, len(pending))
        except (CancelledError, OSError) as exc:
            # the scheduler went away: its futures are cancelled, its connection closed
            raise BofanError(f"lost the Dask scheduler{self._at()}: {_reason(exc)}") from None
        finally:
            if bar is not None:
                bar.close()
            for future in pending:
                future.cancel()

    def _check_workers(self, idle_since: float | None, pending: int) -> float | None:
        """Give up when the cluster has had no worker for :data:`NO_WORKERS_TIMEOUT_S`."""
        if not pending:
            return None
        now = time.monotonic()
        if now < self._next_check:
            return idle_since
        self._next_check = now + 1.0  # ask the scheduler once a second
        if self.client.status != "running":
            raise BofanError(
                f"lost the Dask scheduler{self._at()}: the client is {self.client.status}"
            )
        workers = len(self.client.nthreads())
        if workers:
            return None
        if idle_since is None:
            return now
        if now - idle_since >= NO_WORKERS_TIMEOUT_S:
            raise BofanError(
                f"the Dask cluster{self._at()} has had no workers for {NO_WORKERS_TIMEOUT_S} s; "
                f"{pending} file(s) not converted"
            )
        return idle_since

    def _at(self) -> str:
        return f" at {self.address}" if self.address else ""

    def close(self) -> None:
        import contextlib

        with contextlib.suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with contextlib.suppress(Exception):
                self.cluster.close()


def connect(scheduler: str):
    """A ``distributed.Client`` of the scheduler at ``scheduler``, or one clear error."""
    from distributed import Client

    try:
        # not the default client: dask computations of the caller stay as they were
        return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S, set_as_default=False)
    except ValueError as exc:
        raise FormatError(f"bad scheduler address {scheduler!r}: {_reason(exc)}") from None
    except (OSError, TimeoutError) as exc:
        raise BofanError(
            f"cannot reach the Dask scheduler at {scheduler}: {_reason(exc)}"
        ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
