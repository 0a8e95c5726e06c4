"""Line logs, tracker-server logs, compression, format detection, time zones and errors."""

import gzip

import numpy as np
import pytest
import zstandard

import bofan_analytics as ba
from bofan_analytics.io import detect_format

POS_A = b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/"
POS_B = b"$POS,353451000164,082405.000,A,1254.8501,N,10051.6752,E,0.00,237.99,160513,,,A/0000,0/0/55000//a71/"
G6 = b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,23.2014050;104.235212,"


def test_lines_with_receive_times():
    data = (
        b"2026-11-02T07:10:27.948Z " + POS_A + b"\n"
        + POS_B + b"\r\n"
        + b"2026-11-02T09:10:27+02:00 " + G6 + b"@R#@\n"
        + b"2026-11-02T07:10:28Z hello world\n"
    )
    log = ba.read_log(data)
    m = log.messages.to_pylist()
    assert [r["msg_type"] for r in m] == ["POS", "POS", "G6"]
    assert m[0]["received_at"].isoformat() == "2026-11-02T07:10:27.948000+00:00"
    assert m[1]["received_at"] is None
    assert m[2]["received_at"].isoformat() == "2026-11-02T07:10:27+00:00"
    assert [r["offset"] for r in m] == [25, 25 + len(POS_A) + 1, data.index(G6)]
    r = log.rejects.to_pylist()
    assert [(x["reason"], x["raw"], x["offset"]) for x in r] == [
        ("unknown_protocol", b"hello world", data.index(b"hello world"))
    ]


def _hex(b):
    return b.hex().encode()


def test_traccar_reassembles_sessions_and_skips_replies():
    half = len(POS_A) // 2
    lines = [
        b"2026-11-02 07:10:27  INFO: Starting server",
        b"2026-11-02 07:10:27  INFO: [T0000000a: pt502 < 10.0.0.5] " + _hex(POS_A[:half]),
        b"2026-11-02 07:10:28  INFO: [T0000000b: pt60 < 10.0.0.6] " + G6 + b"@R#@",
        b"2026-11-02 07:10:28  INFO: [T0000000b: pt60 > 10.0.0.6] " + _hex(b"@G#@,V01,38,20260101,@R#@"),
        b"2026-11-02 07:10:29  INFO: [T0000000a: pt502 < 10.0.0.5] " + _hex(POS_A[half:] + b"\r\n" + POS_B + b"\r\n"),
        b"2026-11-02 07:10:30  INFO: [U00000001: pt502 < 10.0.0.7] " + POS_B,
        b"2026-11-02 07:10:31  INFO: [T0000000a: pt502 < 10.0.0.5] 2450f",
    ]
    data = b"\n".join(lines) + b"\n"
    assert detect_format(data) == "traccar"
    log = ba.read_log(data)
    m = log.messages.to_pylist()
    # in the order the frames were completed
    assert [(r["msg_type"], r["device_id"]) for r in m] == [
        ("G6", "111112222233333"), ("POS", "216769295715"), ("POS", "353451000164"),
        ("POS", "353451000164"),
    ]
    # a frame split over two reads is stamped when its last byte arrived
    assert m[1]["received_at"].isoformat() == "2026-11-02T07:10:29+00:00"
    assert m[1]["offset"] == data.index(_hex(POS_A[:half]))
    assert m[1]["length"] == 2 * len(POS_A)
    assert m[0]["offset"] == data.index(G6)
    assert m[3]["offset"] == data.rindex(POS_B)
    r = log.rejects.to_pylist()
    assert [(x["reason"], x["offset"]) for x in r] == [("bad_hex", data.index(b"2450f"))]


