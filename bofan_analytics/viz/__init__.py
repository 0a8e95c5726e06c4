"""Maps of tracks and events (folium, rendered offline) and small SVG charts.

>>> import bofan_analytics as ba
>>> m = ba.track_map(positions, speed_limit_kmh=90)     # doctest: +SKIP
"""

from .charts import Chart, battery_chart
from .maps import SPEED_CLASSES, UNKNOWN_SPEED_COLOR, track_map

__all__ = ["track_map", "battery_chart", "Chart", "SPEED_CLASSES", "UNKNOWN_SPEED_COLOR"]
