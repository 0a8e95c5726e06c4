"""Names shared by the report tests: the hostile payload, the two device ids, and a
writer that lays a frame out as a dataset directory."""

from pathlib import Path

import pandas as pd

__all__ = ["PAYLOAD", "CAR", "TRACKER", "write_dataset"]

PAYLOAD = "<img src=x onerror=alert(1)>"
CAR = "860000000000001"
TRACKER = "860000000000002"


def write_dataset(frame: pd.DataFrame, root: Path) -> Path:
    """``frame`` (any subset of the message columns) as a dataset ``bofan convert`` would write."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from bofan_analytics import schema

    columns = {
        f.name: (
            pa.array(frame[f.name], type=f.type, from_pandas=True)
            if f.name in frame.columns
            else pa.nulls(len(frame), f.type)
        )
        for f in schema.MESSAGES
    }
    table = pa.table(columns, schema=schema.MESSAGES)
    days = frame["time"].dt.strftime("%Y-%m-%d")
    for day in sorted(days.unique()):
        part = root / "messages" / f"date={day}"
        part.mkdir(parents=True)
        pq.write_table(table.filter(pa.array((days == day).to_numpy())), part / "part-0.parquet")
    (root / "rejects").mkdir(parents=True, exist_ok=True)
    return root
