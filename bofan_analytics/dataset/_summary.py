"""What ``bofan summary`` prints: counts over captures, decoded chunk by chunk."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from .. import schema
from .._validate import zone
from ._inputs import decode_file, describe_error, find_captures, is_input_error

__all__ = ["Summary", "summarize"]

_FIX_KEYS = [schema.DEVICE_ID, schema.TIME, schema.LAT, schema.LON]


@dataclass
class Summary:
    """Counts over a set of captures; ``errors`` lists inputs that could not be read."""

    files: list[tuple[str, str, int, int]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, same as path)
    devices: pa.Table | None = None  # device_id, protocol, messages, first, last
    frames: pa.Table | None = None  # protocol, msg_type, count
    positions: pa.Table | None = None  # device_id, positions
    rejects: pa.Table | None = None  # reason, count

    def lines(self, *, max_devices: int = 20) -> list[str]:
        """The report, one string per line."""
        out = [f"{path}: {fmt}, {m} messages, {r} rejects" for path, fmt, m, r in self.files]
        out += [f"{path}: same content as {first}, counted once" for path, first in self.duplicates]
        fixes = {}
        if self.positions is not None:
            fixes = dict(zip(*self.positions.to_pydict().values(), strict=True))
        devices = [] if self.devices is None else self.devices.to_pylist()
        out.append(f"devices: {len(devices)}")
        for row in devices[:max_devices]:
            span = ""
            if row["first"] is not None:
                span = f", {_iso(row['first'])} .. {_iso(row['last'])}"
            out.append(
                f"  {row['device_id']}  {row['protocol']}  {row['messages']} messages, "
                f"{fixes.get(row['device_id'], 0)} positions{span}"
            )
        if len(devices) > max_devices:
            out.append(f"  ... and {len(devices) - max_devices} more")
        out.append("frames by protocol and type:")
        for row in [] if self.frames is None else self.frames.to_pylist():
            out.append(f"  {row['protocol']}  {row['msg_type']}  {row['count']}")
        out.append(f"positions: {sum(fixes.values())}")
        out.append("rejects by reason:")
        for row in [] if self.rejects is None else self.rejects.to_pylist():
            out.append(f"  {row['reason']}  {row['count']}")
        return out


def _iso(value) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _count(m: pa.Table, r: pa.Table):
    """Partial counts of one decoded piece: devices, frame types, distinct fixes, rejects."""
    valid = pc.and_(
        pc.and_(pc.fill_null(m[schema.VALID], False), pc.is_valid(m[schema.TIME])),
        pc.and_(pc.is_valid(m[schema.LAT]), pc.is_valid(m[schema.LON])),
    )
    return (
        m.group_by([schema.DEVICE_ID, schema.PROTOCOL]).aggregate(
            [([], "count_all"), (schema.TIME, "min"), (schema.TIME, "max")]
        ),
        m.group_by([schema.PROTOCOL, schema.MSG_TYPE]).aggregate([([], "count_all")]),
        # distinct fixes, as positions() counts them
        m.filter(valid).select(_FIX_KEYS).group_by(_FIX_KEYS).aggregate([]),
        r.group_by([schema.REASON]).aggregate([([], "count_all")]),
    )


def summarize(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    format="auto",
    log_tz: str | None = None,
) -> Summary:
    """Decode captures piece by piece and count devices, frame types, positions, rejects.

    ``log_tz`` is the zone of tracker-server log time stamps (default UTC).
    """
    if log_tz is not None:
        zone(log_tz)  # an unknown zone is a bad argument, before any file is read
    summary = Summary()
    devices, frames, fixes, rejects = [], [], [], []
    seen: dict[str, str] = {}
    for item in find_captures(inputs):
        if item.error is not None:
            summary.errors.append((item.path, item.error))
            continue
        digest = hashlib.blake2b(digest_size=16)
        parts: tuple[list, list, list, list] = ([], [], [], [])
        n_messages = n_rejects = 0
        try:
            fmt, pieces = decode_file(item.path, format=format, digest=digest, log_tz=log_tz)
            for piece in pieces:
                n_messages += piece.messages.num_rows
                n_rejects += piece.rejects.num_rows
                for kept, part in zip(parts, _count(piece.messages, piece.rejects), strict=True):
                    kept.append(part)
        except Exception as exc:
            if not is_input_error(exc):
                raise
            summary.errors.append((item.path, describe_error(exc)))
            continue
        first = seen.setdefault(digest.hexdigest(), item.path)
        if first != item.path and (n_messages or n_rejects):
            # the same capture stored twice (x and x.gz): count it once, as convert keeps it
            summary.duplicates.append((item.path, first))
            continue
        for total, part in zip((devices, frames, fixes, rejects), parts, strict=True):
            total.extend(part)
        summary.files.append((item.path, fmt, n_messages, n_rejects))
    if devices:
        summary.devices = (
            pa.concat_tables(devices)
            .group_by([schema.DEVICE_ID, schema.PROTOCOL])
            .aggregate([("count_all", "sum"), ("time_min", "min"), ("time_max", "max")])
            .rename_columns([schema.DEVICE_ID, schema.PROTOCOL, "messages", "first", "last"])
            .sort_by([(schema.DEVICE_ID, "ascending"), (schema.PROTOCOL, "ascending")])
        )
        summary.frames = (
            pa.concat_tables(frames)
            .group_by([schema.PROTOCOL, schema.MSG_TYPE])
            .aggregate([("count_all", "sum")])
            .rename_columns([schema.PROTOCOL, schema.MSG_TYPE, "count"])
            .sort_by([(schema.PROTOCOL, "ascending"), (schema.MSG_TYPE, "ascending")])
        )
        summary.positions = (
            pa.concat_tables(fixes)
            .group_by(_FIX_KEYS)
            .aggregate([])
            .group_by([schema.DEVICE_ID])
            .aggregate([([], "count_all")])
        )
        summary.rejects = (
            pa.concat_tables(rejects)
            .group_by([schema.REASON])
            .aggregate([("count_all", "sum")])
            .rename_columns([schema.REASON, "count"])
            .sort_by([("count", "descending"), (schema.REASON, "ascending")])
        )
    return summary
