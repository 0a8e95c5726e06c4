"""Packet captures: libpcap and pcapng records, link layers, IPv4/IPv6, TCP and UDP.

:func:`scan_records` walks the records of a chunk of a capture file and :func:`parse_packets`
reads each packet's headers down to the transport payload. Both write arrays; the decoder
then reassembles TCP payloads per connection (:func:`reassemble_tcp`) and hands the bytes
to the framer like any other stream.
"""

import numpy as np

from .._numba import helper, jit
from ._pcap_magic import PCAPNG_BYTE_ORDER, PCAPNG_SECTION

__all__ = [
    "PCAP_CLASSIC",
    "PCAP_NG",
    "scan_records",
    "parse_packets",
    "MAX_RECORD",
    "MAX_BAD_STRETCH",
    "reassemble_tcp",
    "TCP_FORGET_MS",
    "T_OTHER",
    "T_TCP",
    "T_UDP",
]

PCAP_CLASSIC, PCAP_NG = 1, 2
T_OTHER, T_TCP, T_UDP = 0, 6, 17
_MAX_IFACES = 64
#: A TCP connection that has sent nothing while the capture's clock ran this long is
#: forgotten: a later packet of it starts anew, as after a hole. A sender gives up
#: retransmitting after about 15 minutes, so no later packet repeats earlier bytes, and
#: the capture keeps state only for connections heard from lately, however long it is.
TCP_FORGET_MS = 30 * 60_000
_NULL_MS = np.int64(-(2**63))
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@helper
def _u16(buf, p, big):
    if big:
        return (np.int64(buf[p]) << 8) | np.int64(buf[p + 1])
    return np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8)


@helper
def _u32(buf, p, big):
    if big:
        return (
            (np.int64(buf[p]) << 24) | (np.int64(buf[p + 1]) << 16)
            | (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3])
        )
    return (
        np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8)
        | (np.int64(buf[p + 2]) << 16) | (np.int64(buf[p + 3]) << 24)
    )


#: a record longer than this is not believed (snap lengths are at most 256 KiB)
MAX_RECORD = 262144 * 4
#: a stretch that cannot be read is rejected in pieces of at most this many bytes, cut at
#: fixed distances from its start, so that the rejects do not depend on the chunking
MAX_BAD_STRETCH = 1 << 20


#: a record found after a stretch that cannot be read is believed only within this many
#: seconds of the last record read before it
MAX_RESYNC_JUMP_S = 7 * 86400


@helper
def _classic_ok(buf, p, e0, big, nano, last_sec):
    """Whether a classic record header at ``p`` is believable: 1 yes, 0 no, -1 need more
    bytes. It holds at least one byte, no more than it says the packet had, a fraction of a
    second below one second, and a time near the last record read (``last_sec``, -1: none)."""
    if p + 16 > e0:
        return -1
    sec = _u32(buf, p, big)
    frac = _u32(buf, p + 4, big)
    incl = _u32(buf, p + 8, big)
    orig = _u32(buf, p + 12, big)
    if incl == 0 or incl > MAX_RECORD or orig < incl or frac >= (1000000000 if nano else 1000000):
        return 0
    if sec == 0 or (last_sec >= 0 and abs(sec - last_sec) > MAX_RESYNC_JUMP_S):
        return 0
    return 1


