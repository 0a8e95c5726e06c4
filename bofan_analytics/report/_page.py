"""The report page: one self-contained HTML document.

Leaflet, the map data and the battery charts (inline SVG) are all in the file; only map
tiles come from the network, and the page works without them. Every string from a device
or a user goes through :func:`~bofan_analytics.viz._html.escape_text` (HTML) or
:func:`~bofan_analytics.viz._html.script_json` (inside ``<script>``).
"""

import datetime as dt

import pandas as pd

from .. import schema as S
from .._version import __version__
from ..schema import (
    AVG_SPEED_KMH,
    DISTANCE_M,
    DRIVING_S,
    DURATION_S,
    DWELL_S,
    END_TIME,
    ENGINE_S,
    FIRST_TIME,
    IDLE_S,
    LAST_TIME,
    LIMIT_KMH,
    MAX_SPEED_KMH,
    OVERSPEED_S,
    START_TIME,
)
from ..viz._format import fmt_duration, fmt_km, fmt_number, fmt_time
from ..viz._html import escape_text
from ._data import ReportData, zone_text

__all__ = ["render_page", "html_table", "summary_table", "TABLE_COLUMNS"]

#: Rows shown per table in the page; the exports always hold every row.
MAX_ROWS = 500

#: Vertices of the tracks of all maps of a report together.
MAX_MAP_POINTS = 300_000
#: Vertices of the fleet map, on top: an overview, the device maps have the detail.
FLEET_MAP_POINTS = 60_000


def _speed(v) -> str:
    text = fmt_number(v, 0)
    return text and text + " km/h"


def _pct(v) -> str:
    text = fmt_number(v, 0)
    return text and text + " %"


def _int(v) -> str:
    return "" if pd.isna(v) else f"{int(v):,}"


#: Alarm names in words, as a fleet manager reads them.
ALARM_WORDS = {
    "sos": "SOS (panic button)",
    "geofence": "Geofence",
    "tow": "Towing",
    "hard_acceleration": "Hard acceleration",
    "hard_braking": "Hard braking",
    "harsh_turn": "Harsh turn",
    "fatigue_driving": "Fatigue driving",
    "vibration": "Vibration",
    "movement": "Movement",
    "power_cut": "Power cut",
    "low_battery": "Low battery",
}


def _alarm(v) -> str:
    return ALARM_WORDS.get(str(v), str(v))


def _rate(v) -> str:
    """A rate with two decimals, never ``-0.00``."""
    text = fmt_number(v, 2)
    return "0.00" if text == "-0.00" else text


def _day(v) -> str:
    """The local date a period starts on (the page names the zone)."""
    return pd.Timestamp(v).strftime("%Y-%m-%d")


#: For each table: (column, heading, formatter); columns a table lacks are left out.
TABLE_COLUMNS = {
    "trips": [
        (START_TIME, "Start", fmt_time),
        (END_TIME, "End", fmt_time),
        (DURATION_S, "Duration", fmt_duration),
        (DISTANCE_M, "Distance", fmt_km),
        (MAX_SPEED_KMH, "Max speed", _speed),
        (AVG_SPEED_KMH, "Avg speed", _speed),
    ],
    "stops": [
        (START_TIME, "Start", fmt_time),
        (END_TIME, "End", fmt_time),
        (DURATION_S, "Duration", fmt_duration),
        (S.LAT, "Lat", lambda v: fmt_number(v, 5)),
        (S.LON, "Lon", lambda v: fmt_number(v, 5)),
    ],
    "overspeed": [
        (START_TIME, "Start", fmt_time),
        (END_TIME, "End", fmt_time),
        (DURATION_S, "Duration", fmt_duration),
        (MAX_SPEED_KMH, "Max speed", _speed),
        (LIMIT_KMH, "Limit", _speed),
        ("geofence", "Zone", str),
        (DISTANCE_M, "Distance", fmt_km),
    ],
    "geofence_visits": [
        ("geofence", "Geofence", str),
        ("enter_time", "Enter", fmt_time),
        ("exit_time", "Exit", fmt_time),
        (DWELL_S, "Dwell", fmt_duration),
        ("visit", "Visit", str),
    ],
    "alarms": [
        (S.TIME, "Time", fmt_time),
        (S.ALARM, "Alarm", _alarm),
        (S.MSG_TYPE, "Message", str),
        (S.LAT, "Lat", lambda v: fmt_number(v, 5)),
        (S.LON, "Lon", lambda v: fmt_number(v, 5)),
    ],
    "battery": [
        (FIRST_TIME, "From", fmt_time),
        (LAST_TIME, "To", fmt_time),
        ("first_pct", "First", _pct),
        ("last_pct", "Last", _pct),
        ("drain_pct_per_h", "Drain %/h", _rate),
        ("charges", "Charges", _int),
        ("low_battery_events", "Low-battery alarms", _int),
        ("hours_left", "Hours left", lambda v: fmt_number(v, 1)),
    ],
    "daily_summary": [
        ("period_start", "Day", _day),
        (DISTANCE_M, "Distance", fmt_km),
        (DRIVING_S, "Driving", fmt_duration),
        (IDLE_S, "Idle", fmt_duration),
        (ENGINE_S, "Engine on", fmt_duration),
        ("trips", "Trips", _int),
        ("stops", "Stops", _int),
        (MAX_SPEED_KMH, "Max speed", _speed),
        (OVERSPEED_S, "Overspeed", fmt_duration),
        (FIRST_TIME, "First fix", fmt_time),
        (LAST_TIME, "Last fix", fmt_time),
    ],
    "drivers": [
        (S.DRIVER_ID, "Driver (RFID)", str),
        ("devices", "Vehicles", _int),
        ("trips", "Trips", _int),
        (DISTANCE_M, "Distance", fmt_km),
        (DRIVING_S, "Driving", fmt_duration),
        ("overspeed", "Overspeed", _int),
        (OVERSPEED_S, "Overspeed time", fmt_duration),
        ("harsh_events", "Harsh events", _int),
    ],
}

