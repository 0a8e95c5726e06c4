"""One loop decodes capture files, for ``read_log``, ``bofan summary`` and ``convert`` alike.

:class:`DecodeRun` takes the files of one input (a file, or the files of a rotated log in
order), tells or checks each one's format, feeds its bytes to a
:class:`~bofan_analytics.decode.StreamDecoder` chunk by chunk and yields a
:class:`~bofan_analytics.decode.DecodedLog` per chunk, so memory stays bounded. What
happens at the edges is decided here once:

* the files of a rotated log in a format that :attr:`~.CaptureFormat.rotates` go through
  one decoder, so a frame split by the rotation is joined (an empty file after them, a
  live log just rotated, is of the same format); other files each get their own;
* a file cut off (a truncated ``.gz`` / ``.zst``) or unreadable in the middle: the frames
  before the break are kept (the frame cut there becomes a reject), the last piece is
  yielded, then the error is raised;
* a decompression error is an :class:`~bofan_analytics.errors.InputError` naming the file;
* a decoder can go on from a checkpoint (``convert`` resumes grown files), and the run
  takes one before finishing (:attr:`DecodeRun.state`).
"""

from __future__ import annotations

import functools
import io
import os
import sys
from collections.abc import Iterable, Iterator

from ..errors import InputError, TruncatedInputError
from ..io.files import open_capture, source_name
from ..io.formats import DEFAULT_PORT, capture_format, place_format
from .stream import StreamDecoder

__all__ = ["CHUNK_BYTES", "HEAD_BYTES", "chunk_size", "CaptureReader", "BytesReader",
           "DecodeRun"]

#: bytes read and decoded at a time; memory stays a small multiple of this
CHUNK_BYTES = 8 << 20
#: bytes read before the format is decided (detection looks at no more)
HEAD_BYTES = 64 << 10
#: a chunk is cut just after the last line end in its final bytes (this many), if any
ALIGN_BYTES = 64 << 10


def chunk_size(chunk_bytes: int | None, scale: int = 1) -> int:
    """The bytes a chunk is read in: ``chunk_bytes`` when given, else ``scale`` (a format's
    ``chunk_scale``) times :data:`CHUNK_BYTES`."""
    return chunk_bytes or scale * CHUNK_BYTES


def _line_cut(data, start: int, end: int) -> int:
    """Where a chunk ``data[start:end]`` that is not the last is cut: just after its last
    LF within :data:`ALIGN_BYTES` of ``end``, else at ``end``.

    Any cut decodes the same, but a line log cut at line ends leaves the decoder no
    unfinished line to join to the next chunk, a copy of the whole chunk.
    """
    return data.rfind(b"\n", max(start, end - ALIGN_BYTES), end) + 1 or end


def read_chunks(handle, size: int, pending=(), seen=None, *,
                join: bool = False) -> Iterator[bytes | bytearray]:
    """The bytes of ``pending`` (bytes already read), then the rest of ``handle``, in
    chunks of about ``size`` bytes cut at line ends where one is near (:func:`_line_cut`).
    With ``join`` the first chunk is ``pending`` and the bytes read after it together (for
    a file whose rest fits in one chunk: one step of the decoder instead of two).

    While a chunk is decoded the next one is read, on a reading thread. ``seen`` is called
    with each piece read from ``handle``, in order, once per byte (a hash, a count); the
    piece is a view of the chunk, which ``seen`` must not keep. A reading error is raised
    after the bytes read before it were given.

    A chunk given earlier is read into again once nothing else holds it (see
    :class:`_Spare`): fresh memory for every chunk cost as much as the reading itself.
    """
    held = b"".join(pending) if join else b""
    ready = []
    for data in () if join else pending:
        if data:
            data = held + data
            cut = _line_cut(data, 0, len(data))
            held = data[cut:]
            if cut:
                ready.append(data[:cut])
    spare = _Spare()
    following = _reading_pool().submit(_fill, handle, size, held, seen)
    try:
        yield from ready
        while True:
            buf, held, more, error = following.result()
            if more:
                following = _reading_pool().submit(_fill, handle, size, held, seen,
                                                   spare.take())
                spare.keep(buf)
            else:  # no chunk is read after this one: none kept for it
                spare.clear()
            if buf:
                yield buf
            if error is not None:
                raise error
            if not more:
                return
    finally:  # left early: the handle is closed next, so the read ahead must end first
        following.exception()


