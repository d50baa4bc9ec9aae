"""The `sluice` data commands (ls, cp, sync, rm, cat, mb, rb, presign) and the client
library under them, against the real server: transfers checked byte for byte, reruns
that do only what is left, the AWS credential chain, and the failures a user must be able
to act on (wrong endpoint, bad key, missing bucket, a server that dies mid-download).
compat: cli
"""
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.request

import harness


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.tmp = tempfile.mkdtemp(prefix="sluice-cli-")
        cls.s3 = harness.boto3_client(cls.server.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_cli(self, *args, env=None, check=True, timeout=120):
        e = dict(os.environ, HOME=self.tmp, AWS_ENDPOINT_URL=self.server.endpoint,
                 AWS_ACCESS_KEY_ID=harness.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY)
        for k, v in (env or {}).items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
        r = subprocess.run([self.server.bin, *args], capture_output=True, env=e, timeout=timeout)
        if check and r.returncode != 0:
            self.fail(f"sluice {' '.join(args)} exited {r.returncode}:\n{r.stderr.decode()}")
        return r

    def make_tree(self, root, n=40):
        os.makedirs(os.path.join(root, "nested", "deeper"), exist_ok=True)
        for i in range(n):
            sub = "" if i % 3 else "nested/" if i % 2 else "nested/deeper/"
            with open(os.path.join(root, sub, f"f{i:03d}.bin"), "wb") as f:
                f.write(os.urandom(1000 + i * 997))
        with open(os.path.join(root, "skip.tmp"), "wb") as f:
            f.write(b"scratch")

    def assert_same_tree(self, a, b, ignore=()):
        def listing(root):
            out = {}
            for d, _, files in os.walk(root):
                for f in files:
                    if f in ignore:
                        continue
                    p = os.path.join(d, f)
                    out[os.path.relpath(p, root)] = hashlib.md5(open(p, "rb").read()).hexdigest()
            return out
        self.assertEqual(listing(a), listing(b))

    def test_recursive_copy_both_ways_and_rerun(self):
        self.run_cli("mb", "s3://cli-tree")
        src = os.path.join(self.tmp, "tree")
        self.make_tree(src)
        r = self.run_cli("cp", "-r", src, "s3://cli-tree/data/", "--exclude", "*.tmp")
        self.assertIn(b"files=40", r.stderr)  # not a terminal: one summary line
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket="cli-tree", Prefix="data/")["Contents"]]
        self.assertEqual(len(keys), 40)
        self.assertIn("data/nested/deeper/f000.bin", keys)
        # A rerun does only what is left: here, nothing; after one deletion, one file.
        self.assertIn(b"files=0 skipped=40", self.run_cli("cp", "-r", src, "s3://cli-tree/data/", "--exclude", "*.tmp").stderr)
        self.s3.delete_object(Bucket="cli-tree", Key="data/f001.bin")
        self.assertIn(b"files=1 skipped=39", self.run_cli("cp", "-r", src, "s3://cli-tree/data/", "--exclude", "*.tmp").stderr)
        down = os.path.join(self.tmp, "down")
        self.run_cli("cp", "-r", "s3://cli-tree/data/", down)
        self.assert_same_tree(src, down, ignore=("skip.tmp",))
        self.assertIn(b"files=0 skipped=40", self.run_cli("cp", "-r", "s3://cli-tree/data/", down).stderr)
        # ls: one level with PRE lines, or everything.
        out = self.run_cli("ls", "s3://cli-tree/data/").stdout.decode()
        self.assertIn("PRE  data/nested/", out)
        self.assertEqual(len(self.run_cli("ls", "-r", "s3://cli-tree/data/").stdout.decode().splitlines()), 40)
        # Server-side copy between prefixes.
        self.run_cli("cp", "-r", "s3://cli-tree/data/nested/", "s3://cli-tree/copy/")
        self.assertEqual(self.s3.get_object(Bucket="cli-tree", Key="copy/deeper/f000.bin")["Body"].read(),
                         open(os.path.join(src, "nested/deeper/f000.bin"), "rb").read())
        self.run_cli("rm", "-r", "s3://cli-tree/")
        self.run_cli("rb", "s3://cli-tree")
        self.assertNotIn("cli-tree", [b["Name"] for b in self.s3.list_buckets()["Buckets"]])

    def test_large_object_multipart_cat_and_presign(self):
        self.run_cli("mb", "s3://cli-big")
        path = os.path.join(self.tmp, "big.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(23 * 1024 * 1024 + 123))
        self.run_cli("cp", path, "s3://cli-big/big.bin", "--part-size", "5", "--parallel", "4")
        head = self.s3.head_object(Bucket="cli-big", Key="big.bin")
        self.assertTrue(head["ETag"].strip('"').endswith("-5"), head["ETag"])  # 5 parts of 5 MiB
        self.assertEqual(self.s3.list_multipart_uploads(Bucket="cli-big").get("Uploads", []), [])
        back = os.path.join(self.tmp, "big.back")
        self.run_cli("cp", "s3://cli-big/big.bin", back, "--part-size", "5")
        self.assertEqual(open(back, "rb").read(), open(path, "rb").read())
        cat = self.run_cli("cat", "s3://cli-big/big.bin", "--part-size", "5").stdout
        self.assertEqual(hashlib.sha256(cat).hexdigest(), hashlib.sha256(open(path, "rb").read()).hexdigest())
        url = self.run_cli("presign", "s3://cli-big/big.bin", "--expires", "60").stdout.decode().strip()
        with urllib.request.urlopen(url) as r:
            self.assertEqual(len(r.read()), os.path.getsize(path))

    def test_sync_with_delete(self):
        self.run_cli("mb", "s3://cli-sync")
        src = os.path.join(self.tmp, "sync-src")
        self.make_tree(src, n=12)
        self.run_cli("sync", src, "s3://cli-sync/m")
        os.remove(os.path.join(src, "f001.bin"))
        with open(os.path.join(src, "f002.bin"), "ab") as f:
            f.write(b"grown")
        r = self.run_cli("sync", src, "s3://cli-sync/m", "--delete")
        self.assertIn(b"files=1 skipped=11", r.stderr)
        self.assertIn(b"deleted 1 objects", r.stderr)
        keys = {o["Key"] for o in self.s3.list_objects_v2(Bucket="cli-sync", Prefix="m/")["Contents"]}
        self.assertNotIn("m/f001.bin", keys)
        self.assertEqual(self.s3.get_object(Bucket="cli-sync", Key="m/f002.bin")["Body"].read(),
                         open(os.path.join(src, "f002.bin"), "rb").read())

    def test_sync_by_etag(self):
        self.run_cli("mb", "s3://cli-etag")
        src = os.path.join(self.tmp, "etag-src")
        self.make_tree(src, n=6)
        with open(os.path.join(src, "big.bin"), "wb") as f:
            f.write(os.urandom(12 * 1024 * 1024 + 5))
        self.run_cli("sync", src, "s3://cli-etag/e", "--part-size", "5")  # big.bin: a 3-part ETag
        # Same size, new content, an old mtime: a time-based sync misses it, --etag does not.
        victim = os.path.join(src, "nested", "f003.bin")  # 8 files with skip.tmp and big.bin
        data = bytearray(open(victim, "rb").read())
        data[0] ^= 0xFF
        with open(victim, "wb") as f:
            f.write(data)
        os.utime(victim, (946684800, 946684800))
        r = self.run_cli("sync", src, "s3://cli-etag/e")
        self.assertIn(b"files=0 skipped=8", r.stderr)
        r = self.run_cli("sync", src, "s3://cli-etag/e", "--etag")
        self.assertIn(b"files=1 skipped=7", r.stderr)
        self.assertEqual(self.s3.get_object(Bucket="cli-etag", Key="e/nested/f003.bin")["Body"].read(), bytes(data))
        # Touched but unchanged (newer mtimes): --etag copies nothing, multipart included.
        for root, _, names in os.walk(src):
            for name in names:
                os.utime(os.path.join(root, name))
        r = self.run_cli("sync", src, "s3://cli-etag/e", "--etag")
        self.assertIn(b"files=0 skipped=8", r.stderr)
        # Downloads compare the same way.
        dst = os.path.join(self.tmp, "etag-dst")
        self.run_cli("sync", "s3://cli-etag/e", dst)
        r = self.run_cli("sync", "s3://cli-etag/e", dst, "--etag")
        self.assertIn(b"files=0 skipped=8", r.stderr)
        with open(os.path.join(dst, "f001.bin"), "r+b") as f:
            f.write(b"X")
        r = self.run_cli("sync", "s3://cli-etag/e", dst, "--etag")
        self.assertIn(b"files=1 skipped=7", r.stderr)
        self.assertEqual(open(os.path.join(dst, "f001.bin"), "rb").read(), open(os.path.join(src, "f001.bin"), "rb").read())
        r = self.run_cli("sync", src, "s3://cli-etag/e", "--etag", "--size-only", check=False)
        self.assertNotEqual(r.returncode, 0)

    def test_credentials_from_aws_files(self):
        aws = os.path.join(self.tmp, ".aws")
        os.makedirs(aws, exist_ok=True)
        with open(os.path.join(aws, "credentials"), "w") as f:
            f.write(f"[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing1\n\n"
                    f"[train]\naws_access_key_id = {harness.ACCESS_KEY}\naws_secret_access_key = {harness.SECRET_KEY}\n")
        with open(os.path.join(aws, "config"), "w") as f:
            f.write(f"[profile train]\nendpoint_url = {self.server.endpoint}\nregion = us-east-1\n")
        env = {"AWS_ENDPOINT_URL": None, "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None}
        self.run_cli("ls", "--profile", "train", env=env)
        self.run_cli("ls", env=dict(env, AWS_PROFILE="train"))
        r = self.run_cli("ls", env=dict(env, AWS_ENDPOINT_URL=self.server.endpoint), check=False)
        self.assertEqual(r.returncode, 3, r.stderr)  # the default profile's key is unknown
        self.assertIn(b"InvalidAccessKeyId", r.stderr)

    def test_errors_users_can_act_on(self):
        r = self.run_cli("ls", env={"AWS_ENDPOINT_URL": "http://127.0.0.1:1"}, check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"cannot connect to http://127.0.0.1:1", r.stderr)
        r = self.run_cli("ls", env={"AWS_SECRET_ACCESS_KEY": "wrong-secret-000"}, check=False)
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"SignatureDoesNotMatch", r.stderr)
        r = self.run_cli("cp", "-r", "s3://no-such-bucket/x/", os.path.join(self.tmp, "nb"), check=False)
        self.assertEqual(r.returncode, 4)
        self.assertIn(b"NoSuchBucket", r.stderr)
        r = self.run_cli("cp", "s3://no-such-bucket/x", os.path.join(self.tmp, "nb"), check=False)
        self.assertEqual(r.returncode, 4)
        self.assertIn(b"NoSuchBucket", r.stderr)
        r = self.run_cli("ls", env={"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None,
                                    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"},
                         check=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no credentials", r.stderr)
        r = self.run_cli("cp", os.path.join(self.tmp, "nothing-here"), "s3://cli-x/a", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"no such file", r.stderr)

    def test_interrupted_download_leaves_no_truncated_file(self):
        self.run_cli("mb", "s3://cli-cut")
        path = os.path.join(self.tmp, "cut.bin")
        with open(path, "wb") as f:
            f.write(os.urandom(160 * 1024 * 1024))
        self.run_cli("cp", path, "s3://cli-cut/cut.bin")
        target = os.path.join(self.tmp, "cut.down")
        e = dict(os.environ, HOME=self.tmp, AWS_ENDPOINT_URL=self.server.endpoint,
                 AWS_ACCESS_KEY_ID=harness.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY)
        p = subprocess.Popen([self.server.bin, "cp", "s3://cli-cut/cut.bin", target, "--part-size", "5",
                              "--parallel", "1"], env=e, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while not os.path.exists(target + ".sluice-partial") and time.time() < deadline:
            time.sleep(0.005)
        self.server.kill9()  # the network goes away mid-transfer
        _, err = p.communicate(timeout=120)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"failed", err)
        self.assertFalse(os.path.exists(target), "a truncated file was left at the target")
        self.assertFalse(os.path.exists(target + ".sluice-partial"))
        self.server.start()
        self.run_cli("cp", "s3://cli-cut/cut.bin", target)
        self.assertEqual(open(target, "rb").read(), open(path, "rb").read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
