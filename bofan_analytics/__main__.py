"""``python -m bofan_analytics``: the ``bofan`` command line."""

import sys

from .cli import main

sys.exit(main())
