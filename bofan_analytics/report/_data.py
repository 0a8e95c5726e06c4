"""What a report shows, computed from the input: per-device summaries and result tables."""

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema as S
from ..errors import FormatError, InputError
from ..schema import (
    DISTANCE_M,
    DRIVING_S,
    DURATION_S,
    FIRST_TIME,
    IDLE_S,
    LAST_TIME,
    MAX_SPEED_KMH,
    OVERSPEED_S,
)

__all__ = ["ReportData", "collect", "TABLES", "zone_text"]

#: Inside a trip, a fix slower than this counts as idling (engine on, vehicle not moving).

#: Result tables of a report, in the order they are shown and exported.
TABLES = ("trips", "stops", "overspeed", "geofence_visits", "alarms", "battery",
          "daily_summary", "drivers")


@dataclass
class ReportData:
    """Everything a report shows; all frames have ``device_id`` first."""

    summary: pd.DataFrame
    tables: dict
    positions: pd.DataFrame
    battery_series: pd.DataFrame
    msg_types: pd.DataFrame
    geofences: object = None
    speed_limit_kmh: float | None = None
    filters: dict = field(default_factory=dict)
    #: the zone(s) times are shown in: None (UTC), one zone, or device_id -> zone
    tz: object = None
    #: (zone name, limit km/h) of the geofences whose own speed limits were applied
    zone_limits: list = field(default_factory=list)
    ignition_input: int | None = None


def collect(
    source, *, devices=None, start=None, end=None, geofences=None, speed_limit_kmh=None,
    tz=None,
    ignition_input=None,
    scheduler=None,
) -> ReportData:
    """Read ``source`` and run every analysis the report shows (on the Dask cluster at
    ``scheduler`` when ``source`` is a dataset directory)."""
    from .. import analytics
    from ..analytics._track import prepare
    from ..analytics._tz import resolve_tz

    messages = _messages(source, devices, start, end, tz)
    if messages.empty:
        raise InputError("no messages to report on" + _filter_text(devices, start, end))
    positions = _fixes(messages)
    # the zones once, from all fixes ("auto": each device's median position)
    tz = resolve_tz(tz, prepare(positions))

    fences = analytics.load_geofences(geofences) if geofences is not None else None
    zone_limits, limit_fences = _zone_limits(fences)
    speeding = speed_limit_kmh is not None or limit_fences is not None
    has_drivers = S.DRIVER_ID in positions.columns and positions[S.DRIVER_ID].notna().any()
    with _analyses_on(source, scheduler, devices, start, end) as run:
        tables = {
            "trips": run(analytics.detect_trips, positions, tz=tz,
                         ignition_input=ignition_input),
            "stops": run(analytics.detect_stops, positions, tz=tz,
                         ignition_input=ignition_input),
            "overspeed": (
                run(analytics.find_overspeed, positions, limit_kmh=speed_limit_kmh,
                    geofences=limit_fences, tz=tz)
                if speeding
                else None
            ),
            "geofence_visits": (
                run(analytics.geofence_visits, positions, fences, tz=tz)
                if fences is not None
                else None
            ),
            "alarms": run(analytics.alarms, messages, tz=tz),
            "battery": run(analytics.battery_trends, messages, tz=tz),
            "daily_summary": run(
                analytics.daily_summary, positions, tz=tz, ignition_input=ignition_input,
                limit_kmh=speed_limit_kmh, geofences=limit_fences),
            # per driver, across devices: not split by device groups, so always in memory
            "drivers": (
                analytics.driver_summary(positions, tz=tz, limit_kmh=speed_limit_kmh,
                                         geofences=limit_fences)
                if has_drivers
                else None
            ),
        }
    battery = messages.loc[messages[S.BATTERY_PCT].notna(), [S.DEVICE_ID, S.TIME, S.BATTERY_PCT]]
    battery = battery.loc[battery[S.TIME].notna()].sort_values([S.DEVICE_ID, S.TIME])
    msg_types = (
        messages.groupby([S.DEVICE_ID, S.MSG_TYPE], dropna=False, sort=True)
        .size()
        .rename("count")
        .reset_index()
    )
    return ReportData(
        summary=_local_summary(_summary(messages, positions, tables), tz),
        tables=tables,
        positions=positions,
        battery_series=battery,
        msg_types=msg_types,
        geofences=fences,
        speed_limit_kmh=speed_limit_kmh,
        filters={"devices": devices, "start": start, "end": end},
        tz=tz,
        zone_limits=zone_limits,
        ignition_input=ignition_input,
    )


