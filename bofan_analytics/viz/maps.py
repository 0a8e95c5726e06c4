"""Interactive maps of tracks and of the events found on them."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import schema as S
from .._validate import non_negative, positive, whole
from ..errors import SchemaError
from ..schema import (
    DISTANCE_M,
    DURATION_S,
    END_LAT,
    END_LON,
    END_TIME,
    LIMIT_KMH,
    MAX_SPEED_KMH,
    START_LAT,
    START_LON,
    START_TIME,
)
from ._format import fmt_duration, fmt_km, fmt_number, fmt_time
from ._html import escape_text

__all__ = ["track_map", "SPEED_CLASSES", "UNKNOWN_SPEED_COLOR"]

#: Track colours: (upper edge in km/h, colour), from slow to fast.
SPEED_CLASSES = (
    (10.0, "#3b4cc0"),
    (30.0, "#2c7bb6"),
    (50.0, "#00a6ca"),
    (70.0, "#1a9850"),
    (90.0, "#fdae61"),
    (110.0, "#f46d43"),
    (np.inf, "#a50026"),
)
#: Colour of track pieces whose speed is neither reported nor computable.
UNKNOWN_SPEED_COLOR = "#808080"

#: Above this many overspeed stretches they share one tooltip (their table has the detail).
_MAX_TIPS = 500

_OVERSPEED_STYLE = {"color": "#ff00ff", "weight": 11, "opacity": 0.45, "lineCap": "round"}
_TRIP_START_STYLE = {
    "radius": 7,
    "color": "#1b7837",
    "fillColor": "#5aae61",
    "fillOpacity": 1,
    "weight": 2,
}
_TRIP_END_STYLE = {
    "radius": 7,
    "color": "#40004b",
    "fillColor": "#ffffff",
    "fillOpacity": 1,
    "weight": 3,
}
_STOP_STYLE = {"color": "#08519c", "fillColor": "#6baed6", "fillOpacity": 0.75, "weight": 2}
_ALARM_STYLE = {
    "radius": 8,
    "color": "#b30000",
    "fillColor": "#ffff00",
    "fillOpacity": 0.9,
    "weight": 3,
}
_GEOFENCE_STYLE = {"color": "#6a3d9a", "weight": 2, "fillColor": "#cab2d6", "fillOpacity": 0.25}

# Degrees to metres, close enough to decide what a few metres of simplification mean.
_M_PER_DEG_LAT = 110_574.0
_M_PER_DEG_LON = 111_320.0


def track_map(
    positions,
    *,
    trips=True,
    stops=True,
    overspeed=True,
    alarms=True,
    geofences=None,
    speed_limit_kmh: float | None = None,
    devices=None,
    tiles: str | None = "OpenStreetMap",
    max_points: int = 200_000,
    tolerance_m: float = 2.0,
    max_gap_s: float = 3600.0,
    heatmap: bool | int = False,
    density=None,
    tz=None,
    region_join_km: float | None = 300.0,
):
    """Draw tracks coloured by speed, with trips, stops, overspeed, geofences and alarms.

    The map works without network: Leaflet is inlined into the page and only the tile
    background is fetched (when it cannot be, the tracks still show on a grey map).
    Tracks are simplified (Douglas-Peucker in metres) until at most ``max_points``
    vertices remain, always keeping the points where the speed colour changes and every
    event point (trip ends, stops, overspeed boundaries, alarms), so a million fixes make
    a page of a few megabytes.

    Parameters
    ----------
    positions : pandas.DataFrame, pyarrow.Table, DecodedLog or path
        Fixes with at least ``device_id, time, lat, lon`` (``speed_kmh`` is used when
        present; where it is null the speed is computed from consecutive fixes). A path
        is read with :func:`bofan_analytics.dataset.read_positions`.
    trips, stops, overspeed : DataFrame, bool
        Results of :func:`~bofan_analytics.analytics.detect_trips`,
        :func:`~bofan_analytics.analytics.detect_stops` and
        :func:`~bofan_analytics.analytics.find_overspeed` to draw; ``True`` computes them
        with default parameters (overspeed only when ``speed_limit_kmh`` is given);
        ``False`` or ``None`` leaves them out.
    alarms : DataFrame, bool
        Rows with ``device_id, time, alarm, lat, lon`` (``msg_type`` optional), as
        :func:`~bofan_analytics.analytics.alarms` returns; ``True`` takes the fixes of
        ``positions`` whose ``alarm`` is set.
    geofences : GeoDataFrame, dict or path, optional
        Drawn as areas and circles, labelled with their ``name``.
    speed_limit_kmh : float, optional
        Limit for the overspeed layer and the legend.
    devices : list of str, optional
        Only these devices.
    tiles : str, folium.TileLayer or None
        Background tiles: a folium tile set name (default ``"OpenStreetMap"``) or a
        TileLayer for a custom URL; ``None`` for none, e.g. on a machine with no network.
    max_points : int
        Upper bound on the number of line vertices drawn (a quarter of it at most for
        the overspeed highlights, the rest for the tracks).
    tolerance_m : float
        Initial simplification tolerance; doubled until ``max_points`` holds.
    max_gap_s : float
        Two fixes further apart in time are not joined by a line.
    heatmap : bool or int
        Add a density layer of H3 cells shaded by their number of fixes (see
        :func:`~bofan_analytics.analytics.density`), at resolution 8 or the one given, and
        hide the tracks at first (the layer control shows them again): for fleets too
        large to read as tracks.
    density : DataFrame, optional
        A :func:`~bofan_analytics.analytics.density` result to draw as that layer instead
        (e.g. of a longer period than the tracks).
    tz : str, mapping or "auto", optional
        Time zone of the times in the popups (default UTC; see
        :mod:`bofan_analytics.analytics._tz`), shown with the zone's abbreviation.
    region_join_km : float or None
        A fleet spread over distant places (vehicles in one city, trackers in another)
        is split into regions: devices whose median positions lie within this many km
        of each other, directly or through a chain of such devices, form one region
        (see :mod:`bofan_analytics.viz._regions`). The map then opens on the region with
        the most devices (ties: the most fixes) and a "Regions" control fits the view to
        each region. A fleet in one region is shown whole, with no control; ``None``
        never splits.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import bofan_analytics as ba
    >>> log = ba.read_log("data/samples/fleet.log")                  # doctest: +SKIP
    >>> m = ba.track_map(log.positions(), speed_limit_kmh=90)         # doctest: +SKIP
    >>> m.save("fleet.html")                                          # doctest: +SKIP
    """
    import folium

    from ..analytics._tz import check_tz
    from ._layers import DataLayer, Legend, OfflineLeaflet, strip_cdn_links

    positive("speed_limit_kmh", speed_limit_kmh, allow_none=True)
    whole("max_points", max_points, lo=2)
    positive("tolerance_m", tolerance_m)
    non_negative("max_gap_s", max_gap_s)
    check_tz(tz)
    pos = _positions_frame(positions, devices)
    trips_df = _local(_resolve(trips, pos, "detect_trips", devices), tz, pos)
    stops_df = _local(_resolve(stops, pos, "detect_stops", devices), tz, pos)
    if speed_limit_kmh is None and overspeed is True:
        overspeed_df = None
    else:
        overspeed_df = _local(_resolve(
            overspeed, pos, "find_overspeed", devices, limit_kmh=speed_limit_kmh
        ), tz, pos)
    if alarms is True:
        alarms_df = pos.loc[pos[S.ALARM].notna()] if S.ALARM in pos.columns else None
    else:
        alarms_df = _filter_devices(alarms, devices) if isinstance(alarms, pd.DataFrame) else None
    alarms_df = _local(alarms_df, tz, pos)

    track = _Track.build(pos)
    event_times = [
        (trips_df, START_TIME),
        (trips_df, END_TIME),
        (stops_df, START_TIME),
        (stops_df, END_TIME),
        (overspeed_df, START_TIME),
        (overspeed_df, END_TIME),
        (alarms_df, S.TIME),
    ]
    for frame, column in event_times:
        if frame is not None and len(frame):
            track.keep_events(frame[S.DEVICE_ID], frame[column])

    bounds = track.bounds()
    regions = _regions(pos, region_join_km)
    if len(regions) > 1:
        bounds = regions[0].bounds
    m = folium.Map(
        location=None if bounds is None else _centre(bounds),
        zoom_start=12,
        tiles=None,
        control_scale=True,
    )
    if tiles is not None:
        # named as the caller spelled it (folium would lower-case it); Leaflet's layer
        # control shows names as markup, hence the escaping
        name = escape_text(tiles) if isinstance(tiles, str) and "{" not in tiles else None
        layer = tiles if isinstance(tiles, folium.TileLayer) else folium.TileLayer(tiles, name=name)
        m.add_child(layer)
    strip_cdn_links(m)
    m.add_child(OfflineLeaflet(), name="bofan_offline_leaflet")

    drawn = set()
    if geofences is not None:
        features = _geofence_features(geofences)
        if features:
            shapes = {"draw": "shapes", "style": _GEOFENCE_STYLE, "features": features}
            DataLayer([shapes], name="Geofences").add_to(m)
            drawn.add("geofences")
    if overspeed_df is not None and len(overspeed_df):
        commands = track.overspeed_commands(overspeed_df, tolerance_m, max_points // 4)
        max_points -= sum(len(line) for c in commands for line in c["lines"])
        if commands:
            DataLayer(commands, name="Overspeed").add_to(m)
            drawn.add("overspeed")
    if heatmap is not False or density is not None:
        from ._density import density_commands, density_legend

        cells = density if density is not None else _heat_cells(pos, heatmap)
        DataLayer(density_commands(cells), name="Density").add_to(m)
        m.add_child(Legend(density_legend(cells), position="bottomright"))
    for device, commands in track.track_commands(tolerance_m, max_points, max_gap_s):
        DataLayer(commands, name="Track " + escape_text(device),
                  show=heatmap is False).add_to(m)
    if stops_df is not None and len(stops_df):
        DataLayer([_stop_points(stops_df)], name="Stops").add_to(m)
        drawn.add("stops")
    if trips_df is not None and len(trips_df):
        DataLayer(_trip_points(trips_df), name="Trips").add_to(m)
        drawn.add("trips")
    if alarms_df is not None and len(alarms_df):
        DataLayer([_alarm_points(alarms_df)], name="Alarms").add_to(m)
        drawn.add("alarms")

    m.add_child(Legend(_legend_html(speed_limit_kmh, drawn), position="bottomleft"))
    folium.LayerControl(collapsed=len(track.devices) > 6).add_to(m)
    if len(regions) > 1:
        from ._layers import RegionPicker
        from ._regions import picker_data

        m.add_child(RegionPicker(picker_data(regions)))
    if bounds is not None:
        m.fit_bounds(bounds, padding=(12, 12))
    return m


# --------------------------------------------------------------------------- inputs


def _regions(pos: pd.DataFrame, join_km) -> list:
    """Regions of the fleet (region 1 first), or none when not asked to split."""
    if join_km is None:
        return []
    from ._regions import find_regions

    return find_regions(pos, join_distance_km=join_km)


def _heat_cells(pos: pd.DataFrame, heatmap) -> pd.DataFrame:
    from ..analytics import density

    return density(pos, resolution=8 if heatmap is True else heatmap)


def _positions_frame(obj, devices=None) -> pd.DataFrame:
    """Positions as a DataFrame of usable fixes, sorted by device and time."""
    from ..analytics._input import as_positions

    df = as_positions(obj)
    missing = [c for c in (S.LAT, S.LON) if c not in df.columns]
    if missing:
        raise SchemaError(f"positions lack the column(s) {', '.join(missing)}")
    from ..analytics._track import usable_fixes

    return usable_fixes(_filter_devices(df, devices))


def _local(frame, tz, pos):
    """``frame``'s time columns in ``tz`` (only the text shown changes, not the instants)."""
    if frame is None or tz is None or frame.empty:
        return frame
    from ..analytics._track import localize_frame

    columns = [c for c in (START_TIME, END_TIME, S.TIME) if c in frame.columns]
    return localize_frame(frame, tz, columns, positions=pos)