class _Spare:
    """The chunks :func:`read_chunks` gave, to read the next ones into once they are free.

    A chunk is free when nothing but this holds it: no reference to it (a decoder's, a
    step working ahead) and no view of its bytes (a numpy array, a memoryview, an Arrow
    buffer), which would each hold a reference too. The reference count says so; it is
    compared with the count of a bytearray nothing else holds, taken the same way, so
    that an interpreter counting differently makes no chunk look free that is not. A
    chunk with a view of its bytes also refuses to change size: that is tested as well.
    """

    #: chunks kept at most; beyond them the oldest is let go (to the allocator)
    KEEP = 3

    def __init__(self) -> None:
        self._chunks: list[bytearray] = []

    def keep(self, buf) -> None:
        if isinstance(buf, bytearray) and buf:
            self._chunks.append(buf)
            del self._chunks[: -self.KEEP]

    def clear(self) -> None:
        self._chunks.clear()

    def take(self) -> bytearray | None:
        """A chunk nothing else holds, taken out of the list; None when there is none (or
        when the interpreter's reference counts cannot tell, see :data:`_COUNTED`)."""
        if not _COUNTED:
            return None
        for i in range(len(self._chunks)):
            if _held_only_by(self._chunks, i):
                return self._chunks.pop(i)
        return None


def _held_only_by(chunks: list, i: int) -> bool:
    """Whether ``chunks[i]`` (a bytearray) is held by nothing but the list ``chunks``."""
    if _count(chunks, i) != _ALONE:
        return False
    try:  # a view of its bytes (held without a reference count seen here): cannot resize
        chunks[i].append(0)
    except BufferError:
        return False
    chunks[i].pop()
    return True


def _count(chunks: list, i: int) -> int:
    return sys.getrefcount(chunks[i])


#: whether reference counts tell that nothing else holds a chunk: CPython's do, with its
#: interpreter lock (a build without it defers counts, and other interpreters have none)
_COUNTED = hasattr(sys, "getrefcount") and getattr(sys, "_is_gil_enabled", lambda: True)()
#: the reference count :func:`_held_only_by` sees of a bytearray only a list holds
_ALONE = _count([bytearray(1)], 0) if _COUNTED else 0


_READING = None


def _reading_pool():
    """The thread that reads ahead for :func:`read_chunks` (made on first use)."""
    global _READING
    if _READING is None:
        from concurrent.futures import ThreadPoolExecutor

        _READING = ThreadPoolExecutor(1, thread_name_prefix="bofan-read")
    return _READING


def rest_fits(handle, size: int) -> bool:
    """Whether what is left to read of ``handle``, an uncompressed file (by its size now),
    fits in a chunk of ``size`` bytes: then :func:`read_chunks` may read it behind the
    bytes read before (``join``). False for a compressed file, whose size is not known."""
    if not isinstance(handle, io.BufferedReader):
        return False
    try:
        return os.fstat(handle.fileno()).st_size - handle.tell() <= size
    except (OSError, ValueError):
        return False


def _fill(handle, size, held, seen, reuse=None):
    """The next chunk: ``held`` and then up to ``size`` bytes of ``handle``, cut at a line
    end if the chunk is full; read into ``reuse`` (a bytearray nothing else holds) if
    given. Returns ``(chunk, held, more, error)``: ``more`` says the chunk is full (the
    file may go on); ``error`` is a reading error that stopped it."""
    buf = _unset_bytes(len(held) + size) if reuse is None else _resized(reuse, len(held) + size)
    buf[: len(held)] = held
    n = len(held)
    error = None
    with memoryview(buf) as view:
        while n < len(buf):
            try:
                got = handle.readinto(view[n:])
            except Exception as exc:  # the bytes before the break are given first
                error = exc
                break
            if not got:
                break
            if seen is not None:
                seen(view[n : n + got])
            n += got
    if error is not None:  # its traceback may hold a view of buf: a copy, rarely made
        return bytes(buf[:n]), b"", False, error
    more = n == len(buf)
    del buf[n:]
    held = b""
    if more:
        cut = _line_cut(buf, 0, n)
        held = bytes(buf[cut:])
        del buf[cut:]
    return buf, held, more, error


def _resized(buf: bytearray, size: int) -> bytearray:
    """``buf`` made ``size`` bytes long; the bytes it had are not kept. It was cut a little
    short of a full chunk at a line end, which leaves its memory allocated (CPython keeps
    the allocation of a bytearray shortened by less than half), so growing it back is
    cheap."""
    if len(buf) > size:
        del buf[size:]
    elif len(buf) < size:
        buf.extend(bytes(size - len(buf)))
    return buf


