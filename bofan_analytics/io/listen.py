"""``bofan listen``: record what trackers send, as captures the decoder reads.

One port serves TCP and UDP, as the devices share one endpoint. For each run the listener
writes, into the capture directory:

* ``bofan-<time>-tcp<n>.bin``: per TCP connection, the bytes exactly as received
  (``stream`` format), ``<time>`` being when the connection opened;
* ``bofan-<time>-udp.bin``: the UDP datagrams of the run, back to back;
* ``bofan-<time>.log``: one line per frame from any connection, prefixed with the UTC
  receive time (``lines`` format). Binary frames (``$PHD`` photo chunks) are only in the
  raw files.

Every write is flushed, so a reader can decode the files while the listener runs. PT-60
devices wait for an answer: ``@G#@`` frames get a time reply, ``@B#@`` frames an
acknowledgement (``reply=False`` turns that off).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

__all__ = ["Listener", "ListenStats", "FrameCutter", "listen", "reply_for"]

#: Longest a frame may grow without an end before it is logged as it is.
MAX_FRAME = 64 * 1024
READ_SIZE = 64 * 1024
DEFAULT_IDLE_TIMEOUT_S = 300.0

_PT60_ENDS = (b"@R#@", b"@E#@")
_PHD_HEAD = re.compile(rb"\$PHD\d*,(\d+),")


class FrameCutter:
    """Cut a byte stream into frames, for the lines log.

    Frames end at a line break, CR or LF (PT-502), or at ``@R#@``/``@E#@`` (PT-60, which may have no
    line break). A 5-byte binary header (``0xBF ...``) before a sentence is dropped, and a
    ``$PHD`` photo chunk is cut by its length field, since its data may hold line breaks.
    """

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the frames they complete."""
        self._buf += data
        frames = []
        while True:
            frame = self._cut()
            if frame is None:
                return frames
            if frame:
                frames.append(frame)

    def flush(self) -> list[bytes]:
        """The frames still held plus any incomplete tail (at the end of a connection)."""
        frames = self.feed(b"")
        tail = bytes(self._buf).strip(b"\r\n")
        self._buf.clear()
        if tail:
            frames.append(tail)
        return frames

    def _cut(self) -> bytes | None:
        buf = self._buf
        start = 0
        while start < len(buf) and buf[start] in b"\r\n":
            start += 1
        if start:
            del buf[:start]
        if not buf:
            return None
        if buf[0] == 0xBF:
            if len(buf) < 5:
                return None
            del buf[:5]
            return b""
        if buf.startswith(b"$PHD"):
            head = _PHD_HEAD.match(buf, 0, 32)
            if head is not None:
                end = head.end() + int(head.group(1))
                if len(buf) < end:
                    return None
                return self._take(end)
        ends = [buf.find(b"\n"), buf.find(b"\r")]
        ends += [i + 4 if i >= 0 else -1 for i in (buf.find(m) for m in _PT60_ENDS)]
        ends = [e for e in ends if e >= 0]
        if ends:
            return self._take(min(ends))
        if len(buf) > MAX_FRAME:
            return self._take(len(buf))
        return None

    def _take(self, end: int) -> bytes:
        frame = bytes(self._buf[:end]).rstrip(b"\r\n")
        del self._buf[:end]
        return frame


