"""``pcap``: a libpcap / pcapng packet capture; device data is what is sent to the server
port (TCP reassembled per connection, UDP datagrams as they are)."""

from __future__ import annotations

from .._pcap_magic import PCAP_MAGIC, PCAP_MAGIC_BYTES, PCAP_MAGIC_NS, PCAPNG_MAGIC_BYTES
from ._base import CaptureFormat

__all__ = ["PCAP", "DEFAULT_PORT", "GUESS_PACKETS", "GUESS_BYTES", "check_port"]

#: the port devices send to unless told otherwise (``port=``), as ``bofan listen`` uses
DEFAULT_PORT = 8888
#: ``port="auto"`` guesses from the first this many TCP/UDP packets ...
GUESS_PACKETS = 256
#: ... of the records that end within this many bytes of the start of the file
GUESS_BYTES = 4 << 20


class _Pcap(CaptureFormat):
    name = "pcap"
    description = "a libpcap / pcapng packet capture"
    detect_rank = 10
    resumable = False  # the reassembly state of every connection is not kept

    def detect(self, head):
        """The libpcap (either byte order, µs or ns) or pcapng magic number."""
        return head[:4] in PCAP_MAGIC_BYTES or head[:4] == PCAPNG_MAGIC_BYTES

    def start(self, decoder):
        return {"capture": None, "port": decoder.port}

    def step(self, decoder, state, data, final, last_line, ahead=None):
        import numpy as np

        from ..._numba import byte_array
        from ...decode._assemble import empty_messages, empty_rejects
        from ...decode._codes import R_BAD_CAPTURE, R_TRUNCATED
        from ...decode._text_kernels import INT64_NULL
        from .._pcap_kernels import (
            MAX_BAD_STRETCH,
            MAX_RECORD,
            T_OTHER,
            T_TCP,
            T_UDP,
            parse_packets,
            reassemble_tcp,
            scan_records,
        )

        buf = byte_array(data)
        extra = []
        st = state["capture"]
        start = 0
        if st is None:
            if len(data) < 24 and not final:
                return empty_messages(), empty_rejects(), 0  # the file header is not all here
            st = state["capture"] = _PcapState.from_header(data, state["port"])
            start = st.header_bytes
            if st.kind == 0:
                st.dead = True
                if len(data) < 24 and _PcapState.from_header(data + bytes(24), None).kind:
                    # a capture whose file header is cut off (final: nothing more comes)
                    cut = decoder.stretch_rejects(buf, np.array([0]), np.array([len(data)]),
                                                  np.array([INT64_NULL]), R_TRUNCATED)
                    return empty_messages(), cut, len(data)
                return _reject_all(decoder, data, final)
        if st.dead:
            return _reject_all(decoder, data, final)
        (data_s, data_len, ts, link, consumed, st.n_if, st.big, status, bad_s, bad_e,
         st.resync, st.last_sec) = scan_records(
            buf, start, buf.shape[0], final, st.kind, st.big, st.nano, st.linktype,
            st.if_link, st.if_div, st.n_if, st.resync, st.last_sec,
        )
        if bad_s.shape[0]:
            extra.append(decoder.stretch_rejects(
                buf, bad_s, bad_e, np.full(bad_s.shape[0], INT64_NULL), R_BAD_CAPTURE))
        if status:
            extra.append(decoder.stretch_rejects(
                buf, np.array([consumed]), np.array([len(data)]), np.array([INT64_NULL]),
                R_TRUNCATED))
            consumed = len(data)
        proto, key, sport, dport, seq, flags, pay_s, pay_len, lost, bad = parse_packets(
            buf, data_s, data_len, link
        )
        if bad.any():
            extra.append(decoder.stretch_rejects(buf, data_s[bad], data_s[bad] + data_len[bad],
                                                 ts[bad], R_BAD_CAPTURE))
        if st.server_port is None:  # port="auto"
            transport = np.flatnonzero(proto != T_OTHER)
            guess_data = GUESS_BYTES + MAX_BAD_STRETCH + MAX_RECORD + 64
            enough = transport.shape[0] >= GUESS_PACKETS or len(data) >= guess_data
            if not (enough or final):
                # the guess must not depend on the chunking: decide on the same packets
                # whatever arrives first, so keep the whole start of the file until then
                state["capture"] = None
                return empty_messages(), empty_rejects(), 0
            first = transport[(data_s[transport] + data_len[transport]) <= GUESS_BYTES]
            first = first[:GUESS_PACKETS]
            st.server_port = _server_port(dport[first], key[first], pay_len[first])
        device = (proto != T_OTHER) & (dport == st.server_port)
        tcp = np.flatnonzero(device & (proto == T_TCP))
        tcp = tcp[np.argsort(key[tcp], kind="stable")]
        clock = np.maximum.accumulate(np.concatenate([[st.clock], ts]))
        st.clock = int(clock[-1])
        next_seq, first_seq, heard = st.connections.look_up(key[tcp])
        t_start, t_len, t_brk, _dup = reassemble_tcp(
            key[tcp], seq[tcp], flags[tcp], pay_s[tcp], pay_len[tcp], lost[tcp],
            clock[1:][tcp], next_seq, first_seq, heard,
        )
        st.connections.update(key[tcp], next_seq, first_seq, heard, st.clock)
        udp = np.flatnonzero(device & (proto == T_UDP) & (pay_len > 0))
        has = t_len > 0
        # a device's FIN or RST closes its connection: an empty piece after the packet's
        # payload ends it (a frame left unfinished is cut off there, not held to the end)
        ends = (flags[tcp] & (_FIN | _RST)) != 0
        end_at = (t_start + t_len)[ends]
        piece_s = np.concatenate([t_start[has], pay_s[udp], end_at])
        piece_e = np.concatenate([t_start[has] + t_len[has], pay_s[udp] + pay_len[udp], end_at])
        # capture order, a packet's close after its payload
        order = np.argsort(np.concatenate([2 * tcp[has], 2 * udp, 2 * tcp[ends] + 1]),
                           kind="stable")
        n_tcp, n_udp, n_end = int(has.sum()), udp.shape[0], int(ends.sum())
        import pyarrow as pa

        from ...decode._lines_kernels import P_END

        messages, rejects = decoder.decode_pieces(
            data,
            piece_s[order],
            piece_e[order],
            np.repeat(np.array([0, 0, P_END], np.int8), [n_tcp, n_udp, n_end])[order],
            np.concatenate([ts[tcp][has], ts[udp], ts[tcp][ends]])[order],
            np.concatenate([key[tcp][has], key[udp], key[tcp][ends]])[order],
            np.repeat(np.array([False, True, False]), [n_tcp, n_udp, n_end])[order],
            np.concatenate([t_brk[has], np.zeros(n_udp + n_end, bool)])[order],
            final,
            pa.concat_tables(extra) if extra else None,
        )
        return messages, rejects, consumed


