"""The magic numbers of packet-capture files, named once.

Format detection (:mod:`bofan_analytics.io.files`), the capture reader's header parsing and
the record kernels (:mod:`bofan_analytics.io._pcap_kernels`) all take them from here. Plain
Python, so that detection does not load numba.
"""

__all__ = [
    "PCAP_MAGIC",
    "PCAP_MAGIC_NS",
    "PCAPNG_SECTION",
    "PCAPNG_BYTE_ORDER",
    "PCAP_MAGIC_BYTES",
    "PCAPNG_MAGIC_BYTES",
]

#: libpcap file magic, microsecond and nanosecond time stamps (read in the file's byte order)
PCAP_MAGIC, PCAP_MAGIC_NS = 0xA1B2C3D4, 0xA1B23C4D
#: pcapng section header block type (a palindrome: the same in either byte order), and the
#: byte-order magic inside it
PCAPNG_SECTION, PCAPNG_BYTE_ORDER = 0x0A0D0D0A, 0x1A2B3C4D
#: the first four bytes of a capture file, as format detection sees them
PCAP_MAGIC_BYTES = tuple(
    m.to_bytes(4, order) for m in (PCAP_MAGIC, PCAP_MAGIC_NS) for order in ("little", "big")
)
PCAPNG_MAGIC_BYTES = PCAPNG_SECTION.to_bytes(4, "little")
