"""What a report shows, computed from the input: per-device summaries and result tables."""

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import schema as S
from ..errors import FormatError, InputError

__all__ = ["ReportData", "collect", "TABLES"]

#: Inside a trip, a fix slower than this counts as idling (engine on, vehicle not moving).

#: Result tables of a report, in the order they are shown and exported.
TABLES = ("trips", "stops", "overspeed", "geofence_visits", "alarms", "battery")


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


def collect(
    source, *, devices=None, start=None, end=None, geofences=None, speed_limit_kmh=None,
    scheduler=None,
) -> ReportData:
    """Read ``source`` and run every analysis the report shows (on the Dask cluster at
    ``scheduler`` when ``source`` is a dataset directory)."""
    from .. import analytics

    messages = _messages(source, devices, start, end)
    if messages.empty:
        raise InputError("no messages to report on" + _filter_text(devices, start, end))
    positions = _fixes(messages)

    fences = analytics.load_geofences(geofences) if geofences is not None else None
    with _analyses_on(source, scheduler, devices, start, end) as run:
        tables = {
            "trips": run(analytics.detect_trips, positions),
            "stops": run(analytics.detect_stops, positions),
            "overspeed": (
                run(analytics.find_overspeed, positions, limit_kmh=speed_limit_kmh)
                if speed_limit_kmh is not None
                else None
            ),
            "geofence_visits": (
                run(analytics.geofence_visits, positions, fences) if fences is not None else None
            ),
            "alarms": run(analytics.alarms, messages),
            "battery": run(analytics.battery_trends, messages),
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
        summary=_summary(messages, positions, tables),
        tables=tables,
        positions=positions,
        battery_series=battery,
        msg_types=msg_types,
        geofences=fences,
        speed_limit_kmh=speed_limit_kmh,
        filters={"devices": devices, "start": start, "end": end},
    )


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


def _messages(source, devices, start, end) -> pd.DataFrame:
    """Messages of a dataset directory, capture file(s), DecodedLog, Table or DataFrame."""
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        from ..dataset import read_messages

        frame = read_messages(source, devices=devices, start=start, end=end)
    else:
        if isinstance(source, (str, os.PathLike, bytes)) or (
            isinstance(source, (list, tuple)) and source
        ):
            from ..decode import read_log

            source = read_log(source)
        from ..analytics._input import as_messages

        frame = as_messages(source, devices=devices, start=start, end=end)
    if S.VALID not in frame.columns:
        frame[S.VALID] = True  # plain tables of positions: every row with coordinates is a fix
    for column in (S.MSG_TYPE, S.BATTERY_PCT, S.ALARM, S.LAT, S.LON, S.SPEED_KMH):
        if column not in frame.columns:
            frame[column] = pd.Series(pd.NA, index=frame.index, dtype="object")
    frame[S.TIME] = pd.to_datetime(frame[S.TIME], utc=True)
    return frame.reset_index(drop=True)


def _fixes(messages: pd.DataFrame) -> pd.DataFrame:
    """Valid fixes, duplicates (a fix received twice) dropped, sorted by device and time."""
    ok = (
        messages[S.VALID].fillna(False).astype(bool)
        & messages[S.TIME].notna()
        & messages[S.LAT].notna()
        & messages[S.LON].notna()
    )
    columns = [c for c in S.POSITION_COLUMNS if c in messages.columns]
    fixes = messages.loc[ok, columns].drop_duplicates([S.DEVICE_ID, S.TIME, S.LAT, S.LON])
    return fixes.sort_values([S.DEVICE_ID, S.TIME], kind="stable").reset_index(drop=True)


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
    if trips is not None and not trips.empty and "max_speed_kmh" in trips:
        trip_max = trips.groupby(S.DEVICE_ID)["max_speed_kmh"].max().reindex(devices)
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
            "first_time": by_dev[S.TIME].min().reindex(devices).to_numpy(),
            "last_time": by_dev[S.TIME].max().reindex(devices).to_numpy(),
            "distance_m": _total(trips, "distance_m", devices).to_numpy(),
            "driving_s": _total(trips, "duration_s", devices).to_numpy(),
            # standing time inside trips, as detect_trips measures it
            "idle_s": _total(trips, "idle_s", devices).to_numpy(),
            "max_speed_kmh": max_speed.to_numpy(),
            "trips": _count(trips, devices).array,
            "stops": _count(tables["stops"], devices).array,
            "stopped_s": _total(tables["stops"], "duration_s", devices).to_numpy(),
            "overspeed": _count(tables["overspeed"], devices).array,
            "overspeed_s": _total(tables["overspeed"], "duration_s", devices).to_numpy(),
            "geofence_visits": _count(tables["geofence_visits"], devices).array,
            "alarms": _count(tables["alarms"], devices).array,
            "battery_pct": last_pct.to_numpy(),
        }
    )
    summary["first_time"] = pd.to_datetime(summary["first_time"], utc=True)
    summary["last_time"] = pd.to_datetime(summary["last_time"], utc=True)
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
