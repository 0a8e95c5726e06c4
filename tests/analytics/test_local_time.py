"""``tz=``: one zone, a mapping, ``"auto"``; local ``start``/``end``; daylight-saving nights."""

import datetime as dt

import pandas as pd
import pytest
from helpers import concat, drive, make_track, park, ts

from bofan_analytics.analytics import (
    alarms,
    battery_trends,
    detect_stops,
    detect_trips,
    find_overspeed,
    geofence_events,
)
from bofan_analytics.analytics._tz import resolve_tz, single_zone
from bofan_analytics.errors import FormatError

A, B = "860000000000001", "860000000000002"


def one_trip(device=A, start=None, **kw):
    fixes = concat(park(0, 600, 0, 0), drive(600, (0, 0), (2000, 0), 50),
                   park(754, 1504, 2000, 0))
    if start is not None:
        kw["start"] = start
    return make_track(fixes, device=device, **kw)


def moved(frame, lat, lon):
    """The same track placed around (lat, lon) instead of the helpers' origin."""
    out = frame.copy()
    out["lat"] += lat - 52.0
    out["lon"] += lon - 13.0
    return out


def test_one_zone_converts_every_time_column():
    trips = detect_trips(one_trip(), tz="Europe/Berlin")
    assert str(trips.start_time.dtype) == "datetime64[ms, Europe/Berlin]"
    assert trips.start_time.iloc[0] == ts(610)  # the same instant ...
    assert trips.start_time.iloc[0].strftime("%H:%M:%S %Z") == "08:10:10 CET"  # ... local
    stops = detect_stops(one_trip(), tz="Europe/Berlin")
    assert stops.end_time.iloc[0].strftime("%H:%M:%S") == "08:10:10"


def test_mapping_gives_each_device_its_zone():
    both = pd.concat([one_trip(A), one_trip(B)], ignore_index=True)
    trips = detect_trips(both, tz={A: "Europe/Berlin", B: "America/New_York"})
    assert trips.start_time.dtype == object
    assert [t.strftime("%H:%M %Z") for t in trips.start_time] == ["08:10 CET", "02:10 EST"]
    # the same instants: back to one UTC column
    assert list(pd.to_datetime(trips.start_time, utc=True)) == [ts(610), ts(610)]
    # a mapping that puts every device in one zone gives an ordinary column
    same = detect_trips(both, tz={A: "Asia/Tokyo", B: "Asia/Tokyo"})
    assert str(same.start_time.dtype) == "datetime64[ms, Asia/Tokyo]"
    # a device the mapping leaves out stays UTC
    partly = detect_trips(both, tz={A: "Europe/Berlin"})
    assert [t.strftime("%H:%M %Z") for t in partly.start_time] == ["08:10 CET", "07:10 UTC"]


def test_auto_finds_the_zone_of_the_median_position():
    both = pd.concat([moved(one_trip(A), 52.52, 13.40), moved(one_trip(B), 40.71, -74.0)],
                     ignore_index=True)
    trips = detect_trips(both, tz="auto")
    assert [t.tzinfo.key for t in trips.start_time] == ["Europe/Berlin", "America/New_York"]
    assert resolve_tz("auto", None if False else _track(both)) == {
        A: "Europe/Berlin", B: "America/New_York"}
    # one device: one zone, an ordinary column
    alone = detect_stops(moved(one_trip(A), 35.68, 139.69), tz="auto")
    assert str(alone.start_time.dtype) == "datetime64[ms, Asia/Tokyo]"


def _track(frame):
    from bofan_analytics.analytics._track import prepare

    return prepare(frame)


def test_every_analysis_takes_the_same_tz():
    track = one_trip(battery=[50.0] * 152, alarms={3: "sos"})
    zone = "Europe/Berlin"
    assert str(alarms(track, tz=zone).time.dtype) == f"datetime64[ms, {zone}]"
    assert str(battery_trends(track, tz="auto").first_time.dtype) == f"datetime64[ms, {zone}]"
    over = find_overspeed(track, limit_kmh=40, tz={A: zone})
    assert str(over.start_time.dtype) == f"datetime64[ms, {zone}]"
    fence = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"name": "yard", "radius_m": 100},
        "geometry": {"type": "Point", "coordinates": [13.0, 52.0]}}]}
    events = geofence_events(track, fence, tz=zone)
    # the first fix outside the 100 m circle: 139 m out at 610 s
    assert [t.strftime("%H:%M:%S") for t in events.time] == ["08:10:10"]


