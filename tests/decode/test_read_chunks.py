"""How a capture's bytes are read in chunks: every byte given once, in order, cut at line
ends where one is near, with a reading error raised after what came before it."""

import gzip
import io

import pytest

from bofan_analytics import read_log
from bofan_analytics.decode import reading
from bofan_analytics.decode.reading import ALIGN_BYTES, CaptureReader, read_chunks
from bofan_analytics.errors import TruncatedInputError


def _chunks(data: bytes, size: int, pending=(), *, join=False):
    seen = []
    out = [bytes(c) for c in read_chunks(io.BytesIO(data), size, pending,
                                         lambda v: seen.append(bytes(v)), join=join)]
    return out, b"".join(seen)


@pytest.fixture
def fed(monkeypatch):
    """The sizes of the chunks the decoders are fed, as they are fed."""
    from bofan_analytics.decode.stream import StreamDecoder

    sizes = []
    feed = StreamDecoder.feed

    def recording(self, data, **options):
        sizes.append(len(data))
        return feed(self, data, **options)

    monkeypatch.setattr(StreamDecoder, "feed", recording)
    return sizes


def test_chunks_end_just_after_the_last_line_end_near_their_end():
    data = b"".join(b"line %04d\n" % i for i in range(100))  # 10 bytes a line
    out, seen = _chunks(data, 95)
    assert b"".join(out) == data and seen == data
    # 95 bytes read end 5 bytes into a line; those go before the next 95 bytes read
    assert [len(c) for c in out] == [90, 100] * 5 + [50]
    assert all(c.endswith(b"\n") for c in out)


def test_a_chunk_without_a_line_end_near_its_end_is_cut_at_its_size():
    data = bytes(range(256)) * 40 + b"\n" + b"x" * (ALIGN_BYTES + 10)
    size = len(data) - 5
    out, seen = _chunks(data, size)
    assert [len(c) for c in out] == [size, 5] and b"".join(out) == data and seen == data
    # a line end before the last ALIGN_BYTES of the chunk does not count
    assert data.rfind(b"\n", 0, size) < size - ALIGN_BYTES


def test_pending_bytes_go_first_and_are_not_seen_again():
    rest = b"c,3\nd,4\ne"
    out, seen = _chunks(rest, 4, pending=[b"a,1\nb", b",2\n"])
    assert out == [b"a,1\n", b"b,2\n", b"c,3\n", b"d,4\n", b"e"]
    assert seen == rest


def test_empty_and_tiny_inputs():
    assert _chunks(b"", 8) == ([], b"")
    assert _chunks(b"abc", 8) == ([b"abc"], b"abc")
    assert _chunks(b"", 8, pending=[b"", b"x\ny"]) == ([b"x\n", b"y"], b"")


def test_joined_pending_bytes_and_the_rest_make_one_chunk_when_it_fits():
    rest = b"c,3\nd,4\ne"
    out, seen = _chunks(rest, 64, pending=[b"a,1\nb", b",2\n"], join=True)
    assert out == [b"a,1\nb,2\nc,3\nd,4\ne"] and seen == rest
    # a rest longer than a chunk (the file grew): the same bytes, the first chunk the
    # pending ones and a chunk's worth read behind them, cut at a line end
    out, seen = _chunks(rest, 5, pending=[b"a,1\nb", b",2\n"], join=True)
    assert out == [b"a,1\nb,2\nc,3\n", b"d,4\ne"] and seen == rest
    assert _chunks(b"", 8, pending=[b"x\ny"], join=True) == ([b"x\ny"], b"")


