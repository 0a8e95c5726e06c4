"""write_report / build_report: content, escaping, filters, exports."""

import re

import pandas as pd
import pyarrow as pa
import pytest
from _fleet import CAR, PAYLOAD, TRACKER, write_dataset
from helpers import ts

import bofan_analytics as ba
from bofan_analytics.errors import FormatError, InputError
from bofan_analytics.report import Report, build_report, write_report
from bofan_analytics.report._page import html_table

ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture
def page(tmp_path, fleet, fences):
    out = write_report(fleet, tmp_path / "r" / "report.html", geofences=fences, speed_limit_kmh=100)
    return out.read_text(encoding="utf-8")


def test_write_report_is_exported_at_the_top_level():
    assert ba.write_report is write_report


def test_one_self_contained_page(tmp_path, fleet, fences):
    out = write_report(
        fleet, tmp_path / "sub" / "report.html", geofences=fences, speed_limit_kmh=100
    )
    assert out == tmp_path / "sub" / "report.html"
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"<(script|img|iframe)[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert 't.version="1.9.4"' in html
    # a section, a map and a battery chart per device, and the fleet map
    assert html.count('<section class="device"') == 2
    assert html.count('class="folium-map"') == 3
    assert html.count('<svg class="chart"') == 2
    for heading in ("Trips", "Stops", "Overspeed", "Geofence visits", "Alarms", "Battery"):
        assert f"<h3>{heading}" in html


def test_strings_from_devices_and_users_are_text(tmp_path, fleet, fences):
    evil = fleet.copy()
    evil.loc[evil.device_id == TRACKER, "device_id"] = PAYLOAD
    html = write_report(
        evil, tmp_path / "r.html", geofences=fences, speed_limit_kmh=100, title=PAYLOAD
    ).read_text(encoding="utf-8")
    assert "<img" not in html
    assert html.count(ESCAPED) >= 4  # title, device heading, message types, visits table
    assert f"<title>{ESCAPED}</title>" in html
    assert f"<h2>Device {ESCAPED}</h2>" in html
    assert f"<td>{ESCAPED}</td>" in html  # the geofence visit and the alarm's message type


def test_summary_numbers(fleet, fences):
    report = build_report(fleet, geofences=fences, speed_limit_kmh=100)
    s = report.summary.set_index("device_id")
    assert list(s.index) == [CAR, TRACKER]
    assert s.loc[CAR, "messages"] == (fleet.device_id == CAR).sum()
    assert s.loc[CAR, "max_speed_kmh"] == 120
    assert s.loc[CAR, "alarms"] == 2
    assert s.loc[CAR, "battery_pct"] == pytest.approx(70)
    assert s.loc[TRACKER, "battery_pct"] == pytest.approx(10)
    assert s.loc[CAR, "overspeed"] == len(report.tables["overspeed"]) == 1
    assert s.loc[CAR, "trips"] == (report.tables["trips"].device_id == CAR).sum()
    assert s.loc[CAR, "distance_m"] == pytest.approx(
        report.tables["trips"].query("device_id == @CAR").distance_m.sum()
    )
    assert s.loc[TRACKER, "max_speed_kmh"] > 0  # no reported speed: from the trip
    visits = report.tables["geofence_visits"]
    assert set(visits.geofence) <= {PAYLOAD, "depot"} and PAYLOAD in set(visits.geofence)


def test_idle_is_the_trips_standing_time(fleet):
    report = build_report(fleet)
    trips = report.tables["trips"]
    s = report.summary.set_index("device_id")
    for device, idle in trips.groupby("device_id")["idle_s"].sum().items():
        assert s.loc[device, "idle_s"] == pytest.approx(idle)
    assert "Idle time (standing inside trips)" in report.html


def test_overspeed_and_geofences_are_optional(fleet):
    report = build_report(fleet)
    assert report.tables["overspeed"] is None and report.tables["geofence_visits"] is None
    assert "Not computed: no speed limit given." in report.html
    assert "Not computed: no geofences given." in report.html


def test_filters(fleet):
    only = build_report(fleet, devices=CAR)
    assert list(only.summary.device_id) == [CAR]
    late = build_report(fleet, start=ts(1800).isoformat())
    assert late.summary.set_index("device_id").loc[CAR, "first_time"] == ts(1810)
    with pytest.raises(InputError, match="no messages"):
        build_report(fleet, start="2030-01-01")
    with pytest.raises(InputError, match="no messages"):
        build_report(fleet, devices=["123"])


def test_accepts_arrow_tables_and_logs(fleet):
    table = pa.Table.from_pandas(fleet, preserve_index=False)
    assert list(build_report(table).summary.device_id) == [CAR, TRACKER]

    class Log:  # what a DecodedLog offers
        messages = table

        def positions(self):
            return fleet

    assert list(build_report(Log()).summary.device_id) == [CAR, TRACKER]


