"""Frames from real devices whose firmware differs from the manual: each is a message with
exact values, never a reject."""

from datetime import datetime, timezone

import pytest

import bofan_analytics as ba


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)


def one(frame):
    log = ba.read_log(frame, format="stream")
    assert log.rejects.num_rows == 0, log.rejects.to_pylist()
    (row,) = log.messages.to_pylist()
    return row


def test_pt502_sentence_with_no_fix_at_all_is_a_message_with_null_position():
    row = one(b"$POS,7210285832,184655.000,V,,,,,,,140209,,,N/00000,00000/6/0/\r\n")
    assert (row["device_id"], row["msg_type"], row["time"], row["valid"]) == (
        "7210285832", "POS", utc(2009, 2, 14, 18, 46, 55), False)
    assert (row["lat"], row["lon"], row["speed_kmh"], row["course"]) == (None, None, None, None)
    assert (row["odometer_m"], row["offset"], row["length"]) == (0.0, 0, 62)
    assert ba.read_log(b"$POS,7210285832,184655.000,V,,,,,,,140209,,,N/00000,00000/6/0/\r\n").positions().empty


def test_pt502_half_empty_position_is_still_bad():
    log = ba.read_log(b"$POS,7210285832,184655.000,V,,N,,,,,140209,,,N/00000,00000/6/0/\r\n")
    assert log.rejects.column("reason").to_pylist() == ["bad_latitude"]


def test_pt502_sentence_ended_by_hash_newline():
    frame = b"$POS,3760971,145703.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/00000,00000/0/0//#\n"
    # two back to back: the '#' is part of the frame, the LF separates
    log = ba.read_log(frame + frame)
    assert log.rejects.num_rows == 0
    assert log.messages.column("offset").to_pylist() == [0, len(frame)]
    row = log.messages.to_pylist()[0]
    assert (row["device_id"], row["time"]) == ("3760971", utc(2017, 11, 28, 14, 57, 3))
    assert (round(row["lat"], 9), round(row["lon"], 9)) == (20.606471667, -103.399726667)
    assert (row["speed_kmh"], row["course"], row["length"]) == (0.0, 119.5, len(frame) - 1)


@pytest.mark.parametrize("check", [b"\x00", b"\xff", b"\x5a"])
def test_binary_header_check_byte_is_never_a_reason_to_drop_a_frame(check):
    pos = b"$POS,3760971,145703.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/00000,00000/0/0//"
    data = b"\xbf\xfb\x00\x5e" + check + pos + b"\r\n"
    row = one(data)
    assert (row["device_id"], row["offset"], row["length"]) == ("3760971", 0, len(pos) + 5)


def test_pt60_g2_power_on_with_battery():
    row = one(b"@G#@,V01,2,353882080015633,9460040114915162,20180410092923,85,@R#@")
    assert (row["msg_type"], row["device_id"], row["time"], row["battery_pct"]) == (
        "G2", "353882080015633", utc(2018, 4, 10, 9, 29, 23), 85.0)


def test_pt60_g44_heartbeat_has_no_time():
    row = one(b"@G#@,V01,44,108101712007180,9460004820707903,@R#@")
    assert (row["msg_type"], row["device_id"], row["time"], row["payload"]) == (
        "G44", "108101712007180", None, None)


def test_pt60_g1_with_extra_fields_keeps_them():
    row = one(b"@G#@,V01,1,353882080015633,9460040114915162,0,@R#@")
    assert (row["msg_type"], row["device_id"], row["payload"]) == ("G1", "353882080015633", b"0,")


def test_pt60_b1_wifi_and_cells_skips_zero_filled_slots():
    row = one(b"@B#@|01|001|866058040002405|8888888888888888|0|099|20190812062009|"
              b"88:25:93:e8:56:9e,-49&94:d9:b3:64:5a:2d,-51|5012090,41194,1,460,90|0,0,0,0,0|3|@E#@")
    assert (row["msg_type"], row["device_id"], row["time"], row["valid"]) == (
        "B1", "866058040002405", utc(2019, 8, 12, 6, 20, 9), False)
    assert (row["battery_pct"], row["lat"], row["lon"]) == (99.0, None, None)
    assert row["cell_towers"] == [{"mcc": 460, "mnc": 1, "lac": 41194, "cid": 5012090, "rssi": 90}]


