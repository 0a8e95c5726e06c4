"""Writing the committed sample set: captures, compressed copies, frames and truth."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from .captures import render_capture
from .fleet import generate_fleet
from .truth import frames_table

__all__ = ["write_samples"]


def write_samples(directory, *, seed: int = 20261102) -> dict:
    """Write the sample captures, their truth and the geofences into ``directory``.

    Three fleets, one per format, so that each file has its own devices:

    - ``fleet.bin``: stream, 10 vehicles and 5 personal trackers over two days;
    - ``fleet.log`` and ``fleet.log.gz``: lines, 4 vehicles and 2 personal trackers, one day;
    - ``tracker-server.log`` and ``tracker-server.log.zst``: traccar, 3 vehicles and 2
      personal trackers, one day;
    - ``<capture>.truth.json`` for each capture (the compressed copies share the truth of
      the file they copy), and ``geofences.geojson``.

    Parameters
    ----------
    directory : str or os.PathLike
        Created if missing; files in it with these names are overwritten.
    seed : int
        The same seed writes the same bytes.

    Returns
    -------
    dict of str to pathlib.Path
        The files written, by name.

    Examples
    --------
    >>> paths = write_samples("data/samples")  # doctest: +SKIP
    >>> sorted(paths)[:2]  # doctest: +SKIP
    ['fleet.bin', 'fleet.bin.truth.json']
    """
    import zstandard

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plan = (
        ("fleet.bin", "stream", {"vehicles": 10, "personal": 5, "days": 2}),
        ("fleet.log", "lines", {"vehicles": 4, "personal": 2, "days": 1}),
        ("tracker-server.log", "traccar", {"vehicles": 3, "personal": 2, "days": 1}),
    )
    written = {}
    geofences = None
    for k, (name, fmt, size) in enumerate(plan):
        fleet = generate_fleet(seed=seed + k, **size)
        geofences = fleet.geofences
        capture = render_capture(fleet, fmt)
        written[name] = _write(directory / name, capture.data)
        truth = json.dumps(capture.truth, separators=(",", ":"), ensure_ascii=True) + "\n"
        written[f"{name}.truth.json"] = _write(directory / f"{name}.truth.json", truth.encode())
        written[f"{name}.frames.parquet"] = _write_frames(
            directory / f"{name}.frames.parquet", capture.frames
        )
        if fmt == "lines":
            written[f"{name}.gz"] = _write(
                directory / f"{name}.gz", gzip.compress(capture.data, mtime=0)
            )
        if fmt == "traccar":
            zst = zstandard.ZstdCompressor(level=19).compress(capture.data)
            written[f"{name}.zst"] = _write(directory / f"{name}.zst", zst)
    text = json.dumps(geofences, indent=2) + "\n"
    written["geofences.geojson"] = _write(directory / "geofences.geojson", text.encode())
    return written


def _write_frames(path, frames):
    import pyarrow.parquet as pq

    pq.write_table(frames_table(frames), path, compression="zstd")
    return path


def _write(path, data):
    path.write_bytes(data)
    return path
