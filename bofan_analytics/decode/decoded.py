"""``DecodedLog``: the messages, rejects and byte accounting of decoded captures.

The stream decoder hands back its pieces as ``DecodedLog`` s and ``read_log`` joins them;
both import this module, neither imports the other's.
"""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema as S

__all__ = ["DecodedLog", "positions_from_messages"]


class DecodedLog:
    """What came out of one or more captures.

    Attributes
    ----------
    messages : pyarrow.Table
        One row per well-formed frame, in input order (schema ``schema.MESSAGES``).
    rejects : pyarrow.Table
        One row per stretch of input that is not a valid frame, with a ``reason`` and the
        byte ``offset`` (schema ``schema.REJECTS``).
    accounting : pyarrow.Table
        Per source: input bytes and how many ended in messages, rejects, or known
        separators and log metadata (``other_bytes``).
    """

    def __init__(self, messages, rejects, accounting=()):
        self.messages = messages
        self.rejects = rejects
        accounting = list(accounting)
        # (most pieces a decoder hands back account for nothing yet: one empty table)
        self.accounting = (pa.Table.from_pylist(accounting, schema=_ACCOUNTING_SCHEMA)
                           if accounting else _NO_ACCOUNTING)

    @classmethod
    def concat(cls, logs):
        logs = list(logs)
        if not logs:
            return cls(S.MESSAGES.empty_table(), S.REJECTS.empty_table())
        out = cls(
            pa.concat_tables([log.messages for log in logs]),
            pa.concat_tables([log.rejects for log in logs]),
        )
        out.accounting = pa.concat_tables([log.accounting for log in logs])
        return out

    def positions(self):
        """Valid fixes only, duplicates dropped, sorted by ``device_id`` then ``time``.

        A fix is valid when the device flags it so (PT-502 ``A``; PT-60 GPS frames) and it
        has a time and coordinates. Duplicates are rows with the same device, time and
        coordinates (devices resend unacknowledged frames); the first one is kept.

        Returns
        -------
        pandas.DataFrame
            Columns ``schema.POSITION_COLUMNS``; times are tz-aware UTC.
        """
        return positions_from_messages(self.messages)

    def photos(self):
        """Photos reassembled from ``$PHO`` announcements and ``$PHD`` chunks.

        Returns
        -------
        pandas.DataFrame
            ``device_id, time, lat, lon, size, received_bytes, complete, data`` where
            ``data`` is the JPEG bytes (with zeros where a chunk never arrived).
        """
        import pandas as pd

        m = self.messages
        mask = pc.is_in(m.column(S.MSG_TYPE), pa.array(["PHO", "PHD"]))
        rows = m.filter(mask).select(
            [S.DEVICE_ID, S.MSG_TYPE, S.TIME, S.LAT, S.LON, S.PHOTO_SIZE, S.PHOTO_OFFSET,
             S.PAYLOAD]
        ).to_pylist()
        open_photo = {}
        done = []
        for row in rows:  # one row per photo chunk: photos are rare
            dev = row[S.DEVICE_ID]
            if row[S.MSG_TYPE] == "PHO":
                if dev in open_photo:
                    done.append(open_photo.pop(dev))
                size = row[S.PHOTO_SIZE] or 0
                if size > 0:
                    open_photo[dev] = {
                        "device_id": dev, "time": row[S.TIME], "lat": row[S.LAT],
                        "lon": row[S.LON], "size": size, "received_bytes": 0,
                        "data": bytearray(size),
                    }
                continue
            photo = open_photo.get(dev)
            if photo is None:
                continue
            chunk = row[S.PAYLOAD] or b""
            start = row[S.PHOTO_OFFSET] or 0
            end = min(start + len(chunk), photo["size"])
            photo["data"][start:end] = chunk[: end - start]
            photo["received_bytes"] += end - start
            if photo["received_bytes"] >= photo["size"]:
                done.append(open_photo.pop(dev))
        done.extend(open_photo.values())
        for photo in done:
            photo["complete"] = photo["received_bytes"] >= photo["size"]
            photo["data"] = bytes(photo["data"])
        columns = ["device_id", "time", "lat", "lon", "size", "received_bytes", "complete", "data"]
        return pd.DataFrame(done, columns=columns)

    def summary(self):
        """Counts a person asks for first: sources and bytes, devices, messages, positions,
        frames by protocol and type, rejects by reason.

        The same counts as ``bofan summary`` (:mod:`.summary`); positions are counted
        without building the :meth:`positions` frame.
        """
        from .summary import Summary

        counts = Summary.of(self.messages, self.rejects).counts()
        return {
            "sources": len(self.accounting),
            "input_bytes": int(pc.sum(self.accounting.column("input_bytes")).as_py() or 0),
            **counts,
        }

    def __len__(self):
        return len(self.messages)

    def __repr__(self):
        return (
            f"<DecodedLog: {len(self.messages)} messages, {len(self.rejects)} rejects, "
            f"{len(self.accounting)} sources>"
        )

    def _repr_html_(self):
        from html import escape

        s = self.summary()
        types = "".join(
            f"<tr><td>{escape(str(p))}</td><td>{escape(str(t))}</td><td>{n}</td></tr>"
            for (p, t), n in s["by_type"].items()
        )
        reasons = "".join(
            f"<tr><td>{escape(str(r))}</td><td>{n}</td></tr>"
            for r, n in s["rejects_by_reason"].items()
        ) or "<tr><td colspan=2>none</td></tr>"
        return (
            "<div><b>DecodedLog</b>: "
            f"{s['sources']} source(s), {s['input_bytes']:,} bytes, {s['devices']} devices, "
            f"{s['messages']:,} messages, {s['positions']:,} positions, {s['rejects']:,} rejects"
            "<table style='display:inline-table;margin-right:2em'>"
            f"<tr><th>protocol</th><th>type</th><th>frames</th></tr>{types}</table>"
            "<table style='display:inline-table'>"
            f"<tr><th>reject reason</th><th>count</th></tr>{reasons}</table></div>"
        )


