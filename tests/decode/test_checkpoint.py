"""A decoder checkpoint (what incremental conversion keeps in the manifest) resumes exactly.

Feed a capture up to any byte, take the checkpoint through JSON as the manifest does, and
go on from ``consumed`` with a new decoder: its rows, after the first decoder's, are the rows
of one decoder fed everything. Captures with what a checkpoint must carry: frames cut at the
split, tracker-server sessions whose rows wait for a carried frame, text-mode reads, and
compressed PT-502 frames that refer to the connection's previous sentence.
"""

import json

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bofan_analytics as ba
from bofan_analytics.decode import StreamDecoder
from bofan_analytics.samples import generate_fleet, render_capture


@pytest.fixture(scope="module")
def captures():
    fleet = generate_fleet(seed=5, vehicles=3, personal=2, days=1)
    return {
        "stream": render_capture(fleet, "stream", compress=True).data,
        "traccar": render_capture(fleet, "traccar", layout="text").data,
        "traccar-hex": render_capture(fleet, "traccar").data,
        "lines": render_capture(fleet, "lines").data,
    }


def _resumed(data, fmt, split):
    first = StreamDecoder(fmt, "capture")
    parts = [first.feed(data[:split])]
    state = json.loads(json.dumps(first.checkpoint()))  # as the manifest stores it
    second = StreamDecoder.resume(fmt, "capture", state)
    parts += [second.feed(data[state["consumed"]:]), second.finish()]
    return (pa.concat_tables([p.messages for p in parts]),
            pa.concat_tables([p.rejects for p in parts]))


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["stream", "traccar", "traccar-hex", "lines"]),
       where=st.floats(0, 1))
def test_resuming_from_a_checkpoint_gives_the_rows_of_one_run(captures, kind, where):
    data = captures[kind]
    fmt = kind.split("-")[0]
    whole = ba.read_log(data, format=fmt, source_name="capture")
    messages, rejects = _resumed(data, fmt, int(where * len(data)))
    assert messages.equals(whole.messages)
    assert rejects.equals(whole.rejects)


@pytest.mark.parametrize("kind", ["stream", "traccar", "traccar-hex", "lines"])
def test_resuming_halfway_gives_the_rows_of_one_run(captures, kind):
    # one split per format: cheap enough for make test's plain-Python run, which leaves
    # the search over splits above to the compiled run
    data = captures[kind]
    fmt = kind.split("-")[0]
    whole = ba.read_log(data, format=fmt, source_name="capture")
    messages, rejects = _resumed(data, fmt, len(data) // 2)
    assert messages.equals(whole.messages)
    assert rejects.equals(whole.rejects)


def test_compressed_frames_after_the_split_find_their_reference(captures):
    data = captures["stream"]
    whole = ba.read_log(data, format="stream", source_name="capture")
    assert whole.rejects.num_rows == 0 or "no_reference" not in whole.rejects.column("reason")
    for split in range(len(data) // 7, len(data), len(data) // 7):
        messages, rejects = _resumed(data, "stream", split)
        assert "no_reference" not in rejects.column("reason").to_pylist()
        assert messages.equals(whole.messages)