def _unset_bytes(size: int) -> bytearray:
    """A bytearray of ``size`` bytes to read into, their values not set.

    ``bytearray(size)`` sets them to zero with the interpreter lock held: 5 ms for a chunk
    of 8 MiB here, the memory's pages faulted in on the way, and the decoding threads
    stopped meanwhile. CPython's ``PyByteArray_FromStringAndSize(NULL, size)`` leaves
    them, and the read, which releases the lock, is the first to write them. The caller
    cuts off what the read did not fill."""
    global _BYTEARRAY_OF_SIZE
    if _BYTEARRAY_OF_SIZE is None:
        try:
            import ctypes

            make = ctypes.pythonapi.PyByteArray_FromStringAndSize
            make.restype = ctypes.py_object
            make.argtypes = [ctypes.c_char_p, ctypes.c_ssize_t]
            _BYTEARRAY_OF_SIZE = functools.partial(make, None)
        except (ImportError, AttributeError):  # not CPython: zeroed, as anywhere else
            _BYTEARRAY_OF_SIZE = bytearray
    return _BYTEARRAY_OF_SIZE(size)


_BYTEARRAY_OF_SIZE = None


class CaptureReader:
    """One capture file opened for decoding: ``head`` (its first :data:`HEAD_BYTES`
    decompressed bytes), then :meth:`chunks` gives every byte from the start, in chunks.

    ``digest`` (a ``hashlib``-like object), if given, is fed every decompressed byte once;
    ``read`` counts them. A file cut off before its first byte has an empty ``head`` and
    raises on the first chunk.
    """

    def __init__(self, path, *, chunk_bytes: int | None = None, digest=None,
                 name: str | None = None) -> None:
        self.name = source_name(path if name is None else name)
        self.chunk_bytes = chunk_bytes
        self.digest = digest
        self._handle = open_capture(path)
        try:
            self.head = self._handle.read(HEAD_BYTES)
        except TruncatedInputError:
            self.head = b""  # the next read says so again
        except BaseException:
            self._handle.close()
            raise
        self.read = 0
        self._pending = [self.head]
        self._seen(self.head)

    def chunks(self, scale: int = 1) -> Iterator[bytes | bytearray]:
        """The file's bytes, chunk by chunk (the head first; see :func:`read_chunks`), of
        ``chunk_bytes`` or else ``scale`` times :data:`CHUNK_BYTES`."""
        pending, self._pending = self._pending, []
        size = chunk_size(self.chunk_bytes, scale)
        return read_chunks(self._handle, size, pending, self._seen,
                           join=rest_fits(self._handle, size))

    def _seen(self, data) -> None:
        if self.digest is not None:
            self.digest.update(data)
        self.read += len(data)

    def close(self) -> None:
        self._handle.close()


class BytesReader:
    """The bytes of one capture held in memory, read like a :class:`CaptureReader`."""

    def __init__(self, data: bytes, name: str = "<bytes>", *,
                 chunk_bytes: int | None = None) -> None:
        self.name = source_name(name)
        self.head = data[:HEAD_BYTES]
        self._data = data
        self.chunk_bytes = chunk_bytes
        self.read = 0

    def chunks(self, scale: int = 1) -> Iterator[bytes]:
        size = chunk_size(self.chunk_bytes, scale)
        data = self._data
        start = 0
        while start < len(data):
            end = min(len(data), start + size)
            if end < len(data):
                end = _line_cut(data, start, end)
            chunk = data[start:end]
            self.read += len(chunk)
            yield chunk
            start = end

    def close(self) -> None:
        pass


