"""Density per H3 cell: exact fixes, dwell and devices on a hand-built fleet."""

import h3
import pandas as pd
import pytest
import shapely
from helpers import at, make_track

from bofan_analytics.analytics import density
from bofan_analytics.analytics.density import DENSITY_COLUMNS
from bofan_analytics.errors import FormatError

P = (0.0, 0.0)
Q = (5000.0, 0.0)  # 5 km east: another resolution-8 cell (edges are about 0.5 km)


def fleet():
    # A: 3 fixes a minute apart at P, one at Q, 2 h silent at Q (it stayed), 2 h silent and
    # back at P (nobody knows where it spent that); B: one fix at P
    a = make_track([(0, *P, 0), (60, *P, 0), (120, *P, 0), (180, *Q, 0), (7380, *Q, 0),
                    (14580, *P, 0)], device="A")
    b = make_track([(30, *P, 0)], device="B")
    return pd.concat([b, a], ignore_index=True)


def test_fixes_dwell_and_devices_per_cell():
    cells = density(fleet())
    assert list(cells.columns) == list(DENSITY_COLUMNS)
    cell_p = h3.latlng_to_cell(*at(*P), 8)
    cell_q = h3.latlng_to_cell(*at(*Q), 8)
    assert cell_p != cell_q
    assert list(cells.h3_cell) == [cell_p, cell_q]  # most fixes first
    assert list(cells.fixes) == [5, 2]
    assert list(cells.dwell_s) == [180.0, 7200.0]
    assert list(cells.devices) == [2, 1]
    assert (cells.lat[0], cells.lon[0]) == h3.cell_to_latlng(cell_p)


def test_max_gap_and_resolution():
    # with no cap every gap counts where it starts
    assert list(density(fleet(), max_gap_s=10**9).dwell_s) == [180.0, 14400.0]
    # at resolution 0 all is one cell, so both long silences stayed in it
    one = density(fleet(), resolution=0)
    assert list(one.fixes) == [7] and list(one.dwell_s) == [180.0 + 7200.0 + 7200.0]


def test_hexagons_hold_their_fixes_and_empty_input():
    cells = density(fleet(), geometry=True, resolution=9)
    assert cells.crs.to_epsg() == 4326
    assert set(cells.geom_type) == {"Polygon"}
    lat, lon = at(*P)
    assert shapely.contains_xy(cells.geometry[0], lon, lat)
    assert shapely.get_num_coordinates(cells.geometry[0]) == 7  # a closed hexagon
    empty = density(fleet().iloc[:0], geometry=True)
    assert len(empty) == 0 and list(empty.columns) == [*DENSITY_COLUMNS, "geometry"]


@pytest.mark.parametrize("bad", [-1, 16, 8.5, True, "8"])
def test_bad_resolution(bad):
    with pytest.raises(FormatError, match="resolution must be a whole number from 0 to 15"):
        density(fleet(), resolution=bad)
