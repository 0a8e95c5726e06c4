"""The listener, over real sockets on 127.0.0.1 (ephemeral ports)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import json
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bofan_analytics.decode import read_log
from bofan_analytics.decode.framing import StreamCutter
from bofan_analytics.io import listen as listen_module
from bofan_analytics.io.listen import (
    EventLog,
    Listener,
    listen,
    photo_request,
    reply_for,
)

pytestmark = pytest.mark.network

VECTORS = Path(__file__).parents[1] / "data" / "vectors"
POS = b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/"
POS2 = b"$POS,1360000277,182241.000,A,0846.0896,N,07552.1738,W,13.58,26.88,291017,,,A/00000,00000/142,0,0,0/62792900//f65//#"
G6 = b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,23.2014050;104.235212,@R#@"
B1 = b"@B#@|01|001|864891030184852|9425010450971470|1|45|20181127122717|32.701093|35.570938|1|@E#@"
FUS_BEHIND_HEADER = bytes.fromhex(
    "bffb192d00244655533836353332383032363234333836342c3531302d56312e31322c4131312d56332e300d0d"
)
FROZEN = dt.datetime(2026, 11, 2, 7, 10, 27, 948000, tzinfo=dt.timezone.utc)


def header(frame: bytes) -> bytes:
    """The 5-byte binary header PT-502 units put before some frames (length LE at +3)."""
    return b"\xbf\xfb\x00" + struct.pack("<H", len(frame) + 7)


async def wait_for(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


def capture_lines(directory: Path) -> list[str]:
    """The capture's lines with the varying client port masked as ``PORT``."""
    text = "".join(p.read_text() for p in sorted(directory.glob("bofan-*.log")))
    return re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text).splitlines()


def offsets_and_lengths(table) -> list[tuple[int, int]]:
    return list(zip(table["offset"].to_pylist(), table["length"].to_pylist(), strict=True))


# -- the framer the listener uses is the decoder's ---------------------------------------


def test_the_cutter_cuts_each_framing_vector_as_the_decoder_does():
    lines = (VECTORS / "pt502_stream_framing.tsv").read_text().splitlines()
    rows = [line.split("\t") for line in lines if not line.startswith("#")]
    assert len(rows) == 6
    rng = random.Random(7)
    for stream_hex, first_hex in rows:
        stream = bytes.fromhex(stream_hex)
        cutter = StreamCutter()
        frames, offsets, rejects = [], [], []
        i = 0
        while i < len(stream):  # arrives in random pieces
            n = rng.randint(1, 300)
            cut = cutter.feed(stream[i : i + n])
            frames += cut.frames
            offsets += cut.offsets
            rejects += cut.rejects
            i += n
        cut = cutter.finish()
        frames, offsets, rejects = frames + cut.frames, offsets + cut.offsets, rejects + cut.rejects
        first = frames[0][5:] if frames[0][:1] == b"\xbf" else frames[0]
        assert first == bytes.fromhex(first_hex)
        decoded = read_log(stream, format="stream")
        assert sorted(offsets_and_lengths(decoded.messages) + offsets_and_lengths(decoded.rejects)) == sorted(
            [(o, len(f)) for o, f in zip(offsets, frames, strict=True)] + [r[:2] for r in rejects]
        )


def test_any_cut_of_a_hostile_stream_gives_the_decoders_frames_and_rejects():
    pieces = [POS + b"\r\n", B1, G6 + b"\n", FUS_BEHIND_HEADER, b"junk\x00\xff", b"$PHD0,999999999,",
              header(POS2) + POS2 + b"\r\n", b"$PHD0,6,\n\x00\xff\r\n\x01", b"@G#@,V01", b"\r\n" + POS]
    rng = random.Random(11)
    for _ in range(30):
        stream = b"".join(rng.choice(pieces) for _ in range(12))
        cutter = StreamCutter()
        got, i = [], 0
        while i < len(stream):
            n = rng.randint(1, 40)
            cut = cutter.feed(stream[i : i + n])
            got += [(o, len(f)) for o, f in zip(cut.offsets, cut.frames, strict=True)]
            got += [r[:2] for r in cut.rejects]
            i += n
        cut = cutter.finish()
        got += [(o, len(f)) for o, f in zip(cut.offsets, cut.frames, strict=True)]
        got += [r[:2] for r in cut.rejects]
        decoded = read_log(stream, format="stream")
        assert sorted(got) == sorted(
            offsets_and_lengths(decoded.messages) + offsets_and_lengths(decoded.rejects)
        )


