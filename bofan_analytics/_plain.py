"""The decoder's kernels run as plain Python, beside the compiled ones, for a first run.

A fresh install compiles the decoder for about ten seconds before it decodes anything. A
small input decodes faster than that as plain Python: the kernels are ordinary Python
functions under their decorators, and the whole suite of decoding tests runs them so
(``NUMBA_DISABLE_JIT=1``) to prove they give the same tables.

:func:`module` loads a *twin* of the decoding modules under ``bofan_analytics._twin``:
the same source files, executed a second time with ``_numba``'s decorators leaving each
kernel the Python function it is. Only the modules that hold kernels, or bind them, are
executed again (:data:`TWINNED`); every other module of the package is the one already
loaded, so the twin raises the package's own errors and returns its own ``DecodedLog``.
Nothing is copied: there is one source of each kernel.

``read_log`` takes this way (:func:`wanted`) for an input of at most
:data:`PLAIN_MAX_BYTES` while the framer, which every format needs, is not in the JIT
cache, and has a second process, at the lowest priority, decode the same input compiled
meanwhile (:func:`compile_later`): that fills the cache for the next input, and ends with
this process. ``BOFAN_PLAIN_FIRST=0`` in the environment turns this off.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
import types
from pathlib import Path

__all__ = ["TWIN", "TWINNED", "PLAIN_MAX_BYTES", "module", "wanted", "compile_later"]

#: inputs up to this size decode as plain Python on a first run: about two seconds here,
#: where compiling the decoder takes ten
PLAIN_MAX_BYTES = 1 << 20
#: a compressed file is counted as this many times its size (logs compress 6-15 times)
COMPRESSED_FACTOR = 16
#: the key of the process that compiles the decoder meanwhile (see ``_numba.run_aside``)
ASIDE_KEY = "decode:first-input"
NOTICE = ("decoding this small input as plain Python while the decoder compiles for this "
          "machine (first run only)…")

#: the name the twin's modules are loaded under
TWIN = __package__ + "._twin"
#: the modules executed again for the twin: the kernels and what binds them, down to
#: ``read_log``; the others of their packages are the package's own
TWINNED = frozenset({
    "decode._arrow_kernels", "decode._compressed_kernels", "decode._framing_kernels",
    "decode._lines_kernels", "decode._pt502_kernels", "decode._pt60_kernels",
    "decode._text_kernels", "decode._fields", "decode._parse", "decode._assemble",
    "decode.stream", "decode.reading", "decode.log",
    "io._pcap_kernels", "io.formats", "io.formats._base", "io.formats.lines",
    "io.formats.pcap", "io.formats.stream", "io.formats.traccar",
})
#: packages on the way to a twinned module: made empty (their ``__init__`` binds nothing
#: the twin needs), so that the package's own are not given the twin's modules
_BARE = frozenset({"decode", "io"})
_ROOT = Path(__file__).resolve().parent
_LOCK = threading.Lock()


def module(name: str) -> types.ModuleType:
    """The twin of the package's module ``name`` (``"decode.log"``), its kernels plain
    Python."""
    with _LOCK:
        if not any(isinstance(f, _TwinFinder) for f in sys.meta_path):
            sys.meta_path.insert(0, _TwinFinder())
        return importlib.import_module(f"{TWIN}.{name}")


def wanted(source) -> bool:
    """Whether ``read_log(source)`` should decode as plain Python: the framer is not compiled
    yet, the input holds at most :data:`PLAIN_MAX_BYTES` and this process may compile
    aside (not itself a process compiling aside, and ``BOFAN_PLAIN_FIRST`` is not 0)."""
    from . import _numba

    if (_numba.PLAIN or os.environ.get("BOFAN_PLAIN_FIRST", "1") == "0"
            or os.environ.get("BOFAN_COMPILE_ASIDE", "1") == "0"):
        return False
    from .decode._framing_kernels import frame_segments

    if _numba._is_cached(frame_segments):
        return False
    size = _input_bytes(source)
    return size is not None and size <= PLAIN_MAX_BYTES


def _input_bytes(source) -> int | None:
    """The size of ``source`` (bytes, or a list of paths, as ``read_log`` has made it),
    compressed files counted :data:`COMPRESSED_FACTOR` times; None past
    :data:`PLAIN_MAX_BYTES` or when it cannot be told (the compiled way then reports what
    is wrong)."""
    from .io.files import is_compressed, iter_capture_files

    if isinstance(source, (bytes, bytearray, memoryview)):
        return len(source)
    total = 0
    try:
        for path in iter_capture_files(source):
            size = os.path.getsize(path)
            total += size * COMPRESSED_FACTOR if is_compressed(path) else size
            if total > PLAIN_MAX_BYTES:
                return None
    except Exception:  # noqa: BLE001 - an input that cannot be read is reported elsewhere
        return None
    return total


def compile_later(source, **options) -> None:
    """Have a second process, at the lowest priority, decode ``source`` (bytes, or a list
    of paths) compiled, with ``read_log``'s ``options``: the kernels this input needs are
    then in the cache for the next one. It ends with this process (see
    ``_numba.run_aside``).

    The input and options reach it as data on its standard input (a pickle from this
    process); its code is fixed."""
    import pickle

    from . import _numba

    if isinstance(source, (bytes, bytearray, memoryview)):
        given = bytes(source)
    else:
        given = [os.fspath(p) for p in source]
    options = {k: dict(v) if hasattr(v, "items") else v for k, v in options.items()}
    _numba.run_aside(ASIDE_KEY, _DECODE_LATER, niceness=19,
                     data=pickle.dumps((given, options)))


#: what the second process of :func:`compile_later` runs
_DECODE_LATER = ("import pickle, sys, bofan_analytics as ba; "
                 "source, options = pickle.loads(sys.stdin.buffer.read()); "
                 "ba.read_log(source, **options)")


def _plain_numba() -> types.ModuleType:
    """``_numba`` as the twin sees it: decorators that leave a function the Python it is
    (a kernel under numpy's error state of compiled code), and no compiling aside."""
    import numpy as np

    from . import _numba

    plain = types.ModuleType(f"{TWIN}._numba", _numba.__doc__)
    plain.__dict__.update({k: v for k, v in vars(_numba).items() if not k.startswith("__")})

    def jit(fn):
        @functools.wraps(fn)
        def kernel(*args):
            # as compiled: integers wrap (hashes rely on it), floats go to inf / NaN, and
            # numpy says nothing, on whatever thread the kernel runs
            with np.errstate(all="ignore"):
                return fn(*args)

        return kernel

    def helper(fn=None, *, allocates=False, inline=False):
        return (lambda f: f) if fn is None else fn

    def compile_aside(module, niceness=10):
        return None

    def await_aside(module, meanwhile=None):
        return None

    plain.__dict__.update(jit=jit, pjit=jit, helper=helper, compile_aside=compile_aside,
                          await_aside=await_aside, PLAIN=True)
    return plain


class _Own(importlib.abc.Loader):
    """Gives the twin a module already made (the package's own, or the plain ``_numba``)."""

    def __init__(self, made):
        self._made = made

    def create_module(self, spec):
        return self._made

    def exec_module(self, module):
        pass


class _Bare(importlib.abc.Loader):
    """An empty package whose modules are found where the package's own are."""

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        pass


class _TwinFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname != TWIN and not fullname.startswith(TWIN + "."):
            return None
        rel = fullname[len(TWIN) + 1:]
        if not rel or rel in _BARE:
            where = _ROOT / rel.replace(".", "/") if rel else _ROOT
            spec = importlib.machinery.ModuleSpec(fullname, _Bare(), is_package=True)
            spec.submodule_search_locations = [str(where)]
            return spec
        if rel == "_numba":
            return importlib.machinery.ModuleSpec(fullname, _Own(_plain_numba()))
        if rel not in TWINNED:
            own = importlib.import_module(f"{__package__}.{rel}")
            return importlib.machinery.ModuleSpec(fullname, _Own(own))
        source = _ROOT / (rel.replace(".", "/") + ".py")
        if source.exists():
            return importlib.util.spec_from_file_location(fullname, source)
        package = _ROOT / rel.replace(".", "/") / "__init__.py"
        return importlib.util.spec_from_file_location(
            fullname, package, submodule_search_locations=[str(package.parent)])
