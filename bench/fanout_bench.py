#!/usr/bin/python3
"""Model fan-out: N processes pull the same large object at once (#21 item 4).

The access pattern of serving pods scaling out: every replica downloads the same model
file at the same moment. Each way is measured against nginx serving the same file, in
the same run, with the same client on both sides:
- `curl`: N `curl -o /dev/null` plain GETs (sluice through a presigned URL);
- `boto3`: N processes, each boto3's `download_fileobj` (the transfer manager behind
  `download_file`: a HEAD, then 8 MiB ranged GETs on 10 threads) into a sink that
  drops the bytes, against sluice and against nginx (which ignores the signature);
- `sluice`: N processes, each `sluice.Client().open(url, "rb")` read to the end in
  1 MiB `readinto`s (the default reader that `sluice.torch.load` and model pulls use),
  against N curl GETs from nginx; `sluice-stream` and `sluice-ranged`, the same with
  `streaming=True` and `streaming=False` (parallel ranged reads, the default before #21).
- `cache-cold` and `cache-warm`: N curl GETs through a read-through cache (`sluice server
  --cache-of`, docs/cache.md) whose origin is the sluice above: cold, the cache started
  empty for the round (the N pulls join one fill from the origin); warm, the same again
  with the object held. Each also reports the bytes the origin sent in the round (from its
  access log): 1x the object when the origin is read once.
Reports aggregate GB/s (N × size / wall time from the start signal to the last byte)
and the ratio sluice/nginx of each way (target >= 0.9x).

Needs nginx and curl (../shared/peers/nginx-up.sh, started here on a directory of its own).
Usage: /usr/bin/python3 bench/fanout_bench.py [--size-mib 1024] [--procs 16] [--rounds 3]
       [--ways curl,boto3,sluice,sluice-stream,sluice-ranged,cache-cold,cache-warm]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build/release/python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sluice  # noqa: E402
from batch_bench import AK, SK, PEERS, free_port, wait_port  # noqa: E402

PY = "/usr/bin/python3"
BUCKET, KEY = "models", "llm/model.safetensors"
CHUNK = 1 << 20


def worker(kind, endpoint, size):
    """One pulling process: imports and connects, says "ready", waits for "go", reads
    the whole object and checks its size."""
    if kind == "boto3":
        import boto3
        from botocore.config import Config
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=AK,
                          aws_secret_access_key=SK, config=Config(max_pool_connections=16))

        class Sink:
            n = 0

            def write(self, b):
                Sink.n += len(b)
                return len(b)

        def pull():
            s3.download_fileobj(BUCKET, KEY, Sink())
            return Sink.n
    else:
        c = sluice.Client(endpoint=endpoint, access_key=AK, secret_key=SK)
        buf = bytearray(CHUNK)

        def pull():
            got = 0
            streaming = {"sluice": None, "sluice-stream": True, "sluice-ranged": False}[kind]
            with c.open(f"s3://{BUCKET}/{KEY}", "rb", streaming=streaming) as f:
                while True:
                    n = f.readinto(buf)
                    if not n:
                        return got
                    got += n
    print("ready", flush=True)
    sys.stdin.readline()
    got = pull()
    if got != size:
        print(f"short read: {got} of {size}", file=sys.stderr)
        return 1
    print("done", flush=True)
    return 0


def run_python(kind, endpoint, procs, size):
    """Seconds for `procs` worker processes of `kind` to pull the object at once."""
    ps = [subprocess.Popen([PY, os.path.abspath(__file__), "--worker", kind, endpoint, str(size)],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
          for _ in range(procs)]
    for p in ps:
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{kind} worker did not start")
    start = time.monotonic()
    for p in ps:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in ps:
        if p.stdout.readline().strip() != "done" or p.wait() != 0:
            raise RuntimeError(f"{kind} worker failed")
    return time.monotonic() - start


def run_curl(url, procs, size):
    start = time.monotonic()
    ps = [subprocess.Popen(["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}", url],
                           stdout=subprocess.PIPE, text=True) for _ in range(procs)]
    for p in ps:
        out, _ = p.communicate()
        if p.returncode != 0 or int(out) != size:
            raise RuntimeError(f"curl {url}: exit {p.returncode}, {out} bytes")
    return time.monotonic() - start


def origin_bytes(log_path):
    """Bytes the origin has sent for GETs of KEY (2xx), from its access log."""
    total = 0
    with open(log_path, "rb") as f:
        for line in f.read().decode("utf-8", "replace").splitlines():
            if "method=GET" in line and f'key="{KEY}"' in line:
                m = re.search(r" status=2\d\d in=\d+ out=(\d+)", line)
                if m:
                    total += int(m.group(1))
    return total


class Cache:
    """A read-through cache of `origin`, started empty by fresh()."""

    def __init__(self, binary, work, origin):
        self.binary, self.dir, self.origin = binary, os.path.join(work, "cache"), origin
        self.port, self.proc = free_port(), None
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def fresh(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.dir + ".iam-key", ignore_errors=True)
        self.log = open(self.dir + ".log", "ab")
        self.proc = subprocess.Popen(
            [self.binary, "server", "--data", self.dir, "--listen", f"127.0.0.1:{self.port}",
             "--access-key", AK, "--secret-key", SK, "--no-access-log", "--cache-of", self.origin,
             "--cache-access-key", AK, "--cache-secret-key", SK, "--cache-size", "4G"],
            stdout=self.log, stderr=self.log)
        wait_port(self.port)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--procs", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ways", default="curl,boto3,sluice,sluice-stream,sluice-ranged")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release/src/sluice"))
    a = ap.parse_args()
    size = a.size_mib << 20
    ways = a.ways.split(",")
    work = tempfile.mkdtemp(prefix="sluice-fanout-bench-")
    www = os.path.join(work, "www")
    os.makedirs(os.path.join(www, BUCKET, os.path.dirname(KEY)))
    nginx = False
    cache = None
    port = free_port()
    log = open(os.path.join(work, "server.log"), "wb", buffering=0)
    proc = subprocess.Popen([a.bin, "server", "--data", os.path.join(work, "data"), "--listen",
                             f"127.0.0.1:{port}", "--access-key", AK, "--secret-key", SK],
                            stdout=log, stderr=log)
    sluice_ep = f"http://127.0.0.1:{port}"
    try:
        wait_port(port)
        c = sluice.Client(endpoint=sluice_ep, access_key=AK, secret_key=SK)
        c.create_bucket(BUCKET)
        path = os.path.join(www, BUCKET, KEY)
        with open(path, "wb") as f:
            for _ in range(a.size_mib):
                f.write(os.urandom(1 << 20))
        c.upload(path, f"s3://{BUCKET}/{KEY}")
        nport = free_port()
        out = subprocess.run([os.path.join(PEERS, "nginx-up.sh"), www, str(nport)], capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("nginx-up.sh: " + out.stderr[-500:])
        nginx = True
        nginx_ep = f"http://127.0.0.1:{nport}"
        print(f"{a.procs} processes pull one {a.size_mib} MiB object at once, {a.rounds} rounds; "
              f"sluice at its defaults, "
              f"nginx from ../shared/peers; aggregate GB/s")
        gb = a.procs * size / 1e9
        url = subprocess.run([a.bin, "presign", "--endpoint", sluice_ep, "--access-key", AK,
                              "--secret-key", SK, f"s3://{BUCKET}/{KEY}"],
                             capture_output=True, text=True, check=True).stdout.strip()
        cache = Cache(a.bin, work, sluice_ep) if any(w.startswith("cache") for w in ways) else None
        cache_url = None
        if cache:
            cache.fresh()
            cache_url = subprocess.run([a.bin, "presign", "--endpoint", cache.endpoint, "--access-key", AK,
                                        "--secret-key", SK, f"s3://{BUCKET}/{KEY}"],
                                       capture_output=True, text=True, check=True).stdout.strip()
        for rnd in range(a.rounds):
            line = []
            nginx_curl = None
            for way in ways:
                if way.startswith("cache"):
                    if way == "cache-cold":
                        cache.fresh()
                    before = origin_bytes(log.name)
                    ours = run_curl(cache_url, a.procs, size)
                    read = (origin_bytes(log.name) - before) / size
                    theirs = run_curl(f"{nginx_ep}/{BUCKET}/{KEY}", a.procs, size)
                    line.append(f"{way} {gb / ours:5.2f} vs {gb / theirs:5.2f} = {theirs / ours:4.2f}x "
                                f"(origin sent {read:.2f}x the object)")
                    continue
                if way == "curl":
                    ours, theirs = run_curl(url, a.procs, size), run_curl(f"{nginx_ep}/{BUCKET}/{KEY}", a.procs, size)
                elif way == "boto3":
                    ours, theirs = run_python("boto3", sluice_ep, a.procs, size), run_python("boto3", nginx_ep, a.procs, size)
                else:
                    ours = run_python(way, sluice_ep, a.procs, size)
                    if nginx_curl is None:
                        nginx_curl = run_curl(f"{nginx_ep}/{BUCKET}/{KEY}", a.procs, size)
                    theirs = nginx_curl
                line.append(f"{way} {gb / ours:5.2f} vs {gb / theirs:5.2f} = {theirs / ours:4.2f}x")
            print(f"  round {rnd + 1}: " + "  ".join(line), flush=True)
    finally:
        if cache:
            cache.stop()
        if nginx:
            subprocess.run([os.path.join(PEERS, "nginx-down.sh")], capture_output=True)
        proc.terminate()
        proc.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        sys.exit(worker(sys.argv[2], sys.argv[3], int(sys.argv[4])))
    sys.exit(main())
