"""The capture-format registry is the one list of formats: detection, validation, the
command line, the sample generator and the README all take it from there."""

import gzip
import re
from pathlib import Path

import pytest

import bofan_analytics as ba
from bofan_analytics import cli
from bofan_analytics.io import CAPTURE_FORMATS, detect_format, place_format
from bofan_analytics.io.files import check_format
from bofan_analytics.io.formats import FORMATS, TRACCAR_LAYOUTS, capture_format
from bofan_analytics.simulate import FORMATS as RENDERED
from bofan_analytics.simulate import TRACCAR_LAYOUTS as RENDERED_LAYOUTS

README = Path(__file__).resolve().parents[2] / "README.md"

HEADS = {
    "stream": b"\x00junk$POS,1,120000.000,A,5000.0000,N,01400.0000,E,0.0,0.0,021126,,,A/0,0/0/0//fd7/\r\n",
    "lines": b"2026-11-02T07:10:27.948Z $POS,1,...\n",
    "traccar": b"2026-11-02 07:10:27  INFO: [T1a2b3c4d: pt502 < 10.0.0.5] 24504f53\n",
    "pcap": bytes.fromhex("d4c3b2a1") + bytes(20),
}


def test_the_registry_lists_the_four_formats_in_order():
    assert list(FORMATS) == ["stream", "lines", "traccar", "pcap"]
    assert CAPTURE_FORMATS == {name: f.description for name, f in FORMATS.items()}
    assert [f.name for f in FORMATS.values()] == list(FORMATS)


def test_cli_format_choices_are_the_registry():
    parser = cli._build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    for command in ("convert", "summary"):
        option = next(a for a in commands[command]._actions if a.dest == "format")
        assert option.choices == ("auto", *FORMATS)


def test_readme_lists_the_registry():
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| format | what it is |"):].split("\n\n")[0]
    assert re.findall(r"^\| `(\w+)` \|", table, re.MULTILINE) == list(FORMATS)


def test_check_format_and_the_decoder_name_every_format():
    with pytest.raises(ba.FormatError) as caught:
        check_format("csv")
    assert str(caught.value) == "format must be one of auto, stream, lines, traccar, pcap, got 'csv'"
    with pytest.raises(ba.FormatError) as caught:
        ba.StreamDecoder("csv")
    assert str(caught.value) == "format must be one of stream, lines, traccar, pcap, got 'csv'"
    assert ba.StreamDecoder("traccar").capture_format is FORMATS["traccar"]


@pytest.mark.parametrize("name", list(HEADS))
def test_each_format_detects_its_own_head(name):
    head = HEADS[name]
    assert detect_format(head) == name == place_format(head, "x")
    # its own detector says yes; the formats asked before it say no
    fmt = capture_format(name)
    assert fmt.detect(head)
    earlier = [f.name for f in FORMATS.values() if f.detect_rank < fmt.detect_rank and f.detect(head)]
    assert earlier == []


def test_nothing_detected_is_an_error_naming_the_file():
    assert detect_format(b"hello world\n") == "stream"  # what no format claims
    with pytest.raises(ba.InputError, match="cannot tell the format of notes.txt"):
        place_format(b"hello world\n", "notes.txt")
    assert place_format(b"", "empty.log") == "stream"


def test_detection_of_a_compressed_file_sees_the_decompressed_head(tmp_path):
    path = tmp_path / "t.log.gz"
    path.write_bytes(gzip.compress(HEADS["traccar"]))
    assert ba.read_log(path).accounting.column("format").to_pylist() == ["traccar"]


def test_only_packet_captures_cannot_be_resumed_and_only_logs_rotate():
    assert [f.name for f in FORMATS.values() if not f.resumable] == ["pcap"]
    assert [f.name for f in FORMATS.values() if f.rotates] == ["traccar"]
    assert ba.StreamDecoder("pcap").checkpoint() is None


def test_sample_renderers_come_from_the_registry():
    assert RENDERED == ("stream", "lines", "traccar")
    assert all(name in FORMATS for name in RENDERED)
    assert RENDERED_LAYOUTS is TRACCAR_LAYOUTS is FORMATS["traccar"].layouts
    assert list(TRACCAR_LAYOUTS) == ["hex", "text", "4.x", "3.x"]
    assert [name for name, f in FORMATS.items() if f.layouts] == ["traccar"]