TABLE_TITLES = {
    "trips": "Trips",
    "stops": "Stops",
    "overspeed": "Overspeed",
    "geofence_visits": "Geofence visits",
    "alarms": "Alarms",
    "battery": "Battery",
    "daily_summary": "Daily summary",
    "drivers": "Drivers",
}

SUMMARY_COLUMNS = [
    (S.DEVICE_ID, "Device", str),
    (S.PROTOCOL, "Protocol", str),
    (DISTANCE_M, "Distance", fmt_km),
    (DRIVING_S, "Driving", fmt_duration),
    (IDLE_S, "Idle", fmt_duration),
    (MAX_SPEED_KMH, "Max speed", _speed),
    ("trips", "Trips", _int),
    ("stops", "Stops", _int),
    ("overspeed", "Overspeed", _int),
    ("geofence_visits", "Geofence visits", _int),
    ("alarms", "Alarms", _int),
    ("battery_pct", "Battery", _pct),
]

_CSS = """
:root { --fg: #1d232a; --muted: #5b6670; --line: #d8dee4; --bg: #f6f8fa; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); }
header.top { padding: 18px 28px; background: #102a43; color: #fff; }
header.top h1 { margin: 0 0 4px; font-size: 22px; }
header.top p { margin: 0; color: #c7d3df; }
main { padding: 8px 28px 40px; max-width: 1400px; }
h2 { margin: 28px 0 8px; font-size: 19px; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
h3 { margin: 18px 0 6px; font-size: 15px; }
nav.devices a { margin-right: 10px; }
a { color: var(--accent); }
table.data { border-collapse: collapse; width: 100%; margin: 4px 0 8px; font-size: 13px; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 3px 8px; text-align: left;
  vertical-align: top; white-space: nowrap; }
table.data th { background: var(--bg); position: sticky; top: 0; }
table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll { max-height: 360px; overflow: auto; border: 1px solid var(--line); }
dl.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px; margin: 8px 0 14px; }
dl.kpis div { background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
dl.kpis dt { color: var(--muted); font-size: 12px; }
dl.kpis dd { margin: 0; font-size: 17px; font-weight: 600; }
.map-box { position: relative; height: 520px; border: 1px solid var(--line); border-radius: 6px;
  overflow: hidden; background: #e5e3df; }
.map-box .folium-map { position: absolute; top: 0; bottom: 0; left: 0; right: 0; }
.note, .empty { color: var(--muted); }
.msgtypes { color: var(--muted); font-size: 13px; }
svg.chart { width: 100%; max-width: 900px; height: auto; display: block; }
footer { color: var(--muted); font-size: 12px; padding: 12px 28px 24px; }
"""


