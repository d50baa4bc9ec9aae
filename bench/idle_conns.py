#!/usr/bin/python3
"""Opens N keep-alive connections to HOST:PORT, makes one request on each (GET /health),
keeps them all open and idle, prints "open=N" and waits for stdin to close.
usage: idle_conns.py HOST PORT N"""
import socket
import sys

host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
conns = []
for _ in range(n):
    s = socket.create_connection((host, port), timeout=30)
    s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got or not got.endswith(b"ok\n"):
        chunk = s.recv(4096)
        if not chunk:
            raise SystemExit("connection closed early")
        got += chunk
    conns.append(s)
print(f"open={len(conns)}", flush=True)
sys.stdin.read()