_ACCOUNTING_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("format", pa.string()),
        ("input_bytes", pa.int64()),
        ("message_bytes", pa.int64()),
        ("reject_bytes", pa.int64()),
        ("other_bytes", pa.int64()),
        ("messages", pa.int64()),
        ("rejects", pa.int64()),
    ]
)
_NO_ACCOUNTING = _ACCOUNTING_SCHEMA.empty_table()


def _numbers(column):
    """A numeric column as one numpy array (nulls as NaN or 0: the caller masks them)."""
    return column.combine_chunks().fill_null(0).to_numpy()


def positions_from_messages(messages):
    """The ``positions()`` view of a messages table (also used for Parquet datasets): the
    usable fixes (see :mod:`bofan_analytics._fix`), first copies only, by device and time.

    Order and de-duplication work on integer codes, not on pandas objects: device ids are
    ranked once per distinct id, the rows are ordered by ``_fix.device_time_order``, and a
    kernel drops resent fixes (see ``_positions_kernels``), reading the coordinates of the
    few rows that share their device and time with another only. The device ids are taken
    through their codes (a gather from the few distinct ids, not from every row's text),
    the other columns on the decoding threads at once, and pandas only receives the final
    rows.
    """
    from .._fix import device_time_order, usable_mask
    from ._positions_kernels import first_copies

    t = messages.select(list(S.POSITION_COLUMNS))
    rows = np.flatnonzero(usable_mask(t))
    if not len(rows):
        return _frame(t.take(rows))
    codes = pc.dictionary_encode(t.column(S.DEVICE_ID)).combine_chunks()
    n_ids = len(codes.dictionary)
    rank = np.empty(n_ids + 1, dtype=np.int64)   # the extra slot: no id, sorted last
    rank[pc.array_sort_indices(codes.dictionary).to_numpy()] = np.arange(n_ids)
    rank[n_ids] = n_ids
    device = rank[pc.fill_null(codes.indices, n_ids).to_numpy()[rows]]
    time = _numbers(t.column(S.TIME).cast(pa.int64()))[rows]
    order = device_time_order(device, time)
    device, time, rows = device[order], time[order], rows[order]
    twin = (device[1:] == device[:-1]) & (time[1:] == time[:-1])
    if twin.any():  # runs of rows with one device and time: the only place for a copy
        in_run = np.zeros(rows.shape[0], bool)
        in_run[1:] |= twin
        in_run[:-1] |= twin
        at = np.flatnonzero(in_run)
        some = pa.array(rows[at])
        lat = _numbers(t.column(S.LAT).take(some))
        lon = _numbers(t.column(S.LON).take(some))
        keep = np.ones(rows.shape[0], bool)
        keep[at] = first_copies(device[at], time[at], lat, lon)
        rows = rows[keep]
    ids = codes.dictionary.take(codes.indices.take(pa.array(rows)))
    where = t.schema.get_field_index(S.DEVICE_ID)
    t = _take(t.remove_column(where), rows).add_column(where, t.schema.field(where), [ids])
    return _frame(t)


def _frame(table):
    """The pandas frame of a positions table (int32 columns nullable, as ``Int32``)."""
    import pandas as pd

    return table.to_pandas(types_mapper={pa.int32(): pd.Int32Dtype()}.get, self_destruct=True)


def _take(table, rows):
    """``table.take(rows)``, its columns taken on the decoding threads at once."""
    from ..io.formats._parallel import in_pool, pool, threads

    if threads() < 2 or in_pool() or table.num_rows < (1 << 16):
        return table.take(rows)
    index = pa.array(rows, pa.int64())
    columns = list(pool().map(lambda column: column.take(index), table.columns))
    return pa.table(columns, schema=table.schema)