def _zone_limits(fences):
    """The geofences' own speed limits, and the fences that carry one (None if none do)."""
    if fences is None or "speed_limit_kmh" not in fences.columns:
        return [], None
    limits = pd.to_numeric(fences["speed_limit_kmh"], errors="coerce")
    if not limits.notna().any():
        return [], None
    pairs = [(str(n), float(v)) for n, v in zip(fences["name"], limits, strict=True)
             if not pd.isna(v)]
    return pairs, fences


def _local_summary(summary: pd.DataFrame, tz) -> pd.DataFrame:
    from ..analytics._track import localize_frame

    return localize_frame(summary, tz, [FIRST_TIME, LAST_TIME])


def zone_text(tz) -> str:
    """How the page names the zone of its times."""
    if tz is None:
        return "UTC"
    if isinstance(tz, dict):
        return "each device's local time (" + ", ".join(sorted({str(z) for z in tz.values()})) + ")"
    return str(tz)


@contextlib.contextmanager
def _analyses_on(source, scheduler, devices, start, end):
    """Yield ``run(analysis, frame, ...)``: in memory the analysis of ``frame``; with a
    scheduler the analysis of the dataset ``source`` on that Dask cluster, same selection."""
    if scheduler is None:
        yield lambda analysis, frame, *args, **kwargs: analysis(frame, *args, **kwargs)
        return
    if not (isinstance(source, (str, os.PathLike)) and Path(source).is_dir()):
        raise FormatError("a report runs on a Dask cluster only from a dataset directory")
    from ..dataset._convert import connect

    client = connect(scheduler)
    selection = {"client": client, "devices": devices, "start": start, "end": end}
    try:
        yield lambda analysis, _, *args, **kwargs: analysis(source, *args, **selection, **kwargs)
    finally:
        client.close()


def _messages(source, devices, start, end, tz=None) -> pd.DataFrame:
    """Messages of a dataset directory, capture file(s), DecodedLog, Table or DataFrame;
    naive ``start``/``end`` in ``tz`` when it is one zone. Times stay UTC here."""
    from ..analytics._tz import single_zone

    zone = single_zone(tz)
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        from ..dataset import read_messages

        frame = read_messages(source, devices=devices, start=start, end=end,
                              **({"tz": zone} if zone is not None else {}))
    else:
        if isinstance(source, (str, os.PathLike, bytes)) or (
            isinstance(source, (list, tuple)) and source
        ):
            from ..decode import read_log

            source = read_log(source)
        from ..analytics._input import as_messages

        frame = as_messages(source, devices=devices, start=start, end=end, tz=zone)
    if S.VALID not in frame.columns:
        frame[S.VALID] = True  # plain tables of positions: every row with coordinates is a fix
    for column in (S.MSG_TYPE, S.BATTERY_PCT, S.ALARM, S.LAT, S.LON, S.SPEED_KMH):
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="object")
    frame[S.TIME] = pd.to_datetime(frame[S.TIME], utc=True)
    return frame.reset_index(drop=True)


def _fixes(messages: pd.DataFrame) -> pd.DataFrame:
    """The usable fixes (:func:`bofan_analytics._fix.usable_fixes`), positions columns."""
    from ..analytics._track import usable_fixes

    return usable_fixes(messages[[c for c in S.POSITION_COLUMNS if c in messages.columns]])


