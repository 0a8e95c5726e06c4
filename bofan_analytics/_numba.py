"""Numba settings, kept in one place.

Every kernel in the package is compiled with :data:`jit`: results are cached on disk so a
fresh process does not pay compilation twice, the GIL is released so chunks can be decoded
on threads, and no ``fastmath`` flags are set: missing values are NaN and must stay NaN.
"""

import numba

__all__ = ["jit", "NUMBA_OPTIONS"]

NUMBA_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy", "boundscheck": False}

jit = numba.njit(**NUMBA_OPTIONS)
