"""The fleet manager's report: local times with the zone named, daily summary, drivers,
engine time, zone speed limits and alarms in words; exports; headless Chromium."""

import json

import pandas as pd
import pytest
from _chromium import CHROMIUM, run_page
from _fleet import CAR, PAYLOAD, write_dataset

from bofan_analytics.cli import main
from bofan_analytics.report import build_report


@pytest.fixture
def fleet_with_drivers(fleet):
    """The car's fixes carry the ignition on input 2 while it moves and an RFID tag."""
    out = fleet.copy()
    car = out.device_id == CAR
    moving = out.speed_kmh.fillna(0) > 0
    out["inputs"] = pd.array([None] * len(out), dtype="str")
    out.loc[car, "inputs"] = "00001"
    out.loc[car & moving, "inputs"] = "00011"
    out["driver_id"] = pd.array([None] * len(out), dtype="str")
    out.loc[car, "driver_id"] = "04A1B2C3"
    return out


@pytest.fixture
def limited(fences):
    """The geofences, the depot square with its own 30 km/h limit."""
    fences["features"][1]["properties"]["speed_limit_kmh"] = 30
    return fences


def test_local_daily_summary_drivers_and_zone_limits(fleet_with_drivers, limited):
    report = build_report(fleet_with_drivers, tz="Europe/Berlin", geofences=limited,
                          speed_limit_kmh=100, ignition_input=2)
    html = report.html
    assert "times in Europe/Berlin" in html
    assert "2026-11-02 08:00:00 CET" in html and "07:00:00 UTC" not in html
    assert "zone speed limits applied: depot 30 km/h" in html
    assert "ignition on input 2" in html
    assert "<h2>Drivers</h2>" in html and "04A1B2C3" in html
    assert "Daily summary" in html and "Engine on" in html
    assert "Hard braking" in html and "SOS (panic button)" in html
    assert "-0.00" not in html
    days = report.tables["daily_summary"]
    car = days[days.device_id == CAR].iloc[0]
    assert car.period_start.isoformat() == "2026-11-02T00:00:00+01:00"
    assert car.trips == 2 and car.engine_s > 0
    over = report.tables["overspeed"]
    assert set(over.geofence.dropna()) <= {"depot"} and over.limit_kmh.isin([30, 100]).all()
    drivers = report.tables["drivers"]
    assert drivers.driver_id.tolist() == ["04A1B2C3"] and drivers.trips.tolist() == [2]


def test_export_writes_the_daily_summary_in_local_time(tmp_path, fleet_with_drivers):
    report = build_report(fleet_with_drivers, tz="Europe/Berlin", ignition_input=2)
    report.save(tmp_path / "week.html", export="csv")
    days = pd.read_csv(tmp_path / "week-daily_summary.csv", dtype={"device_id": str})
    assert days.period_start.tolist() == ["2026-11-02T00:00:00.000000+01:00"] * 2
    assert (tmp_path / "week-drivers.csv").exists()
    trips = pd.read_csv(tmp_path / "week-trips.csv", dtype={"device_id": str})
    assert trips.start_time.str.endswith("+01:00").all()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium")
def test_cli_report_in_chromium(tmp_path, fleet_with_drivers, limited, capsys):
    dataset = write_dataset(fleet_with_drivers, tmp_path / "dataset")
    zones = tmp_path / "zones.geojson"
    zones.write_text(json.dumps(limited))
    out = tmp_path / "r.html"
    code = main(["report", str(dataset), "--tz", "Europe/Berlin", "--geofences", str(zones),
                 "--speed-limit", "90", "--ignition-input", "2", "-o", str(out),
                 "--export", "csv"])
    assert code == 0, capsys.readouterr().err
    found = run_page(out, tmp_path)
    assert found["errors"] == [] and found["alerts"] == [] and found["injected"] == 0
    assert found["maps"] == 3  # the fleet map and one per device
    text = found["text"]
    for shown in ("times in Europe/Berlin", "CET", "depot 30 km/h", "Daily summary",
                  "Drivers", "04A1B2C3", "Engine on", "Hard braking"):
        assert shown in text, shown
    assert PAYLOAD in text  # still text, never markup
    assert (tmp_path / "r-daily_summary.csv").exists()


def test_devices_in_two_zones_export_each_in_its_own(tmp_path, fleet_with_drivers):
    from _fleet import TRACKER

    zones = {CAR: "Europe/Berlin", TRACKER: "America/New_York"}
    report = build_report(fleet_with_drivers, tz=zones)
    assert "each device&#x27;s local time (America/New_York, Europe/Berlin)" in report.html
    report.save(tmp_path / "two.html", export="csv")
    trips = pd.read_csv(tmp_path / "two-trips.csv", dtype={"device_id": str})
    ends = dict(zip(trips.device_id, trips.start_time.str[-6:], strict=False))
    assert ends == {CAR: "+01:00", TRACKER: "-05:00"}


def test_visits_in_time_order_with_open_ones_marked_and_no_chart_on_mains(fleet, fences):
    from bofan_analytics.report._page import _visits_in_order

    steady = fleet.copy()
    steady.loc[steady.device_id == CAR, "battery_pct"] = 100.0
    html = build_report(steady, geofences=fences).html
    assert "Steady at 100 % (external power): no chart." in html
    assert html.count('<svg class="chart"') == 1  # the tracker's draining battery only
    visits = pd.DataFrame({
        "device_id": ["a"] * 3,
        "geofence": ["x", "y", "z"],
        "enter_time": pd.to_datetime([None, "2026-11-02T09:00Z", "2026-11-02T07:00Z"],
                                     utc=True),
        "exit_time": pd.to_datetime(["2026-11-02T08:00Z", None, "2026-11-02T07:30Z"],
                                    utc=True),
    })
    ordered = _visits_in_order(visits)
    assert ordered.geofence.tolist() == ["z", "x", "y"]
    assert ordered.visit.tolist() == ["", "inside from the first fix",
                                      "open: still inside at the last fix"]


def test_utc_exports_keep_their_z(tmp_path, fleet_with_drivers):
    build_report(fleet_with_drivers).save(tmp_path / "utc.html", export="csv")
    trips = pd.read_csv(tmp_path / "utc-trips.csv")
    assert trips.start_time.str.endswith("Z").all()
