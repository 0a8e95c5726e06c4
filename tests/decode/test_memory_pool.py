"""Arrow's memory pool: the system allocator unless the user chose one; and malloc keeps
freed blocks for the next ones unless the user tuned it.

The decoder frees and allocates chunk-sized buffers on two threads; pyarrow's bundled
allocator hands freed memory back to the kernel at once, so every buffer was faulted in
afresh (see ``schema._use_the_system_allocator``), and so did glibc's malloc with its
default thresholds (``schema._keep_freed_memory``).
"""

import ctypes
import os
import platform
import subprocess
import sys

import pytest

_PROBE = "import pyarrow as pa, bofan_analytics.schema; print(pa.default_memory_pool().backend_name)"


def _backend(env):
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | env
    done = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def test_the_decoder_runs_on_the_system_allocator():
    assert _backend({}) == "system"


@pytest.mark.parametrize("chosen", ["mimalloc", "jemalloc"])
def test_a_pool_the_user_chose_is_kept(chosen):
    import pyarrow as pa

    if chosen not in pa.supported_memory_backends():
        pytest.skip(f"this pyarrow has no {chosen}")
    assert _backend({"ARROW_DEFAULT_MEMORY_POOL": chosen}) == chosen


# a 16 MiB block written, freed, and then the same again: the page faults of the second
_REUSE = """
import ctypes, resource
import bofan_analytics.schema
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
size = 16 << 20
def write_and_free():
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
write_and_free()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
write_and_free()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""

_GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def _faults_of_a_freed_block_again(env):
    from bofan_analytics.schema import MALLOC_VARIABLES

    names = {*MALLOC_VARIABLES, "GLIBC_TUNABLES"}  # what a user tunes malloc with
    env = {k: v for k, v in os.environ.items() if k not in names} | env
    done = subprocess.run([sys.executable, "-c", _REUSE], env=env, capture_output=True,
                          text=True, check=True)
    return int(done.stdout)


@pytest.mark.skipif(not _GLIBC, reason="glibc's malloc")
def test_a_freed_block_is_used_again_without_faulting_it_in():
    # 16 MiB is 4,096 pages: mapped afresh, every one of them faults
    assert _faults_of_a_freed_block_again({}) < 64


@pytest.mark.skipif(not _GLIBC, reason="glibc's malloc")
@pytest.mark.parametrize("tuned", [{"MALLOC_ARENA_MAX": "4"},
                                   {"GLIBC_TUNABLES": "glibc.malloc.arena_max=4"}])  # fmt: skip
def test_malloc_as_the_user_tuned_it_is_left_alone(tuned):
    assert _faults_of_a_freed_block_again(tuned) >= 4000


def test_malloc_is_left_alone_where_the_c_library_is_not_glibc(monkeypatch):
    from bofan_analytics import schema

    calls = []

    class NotGlibc:  # a C library with mallopt but not glibc's (musl has one too)
        def mallopt(self, *args):
            calls.append(args)

    monkeypatch.setattr(ctypes, "CDLL", lambda name: NotGlibc())
    for name in schema.MALLOC_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    schema._keep_freed_memory()
    assert calls == []
