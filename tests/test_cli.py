"""The bofan command line: exit codes and one-line errors, and the commands end to end."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from bofan_analytics.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "choose a command"),
        (["frobnicate"], "invalid choice"),
        (["convert", "x.log"], "-o/--output"),
        (["convert", "x.log", "-o", "ds", "--format", "csv"], "invalid choice: 'csv'"),
        (["convert", "x.log", "-o", "ds", "--workers", "0"], "must be 1 or more"),
        (["convert", "x.log", "-o", "ds", "--workers", "two"], "not a whole number"),
        (["report", "ds", "-o", "r.html", "--from", "last week"], "not a date or time"),
        (["report", "ds", "-o", "r.html", "--speed-limit", "-5"], "positive number"),
        (["listen", "-o", "caps", "--port", "70000"], "not a port number"),
        (["listen", "-o", "caps", "--duration", "0"], "positive number"),
        (["summary"], "INPUT"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert_one_line(err, fragment)


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "convert" in out and "listen" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("bofan ")


def test_missing_inputs_exit_1(capsys, tmp_path):
    code, out, err = run(capsys, "convert", str(tmp_path / "nope.log"), "-o", str(tmp_path / "ds"))
    assert code == 1
    assert_one_line(err, "nope.log", "no such file or directory")
    code, _, err = run(capsys, "summary", str(tmp_path / "nope.log"))
    assert code == 1
    assert_one_line(err, "nope.log")
    code, _, err = run(capsys, "report", str(tmp_path / "nods"), "-o", str(tmp_path / "r.html"))
    assert code == 1
    assert_one_line(err, "no such dataset")
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, "report", str(tmp_path / "empty"), "-o", str(tmp_path / "r.html"))
    assert code == 1
    assert_one_line(err, "not a dataset")


def test_output_that_is_a_file_exits_2(capsys, tmp_path):
    (tmp_path / "ds").write_text("not a directory")
    (tmp_path / "a.log").write_text("")
    code, _, err = run(capsys, "convert", str(tmp_path / "a.log"), "-o", str(tmp_path / "ds"))
    assert code == 2
    assert_one_line(err, "not a directory")


def test_report_delegates_to_write_report(capsys, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("bofan_analytics.report")
    fake.write_report = lambda *args, **kwargs: calls.append((args, kwargs))
    monkeypatch.setitem(sys.modules, "bofan_analytics.report", fake)
    (tmp_path / "ds" / "messages").mkdir(parents=True)
    geofences = tmp_path / "zones.geojson"
    geofences.write_text('{"type": "FeatureCollection", "features": []}')
    code, out, err = run(
        capsys,
        "report", str(tmp_path / "ds"), "-o", str(tmp_path / "r.html"),
        "--device", "0001", "--device", "0002", "--from", "2026-11-02", "--to", "2026-11-03",
        "--geofences", str(geofences), "--speed-limit", "90",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert calls == [
        (
            (str(tmp_path / "ds"), str(tmp_path / "r.html")),
            {
                "devices": ["0001", "0002"],
                "start": "2026-11-02",
                "end": "2026-11-03",
                "geofences": str(geofences),
                "speed_limit_kmh": 90.0,
            },
        )
    ]
    code, _, err = run(
        capsys, "report", str(tmp_path / "ds"), "-o", "r.html", "--geofences", "nowhere.geojson"
    )
    assert code == 1
    assert_one_line(err, "nowhere.geojson")


def test_errors_from_the_library_are_one_line(capsys, tmp_path, monkeypatch):
    from bofan_analytics.errors import GeofenceError

    fake = types.ModuleType("bofan_analytics.report")

    def write_report(*args, **kwargs):
        raise GeofenceError("zones.geojson: feature 2 has no name")

    fake.write_report = write_report
    monkeypatch.setitem(sys.modules, "bofan_analytics.report", fake)
    (tmp_path / "ds" / "messages").mkdir(parents=True)
    code, _, err = run(capsys, "report", str(tmp_path / "ds"), "-o", str(tmp_path / "r.html"))
    assert code == 1
    assert_one_line(err, "feature 2 has no name")


def test_console_script_and_module_run(tmp_path):
    bofan = Path(sys.executable).with_name("bofan")
    commands = [[sys.executable, "-m", "bofan_analytics"]]
    if bofan.exists():
        commands.append([os.fspath(bofan)])
    for command in commands:
        done = subprocess.run(
            [*command, "convert", str(tmp_path / "missing.log"), "-o", str(tmp_path / "ds")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, done.stderr
        assert_one_line(done.stderr, "missing.log")
        done = subprocess.run([*command, "convert"], capture_output=True, text=True, timeout=60)
        assert done.returncode == 2
        assert_one_line(done.stderr, "required")
