"""Packet captures that used to lose frames or bytes without a reject.

Every packet that cannot be read is a ``bad_capture`` reject at its offset; the device
port is 8888 unless told (``port=``; ``"auto"`` guesses); after a corrupt record the
reader finds the next one; and no chunking changes what comes out.
"""

import random
import struct

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import bofan_analytics as ba
from bofan_analytics.cli import main
from bofan_analytics.decode import StreamDecoder
from bofan_analytics.decode.log import DecodedLog
from bofan_analytics.errors import FormatError
from tests.decode.pcap_builder import SERVER, ether, ipv4, pcap, pcapng, tcp, udp

POS_A = b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/\r\n"
POS_B = b"$POS,353451000164,082405.000,A,1254.8501,N,10051.6752,E,0.00,237.99,160513,,,A/0000,0/0/55000//a71/\r\n"
G6 = b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,23.2014050;104.235212,@R#@"
DEV = b"\x0a\x00\x00\x05"
T0 = 1_793_000_000.0


def up(port, seq, data, flags=0x18, dport=SERVER[1]):
    return ether(ipv4(DEV, SERVER[0], 6, tcp(port, dport, seq, data, flags)))


def rejects(log):
    return [(r["reason"], r["offset"], r["length"]) for r in log.rejects.to_pylist()]


def records(data):
    """(offset, length) of each packet's bytes in a classic capture built by ``pcap``."""
    out, i = [], 24
    while i + 16 <= len(data):
        n = struct.unpack("<I", data[i + 8 : i + 12])[0]
        out.append((i + 16, n))
        i += 16 + n
    return out


# ------------------------------------------------------------------ unreadable packets


def test_unknown_link_type_is_a_reject_per_packet():
    data = pcap([(T0, b"\x00" * 30), (T0 + 1, b"\x01" * 40)], linktype=147)
    log = ba.read_log(data)
    assert len(log.messages) == 0
    assert rejects(log) == [("bad_capture", 40, 30), ("bad_capture", 86, 40)]


def test_bad_ip_header_length_is_a_reject():
    good = up(40001, 1, POS_A)
    bad = bytearray(up(40001, 1 + len(POS_A), POS_B))
    bad[14] = 0x43  # IPv4 header length 12 bytes: impossible
    data = pcap([(T0, good), (T0 + 1, bytes(bad))])
    log = ba.read_log(data)
    assert log.messages.column("device_id").to_pylist() == ["216769295715"]
    (_, _), (start, length) = records(data)
    assert rejects(log) == [("bad_capture", start, length)]


def test_a_13_byte_ethernet_packet_and_a_13_byte_file():
    data = pcap([(T0, b"\x00" * 13), (T0 + 1, up(40001, 1, POS_A))])
    log = ba.read_log(data)
    assert log.messages.column("device_id").to_pylist() == ["216769295715"]
    assert rejects(log) == [("bad_capture", 40, 13)]
    cut = ba.read_log(data[:13], format="pcap")
    assert rejects(cut) == [("truncated", 0, 13)]
    # other traffic that can be read (ARP here) is no reject
    arp = b"\xff" * 6 + b"\x66" * 6 + b"\x08\x06" + bytes(28)
    assert rejects(ba.read_log(pcap([(T0, arp)]))) == []


def test_a_file_that_is_not_a_capture_fed_in_pieces():
    junk = bytes(random.Random(5).randrange(256) for _ in range(3000))
    whole = ba.read_log(junk, format="pcap")
    assert rejects(whole) == [("bad_capture", 0, 3000)]
    for size in (1, 7, 23, 1000):
        assert rejects(ba.read_log(junk, format="pcap", chunk_bytes=size)) == rejects(whole)


# ------------------------------------------------------------------ the device port


def _mid_connection_with_a_syn_to_22():
    """A capture that starts inside the device's connection, and one SSH SYN."""
    return pcap(
        [
            (T0, up(40001, 5000, POS_A[30:])),  # the rest of a frame begun before the capture
            (T0 + 1, up(40002, 77, b"", flags=0x02, dport=22)),
            (T0 + 2, up(40001, 5000 + len(POS_A) - 30, POS_B + G6)),
        ]
    )


