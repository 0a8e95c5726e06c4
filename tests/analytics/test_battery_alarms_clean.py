import numpy as np
import pandas as pd
import pytest
from helpers import T0, concat, drive, make_track, park, ts
from hypothesis import given, settings
from hypothesis import strategies as st

from bofan_analytics.analytics import alarms, battery_trends, charge_episodes, clean
from bofan_analytics.analytics.alarms import ALARM_COLUMNS
from bofan_analytics.analytics.battery import BATTERY_COLUMNS
from bofan_analytics.errors import FormatError


def readings(pct, *, step_s=1800, device="350000000000001", msg_type="B33"):
    n = len(pct)
    return pd.DataFrame({
        "device_id": pd.array([device] * n, dtype="str"),
        "time": pd.DatetimeIndex([ts(i * step_s) for i in range(n)], dtype="datetime64[ms, UTC]"),
        "msg_type": pd.array([msg_type] * n, dtype="str"),
        "battery_pct": np.asarray(pct, dtype=float),
    })


# 3 %/h drain, sampled every 30 min, with ±1 noise; charge 40 %/h; drain again
NOISE = [0, 1, -1, 1, 0, -1, 1, -1, 0, 1, 0, -1, 1, 0, -1, 1, -1, 0, 1, 0]
DRAIN1 = [80 - 1.5 * i + NOISE[i] for i in range(20)]          # 80 .. 51.5, 10 h
CHARGE = [70.0, 90.0, 100.0, 100.0]                            # plugged after DRAIN1
DRAIN2 = [100 - 1.5 * i + NOISE[i] for i in range(1, 14)]       # 6.5 h


def test_drain_charges_and_hours_left():
    frame = readings(DRAIN1 + CHARGE + DRAIN2)
    out = battery_trends(frame)
    assert list(out.columns) == list(BATTERY_COLUMNS)
    row = out.iloc[0]
    assert row.charges == 1
    assert row.drain_pct_per_h == pytest.approx(3.0, abs=0.15)
    assert row.first_pct == 80 and row.last_pct == DRAIN2[-1]
    # hours left at the drain of the latest span: the readings since the top of the charge
    latest = -np.polyfit(np.arange(len(DRAIN2)) * 0.5, DRAIN2, 1)[0]
    assert row.hours_left == pytest.approx(row.last_pct / latest)
    assert row.low_battery_events == 0
    episodes = charge_episodes(frame)
    assert list(episodes.start_time) == [ts(19 * 1800)]   # last reading before the rise
    assert list(episodes.end_time) == [ts(22 * 1800)]     # first reading at the top
    assert list(episodes.end_pct) == [100]


def test_a_charge_from_a_devices_first_reading_starts_there():
    # min_charge_pct=0: the first reading already counts as charging; there is no reading
    # before it, so the episode starts at it (not at the row before: the other device's)
    frame = pd.concat([readings([50.0, 60.0], step_s=60, device="a"),
                       readings([50.0, 60.0], step_s=60, device="b")], ignore_index=True)
    episodes = charge_episodes(frame, min_charge_pct=0)
    assert list(episodes.device_id) == ["a", "b"]
    assert list(episodes.start_time) == [ts(0), ts(0)]
    assert list(episodes.end_time) == [ts(60), ts(60)]
    assert list(episodes.duration_s) == [60.0, 60.0]
    assert list(episodes.start_pct) == [50.0, 50.0]
    assert list(episodes.end_pct) == [60.0, 60.0]


def test_hours_left_from_the_latest_drain_and_no_negative_zero():
    # 3 %/h before the charge, 6 %/h after it (a new app on the phone): 6 counts now
    fast = [100 - 3.0 * i for i in range(1, 11)]            # 97 .. 70 over 4.5 h
    row = battery_trends(readings(DRAIN1 + CHARGE + fast)).iloc[0]
    assert row.hours_left == pytest.approx(70 / 6.0)
    assert 3.0 < row.drain_pct_per_h < 6.0  # the fit over both spans
    flat = battery_trends(readings([100.0] * 6)).iloc[0]
    assert flat.drain_pct_per_h == 0.0 and np.signbit(flat.drain_pct_per_h) == False  # noqa: E712
    assert np.isnan(flat.hours_left)


def test_noise_alone_is_no_charge_and_low_battery_counts_once_per_dip():
    dips = [30, 25, 21, 19, 20, 19, 21, 18, 17, 23, 24, 22, 15, 14]
    out = battery_trends(readings(dips), low_pct=20)
    assert out.charges[0] == 0
    assert out.low_battery_events[0] == 2   # 19 (noise back to 20/21 does not re-arm), 15


def test_charging_at_the_end_has_no_hours_left():
    out = battery_trends(readings(DRAIN1 + CHARGE[:2]))
    assert out.charges[0] == 1 and np.isnan(out.hours_left[0])


