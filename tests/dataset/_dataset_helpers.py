"""Helpers for dataset tests: tiny exact message tables and a stand-in decoder.

The stand-in lets ``convert`` be tested on hand-made rows, independent of the real decoder
(which the end-to-end tests exercise on real frames).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timezone

import pyarrow as pa

from bofan_analytics import schema


def ts(text: str | None) -> datetime | None:
    """``"2026-11-02 07:10:27"`` as an aware UTC datetime."""
    if text is None:
        return None
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def make_messages(rows: list[dict], *, source: str = "capture.log") -> pa.Table:
    """A MESSAGES table from a few fields per row; the rest are null, offsets count up."""
    full = []
    for i, row in enumerate(rows):
        row = dict(row)
        for name in (schema.TIME, schema.RECEIVED_AT):
            if isinstance(row.get(name), str):
                row[name] = ts(row[name])
        row.setdefault(schema.PROTOCOL, "pt502")
        row.setdefault(schema.MSG_TYPE, "POS")
        row.setdefault(schema.VALID, True)
        row.setdefault(schema.SOURCE, source)
        row.setdefault(schema.OFFSET, i * 100)
        row.setdefault(schema.LENGTH, 100)
        full.append(row)
    return pa.Table.from_pylist(full, schema=schema.MESSAGES)


def make_rejects(rows: list[dict], *, source: str = "capture.log") -> pa.Table:
    full = []
    for i, row in enumerate(rows):
        row = dict(row)
        if isinstance(row.get(schema.RECEIVED_AT), str):
            row[schema.RECEIVED_AT] = ts(row[schema.RECEIVED_AT])
        row.setdefault(schema.SOURCE, source)
        row.setdefault(schema.OFFSET, 10_000 + i)
        row.setdefault(schema.LENGTH, 1)
        row.setdefault(schema.REASON, "garbage")
        row.setdefault(schema.RAW, b"?")
        full.append(row)
    return pa.Table.from_pylist(full, schema=schema.REJECTS)


@dataclass
class FakeLog:
    messages: pa.Table
    rejects: pa.Table


class FakeDecoder:
    """Stands in for ``decode_file``: each registered file decodes to given tables."""

    def __init__(self):
        self.logs: dict[str, list[FakeLog]] = {}

    def add(self, path, messages: pa.Table, rejects: pa.Table | None = None, *, pieces=1):
        """Register ``path`` (and create it); its rows come out in ``pieces`` chunks."""
        path = os.fspath(path)
        with open(path, "wb") as f:
            f.write(b"fake capture of %d rows\n" % messages.num_rows)
            f.write(os.path.basename(path).encode())
        if rejects is None:
            rejects = schema.REJECTS.empty_table()
        step = max(1, -(-messages.num_rows // pieces))
        logs = [
            FakeLog(messages.slice(i, step), schema.REJECTS.empty_table())
            for i in range(0, max(messages.num_rows, 1), step)
        ]
        logs[-1] = FakeLog(logs[-1].messages, rejects)
        self.logs[os.path.abspath(path)] = logs
        return path

    def __call__(self, path, *, format="auto", source=None, digest=None, log_tz=None):
        logs = self.logs.get(os.path.abspath(path))
        if logs is None:
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        if digest is not None:
            with open(path, "rb") as f:
                digest.update(f.read())
        return "lines", iter(logs)
