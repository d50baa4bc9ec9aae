"""Object versioning through boto3 and the AWS CLI against the real server, and kill -9 under
versioned writes and deletes: no acknowledged version is lost, no marker half-written."""
import concurrent.futures
import hashlib
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from botocore.exceptions import ClientError

import harness


def code(e):
    return e.response["Error"]["Code"]


def all_versions(s3, bucket, page_size=1000, prefix=""):
    """Every (key, version id, is latest, is marker) over all pages, in order."""
    out = []
    kw = {"Bucket": bucket, "MaxKeys": page_size, "Prefix": prefix}
    while True:
        r = s3.list_object_versions(**kw)
        entries = [(v["Key"], v["VersionId"], v["IsLatest"], False, v["LastModified"]) for v in r.get("Versions", [])]
        entries += [(m["Key"], m["VersionId"], m["IsLatest"], True, m["LastModified"]) for m in r.get("DeleteMarkers", [])]
        # boto3 splits versions and markers; S3 interleaves them newest first within a key.
        entries.sort(key=lambda e: (e[0], -e[4].timestamp()))
        out += [e[:4] for e in entries]
        if not r["IsTruncated"]:
            return out
        kw["KeyMarker"] = r["NextKeyMarker"]
        kw["VersionIdMarker"] = r.get("NextVersionIdMarker", "")