def test_many_devices_and_messages_without_battery():
    a = readings(DRAIN1, device="a")
    b = readings([100.0 * 15 / 15] * 5, device="b", msg_type="POS")   # PT-502 full level
    other = readings([np.nan] * 3, device="c")
    out = battery_trends(pd.concat([b, other, a]))
    assert list(out.device_id) == ["a", "b"]
    assert out.drain_pct_per_h[1] == 0 and np.isnan(out.hours_left[1])


def test_battery_empty():
    out = battery_trends(readings([]))
    assert out.empty and list(out.columns) == list(BATTERY_COLUMNS)
    assert out.charges.dtype == np.int64
    assert charge_episodes(readings([])).empty


def test_alarms_table():
    track = make_track(concat(park(0, 60, 0, 0), drive(60, (0, 0), (500, 0), 50)),
                       alarms={2: "sos", 4: "hard_braking", 5: "sos"})
    no_fix = track.iloc[[3]].assign(alarm="power_cut", lat=np.nan, lon=np.nan, msg_type="CPA")
    frame = pd.concat([track, track.iloc[[2]], no_fix])   # the sos frame repeated
    out = alarms(frame)
    assert list(out.columns) == list(ALARM_COLUMNS)
    assert list(out.alarm) == ["sos", "power_cut", "hard_braking", "sos"]
    assert list(out.time) == [ts(20), ts(30), ts(40), ts(50)]
    assert np.isnan(out.lat[1])
    assert list(alarms(frame, kinds=["sos"]).time) == [ts(20), ts(50)]
    with pytest.raises(FormatError, match="sos"):
        alarms(frame, kinds=["panic"])
    assert alarms(frame.drop(columns="alarm")).empty


def test_clean_reports_each_filter():
    track = make_track(concat(park(0, 50, 0, 0), drive(50, (0, 0), (1000, 0), 72)))
    track.loc[1, ["lat", "lon"]] = 0.0
    track.loc[2, "valid"] = False
    track.loc[8, "lat"] += 0.5          # 55 km away for 10 s
    future = track.iloc[[0]].assign(time=T0 + pd.Timedelta(days=30))
    frame = pd.concat([track, track.iloc[[5]], future], ignore_index=True)
    kept, removed = clean(frame, max_speed_kmh=250, min_distance_m=1, now=T0 + pd.Timedelta(hours=1))
    # input order; the copy of the fix at 50 s is the duplicate, the original too close
    assert list(zip(removed.time, removed.reason, strict=True)) == [
        (ts(10), "zero"), (ts(20), "invalid"), (ts(30), "too_close"), (ts(40), "too_close"),
        (ts(50), "too_close"), (ts(80), "jump"), (ts(50), "duplicate"),
        (ts(30 * 86400), "future")]
    assert len(kept) + len(removed) == len(frame)
    assert kept.time.is_monotonic_increasing
    everything, nothing = clean(frame, invalid=False, zero=False, duplicates=False, future_s=None)
    assert len(everything) == len(frame) and nothing.empty
    with pytest.raises(FormatError):
        clean(frame, max_speed_kmh=-5)


def test_empty_inputs_keep_their_columns():
    track = make_track([])
    kept, removed = clean(track)
    assert kept.empty and list(kept.columns) == list(track.columns)
    assert removed.empty and list(removed.columns) == [*track.columns, "reason"]
    out = alarms(track)
    assert out.empty and list(out.columns) == list(ALARM_COLUMNS)
    assert str(out.time.dtype) == "datetime64[ms, UTC]"


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), charges=st.integers(0, 3),
       drain=st.floats(1.0, 5.0), step_min=st.sampled_from([15, 30]))
def test_planted_charges_are_counted_and_drain_fitted(seed, charges, drain, step_min):
    """Discharge at ``drain`` %/h with ±1 noise, ``charges`` charges to 100 % at 40 %/h.

    The fitted drain is a least-squares slope over noisy readings: it is held to five of
    its standard errors (a reading's error: uniform ±1 noise, then rounding), at least
    0.25 %/h. A fixed 0.25 was 3.3 standard errors for one short span, and failed on one
    example in a few thousand."""
    rng = np.random.default_rng(seed)
    step_h = step_min / 60
    pct, level = [], 95.0
    sxx = 0.0  # sum of squared deviations of the drain readings' hours, span by span
    for k in range(charges + 1):
        n = int(30 / drain / step_h)                        # drain about 30 points
        for _ in range(n):
            pct.append(round(level + rng.uniform(-1, 1)))
            level -= drain * step_h
        sxx += step_h**2 * n * (n * n - 1) / 12
        if k < charges:
            while level < 100:                              # charge, noise-free, capped
                level = min(100.0, level + 40 * step_h)
                pct.append(round(level))
    out = battery_trends(readings(pct, step_s=step_min * 60))
    assert out.charges[0] == charges
    reading_sd = (1 / 3 + 1 / 12) ** 0.5
    tolerance = max(0.25, 5 * reading_sd / sxx**0.5)
    assert out.drain_pct_per_h[0] == pytest.approx(drain, abs=tolerance)
