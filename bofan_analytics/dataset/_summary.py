"""``bofan summary``: counts over captures, decoded chunk by chunk.

The counting itself (and the text printed) is :mod:`bofan_analytics.decode.summary`, the
same a ``DecodedLog`` shows in a notebook; here the captures are found, decoded piece by
piece, and a capture stored twice (``x`` and ``x.gz``) is counted once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

from .._validate import zone
from ..decode.summary import Summary, count
from ..errors import TruncatedInputError
from ._inputs import decode_file, describe_error, find_captures, is_input_error

__all__ = ["Summary", "summarize"]


def summarize(
    inputs: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    format="auto",
    log_tz: str | None = None,
    port=8888,
) -> Summary:
    """Decode captures piece by piece and count devices, frame types, positions, rejects.

    ``log_tz`` is the zone of tracker-server log time stamps (default UTC); ``port`` is the
    devices' server port in packet captures (see ``read_log``). A cut-off compressed file
    is counted up to the break and reported as an error.
    """
    if log_tz is not None:
        zone(log_tz)  # an unknown zone is a bad argument, before any file is read
    files, errors, duplicates, counts = [], [], [], []
    seen: dict[str, str] = {}
    for item in find_captures(inputs):
        if item.error is not None:
            errors.append((item.path, item.error))
            continue
        digest = hashlib.blake2b(digest_size=16)
        parts = []
        n_messages = n_rejects = 0
        fmt = None
        try:
            fmt, pieces = decode_file(item.path, format=format, digest=digest, log_tz=log_tz,
                                      port=port)
            for piece in pieces:
                n_messages += piece.messages.num_rows
                n_rejects += piece.rejects.num_rows
                parts.append(count(piece.messages, piece.rejects))
        except TruncatedInputError as exc:
            # counted as far as it goes: the line says the file is cut off and what was kept
            errors.append((item.path, f"{describe_error(exc)}; counted up to the break"))
            fmt = f"{fmt or 'nothing readable'} (cut off)"
        except Exception as exc:
            if not is_input_error(exc):
                raise
            errors.append((item.path, describe_error(exc)))
            continue
        first = seen.setdefault(digest.hexdigest(), item.path)
        if first != item.path and (n_messages or n_rejects):
            # the same capture stored twice (x and x.gz): count it once, as convert keeps it
            duplicates.append((item.path, first))
            continue
        counts.extend(parts)
        files.append((item.path, fmt, n_messages, n_rejects))
    summary = Summary.from_counts(counts)
    summary.files, summary.errors, summary.duplicates = files, errors, duplicates
    return summary
