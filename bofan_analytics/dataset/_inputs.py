"""Finding capture files, and grouping the files of rotated logs, for ``convert`` and ``bofan summary``."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import BofanError, InputError
from ..io import iter_capture_files, rotation_order

__all__ = ["InputFile", "find_captures", "rotation_groups", "is_input_error", "describe_error"]

# Errors that mean "this input cannot be read", as opposed to a bug in the package.
_INPUT_ERRORS = (BofanError, OSError, EOFError, zlib.error)


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


def rotation_groups(found: list[InputFile]) -> list[list[InputFile]]:
    """The inputs to decode together: the files of a rotated log (``x.log.20261102`` then
    ``x.log``; see :func:`~bofan_analytics.io.rotation_order`) as one group in reading
    order, every other input (and every input with an ``error``) on its own.

    >>> [[i.path for i in g] for g in rotation_groups([InputFile("t.log"), InputFile("t.log.20261102")])]
    [['t.log.20261102', 't.log']]
    """
    readable = {Path(item.path): item for item in found if item.error is None}
    groups = {id(group[0]): group for group in
              ([readable[p] for p in paths] for paths in rotation_order(readable))}
    out = []
    for item in found:
        if item.error is not None:
            out.append([item])
        else:
            group = groups.pop(id(item), None)
            if group is not None:
                out.append(group)
    # a group is listed where its first file (in reading order) was found
    return out


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
