"""The read-through cache (`sluice server --cache-of URL`, #21 item 4, docs/cache.md),
end to end: a sluice origin, a sluice cache in front of it, and real clients (boto3, raw
ranged GETs, the sluice Python client) reading through the cache. How often the origin
was read is counted from its own access log, so "read once" is the origin's word.
"""
import hashlib
import http.client
import os
import re
import sys
import tempfile
import time
import unittest
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import botocore.exceptions

import harness

PYTHONPATH = os.environ.get("SLUICE_PYTHONPATH", os.path.join(os.path.dirname(__file__), "../../build/python"))
sys.path.insert(0, PYTHONPATH)
try:
    import sluice  # noqa: E402
except ImportError:
    sluice = None

MiB = 1 << 20


def cache_args(origin, *more):
    return ["--cache-of", origin.endpoint, "--cache-access-key", harness.ACCESS_KEY,
            "--cache-secret-key", harness.SECRET_KEY, *more]


def origin_reads(server, bucket, key, expect=None):
    """(GETs answered 2xx, bytes sent) for bucket/key, from the server's access log. A
    line is written once the answer is sent, a moment after the client has the bytes:
    with `expect`, waits up to 3 s for the counts to reach it."""
    deadline = time.time() + 3
    while True:
        got = _origin_reads(server, bucket, key)
        if expect is None or got == expect or (isinstance(expect, int) and got[0] == expect) \
                or time.time() > deadline:
            return got
        time.sleep(0.05)


