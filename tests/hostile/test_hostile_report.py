"""Template and script injection through every string a map or report shows.

folium passes template output through Jinja a second time, so a geofence named
``{{ ... }}`` used to be evaluated (a shell command ran, ``{{7*7}}`` became 49,
``{{ 'x' }}`` crashed the report). Each field below carries its own payload; every one
must show as the text it is, and nothing may run: no file, no ``alert``, no injected
element, in the HTML text and in a browser.
"""

import html
import re

import numpy as np
import pandas as pd
import pytest
from _chromium import CHROMIUM, run_page
from _fleet import write_dataset
from helpers import at, concat, drive, make_track, park

import bofan_analytics as ba
from bofan_analytics.cli import main
from bofan_analytics.viz._html import escape_text, script_json

RCE = "{{ lipsum.__globals__.os.popen('touch PWNED').read() }}"
DEVICE = "{{7*7}}\"'`<img src=x onerror=alert('device')>"
MSG_TYPE = "{{ 'x' }}</script><script>alert('type')</script>"
ALARM = "{% for i in range(3) %}`${alert('alarm')}`{% endfor %}{# open"
DRIVER = "'-alert('driver')-'"
FIRMWARE = '"-alert(`fw`)-"{{ config }}'
FENCE_NOTE = "{{7*7}}</script>"
DATASET_NAME = "{{7*7}}<img src=x onerror=alert('name')>"

SHOWN = {
    "device": DEVICE,
    "message type": MSG_TYPE,
    "alarm": ALARM,
    "geofence": RCE,
}


def _fleet() -> pd.DataFrame:
    fixes = concat(
        park(0, 300, 0, 0),
        drive(300, (0, 0), (3000, 0), 120),
        park(400, 1200, 3000, 0),
    )
    car = make_track(fixes, device=DEVICE, alarms={3: ALARM}, battery=np.linspace(90, 60, len(fixes)))
    car["msg_type"] = MSG_TYPE
    car["driver_id"] = DRIVER
    car["firmware"] = FIRMWARE
    plain = make_track(park(0, 600, 500, 500), device="860000000000001")
    return pd.concat([car, plain], ignore_index=True)


def _fences() -> dict:
    lat, lon = at(3000, 0)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": RCE, "radius_m": 200, "note": FENCE_NOTE},
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
    }


@pytest.fixture
def hostile_dataset(tmp_path, monkeypatch):
    """A dataset directory named :data:`DATASET_NAME`, a geofence file, and the cwd moved
    to ``tmp_path`` so that a command that ran would leave ``PWNED`` there."""
    import json

    monkeypatch.chdir(tmp_path)
    dataset = write_dataset(_fleet(), tmp_path / DATASET_NAME)
    fences = tmp_path / "fences.geojson"
    fences.write_text(json.dumps(_fences()), encoding="utf-8")
    return dataset, fences


def _report(tmp_path, dataset, fences, capsys):
    out = tmp_path / "report.html"
    code = main(["report", str(dataset), "-o", str(out), "--geofences", str(fences),
                 "--speed-limit", "90"])
    captured = capsys.readouterr()
    assert (code, captured.err) == (0, "")
    assert captured.out == f"report written to {out}\n"
    return out


def test_report_runs_no_template(tmp_path, hostile_dataset, capsys):
    dataset, fences = hostile_dataset
    page = _report(tmp_path, dataset, fences, capsys)
    assert not (tmp_path / "PWNED").exists()
    text = page.read_text(encoding="utf-8")
    assert "{{" not in text and "{%" not in text and "{#" not in text
    # every payload is in the page as escaped text, and shown back as written
    shown = html.unescape(re.sub(r"<[^>]+>", "", text))
    for payload in (DEVICE, MSG_TYPE, ALARM, RCE, DATASET_NAME, DRIVER):  # drivers table
        assert escape_text(payload) in text
        assert payload in shown
    assert "Device {{7*7}}" in shown and "Device 49" not in shown
    assert "Fleet report – " + DATASET_NAME in shown
    # inside the maps' JSON the payloads are data: braces and markup escaped
    assert script_json(escape_text(RCE))[1:-1] in text  # the geofence tooltip
    # strings the report does not show do not reach the page at all
    for unused in (FIRMWARE, FENCE_NOTE):
        assert escape_text(unused) not in text and script_json(unused)[1:-1] not in text