def html_table(frame: pd.DataFrame | None, columns, *, limit: int = MAX_ROWS, links=None) -> str:
    """An escaped ``<table>`` of ``frame`` with the (column, heading, formatter) ``columns``.

    ``links``, when given, holds one ``href`` per row for the first column. At most
    ``limit`` rows are shown, with a note saying how many there are.

    Examples
    --------
    >>> import pandas as pd
    >>> html_table(pd.DataFrame({"geofence": ["<b>"]}), [("geofence", "Geofence", str)])
    '<div class="scroll"><table class="data"><thead><tr><th>Geofence</th></tr></thead><tbody><tr><td>&lt;b&gt;</td></tr></tbody></table></div>'
    """
    if frame is None or frame.empty:
        return '<p class="empty">None.</p>'
    columns = [c for c in columns if c[0] in frame.columns]
    numeric = {c for c, _, _ in columns if pd.api.types.is_numeric_dtype(frame[c])}
    head = "".join(
        f'<th class="num">{escape_text(h)}</th>' if c in numeric else f"<th>{escape_text(h)}</th>"
        for c, h, _ in columns
    )
    body = []
    shown = frame.head(limit)
    values = [shown[c].tolist() for c, _, _ in columns]
    for r, row in enumerate(zip(*values, strict=True)):
        cells = []
        for k, ((c, _, fmt), v) in enumerate(zip(columns, row, strict=True)):
            text = "" if v is None or (not isinstance(v, str) and pd.isna(v)) else fmt(v)
            cls = ' class="num"' if c in numeric else ""
            text = escape_text(text)
            if links is not None and k == 0:
                text = f'<a href="{escape_text(links[r])}">{text}</a>'
            cells.append(f"<td{cls}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = (
        f'<p class="note">First {limit:,} of {len(frame):,} rows; the exports hold them all.</p>'
        if len(frame) > limit
        else ""
    )
    table = (
        f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
    )
    return f'<div class="scroll">{table}</div>{more}'


def summary_table(summary: pd.DataFrame, *, links: bool = False) -> str:
    """The fleet table; with ``links`` each device id links to its section."""
    hrefs = [f"#device-{i}" for i in range(len(summary))] if links else None
    return html_table(summary, SUMMARY_COLUMNS, limit=len(summary) or 1, links=hrefs)


def _map_parts(m) -> tuple[dict, str, str]:
    """Header extras, body markup and script of a folium map, to embed several in one page.

    The map's own header (a full-window style) and the inlined Leaflet are left out: the
    page carries Leaflet once and sizes maps with its own stylesheet.
    """
    from ..viz._layers import OfflineLeaflet

    figure = m.get_root()
    figure.render()
    skip = {"meta_http", m.get_name()}
    skip |= {c.get_name() for c in m._children.values() if isinstance(c, OfflineLeaflet)}
    headers = {
        name: child.render() for name, child in figure.header._children.items() if name not in skip
    }
    return headers, figure.html.render(), figure.script.render()


def _fleet_map(data: ReportData, headers: dict, scripts: list) -> str:
    """All tracks on one map, opening on the busiest region of a spread fleet with a picker
    for the others; nothing for a single device (its own map shows it)."""
    from ..viz import track_map

    pos = data.positions
    if pos[S.DEVICE_ID].loc[pos[S.LAT].notna() & pos[S.LON].notna()].nunique() < 2:
        return ""
    m = track_map(pos, trips=False, stops=False, overspeed=False, alarms=False,
                  geofences=data.geofences, max_points=FLEET_MAP_POINTS, tz=data.tz)
    extra, body, script = _map_parts(m)
    headers.update(extra)
    scripts.append(script)
    return f'<h3>Fleet map</h3><div class="map-box">{body}</div>'


