"""When a cached kernel is stale: numba's on-disk cache keyed by every source it is built from.

Numba keys a cached kernel by a hash of the one file that defines it. A kernel compiles
the helpers it calls (``_numba.helper``: the field parsers, the word scans) into itself,
and they mostly live in other files: a release that changed only a helper would have
every installed cache go on running the old helper, silently, wherever the kernel's own
file did not change (numba's cache files are not the package's; an upgrade leaves them).

:func:`install` puts a cache locator in front of numba's own for the package's files and
for files that import the package (tests, notebooks' scripts). It finds the cache where
numba would, but its source stamp hashes the file together with every file of the
package it imports, directly or through others: any change to a helper makes the kernels
built from it compile again. Files that do not import the package keep numba's locators.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
from pathlib import Path

__all__ = ["install", "sources_of"]

PACKAGE = Path(__file__).resolve().parent
_NAME = PACKAGE.name

# ``from .x import …``, ``from .. import a, b``, ``from bofan_analytics.x import …`` and
# ``import bofan_analytics.x``; the names matter when they are modules (``from . import``)
_FROM = re.compile(rb"^[ \t]*from[ \t]+(\.+[\w.]*|" + _NAME.encode() + rb"[\w.]*)[ \t]+import"
                   rb"[ \t]+(\([^)]*\)|[^\n#]*)", re.M)  # fmt: skip
_IMPORT = re.compile(rb"^[ \t]*import[ \t]+(" + _NAME.encode() + rb"[\w.]*)", re.M)


def _module_file(parts: list[str]) -> Path | None:
    """The file of the package's module ``parts`` (``["decode", "_fields"]``), if any."""
    base = PACKAGE.joinpath(*parts)
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(path: Path, text: bytes) -> set[Path]:
    """The files of the package that ``path`` imports (one step)."""
    inside = PACKAGE in path.parents
    here = list(path.relative_to(PACKAGE).parts[:-1]) if inside else None
    found = set()
    for match in _FROM.finditer(text):
        module = match.group(1).decode()
        names = re.sub(r"#[^\n]*", "", match.group(2).decode())  # comments between names
        if module.startswith("."):
            if here is None:
                continue
            level = len(module) - len(module.lstrip("."))
            parts = here[: len(here) - (level - 1)] if level > 1 else list(here)
            parts += [p for p in module.lstrip(".").split(".") if p]
        else:
            parts = module.split(".")[1:]
        for candidate in [parts] + [parts + [name.split(" as ")[0].strip()]
                                    for name in names.strip("()").split(",") if name.strip()]:
            file = _module_file(candidate)
            if file is not None:
                found.add(file)
    for match in _IMPORT.finditer(text):
        file = _module_file(match.group(1).decode().split(".")[1:])
        if file is not None:
            found.add(file)
    return found


@functools.cache
def _read(path: Path, mtime_ns: int, size: int) -> tuple[bytes, frozenset]:
    """A file's hash and the package files it imports (memoized while it is unchanged)."""
    text = path.read_bytes()
    return hashlib.sha256(text).digest(), frozenset(_imports(path, text))


def _read_now(path: Path) -> tuple[bytes, frozenset]:
    st = path.stat()
    return _read(path, st.st_mtime_ns, st.st_size)


def sources_of(path) -> list[Path]:
    """``path`` and every file of the package it imports, directly or through others, in
    a fixed order; only ``path`` when it imports nothing of the package."""
    path = Path(path).resolve()
    seen = {path}
    todo = [path]
    while todo:
        for file in _read_now(todo.pop())[1]:
            if file not in seen:
                seen.add(file)
                todo.append(file)
    return [path, *sorted(seen - {path})]


def _stamp(path) -> bytes:
    digest = hashlib.sha256()
    for file in sources_of(path):
        digest.update(str(file.relative_to(PACKAGE) if PACKAGE in file.parents else "")
                      .encode() + b"\0" + _read_now(file)[0])  # fmt: skip
    return digest.digest()


def _ours(py_file) -> bool:
    """Whether ``py_file`` is the package's or imports it."""
    if getattr(sys, "frozen", False) or not os.path.isfile(py_file):
        return False
    path = Path(py_file).resolve()
    return PACKAGE in path.parents or len(sources_of(path)) > 1


def _covering(base):
    """``base`` (a numba locator class) for our files, stamped with all their sources."""

    class Locator(base):
        def get_source_stamp(self):
            return _stamp(self._py_file)

        @classmethod
        def from_function(cls, py_func, py_file):
            if not _ours(py_file):
                return None
            return super().from_function(py_func, py_file)

    Locator.__name__ = Locator.__qualname__ = "Package" + base.__name__
    return Locator


def install() -> None:
    """Put the locators in front of numba's (once): numba asks each in turn, so ours
    answer for our files, numba's for the rest, in the places numba's would use."""
    from numba.core import caching

    classes = caching.CacheImpl._locator_classes
    if any(getattr(cls, "_bofan", False) for cls in classes):
        return
    ours = []
    for base in (caching.UserProvidedCacheLocator, caching.InTreeCacheLocator,
                 caching.UserWideCacheLocator):  # fmt: skip
        cls = _covering(base)
        cls._bofan = True
        ours.append(cls)
    classes[:0] = ours