@pytest.mark.parametrize("name", [RCE, "{{7*7}}", "{{ 'x' }}", "{% raw %}", "}}{{"])
def test_one_geofence_name_through_the_command_line(tmp_path, monkeypatch, capsys, name):
    """Each payload alone as the only geofence's name: exit 0, shown as written, no file."""
    import json

    monkeypatch.chdir(tmp_path)
    fleet = _fleet()
    fleet["device_id"] = "860000000000009"
    fleet["msg_type"] = "POS"
    fleet["alarm"] = None
    dataset = write_dataset(fleet, tmp_path / "dataset")
    fences = _fences()
    fences["features"][0]["properties"] = {"name": name, "radius_m": 200}
    (tmp_path / "f.geojson").write_text(json.dumps(fences), encoding="utf-8")
    page = _report(tmp_path, dataset, tmp_path / "f.geojson", capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "f.geojson", "report.html"]
    text = page.read_text(encoding="utf-8")
    assert f"<td>{escape_text(name)}</td>" in text  # the geofence visits table
    assert '{"label":' + script_json(escape_text(name)) + "," in text  # its map tooltip
    assert "{{" not in text and "{%" not in text
    assert html.unescape(escape_text(name)) == name


def test_map_of_hostile_names_renders_them_as_text(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    m = ba.track_map(_fleet(), geofences=_fences(), speed_limit_kmh=90)
    page = m.get_root().render()
    assert not (tmp_path / "PWNED").exists()
    assert "{{" not in page and "{%" not in page
    # the layer control's label (folium writes it with tojson, "&" as \u0026)
    assert '"Track \\u0026#123;\\u0026#123;7*7\\u0026#125;\\u0026#125;' in page


def test_map_elements_are_not_templates_even_unescaped():
    """The second line of defence: this package's map elements never go through Jinja
    again, so even a raw ``{{`` put straight into a layer stays as it is."""
    import folium

    from bofan_analytics.viz._layers import DataLayer, Legend

    m = folium.Map(tiles=None)
    layer = DataLayer([], name="x")
    layer.data = '[{"draw": "points", "points": [], "tip": "{{7*7}}{% if 1 %}"}]'
    layer.add_to(m)
    legend = Legend("")
    legend.html = "{{ 'x' }}"
    m.add_child(legend)
    page = m.get_root().render()
    assert '"tip": "{{7*7}}{% if 1 %}"' in page
    assert "div.innerHTML = {{ 'x' }};" in page


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_report_in_a_browser_runs_nothing(tmp_path, hostile_dataset, capsys):
    dataset, fences = hostile_dataset
    page = _report(tmp_path, dataset, fences, capsys)
    found = run_page(page, tmp_path)
    assert found["errors"] == []
    assert found["alerts"] == []
    assert found["injected"] == 0
    assert found["maps"] == 3  # the fleet map and one per device
    assert found["opened"] > 5  # tooltips and popups were opened, so labels became markup
    for what, payload in SHOWN.items():
        assert payload in found["text"], what
    assert "Device {{7*7}}" in found["text"]
    assert not (tmp_path / "PWNED").exists()


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_map_in_a_browser_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = tmp_path / "map.html"
    ba.track_map(_fleet(), geofences=_fences(), speed_limit_kmh=90).save(str(page))
    found = run_page(page, tmp_path)
    assert (found["errors"], found["alerts"], found["injected"]) == ([], [], 0)
    assert found["opened"] > 5
    # tooltips and popups opened by the probe show the names as written
    for payload in (DEVICE, ALARM, RCE, MSG_TYPE):
        assert payload in found["text"]
    assert not (tmp_path / "PWNED").exists()
