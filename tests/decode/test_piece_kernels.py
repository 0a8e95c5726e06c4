"""Kernels over the payload pieces of tracker-server logs and captures: grouping by
connection (against a dict of groups in the order their keys first appear), each piece's
previous and each connection's last one (against a dict), pauses and segments (by hand),
telling and decoding hex (against Python's own reading of hex)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics.decode._arrow_kernels import locate_pieces
from bofan_analytics.decode._lines_kernels import group_by_key


def _naive(keys):
    groups = {}
    for k, key in enumerate(keys):
        groups.setdefault(key, []).append(k)
    return [k for members in groups.values() for k in members]


@settings(deadline=None)  # the first example compiles the kernel
@given(st.lists(st.one_of(st.integers(0, 5), st.integers(0, 2**62)), max_size=300))
def test_groups_in_first_seen_order_each_in_input_order(keys):
    order = group_by_key(np.array(keys, np.int64))
    assert order.dtype == np.int64
    assert order.tolist() == _naive(keys)


def test_connections_with_random_ids_keep_the_log_order():
    # session ids of a tracker-server log are random: one read per connection stays in order
    keys = np.array([0x5E0000BC, 0x5E00007D, 0x1F, 0x5E0000BC + (1 << 48), 0x1F], np.int64)
    assert group_by_key(keys).tolist() == [0, 1, 2, 4, 3]
    assert group_by_key(np.zeros(0, np.int64)).tolist() == []


def test_hex_digits_are_told_and_decoded_for_every_byte_value():
    """The arithmetic hex test and decode (vector registers, no lookup) against Python's
    own reading of hex, for all 256 byte values and each case of letter."""
    from bofan_analytics.decode._lines_kernels import (
        P_HEX,
        P_ODD_HEX,
        P_TEXT,
        gather_pieces,
        read_pieces,
    )

    digits = set(b"0123456789abcdefABCDEF")
    buf = np.array([b for b in range(256) for _ in range(2)], np.uint8)  # each byte twice
    s = np.arange(0, 512, 2, dtype=np.int64)
    cls, out = read_pieces(buf, s, s + 2)
    assert cls.tolist() == [P_HEX if b in digits else P_TEXT for b in range(256)]
    assert out.tobytes() == b"".join(bytes.fromhex(chr(b) * 2) if b in digits else bytes([b, b])
                                     for b in range(256))
    for odd, expected in ((b"abc", P_ODD_HEX), (b"abz", P_TEXT), (b"zbc", P_TEXT)):
        cls, out = read_pieces(np.frombuffer(odd, np.uint8), s[:1], s[:1] + 3)
        assert cls.tolist() == [expected]
        assert out.tobytes() == (b"" if expected == P_ODD_HEX else odd)
    text = b"00ff7F80a5B6c9DE" * 3
    tb = np.frombuffer(text, np.uint8)
    start = np.array([0, 16], np.int64)
    end = np.array([16, 48], np.int64)
    cls, decoded = read_pieces(tb, start, end)
    out, at = gather_pieces(tb, start, end, cls)
    assert out.tobytes() == decoded.tobytes() == bytes.fromhex(text.decode())
    assert at.tolist() == [0, 8, 24]


#: bytes of tracker-server payloads: hex digits of both cases, the escapes' bytes, others
_PIECE_BYTES = st.sampled_from(b"0123456789abcdefABCDEF\\rn$@,\xbf\x00 gR")


@settings(deadline=None)
@given(st.lists(st.binary(max_size=0) | st.lists(_PIECE_BYTES, max_size=40).map(bytes),
                max_size=12))
def test_pieces_told_and_decoded_in_one_pass_as_gathered_after_their_escapes(pieces):
    """``read_pieces`` gives the classes and, in one pass, the bytes that gathering the
    pieces gives after their odd hex is left out and their escapes are cut apart (the
    steps a tracker-server chunk took before): odd and even lengths, escapes at a
    piece's end, hex digits with a stray byte at either end."""
    from bofan_analytics.decode._lines_kernels import (
        P_HEX,
        P_ODD_HEX,
        P_TEXT,
        gather_pieces,
        piece_starts,
        read_pieces,
        split_escapes,
    )

    buf = np.frombuffer(b"".join(pieces) + b"\\", np.uint8)  # (a stray escape byte after)
    ends = np.cumsum([len(p) for p in pieces]).astype(np.int64)
    starts = ends - np.array([len(p) for p in pieces], np.int64)
    cls, decoded = read_pieces(buf, starts, ends)
    hexdigits = set(b"0123456789abcdefABCDEF")
    for c, piece in zip(cls.tolist(), pieces, strict=True):
        all_hex = all(b in hexdigits for b in piece)
        assert c == (P_TEXT if not all_hex else P_HEX if len(piece) % 2 == 0 else P_ODD_HEX)
    keep = cls != P_ODD_HEX
    s, e, c, _ = split_escapes(starts[keep], ends[keep], cls[keep], buf)
    out, at = gather_pieces(buf, s, e, c)
    assert decoded.tobytes() == out.tobytes()
    assert piece_starts(s, e, c).tolist() == at.tolist()
    expected = b"".join(bytes.fromhex(p.decode()) if k == P_HEX
                        else p.replace(b"\\r", b"\r").replace(b"\\n", b"\n") if k == P_TEXT
                        else b"" for k, p in zip(cls.tolist(), pieces, strict=True))
    assert decoded.tobytes() == expected


