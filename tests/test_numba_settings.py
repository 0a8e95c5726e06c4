"""The numba settings module: one place for options, and a first-run notice on stderr."""

import contextlib

import numba
import numba.core.event as numba_event
import pytest

from bofan_analytics import _numba


@contextlib.contextmanager
def _only(notice):
    """Listen with ``notice`` alone: the package's own listener may have spoken already."""
    numba_event.unregister("numba:compile", _numba._NOTICE)
    try:
        with numba_event.install_listener("numba:compile", notice):
            yield
    finally:
        numba_event.register("numba:compile", _numba._NOTICE)


def _fresh_kernel(module):
    def add_one(x):
        return x + 1

    add_one.__module__ = module
    return numba.njit(cache=False)(add_one)


def test_a_real_compilation_is_announced_once_per_part(capsys):
    notice = _numba._CompileNotice()
    with _only(notice):
        _fresh_kernel("bofan_analytics.analytics.trips")(1)
        _fresh_kernel("bofan_analytics.analytics.stops")(1)   # same part: said already
        _fresh_kernel("bofan_analytics.decode.stream")(1)
    assert capsys.readouterr().err.splitlines() == [
        "bofan_analytics: compiling the analytics kernels for this machine (first run only)…",
        "bofan_analytics: compiling the decoder for this machine (first run only)…",
    ]


def test_a_compiled_kernel_called_again_says_nothing(capsys):
    kernel = _fresh_kernel("bofan_analytics.viz.maps")
    kernel(1)
    capsys.readouterr()
    notice = _numba._CompileNotice()
    with _only(notice):
        assert kernel(2) == 3
    assert capsys.readouterr().err == ""


def test_kernels_of_other_packages_are_not_announced(capsys):
    notice = _numba._CompileNotice()
    with _only(notice):
        _fresh_kernel("someone_else.kernels")(1)
    assert "bofan_analytics" not in capsys.readouterr().err


# -- kernels compiled in a second process on a first run ------------------------------------
_PROBE = '''
import numpy as np
import numba

@numba.njit(cache=True)
def triple(x):
    return x * 3

KERNELS = (triple,)

def warm_up():
    triple(np.int64(2))
'''


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """A kernel module of its own, not compiled yet, that a second process can import, on a
    machine with two cores: ``(name, module)``."""
    import importlib
    import os
    import uuid

    name = f"aside_probe_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(_PROBE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    return name, importlib.import_module(name)


def test_a_kernel_compiled_aside_is_loaded_from_the_cache(probe):
    name, probe = probe
    assert not _numba._is_cached(probe.triple)

    _numba.compile_aside(name)
    assert _numba._ASIDE[name] is not None  # a second process compiles it
    _numba.await_aside(name)
    assert _numba._ASIDE[name] is None and _numba._is_cached(probe.triple)
    assert probe.triple(7) == 21
    assert sum(probe.triple.stats.cache_hits.values()) == 1  # loaded, not compiled here
    assert sum(probe.triple.stats.cache_misses.values()) == 0

    _numba.compile_aside(name)  # asked again: nothing to do
    assert _numba._ASIDE[name] is None


def test_cached_kernels_start_no_second_process():
    from bofan_analytics.decode import _parse, _pt60_kernels, _pt502_kernels

    _pt502_kernels.warm_up()  # cached by now (or compiled here, once)
    _pt60_kernels.warm_up()
    for module, _ in _parse.PARSERS:
        _numba._ASIDE.pop(module, None)
    _parse.start_compiling(b"$POS,1 @G#@")
    assert [_numba._ASIDE[module] for module, _ in _parse.PARSERS] == [None, None]


def test_the_parsers_are_warmed_up_with_the_types_decoding_passes():
    import bofan_analytics as ba
    from bofan_analytics.decode import _framing_kernels, _pt60_kernels, _pt502_kernels

    sentence = b"$POS,3760971,145703.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/00000,00000/0/0//#\n"
    compressed = bytes.fromhex("40600204063138 2e303030130002 0d0a".replace(" ", ""))
    pt60 = b"@G#@,V01,44,108101712007180,9460004820707903,@R#@\n"
    for data in (sentence, sentence + compressed, pt60):  # chunk bytes; expanded sentences
        assert len(ba.read_log(data).messages) == data.count(b"\n")
    _pt502_kernels.warm_up()
    _pt60_kernels.warm_up()
    # what a first decode compiles while its parsers compile aside
    from bofan_analytics.decode import _arrow_kernels, _assemble

    _assemble._TABLES_COMPILED.clear()
    _assemble._compile_tables()
    # one compilation serves them all (each more is seconds on a fresh install)
    assert len(_pt502_kernels.parse_pt502.signatures) == 1
    assert len(_pt60_kernels.parse_pt60.signatures) == 1
    assert len(_framing_kernels.frame_segments.signatures) == 1
    for kernel in (_arrow_kernels.gather_slices, _arrow_kernels.take_strings,
                   _arrow_kernels.gather_columns, _arrow_kernels.inherit_device):
        assert len(kernel.signatures) == 1, kernel


