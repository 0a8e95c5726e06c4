"""Distance kernels shared by the analytics modules (metres, WGS-84 degrees in)."""

import math

import numba
import numpy as np

from .._numba import helper, pjit

__all__ = ["EARTH_RADIUS_M", "haversine_m", "cumulative_m", "fill_speed"]

#: Mean Earth radius (IUGG), the sphere every distance here is measured on.
EARTH_RADIUS_M = 6_371_008.8

_RAD = math.pi / 180.0
_M_PER_DEG = EARTH_RADIUS_M * _RAD
#: Hops shorter than this (degrees on either axis, about 5 km) use the local flat-earth
#: formula; its error there is below a millimetre per kilometre.
_FLAT_DEG = 0.05


@helper
def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres between two points given in degrees."""
    p1 = lat1 * _RAD
    p2 = lat2 * _RAD
    dp = p2 - p1
    dl = (lon2 - lon1) * _RAD
    a = math.sin(dp * 0.5) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


@pjit
def cumulative_m(lat, lon, bounds):
    """Path length in metres from each device's first fix to every fix.

    The distance between rows ``a <= b`` of one device is ``cum[b] - cum[a]``. A hop of a few
    kilometres or less is measured on the local tangent plane (one cosine per fix instead
    of the haversine's five transcendental calls per hop); longer hops on the sphere.
    """
    n = lat.shape[0]
    out = np.empty(n)
    for g in numba.prange(bounds.shape[0] - 1):
        s = bounds[g]
        e = bounds[g + 1]
        if e <= s:
            continue
        out[s] = 0.0
        c_prev = math.cos(lat[s] * _RAD)
        for i in range(s + 1, e):
            c = math.cos(lat[i] * _RAD)
            dlat = lat[i] - lat[i - 1]
            dlon = lon[i] - lon[i - 1]
            if abs(dlat) < _FLAT_DEG and abs(dlon) < _FLAT_DEG:
                dx = dlon * 0.5 * (c + c_prev) * _M_PER_DEG
                dy = dlat * _M_PER_DEG
                d = math.sqrt(dx * dx + dy * dy)
            else:
                d = haversine_m(lat[i - 1], lon[i - 1], lat[i], lon[i])
            out[i] = out[i - 1] + d
            c_prev = c
    return out


@pjit
def fill_speed(speed, cum_m, t_ms, bounds):
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
                out[i] = (cum_m[j] - cum_m[j - 1]) / dt * 3.6
    return out