def _text(frame: bytes) -> str | None:
    """The frame as one line of text, or None when it is binary."""
    try:
        text = frame.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ch < " " and ch != "\t" for ch in text):
        return None
    return text


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _stamp(moment: dt.datetime) -> str:
    """Receive time as the lines format writes it: ISO 8601, UTC, milliseconds, ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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


@dataclass
class ListenStats:
    """What a run received, and the files it wrote."""

    host: str = ""
    port: int = 0
    connections: int = 0
    datagrams: int = 0
    bytes_received: int = 0
    frames_logged: int = 0
    replies: int = 0
    files: list[str] = field(default_factory=list)

    def describe(self) -> str:
        return (
            f"{self.connections} connection(s), {self.datagrams} datagram(s), "
            f"{self.bytes_received} bytes, {self.frames_logged} frame(s) logged, "
            f"{len(self.files)} file(s) written"
        )


class Listener:
    """A TCP + UDP listener on one port that writes captures into ``out_dir``.

    Use it from asyncio (``await start()``, ``await stop()``, or ``async with``); the
    :func:`listen` function runs one from ordinary code.

    Parameters
    ----------
    out_dir : path
        Capture directory (created if needed).
    host, port : str, int
        Where to listen; port 0 takes a free port (see ``port`` after start).
    max_bytes : int, optional
        Close a TCP connection after this many bytes; UDP stops recording a sender after
        this many bytes from it.
    idle_timeout_s : float
        Close a TCP connection that sends nothing for this long.
    reply : bool
        Answer PT-60 frames as the devices expect.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike,
        *,
        host: str = "127.0.0.1",
        port: int = 8888,
        max_bytes: int | None = None,
        idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
        reply: bool = True,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.host = host
        self.port = port
        self.max_bytes = max_bytes
        self.idle_timeout_s = idle_timeout_s
        self.reply = reply
        self.stats = ListenStats(host=host)
        self._tcp: asyncio.base_events.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._tasks: set[asyncio.Task] = set()
        self._log = None
        self._udp_file = None
        self._udp_bytes: dict = {}
        self._run = ""
        self._next_conn = 0

    async def __aenter__(self) -> Listener:
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def start(self) -> None:
        """Bind TCP and UDP on the same port and open the run's lines log."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        try:
            port = await self._bind()
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise InputError(f"cannot listen on {self.host}:{self.port}: {reason}") from None
        self.stats.port = self.port = port
        self._run = _now().strftime("%Y%m%dT%H%M%SZ")
        self._log = self._open(f"bofan-{self._run}.log", "a", encoding="utf-8", newline="\n")

    async def _bind(self) -> int:
        loop = asyncio.get_running_loop()
        for attempt in range(5):
            self._tcp = await asyncio.start_server(self._on_connection, self.host, self.port)
            port = self._tcp.sockets[0].getsockname()[1]
            try:
                self._udp, _ = await loop.create_datagram_endpoint(
                    lambda: _Datagrams(self), local_addr=(self.host, port)
                )
            except OSError:
                self._tcp.close()
                await self._tcp.wait_closed()
                self._tcp = None
                if self.port != 0 or attempt == 4:  # a free TCP port may be busy in UDP
                    raise
                continue
            return port
        raise AssertionError("unreachable")

    async def stop(self) -> None:
        """Stop listening, close every connection, flush and close the files."""
        if self._tcp is not None:
            self._tcp.close()
        if self._udp is not None:
            self._udp.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._tcp is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._tcp.wait_closed(), 2)
            self._tcp = None
        for handle in (self._log, self._udp_file):
            if handle is not None:
                handle.close()
        self._log = self._udp_file = None

    def _open(self, name: str, mode: str, **kwargs):
        """Open a capture file; raw files never append to another run's file of that name."""
        path = self.out_dir / name
        if mode == "xb":
            stem, n = path.name[: -len(".bin")], 1
            while True:
                try:
                    handle = open(path, "xb")  # closed in stop() or by the handler
                    break
                except FileExistsError:  # two runs in the same second
                    n += 1
                    path = self.out_dir / f"{stem}-{n}.bin"
        else:
            handle = open(path, mode, **kwargs)  # closed in stop()
        self.stats.files.append(os.fspath(path))
        return handle

    def _log_frames(self, frames: list[bytes], moment: dt.datetime) -> list[bytes]:
        """Write text frames to the lines log; return the replies they call for."""
        replies = []
        stamp = _stamp(moment)
        for frame in frames:
            text = _text(frame)
            if text is not None and self._log is not None:
                self._log.write(f"{stamp} {text}\n")
                self.stats.frames_logged += 1
            if self.reply:
                answer = reply_for(frame, now=moment)
                if answer is not None:
                    replies.append(answer)
        if self._log is not None:
            self._log.flush()
        return replies

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        task = asyncio.current_task()
        self._tasks.add(task)
        self._next_conn += 1
        self.stats.connections += 1
        name = f"bofan-{_now().strftime('%Y%m%dT%H%M%SZ')}-tcp{self._next_conn:04d}.bin"
        raw = self._open(name, "xb")
        cutter = FrameCutter()
        received = 0
        try:
            while True:
                try:
                    data = await asyncio.wait_for(reader.read(READ_SIZE), self.idle_timeout_s)
                except asyncio.TimeoutError:
                    break
                if not data:
                    break
                moment = _now()
                if self.max_bytes is not None:
                    data = data[: self.max_bytes - received]
                received += len(data)
                self.stats.bytes_received += len(data)
                raw.write(data)
                raw.flush()
                replies = self._log_frames(cutter.feed(data), moment)
                for answer in replies:
                    writer.write(answer)
                    self.stats.replies += 1
                if replies:
                    with contextlib.suppress(ConnectionError):
                        await writer.drain()
                if self.max_bytes is not None and received >= self.max_bytes:
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._log_frames(cutter.flush(), _now())
            raw.close()
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)
            self._tasks.discard(task)

    def _on_datagram(self, data: bytes, addr) -> None:
        moment = _now()
        if self.max_bytes is not None:
            seen = self._udp_bytes.get(addr, 0)
            data = data[: max(0, self.max_bytes - seen)]
            self._udp_bytes[addr] = seen + len(data)
            if not data:
                return
        self.stats.datagrams += 1
        self.stats.bytes_received += len(data)
        if self._udp_file is None:
            self._udp_file = self._open(f"bofan-{self._run}-udp.bin", "xb")
        self._udp_file.write(data)
        self._udp_file.flush()
        # a datagram is complete: what is left in it is one more frame
        cutter = FrameCutter()
        for answer in self._log_frames(cutter.feed(data) + cutter.flush(), moment):
            if self._udp is not None:
                self._udp.sendto(answer, addr)
                self.stats.replies += 1


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, listener: Listener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr) -> None:
        self.listener._on_datagram(data, addr)


