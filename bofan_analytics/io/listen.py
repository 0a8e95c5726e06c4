"""``bofan listen``: an endpoint trackers send to, recording every frame once.

One port serves TCP and UDP, as the devices share one endpoint. Frames are cut with the
decoder's own framing (:class:`~bofan_analytics.decode.framing.StreamCutter`), so what the
listener records is exactly what the decoder reads back.

Capture layout
--------------
The capture directory holds ``bofan-<opened>.log`` files (``<opened>`` is the UTC time the
file was opened, ``20261102T071027Z``, then ``_002``... for more in the same second: the
names sort in the order the files were written). A file is closed and the next one opened at the
top of each hour, or at about ``rotate_mb`` megabytes, so that a converter can pick up
closed files while the listener runs. Nothing else is written: there is no second copy
of the bytes, and ``read_log(CAPTURE_DIR)`` or ``bofan convert CAPTURE_DIR`` give every
frame once.

Each file is in the tracker-server log layout the decoder reads (format ``traccar``), one
frame per line, its receive time in UTC to the millisecond, the frame in hex::

    2026-11-02 07:10:27.948  INFO: [T0000002a: pt502 < 127.0.0.1:53422] 24504f532c31...0d0a
    2026-11-02 07:10:28.101  INFO: [U00000001: pt60 < 127.0.0.1:41000] 404723402c5630...0d0a

``T<n>`` is TCP connection ``n`` of the run, ``U<n>`` a UDP sender. Hex holds any byte
(``$PHD`` photo chunks, the ``0xBF`` binary header), and each frame is followed by CR LF, so
its line ends it whatever comes next: reading a connection's lines back cuts exactly the
frames the listener cut. Bytes that are not frames (junk, over-long or truncated frames)
are not copied: a ``WARN`` line says how many, from which connection, and why.

Bounds
------
Per TCP connection the listener holds at most :data:`MAX_HELD_BYTES` (64 KiB) of an
unfinished frame; a connection that sends more without completing a frame has those bytes
recorded as a ``too_long`` reject and dropped. Replies waiting to be sent are capped at
:data:`WRITE_BUFFER_BYTES`: past that, the listener stops reading from that client until
it reads its replies. Memory is therefore at most
``max_connections × (64 KiB + 16 KiB + about 4 KiB of bookkeeping)`` plus a constant
(the interpreter, the compiled kernels, one read of at most 256 KiB and the file buffers;
190–240 MB measured, about 3.5 KiB of bookkeeping per idle connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .._validate import positive, whole
from ..decode.framing import StreamCutter
from ..errors import FormatError, InputError

__all__ = [
    "Listener",
    "ListenStats",
    "EventLog",
    "listen",
    "reply_for",
    "photo_request",
    "default_max_connections",
    "MAX_HELD_BYTES",
    "PHOTO_CHUNK_BYTES",
    "WRITE_BUFFER_BYTES",
]

#: Bytes of an unfinished frame kept per connection; more is a ``too_long`` reject.
MAX_HELD_BYTES = 64 * 1024
#: Unsent replies per connection before the listener stops reading from it.
WRITE_BUFFER_BYTES = 16 * 1024
#: Largest photo chunk requested at a time, as tracking servers ask PT-502 units for.
PHOTO_CHUNK_BYTES = 960
DEFAULT_IDLE_TIMEOUT_S = 300.0
DEFAULT_PHOTO_TIMEOUT_S = 15.0
#: A photo chunk that does not come is asked for again this many times, then given up.
PHOTO_RETRIES = 3
STATUS_EVERY_S = 60.0
#: Asked for on the UDP socket, so a burst of datagrams waits in the kernel, not lost
#: (Linux grants at most ``net.core.rmem_max``).
UDP_RECEIVE_BUFFER = 4 << 20
#: Connections allowed by default, when the open-file limit is higher still.
DEFAULT_MAX_CONNECTIONS = 10_000
#: Open files kept free for capture files, the UDP socket and the interpreter.
_RESERVED_FILES = 64
#: A rotation waits for a photo transfer to end (chunks name no device: they are tied to
#: the announcement before them in the same file), but not longer than this.
_ROTATION_GRACE_S = 600.0
#: One WARN line per this many rejected bytes of a connection, at most.
_REJECT_LINE_BYTES = 1 << 20

_PHOTO_TYPES = (b"$PHO", b"$PHD")
_WARM_UP_PHO = b"$PHO960-1,1,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//fd7/"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _stamp(moment: dt.datetime) -> str:
    """A line's time: ``YYYY-MM-DD HH:MM:SS.fff``, UTC."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def reply_for(frame: bytes, *, now: dt.datetime | None = None) -> bytes | None:
    """The answer a PT-60 device expects for ``frame``, or None.

    Examples
    --------
    >>> when = dt.datetime(2026, 11, 2, 7, 10, 27)
    >>> reply_for(b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,", now=when)
    b'@G#@,V01,38,20261102071027,@R#@'
    >>> reply_for(b"@B#@|01|001|864891030184852|9425010450971470|1|84|", now=when)
    b'@B#@|01|002|864891030184852|0|20261102071027|@E#@'
    """
    when = (now or _now()).strftime("%Y%m%d%H%M%S")
    if frame.startswith(b"@G#@,"):
        return f"@G#@,V01,38,{when},@R#@".encode()
    if frame.startswith(b"@B#@|"):
        fields = frame.split(b"|")
        if len(fields) > 3 and fields[2].isdigit() and fields[3].isdigit():
            kind = int(fields[2]) + 1
            return f"@B#@|01|{kind:03d}|{fields[3].decode()}|0|{when}|@E#@".encode()
    return None