def _origin_reads(server, bucket, key):
    server.log.flush()
    with open(server.log.name, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    quoted = '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
    gets, sent = 0, 0
    for line in text.splitlines():
        if "method=GET" not in line or f"bucket={bucket} key={quoted} " not in line:
            continue
        m = re.search(r" status=(\d+) in=\d+ out=(\d+)", line)
        if m and m.group(1).startswith("2"):
            gets += 1
            sent += int(m.group(2))
    return gets, sent


def sha(b):
    return hashlib.sha256(b).hexdigest()


class CacheTest(unittest.TestCase):
    def assertReadOnce(self, reads, size):
        """One GET of the origin, which sent the object's bytes (and one response head)."""
        gets, sent = reads
        self.assertEqual(gets, 1)
        self.assertGreaterEqual(sent, size)
        self.assertLess(sent, size + 4096)

    @classmethod
    def setUpClass(cls):
        cls.origin = harness.Server()
        cls.addClassCleanup(cls.origin.cleanup)
        cls.origin.start()
        cls.o3 = harness.boto3_client(cls.origin.endpoint)
        cls.o3.create_bucket(Bucket="models")
        cls.cache = harness.Server(extra_args=cache_args(cls.origin, "--cache-size", "256M"))
        cls.addClassCleanup(cls.cache.cleanup)
        cls.cache.start()
        cls.c3 = harness.boto3_client(cls.cache.endpoint, config_args={"max_pool_connections": 32})

    def put(self, key, size, **kw):
        body = os.urandom(size)
        self.o3.put_object(Bucket="models", Key=key, Body=body, **kw)
        return body

    def test_miss_then_hit_reads_the_origin_once(self):
        body = self.put("once/a.bin", 5 * MiB + 7, ContentType="application/x-test",
                        Metadata={"run": "42"})
        etag = self.o3.head_object(Bucket="models", Key="once/a.bin")["ETag"]
        for _ in range(3):
            r = self.c3.get_object(Bucket="models", Key="once/a.bin")
            self.assertEqual(r["Body"].read(), body)
            self.assertEqual(r["ETag"], etag)  # the origin's object, as the origin names it
            self.assertEqual(r["ContentType"], "application/x-test")
            self.assertEqual(r["Metadata"], {"run": "42"})
        h = self.c3.head_object(Bucket="models", Key="once/a.bin")
        self.assertEqual(h["ContentLength"], len(body))
        self.assertReadOnce(origin_reads(self.origin, "models", "once/a.bin", expect=1), len(body))

    def test_kserve_pattern_cold_reads_the_origin_once(self):
        # KServe's storage initializer on 8 replicas at once, all cold: list the prefix
        # through the cache, then download_file (8 MiB ranged parts on a thread pool).
        from boto3.s3.transfer import TransferConfig
        files = {"llm/v2/model.safetensors": 40 * MiB + 12345, "llm/v2/config.json": 2000,
                 "llm/v2/tokenizer.json": 300_000}
        digest = {k: sha(self.put(k, n)) for k, n in files.items()}

        def replica(n):
            out = tempfile.mkdtemp(prefix=f"cache-kserve-{n}-")
            s3 = harness.boto3_client(self.cache.endpoint)
            keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="models", Prefix="llm/v2/")
                    for o in page.get("Contents", [])]
            cfg = TransferConfig(multipart_chunksize=8 * MiB, multipart_threshold=8 * MiB)
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda k: s3.download_file("models", k, os.path.join(out, os.path.basename(k)), Config=cfg), keys))
            got = {}
            for k in keys:
                path = os.path.join(out, os.path.basename(k))
                with open(path, "rb") as f:
                    got[k] = sha(f.read())
                os.unlink(path)
            os.rmdir(out)
            return got
        with ThreadPoolExecutor(8) as pool:
            for got in pool.map(replica, range(8)):
                self.assertEqual(got, digest)
        for k, n in files.items():
            self.assertReadOnce(origin_reads(self.origin, "models", k, expect=1), n)

    def test_ranged_streamer_cold_reads_the_origin_once(self):
        # A Run:ai-style streamer: 32 threads, each its own connection, 1 MiB ranged GETs
        # of a cold object, reassembled.
        key, size, piece = "llm/v3/weights.bin", 24 * MiB + 999, MiB
        body = self.put(key, size)
        url = urllib.parse.urlsplit(self.cache.endpoint)
        path = "/models/" + key

        def fetch(i):
            start, end = i * piece, min(size, (i + 1) * piece) - 1
            r = harness.signed_request(self.cache.endpoint, "GET", path, headers={"Range": f"bytes={start}-{end}"})
            self.assertEqual(r.status_code, 206)
            self.assertEqual(r.headers["Content-Range"], f"bytes {start}-{end}/{size}")
            return r.content
        del url
        with ThreadPoolExecutor(32) as pool:
            got = b"".join(pool.map(fetch, range((size + piece - 1) // piece)))
        self.assertEqual(sha(got), sha(body))
        self.assertReadOnce(origin_reads(self.origin, "models", key, expect=1), size)

    @unittest.skipIf(sluice is None, "the sluice Python module is not built")
    def test_python_reader_through_the_cache(self):
        key = "llm/v4/model.bin"
        body = self.put(key, 9 * MiB + 5)
        c = sluice.Client(endpoint=self.cache.endpoint, access_key=harness.ACCESS_KEY,
                          secret_key=harness.SECRET_KEY)
        with c.open(f"s3://models/{key}", "rb") as f:
            self.assertEqual(sha(f.read()), sha(body))
        with c.open(f"s3://models/{key}", "rb", streaming=False) as f:
            self.assertEqual(sha(f.read()), sha(body))
        self.assertEqual(origin_reads(self.origin, "models", key, expect=1)[0], 1)

    def test_range_and_conditionals_on_a_cold_object(self):
        key = "cond/x.bin"
        body = self.put(key, 3 * MiB)
        etag = self.o3.head_object(Bucket="models", Key=key)["ETag"]
        r = self.c3.get_object(Bucket="models", Key=key, Range="bytes=1000-2999999")
        self.assertEqual(r["Body"].read(), body[1000:3000000])
        self.assertEqual(r["ContentRange"], f"bytes 1000-2999999/{len(body)}")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.c3.get_object(Bucket="models", Key=key, IfNoneMatch=etag)
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 304)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.c3.get_object(Bucket="models", Key=key, IfMatch='"0000"')
        self.assertEqual(cm.exception.response["Error"]["Code"], "PreconditionFailed")

    def test_revalidates_by_etag(self):
        key = "reval/cfg.json"
        self.put(key, 100_000)
        self.c3.get_object(Bucket="models", Key=key)["Body"].read()
        v2 = self.put(key, 120_000)  # changed at the origin
        r = self.c3.get_object(Bucket="models", Key=key)
        self.assertEqual(r["Body"].read(), v2)
        self.assertEqual(r["ETag"], self.o3.head_object(Bucket="models", Key=key)["ETag"])
        self.assertEqual(origin_reads(self.origin, "models", key, expect=2)[0], 2)

    def test_deleted_at_the_origin_is_gone(self):
        key = "gone/a.bin"
        self.put(key, 70_000)
        self.c3.get_object(Bucket="models", Key=key)["Body"].read()
        self.o3.delete_object(Bucket="models", Key=key)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.c3.get_object(Bucket="models", Key=key)
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchKey")

    def test_listings_come_from_the_origin(self):
        for k in ("list/a", "list/b", "list/sub/c"):
            self.put(k, 10)
        r = self.c3.list_objects_v2(Bucket="models", Prefix="list/", Delimiter="/")
        self.assertEqual([o["Key"] for o in r["Contents"]], ["list/a", "list/b"])
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["list/sub/"])
        self.assertIn("models", [b["Name"] for b in self.c3.list_buckets()["Buckets"]])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.c3.list_objects_v2(Bucket="no-such-bucket-here")
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchBucket")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.c3.get_object(Bucket="no-such-bucket-here", Key="k")
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchBucket")

    def test_writes_and_versions_are_refused_with_501(self):
        for call in (lambda: self.c3.put_object(Bucket="models", Key="w", Body=b"x"),
                     lambda: self.c3.delete_object(Bucket="models", Key="w"),
                     lambda: self.c3.create_bucket(Bucket="newbucket"),
                     lambda: self.c3.get_object(Bucket="models", Key="w", VersionId="null")):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                call()
            self.assertEqual(cm.exception.response["Error"]["Code"], "NotImplemented")
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 501)
        self.assertNotIn("w", [o["Key"] for o in self.o3.list_objects_v2(Bucket="models").get("Contents", [])])

    def test_unsigned_and_wrongly_signed_requests_are_refused(self):
        self.put("auth/a", 10)
        u = urllib.parse.urlsplit(self.cache.endpoint)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        conn.request("GET", "/models/auth/a")
        r = conn.getresponse()
        self.assertEqual(r.status, 403)
        r.read()
        bad = harness.signed_request(self.cache.endpoint, "GET", "/models/auth/a", sk="wrong-secret-0123456789")
        self.assertEqual(bad.status_code, 403)
        self.assertEqual(origin_reads(self.origin, "models", "auth/a", expect=0)[0], 0)


