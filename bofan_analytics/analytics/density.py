"""Where a fleet spends its time: fixes, dwell and devices per H3 cell.

Each fix is put in the H3 cell (Uber's hexagonal grid, the ``h3`` package) that holds it at
``resolution`` (8: cells of about 0.74 km²; 9: 0.1 km²; 7: 5 km²). Per cell:

* ``fixes``: how many fixes fall in it;
* ``dwell_s``: the time from each of those fixes to the device's next fix, credited to the
  fix's cell. A gap longer than ``max_gap_s`` counts only when the next fix is in the same
  cell (a tracker that slept where it was); otherwise nobody knows where the device spent
  it, and it counts nowhere. A device's last fix adds nothing;
* ``devices``: how many different devices were seen in it.

The cell of each fix is one call into the h3 C library (about a microsecond); everything
else is array work: a factorisation of the cells, ``bincount`` sums, and one ``unique`` of
``(cell, device)`` pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validate import non_negative, whole
from ..schema import DWELL_S, LAT, LON
from ._input import as_positions
from ._track import prepare

__all__ = ["density", "DENSITY_COLUMNS"]

DENSITY_COLUMNS = ("h3_cell", LAT, LON, "fixes", DWELL_S, "devices")


def _cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    import h3.api.numpy_int as h3

    return np.fromiter(map(h3.latlng_to_cell, lat.tolist(), lon.tolist(),
                           [resolution] * lat.shape[0]), dtype=np.uint64, count=lat.shape[0])


def _hexagons(cells: np.ndarray):
    import h3.api.numpy_int as h3
    import shapely

    rings = [h3.cell_to_boundary(int(c)) for c in cells]
    sizes = np.fromiter((len(r) + 1 for r in rings), dtype=np.int64, count=len(rings))
    if not rings:
        return np.empty(0, dtype=object)
    latlng = np.concatenate([np.vstack([r, r[:1]]) for r in rings])  # closed rings
    owner = np.repeat(np.arange(len(rings)), sizes)
    return shapely.polygons(shapely.linearrings(latlng[:, 1], latlng[:, 0], indices=owner))


def density(
    positions,
    *,
    resolution: int = 8,
    max_gap_s: float = 3600,
    geometry: bool = False,
    devices=None,
    start=None,
    end=None,
) -> pd.DataFrame:
    """Fixes, dwell time and devices per H3 cell.

    Parameters
    ----------
    positions : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Fixes of one or many devices, in any order; duplicates are dropped.
    resolution : int
        H3 resolution, 0 (continents) to 15 (about a square metre); 8 is a city block
        scale (cells of about 0.74 km²).
    max_gap_s : float
        A longer silence between two fixes counts as dwell only when both are in the same
        cell (see the module docstring).
    geometry : bool
        Return a GeoDataFrame (EPSG:4326) with each cell's hexagon.
    devices, start, end : optional
        Only these devices (an id or a list of ids) within ``[start, end]``.

    Returns
    -------
    pandas.DataFrame
        ``h3_cell`` (the cell's id as h3 writes it), ``lat, lon`` (its centre),
        ``fixes, dwell_s, devices``; one row per cell with fixes, most fixes first
        (ties by cell id).

    Examples
    --------
    >>> cells = density(log.positions(), resolution=9)      # doctest: +SKIP
    >>> cells.head(3)                                        # doctest: +SKIP
    """
    import h3.api.numpy_int as h3

    whole("resolution", resolution, lo=0, hi=15)
    non_negative("max_gap_s", max_gap_s)
    track = prepare(as_positions(positions, devices=devices, start=start, end=end))
    cells = _cells(track.lat, track.lon, int(resolution))
    code, uniq = pd.factorize(cells, sort=True)
    m = uniq.shape[0]
    group = np.repeat(np.arange(track.bounds.shape[0] - 1), np.diff(track.bounds))

    # dwell: to the next fix of the same device, long silences only where it stayed
    dt = np.zeros(track.n)
    if track.n > 1:
        same_device = group[1:] == group[:-1]
        gap = np.diff(track.t_ms) / 1000.0
        stayed = code[1:] == code[:-1]
        dt[:-1] = np.where(same_device & ((gap <= max_gap_s) | stayed), gap, 0.0)

    fixes = np.bincount(code, minlength=m)
    dwell = np.bincount(code, weights=dt, minlength=m)
    n_groups = track.bounds.shape[0] - 1
    pairs = np.unique(code.astype(np.int64) * max(n_groups, 1) + group)
    n_dev = np.bincount(pairs // max(n_groups, 1), minlength=m)
    centres = [h3.cell_to_latlng(int(c)) for c in uniq]
    lat = np.array([c[0] for c in centres], dtype=np.float64)
    lon = np.array([c[1] for c in centres], dtype=np.float64)
    names = np.array([h3.int_to_str(int(c)) for c in uniq], dtype=object)
    order = np.lexsort((names.astype(str), -fixes)) if m else np.empty(0, np.int64)
    frame = pd.DataFrame({
        "h3_cell": pd.array(names[order], dtype="str"),
        LAT: lat[order],
        LON: lon[order],
        "fixes": fixes[order].astype(np.int64),
        DWELL_S: dwell[order],
        "devices": n_dev[order].astype(np.int64),
    }, columns=list(DENSITY_COLUMNS))
    if geometry:
        from .geometry import geo_frame

        return geo_frame(frame, _hexagons(uniq[order]))
    return frame