def photo_request(offset: int, size: int) -> bytes:
    """The command asking a PT-502 for ``size`` bytes of its photo from ``offset``.

    >>> photo_request(960, 960)
    b'#PHD960,960\\r\\n'
    """
    return b"#PHD%d,%d\r\n" % (offset, size)


def default_max_connections() -> int:
    """Connections allowed when none is given: below the process's open-file limit."""
    soft, _hard = _file_limits()
    return max(1, min(DEFAULT_MAX_CONNECTIONS, soft - _RESERVED_FILES))


def _file_limits() -> tuple[int, int]:
    try:
        import resource
    except ImportError:  # not a Unix: no limit to read
        return DEFAULT_MAX_CONNECTIONS * 2, DEFAULT_MAX_CONNECTIONS * 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    big = 1 << 30
    return (big if soft == resource.RLIM_INFINITY else soft,
            big if hard == resource.RLIM_INFINITY else hard)


def _check_max_connections(n: int) -> None:
    """Make sure ``n`` connections fit under the open-file limit, raising it if allowed."""
    need = n + _RESERVED_FILES
    soft, hard = _file_limits()
    if need <= soft:
        return
    if need <= hard:
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        return
    raise FormatError(
        f"--max-connections {n} needs {need} open files but the limit is {hard} "
        f"(raise it with 'ulimit -n' or allow fewer connections)"
    )


@dataclass
class ListenStats:
    """What a run received and wrote."""

    host: str = ""
    port: int = 0
    connections: int = 0
    active: int = 0
    refused: int = 0
    datagrams: int = 0
    bytes_received: int = 0
    frames: int = 0
    rejects: int = 0
    reject_bytes: int = 0
    replies: int = 0
    photos: int = 0
    photos_failed: int = 0
    bytes_written: int = 0
    files: list[str] = field(default_factory=list)
    #: why the run ended: ``"signal"``, ``"duration"`` or ``"stop"`` (the event was set)
    stopped_by: str = ""

    def describe(self) -> str:
        return (
            f"{self.connections} connection(s), {self.datagrams} datagram(s), "
            f"{self.bytes_received} bytes, {self.frames} frame(s), {self.rejects} reject(s), "
            f"{self.photos} photo(s), {len(self.files)} file(s) written"
        )


class EventLog:
    """Where the listener says what it does: one line per event, text or JSON.

    >>> import io
    >>> out = io.StringIO()
    >>> EventLog(out, json_lines=True).emit("refused", "at the limit", refused=3)
    >>> json.loads(out.getvalue())["refused"]
    3
    """

    def __init__(self, stream: TextIO | None = None, *, json_lines: bool = False) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.json_lines = json_lines

    def emit(self, event: str, text: str, **fields) -> None:
        if self.json_lines:
            record = {"time": _now().isoformat(timespec="milliseconds"), "event": event}
            record.update(fields)
            line = json.dumps(record)
        else:
            line = f"bofan: {text}"
        print(line, file=self.stream, flush=True)


