"""Arrow's memory pool: the system allocator unless the user chose one.

The decoder frees and allocates chunk-sized buffers on two threads; pyarrow's bundled
allocator hands freed memory back to the kernel at once, so every buffer was faulted in
afresh (see ``schema._use_the_system_allocator``).
"""

import os
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