def test_mid_connection_and_a_syn_to_another_port():
    data = _mid_connection_with_a_syn_to_22()
    for port in (8888, "auto"):
        log = ba.read_log(data, port=port)
        assert log.messages.column("msg_type").to_pylist() == ["POS", "G6"], port
        # the end of the frame whose start the capture missed
        # (its line end is a separator)
        assert rejects(log) == [("unknown_protocol", data.index(POS_A[30:]), len(POS_A) - 32)]
    assert len(ba.read_log(data, port=22).messages) == 0
    with pytest.raises(FormatError, match="port must be a number from 0 to 65535 or 'auto'"):
        ba.read_log(data, port=70000)


def test_the_port_guess_does_not_depend_on_the_chunks():
    """300 packets: SSH data from two connections first, then 40 devices; the guess is
    made on the first 256 TCP/UDP packets whatever the chunk size."""
    packets = [(T0 + i, up(50000 + i % 2, 1 + 10 * i, b"ssh-data..", dport=22))
               for i in range(60)]
    seq = {}
    for i in range(240):
        port = 40000 + i % 40
        seq.setdefault(port, 1)
        packets.append((T0 + 100 + i, up(port, seq[port], POS_A)))
        seq[port] += len(POS_A)
    data = pcap(packets)
    whole = ba.read_log(data, port="auto")
    assert len(whole.messages) == 240 and len(whole.rejects) == 0
    for size in (100, 4096, 50_000):
        part = ba.read_log(data, port="auto", chunk_bytes=size)
        assert part.messages.equals(whole.messages) and part.rejects.equals(whole.rejects)


def test_port_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "cap.pcap"
    path.write_bytes(pcap([(T0, up(40001, 1, POS_A, dport=5023))]))
    assert main(["summary", str(path)]) == 0
    assert f"{path}: pcap, 0 messages, 0 rejects" in capsys.readouterr().out
    assert main(["summary", str(path), "--port", "5023"]) == 0
    assert f"{path}: pcap, 1 messages, 0 rejects" in capsys.readouterr().out
    assert main(["summary", str(path), "--port", "auto"]) == 0
    assert f"{path}: pcap, 1 messages, 0 rejects" in capsys.readouterr().out
    assert main(["summary", str(path), "--port", "x"]) == 2
    assert capsys.readouterr().err == (
        "bofan summary: error: argument --port: 'x' is not a port number\n"
    )


# ------------------------------------------------------------------ corrupt records


def test_after_a_corrupt_record_the_next_one_is_found():
    first = pcap([(T0, up(40001, 1, POS_A))])
    rest = pcap([(T0 + 1, up(40002, 1, POS_B)), (T0 + 2, up(40003, 1, G6))])[24:]
    junk = b"\x00" * 8 + b"\xff\xff\xff\x7f" + b"\x00" * 21  # a header saying 2 GiB, then junk
    data = first + junk + rest
    whole = ba.read_log(data)
    assert whole.messages.column("msg_type").to_pylist() == ["POS", "POS", "G6"]
    assert rejects(whole) == [("bad_capture", len(first), len(junk))]
    acc = whole.accounting.to_pylist()[0]
    assert acc["reject_bytes"] == len(junk)
    for size in (1, 5, 24, 100):
        part = ba.read_log(data, chunk_bytes=size)
        assert part.messages.equals(whole.messages) and part.rejects.equals(whole.rejects)


def test_after_a_corrupt_pcapng_block_the_next_one_is_found():
    data = bytearray(pcapng([(T0, up(40001, 1, POS_A)), (T0 + 1, up(40002, 1, POS_B)),
                             (T0 + 2, up(40003, 1, G6))]))
    second = data.index(POS_B) - 28 - 54  # the second enhanced packet block
    data[second + 4 : second + 8] = b"\x03\x00\x00\x00"  # an impossible block length
    data = bytes(data)
    log = ba.read_log(data)
    assert log.messages.column("msg_type").to_pylist() == ["POS", "G6"]
    third = data.index(G6) - 28 - 54
    assert rejects(log) == [("bad_capture", second, third - second)]


# ------------------------------------------------------------------ chunking