def _kind(fn):
    """Which of ``jit``, ``pjit`` and ``helper`` decorate the function node ``fn``."""
    import ast

    names = set()
    for d in fn.decorator_list:
        d = d.func if isinstance(d, ast.Call) else d
        names.add(d.id if isinstance(d, ast.Name) else getattr(d, "attr", None))
    return names & {"jit", "pjit", "helper"}


def _package_trees():
    import ast
    from pathlib import Path

    return [ast.parse(p.read_text(encoding="utf-8"))
            for p in Path(_numba.__file__).parent.rglob("*.py")]


def test_helpers_are_called_only_from_kernels():
    """A ``helper`` called from Python would run as plain, slow Python: every use of one
    is inside a compiled function."""
    import ast

    trees = _package_trees()
    helpers = {node.name for tree in trees for node in tree.body
               if isinstance(node, ast.FunctionDef) and "helper" in _kind(node)}
    assert len(helpers) > 50
    outside = []
    for tree in trees:
        compiled = {id(sub) for node in tree.body
                    if isinstance(node, ast.FunctionDef) and _kind(node)
                    for sub in ast.walk(node)}
        for sub in ast.walk(tree):
            name = sub.id if isinstance(sub, ast.Name) else getattr(sub, "attr", None)
            if (name in helpers and isinstance(getattr(sub, "ctx", None), ast.Load)
                    and id(sub) not in compiled):
                outside.append(name)
    assert outside == []


def test_a_helper_that_keeps_no_reference_counts_makes_and_returns_no_array():
    """Helpers borrow their arrays (no reference counting) unless declared
    ``allocates=True``: a borrowing helper that made an array, returned one it was given,
    or called a helper that does either would leave counts wrong in its caller."""
    import ast

    made = {"empty", "zeros", "full", "ones", "array", "copy", "arange", "empty_like",
            "zeros_like", "concatenate", "argsort", "sort", "unique", "cumsum"}
    borrowing, counting = {}, set()
    for tree in _package_trees():
        for node in tree.body:
            if not (isinstance(node, ast.FunctionDef) and "helper" in _kind(node)):
                continue
            allocates = any(
                isinstance(d, ast.Call) and any(
                    k.arg == "allocates" and getattr(k.value, "value", False)
                    for k in d.keywords)
                for d in node.decorator_list)
            if allocates:
                counting.add(node.name)
            else:
                borrowing[node.name] = node
    assert len(counting) >= 5 and len(borrowing) > 50
    wrong = []
    for name, node in borrowing.items():
        params = {a.arg for a in node.args.args}
        arrays = {s.value.id for s in ast.walk(node)
                  if isinstance(s, ast.Subscript) and isinstance(s.value, ast.Name)} & params
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                f = sub.func
                if isinstance(f, ast.Attribute) and f.attr in made:
                    wrong.append((name, f.attr))
                if isinstance(f, ast.Name) and f.id in counting:
                    wrong.append((name, f.id))
            if isinstance(sub, ast.Return) and sub.value is not None:
                values = sub.value.elts if isinstance(sub.value, ast.Tuple) else [sub.value]
                wrong += [(name, v.id) for v in values
                          if isinstance(v, ast.Name) and v.id in arrays]
    assert wrong == []



def test_compiling_aside_can_be_turned_off(probe, monkeypatch):
    name, probe = probe
    monkeypatch.setenv("BOFAN_COMPILE_ASIDE", "0")
    _numba.compile_aside(name)
    assert name not in _numba._ASIDE and not _numba._is_cached(probe.triple)


def test_a_process_compiling_aside_is_reaped_when_nothing_waits_for_it(probe):
    import time

    name, _ = probe
    _numba.compile_aside(name)
    proc = _numba._ASIDE[name]
    deadline = time.monotonic() + 120
    while proc.returncode is None and time.monotonic() < deadline:  # nobody here waits
        time.sleep(0.05)
    assert proc.returncode == 0  # ended, and collected: no zombie left behind


