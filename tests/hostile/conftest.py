"""Hostile inputs: strings that try to run as templates or scripts, files that try to be lost.

Makes ``tests/helpers.py``, the pcap builder and the report tests' browser probe importable.
"""

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]
# the repository (for ``tests.decode.pcap_builder``), the test helpers, the browser probe
for _path in (str(_TESTS.parent), str(_TESTS), str(_TESTS / "report")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
