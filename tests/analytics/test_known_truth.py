"""Every episode planted by the sample generator is found, at the right time, and nothing else.

The fleet (PT-502 vehicles and PT-60 personal trackers, two days) goes in as the decoder
would hand it over: every frame in arrival order, with duplicated frames, invalid fixes,
heartbeats without a position and a coverage gap uploaded late.

Exact for everything the frames pin down. Two documented tolerances:

* PT-60 trackers send no speed: the fix a walker makes a few metres from home as it sets
  off is told from parked jitter by the hops around it, which fails when the last parked
  report came only moments before (a few percent of departures): their trip and stop
  boundaries are checked to within one fix.
* Charges are planted at the moment of plugging in and of reaching 100 %, which fall
  between battery readings: the detected episode starts at the last reading before the
  rise (readings taken in the first minutes on the charger are within the noise of the
  discharge, so that can be up to ten minutes late) and ends at the first reading at the top (which
  rounding can show one reading before the battery is really full).
"""

import numpy as np
import pandas as pd
import pytest

import bofan_analytics as ba
from bofan_analytics.analytics.battery import charge_episodes
from bofan_analytics.samples import SPEED_LIMIT_KMH, generate_fleet


@pytest.fixture(scope="module", params=[4, 11])
def fleet(request):
    return generate_fleet(seed=request.param)


@pytest.fixture(scope="module")
def messages(fleet):
    fr = fleet.frames
    return pd.DataFrame({
        "device_id": pd.array(fr["device_id"].astype(str), dtype="str"),
        "time": pd.to_datetime(fr["time_ms"], unit="ms", utc=True).astype("datetime64[ms, UTC]"),
        "lat": fr["lat"].astype(float),
        "lon": fr["lon"].astype(float),
        "speed_kmh": fr["speed_kmh"].astype(float),
        "valid": fr["valid"].fillna(False).astype(bool),
        "alarm": pd.array(fr["alarm"], dtype="str"),
        "battery_pct": fr["battery_pct"].astype(float),
        "odometer_m": fr["odometer_m"].astype(float),
        "protocol": pd.array(fr["protocol"], dtype="str"),
        "msg_type": pd.array(fr["msg_type"], dtype="str"),
        "inputs": pd.array(fr["inputs"], dtype="str"),
        "driver_id": pd.array(fr["driver_id"], dtype="str"),
    })


def ms(values):
    return pd.to_datetime(pd.Series(values), unit="ms", utc=True).astype("datetime64[ms, UTC]")


def fix_times(messages, device, column="lat"):
    rows = messages[(messages.device_id == device) & messages[column].notna()]
    if column == "lat":
        rows = rows[rows.valid]
    return np.unique(rows.time.to_numpy(dtype="datetime64[ms]").astype(np.int64))


def index_of(times, t):
    i = int(np.searchsorted(times, t))
    assert times[i] == t, "not a fix time"
    return i


def check_episodes(found, truth, messages, protocols):
    """Same number per device; exact times for PT-502, within one fix for PT-60."""
    found = found.assign(device_id=found.device_id.astype(str))
    truth = truth.assign(device_id=truth.device_id.astype(str))
    assert found.groupby("device_id").size().to_dict() == truth.groupby("device_id").size().to_dict()
    for device, want in truth.groupby("device_id"):
        got = found[found.device_id == device]
        start = got.start_time.to_numpy(dtype="datetime64[ms]").astype(np.int64)
        end = got.end_time.to_numpy(dtype="datetime64[ms]").astype(np.int64)
        w_start, w_end = want.start_time.to_numpy(np.int64), want.end_time.to_numpy(np.int64)
        if protocols[device] == "pt502":
            assert list(start) == list(w_start), device
            assert list(end) == list(w_end), device
        else:
            times = fix_times(messages, device)
            for a, b in ((start, w_start), (end, w_end)):
                steps = [abs(index_of(times, x) - index_of(times, y)) for x, y in zip(a, b, strict=True)]
                assert max(steps) <= 1, device


@pytest.fixture(scope="module")
def protocols(messages):
    return messages.groupby("device_id").protocol.first().to_dict()


def test_trips(fleet, messages, protocols):
    trips = ba.detect_trips(messages)
    truth = fleet.episodes["trips"]
    check_episodes(trips, truth, messages, protocols)
    # over the same fixes, the same path and top speed
    vehicles = truth[truth.protocol == "pt502"].sort_values(["device_id", "start_time"],
                                                           key=lambda c: c.astype(str))
    found = trips[trips.device_id.map(protocols) == "pt502"]
    assert list(found.distance_m) == pytest.approx(list(vehicles.distance_m), rel=1e-6)
    assert list(found.max_speed_kmh) == pytest.approx(list(vehicles.max_speed_kmh))


def test_stops(fleet, messages, protocols):
    stops = ba.detect_stops(messages)
    truth = fleet.episodes["stops"]
    check_episodes(stops, truth, messages, protocols)
    assert list(stops.open) == list(truth.sort_values(["device_id", "start_time"]).open_ended)


