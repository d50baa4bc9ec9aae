#!/usr/bin/python3
"""Server instructions per request by operation, counted by callgrind (issue #23).

A fixed mix is sent over one keep-alive connection, signed by botocore's SigV4 as boto3 signs
(header signatures, payload hashed): a 4 KiB GET, the same by a presigned URL (as wrk
sends it in bench/run.sh), a 64 KiB GET, a durable 4 KiB PUT, a page
of 1,000 keys (ListObjectsV2), a HEAD, and a BatchGet of 256 4 KiB objects (docs/batch-get.md:
one request, counted per request like the list page). The server runs under valgrind --tool=callgrind with
its default configuration (access log on, to a file) but one I/O thread; collection is off
while it starts and the data is seeded, then for each operation the counters are zeroed, a
fixed number of requests is sent one after the other, and the counters are dumped. Every
thread of the process counts, so work moved off the request path (the access log's writer)
still shows. Instruction counts repeat for the same binary and inputs nearly whatever the machine's
load, unlike seconds.

  bench/costs.py [--bin BIN]            prints the table, and the change from the baseline
  bench/costs.py --check                also fails (exit 1) when an operation costs more
                                        than --tolerance (10%) over bench/costs.baseline
  bench/costs.py --update               rewrites bench/costs.baseline from this run
  bench/costs.py --server-args="--access-log off"   the same with more server flags
  bench/costs.py --keep DIR             keeps each operation's callgrind dump, to annotate

The baseline is committed: update it on purpose, in the commit that changes the cost, and
say why (docs/testing.md "The cost counter").
"""
import argparse
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

from botocore.auth import S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASELINE = os.path.join(ROOT, "bench", "costs.baseline")
AK, SK = "costsaccesskey", "costssecretkey0123456789"
CREDS = Credentials(AK, SK)
BUCKET = "costs"
# Operation, requests counted. Enough that a request's share of the fixed costs (a dump,
# a timer's wake-up) stays far below the tolerance.
MIX = [("get_4k", 300), ("get_4k_presigned", 300), ("get_64k", 300), ("put_4k", 200),
       ("list_1000", 20), ("head", 300), ("batch_256", 20)]
BATCH = 256


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Conn:
    def __init__(self, port):
        self.port = port
        self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def presigned(self, path):
        """The path and query of a presigned GET (as wrk and browsers send them)."""
        req = AWSRequest(method="GET", url=f"http://127.0.0.1:{self.port}{path}")
        S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=3600).add_auth(req)
        return req.url.split(str(self.port), 1)[1]

    def raw_get(self, path_and_query):
        self.c.request("GET", path_and_query)
        r = self.c.getresponse()
        data = r.read()
        if r.status != 200:
            raise SystemExit(f"costs: GET {path_and_query}: {r.status} {data[:300]!r}")

    def request(self, method, path, body=b"", expect=200):
        url = f"http://127.0.0.1:{self.port}{path}"
        req = AWSRequest(method=method, url=url, data=body)
        req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
        self.c.request(method, path, body=body, headers=dict(req.headers.items()))
        r = self.c.getresponse()
        data = r.read()
        if r.status != expect:
            raise SystemExit(f"costs: {method} {path}: {r.status} {data[:300]!r}")
        return data


