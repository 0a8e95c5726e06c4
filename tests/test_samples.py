"""The sample-fleet generator: deterministic, grammatical, and its truth agrees with its frames.

These checks do not use the decoder: they read the frames the generator wrote with the
grammar regexes and compare the planted episodes with the frames themselves.
"""

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import zstandard

from bofan_analytics import schema
from bofan_analytics.samples import (
    FORMATS,
    PT60_B_FRAME_RE,
    PT60_G_FRAME_RE,
    PT502_FRAME_RE,
    SPEED_LIMIT_KMH,
    TRUTH_FRAME_COLUMNS,
    frames_table,
    generate_fleet,
    render_capture,
    write_samples,
)

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
PT502 = re.compile(PT502_FRAME_RE)
PT60_G = re.compile(PT60_G_FRAME_RE)
PT60_B = re.compile(PT60_B_FRAME_RE)
PHD = re.compile(r"^\$PHD(\d+),(\d+),$")
FUS = re.compile(r"^\$FUS(\d+),(.+)$")


@pytest.fixture(scope="module")
def fleet():
    return generate_fleet(seed=11)


@pytest.fixture(scope="module")
def small():
    return generate_fleet(seed=3, vehicles=3, personal=2, days=1)


def ms(value):
    return int(pd.Timestamp(value).value // 1_000_000)


def positions(frames):
    valid = frames["valid"].fillna(False).astype(bool)
    pos = frames[valid & ~frames["duplicate"] & frames["lat"].notna()]
    return pos.sort_values(["device_id", "time_ms"], kind="stable")


def haversine_m(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = (
        np.sin((p2 - p1) / 2) ** 2
        + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(h))


# ---------------------------------------------------------------- determinism


def test_same_seed_same_fleet_and_bytes(small):
    again = generate_fleet(seed=3, vehicles=3, personal=2, days=1)
    pd.testing.assert_frame_equal(small.frames, again.frames)
    for fmt in FORMATS:
        assert render_capture(small, fmt).data == render_capture(again, fmt).data


def test_other_seed_other_fleet(small):
    other = generate_fleet(seed=4, vehicles=3, personal=2, days=1)
    assert set(other.frames["device_id"]) != set(small.frames["device_id"])


def test_bad_arguments_are_refused(small):
    with pytest.raises(ValueError, match="days"):
        generate_fleet(days=0)
    with pytest.raises(ValueError, match="stream, lines, traccar"):
        render_capture(small, "pcap")


# ---------------------------------------------------------------- grammar


def test_every_frame_matches_its_grammar(fleet):
    for text, protocol in zip(fleet.frames["text"], fleet.frames["protocol"], strict=True):
        if protocol == "pt502":
            assert PT502.match(text) or PHD.match(text) or FUS.match(text), text
        else:
            assert (PT60_G if text.startswith("@G#@") else PT60_B).match(text), text


def test_pt502_fields_read_back_to_truth(fleet):
    fixes = fleet.frames[fleet.frames["protocol"].eq("pt502") & fleet.frames["time_ms"].notna()]
    for row in fixes.sample(300, random_state=1).itertuples():
        m = PT502.match(row.text)
        lat = int(m[5][:2]) + float(m[5][2:]) / 60
        lon = int(m[7][:3]) + float(m[7][3:]) / 60
        assert (-lat if m[6] == "S" else lat) == pytest.approx(row.lat, abs=1e-12)
        assert (-lon if m[8] == "W" else lon) == pytest.approx(row.lon, abs=1e-12)
        assert float(m[9]) * 1.852 == pytest.approx(row.speed_kmh, abs=1e-12)
        when = pd.Timestamp(f"20{m[11][4:]}-{m[11][2:4]}-{m[11][:2]}T{m[3]}", tz="UTC")
        assert ms(when) == row.time_ms
        assert (m[4] == "A") == row.valid
        assert m[16] == (row.driver_id or "")
        state = int(m[17], 16)
        assert (state >> 8) * 100 / 15 == row.battery_pct
        assert (state >> 4 & 15, state & 15) == (row.rssi, row.satellites)
        assert m[1] == row.msg_type or m[1].startswith("PHO")


def test_pt60_fields_read_back_to_truth(fleet):
    frames = fleet.frames[fleet.frames["protocol"] == "pt60"]
    for row in frames.itertuples():
        if row.text.startswith("@G#@"):
            m = PT60_G.match(row.text)
            assert f"G{m[1]}" == row.msg_type
            if row.msg_type == "G6":
                lat, lon = map(float, m[5].split(";"))
                assert (lat, lon) == (row.lat, row.lon)
            if row.msg_type == "G14":
                assert float(m[5].split(",")[1]) == row.battery_pct
            if row.msg_type == "G1":
                assert m[4] is None and pd.isna(row.time_ms)
        else:
            m = PT60_B.match(row.text)
            assert f"B{int(m[1])}" == row.msg_type
            assert float(m[5]) == row.battery_pct
            assert ms(pd.Timestamp(m[6], tz="UTC")) == row.time_ms
            assert (
                (m[7] is not None) == bool(row.valid)
                if row.msg_type == "B1"
                else pd.isna(row.valid)
            )


def test_device_ids_keep_leading_zeros(fleet):
    ids = fleet.frames.loc[fleet.frames["protocol"] == "pt502", "device_id"].unique()
    assert any(i.startswith("0") for i in ids)
    assert any(len(i) == 15 for i in ids) and any(len(i) < 12 for i in ids)


def test_both_hemispheres_are_covered(fleet):
    texts = "".join(fleet.frames["text"])
    for flag in (",S,", ",N,", ",E,", ",W,"):
        assert flag in texts


# ---------------------------------------------------------------- what is planted


def test_all_frame_kinds_and_alarms_are_planted(fleet):
    types = set(fleet.frames["msg_type"])
    assert {"POS", "HDA", "HDB", "IN1", "FDA", "CPA", "GOF", "TOW", "PHO", "PHD", "FUS"} <= types
    assert {"G1", "G6", "G13", "G14", "B1", "B3", "B33"} <= types
    alarms = set(fleet.frames["alarm"].dropna())
    assert alarms == {
        "sos",
        "geofence",
        "tow",
        "hard_acceleration",
        "hard_braking",
        "fatigue_driving",
        "power_cut",
    }
    assert alarms <= set(schema.ALARMS)
    assert (fleet.frames["msg_type"] == "FUS").sum() == 1
    assert (~fleet.frames["valid"].fillna(True).astype(bool)).sum() > 10


def test_alarm_truth_lists_every_alarm_frame(fleet):
    frames = fleet.frames[fleet.frames["alarm"].notna()]
    alarms = fleet.episodes["alarms"]
    assert len(alarms) == len(frames)
    assert sorted(zip(alarms["device_id"], alarms["time"], strict=True)) == sorted(
        zip(frames["device_id"], frames["time_ms"], strict=True)
    )


def test_duplicates_repeat_an_earlier_frame(fleet):
    frames = fleet.frames
    dups = frames[frames["duplicate"]]
    assert len(dups) >= 10
    for i, row in dups.iterrows():
        earlier = frames.loc[: i - 1]
        original = earlier[(earlier["text"] == row.text) & ~earlier["duplicate"]]
        assert len(original) == 1
        assert original["received_ms"].iloc[0] < row.received_ms


def test_late_frames_are_older_than_their_neighbours(fleet):
    frames = fleet.frames
    late = frames[frames["late"]]
    assert len(late) >= 16
    for _, group in frames[frames["time_ms"].notna()].groupby("device_id"):
        times = group["time_ms"].to_numpy()
        went_back = np.flatnonzero(np.diff(times) < 0) + 1
        # only a late upload (or a duplicate) puts a device's clock backwards in file order
        assert (
            group["late"].to_numpy()[went_back] | group["duplicate"].to_numpy()[went_back]
        ).all()
    first_late = late.index[0]
    assert frames.loc[first_late, "time_ms"] < frames.loc[first_late - 1, "time_ms"]
    assert frames["received_ms"].is_monotonic_increasing


def test_photo_chunks_make_one_jpeg(fleet):
    frames = fleet.frames
    pho = frames[frames["msg_type"] == "PHO"]
    assert len(pho) == 1
    start = pho.index[0]
    chunks = frames[frames["msg_type"] == "PHD"]
    assert list(chunks.index) == list(range(start + 1, start + 1 + len(chunks)))
    assert (chunks["payload"].map(len) <= 960).all()
    assert chunks["photo_offset"].tolist() == list(range(0, 960 * len(chunks), 960))
    data = b"".join(chunks["payload"])
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    assert len(data) == pho["photo_size"].iloc[0]
    assert pho["text"].iloc[0].startswith(f"$PHO{len(data)}-1,")


# ---------------------------------------------------------------- episodes agree with frames


def test_trips_run_from_first_moving_fix_to_arrival(fleet):
    pos = positions(fleet.frames)
    trips = fleet.episodes["trips"]
    vehicles = trips[trips["protocol"] == "pt502"]
    assert len(vehicles) >= 60
    for trip in vehicles.itertuples():
        track = pos[(pos["device_id"] == trip.device_id)]
        first = track[track["time_ms"] == trip.start_time]
        last = track[track["time_ms"] == trip.end_time]
        assert first["speed_kmh"].iloc[0] > 0
        assert last["speed_kmh"].iloc[0] == 0
        before = track[track["time_ms"] < trip.start_time]
        assert before.empty or before["speed_kmh"].iloc[-1] == 0
        inside = track[(track["time_ms"] >= trip.start_time) & (track["time_ms"] < trip.end_time)]
        gaps = np.diff(inside["time_ms"].to_numpy()) / 1000
        assert gaps.max() <= 40 or inside["time_ms"].is_monotonic_increasing
        assert 1000 < trip.distance_m < 30_000
        assert 20 < trip.max_speed_kmh <= 125


def test_drivers_badge_per_trip_and_the_ignition_is_on_while_driving(fleet):
    pos = positions(fleet.frames)
    trips = fleet.episodes["trips"]
    vehicles = trips[trips["protocol"] == "pt502"]
    assert vehicles["driver_id"].isna().sum() >= 5  # nobody badged in on every fifth trip
    assert vehicles["driver_id"].nunique() == 6
    assert (vehicles.groupby("driver_id")["device_id"].nunique() >= 2).all()
    for trip in vehicles.itertuples():
        track = pos[(pos["device_id"] == trip.device_id)
                    & pos["time_ms"].between(trip.start_time, trip.end_time)]
        moving = track.iloc[:-1]
        want = trip.driver_id if isinstance(trip.driver_id, str) else "-"
        assert set(moving["driver_id"].fillna("-")) == {want}
        assert (moving["inputs"] == "00010").all() and track["inputs"].iloc[-1] == "00000"
        assert trip.engine_s == (trip.end_time - trip.start_time) / 1000
    parked = pos[(pos["trip"] < 0) & (pos["protocol"] == "pt502")]
    assert parked["driver_id"].isna().all() and (parked["inputs"] == "00000").all()
    assert trips[trips["protocol"] == "pt60"]["engine_s"].isna().all()


def test_daily_truth_adds_up_to_the_trips(fleet):
    daily = fleet.episodes["daily"]
    trips = fleet.episodes["trips"]
    vehicles = trips[trips["protocol"] == "pt502"]
    totals = daily.groupby("device_id")[["distance_m", "engine_s", "trips"]].sum()
    want = vehicles.groupby("device_id").agg(distance_m=("distance_m", "sum"),
                                              engine_s=("engine_s", "sum"),
                                              trips=("start_time", "size"))
    assert totals["trips"].to_dict() == want["trips"].to_dict()
    assert totals["engine_s"].to_numpy() == pytest.approx(want["engine_s"].to_numpy())
    assert totals["distance_m"].to_numpy() == pytest.approx(want["distance_m"].to_numpy())
    zones = dict(zip(fleet.episodes["zones"].device_id, fleet.episodes["zones"].zone,
                     strict=True))
    assert set(zones.values()) == {"Africa/Johannesburg", "America/Bogota"}
    assert (daily["zone"] == daily["device_id"].map(zones)).all()


def test_traffic_lights_stop_for_at_most_90_seconds(fleet):
    pos = positions(fleet.frames)
    trips = fleet.episodes["trips"]
    lights = 0
    for trip in trips[trips["protocol"] == "pt502"].itertuples():
        track = pos[
            (pos["device_id"] == trip.device_id)
            & pos["time_ms"].between(trip.start_time, trip.end_time - 1)
        ]
        still = np.concatenate([[False], track["speed_kmh"].to_numpy() == 0, [False]])
        starts = np.flatnonzero(~still[:-1] & still[1:])
        ends = np.flatnonzero(still[:-1] & ~still[1:])
        t = track["time_ms"].to_numpy()
        for a, b in zip(starts, ends, strict=True):
            lights += 1
            assert (t[b - 1] - t[a]) / 1000 <= 90
    assert lights > 20


def test_stops_alternate_with_trips_and_last_ten_minutes(fleet):
    trips = fleet.episodes["trips"]
    stops = fleet.episodes["stops"]
    for device, device_trips in trips.groupby("device_id"):
        device_stops = stops[stops["device_id"] == device]
        assert len(device_stops) == len(device_trips) + 1
        assert device_stops["end_time"].iloc[:-1].tolist() == device_trips["start_time"].tolist()
        assert device_stops["start_time"].iloc[1:].tolist() == device_trips["end_time"].tolist()
    closed = stops[~stops["open_started"] & ~stops["open_ended"]]
    assert (closed["duration_s"] >= 600).all()


def test_parked_fixes_jitter_10_to_20_metres(fleet):
    pos = positions(fleet.frames)
    stops = fleet.episodes["stops"]
    for stop in stops[stops["device_id"].str.len() != 15].head(20).itertuples():
        track = pos[
            (pos["device_id"] == stop.device_id)
            & pos["time_ms"].between(stop.start_time, stop.end_time - 1)
        ]
        d = haversine_m(
            track["lat"].to_numpy(float), track["lon"].to_numpy(float), stop.lat, stop.lon
        )
        assert d.max() < 25


def test_reporting_intervals(fleet):
    pos = positions(fleet.frames)
    pos = pos[pos["msg_type"] == "POS"]
    moving = pos[pos["speed_kmh"] > 0]
    gaps = moving.groupby("device_id")["time_ms"].diff().dropna() / 1000
    assert gaps.median() < 30 and (gaps >= 10).mean() > 0.9
    walkers = fleet.episodes["trips"]
    walkers = walkers[walkers["protocol"] == "pt60"]
    speed_kmh = walkers["distance_m"] / ((walkers["end_time"] - walkers["start_time"]) / 1000) * 3.6
    assert speed_kmh.between(2.0, 6.5).all()


def test_overspeed_episodes_are_runs_above_the_limit(fleet):
    pos = positions(fleet.frames)
    over = fleet.episodes["overspeed"]
    assert len(over) >= 20
    for ep in over.itertuples():
        track = pos[
            (pos["device_id"] == ep.device_id) & pos["time_ms"].between(ep.start_time, ep.end_time)
        ]
        assert (track["speed_kmh"] > SPEED_LIMIT_KMH).all()
        assert track["speed_kmh"].max() == ep.max_speed_kmh
    fast = pos[pos["speed_kmh"] > SPEED_LIMIT_KMH]
    assert len(fast) == over["fixes"].sum()


def test_zone_overspeed_uses_the_zone_limits(fleet):
    pos = positions(fleet.frames)
    zones = fleet.episodes["zone_overspeed"]
    limits = {
        f["properties"]["name"]: f["properties"]["speed_limit_kmh"]
        for f in fleet.geofences["features"]
    }
    assert set(zones["geofence"].dropna()) == set(limits)
    for ep in zones.itertuples():
        assert ep.limit_kmh == (SPEED_LIMIT_KMH if pd.isna(ep.geofence) else limits[ep.geofence])
        track = pos[
            (pos["device_id"] == ep.device_id) & pos["time_ms"].between(ep.start_time, ep.end_time)
        ]
        assert (track["speed_kmh"] > ep.limit_kmh).all()
        assert len(track) == ep.fixes
    outside = zones[zones["geofence"].isna()]
    assert outside["fixes"].sum() <= fleet.episodes["overspeed"]["fixes"].sum()


def test_geofence_events_alternate(fleet):
    events = fleet.episodes["geofence_events"]
    names = {f["properties"]["name"] for f in fleet.geofences["features"]}
    assert set(events["geofence"]) == names
    for _, group in events.groupby(["device_id", "geofence"]):
        kinds = group["event"].tolist()
        assert all(a != b for a, b in zip(kinds, kinds[1:], strict=False))
    depot_exits = events[(events["geofence"] == "Depot") & (events["event"] == "exit")]
    assert depot_exits["device_id"].nunique() >= 6


def test_battery_drains_at_its_rate_and_charges_overnight(fleet):
    readings = fleet.frames[fleet.frames["battery_pct"].notna() & ~fleet.frames["duplicate"]]
    frames = readings[readings["protocol"] == "pt60"]
    charges = fleet.episodes["charges"]
    assert len(charges) >= 5
    assert (frames["battery_pct"] < 20).any()
    for charge in charges[charges["complete"]].itertuples():
        device = readings[readings["device_id"] == charge.device_id].sort_values("time_ms")
        during = device[device["time_ms"].between(charge.start_time, charge.end_time + 3_600_000)]
        assert during["battery_pct"].is_monotonic_increasing
        assert during["battery_pct"].iloc[-1] == 100
        before = device[device["time_ms"] < charge.start_time]["battery_pct"]
        assert before.iloc[-1] <= charge.start_pct + 4  # gauge noise and drain since
    # the vehicle whose power was cut charges when the power comes back
    assert set(charges["device_id"]) - set(frames["device_id"])
    overnight = charges[charges["device_id"].isin(frames["device_id"])]
    for battery in fleet.episodes["battery"].itertuples():
        assert 2 <= battery.drain_pct_per_h <= 5
        device = frames[frames["device_id"] == battery.device_id].sort_values("time_ms")
        first = device["time_ms"].iloc[0]
        morning = device[device["time_ms"].between(first, overnight["start_time"].min() - 1)]
        hours = (morning["time_ms"] - first) / 3_600_000
        slope = np.polyfit(hours, morning["battery_pct"], 1)[0]
        assert slope == pytest.approx(-battery.drain_pct_per_h, abs=0.3)


# ---------------------------------------------------------------- captures


def test_stream_offsets_point_at_frames(small):
    capture = render_capture(small, "stream")
    frames = capture.frames
    texts = small.frames["text"].tolist()
    for offset, text in zip(frames["offset"], texts, strict=True):
        assert capture.data[offset : offset + len(text)] == text.encode()
    assert capture.data.count(b"\xbf\xfb") >= 10
    assert capture.truth["rejects"] == 5


def test_lines_layout(small):
    capture = render_capture(small, "lines")
    lines = capture.data.decode("latin-1").splitlines()
    stamped = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (\$|@|AT|\+)")
    assert sum(bool(stamped.match(line)) for line in lines) == len(lines) - 1
    assert len(lines) == len(capture.frames) + capture.truth["rejects"]
    assert "PHD" not in set(capture.frames["msg_type"])
    pt60 = [line for line in lines if "@G#@" in line or "@B#@" in line]
    ended = sum(line.endswith(("@R#@", "@E#@")) for line in pt60)
    assert 0 < ended < len(pt60)
    for offset, text in zip(
        capture.frames["offset"], small.frames.query("msg_type != 'PHD'")["text"], strict=True
    ):
        assert capture.data[offset : offset + len(text)] == text.encode()


def test_traccar_layout(small):
    capture = render_capture(small, "traccar")
    lines = capture.data.decode("ascii").splitlines()
    data = re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  INFO: \[([TU][0-9a-f]{8}): (pt502|pt60) ([<>]) [\d.]+\] (.+)$"
    )
    matched = [data.match(line) for line in lines]
    other = [line for line, m in zip(lines, matched, strict=True) if not m]
    assert all(re.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  (INFO|WARN): ", line) for line in other)
    assert len(other) + sum(1 for m in matched if m and m[3] == ">") == capture.truth["log_lines"]
    reads = [m for m in matched if m and m[3] == "<"]
    hexed = [m for m in reads if re.fullmatch(r"([0-9a-f]{2})+", m[4])]
    assert len(reads) - len(hexed) > 10  # some payloads as text
    # reassemble each session's hex reads: every frame of the file is in there, in order
    by_session = {}
    for m in hexed:
        by_session.setdefault(m[1], bytearray()).extend(bytes.fromhex(m[4]))
    joined = b"".join(by_session.values())
    found = sum(text.encode() in joined for text in small.frames["text"])
    assert found > 0.8 * len(capture.frames)
    # split reads (a frame cut between two lines) and merged reads (two frames in one)
    assert sum(1 for m in hexed if not m[4].endswith(("0d0a", "40522340", "40452340"))) >= 3
    assert sum(bytes.fromhex(m[4]).count(b"\r\n") >= 2 for m in hexed) >= 1


def test_truth_frames_table_has_message_types(small):
    capture = render_capture(small, "lines")
    table = frames_table(capture.frames)
    assert table.column_names == list(TRUTH_FRAME_COLUMNS)
    for name in table.column_names:
        if name in schema.MESSAGES.names:
            assert table.schema.field(name).type == schema.MESSAGES.field(name).type
    json.dumps(capture.truth)


# ---------------------------------------------------------------- the committed set


def _content(path):
    """File content, decompressed: compressor output may differ between library versions."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        return gzip.decompress(data)
    if path.suffix == ".zst":
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def test_committed_samples_are_what_the_script_writes(tmp_path):
    written = write_samples(tmp_path)
    assert sorted(written) == sorted(
        p.name for p in SAMPLES.iterdir() if p.is_file() and p.name != "README.md"
    )
    for name, path in written.items():
        if name.endswith(".parquet"):
            assert pq.read_table(path).equals(pq.read_table(SAMPLES / name)), name
        else:
            assert _content(path) == _content(SAMPLES / name), name


def test_committed_samples_size_and_copies():
    files = [p for p in SAMPLES.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 5_000_000
    log = (SAMPLES / "fleet.log").read_bytes()
    assert gzip.decompress((SAMPLES / "fleet.log.gz").read_bytes()) == log
    server = (SAMPLES / "tracker-server.log").read_bytes()
    assert (
        zstandard.ZstdDecompressor()
        .decompressobj()
        .decompress((SAMPLES / "tracker-server.log.zst").read_bytes())
        == server
    )
    geofences = json.loads((SAMPLES / "geofences.geojson").read_text())
    kinds = {f["geometry"]["type"] for f in geofences["features"]}
    assert kinds == {"Polygon", "Point"}
    assert all("name" in f["properties"] for f in geofences["features"])
    assert any("speed_limit_kmh" in f["properties"] for f in geofences["features"])
    truth = json.loads((SAMPLES / "fleet.bin.truth.json").read_text())
    assert truth["frame_count"] == pq.read_metadata(SAMPLES / "fleet.bin.frames.parquet").num_rows
    assert {"trips", "stops", "overspeed", "geofence_events", "charges", "alarms"} <= set(truth)
