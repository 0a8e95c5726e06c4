"""battery_chart: one escaped line per device, empty input handled."""

import numpy as np
import pandas as pd
from helpers import make_track, park

from bofan_analytics.viz import Chart, battery_chart

PAYLOAD = "<img src=x onerror=alert(1)>"


def test_one_line_per_device_with_escaped_legend():
    a = make_track(park(0, 600, 0, 0), battery=np.linspace(90, 80, 61))
    b = make_track(park(0, 600, 0, 0), device=PAYLOAD, battery=np.linspace(40, 10, 61))
    chart = battery_chart(pd.concat([a, b], ignore_index=True))
    assert isinstance(chart, Chart)
    assert chart.svg.count("<polyline") == 2
    assert "<img" not in chart.svg and "&lt;img src=x onerror=alert(1)&gt;" in chart.svg
    assert chart._repr_html_() == chart.svg


def test_devices_filter_and_downsampling():
    a = make_track(park(0, 6000, 0, 0, step_s=1), battery=np.linspace(90, 80, 6001))
    b = a.assign(device_id="2")
    chart = battery_chart(pd.concat([a, b]), devices=["2"], max_points=100)
    assert chart.svg.count("<polyline") == 1
    points = chart.svg.split('points="')[1].split('"')[0].split()
    assert len(points) <= 100


def test_nothing_to_draw():
    assert "No battery readings" in battery_chart(make_track(park(0, 60, 0, 0))).svg
    one = battery_chart(make_track([(0.0, 0.0, 0.0, 0.0)], battery=[55.0]))
    assert "<circle" in one.svg
