"""Arrow schemas and column names: the one place both the code and the tests take them from.

Units are part of the names (``speed_kmh``, ``distance_m``, ``duration_s``); timestamps are
``timestamp[ms, tz=UTC]``. Missing values are null, never 0 or 0°/0°.

Schema versions
---------------
:data:`SCHEMA_VERSION` is written into the key-value metadata of every Parquet file the
package writes (key ``bofan_analytics.schema_version``) and checked when a dataset is read;
files of every version in :data:`SUPPORTED_SCHEMA_VERSIONS` are read, and upgraded to the
current one as they are.

- Version 2 (current): ``inputs`` and ``outputs`` are int32 bit masks read as binary
  (``00010`` -> 2: the last digit is input 1), ``adc`` a ``list<int32>`` (hex in the
  frame), and two new columns: ``fix_mode`` (the PT-502 mode letter before the first
  ``/``) and ``wifi_access_points`` (``list<struct<mac, ssid, rssi>>``).
- Version 1: ``inputs``, ``outputs`` and ``adc`` as the text of the frame, no ``fix_mode``
  nor ``wifi_access_points`` (:data:`MESSAGES_V1`).

The dataset layout on disk
(``DATASET/messages/date=YYYY-MM-DD/``, rows without any date under ``date=1970-01-01``)
is documented in :mod:`bofan_analytics.dataset`.
"""

import os

import pyarrow as pa

#: the environment variable through which Arrow lets a user choose its memory pool
ARROW_POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"


def _use_the_system_allocator() -> None:
    """Give Arrow the system allocator (glibc malloc) as its default memory pool, unless the
    user chose one in ``ARROW_DEFAULT_MEMORY_POOL``.

    pyarrow's bundled allocator hands freed memory back to the kernel within milliseconds;
    the decoder frees and allocates chunk-sized buffers on two threads all the time, and
    every buffer was then faulted in afresh. With malloc's retained heap a 51.5 MB line log
    decoded in 223-236 ms against 262-277 ms (medians of four runs each, same machine).
    """
    if ARROW_POOL_VARIABLE not in os.environ:
        pa.set_memory_pool(pa.system_memory_pool())


#: the environment variables through which a user tunes glibc's malloc: when one is set,
#: :func:`_keep_freed_memory` leaves malloc as the user has it
MALLOC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_",
                    "MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX")  # fmt: skip
#: a block up to this size is carved from malloc's heap and kept there when freed (the
#: largest threshold glibc takes: larger blocks are mapped and unmapped as before)
MALLOC_MMAP_THRESHOLD = 32 << 20
#: free memory at the top of a heap beyond this goes back to the kernel
MALLOC_TRIM_THRESHOLD = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)


def _keep_freed_memory() -> None:
    """Let glibc's malloc keep freed blocks of up to :data:`MALLOC_MMAP_THRESHOLD` for the
    next ones, unless the user tuned malloc (:data:`MALLOC_VARIABLES`, a ``glibc.malloc``
    tunable) or the C library is not glibc.

    The decoder allocates and frees its per-part arrays and tables (a few MiB each) on two
    threads all the time. By default malloc maps a block above its threshold fresh from the
    kernel and hands the free top of a heap back, so those blocks were faulted in afresh:
    about 8,000 page faults in each decode of a 51.5 MB line log, and 10-20 % of its time
    (a 51.5 MB line log: medians 192-213 ms against 155-186 ms with these settings, peak
    RSS 10 MiB more).
    """
    if any(name in os.environ for name in MALLOC_VARIABLES):
        return
    if "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018 (glibc's alone: others' mallopt differ)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD)


_use_the_system_allocator()
_keep_freed_memory()

__all__ = [
    "NULL_TIME_MS",
    "SCHEMA_VERSION",
    "SCHEMA_VERSION_KEY",
    "SUPPORTED_SCHEMA_VERSIONS",
    "MESSAGES",
    "MESSAGES_V1",
    "WIFI_ACCESS_POINT",
    "REJECTS",
    "CELL_TOWER",
    "POSITION_COLUMNS",
    "REJECT_REASONS",
    "ALARMS",
    "PROTOCOLS",
    # column names
    "DEVICE_ID",
    "PROTOCOL",
    "MSG_TYPE",
    "TIME",
    "RECEIVED_AT",
    "VALID",
    "FIX_MODE",
    "LAT",
    "LON",
    "SPEED_KMH",
    "COURSE",
    "ALARM",
    "BATTERY_PCT",
    "SATELLITES",
    "RSSI",
    "ODOMETER_M",
    "INPUTS",
    "OUTPUTS",
    "ADC",
    "DRIVER_ID",
    "FIRMWARE",
    "STEPS",
    "HEART_RATE",
    "PHOTO_SIZE",
    "PHOTO_OFFSET",
    "CELL_TOWERS",
    "WIFI_ACCESS_POINTS",
    "PAYLOAD",
    "SOURCE",
    "OFFSET",
    "LENGTH",
    "REASON",
    "RAW",
    # the type of every time column
    "TIMESTAMP",
    # result column names (analytics, report, maps, exports)
    "START_TIME",
    "END_TIME",
    "FIRST_TIME",
    "LAST_TIME",
    "DURATION_S",
    "DISTANCE_M",
    "MAX_SPEED_KMH",
    "AVG_SPEED_KMH",
    "START_LAT",
    "START_LON",
    "END_LAT",
    "END_LON",
    "IDLE_S",
    "DRIVING_S",
    "ENGINE_S",
    "ENGINE_IDLE_S",
    "OVERSPEED_S",
    "DWELL_S",
    "LIMIT_KMH",
    "START_ODOMETER_M",
    "END_ODOMETER_M",
]

