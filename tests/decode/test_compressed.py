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
