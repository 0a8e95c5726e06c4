"""Hostile inputs: strings that try to run as templates or scripts, files that try to be lost.

Makes ``tests/helpers.py`` and the report tests' browser probe importable.
"""

import sys
from pathlib import Path

_TESTS = Path(__file__).resolve().parents[1]
for _path in (str(_TESTS), str(_TESTS / "report")):
    if _path not in sys.path:
        sys.path.insert(0, _path)
