"""A first run decodes a small input as plain Python (the decoder's twin) while a second
process compiles the decoder; the tables are the compiled decoder's."""

import gzip
import importlib
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import bofan_analytics as ba
from bofan_analytics import _numba, _plain
from bofan_analytics.errors import InputError

pytestmark = pytest.mark.skipif(
    _numba.PLAIN, reason="the twin stands in for compiled kernels; here none are compiled")

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "data" / "samples"
INPUTS = [
    SAMPLES / "fleet.log",
    SAMPLES / "fleet.log.gz",
    SAMPLES / "fleet.bin",
    SAMPLES / "tracker-server.log",
    SAMPLES / "tracker-server.log.zst",
    ROOT / "tests" / "data" / "pcap" / "loopback.pcap",
]


def _same(a, b):
    assert a.messages.equals(b.messages)
    assert a.rejects.equals(b.rejects)
    assert a.accounting == b.accounting


@pytest.mark.parametrize("path", INPUTS, ids=lambda p: p.name)
def test_the_twin_decodes_every_format_as_the_compiled_decoder(path):
    twin = _plain.module("decode.log")
    assert twin.read_log is not ba.read_log
    plain = twin.read_log(path)
    assert type(plain) is ba.DecodedLog  # the package's own class, not a twin's
    assert len(plain.messages) > 0
    _same(plain, ba.read_log(path))


@pytest.mark.parametrize("fmt", ["lines", "stream"])
@pytest.mark.parametrize("name", ["pt502_frames.tsv", "pt60_frames.tsv",
                                  "pt502_stream_framing.tsv"])
def test_the_twin_decodes_the_real_frames_as_the_compiled_decoder(name, fmt):
    """The frames published from real devices (``tests/data/vectors``), every one a
    message or a reject alike."""
    path = ROOT / "tests" / "data" / "vectors" / name
    _same(_plain.module("decode.log").read_log(path, format=fmt), ba.read_log(path, format=fmt))


def test_the_twin_runs_the_kernels_as_python():
    frames = _plain.module("decode._framing_kernels").frame_segments
    compiled = ba.decode._assemble.frame_segments
    # one source, run twice: the twin's kernel is a plain function, not a dispatcher
    assert not hasattr(frames, "py_func")
    assert frames.__wrapped__.__code__.co_filename == compiled.py_func.__code__.co_filename
    assert frames.__wrapped__.__code__.co_code == compiled.py_func.__code__.co_code
    assert _plain.module("_numba").PLAIN and not _numba.PLAIN


def test_the_twin_raises_the_package_s_errors(tmp_path):
    path = tmp_path / "words.txt"
    path.write_bytes(b"nothing here is a frame\n")
    with pytest.raises(InputError, match="does not fit --format traccar"):
        _plain.module("decode.log").read_log(path, format="traccar")


def test_bytes_options_and_zones_reach_the_twin():
    line = (b"2026-11-02 07:10:27  INFO: [T1a2b3c4d: pt502 < 10.0.0.5] " + (
        b"$POS,860000000000136,073335.000,A,4823.4451,N,01446.7173,E,11.75,313.77,021126,,,"
        b"A/00000,00000/0,0,0,0/14//fa6//\r\n").hex().encode() + b"\n")
    options = dict(format="traccar", source_name="srv.log", log_tz="Europe/Vienna",
                   device_tz="Europe/Vienna")
    plain = _plain.module("decode.log").read_log(line, **options)
    _same(plain, ba.read_log(line, **options))
    assert plain.messages.column("source").to_pylist() == ["srv.log"]


@pytest.fixture
def first_run(monkeypatch):
    """As on a fresh install: the framer not compiled, the plain way turned on."""
    monkeypatch.setenv("BOFAN_PLAIN_FIRST", "1")
    monkeypatch.delenv("BOFAN_COMPILE_ASIDE", raising=False)
    monkeypatch.setattr(_numba, "_is_cached", lambda dispatcher: False)