def test_replies_and_photo_requests():
    assert reply_for(POS) is None
    assert reply_for(b"@B#@|01|x|y|") is None
    assert reply_for(G6, now=FROZEN) == b"@G#@,V01,38,20261102071027,@R#@"
    assert reply_for(B1, now=FROZEN) == b"@B#@|01|002|864891030184852|0|20261102071027|@E#@"
    assert photo_request(0, 960) == b"#PHD0,960\r\n"
    assert photo_request(4800, 200) == b"#PHD4800,200\r\n"


# -- the capture ---------------------------------------------------------------------------


def test_tcp_and_udp_frames_are_recorded_once_with_their_receive_time(tmp_path, monkeypatch):
    monkeypatch.setattr(listen_module, "_now", lambda: FROZEN)

    async def scenario():
        async with Listener(tmp_path, port=0) as listener:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            # a frame split over two writes, a frame behind the binary header, junk, a
            # PT-60 frame that expects an answer, then a sentence the connection leaves open
            writer.write(POS[:20])
            await writer.drain()
            await wait_for(lambda: listener.stats.bytes_received == 20)
            writer.write(POS[20:] + b"\r\n" + FUS_BEHIND_HEADER + b"junk" + B1 + POS2)
            await writer.drain()
            answer = await asyncio.wait_for(reader.readuntil(b"@E#@"), 5)
            writer.close()
            await wait_for(lambda: listener.stats.active == 0)  # its end is recorded first
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.settimeout(5)
                udp.sendto(G6 + POS + b"\r\n", ("127.0.0.1", listener.port))
                udp_answer, _ = await asyncio.to_thread(udp.recvfrom, 1024)
                for _ in range(3):
                    udp.sendto(b"junk", ("127.0.0.1", listener.port))
            await wait_for(lambda: listener.stats.active == 0 and listener.stats.datagrams == 4)
            return answer, udp_answer, listener.stats

    answer, udp_answer, stats = asyncio.run(scenario())
    assert answer == b"@B#@|01|002|864891030184852|0|20261102071027|@E#@"
    assert udp_answer == b"@G#@,V01,38,20261102071027,@R#@"
    assert (stats.connections, stats.datagrams, stats.replies, stats.rejects) == (1, 4, 2, 4)
    stamp = "2026-11-02 07:10:27.948"

    def line(session, protocol, frame):
        return f"{stamp}  INFO: [{session}: {protocol} < 127.0.0.1:PORT] {frame.hex()}0d0a"

    assert capture_lines(tmp_path) == [
        f"{stamp}  INFO: bofan listen capture: one frame per line in hex, ended by CR LF, "
        "with its UTC receive time",
        line("T00000001", "pt502", POS),
        line("T00000001", "pt502", FUS_BEHIND_HEADER[:-2]),
        f"{stamp}  WARN: T00000001 127.0.0.1:PORT: 4 byte(s) from stream offset 146 are not "
        "frames, not recorded (garbage x1)",
        line("T00000001", "pt60", B1),
        # the connection closed in the middle of this sentence: recorded as the decoder
        # reads the end of a stream
        line("T00000001", "pt502", POS2),
        line("U00000001", "pt60", G6),
        line("U00000001", "pt502", POS),
        f"{stamp}  WARN: UDP: 12 byte(s) in 3 datagram(s) are not frames, not recorded "
        "(unknown_protocol)",
    ]
    log = read_log(tmp_path)
    assert log.rejects.num_rows == 0
    assert log.messages["msg_type"].to_pylist() == ["POS", "FUS", "B1", "POS", "G6", "POS"]
    assert log.messages["device_id"].to_pylist() == [
        "216769295715", "865328026243864", "864891030184852", "1360000277",
        "111112222233333", "216769295715",
    ]
    assert set(log.messages["received_at"].to_pylist()) == {FROZEN}


def test_bofan_convert_takes_each_frame_of_a_capture_once(tmp_path):
    import pyarrow.dataset as ds

    from bofan_analytics.cli import main

    async def scenario(capture):
        async with Listener(capture, port=0) as listener:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(POS + b"\r\n" + FUS_BEHIND_HEADER + B1 + POS2)
            await writer.drain()
            await asyncio.wait_for(reader.readuntil(b"@E#@"), 5)
            writer.close()
            await wait_for(lambda: listener.stats.active == 0)

    asyncio.run(scenario(tmp_path / "cap"))
    assert main(["convert", str(tmp_path / "cap"), "-o", str(tmp_path / "ds")]) == 0
    table = ds.dataset(tmp_path / "ds" / "messages", partitioning="hive").to_table()
    assert sorted(table["msg_type"].to_pylist()) == ["B1", "FUS", "POS", "POS"]
    assert table["received_at"].null_count == 0
    assert ds.dataset(tmp_path / "ds" / "rejects", partitioning="hive").count_rows() == 0


