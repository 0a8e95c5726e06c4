"""Counts over decoded messages: what ``bofan summary`` prints and a ``DecodedLog`` shows.

Both count the same way: devices (messages, first and last time), frames by protocol and
type, positions (distinct usable fixes, as ``positions()`` keeps them: see
:mod:`bofan_analytics._fix`) and rejects by reason. Counting works piece by piece
(:func:`count` on each decoded chunk, :meth:`Summary.from_counts` to add them up), so a
capture of any size is summarized without holding it whole, and no positions frame is
built only to be counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from .. import schema

__all__ = ["Summary", "count"]

_FIX_KEYS = [schema.DEVICE_ID, schema.TIME, schema.LAT, schema.LON]


def count(messages: pa.Table, rejects: pa.Table) -> tuple:
    """Partial counts of one decoded piece: devices, frame types, distinct fixes, rejects."""
    from .._fix import usable_fix

    m = messages
    return (
        m.group_by([schema.DEVICE_ID, schema.PROTOCOL]).aggregate(
            [([], "count_all"), (schema.TIME, "min"), (schema.TIME, "max")]
        ),
        m.group_by([schema.PROTOCOL, schema.MSG_TYPE]).aggregate([([], "count_all")]),
        # distinct fixes, as positions() keeps them
        m.filter(usable_fix()).select(_FIX_KEYS).group_by(_FIX_KEYS).aggregate([]),
        rejects.group_by([schema.REASON]).aggregate([([], "count_all")]),
    )


@dataclass
class Summary:
    """Counts over decoded messages; for ``bofan summary`` also the files read (``files``:
    path, format, messages, rejects), those that could not be (``errors``) and those
    counted once as copies of another (``duplicates``)."""

    files: list[tuple[str, str, int, int]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (path, same as path)
    devices: pa.Table | None = None  # device_id, protocol, messages, first, last
    frames: pa.Table | None = None  # protocol, msg_type, count
    positions: pa.Table | None = None  # device_id, positions
    rejects: pa.Table | None = None  # reason, count

    @classmethod
    def from_counts(cls, parts: list[tuple]) -> Summary:
        """The summary of the pieces whose :func:`count` s are ``parts``."""
        summary = cls()
        if not parts:
            return summary
        devices, frames, fixes, rejects = (list(p) for p in zip(*parts, strict=True))
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

    @classmethod
    def of(cls, messages: pa.Table, rejects: pa.Table) -> Summary:
        """The summary of one messages table and its rejects."""
        return cls.from_counts([count(messages, rejects)])

    def counts(self) -> dict:
        """``devices, messages, positions, rejects`` (totals), ``by_type``
        (``(protocol, msg_type) -> frames``) and ``rejects_by_reason``."""

        def total(table, column):
            return 0 if table is None else sum(table.column(column).to_pylist())

        devices = 0 if self.devices is None else len(
            {d for d in self.devices.column(schema.DEVICE_ID).to_pylist() if d is not None})
        frames = [] if self.frames is None else self.frames.to_pylist()
        reasons = [] if self.rejects is None else self.rejects.to_pylist()
        return {
            "devices": devices,
            "messages": total(self.devices, "messages"),
            "positions": total(self.positions, "count_all"),
            "rejects": total(self.rejects, "count"),
            "by_type": {(r[schema.PROTOCOL], r[schema.MSG_TYPE]): r["count"] for r in frames},
            "rejects_by_reason": {r[schema.REASON]: r["count"] for r in reasons},
        }

    def lines(self, *, max_devices: int = 20) -> list[str]:
        """The report ``bofan summary`` prints, one string per line."""
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
