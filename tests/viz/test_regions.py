"""Regions of a spread fleet: exact grouping on tiny tracks, and the map's picker data."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from helpers import at, concat, make_track, park

import bofan_analytics as ba
from bofan_analytics.errors import FormatError
from bofan_analytics.viz._regions import (
    JOIN_DISTANCE_KM,
    find_regions,
    join_points,
    picker_data,
    region_label,
)

PAYLOAD = "<img src=x onerror=alert(1)>"
KM = 1000.0


def parked(device: str, east_km: float, north_km: float, fixes: int = 3) -> pd.DataFrame:
    """``fixes`` fixes 10 s apart, all at one point ``east_km``/``north_km`` from the origin."""
    return make_track(park(0, 10 * (fixes - 1), east_km * KM, north_km * KM), device=device)


def fleet(*tracks) -> pd.DataFrame:
    return pd.concat(tracks, ignore_index=True)


def test_a_chain_of_neighbours_is_one_region_with_the_bounds_of_its_fixes():
    # a-b and b-c are 200 km apart, a-c 400 km: joined through b; d is 1000 km north
    pos = fleet(parked("a", 0, 0), parked("b", 200, 0), parked("c", 400, 0),
                parked("d", 0, 1000, fixes=5))
    one, two = find_regions(pos)
    assert one.devices == ("a", "b", "c") and one.fixes == 9
    (lat0, lon0), (_, lon_b), (_, lon_c) = at(0, 0), at(200 * KM, 0), at(400 * KM, 0)
    assert one.bounds == [[lat0, lon0], [lat0, lon_c]]
    assert one.centre == (lat0, lon_b)
    lat_d, lon_d = at(0, 1000 * KM)
    assert two.devices == ("d",) and two.fixes == 5
    assert two.bounds == [[lat_d, lon_d], [lat_d, lon_d]]


def test_a_shorter_join_distance_splits_the_chain_and_orders_by_fixes_then_id():
    pos = fleet(parked("a", 0, 0), parked("b", 200, 0), parked("c", 400, 0),
                parked("d", 0, 1000, fixes=5))
    regions = find_regions(pos, join_distance_km=150)
    assert [r.devices for r in regions] == [("d",), ("a",), ("b",), ("c",)]
    assert [r.fixes for r in regions] == [5, 3, 3, 3]


def test_a_region_with_more_devices_comes_first_even_with_fewer_fixes():
    pos = fleet(parked("z", 0, 0, fixes=50), parked("x", 0, 2000), parked("y", 50, 2000))
    assert [r.devices for r in find_regions(pos)] == [("x", "y"), ("z",)]


def test_a_trip_away_neither_moves_a_device_nor_is_cut_from_its_region():
    # five fixes at home, two 600 km north: the median stays home, 100 km from b
    away = make_track(concat(park(0, 40, 0, 0), park(50, 60, 0, 600 * KM)), device="a")
    regions = find_regions(fleet(away, parked("b", 100, 0)))
    assert [r.devices for r in regions] == [("a", "b")]
    (south, west), (north, _), (_, east) = at(0, 0), at(0, 600 * KM), at(100 * KM, 0)
    assert regions[0].bounds == [[south, west], [north, east]]
    assert regions[0].fixes == 10


def test_no_fixes_no_regions():
    assert find_regions(parked("a", 0, 0).iloc[:0]) == []


@pytest.mark.parametrize("bad", [-1, float("nan"), "300", True, None])
def test_a_join_distance_that_is_not_a_distance_is_refused(bad):
    with pytest.raises(FormatError, match="region join distance"):
        find_regions(parked("a", 0, 0), join_distance_km=bad)


def test_the_map_refuses_a_bad_join_distance_too():
    with pytest.raises(FormatError, match="got -5"):
        ba.track_map(parked("a", 0, 0), region_join_km=-5, tiles=None)


def _naive_groups(lat, lon, km):
    """Union of every pair within ``km`` by haversine; groups numbered by first member."""
    n = len(lat)
    label = list(range(n))

    def root(i):
        while label[i] != i:
            i = label[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            p1, p2 = math.radians(lat[i]), math.radians(lat[j])
            h = (math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2)
                 * math.sin(math.radians(lon[j] - lon[i]) / 2) ** 2)
            if 2 * 6371.0088 * math.asin(math.sqrt(h)) <= km:
                label[max(root(i), root(j))] = min(root(i), root(j))
    roots = [root(i) for i in range(n)]
    order = {r: k for k, r in enumerate(dict.fromkeys(roots))}
    return [order[r] for r in roots]


def test_the_join_kernel_equals_the_pairwise_reference():
    rng = np.random.default_rng(7)
    centres = np.array([[-26.2, 28.0], [4.6, -74.1], [52.5, 13.4], [51.5, -0.1], [-33.9, 18.4]])
    pick = rng.integers(0, len(centres), 300)
    lat = centres[pick, 0] + rng.normal(0, 2.5, 300)
    lon = centres[pick, 1] + rng.normal(0, 2.5, 300)
    for km in (0.0, 50.0, 150.0, JOIN_DISTANCE_KM, 1000.0):
        assert join_points(lat, lon, join_distance_km=km).tolist() == \
            _naive_groups(lat, lon, km), km


# --------------------------------------------------------------------------- the map


def spread_fleet() -> pd.DataFrame:
    """Two devices at the origin, one 2000 km north whose id is markup."""
    return fleet(parked("car", 0, 0), parked("van", 3, 4), parked(PAYLOAD, 0, 2000))


def picker(html: str):
    match = re.search(r'bofan\.regionPicker\((map_\w+), (.*?), "topleft"\);', html)
    return match and json.loads(match.group(2))


def fitted(html: str):
    return json.loads(re.search(r"map_\w+\.fitBounds\(\s*(\[\[.*?\]\])", html, re.S).group(1))


def test_the_map_of_a_spread_fleet_carries_its_regions_as_data():
    pos = spread_fleet()
    html = ba.track_map(pos, tiles=None).get_root().render()
    regions = find_regions(pos)
    assert picker(html) == picker_data(regions)
    (lat0, lon0), (lat1, lon1), (lat2, lon2) = at(0, 0), at(3 * KM, 4 * KM), at(0, 2000 * KM)
    assert [r["bounds"] for r in picker(html)] == [
        [[round(lat0, 5), round(lon0, 5)], [round(lat1, 5), round(lon1, 5)]],
        [[round(lat2, 5), round(lon2, 5)], [round(lat2, 5), round(lon2, 5)]],
    ]
    assert [r["label"] for r in picker(html)] == [
        "<b>Region 1</b> · 2 devices<br><small>52.0°N 13.0°E · car, van</small>",
        "<b>Region 2</b> · 1 device<br><small>70.0°N 13.0°E · "
        "&lt;img src=x onerror=alert(1)&gt;</small>",
    ]
    assert PAYLOAD not in html
    # the map opens on region 1, not on both
    assert fitted(html) == [[lat0, lon0], [lat1, lon1]]


def test_a_region_label_names_three_devices_then_counts():
    region = find_regions(fleet(*(parked(f"d{i}", i, 0) for i in range(5))))[0]
    assert region_label(1, region) == (
        "<b>Region 1</b> · 5 devices<br><small>52.0°N 13.0°E · d0, d1, d2 +2 more</small>")


def test_a_fleet_in_one_region_has_no_picker_and_fits_all():
    pos = fleet(parked("car", 0, 0), parked("van", 3, 4))
    html = ba.track_map(pos, tiles=None).get_root().render()
    assert picker(html) is None and "regionPicker(map" not in html
    (lat0, lon0), (lat1, lon1) = at(0, 0), at(3 * KM, 4 * KM)
    assert fitted(html) == [[lat0, lon0], [lat1, lon1]]


def test_no_join_distance_shows_the_whole_spread_fleet():
    pos = spread_fleet()
    html = ba.track_map(pos, tiles=None, region_join_km=None).get_root().render()
    assert picker(html) is None
    (south, west), (north, _), (_, east) = at(0, 0), at(0, 2000 * KM), at(3 * KM, 4 * KM)
    assert fitted(html) == [[south, west], [north, east]]
