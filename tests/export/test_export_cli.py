"""``bofan export``: the same files as ``ba.export``, and the command line's exit codes."""

from pathlib import Path

import geopandas
import gpxpy
import pytest

import bofan_analytics as ba
from bofan_analytics.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "samples" / "fleet.log"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "ds"
    assert main(["convert", str(SAMPLE), "-o", str(out)]) == 0
    return out


def test_gpx_of_one_device_and_day_equals_the_python_export(capsys, dataset, tmp_path):
    device = ba.read_positions(dataset).device_id.iloc[0]
    code, out, err = run(capsys, "export", dataset, "--to", "gpx", "-o", tmp_path / "a.gpx",
                         "--device", device, "--from", "2026-11-02", "--to", "2026-11-02")
    assert (code, err) == (0, "")
    assert out == f"written {tmp_path / 'a.gpx'}\n"
    ba.export(dataset, tmp_path / "b.gpx", devices=device, start="2026-11-02", end="2026-11-02")
    assert (tmp_path / "a.gpx").read_bytes() == (tmp_path / "b.gpx").read_bytes()
    gpx = gpxpy.parse((tmp_path / "a.gpx").read_text())
    trips = ba.detect_trips(dataset, devices=device, start="2026-11-02", end="2026-11-02")
    assert len(gpx.tracks) == len(trips) > 0
    assert {t.name.split(" ")[0] for t in gpx.tracks} == {device}


def test_format_from_the_suffix_and_geoparquet(capsys, dataset, tmp_path):
    code, _, err = run(capsys, "export", dataset, "-o", tmp_path / "all.kmz", "--tz", "Africa/Johannesburg")
    assert (code, err) == (0, "")
    assert (tmp_path / "all.kmz").stat().st_size > 0
    code, out, err = run(capsys, "export", dataset, "--to", "geoparquet", "-o", tmp_path / "gp")
    assert (code, err) == (0, "")
    assert out.count("written") == 3
    trips = geopandas.read_parquet(tmp_path / "gp" / "trips.parquet")
    assert len(trips) == len(ba.detect_trips(dataset)) and trips.crs.to_epsg() == 4326


@pytest.mark.parametrize(("argv", "code", "fragment"), [
    (["--to", "shp"], 2, "neither an export format"),
    (["--to", "gpx", "--to", "kml"], 2, "one format and one date"),
    (["--from", "someday"], 2, "cannot read 'someday' as a date"),
    ([], 2, "cannot tell the export format"),
    (["--to", "gpx", "--tz", "Mars/Olympus"], 2, "time zone"),
    (["--to", "gpx", "--geofences", "nowhere.geojson"], 1, "no such geofence file"),
])
def test_bad_arguments(capsys, dataset, tmp_path, argv, code, fragment):
    got, out, err = run(capsys, "export", dataset, "-o", tmp_path / "x.out", *argv)
    assert got == code
    assert len(err.strip().splitlines()) == 1 and fragment in err and "Traceback" not in err


def test_missing_dataset_and_unwritable_output(capsys, dataset, tmp_path):
    code, _, err = run(capsys, "export", tmp_path / "nothing", "--to", "gpx", "-o", tmp_path / "x")
    assert code == 1 and "no such dataset" in err
    code, _, err = run(capsys, "export", dataset, "-o", tmp_path / "no" / "dir" / "x.gpx")
    assert code == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
