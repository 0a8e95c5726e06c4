"""Regions of a spread fleet, so that a map opens on one of them instead of the whole globe.

A fleet with vehicles in Johannesburg and personal trackers in Bogotá fitted into one view
shows two blobs on a world map. :func:`find_regions` groups the devices instead:

* each device stands at its **median position** (median latitude, median longitude of its
  fixes): a trip out of town or a stray fix does not move it;
* two devices whose median positions lie within ``join_distance_km`` of each other
  (great-circle distance) are in the same region, and so, through a chain of such
  neighbours, are all devices linked to them (single linkage);
* a region's **bounds** are those of all the fixes of its devices, so fitting the map to
  them shows every track of the region whole.

Regions are numbered from 1 by their number of devices (most first), then by their number
of fixes (most first), then by their first device id: region 1 is the one a map opens on.

Joining runs in a small numba kernel over the devices sorted by latitude: two devices
further apart in latitude than the join distance cannot be joined, so each device is
compared only with those of its latitude band. Bounds do not wrap across the
antimeridian: a region on both sides of 180° gets bounds around the globe.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import schema as S
from .._numba import helper, jit
from ..errors import FormatError
from ._html import escape_text

__all__ = ["Region", "find_regions", "join_points", "region_label", "picker_data",
           "JOIN_DISTANCE_KM"]

#: Devices whose median positions are closer than this are in one region (a metro area
#: and its surroundings; two cities a country apart are two regions).
JOIN_DISTANCE_KM = 300.0

_EARTH_RADIUS_KM = 6_371.0088
#: Device ids named in a region's label before "+N more".
_NAMED_DEVICES = 3


@dataclass(frozen=True)
class Region:
    """Devices drawn together: their ids, fixes, the bounds of those fixes and a centre."""

    devices: tuple
    fixes: int
    bounds: list  # [[south, west], [north, east]] in degrees
    centre: tuple  # (lat, lon): median of the devices' median positions


@helper
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        up = parent[i]
        parent[i] = root
        i = up
    return root


@jit
def _join_kernel(lat_rad, lon_rad, max_angle_rad):
    """Root of each point's group: points within ``max_angle_rad`` (central angle) are joined.

    ``lat_rad`` must be sorted ascending; the sweep stops at the first point whose latitude
    alone puts it out of reach.
    """
    n = lat_rad.shape[0]
    parent = np.arange(n)
    cos_lat = np.cos(lat_rad)
    for a in range(n):
        for b in range(a + 1, n):
            if lat_rad[b] - lat_rad[a] > max_angle_rad:
                break
            ra, rb = _find(parent, a), _find(parent, b)
            if ra == rb:
                continue
            h = (math.sin((lat_rad[b] - lat_rad[a]) / 2) ** 2
                 + cos_lat[a] * cos_lat[b] * math.sin((lon_rad[b] - lon_rad[a]) / 2) ** 2)
            if 2 * math.asin(math.sqrt(min(h, 1.0))) <= max_angle_rad:
                parent[max(ra, rb)] = min(ra, rb)
    for i in range(n):
        parent[i] = _find(parent, i)
    return parent


def join_points(lat, lon, *, join_distance_km: float = JOIN_DISTANCE_KM) -> np.ndarray:
    """Group number (0, 1, ... in order of first point) of points linked within the distance.

    >>> join_points([0.0, 0.0, 10.0], [0.0, 1.0, 0.0], join_distance_km=200).tolist()
    [0, 0, 1]
    """
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if not lat.shape[0]:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(lat, kind="stable")
    roots = np.empty(lat.shape[0], dtype=np.int64)
    roots[order] = order[_join_kernel(np.ascontiguousarray(np.radians(lat[order])),
                                      np.ascontiguousarray(np.radians(lon[order])),
                                      join_distance_km / _EARTH_RADIUS_KM)]
    _, first, group = np.unique(roots, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[group.reshape(-1)]


def find_regions(pos: pd.DataFrame, *, join_distance_km: float = JOIN_DISTANCE_KM) -> list:
    """The regions of the fleet in ``pos`` (usable fixes: ``device_id, lat, lon``), region 1 first.

    See the module's description for the rule. An empty frame has no region; a
    ``join_distance_km`` that is not a number >= 0 raises
    :class:`~bofan_analytics.errors.FormatError`.

    Examples
    --------
    >>> import pandas as pd
    >>> pos = pd.DataFrame({"device_id": ["a", "b", "c"], "lat": [-26.2, -26.1, 4.6],
    ...                     "lon": [28.0, 28.1, -74.1]})
    >>> [r.devices for r in find_regions(pos)]
    [('a', 'b'), ('c',)]
    """
    if isinstance(join_distance_km, bool) or not (
            isinstance(join_distance_km, numbers.Real) and join_distance_km >= 0):
        raise FormatError(f"the region join distance must be a number of km >= 0, "
                          f"got {join_distance_km!r}")
    if not len(pos):
        return []
    code, devices = pd.factorize(pos[S.DEVICE_ID].astype(str), sort=True)
    lat = pos[S.LAT].to_numpy(dtype=np.float64)
    lon = pos[S.LON].to_numpy(dtype=np.float64)
    medians = pd.DataFrame({"lat": lat, "lon": lon}).groupby(code).median()
    device_region = join_points(medians["lat"].to_numpy(), medians["lon"].to_numpy(),
                                join_distance_km=join_distance_km)
    fix_region = device_region[code]
    box = pd.DataFrame({"lat": lat, "lon": lon}).groupby(fix_region).agg(["min", "max"])
    fixes = np.bincount(fix_region, minlength=len(box))
    centre = medians.groupby(device_region).median()
    regions = []
    for r in range(len(box)):
        members = np.flatnonzero(device_region == r)
        row = box.iloc[r]
        regions.append(Region(
            devices=tuple(str(devices[i]) for i in members),
            fixes=int(fixes[r]),
            bounds=[[float(row[("lat", "min")]), float(row[("lon", "min")])],
                    [float(row[("lat", "max")]), float(row[("lon", "max")])]],
            centre=(float(centre["lat"].iloc[r]), float(centre["lon"].iloc[r])),
        ))
    regions.sort(key=lambda g: (-len(g.devices), -g.fixes, g.devices[0]))
    return regions


def _degrees(lat: float, lon: float) -> str:
    return (f"{abs(lat):.1f}°{'S' if lat < 0 else 'N'} "
            f"{abs(lon):.1f}°{'W' if lon < 0 else 'E'}")


def region_label(number: int, region: Region) -> str:
    """Escaped markup naming a region: its number, devices, centre and first device ids.

    >>> region_label(2, Region(("<b>",), 5, [[0, 0], [1, 1]], (4.6, -74.1)))
    '<b>Region 2</b> · 1 device<br><small>4.6°N 74.1°W · &lt;b&gt;</small>'
    """
    n = len(region.devices)
    named = ", ".join(escape_text(d) for d in region.devices[:_NAMED_DEVICES])
    if n > _NAMED_DEVICES:
        named += f" +{n - _NAMED_DEVICES:,} more"
    return (f"<b>Region {number}</b> · {n:,} device{'' if n == 1 else 's'}"
            f"<br><small>{_degrees(*region.centre)} · {named}</small>")


def picker_data(regions: list) -> list:
    """What the map's region picker draws: one ``{"label", "bounds"}`` per region, in order.

    Labels are escaped markup (device ids are data); bounds are rounded to 1e-5°.
    """
    return [
        {"label": region_label(i + 1, r),
         "bounds": [[round(v, 5) for v in corner] for corner in r.bounds]}
        for i, r in enumerate(regions)
    ]