def test_naive_start_and_end_are_read_in_the_one_zone():
    track = one_trip()
    # 08:10:15 Berlin is 07:10:15 UTC: the trip starting at 07:10:10 UTC is cut off
    late = detect_trips(track, tz="Europe/Berlin", start="2026-11-02 08:10:15")
    assert late.start_time.iloc[0] == ts(620)
    # as UTC the same text is after everything
    assert detect_trips(track, start="2026-11-02 08:10:15").empty
    # a bare end date ends at the local midnight: Berlin's 2 Nov ends 23:00 UTC
    evening = make_track(park(0, 3600, 0, 0), start=pd.Timestamp("2026-11-02T22:30:00Z"))
    kept = detect_stops(evening, tz="Europe/Berlin", end="2026-11-02")
    assert kept.end_time.iloc[0] == pd.Timestamp("2026-11-02T22:59:50Z")
    assert detect_stops(evening, end="2026-11-02").end_time.iloc[0] == pd.Timestamp(
        "2026-11-02T23:30:00Z")
    assert single_zone({A: "Europe/Berlin", B: "Europe/Berlin"}) == "Europe/Berlin"
    assert single_zone({A: "Europe/Berlin", B: "UTC"}) is None
    assert single_zone("auto") is None


def test_the_night_the_clocks_go_back_is_an_hour_long_trip_not_an_error():
    # Berlin, 25 Oct 2026: 03:00 CEST becomes 02:00 CET. A trip from 00:30 to 01:30 UTC
    # starts at 02:30 CEST and ends at 02:30 CET, one real hour later.
    night = make_track(concat(park(0, 600, 0, 0), drive(600, (0, 0), (50_000, 0), 50),
                              park(4200, 4800, 50_000, 0)),
                       start=pd.Timestamp("2026-10-25T00:20:00Z"))
    trip = detect_trips(night, tz="Europe/Berlin").iloc[0]
    assert trip.start_time.strftime("%H:%M:%S%z") == "02:30:10+0200"
    assert trip.end_time.strftime("%H:%M:%S%z") == "02:30:00+0100"
    assert trip.duration_s == 3590.0
    assert trip.end_time - trip.start_time == pd.Timedelta(seconds=3590)
    # a local start inside the repeated hour is read as its later (standard-time) instant
    later = detect_stops(night, tz="Europe/Berlin", start="2026-10-25 02:35")
    assert later.start_time.iloc[0] == pd.Timestamp("2026-10-25T01:35:00Z")
    # and a wall time the spring change skips moves forward, no error
    spring = make_track(park(0, 7200, 0, 0), start=pd.Timestamp("2026-03-29T00:00:00Z"))
    kept = detect_stops(spring, tz="Europe/Berlin", start="2026-03-29 02:30")
    assert kept.start_time.iloc[0] == pd.Timestamp("2026-03-29T01:00:00Z")


def test_bad_zones_are_refused_with_the_choices():
    with pytest.raises(FormatError, match="Europe/Berlin.*'auto'"):
        detect_trips(one_trip(), tz="Mars/Olympus")
    with pytest.raises(FormatError, match="Mars"):
        detect_trips(one_trip(), tz={A: "Mars/Olympus"})
    assert resolve_tz(dt.timezone.utc) is dt.timezone.utc


def test_read_positions_gives_local_times_and_reads_bounds_locally(tmp_path):
    from pathlib import Path

    import bofan_analytics as ba

    sample = Path(__file__).resolve().parents[2] / "data" / "samples" / "fleet.log"
    ba.convert([sample], tmp_path / "ds")
    utc = ba.read_positions(tmp_path / "ds")
    device = utc.device_id.iloc[0]
    local = ba.read_positions(tmp_path / "ds", devices=device, tz="Asia/Tokyo",
                              start="2026-11-02 15:00", end="2026-11-02 16:00")
    assert str(local.time.dtype) == "datetime64[ms, Asia/Tokyo]"
    # 15:00-16:00 in Tokyo is 06:00-07:00 UTC
    mine = utc[(utc.device_id == device)
               & (utc.time >= pd.Timestamp("2026-11-02T06:00Z"))
               & (utc.time <= pd.Timestamp("2026-11-02T07:00Z"))]
    assert len(local) == len(mine) > 0
    assert list(pd.to_datetime(local.time, utc=True)) == list(mine.time)


def test_maps_and_charts_show_local_times_with_their_zone():
    from bofan_analytics.viz import battery_chart, track_map

    track = one_trip(battery=[50.0 - i * 0.1 for i in range(152)])
    page = track_map(track, tiles=None, tz="Europe/Berlin").get_root().render()
    assert "2026-11-02 08:10:10 CET" in page and "07:10:10 UTC" not in page
    svg = battery_chart(track, tz="Europe/Berlin").svg
    assert "11-02 08:25 Europe/Berlin" in svg
    assert "11-02 07:25 UTC" in battery_chart(track).svg
