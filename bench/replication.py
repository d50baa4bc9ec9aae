#!/usr/bin/python3
"""Bucket replication (issue #19) against the do-it-yourself alternative, `rclone sync` run
in a loop, on the same two sluice servers, the same data and the same load, in one run.

  bench/replication.py [--quick] [--big-gib N] [--out FILE]

Scenarios (each prints one JSON line, and a Markdown table at the end):
  1. lag under a steady write load: a writer PUTs small objects (4 KiB) at a fixed rate and
     a large one (16 MiB) every second to the source; a watcher HEADs each key on the target
     until it is there: lag = seen on the target - acknowledged by the source. Once with
     sluice's replication, once with `rclone sync` looping back to back.
  2. throughput on a backlog: N small and M large objects written while the source's worker
     is off (so they queue), then the source restarted with it on: time from the restart until
     the queue is empty, against one `rclone sync` of the same objects to an empty bucket
     (the same parallelism: 32 transfers).
  3. the source's PUT latency while the target is up and while it is down (p50, p99).
  4. with --big-gib N: one N GiB object replicated, and the source's peak RSS before and
     after (the copy streams: memory per copy is bounded, whatever the size).
The servers are the release build on loopback, data directories under /tmp; everything
started is stopped on exit. Figures on a shared 2-core machine are noisy: compare ratios
from the same run.
"""
import argparse
import io
import json
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import harness  # noqa: E402

SMALL = 4096
LARGE = 16 << 20


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def admin(server, *args):
    env = dict(os.environ, AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
               AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
    r = subprocess.run([server.bin, "admin", *args], capture_output=True, text=True, env=env, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"sluice admin {' '.join(args)}: {r.stderr}")
    return json.loads(r.stdout)


def admin_get(server, path):
    """One signed GET of the admin API, without starting a process (polling stays cheap)."""
    import urllib.request
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = server.endpoint + "/_sluice/admin/v1/" + path
    req = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials(harness.ACCESS_KEY, harness.SECRET_KEY), "s3", "us-east-1").add_auth(req)
    with urllib.request.urlopen(urllib.request.Request(url, headers=dict(req.headers)), timeout=30) as r:
        return json.loads(r.read())


def versioned(client, name):
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})


def rule_to(target):
    return {"Role": "arn:aws:iam::000000000000:role/r", "Rules": [{
        "ID": "all", "Priority": 1, "Status": "Enabled", "Filter": {"Prefix": ""},
        "DeleteMarkerReplication": {"Status": "Enabled"},
        "Destination": {"Bucket": "arn:sluice:replication:::" + target}}]}


def rclone_env(src, dst):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["RCLONE_CONFIG"] = "/dev/null"
    for name, server in (("SRC", src), ("DST", dst)):
        env.update({f"RCLONE_CONFIG_{name}_TYPE": "s3", f"RCLONE_CONFIG_{name}_PROVIDER": "Other",
                    f"RCLONE_CONFIG_{name}_ACCESS_KEY_ID": harness.ACCESS_KEY,
                    f"RCLONE_CONFIG_{name}_SECRET_ACCESS_KEY": harness.SECRET_KEY,
                    f"RCLONE_CONFIG_{name}_ENDPOINT": server.endpoint,
                    f"RCLONE_CONFIG_{name}_REGION": "us-east-1",
                    f"RCLONE_CONFIG_{name}_ENCODING": "None"})
    return env


def rclone_sync(env, src_bucket, dst_bucket):
    # The same parallelism as sluice's worker (--replication-parallel, default 32); multipart above
    # 5 MiB like the writer; compare by size and checksum (S3 has no settable mtime).
    subprocess.run(["rclone", "sync", "--transfers", "32", "--checkers", "32", "--checksum",
                    "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M",
                    f"SRC:{src_bucket}", f"DST:{dst_bucket}"],
                   env=env, check=True, capture_output=True, timeout=1800)


class Watcher:
    """HEADs each written key on the target, in write order, until it is there."""

    def __init__(self, client, bucket):
        self.client, self.bucket = client, bucket
        self.q = queue.Queue()
        self.lags = {"small": [], "large": []}
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            item = self.q.get()
            if item is None:
                return
            key, kind, acked = item
            deadline = time.time() + 600
            while time.time() < deadline:
                try:
                    self.client.head_object(Bucket=self.bucket, Key=key)
                    break
                except Exception:
                    time.sleep(0.005)
            self.lags[kind].append(time.time() - acked)

    def finish(self):
        self.q.put(None)
        self.thread.join()


