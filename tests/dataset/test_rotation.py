"""The files of a rotated tracker-server log in ``convert`` and ``bofan summary``: read in
order through one decoder, as ``read_log`` reads them, so a frame split by the rotation is
one message everywhere; the live file still grows by appends. And the one decode loop:
``read_log``, ``summary`` and ``convert`` give the same rows of the same file."""

import gzip
import json
import os
from datetime import datetime, timezone

import pyarrow as pa
import pytest

import bofan_analytics as ba
from bofan_analytics import schema
from bofan_analytics.dataset import convert, read_dataset
from bofan_analytics.dataset._summary import summarize
from bofan_analytics.errors import TruncatedInputError

OLD, MID, LIVE = "tracker-server.log.20261101", "tracker-server.log.20261102", "tracker-server.log"
POS = b"$POS,7210285832,184655.000,A,2036.3883,N,10323.9836,W,0.0,119.5,281117,,,A/00000,00000/0/0//"


def _line(payload, when=b"2026-11-02 07:10:27", session=b"T1a2b3c4d"):
    return b"%s  INFO: [%s: pt502 < 10.0.0.5] %s\n" % (when, session, payload)


FIRST = _line(b"$POS,1,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//\\r\\n")
HALF = _line(b"$POS,2,120001.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/",
             b"2026-11-02 23:59:59")
REST = _line(b"0//\\r\\n", b"2026-11-03 00:00:00")
MORE = _line(b"$POS,3,120002.000,A,5000.0000,N,01400.0000,E,0.0,0.0,031126,,,A/0,0/0/0//\\r\\n",
             b"2026-11-03 00:00:05")


@pytest.fixture
def rotated(tmp_path):
    """Three files of one log; the frame of device 2 begins in MID and ends in LIVE."""
    src = tmp_path / "in"
    src.mkdir()
    (src / OLD).write_bytes(_line(POS + b"\\r\\n", b"2026-11-01 10:00:00"))
    (src / MID).write_bytes(FIRST + HALF)
    (src / LIVE).write_bytes(REST)
    return src


def _rows(table):
    table = table.select([c for c in schema.MESSAGES.names if c != "driver_id"])
    return table.sort_by([("source", "ascending"), ("offset", "ascending")]).to_pylist()


def _dataset(ds, table="messages"):
    return read_dataset(ds, table=table)


def test_convert_joins_a_frame_split_by_the_rotation_as_read_log_does(tmp_path, rotated):
    expected = ba.read_log(rotated, workers=1)
    assert [r["device_id"] for r in expected.messages.to_pylist()] == ["7210285832", "1", "2"]
    result = convert(rotated, tmp_path / "ds")
    assert result.ok
    # results in input order (by name); decoded in date order, the live file last
    assert [(os.path.basename(f.path), f.status, f.messages, f.rejects) for f in result.files] == [
        (LIVE, "new", 0, 0), (OLD, "new", 1, 0), (MID, "new", 2, 0)]
    assert _rows(_dataset(tmp_path / "ds")) == _rows(expected.messages)
    joined = [r for r in _rows(_dataset(tmp_path / "ds")) if r["device_id"] == "2"]
    assert [(r["source"], r["offset"], r["received_at"]) for r in joined] == [
        (str(rotated / MID), len(FIRST) + HALF.index(b"$POS"),
         datetime(2026, 11, 3, tzinfo=timezone.utc))]
    assert _dataset(tmp_path / "ds", "rejects").num_rows == 0
    # converted again: nothing changed, nothing decoded
    again = convert(rotated, tmp_path / "ds")
    assert [f.status for f in again.files] == ["unchanged"] * 3


def test_summary_joins_a_frame_split_by_the_rotation(rotated):
    summary = summarize(rotated)
    assert [(os.path.basename(p), fmt, m, r) for p, fmt, m, r in summary.files] == [
        (OLD, "traccar", 1, 0), (MID, "traccar", 2, 0), (LIVE, "traccar", 0, 0)]
    assert summary.errors == [] and summary.duplicates == []
    assert summary.rejects.num_rows == 0
    # each file on its own, the end of the split frame is a reject
    assert summarize([rotated / MID]).rejects.num_rows == 0
    assert summarize([rotated / LIVE]).rejects.to_pylist() == [
        {"reason": "unknown_protocol", "count": 1}]


