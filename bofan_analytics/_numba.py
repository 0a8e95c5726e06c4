"""Numba settings, kept in one place.

Every kernel in the package is compiled with :data:`jit` (or :func:`pjit`, for kernels
parallel across devices): results are cached on disk so a
fresh process does not pay compilation twice, the GIL is released so chunks can be decoded
on threads, and no ``fastmath`` flags are set: missing values are NaN and must stay NaN.
"""

import functools
import sys
import threading
import types

import numba
import numba.core.event as _numba_event
import numpy as np
from numba.extending import register_jitable

from . import _numba_cache

__all__ = [
    "jit",
    "pjit",
    "helper",
    "read_only",
    "byte_array",
    "compile_aside",
    "await_aside",
    "aside_allowed",
    "run_aside",
    "stop_aside",
    "PLAIN",
    "NUMBA_OPTIONS",
    "PARALLEL_FROM",
    "COMPILE_NOTICES",
]

NUMBA_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}

#: the kernels run as plain Python: with numba's JIT disabled, and in the twin of the
#: decoder that decodes a first small input (:mod:`._plain`), whose ``_numba`` says True
PLAIN = bool(numba.config.DISABLE_JIT)

# a cached kernel is stale when any source it is built from changed, not only its own file
_numba_cache.install()

jit = numba.njit(**NUMBA_OPTIONS)


#: Inputs shorter than this run serially: waking the worker threads costs milliseconds,
#: more than the whole job on a small fleet.
PARALLEL_FROM = 200_000


class _DeviceParallel:
    """A kernel compiled twice: parallel across devices for big inputs, serial for small.

    Only for kernels whose ``prange`` loop (over devices, geofences or items) writes each
    iteration's own slice of the output. The size is that of the first argument.
    """

    def __init__(self, fn):
        serial = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__ + "_serial",
                                    fn.__defaults__, fn.__closure__)
        serial.__qualname__ = fn.__qualname__ + "_serial"
        self.parallel = numba.njit(parallel=True, **NUMBA_OPTIONS)(fn)
        self.serial = numba.njit(**NUMBA_OPTIONS)(serial)
        functools.update_wrapper(self, fn)

    def __call__(self, first, *args):
        if len(first) < PARALLEL_FROM:
            return self.serial(read_only(first), *(read_only(a) for a in args))
        _within_cores()
        return self.parallel(read_only(first), *(read_only(a) for a in args))


def _within_cores() -> None:
    """Numba runs a parallel kernel on a thread per CPU of the machine; where this process
    may use fewer (see :mod:`._cores`), the calling thread's kernels run on that many (a
    setting numba keeps per calling thread). Nothing changes where it may use them all."""
    from ._cores import usable_cores

    n = usable_cores()
    if not PLAIN and n < numba.config.NUMBA_NUM_THREADS and numba.get_num_threads() > n:
        numba.set_num_threads(n)


def read_only(value):
    """An array argument as the kernels are compiled for it: read-only and C-contiguous
    (a view, or a copy only when not contiguous); anything else as it is.

    numba compiles a kernel once per combination of argument types, and a read-only array
    (what Arrow and ``np.frombuffer`` give) is another type than a writable one: passing
    both would compile the kernel twice on a fresh install. Only for arguments a kernel
    does not write to.
    """
    if not isinstance(value, np.ndarray):
        return value
    if not value.flags.c_contiguous:
        value = np.ascontiguousarray(value)
    elif not value.flags.writeable:
        return value
    view = value.view()
    view.flags.writeable = False
    return view


def byte_array(data) -> np.ndarray:
    """The bytes of ``data`` (``bytes``, ``bytearray``, ``memoryview``) as the array the
    kernels that read them are compiled for: ``uint8``, read-only, not a copy.

    A file read into a ``bytearray`` gives a writable array, bytes in memory a read-only
    one: each kernel was compiled once per kind, a second time on the first file after
    bytes (or the other way round), seconds on a fresh install.
    """
    return read_only(np.frombuffer(data, np.uint8))


def pjit(fn):
    """Compile ``fn`` with the package settings, parallel for big inputs (see above)."""
    return _DeviceParallel(fn)