def steady_load(src_client, bucket, seconds, rate, watcher, prefix):
    """`rate` small PUTs a second and one large PUT a second, for `seconds`."""
    small_body, large_body = os.urandom(SMALL), os.urandom(LARGE)
    large_q = queue.Queue()

    def large_writer():
        c = harness.boto3_client(src_client.meta.endpoint_url)
        i = 0
        while True:
            at = large_q.get()
            if at is None:
                return
            key = f"{prefix}/large-{i:05d}"
            c.put_object(Bucket=bucket, Key=key, Body=large_body)
            watcher.q.put((key, "large", time.time()))
            i += 1

    lt = threading.Thread(target=large_writer, daemon=True)
    lt.start()
    start = time.time()
    n = 0
    next_large = start
    while time.time() - start < seconds:
        now = time.time()
        if now >= next_large:
            large_q.put(now)
            next_large += 1
        due = start + n / rate
        if now < due:
            time.sleep(min(due - now, 0.01))
            continue
        key = f"{prefix}/small-{n:06d}"
        src_client.put_object(Bucket=bucket, Key=key, Body=small_body)
        watcher.q.put((key, "small", time.time()))
        n += 1
    large_q.put(None)
    lt.join()
    return n


def rss_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--big-gib", type=float, default=0)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out", "replication.md"))
    args = ap.parse_args()
    seconds = 5 if args.quick else int(os.environ.get("REPL_SECONDS", "20"))
    rate = int(os.environ.get("REPL_RATE", "50"))
    n_small = 300 if args.quick else int(os.environ.get("REPL_SMALL", "2000"))
    n_large = 4 if args.quick else int(os.environ.get("REPL_LARGE", "32"))
    os.environ.setdefault("SLUICE_BIN", os.path.join(ROOT, "build", "release", "src", "sluice"))

    results = []

    def emit(**kw):
        results.append(kw)
        print(json.dumps(kw), flush=True)

    src, dst = harness.Server(), harness.Server()
    try:
        src.start()
        dst.start()
        s3 = harness.boto3_client(src.endpoint, config_args={"max_pool_connections": 32})
        t3 = harness.boto3_client(dst.endpoint, config_args={"max_pool_connections": 32})
        env = rclone_env(src, dst)

        # 1. Lag under a steady load.
        versioned(s3, "steady")
        versioned(t3, "steady-dr")
        admin(src, "replication", "target", "add", "dr", "--target-endpoint", dst.endpoint,
              "--target-bucket", "steady-dr", "--target-access-key", harness.ACCESS_KEY,
              "--target-secret-key", harness.SECRET_KEY)
        s3.put_bucket_replication(Bucket="steady", ReplicationConfiguration=rule_to("dr"))
        w = Watcher(t3, "steady-dr")
        n = steady_load(s3, "steady", seconds, rate, w, "sluice")
        w.finish()
        for kind in ("small", "large"):
            emit(scenario="lag", tool="sluice", kind=kind, n=len(w.lags[kind]),
                 p50_ms=round(pct(w.lags[kind], 50) * 1000, 1), p99_ms=round(pct(w.lags[kind], 99) * 1000, 1))

        versioned(s3, "steady-rc")
        t3.create_bucket(Bucket="steady-rc-dr")
        stop = threading.Event()
        syncs = []

        def loop():
            while not stop.is_set():
                t0 = time.time()
                rclone_sync(env, "steady-rc", "steady-rc-dr")
                syncs.append(time.time() - t0)

        w = Watcher(t3, "steady-rc-dr")
        looper = threading.Thread(target=loop, daemon=True)
        looper.start()
        steady_load(s3, "steady-rc", seconds, rate, w, "rclone")
        w.finish()
        stop.set()
        looper.join()
        for kind in ("small", "large"):
            emit(scenario="lag", tool="rclone sync loop", kind=kind, n=len(w.lags[kind]),
                 p50_ms=round(pct(w.lags[kind], 50) * 1000, 1), p99_ms=round(pct(w.lags[kind], 99) * 1000, 1),
                 syncs=len(syncs))
        del n

        # 2. Throughput on a backlog (the target down while it builds up).
        versioned(s3, "backlog")
        versioned(t3, "backlog-dr")
        admin(src, "replication", "target", "add", "bl", "--target-endpoint", dst.endpoint,
              "--target-bucket", "backlog-dr", "--target-access-key", harness.ACCESS_KEY,
              "--target-secret-key", harness.SECRET_KEY)
        s3.put_bucket_replication(Bucket="backlog", ReplicationConfiguration=rule_to("bl"))
        # The backlog is written with the worker off (a restart with --replication-interval-ms
        # 0), then the source restarts with it on: the time from then to an empty queue.
        src.stop()
        src.extra_args = ["--replication-interval-ms", "0"]
        src.start()
        small_body, large_body = os.urandom(SMALL), os.urandom(LARGE)
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: s3.put_object(Bucket="backlog", Key=f"s/{i:06d}", Body=small_body),
                          range(n_small)))
            list(pool.map(lambda i: s3.put_object(Bucket="backlog", Key=f"l/{i:04d}", Body=large_body),
                          range(n_large)))
        total_mib = (n_small * SMALL + n_large * LARGE) / (1 << 20)
        src.stop()
        src.extra_args = []
        src.start()
        t0 = time.time()  # the worker's first pass starts with the process
        while admin_get(src, "replication/status/backlog")["buckets"][0]["pending_objects"] > 0:
            time.sleep(0.02)
        secs = time.time() - t0
        emit(scenario="backlog", tool="sluice", objects=n_small + n_large, mib=round(total_mib, 1),
             seconds=round(secs, 2), objects_per_s=round((n_small + n_large) / secs, 1),
             mib_per_s=round(total_mib / secs, 1))
        t3.create_bucket(Bucket="backlog-rc-dr")
        t0 = time.time()
        rclone_sync(env, "backlog", "backlog-rc-dr")
        secs_rc = time.time() - t0
        emit(scenario="backlog", tool="rclone sync", objects=n_small + n_large, mib=round(total_mib, 1),
             seconds=round(secs_rc, 2), objects_per_s=round((n_small + n_large) / secs_rc, 1),
             mib_per_s=round(total_mib / secs_rc, 1))

        # 3. The source's PUT latency, target up and target down.
        def put_latencies(n, prefix):
            out = []
            for i in range(n):
                t = time.perf_counter()
                s3.put_object(Bucket="backlog", Key=f"{prefix}/{i:05d}", Body=small_body)
                out.append(time.perf_counter() - t)
            return out

        m = 200 if args.quick else 1000
        up = put_latencies(m, "lat-up")
        dst.stop()
        down = put_latencies(m, "lat-down")
        dst.start()
        for state, xs in (("target up", up), ("target down", down)):
            emit(scenario="source PUT latency", state=state, n=len(xs),
                 p50_ms=round(pct(xs, 50) * 1000, 2), p99_ms=round(pct(xs, 99) * 1000, 2))

        # 4. One big object: bounded memory.
        if args.big_gib > 0:
            size = int(args.big_gib * (1 << 30))
            path = os.path.join(tempfile.gettempdir(), f"sluice-repl-big-{os.getpid()}")
            try:
                with open(path, "wb") as f:
                    chunk = os.urandom(64 << 20)
                    left = size
                    while left > 0:
                        f.write(chunk[:min(left, len(chunk))])
                        left -= len(chunk)
                import boto3.s3.transfer as tx
                versioned(s3, "big")
                versioned(t3, "big-dr")
                admin(src, "replication", "target", "add", "big", "--target-endpoint", dst.endpoint,
                      "--target-bucket", "big-dr", "--target-access-key", harness.ACCESS_KEY,
                      "--target-secret-key", harness.SECRET_KEY)
                s3.put_bucket_replication(Bucket="big", ReplicationConfiguration=rule_to("big"))
                src.stop()  # a fresh process: its peak RSS is this object's
                src.start()
                hwm_before = rss_hwm_kib(src.proc.pid)
                t0 = time.time()
                s3.upload_file(path, "big", "checkpoint.pt",
                               Config=tx.TransferConfig(multipart_threshold=64 << 20,
                                                        multipart_chunksize=64 << 20, max_concurrency=4))
                up_s = time.time() - t0
                v = s3.head_object(Bucket="big", Key="checkpoint.pt")["VersionId"]
                t0 = time.time()
                while s3.head_object(Bucket="big", Key="checkpoint.pt", VersionId=v).get(
                        "ReplicationStatus") != "COMPLETED":
                    time.sleep(0.2)
                repl_s = time.time() - t0
                ok = (t3.head_object(Bucket="big-dr", Key="checkpoint.pt")["ETag"]
                      == s3.head_object(Bucket="big", Key="checkpoint.pt")["ETag"])
                emit(scenario="big object", gib=args.big_gib, upload_s=round(up_s, 1),
                     replicate_s=round(repl_s, 1), mib_per_s=round(size / (1 << 20) / repl_s, 1),
                     source_rss_peak_mib_before=round(hwm_before / 1024, 1),
                     source_rss_peak_mib_after=round(rss_hwm_kib(src.proc.pid) / 1024, 1), etag_equal=ok)
            finally:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
    finally:
        src.cleanup()
        dst.cleanup()

    lines = ["| scenario | tool / state | figures |", "|---|---|---|"]
    for r in results:
        rest = {k: v for k, v in r.items() if k not in ("scenario", "tool", "state")}
        lines.append(f"| {r['scenario']} | {r.get('tool', r.get('state', ''))} | "
                     + ", ".join(f"{k} {v}" for k, v in rest.items()) + " |")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
