"""The numba settings module: one place for options, and a first-run notice on stderr."""

import contextlib

import numba
import numba.core.event as numba_event

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