def _reject_all(decoder, data, final):
    """A file that is not a capture: its bytes are ``bad_capture`` rejects, cut every
    ``MAX_BAD_STRETCH`` bytes from the start (whatever the chunks)."""
    import numpy as np

    from ..._numba import byte_array
    from ...decode._assemble import empty_messages
    from ...decode._codes import R_BAD_CAPTURE
    from ...decode._text_kernels import INT64_NULL
    from .._pcap_kernels import MAX_BAD_STRETCH

    keep = len(data) if final else len(data) // MAX_BAD_STRETCH * MAX_BAD_STRETCH
    s = np.arange(0, keep, MAX_BAD_STRETCH, dtype=np.int64)
    e = np.minimum(s + MAX_BAD_STRETCH, keep)
    rejects = decoder.stretch_rejects(byte_array(data), s, e,
                                      np.full(s.shape[0], INT64_NULL), R_BAD_CAPTURE)
    return empty_messages(), rejects, keep


#: TCP flags that end a connection
_FIN, _RST = 0x01, 0x04


class _PcapState:
    """What a packet capture's decoder keeps between chunks."""

    def __init__(self, kind, big=False, nano=False, linktype=1, header_bytes=0):
        import numpy as np

        self.kind = kind
        self.big = big
        self.nano = nano
        self.linktype = linktype
        self.header_bytes = header_bytes
        self.if_link = np.zeros(64, np.int64)
        self.if_div = np.ones(64, np.int64)
        self.n_if = 0
        self.server_port = None
        self.connections = _Connections()
        self.clock = -(2**63)  # the latest packet time so far (ms)
        self.dead = False
        self.resync = False
        self.last_sec = -1

    @classmethod
    def from_header(cls, data, port):
        from .._pcap_kernels import PCAP_CLASSIC, PCAP_NG

        state = cls(0)
        magic = data[:4]
        if magic == PCAPNG_MAGIC_BYTES:
            state = cls(PCAP_NG)
        for big in (False, True):
            value = int.from_bytes(magic, "big" if big else "little")
            if value in (PCAP_MAGIC, PCAP_MAGIC_NS) and len(data) >= 24:
                link = int.from_bytes(data[20:24], "big" if big else "little") & 0xFFFF
                state = cls(PCAP_CLASSIC, big, value == PCAP_MAGIC_NS, link, 24)
        state.server_port = None if port == "auto" else port
        return state


