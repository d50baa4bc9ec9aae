"""Bucket replication through boto3 against the real server: the configuration S3 defines
(its validation errors, and 501 for what sluice lacks), copies to another bucket of the same
server that keep version ids, times, bytes and metadata, x-amz-replication-status on both
sides, delete markers, and kill -9 while copies are in flight: every version arrives once."""
import hashlib
import os
import time
import unittest

from botocore.exceptions import ClientError

import harness


def code(e):
    return e.response["Error"]["Code"]


def rule(dest, prefix="", priority=1, markers="Enabled", rid="all"):
    return {"ID": rid, "Priority": priority, "Status": "Enabled", "Filter": {"Prefix": prefix},
            "DeleteMarkerReplication": {"Status": markers},
            "Destination": {"Bucket": f"arn:aws:s3:::{dest}"}}


def config(*rules):
    return {"Role": "arn:aws:iam::000000000000:role/replication", "Rules": list(rules)}


def wait_status(s3, bucket, key, version, want="COMPLETED", timeout=20):
    deadline = time.time() + timeout
    while True:
        status = s3.head_object(Bucket=bucket, Key=key, VersionId=version).get("ReplicationStatus")
        if status == want or time.time() > deadline:
            return status
        time.sleep(0.05)


def versions(s3, bucket):
    out = []
    kw = {"Bucket": bucket}
    while True:
        r = s3.list_object_versions(**kw)
        out += [(v["Key"], v["VersionId"], False) for v in r.get("Versions", [])]
        out += [(m["Key"], m["VersionId"], True) for m in r.get("DeleteMarkers", [])]
        if not r["IsTruncated"]:
            return out
        kw = {"Bucket": bucket, "KeyMarker": r["NextKeyMarker"],
              "VersionIdMarker": r.get("NextVersionIdMarker", "")}


