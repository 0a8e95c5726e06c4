"""A Dask cluster that cannot do the work ends a conversion with one line, exit 1."""

from __future__ import annotations

import threading

import pytest

from bofan_analytics.cli import main
from bofan_analytics.dataset import _convert

distributed = pytest.importorskip("distributed")

FRAME = (
    b"$POS,20007,134704.000,A,0626.1698,N,00330.2870,E,31.23,79.58,041016,,,"
    b"A/00010,00000/26c,0,0,0/19949100//fa4//#\r\n"
)


@pytest.fixture
def capture(tmp_path):
    path = tmp_path / "cap.bin"
    path.write_bytes(FRAME * 10)
    return path


def _no_workers():
    return distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None)


def test_a_cluster_without_workers_times_out(tmp_path, capture, capsys, monkeypatch):
    monkeypatch.setattr(_convert, "NO_WORKERS_TIMEOUT_S", 1)
    with _no_workers() as cluster:
        code = main(["convert", str(capture), "-o", str(tmp_path / "ds"),
                     "--scheduler", cluster.scheduler_address])  # fmt: skip
    assert code == 1
    assert capsys.readouterr().err == (
        f"bofan: the Dask cluster at {cluster.scheduler_address} has had no workers for 1 s; "
        "1 file(s) not converted\n"
    )
    # nothing was committed: the dataset is there, empty, and readable
    from bofan_analytics.dataset import read_dataset

    assert read_dataset(tmp_path / "ds").num_rows == 0


def test_a_lost_scheduler_is_one_line(tmp_path, capture, capsys):
    cluster = _no_workers()
    address = cluster.scheduler_address
    threading.Timer(1.5, cluster.close).start()  # the scheduler goes away mid-run
    code = main(["convert", str(capture), "-o", str(tmp_path / "ds"), "--scheduler", address])
    assert code == 1
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"bofan: lost the Dask scheduler at {address}")
