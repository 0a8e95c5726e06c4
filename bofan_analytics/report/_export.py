"""Report tables as CSV files or one Excel workbook."""

from pathlib import Path

import pandas as pd

from ..errors import BofanError

__all__ = ["write_csv", "write_xlsx"]


def _local_iso(frame: pd.DataFrame) -> pd.DataFrame:
    """Times in a zone other than UTC as ISO 8601 text with their offset; a column of
    several zones (devices in different zones) likewise, row by row in C."""
    out = None
    for column in frame.columns:
        col = frame[column]
        zoned = isinstance(col.dtype, pd.DatetimeTZDtype) and str(col.dtype.tz) != "UTC"
        mixed = col.dtype == object and _is_time(col)
        if not (zoned or mixed):
            continue
        if out is None:
            out = frame.copy(deep=False)
        if zoned:
            text = col.dt.strftime("%Y-%m-%dT%H:%M:%S.%f%z")
        else:
            text = col.map(lambda t: t.isoformat(timespec="microseconds") if pd.notna(t) else None)
        out[column] = text.str.replace(r"([+-]\d\d)(\d\d)$", r"\1:\2", regex=True)
    return frame if out is None else out


def write_csv(frames: dict, stem: Path) -> list:
    """``<stem>-<name>.csv`` per frame; times as ISO 8601 (UTC with ``Z``, local times with
    their offset); values exactly as computed."""
    paths = []
    for name, frame in frames.items():
        path = stem.with_name(f"{stem.name}-{name}.csv")
        _local_iso(frame).to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
        paths.append(path)
    return paths


def _cell(value):
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        # Excel dates carry no zone: write UTC wall time (the headers say so)
        return (
            value.tz_convert("UTC").tz_localize(None) if value.tzinfo else value
        ).to_pydatetime()
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def _is_time(col: pd.Series) -> bool:
    """A tz-aware column, or one of times in several zones (object dtype)."""
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        return True
    if col.dtype != object or not col.notna().any():
        return False
    return isinstance(col.dropna().iloc[0], pd.Timestamp)


def write_xlsx(frames: dict, path: Path) -> Path:
    """One sheet per frame. Text is stored as text, so a geofence named ``=cmd|...`` stays a name.

    openpyxl turns any string starting with ``=`` into a formula; a device or user string
    must never become one, so every text cell is forced to the string type.
    """
    try:
        from openpyxl import Workbook
    except ImportError:
        raise BofanError(
            "xlsx export needs openpyxl: pip install 'bofan_analytics[excel]'"
        ) from None

    book = Workbook()
    book.remove(book.active)
    for name, frame in frames.items():
        sheet = book.create_sheet(title=name[:31])
        headers = [f"{c} (UTC)" if _is_time(frame[c]) else str(c) for c in frame.columns]
        sheet.append(headers)
        for row in frame.itertuples(index=False, name=None):
            sheet.append([_cell(v) for v in row])
            for cell in sheet[sheet.max_row]:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
        sheet.freeze_panes = "A2"
    book.save(path)
    return path
