"""The sample fleet under its first name: everything is in :mod:`bofan_analytics.simulate`.

Kept so that ``from bofan_analytics.samples import generate_fleet`` (tests, notebooks,
``scripts/make_samples.py``) goes on working.
"""

from .simulate import (
    FORMATS,
    PT60_B_FRAME_RE,
    PT60_G_FRAME_RE,
    PT502_FRAME_RE,
    SPEED_LIMIT_KMH,
    TRACCAR_LAYOUTS,
    TRUTH_FRAME_COLUMNS,
    TRUTH_VERSION,
    Capture,
    Fleet,
    compress_sentence,
    frames_table,
    generate_fleet,
    render_capture,
    write_samples,
)

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
