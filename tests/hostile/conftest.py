"""Hostile inputs: strings that try to run as templates or scripts, files that try to be lost.

Makes ``tests/helpers.py``, the pcap builder, the report tests' browser probe and the dataset
tests' helpers importable. Killed writers, concurrent writers, cut-off archives and lost Dask
clusters against a dataset are here too (``test_hostile_killed``, ``test_hostile_dataset_cli``,
``test_hostile_dask``).
"""

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]
# the repository (for ``tests.decode.pcap_builder``), the test helpers, the browser probe,
# the dataset tests' stand-in decoder
for _path in (str(_TESTS.parent), str(_TESTS), str(_TESTS / "report"), str(_TESTS / "dataset")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
