"""Model fan-out (#21 item 4) against the real server, with the access patterns of the
clients that pull models at scale-out: KServe's storage initializer (list the model's
prefix, then boto3 `download_file` of every object on a thread pool), a ranged,
many-connection streamer (vLLM's Run:ai streamer: many threads, each its own connection,
fixed-size ranged GETs reassembled in order), and many processes each reading the same
object through `sluice.Client().open(url, "rb")` at once. Every copy must be bit-exact.
"""
import hashlib
import http.client
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import harness

PYTHONPATH = os.environ.get("SLUICE_PYTHONPATH", os.path.join(os.path.dirname(__file__), "../../build/python"))
sys.path.insert(0, PYTHONPATH)
try:
    import sluice  # noqa: E402
except ImportError:
    sluice = None

MODEL = {  # a model directory as KServe finds it: weights (multipart), config, tokenizer
    "llm/v1/model.safetensors": 40 * 1024 * 1024 + 12345,
    "llm/v1/config.json": 2_000,
    "llm/v1/tokenizer.json": 300_000,
}


class FanoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.server.endpoint, config_args={"max_pool_connections": 32})
        cls.s3.create_bucket(Bucket="models")
        cls.digest = {}
        from boto3.s3.transfer import TransferConfig
        for key, size in MODEL.items():
            body = os.urandom(size)
            cls.digest[key] = hashlib.sha256(body).hexdigest()
            with tempfile.NamedTemporaryFile() as f:
                f.write(body)
                f.flush()
                cls.s3.upload_file(f.name, "models", key,
                                   Config=TransferConfig(multipart_chunksize=8 << 20))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_kserve_storage_initializer(self):
        # KServe's S3 download: list the prefix, then download_file each object into the
        # model directory, several at once; 8 replicas of it at the same moment.
        def replica(n):
            out = tempfile.mkdtemp(prefix=f"kserve-{n}-")
            s3 = harness.boto3_client(self.server.endpoint)
            keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="models", Prefix="llm/v1/")
                    for o in page.get("Contents", [])]
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(lambda k: s3.download_file("models", k, os.path.join(out, os.path.basename(k))), keys))
            got = {}
            for k in keys:
                with open(os.path.join(out, os.path.basename(k)), "rb") as f:
                    got[k] = hashlib.sha256(f.read()).hexdigest()
                os.unlink(os.path.join(out, os.path.basename(k)))
            os.rmdir(out)
            return got
        with ThreadPoolExecutor(8) as pool:
            for got in pool.map(replica, range(8)):
                self.assertEqual(got, self.digest)

    def test_ranged_many_connection_streamer(self):
        # 64 threads, each on its own connection, ranged GETs of 1 MiB (the last one
        # short), answered 206 with the right Content-Range, reassembled in order.
        key = "llm/v1/model.safetensors"
        size, piece = MODEL[key], 1 << 20
        url = self.s3.generate_presigned_url("get_object", Params={"Bucket": "models", "Key": key})
        u = urllib.parse.urlsplit(url)
        target = u.path + "?" + u.query

        def fetch(i):
            start, end = i * piece, min(size, (i + 1) * piece) - 1
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            try:
                conn.request("GET", target, headers={"Range": f"bytes={start}-{end}"})
                r = conn.getresponse()
                body = r.read()
                self.assertEqual(r.status, 206)
                self.assertEqual(r.getheader("Content-Range"), f"bytes {start}-{end}/{size}")
                self.assertEqual(len(body), end - start + 1)
                return body
            finally:
                conn.close()
        with ThreadPoolExecutor(64) as pool:
            parts = list(pool.map(fetch, range((size + piece - 1) // piece)))
        self.assertEqual(hashlib.sha256(b"".join(parts)).hexdigest(), self.digest[key])

    @unittest.skipIf(sluice is None, "the sluice Python module is not built")
    def test_processes_open_the_same_object_at_once(self):
        # 8 processes read the weights through the default reader at once; each reports
        # the SHA-256 of what it read and the way open() chose (a stream, on loopback).
        key = "llm/v1/model.safetensors"
        code = (
            "import hashlib, sys, sluice\n"
            "c = sluice.Client(endpoint=sys.argv[1], access_key=sys.argv[2], secret_key=sys.argv[3])\n"
            "h = hashlib.sha256()\n"
            "with c.open(sys.argv[4], 'rb') as f:\n"
            "    way = type(f.raw._r).__name__\n"
            "    while b := f.read(1 << 20):\n"
            "        h.update(b)\n"
            "print(way, h.hexdigest())\n")
        env = dict(os.environ, PYTHONPATH=PYTHONPATH)
        ps = [subprocess.Popen(["/usr/bin/python3", "-c", code, self.server.endpoint, harness.ACCESS_KEY,
                                harness.SECRET_KEY, f"s3://models/{key}"], stdout=subprocess.PIPE, text=True, env=env)
              for _ in range(8)]
        for p in ps:
            out, _ = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0)
            self.assertEqual(out.split(), ["Stream", self.digest[key]])


if __name__ == "__main__":
    unittest.main(verbosity=2)
