"""Packet captures: TCP reassembly per connection, UDP datagrams, link layers, pcapng."""

from pathlib import Path

import pytest

import bofan_analytics as ba
from bofan_analytics.io import detect_format

from .pcap_builder import SERVER, ether, ipv4, ipv6, pcap, pcapng, sll, tcp, udp

POS_A = b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/\r\n"
POS_B = b"$POS,353451000164,082405.000,A,1254.8501,N,10051.6752,E,0.00,237.99,160513,,,A/0000,0/0/55000//a71/\r\n"
G6 = b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,23.2014050;104.235212,@R#@"
DEV1 = b"\x0a\x00\x00\x05"
DEV2 = b"\x0a\x00\x00\x06"
T0 = 1_793_000_000.0


def up(dev, port, seq, data, flags=0x18):
    return ether(ipv4(dev, SERVER[0], 6, tcp(port, SERVER[1], seq, data, flags)))


def down(dev, port, seq, data):
    return ether(ipv4(SERVER[0], dev, 6, tcp(SERVER[1], port, seq, data)))


def test_tcp_frames_split_over_segments_and_connections():
    half = 40
    packets = [
        (T0, up(DEV1, 40001, 999, b"", flags=0x02)),  # SYN
        (T0 + 0.1, up(DEV1, 40001, 1000, POS_A[:half])),
        (T0 + 0.2, up(DEV2, 40002, 5000, G6)),
        (T0 + 0.3, down(DEV2, 40002, 77, b"@G#@,V01,38,20260101000000,@R#@")),  # reply
        (T0 + 0.4, up(DEV1, 40001, 1000 + half, POS_A[half:] + POS_B)),
        (T0 + 0.5, up(DEV1, 40001, 1000 + half, POS_A[half:] + POS_B)),  # retransmission
        (T0 + 0.6, ether(ipv4(DEV2, SERVER[0], 17, udp(50000, SERVER[1], POS_B)))),
    ]
    data = pcap(packets)
    assert detect_format(data) == "pcap"
    log = ba.read_log(data)
    m = log.messages.to_pylist()
    assert [(r["msg_type"], r["device_id"]) for r in m] == [
        ("G6", "111112222233333"), ("POS", "216769295715"), ("POS", "353451000164"),
        ("POS", "353451000164"),
    ]
    # received when the last byte of the frame arrived; offsets point into the file
    assert m[1]["received_at"].timestamp() == pytest.approx(T0 + 0.4)
    assert m[1]["offset"] == data.index(POS_A[:half])
    assert m[0]["offset"] == data.index(G6)
    assert m[3]["offset"] == data.rindex(POS_B)
    assert len(log.rejects) == 0
    acc = log.accounting.to_pylist()[0]
    assert acc["input_bytes"] == len(data)


def test_a_hole_in_the_capture_rejects_the_cut_frame_not_the_next():
    packets = [
        (T0, up(DEV1, 40001, 1000, POS_A[:50])),
        # 20 bytes never captured
        (T0 + 1, up(DEV1, 40001, 1070, POS_A[70:] + POS_B)),
    ]
    log = ba.read_log(pcap(packets))
    assert log.messages.column("device_id").to_pylist() == ["353451000164"]
    assert [r["reason"] for r in log.rejects.to_pylist()] == ["truncated", "garbage"]


@pytest.mark.parametrize("variant", ["ipv6", "vlan", "sll", "big", "nano", "pcapng", "pcapng-ns"])
def test_link_layers_and_file_variants(variant):
    seg = tcp(40001, SERVER[1], 1, POS_A + G6)
    if variant == "ipv6":
        pkt = ether(ipv6(bytes(15) + b"\x05", bytes(15) + b"\x01", 6, seg), v6=True)
    elif variant == "vlan":
        pkt = ether(ipv4(DEV1, SERVER[0], 6, seg), vlan=True)
    elif variant == "sll":
        pkt = sll(ipv4(DEV1, SERVER[0], 6, seg))
    else:
        pkt = ether(ipv4(DEV1, SERVER[0], 6, seg))
    packets = [(T0 + 0.25, pkt)]
    if variant == "sll":
        data = pcap(packets, linktype=113)
    elif variant == "pcapng":
        data = pcapng(packets)
    elif variant == "pcapng-ns":
        data = pcapng(packets, tsresol=9)
    else:
        data = pcap(packets, big=variant == "big", nano=variant == "nano")
    log = ba.read_log(data)
    assert log.messages.column("msg_type").to_pylist() == ["POS", "G6"]
    assert log.messages.column("received_at")[0].as_py().timestamp() == pytest.approx(T0 + 0.25)


