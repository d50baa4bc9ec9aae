#!/usr/bin/python3
"""What moving bytes between two processes costs on this machine, without HTTP or S3:
4 client processes fetch every file of DIR (2 GiB of shards in bench/NOTES.md) from a
server process that answers with sendfile, over TCP loopback and over a Unix socket, and
4 processes read the same files straight from the page cache. Prints wall seconds and
busy core-seconds (/proc/stat, the whole machine) per pass. Not part of bench/run.sh: the
figures it gave are in bench/NOTES.md (PyTorch).

usage: transport_probe.py DIR [ROUNDS]     (files are read once first, to warm the cache)"""
import os
import socket
import sys
import threading
import time
from multiprocessing import Process

top = sys.argv[1]
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
files = sorted(os.path.join(top, f) for f in os.listdir(top) if os.path.isfile(os.path.join(top, f)))
WORKERS, BUF = 4, 256 << 10


def busy():
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # all but idle and iowait, in ticks


def serve(family, addr):
    s = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(addr)
    s.listen(16)

    def one(c):
        while (req := c.recv(4)):
            with open(files[int.from_bytes(req, "little")], "rb") as f:
                size, off = os.fstat(f.fileno()).st_size, 0
                while off < size:
                    off += os.sendfile(c.fileno(), f.fileno(), off, size - off)
        c.close()
    while True:
        threading.Thread(target=one, args=(s.accept()[0],), daemon=True).start()


def fetch(family, addr, w):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.connect(addr)
    mv = memoryview(bytearray(BUF))
    for i in range(w, len(files), WORKERS):
        size, got = os.path.getsize(files[i]), 0
        c.sendall(i.to_bytes(4, "little"))
        while got < size:
            got += c.recv_into(mv[:min(BUF, size - got)])
    c.close()


def read_local(w):
    mv = memoryview(bytearray(BUF))
    for path in files[w::WORKERS]:
        with open(path, "rb", buffering=0) as f:
            while f.readinto(mv):
                pass


def main():
    sock_path = f"/tmp/transport_probe.{os.getpid()}.sock"
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    port = tcp.getsockname()[1]
    tcp.close()
    ways = {"tcp": (socket.AF_INET, ("127.0.0.1", port)), "unix": (socket.AF_UNIX, sock_path)}
    servers = [Process(target=serve, args=a, daemon=True) for a in ways.values()]
    for p in servers:
        p.start()
    time.sleep(0.5)
    for w in range(WORKERS):
        read_local(w)
    total = sum(os.path.getsize(f) for f in files)
    try:
        for _ in range(rounds):
            for name in ("local", "tcp", "unix"):
                b0, t0 = busy(), time.time()
                ps = [Process(target=read_local, args=(w,)) if name == "local" else
                      Process(target=fetch, args=(*ways[name], w)) for w in range(WORKERS)]
                for p in ps:
                    p.start()
                for p in ps:
                    p.join()
                t = time.time() - t0
                print(f"{name:5s} {total / 2**30:.2f} GiB {t:.2f} s  busy core-s "
                      f"{(busy() - b0) / os.sysconf('SC_CLK_TCK'):.2f}", flush=True)
    finally:
        for p in servers:
            p.terminate()
        if os.path.exists(sock_path):
            os.unlink(sock_path)


if __name__ == "__main__":
    main()
