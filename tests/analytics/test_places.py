"""Places from stops: fixed seeds, exact visits and dwell, home/work rules, known truth."""

import math

import numpy as np
import pandas as pd
import pytest
from helpers import at

import bofan_analytics as ba
from bofan_analytics.analytics import places
from bofan_analytics.analytics.places import PLACE_COLUMNS, _cluster, _window_ms
from bofan_analytics.errors import FormatError, SchemaError

MONDAY = pd.Timestamp("2026-11-02T00:00:00Z")  # a Monday


def stop_rows(rows, device="A"):
    """Stops from ``(start_h, end_h, east_m, north_m)``, hours after Monday 00:00 UTC."""
    out = []
    for h0, h1, x, y in rows:
        lat, lon = at(x, y)
        out.append({"device_id": device, "start_time": MONDAY + pd.Timedelta(hours=h0),
                    "end_time": MONDAY + pd.Timedelta(hours=h1),
                    "duration_s": (h1 - h0) * 3600.0, "lat": lat, "lon": lon})
    return pd.DataFrame(out)


def naive_cluster(xy, radius_m):
    """The same rule, by looking at every seed: nearest seed within the radius, else new."""
    seeds, out = [], []
    for x, y in xy:
        d = [math.hypot(x - sx, y - sy) for sx, sy in seeds]
        near = [k for k, v in enumerate(d) if v <= radius_m]
        if near:
            out.append(min(near, key=lambda k: (d[k], k)))
        else:
            seeds.append((x, y))
            out.append(len(seeds) - 1)
    return out


def test_seeds_do_not_creep_and_the_nearest_seed_wins():
    # a chain 80 m apart: 0 and 80 join the seed at 0; 160 is 160 m from it, a new seed
    chain = stop_rows([(0, 1, 0, 0), (2, 3, 80, 0), (4, 5, 160, 0), (6, 7, 240, 0)])
    found = places(chain, min_visits=1)
    assert list(found.visits) == [2, 2]
    assert (found.lat[0], found.lon[0]) == pytest.approx(at(40, 0))
    assert (found.lat[1], found.lon[1]) == pytest.approx(at(200, 0))
    # a stop between two seeds joins the nearer (in a neighbouring grid square)
    between = stop_rows([(0, 1, 0, 0), (2, 3, 150, 0), (4, 5, 99, 0)])
    assert list(places(between, min_visits=1).visits) == [2, 1]
    assert places(between, min_visits=1).lon[0] == pytest.approx(at((150 + 99) / 2, 0)[1])


def test_kernel_matches_the_naive_reference():
    rng = np.random.default_rng(5)
    xy = rng.uniform(-600, 600, size=(400, 2))
    lat, lon = np.array([at(x, y) for x, y in xy]).T
    # the kernel projects around the first stop with its own cosine: compare in that frame
    m_per_deg = 6_371_008.8 * math.pi / 180
    coslat = math.cos(math.radians(lat[0]))
    local = np.column_stack([(lon - lon[0]) * m_per_deg * coslat, (lat - lat[0]) * m_per_deg])
    got = _cluster(lat, lon, np.array([0, 400], dtype=np.int64), 100.0)
    assert got.tolist() == naive_cluster(local.tolist(), 100.0)


def test_visits_dwell_and_home_work_labels():
    rows = []
    for day in range(5):  # Monday to Friday: nights at home, office hours at work
        d = 24 * day
        rows += [(d - 2 if day else 0, d + 7, 0, 0), (d + 8, d + 17, 3000, 0),
                 (d + 17.5, d + 18, 1500, 800)]
    rows += [(24 * 5 - 2, 24 * 5 + 9, 0, 0), (24 * 5 + 10, 24 * 5 + 20, 6000, 0),
             (24 * 6 + 10, 24 * 6 + 20, 6000, 0)]  # Saturday and Sunday out all day
    found = places(stop_rows(rows), label="home_work")
    assert list(found.columns) == [*PLACE_COLUMNS, "label"]
    assert list(found.visits) == [6, 5, 5, 2]
    assert found.label.isna().tolist() == [False, False, True, True]
    assert list(found.label[:2]) == ["home", "work"]
    assert list(found.place) == [0, 1, 2, 3]
    assert found.dwell_s[0] == (7 + 4 * 9 + 11) * 3600
    assert found.dwell_s[3] == 20 * 3600  # the weekend place: longest day, but no weekday
    assert (found.lat[1], found.lon[1]) == pytest.approx(at(3000, 0))
    assert found.first_visit[0] == MONDAY and found.last_visit[0] == MONDAY + pd.Timedelta(
        hours=129)
    # one visit is not a place
    assert len(places(stop_rows(rows), min_visits=6)) == 1