@settings(deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=12), st.data())
def test_locating_positions_in_pieces_is_a_binary_search_however_they_come(lengths, data):
    """Pieces of any length (empty ones too, where a connection closed); positions in
    ascending order (frames in buffer order) or any order."""
    out_start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    total = int(out_start[-1])
    ascending = sorted(data.draw(st.lists(st.integers(0, max(total - 1, 0)), max_size=40)))
    shuffled = data.draw(st.permutations(ascending))
    for x in (ascending, shuffled):
        x = np.array(x, np.int64)
        expected = np.clip(np.searchsorted(out_start[:-1], x, side="right") - 1, 0, None)
        assert locate_pieces(out_start, x).tolist() == expected.tolist()


def _previous_naive(keys):
    last, prev = {}, []
    for k, key in enumerate(keys):
        prev.append(last.get(key, -1))
        last[key] = k
    return prev


@settings(deadline=None)  # the first example compiles the kernel
@given(st.lists(st.one_of(st.integers(0, 5), st.integers(0, 2**62)), max_size=300))
def test_previous_and_last_item_of_each_key_against_a_dict(keys):
    from bofan_analytics.decode._lines_kernels import last_of_key, previous_of_key

    prev = previous_of_key(np.array(keys, np.int64))
    assert prev.tolist() == _previous_naive(keys)
    assert last_of_key(prev).tolist() == [key not in keys[k + 1:] for k, key in enumerate(keys)]


@settings(deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.booleans()), min_size=1,
                max_size=30), st.data())
def test_last_device_frames_against_a_walk_over_every_frame(segments, data):
    """Each connection's last frame with a device id (``last_devices``): of the usable
    frames in segments of its key that no close of the key follows, the last in buffer
    order; frames come to the kernel in any order."""
    from bofan_analytics.decode._arrow_kernels import last_devices

    keys = [key for key, _, _ in segments]
    prev = np.array(_previous_naive(keys), np.int64)
    closes = [k for k, (_, _, close) in enumerate(segments) if close]
    live = np.array([not any(keys[c] == key and c > k for c in closes)
                     for k, key in enumerate(keys)])
    frames = [(k, j) for k, (_, count, _) in enumerate(segments) for j in range(count)]
    usable = data.draw(st.lists(st.booleans(), min_size=len(frames), max_size=len(frames)))
    order = data.draw(st.permutations(range(len(frames))))
    f_seg = np.array([frames[i][0] for i in order], np.int32)
    f_off = np.array([10 * frames[i][0] + frames[i][1] for i in order], np.int64)
    targets = np.flatnonzero([k not in prev for k in range(len(segments))])
    got = last_devices(f_seg, f_off, np.array([usable[i] for i in order], bool), prev, live,
                       targets)
    for target, frame in zip(targets.tolist(), got.tolist(), strict=True):
        held = [i for i, (k, _) in enumerate(frames)  # frames are listed in buffer order
                if keys[k] == keys[target] and live[k] and usable[i]]
        assert frame == (order.index(max(held)) if held else -1)


@settings(deadline=None)
@given(st.lists(st.one_of(st.integers(0, 5), st.integers(-(2**63), 2**63 - 1)), max_size=300))
def test_dictionary_codes_against_a_dict(keys):
    """Message types (packed into int64, any of them from hostile input) to dictionary
    codes: each key's index in the order keys first appear."""
    from bofan_analytics.decode._lines_kernels import dictionary_codes

    seen = {}
    for key in keys:
        seen.setdefault(key, len(seen))
    codes, distinct = dictionary_codes(np.array(keys, np.int64))
    assert codes.dtype == np.int32
    assert codes.tolist() == [seen[key] for key in keys]
    assert distinct.tolist() == list(seen)


def test_previous_item_of_each_key_by_hand():
    from bofan_analytics.decode._lines_kernels import previous_of_key

    keys = np.array([5, 7, 5, 5, 9, 7], np.int64)
    assert previous_of_key(keys).tolist() == [-1, -1, 0, 2, -1, 1]
    assert previous_of_key(np.zeros(0, np.int64)).tolist() == []