class _Capture:
    """The run's capture files: one line per frame, rotated by the hour or by size."""

    def __init__(self, out_dir: Path, stats: ListenStats, rotate_bytes: int | None) -> None:
        self.out_dir = out_dir
        self.stats = stats
        self.rotate_bytes = rotate_bytes
        self._file = None
        self._opened = _now()
        self._size = 0
        self._dirty = False
        self._flush_scheduled = False

    def open(self, moment: dt.datetime) -> None:
        stem = "bofan-" + moment.strftime("%Y%m%dT%H%M%SZ")
        path, n = self.out_dir / f"{stem}.log", 1
        while True:
            try:
                handle = open(path, "xb", buffering=1 << 16)  # noqa: SIM115 - closed in rotate/close
                break
            except FileExistsError:  # two files opened in the same second: '_' sorts
                n += 1  # after '.', so names stay in the order the files were opened
                path = self.out_dir / f"{stem}_{n:03d}.log"
        self._file, self._opened, self._size = handle, moment, 0
        self.stats.files.append(os.fspath(path))
        self.write(
            f"{_stamp(moment)}  INFO: bofan listen capture: one frame per line in hex, "
            "ended by CR LF, with its UTC receive time\n".encode()
        )

    def write(self, line: bytes) -> None:
        self._file.write(line)
        self._size += len(line)
        self.stats.bytes_written += len(line)
        self._dirty = True
        if not self._flush_scheduled:
            # one flush per turn of the event loop: readers see whole lines promptly
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        self._flush_scheduled = False
        if self._file is not None:
            self._file.flush()

    def rotation_due(self, moment: dt.datetime) -> bool:
        if self.rotate_bytes is not None and self._size >= self.rotate_bytes:
            return True
        return moment.replace(minute=0, second=0, microsecond=0) > self._opened.replace(
            minute=0, second=0, microsecond=0
        )

    async def rotate(self, moment: dt.datetime) -> None:
        old = self._file
        self.open(moment)
        old.flush()
        try:
            await asyncio.to_thread(os.fsync, old.fileno())
        except asyncio.CancelledError:  # stopping: the old file is synced all the same
            os.fsync(old.fileno())
            raise
        finally:
            old.close()

    async def sync(self) -> None:
        """Flush and fsync what was written since the last sync, off the event loop."""
        if self._file is None or not self._dirty:
            return
        self._dirty = False
        self._file.flush()
        await asyncio.to_thread(os.fsync, self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


class _Photo:
    """A photo being fetched from one connection, chunk by chunk."""

    __slots__ = ("size", "received", "tries", "timer")

    def __init__(self, size: int) -> None:
        self.size = size
        self.received = 0
        self.tries = 0
        self.timer: asyncio.TimerHandle | None = None


def _photo_fields(frame: bytes) -> tuple[str | None, int | None, int | None, int]:
    """``(msg_type, photo_size, photo_offset, payload bytes)`` of one frame, as the decoder
    reads it (only for ``$PHO`` / ``$PHD`` frames, which are rare)."""
    from ..decode.log import read_log

    rows = read_log(frame, format="stream").messages
    if rows.num_rows != 1:
        return None, None, None, 0
    row = rows.select(["msg_type", "photo_size", "photo_offset", "payload"]).to_pylist()[0]
    return row["msg_type"], row["photo_size"], row["photo_offset"], len(row["payload"] or b"")


def _hex(frame: bytes) -> bytes:
    """A frame as its line holds it: hex, ended by CR LF (``0d0a``)."""
    return frame.hex().encode() + b"0d0a"


class _Connection(asyncio.Protocol):
    """One TCP connection: frames cut as bytes arrive, recorded, answered."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport: asyncio.Transport | None = None
        self.cutter = StreamCutter()
        self.number = 0
        self.peer = "?"
        self.last_active = 0.0
        self.rejected: list = []  # [offset, bytes, {reason: count}] not yet written
        self.photo: _Photo | None = None
        self.closed = False

    # -- asyncio callbacks --------------------------------------------------------------
    def connection_made(self, transport) -> None:
        self.transport = transport
        if not self.listener._admit(self):
            transport.abort()
            self.closed = True
            return
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        transport.set_write_buffer_limits(high=WRITE_BUFFER_BYTES)
        self.last_active = asyncio.get_running_loop().time()

    def data_received(self, data: bytes) -> None:
        listener = self.listener
        self.last_active = listener._loop.time()
        listener.stats.bytes_received += len(data)
        moment = _now()
        cut = self.cutter.feed(data)
        self._record(cut, moment, answer=True)
        if self.cutter.held > MAX_HELD_BYTES:
            offset, length = self.cutter.drop()
            self._reject(offset, length, "too_long")

    def eof_received(self):
        return False  # close our side too

    def connection_lost(self, exc) -> None:
        self.end()

    def pause_writing(self) -> None:
        # the client does not read its replies: stop reading from it until it does
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.transport.resume_reading()

    # -- recording ----------------------------------------------------------------------
    def end(self) -> None:
        """The connection is over (closed by either side): record what it left."""
        if self.closed:
            return
        self.closed = True
        moment = _now()
        self._record(self.cutter.finish(), moment, answer=False)
        self._write_rejects(moment)
        if self.photo is not None:
            self._photo_done(moment, complete=False)
        self.listener._release(self)

    def _record(self, cut, moment, answer: bool) -> None:
        """Write the frames of ``cut`` (with the rejects between them) and act on them."""
        listener = self.listener
        rejects = cut.rejects
        r = 0
        head = b"%s  INFO: [T%08x: " % (_stamp(moment).encode(), self.number)
        tail = b" < %s] " % self.peer.encode()
        lines = []
        for offset, frame in zip(cut.offsets, cut.frames, strict=True):
            while r < len(rejects) and rejects[r][0] < offset:
                self._reject(*rejects[r])
                r += 1
            if self.rejected:
                self._flush(lines)
                self._write_rejects(moment)
            first = frame[:1]
            pt60 = first == b"@"
            protocol = b"pt60" if pt60 else b"pt502"
            lines.append(b"%s%s%s%s\n" % (head, protocol, tail, _hex(frame)))
            if not answer:
                continue
            if pt60 and listener.reply:
                reply = reply_for(frame, now=moment)
                if reply is not None:
                    self.transport.write(reply)
                    listener.stats.replies += 1
            if listener.photos and frame[5 if first == b"\xbf" else 0 :].startswith(_PHOTO_TYPES):
                self._flush(lines)
                self._photo_frame(frame, moment)
        self._flush(lines)
        for reject in rejects[r:]:
            self._reject(*reject)
        if self.rejected and self.rejected[1] >= _REJECT_LINE_BYTES:
            self._write_rejects(moment)
        listener.stats.frames += len(cut.frames)

    def _flush(self, lines: list) -> None:
        if lines:
            self.listener._capture.write(b"".join(lines))
            lines.clear()

    def _reject(self, offset: int, length: int, reason: str) -> None:
        stats = self.listener.stats
        stats.rejects += 1
        stats.reject_bytes += length
        if not self.rejected:
            self.rejected = [offset, 0, {}]
        self.rejected[1] += length
        self.rejected[2][reason] = self.rejected[2].get(reason, 0) + 1

    def _write_rejects(self, moment) -> None:
        if not self.rejected:
            return
        offset, length, reasons = self.rejected
        self.rejected = []
        why = ", ".join(f"{name} x{count}" for name, count in sorted(reasons.items()))
        self.listener._capture.write(
            f"{_stamp(moment)}  WARN: T{self.number:08x} {self.peer}: {length} byte(s) from "
            f"stream offset {offset} are not frames, not recorded ({why})\n".encode()
        )

    # -- photos -------------------------------------------------------------------------
    def _photo_frame(self, frame: bytes, moment) -> None:
        msg_type, size, offset, length = _photo_fields(frame)
        if msg_type == "PHO":
            if self.photo is not None:
                self._photo_done(moment, complete=False)
            if size:
                self.photo = _Photo(size)
                self._ask_photo()
        elif msg_type == "PHD" and self.photo is not None and offset == self.photo.received:
            photo = self.photo
            photo.received = min(photo.size, offset + length)
            photo.tries = 0
            if photo.received >= photo.size:
                self._photo_done(moment, complete=True)
            else:
                self._ask_photo()

    def _ask_photo(self) -> None:
        photo = self.photo
        if photo.timer is not None:
            photo.timer.cancel()
        size = min(PHOTO_CHUNK_BYTES, photo.size - photo.received)
        self.transport.write(photo_request(photo.received, size))
        photo.timer = self.listener._loop.call_later(
            self.listener.photo_timeout_s, self._photo_timeout
        )

    def _photo_timeout(self) -> None:
        photo = self.photo
        if photo is None or self.closed:
            return
        photo.timer = None
        photo.tries += 1
        if photo.tries > PHOTO_RETRIES:
            self._photo_done(_now(), complete=False)
        else:
            self._ask_photo()

    def _photo_done(self, moment, complete: bool) -> None:
        photo, self.photo = self.photo, None
        if photo.timer is not None:
            photo.timer.cancel()
        stats = self.listener.stats
        if complete:
            stats.photos += 1
            return
        stats.photos_failed += 1
        self.listener._capture.write(
            f"{_stamp(moment)}  WARN: T{self.number:08x} {self.peer}: photo incomplete, "
            f"{photo.received} of {photo.size} bytes received\n".encode()
        )


class _Datagrams(asyncio.DatagramProtocol):
    """The UDP socket: each datagram is complete, so it is cut on its own."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.transport = None
        self.senders: dict = {}
        # junk in datagrams, summed up in one WARN line a second: a flood of tiny junk
        # datagrams must not turn into a flood of lines
        self.rejected = [0, 0, set()]  # bytes, datagrams, reasons

    def connection_made(self, transport) -> None:
        self.transport = transport

    def write_rejects(self) -> None:
        length, datagrams, reasons = self.rejected
        if not datagrams:
            return
        self.rejected = [0, 0, set()]
        self.listener._capture.write(
            f"{_stamp(_now())}  WARN: UDP: {length} byte(s) in {datagrams} datagram(s) are not "
            f"frames, not recorded ({', '.join(sorted(reasons))})\n".encode()
        )

    def datagram_received(self, data: bytes, addr) -> None:
        listener = self.listener
        stats = listener.stats
        stats.datagrams += 1
        stats.bytes_received += len(data)
        moment = _now()
        cut = StreamCutter().feed(data, final=True)
        number = self.senders.get(addr)
        if number is None:
            if len(self.senders) >= 65536:  # forget old senders rather than grow
                self.senders.clear()
            number = self.senders[addr] = len(self.senders) + 1
        peer = f"{addr[0]}:{addr[1]}".encode() if isinstance(addr, tuple) else b"?"
        stamp = _stamp(moment).encode()
        if cut.rejects:
            self.rejected[0] += sum(r[1] for r in cut.rejects)
            self.rejected[1] += 1
            self.rejected[2].update(r[2] for r in cut.rejects)
            stats.rejects += len(cut.rejects)
            stats.reject_bytes += sum(r[1] for r in cut.rejects)
        for frame in cut.frames:
            protocol = b"pt60" if frame[:1] == b"@" else b"pt502"
            listener._capture.write(
                b"%s  INFO: [U%08x: %s < %s] %s\n" % (stamp, number, protocol, peer, _hex(frame))
            )
            if listener.reply and frame[:1] == b"@":
                reply = reply_for(frame, now=moment)
                if reply is not None and self.transport is not None:
                    self.transport.sendto(reply, addr)
                    stats.replies += 1
        stats.frames += len(cut.frames)


class Listener:
    """A TCP + UDP endpoint on one port that records frames into ``out_dir``.

    Use it from asyncio (``await start()``, ``await stop()``, or ``async with``); the
    :func:`listen` function runs one from ordinary code. See the module documentation for
    the capture layout and the memory bound.

    Parameters
    ----------
    out_dir : path
        Capture directory (created if needed).
    host, port : str, int
        Where to listen; port 0 takes a free port (see ``port`` after start).
    max_connections : int, optional
        TCP connections served at once; more are refused. Default: below the open-file
        limit (:func:`default_max_connections`). A value above the limit raises the limit
        when the system allows it, else :class:`~bofan_analytics.errors.FormatError`.
    idle_timeout_s : float
        Close a TCP connection that sends nothing for this long.
    reply : bool
        Answer PT-60 frames as the devices expect.
    photos : bool
        Fetch the photos PT-502 units announce (``$PHO``), chunk by chunk.
    rotate_mb : float, optional
        Also start a new capture file when one reaches about this many megabytes.
    photo_timeout_s : float
        Ask again for a photo chunk that has not come after this long.
    events : EventLog, optional
        Where to report refusals and the status line (default: nowhere).
    status_every_s : float
        Seconds between status lines.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        host: str = "127.0.0.1",
        port: int = 8888,
        max_connections: int | None = None,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        reply: bool = True,
        photos: bool = True,
        rotate_mb: float | None = None,
        photo_timeout_s: float = DEFAULT_PHOTO_TIMEOUT_S,
        events: EventLog | None = None,
        status_every_s: float = STATUS_EVERY_S,
    ) -> None:
        whole("port", port, lo=0, hi=65535)
        if max_connections is not None:
            whole("max_connections", max_connections, lo=1)
        for name, value in (("idle_timeout_s", idle_timeout_s),
                            ("photo_timeout_s", photo_timeout_s),
                            ("status_every_s", status_every_s)):
            positive(name, value)
        positive("rotate_mb", rotate_mb, allow_none=True)
        self.out_dir = Path(out_dir)
        self.host = host
        self.port = port
        self.max_connections = max_connections
        self.idle_timeout_s = idle_timeout_s
        self.reply = reply
        self.photos = photos
        self.photo_timeout_s = photo_timeout_s
        self.events = events
        self.status_every_s = status_every_s
        self.stats = ListenStats(host=host)
        self.udp_receive_buffer = 0
        rotate = None if rotate_mb is None else max(1, int(rotate_mb * 1e6))
        self._capture = _Capture(self.out_dir, self.stats, rotate)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tcp: asyncio.base_events.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._datagrams: _Datagrams | None = None
        self._connections: set[_Connection] = set()
        self._next_number = 0
        self._housekeeping: asyncio.Task | None = None
        self._refused_since_line = 0
        self._last_refusal_line = None

    async def __aenter__(self) -> Listener:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # -- life cycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Check the limits, bind TCP and UDP on one port and open the first capture file."""
        if self.max_connections is None:
            self.max_connections = default_max_connections()
        _check_max_connections(self.max_connections)
        if self.photos:
            # the first photo announcement would otherwise load the grammar kernels while
            # every connection waits
            _photo_fields(_WARM_UP_PHO)
        self._loop = asyncio.get_running_loop()
        self._loop.set_exception_handler(self._loop_error)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        try:
            port = await self._bind()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise InputError(f"cannot listen on {self.host}:{self.port}: {reason}") from None
        self.stats.port = self.port = port
        self._capture.open(_now())
        self._housekeeping = asyncio.create_task(self._tick())

    async def _bind(self) -> int:
        loop = self._loop
        for attempt in range(5):
            self._tcp = await loop.create_server(
                lambda: _Connection(self), self.host, self.port, backlog=1024
            )
            port = self._tcp.sockets[0].getsockname()[1]
            try:
                self._udp, self._datagrams = await loop.create_datagram_endpoint(
                    lambda: _Datagrams(self), local_addr=(self.host, port)
                )
            except OSError:
                self._tcp.close()
                await self._tcp.wait_closed()
                self._tcp = None
                if self.port != 0 or attempt == 4:  # a free TCP port may be busy in UDP
                    raise
                continue
            sock = self._udp.get_extra_info("socket")
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER)
            self.udp_receive_buffer = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
            return port
        raise AssertionError("unreachable")

    async def stop(self) -> None:
        """Stop accepting, end every connection, then flush and fsync the capture.

        Open connections are not waited for: what they sent is recorded and they are
        closed, so this returns promptly whatever the devices do.
        """
        if self._tcp is not None:
            self._tcp.close()
        if self._udp is not None:
            self._udp.close()
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        for conn in list(self._connections):
            conn.end()
            conn.transport.abort()
        if self._datagrams is not None:
            self._datagrams.write_rejects()
        self._capture.close()
        if self._tcp is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._tcp.wait_closed(), 1)
            self._tcp = None

    # -- connections --------------------------------------------------------------------
    def _admit(self, conn: _Connection) -> bool:
        if len(self._connections) >= self.max_connections:
            self.stats.refused += 1
            self._refused_since_line += 1
            now = self._loop.time()
            if self._last_refusal_line is None or now - self._last_refusal_line >= 60:
                self._last_refusal_line = now
                self._say(
                    "refused",
                    f"at the connection limit ({self.max_connections}): refusing new "
                    f"connections ({self._refused_since_line} refused since the last such line)",
                    limit=self.max_connections,
                    refused=self._refused_since_line,
                )
                self._refused_since_line = 0
            return False
        self._next_number += 1
        conn.number = self._next_number
        self._connections.add(conn)
        self.stats.connections += 1
        self.stats.active = len(self._connections)
        return True

    def _release(self, conn: _Connection) -> None:
        self._connections.discard(conn)
        self.stats.active = len(self._connections)

    def _loop_error(self, loop, context) -> None:
        # accept() at the open-file limit: asyncio retries by itself; say so once a minute
        message = str(context.get("message", ""))
        if "out of system resource" in message:
            now = loop.time()
            if self._last_refusal_line is None or now - self._last_refusal_line >= 60:
                self._last_refusal_line = now
                self._say("refused", f"cannot accept connections: {context.get('exception')}")
            return
        loop.default_exception_handler(context)

    def _say(self, event: str, text: str, **fields) -> None:
        if self.events is not None:
            self.events.emit(event, text, **fields)

    # -- once a second ------------------------------------------------------------------
    async def _tick(self) -> None:
        loop = self._loop
        every = min(1.0, self.idle_timeout_s / 4)
        last_status = loop.time()
        frames_then = self.stats.frames
        rotation_due_since = None
        while True:
            await asyncio.sleep(every)
            now = loop.time()
            for conn in [c for c in self._connections if now - c.last_active > self.idle_timeout_s]:
                conn.end()
                conn.transport.close()
            self._datagrams.write_rejects()
            moment = _now()
            if self._capture.rotation_due(moment):
                rotation_due_since = rotation_due_since or now
                busy = any(c.photo is not None for c in self._connections)
                if not busy or now - rotation_due_since > _ROTATION_GRACE_S:
                    rotation_due_since = None
                    await self._capture.rotate(moment)
            await self._capture.sync()
            if now - last_status >= self.status_every_s:
                rate = (self.stats.frames - frames_then) / (now - last_status)
                last_status, frames_then = now, self.stats.frames
                self._status(rate)

    def _status(self, rate: float) -> None:
        s = self.stats
        self._say(
            "status",
            f"{s.active} connection(s), {rate:.1f} frames/s, {s.rejects} reject(s), "
            f"{s.photos} photo(s), {s.bytes_written / 1e6:.1f} MB written",
            connections=s.active,
            frames_per_s=round(rate, 1),
            frames=s.frames,
            rejects=s.rejects,
            refused=s.refused,
            photos=s.photos,
            bytes_written=s.bytes_written,
        )