def test_a_connection_cannot_hold_more_than_the_limit_without_a_frame(tmp_path, monkeypatch):
    monkeypatch.setattr(listen_module, "MAX_HELD_BYTES", 1000)

    async def scenario():
        async with Listener(tmp_path, port=0) as listener:
            _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            # a sentence that never ends (the framer waits up to 4 KiB for its end)
            writer.write(b"$POS," + b"7" * 1995)
            await writer.drain()
            await wait_for(lambda: listener.stats.rejects >= 1)
            assert max(c.cutter.held for c in listener._connections) <= 1000
            writer.write(b"\r\n" + POS + b"\r\n")
            await writer.drain()
            await wait_for(lambda: listener.stats.frames == 1)
            writer.close()
            await wait_for(lambda: listener.stats.active == 0)
            return listener.stats

    stats = asyncio.run(scenario())
    assert stats.reject_bytes == 2000
    warn = [line for line in capture_lines(tmp_path) if "WARN" in line]
    assert len(warn) == 1
    assert "2000 byte(s) from stream offset 0 are not frames" in warn[0] and "too_long" in warn[0]
    assert read_log(tmp_path).messages["device_id"].to_pylist() == ["216769295715"]


def test_files_rotate_by_size_and_are_read_once(tmp_path):
    async def scenario():
        async with Listener(tmp_path, port=0, rotate_mb=0.0002, idle_timeout_s=2.0) as listener:
            _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            for k in range(3):
                writer.write(POS2 + b"\r\n")
                await writer.drain()
                await wait_for(lambda k=k: len(listener.stats.files) == k + 2)
            writer.close()
            await wait_for(lambda: listener.stats.active == 0)
            return listener.stats

    stats = asyncio.run(scenario())
    assert len(stats.files) == 4 and sorted(stats.files) == stats.files
    log = read_log(tmp_path)
    assert log.messages.num_rows == 3 and log.rejects.num_rows == 0


def test_files_opened_in_the_same_second_sort_in_the_order_they_were_opened(tmp_path):
    stats = listen_module.ListenStats()

    async def open_three():
        capture = listen_module._Capture(tmp_path, stats, None)
        for _ in range(3):
            capture.open(FROZEN)
            capture.close()

    asyncio.run(open_three())
    names = [Path(f).name for f in stats.files]
    assert names == [
        "bofan-20261102T071027Z.log", "bofan-20261102T071027Z_002.log",
        "bofan-20261102T071027Z_003.log",
    ]
    assert sorted(names) == names


def test_a_file_is_due_for_rotation_at_the_top_of_the_hour(tmp_path):
    capture = listen_module._Capture(tmp_path, listen_module.ListenStats(), None)
    capture._opened = dt.datetime(2026, 11, 2, 7, 59, 59, 999000, tzinfo=dt.timezone.utc)
    assert not capture.rotation_due(capture._opened + dt.timedelta(microseconds=999))
    assert capture.rotation_due(dt.datetime(2026, 11, 2, 8, 0, 0, tzinfo=dt.timezone.utc))


# -- photos --------------------------------------------------------------------------------


def pho_frame(size: int) -> bytes:
    return (
        f"$PHO{size}-1,1156802639,022125.000,A,0707.0014,N,07307.3725,W,0.0,0.1,110418,,,"
        "A/00000,00000/0,0,0,0/500//fd4//"
    ).encode()


def phd_chunk(photo: bytes, offset: int, size: int) -> bytes:
    """A chunk as a PT-502 sends it: binary header, ``$PHD<offset>,<size>,``, data, CR LF."""
    body = b"$PHD%d,%d," % (offset, size) + photo[offset : offset + size]
    return header(body) + body + b"\r\n"


