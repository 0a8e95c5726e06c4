"""Numba settings, kept in one place.

Every kernel in the package is compiled with :data:`jit` (or :func:`pjit`, for kernels
parallel across devices): results are cached on disk so a
fresh process does not pay compilation twice, the GIL is released so chunks can be decoded
on threads, and no ``fastmath`` flags are set: missing values are NaN and must stay NaN.
"""

import functools
import types

import numba

__all__ = ["jit", "pjit", "NUMBA_OPTIONS", "PARALLEL_FROM"]

NUMBA_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}

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
        kernel = self.parallel if len(first) >= PARALLEL_FROM else self.serial
        return kernel(first, *args)


def pjit(fn):
    """Compile ``fn`` with the package settings, parallel for big inputs (see above)."""
    return _DeviceParallel(fn)
