"""Decoding: framing and the two protocol grammars (numba kernels in ``_*_kernels``)."""

from .decoded import DecodedLog, positions_from_messages
from .log import read_log
from .stream import StreamDecoder

__all__ = ["read_log", "DecodedLog", "StreamDecoder", "positions_from_messages"]