def test_a_sequence_number_from_nowhere_does_not_swallow_the_connection():
    """A corrupt first sequence number used to make every later packet of the connection
    a "retransmission", dropped without a reject."""
    later = 61 + len(POS_A) - 60
    data = pcap([
        (T0, up(40001, 900_000, POS_A[:60])),
        (T0 + 1, up(40001, 61, POS_A[60:])),
        (T0 + 2, up(40001, later, POS_B)),
        (T0 + 3, up(40001, later + len(POS_B), G6)),
    ])
    log = ba.read_log(data)
    assert log.messages.column("msg_type").to_pylist() == ["POS", "G6"]
    assert rejects(log) == [
        ("truncated", data.index(POS_A[:60]), 60),
        ("garbage", data.index(POS_A[60:]), len(POS_A) - 62),  # after a jump: no line start
    ]
    for size in (30, 100, 200):
        part = ba.read_log(data, chunk_bytes=size)
        assert part.messages.equals(log.messages) and part.rejects.equals(log.rejects)


def test_first_chunks_shorter_than_the_file_header():
    data = pcap([(T0, up(40001, 1, POS_A + G6))])
    dec = StreamDecoder("pcap")
    parts = [dec.feed(data[i : i + 1]) for i in range(len(data))]
    parts.append(dec.finish())
    log = DecodedLog.concat(parts)
    assert log.messages.column("msg_type").to_pylist() == ["POS", "G6"]
    assert log.accounting.column("input_bytes").to_pylist() == [len(data)]


def _capture(ng: bool) -> bytes:
    packets = []
    seq = {40001: 1, 40002: 7}
    stream = (POS_A + G6 + POS_B) * 2
    for n, i in enumerate(range(0, len(stream), 60)):
        port = 40001 + n % 2
        part = stream[i : i + 60]
        packets.append((T0 + n, up(port, seq[port], part)))
        seq[port] += len(part)
    packets.append((T0 + 99, ether(ipv4(DEV, SERVER[0], 17, udp(5000, SERVER[1], POS_A)))))
    return pcapng(packets) if ng else pcap(packets)


def _mutate(data: bytes, edits) -> bytes:
    out = bytearray(data)
    for kind, where, value in edits:
        i = where % (len(out) + 1)
        if kind == 0 and i < len(out):
            out[i] = value
        elif kind == 1:
            out[i:i] = bytes([value]) * (1 + value % 9)
        elif kind == 2:
            del out[i : i + 1 + value % 40]
        else:
            del out[i:]
    return bytes(out)


def _decode(data, cuts, port):
    dec = StreamDecoder("pcap", port=port)
    parts, last = [], 0
    for c in sorted(set(cuts)):
        parts.append(dec.feed(data[last:c]))
        last = c
    parts.append(dec.feed(data[last:]))
    parts.append(dec.finish())
    return DecodedLog.concat(parts)


def _rows(table: pa.Table) -> pa.Table:
    # rows of different connections are emitted when each is complete, so their order
    # may follow the chunks; the rows themselves may not
    return table.sort_by([("offset", "ascending"), ("length", "ascending")])


edits = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 5000), st.integers(0, 255)), min_size=1,
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ng=st.booleans(), edits=edits, cuts=st.lists(st.integers(0, 5000), max_size=8),
       port=st.sampled_from([8888, "auto"]))
# found by fuzzing: a corrupted byte made later packets of a connection look like
# retransmissions, and where a chunk ended after one, the next chunk took them as new data
@example(ng=False, edits=[(0, 2186, 214)], cuts=[2990, 1009, 65], port=8888)
@example(ng=True, edits=[(0, 4061, 77)], cuts=[3689, 1085], port=8888)
@example(ng=True, edits=[(0, 2087, 215)], cuts=[2396, 136, 667], port=8888)
# a file that is not a capture (its magic number broken) was rejected once per chunk
@example(ng=False, edits=[(0, 0, 0)], cuts=[1, 40, 79], port=8888)
# a corrupted time stamp ran the clock past TCP_FORGET_MS: forgetting a connection within
# a chunk marked a hole, while its state dropped between chunks did not
@example(ng=False, edits=[(3, 733, 0), (0, 889, 10)], cuts=[284], port=8888)
def test_any_chunking_of_a_mutated_capture_gives_the_same_rows(ng, edits, cuts, port):
    data = _mutate(_capture(ng), edits)
    whole = _decode(data, [], port)
    part = _decode(data, [c % (len(data) + 1) for c in cuts], port)
    assert _rows(part.messages).equals(_rows(whole.messages))
    assert _rows(part.rejects).equals(_rows(whole.rejects))
    assert part.accounting.equals(whole.accounting)
    acc = whole.accounting.to_pylist()[0]
    assert acc["input_bytes"] == len(data)
    assert acc["message_bytes"] + acc["reject_bytes"] <= len(data)
