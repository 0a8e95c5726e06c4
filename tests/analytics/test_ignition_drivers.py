"""Ignition (engine hours, engine-on idling, ignition trips) and drivers on tiny tracks."""

import numpy as np
import pandas as pd
import pytest
from helpers import concat, drive, make_track, park, ts

from bofan_analytics.analytics import detect_stops, detect_trips
from bofan_analytics.analytics._ignition import input_mask, input_state, mode_code
from bofan_analytics.errors import FormatError

FIXES = concat(park(0, 600, 0, 0), drive(600, (0, 0), (2000, 0), 50),
               park(754, 1504, 2000, 0))
T = [f[0] for f in FIXES]


def engine(on_from, off_at, *, as_int=False, other="00001"):
    """Input 2 on from ``on_from`` until (not including) ``off_at``; input 1 always on."""
    on, off = ("00011", other) if not as_int else (3, int(other, 2))
    return [on if on_from <= t < off_at else off for t in T]


def test_input_masks_from_strings_and_integers():
    frame = pd.DataFrame({"inputs": ["00010", "00001", None, "10", "abc", ""]})
    assert input_mask(frame).tolist() == [2, 1, -1, 2, -1, -1]
    ints = pd.DataFrame({"inputs": pd.array([2, 1, None], dtype="Int64")})
    assert input_mask(ints).tolist() == [2, 1, -1]
    # an integer column with nulls that pandas turned into floats, and Arrow-backed ints
    floats = pd.DataFrame({"inputs": [2.0, np.nan, 1.0]})
    assert input_mask(floats).tolist() == [2, -1, 1]
    arrow = pd.DataFrame({"inputs": pd.array([3, None], dtype="int64[pyarrow]")})
    assert input_mask(arrow).tolist() == [3, -1]
    assert input_state(np.array([2, 1, -1, 3]), 2).tolist() == [1, 0, -1, 1]
    assert input_mask(pd.DataFrame({"x": [1]})).tolist() == [-1]


@pytest.mark.parametrize("as_int", [False, True])
def test_engine_time_of_trips_and_stops(as_int):
    # engine on from 590 s to 764 s: 20 s at the kerb before, the whole trip, 20 s after
    track = make_track(FIXES, inputs=engine(590, 764, as_int=as_int))
    trip = detect_trips(track, ignition_input=2).iloc[0]
    assert (trip.start_time, trip.end_time) == (ts(610), ts(744))
    assert trip.engine_s == 134.0
    stops = detect_stops(track, ignition_input=2)
    assert stops.engine_idle_s.tolist() == [20.0, 20.0]
    # input 1 is on all the time: the whole timeline
    assert detect_stops(track, ignition_input=1).engine_idle_s.tolist() == [610.0, 760.0]


def test_without_an_input_engine_time_is_missing_not_zero():
    track = make_track(FIXES)
    assert np.isnan(detect_trips(track, ignition_input=2).engine_s.iloc[0])
    assert np.isnan(detect_trips(make_track(FIXES, inputs=engine(590, 764))).engine_s.iloc[0])
    assert np.isnan(detect_stops(track).engine_idle_s).all()
    with pytest.raises(FormatError, match="ignition_input must be a whole number from 1 to 62"):
        detect_trips(track, ignition_input=0)
    with pytest.raises(FormatError, match="needs ignition_input"):
        detect_trips(track, trip_mode="ignition")
    with pytest.raises(FormatError, match="move, ignition"):
        detect_trips(track, trip_mode="engine")


def test_a_data_gap_with_the_engine_on_is_not_engine_time():
    # parked with the engine reported on, the tracker silent for two hours, then off it goes
    fixes = concat(park(0, 600, 0, 0), park(7800, 7900, 0, 0),
                   drive(7900, (0, 0), (2000, 0), 50))
    track = make_track(fixes, inputs=["00010"] * len(fixes))
    stop = detect_stops(track, ignition_input=2, stop_gap_s=3600).iloc[0]
    assert stop.duration_s == 7910.0
    # 0-600 and 7800-7910 (to the departure fix); the silent 2 h say nothing
    assert stop.engine_idle_s == 710.0


def test_ignition_trips_run_from_edge_to_edge():
    track = make_track(FIXES, inputs=engine(590, 764))
    trips = detect_trips(track, trip_mode="ignition", ignition_input=2)
    assert len(trips) == 1
    trip = trips.iloc[0]
    # from the fix where the ignition is seen on to the first fix where it is seen off
    assert (trip.start_time, trip.end_time) == (ts(590), ts(764))
    assert trip.duration_s == 174.0 and trip.engine_s == 174.0
    # standing with the engine on: 590-600 before, 744-764 after
    assert trip.idle_s == 30.0
    assert trip.distance_m == pytest.approx(2000.0, abs=0.01)
    # an engine run that goes nowhere is not a trip
    kerb = make_track(FIXES, inputs=engine(100, 300))
    assert detect_trips(kerb, trip_mode="ignition", ignition_input=2).empty


def test_the_driver_is_the_rfid_seen_most_during_the_trip():
    # 5 fixes of the trip by A (610-650), then 10 by B (660-744); B parks the car
    drivers = [None if t < 610 else "A" if t <= 650 else "B" for t in T]
    trips = detect_trips(make_track(FIXES, drivers=drivers))
    assert trips.driver_id.tolist() == ["B"]
    assert trips.driver_id.isna().tolist() == [False]
    none = detect_trips(make_track(FIXES, drivers=[None] * len(T)))
    assert none.driver_id.isna().tolist() == [True]
    blank = detect_trips(make_track(FIXES, drivers=[""] * len(T)))
    assert blank.driver_id.isna().tolist() == [True]
    assert detect_trips(make_track(FIXES)).driver_id.isna().tolist() == [True]


def test_mode_kernel_ties_go_to_the_code_that_got_there_first():
    codes = np.array([0, 1, 1, 0, -1, -1, 2], np.int64)
    s = np.array([0, 4, 0], np.int64)
    e = np.array([3, 5, 6], np.int64)
    assert mode_code(codes, s, e, 3).tolist() == [1, -1, 1]


def test_positions_and_dataset_readers_carry_inputs_and_driver(tmp_path):
    from pathlib import Path

    import bofan_analytics as ba

    sample = Path(__file__).resolve().parents[2] / "data" / "samples" / "fleet.log"
    positions = ba.read_log(sample).positions()
    ba.convert([sample], tmp_path / "ds")
    read = ba.read_positions(tmp_path / "ds")
    for frame in (positions, read):
        vehicles = frame[frame.protocol == "pt502"]
        assert set(vehicles.inputs.dropna()) == {0, 2}  # schema 2: a bit mask, input 2 = bit 1
        assert vehicles.driver_id.notna().any() and frame.driver_id.isna().any()
    trips = ba.detect_trips(tmp_path / "ds", ignition_input=2)
    assert trips.driver_id.notna().sum() > 0 and (trips.engine_s > 0).sum() > 0
