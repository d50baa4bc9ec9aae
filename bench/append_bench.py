#!/usr/bin/python3
"""Event-file writing into S3, as TensorBoard's writers do it and as appends do it.

A writer frames N records of an event file (length, masked CRC, ~55-byte record, masked
CRC, as TensorBoard's scalar events) and flushes after each, through boto3 in both cases:
- `append`: each flush is one PutObject with x-amz-write-offset-bytes (sluice's appends);
- `reupload`: each flush re-uploads the whole file (tensorboardX's S3RecordWriter, and
  TensorBoard's stub GFile without append).
Run against sluice (started here, release build) and, with --rgw (after
`eval "$(../shared/peers/rgw-up.sh)"`), the re-upload against Ceph RGW in the same run,
since RGW has no S3 append. Reports flushes per second, bytes sent and the ratios.

Usage: /usr/bin/python3 bench/append_bench.py [--flushes 2000] [--rounds 2] [--rgw]
"""
import argparse
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AK, SK = "benchaccesskey", "benchsecretkey0123456789"


def record(step):
    payload = b"step=%08d loss=%.6f " % (step, 1.0 / (step + 1)) + b"s" * 24
    header = struct.pack("<Q", len(payload))
    return header + b"\0\0\0\0" + payload + b"\0\0\0\0"  # CRCs do not change the cost


def client(endpoint, ak, sk):
    c = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ak, aws_secret_access_key=sk,
                     region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    c.sent = 0

    def count(request, **kw):
        c.sent += int(request.headers.get("Content-Length", 0))
    c.meta.events.register("before-send.s3.PutObject", count)
    return c


def run(c, bucket, key, flushes, mode):
    offset = {"v": None}

    def add(request, **kw):
        if offset["v"] is not None:
            request.headers["x-amz-write-offset-bytes"] = str(offset["v"])
    if mode == "append":
        c.meta.events.register("before-sign.s3.PutObject", add)
    c.sent = 0
    whole = bytearray()
    start = time.monotonic()
    for step in range(flushes):
        rec = record(step)
        if mode == "append":
            offset["v"] = len(whole)
            c.put_object(Bucket=bucket, Key=key, Body=rec)
        else:
            c.put_object(Bucket=bucket, Key=key, Body=bytes(whole + rec))
        whole += rec
    took = time.monotonic() - start
    if mode == "append":
        c.meta.events.unregister("before-sign.s3.PutObject", add)
    got = c.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert got == bytes(whole), "the file read back differs"
    return flushes / took, c.sent, len(whole)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flushes", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--rgw", action="store_true", help="also RGW (RGW_ENDPOINT and the AWS_* keys rgw-up.sh prints)")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release/src/sluice"))
    a = ap.parse_args()
    data = tempfile.mkdtemp(prefix="sluice-append-bench-")
    port = free_port()
    log = open(os.path.join(data, "..", os.path.basename(data) + ".log"), "wb")
    proc = subprocess.Popen([a.bin, "server", "--data", data, "--listen", f"127.0.0.1:{port}",
                             "--access-key", AK, "--secret-key", SK], stdout=log, stderr=log)
    try:
        ep = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        s = client(ep, AK, SK)
        s.create_bucket(Bucket="runs")
        peers = [("sluice", s, "runs")]
        if a.rgw:
            r = client(os.environ["RGW_ENDPOINT"], os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
            try:
                r.create_bucket(Bucket="append-bench")
            except r.exceptions.BucketAlreadyOwnedByYou:
                pass
            peers.append(("rgw", r, "append-bench"))
        print(f"{a.flushes} flushes of {len(record(0))}-byte records, boto3, {a.rounds} rounds")
        for rnd in range(a.rounds):
            rows = {}
            for name, c, bucket in peers:
                modes = ["append", "reupload"] if name == "sluice" else ["reupload"]
                for mode in modes:
                    rate, sent, size = run(c, bucket, f"r{rnd}/{mode}/events", a.flushes, mode)
                    rows[(name, mode)] = rate
                    print(f"  round {rnd + 1}: {name:6} {mode:8} {rate:8.0f} flushes/s  "
                          f"sent {sent / 1e6:9.2f} MB for a {size / 1e3:.0f} kB file")
            base = rows[("sluice", "append")]
            print(f"  round {rnd + 1}: sluice append / sluice re-upload = {base / rows[('sluice', 'reupload')]:.2f}x"
                  + (f", / RGW re-upload = {base / rows[('rgw', 'reupload')]:.2f}x" if a.rgw else ""))
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
