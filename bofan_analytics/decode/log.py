"""``read_log`` and the ``DecodedLog`` it returns."""

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import schema as S
from ..errors import InputError, TruncatedInputError
from ..io.files import (
    check_format,
    iter_capture_files,
    open_capture,
    place_format,
    rotation_order,
    source_name,
)
from .stream import DEFAULT_PORT, StreamDecoder, check_port

__all__ = ["read_log", "DecodedLog", "DEFAULT_CHUNK_BYTES"]

#: bytes read and decoded at a time; memory stays a small multiple of this
DEFAULT_CHUNK_BYTES = 8 << 20
_HEAD_BYTES = 65536


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
        self.accounting = pa.Table.from_pylist(
            list(accounting), schema=_ACCOUNTING_SCHEMA
        )

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
        """Counts a person asks for first: devices, frames by protocol and type, rejects by reason."""
        m = self.messages
        by_type = (
            m.group_by([S.PROTOCOL, S.MSG_TYPE]).aggregate([([], "count_all")])
            .sort_by([(S.PROTOCOL, "ascending"), (S.MSG_TYPE, "ascending")])
            .to_pylist()
        )
        by_reason = (
            self.rejects.group_by([S.REASON]).aggregate([([], "count_all")])
            .sort_by([(S.REASON, "ascending")]).to_pylist()
        )
        return {
            "sources": len(self.accounting),
            "input_bytes": int(pc.sum(self.accounting.column("input_bytes")).as_py() or 0),
            "devices": pc.count_distinct(m.column(S.DEVICE_ID)).as_py() if len(m) else 0,
            "messages": len(m),
            "positions": len(self.positions()),
            "rejects": len(self.rejects),
            "by_type": {(r[S.PROTOCOL], r[S.MSG_TYPE]): r["count_all"] for r in by_type},
            "rejects_by_reason": {r[S.REASON]: r["count_all"] for r in by_reason},
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


def _numbers(column):
    """A numeric column as one numpy array (nulls as NaN or 0: the caller masks them)."""
    return column.combine_chunks().fill_null(0).to_numpy()


def positions_from_messages(messages):
    """The ``positions()`` view of a messages table (also used for Parquet datasets): the
    usable fixes (see :mod:`bofan_analytics._fix`), first copies only, by device and time.

    Order and de-duplication work on integer codes, not on pandas objects: device ids are
    ranked once per distinct id, numpy sorts (rank, time) stably, and a kernel drops resent
    fixes (see ``_positions_kernels``); pandas only receives the final rows.
    """
    import pandas as pd

    from .._fix import usable_mask
    from ._positions_kernels import first_copies

    t = messages.select(list(S.POSITION_COLUMNS))
    rows = np.flatnonzero(usable_mask(t))
    if len(rows):
        codes = pc.dictionary_encode(t.column(S.DEVICE_ID)).combine_chunks()
        n_ids = len(codes.dictionary)
        rank = np.empty(n_ids + 1, dtype=np.int64)   # the extra slot: no id, sorted last
        rank[pc.array_sort_indices(codes.dictionary).to_numpy()] = np.arange(n_ids)
        rank[n_ids] = n_ids
        device = rank[pc.fill_null(codes.indices, n_ids).to_numpy()[rows]]
        time = _numbers(t.column(S.TIME).cast(pa.int64()))[rows]
        order = np.lexsort((time, device))
        device, time = device[order], time[order]
        lat = _numbers(t.column(S.LAT))[rows[order]]
        lon = _numbers(t.column(S.LON))[rows[order]]
        rows = rows[order[first_copies(device, time, lat, lon)]]
    t = t.take(rows)
    df = t.to_pandas(
        types_mapper={pa.int32(): pd.Int32Dtype()}.get, self_destruct=True
    )
    return df


def read_log(
    source,
    *,
    format: str = "auto",
    source_name: str | None = None,
    device_tz: str | Mapping[str, str] | None = None,
    log_tz: str | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    workers: int | None = None,
    port: int | str = DEFAULT_PORT,
) -> DecodedLog:
    """Decode raw captured message logs.

    Parameters
    ----------
    source : path, list of paths, directory, or bytes
        Capture files (plain, ``.gz`` or ``.zst``; told by their content), directories
        (walked for capture files), or the bytes of one capture. The files of a rotated
        tracker-server log (``tracker-server.log.20261102``, ``tracker-server.log``) given
        together are read in date order, the live file last, and a frame split over the
        rotation is joined. A file whose format cannot be told is an ``InputError``.
    format : {"auto", "stream", "lines", "traccar", "pcap"}
        The layout; ``"auto"`` detects it for each file from its first bytes.
    source_name : str, optional
        Name for the ``source`` column when ``source`` is bytes (default ``"<bytes>"``).
    device_tz : str or mapping, optional
        For devices set to report local time (PT-502 ``#TMZ``): an IANA zone for all
        devices, or a mapping ``device_id -> zone``. Their device times are read as wall
        clock in that zone and converted to UTC; an hour that repeats when daylight saving
        ends is read as standard time, a skipped one is moved forward.
    log_tz : str, optional
        The zone of a tracker-server log's time stamps: servers log their own local time.
        Default UTC. ``received_at`` is converted to UTC, daylight saving included; of a
        wall time that happens twice, the log's order tells which (see ``scan_traccar``).
    chunk_bytes : int
        How much to read and decode at a time.
    workers : int, optional
        Threads for decoding several files at once (the kernels release the GIL);
        default: one per core, at most one per file.
    port : int or "auto"
        Packet captures only: the server port the devices send to (default 8888, the
        port ``bofan listen`` uses); other traffic in the capture is not device data.
        ``"auto"`` guesses it from the capture's first packets: the destination port that
        the most connections send data to (packets without payload, such as a SYN to
        another service, do not count).

    Returns
    -------
    DecodedLog

    Raises
    ------
    InputError
        An input cannot be read; a directory below an input cannot be listed; or a
        ``format`` given explicitly does not fit a file (its bytes give no frame and no
        reject at all).
    TruncatedInputError
        A compressed file is cut off. What was decoded before the break is in the
        error's ``partial`` (a :class:`DecodedLog`; the frame cut at the break is a
        ``truncated`` reject).

    Examples
    --------
    >>> log = read_log(b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/\\r\\n")
    >>> round(log.messages.column("lat")[0].as_py(), 5)
    -32.96956
    """
    check_format(format)
    check_port(port)
    if isinstance(source, (bytes, bytearray, memoryview)):
        log = _decode_bytes(bytes(source), format, source_name or "<bytes>", chunk_bytes,
                            log_tz, port)
    else:
        if isinstance(source, (str, os.PathLike)) or not isinstance(source, Iterable):
            source = [source]
        files = list(iter_capture_files(source))
        if not files:
            raise InputError("no capture files found in the given inputs")
        groups = rotation_order(files)
        n = max(1, min(len(groups), workers or os.cpu_count() or 1))

        def decode(group):
            return _decode_files(group, format, chunk_bytes, log_tz, port)

        if n == 1:
            logs = [decode(g) for g in groups]
        else:
            with ThreadPoolExecutor(n) as pool:
                logs = list(pool.map(decode, groups))
        log = DecodedLog.concat(logs)
    if device_tz is not None:
        log.messages = _localize(log.messages, device_tz)
    return log


def _resolve_format(fmt, head, name):
    if fmt != "auto":
        return fmt
    return place_format(head, name)


def _decode_bytes(data, fmt, name, chunk_bytes, log_tz, port):
    dec = StreamDecoder(_resolve_format(fmt, data[:_HEAD_BYTES], name), source=name,
                        log_tz=log_tz, forced=fmt != "auto", port=port)
    parts = [dec.feed(data[i : i + chunk_bytes]) for i in range(0, len(data), chunk_bytes)]
    parts.append(_finish(dec))
    return DecodedLog.concat(parts)


def _finish(dec):
    """``dec.finish()``, with the source named in the error of a forced format that did not fit."""
    try:
        return dec.finish()
    except InputError as exc:
        raise InputError(f"{dec.source}: {exc}") from None


def _decode_files(paths, fmt, chunk_bytes, log_tz, port):
    """Decode one file, or the files of a rotated log in order through one decoder (when
    they are tracker-server logs; otherwise each on its own).

    A compressed file cut off mid-way raises :class:`TruncatedInputError` carrying what was
    decoded before the break (the frame cut there is a ``truncated`` reject).
    """
    parts = []
    dec = None
    for path in paths:
        name = source_name(path)
        try:
            with open_capture(path) as f:
                try:
                    head = f.read(_HEAD_BYTES)
                except TruncatedInputError:
                    head = b""  # cut off before the first byte; the next read says so again
                file_fmt = _resolve_format(fmt, head, name)
                if dec is not None and (file_fmt != "traccar" or dec.format != "traccar"):
                    parts.append(_finish(dec))
                    dec = None
                if dec is None:
                    dec = StreamDecoder(file_fmt, source=name, log_tz=log_tz,
                                        forced=fmt != "auto", port=port)
                else:
                    parts.append(dec.next_file(name))
                parts.append(dec.feed(head) if head else None)
                while True:
                    chunk = f.read(chunk_bytes)
                    if not chunk:
                        break
                    parts.append(dec.feed(chunk))
        except TruncatedInputError as exc:
            # keep what came before the break: the unfinished frame there becomes a reject
            dec.forced = False
            parts.append(dec.finish())
            partial = DecodedLog.concat([p for p in parts if p is not None])
            raise TruncatedInputError(
                f"{name}: {exc}; decoded before the break: {len(partial.messages):,} "
                f"messages, {len(partial.rejects):,} rejects (kept in the error's .partial)",
                decoded_bytes=exc.decoded_bytes,
                partial=partial,
            ) from None
        except (OSError, EOFError) as exc:
            raise InputError(f"cannot read {name}: {exc}") from None
        except Exception as exc:  # zstd/gzip stream errors have their own types
            if type(exc).__module__.startswith(("zstd", "gzip", "zlib")):
                raise InputError(f"cannot decompress {name}: {exc}") from None
            raise
    parts.append(_finish(dec))
    return DecodedLog.concat([p for p in parts if p is not None])


def _localize(messages, device_tz):
    import pandas as pd

    times = messages.column(S.TIME).to_pandas()
    wall = times.dt.tz_localize(None)
    if isinstance(device_tz, str):
        zones = pd.Series(device_tz, index=times.index)
    else:
        devices = messages.column(S.DEVICE_ID).to_pandas()
        zones = devices.map(dict(device_tz))
    out = times.copy()
    for zone in zones.dropna().unique():
        sel = (zones == zone).to_numpy()
        local = wall[sel].dt.tz_localize(
            zone, ambiguous=np.zeros(int(sel.sum()), bool), nonexistent="shift_forward"
        )
        out[sel] = local.dt.tz_convert("UTC")
    col = messages.schema.get_field_index(S.TIME)
    arr = pa.array(out, type=pa.timestamp("ms", tz="UTC"), from_pandas=True)
    return messages.set_column(col, S.MESSAGES.field(S.TIME), arr)
