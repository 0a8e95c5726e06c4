"""A realistic sample fleet with known truth: the frames, the captures and what they contain.

:func:`generate_fleet` simulates Bofan PT-502 vehicle trackers and PT-60 personal trackers
for a few days and returns every frame they send together with the episodes planted in
them (trips, parks, overspeed, geofence crossings, charges, alarms). :func:`render_capture`
turns a fleet into the bytes of one capture format (``stream``, ``lines`` or ``traccar``)
and the truth of that file; :func:`write_samples` writes the committed sample set.

Everything is deterministic for a given ``seed``: the same seed gives the same bytes.

What the simulation does
------------------------
Vehicles (PT-502) park overnight at a depot, then drive three to five trips a day along
grid-like roads (urban 30-50 km/h, arterial 60-85, highway 95-120), stopping 30-90 s at
traffic lights (speed 0, not a stop), and park from 20 min to a few hours between trips
with 10-20 m of GPS jitter. They report every 10-30 s while driving and every 2-5 min while
parked, or fall asleep while parked. The ignition is wired to input 2: on (``00010``) in
every frame of a trip, off at the arrival fix and while parked. Drivers badge in with an
RFID tag, sent in the driver field of every frame of their trip: each vehicle is shared by
two drivers of a roster of six (by trip), so drivers drive several vehicles, and every
fifth trip nobody badged in. Alarms, invalid (``V``) fixes, duplicated frames, a
coverage gap whose fixes are uploaded late, one photo and one firmware report are planted.

Personal trackers (PT-60, ``@G#@`` and ``@B#@`` families) walk at 3-6 km/h between home,
work and a shop, report positions, cell towers, heart rate, steps and battery, drain their
battery at a known rate and charge overnight.

Truth
-----
:func:`render_capture` gives the truth of a capture in two parts: ``frames``, one row per
frame in file order (columns and types as in :data:`bofan_analytics.schema.MESSAGES`, plus
``duplicate``, ``late`` and ``offset``), and ``truth``, a JSON-serialisable dict of counts
and planted episodes. Values are those a correct decoder reads back, after the rounding
the frame text imposes. :func:`write_samples` stores them as ``<capture>.frames.parquet``
and ``<capture>.truth.json``; ``data/samples/README.md`` describes every key.
"""

from __future__ import annotations

from .captures import FORMATS, TRACCAR_LAYOUTS, Capture, render_capture
from .encoder import PT60_B_FRAME_RE, PT60_G_FRAME_RE, PT502_FRAME_RE, compress_sentence
from .files import write_samples
from .fleet import Fleet, generate_fleet
from .truth import SPEED_LIMIT_KMH, TRUTH_FRAME_COLUMNS, TRUTH_VERSION, frames_table

__all__ = [
    "FORMATS",
    "TRACCAR_LAYOUTS",
    "SPEED_LIMIT_KMH",
    "TRUTH_VERSION",
    "Fleet",
    "Capture",
    "generate_fleet",
    "render_capture",
    "compress_sentence",
    "frames_table",
    "write_samples",
    "TRUTH_FRAME_COLUMNS",
    "PT502_FRAME_RE",
    "PT60_G_FRAME_RE",
    "PT60_B_FRAME_RE",
]