def test_overspeed(fleet, messages):
    for found, truth in [
        # the generator's truth lists every run over the limit, single fixes too
        (ba.find_overspeed(messages, limit_kmh=SPEED_LIMIT_KMH, min_duration_s=0),
         fleet.episodes["overspeed"]),
        (ba.find_overspeed(messages, limit_kmh=SPEED_LIMIT_KMH, geofences=fleet.geofences,
                           min_duration_s=0),
         fleet.episodes["zone_overspeed"]),
    ]:
        truth = truth.sort_values(["device_id", "start_time"], key=lambda c: c.astype(str))
        assert list(found.device_id) == list(truth.device_id.astype(str))
        assert list(found.start_time) == list(ms(truth.start_time))
        assert list(found.end_time) == list(ms(truth.end_time))
        assert list(found.max_speed_kmh) == pytest.approx(list(truth.max_speed_kmh))
        assert list(found.limit_kmh) == list(truth.limit_kmh)
        if "geofence" in truth:
            assert list(found.geofence.fillna("-")) == list(truth.geofence.fillna("-"))


def test_geofence_crossings(fleet, messages):
    found = ba.geofence_events(messages, fleet.geofences)
    truth = fleet.episodes["geofence_events"]
    key = ["device_id", "time", "geofence"]
    truth = truth.assign(device_id=truth.device_id.astype(str), time=ms(truth.time))
    truth = truth.sort_values(key).reset_index(drop=True)
    found = found.assign(device_id=found.device_id.astype(str), geofence=found.geofence.astype(str),
                         event=found.event.astype(str)).sort_values(key).reset_index(drop=True)
    assert len(truth) > 0
    for column in ["device_id", "geofence", "event", "time", "lat", "lon"]:
        assert list(found[column]) == list(truth[column]), column


def test_charges_and_drain(fleet, messages):
    found = charge_episodes(messages)
    truth = fleet.episodes["charges"]
    assert found.groupby(found.device_id.astype(str)).size().to_dict() == \
        truth.groupby(truth.device_id.astype(str)).size().to_dict()
    for device, want in truth.groupby("device_id"):
        got = found[found.device_id == str(device)]
        readings = fix_times(messages, str(device), "battery_pct")
        for start, end, w_start, w_end in zip(
                got.start_time.to_numpy(dtype="datetime64[ms]").astype(np.int64),
                got.end_time.to_numpy(dtype="datetime64[ms]").astype(np.int64),
                want.start_time, want.end_time, strict=True):
            # from the last reading before the plug-in to ten minutes after it: the first
            # readings on the charger can still look like the discharge
            i = int(np.searchsorted(readings, w_start, side="right")) - 1
            assert readings[i] <= start <= w_start + 600_000, device
            if not pd.isna(w_end):
                # the first reading at the top; rounding can show 100 % a little early
                j = index_of(readings, end)
                assert readings[j - 1] <= w_end <= readings[min(j + 1, len(readings) - 1)], device
    trends = ba.battery_trends(messages).set_index("device_id")
    for row in fleet.episodes["battery"].itertuples():
        assert trends.loc[row.device_id, "drain_pct_per_h"] == pytest.approx(row.drain_pct_per_h,
                                                                             abs=0.1)
    assert trends.charges.sum() == len(truth)


def test_alarms(fleet, messages):
    found = ba.alarms(messages)
    truth = fleet.episodes["alarms"].sort_values(["device_id", "time", "alarm"],
                                                 key=lambda c: c.astype(str))
    assert list(zip(found.device_id, found.time, found.alarm, strict=True)) == list(
        zip(truth.device_id.astype(str), ms(truth.time), truth.alarm.astype(str), strict=True))


def test_each_trip_has_its_driver_and_engine_time(fleet, messages, protocols):
    trips = ba.detect_trips(messages, ignition_input=2)
    truth = fleet.episodes["trips"]
    found = trips[trips.device_id.map(protocols) == "pt502"]
    want = truth[truth.protocol == "pt502"].sort_values(["device_id", "start_time"],
                                                        key=lambda c: c.astype(str))
    assert list(found.driver_id.fillna("-")) == list(want.driver_id.fillna("-"))
    assert list(found.engine_s) == list(want.engine_s)
    walkers = trips[trips.device_id.map(protocols) == "pt60"]
    assert walkers.engine_s.isna().all() and walkers.driver_id.isna().all()


def test_per_device_per_local_day(fleet, messages, protocols):
    zones = dict(zip(fleet.episodes["zones"].device_id, fleet.episodes["zones"].zone,
                     strict=True))
    days = ba.daily_summary(messages, tz=zones, ignition_input=2)
    days = days[days.device_id.map(protocols) == "pt502"]
    truth = fleet.episodes["daily"]
    got = pd.DataFrame({
        "device_id": days.device_id.astype(str).to_numpy(),
        "day": [t.strftime("%Y-%m-%d") for t in days.period_start],
        "distance_m": days.distance_m.to_numpy(),
        "engine_s": days.engine_s.to_numpy(),
        "trips": days.trips.to_numpy(),
    })
    got = got[(got.trips > 0) | (got.distance_m > 0)].reset_index(drop=True)
    want = truth.sort_values(["device_id", "day"], key=lambda c: c.astype(str))
    assert list(zip(got.device_id, got.day, strict=True)) == list(
        zip(want.device_id, want.day, strict=True))
    assert list(got.trips) == list(want.trips)
    assert list(got.engine_s) == pytest.approx(list(want.engine_s), abs=1e-6)
    assert list(got.distance_m) == pytest.approx(list(want.distance_m), rel=1e-6)