def test_the_first_analytics_compilation_starts_the_later_analyses_aside(monkeypatch):
    """A process that compiles its first analytics kernel has the kernels of the analyses
    that usually follow compiled in a second process (once); other parts start none."""
    import types

    started = []
    monkeypatch.setattr(_numba, "compile_aside", started.append)
    notice = _numba._CompileNotice()

    def event(module):
        kernel = types.SimpleNamespace(py_func=types.SimpleNamespace(__module__=module))
        return types.SimpleNamespace(data={"dispatcher": kernel})

    notice.on_start(event("bofan_analytics.decode._pt502_kernels"))
    assert started == []
    notice.on_start(event("bofan_analytics.analytics.trips"))
    notice.on_start(event("bofan_analytics.analytics.overspeed"))
    assert started == ["bofan_analytics.analytics._warm"] == list(_numba.ASIDE_AFTER.values())


def test_a_process_compiling_aside_starts_no_further_one(probe, tmp_path, monkeypatch):
    """The second process compiles what it needs itself: it is told not to start another."""
    name, _ = probe
    out = tmp_path / "env.txt"
    (tmp_path / f"{name}.py").write_text(
        _PROBE + f"\n    open({str(out)!r}, 'w').write(__import__('os').environ"
        "['BOFAN_COMPILE_ASIDE'])\n"
    )
    _numba.compile_aside(name)
    _numba.await_aside(name)
    assert out.read_text() == "0"


_FLOW_THEN_WARM_UP = """
import bofan_analytics as ba, sys
from bofan_analytics.analytics import _warm
import bofan_analytics.analytics as A, bofan_analytics.viz as V
log = ba.read_log(sys.argv[1])
positions = log.positions()
ba.detect_trips(positions); ba.detect_stops(positions)
ba.find_overspeed(positions, limit_kmh=90)
ba.geofence_visits(positions, sys.argv[2])
ba.track_map(positions, geofences=sys.argv[2]).get_root().render()
ba.battery_trends(log); ba.alarms(log); ba.daily_summary(positions, limit_kmh=90)
ba.harsh_events(positions); ba.scorecard(positions)
_warm.warm_up()
from numba.core.registry import CPUDispatcher
import importlib, pkgutil
seen = {}
for info in [*pkgutil.walk_packages(A.__path__, "bofan_analytics.analytics."),
             *pkgutil.walk_packages(V.__path__, "bofan_analytics.viz.")]:
    module = importlib.import_module(info.name)
    for value in vars(module).values():
        for d in (value, getattr(value, "serial", None)):
            if isinstance(d, CPUDispatcher) and d.signatures:
                seen[d.py_func.__qualname__] = len(d.signatures)
print(sorted((k, v) for k, v in seen.items() if v > 1))
print(len(seen))
"""


def test_the_analyses_warmed_up_aside_are_compiled_for_the_types_a_real_flow_passes():
    """Warming up on the made-up fleet adds no signature to the kernels a flow over real
    samples compiled: the process compiling aside compiles what the user's process loads."""
    import subprocess
    import sys
    from pathlib import Path

    samples = Path(__file__).resolve().parents[1] / "data" / "samples"
    done = subprocess.run(
        [sys.executable, "-c", _FLOW_THEN_WARM_UP, str(samples / "fleet.log"),
         str(samples / "geofences.geojson")],
        capture_output=True, text=True, check=True,
    )
    twice, kernels = done.stdout.split("\n")[:2]
    assert twice == "[]"
    assert int(kernels) >= 20  # the flow did reach the kernels of many analyses


def test_waiting_for_a_kernel_compiled_aside_does_this_process_s_own_work_first(monkeypatch):
    """While the second process still compiles, the first compiles what it can itself
    (``meanwhile``); once that process is done, nothing is run before the kernel loads."""
    import subprocess
    import sys

    done = []
    slow = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3)"])
    monkeypatch.setitem(_numba._ASIDE, "aside_probe_slow", slow)
    _numba.await_aside("aside_probe_slow", meanwhile=lambda: done.append(slow.poll()))
    assert done == [None] and slow.returncode == 0  # run while it worked, then waited for
    quick = subprocess.Popen([sys.executable, "-c", "pass"])
    quick.wait()
    monkeypatch.setitem(_numba._ASIDE, "aside_probe_quick", quick)
    _numba.await_aside("aside_probe_quick", meanwhile=lambda: done.append("late"))
    assert done == [None]


_KERNEL = '''
import sys
import numpy as np
from bofan_analytics._numba import jit
from bofan_analytics.decode._text_kernels import parse_uint

@jit
def read(buf):
    return parse_uint(buf, 0, buf.shape[0])

print(read(np.frombuffer(sys.argv[1].encode(), np.uint8)))
'''


