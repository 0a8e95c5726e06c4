"""Reading capture bytes: files, compression and the detection of their log format."""

from .files import (
    CAPTURE_FORMATS,
    detect_format,
    iter_capture_files,
    open_capture,
    place_format,
    rotation_order,
)

__all__ = [
    "CAPTURE_FORMATS",
    "detect_format",
    "place_format",
    "iter_capture_files",
    "open_capture",
    "rotation_order",
]
