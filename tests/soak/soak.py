#!/usr/bin/python3
"""A soak under crashes: a mixed workload on many connections against the real binary,
kill -9 and a restart at a fixed interval, then every acknowledged object verified byte for
byte, and the server's RSS, open descriptors, p99 latency and disk usage checked for growth.

usage: soak.py [--minutes M] [--conns N] [--kill-every S] [--out DIR] [--no-check]

Each connection is a worker with a key space of its own (w007/...), so it knows exactly what
it has been told is stored. An acknowledged write (2xx) must be read back exactly; a request
whose answer was lost to the kill may or may not have happened, and the first read settles
which. The workload: PUTs of 0 B to 1 MiB, GETs, ranged GETs, listings compared with the
model, DELETEs, multipart uploads (3 parts, on every tenth worker), and writes to a versioned
bucket whose oldest versions are deleted by version id. Samples go to DIR/samples.json and,
when Debian's matplotlib is there, DIR/soak.png. SLUICE_BIN names the binary.
Exit status 0 when every check holds (with --no-check, only the byte-for-byte checks count).
"""
import argparse
import base64
import hashlib
import http.client
import json
import os
import random
import re
import statistics
import sys
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
BUCKET, VBUCKET = "soak", "soakv"
SIZES = [(0, 3), (1024, 20), (4096, 25), (65536, 20), (100_000, 15), (1 << 20, 5)]
PART = 5 << 20
KEYS_PER_WORKER, VKEYS_PER_WORKER, MAX_VERSIONS = 12, 3, 4
CREDS = Credentials(harness.ACCESS_KEY, harness.SECRET_KEY)


def q_(s):
    return urllib.parse.quote(s, safe="")


def content(key, gen, size):
    """The bytes of generation GEN of KEY: random, so a shifted or mixed-up block shows."""
    return random.Random(f"{key}:{gen}").randbytes(size)


class Lost(Exception):
    """The connection broke: the request may or may not have been carried out."""


class Conn:
    """One persistent HTTP/1.1 connection whose requests botocore's SigV4 signer signs."""

    def __init__(self, port, stats):
        self.port, self.stats, self.c = port, stats, None

    def request(self, method, path, body=b"", headers=None, op="other"):
        url = f"http://127.0.0.1:{self.port}{path}"
        req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
        SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
        t0 = time.monotonic()
        try:
            if self.c is None:
                self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.c.request(method, path, body=body, headers=dict(req.headers.items()))
            r = self.c.getresponse()
            data = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.close()
            raise Lost(str(e)) from e
        self.stats.latency(op, time.monotonic() - t0)
        if r.status >= 500 and r.status != 503:
            self.stats.error(f"{method} {path}: {r.status} {data[:300]!r}")
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def close(self):
        if self.c is not None:
            self.c.close()
            self.c = None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.window = []
        self.ops = 0
        self.lost = 0
        self.errors = []

    def latency(self, op, s):
        with self.lock:
            self.ops += 1
            if op != "multipart":
                self.window.append(s)

    def error(self, what):
        with self.lock:
            self.errors.append(what)

    def take_window(self):
        with self.lock:
            w, self.window = self.window, []
            return w