def test_an_announced_photo_is_fetched_chunk_by_chunk_and_rebuilt(tmp_path):
    rng = random.Random(3)
    photo = b"\xff\xd8" + bytes(rng.randrange(256) for _ in range(4996)) + b"\xff\xd9"
    photo = photo.replace(b"\n", b"\n$POS,@G#@\r", 3)[:5000]  # frame starts inside the data

    async def device(port, requests):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(pho_frame(len(photo)) + b"\r\n")
        await writer.drain()
        ignored_once = False
        while True:
            line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
            requests.append(line)
            offset, size = map(int, line[4:-2].split(b","))
            if offset == 960 and not ignored_once:  # this chunk is lost: asked for again
                ignored_once = True
                continue
            writer.write(phd_chunk(photo, offset, size))
            await writer.drain()
            if offset + size == len(photo):
                break
        writer.close()

    async def scenario():
        async with Listener(tmp_path, port=0, photo_timeout_s=1.0) as listener:
            requests = []
            await device(listener.port, requests)
            await wait_for(lambda: listener.stats.active == 0)
            return requests, listener.stats

    requests, stats = asyncio.run(scenario())
    assert requests == [
        b"#PHD0,960\r\n", b"#PHD960,960\r\n", b"#PHD960,960\r\n", b"#PHD1920,960\r\n",
        b"#PHD2880,960\r\n", b"#PHD3840,960\r\n", b"#PHD4800,200\r\n",
    ]
    assert (stats.photos, stats.photos_failed, stats.frames) == (1, 0, 7)
    photos = read_log(tmp_path).photos()
    assert len(photos) == 1
    row = photos.iloc[0]
    assert (row["device_id"], row["size"], bool(row["complete"])) == ("1156802639", 5000, True)
    assert row["data"] == photo


def test_no_photos_means_no_requests(tmp_path):
    async def scenario():
        async with Listener(tmp_path, port=0, photos=False) as listener:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(pho_frame(5000) + b"\r\n" + B1)
            await writer.drain()
            first = await asyncio.wait_for(reader.readuntil(b"@E#@"), 5)
            writer.close()
            return first

    # a request would have been written before the reply to the frame after the announcement
    assert asyncio.run(scenario()).startswith(b"@B#@|01|002|")


# -- limits and the live view ------------------------------------------------------------


def test_connections_past_the_limit_are_refused_with_one_line(tmp_path):
    out = io.StringIO()

    async def scenario():
        events = EventLog(out, json_lines=True)
        async with Listener(tmp_path, port=0, max_connections=2, events=events) as listener:
            kept = [await asyncio.open_connection("127.0.0.1", listener.port) for _ in range(2)]
            await wait_for(lambda: listener.stats.active == 2)
            for _ in range(5):
                reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
                with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
                    await asyncio.wait_for(reader.readexactly(1), 5)
                writer.close()
            kept[0][1].write(POS + b"\r\n")  # the admitted ones are still served
            await kept[0][1].drain()
            await wait_for(lambda: listener.stats.frames == 1)
            for _, writer in kept:
                writer.close()
            return listener.stats

    stats = asyncio.run(scenario())
    assert (stats.connections, stats.refused) == (2, 5)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["event"] for e in events] == ["refused"]
    assert (events[0]["limit"], events[0]["refused"]) == (2, 1)


def test_a_max_connections_above_the_open_file_limit_is_refused_at_start(tmp_path):
    import resource

    from bofan_analytics.errors import FormatError

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no open-file limit here")
    with pytest.raises(FormatError, match=r"--max-connections \d+ needs \d+ open files"):
        asyncio.run(Listener(tmp_path, port=0, max_connections=hard).start())
    assert 1 <= listen_module.default_max_connections() < _soft


def test_idle_connections_are_closed_and_status_lines_come_as_json(tmp_path):
    out = io.StringIO()

    async def scenario():
        events = EventLog(out, json_lines=True)
        async with Listener(
            tmp_path, port=0, idle_timeout_s=0.4, events=events, status_every_s=0.1
        ) as listener:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(POS + b"\r\n")
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the listener
            writer.close()
            await wait_for(lambda: after_close(out.getvalue()) is not None)

    def after_close(text):
        lines = [json.loads(line) for line in text.splitlines()]
        done = [e for e in lines if e["event"] == "status" and e["connections"] == 0 and e["frames"]]
        return done[-1] if done else None

    asyncio.run(scenario())
    status = after_close(out.getvalue())
    assert (status["frames"], status["rejects"], status["photos"], status["refused"]) == (1, 0, 0, 0)
    assert status["bytes_written"] == sum(p.stat().st_size for p in tmp_path.glob("bofan-*.log"))