class DecodeRun:
    """Decode the files of one input in order; iterate to get a ``DecodedLog`` per chunk.

    Parameters
    ----------
    readers : iterable of readers
        :class:`CaptureReader` / :class:`BytesReader` (or alike: ``name``, ``head``,
        ``chunks()``, ``close()``), in reading order; taken one at a time, so a lazy
        iterable opens each file only when it is reached.
    format : str
        A format name, or ``"auto"`` to detect each file's from its head (a file whose
        format cannot be told is an :class:`~bofan_analytics.errors.InputError`).
    log_tz, port
        As for :class:`~bofan_analytics.decode.StreamDecoder`.
    state : dict, optional
        A checkpoint (:meth:`StreamDecoder.checkpoint`) the first file's decoder goes on
        from; its reader then gives the bytes from ``state["consumed"]`` on.
    make_decoder : callable, optional
        ``make_decoder(format, name, state)`` makes a file's decoder instead of
        :class:`StreamDecoder` (``state``: the checkpoint to go on from, or None).
    ahead : bool, default True
        Work on each chunk ahead, while the chunk before it is decoded, for formats that
        can (``CaptureFormat.prepare``): faster where decoding sets the pace; it holds one
        more chunk, and its work, meanwhile. ``convert`` turns it off: there the Parquet
        writer sets the pace, and decoding ahead only took memory (10-15 MiB more on a
        309 MB line log, at the same speed).

    Attributes
    ----------
    format : str or None
        The format of the file being read (None until its head was read).
    current : str or None
        The name of the file being read, for error messages.
    finishing : bool
        The next piece (or error) is the last: every byte was fed, or reading broke off.
    state : dict or None
        The decoder's checkpoint, taken when the run began finishing.
    done : bool
        The last piece was yielded (a reading error is raised after it).

    Examples
    --------
    >>> run = DecodeRun([BytesReader(b"$POS,1,...\\r\\n")])
    >>> sum(len(piece.rejects) for piece in run), run.format
    (1, 'stream')
    """

    def __init__(self, readers: Iterable, *, format: str = "auto", log_tz: str | None = None,
                 port: int | str = DEFAULT_PORT, state: dict | None = None,
                 make_decoder=None, ahead: bool = True) -> None:
        self._readers = readers
        self._ahead = ahead
        self._make = make_decoder
        self._forced = format != "auto"
        self._given = format
        self._log_tz = log_tz
        self._port = port
        self._resume = state
        self.format = None
        self.current = None
        self.finishing = False
        self.state = None
        self.done = False

    def __iter__(self) -> Iterator:
        return self._pieces()

    def _pieces(self):
        dec = None
        for reader in self._readers:
            try:
                fmt = self._given if self._forced else place_format(reader.head, reader.name)
                if dec is not None and not reader.head and dec.capture_format.rotates:
                    fmt = dec.format  # a live log just rotated: empty, but of its log
                if dec is not None and not (capture_format(fmt).rotates and fmt == dec.format):
                    yield self._finish(dec)  # not a rotated log: each file on its own
                    self.finishing = self.done = False
                    dec = None
                self.current, self.format = reader.name, fmt
                if dec is None:
                    dec = self._decoder(fmt, reader.name)
                else:
                    yield dec.next_file(reader.name)
            except BaseException:
                reader.close()
                raise
            try:
                chunks = reader.chunks(capture_format(fmt).chunk_scale)
                for chunk, ahead in _ahead(dec, chunks, self._ahead):
                    yield dec.feed(chunk) if ahead is None else dec.feed(chunk,
                                                                         ahead=ahead.result())
            except Exception as exc:
                error = _reading_error(exc, reader.name)
                if error is None:
                    raise
                dec.forced = False  # keep what came before the break
                yield self._finish(dec)
                raise error from None
            finally:
                reader.close()
        if dec is not None:
            yield self._finish(dec)

    def _decoder(self, fmt, name):
        state, self._resume = self._resume, None
        if self._make is not None:
            return self._make(fmt, name, state)
        if state is not None:
            return StreamDecoder.resume(fmt, name, state)
        return StreamDecoder(fmt, source=name, log_tz=self._log_tz, forced=self._forced,
                             port=self._port)

    def _finish(self, dec):
        self.state = dec.checkpoint()
        self.finishing = True
        piece = dec.finish()
        self.done = True
        return piece


def _ahead(dec, chunks, wanted=True):
    """Each chunk with the future of ``dec.prepare(chunk)``, which a thread of its own
    works on while the chunk before it is decoded (or ``None`` for a format that does
    nothing ahead, or when not ``wanted``: its chunks are not taken early, which would
    hold one more in memory). A reading error comes after the chunks read before it."""
    if not (wanted and getattr(dec, "prepares", False)):
        for chunk in chunks:
            yield chunk, None
        return
    it = iter(chunks)
    following = next(it, None)
    work = _ahead_of(dec, following)
    try:
        while following is not None:
            chunk, ready = following, work
            work = None
            try:
                following = next(it, None)
            except BaseException:
                yield chunk, ready
                raise
            work = _ahead_of(dec, following)
            yield chunk, ready
    finally:  # left early: the work ahead reads a chunk that is let go next
        if work is not None:
            work.exception()


def _ahead_of(dec, chunk):
    if chunk is None:
        return None
    global _AHEAD
    if _AHEAD is None:
        from concurrent.futures import ThreadPoolExecutor

        _AHEAD = ThreadPoolExecutor(1, thread_name_prefix="bofan-ahead",
                                    initializer=_behind_the_decoder)
    return _AHEAD.submit(dec.prepare, chunk)


_AHEAD = None


def _behind_the_decoder():
    """The thread that works ahead yields the cores to the decoding threads (a lower
    priority, where the system lets a thread have its own): it is meant to fill the time
    a core waits while the decoder works alone, not to slow the decoder down."""
    import os
    import threading

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: it works at par
        pass


def _reading_error(exc: BaseException, name: str) -> BaseException | None:
    """The error a failure to read ``name`` is reported as; None: not a reading error."""
    if isinstance(exc, InputError):
        return exc  # a cut-off compressed file (TruncatedInputError)
    if isinstance(exc, (OSError, EOFError)):
        return InputError(f"cannot read {name}: {exc}")
    if type(exc).__module__.startswith(("zstd", "gzip", "zlib")):  # their own error types
        return InputError(f"cannot decompress {name}: {exc}")
    return None