def test_pt60_b1_cells_with_three_digit_battery():
    row = one(b"@B#@|01|001|866058040002405|8888888888888888|0|032|20190812062009|"
              b"5012090,41194,1,460,90|0,0,0,0,0|2|@E#@")
    assert (row["battery_pct"], row["valid"], len(row["cell_towers"])) == (32.0, False, 1)


def test_pt60_b1_with_14_decimal_coordinates():
    row = one(b"@B#@|01|001|866058040002405|8888888888888888|0|099|20190812062009|"
              b"32.70109312345678|35.57093812345678|1|@E#@")
    assert (row["lat"], row["lon"], row["valid"]) == (32.70109312345678, 35.57093812345678, True)


def test_pt60_b6_with_coordinates():
    row = one(b"@B#@|01|006|864891030184954|9425010450971470|20181213093127|32.701093|35.570938|2|1|@E#@")
    assert (row["msg_type"], row["time"], row["lat"], row["lon"], row["valid"]) == (
        "B6", utc(2018, 12, 13, 9, 31, 27), 32.701093, 35.570938, True)
    row = one(b"@B#@|01|006|864891030184954|9425010450971470|20181213093235|40412,10461,1,425,4|2|1|")
    assert (row["lat"], row["valid"], row["cell_towers"]) == (
        None, None, [{"mcc": 425, "mnc": 1, "lac": 10461, "cid": 40412, "rssi": 4}])


def test_pt60_g43_wifi_access_points_with_utf16_names():
    row = one(b"@G#@,V01,43,105681639001701,9460000412618231,20180410092923,1,"
              b"460;0;9763;3852;-63,2,14:b8:37:26:64:88;004b00460052006f0075007400650072;-76|"
              b"08:9b:4b:93:b5:b1;ffffffffffff;-77,@R#@")
    assert (row["msg_type"], row["time"]) == ("G43", utc(2018, 4, 10, 9, 29, 23))
    assert row["cell_towers"] == [{"mcc": 460, "mnc": 0, "lac": 9763, "cid": 3852, "rssi": -63}]
    assert row["wifi_access_points"] == [
        {"mac": "14:b8:37:26:64:88", "ssid": "KFRouter", "rssi": -76},
        {"mac": "08:9b:4b:93:b5:b1", "ssid": None, "rssi": -77},  # ffff…: no name
    ]


def test_pt60_b1_wifi_list_as_access_points():
    row = one(b"@B#@|01|001|866058040002405|8888888888888888|0|099|20190812062009|"
              b"88:25:93:e8:56:9e,-49&94:d9:b3:64:5a:2d,-51|5012090,41194,1,460,90|0,0,0,0,0|3|@E#@")
    assert row["wifi_access_points"] == [
        {"mac": "88:25:93:e8:56:9e", "ssid": None, "rssi": -49},
        {"mac": "94:d9:b3:64:5a:2d", "ssid": None, "rssi": -51},
    ]


def test_pt502_io_masks_adc_and_fix_mode():
    row = one(b"$POS,3760971,145703.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,D/00110,10/"
              b"1f8,0a/0//")
    assert (row["fix_mode"], row["inputs"], row["outputs"], row["adc"]) == ("D", 6, 2, [0x1F8, 10])
    log = ba.read_log(b"$POS,3760971,145703.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/0012,0/0/0//\r\n")
    assert log.rejects.column("reason").to_pylist() == ["bad_field"]  # inputs not binary


def test_an_alarm_type_is_a_row_of_the_grammar_table():
    from bofan_analytics.decode import grammar

    # every row of the table reaches the alarm column, whatever the order of schema.ALARMS
    for sentence_type, alarm in grammar.PT502_ALARMS.items():
        row = one(b"$%s,1,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//\r\n"
                  % sentence_type.encode())
        assert row["alarm"] == alarm
