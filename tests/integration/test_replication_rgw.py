#!/usr/bin/python3
"""Replication from sluice to Ceph's own S3 gateway (radosgw), a target that is not sluice:
the project's development cluster (scripts/ceph-dev.sh) with radosgw on a free port. The
copies are checked on RGW with boto3: versions in order, bytes, ETags (a multipart object
keeps the source's parts, so its ETag too), metadata, tags and delete markers; and a source
killed with -9 while it copies leaves every version there exactly once."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import boto3.s3.transfer as tx

import harness
from test_replication import admin, config, remote_rule, versions, wait_for, wait_status

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "ceph-dev.sh")
RGW_AK = "sluicetestrgwkey0001"
RGW_SK = "sluicetestrgwsecret000000000000000000001"


class RgwTargetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sluice-rgw-test-", dir="/tmp")
        cls.env = dict(os.environ, CEPH_DEV_DIR=cls.dir, CEPH_DEV_OSDS="1", CEPH_DEV_STORE="memstore",
                       CEPH_DEV_OSD_GB="2", CEPH_DEV_PORT=str(harness.free_port()),
                       CEPH_DEV_RGW_PORT=str(harness.free_port()), CEPH_DEV_RGW_ACCESS_KEY=RGW_AK,
                       CEPH_DEV_RGW_SECRET_KEY=RGW_SK)
        cls.src = None
        try:
            out = subprocess.run([SCRIPT, "up"], env=cls.env, capture_output=True, text=True,
                                 timeout=300, check=True).stdout
            cls.rgw = dict(line.split("=", 1) for line in out.split())["RGW_ENDPOINT"]
            cls.r3 = harness.boto3_client(cls.rgw, ak=RGW_AK, sk=RGW_SK)
            cls.src = harness.Server().start()
            cls.s3 = harness.boto3_client(cls.src.endpoint)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.src:
            cls.src.cleanup()
        subprocess.run([SCRIPT, "down"], env=cls.env, capture_output=True, timeout=120)
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setup_pair(self, name):
        self.s3.create_bucket(Bucket=name)
        self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        self.r3.create_bucket(Bucket=name + "-dr")
        self.r3.put_bucket_versioning(Bucket=name + "-dr", VersioningConfiguration={"Status": "Enabled"})
        r = admin(self.src, "replication", "target", "add", name, "--target-endpoint", self.rgw,
                  "--target-bucket", name + "-dr", "--target-access-key", RGW_AK,
                  "--target-secret-key", RGW_SK)
        target = json.loads(r.stdout)
        self.assertFalse(target["sluice"])  # RGW: version ids are its own
        self.s3.put_bucket_replication(Bucket=name, ReplicationConfiguration=config(remote_rule(name)))

    def test_versions_markers_and_multipart_arrive_on_rgw(self):
        s3, r3 = self.s3, self.r3
        self.setup_pair("datasets")
        bodies = []
        for step in range(3):
            body = os.urandom(40_000 + step)
            v = s3.put_object(Bucket="datasets", Key="imagenet/shard-0000.tar", Body=body,
                              ContentType="application/x-tar", Metadata={"step": str(step)},
                              Tagging="split=train")["VersionId"]
            bodies.append((v, body))
        big = os.urandom(17 * 1024 * 1024 + 3)  # 4 parts of 5 MiB, the last short
        s3.upload_fileobj(io.BytesIO(big), "datasets", "imagenet/big.tar",
                          Config=tx.TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
        big_head = s3.head_object(Bucket="datasets", Key="imagenet/big.tar")
        s3.put_object(Bucket="datasets", Key="scratch", Body=b"s")
        marker = s3.delete_object(Bucket="datasets", Key="scratch")["VersionId"]
        for v, _ in bodies:
            self.assertEqual(wait_status(s3, "datasets", "imagenet/shard-0000.tar", v, timeout=60), "COMPLETED")
        self.assertEqual(wait_status(s3, "datasets", "imagenet/big.tar", big_head["VersionId"], timeout=120),
                         "COMPLETED")
        wait_for(lambda: any(k == "scratch" and m for k, _, m in versions(r3, "datasets-dr")), timeout=60,
                 what="the delete marker on RGW")
        # The three versions, oldest to newest, each with its bytes and metadata.
        got = r3.list_object_versions(Bucket="datasets-dr", Prefix="imagenet/shard-0000.tar")["Versions"]
        got.reverse()  # S3 lists a key's versions newest first
        self.assertEqual(len(got), 3)
        self.assertTrue(got[-1]["IsLatest"])
        for (_, body), v in zip(bodies, got):
            obj = r3.get_object(Bucket="datasets-dr", Key="imagenet/shard-0000.tar", VersionId=v["VersionId"])
            self.assertEqual(obj["Body"].read(), body)
            self.assertEqual(obj["ETag"], f'"{hashlib.md5(body).hexdigest()}"')
            self.assertEqual(obj["ContentType"], "application/x-tar")
        latest = r3.head_object(Bucket="datasets-dr", Key="imagenet/shard-0000.tar")
        self.assertEqual(latest["Metadata"], {"step": "2"})
        tags = r3.get_object_tagging(Bucket="datasets-dr", Key="imagenet/shard-0000.tar")["TagSet"]
        self.assertEqual(tags, [{"Key": "split", "Value": "train"}])
        obj = r3.get_object(Bucket="datasets-dr", Key="imagenet/big.tar")
        self.assertEqual(obj["ETag"], big_head["ETag"])  # "...-4": the same parts
        self.assertEqual(hashlib.sha256(obj["Body"].read()).digest(), hashlib.sha256(big).digest())
        self.assertIn(("scratch", True), [(k, m) for k, _, m in versions(r3, "datasets-dr")])
        # New tags of the latest version reach RGW's latest, without a new version there.
        s3.put_object_tagging(Bucket="datasets", Key="imagenet/shard-0000.tar",
                              Tagging={"TagSet": [{"Key": "split", "Value": "val"}]})
        wait_for(lambda: r3.get_object_tagging(Bucket="datasets-dr", Key="imagenet/shard-0000.tar")["TagSet"]
                 == [{"Key": "split", "Value": "val"}], timeout=60, what="the new tags on RGW")
        self.assertEqual(len(r3.list_object_versions(Bucket="datasets-dr", Prefix="imagenet/shard-0000.tar")
                             ["Versions"]), 3)
        self.assertNotIn(marker, [v for _, v, _ in versions(r3, "datasets-dr")])  # RGW's own ids
        st = json.loads(admin(self.src, "replication", "status", "datasets").stdout)
        self.assertEqual(st["buckets"][0]["pending_objects"], 0)
        self.assertEqual([t["healthy"] for t in st["targets"] if t["name"] == "datasets"], [True])

    def test_source_killed_while_copying_every_version_arrives_once(self):
        self.setup_pair("logs")
        expect = {}
        for i in range(300):
            body = f"event {i}\n".encode() * (1 + i % 5)
            key = f"tb/events-{i % 30:02d}"
            self.s3.put_object(Bucket="logs", Key=key, Body=body)
            expect.setdefault(key, []).append(body)
        wait_for(lambda: json.loads(admin(self.src, "replication", "status", "logs").stdout)
                 ["buckets"][0]["pending_objects"] < 280, timeout=60, what="copies to start")
        self.src.kill9()
        self.src.start()
        wait_for(lambda: json.loads(admin(self.src, "replication", "status", "logs").stdout)
                 ["buckets"][0]["pending_objects"] == 0, timeout=180, what="the backlog to drain")
        got = versions(self.r3, "logs-dr")
        self.assertEqual(len(got), 300, "each version exactly once")
        for key, bodies in list(expect.items())[::7]:
            vs = self.r3.list_object_versions(Bucket="logs-dr", Prefix=key)["Versions"]
            vs = [v for v in vs if v["Key"] == key]
            # Every version's bytes, and the newest is the latest.
            self.assertEqual(sorted(v["ETag"] for v in vs),
                             sorted(f'"{hashlib.md5(b).hexdigest()}"' for b in bodies))
            latest = self.r3.get_object(Bucket="logs-dr", Key=key)["Body"].read()
            self.assertEqual(latest, bodies[-1])


if __name__ == "__main__":
    unittest.main()
