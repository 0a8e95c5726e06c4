"""The fleet map of a spread fleet in headless Chromium: it opens on region 1, and the
"Regions" picker moves the view to another region (bounds read from the Leaflet map)."""

from pathlib import Path

import pandas as pd
import pytest
from _chromium import CHROMIUM, run_page, screenshot
from helpers import drive, make_track, park

import bofan_analytics as ba
from bofan_analytics.viz._regions import find_regions
from bofan_analytics.viz.maps import _positions_frame

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (headless)"),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: Reads the view of the map with the picker, clicks the second region, reads it again.
CLICK_REGION_2 = """
window.addEventListener("load", function () {
  var probe = window.__bofanProbe;
  function picker() { return bofan.pickers[0]; }
  function view() {
    var b = picker().map.getBounds();
    return [[b.getSouth(), b.getWest()], [b.getNorth(), b.getEast()]];
  }
  function buttons() { return picker().control.getContainer().querySelectorAll("button"); }
  function active() {
    return Array.prototype.map.call(buttons(), function (b) { return b.classList.contains("active"); });
  }
  setTimeout(function () {
    probe.pickers = bofan.pickers.length;
    probe.labels = Array.prototype.map.call(buttons(), function (b) { return b.textContent; });
    probe.before = view();
    probe.activeBefore = active();
    buttons()[1].click();
  }, 300);
  setTimeout(function () {
    probe.after = view();
    probe.activeAfter = active();
  }, 650);
});
"""


def contains(view, bounds) -> bool:
    (s, w), (n, e) = view
    (bs, bw), (bn, be) = bounds
    return s <= bs and w <= bw and n >= bn and e >= be


def check_picker(found: dict, regions: list) -> None:
    assert found["errors"] == [] and found["alerts"] == [] and found["injected"] == 0
    assert found["pickers"] == 1  # the fleet map; each device map is one region
    assert len(found["labels"]) == len(regions) >= 2
    one, two = regions[0].bounds, regions[1].bounds
    assert found["activeBefore"][:2] == [True, False]
    assert contains(found["before"], one) and not contains(found["before"], two)
    assert found["activeAfter"][:2] == [False, True]
    assert contains(found["after"], two) and not contains(found["after"], one)


@pytest.fixture
def spread(fleet):
    """The car and the tracker, and a van driving 2,000 km north of them."""
    north = 2_000_000.0
    fixes = park(0, 300, 0, north) + drive(300, (0, north), (4000, north + 3000), 60)
    van = make_track(fixes, device="VAN-NORTH")
    return pd.concat([fleet, van], ignore_index=True)


def test_the_fleet_map_opens_on_region_1_and_the_picker_moves_it(tmp_path, spread):
    page = ba.write_report(spread, tmp_path / "spread.html")
    found = run_page(page, tmp_path, script=CLICK_REGION_2)
    regions = find_regions(_positions_frame(spread))
    assert [r.devices for r in regions][1] == ("VAN-NORTH",)
    check_picker(found, regions)
    assert found["labels"][0].startswith("Region 1 · 2 devices")
    assert found["maps"] == 4  # the fleet map and one per device
    screenshot(page, ARTIFACTS / "report-regions.png", tmp_path, fragment="fleet")


def test_a_map_alone_has_the_picker_too(tmp_path, spread):
    page = tmp_path / "map.html"
    ba.track_map(spread, trips=False, stops=False, alarms=False).save(str(page))
    found = run_page(page, tmp_path, script=CLICK_REGION_2)
    check_picker(found, find_regions(_positions_frame(spread)))


@pytest.mark.slow
def test_the_sample_fleet_opens_on_johannesburg_with_bogota_a_click_away(tmp_path):
    samples = Path(__file__).resolve().parents[2] / "data" / "samples"
    dataset = tmp_path / "dataset"
    assert ba.convert([samples / "fleet.bin"], dataset).ok
    page = ba.write_report(dataset, tmp_path / "samples.html")
    found = run_page(page, tmp_path, script=CLICK_REGION_2)
    regions = find_regions(_positions_frame(ba.read_positions(dataset)))
    johannesburg, bogota = (r.centre for r in regions)
    assert round(johannesburg[0]) == -26 and round(johannesburg[1]) == 28
    assert round(bogota[0]) == 5 and round(bogota[1]) == -74
    assert len(regions) == 2
    check_picker(found, regions)
    screenshot(page, ARTIFACTS / "report-samples-regions.png", tmp_path, fragment="fleet")
