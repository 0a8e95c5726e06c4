"""What every capture format declares: its name, how it is told from a file's head, its
layouts, and how it turns buffered bytes into frames for a
:class:`~bofan_analytics.decode.StreamDecoder`."""

from __future__ import annotations

__all__ = ["CaptureFormat"]


class CaptureFormat:
    """One capture format: declared once, used by detection, validation, the command line,
    the docs and the decoder.

    A subclass sets the attributes and implements :meth:`step`; the decoder keeps what
    every format shares (the unfinished frames carried between chunks, device ids,
    compressed-sentence references, the accounting) and hands the format the bytes it
    holds. Format-specific state lives in the object :meth:`start` makes; :meth:`save`
    and :meth:`load` turn it into plain JSON data for a checkpoint.

    Attributes
    ----------
    name : str
        What ``format=`` and ``--format`` call it.
    description : str
        One line for the docs and ``--help``.
    layouts : dict
        Variants the format is read in without being told (name -> what it looks like).
    detect_rank : int
        Detection asks the formats in this order (lower first); the first whose
        :meth:`detect` says yes is the format.
    resumable : bool
        Whether :meth:`~bofan_analytics.decode.StreamDecoder.checkpoint` can save a
        decoder of this format.
    rotates : bool
        Whether the files of a rotated log (``x.log.20261102`` then ``x.log``) are read
        through one decoder, a frame split by the rotation joined.
    chunk_scale : int
        Its files are read this many times the default chunk size at a time, for a layout
        that writes each byte of the frames as more than one (a hex dump): the chunks then
        hold about as many frames, and fixed costs per chunk are spread alike.
    """

    name = ""
    description = ""
    layouts: dict[str, str] = {}
    detect_rank = 100
    resumable = True
    rotates = False
    chunk_scale = 1

    def detect(self, head: bytes) -> bool:
        """Whether the first bytes of a (decompressed) file are in this format."""
        raise NotImplementedError

    def start(self, decoder):
        """The state a new decoder of this format keeps between chunks (``None``: none)."""
        return None

    def step(self, decoder, state, data: bytes, final: bool, last_line: bool, ahead=None):
        """Decode the frames ``data`` completes.

        ``data`` is what the decoder holds (the bytes it kept from the last step, then the
        new chunk), starting at source offset ``decoder.base``; ``final``: nothing more
        comes; ``last_line``: a rotated file ends here (its last line is complete);
        ``ahead``: what :meth:`prepare` made of the chunk, if anything (the step checks
        that it is of ``data`` and still holds).
        Returns ``(messages, rejects, consumed)``: the tables of the frames completed and
        how many bytes of ``data`` are done with (the rest is kept for the next step).
        """
        raise NotImplementedError

    def prepare(self, decoder, state, chunk: bytes):
        """Work on ``chunk`` that needs nothing from the chunks before it, done on a thread
        of its own while the chunk before it is decoded (``None``: nothing to do ahead).
        It must only read ``state`` and ``decoder``, which the decoding thread changes."""
        return None

    def next_file(self, state) -> None:
        """A rotated file ends and the next one begins (formats that :attr:`rotates`)."""

    def save(self, state) -> dict:
        """``state`` as JSON data, merged into the decoder's checkpoint."""
        return {}

    def load(self, decoder, saved: dict):
        """The state saved by :meth:`save` (``saved`` is the whole checkpoint)."""
        return self.start(decoder)

    def __repr__(self) -> str:
        return f"<capture format {self.name!r}>"
