"""s3cmd (Debian's) against the real server."""
import filecmp
import os
import shutil
import subprocess
import tempfile
import unittest

import harness


class S3cmdTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.tmp = tempfile.mkdtemp(prefix="sluice-s3cmd-")
        cls.cfg = os.path.join(cls.tmp, "s3cfg")
        hostport = f"127.0.0.1:{cls.server.port}"
        with open(cls.cfg, "w") as f:
            f.write(f"""[default]
access_key = {harness.ACCESS_KEY}
secret_key = {harness.SECRET_KEY}
host_base = {hostport}
host_bucket = {hostport}
use_https = False
signature_v2 = False
bucket_location = us-east-1
""")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def s3cmd(self, *args, check=True):
        r = subprocess.run(["s3cmd", "-c", self.cfg, "--no-progress", *args], capture_output=True,
                           text=True, timeout=300)
        if check and r.returncode != 0:
            self.fail(f"s3cmd {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def test_scenario(self):
        # compat: list-buckets
        self.s3cmd("mb", "s3://s3cmd-bucket")
        self.assertIn("s3://s3cmd-bucket", self.s3cmd("ls").stdout)
        small = os.path.join(self.tmp, "small.txt")
        with open(small, "w") as f:
            f.write("hello from s3cmd")
        self.s3cmd("put", small, "s3://s3cmd-bucket/dir/small.txt")
        big = os.path.join(self.tmp, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(12 * 1024 * 1024 + 5))
        self.s3cmd("put", "--multipart-chunk-size-mb=5", big, "s3://s3cmd-bucket/big.bin")
        listing = self.s3cmd("ls", "--recursive", "s3://s3cmd-bucket").stdout
        self.assertIn("s3://s3cmd-bucket/dir/small.txt", listing)
        self.assertIn("s3://s3cmd-bucket/big.bin", listing)
        self.assertIn("DIR", self.s3cmd("ls", "s3://s3cmd-bucket/").stdout)
        for name, src in (("dir/small.txt", small), ("big.bin", big)):
            dst = os.path.join(self.tmp, "got-" + os.path.basename(name))
            self.s3cmd("get", "--force", "s3://s3cmd-bucket/" + name, dst)
            self.assertTrue(filecmp.cmp(src, dst, shallow=False), name)
        info = self.s3cmd("info", "s3://s3cmd-bucket/dir/small.txt").stdout
        self.assertIn("MD5 sum", info)
        self.s3cmd("cp", "s3://s3cmd-bucket/dir/small.txt", "s3://s3cmd-bucket/copy.txt")
        self.s3cmd("del", "s3://s3cmd-bucket/dir/small.txt", "s3://s3cmd-bucket/big.bin", "s3://s3cmd-bucket/copy.txt")
        self.assertEqual(self.s3cmd("ls", "--recursive", "s3://s3cmd-bucket").stdout.strip(), "")
        self.s3cmd("rb", "s3://s3cmd-bucket")
        r = self.s3cmd("ls", "s3://s3cmd-bucket", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_signature_v2_mode(self):
        # compat: signatures
        r = subprocess.run(["s3cmd", "-c", self.cfg, "--signature-v2", "mb", "s3://s3cmd-v2"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["s3cmd", "-c", self.cfg, "--signature-v2", "ls"], capture_output=True,
                           text=True, timeout=60)
        self.assertIn("s3://s3cmd-v2", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