SCHEMA_VERSION = 2
#: versions whose datasets this release reads (older ones are upgraded as they are read)
SUPPORTED_SCHEMA_VERSIONS = (1, 2)
SCHEMA_VERSION_KEY = b"bofan_analytics.schema_version"

DEVICE_ID = "device_id"
PROTOCOL = "protocol"
MSG_TYPE = "msg_type"
TIME = "time"
RECEIVED_AT = "received_at"
VALID = "valid"
FIX_MODE = "fix_mode"
LAT = "lat"
LON = "lon"
SPEED_KMH = "speed_kmh"
COURSE = "course"
ALARM = "alarm"
BATTERY_PCT = "battery_pct"
SATELLITES = "satellites"
RSSI = "rssi"
ODOMETER_M = "odometer_m"
INPUTS = "inputs"
OUTPUTS = "outputs"
ADC = "adc"
DRIVER_ID = "driver_id"
FIRMWARE = "firmware"
STEPS = "steps"
HEART_RATE = "heart_rate"
PHOTO_SIZE = "photo_size"
PHOTO_OFFSET = "photo_offset"
CELL_TOWERS = "cell_towers"
WIFI_ACCESS_POINTS = "wifi_access_points"
PAYLOAD = "payload"
SOURCE = "source"
OFFSET = "offset"
LENGTH = "length"
REASON = "reason"
RAW = "raw"

# Result columns: the names the analyses return and the report, maps and exports read.
START_TIME = "start_time"
END_TIME = "end_time"
FIRST_TIME = "first_time"
LAST_TIME = "last_time"
DURATION_S = "duration_s"
DISTANCE_M = "distance_m"
MAX_SPEED_KMH = "max_speed_kmh"
AVG_SPEED_KMH = "avg_speed_kmh"
START_LAT = "start_lat"
START_LON = "start_lon"
END_LAT = "end_lat"
END_LON = "end_lon"
IDLE_S = "idle_s"
DRIVING_S = "driving_s"
ENGINE_S = "engine_s"
ENGINE_IDLE_S = "engine_idle_s"
OVERSPEED_S = "overspeed_s"
DWELL_S = "dwell_s"
LIMIT_KMH = "limit_kmh"
START_ODOMETER_M = "start_odometer_m"
END_ODOMETER_M = "end_odometer_m"

PROTOCOLS = ("pt502", "pt60")

#: Alarm names, as the ``alarm`` column spells them.
ALARMS = (
    "sos",
    "geofence",
    "tow",
    "hard_acceleration",
    "hard_braking",
    "fatigue_driving",
    "vibration",
    "movement",
    "power_cut",
    "low_battery",
)

#: Why a stretch of input is not a message (``rejects.reason``).
REJECT_REASONS = {
    "truncated": "the frame ends before its last mandatory field (or the input ends inside it)",
    "garbage": "bytes between frames that start no known frame",
    "unknown_protocol": "a line or frame that is neither PT-502 nor PT-60",
    "too_long": "no frame end within the longest frame a device sends",
    "bad_header": "a 0xBF binary header not followed by a sentence",
    "bad_device_id": "the device id is empty or not digits",
    "bad_time": "the time of day is not a valid hhmmss",
    "bad_date": "the date is not a valid calendar date",
    "bad_latitude": "latitude missing, malformed or beyond ±90°",
    "bad_longitude": "longitude missing, malformed or beyond ±180°",
    "bad_validity": "the fix flag is neither A nor V",
    "bad_field": "a numeric field (speed, course, state, battery, type) is malformed",
    "bad_photo": "a $PHD chunk whose length field does not match its data",
    "bad_hex": "a hex-encoded payload with an odd length or a non-hex digit",
    "bad_line": "a log line that does not have the layout of its format",
    "bad_capture": "a packet, record or block of a capture that cannot be read (up to the next one that can)",
    "long_line": "a piece of a log line longer than any network read (cut every 1 MiB)",
    "no_reference": "a compressed PT-502 frame with no earlier full sentence on its connection",
    "bad_checksum": "a compressed PT-502 frame whose check byte disagrees with its reference",
}

CELL_TOWER = pa.struct(
    [
        pa.field("mcc", pa.int32()),
        pa.field("mnc", pa.int32()),
        pa.field("lac", pa.int32()),
        pa.field("cid", pa.int64()),
        pa.field("rssi", pa.int32()),
    ]
)

