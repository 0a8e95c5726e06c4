"""One exception tree for the whole package.

User mistakes (a missing file, an unknown format name, a bad option value) raise a
subclass of :class:`BofanError`; the command line turns them into one line on stderr
and an exit code, never a traceback.
"""

__all__ = [
    "BofanError",
    "InputError",
    "TruncatedInputError",
    "FormatError",
    "DecodeError",
    "SchemaError",
    "GeofenceError",
]


class BofanError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(BofanError):
    """An input could not be opened or read (missing file, unreadable compression)."""


class TruncatedInputError(InputError, EOFError):
    """A compressed capture ends inside a compressed frame (a cut-off ``.gz`` or ``.zst``).

    Raised after every byte before the break was read. ``decoded_bytes`` says how many
    decompressed bytes came before it; ``partial``, when set by a reader such as
    :func:`~bofan_analytics.read_log`, holds what was decoded from them.
    """

    def __init__(self, message: str, *, decoded_bytes: int = 0, partial=None):
        super().__init__(message)
        self.decoded_bytes = decoded_bytes
        self.partial = partial


class FormatError(BofanError):
    """An unknown or unsupported input format, or an option value outside its choices."""


class DecodeError(BofanError):
    """Bytes could not be decoded at all (not raised for single bad frames: those are rejects)."""

    def __init__(self, message: str, *, offset: int | None = None, raw: bytes | None = None):
        super().__init__(message)
        self.offset = offset
        self.raw = raw


class SchemaError(BofanError):
    """A table or dataset does not have the columns or schema version this package expects."""


class GeofenceError(BofanError):
    """A geofence definition is not usable (no name, unsupported geometry, bad radius)."""