def test_small_inputs_on_a_first_run_are_decoded_plain(first_run, tmp_path, monkeypatch):
    limit = _plain.PLAIN_MAX_BYTES
    assert _plain.wanted(b"x" * limit)
    assert not _plain.wanted(b"x" * (limit + 1))
    small = tmp_path / "a.log"
    small.write_bytes(b"x" * (limit // 2))
    assert _plain.wanted(small) and _plain.wanted([small]) and _plain.wanted(tmp_path)
    (tmp_path / "b.log").write_bytes(b"x" * (limit // 2 + 1))
    assert not _plain.wanted(tmp_path)  # the files of a directory count together
    packed = tmp_path / "c.log.gz"
    packed.write_bytes(gzip.compress(os.urandom(limit // _plain.COMPRESSED_FACTOR)))
    assert not _plain.wanted(packed)  # counted as it will be decompressed, about
    assert not _plain.wanted(tmp_path / "missing.log")  # the compiled way says what's wrong
    monkeypatch.setenv("BOFAN_PLAIN_FIRST", "0")
    assert not _plain.wanted(small)
    monkeypatch.setenv("BOFAN_PLAIN_FIRST", "1")
    monkeypatch.setenv("BOFAN_COMPILE_ASIDE", "0")  # a process compiling aside compiles
    assert not _plain.wanted(small)


def test_once_the_framer_is_compiled_nothing_is_decoded_plain(first_run, monkeypatch):
    monkeypatch.setattr(_numba, "_is_cached", lambda dispatcher: True)
    assert not _plain.wanted(b"x")


FIRST_RUN = textwrap.dedent("""
    import os, sys
    import bofan_analytics as ba
    from bofan_analytics import _numba, _plain
    from bofan_analytics.decode._framing_kernels import frame_segments
    log = ba.read_log(sys.argv[1])
    print(len(log.messages), len(log.rejects), log.accounting["input_bytes"][0])
    aside = _numba._ASIDE.get(_plain.ASIDE_KEY)
    print(aside.pid if aside else 0, _numba._is_cached(frame_segments))
    if sys.argv[2] == "wait":
        _numba.await_aside(_plain.ASIDE_KEY)
        print(aside.returncode, _numba._is_cached(frame_segments))
""")


def _first_run(tmp_path, *args):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), BOFAN_PLAIN_FIRST="1",
               PYTHONPATH=str(ROOT))
    env.pop("BOFAN_COMPILE_ASIDE", None)
    return subprocess.run([sys.executable, "-c", FIRST_RUN, *map(str, args)], env=env,
                          capture_output=True, text=True, check=True, timeout=600)


def test_a_first_run_decodes_plain_and_leaves_no_process_behind(tmp_path):
    path = SAMPLES / "fleet.log"
    done = _first_run(tmp_path, path, "exit")
    compiled = ba.read_log(path)
    lines = done.stdout.split("\n")
    assert lines[0] == (f"{len(compiled.messages)} {len(compiled.rejects)} "
                        f"{compiled.accounting['input_bytes'][0]}")
    pid, cached = lines[1].split()
    assert cached == "False"  # nothing compiled in that process
    assert done.stderr.splitlines() == [f"bofan_analytics: {_plain.NOTICE}"]
    with pytest.raises(ProcessLookupError):  # the process compiling aside ended with it
        os.kill(int(pid), 0)


def test_the_second_process_fills_the_cache_for_the_next_input(tmp_path):
    done = _first_run(tmp_path, SAMPLES / "fleet.log", "wait")
    assert done.stdout.split("\n")[2] == "0 True"
    # the next process finds the framer compiled and decodes compiled, saying nothing
    again = _first_run(tmp_path, SAMPLES / "fleet.log", "exit")
    assert again.stderr == "" and again.stdout.split("\n")[1] == "0 True"


def test_read_log_decodes_plain_and_starts_the_compiled_decode_of_the_same_input(
        first_run, monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr(_numba, "run_aside",
                        lambda key, code, niceness, data=None: started.append((code, data)))
    path = SAMPLES / "fleet.log"
    data = path.read_bytes()
    options = dict(source_name="fleet.log", log_tz="UTC")
    monkeypatch.setenv("BOFAN_PLAIN_FIRST", "0")  # the compiled decoder's tables
    compiled, compiled_bytes = ba.read_log(path), ba.read_log(data, **options)
    monkeypatch.setenv("BOFAN_PLAIN_FIRST", "1")
    # a generator of paths is read twice (its size, then its files): taken once
    _same(ba.read_log(p for p in [path]), compiled)
    _same(ba.read_log(data, **options), compiled_bytes)
    assert len(started) == 2
    # what the second process runs decodes the same input (here from the warm cache)
    env = dict(os.environ, PYTHONPATH=str(ROOT), BOFAN_COMPILE_ASIDE="0")
    for code, given in started:
        done = subprocess.run([sys.executable, "-c", code], input=given, env=env,
                              capture_output=True, timeout=300)
        assert done.returncode == 0, done.stderr.decode()
    # the input reaches it as data, not as code
    assert {code for code, _ in started} == {_plain._DECODE_LATER}
    assert pickle.loads(started[0][1]) == ([str(path)], {"format": "auto", "source_name": None,
                                                         "log_tz": None, "port": 8888})
    assert pickle.loads(started[1][1]) == (data, {"format": "auto", **options, "port": 8888})


def test_the_twin_binds_no_compiled_kernel():
    """Every module the twin executes again holds plain functions only: a kernel bound
    from a module it shares with the package would be compiled by a plain decode."""
    from numba.core.dispatcher import Dispatcher

    _plain.module("decode.log")
    for name in sorted(_plain.TWINNED):
        twin = sys.modules.get(f"{_plain.TWIN}.{name}") or _plain.module(name)
        own = importlib.import_module(f"bofan_analytics.{name}")
        assert twin is not own, name
        compiled = [k for k, v in vars(twin).items() if isinstance(v, Dispatcher)]
        assert compiled == [], (name, compiled)
    # and every module of the package that holds a kernel is twinned, or not decoding's
    import pkgutil

    for info in pkgutil.walk_packages(ba.__path__, "bofan_analytics."):
        if not info.name.startswith(("bofan_analytics.decode.", "bofan_analytics.io.")):
            continue
        mod = importlib.import_module(info.name)
        kernels = [k for k, v in vars(mod).items()
                   if isinstance(v, Dispatcher) and v.py_func.__module__ == info.name]
        rel = info.name.removeprefix("bofan_analytics.")
        assert not kernels or rel in _plain.TWINNED or rel == "decode._positions_kernels", rel
