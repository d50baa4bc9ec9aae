"""kill -9 under a stream of concurrent PUTs and multipart uploads, then restart:
every acknowledged object must read back byte-identical, every visible object must be a
whole version that some client wrote, and recovery must leave no stray data behind."""
import concurrent.futures
import hashlib
import os
import random
import threading
import time
import unittest

import harness


def content(key, attempt, size):
    rnd = random.Random(f"{key}/{attempt}")
    return rnd.randbytes(size)


class CrashTest(unittest.TestCase):
    def test_kill9_under_load(self):
        # compat: multipart
        server = harness.Server().start()
        try:
            self.run_rounds(server)
        finally:
            server.cleanup()

    def run_rounds(self, server):
        s3 = harness.boto3_client(server.endpoint, config_args={"max_pool_connections": 32})
        s3.create_bucket(Bucket="crash")
        acked = {}       # key -> sha256 of the acknowledged content (last ack wins)
        attempted = {}   # key -> set of sha256 of every attempted content
        lock = threading.Lock()
        for rnd in range(2):
            stop = threading.Event()

            def put_worker(wid):
                n = 0
                while not stop.is_set():
                    n += 1
                    # Mostly new keys; some overwrite a hot key; sizes cover inline and files.
                    key = f"r{rnd}/w{wid}/k{n}" if n % 5 else f"hot/{wid % 3}"
                    size = random.choice([0, 100, 4096, 70_000, 300_000, 1_500_000])
                    body = content(key, (rnd, wid, n), size)
                    digest = hashlib.sha256(body).hexdigest()
                    with lock:
                        attempted.setdefault(key, set()).add(digest)
                    try:
                        s3.put_object(Bucket="crash", Key=key, Body=body)
                    except Exception:
                        return  # the server died mid-request
                    with lock:
                        acked[key] = digest

            def mpu_worker(wid):
                n = 0
                while not stop.is_set():
                    n += 1
                    key = f"r{rnd}/mpu{wid}/o{n}"
                    parts = [content(key, (i,), 5 * 1024 * 1024 if i < 2 else 12345) for i in range(3)]
                    digest = hashlib.sha256(b"".join(parts)).hexdigest()
                    with lock:
                        attempted.setdefault(key, set()).add(digest)
                    try:
                        uid = s3.create_multipart_upload(Bucket="crash", Key=key)["UploadId"]
                        etags = [s3.upload_part(Bucket="crash", Key=key, UploadId=uid, PartNumber=i + 1,
                                                Body=p)["ETag"] for i, p in enumerate(parts)]
                        s3.complete_multipart_upload(Bucket="crash", Key=key, UploadId=uid, MultipartUpload={
                            "Parts": [{"PartNumber": i + 1, "ETag": e} for i, e in enumerate(etags)]})
                    except Exception:
                        return
                    with lock:
                        acked[key] = digest

            with concurrent.futures.ThreadPoolExecutor(10) as ex:
                futures = [ex.submit(put_worker, i) for i in range(8)] + [ex.submit(mpu_worker, i) for i in range(2)]
                time.sleep(3.0 + rnd)
                server.kill9()
                stop.set()
                for f in futures:
                    f.result()
            self.assertGreater(len(acked), 20, "the load generator acknowledged too little to test")
            server.start()  # same data directory: recovery runs before it serves
            self.assertEqual(os.listdir(os.path.join(server.data_dir, "tmp")), [],
                             "recovery left unsettled data in tmp/")
            self.verify(s3, acked, attempted)

    def verify(self, s3, acked, attempted):
        visible = set()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash"):
            for o in page.get("Contents", []):
                visible.add(o["Key"])
        for key, digest in acked.items():
            self.assertIn(key, visible, f"acknowledged {key} is missing")
            body = s3.get_object(Bucket="crash", Key=key)["Body"].read()
            # An overwrite in flight at the crash may have landed after the last ack.
            self.assertIn(hashlib.sha256(body).hexdigest(), attempted[key], key)
            if len(attempted[key]) == 1:
                self.assertEqual(hashlib.sha256(body).hexdigest(), digest, key)
        for key in visible - set(acked):
            self.assertIn(key, attempted, f"{key} was never written")
            body = s3.get_object(Bucket="crash", Key=key)["Body"].read()
            self.assertIn(hashlib.sha256(body).hexdigest(), attempted[key], f"{key} is partial")


if __name__ == "__main__":
    unittest.main(verbosity=2)
