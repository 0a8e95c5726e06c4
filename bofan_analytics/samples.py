"""The sample fleet under its first name: everything is in :mod:`bofan_analytics.simulate`.

Kept so that ``from bofan_analytics.samples import generate_fleet`` (tests, notebooks,
``scripts/make_samples.py``) goes on working. The names are the simulate package's own
``__all__``, so the two cannot drift apart.
"""

from .simulate import *  # noqa: F403
from .simulate import __all__  # noqa: F401