#: What the user is told, once per process and part, when a kernel of that part is really
#: compiled (not loaded from the on-disk cache): a fresh install compiles for a while, and
#: silence then looks like a hang. Keyed by the sub-package the kernel lives in.
COMPILE_NOTICES = {
    "decode": "compiling the decoder for this machine (first run only)…",
    "io": "compiling the capture readers for this machine (first run only)…",
    "analytics": "compiling the analytics kernels for this machine (first run only)…",
    "viz": "compiling the map kernels for this machine (first run only)…",
    "report": "compiling the report kernels for this machine (first run only)…",
    "dataset": "compiling the dataset kernels for this machine (first run only)…",
    "": "compiling kernels for this machine (first run only)…",
}


#: Parts whose first compilation in a process has the kernels of what usually follows
#: compiled in a second process meanwhile (:func:`compile_aside`): the analyses a notebook
#: and the report run after the first one (see :mod:`.analytics._warm`).
ASIDE_AFTER = {"analytics": "bofan_analytics.analytics._warm"}


class _CompileNotice(_numba_event.Listener):
    """Says on stderr, once per part, that a package kernel is being compiled, and starts
    compiling aside what follows that part (:data:`ASIDE_AFTER`).

    numba fires ``numba:compile`` only for a real compilation: a kernel loaded from the
    cache says nothing, so a warm run stays quiet.
    """

    def __init__(self):
        self._told = set()
        self._lock = threading.Lock()

    def on_start(self, event):
        dispatcher = (event.data or {}).get("dispatcher")
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "") or ""
        parts = module.split(".")
        if len(parts) < 2 or parts[0] != __package__:
            return
        part = parts[1] if parts[1] in COMPILE_NOTICES else ""
        if self.tell(part, COMPILE_NOTICES[part]) and part in ASIDE_AFTER:
            compile_aside(ASIDE_AFTER[part])

    def tell(self, key: str, text: str) -> bool:
        """Say ``text`` on stderr unless something was said under ``key`` in this process
        already; whether it was said now."""
        with self._lock:
            if key in self._told:
                return False
            self._told.add(key)
        print(f"bofan_analytics: {text}", file=sys.stderr, flush=True)
        return True

    def on_end(self, event):
        pass


_NOTICE = _CompileNotice()
_numba_event.register("numba:compile", _NOTICE)


def helper(fn=None, *, allocates=False, inline=False):
    """Compile ``fn``, a helper called only from other kernels, into each kernel that calls it.

    A ``jit`` function is a dispatcher: on a fresh install each one is compiled to machine
    code of its own, with its Python entry points, once per combination of argument types,
    and again inside every kernel that calls it. A helper is typed and compiled only for
    its callers (numba's ``register_jitable``): no Python entry points, no cache entry of
    its own, which took seconds off a first decode. Called from Python, a helper runs as
    plain Python: use it only from kernels (a test checks that nothing else calls one).

    A helper borrows the arrays it is given: it keeps no reference counts (numba's
    ``_nrt=False``). Counting costs two atomic operations per array argument and call,
    which in the frame parsers cost more than the parsing itself. Such a helper may read
    and write the elements of its arrays but neither makes an array nor returns one, and
    calls no helper that does; one that must is declared ``@helper(allocates=True)`` and
    counts references as kernels do. A test checks every helper against this rule.

    ``inline=True`` has LLVM inline the helper into every caller (``alwaysinline``): for the
    per-frame parsing steps, where a call's argument passing costs as much as the work.
    It is not the default: inlining every helper made a first compile 1.4 s longer.
    """
    def wrap(fn):
        options = {k: v for k, v in NUMBA_OPTIONS.items() if k != "cache"}
        if not allocates:
            options["_nrt"] = False
        if inline:
            options["forceinline"] = True
        return register_jitable(**options)(fn)

    return wrap if fn is None else wrap(fn)


# -- compiling aside ------------------------------------------------------------------------
#: how long a process waits for kernels compiled aside before compiling them itself
ASIDE_TIMEOUT_S = 600
_ASIDE = {}
_ASIDE_LOCK = threading.Lock()


