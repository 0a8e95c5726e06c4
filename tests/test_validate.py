"""One wording per kind of argument mistake, checked before any data is read."""

import datetime as dt

import pytest

import bofan_analytics as ba
from bofan_analytics import _validate as v
from bofan_analytics.errors import FormatError
from bofan_analytics.schema import ALARMS


def test_choice_lists_the_options_and_none():
    assert v.choice("freq", "W", ("D", "W")) == "W"
    assert v.choice("label", None, ("home_work", None)) is None
    with pytest.raises(FormatError) as caught:
        v.choice("freq", "Y", ("D", "W", None))
    assert str(caught.value) == "freq must be one of D, W or None, got 'Y'"
    with pytest.raises(FormatError, match=r"^kinds must be one of a, b, got \['a'\]$"):
        v.choice("kinds", ["a"], ("a", "b"))  # unhashable: no choice, no TypeError


@pytest.mark.parametrize("bad", [-1, float("nan"), "3", None, True])
def test_non_negative(bad):
    with pytest.raises(FormatError) as caught:
        v.non_negative("min_duration_s", bad)
    assert str(caught.value) == f"min_duration_s must be a number >= 0, got {bad!r}"


def test_non_negative_and_positive_bounds():
    assert v.non_negative("x", 0) == 0
    assert v.non_negative("x", None, allow_none=True) is None
    assert v.positive("x", 0.5) == 0.5
    for bad in (0, float("inf"), -2):
        with pytest.raises(FormatError, match=rf"^x must be a number > 0, got {bad!r}$"):
            v.positive("x", bad)
    with pytest.raises(FormatError, match=r"^x must be a number > 0 or None, got 0$"):
        v.positive("x", 0, allow_none=True)


def test_whole():
    assert v.whole("n", 3, lo=1) == 3
    with pytest.raises(FormatError, match=r"^n must be a whole number from 0 to 15, got 16$"):
        v.whole("n", 16, lo=0, hi=15)
    with pytest.raises(FormatError, match=r"^n must be a whole number >= 1, got 2.0$"):
        v.whole("n", 2.0, lo=1)


def test_zone_and_moment():
    assert v.zone("utc") == "UTC"
    assert v.zone(dt.timezone.utc) is dt.timezone.utc
    with pytest.raises(FormatError) as caught:
        v.zone("Mars/Olympus", also=", or auto")
    assert str(caught.value) == (
        "unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin, or auto")
    when, whole_day = v.moment("end", "2026-03-29", "Europe/Berlin")
    assert (when.isoformat(), whole_day) == ("2026-03-29T00:00:00+01:00", True)
    when, whole_day = v.moment("start", "2026-03-29T02:30", "Europe/Berlin")  # skipped hour
    assert (when.isoformat(), whole_day) == ("2026-03-29T01:00:00+00:00", False)
    with pytest.raises(FormatError, match=r"^start: cannot read 'yesterday' as a date or time$"):
        v.moment("start", "yesterday")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p, **k: ba.detect_trips(p, trip_start="go", **k),
         "trip_start must be one of move, stop, got 'go'"),
        (lambda p, **k: ba.detect_stops(p, stop_gap_s=-1, **k), "stop_gap_s must be a number >= 0, got -1"),
        (lambda p, **k: ba.detect_trips(p, trip_mode="ignition", **k),
         "trip_mode='ignition' needs ignition_input (the input number)"),
        (lambda p, **k: ba.find_overspeed(p, limit_kmh=90, overlap="max", **k),
         "overlap must be one of lowest, highest, got 'max'"),
        (lambda p, **k: ba.alarms(p, kinds=["fire"], **k),
         "kinds must be one of " + ", ".join(ALARMS) + ", got 'fire'"),
        (lambda p, **k: ba.battery_trends(p, low_pct=-5, **k), "low_pct must be a number >= 0, got -5"),
        (lambda p, **k: ba.daily_summary(p, freq="Y", **k), "freq must be one of D, W, M, got 'Y'"),
        (lambda p, **k: ba.harsh_events(p, accel_ms2=0, **k), "accel_ms2 must be a number > 0, got 0"),
        (lambda p, **k: ba.geofence_events(p, {}, min_dwell_s=-1, **k),
         "min_dwell_s must be a number >= 0, got -1"),
        (lambda p, **k: ba.detect_trips(p, tz="Mars/Olympus", **k),
         "unknown time zone 'Mars/Olympus': use an IANA name such as Europe/Berlin, "
         "a mapping device_id -> zone, or 'auto'"),
    ],
)
@pytest.mark.parametrize("cluster", [False, True])
def test_analyses_check_arguments_before_reading(tmp_path, call, message, cluster):
    missing = tmp_path / "no-such-dataset"  # reading it would be an InputError
    # on a cluster the devices would be counted first: no scheduler listens on port 1
    extra = {"scheduler": "tcp://127.0.0.1:1"} if cluster else {}
    with pytest.raises(FormatError) as caught:
        call(missing, **extra)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: _report().build_report(p, speed_limit_kmh=0),
         "speed_limit_kmh must be a number > 0 or None, got 0"),
        (lambda p: _report().build_report(p, ignition_input=99),
         "ignition_input must be a whole number from 1 to 62, got 99"),
        (lambda p: ba.track_map(p, tolerance_m=-1), "tolerance_m must be a number > 0, got -1"),
        (lambda p: ba.track_map(p, max_points=1), "max_points must be a whole number >= 2, got 1"),
        (lambda p: _listen().Listener(p, port=70000),
         "port must be a whole number from 0 to 65535, got 70000"),
        (lambda p: _listen().listen(p, duration_s=0), "duration_s must be a number > 0 or None, got 0"),
    ],
)
def test_report_maps_and_listener_check_options_first(tmp_path, call, message):
    with pytest.raises(FormatError) as caught:
        call(tmp_path / "no-such-dataset")
    assert str(caught.value) == message


def _report():
    from bofan_analytics import report

    return report


def _listen():
    from bofan_analytics.io import listen

    return listen