#: one Wi-Fi access point a PT-60 saw: MAC ``aa:bb:cc:dd:ee:ff``, network name (null when
#: the device sends none, ``ffff…``), signal in dBm
WIFI_ACCESS_POINT = pa.struct(
    [
        pa.field("mac", pa.string()),
        pa.field("ssid", pa.string()),
        pa.field("rssi", pa.int32()),
    ]
)

#: The type of every time column: milliseconds, UTC.
TIMESTAMP = pa.timestamp("ms", tz="UTC")
#: A missing time in the int64 milliseconds that kernels work on (NaT's own value).
NULL_TIME_MS = -(2**63)

MESSAGES_V1 = pa.schema(
    [
        pa.field(DEVICE_ID, pa.string()),
        pa.field(PROTOCOL, pa.string()),
        pa.field(MSG_TYPE, pa.string()),
        pa.field(TIME, TIMESTAMP),
        pa.field(RECEIVED_AT, TIMESTAMP),
        pa.field(VALID, pa.bool_()),
        pa.field(LAT, pa.float64()),
        pa.field(LON, pa.float64()),
        pa.field(SPEED_KMH, pa.float64()),
        pa.field(COURSE, pa.float64()),
        pa.field(ALARM, pa.string()),
        pa.field(BATTERY_PCT, pa.float64()),
        pa.field(SATELLITES, pa.int32()),
        pa.field(RSSI, pa.int32()),
        pa.field(ODOMETER_M, pa.float64()),
        pa.field(INPUTS, pa.string()),
        pa.field(OUTPUTS, pa.string()),
        pa.field(ADC, pa.string()),
        pa.field(DRIVER_ID, pa.string()),
        pa.field(FIRMWARE, pa.string()),
        pa.field(STEPS, pa.int32()),
        pa.field(HEART_RATE, pa.int32()),
        pa.field(PHOTO_SIZE, pa.int32()),
        pa.field(PHOTO_OFFSET, pa.int32()),
        pa.field(CELL_TOWERS, pa.list_(CELL_TOWER)),
        pa.field(PAYLOAD, pa.binary()),
        pa.field(SOURCE, pa.string()),
        pa.field(OFFSET, pa.int64()),
        pa.field(LENGTH, pa.int32()),
    ],
    metadata={SCHEMA_VERSION_KEY: b"1"},
)

MESSAGES = pa.schema(
    [
        pa.field(DEVICE_ID, pa.string()),
        pa.field(PROTOCOL, pa.string()),
        pa.field(MSG_TYPE, pa.string()),
        pa.field(TIME, TIMESTAMP),
        pa.field(RECEIVED_AT, TIMESTAMP),
        pa.field(VALID, pa.bool_()),
        pa.field(FIX_MODE, pa.string()),
        pa.field(LAT, pa.float64()),
        pa.field(LON, pa.float64()),
        pa.field(SPEED_KMH, pa.float64()),
        pa.field(COURSE, pa.float64()),
        pa.field(ALARM, pa.string()),
        pa.field(BATTERY_PCT, pa.float64()),
        pa.field(SATELLITES, pa.int32()),
        pa.field(RSSI, pa.int32()),
        pa.field(ODOMETER_M, pa.float64()),
        pa.field(INPUTS, pa.int32()),
        pa.field(OUTPUTS, pa.int32()),
        pa.field(ADC, pa.list_(pa.int32())),
        pa.field(DRIVER_ID, pa.string()),
        pa.field(FIRMWARE, pa.string()),
        pa.field(STEPS, pa.int32()),
        pa.field(HEART_RATE, pa.int32()),
        pa.field(PHOTO_SIZE, pa.int32()),
        pa.field(PHOTO_OFFSET, pa.int32()),
        pa.field(CELL_TOWERS, pa.list_(CELL_TOWER)),
        pa.field(WIFI_ACCESS_POINTS, pa.list_(WIFI_ACCESS_POINT)),
        pa.field(PAYLOAD, pa.binary()),
        pa.field(SOURCE, pa.string()),
        pa.field(OFFSET, pa.int64()),
        pa.field(LENGTH, pa.int32()),
    ],
    metadata={SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode()},
)

REJECTS = pa.schema(
    [
        pa.field(SOURCE, pa.string()),
        pa.field(OFFSET, pa.int64()),
        pa.field(LENGTH, pa.int32()),
        pa.field(REASON, pa.string()),
        pa.field(PROTOCOL, pa.string()),
        pa.field(RECEIVED_AT, TIMESTAMP),
        pa.field(RAW, pa.binary()),
    ],
    metadata={SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode()},
)

#: Columns of ``DecodedLog.positions()``, in order.
POSITION_COLUMNS = (
    DEVICE_ID,
    TIME,
    LAT,
    LON,
    SPEED_KMH,
    COURSE,
    VALID,
    ALARM,
    BATTERY_PCT,
    SATELLITES,
    RSSI,
    ODOMETER_M,
    PROTOCOL,
    MSG_TYPE,
    RECEIVED_AT,
    # the ignition (an input) and the driver's RFID tag, for engine hours and drivers
    INPUTS,
    DRIVER_ID,
)