def _filter_devices(df: pd.DataFrame, devices) -> pd.DataFrame:
    if devices is None:
        return df
    if isinstance(devices, str):
        devices = [devices]
    return df.loc[df[S.DEVICE_ID].isin(list(devices))]


def _resolve(arg, pos: pd.DataFrame, function: str, devices, **kwargs):
    """A result frame passed by the caller, computed (``True``), or ``None``."""
    if arg is None or arg is False:
        return None
    if isinstance(arg, pd.DataFrame):
        return _filter_devices(arg, devices)
    if arg is True:
        if pos.empty:
            return None
        from .. import analytics

        return getattr(analytics, function)(pos, **kwargs)
    raise TypeError(f"expected a DataFrame or a bool, got {type(arg).__name__}")


def _seconds(times: pd.Series) -> np.ndarray:
    """UTC times as float seconds since the epoch."""
    t = pd.to_datetime(pd.Series(times), utc=True)
    return (t - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy(dtype=float, na_value=np.nan)


# --------------------------------------------------------------------------- tracks


@dataclass
class _Track:
    """The fixes of all devices as arrays, sorted by device and time."""

    devices: list
    code: np.ndarray  # device index per fix
    t: np.ndarray  # seconds
    lat: np.ndarray
    lon: np.ndarray
    speed: np.ndarray  # km/h, smoothed, NaN where unknown
    x: np.ndarray  # metres, local to each device
    y: np.ndarray
    keep: np.ndarray  # fixes that must stay vertices

    @classmethod
    def build(cls, pos: pd.DataFrame) -> "_Track":
        """The track of ``pos`` as the analyses see it (:func:`..analytics._track.prepare`:
        usable fixes, one per device and time, sorted), with their speed: the reported
        one, else the one implied by the hop (as every analysis takes it)."""
        from ..analytics._track import prepare

        track = prepare(pos)
        devices = [str(d) for d in track.devices]
        code = np.repeat(np.arange(len(devices)), np.diff(track.bounds))
        t = track.t_ms / 1000.0
        lat, lon = track.lat, track.lon
        speed = track.speed_or_derived()
        # A median over five fixes keeps one noisy fix from cutting a line into colours.
        speed = (
            pd.Series(speed)
            .groupby(code)
            .transform(lambda s: s.rolling(5, center=True, min_periods=1).median())
            .to_numpy()
            if len(speed)
            else speed
        )
        lat_ref = pd.Series(lat).groupby(code).transform("median").to_numpy() if len(lat) else lat
        x = lon * np.cos(np.radians(lat_ref)) * _M_PER_DEG_LON
        y = lat * _M_PER_DEG_LAT
        return cls(devices, code, t, lat, lon, speed, x, y, np.zeros(len(lat), bool))

    def __len__(self) -> int:
        return len(self.t)

    def bounds(self):
        if not len(self):
            return None
        return [
            [float(self.lat.min()), float(self.lon.min())],
            [float(self.lat.max()), float(self.lon.max())],
        ]

    def locate(self, device_ids, times) -> np.ndarray:
        """Index of the first fix of each (device, time) at or after ``time``, or -1."""
        lookup = {d: i for i, d in enumerate(self.devices)}
        codes = np.array([lookup.get(str(d), -1) for d in device_ids], dtype=np.int64)
        t = _seconds(pd.Series(list(times), dtype=object))
        if not len(self) or not len(codes):
            return np.full(len(codes), -1, dtype=np.int64)
        # Fixes are sorted by (device, time): one integer key, device in the high bits and
        # milliseconds in the low 42 (139 years), lets a single searchsorted serve all.
        t0 = self.t.min()
        span = (1 << 42) - 1

        def key(c, s):
            ms = np.clip(np.nan_to_num(np.round((s - t0) * 1000), nan=0), 0, span).astype(np.int64)
            return (c << 42) | ms

        idx = np.searchsorted(key(self.code.astype(np.int64), self.t), key(codes, t), side="left")
        found = (codes >= 0) & ~np.isnan(t) & (idx < len(self))
        found[found] = self.code[idx[found]] == codes[found]
        return np.where(found, idx, -1)

    def keep_events(self, device_ids, times) -> None:
        idx = self.locate(device_ids, times)
        self.keep[idx[idx >= 0]] = True

    def track_commands(self, tolerance_m: float, max_points: int, max_gap_s: float):
        """Yield (device, draw commands) with the simplified track of each device."""
        n = len(self)
        if n < 2:
            return
        dt = np.diff(self.t)
        drawable = (self.code[1:] == self.code[:-1]) & (dt >= 0) & (dt <= max_gap_s)
        seg_speed = np.fmax(self.speed[:-1], self.speed[1:])
        edges = np.array([edge for edge, _ in SPEED_CLASSES])
        cls = np.searchsorted(edges, seg_speed, side="right")
        cls[np.isnan(seg_speed)] = len(SPEED_CLASSES)  # unknown speed

        segs = np.flatnonzero(drawable)
        if not len(segs):
            return
        new_run = np.ones(len(segs), bool)
        new_run[1:] = (
            (segs[1:] != segs[:-1] + 1) | (cls[segs[1:]] != cls[segs[:-1]]) | self.keep[segs[1:]]
        )
        run = np.cumsum(new_run) - 1
        last = np.append(new_run[1:], True)
        verts = np.concatenate([segs, segs[last] + 1])
        vrun = np.concatenate([run, run[last]])
        order = np.lexsort((verts, vrun))
        verts, vrun = verts[order], vrun[order]

        kept, line = _simplify(self.x, self.y, verts, vrun, tolerance_m, max_points)
        run_class = cls[segs[new_run]]
        lines = _split_lines(self.lat, self.lon, kept, line)
        first = kept[np.r_[0, np.flatnonzero(np.diff(line)) + 1]] if len(kept) else kept
        line_ids = np.unique(line)
        by_device: dict[int, dict[int, list]] = {}
        for line_id, coords, start in zip(line_ids, lines, first, strict=True):
            by_device.setdefault(int(self.code[start]), {}).setdefault(
                int(run_class[line_id]), []
            ).append(coords)
        colours = [colour for _, colour in SPEED_CLASSES] + [UNKNOWN_SPEED_COLOR]
        for code, classes in sorted(by_device.items()):
            device = self.devices[code]
            tip = escape_text(device)
            commands = [
                {
                    "draw": "lines",
                    "style": {"color": colours[c], "weight": 4, "opacity": 0.9},
                    "tip": tip,
                    "lines": classes[c],
                }
                for c in sorted(classes)
            ]
            yield device, commands

    def overspeed_commands(
        self, overspeed: pd.DataFrame, tolerance_m: float, max_points: int
    ) -> list:
        """Thick highlight lines under the track for each overspeed interval."""
        start = self.locate(overspeed[S.DEVICE_ID], overspeed[START_TIME])
        stop = self.locate(overspeed[S.DEVICE_ID], overspeed[END_TIME])
        pieces, tips = [], []
        detailed = len(overspeed) <= _MAX_TIPS
        rows = overspeed.to_dict("records") if detailed else None
        for i, (a, b) in enumerate(zip(start, stop, strict=True)):
            if a < 0 or b < 0:
                continue
            b = max(b, a + 1) if a + 1 < len(self) and self.code[a + 1] == self.code[a] else b
            if b <= a:
                continue
            pieces.append(np.arange(a, b + 1))
            if detailed:
                row = rows[i]
                tips.append(
                    _label(
                        "Overspeed",
                        [
                            ("device", row[S.DEVICE_ID]),
                            ("from", fmt_time(row[START_TIME])),
                            ("duration", fmt_duration(row.get(DURATION_S))),
                            ("max speed", fmt_number(row.get(MAX_SPEED_KMH), 0) + " km/h"),
                            ("limit", fmt_number(row.get(LIMIT_KMH), 0) + " km/h"),
                        ],
                    )
                )
        if not pieces:
            return []
        verts = np.concatenate(pieces)
        vrun = np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])
        kept, line = _simplify(self.x, self.y, verts, vrun, tolerance_m, max_points)
        lines = _split_lines(self.lat, self.lon, kept, line)
        command = {"draw": "lines", "style": _OVERSPEED_STYLE, "lines": lines}
        if detailed:
            command["tips"] = [tips[i] for i in np.unique(line)]
        else:
            command["tip"] = _label("Overspeed", [("stretches", f"{len(overspeed):,}")])
        return [command]