def test_the_live_file_of_a_rotated_log_grows_by_appends(tmp_path, rotated):
    ds = tmp_path / "ds"
    convert(rotated, ds)
    with open(rotated / LIVE, "ab") as f:
        f.write(MORE)
    result = convert(rotated, ds)
    assert [(os.path.basename(f.path), f.status, f.messages) for f in result.files] == [
        (LIVE, "appended", 1), (OLD, "unchanged", 0), (MID, "unchanged", 0)]
    assert result.files[0].decoded_bytes == len(MORE)  # only the new bytes are decoded
    assert _rows(_dataset(ds)) == _rows(ba.read_log(rotated, workers=1).messages)


def test_a_frame_still_open_across_the_rotation_is_joined_after_an_append(tmp_path, rotated):
    """The live file holds nothing of the split frame's end yet: its checkpoint carries a
    frame that begins in the file before, so the append decodes the log again."""
    ds = tmp_path / "ds"
    (rotated / LIVE).write_bytes(b"")
    first = convert(rotated, ds)
    assert first.ok
    # the frame cut at the end of what there is decodes as far as it goes, as read_log has it
    assert _rows(_dataset(ds)) == _rows(ba.read_log(rotated, workers=1).messages)
    (rotated / LIVE).write_bytes(REST + MORE)
    result = convert(rotated, ds)
    assert [f.status for f in result.files] == ["replaced", "replaced", "replaced"]
    expected = ba.read_log(rotated, workers=1)
    assert _rows(_dataset(ds)) == _rows(expected.messages)
    assert len(expected.messages) == 4 and _dataset(ds, "rejects").num_rows == 0


def test_a_new_rotation_decodes_the_log_again(tmp_path, rotated):
    ds = tmp_path / "ds"
    convert(rotated, ds)
    os.rename(rotated / LIVE, rotated / "tracker-server.log.20261103")
    (rotated / LIVE).write_bytes(MORE)
    result = convert(rotated, ds)
    assert [(os.path.basename(f.path), f.status) for f in result.files] == [
        (LIVE, "replaced"), (OLD, "replaced"), (MID, "replaced"),
        ("tracker-server.log.20261103", "new")]
    assert _rows(_dataset(ds)) == _rows(ba.read_log(rotated, workers=1).messages)


@pytest.mark.parametrize("cut", [None, 0.6], ids=["whole", "cut-off-gz"])
def test_read_log_summary_and_convert_give_the_same_rows(tmp_path, cut):
    # the reads of a session within seconds, as in the log around the rotation (a session
    # silent for ten minutes would end its unfinished frame: MAX_FRAME_PAUSE_MS)
    when = b"2026-11-02 23:59:58"
    data = b"".join(
        _line(b"$POS,%d,120000.000,A,50%02d.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//\\r\\n"
              % (i, i % 60), when) + (_line(b"GET / HTTP/1.1", when) if i % 7 == 0 else b"")
        + HALF + REST
        for i in range(400)
    )
    path = tmp_path / "in" / "t.log.gz"
    path.parent.mkdir()
    packed = gzip.compress(data, mtime=0)
    path.write_bytes(packed if cut is None else packed[: int(len(packed) * cut)])
    try:
        log = ba.read_log(path)
        end = len(data)
    except TruncatedInputError as exc:
        log = exc.partial
        end = exc.decoded_bytes
        assert cut is not None and 0 < end < len(data)
    assert len(log.messages) > 100
    rejects = log.rejects.to_pylist()
    # the line the cut-off archive ends in, if it ends in one, is cut off too
    if rejects[-1]["reason"] == "truncated":
        assert cut is not None and rejects[-1]["offset"] + rejects[-1]["length"] == end
        rejects = rejects[:-1]
    assert {r["reason"] for r in rejects} == {"garbage"}
    summary = summarize(path.parent)
    assert summary.files == [(str(path), "traccar" + (" (cut off)" if cut else ""),
                              len(log.messages), len(log.rejects))]
    assert len(summary.errors) == (1 if cut else 0)
    result = convert(path.parent, tmp_path / "ds")
    assert (result.files[0].messages, result.files[0].rejects) == (
        len(log.messages), len(log.rejects))
    assert _rows(_dataset(tmp_path / "ds")) == _rows(log.messages)
    rejects = _dataset(tmp_path / "ds", "rejects").sort_by([("offset", "ascending")])
    assert rejects.select(["offset", "length", "reason", "raw"]).equals(
        log.rejects.select(["offset", "length", "reason", "raw"]))
    assert pa.concat_tables([log.messages]).num_rows == result.messages


