"""Finding capture files and decoding them chunk by chunk, for ``convert`` and ``bofan summary``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import FormatError

__all__ = ["FORMATS", "SKIP_SUFFIXES", "InputFile", "check_format", "find_captures", "decode_file"]

#: Accepted values of ``format=``.
FORMATS = ("auto", "stream", "lines", "traccar", "pcap")

#: Formats the streaming decoder reads piece by piece; others are decoded whole.
_STREAMABLE = frozenset({"stream", "lines", "traccar"})

#: Files in an input directory that are never captures (metadata, outputs, documents).
SKIP_SUFFIXES = frozenset(
    {".json", ".geojson", ".md", ".parquet", ".csv", ".html", ".ipynb", ".py", ".png", ".jpg", ".tmp"}
)

#: Bytes read from a capture before its format is decided, and per decoder feed after that.
HEAD_SIZE = 64 * 1024
READ_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True)
class InputFile:
    """One input as the user named it: a capture path, or the reason it cannot be used."""

    path: str
    error: str | None = None


def check_format(format: str) -> str:
    """Return ``format`` if it is one of :data:`FORMATS`, else raise :class:`FormatError`."""
    if format not in FORMATS:
        raise FormatError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    return format


def _is_capture(path: Path) -> bool:
    name = path.name
    if name.startswith((".", "_")):
        return False
    suffixes = [s.lower() for s in path.suffixes]
    while suffixes and suffixes[-1] in (".gz", ".zst"):
        suffixes.pop()
    return not (suffixes and suffixes[-1] in SKIP_SUFFIXES)


def find_captures(
    inputs: str | os.PathLike | Iterable[str | os.PathLike], *, exclude: Iterable[str | os.PathLike] = ()
) -> list[InputFile]:
    """Expand files and directories into capture files, in a stable order.

    Directories are walked recursively; hidden files and files whose suffix is in
    :data:`SKIP_SUFFIXES` (also under ``.gz``/``.zst``) are skipped, as are the directories
    in ``exclude`` (the output of a conversion that sits inside its input directory).
    A missing path, or a directory with no capture in it, becomes an entry with ``error``.
    Each file appears once, even if named twice.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    skip_dirs = {os.path.realpath(p) for p in exclude}
    found: list[InputFile] = []
    seen: set[str] = set()

    def add(path: str) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            found.append(InputFile(path))

    for item in inputs:
        path = os.fspath(item)
        if os.path.isdir(path):
            before = len(found)
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(
                    d
                    for d in dirs
                    if not d.startswith((".", "_"))
                    and os.path.realpath(os.path.join(root, d)) not in skip_dirs
                )
                for name in sorted(files):
                    if _is_capture(Path(root, name)):
                        add(os.path.join(root, name))
            if len(found) == before:
                found.append(InputFile(path, "no capture files in this directory"))
        elif os.path.isfile(path):
            add(path)
        elif os.path.exists(path):
            found.append(InputFile(path, "not a regular file"))
        else:
            found.append(InputFile(path, "no such file or directory"))
    return found


def decode_file(path: str | os.PathLike, *, format: str = "auto", source: str | None = None):
    """Open one capture and decode it piece by piece, so memory stays bounded.

    Returns ``(format, pieces)``: the format used (detected when ``format="auto"``) and an
    iterator of :class:`~bofan_analytics.decode.DecodedLog`, one per chunk read; together
    they hold every message and reject of the file. Formats the streaming decoder does not
    handle (``pcap``) come as one piece.
    """
    from ..decode import StreamDecoder, read_log
    from ..io import detect_format, open_capture

    check_format(format)
    source = os.fspath(path) if source is None else source
    handle = open_capture(path)
    try:
        head = handle.read(HEAD_SIZE)
        fmt = detect_format(head) if format == "auto" else format
    except BaseException:
        handle.close()
        raise
    if fmt not in _STREAMABLE:
        handle.close()
        return fmt, iter([read_log(path, format=fmt, source_name=source)])
    return fmt, _stream_pieces(handle, head, StreamDecoder(format=fmt, source=source))


def _stream_pieces(handle, head: bytes, decoder) -> Iterator:
    with handle:
        chunk = head
        while chunk:
            yield decoder.feed(chunk)
            chunk = handle.read(READ_SIZE)
        yield decoder.finish()