class Worker(threading.Thread):
    def __init__(self, i, port, stats, stop, deadline):
        super().__init__(daemon=True)
        self.i, self.stats, self.stop, self.deadline = i, stats, stop, deadline
        self.rng = random.Random(i)
        self.conn = Conn(port, stats)
        self.prefix = f"w{i:03d}/"
        # key -> the states it may be in: (gen, size), or None for absent. One state once
        # a write was acknowledged or a read settled it.
        self.model = {}
        # versioned key -> {"acked": [(vid, gen, size)], "maybe": {gen: size}, "gone?": set()}
        self.vmodel = {}
        self.gen = 0
        self.failures = []

    def fail(self, what):
        self.failures.append(what)
        self.stats.error(f"worker {self.i}: {what}")

    def next_gen(self):
        self.gen += 1
        return self.i * 10_000_000 + self.gen

    def size(self):
        r = self.rng.uniform(0, sum(w for _, w in SIZES))
        for s, w in SIZES:
            r -= w
            if r <= 0:
                return s
        return SIZES[-1][0]

    def run(self):
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                self.step()
            except Lost:
                with self.stats.lock:
                    self.stats.lost += 1
                time.sleep(0.2)  # the server is being restarted
        self.conn.close()

    def step(self):
        r = self.rng.random()
        key = f"{self.prefix}k{self.rng.randrange(KEYS_PER_WORKER)}"
        if r < 0.30:
            self.get(key)
        elif r < 0.48:
            self.get(key, ranged=True)
        elif r < 0.68:
            self.put(key, self.size())
        elif r < 0.75:
            self.list()
        elif r < 0.82:
            self.delete(key)
        elif r < 0.97:
            self.vput(f"{self.prefix}v{self.rng.randrange(VKEYS_PER_WORKER)}")
        elif self.i % 10 == 0:
            self.multipart(f"{self.prefix}m0")
        else:
            self.get(key)

    # --- plain bucket -----------------------------------------------------------------
    def states(self, key):
        return self.model.get(key, {None})

    def put(self, key, size):
        gen = self.next_gen()
        before = self.states(key)
        self.model[key] = before | {(gen, size)}  # until the answer says which
        st, _, body = self.conn.request("PUT", f"/{BUCKET}/{key}", content(key, gen, size), op="put")
        if st == 200:
            self.model[key] = {(gen, size)}
        elif st == 503:
            self.model[key] = before
        else:
            self.fail(f"PUT {key}: {st} {body[:200]!r}")

    def delete(self, key):
        before = self.states(key)
        self.model[key] = before | {None}
        st, _, body = self.conn.request("DELETE", f"/{BUCKET}/{key}", op="delete")
        if st == 204:
            self.model[key] = {None}
        elif st == 503:
            self.model[key] = before
        else:
            self.fail(f"DELETE {key}: {st} {body[:200]!r}")

    def get(self, key, ranged=False):
        states = self.states(key)
        headers = {}
        lo = hi = None
        sized = [s for s in states if s is not None]
        if ranged and sized and all(s[1] > 0 for s in sized):
            n = min(s[1] for s in sized)
            lo = self.rng.randrange(n)
            hi = min(n - 1, lo + self.rng.randrange(1, 256 << 10))
            headers["Range"] = f"bytes={lo}-{hi}"
        st, _, body = self.conn.request("GET", f"/{BUCKET}/{key}", headers=headers, op="get")
        if st == 404:
            if None not in states:
                self.fail(f"GET {key}: 404, but it was acknowledged as {states}")
            self.model[key] = {None}
            return
        if st == 503:
            return
        if st not in (200, 206):
            self.fail(f"GET {key}: {st} {body[:200]!r}")
            return
        for s in states:
            if s is None:
                continue
            want = content(key, s[0], s[1])
            if lo is not None:
                want = want[lo:hi + 1]
            if body == want:
                self.model[key] = {s}
                return
        self.fail(f"GET {key} {headers}: {len(body)} bytes match none of {states}")

    def list(self):
        keys, token = [], None
        while True:
            q = f"list-type=2&prefix={q_(self.prefix)}k&max-keys=5"
            if token:
                q += "&continuation-token=" + urllib.parse.quote(token, safe="")
            st, _, body = self.conn.request("GET", f"/{BUCKET}?{q}", op="list")
            if st == 503:
                return
            if st != 200:
                self.fail(f"LIST: {st} {body[:200]!r}")
                return
            doc = ET.fromstring(body)
            for c in doc.iter(NS + "Contents"):
                keys.append((c.find(NS + "Key").text, int(c.find(NS + "Size").text)))
            token = doc.findtext(NS + "NextContinuationToken")
            if doc.findtext(NS + "IsTruncated") != "true":
                break
        listed = dict(keys)
        if len(listed) != len(keys) or [k for k, _ in keys] != sorted(listed):
            self.fail(f"LIST: not sorted or not unique: {keys}")
        mine = {k for k in self.model if k.startswith(self.prefix + "k")}
        for key in mine | set(listed):
            states = self.states(key)
            if key in listed:
                ok = any(s is not None and s[1] == listed[key] for s in states)
            else:
                ok = None in states
            if not ok:
                self.fail(f"LIST: {key} listed as {listed.get(key)}, model {states}")

    def multipart(self, key):
        gen = self.next_gen()
        sizes = [PART, PART, 1 << 20]
        data = content(key, gen, sum(sizes))
        st, _, body = self.conn.request("POST", f"/{BUCKET}/{key}?uploads", op="multipart")
        if st != 200:
            if st != 503:
                self.fail(f"CreateMultipartUpload: {st} {body[:200]!r}")
            return
        upload = ET.fromstring(body).findtext(NS + "UploadId")
        try:
            parts, off = [], 0
            for n, sz in enumerate(sizes, 1):
                st, h, body = self.conn.request(
                    "PUT", f"/{BUCKET}/{key}?partNumber={n}&uploadId={upload}",
                    data[off:off + sz], op="multipart")
                off += sz
                if st != 200:
                    if st != 503:
                        self.fail(f"UploadPart: {st} {body[:200]!r}")
                    self.abort(key, upload)
                    return
                parts.append(f"<Part><PartNumber>{n}</PartNumber><ETag>{h['etag']}</ETag></Part>")
            xml = ("<CompleteMultipartUpload>" + "".join(parts) + "</CompleteMultipartUpload>").encode()
            before = self.states(key)
            self.model[key] = before | {(gen, len(data))}
            st, _, body = self.conn.request("POST", f"/{BUCKET}/{key}?uploadId={upload}", xml,
                                            op="multipart")
            if st == 200 and b"<Error>" not in body:
                self.model[key] = {(gen, len(data))}
            elif st == 503:
                self.model[key] = before
            else:
                self.fail(f"CompleteMultipartUpload: {st} {body[:200]!r}")
        except Lost:
            raise  # the upload, if it is left, is aborted by the final sweep

    def abort(self, key, upload):
        self.conn.request("DELETE", f"/{BUCKET}/{key}?uploadId={upload}", op="multipart")

    # --- versioned bucket ---------------------------------------------------------------
    def vput(self, key):
        m = self.vmodel.setdefault(key, {"acked": [], "maybe": {}, "gone?": set()})
        if len(m["acked"]) >= MAX_VERSIONS:
            vid, gen, size = m["acked"][0]
            m["gone?"].add(vid)
            st, _, body = self.conn.request("DELETE", f"/{VBUCKET}/{key}?versionId={vid}",
                                            op="delete")
            if st == 204:
                m["acked"].pop(0)
                m["gone?"].discard(vid)
            elif st != 503:
                self.fail(f"DELETE {key} version {vid}: {st} {body[:200]!r}")
            return
        gen, size = self.next_gen(), self.size()
        m["maybe"][gen] = size
        st, h, body = self.conn.request("PUT", f"/{VBUCKET}/{key}", content(key, gen, size),
                                        op="put")
        if st == 200:
            del m["maybe"][gen]
            m["acked"].append((h["x-amz-version-id"], gen, size))
        elif st == 503:
            del m["maybe"][gen]
        else:
            self.fail(f"PUT {key} (versioned): {st} {body[:200]!r}")

    # --- the final verification ---------------------------------------------------------
    def verify(self):
        for key in sorted(self.model):
            for _ in range(3):
                try:
                    self.get(key)
                    break
                except Lost:
                    time.sleep(0.5)
            if len(self.states(key)) != 1:
                self.fail(f"final GET {key}: still unsettled")
        self.list()
        for key, m in sorted(self.vmodel.items()):
            st, _, body = self.conn.request("GET", f"/{VBUCKET}?versions&prefix={q_(key)}", op="list")
            if st != 200:
                self.fail(f"ListObjectVersions {key}: {st}")
                continue
            doc = ET.fromstring(body)
            present = {}
            for v in doc.iter(NS + "Version"):
                if v.findtext(NS + "Key") == key:
                    present[v.findtext(NS + "VersionId")] = int(v.findtext(NS + "Size"))
            for vid, gen, size in m["acked"]:
                if vid not in present:
                    if vid not in m["gone?"]:
                        self.fail(f"{key}: acknowledged version {vid} is missing")
                    continue
                st, _, body = self.conn.request("GET", f"/{VBUCKET}/{key}?versionId={vid}",
                                                op="get")
                if st != 200 or body != content(key, gen, size):
                    self.fail(f"{key} version {vid}: {st}, {len(body)} bytes, not what was written")
            known = {vid for vid, _, _ in m["acked"]}
            for vid, size in present.items():
                if vid in known:
                    continue
                st, _, body = self.conn.request("GET", f"/{VBUCKET}/{key}?versionId={vid}",
                                                op="get")
                if not any(body == content(key, g, s) for g, s in m["maybe"].items() if s == size):
                    self.fail(f"{key}: version {vid} ({size} B) was never written")

    def live_bytes_safe(self):
        """live_bytes while the worker runs: an unsettled key counts as its largest state."""
        n = 0
        for states in list(self.model.values()):
            n += max((s[1] for s in states if s), default=0)
        for m in list(self.vmodel.values()):
            n += sum(size for _, _, size in list(m["acked"]))
        return n

    def live_bytes(self):
        n = 0
        for states in self.model.values():
            (s,) = states
            n += s[1] if s else 0
        for m in self.vmodel.values():
            n += sum(size for _, _, size in m["acked"])
        return n


