"""``--log-tz`` on summary, convert and report: tracker-server logs in the server's zone."""

from __future__ import annotations

import sys
import types

import pyarrow.dataset as pads
import pytest

from bofan_analytics.cli import main

POS = b"$POS,7210285832,184655.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/00000,00000/0/0//"
#: 07:10:27 in Bogota (UTC-5) is 12:10:27 UTC
LOG = (
    b"2026-11-02 07:10:25  INFO: Starting server...\n"
    b"2026-11-02 07:10:27  INFO: [T1a2b3c4d: pt502 < 10.0.0.5] " + POS + b"\\r\\n\n"
)


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "tracker-server.log"
    path.write_bytes(LOG)
    return path


@pytest.mark.parametrize("command", ["summary", "convert", "report"])
def test_unknown_zone_exits_2_with_one_line(capsys, tmp_path, log, command):
    argv = [command, str(log), "--log-tz", "Mars/Olympus"]
    if command != "summary":
        argv += ["-o", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["bofan: unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin"]


def test_convert_reads_log_times_in_the_given_zone(capsys, tmp_path, log):
    out = tmp_path / "ds"
    assert main(["convert", str(log), "-o", str(out), "--log-tz", "America/Bogota"]) == 0
    table = pads.dataset(out / "messages", format="parquet", partitioning="hive").to_table()
    assert [t.isoformat() for t in table.column("received_at").to_pylist()] == [
        "2026-11-02T12:10:27+00:00"
    ]


def test_summary_takes_the_zone(capsys, log):
    assert main(["summary", str(log), "--log-tz", "America/Bogota"]) == 0
    assert f"{log}: traccar, 1 messages, 0 rejects" in capsys.readouterr().out


def test_report_decodes_a_capture_with_the_zone(capsys, tmp_path, log, monkeypatch):
    calls = []
    fake = types.ModuleType("bofan_analytics.report")
    fake.write_report = lambda source, *args, **kwargs: calls.append(source)
    monkeypatch.setitem(sys.modules, "bofan_analytics.report", fake)
    code = main(["report", str(log), "-o", str(tmp_path / "r.html"), "--log-tz", "America/Bogota"])
    assert code == 0
    (decoded,) = calls
    assert [t.isoformat() for t in decoded.messages.column("received_at").to_pylist()] == [
        "2026-11-02T12:10:27+00:00"
    ]
