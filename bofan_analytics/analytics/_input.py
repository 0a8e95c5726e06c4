"""Turn whatever the user passes into a pandas DataFrame of positions or messages.

Every analytics function accepts the same inputs (API.md): a pandas DataFrame, a pyarrow
Table, a ``DecodedLog`` or the path of a Parquet dataset written by ``bofan convert``. The
coercion lives here, once.
"""

from __future__ import annotations

import os

import pandas as pd
import pyarrow as pa

from .._select import filter_rows
from ..errors import InputError, SchemaError
from ..schema import DEVICE_ID, TIME

__all__ = ["as_positions", "as_messages"]


def _from_table(table: pa.Table) -> pd.DataFrame:
    return table.to_pandas()


def _coerce(obj, *, kind: str, devices=None, start=None, end=None, tz=None) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        frame = obj
    elif isinstance(obj, pa.Table):
        frame = _from_table(obj)
    elif isinstance(obj, (str, os.PathLike)):
        # a dataset directory written by ``bofan convert``; imported here so that the
        # analytics functions do not pull the dataset machinery in for in-memory input
        from .. import dataset

        reader = dataset.read_positions if kind == "positions" else dataset.read_messages
        # the filters run on the Parquet files: only the devices and days asked for are read
        zone = {"tz": _bound_zone(tz)} if tz is not None else {}
        return _checked(reader(obj, devices=devices, start=start, end=end, **zone), kind)
    elif hasattr(obj, "messages") and hasattr(obj, "positions"):
        # a DecodedLog: positions() already keeps valid fixes; battery and alarm analysis
        # need every frame (heartbeats carry battery, alarm frames may carry no fix)
        if kind == "positions":
            frame = obj.positions()
        else:
            messages = obj.messages
            frame = _from_table(messages) if isinstance(messages, pa.Table) else messages
    else:
        raise InputError(
            f"cannot read {kind} from {type(obj).__name__}: pass a pandas DataFrame, a pyarrow "
            "Table, a DecodedLog or the path of a dataset written by `bofan convert`"
        )
    frame = _checked(frame, kind)
    return filter_rows(frame, devices=devices, start=start, end=end, tz=_bound_zone(tz))


def _checked(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    missing = [c for c in (DEVICE_ID, TIME) if c not in frame.columns]
    if missing:
        raise SchemaError(f"{kind} lack the column(s) {', '.join(missing)}")
    return frame


def _bound_zone(tz):
    """The zone naive ``start``/``end`` are read in: ``tz`` when it names one zone."""
    if tz is None:
        return None
    from ._tz import single_zone

    return single_zone(tz)


def as_positions(obj, *, devices=None, start=None, end=None, tz=None) -> pd.DataFrame:
    """Return the positions of ``obj`` as a DataFrame (not yet sorted), only those of
    ``devices`` within ``[start, end]`` when given (see :mod:`bofan_analytics._select`;
    naive bounds are local time when ``tz`` names one zone)."""
    return _coerce(obj, kind="positions", devices=devices, start=start, end=end, tz=tz)


def as_messages(obj, *, devices=None, start=None, end=None, tz=None) -> pd.DataFrame:
    """Return the messages of ``obj`` as a DataFrame (not yet sorted), filtered likewise."""
    return _coerce(obj, kind="messages", devices=devices, start=start, end=end, tz=tz)
