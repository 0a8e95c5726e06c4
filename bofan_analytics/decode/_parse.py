"""Field parsing: every frame the framer cut becomes one row of the columns of
:mod:`._fields`, parsed by the kernel of its protocol.

Each protocol has a kernel of its own (:mod:`._pt502_kernels`, :mod:`._pt60_kernels`) and
only those whose frames occur are run, so a fleet of one kind never compiles the other's
parser. On a first run, :func:`start_compiling` has them compiled in second processes while
this one frames the input (see ``_numba.compile_aside``), and then compiles the kernels that
lay out the tables while it would wait for them.
"""

import numpy as np

from .._numba import await_aside, compile_aside, read_only
from . import _pt60_kernels, _pt502_kernels
from ._codes import R_UNKNOWN_PROTOCOL
from ._fields import C_STATUS, N_W, clear_rows, unset_columns

__all__ = ["parse_frames", "start_compiling", "PARSERS"]

#: the parser kernel modules, with what their frames start with: as bytes, and in the hex
#: of a tracker-server log line
PARSERS = ((_pt502_kernels.__name__, (b"$", b" 24")), (_pt60_kernels.__name__, (b"@", b" 40")))


def start_compiling(head: bytes) -> None:
    """On a first run, compile the parsers of the protocols whose frames seem to start
    somewhere in ``head`` (the first bytes of an input) in second processes, meanwhile,
    at this process's priority: the decode waits for them at its end."""
    for module, starts in PARSERS:
        if any(start in head for start in starts):
            compile_aside(module, niceness=0)


def parse_frames(buf, f_s, f_e, meanwhile=None):
    """Parse every frame ``buf[f_s[k]:f_e[k]]``.

    Returns ``(cv, iv, tm, fv, sl, tcode, cells_i, cells_cid, adc, wifi)`` (see
    :mod:`._fields`); a frame of no known protocol has the status ``unknown_protocol``.
    ``meanwhile``: what to compile while a parser still compiles aside (see
    ``_numba.await_aside``).
    """
    n = f_s.shape[0]
    columns = unset_columns(n)  # each parser clears the rows it takes
    cv, iv, tm, fv, sl, tcode, adc = columns
    first = buf[f_s] if n else np.zeros(0, np.uint8)
    # as the parsers tell their frames
    pt502 = first == ord("$")
    pt60 = (first == ord("@")) & (f_e - f_s >= 4)
    other = ~(pt502 | pt60)
    if other.any():
        clear_rows(columns, other)
        cv[C_STATUS][other] = R_UNKNOWN_PROTOCOL
    buf = read_only(buf)  # as the parsers are compiled (see warm_up)
    if pt502.any():
        await_aside(_pt502_kernels.__name__, meanwhile=meanwhile)
        _pt502_kernels.parse_pt502(buf, f_s, f_e, cv, iv, tm, fv, sl, tcode, adc)
    if pt60.any():
        await_aside(_pt60_kernels.__name__, meanwhile=meanwhile)
        cells_i, cells_cid, wifi = _pt60_kernels.parse_pt60(buf, f_s, f_e, cv, iv, tm, fv, sl,
                                                            tcode)
    else:
        cells_i = np.empty((4, 0), np.int32)
        cells_cid = np.empty(0, np.int64)
        wifi = np.empty((N_W, 0), np.int32)
    return cv, iv, tm, fv, sl, tcode, cells_i, cells_cid, adc, wifi
