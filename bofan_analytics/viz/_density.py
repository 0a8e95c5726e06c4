"""The density layer of :func:`~bofan_analytics.viz.track_map`: H3 cells shaded by fixes.

Cells come from :func:`bofan_analytics.analytics.density`; each is drawn as its hexagon,
coloured by its number of fixes on a logarithmic scale of :data:`DENSITY_COLOURS` (a fleet's
depot holds thousands of times the fixes of a road it drove once). The layer is data for
the map's drawing runtime: one ``shapes`` command per colour class, each hexagon with a
tooltip label that is HTML-escaped here (it names a cell id, which a caller's frame could
carry as anything).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import SchemaError
from ._format import fmt_duration
from ._html import escape_text

__all__ = ["density_commands", "density_legend", "DENSITY_COLOURS"]

#: Light to dark: few fixes to many.
DENSITY_COLOURS = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")


def _classes(fixes: np.ndarray):
    """Class of each cell and the lower edge (in fixes) of each class."""
    top = max(float(fixes.max()), 1.0) if fixes.shape[0] else 1.0
    k = len(DENSITY_COLOURS)
    edges = np.unique(np.floor(np.geomspace(1.0, top + 1.0, k + 1)[:-1]).astype(np.int64))
    cls = np.searchsorted(edges, fixes, side="right") - 1
    return np.clip(cls, 0, len(edges) - 1), edges


def _label(row) -> str:
    lines = [f"<b>{escape_text(row.h3_cell)}</b>",
             f"fixes: {escape_text(int(row.fixes))}",
             f"devices: {escape_text(int(row.devices))}",
             f"dwell: {escape_text(fmt_duration(row.dwell_s))}"]
    return "<br>".join(lines)


def density_commands(cells: pd.DataFrame) -> list:
    """Drawing commands for a :func:`density` frame (``h3_cell, fixes, devices, dwell_s``)."""
    import h3

    if len(cells) == 0:
        return []
    fixes = cells["fixes"].to_numpy(dtype=np.int64)
    cls, _ = _classes(fixes)
    by_class: dict = {}
    for k, row in zip(cls.tolist(), cells.itertuples(index=False), strict=True):
        try:
            boundary = h3.cell_to_boundary(str(row.h3_cell))
        except (ValueError, TypeError) as exc:  # h3's errors derive from ValueError
            raise SchemaError(f"density cells need H3 ids in h3_cell, got {row.h3_cell!r}") \
                from exc
        ring = [[round(lng, 7), round(lat, 7)] for lat, lng in boundary]
        by_class.setdefault(k, []).append({
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
            "properties": {"label": _label(row)},
        })
    commands = []
    for k in sorted(by_class):
        colour = DENSITY_COLOURS[k]
        style = {"color": colour, "weight": 1, "opacity": 0.8, "fillColor": colour,
                 "fillOpacity": 0.55}
        commands.append({"draw": "shapes", "style": style, "features": by_class[k]})
    return commands


def density_legend(cells: pd.DataFrame) -> str:
    """Legend markup for the layer: the fixes each colour stands for (numbers only)."""
    fixes = cells["fixes"].to_numpy(dtype=np.int64)
    _, edges = _classes(fixes)
    top = int(fixes.max()) if fixes.shape[0] else 0
    rows = ["<b>Fixes per cell</b>"]
    for i, low in enumerate(edges.tolist()):
        high = edges[i + 1] - 1 if i + 1 < len(edges) else top
        text = f"{low}" if high <= low else f"{low}&ndash;{high}"
        rows.append(f'<i style="background:{DENSITY_COLOURS[i]};height:10px"></i>{text}')
    return "".join(f"<div>{row}</div>" for row in rows)
