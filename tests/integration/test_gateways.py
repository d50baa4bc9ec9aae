#!/usr/bin/python3
"""Several gateways, one truth (issue #18): two sluice gateways on one Ceph cluster started by
scripts/ceph-dev.sh (three memstore OSDs, pools of two copies), driven with boto3 and the
`sluice admin` CLI.

- Read-after-write, listings and multipart uploads across gateways.
- Conditional writes (If-None-Match: *, If-Match) racing from both: exactly one winner.
- A policy, key or bucket change made on one takes effect on the other within one second.
- A gateway given another IAM key file (or none) refuses to start.
- kill -9 of a gateway during PUTs and a multipart upload: nothing partial is visible, every
  acknowledged object reads back from the other, and the restarted gateway's recovery
  leaves no write intent and no orphaned data. A killed gateway that never comes back: once
  its lease lapses, another gateway settles its writes, with the same outcome.
- A paused cluster: 503 (retryable) within the RADOS timeout and a clear log line, never a
  hang; service resumes when it does.
- One OSD killed under a read and write load: every request succeeds or gets a retryable
  503, and every acknowledged object reads back intact.
"""
import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import botocore.exceptions

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TIMEOUT_S = 3  # --ceph-timeout of the gateways: how long a RADOS operation may hang
LEASE_S = 3  # --ceph-lease: a dead gateway's writes are settled by another within a few


def code_of(exc):
    return exc.response.get("Error", {}).get("Code")


def status_of(exc):
    return exc.response["ResponseMetadata"]["HTTPStatusCode"]


