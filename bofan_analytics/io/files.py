"""Open capture files (plain, gzip or zstd, told by their magic bytes) and detect their format.

Nothing is lost without a word:

* A compressed capture that is cut off (a ``.gz`` or ``.zst`` whose last frame never
  ends, or one that is only the magic bytes) reads up to the break and then raises
  :class:`~bofan_analytics.errors.TruncatedInputError`; every byte before the break is
  returned first, so a decoder keeps what it decoded. gzip and zstd share this code.
* A directory walk reports what it cannot read (an unreadable subdirectory, a dangling
  symbolic link) instead of passing over it, and follows symbolic links to directories,
  each directory once (a link back to a directory already walked is not entered again,
  so a loop ends).
* File names that are not UTF-8 are named with their odd bytes written ``\\xNN``
  (:func:`source_name`), so they can be stored and printed.
"""

import gzip
import io
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .._validate import choice
from ..errors import InputError, TruncatedInputError
from .formats import FORMATS, detect_format, place_format

__all__ = [
    "CAPTURE_FORMATS",
    "detect_format",
    "place_format",
    "iter_capture_files",
    "open_capture",
    "is_compressed",
    "rotation_order",
    "source_name",
]

#: the input formats ``read_log`` and ``bofan convert`` accept, with what each one is
#: (declared in :mod:`bofan_analytics.io.formats`)
CAPTURE_FORMATS = {name: fmt.description for name, fmt in FORMATS.items()}

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: files a directory walk passes over: results, geometry, documentation
_NOT_CAPTURES = {".json", ".geojson", ".md", ".parquet", ".html", ".csv", ".py", ".ipynb"}


def open_capture(path: str | os.PathLike) -> io.BufferedIOBase:
    """Open a capture for binary reading, decompressing gzip or zstd transparently.

    The compression is told from the file's first bytes, not its name.

    >>> with open_capture("data/samples/fleet.log") as f:   # doctest: +SKIP
    ...     head = f.read(100)
    """
    p = Path(path)
    try:
        raw = open(p, "rb")  # noqa: SIM115 - handed to the caller
    except FileNotFoundError:
        raise InputError(f"no such file: {p}") from None
    except IsADirectoryError:
        raise InputError(f"is a directory, not a capture file: {p}") from None
    except OSError as exc:
        raise InputError(f"cannot open {p}: {exc.strerror or exc}") from None
    magic = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    kind = _compression(magic)
    if kind == "gzip":
        return _Decompressed(_GzipMembers(raw), raw)
    if kind == "zstd":
        import zstandard

        frames = _ZstdFrames(raw)
        reader = zstandard.ZstdDecompressor().stream_reader(
            frames, read_across_frames=True, closefd=True
        )
        return _Decompressed(reader, raw, frames)
    return raw


def _compression(magic: bytes) -> str | None:
    """``"gzip"`` or ``"zstd"`` when a file starting with ``magic`` (4 bytes) is compressed."""
    if magic.startswith(_GZIP_MAGIC):
        return "gzip"
    if magic.startswith(_ZSTD_MAGIC) or _is_zstd_skippable(magic):
        return "zstd"
    return None


def is_compressed(path: str | os.PathLike) -> bool:
    """Whether the file at ``path`` is gzip or zstd compressed (told from its first bytes)."""
    with open(path, "rb") as f:
        return _compression(f.read(4)) is not None


def _is_zstd_skippable(magic: bytes) -> bool:
    """A zstd skippable frame (``pzstd`` starts its files with one)."""
    return len(magic) == 4 and magic[0] & 0xF0 == 0x50 and magic[1:] == b"\x2a\x4d\x18"


def source_name(path) -> str:
    """The name of ``path`` as text that can be stored and printed.

    A file name that is not valid UTF-8 reaches Python with its odd bytes as lone
    surrogates; they are written as ``\\xNN`` here.

    Examples
    --------
    >>> source_name(b"caf\xe9.log".decode("utf-8", "surrogateescape"))
    'caf\\xe9.log'
    """
    name = os.fspath(path)
    if isinstance(name, bytes):
        return name.decode("utf-8", "backslashreplace")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


