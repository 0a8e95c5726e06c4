"""The wire encoder: a simulated fix or event as the frame text a device sends."""

from __future__ import annotations

import re

import pandas as pd

from ..decode.grammar import KNOT_KMH

__all__ = ["PT502_FRAME_RE", "PT60_G_FRAME_RE", "PT60_B_FRAME_RE", "compress_sentence"]


#: Grammar of a PT-502 sentence as the generator writes it (without line end).
PT502_FRAME_RE = (
    r"^\$(POS|IN1|GOF|TOW|HDA|HDB|FDA|SKA|PMA|CPA|DFR|PHO\d+-\d+),(\d+),"
    r"(\d{6}\.\d{3}),([AV]),(\d{4}\.\d{4}),([NS]),(\d{5}\.\d{4}),([EW]),"
    r"(\d+\.\d{2}),(\d+\.\d{2}),(\d{6}),,,A/([01]{5}),([01]{5})/([0-9a-f]+(?:,[0-9a-f]+)*)"
    r"/(\d+)/([0-9A-F]*)/([0-9a-f]{3})//$"
)


#: Grammar of a PT-60 ``@G#@`` frame (without terminator).
PT60_G_FRAME_RE = (
    r"^@G#@,V01,(1|6|13|14),(\d{15}),(\d{16}),"
    r"(?:(\d{14}),(-?\d+\.\d{6};-?\d+\.\d{6}|\d+|\d+,\d+),)?$"
)


#: Grammar of a PT-60 ``@B#@`` frame (without terminator).
PT60_B_FRAME_RE = (
    r"^@B#@\|01\|(001|003|033)\|(\d{15})\|(\d{16})\|"
    r"(?:[A-Za-z0-9_.\-]+\|)?([01])\|(\d{1,3})\|(\d{14})\|"
    r"(?:(-?\d+\.\d{6})\|(-?\d+\.\d{6})\|1\||((?:\d+,\d+,\d+,\d+,\d+\|)+)2\|)?$"
)


_B_FIRMWARE = "S6_EN_A_V1.3.7"


#: Columns whose values :func:`_format` derives from the frame text.
_DECODED = ("lat", "lon", "speed_kmh", "course", "battery_pct", "satellites", "rssi", "odometer_m")


def _fmt_coord(value, width):
    """Degrees as PT-502 ``DDMM.MMMM`` text and the value that text stands for."""
    units = int(round(abs(value) * 60 * 10_000))
    deg, rest = divmod(units, 600_000)
    text = f"{deg:0{width}d}{rest // 10_000:02d}.{rest % 10_000:04d}"
    decoded = deg + rest / 10_000 / 60
    return text, (-decoded if value < 0 else decoded)


def _ts(seconds, layout):
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").strftime(layout)