def test_a_file_whose_rest_fits_in_a_chunk_is_decoded_in_one_step(tmp_path, fed):
    """The head and the rest of a small file are one chunk: a step of the decoder costs
    about a millisecond whatever its size, as much as decoding a 100 kB file. A larger
    file, and a compressed one (whose size is not known), give the head first."""
    line = (b"2026-11-02T07:10:27.948Z $POS,860000000000136,073335.000,A,4823.4451,N,"
            b"01446.7173,E,11.75,313.77,261026,,,A/00000,00000/0,0,0,0/14//fa6//\n")
    head = reading.HEAD_BYTES
    small = line * (3 * head // len(line))  # the head and twice as much again
    (tmp_path / "small.log").write_bytes(small)
    (tmp_path / "small.log.gz").write_bytes(gzip.compress(small))
    for name, chunk_bytes, expected in [
        ("small.log", None, [len(small)]),
        ("small.log", len(small) - head, [len(small)]),  # the rest just fits
        ("small.log", len(small) - head - 1, None),  # one byte more than a chunk
        ("small.log.gz", None, None),
    ]:
        fed.clear()
        log = read_log(tmp_path / name, chunk_bytes=chunk_bytes)
        assert len(log.messages) == len(small) // len(line)
        sizes = [n for n in fed if n]  # (the last feed may hold no bytes)
        if expected is None:
            assert len(sizes) >= 2 and sizes[0] == head - head % len(line), (name, sizes)
        else:
            assert sizes == expected, (name, sizes)
        assert sum(sizes) == len(small)


class _Breaks(io.RawIOBase):
    """A reader that gives ``data`` in pieces of ``step`` bytes, then raises."""

    def __init__(self, data, step):
        self.data, self.step, self.pos = data, step, 0

    def readable(self):
        return True

    def readinto(self, b):
        if self.pos >= len(self.data):
            raise TruncatedInputError("cut off", decoded_bytes=self.pos)
        n = min(self.step, len(b), len(self.data) - self.pos)
        b[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        return n


def test_an_error_is_raised_after_the_bytes_before_it():
    data = b"0123456\n" * 5  # 40 bytes, the break after them
    got = []
    with pytest.raises(TruncatedInputError):
        for chunk in read_chunks(_Breaks(data, 7), 16):
            got.append(bytes(chunk))
    assert b"".join(got) == data
    assert got == [b"0123456\n" * 2, b"0123456\n" * 2, b"0123456\n"]


def test_leaving_early_waits_for_the_read_ahead(tmp_path):
    path = tmp_path / "x.log"
    path.write_bytes(b"y" * 1000)
    reader = CaptureReader(path, chunk_bytes=100)
    chunks = reader.chunks()
    first = bytes(next(chunks))
    chunks.close()  # the read of the next chunk has ended: closing the file is safe
    reader.close()
    assert first == b"y" * 1000  # the head holds the whole file
    assert reader.read == 1000


def test_a_cut_off_gzip_file_keeps_the_frames_before_the_break(tmp_path):
    line = (b"2026-11-02T07:10:27.948Z $POS,860000000000136,073335.000,A,4823.4451,N,"
            b"01446.7173,E,11.75,313.77,261026,,,A/00000,00000/0,0,0,0/14//fa6//\n")
    whole = gzip.compress(line * 5000)
    path = tmp_path / "cut.log.gz"
    path.write_bytes(whole[: len(whole) * 3 // 4])
    with pytest.raises(TruncatedInputError) as info:
        read_log(path, chunk_bytes=4096)
    partial = info.value.partial
    full = info.value.decoded_bytes // len(line)  # lines read whole before the break
    assert 0 < full < 5000
    # every line before the break is a message; the piece of a line after it is a short
    # frame ($POS without its last fields) or a reject
    assert len(partial.messages) + len(partial.rejects) == full + 1
    offsets = partial.messages.column("offset").to_pylist()
    assert offsets[:full] == [i * len(line) + 25 for i in range(full)]


def test_chunk_size_does_not_change_the_decoded_tables(tmp_path):
    line = (b"2026-11-02T07:10:27.948Z $POS,860000000000136,073335.000,A,4823.4451,N,"
            b"01446.7173,E,11.75,313.77,261026,,,A/00000,00000/0,0,0,0/14//fa6//\n")
    path = tmp_path / "x.log"
    path.write_bytes(line * 3000 + line[:50])
    whole = read_log(path)
    for size in (1000, 4096, 65536 + 7):
        log = read_log(path, chunk_bytes=size)
        assert log.messages.equals(whole.messages)
        assert log.rejects.equals(whole.rejects)
    assert reading.HEAD_BYTES < len(line) * 3000


def test_a_tracker_server_log_is_read_in_chunks_twice_the_default(tmp_path, monkeypatch,
                                                                   fed):
    """Its reads are hex, two bytes for each byte of the frames: twice the bytes a chunk
    of a line log holds is about as many frames. A size given is kept as it is."""
    sentence = (b"$POS,860000000000136,073335.000,A,4823.4451,N,01446.7173,E,11.75,313.77,"
                b"261026,,,A/00000,00000/0,0,0,0/14//fa6//\r\n")
    tracker = (b"2026-10-26 07:33:35  INFO: [T5e000088: pt502 < 10.0.0.138] "
               + sentence.hex().encode() + b"\n")
    line = b"2026-10-26T07:33:35.000Z " + sentence[:-2] + b"\n"
    (tmp_path / "t.log").write_bytes(tracker * 1500)
    (tmp_path / "l.log").write_bytes(line * 3000)
    sizes = fed
    monkeypatch.setattr(reading, "CHUNK_BYTES", 8192)
    for name, layout, size, given in [("t.log", tracker, 16384, None),
                                      ("l.log", line, 8192, None),
                                      ("t.log", tracker, 8192, 8192)]:
        sizes.clear()
        log = read_log(tmp_path / name, chunk_bytes=given)
        assert len(log.messages) == (1500 if layout is tracker else 3000)
        after_head = sizes[1:-1]  # the head is given as it was read; the last is the rest
        assert len(after_head) > 3
        # the bytes read after the part of a line the chunk before left, cut at a line end
        assert all(abs(n - size) < len(layout) for n in after_head), (name, after_head)


def test_a_chunk_is_read_into_again_only_once_nothing_holds_it(monkeypatch):
    """Chunks given earlier are read into again when free; one the consumer still holds,
    by a reference or by a view of its bytes, keeps its bytes to the end."""
    import numpy as np

    reused = []
    fill = reading._fill

    def spy(handle, size, held, seen, reuse=None):
        reused.append(reuse is not None)
        return fill(handle, size, held, seen, reuse)

    monkeypatch.setattr(reading, "_fill", spy)
    data = b"".join(b"line %05d\n" % i for i in range(3000))  # 11 bytes a line
    kept, views, copies = [], [], []
    for i, chunk in enumerate(read_chunks(io.BytesIO(data), 1000)):
        copies.append(bytes(chunk))
        if i % 5 == 1:
            kept.append((i, chunk))  # held by a reference
        elif i % 5 == 3:
            views.append((i, np.frombuffer(chunk, np.uint8)[10:]))  # by a view only
    del chunk
    assert b"".join(copies) == data
    assert all(c.endswith(b"\n") for c in copies)
    # every chunk held still has its own bytes: none was read into again
    assert all(bytes(c) == copies[i] for i, c in kept)
    assert all(v.tobytes() == copies[i][10:] for i, v in views)
    # the others were: after the first few, most reads go into a chunk given before
    assert len(copies) == 33 and sum(reused) == 19


def test_spare_chunks_are_taken_only_when_free():
    import numpy as np

    spare = reading._Spare()
    a, b = bytearray(b"a" * 8), bytearray(b"b" * 8)
    spare.keep(a)
    spare.keep(b)
    spare.keep(b"not a bytearray")  # bytes are never read into
    assert spare.take() is None  # both still held here
    view = np.frombuffer(b, np.uint8)
    del b
    assert spare.take() is None  # b: by a view of its bytes
    del view
    taken = spare.take()
    assert taken == bytearray(b"b" * 8) and taken is not a
    assert spare.take() is None  # a is still held
    del a
    assert spare.take() == bytearray(b"a" * 8)
    assert spare.take() is None  # none left
    for k in range(5):
        spare.keep(bytearray([k]))
    assert [spare.take() for _ in range(4)] == [bytearray([2]), bytearray([3]),
                                                bytearray([4]), None]


def test_no_chunk_is_taken_where_reference_counts_cannot_tell(monkeypatch):
    spare = reading._Spare()
    spare.keep(bytearray(b"free"))
    monkeypatch.setattr(reading, "_COUNTED", False)
    assert spare.take() is None
    monkeypatch.setattr(reading, "_COUNTED", True)
    assert spare.take() == bytearray(b"free")


def test_no_chunk_is_kept_for_reading_into_after_the_last_read():
    """Once the last chunk is read, the reader holds none of the chunks given before (they
    would only add to the memory of what decodes the last one)."""
    import sys

    data = b"".join(b"line %05d\n" % i for i in range(3000)) + b"end"  # a short last chunk
    count = sum(1 for _ in read_chunks(io.BytesIO(data), 1000))
    chunks = read_chunks(io.BytesIO(data), 1000)
    given = [next(chunks) for _ in range(count)]  # all of them, each held here
    assert given[-1].endswith(b"end") and count == 34
    probe = [bytearray(1)]
    alone = sys.getrefcount(probe[0])  # (held by a list only)
    assert [sys.getrefcount(given[i]) for i in range(count - 1)] == [alone] * (count - 1)
    assert next(chunks, None) is None
    assert b"".join(given) == data


@pytest.mark.parametrize("layout", ["lines", "traccar"])
def test_real_frames_read_from_a_file_into_earlier_chunks_decode_as_a_whole(tmp_path,
                                                                            monkeypatch, layout):
    """The real frames of ``tests/data/vectors``, in a line log and in a tracker-server
    log (hex reads, as its releases write them) read from a file in small chunks, most of
    them into the memory of earlier chunks: the tables of the whole log decoded at once."""
    from .vectors import ALL_FRAMES

    reused = []
    fill = reading._fill
    monkeypatch.setattr(reading, "_fill", lambda handle, size, held, seen, reuse=None: (
        reused.append(reuse is not None) or fill(handle, size, held, seen, reuse)))
    lines = []
    for k in range(24):  # each round a second later, on a connection of its own
        for _, frame in ALL_FRAMES:
            if layout == "lines" and all(32 <= b < 127 for b in frame):
                lines.append(b"2026-11-02T07:%02d:%02d.000Z " % divmod(k, 60) + frame + b"\n")
            elif layout == "traccar":
                lines.append(b"2026-11-02 07:%02d:%02d  INFO: [T%08x: pt502 < 10.0.0.5] "
                             % (*divmod(k, 60), 0x5E000000 + k) + frame.hex().encode() + b"\n")
    data = b"".join(lines)
    path = tmp_path / "real.log"
    path.write_bytes(data)
    whole = read_log(path, format=layout)  # (one chunk)
    log = read_log(path, format=layout, chunk_bytes=3000)
    assert log.messages.equals(whole.messages)
    assert log.rejects.equals(whole.rejects)
    assert len(whole.messages) >= 24 * 10 and sum(reused) > len(data) // 3000 // 4


def test_convert_reads_a_small_file_in_one_chunk_too(tmp_path):
    from bofan_analytics.dataset._reader import ManifestReader

    data = b"".join(b"line %06d\n" % i for i in range(20_000))  # 240 kB: past the head
    (tmp_path / "x.log").write_bytes(data)
    (tmp_path / "x.log.gz").write_bytes(gzip.compress(data))
    for name, chunks in [("x.log", [data]), ("x.log.gz", None)]:
        reader = ManifestReader(str(tmp_path / name), None)
        got = [bytes(c) for c in reader.chunks()]
        reader.close()
        assert b"".join(got) == data and reader.fed == len(data)
        if chunks is None:  # compressed: the head first, as it was read
            assert len(got[0]) <= reading.HEAD_BYTES < len(data)
        else:
            assert got == chunks
