"""Record ``loopback.pcap``: real devices' frames sent over TCP and UDP to 127.0.0.1:8888,
captured by tcpdump (run as root: ``python tests/data/pcap/make_loopback_capture.py``).

The TCP sender writes one PT-502 sentence in two pieces (so it crosses packets), then a
PT-60 frame and a second sentence; the server answers the PT-60 frame; a UDP datagram
carries one more sentence. The expected decode is asserted in ``tests/decode/test_pcap.py``.
"""

import socket
import subprocess
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
POS_A = b"$POS,216769295715,163237.000,A,3258.1738,S,02755.4350,E,0.00,215.88,100915,,,A/0000,0//232300//5b3/\r\n"
POS_B = b"$POS,353451000164,082405.000,A,1254.8501,N,10051.6752,E,0.00,237.99,160513,,,A/0000,0/0/55000//a71/\r\n"
G6 = b"@G#@,V01,6,111112222233333,8888888888888888,20150312010203,23.2014050;104.235212,@R#@"


def serve(listener):
    conn, _ = listener.accept()
    with conn:
        while True:
            try:
                data = conn.recv(4096)
            except ConnectionResetError:  # the device hangs up without reading the reply
                break
            if not data:
                break
            if b"@R#@" in data:
                conn.sendall(b"@G#@,V01,38,20261122000000,@R#@")


def main():
    out = HERE / "loopback.pcap"
    dump = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-U", "-w", str(out), "port", "8888"],
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    listener = socket.create_server(("127.0.0.1", 8888))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 8888))
    server = threading.Thread(target=serve, args=(listener,))
    server.start()
    with socket.create_connection(("127.0.0.1", 8888)) as dev:
        dev.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        dev.sendall(POS_A[:40])
        time.sleep(0.2)
        dev.sendall(POS_A[40:] + G6)
        time.sleep(0.2)
        dev.sendall(POS_B)
        time.sleep(0.2)
    server.join()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(POS_B, ("127.0.0.1", 8888))
    time.sleep(1.0)
    dump.terminate()
    dump.wait()
    listener.close()
    udp.close()


if __name__ == "__main__":
    main()