def _count(table, devices) -> pd.Series:
    """Rows per device; missing (not zero) when the analysis did not run."""
    if table is None:
        return pd.Series(pd.NA, index=devices, dtype="Int64")
    if table.empty:
        return pd.Series(0, index=devices, dtype="int64")
    return table.groupby(S.DEVICE_ID).size().reindex(devices, fill_value=0).astype("int64")


def _total(table, column, devices) -> pd.Series:
    if table is None:
        return pd.Series(np.nan, index=devices)
    if table.empty or column not in table.columns:
        return pd.Series(0.0, index=devices)
    return table.groupby(S.DEVICE_ID)[column].sum().reindex(devices, fill_value=0.0)


def _summary(messages: pd.DataFrame, positions: pd.DataFrame, tables: dict) -> pd.DataFrame:
    """One row per device: the numbers at the top of its section."""
    devices = sorted(messages[S.DEVICE_ID].dropna().astype(str).unique())
    by_dev = messages.groupby(S.DEVICE_ID)
    trips = tables["trips"]
    # PT-60 fixes carry no speed: then the trips' speeds (from distance over time) count
    speeds = pd.to_numeric(positions[S.SPEED_KMH], errors="coerce").groupby(positions[S.DEVICE_ID])
    max_speed = speeds.max().reindex(devices)
    if trips is not None and not trips.empty and MAX_SPEED_KMH in trips:
        trip_max = trips.groupby(S.DEVICE_ID)[MAX_SPEED_KMH].max().reindex(devices)
        max_speed = max_speed.fillna(trip_max)
    battery = tables["battery"]
    last_pct = (
        battery.set_index(S.DEVICE_ID)["last_pct"].reindex(devices)
        if battery is not None and not battery.empty and "last_pct" in battery
        else pd.Series(np.nan, index=devices)
    )
    summary = pd.DataFrame(
        {
            S.DEVICE_ID: devices,
            S.PROTOCOL: by_dev[S.PROTOCOL].first().reindex(devices).to_numpy()
            if S.PROTOCOL in messages
            else None,
            "messages": by_dev.size().reindex(devices, fill_value=0).to_numpy(),
            "fixes": _count(positions, devices).array,
            FIRST_TIME: by_dev[S.TIME].min().reindex(devices).to_numpy(),
            LAST_TIME: by_dev[S.TIME].max().reindex(devices).to_numpy(),
            DISTANCE_M: _total(trips, DISTANCE_M, devices).to_numpy(),
            DRIVING_S: _total(trips, DURATION_S, devices).to_numpy(),
            # standing time inside trips, as detect_trips measures it
            IDLE_S: _total(trips, IDLE_S, devices).to_numpy(),
            MAX_SPEED_KMH: max_speed.to_numpy(),
            "trips": _count(trips, devices).array,
            "stops": _count(tables["stops"], devices).array,
            "stopped_s": _total(tables["stops"], DURATION_S, devices).to_numpy(),
            "overspeed": _count(tables["overspeed"], devices).array,
            OVERSPEED_S: _total(tables["overspeed"], DURATION_S, devices).to_numpy(),
            "geofence_visits": _count(tables["geofence_visits"], devices).array,
            "alarms": _count(tables["alarms"], devices).array,
            "battery_pct": last_pct.to_numpy(),
        }
    )
    summary[FIRST_TIME] = pd.to_datetime(summary[FIRST_TIME], utc=True)
    summary[LAST_TIME] = pd.to_datetime(summary[LAST_TIME], utc=True)
    return summary


def _filter_text(devices, start, end) -> str:
    parts = []
    if devices is not None:
        ids = [devices] if isinstance(devices, str) else list(devices)
        parts.append("device(s) " + ", ".join(map(str, ids)))
    if start is not None:
        parts.append(f"from {start}")
    if end is not None:
        parts.append(f"to {end}")
    return (" for " + " ".join(parts)) if parts else ""