def callgrind(pid, *args):
    subprocess.run(["callgrind_control", *args, str(pid)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run(binary, work, extra, keep=None):
    port = free_port()
    out = os.path.join(work, "cg.out.%p")
    log = open(os.path.join(work, "server.log"), "wb")
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--instr-atstart=no",
         binary, "server", "--data", os.path.join(work, "data"), "--listen",
         f"127.0.0.1:{port}", "--access-key", AK, "--secret-key", SK, "--threads", "1",
         "--lifecycle-interval", "0", "--access-log", os.path.join(work, "access.log"), *extra],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(1200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("costs: the server exited; see " + log.name)
                time.sleep(0.1)
        c = Conn(port)
        c.request("PUT", f"/{BUCKET}")
        small, medium = os.urandom(4096), os.urandom(65536)
        c.request("PUT", f"/{BUCKET}/obj-4k", small)
        c.request("PUT", f"/{BUCKET}/obj-64k", medium)
        for i in range(1000):
            c.request("PUT", f"/{BUCKET}/list/key-{i:05d}")
        for i in range(BATCH):
            c.request("PUT", f"/{BUCKET}/batch/{i:05d}.bin", os.urandom(4096))
        batch_body = ("<BatchGet>" + "".join(f"<Object><Key>batch/{i:05d}.bin</Key></Object>"
                                             for i in range(BATCH)) + "</BatchGet>").encode()
        # Warm: the first requests of each kind fill caches and grow buffers.
        c.request("GET", f"/{BUCKET}/obj-4k")
        c.request("GET", f"/{BUCKET}/obj-64k")
        c.request("PUT", f"/{BUCKET}/put/key-0", small)
        c.request("GET", f"/{BUCKET}?list-type=2&prefix=list%2F&max-keys=1000")
        c.request("HEAD", f"/{BUCKET}/obj-4k")
        answer = c.request("POST", f"/{BUCKET}?batch-get", batch_body)
        with tarfile.open(fileobj=io.BytesIO(answer)) as t:
            if sum(1 for m in t if m.isfile() and m.size == 4096) != BATCH:
                raise SystemExit("costs: a batch answer was not 256 members of 4 KiB")
        batch_size = len(answer)
        presigned = c.presigned(f"/{BUCKET}/obj-4k")
        c.raw_get(presigned)
        callgrind(server.pid, "-i", "on")
        counts = {}
        for op, n in MIX:
            callgrind(server.pid, "-z")
            for i in range(n):
                if op == "get_4k":
                    c.request("GET", f"/{BUCKET}/obj-4k")
                elif op == "get_4k_presigned":
                    c.raw_get(presigned)
                elif op == "get_64k":
                    c.request("GET", f"/{BUCKET}/obj-64k")
                elif op == "put_4k":
                    c.request("PUT", f"/{BUCKET}/put/key-{i % 16}", small)
                elif op == "list_1000":
                    page = c.request("GET", f"/{BUCKET}?list-type=2&prefix=list%2F&max-keys=1000")
                    if page.count(b"<Key>") != 1000:
                        raise SystemExit("costs: a list page did not hold 1,000 keys")
                elif op == "batch_256":
                    if len(c.request("POST", f"/{BUCKET}?batch-get", batch_body)) != batch_size:
                        raise SystemExit("costs: a batch answer changed its size")
                else:
                    c.request("HEAD", f"/{BUCKET}/obj-4k")
            before = set(os.listdir(work))
            callgrind(server.pid, "-d")
            dumps = sorted(set(os.listdir(work)) - before)
            total = 0
            for d in dumps:
                with open(os.path.join(work, d)) as f:
                    for line in f:
                        m = re.match(r"summary:\s+(\d+)", line)
                        if m:
                            total += int(m.group(1))
                            break
            if not dumps:
                raise SystemExit("costs: callgrind wrote no dump")
            counts[op] = (total / n, n)
            for d in dumps:
                if keep:
                    shutil.move(os.path.join(work, d), os.path.join(keep, f"callgrind.{op}.{d}"))
                else:
                    os.remove(os.path.join(work, d))
        return counts
    finally:
        server.terminate()
        try:
            server.wait(timeout=120)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def read_baseline():
    base = {}
    if os.path.exists(BASELINE):
        with open(BASELINE) as f:
            for line in f:
                line = line.split("#", 1)[0].split()
                if len(line) == 2:
                    base[line[0]] = float(line[1])
    return base


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release/src/sluice"))
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--tolerance", type=float, default=0.10)
    ap.add_argument("--json", help="also write the figures here")
    ap.add_argument("--keep", help="keep each operation's callgrind dump in this directory "
                    "(callgrind_annotate DIR/callgrind.get_4k.*)")
    ap.add_argument("--server-args", default="",
                    help="more server flags, for experiments (--access-log off); not with --update")
    a = ap.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        print("costs: valgrind is not installed (scripts/install-deps.sh --test)")
        return 77
    work = tempfile.mkdtemp(prefix="sluice-costs.")
    try:
        if a.keep:
            os.makedirs(a.keep, exist_ok=True)
        counts = run(os.path.abspath(a.bin), work, a.server_args.split(),
                     os.path.abspath(a.keep) if a.keep else None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = read_baseline()
    worse = []
    print(f"{'operation':<17} {'instructions/request':>21} {'requests':>9} {'baseline':>12} {'change':>8}")
    for op, (per, n) in counts.items():
        b = base.get(op)
        change = f"{(per / b - 1) * 100:+.1f}%" if b else "-"
        print(f"{op:<17} {per:>21,.0f} {n:>9} {b if b else 0:>12,.0f} {change:>8}")
        if b and per > b * (1 + a.tolerance):
            worse.append(op)
        elif b and per < b * (1 - a.tolerance):
            print(f"  {op} is more than {a.tolerance:.0%} cheaper than the baseline: "
                  "if that is meant, run bench/costs.sh --update and commit bench/costs.baseline")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({op: per for op, (per, _) in counts.items()}, f, indent=1)
    if a.update and a.server_args:
        raise SystemExit("costs: the baseline is of the default configuration; drop --server-args")
    if a.update:
        with open(BASELINE, "w") as f:
            f.write("# Server instructions per request (bench/costs.sh --update; see its header).\n")
            f.write(f"# {time.strftime('%Y-%m-%d', time.gmtime())}, valgrind "
                    f"{subprocess.run(['valgrind', '--version'], capture_output=True, text=True).stdout.strip()}\n")
            for op, (per, _) in counts.items():
                f.write(f"{op} {per:.0f}\n")
        print(f"costs: wrote {BASELINE}")
    if a.check and worse:
        print(f"costs: {', '.join(worse)} cost more than {a.tolerance:.0%} over the baseline. "
              "Find out why (bench/costs.sh --keep DIR, then callgrind_annotate the dumps); "
              "if the cost is meant, bench/costs.sh --update.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
