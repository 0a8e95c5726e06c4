"""track_map(heatmap=True) and the density layer: one hexagon per cell, escaped labels."""

import json
import re

import h3
import pytest
from helpers import concat, drive, make_track, park

import bofan_analytics as ba
from bofan_analytics.errors import SchemaError
from bofan_analytics.viz._density import DENSITY_COLOURS, _classes


@pytest.fixture
def commute():
    fixes = concat(park(0, 300, 0, 0), drive(300, (0, 0), (3000, 0), 50),
                   park(526, 1526, 3000, 0))
    return make_track(fixes)


def data_layers(html: str) -> dict:
    """name -> (commands, shown at start) of every DataLayer in a rendered page."""
    names = dict(re.findall(r'"([^"]+)" : (data_layer_\w+)', html))
    out = {}
    for var, commands in re.findall(r"bofan\.draw\((data_layer_\w+), (.*?)\);\n", html):
        name = next(n for n, v in names.items() if v == var)
        out[name] = (json.loads(commands), f"{var}.addTo(" in html)
    return out


def test_heatmap_draws_every_cell_and_hides_the_tracks(commute):
    html = ba.track_map(commute, heatmap=True, tiles=None).get_root().render()
    layers = data_layers(html)
    cells = ba.density(commute)
    commands, shown = layers["Density"]
    assert shown
    features = [f for c in commands for f in c["features"]]
    assert len(features) == len(cells) > 1
    labels = [f["properties"]["label"] for f in features]
    assert sorted(re.search(r"<b>(\w+)</b>", lab).group(1) for lab in labels) == \
        sorted(cells.h3_cell)
    # the busiest cell (the long park) has the darkest colour and its numbers in its label
    top = cells.iloc[0]
    assert commands[-1]["style"]["fillColor"] == DENSITY_COLOURS[-1]
    assert f"<b>{top.h3_cell}</b><br>fixes: {top.fixes}<br>devices: 1" in \
        commands[-1]["features"][0]["properties"]["label"]
    ring = commands[-1]["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    assert h3.latlng_to_cell(sum(p[1] for p in ring[:6]) / 6, sum(p[0] for p in ring[:6]) / 6,
                             8) == top.h3_cell
    track_layers = [shown for name, (_, shown) in layers.items() if name.startswith("Track")]
    assert track_layers == [False]
    assert "Fixes per cell" in html


def test_density_frame_at_another_resolution_and_tracks_stay(commute):
    cells = ba.density(commute, resolution=10)
    layers = data_layers(ba.track_map(commute, density=cells, tiles=None).get_root().render())
    assert sum(len(c["features"]) for c in layers["Density"][0]) == len(cells)
    assert [shown for name, (_, shown) in layers.items() if name.startswith("Track")] == [True]


def test_a_hostile_cell_id_is_refused(commute):
    cells = ba.density(commute).assign(h3_cell="<img src=x onerror=alert(1)>")
    with pytest.raises(SchemaError, match="H3 ids"):
        ba.track_map(commute, density=cells, tiles=None)


def test_colour_classes_are_logarithmic():
    import numpy as np

    cls, edges = _classes(np.array([1, 2, 5, 10, 40, 100]))
    assert edges.tolist() == [1, 2, 4, 10, 21, 46]
    assert cls.tolist() == [0, 1, 2, 3, 4, 5]
