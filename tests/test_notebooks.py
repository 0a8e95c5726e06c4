"""The notebooks in ``notebooks/`` run top to bottom on ``data/samples/``.

Executed with nbclient in the ``python3`` kernel (``make`` installs it into the venv),
working directory ``notebooks/`` as in Jupyter. The kernel gets this checkout on its
``PYTHONPATH`` so it imports the code under test, installed or not.

The numba kernels are compiled once in this process first (they are cached on disk, and
the notebook kernels load them from there): the time limit is about the notebooks, not
about a cold compiler cache.
"""

import os
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIME_LIMIT_S = 60


@pytest.fixture(scope="module")
def compiled():
    import bofan_analytics as ba

    fences = SAMPLES / "geofences.geojson"
    for name in ("fleet.log", "fleet.bin"):
        log = ba.read_log(SAMPLES / name)
        positions = log.positions()
        ba.detect_trips(positions)
        ba.detect_stops(positions)
        ba.find_overspeed(positions, limit_kmh=90, geofences=fences)
        ba.geofence_visits(positions, fences)
        ba.battery_trends(log)
        ba.alarms(log)
        ba.places(ba.detect_stops(positions), label="home_work")
        ba.daily_summary(log, ignition_input=2, limit_kmh=90)
        ba.scorecard(log, by="driver", ignition_input=2, limit_kmh=90)


def test_the_notebooks_are_there_without_outputs():
    assert [p.name for p in NOTEBOOKS] == [
        "01_fleet_quickstart.ipynb",
        "02_driver_safety.ipynb",
        "03_personal_trackers.ipynb",
        "04_gis.ipynb",
    ]
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and all(not c.outputs and c.execution_count is None for c in code), path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(path, monkeypatch, compiled):
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=10 * TIME_LIMIT_S,  # per cell; the whole notebook is timed below
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_LIMIT_S, f"{path.name} took {elapsed:.0f} s"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = " ".join(o.get("data", {}).get("text/html", "") for o in outputs)
    # maps shown in a notebook work offline too: Leaflet inlined, no CDN links
    assert "folium-map" in html
    assert "cdn.jsdelivr.net" not in html and "code.jquery.com" not in html