def test_a_checkpoint_across_a_rotation_resumes_with_the_earlier_file(tmp_path):
    """The live file has only begun: the frame carried at the checkpoint begins in the file
    before, and the resumed decoder still names that file as its source."""
    from bofan_analytics.decode import StreamDecoder

    mid, live = FIRST + HALF, REST + MORE
    whole = StreamDecoder("traccar", MID)
    parts = [whole.feed(mid), whole.next_file(LIVE), whole.feed(live), whole.finish()]
    expected = pa.concat_tables([p.messages for p in parts])
    first = StreamDecoder("traccar", MID)
    got = [first.feed(mid), first.next_file(LIVE), first.feed(REST[:10])]
    state = json.loads(json.dumps(first.checkpoint()))
    assert state["files"] == [MID, LIVE] and state["consumed"] == 0
    second = StreamDecoder.resume("traccar", LIVE, state)
    got += [second.feed(live[state["consumed"]:]), second.finish()]
    messages = pa.concat_tables([p.messages for p in got])
    assert messages.equals(expected)
    assert [(r["device_id"], r["source"]) for r in messages.to_pylist()] == [
        ("1", MID), ("2", MID), ("3", LIVE)]
    assert got[-1].accounting.column("source").to_pylist() == [MID, LIVE]


def test_every_format_docstring_lists_the_registry():
    """Docs that name the formats name them all (and only them), as the registry does."""
    import re
    from pathlib import Path

    from bofan_analytics.io.formats import FORMATS
    from bofan_analytics.simulate import FORMATS as RENDERED

    package = Path(ba.__file__).parent
    found = {}
    for path in package.rglob("*.py"):
        for names in re.findall(r"format : \{([^}]*)\}", path.read_text(encoding="utf-8")):
            found[path.relative_to(package).as_posix()] = tuple(re.findall(r'"([^"]+)"', names))
    assert found == {
        "decode/log.py": ("auto", *FORMATS),
        "dataset/_convert.py": ("auto", *FORMATS),
        "decode/stream.py": tuple(FORMATS),
        "simulate/captures.py": RENDERED,
    }


@pytest.mark.parametrize("rotated_first", [True, False])
def test_a_rotation_keeps_the_rows_whichever_file_is_listed_first(tmp_path, rotated_first):
    """The live log converted, then renamed to ``x.log.20261102`` and started afresh: the
    renamed file holds the old bytes of the live one, which no longer does, so they are its
    rows now, not a copy to skip (listed first, it was taken for one, and those rows were
    missing until the next run)."""
    src = tmp_path / "in"
    src.mkdir()
    (src / LIVE).write_bytes(FIRST)
    ds = tmp_path / "ds"
    assert [f.status for f in convert(src / LIVE, ds).files] == ["new"]
    (src / LIVE).rename(src / MID)
    (src / LIVE).write_bytes(MORE)
    order = [src / MID, src / LIVE] if rotated_first else [src / LIVE, src / MID]
    result = convert(order, ds)
    assert {os.path.basename(f.path): (f.status, f.duplicate_of) for f in result.files} == {
        MID: ("new", None), LIVE: ("replaced", None)}
    got = _dataset(ds)
    pairs = zip(got["device_id"].to_pylist(), got["source"].to_pylist(), strict=True)
    assert sorted(pairs) == [("1", str(src / MID)), ("3", str(src / LIVE))]
    assert _rows(got) == _rows(ba.read_log([src / MID, src / LIVE], workers=1).messages)
