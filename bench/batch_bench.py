#!/usr/bin/python3
"""Small samples: BatchGet against one GET per sample, and against nginx serving a tar.

For 4 KiB and 64 KiB objects, one client reads every sample three ways, through the same
client library (the sluice Python module, its C++ client underneath):
- `get`: one GET per sample from sluice (a ranged read of the known size: no HEAD);
- `batch`: one BatchGet per batch of --batch samples from sluice (tar parsed as it comes);
- `nginx-tar`: nginx serving a pre-built tar of the same batch, one GET per batch (the
  speed of light: no authorization, no lookups, no parsing).
Reports samples/s and the ratios batch/get (target >= 10x) and batch/nginx-tar (target
>= 0.9x). With --threads N, N clients do it at once (N DataLoader workers).

Needs nginx (../shared/peers/nginx-up.sh, started here on a directory of its own).
With --ceph-conf FILE, sluice runs on that Ceph cluster (scripts/ceph-dev.sh up), where
each lookup is a round trip to an OSD and a batch's lookups are one omap read a window.
Usage: /usr/bin/python3 bench/batch_bench.py [--count 4096] [--batch 256] [--rounds 3] [--threads 1]
                                             [--sizes 4096,65536] [--ceph-conf FILE]
"""
import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build/release/python"))
import sluice  # noqa: E402

AK, SK = "benchaccesskey", "benchsecretkey0123456789"
PEERS = os.path.join(ROOT, "..", "shared", "peers")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def timed(threads, work):
    """Runs work(i) on `threads` threads at once; seconds for all."""
    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    start = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.monotonic() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=4096)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release/src/sluice"))
    ap.add_argument("--ceph-conf", help="run sluice on this Ceph cluster (scripts/ceph-dev.sh up) "
                    "rather than on its local store")
    ap.add_argument("--sizes", default="4096,65536", help="sample sizes in bytes, comma-separated")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="sluice-batch-bench-")
    data, www = os.path.join(work, "data"), os.path.join(work, "www")
    os.makedirs(data)
    port, nport = free_port(), free_port()
    log = open(os.path.join(work, "server.log"), "wb")
    where = ["--data", data]
    if a.ceph_conf:  # a pool prefix of its own, so runs do not see each other's buckets
        where = ["--ceph-conf", a.ceph_conf, "--ceph-pool", f"batchbench{port}",
                 "--iam-key-file", os.path.join(work, "iam-key")]
    proc = subprocess.Popen([a.bin, "server", *where, "--listen", f"127.0.0.1:{port}",
                             "--access-key", AK, "--secret-key", SK], stdout=log, stderr=log)
    nginx = None
    try:
        wait_port(port)
        c = sluice.Client(endpoint=f"http://127.0.0.1:{port}", access_key=AK, secret_key=SK)
        c.create_bucket("samples")
        out = subprocess.run([os.path.join(PEERS, "nginx-up.sh"), www, str(nport)], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("nginx-up.sh: " + out.stderr[-500:])
        nginx = sluice.Client(endpoint=f"http://127.0.0.1:{nport}", access_key=AK, secret_key=SK)
        print(f"{a.count} samples, batches of {a.batch}, {a.threads} client thread(s), {a.rounds} rounds; "
              f"sluice at its defaults (access log on){' on Ceph RADOS' if a.ceph_conf else ''}, "
              f"nginx from ../shared/peers")
        for size in (int(x) for x in a.sizes.split(",")):
            keys = [f"s{size}/{i:06d}.bin" for i in range(a.count)]
            os.makedirs(os.path.join(www, "tars", f"s{size}"), exist_ok=True)
            for k in keys:
                c.put(f"s3://samples/{k}", os.urandom(size))
            batches = [keys[i:i + a.batch] for i in range(0, len(keys), a.batch)]
            tar_sizes = []
            for n, b in enumerate(batches):  # the same samples, as nginx would serve a tar of them
                buf = io.BytesIO()
                with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
                    for k in b:
                        body = c.get(f"s3://samples/{k}")
                        info = tarfile.TarInfo(k)
                        info.size = len(body)
                        t.addfile(info, io.BytesIO(body))
                path = os.path.join(www, "tars", f"s{size}", f"{n:05d}.tar")
                with open(path, "wb") as f:
                    f.write(buf.getvalue())
                tar_sizes.append(len(buf.getvalue()))
            clients = [sluice.Client(endpoint=f"http://127.0.0.1:{port}", access_key=AK, secret_key=SK)
                       for _ in range(a.threads)]
            nclients = [sluice.Client(endpoint=f"http://127.0.0.1:{nport}", access_key=AK, secret_key=SK)
                        for _ in range(a.threads)]

            def per_get(i):
                cl = clients[i]._c
                for k in keys[i::a.threads]:
                    cl.read_range("samples", k, 0, size, "")

            def per_batch(i):
                cl = clients[i]
                for b in batches[i::a.threads]:
                    got = cl.get_batch("s3://samples", b)
                    assert len(got) == len(b) and len(got[0]) == size

            def per_tar(i):
                cl = nclients[i]._c
                for n in range(i, len(batches), a.threads):
                    got = cl.read_range("tars", f"s{size}/{n:05d}.tar", 0, tar_sizes[n], "")
                    assert len(got) == tar_sizes[n]
            for rnd in range(a.rounds):
                rates = {name: a.count / timed(a.threads, fn)
                         for name, fn in (("get", per_get), ("batch", per_batch), ("nginx-tar", per_tar))}
                print(f"  {size // 1024:3d} KiB round {rnd + 1}: get {rates['get']:8.0f}/s  batch {rates['batch']:8.0f}/s  "
                      f"nginx-tar {rates['nginx-tar']:8.0f}/s  batch/get {rates['batch'] / rates['get']:5.1f}x  "
                      f"batch/nginx-tar {rates['batch'] / rates['nginx-tar']:4.2f}x")
    finally:
        if nginx is not None:
            subprocess.run([os.path.join(PEERS, "nginx-down.sh")], capture_output=True)
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
