"""The real frames of ``shared/vectors`` (copied into ``tests/data/vectors``), as Python values."""

from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "vectors"


def _rows(name):
    for line in (DATA / name).read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        yield line.split("\t")


def frames(name):
    """``[(expectation, frame_bytes)]`` of ``pt502_frames.tsv`` or ``pt60_frames.tsv``."""
    out = []
    for expectation, encoding, frame in _rows(name):
        out.append((expectation, bytes.fromhex(frame) if encoding == "hex" else frame.encode()))
    return out


def framing():
    """``[(received_bytes, first_frame)]`` of ``pt502_stream_framing.tsv``."""
    return [(bytes.fromhex(a), bytes.fromhex(b)) for a, b in _rows("pt502_stream_framing.tsv")]


ALL_FRAMES = frames("pt502_frames.tsv") + frames("pt60_frames.tsv")