class _Connections:
    """The reassembly state of the device's TCP connections, as arrays sorted by key: the
    sequence number each expects next, the first one seen, when each was last heard
    from. Looked up and merged a chunk at a time; connections silent for
    :data:`~bofan_analytics.io._pcap_kernels.TCP_FORGET_MS` are dropped (a later packet
    of one starts anew anyway), so the state stays as small as the set of live
    connections."""

    def __init__(self):
        import numpy as np

        empty = np.zeros(0, np.int64)
        self.key, self.next_seq, self.first_seq, self.heard = empty, empty, empty, empty

    def look_up(self, keys):
        """Per packet (``keys`` ascending), its connection's state: arrays to update."""
        import numpy as np

        at = np.minimum(np.searchsorted(self.key, keys), max(self.key.shape[0] - 1, 0))
        known = (self.key[at] == keys) if self.key.shape[0] else np.zeros(keys.shape[0], bool)
        out = []
        for values, missing in ((self.next_seq, -1), (self.first_seq, -1),
                                (self.heard, -(2**63))):
            column = np.full(keys.shape[0], missing, np.int64)
            column[known] = values[at[known]]
            out.append(column)
        return out

    def update(self, keys, next_seq, first_seq, heard, clock):
        """Take each connection's values after its last packet (``keys`` ascending), then
        drop the connections silent too long at ``clock``."""
        import numpy as np

        from .._pcap_kernels import TCP_FORGET_MS

        last = np.flatnonzero(np.diff(keys, append=keys[-1:] + 1) != 0) if keys.shape[0] else (
            np.zeros(0, np.int64))
        k = keys[last]
        keep = ~np.isin(self.key, k, assume_unique=True)
        merged = [np.concatenate([old[keep], new[last]]) for old, new in (
            (self.key, keys), (self.next_seq, next_seq), (self.first_seq, first_seq),
            (self.heard, heard))]
        order = np.argsort(merged[0], kind="stable")
        alive = merged[3][order] == -(2**63)
        if clock != -(2**63):
            alive |= clock - merged[3][order] <= TCP_FORGET_MS
        self.key, self.next_seq, self.first_seq, self.heard = (
            m[order][alive] for m in merged)


def _server_port(dport, key, pay_len):
    """The device port guessed from packets (``port="auto"``).

    The destination port that the most connections send data to; a tie goes to the port
    that received more payload bytes, then to the lower port. Packets without payload
    (SYN, bare ACKs) do not count, so a connection attempt to another service does not
    win; -1 when no packet carries data.
    """
    import numpy as np

    data = pay_len > 0
    if not data.any():
        return -1
    pairs = np.unique(np.stack([dport[data].astype(np.int64), key[data]]), axis=1)
    conns = np.bincount(pairs[0], minlength=65536)
    volume = np.bincount(dport[data], weights=pay_len[data], minlength=65536)
    best = np.lexsort((-np.arange(65536), volume, conns))[-1]
    return int(best)


def check_port(port):
    """Validate a ``port=`` value: a port number, or ``"auto"``.

    >>> check_port(5013), check_port("auto")
    (5013, 'auto')
    """
    from ...errors import FormatError

    if port == "auto":
        return port
    if isinstance(port, int) and not isinstance(port, bool) and 0 <= port <= 65535:
        return int(port)
    if type(port).__module__ == "numpy" and hasattr(port, "dtype") and port.dtype.kind in "iu":
        return check_port(int(port))
    raise FormatError(f"port must be a number from 0 to 65535 or 'auto', not {port!r}")


PCAP = _Pcap()