def test_a_cached_kernel_is_compiled_again_when_a_helper_it_calls_changed(tmp_path):
    """A kernel compiles the helpers it calls into itself, from other files: numba keys its
    cache by the kernel's own file only, so a changed helper went on running as it was
    wherever that file stayed the same (an upgrade leaves numba's cache files behind).
    The package's cache stamp covers every package file a kernel's file imports."""
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from bofan_analytics import _numba_cache

    package = Path(_numba_cache.__file__).parent
    shutil.copytree(package, tmp_path / package.name,
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    script = tmp_path / "kernel.py"
    script.write_text(_KERNEL)
    env = dict(os.environ, PYTHONPATH=str(tmp_path), NUMBA_CACHE_DIR=str(tmp_path / "cache"),
               NUMBA_DEBUG_CACHE="1")  # fmt: skip

    def run(text):
        done = subprocess.run([sys.executable, str(script), text], env=env, cwd=tmp_path,
                              capture_output=True, text=True, check=True)  # fmt: skip
        loaded = any("data loaded" in line and "kernel.read" in line
                     for line in done.stdout.splitlines())  # fmt: skip
        return int(done.stdout.splitlines()[-1]), loaded

    assert run("42") == (42, False)  # compiled
    assert run("42") == (42, True)  # from the cache
    helpers = tmp_path / package.name / "decode" / "_text_kernels.py"
    source = helpers.read_text()
    assert source.count("        v = v * 10 + (c - 48)\n") == 1
    helpers.write_text(source.replace("        v = v * 10 + (c - 48)\n",
                                      "        v = v * 10 + (c - 48) + 1\n"))  # fmt: skip
    assert run("42") == (53, False)  # the changed helper, compiled again
    assert run("42") == (53, True)
    assert _numba_cache.sources_of(package / "decode" / "_pt60_kernels.py")[0].name == (
        "_pt60_kernels.py")
    assert {package / "decode" / "_text_kernels.py", package / "decode" / "_fields.py",
            package / "_numba.py"} <= set(_numba_cache.sources_of(
                package / "decode" / "_pt60_kernels.py"))  # fmt: skip
    # modules named in an import of their package, with comments between the names
    script.write_text("from bofan_analytics.decode import (  # the parsers\n"
                      "    _pt60_kernels,  # PT-60\n    _pt502_kernels,\n)\n")  # fmt: skip
    assert {package / "decode" / "_pt60_kernels.py", package / "decode" / "_pt502_kernels.py"
            } <= _numba_cache._imports(script, script.read_bytes())  # one step  # fmt: skip


_READ_EVERY_WAY = """
import importlib, pkgutil, sys
from pathlib import Path
from numba.core import types
from numba.core.registry import CPUDispatcher
import bofan_analytics as ba
import bofan_analytics.decode as D, bofan_analytics.io as I

samples, pcap = Path(sys.argv[1]), Path(sys.argv[2])
for name in ("fleet.log", "fleet.bin", "tracker-server.log", "fleet.log.gz",
             "tracker-server.log.zst"):
    ba.read_log(samples / name)  # read into a writable buffer
ba.read_log(pcap)
for name in ("fleet.log", "fleet.bin", "tracker-server.log"):
    ba.read_log((samples / name).read_bytes())  # bytes: read-only
ba.read_log(pcap.read_bytes())
twice = []
for info in [*pkgutil.walk_packages(D.__path__, "bofan_analytics.decode."),
             *pkgutil.walk_packages(I.__path__, "bofan_analytics.io.")]:
    for value in vars(importlib.import_module(info.name)).values():
        if isinstance(value, CPUDispatcher):
            kinds = [tuple(t.copy(readonly=False) if isinstance(t, types.Array) else t
                           for t in sig) for sig in value.signatures]  # read-only or not
            if len(set(kinds)) < len(kinds):
                twice.append(value.py_func.__qualname__)
print(sorted(set(twice)))
"""


def test_a_file_and_the_same_bytes_use_one_compilation_of_each_kernel():
    """A file is read into a writable buffer, bytes in memory are read-only: the kernels see
    the same read-only array either way, so reading both compiles (or loads) each kernel
    once, not once per kind of array."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", _READ_EVERY_WAY, str(root / "data" / "samples"),
         str(root / "tests" / "data" / "pcap" / "loopback.pcap")],
        capture_output=True, text=True, check=True,
    )
    assert done.stdout.strip() == "[]"
