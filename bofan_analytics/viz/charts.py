"""Small static charts as inline SVG: no plotting library, nothing to load, escaped labels."""

import datetime as dt

import numpy as np
import pandas as pd

from .. import schema as S
from ._html import escape_text

__all__ = ["Chart", "battery_chart"]

#: Line colours, one per device (repeating after ten).
PALETTE = (
    "#0b5cad",
    "#d95f02",
    "#1b9e77",
    "#7570b3",
    "#e7298a",
    "#66a61e",
    "#a6761d",
    "#e6ab02",
    "#386cb0",
    "#666666",
)


class Chart:
    """An SVG chart; it shows itself in a notebook and embeds in any HTML page.

    Attributes
    ----------
    svg : str
        The ``<svg>`` element (or a short ``<p>`` when there was nothing to draw).
    """

    def __init__(self, svg: str):
        self.svg = svg

    def __repr__(self) -> str:
        return f"<Chart: {len(self.svg):,} bytes of SVG>"

    def _repr_html_(self) -> str:
        return self.svg

    def save(self, path) -> None:
        """Write the chart as an ``.svg`` (or ``.html``) file."""
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.svg)


def _axis_zone(tz, frame, shown):
    """The one zone of the time axis: ``tz`` resolved with ``frame``'s fixes for the
    devices ``shown``, else UTC."""
    if tz is None:
        return "UTC"
    from ..analytics._track import prepare
    from ..analytics._tz import AUTO, resolve_tz

    auto = isinstance(tz, str) and tz == AUTO
    zones = resolve_tz(tz, prepare(frame) if auto else None)
    if isinstance(zones, dict):
        mine = {str(zones.get(str(d), "UTC")) for d in shown}
        return mine.pop() if len(mine) == 1 else "UTC"
    return zones or "UTC"


def battery_chart(
    messages,
    *,
    devices=None,
    low_pct: float = 20,
    width: int = 900,
    height: int = 220,
    max_points: int = 2000,
    tz=None,
) -> Chart:
    """Battery level over time, one line per device.

    Parameters
    ----------
    messages : DataFrame, pyarrow.Table, DecodedLog or dataset path
        Any frames with ``device_id, time, battery_pct`` (heartbeats count too).
    devices : list of str, optional
        Only these devices.
    low_pct : float
        Level drawn as a dashed red line.
    width, height : int
        Size of the drawing in pixels (it scales to the page width).
    max_points : int
        Readings per device kept (evenly spaced) so the SVG stays small.
    tz : str, mapping or "auto", optional
        Zone of the time axis (default UTC; see :mod:`bofan_analytics.analytics._tz`).
        The axis shows one zone: with devices in several zones it stays UTC. The zone is
        named under the axis.

    Returns
    -------
    Chart

    Examples
    --------
    >>> from bofan_analytics.viz import battery_chart
    >>> battery_chart(log, devices=["352680915678926"])             # doctest: +SKIP
    """
    from ..analytics._input import as_messages

    frame = as_messages(messages)
    everything = frame
    if S.BATTERY_PCT not in frame.columns:
        return Chart('<p class="empty">No battery readings.</p>')
    frame = frame.loc[frame[S.BATTERY_PCT].notna() & frame[S.TIME].notna()]
    if devices is not None:
        ids = [devices] if isinstance(devices, str) else [str(d) for d in devices]
        frame = frame.loc[frame[S.DEVICE_ID].isin(ids)]
    if frame.empty:
        return Chart('<p class="empty">No battery readings.</p>')
    t = pd.to_datetime(frame[S.TIME], utc=True)
    secs = (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    pct = pd.to_numeric(frame[S.BATTERY_PCT], errors="coerce").to_numpy(dtype=float)
    device = frame[S.DEVICE_ID].astype(str).to_numpy()

    names = sorted(set(device))
    legend = len(names) > 1
    rows = -(-len(names) // 6) if legend else 0
    height += 12 * rows  # the legend gets rows of its own above the plot
    left, right, top, bottom = 44, 12, 10 + 12 * rows, 26
    w, h = width - left - right, height - top - bottom
    t0, t1 = float(secs.min()), float(secs.max())
    span = (t1 - t0) or 1.0

    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="Battery level over time" '
        f'style="font:11px system-ui,sans-serif;max-width:100%;height:auto">'
    ]
    for level in (0, 25, 50, 75, 100):
        y = top + (1 - level / 100) * h
        parts.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e1e4e8"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5b6670">{level}%</text>'
        )
    low = top + (1 - np.clip(low_pct, 0, 100) / 100) * h
    parts.append(
        f'<line x1="{left}" x2="{left + w}" y1="{low:.1f}" y2="{low:.1f}" stroke="#d73a49" '
        'stroke-dasharray="4 3"/>'
    )
    fmt = "%m-%d" if span > 3 * 86400 else "%m-%d %H:%M"
    zone = _axis_zone(tz, everything, names)
    for k in range(5):
        x = left + k / 4 * w
        label = pd.Timestamp(dt.datetime.fromtimestamp(t0 + k / 4 * span, dt.timezone.utc))
        label = label.tz_convert(zone).strftime(fmt)
        if k == 4:
            label += " " + escape_text(str(zone))
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}" fill="#5b6670">{label}</text>'
        )
    for i, name in enumerate(names):
        colour = PALETTE[i % len(PALETTE)]
        mine = np.flatnonzero(device == name)
        mine = mine[np.argsort(secs[mine], kind="stable")]
        mine = mine[:: max(1, -(-len(mine) // max_points))]
        xs = left + (secs[mine] - t0) / span * w
        ys = top + (1 - np.clip(pct[mine], 0, 100) / 100) * h
        label = escape_text(name)
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="1.8" points="{points}">'
            f"<title>{label}</title></polyline>"
        )
        if len(xs) == 1:
            parts.append(f'<circle cx="{xs[0]:.1f}" cy="{ys[0]:.1f}" r="3" fill="{colour}"/>')
        if legend:
            lx = left + (i % 6) * (w / 6)
            ly = 8 + (i // 6) * 12
            parts.append(
                f'<rect x="{lx:.1f}" y="{ly:.1f}" width="10" height="4" fill="{colour}"/>'
                f'<text x="{lx + 14:.1f}" y="{ly + 5:.1f}" fill="#1d232a">{label}</text>'
            )
    parts.append("</svg>")
    return Chart("".join(parts))
