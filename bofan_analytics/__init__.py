"""Decode Bofan PT-502 / PT-60 tracker captures and analyse fleets.

>>> import bofan_analytics as ba
>>> log = ba.read_log("data/samples/fleet.log")          # doctest: +SKIP
>>> trips = ba.detect_trips(log.positions())              # doctest: +SKIP

The public names are re-exported here explicitly; the modules behind them (numba, pyarrow,
geopandas, folium, dask) load on first use so that ``import bofan_analytics`` stays fast.
"""

from importlib import import_module

from ._version import __version__
from .errors import (
    BofanError,
    DecodeError,
    FormatError,
    GeofenceError,
    InputError,
    SchemaError,
)

#: public name -> module that defines it
_LAZY = {
    # decode
    "read_log": "bofan_analytics.decode",
    "DecodedLog": "bofan_analytics.decode",
    "StreamDecoder": "bofan_analytics.decode",
    # analytics
    "detect_trips": "bofan_analytics.analytics",
    "detect_stops": "bofan_analytics.analytics",
    "find_overspeed": "bofan_analytics.analytics",
    "geofence_events": "bofan_analytics.analytics",
    "geofence_visits": "bofan_analytics.analytics",
    "battery_trends": "bofan_analytics.analytics",
    "alarms": "bofan_analytics.analytics",
    "clean": "bofan_analytics.analytics",
    "load_geofences": "bofan_analytics.analytics",
    # geometry, exports, density and places
    "to_geodataframe": "bofan_analytics.analytics",
    "export": "bofan_analytics.exports",
    "density": "bofan_analytics.analytics",
    "daily_summary": "bofan_analytics.analytics",
    "driver_summary": "bofan_analytics.analytics",
    "harsh_events": "bofan_analytics.analytics",
    "scorecard": "bofan_analytics.analytics",
    "places": "bofan_analytics.analytics",
    # dataset
    "convert": "bofan_analytics.dataset",
    "ConvertResult": "bofan_analytics.dataset",
    "compact": "bofan_analytics.dataset",
    "read_dataset": "bofan_analytics.dataset",
    "read_messages": "bofan_analytics.dataset",
    "read_positions": "bofan_analytics.dataset",
    "read_rejects": "bofan_analytics.dataset",
    # viz and report
    "track_map": "bofan_analytics.viz",
    "battery_chart": "bofan_analytics.viz",
    "write_report": "bofan_analytics.report",
    "build_report": "bofan_analytics.report",
}

__all__ = [
    "__version__",
    "BofanError",
    "DecodeError",
    "FormatError",
    "GeofenceError",
    "InputError",
    "SchemaError",
    *_LAZY,
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'bofan_analytics' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
