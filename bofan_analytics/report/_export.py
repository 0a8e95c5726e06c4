"""Report tables as CSV files or one Excel workbook.

Spreadsheets run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, a
tab or carriage return first) as a formula. Text from devices and users (device ids,
geofence names, message types) must never become one: in CSV every such text cell is
prefixed with a single quote, as OWASP recommends ("CSV injection"), so
``=HYPERLINK("http://x","y")`` is written ``'=HYPERLINK("http://x","y")``. Numbers are
numbers, not text: a numeric column, and a text cell that is a plain decimal number such
as ``-12.5``, are written as they are. In the workbook, text cells are stored with the
string type, which no spreadsheet evaluates.
"""

import re
from pathlib import Path

import pandas as pd

from ..errors import BofanError

__all__ = ["write_csv", "write_xlsx", "neutralise_formulas", "FORMULA_START"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

_FORMULA = "[" + re.escape("".join(FORMULA_START)) + "]"
_PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot be read as spreadsheet formulas.

    A text cell starting with one of :data:`FORMULA_START` gets a leading single quote,
    unless it is a plain decimal number. Numeric, boolean and time columns are unchanged.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"name": ["=1+2", "-3", "@SUM(A1)", "depot"], "x": [-1.5, 2, 3, 4]})
    >>> neutralise_formulas(frame).to_dict("list")
    {'name': ["'=1+2", '-3', "'@SUM(A1)", 'depot'], 'x': [-1.5, 2.0, 3.0, 4.0]}
    """
    out = frame.copy()
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
            continue
        values = values.astype(object)
        is_text = values.map(lambda v: isinstance(v, str)).to_numpy(dtype=bool)
        if not is_text.any():
            continue
        text = values[is_text].astype(str)
        risky = text.str.match(_FORMULA) & ~text.str.fullmatch(_PLAIN_NUMBER)
        if risky.any():
            values = values.copy()
            values.loc[risky[risky].index] = "'" + text[risky]
            out[column] = values
    return out


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
    their offset); values as computed, with text that a spreadsheet would run as a formula
    prefixed by ``'`` (see the module notes)."""
    paths = []
    for name, frame in frames.items():
        path = stem.with_name(f"{stem.name}-{name}.csv")
        neutralise_formulas(_local_iso(frame)).to_csv(
            path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")
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