class CacheBudgetTest(unittest.TestCase):
    """A small budget: least recently used out, too-large objects streamed through, the
    books kept across a restart, and what is held served while the origin is down."""

    def setUp(self):
        # Cleanups, not tearDown: they also run when setUp fails half-way, so no server is
        # left behind.
        self.origin = harness.Server()
        self.addCleanup(self.origin.cleanup)
        self.origin.start()
        self.o3 = harness.boto3_client(self.origin.endpoint)
        self.o3.create_bucket(Bucket="cache-b")
        self.cache = harness.Server(extra_args=cache_args(self.origin, "--cache-size", "3M"))
        self.addCleanup(self.cache.cleanup)
        self.cache.start()
        self.c3 = harness.boto3_client(self.cache.endpoint)

    def put(self, key, size):
        body = os.urandom(size)
        self.o3.put_object(Bucket="cache-b", Key=key, Body=body)
        return body

    def get(self, key):
        return self.c3.get_object(Bucket="cache-b", Key=key)["Body"].read()

    def held_bytes(self):
        total = 0
        for root, _, names in os.walk(os.path.join(self.cache.data_dir, "objects")):
            total += sum(os.path.getsize(os.path.join(root, n)) for n in names)
        return total

    def test_least_recently_used_goes_first(self):
        a, b, c = (self.put(k, 1200 * 1024) for k in ("a", "b", "c"))
        self.assertEqual(self.get("a"), a)
        self.assertEqual(self.get("b"), b)
        self.assertEqual(self.get("a"), a)  # a is now the most recent: b goes for c
        self.assertEqual(self.get("c"), c)
        self.assertEqual(self.get("a"), a)
        self.assertEqual(origin_reads(self.origin, "cache-b", "a", expect=1)[0], 1)
        self.assertEqual(self.get("b"), b)
        self.assertEqual(origin_reads(self.origin, "cache-b", "b", expect=2)[0], 2)
        deadline = time.time() + 10  # evicted data is deleted off the request path
        while self.held_bytes() > 3 * MiB and time.time() < deadline:
            time.sleep(0.1)
        self.assertLessEqual(self.held_bytes(), 3 * MiB)

    def test_larger_than_the_budget_streams_through(self):
        big = self.put("big", 4 * MiB)
        self.assertEqual(self.get("big"), big)
        self.assertEqual(self.get("big"), big)
        self.assertEqual(origin_reads(self.origin, "cache-b", "big", expect=2)[0], 2)  # never kept
        self.assertEqual(self.held_bytes(), 0)

    def test_copies_survive_a_restart(self):
        a = self.put("a", 1000 * 1024)
        self.assertEqual(self.get("a"), a)
        self.cache.stop()
        self.cache.start()
        self.c3 = harness.boto3_client(self.cache.endpoint)
        self.assertEqual(self.get("a"), a)
        self.assertEqual(origin_reads(self.origin, "cache-b", "a", expect=1)[0], 1)

    def test_origin_down_serves_what_is_held(self):
        a = self.put("a", 500 * 1024)
        self.put("never-read", 10)
        self.assertEqual(self.get("a"), a)
        self.origin.stop()
        try:
            self.assertEqual(self.get("a"), a)
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                self.get("never-read")
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        finally:
            self.origin.start()


if __name__ == "__main__":
    unittest.main()
