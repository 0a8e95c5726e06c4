"""Build small libpcap / pcapng captures byte by byte, for tests with exact expectations."""

import struct

from bofan_analytics.io._pcap_magic import (
    PCAP_MAGIC,
    PCAP_MAGIC_NS,
    PCAPNG_BYTE_ORDER,
    PCAPNG_SECTION,
)

SERVER = (b"\x0a\x00\x00\x01", 8888)


def ipv4(src, dst, proto, payload):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, src, dst)
    return header + payload


def ipv6(src, dst, proto, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, 64, src, dst) + payload


def tcp(sport, dport, seq, payload=b"", flags=0x18):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def ether(ip_packet, v6=False, vlan=False):
    head = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb"
    if vlan:
        head += b"\x81\x00\x00\x05"
    return head + (b"\x86\xdd" if v6 else b"\x08\x00") + ip_packet


def sll(ip_packet):
    return struct.pack("!HHH8sH", 0, 1, 6, bytes(8), 0x0800) + ip_packet


def pcap(packets, linktype=1, big=False, nano=False, snaplen=65535):
    """``packets``: ``[(seconds, bytes)]``; a packet longer than ``snaplen`` is cut."""
    e = ">" if big else "<"
    magic = PCAP_MAGIC_NS if nano else PCAP_MAGIC
    out = [struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for t, data in packets:
        sec = int(t)
        frac = round((t - sec) * (1e9 if nano else 1e6))
        cut = data[:snaplen]
        out.append(struct.pack(e + "IIII", sec, frac, len(cut), len(data)) + cut)
    return b"".join(out)


def pcapng(packets, linktype=1, tsresol=None):
    """A section, one interface, enhanced packet blocks (microseconds unless ``tsresol``)."""

    def block(btype, body):
        body += bytes(-len(body) % 4)
        return struct.pack("<II", btype, len(body) + 12) + body + struct.pack("<I", len(body) + 12)

    out = [block(PCAPNG_SECTION, struct.pack("<IHHq", PCAPNG_BYTE_ORDER, 1, 0, -1))]
    options = b""
    if tsresol is not None:
        options = struct.pack("<HHB", 9, 1, tsresol) + bytes(3) + struct.pack("<HH", 0, 0)
    out.append(block(1, struct.pack("<HHI", linktype, 0, 65535) + options))
    units = 10 ** (tsresol or 6)
    for t, data in packets:
        stamp = round(t * units)
        out.append(block(6, struct.pack("<IIIII", 0, stamp >> 32, stamp & 0xFFFFFFFF,
                                        len(data), len(data)) + data))
    return b"".join(out)
