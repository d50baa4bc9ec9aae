"""The AWS CLI (Debian's awscli) against the real server: aws s3 and aws s3api."""
import filecmp
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import harness


class AwsCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.tmp = tempfile.mkdtemp(prefix="sluice-awscli-")
        cls.env = dict(os.environ, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                       AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, AWS_DEFAULT_REGION="us-east-1",
                       AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                       AWS_PAGER="")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def aws(self, *args, check=True):
        r = subprocess.run(["aws", "--endpoint-url", self.server.endpoint, *args], env=self.env,
                           capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            self.fail(f"aws {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def test_1_bucket_and_100mib_multipart_copy(self):
        # compat: multipart
        self.aws("s3", "mb", "s3://cli")
        src = os.path.join(self.tmp, "big.bin")
        with open(src, "wb") as f:
            for _ in range(100):
                f.write(os.urandom(1024 * 1024))
        self.aws("s3", "cp", src, "s3://cli/big.bin", "--no-progress")
        head = json.loads(self.aws("s3api", "head-object", "--bucket", "cli", "--key", "big.bin").stdout)
        self.assertEqual(head["ContentLength"], 100 * 1024 * 1024)
        self.assertRegex(head["ETag"], r'^"[0-9a-f]{32}-\d+"$')  # a multipart ETag
        dst = os.path.join(self.tmp, "big.back")
        self.aws("s3", "cp", "s3://cli/big.bin", dst, "--no-progress")
        self.assertTrue(filecmp.cmp(src, dst, shallow=False))
        os.remove(dst)
        os.remove(src)

    def test_2_sync_tree(self):
        # compat: bucket-basics, create-bucket
        tree = os.path.join(self.tmp, "tree")
        for d in ("a", "a/b", "c"):
            os.makedirs(os.path.join(tree, d), exist_ok=True)
        files = {"top.txt": b"top", "a/one.bin": os.urandom(70_000), "a/b/two.txt": b"two",
                 "c/three with space.txt": b"3", "c/four+plus.txt": b"4"}
        for rel, data in files.items():
            with open(os.path.join(tree, rel), "wb") as f:
                f.write(data)
        self.aws("s3", "mb", "s3://cli-sync")
        self.aws("s3", "sync", tree, "s3://cli-sync/data/", "--no-progress")
        listing = self.aws("s3", "ls", "--recursive", "s3://cli-sync/data/").stdout
        for rel in files:
            self.assertIn("data/" + rel, listing)
        # A second sync uploads nothing.
        again = self.aws("s3", "sync", tree, "s3://cli-sync/data/", "--no-progress").stdout
        self.assertEqual(again.strip(), "")
        back = os.path.join(self.tmp, "back")
        self.aws("s3", "sync", "s3://cli-sync/data/", back, "--no-progress")
        for rel, data in files.items():
            with open(os.path.join(back, rel), "rb") as f:
                self.assertEqual(f.read(), data, rel)
        # Delete one locally and sync --delete.
        os.remove(os.path.join(tree, "top.txt"))
        self.aws("s3", "sync", tree, "s3://cli-sync/data/", "--delete", "--no-progress")
        self.assertNotIn("top.txt", self.aws("s3", "ls", "--recursive", "s3://cli-sync/").stdout)
        self.aws("s3", "rm", "--recursive", "s3://cli-sync/")
        self.aws("s3", "rb", "s3://cli-sync")

    def test_3_s3api(self):
        # compat: tagging
        self.aws("s3api", "create-bucket", "--bucket", "cli-api")
        body = os.path.join(self.tmp, "body.txt")
        with open(body, "w") as f:
            f.write("s3api body")
        self.aws("s3api", "put-object", "--bucket", "cli-api", "--key", "k", "--body", body,
                 "--metadata", "a=b", "--content-type", "text/plain", "--tagging", "t=1")
        out = os.path.join(self.tmp, "out.txt")
        got = json.loads(self.aws("s3api", "get-object", "--bucket", "cli-api", "--key", "k", out).stdout)
        self.assertEqual(got["Metadata"], {"a": "b"})
        self.assertEqual(open(out).read(), "s3api body")
        listed = json.loads(self.aws("s3api", "list-objects-v2", "--bucket", "cli-api").stdout)
        self.assertEqual([o["Key"] for o in listed["Contents"]], ["k"])
        tags = json.loads(self.aws("s3api", "get-object-tagging", "--bucket", "cli-api", "--key", "k").stdout)
        self.assertEqual(tags["TagSet"], [{"Key": "t", "Value": "1"}])
        self.aws("s3api", "copy-object", "--bucket", "cli-api", "--key", "k2", "--copy-source", "cli-api/k")
        up = json.loads(self.aws("s3api", "create-multipart-upload", "--bucket", "cli-api", "--key", "mp").stdout)
        part = json.loads(self.aws("s3api", "upload-part", "--bucket", "cli-api", "--key", "mp", "--part-number", "1",
                                   "--upload-id", up["UploadId"], "--body", body).stdout)
        mpu = os.path.join(self.tmp, "mpu.json")
        with open(mpu, "w") as f:
            json.dump({"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}, f)
        self.aws("s3api", "complete-multipart-upload", "--bucket", "cli-api", "--key", "mp", "--upload-id",
                 up["UploadId"], "--multipart-upload", "file://" + mpu)
        self.aws("s3api", "get-object", "--bucket", "cli-api", "--key", "mp", out)
        self.assertEqual(open(out).read(), "s3api body")
        r = self.aws("s3api", "get-object", "--bucket", "cli-api", "--key", "missing", out, check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("NoSuchKey", r.stderr)
        r = self.aws("s3api", "delete-bucket", "--bucket", "cli-api", check=False)
        self.assertIn("BucketNotEmpty", r.stderr)
        url = self.aws("s3", "presign", "s3://cli-api/k").stdout.strip()
        import urllib.request
        with urllib.request.urlopen(url) as resp:
            self.assertEqual(resp.read(), b"s3api body")


if __name__ == "__main__":
    unittest.main(verbosity=2)