def test_traccar_photo_chunks_take_the_device_of_their_own_session():
    """Two units send a photo at once: each ``$PHD`` chunk (which names no device) gets the
    id of the frame before it on its own connection, however the sessions interleave in
    the log, and rows come in the order the frames were completed."""
    half = len(POS_B) // 2

    def line(second, session, payload):
        return (b"2026-11-02 07:10:%02d  INFO: [T%08x: pt502 < 10.0.0.5] " % (second, session)
                + _hex(payload))

    lines = [
        line(1, 0xA, POS_A + b"\r\n"),
        line(2, 0xB, POS_B[:half]),
        line(3, 0xA, b"$PHD0,4,abcd\r\n"),
        line(4, 0xB, POS_B[half:] + b"\r\n$PHD0,4,wxyz\r\n"),
        line(5, 0xA, b"$PHD4,4,efgh\r\n"),
    ]
    data = b"\n".join(lines) + b"\n"
    for size in (len(data), 150, 333):
        m = ba.read_log(data, format="traccar", chunk_bytes=size).messages.to_pylist()
        assert [(r["msg_type"], r["device_id"], r["payload"]) for r in m] == [
            ("POS", "216769295715", None),
            ("PHD", "216769295715", b"abcd"),
            ("POS", "353451000164", None),
            ("PHD", "353451000164", b"wxyz"),
            ("PHD", "216769295715", b"efgh"),
        ], size
        assert [r["received_at"].second for r in m] == [1, 3, 4, 4, 5]


def test_traccar_chunking_keeps_split_frames():
    half = len(POS_A) // 2
    data = b"".join(
        b"2026-11-02 07:10:%02d  INFO: [T0000000a: pt502 < 10.0.0.5] " % i + _hex(part) + b"\n"
        for i, part in enumerate([POS_A[:half], POS_A[half:] + b"\r\n" + POS_B[:10], POS_B[10:] + b"\r\n"])
    )
    whole = ba.read_log(data)
    for size in (7, 50, 99, 200):
        parts = ba.read_log(data, chunk_bytes=size)
        assert parts.messages.equals(whole.messages)
        assert parts.rejects.equals(whole.rejects)
    assert len(whole.messages) == 2 and len(whole.rejects) == 0


@pytest.mark.parametrize("compress", [gzip.compress, lambda b: zstandard.ZstdCompressor().compress(b)])
def test_compressed_files_decode_like_plain(tmp_path, compress):
    data = b"2026-11-02T07:10:27.948Z " + POS_A + b"\n" + POS_B + b"\n"
    plain = tmp_path / "cap.log"
    plain.write_bytes(data)
    packed = tmp_path / "cap.log.x"
    packed.write_bytes(compress(data))
    a = ba.read_log(plain).messages.drop_columns(["source"])
    b = ba.read_log(packed).messages.drop_columns(["source"])
    assert a.equals(b) and len(a) == 2


def test_detect_format():
    assert detect_format(b"\xd4\xc3\xb2\xa1....") == "pcap"
    assert detect_format(b"2026-11-02T07:10:27Z $POS") == "lines"
    assert detect_format(b"\xbf\xfb\x00\x00\x00$POS") == "stream"
    assert detect_format(b"2026-11-02 07:10:27  INFO: [T1a2b3c4d: pt502 < 1.2.3.4] 2450") == "traccar"


def test_device_local_time_is_converted_to_utc():
    # 10 Sep 2015 16:32:37 wall clock in Johannesburg (UTC+2) is 14:32:37 UTC
    log = ba.read_log(POS_A + b"\r\n" + POS_B + b"\r\n", device_tz={"216769295715": "Africa/Johannesburg"})
    times = [t.isoformat() for t in log.messages.column("time").to_pylist()]
    assert times == ["2015-09-10T14:32:37+00:00", "2013-05-16T08:24:05+00:00"]
    # a time that repeats when daylight saving ends is read as standard time
    pos = b"$POS,7,023000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,251026,,,A/0,0/0/0//fd7/\r\n"
    t = ba.read_log(pos, device_tz="Europe/Prague").messages.column("time")[0].as_py()
    assert t.isoformat() == "2026-10-25T01:30:00+00:00"


