"""Integer codes shared by the kernels and the Python side (kernels see them as constants)."""

from ..schema import ALARMS, REJECT_REASONS

__all__ = [
    "REASONS",
    "R_OK",
    "R_TRUNCATED",
    "R_GARBAGE",
    "R_UNKNOWN_PROTOCOL",
    "R_TOO_LONG",
    "R_BAD_HEADER",
    "R_BAD_DEVICE_ID",
    "R_BAD_TIME",
    "R_BAD_DATE",
    "R_BAD_LATITUDE",
    "R_BAD_LONGITUDE",
    "R_BAD_VALIDITY",
    "R_BAD_FIELD",
    "R_BAD_PHOTO",
    "R_BAD_HEX",
    "R_BAD_LINE",
    "R_BAD_CAPTURE",
    "R_LONG_LINE",
    "R_NO_REFERENCE",
    "R_BAD_CHECKSUM",
    "P_NONE",
    "P_PT502",
    "P_PT60",
    "PROTOCOL_NAMES",
    "ALARM_NAMES",
    "MAX_TEXT_FRAME",
    "MAX_PHOTO_CHUNK",
]

#: reject reason code -> name; code 0 is "ok" (names and meanings: schema.REJECT_REASONS)
REASONS = ("ok", *REJECT_REASONS)
(
    R_OK,
    R_TRUNCATED,
    R_GARBAGE,
    R_UNKNOWN_PROTOCOL,
    R_TOO_LONG,
    R_BAD_HEADER,
    R_BAD_DEVICE_ID,
    R_BAD_TIME,
    R_BAD_DATE,
    R_BAD_LATITUDE,
    R_BAD_LONGITUDE,
    R_BAD_VALIDITY,
    R_BAD_FIELD,
    R_BAD_PHOTO,
    R_BAD_HEX,
    R_BAD_LINE,
    R_BAD_CAPTURE,
    R_LONG_LINE,
    R_NO_REFERENCE,
    R_BAD_CHECKSUM,
) = range(len(REASONS))

P_NONE, P_PT502, P_PT60 = 0, 1, 2
PROTOCOL_NAMES = (None, "pt502", "pt60")

#: alarm code -> name; code 0 is "no alarm" (the kernels' codes follow schema.ALARMS)
ALARM_NAMES = (None, *ALARMS)

#: the longest text frame a device sends (PT-60 Wi-Fi scans run to about 1.5 KiB)
MAX_TEXT_FRAME = 4096
#: the longest ``$PHD`` photo chunk a device sends. PT-502 firmwares cut a photo into
#: 960-byte chunks (the photo protocol's 1 KiB packets); the cap leaves four times that. A
#: chunk claiming more is a lie: its header is a ``bad_photo`` reject and the bytes after it
#: are framed as usual, so a corrupt length cannot swallow the frames that follow.
MAX_PHOTO_CHUNK = 4096
