"""The web console at /_sluice/console/, end to end in Debian's chromium driven by
playwright-core from npm (console/scenario.mjs): sign-in and a wrong secret, buckets with
their counts, browsing a bucket of 10,000 keys, an upload of 100 MiB with progress and one
cancelled, a download compared byte for byte, details, previews and a share link, a version
restored, a malformed policy refused with the server's reason, administration, the
dashboard, phone-sized screens, a user without rights, and sign-out. This side prepares the
data and checks on the server what the browser did.

SLUICE_CONSOLE_SCREENSHOTS=DIR saves the screenshots there (docs/console/ holds the ones the
README shows)."""
import concurrent.futures
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import unittest
import urllib.request

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))
CHROMIUM = shutil.which("chromium")
# A 1x1 PNG.
PIXEL = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                      "0000000d4944415478da63f8cfc0f01f0005000201a5d1e0a20000000049454e44ae426082")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@unittest.skipIf(CHROMIUM is None, "chromium is not installed (scripts/install-deps.sh --test installs it)")
class ConsoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.js = harness.npm_dir("console-test", ["console/package.json", "console/scenario.mjs"],
                                 ["playwright-core"])
        cls.work = tempfile.mkdtemp(prefix="sluice-console-")
        cls.server = harness.Server().start()
        s3 = harness.boto3_client(cls.server.endpoint, config_args={"max_pool_connections": 16})
        cls.s3 = s3
        s3.create_bucket(Bucket="big")
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            list(ex.map(lambda i: s3.put_object(Bucket="big", Key=f"k{i:05d}", Body=b"%d" % i), range(10000)))
        s3.create_bucket(Bucket="datasets")
        s3.put_object(Bucket="datasets", Key="images/pixel.png", Body=PIXEL, ContentType="image/png")
        s3.put_object(Bucket="datasets", Key="meta/config.json", ContentType="application/json",
                      Body=json.dumps({"model": "resnet50", "learning_rate": 0.001}).encode(),
                      Metadata={"owner": "team-a"}, Tagging="stage=train", ChecksumAlgorithm="CRC32")
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for i in range(3):
                data = b"sample %d" % i
                info = tarfile.TarInfo(f"{i:06d}.txt")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        s3.put_object(Bucket="datasets", Key="shards/shard-000.tar", Body=buf.getvalue())
        s3.put_object(Bucket="datasets", Key="README.md", Body=b"# datasets\n")
        s3.create_bucket(Bucket="checkpoints")
        s3.put_bucket_versioning(Bucket="checkpoints", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="checkpoints", Key="model.txt", Body=b"first")
        s3.put_object(Bucket="checkpoints", Key="model.txt", Body=b"second")
        cls.big_file = os.path.join(cls.work, "big.bin")
        with open(cls.big_file, "wb") as f:
            for _ in range(100):
                f.write(os.urandom(1 << 20))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def test_console_end_to_end(self):
        results = os.path.join(self.work, "results.json")
        shots = os.environ.get("SLUICE_CONSOLE_SCREENSHOTS") or os.path.join(self.work, "shots")
        os.makedirs(shots, exist_ok=True)
        cfg = {"endpoint": self.server.endpoint, "root": {"ak": harness.ACCESS_KEY, "sk": harness.SECRET_KEY},
               "big": "big", "data": "datasets", "versioned": "checkpoints", "bigFile": self.big_file,
               "work": self.work, "results": results, "screenshots": shots}
        r = subprocess.run(["node", "scenario.mjs", json.dumps(cfg)], cwd=self.js, capture_output=True,
                           text=True, timeout=900)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(" 0 failed", r.stdout)
        with open(results) as f:
            out = json.load(f)
        src = sha256_file(self.big_file)
        # The upload: 100 MiB, the same bytes.
        head = self.s3.head_object(Bucket="datasets", Key="uploads/big.bin")
        self.assertEqual(head["ContentLength"], 100 << 20)
        h = hashlib.sha256()
        for chunk in self.s3.get_object(Bucket="datasets", Key="uploads/big.bin")["Body"].iter_chunks(1 << 20):
            h.update(chunk)
        self.assertEqual(h.hexdigest(), src)
        self.assertTrue(head["ETag"].endswith('-13"'), head["ETag"])  # multipart: 13 parts of 8 MiB
        # The download, byte for byte.
        self.assertEqual(sha256_file(out["downloaded"]), src)
        # The cancelled upload left nothing: no object, no multipart upload.
        self.assertEqual(self.s3.list_objects_v2(Bucket="datasets", Prefix="cancelled/")["KeyCount"], 0)
        self.assertEqual(self.s3.list_multipart_uploads(Bucket="datasets").get("Uploads", []), [])
        # The restore: the old bytes are the latest, and the history kept all three.
        self.assertEqual(self.s3.get_object(Bucket="checkpoints", Key="model.txt")["Body"].read(), b"first")
        versions = self.s3.list_object_versions(Bucket="checkpoints", Prefix="model.txt")["Versions"]
        self.assertEqual(len(versions), 3)
        # The malformed policy was refused and nothing was stored.
        self.assertIn("MalformedPolicy", out["malformed"])
        with self.assertRaises(Exception):
            self.s3.get_bucket_policy(Bucket="checkpoints")
        # The share link works without credentials, for the time chosen.
        with urllib.request.urlopen(out["shareUrl"], timeout=10) as resp:
            self.assertIn(b"resnet50", resp.read())
        self.assertIn("X-Amz-Expires=900", out["shareUrl"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
