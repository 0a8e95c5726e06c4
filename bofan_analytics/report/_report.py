"""``build_report`` / ``write_report``: the fleet report as an object and as a file."""

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .._validate import choice, positive
from ._data import TABLES, collect

__all__ = ["Report", "build_report", "write_report", "EXPORT_FORMATS"]

#: Table export formats of :func:`write_report`.
EXPORT_FORMATS = ("csv", "xlsx")


@dataclass
class Report:
    """A built report: the HTML page, the per-device summary and the result tables.

    Attributes
    ----------
    title : str
    html : str
        The self-contained page (:meth:`save` writes it).
    summary : pandas.DataFrame
        One row per device: ``device_id, protocol, messages, fixes, first_time,
        last_time, distance_m`` (of the trips), ``driving_s`` (trip time), ``idle_s``
        (time below 5 km/h inside trips), ``max_speed_kmh, trips, stops, stopped_s,
        overspeed, overspeed_s, geofence_visits, alarms, battery_pct`` (last reading).
        Counts of an analysis that did not run are missing (``<NA>``), not 0.
    tables : dict of str to pandas.DataFrame or None
        ``trips``, ``stops``, ``overspeed``, ``geofence_visits``, ``alarms``, ``battery``,
        ``daily_summary`` (per device and local day), ``drivers`` (per RFID driver);
        ``None`` for an analysis that was not run (no speed limit, no geofences).
    """

    title: str
    html: str = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    tables: dict = field(repr=False)
    generated: dt.datetime = field(repr=False, default=None)

    def __repr__(self) -> str:
        return f"<Report {self.title!r}: {len(self.summary)} device(s), {len(self.html):,} bytes>"

    def _repr_html_(self) -> str:
        from ..viz._html import escape_text
        from ._page import summary_table

        counts = ", ".join(
            f"{name.replace('_', ' ')}: {len(frame):,}"
            for name, frame in self.tables.items()
            if frame is not None
        )
        return (
            f"<div><b>{escape_text(self.title)}</b> &middot; {len(self.summary)} device(s)"
            f" &middot; {len(self.html) / 1e6:.1f} MB of HTML"
            f"<br><small>{escape_text(counts)}</small>"
            f"{summary_table(self.summary)}</div>"
        )

    def save(self, path, *, export=None) -> Path:
        """Write the page to ``path`` and, with ``export``, the tables next to it.

        Parameters
        ----------
        path : str or path
        export : {"csv", "xlsx"} or list of them, optional
            ``csv`` writes ``<stem>-summary.csv``, ``<stem>-trips.csv``, …;
            ``xlsx`` writes ``<stem>.xlsx`` with one sheet per table (needs openpyxl).

        Returns
        -------
        pathlib.Path
            The page written.
        """
        path = Path(path)
        formats = _export_formats(export)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.html, encoding="utf-8")
        for fmt in formats:
            self.export(path.with_suffix(""), fmt)
        return path

    def frames(self) -> dict:
        """``summary`` and every computed table, in report order."""
        out = {"summary": self.summary}
        out.update({k: v for k, v in self.tables.items() if v is not None})
        return out

    def export(self, stem, fmt: str = "csv") -> list:
        """Write the tables as CSV files ``<stem>-<table>.csv`` or one workbook ``<stem>.xlsx``.

        Returns the paths written. Times are UTC (ISO 8601 in CSV; in the workbook, Excel
        dates without a zone, since Excel has none).
        """
        from ._export import write_csv, write_xlsx

        fmt = _export_formats(fmt)[0]
        stem = Path(stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "csv":
            return write_csv(self.frames(), stem)
        return [write_xlsx(self.frames(), stem.with_suffix(".xlsx"))]


def _export_formats(export) -> list:
    if export is None:
        return []
    formats = [export] if isinstance(export, str) else list(export)
    for fmt in formats:
        choice("export", fmt, EXPORT_FORMATS)
    return formats


def build_report(
    source,
    *,
    devices=None,
    start=None,
    end=None,
    geofences=None,
    speed_limit_kmh: float | None = None,
    title: str | None = None,
    tz=None,
    ignition_input: int | None = None,
    scheduler: str | None = None,
) -> Report:
    """Analyse ``source`` and build the fleet report page in memory.

    Parameters
    ----------
    source : path, DecodedLog, pyarrow.Table or pandas.DataFrame
        A dataset directory written by ``bofan convert``; capture file(s), decoded with
        :func:`~bofan_analytics.read_log`; a decoded log; messages; or positions (then
        battery readings and alarms are taken from the positions' columns).
    devices : str or list of str, optional
        Only these device ids.
    start, end : str, date or datetime, optional
        Only messages whose device time lies in ``[start, end]`` (UTC when no zone is
        given; a bare date as ``end`` includes that day).
    geofences : GeoDataFrame, GeoJSON dict or path, optional
        Areas for the visits table and the maps.
    speed_limit_kmh : float, optional
        Limit for the overspeed table; without it no overspeed is computed.
    title : str, optional
        Page title (escaped like every other string).
    tz : str, mapping or "auto", optional
        Zone of every time on the page and in the tables (default UTC): one IANA zone, a
        mapping ``device_id -> zone``, or ``"auto"`` (each device's zone from its median
        position). The page names it; naive ``start``/``end`` are read in it when it is
        one zone.
    ignition_input : int, optional
        The device input wired to the ignition: trips get engine time, stops engine-on
        idling, and the daily summary engine hours.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``): the analyses of a dataset
        directory run on that cluster, with the same results.

    Returns
    -------
    Report

    Raises
    ------
    InputError
        The input cannot be read, or no message is left after filtering.

    Examples
    --------
    >>> from bofan_analytics.report import build_report
    >>> report = build_report("build/demo_dataset", speed_limit_kmh=90)   # doctest: +SKIP
    >>> report.summary[["device_id", "distance_m", "trips"]]               # doctest: +SKIP
    """
    from ..analytics._ignition import check_input
    from ..analytics._tz import check_tz
    from ._page import render_page

    # the options are checked before any data is read
    positive("speed_limit_kmh", speed_limit_kmh, allow_none=True)
    if ignition_input is not None:
        check_input(ignition_input)
    check_tz(tz)
    data = collect(
        source,
        devices=devices,
        start=start,
        end=end,
        geofences=geofences,
        speed_limit_kmh=speed_limit_kmh,
        tz=tz,
        ignition_input=ignition_input,
        scheduler=scheduler,
    )
    if title is None:
        title = "Fleet report"
        if isinstance(source, (str, os.PathLike)):
            title += " – " + Path(source).name
    generated = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    html = render_page(data, title=title, generated=generated)
    tables = {name: data.tables.get(name) for name in TABLES}
    return Report(title=title, html=html, summary=data.summary, tables=tables, generated=generated)


def write_report(
    source,
    output,
    *,
    devices=None,
    start=None,
    end=None,
    geofences=None,
    speed_limit_kmh: float | None = None,
    export=None,
    title: str | None = None,
    tz=None,
    ignition_input: int | None = None,
    scheduler: str | None = None,
) -> Path:
    """Write one self-contained HTML report (what ``bofan report`` does).

    Per device: a summary (distance, driving and idle time, max speed, trips, stops,
    overspeed, geofence visits, alarms), a map, the tables and a battery chart. Leaflet is
    inlined, so the page renders with no network; map tiles are the only remote resource
    and the page works without them. Strings from devices and users are escaped.

    Parameters are those of :func:`build_report`, plus:

    output : str or path
        The HTML file to write (its directory is created).
    export : {"csv", "xlsx"} or list of them, optional
        Also write the tables next to ``output`` (see :meth:`Report.save`).

    Returns
    -------
    pathlib.Path
        ``output``.

    Examples
    --------
    >>> import bofan_analytics as ba
    >>> ba.write_report("build/demo_dataset", "reports/demo.html",
    ...                 geofences="data/samples/geofences.geojson",
    ...                 speed_limit_kmh=90, export="csv")          # doctest: +SKIP
    PosixPath('reports/demo.html')
    """
    _export_formats(export)  # refuse a bad format before the work, not after
    report = build_report(
        source,
        devices=devices,
        start=start,
        end=end,
        geofences=geofences,
        speed_limit_kmh=speed_limit_kmh,
        title=title,
        tz=tz,
        ignition_input=ignition_input,
        scheduler=scheduler,
    )
    return report.save(output, export=export)
