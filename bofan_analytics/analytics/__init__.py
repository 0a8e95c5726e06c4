"""Fleet analytics over decoded positions and messages.

Trips and stops (:func:`detect_trips`, :func:`detect_stops`), speeding
(:func:`find_overspeed`), geofences (:func:`load_geofences`, :func:`geofence_events`,
:func:`geofence_visits`), batteries (:func:`battery_trends`), device alarms
(:func:`alarms`), position filters (:func:`clean`), and for GIS work points
(:func:`to_geodataframe`), H3 density (:func:`density`) and places (:func:`places`).
Each function takes positions as a DataFrame, a pyarrow Table, a ``DecodedLog`` or a
dataset path (places: the stops), handles many devices at once and returns one row per
item with ``device_id`` first.
"""

from .alarms import alarms
from .battery import battery_trends, charge_episodes
from .behaviour import driver_summary, harsh_events, scorecard
from .clean import clean
from .daily import daily_summary
from .density import density
from .geofences import geofence_events, geofence_visits, load_geofences
from .geometry import to_geodataframe
from .overspeed import find_overspeed
from .places import places
from .trips import detect_stops, detect_trips

__all__ = [
    "alarms",
    "battery_trends",
    "charge_episodes",
    "clean",
    "density",
    "daily_summary",
    "driver_summary",
    "harsh_events",
    "scorecard",
    "detect_trips",
    "detect_stops",
    "find_overspeed",
    "geofence_events",
    "geofence_visits",
    "load_geofences",
    "places",
    "to_geodataframe",
]