def test_errors_are_specific(tmp_path):
    with pytest.raises(ba.InputError, match="no such file"):
        ba.read_log(tmp_path / "missing.bin")
    with pytest.raises(ba.FormatError, match="format must be one of auto, stream, lines, traccar"):
        ba.read_log(b"", format="xml")
    bad = tmp_path / "bad.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ba.InputError, match="bad.gz"):
        ba.read_log(bad)


def test_directory_input_and_photos(tmp_path):
    phd_chunk = bytes(range(256)) * 2
    stream = (
        b"$PHO512-1,6091,233606.000,A,0902.9855,N,06944.3654,W,0.0,43.8,141112,,,A/00010,00000/0/224000//\r\n"
        + b"\xbf\xfb\x00\x00\x00$PHD0,300," + phd_chunk[:300] + b"\r\n"
        + b"$PHD300,212," + phd_chunk[300:] + b"\r\n"
    )
    (tmp_path / "a.bin").write_bytes(stream)
    (tmp_path / "notes.md").write_text("not a capture")
    log = ba.read_log(tmp_path)
    assert len(log.rejects) == 0
    assert log.messages.column("device_id").to_pylist() == ["6091"] * 3
    photos = log.photos()
    assert len(photos) == 1
    p = photos.iloc[0]
    assert (p.device_id, p["size"], p.received_bytes, p.complete) == ("6091", 512, 512, True)
    assert p.data == phd_chunk


def test_phd_device_carries_over_chunks():
    stream = POS_A + b"\r\n" + b"$PHD0,4,abcd\r\n"
    log = ba.read_log(stream, chunk_bytes=len(POS_A) + 3)
    assert log.messages.column("device_id").to_pylist() == ["216769295715"] * 2


@pytest.mark.parametrize("fmt", ["stream", "lines"])
def test_chunks_cut_for_threads_decode_the_same(monkeypatch, fmt):
    import bofan_analytics.io.formats._parallel as parallel
    import bofan_analytics.io.formats.lines as lines_mod
    import bofan_analytics.io.formats.stream as stream_mod

    frames = [POS_A, G6 + b"@R#@", b"\xbf\xfb\x00\n\x00" + POS_B, b"junk", POS_B]
    if fmt == "stream":
        data = b"\r\n".join(frames * 50) + b"\r\n"
    else:  # a line log has no binary headers (their bytes may hold a line end)
        frames[2] = POS_B
        data = b"".join(b"2026-11-02T07:10:27.948Z " + f + b"\n" for f in frames * 50)
    whole = ba.read_log(data, format=fmt)
    for mod in (stream_mod, lines_mod):
        monkeypatch.setattr(mod, "PARALLEL_MIN_BYTES", 0)
        monkeypatch.setattr(mod, "threads", lambda: 3)
    assert parallel.pool() is parallel.pool()
    if fmt == "stream":
        cuts = stream_mod.stream_bounds(data, 3)
        assert len(cuts) == 4 and all(data[c - 1 : c] == b"\n" for c in cuts[1:-1])
    for size in (len(data), 1000, 333):
        parts = ba.read_log(data, format=fmt, chunk_bytes=size)
        assert parts.messages.equals(whole.messages)
        assert parts.rejects.equals(whole.rejects)
    assert len(whole.messages) == 200 and len(whole.rejects) == 50


def _numbered_line_log(lines: int) -> bytes:
    """A line log whose every fifth line is a reject, each line telling its number."""
    return b"".join(
        b"2026-11-02T07:10:27.948Z " + (b"junk %d" % i if i % 5 == 4 else POS_A + b"%d" % i)
        + b"\n" for i in range(lines))  # fmt: skip