class _Decompressed(io.BufferedIOBase):
    """A decompressing reader that tells a cut-off stream from a finished one.

    ``read(n)`` returns up to ``n`` bytes; at a break it first returns every byte decoded
    before it, then raises :class:`~bofan_analytics.errors.TruncatedInputError` (and again
    on every later read). gzip says a stream is cut off by raising ``EOFError``; zstd's
    reader just stops, so :class:`_ZstdFrames` watches the frames go by.
    """

    def __init__(self, reader, raw, frames=None):
        self._reader = reader
        self._raw = raw
        self._frames = frames
        self._error = None
        self.decoded_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size=-1):
        if self._error is not None:
            raise self._error
        out = bytearray()
        while size is None or size < 0 or len(out) < size:
            want = 1 << 20 if size is None or size < 0 else size - len(out)
            try:
                # gzip's read1 makes at most one read of the file, so an EOFError loses
                # nothing decoded; zstd's reader never raises at a break, and its read1
                # may return nothing in the middle of a file (after a skippable frame)
                piece = self._reader.read1(want) if self._frames is None else (
                    self._reader.read(want)
                )
            except EOFError:
                self._cut(len(out))
                break
            if not piece:
                if self._frames is not None and not self._frames.complete:
                    self._cut(len(out))
                break
            out += piece
        self.decoded_bytes += len(out)
        if not out and self._error is not None:
            raise self._error
        return bytes(out)

    read1 = read

    def _cut(self, pending: int):
        decoded = self.decoded_bytes + pending
        self._error = TruncatedInputError(
            f"compressed data cut off after {decoded:,} decompressed bytes "
            "(the file ends inside a compressed frame)",
            decoded_bytes=decoded,
        )

    def close(self):
        try:
            self._reader.close()
        finally:
            self._raw.close()
            super().close()


class _GzipMembers:
    """gzip decompression (one member after another) with large reads.

    ``GzipFile.read1`` hands out about 10 KiB a call, too little for chunks of megabytes;
    this reads 1 MiB of compressed data at a time and raises ``EOFError`` as ``GzipFile``
    does when the file ends inside a member. Bytes after the last member that are not a
    gzip member are an error too (``gzip.BadGzipFile``), zero padding excepted.
    """

    def __init__(self, raw):
        self._raw = raw
        self._inflate = zlib.decompressobj(wbits=31)
        self._pending = b""  # compressed bytes not yet given to the decompressor
        self._started = False  # the current member has begun

    def read1(self, size: int) -> bytes:
        while True:
            if not self._pending:
                self._pending = self._raw.read(1 << 20)
                if not self._pending:
                    if self._started:
                        raise EOFError("compressed file ended inside a gzip member")
                    return b""
            if not self._started:
                if not self._pending.strip(b"\x00"):  # zero padding after the last member
                    self._pending = b""
                    continue
                if not self._pending.startswith(_GZIP_MAGIC[: len(self._pending)]):
                    raise gzip.BadGzipFile("bytes after the last gzip member are not gzip")
                self._started = True
            out = self._inflate.decompress(self._pending, size)
            self._pending = self._inflate.unconsumed_tail or self._inflate.unused_data
            if self._inflate.eof:
                self._inflate = zlib.decompressobj(wbits=31)
                self._started = False
            if out:
                return out

    def close(self) -> None:
        self._raw.close()


class _ZstdFrames(io.RawIOBase):
    """The compressed file, read through while following zstd's frame layout.

    Only frame and block headers are looked at (a few per 128 KiB of data): enough to know
    whether the file ended on a frame boundary (:attr:`complete`).
    """

    def __init__(self, raw):
        self._raw = raw
        self._pending = b""  # header bytes not yet complete
        self._need = 4  # bytes of the next header
        self._state = "magic"
        self._skip = 0  # bytes of block data (or a skippable frame) still to pass
        self._checksum = False
        self.complete = True

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self._follow(memoryview(buffer)[:n].tobytes())
        return n

    def _follow(self, data: bytes) -> None:
        i = 0
        while i < len(data):
            if self._skip:
                step = min(self._skip, len(data) - i)
                self._skip -= step
                i += step
                if not self._skip and self._state == "skippable":
                    self._state, self._need = "magic", 4
                continue
            take = min(self._need - len(self._pending), len(data) - i)
            self._pending += data[i : i + take]
            i += take
            if len(self._pending) == self._need:
                header, self._pending = self._pending, b""
                self._header(header)
        self.complete = self._state == "magic" and not self._pending and not self._skip

    def _header(self, h: bytes) -> None:
        state = self._state
        if state == "magic":
            magic = int.from_bytes(h, "little")
            if magic & 0xFFFFFFF0 == 0x184D2A50:
                self._state, self._need = "skip_size", 4
            else:  # a zstd frame (anything else is for the decompressor to refuse)
                self._state, self._need = "descriptor", 1
        elif state == "skip_size":
            self._skip = int.from_bytes(h, "little")
            self._state = "skippable" if self._skip else "magic"
            self._need = 4
        elif state == "descriptor":
            fhd = h[0]
            single = bool(fhd & 0x20)
            fcs = (1 if single else 0, 2, 4, 8)[fhd >> 6]
            did = (0, 1, 2, 4)[fhd & 3]
            self._checksum = bool(fhd & 4)
            rest = (0 if single else 1) + did + fcs
            self._state = "frame_rest" if rest else "block"
            self._need = rest or 3
        elif state == "frame_rest":
            self._state, self._need = "block", 3
        elif state == "block":
            value = int.from_bytes(h, "little")
            last, kind, size = value & 1, (value >> 1) & 3, value >> 3
            self._skip = 1 if kind == 1 else size
            if last:
                self._state, self._need = ("checksum", 4) if self._checksum else ("magic", 4)
            else:
                self._need = 3
        elif state == "checksum":
            self._state, self._need = "magic", 4