def _simplify(x, y, verts, vrun, tolerance_m: float, max_points: int):
    """Douglas-Peucker on each run of vertices; returns kept fix indices and their run.

    The fix index rides along as the Z coordinate, which GEOS keeps for every vertex it
    keeps, so the exact original coordinates are recovered. The first and last vertex of
    a run always stay: that is how colour changes and event points survive.
    """
    import shapely

    if not len(verts):
        return verts, vrun
    coords = np.column_stack([x[verts], y[verts], verts.astype(float)])
    lines = shapely.linestrings(coords, indices=vrun)
    tolerance = tolerance_m
    while True:
        simple = shapely.simplify(lines, tolerance, preserve_topology=False)
        out, line = shapely.get_coordinates(simple, include_z=True, return_index=True)
        if len(out) <= max_points or tolerance > 5_000:
            return out[:, 2].astype(np.int64), line
        tolerance *= 2


def _split_lines(lat, lon, kept, line) -> list:
    """``[[[lat, lon], ...], ...]`` per line, rounded to 1e-5° (about a metre)."""
    if not len(kept):
        return []
    coords = np.column_stack([np.round(lat[kept], 5), np.round(lon[kept], 5)]).tolist()
    cuts = (np.flatnonzero(np.diff(line)) + 1).tolist()
    bounds = [0, *cuts, len(coords)]
    return [coords[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


# --------------------------------------------------------------------------- markers


def _label(title: str, rows) -> str:
    """Escaped popup markup: a bold title and ``name: value`` lines (empty values left out)."""
    lines = [f"<b>{escape_text(title)}</b>"]
    lines += [f"{escape_text(k)}: {escape_text(v)}" for k, v in rows if v not in ("", None)]
    return "<br>".join(lines)


def _point(lat, lon, html, radius=None) -> list | None:
    if pd.isna(lat) or pd.isna(lon):
        return None
    return [round(float(lat), 6), round(float(lon), 6), html, radius]


def _trip_points(trips: pd.DataFrame) -> list:
    starts, ends = [], []
    for row in trips.itertuples(index=False):
        r = row._asdict()
        rows = [
            ("device", r[S.DEVICE_ID]),
            ("start", fmt_time(r.get(START_TIME))),
            ("end", fmt_time(r.get(END_TIME))),
            ("duration", fmt_duration(r.get(DURATION_S))),
            ("distance", fmt_km(r.get(DISTANCE_M))),
            ("max speed", fmt_number(r.get(MAX_SPEED_KMH), 0) + " km/h"),
        ]
        starts.append(_point(r.get(START_LAT), r.get(START_LON), _label("Trip start", rows)))
        ends.append(_point(r.get(END_LAT), r.get(END_LON), _label("Trip end", rows)))
    return [
        {"draw": "points", "style": _TRIP_START_STYLE, "points": [p for p in starts if p]},
        {"draw": "points", "style": _TRIP_END_STYLE, "points": [p for p in ends if p]},
    ]


def _stop_points(stops: pd.DataFrame) -> dict:
    points = []
    for row in stops.itertuples(index=False):
        r = row._asdict()
        duration = r.get(DURATION_S)
        minutes = 0.0 if pd.isna(duration) else float(duration) / 60
        radius = round(5 + 2 * np.log2(1 + minutes), 1)  # a glance tells a coffee from a night
        html = _label(
            "Stop",
            [
                ("device", r[S.DEVICE_ID]),
                ("duration", fmt_duration(duration)),
                ("from", fmt_time(r.get(START_TIME))),
                ("to", fmt_time(r.get(END_TIME))),
            ],
        )
        points.append(_point(r.get(S.LAT), r.get(S.LON), html, radius))
    return {"draw": "points", "style": _STOP_STYLE, "points": [p for p in points if p]}


def _alarm_points(alarms: pd.DataFrame) -> dict:
    points = []
    for row in alarms.itertuples(index=False):
        r = row._asdict()
        html = _label(
            "Alarm: " + str(r.get(S.ALARM)),
            [
                ("device", r[S.DEVICE_ID]),
                ("time", fmt_time(r.get(S.TIME))),
                ("message", r.get(S.MSG_TYPE)),
            ],
        )
        points.append(_point(r.get(S.LAT), r.get(S.LON), html))
    return {"draw": "points", "style": _ALARM_STYLE, "points": [p for p in points if p]}


def _geofence_features(geofences) -> list:
    """GeoJSON features with only an escaped ``label`` (and ``radius_m`` for circles)."""
    import json

    import shapely

    from ..analytics import load_geofences

    gdf = load_geofences(geofences)
    if getattr(gdf, "crs", None) is not None and not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    radius = gdf["radius_m"] if "radius_m" in gdf.columns else pd.Series(np.nan, index=gdf.index)
    features = []
    for name, geom, r in zip(gdf["name"], gdf.geometry, radius, strict=True):
        if geom is None or geom.is_empty:
            continue
        props = {"label": escape_text(name)}
        if geom.geom_type == "Point":
            if r is None or r != r:
                continue
            props["radius_m"] = float(r)
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(shapely.to_geojson(geom)),
                "properties": props,
            }
        )
    return features