def test_listen_runs_until_stopped_from_another_thread(tmp_path):
    ready = threading.Event()
    where = {}
    stop = threading.Event()
    result = {}

    def on_ready(host, port):
        where["port"] = port
        ready.set()

    thread = threading.Thread(
        target=lambda: result.update(stats=listen(tmp_path, port=0, on_ready=on_ready, stop=stop))
    )
    thread.start()
    assert ready.wait(10)
    with socket.create_connection(("127.0.0.1", where["port"]), timeout=5) as conn:
        conn.sendall(POS + b"\n")
        conn.settimeout(None)
        deadline = time.monotonic() + 10
        while POS.hex() not in "".join(capture_lines(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.02)
        stop.set()  # with the connection still open
        thread.join(10)
    assert not thread.is_alive()
    assert result["stats"].connections == 1 and result["stats"].frames == 1
    assert result["stats"].stopped_by == "stop"
    assert listen(tmp_path / "timed", port=0, duration_s=0.2).stopped_by == "duration"


def test_a_busy_port_is_one_line_and_exit_1(tmp_path, capsys):
    from bofan_analytics.cli import main

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        code = main(["listen", "--port", str(port), "-o", str(tmp_path), "--duration", "0.1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err


# -- the endpoint left running: load, abuse, SIGTERM --------------------------------------

BASE = dt.datetime(2026, 11, 2, 6, 0, tzinfo=dt.timezone.utc)


def pt502_frame(device: str, k: int) -> tuple[bytes, tuple]:
    when = BASE + dt.timedelta(seconds=k)
    text = (
        f"$POS,{device},{when:%H%M%S}.000,A,3258.1738,S,02755.4350,E,0.00,215.88,{when:%d%m%y},"
        ",,A/0000,0//232300//5b3/"
    ).encode()
    frame = header(text) + text if k % 5 == 0 else text
    return frame + b"\r\n", (device, when)


def pt60_frame(device: str, k: int) -> tuple[bytes, tuple]:
    when = BASE + dt.timedelta(seconds=k)
    if k % 2:
        text = f"@G#@,V01,6,{device},8888888888888888,{when:%Y%m%d%H%M%S},23.2014050;104.235212,@R#@"
    else:
        text = f"@B#@|01|001|{device}|9425010450971470|1|45|{when:%Y%m%d%H%M%S}|32.701093|35.570938|1|@E#@"
    return text.encode(), (device, when)


def expected_reply(frame: bytes) -> re.Pattern:
    if frame.startswith(b"@G#@"):
        return re.compile(rb"@G#@,V01,38,\d{14},@R#@")
    device = frame.split(b"|")[3]
    return re.compile(rb"@B#@\|01\|002\|" + device + rb"\|0\|\d{14}\|@E#@")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the RSS")
def test_an_endpoint_left_running_records_each_good_frame_once_and_stops_on_sigterm(tmp_path):
    rng = random.Random(2026)
    good: list[tuple] = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "bofan_analytics", "listen", "--port", "0", "-o", str(tmp_path),
         "--idle-timeout", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    samples: list[int] = []
    sampling = threading.Event()

    def sample_rss():
        while not sampling.wait(0.02):
            with contextlib.suppress(OSError, AssertionError):
                samples.append(rss_bytes(proc.pid))

    async def send_in_pieces(writer, data: bytes):
        i = 0
        while i < len(data):
            n = rng.randint(1, 300)
            writer.write(data[i : i + n])
            await writer.drain()
            await asyncio.sleep(0)
            i += n

    async def tracker(port, frames, replies_expected):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sending = asyncio.create_task(send_in_pieces(writer, b"".join(frames)))
        answers = b""
        while answers.count(b"@R#@") + answers.count(b"@E#@") < replies_expected:
            answers += await asyncio.wait_for(reader.read(65536), 30)
        await sending
        writer.close()
        return answers

    async def udp_device(port):
        loop = asyncio.get_running_loop()
        got = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.settimeout(10)
            for k in range(40):
                g, key = pt60_frame(f"35800000000{k:04d}", 2 * k + 1)
                p, key2 = pt502_frame("4100000001", k)
                good.extend([key, key2])
                udp.sendto(g + p, ("127.0.0.1", port))
                got.append((await loop.run_in_executor(None, udp.recvfrom, 1024))[0])
        return got

    opened: list[socket.socket] = []  # connections left open until the end

    def connect(port) -> socket.socket:
        conn = socket.create_connection(("127.0.0.1", port), timeout=30)
        opened.append(conn)
        return conn

    def junk(port, total):
        conn = connect(port)
        block = bytes(range(65, 91)) * 10082  # letters only: no frame start, no line end
        for _ in range(0, total, len(block)):
            conn.sendall(block)

    def liar(port, device):
        frames = [pt502_frame(device, 100 + k) for k in range(5)]
        good.extend(key for _, key in frames)
        connect(port).sendall(b"$PHD0,999999999," + b"".join(f for f, _ in frames))
        # and a chunk claiming more than a connection may hold, its data never complete
        connect(port).sendall(b"$PHD0,65535," + b"\x07" * 65_530)

    async def scenario(port):
        jobs, replies = [], []
        for c in range(20):
            if c < 10:
                made = [pt502_frame(f"{3000000000 + c}", k) for k in range(300)]
                n_replies = 0
            else:
                made = [pt60_frame(f"86489103{c:07d}", k) for k in range(300)]
                n_replies = len(made)
                replies.append([f for f, _ in made])
            good.extend(key for _, key in made)
            jobs.append(tracker(port, [f for f, _ in made], n_replies))
        loop = asyncio.get_running_loop()
        results = await asyncio.gather(
            *jobs, udp_device(port), loop.run_in_executor(None, junk, port, 64 << 20),
            loop.run_in_executor(None, liar, port, "6100000001"),
        )
        return results[:20], replies, results[20]

    holder = None
    try:
        banner = proc.stderr.readline()
        port = int(re.search(r":(\d+) \(tcp, udp\)", banner).group(1))
        sampler = threading.Thread(target=sample_rss)
        sampler.start()
        # a device that connects, sends one frame and keeps its connection open
        hold_frame, key = pt502_frame("5100000001", 1)
        good.append(key)
        holder = socket.create_connection(("127.0.0.1", port), timeout=10)
        holder.sendall(hold_frame)
        deadline = time.monotonic() + 30
        while b"5100000001".hex() not in "".join(capture_lines(tmp_path)):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.2)
        baseline = max(samples[-5:])  # the kernels are loaded by now

        answers, replies, udp_answers = asyncio.run(scenario(port))
        deadline = time.monotonic() + 30
        while read_log(tmp_path).messages.num_rows < len(good):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)  # with four connections still open
        out, err = proc.communicate(timeout=30)
    finally:
        sampling.set()
        for conn in [holder, *opened]:
            if conn is not None:
                conn.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "24 connection(s)" in out

    # every PT-60 frame got its answer, in order
    for sent, got in zip(replies, answers[10:], strict=True):
        pieces = re.findall(rb"@[GB]#@.*?@[RE]#@", got)
        assert len(pieces) == len(sent)
        for frame, reply in zip(sent, pieces, strict=True):
            assert expected_reply(frame).fullmatch(reply)
    assert all(re.fullmatch(rb"@G#@,V01,38,\d{14},@R#@", a) for a in udp_answers)

    # the capture holds each good frame exactly once, with its receive time
    log = read_log(tmp_path)
    assert log.rejects.num_rows == 0
    got = sorted(zip(log.messages["device_id"].to_pylist(), log.messages["time"].to_pylist(),
                     strict=True))
    assert got == sorted(good)
    assert log.messages["received_at"].null_count == 0

    # 64 MB of junk and a 64 KiB lying chunk went through without being held
    assert max(samples) - baseline < 40 << 20, (baseline, max(samples))


def test_bofan_listen_stops_on_sigint_with_a_connection_open_and_logs_json(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "bofan_analytics", "listen", "--port", "0", "-o", str(tmp_path),
         "--json-log"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    conn = None
    try:
        banner = json.loads(proc.stderr.readline())
        assert (banner["event"], banner["host"], banner["output"]) == (
            "listening", "127.0.0.1", str(tmp_path)
        )
        conn = socket.create_connection(("127.0.0.1", banner["port"]), timeout=10)
        conn.sendall(POS + b"\r\n" + POS2[:40])  # and the start of a frame it never ends
        deadline = time.monotonic() + 30
        while POS.hex() not in "".join(capture_lines(tmp_path)):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if conn is not None:
            conn.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0 and err == ""
    assert out.startswith("1 connection(s), 0 datagram(s), 141 bytes, 2 frame(s), 0 reject(s)")
    # what the connection had sent when the listener stopped is recorded, as the decoder
    # would read the end of a stream: a truncated sentence is a reject there
    log = read_log(tmp_path)
    assert log.messages["device_id"].to_pylist() == ["216769295715"]
    assert log.rejects["raw"].to_pylist() == [POS2[:40]]