def test_night_and_office_hours_are_local():
    # stops 21:00-05:00 UTC are the whole night in Berlin (UTC+1) and 1 hour less in UTC;
    # a second place 06:00-07:00 UTC is 07:00-08:00 in Berlin: no night there
    rows = [(21, 29, 0, 0), (30, 31, 2000, 0), (45, 53, 0, 0), (54, 55, 2000, 0)]
    utc = places(stop_rows(rows), label="home_work")
    berlin = places(stop_rows(rows), label="home_work", tz="Europe/Berlin")
    assert list(utc.label.fillna("-")) == ["home", "-"]
    assert list(berlin.label.fillna("-")) == ["home", "-"]
    assert str(berlin.first_visit.dt.tz) == "Europe/Berlin"
    wall = lambda h: int((MONDAY + pd.Timedelta(hours=h)).value // 10**6)  # noqa: E731
    start, end = np.array([wall(21)]), np.array([wall(29)])
    assert _window_ms(start, end, 22, 6, False).tolist() == [7 * 3_600_000]
    assert _window_ms(start + 3_600_000, end + 3_600_000, 22, 6, False).tolist() == [
        8 * 3_600_000]
    # office hours: Friday 10:00 to Monday 10:00 covers Friday 8 h and Monday 2 h
    fri = np.array([wall(4 * 24 + 10)])
    assert _window_ms(fri, fri + 3 * 86_400_000, 8, 18, True).tolist() == [10 * 3_600_000]


def test_many_devices_unsorted_and_missing_positions():
    a = stop_rows([(0, 5, 0, 0), (8, 9, 500, 0), (22, 30, 0, 0)], device="A")
    b = stop_rows([(1, 2, 0, 0), (3, 4, 0, 0)], device="B")
    both = pd.concat([b, a]).sample(frac=1, random_state=2)
    both.loc[both.device_id == "A", "lat"] = both.loc[both.device_id == "A", "lat"].where(
        both.loc[both.device_id == "A", "start_time"] != MONDAY + pd.Timedelta(hours=8))
    found = places(both)
    assert list(found.device_id) == ["A", "B"]
    assert list(found.visits) == [2, 2]
    empty = places(a.iloc[:0], label="home_work")
    assert list(empty.columns) == [*PLACE_COLUMNS, "label"] and len(empty) == 0


def test_a_stop_without_a_device_is_left_out():
    # its device code would be -1: it must not count for the last device, nor make a place
    a = stop_rows([(0, 1, 0, 0), (24, 25, 0, 0)], device="A")
    lost = stop_rows([(2, 3, 5000, 0)], device=None)
    found = places(pd.concat([lost, a], ignore_index=True), min_visits=1)
    lat, lon = at(0, 0)
    assert list(found.device_id) == ["A"]
    assert list(found.place) == [0]
    assert list(found.lat) == [lat] and list(found.lon) == [lon]
    assert list(found.visits) == [2]
    assert list(found.dwell_s) == [7200.0]
    assert list(found.first_visit) == [MONDAY]
    assert list(found.last_visit) == [MONDAY + pd.Timedelta(hours=25)]


def test_bad_arguments():
    stops = stop_rows([(0, 1, 0, 0)])
    with pytest.raises(FormatError, match="radius_m"):
        places(stops, radius_m=0)
    with pytest.raises(FormatError, match="min_visits"):
        places(stops, min_visits=0)
    with pytest.raises(FormatError, match="label must be one of home_work"):
        places(stops, label="office")
    with pytest.raises(FormatError, match="time zone"):
        places(stops, tz="Atlantis/Capital")
    with pytest.raises(SchemaError, match="start_time"):
        places(stops.drop(columns="start_time"))


@pytest.mark.slow
def test_home_and_work_of_generated_walkers():
    from bofan_analytics.samples import generate_fleet, render_capture

    fleet = generate_fleet(seed=11, vehicles=1, personal=4, days=3)
    log = ba.read_log(render_capture(fleet, "lines").data)
    found = places(ba.detect_stops(log), label="home_work")
    truth = fleet.episodes["stops"]
    walkers = fleet.frames.loc[fleet.frames.protocol == "pt60", "device_id"].unique()
    assert len(walkers) == 4
    for device in walkers:
        mine = truth[truth.device_id == device].sort_values("start_time")
        # every walker sleeps at home: its first stay, and where each day ends
        home_lat, home_lon = mine.lat.iloc[0], mine.lon.iloc[0]
        work_lat, work_lon = mine.lat.iloc[1], mine.lon.iloc[1]
        got = found[found.device_id == device].set_index("label")
        for name, (lat, lon) in (("home", (home_lat, home_lon)), ("work", (work_lat, work_lon))):
            dy = (got.lat[name] - lat) * 111_195
            dx = (got.lon[name] - lon) * 111_195 * math.cos(math.radians(lat))
            assert math.hypot(dx, dy) < 30, (device, name)
