"""Capture renderers: a fleet as the bytes of a stream, a line log or a tracker-server log.

Each renderer is registered under the name of the capture format it writes
(:data:`bofan_analytics.io.formats.FORMATS`), and a tracker-server log's line writers under
the layouts that format declares; :func:`render_capture` looks both up.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..io.formats import FORMATS as CAPTURE_FORMATS
from ..io.formats import TRACCAR_LAYOUTS
from .encoder import _iso_ms, _wire, compress_sentence
from .fleet import Fleet
from .truth import SPEED_LIMIT_KMH, TRUTH_FRAME_COLUMNS, TRUTH_VERSION, _json_records
from .world import _MS

__all__ = ["FORMATS", "Capture", "TRACCAR_LAYOUTS", "render_capture"]

#: capture format name -> the function that writes a fleet's frames in it
_RENDERERS = {}


def _renders(name):
    """Register a renderer for the capture format ``name`` (one the registry declares)."""

    def register(render):
        if name not in CAPTURE_FORMATS:
            raise KeyError(f"no capture format {name!r} to render")
        _RENDERERS[name] = render
        return render

    return register


@dataclass
class Capture:
    """One capture file as bytes, and its truth document.

    Attributes
    ----------
    data : bytes
        The file content (uncompressed).
    truth : dict
        Counts and planted episodes (JSON-serialisable), see :func:`render_capture`.
    frames : pandas.DataFrame
        One row per frame a decoder must return, in file order, see :func:`render_capture`.
    """

    data: bytes
    truth: dict
    frames: pd.DataFrame


def _noise(rng, frames, fmt):
    """Known stretches that are not frames: (bytes, expected reject reason)."""
    pos = frames[(frames["msg_type"] == "POS") & ~frames["duplicate"]]
    sample = pos["text"].iloc[int(rng.integers(0, len(pos)))]
    fields = sample.split(",")
    truncated = ",".join(fields[:5])[:-3]
    bad_lat = ",".join([*fields[:4], "9512.3456", *fields[5:]])
    g = frames[frames["msg_type"] == "G6"]["text"]
    b = frames[frames["msg_type"] == "B1"]["text"]
    g_head = ",".join(g.iloc[0].split(",")[:5]) + "," if len(g) else "@G#@,V01,6,"
    b_head = "|".join(b.iloc[0].split("|")[:4]) + "|" if len(b) else "@B#@|01|001|"
    if fmt == "stream":
        return [
            (b"\x00\x00\xff\xfe\x10\x02ATE0\r\n", "garbage"),
            (truncated.encode() + b"\r\n", "truncated"),
            (g_head.encode() + b"@R#@", "truncated"),
            (b"AT+CSQ\r\n", "unknown_protocol"),
            (bad_lat.encode() + b"\r\n", "bad_latitude"),
        ]
    if fmt == "lines":
        return [
            (b"AT+CSQ", "unknown_protocol"),
            (truncated.encode(), "truncated"),
            (b_head.encode(), "truncated"),
            (b"+CME ERROR: 30", "unknown_protocol"),
            (bad_lat.encode(), "bad_latitude"),
        ]
    return [
        (b"\x16\x03\x01\x00\xf4\x01\x00\x00\xf0\x03\x03", "garbage"),
        (truncated.encode() + b"\r\n", "truncated"),
        (b"GET / HTTP/1.1", "unknown_protocol"),
        (b"24504f532c3", "bad_hex"),
        (bad_lat.encode() + b"\r\n", "bad_latitude"),
    ]


def _noise_slots(rng, frames, count):
    """Where noise goes: before these frame numbers, never inside a photo, never adjacent."""
    n = len(frames)
    eligible = np.flatnonzero((frames["msg_type"] != "PHD").to_numpy())
    eligible = eligible[(eligible > 5) & (eligible < n - 5)]
    while True:
        slots = np.sort(rng.choice(eligible, size=count, replace=False))
        if (np.diff(slots) > 2).all():
            return slots


@_renders("stream")
def _render_stream(rng, frames, *, compress=False):
    noise = _noise(rng, frames, "stream")
    slots = dict(zip(_noise_slots(rng, frames, len(noise)).tolist(), noise, strict=True))
    pt60_ids = sorted(frames.loc[frames["protocol"] == "pt60", "device_id"].unique())
    crlf_after = set(pt60_ids[::2])  # some PT-60 firmwares end each frame with CR LF too
    out, offsets, noise_at = bytearray(), [], []
    reference = None  # the last full PT-502 sentence, for compressed ones
    for i, row in enumerate(frames.itertuples(index=False)):
        if i in slots:
            noise_at.append(len(out))
            out += slots[i][0]
            if slots[i][0].startswith(b"$"):
                reference = slots[i][0]
        body, term = _wire(row.text, row.payload, row.protocol)
        if compress and row.protocol == "pt502" and row.msg_type != "PHD":
            packed = compress_sentence(reference, body + term) if reference and i % 2 else None
            reference = body + term
            if packed is not None:
                body, term = packed, b""
        if row.protocol == "pt502" and rng.random() < 0.15:
            out += (
                b"\xbf\xfb"
                + rng.integers(0, 256, 2, dtype=np.uint8).tobytes()
                + bytes([int(rng.integers(0, 4))])
            )
        offsets.append(len(out))
        out += body + term
        if row.device_id in crlf_after:
            out += b"\r\n"
    received = [None] * len(frames)
    noise = [(o, r) for o, (_, r) in zip(noise_at, noise, strict=True)]
    return bytes(out), offsets, received, noise, frames, 0


@_renders("lines")
def _render_lines(rng, frames):
    frames = frames[frames["msg_type"] != "PHD"].reset_index(drop=True)
    noise = _noise(rng, frames, "lines")
    slots = dict(zip(_noise_slots(rng, frames, len(noise)).tolist(), noise, strict=True))
    out, offsets, noise_at = bytearray(), [], []
    for i, row in enumerate(frames.itertuples(index=False)):
        stamp = (_iso_ms(row.received_ms) + " ").encode()
        if i in slots:
            noise_at.append(len(out))
            text, reason = slots[i]
            # a modem error line comes without the recorder's time stamp
            out += (b"" if text.startswith(b"+") else stamp) + text + b"\n"
        body, term = _wire(row.text, row.payload, row.protocol)
        out += stamp
        offsets.append(len(out))
        out += body + (term if row.protocol == "pt60" and rng.random() < 0.5 else b"") + b"\n"
    received = frames["received_ms"].tolist()
    noise = [(o, r) for o, (_, r) in zip(noise_at, noise, strict=True)]
    return bytes(out), offsets, received, noise, frames, 0


_PORTS_3X = {"pt502": 5017, "pt60": 5018}


def _printable(data):
    return all(32 <= b < 127 or b in (10, 13) for b in data)


def _hex_line(sid, proto, direction, ip, data, as_text):
    payload = data.decode("ascii") if as_text else data.hex()
    return f"[{sid}: {proto} {direction} {ip}] {payload}"


def _text_line(sid, proto, direction, ip, data, as_text):
    if _printable(data):
        text = data.decode("ascii").replace("\r", "\\r").replace("\n", "\\n")
        return f"[{sid}: {proto} {direction} {ip}] {text}"
    return f"[{sid}: {proto} {direction} {ip}] {data.hex()}"


def _v4_line(sid, proto, direction, ip, data, as_text):
    return f"[{sid[1:]}: {proto} {direction} {ip}] HEX: {data.hex()}"


def _v3_line(sid, proto, direction, ip, data, as_text):
    return f"[{sid[1:].upper()}: {_PORTS_3X[proto]} {direction} {ip}] HEX: {data.hex()}"


#: one read as the log line's bracket and payload, per layout of the ``traccar`` format
_LINE_WRITERS = {"hex": _hex_line, "text": _text_line, "4.x": _v4_line, "3.x": _v3_line}
if set(_LINE_WRITERS) != set(TRACCAR_LAYOUTS):
    raise ImportError("a tracker-server log layout has no line writer")


@_renders("traccar")
def _render_traccar(rng, frames, *, layout="hex", log_tz=None):
    frames = frames[frames["msg_type"] != "PHD"].reset_index(drop=True)
    devices = list(dict.fromkeys(frames["device_id"]))
    sessions, ips = {}, {}
    for k, device in enumerate(devices):
        udp = k == 1
        sessions[device] = ("U" if udp else "T") + f"{int(rng.integers(0, 2**32)):08x}"
        ips[device] = f"10.0.{k // 200}.{k % 200 + 2}"
    noise = _noise(rng, frames, "traccar")
    slots = dict(zip(_noise_slots(rng, frames, len(noise)).tolist(), noise, strict=True))

    # one entry per network read: [second, session, protocol, ip, direction, bytes, as_text, frames]
    reads = []
    for i, row in enumerate(frames.itertuples(index=False)):
        sec = int(row.received_ms) // _MS
        if i in slots:
            data, reason = slots[i]
            if reason in ("truncated", "bad_latitude"):
                sid, ip, proto = sessions[row.device_id], ips[row.device_id], "pt502"
            else:
                sid, ip, proto = (
                    f"T{int(rng.integers(0, 2**32)):08x}",
                    f"203.0.113.{int(rng.integers(2, 250))}",
                    "pt502",
                )
            reads.append(
                [
                    sec,
                    sid,
                    proto,
                    ip,
                    "<",
                    data,
                    reason in ("unknown_protocol", "bad_hex"),
                    ["noise"],
                ]
            )
        body, term = _wire(row.text, row.payload, row.protocol)
        as_text = rng.random() < 0.08
        if as_text:
            data = body + (term if row.protocol == "pt60" else b"")
        else:
            data = body + term
            if row.protocol == "pt502" and rng.random() < 0.1:
                data = b"\xbf\xfb" + rng.integers(0, 256, 3, dtype=np.uint8).tobytes() + data
        reads.append(
            [
                sec,
                sessions[row.device_id],
                row.protocol,
                ips[row.device_id],
                "<",
                data,
                as_text,
                [i],
            ]
        )
        if row.msg_type in ("G1", "B3") or rng.random() < 0.03:
            ack = b"$ACK\r\n" if row.protocol == "pt502" else b"@G#@,V01,ACK,@R#@"
            reads.append(
                [
                    sec,
                    sessions[row.device_id],
                    row.protocol,
                    ips[row.device_id],
                    ">",
                    ack,
                    False,
                    [],
                ]
            )

    # several frames in one read: frames of one session received within the same second
    merged = []
    for read in reads:
        last = merged[-1] if merged else None
        if (
            last is not None
            and read[4] == last[4] == "<"
            and read[1] == last[1]
            and read[0] == last[0]
            and not read[6]
            and not last[6]
            and read[7] != ["noise"]
            and last[7] != ["noise"]
            and rng.random() < 0.6
        ):
            last[5] += read[5]
            last[7] = last[7] + read[7]
        else:
            merged.append(read)
    # a frame split over two reads; another session's read may come in between
    reads = []
    pending = None
    for read in merged:
        splittable = (
            read[4] == "<"
            and read[1].startswith("T")
            and not read[6]
            and len(read[7]) == 1
            and read[7] != ["noise"]
            and len(read[5]) > 20
        )
        if pending is not None:
            if read[0] == pending[0] and read[1] != pending[1]:
                reads.append(read)
                reads.append(pending)
                pending = None
                continue
            reads.append(pending)
            pending = None
        if splittable and rng.random() < 0.05:
            cut = int(rng.integers(5, len(read[5]) - 5))
            reads.append([*read[:5], read[5][:cut], False, read[7]])
            pending = [*read[:5], read[5][cut:], False, []]
        else:
            reads.append(read)
    if pending is not None:
        reads.append(pending)

    def stamp(sec):
        t = pd.Timestamp(sec, unit="s", tz="UTC")
        return (t if log_tz is None else t.tz_convert(log_tz)).strftime("%Y-%m-%d %H:%M:%S")

    first = reads[0][0] - 2
    header = [
        "Operating system name: Linux version: 6.1.0-28-amd64 architecture: amd64",
        "Java runtime name: OpenJDK 64-Bit Server VM vendor: Debian version: 17.0.13+11-Debian-2",
        "Version: 6.5",
        "Starting server...",
        "Started server",
    ]
    lines = [f"{stamp(first)}  INFO: {text}" for text in header]
    log_lines = len(header)
    received = [None] * len(frames)
    noise_at = []
    seen = set()
    # a server logs a connection's end: after a session's last read it is disconnected
    last_read = {read[1]: k for k, read in enumerate(reads) if read[1].startswith("T")}
    for k, (sec, sid, proto, ip, direction, data, as_text, numbers) in enumerate(reads):
        if sid not in seen and direction == "<" and sid.startswith("T"):
            seen.add(sid)
            shown = sid if layout in ("hex", "text") else sid[1:]
            lines.append(f"{stamp(sec)}  INFO: [{shown}] connected")
            log_lines += 1
        if layout == "text" and as_text and proto == "pt502" and numbers != ["noise"]:
            data = data + b"\r\n"  # text mode writes the line end too, as \r\n
        if numbers == ["noise"]:
            noise_at.append(len(lines))
        for i in numbers:
            if i != "noise" and received[i] is None:
                received[i] = sec * _MS
        read = _LINE_WRITERS[layout](sid, proto, direction, ip, data, as_text)
        lines.append(f"{stamp(sec)}  INFO: {read}")
        log_lines += direction == ">"
        if last_read.get(sid) == k and sid in seen:
            shown = sid if layout in ("hex", "text") else sid[1:]
            lines.append(f"{stamp(sec)}  INFO: [{shown}] disconnected")
            log_lines += 1
    last = reads[-1][0]
    lines.append(f"{stamp(last)}  WARN: Connection reset by peer - {sorted(seen)[0]}")
    lines.append(f"{stamp(last + 1)}  INFO: Stopping server...")
    log_lines += 2
    data = ("\n".join(lines) + "\n").encode("ascii")
    reasons = [(line_no, r) for line_no, (_, r) in zip(noise_at, noise, strict=True)]
    return data, [None] * len(frames), received, reasons, frames, log_lines


#: Capture formats :func:`render_capture` writes, in the registry's order.
FORMATS = tuple(name for name in CAPTURE_FORMATS if name in _RENDERERS)


def render_capture(
    fleet: Fleet,
    format: str = "stream",
    *,
    layout: str = "hex",
    log_tz: str | None = None,
    compress: bool = False,
) -> Capture:
    """Write a fleet's frames as one capture file, with the truth of that file.

    Parameters
    ----------
    fleet : Fleet
        From :func:`generate_fleet`.
    format : {"stream", "lines", "traccar"}
        ``stream``: raw bytes as devices send them (photo chunks included); ``lines``: one
        frame per line behind its ISO-8601 receive time; ``traccar``: a tracker-server log
        with hex (sometimes text) payloads, split and merged reads, replies and log lines.
        Each format also gets five known noise stretches that a decoder must reject.
    layout : str
        For ``traccar``: how the server release writes a read (:data:`TRACCAR_LAYOUTS`).
        The noise is written in that layout too, so its reject reasons may differ from
        ``truth["noise"]`` outside ``hex``.
    log_tz : str, optional
        For ``traccar``: write the log's time stamps in this zone, as a server in it does
        (``received_at`` in ``frames`` stays UTC).
    compress : bool
        For ``stream``: send every other PT-502 sentence compressed against the one
        before (:func:`compress_sentence`), as PT502/PT600X firmwares do.

    Returns
    -------
    Capture
        ``data`` (bytes); ``frames``: one row per frame in file order, the columns of
        :data:`TRUTH_FRAME_COLUMNS` (times ``datetime64[ms, UTC]``; ``offset`` is the byte
        offset of the frame's first byte, after any ``0xBF`` header or line time stamp,
        null in traccar logs); ``truth``: a JSON-serialisable dict with ``frame_count``,
        ``rejects`` (how many reject rows the noise makes), ``noise`` (byte offset, or
        line number in traccar logs, and the expected reason), ``log_lines`` (traccar lines
        that are neither device data nor noise) and the episodes: ``trips``, ``stops``,
        ``overspeed``, ``geofence_events``, ``charges``, ``battery``, ``alarms``,
        ``photos`` (lists of records, times as ISO-8601 text with ms and a Z).

    Examples
    --------
    >>> fleet = generate_fleet(seed=1, vehicles=2, personal=1, days=1)
    >>> capture = render_capture(fleet, "lines")
    >>> capture.truth["rejects"]
    5
    """
    if format not in _RENDERERS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    layouts = CAPTURE_FORMATS[format].layouts
    if layout not in (layouts or ("hex",)):  # formats without layouts take the default
        raise ValueError(f"layout must be one of {', '.join(TRACCAR_LAYOUTS)} (traccar only)")
    if compress and format != "stream":
        raise ValueError("compress=True is for the stream format")
    options = {"layout": layout, "log_tz": log_tz} if layouts else {}
    if compress:
        options["compress"] = True
    # the seed depends on the format's place in the registry, which is fixed
    rng = np.random.default_rng([fleet.seed, list(CAPTURE_FORMATS).index(format)])
    data, offsets, received, noise, frames, log_lines = _RENDERERS[format](
        rng, fleet.frames, **options
    )
    table = frames.assign(
        offset=pd.array(offsets, dtype="Int64"),
        received_at=pd.to_datetime(pd.array(received, dtype="Int64"), unit="ms", utc=True),
        time=pd.to_datetime(frames["time_ms"].astype("Int64"), unit="ms", utc=True),
    )[list(TRUTH_FRAME_COLUMNS)].reset_index(drop=True)
    truth = {
        "truth_version": TRUTH_VERSION,
        "generator": "bofan_analytics.samples",
        "seed": fleet.seed,
        "format": format,
        "start": _iso_ms(fleet.start.value // 1_000_000),
        "end": _iso_ms(fleet.end.value // 1_000_000),
        "speed_limit_kmh": SPEED_LIMIT_KMH,
        "frame_count": len(table),
        "rejects": len(noise),
        "noise": [{"at": int(at), "reason": reason} for at, reason in noise],
        "log_lines": int(log_lines),
    }
    for name, episodes in fleet.episodes.items():
        truth[name] = _json_records(episodes)
    return Capture(data=data, truth=truth, frames=table)
