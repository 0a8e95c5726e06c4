"""The protocols' vocabularies as data: one table each, read by the kernels (as constant
arrays), the sample generator and the test suite's reference decoder alike.

Adding an alarm sentence type is adding a row here; nothing depends on the order of the
rows or of ``schema.ALARMS``.
"""

import numpy as np

from ..schema import ALARMS

__all__ = [
    "PT502_ALARMS",
    "PT60_LAYOUTS",
    "PT60_LAYOUT_NAMES",
    "pt502_alarm_arrays",
    "pt60_layout_array",
]

#: PT-502 sentence type -> the alarm it reports (the ``alarm`` column)
PT502_ALARMS = {
    "IN1": "sos",
    "GOF": "geofence",
    "TOW": "tow",
    "HDA": "hard_acceleration",
    "HDB": "hard_braking",
    "FDA": "fatigue_driving",
    "SKA": "vibration",
    "PMA": "movement",
    "CPA": "power_cut",
}


def pt502_alarm_arrays():
    """``(types, codes)``: each type packed into an int64 as the kernels pack it (ASCII,
    first byte lowest) and its alarm's code (1 + its index in ``schema.ALARMS``).

    >>> types, codes = pt502_alarm_arrays()
    >>> int(codes[list(PT502_ALARMS).index("HDA")]) == 1 + ALARMS.index("hard_acceleration")
    True
    """
    types = np.array(
        [int.from_bytes(t.encode("ascii"), "little") for t in PT502_ALARMS], np.int64
    )
    codes = np.array([1 + ALARMS.index(a) for a in PT502_ALARMS.values()], np.int8)
    return types, codes


#: what follows the IMSI in a PT-60 frame, by (family, type). Every other type: the time,
#: then the rest kept as the raw ``payload``.
PT60_LAYOUTS = {
    ("G", 1): "no_time",  # login; fields a firmware adds are kept as payload
    ("G", 44): "no_time",  # heartbeat
    ("G", 2): "battery",  # power on: time, battery percent
    ("G", 6): "fix",  # time, lat;lon
    ("G", 13): "steps",  # time, step count
    ("G", 14): "heart_rate",  # time, heart rate, battery percent
    ("G", 43): "scan",  # time, cell towers mcc;mnc;lac;cid;rssi, Wi-Fi mac;ssid;rssi
    ("B", 1): "location",  # time, then by the last field: 1 lat|lon, 2 cells, 3 Wi-Fi + cells
    ("B", 3): "cells",  # time, cell towers cid,lac,mnc,mcc,rssi
    ("B", 6): "cells_or_fix",  # time, cell towers, or lat|lon first
    ("B", 33): "empty",  # time only
}
#: the layouts the kernel knows, in the order of their codes (0: time then payload)
PT60_LAYOUT_NAMES = (
    "payload", "no_time", "battery", "fix", "steps", "heart_rate", "scan", "location",
    "cells", "cells_or_fix", "empty",
)  # fmt: skip


def pt60_layout_array():
    """``layout[family, type]``: the code of each (family, type), family 0 for ``G`` and 1
    for ``B``, types 0-999.

    >>> int(pt60_layout_array()[0, 6]) == PT60_LAYOUT_NAMES.index("fix")
    True
    """
    out = np.zeros((2, 1000), np.int8)
    for (family, mtype), name in PT60_LAYOUTS.items():
        out["GB".index(family), mtype] = PT60_LAYOUT_NAMES.index(name)
    return out