def test_chunked_pcap_equals_whole():
    packets = []
    seq = 1
    stream = (POS_A + G6 + b"\r\n" + POS_B) * 20
    for i in range(0, len(stream), 37):
        part = stream[i : i + 37]
        packets.append((T0 + i, up(DEV1, 40001, seq, part)))
        seq += len(part)
    data = pcap(packets)
    whole = ba.read_log(data)
    assert len(whole.messages) == 60 and len(whole.rejects) == 0
    for size in (64, 100, 999):
        parts = ba.read_log(data, chunk_bytes=size)
        assert parts.messages.equals(whole.messages)
        assert parts.rejects.equals(whole.rejects)


def test_broken_capture_is_rejected_not_raised():
    data = pcap([(T0, up(DEV1, 40001, 1, POS_A))])
    broken = data + b"\x00" * 8 + b"\xff\xff\xff\x7f" + b"\x00" * 30
    log = ba.read_log(broken, format="pcap")
    assert len(log.messages) == 1
    r = log.rejects.to_pylist()
    assert [(x["reason"], x["offset"]) for x in r] == [("bad_capture", len(data))]
    cut = ba.read_log(data[:-10], format="pcap")
    assert [x["reason"] for x in cut.rejects.to_pylist()] == ["truncated"]


def test_real_tcpdump_capture_of_loopback_traffic():
    """``tests/data/pcap/loopback.pcap``: recorded by tcpdump, see the script beside it."""
    path = Path(__file__).resolve().parents[1] / "data" / "pcap" / "loopback.pcap"
    data = path.read_bytes()
    log = ba.read_log(path)
    m = log.messages.to_pylist()
    assert [(r["msg_type"], r["device_id"]) for r in m] == [
        ("POS", "216769295715"), ("G6", "111112222233333"), ("POS", "353451000164"),
        ("POS", "353451000164"),
    ]
    assert len(log.rejects) == 0
    # the sentence sent in two pieces starts in the first packet's payload
    assert data[m[0]["offset"] : m[0]["offset"] + 40] == POS_A[:40]
    assert data[m[1]["offset"] : m[1]["offset"] + m[1]["length"]] == G6
    times = [r["received_at"] for r in m]
    assert times == sorted(times) and all(t is not None for t in times)


@pytest.mark.parametrize("close", [0x11, 0x04], ids=["FIN", "RST"])
def test_a_connection_closed_mid_frame_ends_the_frame_there(close):
    """A device that closes (FIN) or resets (RST) its connection mid-frame: the frame is a
    ``truncated`` reject at the close, the rows after it are not held back, and a new
    connection from the same address and port starts afresh."""
    from bofan_analytics.decode import StreamDecoder

    packets = [
        (T0, up(DEV1, 40001, 1000, POS_A[:50])),
        (T0 + 1, up(DEV1, 40001, 1050, b"", flags=close)),
        (T0 + 2, up(DEV2, 40002, 5000, G6)),
        (T0 + 3, up(DEV1, 40001, 9000, b"", flags=0x02)),  # SYN: the same port again
        (T0 + 4, up(DEV1, 40001, 9001, POS_B)),
    ]
    data = pcap(packets)
    dec = StreamDecoder("pcap", port=SERVER[1])
    fed = dec.feed(data[: data.index(POS_B)])  # up to the second connection's frame
    assert fed.messages.column("device_id").to_pylist() == ["111112222233333"]
    assert [(r["reason"], r["offset"], r["length"]) for r in fed.rejects.to_pylist()] == [
        ("truncated", data.index(POS_A[:50]), 50)]
    rest = dec.feed(data[data.index(POS_B):])
    assert rest.messages.column("device_id").to_pylist() == ["353451000164"]
    whole = ba.read_log(data)
    assert whole.messages.column("device_id").to_pylist() == ["111112222233333", "353451000164"]
    assert [r["reason"] for r in whole.rejects.to_pylist()] == ["truncated"]