def listen(
    out_dir: str | os.PathLike,
    *,
    host: str = "127.0.0.1",
    port: int = 8888,
    duration_s: float | None = None,
    max_bytes: int | None = None,
    idle_timeout_s: float = DEFAULT_IDLE_TIMEOUT_S,
    reply: bool = True,
    on_ready: Callable[[str, int], None] | None = None,
    stop: threading.Event | None = None,
) -> ListenStats:
    """Listen until ``duration_s`` passes, SIGINT/SIGTERM arrives or ``stop`` is set.

    ``on_ready(host, port)`` is called once both sockets are bound (with the real port
    when ``port=0``).

    Examples
    --------
    >>> stats = listen("captures", port=8888, duration_s=3600)    # doctest: +SKIP
    >>> stats.files                                                # doctest: +SKIP
    ['captures/bofan-20261102T071027Z.log', 'captures/bofan-20261102T071030Z-tcp0001.bin']
    """
    return asyncio.run(
        _listen(out_dir, host, port, duration_s, max_bytes, idle_timeout_s, reply, on_ready, stop)
    )


async def _listen(
    out_dir, host, port, duration_s, max_bytes, idle_timeout_s, reply, on_ready, stop
):
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    handled = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, done.set)
                handled.append(sig)
    listener = Listener(
        out_dir,
        host=host,
        port=port,
        max_bytes=max_bytes,
        idle_timeout_s=idle_timeout_s,
        reply=reply,
    )
    try:
        async with listener:
            if on_ready is not None:
                on_ready(host, listener.port)
            deadline = None if duration_s is None else loop.time() + duration_s
            while not done.is_set() and not (stop is not None and stop.is_set()):
                if deadline is not None and loop.time() >= deadline:
                    break
                # short waits so a threading.Event set from outside is seen promptly
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(done.wait(), 0.1)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
    return listener.stats