class ReplicationTest(harness.ServerTestCase):
    def make(self, *names):
        for n in names:
            self.s3.create_bucket(Bucket=n)
            self.s3.put_bucket_versioning(Bucket=n, VersioningConfiguration={"Status": "Enabled"})

    def test_configuration_as_s3_defines_it(self):
        # compat: replication
        s3 = self.s3
        s3.create_bucket(Bucket="plain")
        self.make("cfg-src", "cfg-dst")
        with self.assertRaises(ClientError) as e:
            s3.get_bucket_replication(Bucket="cfg-src")
        self.assertEqual(code(e.exception), "ReplicationConfigurationNotFoundError")
        # The source must be versioned, and so must the destination; it must exist.
        with self.assertRaises(ClientError) as e:
            s3.put_bucket_replication(Bucket="plain", ReplicationConfiguration=config(rule("cfg-dst")))
        self.assertEqual(code(e.exception), "InvalidRequest")
        for dest in ("plain", "nonexistent-bucket", "cfg-src"):
            with self.assertRaises(ClientError) as e:
                s3.put_bucket_replication(Bucket="cfg-src", ReplicationConfiguration=config(rule(dest)))
            self.assertEqual(code(e.exception), "InvalidRequest", dest)
        with self.assertRaises(ClientError) as e:
            s3.put_bucket_replication(Bucket="cfg-src", ReplicationConfiguration=config(
                rule("cfg-dst", rid="a"), rule("cfg-dst", rid="b")))
        self.assertEqual(code(e.exception), "InvalidRequest")  # duplicate priority
        # Not built yet: 501, never accepted and ignored.
        far = rule("x")
        far["Destination"]["Bucket"] = "arn:sluice:replication:::far-site"
        for bad in (far, dict(rule("cfg-dst"), ExistingObjectReplication={"Status": "Enabled"})):
            with self.assertRaises(ClientError) as e:
                s3.put_bucket_replication(Bucket="cfg-src", ReplicationConfiguration=config(bad))
            self.assertEqual(e.exception.response["ResponseMetadata"]["HTTPStatusCode"], 501)
        s3.put_bucket_replication(Bucket="cfg-src", ReplicationConfiguration=config(
            rule("cfg-dst", prefix="ckpt/", priority=2, rid="ckpt"), rule("cfg-dst", markers="Disabled")))
        got = s3.get_bucket_replication(Bucket="cfg-src")["ReplicationConfiguration"]
        self.assertEqual([r["ID"] for r in got["Rules"]], ["ckpt", "all"])
        self.assertEqual(got["Rules"][0]["Filter"], {"Prefix": "ckpt/"})
        self.assertEqual(got["Rules"][1]["DeleteMarkerReplication"], {"Status": "Disabled"})
        # Versioning cannot be suspended under replication.
        with self.assertRaises(ClientError) as e:
            s3.put_bucket_versioning(Bucket="cfg-src", VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(code(e.exception), "InvalidBucketState")
        s3.delete_bucket_replication(Bucket="cfg-src")
        with self.assertRaises(ClientError):
            s3.get_bucket_replication(Bucket="cfg-src")
        s3.put_bucket_versioning(Bucket="cfg-src", VersioningConfiguration={"Status": "Suspended"})

    def test_versions_and_markers_arrive_with_their_ids_bytes_and_metadata(self):
        # compat: replication
        s3 = self.s3
        self.make("models", "models-dr")
        s3.put_object(Bucket="models", Key="unrelated", Body=b"x")  # before the rule: not copied
        s3.put_bucket_replication(Bucket="models", ReplicationConfiguration=config(rule("models-dr")))
        ids = []
        for step in range(3):
            body = os.urandom(100_000 + step)
            r = s3.put_object(Bucket="models", Key="llm/model.safetensors", Body=body,
                              ContentType="application/octet-stream", Metadata={"step": str(step)},
                              Tagging="stage=train")
            ids.append((r["VersionId"], hashlib.md5(body).hexdigest()))
        big = os.urandom(12 * 1024 * 1024 + 5)
        import io
        import boto3.s3.transfer as tx
        s3.upload_fileobj(io.BytesIO(big), "models", "llm/big.bin",
                          Config=tx.TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
        big_v = s3.head_object(Bucket="models", Key="llm/big.bin")["VersionId"]
        s3.put_object(Bucket="models", Key="tmp/scratch", Body=b"scratch")
        marker = s3.delete_object(Bucket="models", Key="tmp/scratch")["VersionId"]

        for v, _ in ids:
            self.assertEqual(wait_status(s3, "models", "llm/model.safetensors", v), "COMPLETED")
        self.assertEqual(wait_status(s3, "models", "llm/big.bin", big_v), "COMPLETED")
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                s3.head_object(Bucket="models-dr", Key="tmp/scratch")
            except ClientError as e:
                if e.response["Error"]["Code"] in ("404", "NoSuchKey"):
                    break
            time.sleep(0.05)
        for (v, md5), step in zip(ids, range(3)):
            head = s3.head_object(Bucket="models-dr", Key="llm/model.safetensors", VersionId=v)
            self.assertEqual(head["ReplicationStatus"], "REPLICA")
            self.assertEqual(head["ETag"], f'"{md5}"')
            self.assertEqual(head["Metadata"], {"step": str(step)})
            self.assertEqual(head["ContentType"], "application/octet-stream")
            src = s3.head_object(Bucket="models", Key="llm/model.safetensors", VersionId=v)
            self.assertEqual(head["LastModified"], src["LastModified"])
            tags = s3.get_object_tagging(Bucket="models-dr", Key="llm/model.safetensors", VersionId=v)
            self.assertEqual(tags["TagSet"], [{"Key": "stage", "Value": "train"}])
        got = s3.get_object(Bucket="models-dr", Key="llm/big.bin")
        self.assertEqual(got["VersionId"], big_v)
        self.assertEqual(hashlib.sha256(got["Body"].read()).digest(), hashlib.sha256(big).digest())
        self.assertEqual(got["ETag"], s3.head_object(Bucket="models", Key="llm/big.bin")["ETag"])
        # The marker arrived with its id, over the version it hides; "unrelated" did not.
        dr = versions(s3, "models-dr")
        self.assertIn(("tmp/scratch", marker, True), dr)
        self.assertNotIn("unrelated", [k for k, _, _ in dr])
        self.assertEqual(len(dr), 3 + 1 + 2)
        # The replicas are not replicated again, however long we wait.
        time.sleep(0.5)
        self.assertEqual(len(versions(s3, "models-dr")), 6)

    def test_kill9_while_copying_every_version_arrives_once(self):
        # First with the worker off, so the queue alone carries 150 versions across the crash;
        # then with it on, killed while it copies.
        server = harness.Server(extra_args=["--replication-interval-ms", "0"]).start()
        try:
            s3 = harness.boto3_client(server.endpoint)
            for n in ("crash-src", "crash-dst"):
                s3.create_bucket(Bucket=n)
                s3.put_bucket_versioning(Bucket=n, VersioningConfiguration={"Status": "Enabled"})
            s3.put_bucket_replication(Bucket="crash-src", ReplicationConfiguration=config(rule("crash-dst")))
            acked = {}

            def write(n):
                for i in range(n):
                    body = os.urandom(200 + len(acked) * 37)
                    key = f"shard-{len(acked) % 50:03d}"
                    r = s3.put_object(Bucket="crash-src", Key=key, Body=body)
                    acked[r["VersionId"]] = (key, hashlib.md5(body).hexdigest())

            write(150)
            self.assertEqual(s3.head_object(Bucket="crash-src", Key="shard-000")["ReplicationStatus"], "PENDING")
            server.kill9()
            server.extra_args = []
            server.start()
            write(150)
            server.kill9()
            server.start()
            for v, (key, _) in acked.items():
                self.assertEqual(wait_status(s3, "crash-src", key, v, timeout=60), "COMPLETED", key)
            dr = versions(s3, "crash-dst")
            self.assertEqual(len(dr), len(acked), "each version exactly once")
            self.assertEqual({v for _, v, _ in dr}, set(acked))
            for v, (key, md5) in list(acked.items())[::25]:
                got = s3.get_object(Bucket="crash-dst", Key=key, VersionId=v)
                self.assertEqual(hashlib.md5(got["Body"].read()).hexdigest(), md5)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
