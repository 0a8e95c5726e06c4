"""Suite-wide settings.

The first-run notice (``bofan_analytics: compiling … (first run only)``) is printed once per
process when a kernel is really compiled; which test first compiles a kernel depends on the
order tests run in and on the state of the on-disk cache. Tests that pin a command's exact
stderr would see it only sometimes, so the suite marks every notice as given already; the
notice itself is tested with a listener of its own in ``test_numba_settings.py``.

Every test imports the helpers at the top of ``tests`` (``helpers``, ``naive``) by name.
"""

import sys
from pathlib import Path

from bofan_analytics import _numba

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

_numba._NOTICE._told.update(_numba.COMPILE_NOTICES)
