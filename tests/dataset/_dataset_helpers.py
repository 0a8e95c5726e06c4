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
    """Stands in for the decoder of ``convert``: each registered file decodes to given tables.

    Its pieces come out one per :meth:`feed` (the rest at ``finish``), so a test chooses
    the chunking through ``reading.CHUNK_BYTES``.
    """

    def __init__(self):
        self.logs: dict[str, list[FakeLog]] = {}

    def add(self, path, messages: pa.Table, rejects: pa.Table | None = None, *, pieces=1):
        """Register ``path`` (and create it); its rows come out in ``pieces`` chunks."""
        path = os.fspath(path)
        with open(path, "wb") as f:
            # "$" as in a PT-502 sentence: format detection places the file as a raw stream
            f.write(b"$fake capture of %d rows\n" % messages.num_rows)
            f.write(os.path.basename(path).encode())
        if rejects is None:
            rejects = schema.REJECTS.empty_table()
        step = max(1, -(-messages.num_rows // pieces))
        logs = [
            FakeLog(messages.slice(i, step), schema.REJECTS.empty_table())
            for i in range(0, max(messages.num_rows, 1), step)
        ]
        logs[-1] = FakeLog(logs[-1].messages, rejects)
        self.logs[os.path.realpath(path)] = logs
        return path

    def __call__(self, path, fmt, source, state, **options):
        logs = self.logs.get(os.path.realpath(path))
        if logs is None:
            raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
        return _FakeStream(list(logs))


class _FakeStream:
    def __init__(self, logs: list[FakeLog]):
        self.logs = logs
        self.fed = 0

    def feed(self, chunk: bytes) -> FakeLog:
        self.fed += len(chunk)
        if self.logs:
            return self.logs.pop(0)
        return FakeLog(schema.MESSAGES.empty_table(), schema.REJECTS.empty_table())

    def checkpoint(self) -> None:
        return None

    def finish(self) -> FakeLog:
        if not self.logs:
            return FakeLog(schema.MESSAGES.empty_table(), schema.REJECTS.empty_table())
        return FakeLog(
            pa.concat_tables([log.messages for log in self.logs]),
            pa.concat_tables([log.rejects for log in self.logs]),
        )