def test_line_chunks_decoded_ahead_decode_the_same(monkeypatch):
    """A line log's chunks are decoded ahead, each one's parts queued on the decoding
    threads while the chunk before it is decoded; their rows are then moved to the
    chunk's place in the source. The tables are those of one chunk, rejects and offsets
    alike, and every chunk but a decoder's first two was decoded ahead."""
    import bofan_analytics.io.formats.lines as lines_mod

    data = _numbered_line_log(400)
    whole = ba.read_log(data, format="lines")
    monkeypatch.setattr(lines_mod, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(lines_mod, "threads", lambda: 2)
    bases = []
    placed = lines_mod._placed

    def counted(table, base):
        bases.append(base)
        return placed(table, base)

    monkeypatch.setattr(lines_mod, "_placed", counted)
    for size in (len(data) // 7, 1000):
        bases.clear()
        log = ba.read_log(data, format="lines", chunk_bytes=size)
        assert log.messages.equals(whole.messages)
        assert log.rejects.equals(whole.rejects)
        chunks = -(-len(data) // size)
        # two tables (messages, rejects) per chunk decoded ahead, at its start in the file
        assert len(bases) >= 2 * (chunks - 3) and sorted(set(bases)) == sorted(set(bases[::2]))
        assert all(0 < base < len(data) and data[base - 1 : base] == b"\n" for base in bases)
    assert len(whole.messages) == 320 and len(whole.rejects) == 80
    assert whole.rejects.column("offset").to_pylist() == [
        data.index(b"junk %d\n" % i) for i in range(4, 400, 5)]  # fmt: skip


def test_a_chunk_decoded_ahead_is_not_used_for_other_bytes(monkeypatch):
    """What ``prepare`` made of a chunk holds only when the decoder holds nothing before
    it: after a chunk that ended inside a line, the chunk is decoded again, joined to
    that line's start."""
    import bofan_analytics.io.formats.lines as lines_mod

    monkeypatch.setattr(lines_mod, "PARALLEL_MIN_BYTES", 0)
    data = _numbered_line_log(60)
    cut = data.index(b"\n", len(data) // 2) - 10  # inside a line
    whole = ba.StreamDecoder("lines")
    expected = ba.DecodedLog.concat([whole.feed(data), whole.finish()])
    dec = ba.StreamDecoder("lines")
    first = dec.feed(data[:cut])
    ahead = dec.prepare(data[cut:])
    assert ahead is not None
    rest = dec.feed(data[cut:], ahead=ahead)
    got = ba.DecodedLog.concat([first, rest, dec.finish()])
    assert got.messages.equals(expected.messages)
    assert got.rejects.equals(expected.rejects)
    assert len(got.messages) == 48 and len(got.rejects) == 12


def test_threads_asking_for_the_pool_at_once_get_one_pool(monkeypatch):
    """The decoding pool is made on first use, which may come from two threads at once (a
    line log's next chunk is handed to it from the thread that works ahead): one pool."""
    import concurrent.futures
    import threading
    import time

    import bofan_analytics.io.formats._parallel as parallel

    class Slow(concurrent.futures.ThreadPoolExecutor):
        def __init__(self, *args, **kwargs):
            time.sleep(0.05)  # long enough for every other thread to ask meanwhile
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(parallel, "_POOL", None)
    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", Slow)
    start = threading.Barrier(6)
    got = []

    def ask():
        start.wait()
        got.append(parallel.pool())

    askers = [threading.Thread(target=ask) for _ in range(6)]
    for thread in askers:
        thread.start()
    for thread in askers:
        thread.join()
    try:
        assert len(got) == 6 and len({id(p) for p in got}) == 1
    finally:
        for made in {id(p): p for p in got}.values():
            made.shutdown()


def test_tracker_server_pieces_split_for_threads_decode_the_same(monkeypatch):
    """Payload pieces are classified and hex-decoded in two halves on two threads for a
    large chunk: the same rows as on one thread, however the log is cut into chunks."""
    from pathlib import Path

    import bofan_analytics.io.formats._parallel as parallel

    data = (Path(__file__).resolve().parents[2] / "data" / "samples" / "tracker-server.log"
            ).read_bytes()
    whole = ba.read_log(data, format="traccar")
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    calls = []
    split = parallel.by_halves

    def counted(kernel, lead, items, data_bytes):
        parts = split(kernel, lead, items, data_bytes)
        calls.append((items[0].shape[0] >= 2, len(parts) == 2))
        return parts

    import bofan_analytics.decode.stream as stream_mod
    import bofan_analytics.io.formats.traccar as traccar_mod

    monkeypatch.setattr(stream_mod, "by_halves", counted)
    monkeypatch.setattr(traccar_mod, "by_halves", counted)
    for size in (len(data), 65536, 4099):
        parts = ba.read_log(data, format="traccar", chunk_bytes=size)
        assert parts.messages.equals(whole.messages)
        assert parts.rejects.equals(whole.rejects)
    # every chunk with two pieces or more ran in two halves
    assert len(calls) > 20 and all(many == split for many, split in calls)
    assert len(whole.messages) > 1000


@pytest.mark.parametrize("fmt", ["lines", "traccar"])
def test_an_endless_line_is_cut_not_buffered(monkeypatch, fmt):
    from bofan_analytics.decode import _lines_kernels

    limit = _lines_kernels.MAX_LINE_BYTES
    data = b"x" * (2 * limit + 10) + b"\n" + b"2026-11-02T07:10:27Z " + POS_A + b"\n"
    if fmt == "traccar":
        data = b"2026-11-02 07:10:27  INFO: [T0000000a: pt502 < 10.0.0.5] " + _hex(POS_A) + b"\n" + data
    log = ba.read_log(data, format=fmt, chunk_bytes=limit // 3)
    dec = ba.StreamDecoder(fmt)
    for i in range(0, len(data), limit // 3):
        dec.feed(data[i : i + limit // 3])
        assert len(dec._tail) <= limit + limit // 3
    assert len(log.messages) == 1


def test_work_is_not_split_from_inside_the_pool():
    """A pool thread that waited for another task of the pool could wait forever."""
    import bofan_analytics.io.formats._parallel as parallel

    items = (np.arange(4),)

    def inside():
        return parallel.by_halves(np.sum, (), items, 1 << 30)

    assert parallel.pool().submit(inside).result() == [6]  # one call, on this thread
    if parallel.threads() >= 2:
        assert inside() == [1, 5]


def test_work_split_moves_toward_where_both_threads_end_together():
    """The calling thread's share moves half way toward the one that would have made both
    threads end together at the pace each kept, within 20-80 %; ``on_halves`` cuts there
    and tells the split how long each part took."""
    import bofan_analytics.io.formats._parallel as parallel

    split = parallel.Split()
    assert split.share == 0.5
    split.update(50, 100, 1.0, 3.0)  # this thread three times the pace: 75 % would end together
    assert split.share == pytest.approx(0.625)
    split.update(62, 100, 0.62, 0.38)  # the same pace: even halves end together
    assert split.share == pytest.approx((0.625 + 0.5) / 2)
    for _ in range(20):
        split.update(50, 100, 1.0, 100.0)
    assert split.share == 0.8
    split.update(50, 100, 0.0, 1.0)  # no time measured: no change
    assert split.share == 0.8
    if parallel.threads() < 2:
        return
    seen = []

    class Seen(parallel.Split):
        def update(self, m, n, mine_s, theirs_s):
            seen.append((m, n, mine_s > 0, theirs_s > 0))

    cut = Seen()
    cut.share = 0.3
    items = np.arange(10)
    parts = parallel.on_halves(lambda lo, hi: items[lo:hi].tolist(), 10, 1 << 30, cut)
    assert parts == [[0, 1, 2], [3, 4, 5, 6, 7, 8, 9]]
    assert seen == [(3, 10, True, True)]


@pytest.mark.parametrize("share", [0.5, 0.2, 0.8])
def test_frames_parsed_in_two_halves_decode_the_same(monkeypatch, share):
    """A large chunk decoded on the main thread (a tracker-server log, a stream that holds
    photo chunks) has its frames parsed and tabulated in two parts on two threads, cut
    wherever the split puts it; the device ids of photo chunks are taken over the whole,
    so a chunk in the second part takes the id of a frame in the first."""
    import bofan_analytics.decode._assemble as assemble
    import bofan_analytics.io.formats._parallel as parallel

    def line(second, session, payload):
        return (b"2026-11-02 07:10:%02d  INFO: [T%08x: pt502 < 10.0.0.5] " % (second, session)
                + _hex(payload) + b"\n")

    photos = [b"$PHD%d,4,%04d\r\n" % (4 * k, k) for k in range(9)]
    server = (line(1, 0xA, POS_A + b"\r\n") + b"".join(line(2, 0xA, p) for p in photos)
              + line(3, 0xB, POS_B + b"\r\n") + line(4, 0xB, b"$PHD0,4,wxyz\r\n"))
    stream = POS_A + b"\r\n" + b"".join(photos) + G6 + b"@R#@" + POS_B + b"\r\n"
    wholes = {fmt: ba.read_log(data, format=fmt)
              for fmt, data in (("traccar", server), ("stream", stream))}
    monkeypatch.setattr(parallel, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    halves = []
    split = assemble.on_halves

    def counted(work, n, data_bytes, cut):
        parts = split(work, n, data_bytes, cut)
        halves.append(len(parts))
        return parts

    class Fixed(parallel.Split):  # the cut stays where it is put
        def update(self, *timing):
            pass

    fixed = Fixed()
    fixed.share = share
    monkeypatch.setattr(assemble, "on_halves", counted)
    monkeypatch.setattr(assemble, "_PARSE_SPLIT", fixed)
    for fmt, data in (("traccar", server), ("stream", stream)):
        log = ba.read_log(data, format=fmt)
        assert log.messages.equals(wholes[fmt].messages)
        assert log.rejects.equals(wholes[fmt].rejects)
        photo_ids = [r["device_id"] for r in log.messages.to_pylist() if r["msg_type"] == "PHD"]
        assert photo_ids[:9] == ["216769295715"] * 9
    assert halves.count(2) == 2  # each log's chunk (finishing parses what is left: none)
    assert wholes["traccar"].messages.column("device_id").to_pylist()[-1] == "353451000164"


@pytest.mark.parametrize("log_tz", [None, "Europe/Vienna"])
def test_tracker_server_lines_scanned_in_two_halves_read_the_same(monkeypatch, log_tz):
    """A large chunk of a tracker-server log in a zone of one offset is scanned in two
    halves on two threads, cut after a line end; in a zone with daylight saving one line's
    time depends on the line before it, so it is scanned whole. Rows and the clock the
    decoder keeps are the same either way, however the log is cut into chunks."""
    from pathlib import Path

    import bofan_analytics.io.formats.traccar as traccar_mod
    from bofan_analytics.decode import StreamDecoder

    data = (Path(__file__).resolve().parents[2] / "data" / "samples" / "tracker-server.log"
            ).read_bytes()

    def decode(size):
        dec = StreamDecoder("traccar", log_tz=log_tz)
        parts = [dec.feed(data[i : i + size]) for i in range(0, len(data), size)]
        state = dec.checkpoint()
        parts.append(dec.finish())
        return ba.DecodedLog.concat(parts), state

    whole, whole_state = decode(len(data))
    monkeypatch.setattr(traccar_mod, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(traccar_mod, "threads", lambda: 2)
    scans = []  # what the format hands to the second thread
    real_pool = traccar_mod.pool()

    class Counted:
        @staticmethod
        def submit(fn, *args):
            scans.append(fn.__name__)
            return real_pool.submit(fn, *args)

    monkeypatch.setattr(traccar_mod, "pool", Counted)
    for size in (len(data), 65536, 4099):
        log, state = decode(size)
        assert log.messages.equals(whole.messages), size
        assert log.rejects.equals(whole.rejects), size
        assert state["last_utc"] == whole_state["last_utc"] and not state["cont"]
    halves = scans.count("scan_traccar")
    assert (halves > 20) if log_tz is None else (halves == 0)
