"""``bofan summary``: counts over captures, decoded chunk by chunk.

The counting itself (and the text printed) is :mod:`bofan_analytics.decode.summary`, the
same a ``DecodedLog`` shows in a notebook; here the captures are found, decoded piece by
piece through the decode loop (:class:`~bofan_analytics.decode.reading.DecodeRun`, the
files of a rotated log together, as ``read_log`` reads them), and a capture stored twice
(``x`` and ``x.gz``) is counted once.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable

import pyarrow.compute as pc

from .. import schema
from .._validate import zone
from ..decode.reading import CaptureReader, DecodeRun
from ..decode.summary import Summary, count
from ..errors import TruncatedInputError
from ..io.files import source_name
from ._inputs import describe_error, find_captures, is_input_error, rotation_groups

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
    devices' server port in packet captures (see ``read_log``). The files of a rotated
    tracker-server log are read together, a frame split by the rotation joined. A cut-off
    compressed file is counted up to the break and reported as an error.
    """
    if log_tz is not None:
        zone(log_tz)  # an unknown zone is a bad argument, before any file is read
    files, errors, duplicates, counts = [], [], [], []
    seen: dict[str, str] = {}
    for group in rotation_groups(find_captures(inputs)):
        if group[0].error is not None:
            errors.append((group[0].path, group[0].error))
            continue
        paths = [item.path for item in group]
        digests = {path: hashlib.blake2b(digest_size=16) for path in paths}
        opening = [paths[0]]  # the file reached last, which an error is about

        def readers(paths=paths, digests=digests, opening=opening):
            for path in paths:  # each file opened when the loop reaches it
                opening[0] = path
                yield CaptureReader(path, digest=digests[path], name=path)

        run = DecodeRun(readers(), format=format, log_tz=log_tz, port=port)
        # per file: its format, message and reject rows, and the counts of its pieces
        found = {path: [None, 0, 0, []] for path in paths}
        names = {source_name(path): path for path in paths}
        try:
            for piece in run:
                found[names[run.current]][0] = run.format
                for path, messages, rejects in _by_file(piece, names):
                    entry = found[path]
                    entry[1] += messages.num_rows
                    entry[2] += rejects.num_rows
                    entry[3].append(count(messages, rejects))
        except TruncatedInputError as exc:
            # counted as far as it goes: the line says the file is cut off and what was kept
            errors.append((opening[0], f"{describe_error(exc)}; counted up to the break"))
            entry = found[opening[0]]
            entry[0] = f"{entry[0] if exc.decoded_bytes else 'nothing readable'} (cut off)"
        except Exception as exc:
            if not is_input_error(exc):
                raise
            errors.append((opening[0], describe_error(exc)))
            continue
        for path in paths:
            fmt, n_messages, n_rejects, parts = found[path]
            if fmt is None:
                continue  # not reached: reading broke off before it
            first = seen.setdefault(digests[path].hexdigest(), path)
            if first != path and (n_messages or n_rejects):
                # the same capture stored twice (x and x.gz): count it once, as convert does
                duplicates.append((path, first))
                continue
            counts.extend(parts)
            files.append((path, fmt, n_messages, n_rejects))
    summary = Summary.from_counts(counts)
    summary.files, summary.errors, summary.duplicates = files, errors, duplicates
    return summary


def _by_file(piece, names):
    """A piece's rows per file they come from (one file: the piece as it is)."""
    if len(names) == 1:
        yield next(iter(names.values())), piece.messages, piece.rejects
        return
    for name, path in names.items():
        yield (
            path,
            piece.messages.filter(pc.equal(piece.messages[schema.SOURCE], name)),
            piece.rejects.filter(pc.equal(piece.rejects[schema.SOURCE], name)),
        )
