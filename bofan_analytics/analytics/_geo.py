"""Distance kernels shared by the analytics modules (metres, WGS-84 degrees in)."""

import math

import numba
import numpy as np

from .._numba import NUMBA_OPTIONS, jit

__all__ = ["EARTH_RADIUS_M", "pjit", "haversine_m", "hop_distances", "fill_speed"]

#: The package settings plus ``parallel``: only for kernels whose loop over devices writes
#: each device's own slice of the output.
pjit = numba.njit(parallel=True, **NUMBA_OPTIONS)

#: Mean Earth radius (IUGG), the sphere every distance here is measured on.
EARTH_RADIUS_M = 6_371_008.8

_RAD = math.pi / 180.0


@jit
def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres between two points given in degrees."""
    p1 = lat1 * _RAD
    p2 = lat2 * _RAD
    dp = p2 - p1
    dl = (lon2 - lon1) * _RAD
    a = math.sin(dp * 0.5) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


@pjit
def hop_distances(lat, lon, bounds):
    """Metres from the previous fix of the same device (0 at each device's first fix)."""
    n = lat.shape[0]
    out = np.zeros(n)
    for g in numba.prange(bounds.shape[0] - 1):
        for i in range(bounds[g] + 1, bounds[g + 1]):
            out[i] = haversine_m(lat[i - 1], lon[i - 1], lat[i], lon[i])
    return out


@pjit
def fill_speed(speed, hop_m, t_ms, bounds):
    """Speed per fix: the reported one, else the speed implied by the hop into the fix.

    A device's first fix takes the speed of the hop out of it, a lone fix stays NaN.
    """
    out = speed.copy()
    for g in numba.prange(bounds.shape[0] - 1):
        s = bounds[g]
        e = bounds[g + 1]
        for i in range(s, e):
            if not math.isnan(out[i]):
                continue
            j = i if i > s else i + 1
            if j >= e:
                continue
            dt = (t_ms[j] - t_ms[j - 1]) / 1000.0
            if dt > 0:
                out[i] = hop_m[j] / dt * 3.6
    return out
