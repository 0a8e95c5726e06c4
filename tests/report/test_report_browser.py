"""The report and a map in headless Chromium with networking off.

Each page is loaded with a probe (see ``_chromium.py``) that records JavaScript errors and
any ``alert``; it opens every popup and tooltip so that labels become markup. Screenshots
go to ``test-artifacts/`` (git-ignored) for a human to look at.
"""

from pathlib import Path

import pytest
from _chromium import CHROMIUM, run_page, screenshot
from _fleet import PAYLOAD, write_dataset

import bofan_analytics as ba
from bofan_analytics.viz import SPEED_CLASSES

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="headless browser tests need Debian's chromium (apt-get install chromium)",
    ),
]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TRACK_COLOURS = {colour for _, colour in SPEED_CLASSES}


def assert_clean(found: dict, *, maps: int) -> None:
    assert found["errors"] == [], found["errors"]
    assert found["alerts"] == []
    assert found["injected"] == 0
    assert found["external"] == []
    assert found["leaflet"] == "1.9.4"
    assert found["maps"] == maps
    assert TRACK_COLOURS & set(found["polylines"]), "no track polyline was drawn"
    assert not found.get("probeErrors")


def test_report_renders_offline(tmp_path, fleet, fences):
    page = ba.write_report(fleet, tmp_path / "report.html", geofences=fences, speed_limit_kmh=100)
    found = run_page(page, tmp_path)
    assert_clean(found, maps=3)  # the fleet map and one per device
    assert found["opened"] > 10  # popups and tooltips of markers, tracks, geofences
    assert "#ff00ff" in found["polylines"]  # the overspeed highlight
    png = screenshot(page, ARTIFACTS / "report.png", tmp_path)
    assert png.stat().st_size > 10_000


def test_map_renders_offline(tmp_path, fleet, fences):
    page = tmp_path / "map.html"
    ba.track_map(fleet, geofences=fences, speed_limit_kmh=100).save(str(page))
    found = run_page(page, tmp_path)
    assert_clean(found, maps=1)
    assert found["markers"] >= 4  # trip ends, stops, alarms
    screenshot(page, ARTIFACTS / "map.png", tmp_path)


def test_hostile_names_show_as_text_and_run_nothing(tmp_path, fleet, fences):
    """A dataset whose message types, a device id and a geofence name are markup."""
    evil = fleet.copy()
    evil["msg_type"] = PAYLOAD
    evil.loc[evil.device_id == evil.device_id.iloc[-1], "device_id"] = PAYLOAD
    dataset = write_dataset(evil, tmp_path / "dataset")
    page = ba.write_report(
        dataset, tmp_path / "evil.html", geofences=fences, speed_limit_kmh=100, title=PAYLOAD
    )
    found = run_page(page, tmp_path)
    assert_clean(found, maps=3)
    assert found["opened"] > 10
    # shown to the reader exactly as the device sent it: title, nav, table, heading, types, visits
    assert found["text"].count(PAYLOAD) >= 6
    screenshot(page, ARTIFACTS / "report-hostile-names.png", tmp_path)


@pytest.mark.slow
def test_report_of_the_sample_captures(tmp_path):
    samples = Path(__file__).resolve().parents[2] / "data" / "samples"
    dataset = tmp_path / "dataset"
    result = ba.convert([samples / "fleet.log"], dataset)
    assert result.ok
    page = ba.write_report(
        dataset,
        tmp_path / "samples.html",
        geofences=samples / "geofences.geojson",
        speed_limit_kmh=90,
    )
    devices = ba.read_log(samples / "fleet.log").positions()["device_id"].nunique()
    found = run_page(page, tmp_path)
    assert_clean(found, maps=devices + 1)  # the fleet map and one per device
    screenshot(page, ARTIFACTS / "report-samples.png", tmp_path)


def test_the_probe_does_see_a_script_that_runs(tmp_path):
    """Control: the same probe on a page that does inject the payload reports it."""
    page = tmp_path / "injected.html"
    page.write_text(
        f"<!DOCTYPE html><html><head></head><body>{PAYLOAD}<script>nope(</script></body></html>"
    )
    found = run_page(page, tmp_path)
    assert found["alerts"] == ["1"]
    assert found["injected"] == 1
    assert found["errors"] and "SyntaxError" in found["errors"][0]