def _format(row):
    """Frame text (without terminator) and the decoded values of one frame."""
    kind = row.kind
    if kind == "pos":
        lat_text, lat = _fmt_coord(row.lat, 2)
        lon_text, lon = _fmt_coord(row.lon, 3)
        knots = f"{row.speed_ms * 3.6 / KNOT_KMH:.2f}"
        course = f"{row.course:.2f}"
        level = int(row.level)
        odometer = int(row.odometer)
        driver = row.driver_id if isinstance(row.driver_id, str) else ""
        text = (
            f"${row.msg_type},{row.device_id},{_ts(row.time, '%H%M%S')}.000,"
            f"{'A' if row.valid else 'V'},{lat_text},{'S' if row.lat < 0 else 'N'},"
            f"{lon_text},{'W' if row.lon < 0 else 'E'},{knots},{course},"
            f"{_ts(row.time, '%d%m%y')},,,A/{row.inputs},00000/{row.adc}/{odometer}/{driver}/"
            f"{level:x}{int(row.rssi):x}{int(row.sats):x}//"
        )
        return text, (
            lat,
            lon,
            float(knots) * KNOT_KMH,
            float(course),
            level * 100 / 15,
            int(row.sats),
            int(row.rssi),
            float(odometer),
        )
    blank = (None,) * len(_DECODED)
    if kind == "phd":
        return f"$PHD{int(row.photo_offset)},{len(row.payload)},", blank
    if kind == "fus":
        return f"$FUS{row.device_id},{row.firmware}", blank
    if kind == "g_login":
        return f"@G#@,V01,1,{row.device_id},{row.imsi},", blank
    when = _ts(row.time, "%Y%m%d%H%M%S")
    lat, lon = f"{row.lat:.6f}", f"{row.lon:.6f}"
    position = (float(lat), float(lon)) if lat != "nan" else (None, None)
    head = f"@G#@,V01,{row.msg_type[1:]},{row.device_id},{row.imsi},{when},"
    if kind == "g_pos":
        return f"{head}{lat};{lon},", (*position, *blank[2:])
    if kind == "g_hr":
        return f"{head}{int(row.heart_rate)},{int(row.battery)},", (None,) * 4 + (
            float(row.battery),
        ) + (None,) * 3
    if kind == "g_steps":
        return f"{head}{int(row.steps)},", blank
    batt = int(row.battery)
    with_battery = (None,) * 4 + (float(batt),) + (None,) * 3
    head = f"@B#@|01|{int(row.msg_type[1:]):03d}|{row.device_id}|{row.imsi}|"
    tail = f"{int(row.state)}|{batt}|{when}|"
    if kind == "b_login":
        return f"{head}{_B_FIRMWARE}|{tail}{row.cells}|2|", with_battery
    if kind == "b_gps":
        return f"{head}{tail}{lat}|{lon}|1|", (*position, *with_battery[2:])
    if kind == "b_cells":
        return f"{head}{tail}{row.cells}|2|", with_battery
    if kind == "b_beat":
        return f"{head}{tail}", with_battery
    raise ValueError(f"unknown frame kind {kind!r}")


_TERMINATOR = {"G": b"@R#@", "B": b"@E#@"}


def _wire(text, payload, protocol):
    """A frame as the device sends it: text, binary payload, terminator."""
    body = text.encode("ascii") + (payload if isinstance(payload, bytes) else b"")
    if protocol == "pt502":
        return body, b"\r\n"
    return body, _TERMINATOR[text[1]]


def _iso_ms(ms):
    """Milliseconds since the epoch as ISO-8601 text with a Z, or None."""
    if ms is None or pd.isna(ms):
        return None
    return pd.Timestamp(int(ms), unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def compress_sentence(reference: bytes, sentence: bytes) -> bytes | None:
    """A PT-502 sentence as PT502/PT600X firmwares compress it against the connection's
    previous full sentence (both with their line ends), or None when it cannot be.

    ``@``, the XOR of the reference's bytes, then for each field that differs (fields cut
    on ``,`` and ``/``; the line end belongs to the last one) ``[field][kept][length]``
    and the new bytes: ``kept`` bytes of the old value are kept. Field numbers must stay
    below 32 and both sentences must have the same separators.

    >>> ref = b"$POS,1,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//\r\n"
    >>> compress_sentence(ref, ref.replace(b"120000", b"120015")).hex()
    '405102040631352e303030'
    """
    def split(text):
        return re.split(rb"([,/])", text)

    old, new = split(reference), split(sentence)
    if len(old) != len(new) or old[1::2] != new[1::2] or len(old) // 2 + 1 > 32:
        return None
    groups = bytearray()
    for field, (a, b) in enumerate(zip(old[::2], new[::2], strict=True)):
        if a == b:
            continue
        kept = 0
        while kept < min(len(a), len(b), 255) and a[kept] == b[kept]:
            kept += 1
        rest = b[kept:]
        if len(rest) > 255:
            return None
        groups += bytes([field, kept, len(rest)]) + rest
    if not groups:  # nothing changed: keep the whole type field
        groups += bytes([0, min(len(old[0]), 255), 0])
    check = 0
    for byte in reference:
        check ^= byte
    return b"@" + bytes([check]) + bytes(groups)