def test_reassembly_keeps_state_only_for_connections_heard_from_lately():
    """A capture of many short connections over hours: the decoder keeps the state of
    the connections heard from in the last TCP_FORGET_MS (30 minutes) only, and decodes
    every frame, however the capture is cut."""
    from bofan_analytics.decode import StreamDecoder
    from bofan_analytics.io._pcap_kernels import TCP_FORGET_MS

    assert TCP_FORGET_MS == 30 * 60_000
    packets = []
    for k in range(240):  # a connection a minute for four hours
        port, t = 20000 + k, T0 + 60 * k
        packets += [(t, up(DEV1, port, 99, b"", flags=0x02)),
                    (t + 1, up(DEV1, port, 100, POS_A)),
                    (t + 2, up(DEV1, port, 100 + len(POS_A), b"", flags=0x11))]
    data = pcap(packets)
    whole = ba.read_log(data)
    assert len(whole.messages) == 240 and len(whole.rejects) == 0
    dec = StreamDecoder("pcap", port=SERVER[1])
    parts = [dec.feed(data[i:i + 4000]) for i in range(0, len(data), 4000)] + [dec.finish()]
    assert sum(len(p.messages) for p in parts) == 240
    kept = dec._state["capture"].connections.key.shape[0]
    assert kept == 31  # the last 30 minutes, both ends included


def test_a_connection_silent_longer_than_the_limit_starts_anew():
    """A packet after 30 minutes of silence is not compared with the connection's earlier
    sequence numbers: its bytes are taken as they come (a retransmission that late
    cannot happen). Within the limit, the same bytes are a retransmission, dropped."""
    for gap, expected in ((29 * 60, 1), (31 * 60, 2)):
        packets = [(T0, up(DEV1, 40001, 1000, POS_A)),
                   (T0 + 30, up(DEV2, 40002, 5000, G6)),
                   (T0 + gap, up(DEV2, 40002, 5000 + len(G6), G6)),
                   (T0 + gap + 1, up(DEV1, 40001, 1000, POS_A))]  # the same bytes again
        log = ba.read_log(pcap(packets))
        got = log.messages.column("device_id").to_pylist().count("216769295715")
        assert (got, len(log.rejects)) == (expected, 0), gap


def test_connections_that_never_close_are_forgotten_when_silent():
    """Connections that die without a FIN (a mobile network drops them): the decoder keeps
    their device ids only while they were heard from in the last FORGET_CONNECTION_MS, and
    a photo chunk that comes later on a connection silent that long names no device."""
    from bofan_analytics.decode import StreamDecoder
    from bofan_analytics.decode.stream import FORGET_CONNECTION_MS

    packets = [(T0 + 60 * k, up(DEV1, 20000 + k, 100, POS_A)) for k in range(240)]
    data = pcap(packets)
    dec = StreamDecoder("pcap", port=SERVER[1])
    parts = [dec.feed(data[i:i + 4000]) for i in range(0, len(data), 4000)]
    assert sum(len(p.messages) for p in parts) == 240
    assert 31 <= len(dec.known_devices) <= 31 + FORGET_CONNECTION_MS // 4 // 60_000
    photo = b"$PHD0,4,abcd\r\n"
    for gap, device in ((29 * 60, "216769295715"), (31 * 60, None)):
        late = [(T0, up(DEV1, 40001, 1000, POS_A)),
                (T0 + 30, up(DEV2, 40002, 5000, POS_B)),
                (T0 + gap, up(DEV2, 40002, 5000 + len(POS_B), POS_B)),
                (T0 + gap + 1, up(DEV1, 40001, 1000 + len(POS_A), photo))]
        data = pcap(late)
        for size in (len(data), 200):
            log = ba.read_log(data, chunk_bytes=size)
            assert log.messages.column("device_id").to_pylist() == [
                "216769295715", "353451000164", "353451000164", device], (gap, size)