@helper
def _believable(buf, p, e0, final, kind, big, nano, last_sec):
    """Whether a record starts at ``p``: 1 yes, 0 no, -1 the bytes to tell are not here yet.

    Classic: the header is believable and so is the next one (or the record ends the
    file). pcapng: the block's length is repeated at its end, as the format wants.
    """
    if kind == PCAP_CLASSIC:
        ok = _classic_ok(buf, p, e0, big, nano, last_sec)
        if ok <= 0:
            return -1 if ok < 0 and not final else 0
        nxt = p + 16 + _u32(buf, p + 8, big)
        if nxt == e0 and final:
            return 1
        ok = _classic_ok(buf, nxt, e0, big, nano, last_sec)
        if ok < 0:
            return 0 if final else -1
        return ok
    if p + 12 > e0:
        return 0 if final else -1
    b = big
    if _u32(buf, p, big) == PCAPNG_SECTION:
        b = _u32(buf, p + 8, False) != PCAPNG_BYTE_ORDER
    blen = _u32(buf, p + 4, b)
    if blen < 12 or blen % 4 != 0 or blen > MAX_RECORD + 64:
        return 0
    if p + blen > e0:
        return 0 if final else -1
    return 1 if _u32(buf, p + blen - 4, b) == blen else 0


@helper
def _next_record(buf, p, limit, e0, final, kind, big, nano, last_sec):
    """The first believable record start in ``[p, limit)``: (position, 0); (-1, 0) when there
    is none; (-1, 1) when the bytes to decide are not all here yet."""
    while p < limit:
        ok = _believable(buf, p, e0, final, kind, big, nano, last_sec)
        if ok < 0:
            return -1, 1
        if ok == 1:
            return p, 0
        p += 1
    return -1, 0


