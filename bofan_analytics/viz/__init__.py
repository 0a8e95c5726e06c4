"""Maps of tracks and events (folium, rendered offline).

>>> import bofan_analytics as ba
>>> m = ba.track_map(positions, speed_limit_kmh=90)     # doctest: +SKIP
"""

from .maps import SPEED_CLASSES, UNKNOWN_SPEED_COLOR, track_map

__all__ = ["track_map", "SPEED_CLASSES", "UNKNOWN_SPEED_COLOR"]
