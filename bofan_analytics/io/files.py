"""Open capture files (plain, gzip or zstd, told by their magic bytes) and detect their format."""

import gzip
import io
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import FormatError, InputError

__all__ = [
    "CAPTURE_FORMATS",
    "detect_format",
    "place_format",
    "iter_capture_files",
    "open_capture",
    "rotation_order",
]

#: the input formats ``read_log`` and ``bofan convert`` accept, with what each one is
CAPTURE_FORMATS = {
    "stream": "raw bytes as the devices sent them, frames back to back",
    "lines": "one frame per line, optionally after an ISO-8601 receive time and a space",
    "traccar": "a tracker-server log: one network read per line, hex or text payload",
    "pcap": "a libpcap / pcapng packet capture",
}

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_PCAP_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
_PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
_TRACCAR_LINE = re.compile(
    rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[.,]\d+)?\s+[A-Z]+:? ", re.MULTILINE
)
_ISO_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", re.MULTILINE)
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
    if magic.startswith(_GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if magic.startswith(_ZSTD_MAGIC):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
    return raw


def detect_format(head: bytes) -> str:
    """Tell the log format from the first bytes of a (decompressed) capture.

    ``pcap`` by its magic number; ``traccar`` when lines look like
    ``YYYY-MM-DD HH:MM:SS  INFO: ...``; ``lines`` when they start with an ISO-8601 time;
    everything else is read as a raw ``stream`` (whose framing also accepts one frame per line).

    >>> detect_format(b"2026-11-02T07:10:27.948Z $POS,1,...")
    'lines'
    >>> detect_format(b"$POS,123,...\\r\\n")
    'stream'
    """
    if head[:4] in _PCAP_MAGICS or head[:4] == _PCAPNG_MAGIC:
        return "pcap"
    sample = head[:65536]
    if _TRACCAR_LINE.search(sample[:4096]):
        return "traccar"
    if _ISO_LINE.match(sample):
        return "lines"
    return "stream"


#: what a raw stream holds somewhere near its start: a sentence, a PT-60 frame, a header
_FRAME_STARTS = (b"$", b"@G#@", b"@B#@", b"\xbf")


def place_format(head: bytes, name: str) -> str:
    """:func:`detect_format`, or an :class:`InputError` naming the file when nothing in its
    first bytes is a known layout: no pcap magic, no log line, and not one frame start.

    >>> place_format(b"$POS,1,...\r\n", "dump.bin")
    'stream'
    """
    fmt = detect_format(head)
    if fmt == "stream" and head and not any(start in head for start in _FRAME_STARTS):
        raise InputError(
            f"cannot tell the format of {name}: not a packet capture, not a log of frames "
            "and no frame start in its first bytes (give --format to force one)"
        )
    return fmt


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


def iter_capture_files(inputs: str | os.PathLike | Iterable) -> Iterator[Path]:
    """Expand files and directories (walked recursively, sorted) into capture files.

    Raises :class:`InputError` for an input that does not exist.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            for child in sorted(p.rglob("*")):
                if child.is_file() and not _skip(child):
                    yield child
        elif p.exists():
            yield p
        else:
            raise InputError(f"no such file or directory: {p}")


def _skip(path: Path) -> bool:
    name = path.name
    if name.startswith("."):
        return True
    suffixes = [s.lower() for s in path.suffixes]
    return any(s in _NOT_CAPTURES for s in suffixes)


def check_format(name: str) -> str:
    """Validate a ``format=`` value, listing the choices when it is not one of them."""
    choices = ("auto", *CAPTURE_FORMATS)
    if name not in choices:
        raise FormatError(f"unknown format {name!r}; choose one of: {', '.join(choices)}")
    return name