def test_pauses_start_segments_and_forget_silent_connections():
    """Pieces of two connections (keys 1 and 2) after one carried piece of key 1, heard at
    10 s: the clock runs from the chunk's start and never back; a piece heard more than the
    pause after the one before it on its connection starts a segment, one heard more than
    the forgetting time after its connection's read in an earlier chunk starts it afresh."""
    from bofan_analytics.decode._lines_kernels import piece_pauses
    from bofan_analytics.decode._text_kernels import INT64_NULL

    s = 1000
    #            carried   k2: new   k1      k1 (back in time)  k2: dgram  k1: after a hole
    recv = np.array([0, 11 * s, 12 * s, 9 * s, 700 * s, 701 * s], np.int64)
    keys = [1, 2, 1, 1, 2, 1]
    prev = np.array(_previous_naive(keys), np.int64)
    dgram = np.array([False, False, False, False, True, False])
    brk = np.array([False, False, False, False, False, True])
    opens = np.array([1], np.int64)  # key 2's first piece here: last heard at 2 s
    starts, stale, heard, forgotten, clock = piece_pauses(
        recv, prev, dgram, brk, 1, 10 * s, np.array([10 * s], np.int64), opens,
        np.array([2 * s], np.int64), 600 * s, 8 * s)
    assert heard.tolist() == [10 * s, 11 * s, 12 * s, 12 * s, 700 * s, 701 * s]
    assert clock == 701 * s
    # 0: first of its key; 2 and 3 go on (2 s and 0 s after); 4: a datagram and 689 s after
    # key 2's last; 5: after a hole and 689 s after key 1's last
    assert starts.tolist() == [True, True, False, False, True, True]
    # key 2 was last heard 9 s before its first piece here: more than 8 s
    assert forgotten.tolist() == [False, True, False, False, True, True]
    assert stale.tolist() == [True, True, True, True, False, False]
    # nothing heard yet: no gap, nothing stale
    starts, stale, heard, forgotten, clock = piece_pauses(
        np.array([INT64_NULL], np.int64), np.array([-1], np.int64), np.zeros(1, bool),
        np.zeros(1, bool), 0, INT64_NULL, np.zeros(0, np.int64), np.array([0], np.int64),
        np.array([INT64_NULL], np.int64), 600 * s, 8 * s)
    assert (starts.tolist(), stale.tolist(), forgotten.tolist(), clock) == (
        [True], [False], [False], INT64_NULL)


def test_segments_of_joined_pieces_by_hand():
    """Pieces of keys 1, 1, 2, 1, 2 (2 bytes each) in input order; key 2's second piece
    is a close, key 1's third starts afresh after a pause."""
    from bofan_analytics.decode._lines_kernels import cut_segments

    keys = [1, 1, 2, 1, 2]
    key = np.array(keys, np.int64)
    prev = np.array(_previous_naive(keys), np.int64)
    starts = np.array([True, False, True, True, False])
    ends = np.array([False, False, False, False, True])
    dgram = ends.copy()
    no = np.zeros(5, bool)
    stale = np.array([False, False, False, False, True])
    line_start = np.ones(5, bool)
    brk = np.array([False, False, False, True, False])
    out_start = np.arange(0, 12, 2, dtype=np.int64)
    (first, last, seg_s, seg_e, seg_prev, cont, goes_on, final, ls, closes, fresh,
     conn) = cut_segments(np.arange(5), key, starts, prev, dgram, ends, stale, no, brk,
                          line_start, out_start, False)
    assert first.tolist() == [0, 2, 3, 4] and last.tolist() == [1, 2, 3, 4]
    assert (seg_s.tolist(), seg_e.tolist()) == ([0, 4, 6, 8], [4, 6, 8, 10])
    assert seg_prev.tolist() == [-1, -1, 0, 1]
    # 1's third piece starts a segment (a pause), 2's close goes on from its first
    assert cont.tolist() == [-1, -1, -1, 1]
    assert goes_on.tolist() == [False, True, False, False]
    # 0: another of its key follows without going on; 3: neither final nor followed; the
    # close is a datagram
    assert final.tolist() == [1, 0, 0, 1]
    assert ls.tolist() == [1, 1, 0, 1]  # after a hole nothing says a line starts
    assert closes.tolist() == [False, False, False, True]
    assert fresh.tolist() == [False] * 4
    assert conn.tolist() == [0, 1, 0, 1]
    # a connection taken again after its close starts afresh, as a new connection
    key2 = np.append(key, 2)
    prev2 = np.array(_previous_naive([*keys, 2]), np.int64)
    out = cut_segments(np.arange(6), key2, np.append(starts, True), prev2,
                       np.append(dgram, False), np.append(ends, False),
                       np.append(stale, False), np.zeros(6, bool), np.append(brk, False),
                       np.ones(6, bool), np.arange(0, 14, 2, dtype=np.int64), True)
    assert out[10].tolist() == [False, False, False, False, True]  # fresh
    assert out[11].tolist() == [0, 1, 0, 1, 2]  # conn
    assert out[7].tolist() == [1, 0, 1, 1, 1]  # final: the input ends here
