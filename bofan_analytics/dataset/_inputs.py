"""Finding capture files and decoding them chunk by chunk, for ``convert`` and ``bofan summary``."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..errors import BofanError, InputError, TruncatedInputError
from ..io import CAPTURE_FORMATS, iter_capture_files, open_capture, place_format
from ..io.files import check_format

__all__ = ["InputFile", "find_captures", "decode_file", "is_input_error", "describe_error"]

# Errors that mean "this input cannot be read", as opposed to a bug in the package.
_INPUT_ERRORS = (BofanError, OSError, EOFError, zlib.error)

#: Formats the streaming decoder reads piece by piece (all of them).
_STREAMABLE = frozenset(CAPTURE_FORMATS)

#: Bytes read from a capture before its format is decided, and per decoder feed after that.
HEAD_SIZE = 64 * 1024
READ_SIZE = 4 * 1024 * 1024


@dataclass(frozen=True)
class InputFile:
    """One input as the user named it: a capture path, or the reason it cannot be used."""

    path: str
    error: str | None = None


def find_captures(inputs: str | os.PathLike | Iterable[str | os.PathLike]) -> list[InputFile]:
    """Expand files and directories into capture files, each once, in a stable order.

    Directories are walked as :func:`bofan_analytics.io.iter_capture_files` walks them.
    Unlike it, a missing path or a directory without captures does not stop the others:
    it becomes an entry with ``error``.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found: list[InputFile] = []
    seen: set[str] = set()
    for item in inputs:
        path = os.fspath(item)
        unreadable: list[InputFile] = []
        try:
            files = [
                os.fspath(p)
                for p in iter_capture_files(
                    path, on_error=lambda bad, why, out=unreadable: out.append(InputFile(bad, why))
                )
            ]
        except InputError:
            found.append(InputFile(path, "no such file or directory"))
            continue
        found.extend(unreadable)  # a directory that cannot be read is an error, not skipped
        if unreadable and not files:
            continue
        if not files:
            found.append(InputFile(path, "no capture files in this directory"))
        for name in files:
            real = os.path.realpath(name)
            if real not in seen:
                seen.add(real)
                found.append(InputFile(name))
    return found


def decode_file(
    path: str | os.PathLike,
    *,
    format: str = "auto",
    source: str | None = None,
    digest=None,
    log_tz: str | None = None,
    port: int | str = 8888,
):
    """Open one capture and decode it piece by piece, so memory stays bounded.

    Returns ``(format, pieces)``: the format used (detected when ``format="auto"``) and an
    iterator of :class:`~bofan_analytics.decode.DecodedLog`, one per chunk read; together
    they hold every message and reject of the file. Formats the streaming decoder does not
    handle (``pcap``) come as one piece. ``digest`` (a ``hashlib`` object), if given, is
    fed the decompressed bytes, to tell the same capture stored twice (``x`` and ``x.gz``).
    ``log_tz`` is the zone of a tracker-server log's time stamps (default UTC). A file whose
    format cannot be told is an ``InputError`` naming it. ``port`` is the devices' server
    port in packet captures (see ``read_log``).
    """
    from ..decode import StreamDecoder, read_log

    check_format(format)
    source = os.fspath(path) if source is None else source
    handle = open_capture(path)
    try:
        head = handle.read(HEAD_SIZE)
        fmt = place_format(head, source) if format == "auto" else format
        if fmt not in _STREAMABLE:
            chunk = head
            while chunk and digest is not None:
                digest.update(chunk)
                chunk = handle.read(READ_SIZE)
            handle.close()
            return fmt, iter([read_log(path, format=fmt, source_name=source, log_tz=log_tz)])
    except BaseException:
        handle.close()
        raise
    decoder = StreamDecoder(format=fmt, source=source, log_tz=log_tz, forced=format != "auto",
                            port=port)
    return fmt, _stream_pieces(handle, head, decoder, digest)


def _stream_pieces(handle, head: bytes, decoder, digest) -> Iterator:
    with handle:
        chunk = head
        while chunk:
            if digest is not None:
                digest.update(chunk)
            yield decoder.feed(chunk)
            try:
                chunk = handle.read(READ_SIZE)
            except TruncatedInputError:
                # a cut-off .gz / .zst: what came before the break is kept, the frame cut
                # there becomes a reject, and the error still says the file is incomplete
                decoder.forced = False
                yield decoder.finish()
                raise
        yield decoder.finish()


def is_input_error(exc: BaseException) -> bool:
    """Whether ``exc`` means an input cannot be read (as opposed to a bug here)."""
    if isinstance(exc, _INPUT_ERRORS):
        return True
    # zstandard raises its own error type for a corrupt or cut-off stream
    return type(exc).__module__.startswith(("zstd", "gzip", "zlib"))


def describe_error(exc: BaseException) -> str:
    """A one-line reason for an input error."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() if exc.filename is None else exc.strerror
    return str(exc) or type(exc).__name__