def disk_usage(path):
    n = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                n += os.lstat(os.path.join(root, f)).st_blocks * 512
            except FileNotFoundError:
                pass
    return n


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) * 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def sweep(conn):
    """Aborts every multipart upload left behind, deletes every object and version."""
    st, _, body = conn.request("GET", f"/{BUCKET}?uploads")
    for u in ET.fromstring(body).iter(NS + "Upload"):
        conn.request("DELETE", f"/{BUCKET}/{u.findtext(NS + 'Key')}?uploadId={u.findtext(NS + 'UploadId')}")
    for bucket in (BUCKET, VBUCKET):
        while True:
            st, _, body = conn.request("GET", f"/{bucket}?versions&max-keys=1000")
            doc = ET.fromstring(body)
            items = list(doc.iter(NS + "Version")) + list(doc.iter(NS + "DeleteMarker"))
            if not items:
                break
            objs = "".join(f"<Object><Key>{i.findtext(NS + 'Key')}</Key><VersionId>"
                           f"{i.findtext(NS + 'VersionId')}</VersionId></Object>" for i in items)
            xml = f"<Delete><Quiet>true</Quiet>{objs}</Delete>".encode()
            md5 = base64.b64encode(hashlib.md5(xml).digest()).decode()
            st, _, body = conn.request("POST", f"/{bucket}?delete", xml, {"Content-MD5": md5})
            if st != 200 or b"<Error>" in body:
                raise RuntimeError(f"DeleteObjects: {st} {body[:300]!r}")