def _kpis(row: pd.Series, speed_limit_kmh) -> str:
    items = [
        ("Distance", fmt_km(row[DISTANCE_M])),
        ("Driving time", fmt_duration(row[DRIVING_S])),
        ("Idle time (standing inside trips)", fmt_duration(row[IDLE_S])),
        ("Max speed", _speed(row[MAX_SPEED_KMH])),
        ("Trips", _int(row["trips"])),
        ("Stops", f"{_int(row['stops'])} · {fmt_duration(row['stopped_s'])}"),
        (
            "Overspeed"
            + (f" (> {fmt_number(speed_limit_kmh, 0)} km/h)" if speed_limit_kmh else ""),
            f"{_int(row['overspeed'])} · {fmt_duration(row['overspeed_s'])}"
            if speed_limit_kmh
            else "no limit given",
        ),
        (
            "Geofence visits",
            "no geofences given"
            if pd.isna(row["geofence_visits"])
            else _int(row["geofence_visits"]),
        ),
        ("Alarms", _int(row["alarms"])),
        ("Battery (last)", _pct(row["battery_pct"]) or "n/a"),
        ("Messages / fixes", f"{_int(row['messages'])} / {_int(row['fixes'])}"),
    ]
    cells = "".join(
        f"<div><dt>{escape_text(k)}</dt><dd>{escape_text(v or '0')}</dd></div>" for k, v in items
    )
    return f'<dl class="kpis">{cells}</dl>'


def _device_zone(tz, device):
    """The zone of one device's times (None: UTC)."""
    return tz.get(device) if isinstance(tz, dict) else tz


def _device_rows(frame, device):
    if frame is None or frame.empty or S.DEVICE_ID not in frame.columns:
        return frame
    return frame.loc[frame[S.DEVICE_ID].astype(str) == device]


#: A battery that moves less than this (percentage points) is on external power: no chart.
STEADY_PCT = 1.0


def _battery_part(series: pd.DataFrame, zone) -> str:
    """The battery chart, or a line saying the level never moved (a vehicle on mains)."""
    from ..viz import battery_chart

    pct = pd.to_numeric(series[S.BATTERY_PCT], errors="coerce") if len(series) else None
    if pct is not None and pct.notna().any() and pct.max() - pct.min() < STEADY_PCT:
        level = fmt_number(pct.iloc[-1], 0)
        return f'<p class="note">Steady at {escape_text(level)} % (external power): no chart.</p>'
    return battery_chart(series, tz=zone).svg


def _visits_in_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Visits in time order (by entry, or exit for one that began before the data), each
    marked when it is still open at the last fix or began before the first."""
    enter = pd.to_datetime(frame["enter_time"], utc=True)
    leave = pd.to_datetime(frame["exit_time"], utc=True)
    visit = pd.Series("", index=frame.index, dtype=object)
    visit[leave.isna()] = "open: still inside at the last fix"
    visit[enter.isna()] = "inside from the first fix"
    visit[enter.isna() & leave.isna()] = "inside all along"
    order = enter.fillna(leave).sort_values(kind="stable").index
    return frame.assign(visit=visit).loc[order]


def _fleet_notes(data: ReportData) -> list:
    """Plain-text notes for the page header: zone limits applied, the ignition input."""
    notes = []
    if data.zone_limits:
        zones = ", ".join(f"{name} {fmt_number(limit, 0)} km/h" for name, limit in data.zone_limits)
        notes.append(f"zone speed limits applied: {zones}")
    if data.ignition_input is not None:
        notes.append(f"ignition on input {int(data.ignition_input)}")
    return notes


def _drivers_section(data: ReportData) -> str:
    """The fleet's drivers table (RFID), or a note that the data has none."""
    frame = data.tables.get("drivers")
    body = (html_table(frame, TABLE_COLUMNS["drivers"]) if frame is not None
            else '<p class="empty">No driver RFID tags in the data.</p>')
    return f'<section id="drivers"><h2>{escape_text(TABLE_TITLES["drivers"])}</h2>{body}</section>\n'


