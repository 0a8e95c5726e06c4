"""Property tests: no input crashes or hangs the decoder, chunking never changes the result,
and generated frames decode to the values they were built from."""

from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bofan_analytics as ba
from bofan_analytics.decode import StreamDecoder

from .naive import decode_line
from .test_accounting import check_stream
from .vectors import ALL_FRAMES

FRAGMENTS = [f for _, f in ALL_FRAMES] + [
    b"\r\n", b"\r", b"\n", b"#", b"\xbf\xfb\x00\x00\x00", b"$", b"@G#@,", b"@B#@|", b"@R#@",
    b"@E#@", b"$PHD0,5,", b"$PHD", b",", b"/", b"\x00\xff", b"$PHD0,60000,", b"$PHD0,200,",
    # a sentence and the compressed one a device sent after it, and pieces of the latter
    b"$POS,3760971,145703.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/00000,00000/0/0//#\n",
    bytes.fromhex("406002040631382e3030301300020d0a"), b"@\x60\x02\x04", b"@\x00\x13",
]
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

streams = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.binary(max_size=40),
        st.sampled_from(FRAGMENTS).flatmap(lambda f: st.integers(0, len(f)).map(lambda i: f[:i])),
    ),
    max_size=25,
).map(b"".join)


def _decode_in_chunks(data, fmt, cuts):
    dec = StreamDecoder(fmt)
    parts = []
    last = 0
    for c in sorted(set(cuts)):
        parts.append(dec.feed(data[last:c]))
        last = c
    parts.append(dec.feed(data[last:]))
    parts.append(dec.finish())
    return (
        pa.concat_tables([p.messages for p in parts]),
        pa.concat_tables([p.rejects for p in parts]),
    )


@SETTINGS
@given(streams)
def test_any_bytes_are_accounted_for(data):
    check_stream(data)


@SETTINGS
@given(streams, st.lists(st.integers(0, 4000), max_size=8))
def test_stream_chunking_gives_identical_tables(data, cuts):
    whole = ba.read_log(data, format="stream")
    cuts = [c % (len(data) + 1) for c in cuts]
    messages, rejects = _decode_in_chunks(data, "stream", cuts)
    assert messages.equals(whole.messages)
    assert rejects.equals(whole.rejects)


@SETTINGS
@given(
    st.lists(st.sampled_from([f for _, f in ALL_FRAMES if not f.startswith(b"$PHD")] + [b"noise"]),
             max_size=12),
    st.lists(st.integers(0, 4000), max_size=6),
    st.sampled_from(["lines", "traccar"]),
)
def test_line_formats_chunking_gives_identical_tables(frames, cuts, fmt):
    if fmt == "lines":
        data = b"".join(b"2026-11-02T07:10:%02d.5Z " % (i % 60) + f + b"\n" for i, f in enumerate(frames))
    else:
        # each frame split over two reads of one of two sessions
        lines = []
        for i, f in enumerate(frames):
            sess = b"T0000000%d" % (i % 2)
            half = len(f) // 2
            for part in (f[:half], f[half:] + b"\r\n"):
                if part:
                    lines.append(b"2026-11-02 07:10:%02d  INFO: [%s: pt502 < 10.0.0.1] %s\n"
                                 % (i % 60, sess, part.hex().encode()))
        data = b"".join(lines)
    whole = ba.read_log(data, format=fmt)
    cuts = [c % (len(data) + 1) for c in cuts]
    messages, rejects = _decode_in_chunks(data, fmt, cuts)
    assert messages.equals(whole.messages)
    assert rejects.equals(whole.rejects)
    assert len(whole.messages) == sum(f != b"noise" for f in frames)


@SETTINGS
@given(st.sampled_from(ALL_FRAMES), st.integers(0, 10_000), st.integers(0, 255))
def test_mutated_frames_end_in_a_message_or_a_reject(vector, pos, byte):
    _, frame = vector
    mutated = bytearray(frame)
    mutated[pos % len(frame)] = byte
    log = check_stream(bytes(mutated) + b"\r\n")
    assert len(log.messages) + len(log.rejects) >= 1


EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


@st.composite
def pt502_fix(draw):
    t = EPOCH + timedelta(milliseconds=draw(st.integers(0, 79 * 365 * 86400 * 1000)))
    lat = draw(st.integers(0, 89 * 600000 + 599999))  # 1e-4 minute units
    lon = draw(st.integers(0, 179 * 600000 + 599999))
    return {
        "device_id": draw(st.from_regex(r"\A0?[0-9]{1,15}\Z")),
        "msg_type": draw(st.sampled_from(["POS", "HDA", "HDB", "IN1", "CPA", "DFR"])),
        "time": t,
        "valid": draw(st.booleans()),
        "lat_units": lat * draw(st.sampled_from([1, -1])),
        "lon_units": lon * draw(st.sampled_from([1, -1])),
        "knots_c": draw(st.integers(0, 20000)),
        "course_c": draw(st.integers(0, 35999)),
        "odometer": draw(st.integers(0, 10**9)),
        "state": draw(st.integers(0, 0xFFF)),
    }


def _ddmm(units, width):
    a = abs(units)
    deg, rest = divmod(a, 600000)
    return f"{deg:0{width}d}{rest // 10000:02d}.{rest % 10000:04d}"


