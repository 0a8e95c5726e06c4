"""A small two-device fleet whose strings try to inject markup, and its geofences."""

import numpy as np
import pandas as pd
import pytest
from _fleet import CAR, PAYLOAD, TRACKER
from helpers import at, concat, drive, make_track, park


@pytest.fixture
def fleet() -> pd.DataFrame:
    """A car (PT-502) with two trips, an overspeed leg and two alarms, one of them on a
    message whose type is :data:`PAYLOAD`; a personal tracker (PT-60, no speed) walking
    once, its battery draining from 50 % to 10 %."""
    car_fixes = concat(
        park(0, 600, 0, 0),
        drive(600, (0, 0), (3000, 0), 50),
        drive(816, (3000, 0), (3000, 4000), 120),
        park(936, 1800, 3000, 4000),
        drive(1800, (3000, 4000), (0, 0), 60),
        park(2100, 3000, 0, 0),
    )
    car = make_track(
        car_fixes,
        device=CAR,
        alarms={5: "sos", 40: "hard_braking"},
        battery=np.linspace(90, 70, len(car_fixes)),
    )
    car.loc[40, "msg_type"] = PAYLOAD
    walk = concat(
        park(0, 300, 500, 500),
        drive(300, (500, 500), (2500, 1500), 40, step_s=30),
        park(500, 2000, 2500, 1500, step_s=60),
    )
    tracker = make_track(
        walk, device=TRACKER, protocol="pt60", speed=False, battery=np.linspace(50, 10, len(walk))
    )
    return pd.concat([car, tracker], ignore_index=True)


@pytest.fixture
def fences() -> dict:
    """A circle named :data:`PAYLOAD` around the car's long stop, and a plain square."""
    lat, lon = at(3000, 4000)
    s_lat, w_lon = at(-500, -500)
    n_lat, e_lon = at(800, 800)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": PAYLOAD, "radius_m": 300},
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
            },
            {
                "type": "Feature",
                "properties": {"name": "depot"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [
                            [w_lon, s_lat],
                            [e_lon, s_lat],
                            [e_lon, n_lat],
                            [w_lon, n_lat],
                            [w_lon, s_lat],
                        ]
                    ],
                },
            },
        ],
    }