class Gateways(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.state = tempfile.mkdtemp(prefix="sluice-gw-ceph-", dir="/tmp")
        cls.env = dict(os.environ, CEPH_DEV_DIR=cls.state, CEPH_DEV_PORT=str(harness.free_port()),
                       CEPH_DEV_OSDS="3", CEPH_DEV_OSD_GB="1")
        cls.script = os.path.join(ROOT, "scripts", "ceph-dev.sh")
        up = subprocess.run([cls.script, "up"], env=cls.env, capture_output=True, text=True, timeout=300)
        if up.returncode != 0:
            shutil.rmtree(cls.state, ignore_errors=True)
            raise RuntimeError(up.stdout + up.stderr)
        os.environ["SLUICE_TEST_CEPH_CONF"] = up.stdout.strip().split("=", 1)[1]
        cls.conf = os.environ["SLUICE_TEST_CEPH_CONF"]
        # Both gateways on the same pools and the same IAM key file.
        cls.key_file = os.path.join(cls.state, "iam-key")
        args = ["--ceph-timeout", str(TIMEOUT_S), "--ceph-lease", str(LEASE_S)]
        cls.a = harness.Server(extra_args=args, ceph_pool="gw", key_file=cls.key_file).start()
        cls.b = harness.Server(extra_args=args, ceph_pool="gw", key_file=cls.key_file).start()
        cls.sa = harness.boto3_client(cls.a.endpoint)
        cls.sb = harness.boto3_client(cls.b.endpoint)

    @classmethod
    def tearDownClass(cls):
        for s in (cls.a, cls.b):
            s.cleanup()
        subprocess.run([cls.script, "down"], env=cls.env, capture_output=True, timeout=120)
        shutil.rmtree(cls.state, ignore_errors=True)
        os.environ.pop("SLUICE_TEST_CEPH_CONF", None)

    def admin(self, server, *args):
        env = dict(os.environ, AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
        r = subprocess.run([server.bin, "admin", *args], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def rados(self, *args):
        r = subprocess.run(["rados", "-c", self.conf, *args], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.split()

    def osd_pids(self):
        pids = []
        for n in range(3):
            path = os.path.join(self.state, "pids", f"osd.{n}.pid")
            if os.path.exists(path):
                with open(path) as f:
                    pids.append(int(f.read()))
        return pids

    def within_a_second(self, check, what):
        deadline = time.monotonic() + 1.0
        while True:
            if check():
                return
            if time.monotonic() > deadline:
                self.fail(f"{what}: not within one second")
            time.sleep(0.02)

    # ---- read-after-write ----

    def test_read_after_write_across_gateways(self):
        self.sa.create_bucket(Bucket="raw")
        big = os.urandom(9 << 20)  # three RADOS stripes' worth of pieces, two stripes
        for i in range(20):
            body = f"small-{i}".encode()
            self.sa.put_object(Bucket="raw", Key=f"k{i}", Body=body)
            self.assertEqual(self.sb.get_object(Bucket="raw", Key=f"k{i}")["Body"].read(), body)
        self.sb.put_object(Bucket="raw", Key="big", Body=big)
        self.assertEqual(self.sa.get_object(Bucket="raw", Key="big")["Body"].read(), big)
        got = self.sa.get_object(Bucket="raw", Key="big", Range="bytes=4194000-4195000")["Body"].read()
        self.assertEqual(got, big[4194000:4195001])
        keys = [o["Key"] for o in self.sb.list_objects_v2(Bucket="raw")["Contents"]]
        self.assertEqual(sorted(keys), sorted([f"k{i}" for i in range(20)] + ["big"]))
        self.sb.delete_object(Bucket="raw", Key="k0")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sa.get_object(Bucket="raw", Key="k0")
        self.assertEqual(code_of(cm.exception), "NoSuchKey")
        # A multipart upload begun on one, its parts on both, completed on the other.
        up = self.sa.create_multipart_upload(Bucket="raw", Key="mp")["UploadId"]
        parts, bodies = [], []
        for n in range(1, 4):
            body = os.urandom(5 << 20 if n < 3 else 1000)
            client = self.sa if n % 2 else self.sb
            etag = client.upload_part(Bucket="raw", Key="mp", UploadId=up, PartNumber=n, Body=body)["ETag"]
            parts.append({"PartNumber": n, "ETag": etag})
            bodies.append(body)
        listed = self.sa.list_parts(Bucket="raw", Key="mp", UploadId=up)["Parts"]
        self.assertEqual([p["PartNumber"] for p in listed], [1, 2, 3])
        self.sb.complete_multipart_upload(Bucket="raw", Key="mp", UploadId=up,
                                          MultipartUpload={"Parts": parts})
        self.assertEqual(self.sa.get_object(Bucket="raw", Key="mp")["Body"].read(), b"".join(bodies))

    # ---- conditional writes ----

    def race(self, fn, n=12):
        """Runs fn(i) on n threads at once, half through each gateway; their outcomes."""
        barrier = threading.Barrier(n)

        def one(i):
            client = harness.boto3_client((self.a if i % 2 else self.b).endpoint)
            barrier.wait()
            try:
                fn(client, i)
                return "ok"
            except botocore.exceptions.ClientError as e:
                return f"{status_of(e)} {code_of(e)}"

        with concurrent.futures.ThreadPoolExecutor(n) as pool:
            return list(pool.map(one, range(n)))

    def test_conditional_writes_have_exactly_one_winner(self):
        self.sa.create_bucket(Bucket="cond")
        for round_ in range(4):
            key = f"claim-{round_}"

            def create(client, i):
                client.meta.events.register("before-sign.s3.PutObject",
                                            lambda request, **kw: request.headers.__setitem__("If-None-Match", "*"))
                client.put_object(Bucket="cond", Key=key, Body=f"writer {i}".encode())

            outcomes = self.race(create)
            self.assertEqual(outcomes.count("ok"), 1, outcomes)
            self.assertTrue(all(o == "ok" or o.startswith(("412", "409")) for o in outcomes), outcomes)
            # The winner's bytes are what both gateways serve.
            winner = outcomes.index("ok")
            for c in (self.sa, self.sb):
                self.assertEqual(c.get_object(Bucket="cond", Key=key)["Body"].read(), f"writer {winner}".encode())

            etag = self.sa.head_object(Bucket="cond", Key=key)["ETag"].strip('"')

            def replace(client, i):
                client.meta.events.register("before-sign.s3.PutObject",
                                            lambda request, **kw: request.headers.__setitem__("If-Match", etag))
                client.put_object(Bucket="cond", Key=key, Body=f"replaced by {i}".encode())

            outcomes = self.race(replace)
            self.assertEqual(outcomes.count("ok"), 1, outcomes)
            self.assertTrue(all(o == "ok" or o.startswith(("412", "409")) for o in outcomes), outcomes)

    # ---- changes reach the other gateway ----

    def test_policy_key_and_bucket_changes_reach_the_other_gateway_within_a_second(self):
        self.sa.create_bucket(Bucket="shared")
        self.sa.put_object(Bucket="shared", Key="pub.txt", Body=b"public now")
        url = f"{self.b.endpoint}/shared/pub.txt"

        def anonymous_ok():
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    return r.read() == b"public now"
            except urllib.error.HTTPError:
                return False

        self.assertFalse(anonymous_ok())
        self.sa.head_bucket(Bucket="shared")
        self.sb.head_bucket(Bucket="shared")  # both gateways have it cached now
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                  "Action": "s3:GetObject", "Resource": "arn:aws:s3:::shared/*"}]}
        self.sa.put_bucket_policy(Bucket="shared", Policy=json.dumps(policy))
        self.within_a_second(anonymous_ok, "a bucket policy set through A, on B")
        self.sa.delete_bucket_policy(Bucket="shared")
        self.within_a_second(lambda: not anonymous_ok(), "a bucket policy deleted through A, on B")

        # A user and key made through A sign requests on B; a key removed through A stops there.
        self.admin(self.a, "user", "add", "reader")
        key = json.loads(self.admin(self.a, "key", "create", "reader"))
        as_reader = harness.boto3_client(self.b.endpoint, ak=key["access_key"], sk=key["secret_key"])

        def key_known():
            try:
                as_reader.list_buckets()
                return True
            except botocore.exceptions.ClientError as e:
                return code_of(e) not in ("InvalidAccessKeyId", "SignatureDoesNotMatch")

        self.within_a_second(key_known, "an access key created through A, on B")
        self.admin(self.a, "key", "remove", key["access_key"])
        self.within_a_second(lambda: not key_known(), "an access key removed through A, on B")

        # A bucket deleted through A is gone on B at once.
        self.sa.delete_object(Bucket="shared", Key="pub.txt")
        self.sa.delete_bucket(Bucket="shared")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.sb.put_object(Bucket="shared", Key="late", Body=b"x")
        self.assertEqual(code_of(cm.exception), "NoSuchBucket")

    def test_a_gateway_with_another_iam_key_refuses_to_start(self):
        other_key = os.path.join(self.state, "other-iam-key")
        with open(other_key, "w") as f:
            f.write(os.urandom(32).hex() + "\n")
        stranger = harness.Server(ceph_pool="gw", key_file=other_key)
        try:
            with self.assertRaises(RuntimeError):
                stranger.start()
            with open(stranger.log.name, "rb") as f:
                self.assertIn(b"does not open the secrets stored in the index", f.read())
        finally:
            stranger.cleanup()
        # Without a key file at all, a gateway on a cluster says what it needs.
        bare = subprocess.run([self.a.bin, "server", "--ceph-conf", self.conf, "--ceph-pool", "gw",
                               "--listen", f"127.0.0.1:{harness.free_port()}"],
                              capture_output=True, text=True, timeout=60)
        self.assertNotEqual(bare.returncode, 0)
        self.assertIn("--iam-key-file", bare.stderr)

    # ---- a gateway killed ----

    def test_kill9_gateway_during_puts_and_multipart(self):
        self._kill9_round(restart=True)

    def test_kill9_gateway_that_never_returns_is_settled_by_the_others(self):
        self._kill9_round(restart=False)

    def _kill9_round(self, restart):
        victim = harness.Server(extra_args=["--ceph-timeout", str(TIMEOUT_S), "--ceph-lease", str(LEASE_S)],
                                ceph_pool="gw", key_file=self.key_file).start()
        try:
            self._kill9_victim(victim, restart)
        finally:
            victim.cleanup()

    def _kill9_victim(self, victim, restart):
        sv = harness.boto3_client(victim.endpoint)
        sv.create_bucket(Bucket="crash")
        acked, lock, stop, killed = {}, threading.Lock(), threading.Event(), threading.Event()
        digest = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
        sizes = [1000, 100_000, 3 << 20, 6 << 20]
        bodies = {}

        def writer(w):
            client = harness.boto3_client(victim.endpoint)
            i = 0
            while not stop.is_set():
                key = f"w{w}/{i}"
                body = random.Random(f"{w}/{i}").randbytes(sizes[i % len(sizes)])
                bodies[key] = digest(body)
                try:
                    client.put_object(Bucket="crash", Key=key, Body=body)
                except Exception:
                    if killed.is_set():
                        return
                    continue  # a refusal before the kill (503 under load): keep writing
                with lock:
                    acked[key] = digest(body)
                i += 1

        # A multipart upload with two parts in, a third in flight when the gateway dies.
        up = sv.create_multipart_upload(Bucket="crash", Key="mp")["UploadId"]
        for n in (1, 2):
            sv.upload_part(Bucket="crash", Key="mp", UploadId=up, PartNumber=n, Body=os.urandom(5 << 20))
        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        part3 = threading.Thread(target=lambda: self._ignore(lambda: harness.boto3_client(victim.endpoint).upload_part(
            Bucket="crash", Key="mp", UploadId=up, PartNumber=3, Body=os.urandom(8 << 20))))
        time.sleep(1.5)
        part3.start()
        # A PUT whose body stops a megabyte in: its data is begun (a write intent) and can
        # never be published, so the kill leaves a write in flight however fast the others
        # finish (a fresh-machine run once found every other write done by the kill).
        stalled = socket.create_connection(("127.0.0.1", victim.port), timeout=30)
        self.addCleanup(stalled.close)
        stalled.sendall(harness.signed_head("PUT", f"{victim.endpoint}/crash/stalled",
                                            {"Content-Length": str(8 << 20)})
                        + b"\r\n" + os.urandom(1 << 20))
        time.sleep(0.3)
        # On a loaded machine the writes may not have reached the gateway yet: kill only
        # once it holds intents (the stalled PUT, the part of 8 MiB, or a writer's PUT),
        # within 10 s.
        deadline = time.monotonic() + 10
        while not victim.unpublished() and time.monotonic() < deadline:
            time.sleep(0.05)
        killed.set()
        victim.kill9()
        killed_at = time.monotonic()
        in_flight = victim.unpublished()  # its intents: what another gateway will settle
        stop.set()
        for t in threads + [part3]:
            t.join()
        self.assertGreater(len(acked), 4)

        # From the other gateway: every acknowledged object whole; nothing partial listed.
        listed = {o["Key"]: o["Size"] for p in self.sb.get_paginator("list_objects_v2").paginate(Bucket="crash")
                  for o in p.get("Contents", [])}
        self.assertNotIn("stalled", listed)
        for key, d in acked.items():
            self.assertIn(key, listed)
            self.assertEqual(digest(self.sb.get_object(Bucket="crash", Key=key)["Body"].read()), d, key)
        for key in listed:
            self.assertEqual(digest(self.sb.get_object(Bucket="crash", Key=key)["Body"].read()), bodies[key], key)
        # The upload goes on through the other gateway with the parts that were acknowledged.
        parts = self.sb.list_parts(Bucket="crash", Key="mp", UploadId=up)["Parts"]
        self.assertEqual([p["PartNumber"] for p in parts][:2], [1, 2])

        if restart:
            # The killed gateway restarts under its name (once its lease lapses) and settles
            # its intents, or finds them settled by another gateway.
            victim.start()
            self.assertEqual(victim.unpublished(), [])
        else:
            # It never comes back: once its lease has lapsed, another gateway claims its intent
            # log, waits one lease more, settles it and removes it (two leases and two sweeps).
            self.assertTrue(in_flight, "the kill left writes in flight")
            while f"intents.{victim.gateway}" in self.rados("-p", "gw.meta", "ls") and time.monotonic() - killed_at < 8 * LEASE_S:
                time.sleep(0.25)
            settled_after = time.monotonic() - killed_at
            self.assertNotIn(f"intents.{victim.gateway}", self.rados("-p", "gw.meta", "ls"))
            print(f"\n  a dead gateway's {len(in_flight)} intents settled by another {settled_after:.1f} s after the kill",
                  flush=True)
            # Its lease (renewed every third of it, so it may lapse a third early), then one more.
            self.assertGreaterEqual(settled_after, 2 * LEASE_S - LEASE_S / 3)
            # What follows deletes every object and then finds no data object left: the
            # crash's orphans went with the settling.
        self.sb.abort_multipart_upload(Bucket="crash", Key="mp", UploadId=up)
        for key in listed:
            self.sb.delete_object(Bucket="crash", Key=key)
        self.sb.delete_bucket(Bucket="crash")
        # No data object is left: none orphaned by the crash, none leaked by the deletes.
        deadline = time.monotonic() + 10
        while self.rados("-p", "gw.data", "ls") and time.monotonic() < deadline:
            time.sleep(0.2)  # deletes of released data run in the background
        self.assertEqual(self.rados("-p", "gw.data", "ls"), [])

    @staticmethod
    def _ignore(fn):
        try:
            fn()
        except Exception:
            pass

    # ---- the cluster stops; an OSD dies (last: they disturb the cluster) ----

    def test_z1_paused_cluster_gives_503_never_a_hang(self):
        self.sa.create_bucket(Bucket="pause")
        self.sa.put_object(Bucket="pause", Key="k", Body=b"before")
        pids = self.osd_pids()
        for p in pids:
            os.kill(p, signal.SIGSTOP)
        try:
            for call in (lambda: self.sa.put_object(Bucket="pause", Key="k2", Body=b"x" * 100_000),
                         lambda: self.sb.get_object(Bucket="pause", Key="k")["Body"].read()):
                start = time.monotonic()
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    call()
                self.assertEqual(status_of(cm.exception), 503, cm.exception.response)
                self.assertLess(time.monotonic() - start, 2 * TIMEOUT_S + 3)
        finally:
            for p in pids:
                os.kill(p, signal.SIGCONT)
        with open(self.a.log.name, "rb") as f:
            self.assertIn(b"Connection timed out", f.read())
        deadline = time.monotonic() + 30
        while True:
            try:
                self.assertEqual(self.sb.get_object(Bucket="pause", Key="k")["Body"].read(), b"before")
                break
            except botocore.exceptions.ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def test_z2_one_osd_killed_under_load(self):
        self.sa.create_bucket(Bucket="load")
        acked, lock, stop, bad = {}, threading.Lock(), threading.Event(), []
        outcomes = {"ok": 0, "503": 0}

        def worker(w):
            client = harness.boto3_client((self.a if w % 2 else self.b).endpoint)
            rnd = random.Random(w)
            i = 0
            while not stop.is_set():
                try:
                    if i % 3 == 2 and acked:
                        with lock:
                            key, d = rnd.choice(list(acked.items()))
                        body = client.get_object(Bucket="load", Key=key)["Body"].read()
                        if hashlib.sha256(body).hexdigest() != d:
                            bad.append(f"wrong bytes for {key}")
                    else:
                        key = f"w{w}/{i}"
                        body = rnd.randbytes(rnd.choice([2000, 200_000, 2 << 20]))
                        client.put_object(Bucket="load", Key=key, Body=body)
                        with lock:
                            acked[key] = hashlib.sha256(body).hexdigest()
                    with lock:
                        outcomes["ok"] += 1
                except botocore.exceptions.ClientError as e:
                    if status_of(e) != 503:
                        bad.append(f"{status_of(e)} {code_of(e)}")
                    with lock:
                        outcomes["503"] += 1
                i += 1

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
        for t in threads:
            t.start()
        time.sleep(3)
        os.kill(self.osd_pids()[1], signal.SIGKILL)
        time.sleep(12)
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(bad, [])
        self.assertGreater(outcomes["ok"], 20, outcomes)
        print(f"\n  one OSD killed under load: {outcomes}", flush=True)
        for key, d in acked.items():
            body = self.sa.get_object(Bucket="load", Key=key)["Body"].read()
            self.assertEqual(hashlib.sha256(body).hexdigest(), d, key)


if __name__ == "__main__":
    unittest.main(verbosity=2)
