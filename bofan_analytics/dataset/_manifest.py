"""The dataset's manifest (what it holds, per input) and the lock writers hold.

``DATASET/_manifest.json`` lists every live part file. A writer puts new files beside the
old ones under fresh names, then switches to them by replacing the manifest in one
``os.replace``; files the manifest does not list are leftovers of a killed run or of a
replaced generation, which readers of this package ignore and the next writer deletes.
So replacing an input's rows, appending to them and compacting a day each become visible
at once or not at all.

Manifest layout (``version`` 1)::

    {"version": 1,
     "inputs": {REAL_PATH: {"path", "source", "format", "size", "mtime_ns", "checked_ns",
                            "head_hash", "content_hash", "read", "resume",
                            "parts", "tail", "messages", "rejects",
                            "duplicate_of", "error"}},
     "compacted": {RELATIVE_FILE: [REAL_PATH, ...]}}

``read`` is the number of decompressed bytes seen, ``content_hash`` their hash and
``head_hash`` the hash of the first 64 KiB (``"xxh3-128:<hex>"``; bare hex digits are
blake2b hashes written by older versions, still compared as such); ``resume`` is the decoder's checkpoint (the
offset up to which every frame is final and the carry-over of unfinished ones), ``null``
when the input cannot be continued (packet captures). ``parts`` are the input's own files
of final rows, ``tail`` the files of the rows its last run's end gave (an unfinished frame
as a reject), replaced when the input grows. ``compacted`` maps a file written by
``compact`` to the inputs whose rows it holds.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path

from ..errors import BofanError, InputError
from . import _layout as layout

__all__ = ["Manifest", "DatasetLock", "DatasetBusyError", "LOCK_WAIT_S"]

VERSION = 1

#: Seconds a writer waits for another writer of the same dataset before giving up.
LOCK_WAIT_S = 10.0


class DatasetBusyError(BofanError):
    """Another ``convert`` or ``compact`` is writing the dataset."""


class Manifest:
    """The manifest of one dataset directory, loaded into plain dicts."""

    def __init__(self, root: Path, data: dict | None = None) -> None:
        self.root = Path(root)
        data = data or {}
        self.inputs: dict[str, dict] = data.get("inputs", {})
        self.compacted: dict[str, list[str]] = data.get("compacted", {})

    @classmethod
    def path_of(cls, root: str | os.PathLike) -> Path:
        return Path(root) / layout.MANIFEST

    @classmethod
    def exists(cls, root: str | os.PathLike) -> bool:
        return cls.path_of(root).is_file()

    @classmethod
    def load(cls, root: str | os.PathLike) -> Manifest:
        """Read the manifest of ``root``; an empty one when there is none yet."""
        path = cls.path_of(root)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(Path(root))
        try:
            data = json.loads(text)
        except ValueError:
            raise InputError(f"{path}: not a readable manifest") from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise InputError(f"{path}: manifest of an unknown version")
        return cls(Path(root), data)

    def live(self) -> set[str]:
        """Every file the dataset holds, relative to its root (``messages/date=…/part-…``)."""
        files = set(self.compacted)
        for entry in self.inputs.values():
            files.update(entry.get("parts", ()))
            files.update(entry.get("tail", ()))
        return files

    def commit(self) -> None:
        """Replace the manifest on disk in one rename; the new state is then the dataset."""
        path = self.path_of(self.root)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        data = {"version": VERSION, "inputs": self.inputs, "compacted": self.compacted}
        # dumps, not dump: dump goes piece by piece through json's Python encoder (a
        # manifest of 300 inputs: 19 ms), dumps encodes in one go in C (4 ms)
        text = json.dumps(data, separators=(",", ":"), sort_keys=True)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(self.root)

    def collect_garbage(self) -> int:
        """Delete part and temporary files the manifest does not list (only under the lock)."""
        live = self.live()
        removed = 0
        for table in (layout.MESSAGES_DIR, layout.REJECTS_DIR):
            for path in layout.table_files(self.root / table):
                if path.relative_to(self.root).as_posix() not in live:
                    path.unlink(missing_ok=True)
                    removed += 1
        for stale in self.root.glob(f".{layout.MANIFEST}.*.tmp"):
            stale.unlink(missing_ok=True)
        return removed

    def remove_files(self, relatives) -> None:
        """Delete files that the committed manifest no longer lists."""
        for relative in relatives:
            (self.root / relative).unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DatasetLock:
    """An advisory lock (``flock``) on ``DATASET/.lock`` for the time of one write.

    A second writer waits up to ``wait_s`` seconds (default :data:`LOCK_WAIT_S`), then
    raises :class:`DatasetBusyError`.
    Readers take no lock: they read the manifest, which changes in one rename.
    """

    def __init__(self, root: Path, *, wait_s: float | None = None) -> None:
        self.root = Path(root)
        self.wait_s = LOCK_WAIT_S if wait_s is None else wait_s
        self._fd: int | None = None

    def __enter__(self) -> DatasetLock:
        path = self.root / layout.LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                    os.close(fd)
                    who = f" (pid {holder})" if holder.isdigit() else ""
                    raise DatasetBusyError(
                        f"{self.root}: another bofan convert or compact is writing this "
                        f"dataset{who}; try again when it has finished"
                    ) from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
