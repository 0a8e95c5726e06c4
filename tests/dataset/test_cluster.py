"""Analyses of a dataset on a Dask cluster give exactly the answers of the call in memory."""

from __future__ import annotations

import pandas as pd
import pytest

import bofan_analytics as ba
from bofan_analytics.dataset import compact, convert
from bofan_analytics.errors import FormatError
from bofan_analytics.samples import generate_fleet, render_capture

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def fleet_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    fleet = generate_fleet(seed=11, vehicles=4, personal=3, days=2)
    data = render_capture(fleet, "lines").data
    cut = data.index(b"\n", len(data) // 2) + 1  # two captures: tracks cross file boundaries
    (root / "a.log").write_bytes(data[:cut])
    (root / "b.log").write_bytes(data[cut:])
    convert([root / "a.log", root / "b.log"], root / "ds")
    compact(root / "ds", target_mb=0.05)  # several device-sorted files per day
    return root / "ds", fleet.geofences


@pytest.fixture(scope="module")
def cluster():
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield cluster, client


CASES = {
    "detect_trips": lambda f, path, fences, **kw: f(path, **kw),
    "detect_stops": lambda f, path, fences, **kw: f(path, **kw),
    "find_overspeed": lambda f, path, fences, **kw: f(path, limit_kmh=50, **kw),
    "geofence_events": lambda f, path, fences, **kw: f(path, fences, **kw),
    "battery_trends": lambda f, path, fences, **kw: f(path, **kw),
    "alarms": lambda f, path, fences, **kw: f(path, **kw),
    "daily_summary": lambda f, path, fences, **kw: f(path, limit_kmh=50, tz="auto", **kw),
    "harsh_events": lambda f, path, fences, **kw: f(path, **kw),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_cluster_answer_equals_memory(fleet_dataset, cluster, name):
    path, fences = fleet_dataset
    _, client = cluster
    call = CASES[name]
    func = getattr(ba, name)
    here = call(func, path, fences)
    assert len(here) > 0
    pd.testing.assert_frame_equal(call(func, path, fences, client=client), here)
    # a selection, on the cluster too
    devices = sorted(here["device_id"].unique())[1:3]
    window = {"devices": devices, "start": "2026-11-02T12:00", "end": "2026-11-03"}
    pd.testing.assert_frame_equal(
        call(func, path, fences, client=client, **window), call(func, path, fences, **window)
    )


def test_scheduler_address_and_errors(fleet_dataset, cluster):
    path, _ = fleet_dataset
    local, _ = cluster
    trips = ba.detect_trips(path, scheduler=local.scheduler_address)
    pd.testing.assert_frame_equal(trips, ba.detect_trips(path))
    nothing = ba.detect_trips(path, scheduler=local.scheduler_address, devices=["no such"])
    pd.testing.assert_frame_equal(nothing, ba.detect_trips(path, devices=["no such"]))
    with pytest.raises(FormatError, match="run on a dataset path, not on a DataFrame"):
        ba.detect_trips(pd.DataFrame(), scheduler=local.scheduler_address)
    with pytest.raises(FormatError, match="not both"):
        ba.detect_trips(path, scheduler="tcp://127.0.0.1:1", client=object())


def test_report_on_a_cluster_has_the_same_tables(
    fleet_dataset, cluster, tmp_path, capsys, monkeypatch
):
    from bofan_analytics.cli import main
    from bofan_analytics.report import build_report

    path, fences = fleet_dataset
    local, _ = cluster
    options = {"geofences": fences, "speed_limit_kmh": 50, "devices": None}
    here = build_report(path, **options)
    there = build_report(path, scheduler=local.scheduler_address, **options)
    for name, table in here.tables.items():
        pd.testing.assert_frame_equal(there.tables[name], table, obj=name)
    pd.testing.assert_frame_equal(there.summary, here.summary)

    out = tmp_path / "r.html"
    assert main(["report", str(path), "-o", str(out), "--scheduler", local.scheduler_address]) == 0
    assert out.stat().st_size > 0
    assert main(["report", str(path), "-o", str(out), "--scheduler", "nonsense://x"]) == 2
    assert capsys.readouterr().err.startswith("bofan: bad scheduler address 'nonsense://x'")
    from bofan_analytics.dataset import _convert

    monkeypatch.setattr(_convert, "SCHEDULER_TIMEOUT_S", 1)
    nowhere = "tcp://127.0.0.1:1"
    assert main(["report", str(path), "-o", str(out), "--scheduler", nowhere]) == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"bofan: cannot reach the Dask scheduler at {nowhere}: ")


def test_devices_are_cut_into_groups_of_about_equal_rows(monkeypatch):
    from bofan_analytics.analytics import _cluster

    groups = _cluster._groups
    assert groups({}, 4) == []
    assert groups({"b": 5, "a": 5, "d": 5, "c": 5}, 2) == [["a", "b"], ["c", "d"]]
    assert groups({"a": 1}, 8) == [["a"]]
    # one device with most rows keeps a group of its own
    assert groups({"a": 100, "b": 1, "c": 1}, 3) == [["a"], ["b", "c"]]
    # more rows than tasks allow: more groups than asked for
    monkeypatch.setattr(_cluster, "ROWS_PER_TASK", 10)
    assert groups({k: 5 for k in "abcdef"}, 1) == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_a_dataset_without_manifest_runs_on_the_cluster_too(cluster):
    from pathlib import Path

    golden = Path(__file__).resolve().parent / "data" / "v1"  # written before manifests
    _, client = cluster
    here = ba.alarms(golden)
    assert here["alarm"].tolist() == ["hard_acceleration"]
    pd.testing.assert_frame_equal(ba.alarms(golden, client=client), here)
