"""How many cores this process may use: the one count the decoding threads, the process
that compiles aside, the files decoded at once and numba's parallel kernels go by.

``os.cpu_count()`` counts the machine's CPUs. A process pinned to some of them (``taskset``,
a container's cpuset) or given a CPU quota (``docker --cpus``, a Kubernetes limit) that
started a thread for each ran them in turns on the few it had, and a quota throttled it on
top: on a 64-core node with a limit of two, 8 decoding threads and 64 numba threads.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path

__all__ = ["usable_cores", "cpu_quota"]


@functools.cache
def usable_cores() -> int:
    """The CPUs this process may run on (its affinity), fewer when a cgroup CPU quota
    allows less time than that (rounded up: a quota of 1.5 CPUs is two threads); at least
    one. Counted once per process."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        n = os.cpu_count() or 1
    quota = cpu_quota()
    if quota is not None:
        n = min(n, math.ceil(quota))
    return max(1, n)


def cpu_quota(root: str | os.PathLike = "/sys/fs/cgroup",
              membership: str | os.PathLike = "/proc/self/cgroup") -> float | None:
    """The CPUs' worth of time the cgroup of this process may use (``quota / period``), or
    None when it is not limited or the system does not say.

    cgroup v2: ``cpu.max`` (``"max 100000"`` or ``"150000 100000"``) in the process's group
    (``0::/path`` in ``membership``) or, in a container's own namespace, at ``root``.
    cgroup v1: ``cpu.cfs_quota_us`` (``-1``: none) and ``cpu.cfs_period_us`` in the ``cpu``
    hierarchy."""
    root = Path(root)
    groups = _memberships(Path(membership))
    own = root / groups.get("", "/").lstrip("/")
    for folder in (own, root) if own != root else (root,):
        text = _read(folder / "cpu.max")
        if text is not None:
            quota, _, period = text.partition(" ")
            return _ratio(quota, period)
    v1 = groups.get("cpu", "/").lstrip("/")
    for hierarchy in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for folder in (root / hierarchy / v1, root / hierarchy):
            quota = _read(folder / "cpu.cfs_quota_us")
            if quota is not None:
                return _ratio(quota, _read(folder / "cpu.cfs_period_us") or "")
    return None


def _memberships(path: Path) -> dict[str, str]:
    """``{controller: group path}`` from ``/proc/self/cgroup`` lines ``id:controllers:path``
    (the v2 group under the controller ``""``)."""
    found = {}
    for line in (_read(path) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                found[controller] = parts[2]
    return found


def _ratio(quota: str, period: str) -> float | None:
    try:
        q, p = int(quota), int(period)
    except ValueError:  # "max": no quota
        return None
    return q / p if q > 0 and p > 0 else None


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None
