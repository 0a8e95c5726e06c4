"""The bofan command line: exit codes and one-line errors, and the commands end to end."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import types

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
        (["convert", "x.log", "-o", "ds", "--workers", "0"], "the value must be a whole number >= 1, got 0"),
        (["convert", "x.log", "-o", "ds", "--workers", "two"], "not a whole number"),
        (["report", "ds", "-o", "r.html", "--from", "last week"], "cannot read 'last week' as a date or time"),
        (["report", "ds", "-o", "r.html", "--speed-limit", "-5"], "the value must be a number > 0, got -5.0"),
        (["listen", "-o", "caps", "--port", "70000"], "not a port number"),
        (["listen", "-o", "caps", "--duration", "0"], "the value must be a number > 0, got 0.0"),
        (["listen", "-o", "caps", "--idle-timeout", "soon"], "not a number"),
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
        "--geofences", str(geofences), "--speed-limit", "90", "--export", "csv",
        "--export", "xlsx",
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
                "export": ["csv", "xlsx"],
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


def _console_script() -> list[str]:
    bofan = shutil.which("bofan", path=os.path.dirname(sys.executable))
    if bofan is None:
        pytest.skip("the bofan console script is not installed (pip install -e .)")
    return [bofan]


@pytest.mark.parametrize(
    "command",
    [lambda: [sys.executable, "-m", "bofan_analytics"], _console_script],
    ids=["python -m bofan_analytics", "bofan"],
)
def test_exit_codes_from_a_real_process(tmp_path, command):
    command = command()
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


POS = b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/"
TRACK = [
    # one device driving north at about 100 km/h, a fix a minute
    b"$POS,0123456789,10%02d00.000,A,32%02d.0000,S,02755.0000,E,54.00,0.00,021126,,,A/0000,0//232300//5b3/"
    % (minute, 58 - minute)
    for minute in range(10)
]
DEPOT = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "depot", "radius_m": 500},
            "geometry": {"type": "Point", "coordinates": [27.9167, -32.9667]},
        }
    ],
}
B1 = b"@B#@|01|001|864891030184852|9425010450971470|1|45|20181127122717|32.701093|35.570938|1|"


@pytest.fixture
def captures(tmp_path):
    src = tmp_path / "captures"
    src.mkdir()
    (src / "device.bin").write_bytes(b"\r\n".join([POS, *TRACK]) + b"\r\n")
    (src / "server.log").write_bytes(
        b"2026-11-02T07:10:27.948Z " + B1 + b"\n2026-11-02T07:10:28.000Z not a frame\n"
    )
    (src / "geofences.geojson").write_text(json.dumps(DEPOT))
    return src


def test_summary(capsys, captures):
    code, out, err = run(capsys, "summary", str(captures))
    assert (code, err) == (0, "")
    assert "device.bin: stream, 11 messages, 0 rejects" in out
    assert "server.log: lines, 1 messages, 1 rejects" in out
    assert "devices: 3" in out
    assert "  pt502  POS  11" in out and "  pt60  B1  1" in out
    assert "positions: 12" in out
    assert "  unknown_protocol  1" in out

    # the same capture stored compressed as well is counted once
    (captures / "server.log.gz").write_bytes(gzip.compress((captures / "server.log").read_bytes()))
    code, again, _ = run(capsys, "summary", str(captures))
    assert code == 0
    assert "server.log.gz: same content as" in again and "positions: 12" in again


def test_convert_then_report(capsys, tmp_path, captures):
    dataset = tmp_path / "ds"
    code, out, err = run(capsys, "convert", str(captures), "-o", str(dataset))
    assert (code, err) == (0, "")
    assert "2 file(s) converted: 12 messages, 1 rejects" in out
    assert sorted(p.name for p in (dataset / "messages").iterdir()) == [
        "date=2015-09-10",
        "date=2018-11-27",
        "date=2026-11-02",
    ]
    code, out, err = run(
        capsys, "report", str(dataset), "-o", str(tmp_path / "r.html"),
        "--geofences", str(captures / "geofences.geojson"), "--speed-limit", "90",
        "--from", "2026-11-02", "--to", "2026-11-02",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert (tmp_path / "r.html").stat().st_size > 0
    assert "0123456789" in (tmp_path / "r.html").read_text()
    code, out, err = run(capsys, "report", str(dataset), "-o", str(tmp_path / "t.html"),
                         "--export", "csv")
    assert (code, err) == (0, "")
    assert (tmp_path / "t-trips.csv").read_text().startswith("device_id,")


def test_convert_with_one_bad_input_exits_1_but_converts_the_rest(capsys, tmp_path, captures):
    code, out, err = run(
        capsys, "convert", str(captures), str(tmp_path / "gone.log"), "-o", str(tmp_path / "ds")
    )
    assert code == 1
    assert_one_line(err, "gone.log")
    assert "12 messages" in out


def test_listen_for_a_while(capsys, tmp_path):
    code, out, err = run(capsys, "listen", "--port", "0", "-o", str(tmp_path), "--duration", "0.2")
    assert code == 0
    assert_one_line(err, "listening on 127.0.0.1:", "(tcp, udp)")
    assert "0 connection(s)" in out
    assert len(list(tmp_path.glob("bofan-*.log"))) == 1


def test_subprocess_convert(tmp_path, captures):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bofan_analytics",
            "convert",
            str(captures),
            "-o",
            str(tmp_path / "ds"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar when stderr is not a terminal


def test_bad_or_unreachable_scheduler(capsys, tmp_path, captures, monkeypatch):
    from bofan_analytics.dataset import _convert

    monkeypatch.setattr(_convert, "SCHEDULER_TIMEOUT_S", 0.5)
    out = str(tmp_path / "ds")
    code, _, err = run(capsys, "convert", str(captures), "-o", out, "--scheduler", "nonsense")
    assert code == 2
    assert_one_line(err, "bad scheduler address 'nonsense'")
    code, _, err = run(
        capsys, "convert", str(captures), "-o", out, "--scheduler", "tcp://127.0.0.1:9"
    )
    assert code == 1
    assert_one_line(err, "cannot reach the Dask scheduler at tcp://127.0.0.1:9")


def test_report_passes_zone_and_ignition_input(capsys, tmp_path, monkeypatch):
    calls = []
    fake = types.ModuleType("bofan_analytics.report")
    fake.write_report = lambda *args, **kwargs: calls.append(kwargs)
    monkeypatch.setitem(sys.modules, "bofan_analytics.report", fake)
    (tmp_path / "ds" / "messages").mkdir(parents=True)
    base = ("report", str(tmp_path / "ds"), "-o", str(tmp_path / "r.html"))
    assert run(capsys, *base, "--tz", "Europe/Berlin", "--ignition-input", "2")[0] == 0
    assert run(capsys, *base, "--tz", "auto")[0] == 0
    assert (calls[0]["tz"], calls[0]["ignition_input"]) == ("Europe/Berlin", 2)
    assert calls[1]["tz"] == "auto" and "ignition_input" not in calls[1]
    code, _, err = run(capsys, *base, "--tz", "Mars/Olympus")
    assert code == 2
    assert_one_line(err, "unknown time zone 'Mars/Olympus'")
    code, _, err = run(capsys, *base, "--ignition-input", "0")
    assert code == 2