def _legend_html(speed_limit_kmh, layers) -> str:
    """Legend markup (no user strings in it); ``layers`` names the event layers drawn."""
    rows = ["<b>Speed</b>"]
    low = 0.0
    for edge, colour in SPEED_CLASSES:
        text = f"&ge; {low:.0f} km/h" if np.isinf(edge) else f"{low:.0f}&ndash;{edge:.0f} km/h"
        rows.append(f'<i style="background:{colour}"></i>{text}')
        low = edge
    rows.append(f'<i style="background:{UNKNOWN_SPEED_COLOR}"></i>unknown')
    if "overspeed" in layers:
        rows.append(
            f'<i style="background:{_OVERSPEED_STYLE["color"]};opacity:.6;height:8px"></i>'
            f"over {fmt_number(speed_limit_kmh, 0)} km/h"
        )
    events = [
        ("trips", "trip start", _TRIP_START_STYLE),
        ("trips", "trip end", _TRIP_END_STYLE),
        ("stops", "stop (size: duration)", _STOP_STYLE),
        ("alarms", "alarm", _ALARM_STYLE),
    ]
    if any(layer in layers for layer, _, _ in events) or "geofences" in layers:
        rows.append("<b>Events</b>")
    for layer, text, style in events:
        if layer in layers:
            rows.append(
                f'<i class="dot" style="background:{style["fillColor"]};border-color:{style["color"]}"></i>{text}'
            )
    if "geofences" in layers:
        rows.append(
            f'<i style="background:{_GEOFENCE_STYLE["fillColor"]};border:1px solid {_GEOFENCE_STYLE["color"]};'
            f'height:10px"></i>geofence'
        )
    return "".join(f"<div>{row}</div>" for row in rows)


def _centre(bounds) -> list:
    (s, w), (n, e) = bounds
    return [(s + n) / 2, (w + e) / 2]