def render_page(data: ReportData, *, title: str, generated: dt.datetime) -> str:
    """The whole report as one HTML document."""
    from ..viz import track_map
    from ..viz._layers import LEGEND_CSS, RUNTIME_JS
    from ..viz._offline import leaflet_head

    summary = data.summary
    n_fixes = max(len(data.positions), 1)
    headers: dict = {}
    scripts: list = []
    sections: list = []
    fleet_map = _fleet_map(data, headers, scripts)
    for i, row in summary.iterrows():
        device = str(row[S.DEVICE_ID])
        pos = _device_rows(data.positions, device)
        tables = {name: _device_rows(frame, device) for name, frame in data.tables.items()}
        parts = [f'<section class="device" id="device-{i}">']
        parts.append(f"<h2>Device {escape_text(device)}</h2>")
        first, last = fmt_time(row[FIRST_TIME]), fmt_time(row[LAST_TIME])
        parts.append(f'<p class="note">{escape_text(first)} &ndash; {escape_text(last)}</p>')
        parts.append(_kpis(row, data.speed_limit_kmh))
        types = _device_rows(data.msg_types, device)
        if types is not None and len(types):
            listed = " · ".join(
                f"{escape_text(t if isinstance(t, str) else '(none)')} {int(c):,}"
                for t, c in zip(types[S.MSG_TYPE], types["count"], strict=True)
            )
            parts.append(f'<p class="msgtypes">Messages by type: {listed}</p>')
        if len(pos):
            budget = max(20_000, int(MAX_MAP_POINTS * len(pos) / n_fixes))
            m = track_map(
                pos,
                trips=tables["trips"] if tables["trips"] is not None else False,
                stops=tables["stops"] if tables["stops"] is not None else False,
                overspeed=tables["overspeed"] if tables["overspeed"] is not None else False,
                alarms=tables["alarms"] if tables["alarms"] is not None else False,
                geofences=data.geofences,
                speed_limit_kmh=data.speed_limit_kmh,
                max_points=budget,
                tz=data.tz,
            )
            extra, body, script = _map_parts(m)
            headers.update(extra)
            scripts.append(script)
            parts.append(f'<div class="map-box">{body}</div>')
        else:
            parts.append('<p class="empty">No valid fixes: nothing to draw on a map.</p>')
        parts.append("<h3>Battery</h3>")
        parts.append(_battery_part(_device_rows(data.battery_series, device),
                                   _device_zone(data.tz, device)))
        for name in ("daily_summary", "trips", "stops", "overspeed", "geofence_visits",
                     "alarms", "battery"):
            frame = tables[name]
            count = "" if frame is None else f" ({len(frame):,})"
            parts.append(f"<h3>{TABLE_TITLES[name]}{count}</h3>")
            if frame is None:
                why = "no speed limit given" if name == "overspeed" else "no geofences given"
                parts.append(f'<p class="empty">Not computed: {why}.</p>')
            else:
                if name == "geofence_visits":
                    frame = _visits_in_order(frame)
                parts.append(html_table(frame, TABLE_COLUMNS[name]))
        parts.append("</section>")
        sections.append("".join(parts))

    filters = data.filters
    described = []
    if filters.get("devices") is not None:
        ids = filters["devices"]
        ids = [ids] if isinstance(ids, str) else list(ids)
        described.append("devices " + ", ".join(map(str, ids)))
    if filters.get("start") is not None:
        described.append(f"from {filters['start']}")
    if filters.get("end") is not None:
        described.append(f"to {filters['end']}")
    if data.speed_limit_kmh is not None:
        described.append(f"speed limit {fmt_number(data.speed_limit_kmh, 0)} km/h")
    described.extend(_fleet_notes(data))
    period = (
        f"{fmt_time(summary['first_time'].min())} – {fmt_time(summary['last_time'].max())}"
        if len(summary)
        else ""
    )
    subtitle = " · ".join(
        [f"{len(summary)} device(s)", period, *described, f"times in {zone_text(data.tz)}",
         f"generated {fmt_time(generated)}"]
    )
    nav = " ".join(
        f'<a href="#device-{i}">{escape_text(d)}</a>' for i, d in enumerate(summary[S.DEVICE_ID])
    )
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en">\n<head>\n',
            '<meta charset="utf-8">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f"<title>{escape_text(title)}</title>\n",
            leaflet_head(),
            f"\n<style>{_CSS}{LEGEND_CSS}</style>\n<script>{RUNTIME_JS}</script>\n",
            "\n".join(headers.values()),
            "\n</head>\n<body>\n",
            f'<header class="top"><h1>{escape_text(title)}</h1><p>{escape_text(subtitle)}</p></header>\n',
            "<main>\n",
            f'<nav class="devices"><b>Devices:</b> {nav}</nav>\n',
            '<section id="fleet"><h2>Fleet summary</h2>',
            summary_table(summary, links=True),
            fleet_map,
            "</section>\n",
            _drivers_section(data),
            "\n".join(sections),
            "\n</main>\n",
            f"<footer>bofan_analytics {escape_text(__version__)} · "
            f"times in {escape_text(zone_text(data.tz))} · "
            "maps drawn with Leaflet (BSD-2-Clause), tiles © OpenStreetMap contributors"
            "</footer>\n",
            "<script>\n",
            "\n".join(scripts),
            "\n</script>\n</body>\n</html>\n",
        ]
    )
