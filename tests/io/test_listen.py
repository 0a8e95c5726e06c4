"""The listener, over real sockets on 127.0.0.1 (ephemeral ports)."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from bofan_analytics.io.listen import FrameCutter, Listener, listen, reply_for

pytestmark = pytest.mark.network

POS = b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/"
POS2 = b"$POS,1360000277,182241.000,A,0846.0896,N,07552.1738,W,13.58,26.88,291017,,,A/00000,00000/142,0,0,0/62792900//f65//#"
G6 = b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,23.2014050;104.235212,@R#@"
B1 = b"@B#@|01|001|864891030184852|9425010450971470|1|45|20181127122717|32.701093|35.570938|1|@E#@"
FUS_BEHIND_HEADER = bytes.fromhex(
    "bffb192d00244655533836353332383032363234333836342c3531302d56312e31322c4131312d56332e300d0d"
)
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (.*)$")


def logged_frames(directory: Path) -> list[str]:
    (log,) = directory.glob("bofan-*.log")
    lines = log.read_text().splitlines()
    for line in lines:
        assert LINE.match(line), line
    return [LINE.match(line).group(1) for line in lines]


async def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


def test_frame_cutter_cuts_lines_pt60_frames_headers_and_photo_chunks():
    cutter = FrameCutter()
    photo = b"$PHD0,6,\n\x00\xff\r\n\x01"
    stream = POS + b"\r\n" + G6 + B1 + b"\n" + FUS_BEHIND_HEADER + photo + POS2 + b"\r"
    frames = []
    for i in range(0, len(stream), 7):  # arrives in small pieces
        frames += cutter.feed(stream[i : i + 7])
    frames += cutter.flush()
    assert frames == [POS, G6, B1, b"$FUS865328026243864,510-V1.12,A11-V3.0", photo, POS2]


def test_replies():
    assert reply_for(POS) is None
    assert reply_for(b"@B#@|01|x|y|") is None
    assert re.fullmatch(rb"@G#@,V01,38,\d{14},@R#@", reply_for(G6))
    assert re.fullmatch(rb"@B#@\|01\|002\|864891030184852\|0\|\d{14}\|@E#@", reply_for(B1))


def test_tcp_and_udp_are_recorded_and_pt60_answered(tmp_path):
    async def scenario():
        async with Listener(tmp_path, port=0) as listener:
            port = listener.port
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            # a frame split over two writes, then a PT-60 frame that expects an answer
            writer.write(POS[:20])
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(POS[20:] + b"\r\n" + B1)
            await writer.drain()
            answer = await asyncio.wait_for(reader.readuntil(b"@E#@"), 5)
            writer.close()
            await writer.wait_closed()

            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.settimeout(5)
                udp.sendto(G6, ("127.0.0.1", port))
                udp_answer, _ = await asyncio.to_thread(udp.recvfrom, 1024)
                udp.sendto(POS2 + b"\r\n", ("127.0.0.1", port))
                await wait_for(lambda: listener.stats.datagrams == 2)
            await wait_for(lambda: not listener._tasks)
            return answer, udp_answer, listener.stats

    answer, udp_answer, stats = asyncio.run(scenario())
    assert answer.startswith(b"@B#@|01|002|864891030184852|0|")
    assert udp_answer.startswith(b"@G#@,V01,38,")
    assert (stats.connections, stats.datagrams, stats.replies) == (1, 2, 2)

    (tcp_file,) = tmp_path.glob("bofan-*-tcp0001.bin")
    assert tcp_file.read_bytes() == POS + b"\r\n" + B1  # exactly as received
    (udp_file,) = tmp_path.glob("bofan-*-udp.bin")
    assert udp_file.read_bytes() == G6 + POS2 + b"\r\n"
    assert logged_frames(tmp_path) == [POS.decode(), B1.decode(), G6.decode(), POS2.decode()]


def test_limits_close_connections(tmp_path):
    async def scenario():
        async with Listener(tmp_path, port=0, max_bytes=50, idle_timeout_s=0.2) as listener:
            reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(POS + b"\r\n")
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the listener
            writer.close()
            idle_reader, idle_writer = await asyncio.open_connection("127.0.0.1", listener.port)
            assert await asyncio.wait_for(idle_reader.read(), 5) == b""  # idle timeout
            idle_writer.close()
            await wait_for(lambda: not listener._tasks)

    asyncio.run(scenario())
    sizes = sorted(p.stat().st_size for p in tmp_path.glob("*-tcp*.bin"))
    assert sizes == [0, 50]
    # the cut-off tail is still logged, for the decoder to report as truncated
    assert logged_frames(tmp_path) == [POS[:50].decode()]


def test_stop_closes_open_connections(tmp_path):
    async def scenario():
        listener = Listener(tmp_path, port=0)
        await listener.start()
        _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        writer.write(POS[:30])
        await writer.drain()
        await wait_for(lambda: listener.stats.bytes_received == 30)
        await asyncio.wait_for(listener.stop(), 5)
        writer.close()

    asyncio.run(scenario())
    assert logged_frames(tmp_path) == [POS[:30].decode()]


def test_listen_runs_for_its_duration_and_can_be_stopped(tmp_path):
    ready = threading.Event()
    where = {}

    def on_ready(host, port):
        where["port"] = port
        ready.set()

    stop = threading.Event()
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(stats=listen(tmp_path, port=0, on_ready=on_ready, stop=stop))
    )
    started = time.monotonic()
    thread.start()
    assert ready.wait(5)
    with socket.create_connection(("127.0.0.1", where["port"]), timeout=5) as conn:
        conn.sendall(POS + b"\n")
    deadline = time.monotonic() + 5
    while "POS" not in "".join(logged_frames(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.02)
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert result["stats"].connections == 1
    assert logged_frames(tmp_path) == [POS.decode()]

    started = time.monotonic()
    stats = listen(tmp_path / "timed", port=0, duration_s=0.3)
    assert 0.3 <= time.monotonic() - started < 3 and stats.connections == 0


def test_captures_decode_while_and_after_recording(tmp_path):
    from bofan_analytics.decode import read_log

    async def scenario():
        async with Listener(tmp_path, port=0, reply=False) as listener:
            _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(FUS_BEHIND_HEADER + POS + b"\r\n" + G6 + POS2[:30])
            await writer.drain()
            await wait_for(lambda: listener.stats.frames_logged == 3)
            # readable while the connection is still open
            (tcp_file,) = tmp_path.glob("bofan-*-tcp0001.bin")
            live = read_log(tcp_file)
            writer.write(POS2[30:] + b"\r\n")
            await writer.drain()
            writer.close()
            await wait_for(lambda: not listener._tasks)
            return live

    live = asyncio.run(scenario())
    assert live.messages.num_rows == 3
    (tcp_file,) = tmp_path.glob("bofan-*-tcp0001.bin")
    raw = read_log(tcp_file)
    assert raw.rejects.num_rows == 0
    assert raw.messages["device_id"].to_pylist() == [
        "865328026243864",
        "216769295715",
        "111112222233333",
        "1360000277",
    ]
    (log_file,) = tmp_path.glob("bofan-*.log")
    lines = read_log(log_file, format="lines")
    assert lines.rejects.num_rows == 0
    assert lines.messages["msg_type"].to_pylist() == ["FUS", "POS", "G6", "POS"]
    assert lines.messages["received_at"].null_count == 0


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_bofan_listen_stops_cleanly_on_a_signal(tmp_path, sig):
    import os
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "bofan_analytics", "listen", "--port", "0", "-o", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = proc.stderr.readline()
        port = int(re.search(r":(\d+) \(tcp, udp\)", banner).group(1))
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(POS + b"\r\n")
            deadline = time.monotonic() + 5
            while not list(tmp_path.glob("*.log")) or not logged_frames(tmp_path):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            proc.send_signal(getattr(signal, sig))
            out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, err
    assert "1 connection(s)" in out and err == ""
    assert logged_frames(tmp_path) == [POS.decode()]
    (raw,) = tmp_path.glob("*-tcp0001.bin")
    assert raw.read_bytes() == POS + b"\r\n"


def test_runs_in_the_same_second_do_not_share_raw_files(tmp_path, monkeypatch):
    import datetime as dt

    from bofan_analytics.io import listen as listen_module

    frozen = dt.datetime(2026, 11, 2, 7, 10, 27, 948000, tzinfo=dt.timezone.utc)
    monkeypatch.setattr(listen_module, "_now", lambda: frozen)

    async def one_run(payload: bytes):
        async with Listener(tmp_path, port=0) as listener:
            _, writer = await asyncio.open_connection("127.0.0.1", listener.port)
            writer.write(payload)
            await writer.drain()
            writer.close()
            await wait_for(lambda: listener.stats.connections == 1 and not listener._tasks)
            return listener.stats.files

    first = asyncio.run(one_run(POS + b"\r\n"))
    second = asyncio.run(one_run(POS2 + b"\r\n"))
    raw_first, raw_second = first[-1], second[-1]
    assert Path(raw_first).name == "bofan-20261102T071027Z-tcp0001.bin"
    assert Path(raw_second).name == "bofan-20261102T071027Z-tcp0001-2.bin"
    assert Path(raw_first).read_bytes() == POS + b"\r\n"
    assert Path(raw_second).read_bytes() == POS2 + b"\r\n"


def test_a_busy_port_is_one_line_and_exit_1(tmp_path, capsys):
    from bofan_analytics.cli import main

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as busy:
        busy.bind(("127.0.0.1", 0))
        port = busy.getsockname()[1]
        code = main(["listen", "--port", str(port), "-o", str(tmp_path), "--duration", "0.1"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and f"cannot listen on 127.0.0.1:{port}" in err
