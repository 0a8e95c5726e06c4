"""A slow, obvious reference decoder written with ``re``: one regular expression per
grammar, one Python step per line. Tests compare the numba decoder with it, and
``benchmarks/bench_decode.py`` measures against it as the peer."""

import re
from datetime import datetime, timezone

from bofan_analytics.decode.grammar import PT502_ALARMS

_PT502 = re.compile(
    r"\$(?P<type>PHO(?=\d)|[A-Z0-9]+)(?P<photo>\d+(?:-\d+)?)?,(?P<id>\d+),"
    r"(?P<hh>\d\d)(?P<mi>\d\d)(?P<ss>\d\d)(?:\.(?P<ms>\d{1,3}))?,(?P<valid>[AV]),"
    r"(?P<latd>\d+)(?P<latm>\d\d\.\d+),(?P<ns>[NS]),"
    r"(?P<lond>\d+)(?P<lonm>\d\d\.\d+),(?P<ew>[EW]),"
    r"(?P<speed>\d+(?:\.\d+)?)?,(?P<course>\d+(?:\.\d+)?)?,"
    r"(?P<dd>\d\d)(?P<mo>\d\d)(?P<yy>\d\d)"
    r"(?:[^/]*/(?P<inputs>[^,/]*)(?:,(?P<outputs>[^/]*))?"
    r"(?:/(?P<adc>[^/]*)(?:/(?P<odo>\d*)(?:/(?P<driver>[^/]*)(?:/(?P<state>[0-9a-fA-F]{3}))?)?)?)?)?"
)
_PT60_G6 = re.compile(
    r"@G#@,V?\d+,6,(?P<id>\d+),\d*,(?P<t>\d{14}),(?P<lat>-?[\d.]+);(?P<lon>-?[\d.]+),"
)
_PT60_B = re.compile(
    r"@B#@\|\d+\|(?P<type>\d+)\|(?P<id>\d+)\|\d*\|(?:(?P<fw>[^|]*[A-Za-z][^|]*)\|)?"
    r"(?:(?P<state>[01])\|(?P<bat>\d+)\|)?(?P<t>\d{14})\|"
)
_ALARMS = PT502_ALARMS  # the grammar's table: what is tested here is the parsing


def decode_line(line: str):
    """One frame of text to a dict of the main columns, or None when it does not match."""
    m = _PT502.match(line)
    if m:
        g = m.groupdict()
        yy = int(g["yy"])
        t = datetime(
            2000 + yy if yy < 80 else 1900 + yy, int(g["mo"]), int(g["dd"]),
            int(g["hh"]), int(g["mi"]), int(g["ss"]), int((g["ms"] or "0").ljust(3, "0")) * 1000,
            tzinfo=timezone.utc,
        )
        lat = int(g["latd"]) + float(g["latm"]) / 60
        lon = int(g["lond"]) + float(g["lonm"]) / 60
        state = int(g["state"], 16) if g["state"] else None
        typ = g["type"]
        return {
            "device_id": g["id"],
            "protocol": "pt502",
            "msg_type": typ,
            "time": t,
            "valid": g["valid"] == "A",
            "lat": -lat if g["ns"] == "S" else lat,
            "lon": -lon if g["ew"] == "W" else lon,
            "speed_kmh": float(g["speed"]) * 1.852 if g["speed"] else None,
            "course": float(g["course"]) if g["course"] else None,
            "alarm": _ALARMS.get(typ),
            "battery_pct": (state >> 8) * 100 / 15 if state is not None else None,
            "odometer_m": float(g["odo"]) if g["odo"] else None,
        }
    m = _PT60_G6.match(line)
    if m:
        t = datetime.strptime(m["t"], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        return {
            "device_id": m["id"], "protocol": "pt60", "msg_type": "G6", "time": t,
            "valid": True, "lat": float(m["lat"]), "lon": float(m["lon"]),
            "speed_kmh": None, "course": None, "alarm": None, "battery_pct": None,
            "odometer_m": None,
        }
    m = _PT60_B.match(line)
    if m:
        t = datetime.strptime(m["t"], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
        return {
            "device_id": m["id"], "protocol": "pt60", "msg_type": f"B{int(m['type'])}",
            "time": t, "valid": None, "lat": None, "lon": None, "speed_kmh": None,
            "course": None, "alarm": None,
            "battery_pct": float(m["bat"]) if m["bat"] else None, "odometer_m": None,
        }
    return None


def decode_lines(data: bytes):
    """Every line of a ``lines`` log (receive-time prefix allowed): (rows, rejected line count)."""
    rows = []
    rejected = 0
    for raw in data.decode("latin-1").splitlines():
        if not raw:
            continue
        line = raw.split(" ", 1)[1] if raw[:4].isdigit() and "T" in raw[:11] else raw
        row = decode_line(line)
        if row is None:
            rejected += 1
        else:
            rows.append(row)
    return rows, rejected