def build(f):
    t = f["time"]
    return (
        f"${f['msg_type']},{f['device_id']},{t:%H%M%S}.{t.microsecond // 1000:03d},"
        f"{'A' if f['valid'] else 'V'},{_ddmm(f['lat_units'], 2)},{'S' if f['lat_units'] < 0 else 'N'},"
        f"{_ddmm(f['lon_units'], 3)},{'W' if f['lon_units'] < 0 else 'E'},"
        f"{f['knots_c'] / 100:.2f},{f['course_c'] / 100:.2f},{t:%d%m%y},,,A/00000,00000/0,0,0,0/"
        f"{f['odometer']}//{f['state']:03x}//"
    ).encode()


@SETTINGS
@given(st.lists(pt502_fix(), min_size=1, max_size=30))
def test_generated_frames_round_trip(fixes):
    data = b"\r\n".join(build(f) for f in fixes) + b"\r\n"
    m = ba.read_log(data).messages.to_pylist()
    assert len(m) == len(fixes)
    for row, f in zip(m, fixes, strict=True):
        assert row["device_id"] == f["device_id"] and row["msg_type"] == f["msg_type"]
        assert row["time"] == f["time"].replace(microsecond=f["time"].microsecond // 1000 * 1000)
        assert row["valid"] == f["valid"]
        lat = (abs(f["lat_units"]) // 600000 + (abs(f["lat_units"]) % 600000) / 600000) * np.sign(f["lat_units"] or 1)
        assert abs(row["lat"] - lat) < 1e-9
        assert abs(row["speed_kmh"] - f["knots_c"] / 100 * 1.852) < 1e-9
        assert row["odometer_m"] == f["odometer"]
        assert row["battery_pct"] == (f["state"] >> 8) * 100 / 15
        assert (row["rssi"], row["satellites"]) == ((f["state"] >> 4) & 15, f["state"] & 15)
        # the obvious regular-expression decoder agrees
        ref = decode_line(build(f).decode())
        for key in ("device_id", "time", "valid", "speed_kmh", "course", "alarm", "battery_pct"):
            assert row[key] == ref[key] or abs(row[key] - ref[key]) < 1e-9, key
        assert abs(row["lat"] - ref["lat"]) < 1e-9 and abs(row["lon"] - ref["lon"]) < 1e-9


def _traccar_read(layout, sess, part, i):
    """One read of a frame piece as a tracker-server release writes it."""
    when = b"2026-11-02 07:10:%02d" % (i % 60)
    if layout == "text":
        escaped = part.replace(b"\r", b"\\r").replace(b"\n", b"\\n")
        return b"%s  INFO: [T%s: pt502 < 10.0.0.1] %s\n" % (when, sess, escaped)
    if layout == "4.x":
        return b"%s  INFO: [%s: pt502 < 10.0.0.1] HEX: %s\n" % (when, sess, part.hex().encode())
    if layout == "3.x":
        return b"%s  INFO: [%s: 5017 < 10.0.0.1] HEX: %s\n" % (when, sess.upper(), part.hex().encode())
    return b"%s  INFO: [T%s: pt502 < 10.0.0.1] %s\n" % (when, sess, part.hex().encode())


#: lines with the layout of a device read that cannot be read: each one a bad_line reject
BAD_LINES = [
    b"2026-13-45 07:10:27  INFO: [T00000001: pt502 < 10.0.0.5] 2450\n",
    b"2026-11-02T07:10:27  INFO: [T00000001: pt502 < 10.0.0.5] 2450\n",
    b"2026-11-02 07:10:27  INFO: [Tzz: pt502 < 10.0.0.5] 2450\n",
    b"\x00\x00\x002026-11-02 07:10:27  INFO: [T00000001: pt502 < 10.0.0.5] 2450\n",
]
PRINTABLE = [f for _, f in ALL_FRAMES if all(32 <= b < 127 for b in f)]


@SETTINGS
@given(
    st.lists(st.one_of(st.sampled_from(PRINTABLE), st.sampled_from(BAD_LINES)), max_size=10),
    st.lists(st.integers(0, 4000), max_size=6),
    st.sampled_from(["hex", "text", "4.x", "3.x"]),
    st.integers(1, 30),
)
def test_traccar_layouts_chunking_gives_identical_tables(items, cuts, layout, split):
    """Frames split over reads of two sessions in each release's layout, with unreadable
    device lines between: any chunking gives the same tables, every frame is a message,
    every bad line one reject, every byte accounted for."""
    lines = []
    for i, item in enumerate(items):
        if item in BAD_LINES:
            lines.append(item)
            continue
        sess = b"0000000%d" % (i % 2)
        cut = min(split, len(item))
        for part in (item[:cut], item[cut:] + b"\r\n"):
            lines.append(_traccar_read(layout, sess, part, i))
    data = b"".join(lines)
    whole = ba.read_log(data, format="traccar")
    messages, rejects = _decode_in_chunks(data, "traccar", [c % (len(data) + 1) for c in cuts])
    assert messages.equals(whole.messages)
    assert rejects.equals(whole.rejects)
    assert len(whole.messages) == sum(item not in BAD_LINES for item in items)
    assert whole.rejects.column("reason").to_pylist() == ["bad_line"] * sum(
        item in BAD_LINES for item in items)
    acc = whole.accounting.to_pylist()[0]
    assert acc["message_bytes"] + acc["reject_bytes"] + acc["other_bytes"] == len(data)
    assert acc["reject_bytes"] == sum(len(item) - 1 for item in items if item in BAD_LINES)
