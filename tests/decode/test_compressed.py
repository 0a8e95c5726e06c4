"""Compressed PT-502 sentences (PT502/PT600X firmwares): expanded against the connection's
previous full sentence, in every capture format that keeps connections apart."""

from datetime import datetime, timezone

from hypothesis import given
from hypothesis import strategies as st

import bofan_analytics as ba
from bofan_analytics import schema
from bofan_analytics.samples import compress_sentence, generate_fleet, render_capture

from .test_accounting import check_stream
from .test_properties import SETTINGS, _decode_in_chunks

REF = b"$POS,3760971,145703.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/00000,00000/0/0//#\n"
#: from one device, right after REF: the same sentence at 145718.000, ended by CR LF
COMPRESSED = bytes.fromhex("40600204063138 2e303030 13 0002 0d0a".replace(" ", ""))
SAME = [c for c in schema.MESSAGES.names if c not in (schema.SOURCE, schema.OFFSET, schema.LENGTH)]


def test_the_16_bytes_from_a_real_device():
    assert len(COMPRESSED) == 16
    log = check_stream(REF + COMPRESSED)
    assert log.rejects.num_rows == 0
    first, second = log.messages.to_pylist()
    assert second["time"] == datetime(2017, 11, 28, 14, 57, 18, tzinfo=timezone.utc)
    for key in ("device_id", "msg_type", "valid", "lat", "lon", "speed_kmh", "course", "inputs"):
        assert second[key] == first[key], key
    assert (second["offset"], second["length"]) == (len(REF), 16)
    # the encoder writes exactly those bytes
    full = REF.replace(b"145703", b"145718").replace(b"#\n", b"\r\n")
    assert compress_sentence(REF, full) == COMPRESSED


def test_compressed_sentence_chains_and_sits_behind_a_binary_header():
    second = REF.replace(b"145703", b"145718").replace(b"#\n", b"\r\n")
    third = second.replace(b"145718", b"145733").replace(b"$POS", b"$CPA")
    data = REF + COMPRESSED + b"\xbf\xfb\x01\x02\x03" + compress_sentence(second, third)
    log = check_stream(data)
    assert log.messages.column("msg_type").to_pylist() == ["POS", "POS", "CPA"]
    assert log.messages.column("alarm").to_pylist() == [None, None, "power_cut"]
    assert log.messages.column("offset").to_pylist() == [0, len(REF), len(REF) + 16]


def test_no_reference_and_bad_checksum_are_rejects_with_their_bytes():
    log = check_stream(COMPRESSED + REF)
    assert [(r["reason"], r["offset"], r["length"], r["protocol"], r["raw"])
            for r in log.rejects.to_pylist()] == [("no_reference", 0, 16, "pt502", COMPRESSED)]
    assert len(log.messages) == 1
    bad = b"@\x61" + COMPRESSED[2:]
    log = check_stream(REF + bad)
    assert [(r["reason"], r["offset"], r["length"]) for r in log.rejects.to_pylist()] == [
        ("bad_checksum", len(REF), 16)]


def test_references_are_kept_per_session_in_tracker_server_logs():
    def line(session, data):
        return b"2026-11-02 07:10:27  INFO: [%s: pt502 < 10.0.0.5] %s\n" % (session, data.hex().encode())

    other = b"$POS,99,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//\r\n"
    data = line(b"T00000001", REF) + line(b"T00000002", other) + line(b"T00000001", COMPRESSED)
    log = ba.read_log(data)
    assert log.rejects.num_rows == 0
    assert log.messages.column("device_id").to_pylist() == ["3760971", "99", "3760971"]


@given(st.lists(st.integers(0, 10**7), max_size=6))
@SETTINGS
def test_generated_compressed_stream_round_trips_and_any_chunking_agrees(cuts):
    data = _CAPTURE.data
    messages, rejects = _decode_in_chunks(data, "stream", [c % (len(data) + 1) for c in cuts])
    assert messages.equals(_WHOLE.messages) and rejects.equals(_WHOLE.rejects)


_FLEET = generate_fleet(seed=3, vehicles=2, personal=1, days=1)
_CAPTURE = render_capture(_FLEET, "stream", compress=True)
_WHOLE = ba.read_log(_CAPTURE.data, format="stream")


def test_generated_compressed_stream_decodes_to_the_plain_streams_messages():
    plain = ba.read_log(render_capture(_FLEET, "stream").data, format="stream")
    assert _CAPTURE.data.count(b"@") > 100  # many sentences went compressed
    assert _WHOLE.messages.select(SAME).equals(plain.messages.select(SAME))
    assert _WHOLE.rejects.column("reason").to_pylist() == plain.rejects.column("reason").to_pylist()
    # every frame where the generator put it (the truth's offset is after a binary header)
    pairs = zip(_WHOLE.messages.column("offset").to_pylist(), _CAPTURE.frames["offset"].tolist(),
                strict=True)
    assert {truth - got for got, truth in pairs} == {0, 5}
    check_stream(_CAPTURE.data)


