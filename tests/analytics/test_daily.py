"""daily_summary: local calendar days, trips split at midnight, DST days, weeks, months."""

import numpy as np
import pandas as pd
import pytest
from helpers import concat, drive, make_track, park

from bofan_analytics.analytics import daily_summary
from bofan_analytics.analytics.daily import DAILY_COLUMNS
from bofan_analytics.errors import FormatError

BERLIN = "Europe/Berlin"
# 22:40 UTC is 23:40 in Berlin: the trip below crosses Berlin's midnight (23:00 UTC) at 1200 s
START = pd.Timestamp("2026-11-02T22:40:00Z")
FIXES = concat(park(0, 600, 0, 0), drive(600, (0, 0), (20_000, 0), 60),
               park(1800, 2400, 20_000, 0))
T = [f[0] for f in FIXES]


def night_drive(**kw):
    return make_track(FIXES, start=START, odometer=[1000.0 + t for t in T], **kw)


def utc(text):
    return pd.Timestamp(text, tz="UTC")


def test_a_trip_over_midnight_counts_on_both_days():
    inputs = ["00010" if 590 <= t < 1810 else "00000" for t in T]
    days = daily_summary(night_drive(inputs=inputs), tz=BERLIN, ignition_input=2,
                         limit_kmh=50)
    assert list(days.columns) == list(DAILY_COLUMNS)
    assert [d.isoformat() for d in days.period_start] == [
        "2026-11-02T00:00:00+01:00", "2026-11-03T00:00:00+01:00"]
    # trip 610 s .. 1800 s, midnight at 1200 s (a fix), 60 km/h
    assert days.driving_s.tolist() == [590.0, 600.0]
    assert days.distance_m.tolist() == pytest.approx([590 / 3.6 * 60, 10_000.0], abs=0.05)
    assert days.trips.tolist() == [1, 0]   # counted where it starts
    assert days.stops.tolist() == [1, 1]
    assert days.idle_s.tolist() == [0.0, 0.0]
    assert days.engine_s.tolist() == [610.0, 610.0]  # on 590 .. 1810 s
    assert days.overspeed_s.tolist() == [590.0, 590.0]  # 610 .. 1790 s over 50 km/h
    assert days.max_speed_kmh.tolist() == [60.0, 60.0]
    assert list(pd.to_datetime(days.first_time, utc=True)) == [START, utc("2026-11-02T23:00")]
    assert list(pd.to_datetime(days.last_time, utc=True)) == [utc("2026-11-02T22:59:50"),
                                                              utc("2026-11-02T23:20")]
    assert str(days.first_time.dtype) == f"datetime64[ms, {BERLIN}]"
    assert days.start_odometer_m.tolist() == [1000.0, 2200.0]
    assert days.end_odometer_m.tolist() == [2190.0, 3400.0]


def test_in_utc_the_same_drive_is_one_day_and_unknowns_stay_missing():
    days = daily_summary(night_drive())
    assert [d.isoformat() for d in days.period_start] == ["2026-11-02T00:00:00+00:00"]
    assert days.driving_s.tolist() == [1190.0]
    assert days.distance_m.tolist() == pytest.approx([1190 / 3.6 * 60], abs=0.05)
    # no ignition input asked for, no limit given: missing, not zero
    assert np.isnan(days.engine_s).all() and np.isnan(days.overspeed_s).all()
    # an input asked for that the device never reports: missing too
    assert np.isnan(daily_summary(night_drive(), ignition_input=2).engine_s).all()


def test_weeks_and_months_start_on_local_mondays_and_firsts():
    week = daily_summary(night_drive(), tz=BERLIN, freq="W")
    assert [d.isoformat() for d in week.period_start] == ["2026-11-02T00:00:00+01:00"]
    assert week.driving_s.tolist() == [1190.0] and week.trips.tolist() == [1]
    month = daily_summary(night_drive(), tz=BERLIN, freq="M")
    assert [d.isoformat() for d in month.period_start] == ["2026-11-01T00:00:00+01:00"]
    with pytest.raises(FormatError, match="D, W, M"):
        daily_summary(night_drive(), freq="Y")


def test_the_day_the_clocks_go_back_has_25_hours():
    # parked with the engine running, a fix every 10 min, from Berlin's midnight of
    # 25 Oct 2026 (22:00 UTC on the 24th) to the next midnight (23:00 UTC on the 25th)
    fixes = park(0, 25 * 3600, 0, 0, step_s=600)
    track = make_track(fixes, start=utc("2026-10-24T22:00"), inputs=["00010"] * len(fixes))
    days = daily_summary(track, tz=BERLIN, ignition_input=2)
    assert [d.isoformat() for d in days.period_start] == [
        "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"]
    assert days.engine_s.tolist() == [25 * 3600.0, 0.0]
    assert [t.strftime("%H:%M%z") for t in days.last_time] == ["23:50+0100", "00:00+0100"]
    # and spring's has 23
    fixes = park(0, 23 * 3600, 0, 0, step_s=600)
    spring = make_track(fixes, start=utc("2026-03-28T23:00"), inputs=["00010"] * len(fixes))
    days = daily_summary(spring, tz=BERLIN, ignition_input=2)
    assert days.engine_s.tolist() == [23 * 3600.0, 0.0]


def test_devices_in_several_zones_each_get_their_own_calendar():
    a = night_drive(device="a")
    b = night_drive(device="b")
    days = daily_summary(pd.concat([a, b], ignore_index=True),
                         tz={"a": BERLIN, "b": "America/New_York"})
    assert days.device_id.tolist() == ["a", "a", "b"]
    assert [d.isoformat() for d in days.period_start] == [
        "2026-11-02T00:00:00+01:00", "2026-11-03T00:00:00+01:00",
        "2026-11-02T00:00:00-05:00"]
    assert days.driving_s.tolist() == [590.0, 600.0, 1190.0]


def test_nothing_in_nothing_out():
    days = daily_summary(make_track([]), tz=BERLIN)
    assert days.empty and list(days.columns) == list(DAILY_COLUMNS)
