#!/usr/bin/python3
"""Range shards of the RADOS index (issue #18; docs/rados.md, "Range shards"): two sluice
gateways on one Ceph cluster started by scripts/ceph-dev.sh (one memstore OSD), with
--ceph-shard-keys 64 so that a bucket of a few hundred objects splits several times while
boto3 writes to it through both gateways, and --ceph-pack-keys 8 so that its shards keep
listing packs (docs/rados.md, "Listing packs") built, compacted and rebuilt under the
writers.

- Every write acknowledged during the splits is read back, from the other gateway.
- ListObjectsV2 pages (with and without a delimiter), ListObjectVersions pages and
  ListMultipartUploads return every key once and in order, across shard boundaries.
- A multipart upload begun before the splits completes after them; a tar archive's members
  are read by name wherever its shard went.
- Deleting every version empties the bucket; the bucket can then be deleted and made again,
  empty.
"""
import concurrent.futures
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARD_KEYS = 64
WRITERS = 4
KEYS_PER_WRITER = 60


def body_of(key, n):
    return hashlib.sha256(f"{key}#{n}".encode()).hexdigest().encode() * 3


class RangeShards(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.state = tempfile.mkdtemp(prefix="sluice-shards-ceph-", dir="/tmp")
        cls.env = dict(os.environ, CEPH_DEV_DIR=cls.state, CEPH_DEV_PORT=str(harness.free_port()),
                       CEPH_DEV_OSD_GB="1")
        cls.script = os.path.join(ROOT, "scripts", "ceph-dev.sh")
        up = subprocess.run([cls.script, "up"], env=cls.env, capture_output=True, text=True,
                            timeout=300)
        if up.returncode != 0:
            shutil.rmtree(cls.state, ignore_errors=True)
            raise RuntimeError(up.stdout + up.stderr)
        os.environ["SLUICE_TEST_CEPH_CONF"] = up.stdout.strip().split("=", 1)[1]
        cls.conf = os.environ["SLUICE_TEST_CEPH_CONF"]
        cls.key_file = os.path.join(cls.state, "iam-key")
        args = ["--ceph-shard-keys", str(SHARD_KEYS), "--ceph-pack-keys", "8"]
        cls.a = harness.Server(extra_args=args, ceph_pool="sh", key_file=cls.key_file).start()
        cls.b = harness.Server(extra_args=args, ceph_pool="sh", key_file=cls.key_file).start()
        cls.sa = harness.boto3_client(cls.a.endpoint)
        cls.sb = harness.boto3_client(cls.b.endpoint)

    @classmethod
    def tearDownClass(cls):
        for s in (cls.a, cls.b):
            s.cleanup()
        subprocess.run([cls.script, "down"], env=cls.env, capture_output=True, timeout=120)
        shutil.rmtree(cls.state, ignore_errors=True)
        os.environ.pop("SLUICE_TEST_CEPH_CONF", None)

    def shards(self, bucket):
        out = subprocess.run(["rados", "-c", self.conf, "-p", "sh.meta", "ls"], capture_output=True,
                             text=True, timeout=60, check=True).stdout.split()
        return sorted(o for o in out if o == "bucket." + bucket or o.startswith(f"bucket.{bucket}."))

    def list_all(self, s3, bucket, **kw):
        keys, prefixes, token = [], [], None
        while True:
            page = s3.list_objects_v2(Bucket=bucket, **kw, **({"ContinuationToken": token} if token else {}))
            keys += [o["Key"] for o in page.get("Contents", [])]
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            if not page["IsTruncated"]:
                return keys, prefixes
            token = page["NextContinuationToken"]

    def list_versions(self, s3, bucket, max_keys):
        out, kw = [], {}
        while True:
            page = s3.list_object_versions(Bucket=bucket, MaxKeys=max_keys, **kw)
            out += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
            out += [(m["Key"], m["VersionId"]) for m in page.get("DeleteMarkers", [])]
            if not page["IsTruncated"]:
                return out
            kw = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}

    def test_a_bucket_splits_under_writers_on_both_gateways_and_loses_nothing(self):
        bucket = "shards"
        self.sa.create_bucket(Bucket=bucket)
        self.sa.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        # A multipart upload begun while the bucket is one shard.
        up = self.sa.create_multipart_upload(Bucket=bucket, Key="p2/k0030-big")["UploadId"]
        part = b"m" * (5 << 20)
        etag1 = self.sa.upload_part(Bucket=bucket, Key="p2/k0030-big", UploadId=up, PartNumber=1,
                                    Body=part)["ETag"]
        # A tar archive, early, so that a split moves its member table with it.
        tar_bytes = io.BytesIO()
        with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.USTAR_FORMAT) as tf:
            for i in range(20):
                data = f"sample {i}".encode() * 500
                info = tarfile.TarInfo(f"s{i:03d}.txt")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
        self.sb.put_object(Bucket=bucket, Key="p3/k0059.tar", Body=tar_bytes.getvalue())

        acked = {}  # key -> [version ids, oldest first] and the last body

        def writer(w):
            s3 = self.sa if w % 2 == 0 else self.sb
            mine = {}
            for i in range(KEYS_PER_WRITER):
                key = f"p{w}/k{i:04d}"
                for n in range(1 + (i % 3 == 0)):  # every third key twice: two versions
                    r = s3.put_object(Bucket=bucket, Key=key, Body=body_of(key, n))
                    mine.setdefault(key, []).append((r["VersionId"], n))
            return mine

        with concurrent.futures.ThreadPoolExecutor(WRITERS) as ex:
            for mine in ex.map(writer, range(WRITERS)):
                acked.update(mine)
        shards = self.shards(bucket)
        self.assertGreater(len(shards), 3, f"the bucket did not split: {shards}")

        # Every acknowledged write, read back from the other gateway than its writer's.
        for key, versions in acked.items():
            s3 = self.sb if int(key[1]) % 2 == 0 else self.sa
            for vid, n in versions:
                got = s3.get_object(Bucket=bucket, Key=key, VersionId=vid)["Body"].read()
                self.assertEqual(got, body_of(key, n), key)
            self.assertEqual(s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
                             body_of(key, versions[-1][1]), key)

        # The upload begun before the splits completes after them, through the other gateway.
        etag2 = self.sb.upload_part(Bucket=bucket, Key="p2/k0030-big", UploadId=up, PartNumber=2,
                                    Body=b"n" * 100)["ETag"]
        uploads = self.sb.list_multipart_uploads(Bucket=bucket, MaxUploads=1)
        self.assertEqual([u["Key"] for u in uploads.get("Uploads", [])], ["p2/k0030-big"])
        self.sb.complete_multipart_upload(
            Bucket=bucket, Key="p2/k0030-big", UploadId=up,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag1},
                                       {"PartNumber": 2, "ETag": etag2}]})
        big = self.sa.get_object(Bucket=bucket, Key="p2/k0030-big")["Body"].read()
        self.assertEqual(big, part + b"n" * 100)
        # The archive's members, by name, wherever its shard went.
        r = harness.signed_request(self.a.endpoint, "GET", f"/{bucket}/p3/k0059.tar?member=s007.txt")
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(r.content, b"sample 7" * 500)

        # Some shards list from packs, and what a page shows of an object is what it holds.
        packed = 0
        for oid in self.shards(bucket):
            keys = subprocess.run(["rados", "-c", self.conf, "-p", "sh.meta", "listomapkeys", oid],
                                  capture_output=True, timeout=60, check=True).stdout.split(b"\n")
            packed += sum(1 for k in keys if re.match(rb"!k[0-9a-f]{16}/", k))
        self.assertGreater(packed, 0, "no shard keeps listing packs")
        for s3 in (self.sa, self.sb):
            token, seen = None, 0
            while True:
                page = s3.list_objects_v2(Bucket=bucket, MaxKeys=50,
                                          **({"ContinuationToken": token} if token else {}))
                for o in page.get("Contents", []):
                    if o["Key"] not in acked:
                        continue
                    body = body_of(o["Key"], acked[o["Key"]][-1][1])
                    self.assertEqual(o["Size"], len(body), o["Key"])
                    self.assertEqual(o["ETag"], '"%s"' % hashlib.md5(body).hexdigest(), o["Key"])
                    seen += 1
                if not page["IsTruncated"]:
                    break
                token = page["NextContinuationToken"]
            self.assertEqual(seen, len(acked))

        # Listings across the shard boundaries: every key once, in order.
        want = sorted(list(acked) + ["p2/k0030-big", "p3/k0059.tar"])
        for s3 in (self.sa, self.sb):
            for page in (7, 37, 1000):
                keys, _ = self.list_all(s3, bucket, MaxKeys=page)
                self.assertEqual(keys, want, f"pages of {page}")
            keys, prefixes = self.list_all(s3, bucket, Delimiter="/", MaxKeys=2)
            self.assertEqual((keys, prefixes), ([], [f"p{w}/" for w in range(WRITERS)]))
            keys, _ = self.list_all(s3, bucket, Prefix="p1/", MaxKeys=9)
            self.assertEqual(keys, [k for k in want if k.startswith("p1/")])
        versions = self.list_versions(self.sb, bucket, 11)
        want_versions = sorted((k, vid) for k, vs in acked.items() for vid, _ in vs)
        self.assertEqual(sorted(v for v in versions if v[0] in acked), want_versions)
        self.assertEqual(len(versions), len(set(versions)), "a version listed twice")

        # Every version deleted: the bucket is empty, can be deleted, and is empty when made again.
        for key, vid in versions:
            self.sa.delete_object(Bucket=bucket, Key=key, VersionId=vid)
        self.assertEqual(self.list_versions(self.sb, bucket, 1000), [])
        self.sb.delete_bucket(Bucket=bucket)
        self.sa.create_bucket(Bucket=bucket)
        self.assertEqual(self.list_all(self.sb, bucket)[0], [])
        self.sb.put_object(Bucket=bucket, Key="p1/again", Body=b"x")
        self.assertEqual(self.list_all(self.sa, bucket)[0], ["p1/again"])


if __name__ == "__main__":
    unittest.main()
