"""The cores this process may use: its affinity and its cgroup's CPU quota, not the
machine's CPU count."""

import threading

import numba
import pytest

from bofan_analytics import _cores, _numba
from bofan_analytics.io.formats import _parallel


def _group(tmp_path, files: dict, membership: str):
    for relative, text in files.items():
        path = tmp_path / "cgroup" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (tmp_path / "self_cgroup").write_text(membership)
    return tmp_path / "cgroup", tmp_path / "self_cgroup"


@pytest.mark.parametrize(("files", "membership", "quota"), [
    # cgroup v2, the process's own group (a host) and a container's namespace
    ({"system.slice/job.scope/cpu.max": "150000 100000\n"}, "0::/system.slice/job.scope\n", 1.5),
    ({"cpu.max": "200000 100000\n"}, "0::/\n", 2.0),
    ({"cpu.max": "max 100000\n"}, "0::/\n", None),
    # cgroup v1: the cpu hierarchy, under either of its names; -1 is no quota
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"},
     "4:memory:/x\n2:cpuacct:/\n1:cpu:/\n0::/\n", None),
    ({"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n",
      "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"},
     "3:cpu,cpuacct:/docker/abc\n", 0.5),
    ({"cpu,cpuacct/cpu.cfs_quota_us": "300000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
     "3:cpu,cpuacct:/\n", 3.0),
    # nothing readable: no quota known
    ({}, "", None),
    ({"cpu.max": "garbage\n"}, "0::/\n", None),
])  # fmt: skip
def test_the_cgroup_cpu_quota_is_read_from_v1_and_v2_files(tmp_path, files, membership, quota):
    root, self_cgroup = _group(tmp_path, files, membership)
    assert _cores.cpu_quota(root, self_cgroup) == quota


@pytest.mark.parametrize(("cpus", "quota", "usable"), [
    (64, 2.0, 2), (64, 1.5, 2), (64, 0.5, 1), (4, None, 4), (2, 8.0, 2), (1, None, 1),
])
def test_usable_cores_are_the_affinity_within_the_quota(monkeypatch, cpus, quota, usable):
    monkeypatch.setattr(_cores.os, "sched_getaffinity", lambda pid: set(range(cpus)),
                        raising=False)
    monkeypatch.setattr(_cores, "cpu_quota", lambda: quota)
    _cores.usable_cores.cache_clear()
    try:
        assert _cores.usable_cores() == usable
    finally:
        _cores.usable_cores.cache_clear()


def test_the_decoding_threads_follow_the_usable_cores(monkeypatch):
    monkeypatch.setattr(_cores, "usable_cores", lambda: 3)
    _parallel.threads.cache_clear()
    try:
        assert _parallel.threads() == 3
        monkeypatch.setattr(_cores, "usable_cores", lambda: 64)
        _parallel.threads.cache_clear()
        assert _parallel.threads() == 8  # never more than eight
    finally:
        _parallel.threads.cache_clear()


def test_a_thread_runs_parallel_kernels_on_the_usable_cores_only(monkeypatch):
    """Numba would start a thread per CPU of the machine: a process that may use fewer
    masks its kernels down to those (per calling thread, as numba keeps it)."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one numba thread: nothing to mask")
    monkeypatch.setattr(_cores, "usable_cores", lambda: 1)
    seen = []

    def call():
        _numba._within_cores()
        seen.append(numba.get_num_threads())

    worker = threading.Thread(target=call)
    worker.start()
    worker.join()
    assert seen == [1]
