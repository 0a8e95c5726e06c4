"""The protocols' vocabularies as data: one table each, read by the kernels (as constant
arrays), the sample generator and the test suite's reference decoder alike.

Adding an alarm sentence type is adding a row here; nothing depends on the order of the
rows or of ``schema.ALARMS``.
"""

import numpy as np

from ..schema import ALARMS

__all__ = ["PT502_ALARMS", "pt502_alarm_arrays"]

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
