"""Reading an input for ``convert``: what changed since the manifest's entry, and a
content hash of every byte read."""

from __future__ import annotations

import hashlib

from ..decode import reading
from ..io import open_capture

__all__ = ["ManifestReader", "HASH_NAME", "CHUNK_SHARE"]

#: ``convert`` decodes in chunks of this share of the decode loop's size (``read_log``'s).
#: Besides a chunk being decoded it holds a chunk of rows for the writer threads and the
#: ones being written; the writers, not the decoder, set the pace. Converting a 309 MB line log
#: peaked at 511-514 MiB RSS with 8 MiB chunks and 466-469 MiB with 4 MiB, in the same time.
CHUNK_SHARE = 0.5


class ManifestReader:
    """Reads one input and decides, from the manifest entry, what of it to decode.

    With an entry it reads and hashes the bytes the last run saw: the same head and the
    same hash and nothing more is ``"unchanged"``; the same and more is ``"appended"``
    (:meth:`chunks` then gives the bytes from the last checkpoint on); anything else is
    ``"replaced"`` and :meth:`chunks` gives everything, as for a ``"new"`` input. Every
    byte read is hashed once, in order, into ``digest``; ``read`` counts them, ``fed`` those
    :meth:`chunks` gave. It reads as the decode loop's readers do
    (:class:`~bofan_analytics.decode.reading.CaptureReader`): ``name``, ``head``,
    :meth:`chunks`, :meth:`close`; the chunks are a share of the loop's size
    (:data:`CHUNK_SHARE`).
    """

    def __init__(self, path: str, entry: dict | None) -> None:
        self.path = self.name = path
        self.fed = 0
        self._handle = None
        self._start()
        self.status = "new" if entry is None else self._compare(entry)
        if self.status == "replaced":
            self._start()
        if self.status == "unchanged":
            self.close()

    def _start(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = open_capture(self.path)
        self.head = self._handle.read(reading.HEAD_BYTES)
        self.head_hash = _hash(self.head)
        self.digest = _digest(self.head)
        self.read = len(self.head)
        self._pending = [self.head]

    def _compare(self, entry: dict) -> str:
        seen = entry["read"]
        head_size = reading.HEAD_BYTES
        if len(self.head) < min(seen, head_size):
            return "replaced"  # shorter than before
        if _hash(self.head[: min(seen, head_size)], like=entry["head_hash"]) != entry["head_hash"]:
            return "replaced"
        state = entry.get("resume")
        consumed = seen if state is None else state["consumed"]
        # hash exactly the bytes the last run saw, keeping those from its checkpoint on
        prefix = _digest(self.head[:seen], like=entry["content_hash"])
        kept = [self.head[consumed:seen]]
        position = min(seen, len(self.head))
        while position < seen:
            data = self._handle.read(min(reading.CHUNK_BYTES, seen - position))
            if not data:
                return "replaced"  # shorter than before
            prefix.update(data)
            kept.append(data[max(0, consumed - position) :])
            position += len(data)
        if prefix.hexdigest() != entry["content_hash"]:
            return "replaced"
        more = self.head[seen:] or self._handle.read(reading.CHUNK_BYTES)
        if not more:
            return "unchanged"
        if state is None:
            return "replaced"  # cannot go on from where it stopped: decode it whole
        prefix.update(more)
        self.digest = prefix
        self.read = seen + len(more)
        self._pending = [*kept, more]
        return "appended"

    def chunks(self, scale: int = 1):
        """The bytes to decode, chunk by chunk (:func:`~..decode.reading.read_chunks`), of
        :data:`CHUNK_SHARE` of ``scale`` times the default size (a format's
        ``chunk_scale``)."""
        pending, self._pending = self._pending, []
        size = max(1, int(reading.chunk_size(None, scale) * CHUNK_SHARE))
        join = reading.rest_fits(self._handle, size)  # a small file: one chunk, one step
        for chunk in reading.read_chunks(self._handle, size, pending, self._seen, join=join):
            self.fed += len(chunk)
            yield chunk

    def _seen(self, data) -> None:
        self.digest.update(data)
        self.read += len(data)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()


#: Name of the content hash, written before its hex digits: XXH3 (128 bits) hashes at
#: memory speed (tens of GB/s), where a cryptographic hash (blake2b, ~0.7 GB/s) costs a
#: third of the decoding time. It guards against accidents (a file replaced, truncated,
#: copied), not against an adversary choosing colliding captures.
HASH_NAME = "xxh3-128"


class _Xxh3:
    """XXH3-128 with the interface of a ``hashlib`` object; its digest names the hash."""

    def __init__(self, data: bytes = b"") -> None:
        import xxhash

        self._h = xxhash.xxh3_128(data)

    def update(self, data: bytes) -> None:
        self._h.update(data)

    def hexdigest(self) -> str:
        return f"{HASH_NAME}:{self._h.hexdigest()}"


def _digest(data: bytes = b"", *, like: str | None = None):
    """A running hash of ``data``: of the kind that made ``like`` (a recorded hash), so
    inputs of a dataset written before hashes were named (bare blake2b digits) are still
    recognised as unchanged or grown; otherwise XXH3."""
    if like is not None and ":" not in like:
        return hashlib.blake2b(data, digest_size=16)
    return _Xxh3(data)


def _hash(data: bytes, *, like: str | None = None) -> str:
    return _digest(data, like=like).hexdigest()