def listen(
    out_dir: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    port: int = 8888,
    duration_s: float | None = None,
    on_ready: Callable[[str, int], None] | None = None,
    stop: threading.Event | None = None,
    **options,
) -> ListenStats:
    """Listen until ``duration_s`` passes, SIGINT/SIGTERM arrives or ``stop`` is set.

    ``on_ready(host, port)`` is called once both sockets are bound (with the real port
    when ``port=0``); other keyword arguments go to :class:`Listener`.

    Examples
    --------
    >>> stats = listen("captures", port=8888, duration_s=3600)    # doctest: +SKIP
    >>> stats.files                                                # doctest: +SKIP
    ['captures/bofan-20261102T071027Z.log']
    """
    positive("duration_s", duration_s, allow_none=True)
    return asyncio.run(_listen(out_dir, host, port, duration_s, on_ready, stop, options))


async def _listen(out_dir, host, port, duration_s, on_ready, stop, options):
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    handled = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, done.set)
                handled.append(sig)
    stopped_by = "signal"
    listener = Listener(out_dir, host=host, port=port, **options)
    try:
        async with listener:
            if on_ready is not None:
                on_ready(host, listener.port)
            deadline = None if duration_s is None else loop.time() + duration_s
            while not done.is_set():
                if stop is not None and stop.is_set():
                    stopped_by = "stop"
                    break
                if deadline is not None and loop.time() >= deadline:
                    stopped_by = "duration"
                    break
                # short waits so a threading.Event set from outside is seen promptly
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(done.wait(), 0.1)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    listener.stats.stopped_by = stopped_by
    return listener.stats
