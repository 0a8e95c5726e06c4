"""The parsed-frame columns: allocated unset, every row cleared by its parser or by
``parse_frames``, so a row reads as "every field missing" until a field is parsed."""

import numpy as np

from bofan_analytics.decode import _parse
from bofan_analytics.decode._codes import P_PT60, P_PT502, R_OK, R_UNKNOWN_PROTOCOL
from bofan_analytics.decode._fields import (
    C_PROTO,
    C_STATUS,
    C_VALID,
    F_LAT,
    I_ADC,
    I_CELLS,
    I_HEART,
    I_SATS,
    I_WIFI,
    S_DEVICE,
    clear_row,
    empty_columns,
    unset_columns,
)
from bofan_analytics.decode._text_kernels import INT64_NULL

PT502 = (b"$POS,860000000000001,101500.000,A,4807.0380,N,01131.0000,E,10.00,90.00,021126,,,"
         b"A/00000,00000/0,0,0,0/7//fa1//")
# a position from a device (../shared/vectors/pt60_frames.tsv)
PT60 = b"@B#@|01|001|864891030184852|9425010450971470|1|45|20181127122717|32.701093|35.570938|1|"


def _garbage(n):
    """Columns of ``n`` rows holding what an earlier use of the memory left."""
    columns = unset_columns(n)
    for column in columns:
        column[...] = np.array(7).astype(column.dtype)
    return columns


def test_clear_row_leaves_what_empty_columns_holds():
    columns = _garbage(3)
    for k in range(3):
        clear_row(k, *columns[:6])
    for got, want in zip(columns[:6], empty_columns(3)[:6], strict=True):
        np.testing.assert_array_equal(got, want)


def test_missing_is_minus_one_nan_and_null():
    cv, iv, tm, fv, sl, tcode, _adc = empty_columns(1)
    assert cv[C_STATUS, 0] == 0 and cv[C_PROTO, 0] == 0 and cv[C_VALID, 0] == -1
    assert iv[I_SATS, 0] == -1 and iv[I_CELLS, 0] == 0 and iv[I_WIFI, 0] == 0
    assert tm[0] == INT64_NULL and np.isnan(fv[F_LAT, 0]) and tcode[0] == 0
    assert (sl[:, 0] == -1).all()


def test_rows_no_parser_takes_read_as_missing(monkeypatch):
    """A frame of no protocol and a PT-60-looking frame too short for the parser are rows
    that neither parser clears: ``parse_frames`` does, whatever the memory held before."""
    monkeypatch.setattr(_parse, "unset_columns", _garbage)
    frames = [PT502, b"#junk", PT60, b"@ab"]
    data = b"".join(frames)
    ends = np.cumsum([len(f) for f in frames])
    starts = ends - [len(f) for f in frames]
    buf = np.frombuffer(data, np.uint8)
    status = [R_OK, R_UNKNOWN_PROTOCOL, R_OK, R_UNKNOWN_PROTOCOL]
    proto = [P_PT502, 0, P_PT60, 0]
    valid = [1, -1, 1, -1]
    device = [b"860000000000001", None, b"864891030184852", None]
    missing = empty_columns(1)
    for kinds in ([0, 1, 2, 3], [1, 3], [0, 2], [1], [3, 0]):  # both parsers, one, none
        cv, iv, tm, fv, sl, tcode, *_ = _parse.parse_frames(buf, starts[kinds], ends[kinds])
        assert cv[C_STATUS].tolist() == [status[j] for j in kinds]
        assert cv[C_PROTO].tolist() == [proto[j] for j in kinds]
        assert cv[C_VALID].tolist() == [valid[j] for j in kinds]
        got = [data[s:e] if s >= 0 else None
               for s, e in zip(sl[2 * S_DEVICE], sl[2 * S_DEVICE + 1], strict=True)]
        assert got == [device[j] for j in kinds]
        for r, j in enumerate(kinds):
            if j in (1, 3):  # every field missing, the status aside
                for column, empty in zip((cv[1:], iv, tm, fv, sl, tcode),
                                         (missing[0][1:], *missing[1:]), strict=False):
                    np.testing.assert_array_equal(column[..., r], empty[..., 0])
            else:  # what the parser read, and -1 in what the frame does not carry
                assert fv[F_LAT, r].round(6) == (48.1173 if j == 0 else 32.701093)
                assert iv[I_HEART if j == 0 else I_ADC, r] == -1