def compile_aside(module: str, niceness: int = 10) -> None:
    """Start compiling the kernels of ``module`` (an importable name) in a second process,
    when they are not in the on-disk cache yet and this machine has a second core.

    The module defines ``KERNELS``, the dispatchers whose on-disk cache tells whether there
    is anything to do, and ``warm_up()``, which calls them with the argument types the
    package passes (that compiles and caches them). ``niceness`` is that process's
    priority below this one's (``os.nice``).

    On a fresh install the parsers of the protocols in the input then compile in second
    processes, at this process's priority, while this process compiles the line scanner
    and the framer; :func:`await_aside` waits for them before a kernel is first called,
    which then loads it from the cache. (At a lower priority they had the second core
    only while this process compiled, and this one then waited idle for seconds.)
    Likewise, when the first analytics kernel compiles, the analyses that usually follow
    compile in a second process, at a lower priority (:data:`ASIDE_AFTER`); nothing waits
    for that one: a kernel this process reaches first it compiles itself.

    Without a second core, with the JIT disabled, once cached, in a process compiling
    aside, or with ``BOFAN_COMPILE_ASIDE=0`` in the environment, this does nothing.
    """
    import importlib

    if not aside_allowed():
        return
    with _ASIDE_LOCK:
        if module in _ASIDE:
            return
        kernels = importlib.import_module(module).KERNELS
        if all(_is_cached(k) for k in kernels):
            _ASIDE[module] = None
            return
        _ASIDE[module] = _start(f"import {module} as m; m.warm_up()", niceness)


def aside_allowed() -> bool:
    """Whether this process may start compiling aside (see :func:`compile_aside`)."""
    import os

    from ._cores import usable_cores

    return not (numba.config.DISABLE_JIT or usable_cores() < 2
                or os.environ.get("BOFAN_COMPILE_ASIDE", "1") == "0")


def run_aside(key: str, code: str, niceness: int, data: bytes | None = None) -> None:
    """Run ``code`` in a second process that compiles what it needs (for instance
    ``read_log`` of an input this process decoded as plain Python), under ``key``:
    :func:`await_aside` waits for it, :func:`stop_aside` ends it, and so does the end of
    this process. ``data`` is given on its standard input. Once per key; nothing when
    compiling aside is not allowed (:func:`aside_allowed`)."""
    if not aside_allowed():
        return
    with _ASIDE_LOCK:
        if key in _ASIDE:
            return
        proc = _ASIDE[key] = _start(code, niceness, data)
    if proc is not None:
        import atexit

        atexit.register(stop_aside, key)


def stop_aside(key: str) -> None:
    """End the process :func:`run_aside` started under ``key``, if it still runs."""
    proc = _ASIDE.get(key)
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait()


def _start(code: str, niceness: int, data: bytes | None = None):
    """A second Python process running ``code`` at ``niceness`` below this one (the package
    importable, no further process started aside), reaped when it ends; None when it
    cannot start (this process then compiles what it needs itself, as always)."""
    import os
    import subprocess

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p))
    env["BOFAN_COMPILE_ASIDE"] = "0"  # that process compiles all it needs itself
    code = f"import os; hasattr(os, 'nice') and os.nice({int(niceness)}); {code}"
    try:
        proc = subprocess.Popen(
            [sys.executable, "-c", code], env=env,
            stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None

    def feed_and_reap():  # reaped when it ends, even if nothing ever waits for it
        if data is not None:
            try:
                proc.stdin.write(data)
                proc.stdin.close()
            except OSError:  # it ended early
                pass
        proc.wait()

    threading.Thread(target=feed_and_reap, name="bofan-compile-aside", daemon=True).start()
    return proc


def await_aside(module: str, meanwhile=None) -> None:
    """Wait until the kernels :func:`compile_aside` compiles for ``module`` are cached (or
    that process gave up; then they compile here, when first called). ``meanwhile``, when
    that process is still at work, is called first: what this process can compile itself
    instead of waiting idle."""
    import subprocess

    proc = _ASIDE.get(module)
    if proc is None:
        return
    if meanwhile is not None and proc.poll() is None:
        meanwhile()
    try:  # without the lock: another thread may start compiling something else meanwhile
        proc.wait(ASIDE_TIMEOUT_S)
    except subprocess.TimeoutExpired:  # stuck: this process compiles them instead
        proc.kill()
        proc.wait()
    _ASIDE[module] = None


def _is_cached(dispatcher) -> bool:
    """Whether numba's on-disk cache holds an index for ``dispatcher``'s source."""
    import os

    try:
        return os.path.exists(dispatcher._cache._cache_file._index_path)
    except AttributeError:  # not a caching dispatcher (or numba changed): nothing to do
        return True
