"""``read_log``: captures (files, directories, bytes) decoded into a ``DecodedLog``."""

import os
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa

from .. import _numba, _plain
from .. import schema as S
from .._cores import usable_cores
from .._numba import PLAIN
from ..errors import InputError, TruncatedInputError
from ..io.files import check_format, iter_capture_files, rotation_order
from ..io.formats import DEFAULT_PORT, check_port
from .decoded import DecodedLog, positions_from_messages
from .reading import CHUNK_BYTES, BytesReader, CaptureReader, DecodeRun

__all__ = ["read_log", "DecodedLog", "positions_from_messages", "DEFAULT_CHUNK_BYTES"]

#: bytes read and decoded at a time; memory stays a small multiple of this
DEFAULT_CHUNK_BYTES = CHUNK_BYTES


def read_log(
    source,
    *,
    format: str = "auto",
    source_name: str | None = None,
    device_tz: str | Mapping[str, str] | None = None,
    log_tz: str | None = None,
    chunk_bytes: int | None = None,
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
    chunk_bytes : int, optional
        How much to read and decode at a time; default :data:`DEFAULT_CHUNK_BYTES`, twice
        that for tracker-server logs (their hex reads hold half as many frame bytes).
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
    if not isinstance(source, (bytes, bytearray, memoryview)):
        # a list of paths, taken once: a first run sizes it before it is decoded
        is_one = isinstance(source, (str, os.PathLike)) or not isinstance(source, Iterable)
        source = [source] if is_one else list(source)
    if not PLAIN and _plain.wanted(source):  # a first run: decode it as plain Python
        return _decode_plain(source, format=format, source_name=source_name,
                             device_tz=device_tz, log_tz=log_tz, chunk_bytes=chunk_bytes,
                             workers=workers, port=port)
    if not PLAIN:  # the decoder compiles here now: a first input's second process can end
        _numba.stop_aside(_plain.ASIDE_KEY)
    if isinstance(source, (bytes, bytearray, memoryview)):
        reader = BytesReader(bytes(source), source_name or "<bytes>", chunk_bytes=chunk_bytes)
        log = _decode([reader], format, log_tz, port)
    else:
        files = list(iter_capture_files(source))
        if not files:
            raise InputError("no capture files found in the given inputs")
        groups = rotation_order(files)
        n = max(1, min(len(groups), workers or usable_cores()))

        def decode(group):
            # the files of a rotated log are read in order, each opened when reached
            readers = (CaptureReader(path, chunk_bytes=chunk_bytes) for path in group)
            return _decode(readers, format, log_tz, port)

        if n == 1:
            logs = [decode(g) for g in groups]
        else:
            with ThreadPoolExecutor(n) as pool:
                logs = list(pool.map(decode, groups))
        log = DecodedLog.concat(logs)
    if device_tz is not None:
        log.messages = _localize(log.messages, device_tz)
    return log


def _decode_plain(source, **options):
    """``read_log`` by the decoder's plain-Python twin (:mod:`.._plain`), while a second
    process decodes the same input compiled, for the cache."""
    _numba._NOTICE.tell("plain", _plain.NOTICE)  # once per process, like compile notices
    later = {k: v for k, v in options.items()
             if k in ("format", "source_name", "log_tz", "port")}
    _plain.compile_later(source, **later)
    return _plain.module("decode.log").read_log(source, **options)


def _decode(readers, fmt, log_tz, port):
    """Decode one input through the decode loop (:class:`~.reading.DecodeRun`), with the
    file named in the error of a forced format that does not fit, and what was decoded
    before the break of a cut-off file kept in the error's ``partial``."""
    run = DecodeRun(readers, format=fmt, log_tz=log_tz, port=port)
    parts = []
    try:
        parts.extend(run)
    except TruncatedInputError as exc:
        partial = DecodedLog.concat(parts)
        raise TruncatedInputError(
            f"{run.current}: {exc}; decoded before the break: {len(partial.messages):,} "
            f"messages, {len(partial.rejects):,} rejects (kept in the error's .partial)",
            decoded_bytes=exc.decoded_bytes,
            partial=partial,
        ) from None
    except InputError as exc:
        if run.finishing and not run.done:  # the format given does not fit the file
            raise InputError(f"{run.current}: {exc}") from None
        raise
    return DecodedLog.concat(parts)


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
    arr = pa.array(out, type=S.TIMESTAMP, from_pandas=True)
    return messages.set_column(col, S.MESSAGES.field(S.TIME), arr)
