"""The capture formats, each declared once in its own module and listed here.

Everything that names the formats takes them from :data:`FORMATS`: format detection
(:func:`detect_format`), the check of a ``format=`` value, the command line's
``--format`` choices, the docs, and :class:`~bofan_analytics.decode.StreamDecoder`, which
hands each chunk to its format's ``step``. Adding a format is adding a module with one
:class:`CaptureFormat` and a line here.

>>> list(FORMATS)
['stream', 'lines', 'traccar', 'pcap']
>>> FORMATS["traccar"].detect(b"2026-11-02 07:10:27  INFO: Starting server...\\n")
True
"""

from __future__ import annotations

from ...errors import InputError
from ._base import CaptureFormat
from .lines import LINES
from .pcap import DEFAULT_PORT, PCAP, check_port
from .stream import STREAM
from .traccar import TRACCAR, TRACCAR_LAYOUTS

__all__ = [
    "FORMATS",
    "CaptureFormat",
    "DEFAULT_PORT",
    "TRACCAR_LAYOUTS",
    "capture_format",
    "check_port",
    "detect_format",
    "place_format",
]

#: every capture format, by name, in the order the docs list them
FORMATS: dict[str, CaptureFormat] = {f.name: f for f in (STREAM, LINES, TRACCAR, PCAP)}

#: the order detection asks them in
_DETECTION = sorted(FORMATS.values(), key=lambda f: f.detect_rank)


def capture_format(name: str) -> CaptureFormat:
    """The format called ``name``; a :class:`~bofan_analytics.errors.FormatError` listing
    the formats when there is none.

    >>> capture_format("pcap").resumable
    False
    """
    from ..._validate import choice

    return FORMATS[choice("format", name, FORMATS)]


def detect_format(head: bytes) -> str:
    """Tell the log format from the first bytes of a (decompressed) capture.

    Each format is asked in turn (``pcap`` by its magic number; ``traccar`` when lines
    look like ``YYYY-MM-DD HH:MM:SS  INFO: ...``; ``lines`` when they start with an
    ISO-8601 time); what no other format claims is read as a raw ``stream`` (whose framing
    also accepts one frame per line).

    >>> detect_format(b"2026-11-02T07:10:27.948Z $POS,1,...")
    'lines'
    >>> detect_format(b"$POS,123,...\\r\\n")
    'stream'
    """
    for fmt in _DETECTION:
        if fmt is not STREAM and fmt.detect(head):
            return fmt.name
    return STREAM.name


def place_format(head: bytes, name: str) -> str:
    """:func:`detect_format`, or an :class:`InputError` naming the file when nothing in its
    first bytes is a known layout: no pcap magic, no log line, and not one frame start.

    >>> place_format(b"$POS,1,...\\r\\n", "dump.bin")
    'stream'
    """
    fmt = detect_format(head)
    if fmt == STREAM.name and not STREAM.detect(head):
        raise InputError(
            f"cannot tell the format of {name}: not a packet capture, not a log of frames "
            "and no frame start in its first bytes (give --format to force one)"
        )
    return fmt
