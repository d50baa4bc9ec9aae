#!/usr/bin/python3
"""A full disk never locks its owner out (issue #22, item 1).

The server's data directory is a 128 MiB tmpfs, mounted in a mount namespace of this test's
own (so nothing is left mounted however the test ends). With a reserve of 16 MiB the server
refuses new data with 507 InsufficientStorage before the disk is full, leaving nothing
behind; reads, listings, DELETE, DeleteObjects and AbortMultipartUpload keep working, even
once another program has filled the disk to the last byte (until metadata writes have used up the reserve file; then
the index refuses every write, with 507, and reads go on); deletes free their space at
once; writes work again, without a restart, as soon as there is room; /ready says why it is
not ready meanwhile; and every acknowledged object reads back whole, before and after a
restart. Skipped, saying why, where this machine cannot make a mount namespace or mount a
tmpfs (it needs root).
"""
import ctypes
import hashlib
import os
import shutil
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import botocore.exceptions

from harness import Server, boto3_client

MiB = 1 << 20
CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

SKIP = None


def setUpModule():
    """Enters a private mount namespace (while this process is still single-threaded)."""
    global SKIP
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        SKIP = "cannot make a mount namespace: " + os.strerror(ctypes.get_errno())
    elif libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        SKIP = "cannot make mounts private: " + os.strerror(ctypes.get_errno())


def mount_tmpfs(path, size_mib):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"tmpfs", path.encode(), b"tmpfs", 0, f"size={size_mib}m".encode()) != 0:
        return os.strerror(ctypes.get_errno())
    return None


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill_up(path):
    """Another program appends to `path` until the disk has not a byte left."""
    with open(path, "ab", buffering=0) as f:
        for size in (65536, 4096, 512):
            try:
                while True:
                    f.write(b"\0" * size)
            except OSError:
                pass


def code_of(exc):
    return exc.response["Error"]["Code"], exc.response["ResponseMetadata"]["HTTPStatusCode"]


class DiskFullTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if SKIP:
            raise unittest.SkipTest(SKIP)
        cls.top = tempfile.mkdtemp(prefix="sluice-full-")
        cls.data = os.path.join(cls.top, "data")
        os.makedirs(cls.data)
        err = mount_tmpfs(cls.data, 128)
        if err:
            shutil.rmtree(cls.top, ignore_errors=True)
            raise unittest.SkipTest("cannot mount a tmpfs: " + err)
        cls.server = Server(data_dir=cls.data, extra_args=["--disk-reserve-mb", "16"])
        cls.server.start()
        cls.s3 = boto3_client(cls.server.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        ctypes.CDLL(None).umount2(cls.data.encode(), 2)  # MNT_DETACH
        shutil.rmtree(cls.top, ignore_errors=True)

    def ready(self):
        try:
            with urllib.request.urlopen(self.server.endpoint + "/ready", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def refused(self, call):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            call()
        self.assertEqual(code_of(cm.exception), ("InsufficientStorage", 507), cm.exception.response)

    def verify(self, acked):
        for key, digest in acked.items():
            body = self.s3.get_object(Bucket="full", Key=key)["Body"].read()
            self.assertEqual(hashlib.md5(body).hexdigest(), digest, key)
        listed = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket="full"):
            listed += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(sorted(listed), sorted(acked))

    def test_a_full_disk_never_locks_its_owner_out(self):
        s3 = self.s3
        s3.create_bucket(Bucket="full")
        acked = {}
        # Fill it: objects of 2 MiB until the reserve stops them, then smaller ones (inline
        # in the index below 64 KiB) until they are stopped too.
        for size in (2 * MiB, 256 * 1024, 16 * 1024, 1024):
            for i in range(200):
                body = os.urandom(size)
                key = f"fill/{size}/{i:03d}"
                try:
                    s3.put_object(Bucket="full", Key=key, Body=body)
                    acked[key] = hashlib.md5(body).hexdigest()
                except botocore.exceptions.ClientError as e:
                    self.assertEqual(code_of(e), ("InsufficientStorage", 507), e.response)
                    break
            else:
                self.fail(f"objects of {size} bytes were never refused")
        self.assertGreater(len(acked), 40)
        # Refused before the reserve: at least most of 16 MiB is still free.
        self.assertGreater(free_bytes(self.data), 12 * MiB)
        # Every kind of new data is refused, and leaves nothing behind.
        self.refused(lambda: s3.put_object(Bucket="full", Key="small", Body=b"s" * 4096))
        self.refused(lambda: s3.put_object(Bucket="full", Key="huge", Body=os.urandom(20 * MiB)))
        self.refused(lambda: s3.copy_object(Bucket="full", Key="copy", CopySource=f"full/fill/{2 * MiB}/000"))
        up = s3.create_multipart_upload(Bucket="full", Key="mpu")["UploadId"]
        self.refused(lambda: s3.upload_part(Bucket="full", Key="mpu", UploadId=up, PartNumber=1,
                                            Body=os.urandom(5 * MiB)))
        self.assertEqual(self.server.unpublished(), [])
        # Reads and listings go on; /ready says why it is not ready.
        self.verify(acked)
        status, text = self.ready()
        self.assertEqual(status, 503, text)
        self.assertIn("free", text)

        # Another program takes the last byte.
        filler = os.path.join(self.data, "filler")
        fill_up(filler)
        self.assertLess(free_bytes(self.data), 64 * 1024)
        # Deletes of every kind still work, and free their space at once.
        before = free_bytes(self.data)
        s3.delete_object(Bucket="full", Key=f"fill/{2 * MiB}/000")
        del acked[f"fill/{2 * MiB}/000"]
        gone = sorted([f"fill/{2 * MiB}/{i:03d}" for i in range(1, 11)] + [f"fill/1024/{i:03d}" for i in range(5)])
        out = s3.delete_objects(Bucket="full", Delete={"Objects": [{"Key": k} for k in gone]})
        self.assertEqual(out.get("Errors", []), [])
        self.assertEqual(sorted(d["Key"] for d in out["Deleted"]), gone)
        for k in gone:
            del acked[k]
        s3.abort_multipart_upload(Bucket="full", Key="mpu", UploadId=up)
        deadline = time.monotonic() + 5
        while free_bytes(self.data) - before < 20 * MiB and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertGreaterEqual(free_bytes(self.data) - before, 20 * MiB)
        self.verify(acked)

        # Metadata writes (tags here) use up the reserve file too; then the index refuses
        # every write, deletes included, with 507, and the server keeps serving reads.
        fill_up(filler)  # what the deletes freed is taken again
        tags = {"TagSet": [{"Key": f"t{j}", "Value": "v" * 250} for j in range(10)]}
        refused = 0
        for i in range(4000):
            try:
                s3.put_object_tagging(Bucket="full", Key=f"fill/{2 * MiB}/011", Tagging=tags)
            except botocore.exceptions.ClientError as e:
                self.assertEqual(code_of(e), ("InsufficientStorage", 507), e.response)
                refused += 1
                if refused == 3:
                    break
        self.assertEqual(refused, 3, "the index never ran out of room")
        self.refused(lambda: s3.delete_object(Bucket="full", Key=f"fill/{2 * MiB}/012"))
        self.verify(acked)

        # The filler goes: writes work again, without a restart.
        os.unlink(filler)
        deadline = time.monotonic() + 5
        while self.ready()[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.ready(), (200, "ready\n"))
        for key, size in (("after/small", 4096), ("after/big", 3 * MiB)):
            body = os.urandom(size)
            s3.put_object(Bucket="full", Key=key, Body=body)
            acked[key] = hashlib.md5(body).hexdigest()
        self.verify(acked)
        # And a restart finds exactly what was acknowledged.
        self.server.stop()
        self.server.start()
        self.verify(acked)
        self.assertEqual(self.server.unpublished(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