@jit
def scan_records(buf, s0, e0, final, kind, big, nano, linktype, if_link, if_div, n_if, resync,
                 last_sec):
    """Records of a capture chunk ``buf[s0:e0]`` (the file header already read).

    ``kind`` is :data:`PCAP_CLASSIC` or :data:`PCAP_NG`; for classic files ``big``, ``nano``
    and ``linktype`` come from the file header; pcapng interface descriptions found on the
    way are appended to ``if_link`` / ``if_div`` (time units per second divided down to ms).

    A record that cannot be read (an impossible length) starts a stretch that is skipped up
    to the next believable record: for classic files two record headers in a row whose
    lengths and times make sense, for pcapng a block whose length is repeated at its end.
    ``resync`` says the chunk starts inside such a stretch; ``last_sec`` is the time of the
    last classic record read (-1: none yet). Returns ``(data_s, data_len, ts_ms, link,
    consumed, n_if, big, status, bad_s, bad_e, resync, last_sec)``; ``bad_s``/``bad_e``
    bound the skipped stretches; status is 0, or 2 when the file ends inside a record.
    """
    cap = 16 + (e0 - s0) // 16
    data_s = np.empty(cap, np.int64)
    data_len = np.empty(cap, np.int64)
    ts = np.empty(cap, np.int64)
    link = np.empty(cap, np.int32)
    bad_s = np.empty(cap, np.int64)
    bad_e = np.empty(bad_s.shape[0], np.int64)
    nb = 0
    n = 0
    i = s0
    status = 0
    while i < e0 and nb < bad_s.shape[0]:
        if resync:
            # a stretch that cannot be read: look for the next record within one piece
            limit = min(e0, i + MAX_BAD_STRETCH)
            p, more = _next_record(buf, i, limit, e0, final, kind, big, nano, last_sec)
            if more or (p < 0 and limit < i + MAX_BAD_STRETCH and not final):
                break  # decide when more bytes are here, from the stretch's start
            if p < 0:
                p = limit  # no record in this piece (or up to the end): reject it all
            else:
                resync = False
            if p > i:
                bad_s[nb] = i
                bad_e[nb] = p
                nb += 1
            i = p
            continue
        if kind == PCAP_CLASSIC:
            if i + 16 > e0:
                break
            incl = _u32(buf, i + 8, big)
            if incl > MAX_RECORD:
                resync = True
                continue
            if i + 16 + incl > e0:
                break
            sec = _u32(buf, i, big)
            frac = _u32(buf, i + 4, big)
            data_s[n] = i + 16
            data_len[n] = incl
            ts[n] = sec * 1000 + (frac // 1000000 if nano else frac // 1000)
            last_sec = sec
            link[n] = linktype
            n += 1
            i += 16 + incl
        else:
            if i + 12 > e0:
                break
            btype = _u32(buf, i, big)
            b = big
            if btype == PCAPNG_SECTION:  # section header: its byte order applies from here on
                b = _u32(buf, i + 8, False) != PCAPNG_BYTE_ORDER
            blen = _u32(buf, i + 4, b)
            if blen < 12 or blen % 4 != 0 or blen > 1 << 24:
                resync = True
                continue
            if i + blen > e0:
                break
            if btype == PCAPNG_SECTION:
                big = b
                n_if = 0
            if btype == 1 and n_if < if_link.shape[0]:  # interface description
                if_link[n_if] = _u16(buf, i + 8, big)
                div = np.int64(1000)  # microseconds by default
                p = i + 16
                while p + 4 <= i + blen - 4:
                    code = _u16(buf, p, big)
                    olen = _u16(buf, p + 2, big)
                    if code == 0:
                        break
                    if code == 9 and olen >= 1:
                        r = buf[p + 4]
                        if r & 0x80 == 0:
                            units = np.int64(10) ** np.int64(r)
                        else:
                            units = np.int64(1) << np.int64(r & 0x7F)
                        div = max(np.int64(1), units // 1000)
                    p += 4 + ((olen + 3) // 4) * 4
                if_div[n_if] = div
                n_if += 1
            elif btype == 6 and blen >= 32:  # enhanced packet
                iface = _u32(buf, i + 8, big)
                caplen = _u32(buf, i + 20, big)
                if iface < n_if and 28 + caplen <= blen:
                    stamp = (_u32(buf, i + 12, big) << 32) | _u32(buf, i + 16, big)
                    data_s[n] = i + 28
                    data_len[n] = caplen
                    ts[n] = stamp // if_div[iface]
                    link[n] = if_link[iface]
                    n += 1
            elif btype == 3 and blen >= 16 and n_if > 0:  # simple packet: no time
                orig = _u32(buf, i + 8, big)
                data_s[n] = i + 12
                data_len[n] = min(orig, blen - 16)
                ts[n] = np.iinfo(np.int64).min
                link[n] = if_link[0]
                n += 1
            i += blen
        if n == cap:
            break
    if final and i < e0 and status == 0 and not resync:
        status = 2  # the file ends inside a record
    return (data_s[:n], data_len[:n], ts[:n], link[:n], i, n_if, big, status,
            bad_s[:nb], bad_e[:nb], resync, last_sec)


@helper
def _fnv(h, buf, s, e):
    for i in range(s, e):
        h = (h ^ np.uint64(buf[i])) * _FNV_PRIME
    return h


@jit
def parse_packets(buf, data_s, data_len, link):
    """Link, network and transport headers of each packet.

    Returns ``(proto, key, sport, dport, seq, flags, pay_s, pay_len, lost, bad)``: ``proto``
    is :data:`T_TCP`, :data:`T_UDP` or :data:`T_OTHER`; ``key`` a 62-bit hash of the
    direction-sensitive connection (addresses, ports, protocol); ``lost`` the payload bytes
    the capture cut off (snap length); ``bad`` is set for a packet that cannot be read: a
    link type this reader does not know, a link, IP, TCP or UDP header shorter than its
    layout or with an impossible length field. Packets that are read and are not TCP or
    UDP (ARP, ICMP, IP fragments after the first) are ``T_OTHER`` and not bad.
    """
    n = data_s.shape[0]
    proto = np.zeros(n, np.int8)
    key = np.zeros(n, np.int64)
    sport = np.zeros(n, np.int32)
    dport = np.zeros(n, np.int32)
    seq = np.zeros(n, np.int64)
    flags = np.zeros(n, np.int32)
    pay_s = np.zeros(n, np.int64)
    pay_len = np.zeros(n, np.int64)
    lost = np.zeros(n, np.int64)
    bad = np.zeros(n, np.bool_)
    for k in range(n):
        p = data_s[k]
        end = p + data_len[k]
        lt = link[k]
        ethertype = -1
        ipver = 0
        if lt == 1:  # Ethernet, with VLAN tags
            if end - p < 14:
                bad[k] = True
                continue
            ethertype = (np.int64(buf[p + 12]) << 8) | buf[p + 13]
            p += 14
            while (ethertype == 0x8100 or ethertype == 0x88A8) and end - p >= 4:
                ethertype = (np.int64(buf[p + 2]) << 8) | buf[p + 3]
                p += 4
        elif lt == 113:  # Linux cooked
            if end - p < 16:
                bad[k] = True
                continue
            ethertype = (np.int64(buf[p + 14]) << 8) | buf[p + 15]
            p += 16
        elif lt == 276:  # Linux cooked v2
            if end - p < 20:
                bad[k] = True
                continue
            ethertype = (np.int64(buf[p]) << 8) | buf[p + 1]
            p += 20
        elif lt == 0 or lt == 108:  # BSD loopback: address family in host order
            if end - p < 4:
                bad[k] = True
                continue
            fam = buf[p] if buf[p] != 0 else buf[p + 3]
            ipver = 4 if fam == 2 else 6
            p += 4
        elif lt == 101 or lt == 12 or lt == 14 or lt == 228 or lt == 229:
            ipver = 0  # raw IP: told by the version nibble
        else:
            bad[k] = True  # a link layer this reader does not know
            continue
        if ethertype == 0x0800:
            ipver = 4
        elif ethertype == 0x86DD:
            ipver = 6
        elif ethertype != -1:
            continue
        if p >= end:
            bad[k] = True
            continue
        if ipver == 0:
            ipver = buf[p] >> 4
        h = _FNV_OFFSET
        if ipver == 4:
            if end - p < 20:
                bad[k] = True
                continue
            ihl = (buf[p] & 15) * 4
            total = (np.int64(buf[p + 2]) << 8) | buf[p + 3]
            frag = ((np.int64(buf[p + 6]) & 0x3F) << 8) | buf[p + 7]
            if ihl < 20 or total < ihl or end - p < ihl:
                bad[k] = True
                continue
            if frag != 0:
                continue  # fragments: device frames are far smaller than a packet
            l4 = buf[p + 9]
            h = _fnv(h, buf, p + 12, p + 20)
            ip_end = p + total
            p += ihl
        elif ipver == 6:
            if end - p < 40:
                bad[k] = True
                continue
            l4 = buf[p + 6]
            ip_end = p + 40 + ((np.int64(buf[p + 4]) << 8) | buf[p + 5])
            h = _fnv(h, buf, p + 8, p + 40)
            p += 40
            while (l4 == 0 or l4 == 43 or l4 == 60) and end - p >= 8:
                l4 = buf[p]
                p += (np.int64(buf[p + 1]) + 1) * 8
            if l4 == 44:
                continue
        else:
            bad[k] = True  # neither IPv4 nor IPv6 where IP was announced
            continue
        lost_here = max(np.int64(0), ip_end - end)
        ip_end = min(ip_end, end)
        if l4 == 6:
            if ip_end - p < 20:
                bad[k] = lost_here == 0  # cut by the snap length is not malformed
                continue
            off = (buf[p + 12] >> 4) * 4
            if off < 20 or p + off > ip_end:
                bad[k] = off < 20 or lost_here == 0
                continue
            proto[k] = T_TCP
            sport[k] = (np.int32(buf[p]) << 8) | buf[p + 1]
            dport[k] = (np.int32(buf[p + 2]) << 8) | buf[p + 3]
            seq[k] = _u32(buf, p + 4, True)
            flags[k] = buf[p + 13]
            pay_s[k] = p + off
            pay_len[k] = ip_end - (p + off)
        elif l4 == 17:
            if ip_end - p < 8:
                bad[k] = lost_here == 0
                continue
            proto[k] = T_UDP
            sport[k] = (np.int32(buf[p]) << 8) | buf[p + 1]
            dport[k] = (np.int32(buf[p + 2]) << 8) | buf[p + 3]
            ulen = (np.int64(buf[p + 4]) << 8) | buf[p + 5]
            pay_s[k] = p + 8
            pay_len[k] = max(np.int64(0), min(ulen, ip_end - p) - 8)
        else:
            continue
        lost[k] = lost_here
        h = _fnv(h, buf, p, p + 4)
        h = (h ^ np.uint64(l4)) * _FNV_PRIME
        key[k] = np.int64(h >> np.uint64(2))
    return proto, key, sport, dport, seq, flags, pay_s, pay_len, lost, bad


@jit
def reassemble_tcp(key, seq, flags, pay_s, pay_len, lost, clock, next_seq, first_seq, heard):
    """Put the payloads of each connection in sequence order, in capture order.

    Packets come grouped by connection (``key``), in capture order within one; ``next_seq``
    holds, per packet's connection, the sequence number expected next (-1: unknown yet),
    ``first_seq`` the first one seen and ``heard`` the capture clock when it was last
    heard from; all three are updated (each packet gets its connection's values after
    it). ``clock`` is the capture's clock at each packet (the latest packet time so far).
    Retransmitted bytes (behind the expected number, within what was seen) are dropped
    and a partial overlap is trimmed; bytes missing from the capture start a new segment
    (``brk``) so that no frame is glued across the hole. A packet from before anything
    seen of its connection is not a retransmission of anything: the connection starts
    anew there, as after a hole. A packet :data:`TCP_FORGET_MS` after the last one heard
    is not compared with what came before (its bytes are taken as they come). Returns ``(start, length, brk, dup_bytes)``.
    """
    n = key.shape[0]
    start = pay_s.copy()
    length = pay_len.copy()
    brk = np.zeros(n, np.bool_)
    dup = np.int64(0)
    expect = np.int64(-1)
    first = np.int64(-1)
    last = _NULL_MS
    for k in range(n):
        if k == 0 or key[k] != key[k - 1]:
            expect = next_seq[k]
            first = first_seq[k]
            last = heard[k]
        if last != _NULL_MS and clock[k] != _NULL_MS and clock[k] - last > TCP_FORGET_MS:
            # silent too long: forgotten, as if its state had been dropped between chunks
            # (a connection not known is no hole: nothing marks a break there either)
            expect = -1
        if clock[k] != _NULL_MS:
            last = clock[k]
        heard[k] = last
        s = seq[k]
        if flags[k] & 2:  # SYN takes one sequence number
            s = (s + 1) & 0xFFFFFFFF
        ln = pay_len[k]
        if expect < 0:
            expect = s
            first = s
        diff = (s - expect) & 0xFFFFFFFF
        seen = (expect - first) & 0xFFFFFFFF
        if diff >= 0x80000000 and 0x100000000 - diff > seen:
            # starts before the first byte seen: not a copy of anything, start over here
            brk[k] = True
            first = s
        elif diff >= 0x80000000:  # starts before what we have: a retransmission
            over = 0x100000000 - diff
            if over >= ln:
                dup += ln
                length[k] = 0
                next_seq[k] = expect
                first_seq[k] = first
                continue
            start[k] += over
            length[k] = ln - over
            dup += over
            s = expect
        elif diff > 0:
            brk[k] = True
        # bytes the capture cut off the end of this packet are not expected: the next
        # packet then starts after a gap (a new segment), which ``next_seq`` carries on
        expect = (s + length[k]) & 0xFFFFFFFF
        if flags[k] & 1 and lost[k] == 0:
            expect = (expect + 1) & 0xFFFFFFFF
        next_seq[k] = expect
        first_seq[k] = first
    return start, length, brk, dup