def test_report_object_shows_itself(fleet):
    report = build_report(fleet, title="Week 45")
    assert isinstance(report, Report)
    assert "Week 45" in repr(report) and "2 device(s)" in repr(report)
    shown = report._repr_html_()
    assert "<table" in shown and CAR in shown and "trips:" in shown


def test_csv_export(tmp_path, fleet, fences):
    write_report(fleet, tmp_path / "week.html", geofences=fences, speed_limit_kmh=100, export="csv")
    names = sorted(p.name for p in tmp_path.glob("week-*.csv"))
    assert names == [
        "week-alarms.csv",
        "week-battery.csv",
        "week-daily_summary.csv",
        "week-geofence_visits.csv",
        "week-overspeed.csv",
        "week-stops.csv",
        "week-summary.csv",
        "week-trips.csv",
    ]
    alarms = pd.read_csv(tmp_path / "week-alarms.csv", dtype={"device_id": str})
    assert PAYLOAD in set(alarms.msg_type)  # exports keep the data exactly
    assert alarms.device_id.tolist() == [CAR, CAR]


def test_xlsx_export_keeps_text_as_text(tmp_path, fleet, fences):
    openpyxl = pytest.importorskip("openpyxl")
    fences["features"][1]["properties"]["name"] = '=HYPERLINK("http://x","y")'
    write_report(
        fleet, tmp_path / "week.html", geofences=fences, speed_limit_kmh=100, export="xlsx"
    )
    book = openpyxl.load_workbook(tmp_path / "week.xlsx")
    assert book.sheetnames[0] == "summary"
    assert {"trips", "stops", "overspeed", "geofence_visits", "alarms", "battery"} <= set(
        book.sheetnames
    )
    sheet = book["geofence_visits"]
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    formula_like = [c for c in cells if c.value.startswith("=")]
    assert formula_like and all(c.data_type == "s" for c in formula_like)
    assert book["summary"].cell(1, 5).value == "first_time (UTC)"


def test_bad_export_format_fails_before_writing(tmp_path, fleet):
    with pytest.raises(FormatError, match="csv, xlsx"):
        write_report(fleet, tmp_path / "r.html", export="pdf")
    assert not (tmp_path / "r.html").exists()


def test_html_table_escapes_and_truncates():
    frame = pd.DataFrame({"geofence": [PAYLOAD] * 3, "dwell_s": [60.0, 90.0, None]})
    html = html_table(frame, [("geofence", "Geofence", str), ("dwell_s", "Dwell", str)], limit=2)
    assert "<img" not in html and html.count(ESCAPED) == 2
    assert "First 2 of 3 rows" in html
    assert html_table(frame.iloc[:0], []) == '<p class="empty">None.</p>'


def test_plain_position_tables_and_devices_without_fixes(fleet):
    plain = fleet[["device_id", "time", "lat", "lon", "speed_kmh"]]
    assert build_report(plain).summary.fixes.tolist() == (
        plain.drop_duplicates(["device_id", "time", "lat", "lon"])
        .groupby("device_id")
        .size()
        .tolist()
    )
    no_fix = fleet.copy()
    no_fix.loc[no_fix.device_id == TRACKER, "valid"] = False
    report = build_report(no_fix)
    assert report.html.count('class="folium-map"') == 1
    assert "No valid fixes: nothing to draw on a map." in report.html
    assert report.summary.set_index("device_id").loc[TRACKER, "battery_pct"] == pytest.approx(10)


def test_report_from_a_dataset_directory(tmp_path, fleet, fences):
    dataset = write_dataset(fleet, tmp_path / "dataset")
    out = write_report(
        dataset,
        tmp_path / "report.html",
        devices=[CAR],
        start=ts(0).isoformat(),
        end="2026-11-02",
        geofences=fences,
        speed_limit_kmh=100,
    )
    html = out.read_text(encoding="utf-8")
    assert "<title>Fleet report – dataset</title>" in html
    assert html.count('<section class="device"') == 1 and f"<h2>Device {CAR}</h2>" in html
    with pytest.raises(InputError):
        write_report(tmp_path / "missing", tmp_path / "x.html")


def test_a_fleet_map_only_for_two_devices_or_more(fleet):
    two = build_report(fleet).html
    assert two.count("<h3>Fleet map</h3>") == 1
    assert two.index("<h3>Fleet map</h3>") < two.index('<section class="device"')
    one = build_report(fleet, devices=[CAR]).html
    assert "Fleet map" not in one and one.count('class="folium-map"') == 1