def plot(samples, kills, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    t = [s["t"] / 60 for s in samples]
    fig, ax = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    series = [("rss", "RSS (MiB)", 1 << 20), ("fds", "open descriptors", 1),
              ("p99", "p99 latency (ms)", 1e-3), ("disk", "disk used (MiB)", 1 << 20)]
    for a, (k, label, scale) in zip(ax, series):
        a.plot(t, [s[k] / scale if s[k] is not None else float("nan") for s in samples])
        if k == "disk":
            a.plot(t, [s["live"] / scale for s in samples], "--", label="acknowledged data")
            a.legend(loc="upper left")
        a.set_ylabel(label)
        a.set_ylim(bottom=0)
        for k_t in kills:
            a.axvline(k_t / 60, color="red", alpha=0.3)
    ax[-1].set_xlabel("minutes (red: kill -9 and restart)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return True


def third(samples, which, key, skip_after_kill, kills):
    n = len(samples)
    part = samples[:n // 3] if which == 0 else samples[n - n // 3:]
    vals = [s[key] for s in part if s[key] is not None
            and not any(0 <= s["t"] - k < skip_after_kill for k in kills)]
    return vals or [0]


def usage_by_dir(data_dir):
    return {d: disk_usage(os.path.join(data_dir, d)) for d in ("meta", "objects", "tmp")}


def check_bounds(samples, kills, conns, baseline, base_by_dir, final):
    """The growth checks. Each compares the last third of the run with the first, with
    room for noise; fds also have an absolute bound."""
    problems = []
    if not samples:
        return ["no samples"]
    fds_max = max(s["fds"] for s in samples)
    if fds_max > conns + 700:
        problems.append(f"open descriptors reached {fds_max} for {conns} connections")
    first, last = third(samples, 0, "fds", 0, kills), third(samples, 2, "fds", 0, kills)
    if max(last) > 1.25 * max(first) + 64:
        problems.append(f"open descriptors grew: {max(first)} -> {max(last)}")
    first, last = third(samples, 0, "rss", 0, kills), third(samples, 2, "rss", 0, kills)
    if max(last) > 1.5 * max(first) + (128 << 20):
        problems.append(f"RSS grew: {max(first) >> 20} -> {max(last) >> 20} MiB")
    first, last = third(samples, 0, "p99", 15, kills), third(samples, 2, "p99", 15, kills)
    # Loose: on a shared 2-core machine the client's own 200 Python threads set most of it.
    if statistics.median(last) > 4 * statistics.median(first) + 1.0:
        problems.append(f"p99 grew: {statistics.median(first):.3f} -> {statistics.median(last):.3f} s")
    peak_live = max(s["live"] for s in samples)
    peak_disk = max(s["disk"] for s in samples)
    if peak_disk > baseline + 3 * peak_live + (256 << 20):
        problems.append(f"disk use reached {peak_disk >> 20} MiB for {peak_live >> 20} MiB of data")
    # After deleting everything: no object data left (the garbage was reclaimed), and the
    # index back to its empty size but for RocksDB's log, preallocated to 1.1 write
    # buffers (70 MiB), and tombstones awaiting compaction.
    data_left = final["objects"] + final["tmp"] - base_by_dir["objects"] - base_by_dir["tmp"]
    if data_left > (1 << 20):
        problems.append(f"after deleting everything, {data_left >> 20} MiB of object data are left")
    if final["meta"] > base_by_dir["meta"] + (128 << 20):
        problems.append(f"after deleting everything, the index holds "
                        f"{(final['meta'] - base_by_dir['meta']) >> 20} MiB more than when empty")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--conns", type=int, default=200)
    ap.add_argument("--kill-every", type=float, default=300)
    ap.add_argument("--sample-every", type=float, default=5)
    ap.add_argument("--out", default=None)
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()

    server = harness.Server()
    server.start()
    stats = Stats()
    workers = []
    samples, kills = [], []
    try:
        admin = Conn(server.port, stats)
        for b in (BUCKET, VBUCKET):
            st, _, body = admin.request("PUT", f"/{b}")
            assert st == 200, body
        xml = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"
        st, _, body = admin.request("PUT", f"/{VBUCKET}?versioning", xml)
        assert st == 200, body
        baseline_by_dir = usage_by_dir(server.data_dir)
        baseline = disk_usage(server.data_dir)
        stop = threading.Event()
        t0 = time.monotonic()
        deadline = t0 + args.minutes * 60
        workers = [Worker(i, server.port, stats, stop, deadline) for i in range(args.conns)]
        for w in workers:
            w.start()
        next_kill, next_sample = t0 + args.kill_every, t0 + args.sample_every
        while time.monotonic() < deadline:
            time.sleep(0.1)
            now = time.monotonic()
            if now >= next_kill and now < deadline - 5:
                server.kill9()
                kills.append(now - t0)
                print(f"{(now - t0) / 60:5.1f} min: kill -9, restart", flush=True)
                server.start()
                next_kill += args.kill_every
            if now >= next_sample:
                next_sample += args.sample_every
                try:
                    rss, fds = proc_sample(server.proc.pid)
                except (OSError, AttributeError):
                    continue
                w = stats.take_window()
                p99 = sorted(w)[int(0.99 * (len(w) - 1))] if w else None
                samples.append({"t": now - t0, "rss": rss, "fds": fds, "p99": p99,
                                "disk": disk_usage(server.data_dir), "ops": stats.ops,
                                "disk_by_dir": usage_by_dir(server.data_dir),
                                "live": sum(w_.live_bytes_safe() for w_ in workers)})
        stop.set()
        for w in workers:
            w.join(timeout=120)
        print(f"{stats.ops} requests, {stats.lost} lost to kills, {len(kills)} kills", flush=True)

        # A last crash, so the verification reads what recovery made of a busy store.
        server.kill9()
        server.start()
        left = server.unpublished()
        for w in workers:
            w.conn = Conn(server.port, stats)
            w.verify()
        live = sum(w.live_bytes() for w in workers)
        disk_before = disk_usage(server.data_dir)
        sweep(Conn(server.port, stats))
        time.sleep(2)
        final_disk = disk_usage(server.data_dir)
        final_by_dir = usage_by_dir(server.data_dir)
        failures = [f for w in workers for f in w.failures] + [
            e for e in stats.errors if not e.startswith("worker")]
        if left:
            failures.append(f"after recovery, {len(left)} unpublished files remain: {left[:5]}")
        summary = {
            "minutes": args.minutes, "connections": args.conns, "kills": len(kills),
            "requests": stats.ops, "lost_to_kills": stats.lost,
            "objects_verified": sum(len(w.model) for w in workers),
            "versions_verified": sum(len(m["acked"]) for w in workers for m in w.vmodel.values()),
            "live_bytes": live, "disk_before_delete": disk_before - baseline,
            "disk_after_delete": final_disk - baseline,
            "disk_after_delete_by_dir": {d: final_by_dir[d] - baseline_by_dir[d] for d in final_by_dir},
            "rss_max": max(s["rss"] for s in samples) if samples else None,
            "fds_max": max(s["fds"] for s in samples) if samples else None,
        }
        bounds = check_bounds(samples, kills, args.conns, baseline, baseline_by_dir,
                              final_by_dir)
        print(json.dumps(summary, indent=1))
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            with open(os.path.join(args.out, "samples.json"), "w") as f:
                json.dump({"summary": summary, "kills": kills, "samples": samples}, f, indent=0)
            if plot(samples, kills, os.path.join(args.out, "soak.png")):
                print("plot:", os.path.join(args.out, "soak.png"))
        for f in failures[:40]:
            print("FAIL:", f)
        for b in bounds:
            print("BOUND:" if not args.no_check else "note:", b)
        if failures or (bounds and not args.no_check):
            print(f"soak: {len(failures)} failures, {len(bounds)} bounds broken")
            return 1
        print("soak: every acknowledged object verified; nothing grew without bound")
        return 0
    finally:
        for w in workers:
            w.stop.set()
        server.cleanup()



if __name__ == "__main__":
    sys.exit(main())