def test_a_long_chain_of_long_sentences_expands_each_against_the_one_before():
    # a reference longer than the walk's first buffers (256 bytes), and a chain whose
    # expansions outgrow them many times over: the walk stops, grows them and goes on
    long = REF.replace(b"//#\n", b"/" + b"D" * 300 + b"/\r\n")  # a 300-byte driver id
    sentences = [long.replace(b"145703", b"1457%02d" % s) for s in range(3, 60)]
    data = sentences[0] + b"".join(compress_sentence(a, b)
                                   for a, b in zip(sentences, sentences[1:], strict=False))
    log = check_stream(data)
    assert log.rejects.num_rows == 0
    times = log.messages.column("time").to_pylist()
    assert times == [datetime(2017, 11, 28, 14, 57, s, tzinfo=timezone.utc) for s in range(3, 60)]
    assert set(log.messages.column("driver_id").to_pylist()) == {"D" * 300}


#: what a segment of a connection may hold: a sentence, a photo chunk or a PT-60 frame
#: (frames), each followed by some line end, or a line end alone (the rest of one cut off)
_ITEMS = st.lists(st.tuples(st.sampled_from([b"$POS,1", b"$PHD0,0,", b"@G#@,V01,6,1@R#@", b""]),
                            st.sampled_from([b"", b"\r", b"\n", b"\r\n"])), max_size=4)
_SEGMENTS = st.lists(st.tuples(st.integers(0, 2), _ITEMS, st.booleans(), st.booleans()),
                     min_size=1, max_size=12)
_INIT = st.lists(st.tuples(st.sampled_from([b"", b"$POS,0"]), st.sampled_from([b"", b"\r", b"\r\n"]),
                           st.booleans()), min_size=3, max_size=3)


@given(_SEGMENTS, _INIT)
@SETTINGS
def test_references_kept_without_compressed_frames_are_those_the_full_walk_keeps(segments, init):
    """With no compressed frame among them, the references connections end with are traced
    back from their last segments (``last_references``) as the walk over every frame
    (``expand_compressed``) finds them: same source, bytes, line end and open state."""
    import numpy as np

    from bofan_analytics.decode._assemble import _references_in
    from bofan_analytics.decode._compressed_kernels import (
        REF_NONE,
        expand_compressed,
        last_references,
    )
    from bofan_analytics.decode._lines_kernels import last_of_key

    data = bytearray()
    seg_s, seg_e, keys, prev, fresh, final, f_s, f_e, f_seg = ([] for _ in range(9))
    last_of = {}
    for k, (key, items, is_fresh, is_final) in enumerate(segments):
        seg_s.append(len(data))
        for frame, line_end in items:
            if frame:
                f_s.append(len(data))
                f_e.append(len(data) + len(frame))
                f_seg.append(k)
            data += frame + line_end
        seg_e.append(len(data))
        keys.append(key)
        prev.append(last_of.get(key, -1))
        last_of[key] = k
        fresh.append(is_fresh)
        final.append(is_final)
    buf = np.frombuffer(bytes(data) or b"\0", np.uint8)
    seg_s, seg_e, keys, prev, f_s, f_e = (np.array(a, np.int64) for a in (
        seg_s, seg_e, keys, prev, f_s, f_e))
    f_seg = np.array(f_seg, np.int32)  # as the framer gives it
    fresh = np.array(fresh, bool)
    final = np.array(final, np.int8)
    chain = np.where(fresh, -1, prev)
    firsts = np.flatnonzero((prev < 0) & ~fresh)
    references = {key: ref for key, ref in enumerate(
        (text, line_end, is_open) for text, line_end, is_open in init)}
    given_in = _references_in(references, firsts, keys[firsts], seg_s.shape[0])
    every = expand_compressed(buf, seg_s, seg_e, final, chain, f_s, f_e, f_seg.astype(np.int64),
                              *given_in)[4]
    targets = np.flatnonzero(last_of_key(prev))
    traced = last_references(buf, seg_s, seg_e, final, chain, f_s, f_e, f_seg, targets,
                             *given_in[1:])
    for want, got in zip(every[targets].tolist(), traced.tolist(), strict=True):
        where, rs, re_, le0, le1, nle, is_open = want
        assert got[0] == where
        if where != REF_NONE:
            assert got[1:3] == [rs, re_]
        assert got[5:] == [nle, is_open]
        assert got[3:3 + nle] == [le0, le1][:nle]


def test_the_framer_counts_the_compressed_sentences_it_cuts():
    import numpy as np

    from bofan_analytics._numba import read_only
    from bofan_analytics.decode._framing_kernels import frame_segments

    data = _CAPTURE.data
    buf = read_only(np.frombuffer(data, np.uint8))
    one = np.ones(1, np.int8)
    _, f_s, f_e, *_, n_compressed, _ = frame_segments(
        buf, np.zeros(1, np.int64), np.array([len(data)], np.int64), one, one,
        np.full(1, -1, np.int64))
    starts = [(data[s], data[s + 2] if e - s >= 3 else 255) for s, e in zip(f_s, f_e, strict=True)]
    assert n_compressed == sum(first == ord("@") and third < 32 for first, third in starts) > 100