_ROTATED = re.compile(r"^(?P<live>.+)\.(?P<date>\d{8})(?P<ext>\.gz|\.zst)?$")


def rotation_order(files: Iterable[Path]) -> list[list[Path]]:
    """Group the files of rotated logs: ``name.YYYYMMDD`` (maybe ``.gz``/``.zst``) by date,
    then ``name`` itself, the live file, last. Every other file is a group of its own.

    >>> rotation_order([Path("t.log"), Path("t.log.20261102"), Path("t.log.20261101")])
    [[PosixPath('t.log.20261101'), PosixPath('t.log.20261102'), PosixPath('t.log')]]
    """
    files = list(files)
    groups: dict[tuple, list[tuple[str, Path]]] = {}
    for p in files:
        m = _ROTATED.match(p.name)
        live = m["live"] if m else re.sub(r"\.(gz|zst)$", "", p.name)
        groups.setdefault((p.parent, live), []).append((m["date"] if m else "~", p))
    out = []
    for members in groups.values():
        if len(members) > 1 and any(date != "~" for date, _ in members):
            out.append([p for _, p in sorted(members, key=lambda m: (m[0], m[1].name))])
        else:
            out.extend([p] for _, p in members)
    return out


def iter_capture_files(
    inputs: str | os.PathLike | Iterable,
    *,
    on_error: Callable[[str, str], None] | None = None,
) -> Iterator[Path]:
    """Expand files and directories (walked recursively, sorted) into capture files.

    Symbolic links to directories are followed, each directory walked once. A
    subdirectory that cannot be listed, or a link that points nowhere, is an error:
    with ``on_error`` it is reported as ``on_error(path, reason)`` and the walk goes on;
    without, :class:`InputError` is raised. An input that does not exist always raises.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            yield from sorted(_walk(p, on_error))
        elif p.exists():
            yield p
        else:
            raise InputError(f"no such file or directory: {p}")


def _walk(top: Path, on_error) -> list[Path]:
    """Capture files below ``top``. Real directories are walked before linked ones, so a
    file reachable both ways is named by its real path; each directory is walked once."""

    def fail(path, reason):
        if on_error is None:
            raise InputError(f"{source_name(path)}: {reason}")
        on_error(source_name(path), reason)

    found = []
    seen = set()
    real, linked = [top], []
    while real or linked:
        folder = real.pop() if real else linked.pop()
        try:
            info = folder.stat()
            if (info.st_dev, info.st_ino) in seen:
                continue  # reached again through a link
            seen.add((info.st_dev, info.st_ino))
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name, reverse=True)
        except OSError as exc:
            fail(folder, f"cannot read this directory: {(exc.strerror or str(exc)).lower()}")
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                mode = entry.stat().st_mode  # follows links
            except OSError as exc:
                if entry.is_symlink():
                    fail(path, "a symbolic link to nothing (broken link)")
                else:
                    fail(path, f"cannot read: {(exc.strerror or str(exc)).lower()}")
                continue
            if stat.S_ISDIR(mode):
                (linked if entry.is_symlink() else real).append(path)
            elif stat.S_ISREG(mode) and not _skip(path):
                found.append(path)
    return found


def _skip(path: Path) -> bool:
    name = path.name
    if name.startswith("."):
        return True
    suffixes = [s.lower() for s in path.suffixes]
    return any(s in _NOT_CAPTURES for s in suffixes)


def check_format(name: str) -> str:
    """Validate a ``format=`` value, listing the choices when it is not one of them."""
    return choice("format", name, ("auto", *FORMATS))
