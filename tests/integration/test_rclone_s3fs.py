"""rclone (copy, sync, check, lsf, cat, delete) and s3fs-fuse (a mounted file system)
against the real server. s3fs is skipped, saying why, where the machine offers no FUSE."""
import filecmp
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import clients
import harness


class RcloneTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.tmp = tempfile.mkdtemp(prefix="sluice-rclone-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}  # rclone reads AWS_CA_BUNDLE etc.
        cls.env = dict(env, RCLONE_CONFIG="/dev/null",
                       RCLONE_CONFIG_SL_TYPE="s3", RCLONE_CONFIG_SL_PROVIDER="Other",
                       RCLONE_CONFIG_SL_ACCESS_KEY_ID=harness.ACCESS_KEY,
                       RCLONE_CONFIG_SL_SECRET_ACCESS_KEY=harness.SECRET_KEY,
                       RCLONE_CONFIG_SL_ENDPOINT=cls.server.endpoint,
                       RCLONE_CONFIG_SL_REGION="us-east-1")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def rclone(self, *args, check=True):
        r = subprocess.run(["rclone", *args], env=self.env, capture_output=True, text=True, timeout=300)
        if check and r.returncode != 0:
            self.fail(f"rclone {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def test_rclone_scenario(self):
        src = os.path.join(self.tmp, "src")
        os.makedirs(os.path.join(src, "sub dir"))
        files = {"a.txt": b"alpha", "sub dir/b+c.bin": os.urandom(300_000),
                 "big.bin": os.urandom(12 * 1024 * 1024), "emoji-\U0001F600.txt": b"smile"}
        for rel, data in files.items():
            with open(os.path.join(src, rel), "wb") as f:
                f.write(data)
        self.rclone("mkdir", "sl:rclone-bucket")
        self.rclone("copy", src, "sl:rclone-bucket/data", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M")
        listed = set(self.rclone("lsf", "-R", "--files-only", "sl:rclone-bucket/data").stdout.split("\n")) - {""}
        self.assertEqual(listed, set(files))
        self.rclone("check", src, "sl:rclone-bucket/data")  # sizes and hashes (MD5 ETags)
        self.assertEqual(self.rclone("cat", "sl:rclone-bucket/data/a.txt").stdout, "alpha")
        os.remove(os.path.join(src, "a.txt"))
        self.rclone("sync", src, "sl:rclone-bucket/data")
        self.assertNotIn("a.txt", self.rclone("lsf", "-R", "sl:rclone-bucket/data").stdout)
        back = os.path.join(self.tmp, "back")
        self.rclone("copy", "sl:rclone-bucket/data", back)
        for rel in files:
            if rel != "a.txt":
                self.assertTrue(filecmp.cmp(os.path.join(src, rel), os.path.join(back, rel), shallow=False), rel)
        self.rclone("purge", "sl:rclone-bucket")
        self.assertNotIn("rclone-bucket", self.rclone("lsd", "sl:").stdout)


class S3fsTest(unittest.TestCase):
    def setUp(self):
        if not os.path.exists("/dev/fuse") or shutil.which("s3fs") is None:
            self.skipTest("no FUSE on this machine (/dev/fuse or s3fs missing)")
        self.server = harness.Server().start()
        harness.boto3_client(self.server.endpoint).create_bucket(Bucket="fusebucket")
        self.tmp = tempfile.mkdtemp(prefix="sluice-s3fs-")
        self.mnt = os.path.join(self.tmp, "mnt")
        os.makedirs(self.mnt)
        self.passwd = os.path.join(self.tmp, "passwd")
        with open(self.passwd, "w") as f:
            f.write(f"{harness.ACCESS_KEY}:{harness.SECRET_KEY}\n")
        os.chmod(self.passwd, 0o600)
        r = subprocess.run(["s3fs", "fusebucket", self.mnt, "-o", f"passwd_file={self.passwd}",
                            "-o", f"url={self.server.endpoint}", "-o", "use_path_request_style",
                            "-o", "endpoint=us-east-1", "-o", "sigv4"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            self.server.cleanup()
            self.skipTest(f"s3fs could not mount here (FUSE not permitted?): {r.stderr.strip()[:200]}")
        for _ in range(100):
            if os.path.ismount(self.mnt):
                break
            time.sleep(0.05)
        if not os.path.ismount(self.mnt):
            self.server.cleanup()
            self.skipTest("s3fs did not mount (FUSE not permitted in this sandbox)")

    def tearDown(self):
        subprocess.run(["fusermount", "-u", self.mnt], capture_output=True)
        subprocess.run(["umount", "-l", self.mnt], capture_output=True)
        self.server.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_write_and_read_through_the_mount(self):
        data = os.urandom(3 * 1024 * 1024 + 5)
        with open(os.path.join(self.mnt, "file.bin"), "wb") as f:
            f.write(data)
        os.makedirs(os.path.join(self.mnt, "dir"))
        with open(os.path.join(self.mnt, "dir", "note.txt"), "w") as f:
            f.write("written through s3fs")
        s3 = harness.boto3_client(self.server.endpoint)
        self.assertEqual(s3.get_object(Bucket="fusebucket", Key="file.bin")["Body"].read(), data)
        self.assertEqual(s3.get_object(Bucket="fusebucket", Key="dir/note.txt")["Body"].read(), b"written through s3fs")
        s3.put_object(Bucket="fusebucket", Key="from-s3.txt", Body=b"visible in the mount")
        with open(os.path.join(self.mnt, "from-s3.txt"), "rb") as f:
            self.assertEqual(f.read(), b"visible in the mount")
        self.assertIn("dir", os.listdir(self.mnt))
        os.remove(os.path.join(self.mnt, "file.bin"))
        with self.assertRaises(Exception):
            s3.head_object(Bucket="fusebucket", Key="file.bin")

    def test_odd_keys_through_the_mount(self):
        # compat: odd-keys
        # A file system path cannot hold a key with a leading '/', '//' or '/../', and FUSE
        # refuses paths of 1,024 bytes and more (ENAMETOOLONG); every other odd key is
        # written as a file and read back as an object, and the reverse.
        s3 = harness.boto3_client(self.server.endpoint)
        keys = [k for k in clients.ODD_KEYS
                if not (k.startswith("/") or "//" in k or "/../" in k or len(k.encode()) >= 1023)]
        self.assertGreaterEqual(len(keys), 8)
        for i, key in enumerate(keys):
            path = os.path.join(self.mnt, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(f"via the mount {i}".encode())
            self.assertEqual(s3.get_object(Bucket="fusebucket", Key=key)["Body"].read(),
                             f"via the mount {i}".encode(), repr(key))
            s3.put_object(Bucket="fusebucket", Key=key, Body=f"via S3 {i}".encode())
            with open(path, "rb") as f:
                self.assertEqual(f.read(), f"via S3 {i}".encode(), repr(key))


if __name__ == "__main__":
    unittest.main(verbosity=2)