class VersioningTest(harness.ServerTestCase):
    def test_checkpoints_survive_overwrites_and_deletes(self):
        # compat: versioning
        s3 = self.s3
        s3.create_bucket(Bucket="ckpt")
        s3.put_object(Bucket="ckpt", Key="run1/model.pt", Body=b"before versioning")
        self.assertNotIn("VersionId", s3.put_object(Bucket="ckpt", Key="other", Body=b"x"))
        s3.put_bucket_versioning(Bucket="ckpt", VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(s3.get_bucket_versioning(Bucket="ckpt")["Status"], "Enabled")
        ids = []
        for step in range(5):
            r = s3.put_object(Bucket="ckpt", Key="run1/model.pt", Body=f"step {step}".encode())
            ids.append(r["VersionId"])
        self.assertEqual(len(set(ids)), 5)
        self.assertEqual(ids, sorted(ids), "version ids sort by time")
        self.assertEqual(s3.get_object(Bucket="ckpt", Key="run1/model.pt")["Body"].read(), b"step 4")
        self.assertEqual(s3.get_object(Bucket="ckpt", Key="run1/model.pt", VersionId=ids[1])["Body"].read(), b"step 1")
        self.assertEqual(s3.get_object(Bucket="ckpt", Key="run1/model.pt", VersionId="null")["Body"].read(),
                         b"before versioning")
        head = s3.head_object(Bucket="ckpt", Key="run1/model.pt", VersionId=ids[2])
        self.assertEqual((head["ContentLength"], head["VersionId"]), (6, ids[2]))

        # A delete adds a marker; the key 404s with x-amz-delete-marker; history stays.
        d = s3.delete_object(Bucket="ckpt", Key="run1/model.pt")
        self.assertTrue(d["DeleteMarker"])
        with self.assertRaises(ClientError) as cm:
            s3.get_object(Bucket="ckpt", Key="run1/model.pt")
        self.assertEqual(code(cm.exception), "NoSuchKey")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"], "true")
        with self.assertRaises(ClientError) as cm:
            s3.head_object(Bucket="ckpt", Key="run1/model.pt", VersionId=d["VersionId"])
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 405)
        v = s3.list_object_versions(Bucket="ckpt", Prefix="run1/")
        self.assertEqual([m["VersionId"] for m in v["DeleteMarkers"]], [d["VersionId"]])
        self.assertTrue(v["DeleteMarkers"][0]["IsLatest"])
        self.assertEqual([x["VersionId"] for x in v["Versions"]], ids[::-1] + ["null"])
        # Undelete: remove the marker.
        r = s3.delete_object(Bucket="ckpt", Key="run1/model.pt", VersionId=d["VersionId"])
        self.assertTrue(r["DeleteMarker"])
        self.assertEqual(s3.get_object(Bucket="ckpt", Key="run1/model.pt")["Body"].read(), b"step 4")

        # Keep the last two checkpoints: delete older versions for good, in one request.
        r = s3.delete_objects(Bucket="ckpt", Delete={"Objects": [
            {"Key": "run1/model.pt", "VersionId": vid} for vid in ids[:3] + ["null"]]})
        self.assertEqual(sorted(x["VersionId"] for x in r["Deleted"]), sorted(ids[:3] + ["null"]))
        self.assertEqual([x["VersionId"] for x in s3.list_object_versions(Bucket="ckpt", Prefix="run1/")["Versions"]],
                         ids[:2:-1])
        with self.assertRaises(ClientError) as cm:
            s3.get_object(Bucket="ckpt", Key="run1/model.pt", VersionId=ids[0])
        self.assertEqual(code(cm.exception), "NoSuchVersion")
        # DeleteObjects without ids adds markers and says so.
        r = s3.delete_objects(Bucket="ckpt", Delete={"Objects": [{"Key": "other"}]})
        self.assertTrue(r["Deleted"][0]["DeleteMarker"])
        self.assertTrue(r["Deleted"][0]["DeleteMarkerVersionId"])
        with self.assertRaises(ClientError) as cm:
            s3.delete_bucket(Bucket="ckpt")
        self.assertEqual(code(cm.exception), "BucketNotEmpty")

    def test_copy_multipart_tags_and_presigned(self):
        s3 = self.s3
        s3.create_bucket(Bucket="vmix")
        s3.put_bucket_versioning(Bucket="vmix", VersioningConfiguration={"Status": "Enabled"})
        v1 = s3.put_object(Bucket="vmix", Key="data", Body=b"one")["VersionId"]
        s3.put_object(Bucket="vmix", Key="data", Body=b"two")
        c = s3.copy_object(Bucket="vmix", Key="restored", CopySource={"Bucket": "vmix", "Key": "data", "VersionId": v1})
        self.assertEqual(c["CopySourceVersionId"], v1)
        self.assertTrue(c["VersionId"])
        self.assertEqual(s3.get_object(Bucket="vmix", Key="restored")["Body"].read(), b"one")
        # Multipart: Complete returns the version.
        uid = s3.create_multipart_upload(Bucket="vmix", Key="big")["UploadId"]
        e = s3.upload_part(Bucket="vmix", Key="big", UploadId=uid, PartNumber=1, Body=b"p" * 100)["ETag"]
        done = s3.complete_multipart_upload(Bucket="vmix", Key="big", UploadId=uid,
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
        self.assertEqual(s3.head_object(Bucket="vmix", Key="big")["VersionId"], done["VersionId"])
        # Tags of one version.
        s3.put_object_tagging(Bucket="vmix", Key="data", VersionId=v1, Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        self.assertEqual(s3.get_object_tagging(Bucket="vmix", Key="data", VersionId=v1)["TagSet"], [{"Key": "k", "Value": "v"}])
        self.assertEqual(s3.get_object_tagging(Bucket="vmix", Key="data")["TagSet"], [])
        # A presigned GET of an older version.
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "vmix", "Key": "data", "VersionId": v1})
        with urllib.request.urlopen(url) as r:
            self.assertEqual(r.read(), b"one")
            self.assertEqual(r.headers["x-amz-version-id"], v1)
        # Suspended: writes go to the null version.
        s3.put_bucket_versioning(Bucket="vmix", VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(s3.put_object(Bucket="vmix", Key="data", Body=b"s")["VersionId"], "null")
        self.assertEqual(s3.put_object(Bucket="vmix", Key="data", Body=b"s2")["VersionId"], "null")
        vs = [x["VersionId"] for x in s3.list_object_versions(Bucket="vmix", Prefix="data")["Versions"]]
        self.assertEqual(vs[0], "null")
        self.assertEqual(len(vs), 3)

    def test_paging_shows_every_version_once(self):
        s3 = self.s3
        s3.create_bucket(Bucket="vpage")
        s3.put_bucket_versioning(Bucket="vpage", VersioningConfiguration={"Status": "Enabled"})
        for k in ["a", "a/b", "b", "c/d"]:
            for i in range(4):
                s3.put_object(Bucket="vpage", Key=k, Body=f"{k}{i}".encode())
            if k != "b":
                s3.delete_object(Bucket="vpage", Key=k)
        full = all_versions(s3, "vpage")
        self.assertEqual(len(full), 4 * 4 + 3)
        for size in range(1, 8):
            self.assertEqual(all_versions(s3, "vpage", size), full, f"max-keys {size}")
        # boto3's paginator, as tools use it.
        seen = []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket="vpage", PaginationConfig={"PageSize": 3}):
            seen += [v["VersionId"] for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(len(seen), len(full))
        with self.assertRaises(ClientError) as cm:
            s3.list_object_versions(Bucket="vpage", VersionIdMarker=full[0][1])
        self.assertEqual(code(cm.exception), "InvalidArgument")

    def test_aws_cli_recursive_rm_leaves_history(self):
        # The accident versioning exists for: `aws s3 rm --recursive` on a data set.
        env = dict(os.environ, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY,
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                   AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")
        tmp = tempfile.mkdtemp(prefix="sluice-ver-")

        def aws(*args):
            r = subprocess.run(["aws", "--endpoint-url", self.server.endpoint, *args], env=env,
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, f"aws {args}: {r.stdout}\n{r.stderr}")
            return r.stdout

        try:
            aws("s3", "mb", "s3://vcli")
            aws("s3api", "put-bucket-versioning", "--bucket", "vcli", "--versioning-configuration", "Status=Enabled")
            self.assertEqual(json.loads(aws("s3api", "get-bucket-versioning", "--bucket", "vcli"))["Status"], "Enabled")
            for i in range(3):
                path = os.path.join(tmp, f"shard-{i}.tar")
                with open(path, "wb") as f:
                    f.write(os.urandom(1000 + i))
            aws("s3", "cp", "--recursive", tmp, "s3://vcli/ds/", "--no-progress")
            aws("s3", "rm", "--recursive", "s3://vcli/ds/")
            listed = json.loads(aws("s3api", "list-object-versions", "--bucket", "vcli"))
            self.assertEqual(len(listed["Versions"]), 3)
            self.assertEqual(len(listed["DeleteMarkers"]), 3)
            # Restore one shard from its version.
            v = [x for x in listed["Versions"] if x["Key"] == "ds/shard-1.tar"][0]["VersionId"]
            out = os.path.join(tmp, "back.tar")
            aws("s3api", "get-object", "--bucket", "vcli", "--key", "ds/shard-1.tar", "--version-id", v, out)
            with open(out, "rb") as f, open(os.path.join(tmp, "shard-1.tar"), "rb") as g:
                self.assertEqual(f.read(), g.read())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class ObjectLockTest(harness.ServerTestCase):
    def test_checkpoint_bucket_with_default_retention(self):
        # compat: object-lock
        import datetime
        s3 = self.s3
        s3.create_bucket(Bucket="golden", ObjectLockEnabledForBucket=True)
        self.assertEqual(s3.get_bucket_versioning(Bucket="golden")["Status"], "Enabled")
        s3.put_object_lock_configuration(Bucket="golden", ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 7}}})
        cfg = s3.get_object_lock_configuration(Bucket="golden")["ObjectLockConfiguration"]
        self.assertEqual(cfg["Rule"]["DefaultRetention"], {"Mode": "GOVERNANCE", "Days": 7})
        v = s3.put_object(Bucket="golden", Key="ds/train-0000.tar", Body=b"shard")["VersionId"]
        head = s3.head_object(Bucket="golden", Key="ds/train-0000.tar")
        self.assertEqual(head["ObjectLockMode"], "GOVERNANCE")
        left = head["ObjectLockRetainUntilDate"] - datetime.datetime.now(datetime.timezone.utc)
        self.assertGreater(left, datetime.timedelta(days=6, hours=23))
        # Every delete path refuses the locked version.
        with self.assertRaises(ClientError) as cm:
            s3.delete_object(Bucket="golden", Key="ds/train-0000.tar", VersionId=v)
        self.assertEqual(code(cm.exception), "AccessDenied")
        r = s3.delete_objects(Bucket="golden", Delete={"Objects": [{"Key": "ds/train-0000.tar", "VersionId": v}]})
        self.assertEqual(r["Errors"][0]["Code"], "AccessDenied")
        with self.assertRaises(ClientError) as cm:
            s3.delete_bucket(Bucket="golden")
        self.assertEqual(code(cm.exception), "BucketNotEmpty")
        with self.assertRaises(ClientError) as cm:
            s3.put_bucket_versioning(Bucket="golden", VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(code(cm.exception), "InvalidBucketState")
        # A plain delete leaves a marker; the version stays.
        self.assertTrue(s3.delete_object(Bucket="golden", Key="ds/train-0000.tar")["DeleteMarker"])
        self.assertEqual(s3.get_object(Bucket="golden", Key="ds/train-0000.tar", VersionId=v)["Body"].read(), b"shard")
        # COMPLIANCE on a multipart upload and a copy; legal hold.
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=30)
        uid = s3.create_multipart_upload(Bucket="golden", Key="model.pt", ObjectLockMode="COMPLIANCE",
                                         ObjectLockRetainUntilDate=until)["UploadId"]
        e = s3.upload_part(Bucket="golden", Key="model.pt", UploadId=uid, PartNumber=1, Body=b"m" * 10)["ETag"]
        mv = s3.complete_multipart_upload(Bucket="golden", Key="model.pt", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e}]})["VersionId"]
        ret = s3.get_object_retention(Bucket="golden", Key="model.pt", VersionId=mv)["Retention"]
        self.assertEqual(ret["Mode"], "COMPLIANCE")
        with self.assertRaises(ClientError) as cm:
            s3.delete_object(Bucket="golden", Key="model.pt", VersionId=mv, BypassGovernanceRetention=True)
        self.assertEqual(code(cm.exception), "AccessDenied")
        c = s3.copy_object(Bucket="golden", Key="held.pt", CopySource={"Bucket": "golden", "Key": "model.pt"},
                           ObjectLockLegalHoldStatus="ON")
        self.assertEqual(s3.get_object_legal_hold(Bucket="golden", Key="held.pt")["LegalHold"]["Status"], "ON")
        s3.put_object_legal_hold(Bucket="golden", Key="held.pt", VersionId=c["VersionId"], LegalHold={"Status": "OFF"})
        self.assertEqual(s3.get_object_legal_hold(Bucket="golden", Key="held.pt")["LegalHold"]["Status"], "OFF")
        # GOVERNANCE yields to the bypass (root has the permission).
        s3.delete_object(Bucket="golden", Key="ds/train-0000.tar", VersionId=v, BypassGovernanceRetention=True)

    def test_lock_survives_restart(self):
        import datetime
        s3 = self.s3
        s3.create_bucket(Bucket="durable", ObjectLockEnabledForBucket=True)
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2)
        v = s3.put_object(Bucket="durable", Key="k", Body=b"x", ObjectLockMode="COMPLIANCE",
                          ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")["VersionId"]
        self.server.kill9()
        self.server.start()
        head = s3.head_object(Bucket="durable", Key="k", VersionId=v)
        self.assertEqual((head["ObjectLockMode"], head["ObjectLockLegalHoldStatus"]), ("COMPLIANCE", "ON"))
        with self.assertRaises(ClientError):
            s3.delete_object(Bucket="durable", Key="k", VersionId=v)
        self.assertEqual(s3.get_object_lock_configuration(Bucket="durable")["ObjectLockConfiguration"]["ObjectLockEnabled"],
                         "Enabled")


class SnapshotTest(harness.ServerTestCase):
    """Pinning a training run's data set: `sluice snapshot create`, then every client reads the
    snapshot as a bucket while the source moves on."""

    def sluice(self, *args, check=True, stdin=None):
        env = dict(os.environ, AWS_ENDPOINT_URL=self.server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
        r = subprocess.run([self.server.bin, *args], input=stdin, capture_output=True, text=True, env=env,
                           timeout=60)
        if check:
            self.assertEqual(r.returncode, 0, f"sluice {args}: {r.stdout}\n{r.stderr}")
        return r

    def test_pin_a_data_set(self):
        # compat: snapshots
        s3 = self.s3
        s3.create_bucket(Bucket="dset")
        s3.put_object(Bucket="dset", Key="README", Body=b"from before versioning")
        s3.put_bucket_versioning(Bucket="dset", VersioningConfiguration={"Status": "Enabled"})
        shards = {f"train/shard-{i:03d}.tar": os.urandom(3000 + i) for i in range(5)}
        for k, v in shards.items():
            s3.put_object(Bucket="dset", Key=k, Body=v)
        # A snapshot of an unversioned bucket is refused; of this one, it is instant.
        s3.create_bucket(Bucket="plain-src")
        r = self.sluice("snapshot", "create", "plain-src", "nope", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("InvalidBucketState", r.stderr)
        out = json.loads(self.sluice("snapshot", "create", "dset", "ds-run42").stdout)
        self.assertEqual((out["name"], out["bucket"]), ("ds-run42", "dset"))
        r = self.sluice("snapshot", "create", "dset", "dset", check=False)
        self.assertIn("BucketAlreadyExists", r.stderr)
        # The source moves on: overwrite, delete, add, even `aws s3 rm --recursive`.
        s3.put_object(Bucket="dset", Key="train/shard-000.tar", Body=b"relabelled")
        s3.delete_object(Bucket="dset", Key="train/shard-001.tar")
        s3.put_object(Bucket="dset", Key="train/shard-999.tar", Body=b"new")
        s3.delete_object(Bucket="dset", Key="README")
        # The snapshot reads exactly as the data set was, with any S3 client.
        self.assertIn("ds-run42", [b["Name"] for b in s3.list_buckets()["Buckets"]])
        s3.head_bucket(Bucket="ds-run42")
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="ds-run42", Prefix="train/")["Contents"]]
        self.assertEqual(listed, sorted(shards))
        for k, v in shards.items():
            self.assertEqual(s3.get_object(Bucket="ds-run42", Key=k)["Body"].read(), v)
        self.assertEqual(s3.get_object(Bucket="ds-run42", Key="README")["Body"].read(), b"from before versioning")
        rng = s3.get_object(Bucket="ds-run42", Key="train/shard-002.tar", Range="bytes=10-19")["Body"].read()
        self.assertEqual(rng, shards["train/shard-002.tar"][10:20])
        pages = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(
            Bucket="ds-run42", PaginationConfig={"PageSize": 2}) for o in p.get("Contents", [])]
        self.assertEqual(pages, ["README"] + sorted(shards))
        self.assertEqual(s3.list_objects_v2(Bucket="ds-run42", Delimiter="/")["CommonPrefixes"], [{"Prefix": "train/"}])
        v = s3.list_object_versions(Bucket="ds-run42", Prefix="train/")
        self.assertEqual(len(v["Versions"]), 5)
        self.assertTrue(all(x["IsLatest"] for x in v["Versions"]))
        with self.assertRaises(ClientError) as cm:
            s3.get_object(Bucket="ds-run42", Key="train/shard-999.tar")
        self.assertEqual(code(cm.exception), "NoSuchKey")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "ds-run42", "Key": "train/shard-001.tar"})
        with urllib.request.urlopen(url) as resp:
            self.assertEqual(resp.read(), shards["train/shard-001.tar"])
        # Restoring from the snapshot is a copy into the source.
        s3.copy_object(Bucket="dset", Key="train/shard-001.tar", CopySource={"Bucket": "ds-run42", "Key": "train/shard-001.tar"})
        self.assertEqual(s3.get_object(Bucket="dset", Key="train/shard-001.tar")["Body"].read(), shards["train/shard-001.tar"])
        # Writes to the snapshot are refused, naming it.
        for attempt in (lambda: s3.put_object(Bucket="ds-run42", Key="x", Body=b"x"),
                        lambda: s3.delete_object(Bucket="ds-run42", Key="train/shard-000.tar"),
                        lambda: s3.delete_objects(Bucket="ds-run42", Delete={"Objects": [{"Key": "README"}]}),
                        lambda: s3.create_multipart_upload(Bucket="ds-run42", Key="m"),
                        lambda: s3.put_bucket_versioning(Bucket="ds-run42", VersioningConfiguration={"Status": "Suspended"}),
                        lambda: s3.delete_bucket(Bucket="ds-run42")):
            with self.assertRaises(ClientError) as cm:
                attempt()
            self.assertEqual(code(cm.exception), "AccessDenied")
            self.assertIn("ds-run42", cm.exception.response["Error"]["Message"])
        # The versions it shows are held: not deletable, and the source cannot be suspended.
        held = [x for x in s3.list_object_versions(Bucket="dset", Prefix="train/shard-000.tar")["Versions"]
                if not x["IsLatest"]][0]["VersionId"]
        with self.assertRaises(ClientError) as cm:
            s3.delete_object(Bucket="dset", Key="train/shard-000.tar", VersionId=held)
        self.assertEqual(code(cm.exception), "AccessDenied")
        self.assertIn("ds-run42", cm.exception.response["Error"]["Message"])
        with self.assertRaises(ClientError) as cm:
            s3.put_bucket_versioning(Bucket="dset", VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(code(cm.exception), "InvalidBucketState")
        # The snapshot survives a restart.
        self.server.kill9()
        self.server.start()
        self.assertEqual(s3.get_object(Bucket="ds-run42", Key="train/shard-000.tar")["Body"].read(),
                         shards["train/shard-000.tar"])
        listing = json.loads(self.sluice("snapshot", "list").stdout)["snapshots"]
        self.assertEqual([x["name"] for x in listing], ["ds-run42"])
        # Removing it releases the versions.
        self.sluice("snapshot", "rm", "ds-run42")
        s3.delete_object(Bucket="dset", Key="train/shard-000.tar", VersionId=held)
        with self.assertRaises(ClientError):
            s3.head_bucket(Bucket="ds-run42")

    def test_policies_apply_to_snapshots(self):
        s3 = self.s3
        s3.create_bucket(Bucket="pol-src")
        s3.put_bucket_versioning(Bucket="pol-src", VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket="pol-src", Key="a", Body=b"a")
        self.sluice("snapshot", "create", "pol-src", "pol-snap")
        self.sluice("admin", "user", "add", "reader")
        key = json.loads(self.sluice("admin", "key", "create", "reader").stdout)
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": ["arn:aws:s3:::pol-snap", "arn:aws:s3:::pol-snap/*"]}]}
        self.sluice("admin", "policy", "set", "snap-reader", "-", stdin=json.dumps(policy))
        self.sluice("admin", "policy", "attach", "snap-reader", "reader")
        reader = harness.boto3_client(self.server.endpoint, ak=key["access_key"], sk=key["secret_key"])
        self.assertEqual(reader.get_object(Bucket="pol-snap", Key="a")["Body"].read(), b"a")
        self.assertEqual([o["Key"] for o in reader.list_objects_v2(Bucket="pol-snap")["Contents"]], ["a"])
        with self.assertRaises(ClientError) as cm:
            reader.get_object(Bucket="pol-src", Key="a")
        self.assertEqual(code(cm.exception), "AccessDenied")


class VersionedCrashTest(unittest.TestCase):
    def test_kill9_under_versioned_writes_and_deletes(self):
        server = harness.Server().start()
        try:
            s3 = harness.boto3_client(server.endpoint, config_args={"max_pool_connections": 16})
            s3.create_bucket(Bucket="vcrash")
            s3.put_bucket_versioning(Bucket="vcrash", VersioningConfiguration={"Status": "Enabled"})
            acked = {}    # (key, version id) -> sha256, or "marker"
            lock = threading.Lock()
            for rnd in range(2):
                stop = threading.Event()

                def worker(wid):
                    rng = random.Random(f"{rnd}/{wid}")
                    n = 0
                    while not stop.is_set():
                        n += 1
                        key = f"hot/{rng.randrange(4)}"
                        try:
                            if rng.random() < 0.25:
                                r = s3.delete_object(Bucket="vcrash", Key=key)
                                with lock:
                                    acked[(key, r["VersionId"])] = "marker"
                            else:
                                body = rng.randbytes(rng.choice([10, 5000, 80_000, 400_000]))
                                r = s3.put_object(Bucket="vcrash", Key=key, Body=body)
                                with lock:
                                    acked[(key, r["VersionId"])] = hashlib.sha256(body).hexdigest()
                        except Exception:
                            return  # the server died mid-request

                with concurrent.futures.ThreadPoolExecutor(6) as ex:
                    futures = [ex.submit(worker, i) for i in range(6)]
                    time.sleep(2.0 + rnd)
                    server.kill9()
                    stop.set()
                    for f in futures:
                        f.result()
                self.assertGreater(len(acked), 20, "too little was acknowledged to test")
                server.start()
                listed = all_versions(s3, "vcrash", page_size=7)
                ids = [(k, v) for k, v, _, _ in listed]
                self.assertEqual(len(ids), len(set(ids)), "a version listed twice")
                markers = {(k, v) for k, v, _, m in listed if m}
                for (key, vid), digest in acked.items():
                    self.assertIn((key, vid), ids, f"acknowledged version {key}@{vid} is lost")
                    if digest == "marker":
                        self.assertIn((key, vid), markers)
                    else:
                        body = s3.get_object(Bucket="vcrash", Key=key, VersionId=vid)["Body"].read()
                        self.assertEqual(hashlib.sha256(body).hexdigest(), digest, f"{key}@{vid}")
                # Every listed version reads back whole (markers answer 405); the latest agrees
                # with GET.
                for key, vid, latest, marker in listed:
                    if marker:
                        with self.assertRaises(ClientError) as cm:
                            s3.head_object(Bucket="vcrash", Key=key, VersionId=vid)
                        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 405)
                    else:
                        s3.get_object(Bucket="vcrash", Key=key, VersionId=vid)["Body"].read()
                    if latest:
                        if marker:
                            with self.assertRaises(ClientError):
                                s3.head_object(Bucket="vcrash", Key=key)
                        else:
                            self.assertEqual(s3.head_object(Bucket="vcrash", Key=key)["VersionId"], vid)
                self.assertEqual(server.unpublished(), [])
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
