"""Bucket replication through boto3 against the real server: the configuration S3 defines
(its validation errors, and 501 for what sluice lacks), copies to another bucket of the same
server that keep version ids, times, bytes and metadata, x-amz-replication-status on both
sides, delete markers, and kill -9 while copies are in flight: every version arrives once."""
import hashlib
import io
import json
import os
import subprocess
import time
import unittest

import boto3.s3.transfer as tx
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
        # A remote target must have been registered first (sluice admin replication target add).
        far = rule("x")
        far["Destination"]["Bucket"] = "arn:sluice:replication:::far-site"
        with self.assertRaises(ClientError) as e:
            s3.put_bucket_replication(Bucket="cfg-src", ReplicationConfiguration=config(far))
        self.assertEqual(code(e.exception), "InvalidRequest")
        self.assertIn("far-site", e.exception.response["Error"]["Message"])
        # What sluice lacks is 501, never accepted and ignored.
        with self.assertRaises(ClientError) as e:
            s3.put_bucket_replication(Bucket="cfg-src", ReplicationConfiguration=config(
                dict(rule("cfg-dst"), SourceSelectionCriteria={
                    "SseKmsEncryptedObjects": {"Status": "Enabled"}})))
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
        s3.upload_fileobj(io.BytesIO(big), "models", "llm/big.bin",
                          Config=tx.TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
        big_v = s3.head_object(Bucket="models", Key="llm/big.bin")["VersionId"]
        s3.put_object(Bucket="models", Key="tmp/scratch", Body=b"scratch")
        marker = s3.delete_object(Bucket="models", Key="tmp/scratch")["VersionId"]

        for v, _ in ids:
            self.assertEqual(wait_status(s3, "models", "llm/model.safetensors", v), "COMPLETED")
        self.assertEqual(wait_status(s3, "models", "llm/big.bin", big_v), "COMPLETED")
        # (A HEAD that finds nothing proves nothing: the version under the marker may not be
        # there yet either.)
        wait_for(lambda: ("tmp/scratch", marker, True) in versions(s3, "models-dr"), timeout=30,
                 what="the delete marker")
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


def admin(server, *args, check=True, stdin=None, **env_over):
    """`sluice admin ...` against `server` as its root user; JSON out (not a terminal)."""
    env = dict(os.environ, AWS_ENDPOINT_URL=server.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
               AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent")
    env.update(env_over)
    r = subprocess.run([server.bin, "admin", *args], input=stdin, capture_output=True, text=True,
                       env=env, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"sluice admin {' '.join(args)}: {r.returncode} {r.stderr}")
    return r


def remote_rule(target, prefix="", markers="Enabled", existing=False):
    r = rule("x", prefix=prefix, markers=markers)
    r["Destination"]["Bucket"] = "arn:sluice:replication:::" + target
    if existing:
        r["ExistingObjectReplication"] = {"Status": "Enabled"}
    return r


def wait_for(fn, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while True:
        got = fn()
        if got:
            return got
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class RemoteReplicationTest(unittest.TestCase):
    """Two servers: the source replicates to a bucket of the target over S3, as it would to
    any endpoint; sluice targets keep version ids and times."""

    @classmethod
    def setUpClass(cls):
        cls.src = harness.Server().start()
        cls.dst = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.src.endpoint)
        cls.t3 = harness.boto3_client(cls.dst.endpoint)

    @classmethod
    def tearDownClass(cls):
        cls.src.cleanup()
        cls.dst.cleanup()

    def versioned(self, client, *names):
        for n in names:
            client.create_bucket(Bucket=n)
            client.put_bucket_versioning(Bucket=n, VersioningConfiguration={"Status": "Enabled"})

    def add_target(self, name, bucket, endpoint=None, sk=harness.SECRET_KEY, check=True):
        return admin(self.src, "replication", "target", "add", name,
                     "--target-endpoint", endpoint or self.dst.endpoint, "--target-bucket", bucket,
                     "--target-access-key", harness.ACCESS_KEY, "--target-secret-key", sk,
                     check=check)

    def test_adding_a_target_checks_it_and_says_what_failed(self):
        # compat: replication
        self.versioned(self.t3, "checked")
        self.t3.create_bucket(Bucket="checked-plain")
        cases = [
            ({"endpoint": f"http://127.0.0.1:{harness.free_port()}"}, "127.0.0.1"),
            ({"sk": "not-the-secret-key-0000"}, "403"),
            ({"bucket": "no-such-bucket"}, "no-such-bucket"),
            ({"bucket": "checked-plain"}, "versioning"),
            ({"endpoint": "ftp://127.0.0.1:21"}, "http"),
        ]
        for over, says in cases:
            r = self.add_target("mistake", over.get("bucket", "checked"), endpoint=over.get("endpoint"),
                                sk=over.get("sk", harness.SECRET_KEY), check=False)
            self.assertNotEqual(r.returncode, 0, over)
            self.assertIn(says, r.stderr, over)
        self.assertNotIn("mistake", admin(self.src, "replication", "target", "ls").stdout)
        # A good one prints the ARN a rule names; its secret is never shown again.
        r = self.add_target("checked", "checked")
        self.assertEqual(json.loads(r.stdout)["arn"], "arn:sluice:replication:::checked")
        listed = json.loads(admin(self.src, "replication", "target", "ls").stdout)["targets"]
        self.assertEqual([t["name"] for t in listed], ["checked"])
        self.assertTrue(listed[0]["sluice"])
        self.assertNotIn(harness.SECRET_KEY, json.dumps(listed))
        # Only an admin may point a bucket at a registered target.
        self.versioned(self.s3, "checked-src")
        admin(self.src, "user", "add", "trainer")
        key = json.loads(admin(self.src, "key", "create", "trainer").stdout)
        admin(self.src, "policy", "set", "s3-all", "-", stdin=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        admin(self.src, "policy", "attach", "s3-all", "trainer")
        trainer = harness.boto3_client(self.src.endpoint, ak=key["access_key"], sk=key["secret_key"])
        with self.assertRaises(ClientError) as e:
            trainer.put_bucket_replication(Bucket="checked-src", ReplicationConfiguration=config(
                remote_rule("checked")))
        self.assertEqual(code(e.exception), "AccessDenied")
        self.s3.put_bucket_replication(Bucket="checked-src", ReplicationConfiguration=config(remote_rule("checked")))
        # A target a rule names is not removed from under it.
        r = admin(self.src, "replication", "target", "rm", "checked", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("checked-src", r.stderr)
        self.s3.delete_bucket_replication(Bucket="checked-src")
        admin(self.src, "replication", "target", "rm", "checked")

    def test_sluice_to_sluice_keeps_ids_times_bytes_and_metadata(self):
        # compat: replication
        s3, t3 = self.s3, self.t3
        self.versioned(s3, "ckpts")
        self.versioned(t3, "ckpts-dr")
        self.add_target("dr-site", "ckpts-dr")
        s3.put_bucket_replication(Bucket="ckpts", ReplicationConfiguration=config(remote_rule("dr-site")))
        ids = []
        for step in range(3):
            body = os.urandom(70_000 + step)
            r = s3.put_object(Bucket="ckpts", Key="run1/step.pt", Body=body, Metadata={"step": str(step)},
                              ContentType="application/x-pytorch", Tagging="run=1&kind=ckpt")
            ids.append((r["VersionId"], hashlib.md5(body).hexdigest()))
        big = os.urandom(21 * 1024 * 1024 + 7)  # 5 parts of 5 MiB, the last short
        s3.upload_fileobj(io.BytesIO(big), "ckpts", "run1/big.bin",
                          Config=tx.TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
        big_head = s3.head_object(Bucket="ckpts", Key="run1/big.bin")
        s3.put_object(Bucket="ckpts", Key="run1/tmp", Body=b"t")
        marker = s3.delete_object(Bucket="ckpts", Key="run1/tmp")["VersionId"]
        for v, _ in ids:
            self.assertEqual(wait_status(s3, "ckpts", "run1/step.pt", v, timeout=30), "COMPLETED")
        self.assertEqual(wait_status(s3, "ckpts", "run1/big.bin", big_head["VersionId"], timeout=60),
                         "COMPLETED")
        wait_for(lambda: ("run1/tmp", marker, True) in versions(t3, "ckpts-dr"), what="the delete marker")
        for (v, md5), step in zip(ids, range(3)):
            head = t3.head_object(Bucket="ckpts-dr", Key="run1/step.pt", VersionId=v)
            src = s3.head_object(Bucket="ckpts", Key="run1/step.pt", VersionId=v)
            self.assertEqual(head["ReplicationStatus"], "REPLICA")
            self.assertEqual(head["ETag"], f'"{md5}"')
            self.assertEqual(head["LastModified"], src["LastModified"])
            self.assertEqual(head["Metadata"], {"step": str(step)})
            self.assertEqual(head["ContentType"], "application/x-pytorch")
            tags = t3.get_object_tagging(Bucket="ckpts-dr", Key="run1/step.pt", VersionId=v)["TagSet"]
            self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags), [("kind", "ckpt"), ("run", "1")])
        got = t3.get_object(Bucket="ckpts-dr", Key="run1/big.bin", PartNumber=2)
        self.assertEqual(got["PartsCount"], 5)  # the source's parts, so the same multipart ETag
        got = t3.get_object(Bucket="ckpts-dr", Key="run1/big.bin")
        self.assertEqual(got["ETag"], big_head["ETag"])
        self.assertEqual(got["VersionId"], big_head["VersionId"])
        self.assertEqual(hashlib.sha256(got["Body"].read()).digest(), hashlib.sha256(big).digest())
        self.assertEqual(len(versions(t3, "ckpts-dr")), 3 + 1 + 2)
        # Status: nothing pending, the copies counted, the target healthy.
        st = json.loads(admin(self.src, "replication", "status", "ckpts").stdout)
        self.assertEqual(st["buckets"][0]["pending_objects"], 0)
        self.assertEqual(st["buckets"][0]["destination"], "arn:sluice:replication:::dr-site")
        self.assertGreaterEqual(st["completed"], 6)
        self.assertEqual([t["healthy"] for t in st["targets"] if t["name"] == "dr-site"], [True])
        # New tags after the copy follow it, without a new version or the bytes sent again.
        v0 = ids[0][0]
        s3.put_object_tagging(Bucket="ckpts", Key="run1/step.pt", VersionId=v0,
                              Tagging={"TagSet": [{"Key": "stage", "Value": "prod"}]})
        self.assertEqual(wait_status(s3, "ckpts", "run1/step.pt", v0, timeout=30), "COMPLETED")
        wait_for(lambda: t3.get_object_tagging(Bucket="ckpts-dr", Key="run1/step.pt", VersionId=v0)["TagSet"]
                 == [{"Key": "stage", "Value": "prod"}], what="the new tags on the target")
        s3.delete_object_tagging(Bucket="ckpts", Key="run1/big.bin")
        wait_for(lambda: t3.get_object_tagging(Bucket="ckpts-dr", Key="run1/big.bin")["TagSet"] == [],
                 what="the tags removed on the target")
        self.assertEqual(len(versions(t3, "ckpts-dr")), 3 + 1 + 2)
        # A loop A -> B -> A does not ping-pong: replicas are not replicated back.
        admin(self.dst, "replication", "target", "add", "back", "--target-endpoint", self.src.endpoint,
              "--target-bucket", "ckpts", "--target-access-key", harness.ACCESS_KEY,
              "--target-secret-key", harness.SECRET_KEY)
        t3.put_bucket_replication(Bucket="ckpts-dr", ReplicationConfiguration=config(remote_rule("back")))
        r = t3.put_object(Bucket="ckpts-dr", Key="from-b", Body=b"written on B")
        self.assertEqual(wait_status(t3, "ckpts-dr", "from-b", r["VersionId"]), "COMPLETED")
        self.assertEqual(s3.head_object(Bucket="ckpts", Key="from-b")["ReplicationStatus"], "REPLICA")
        time.sleep(1)
        self.assertEqual(len(versions(s3, "ckpts")), 3 + 1 + 2 + 1)
        self.assertEqual(len(versions(t3, "ckpts-dr")), 3 + 1 + 2 + 1)
        t3.delete_bucket_replication(Bucket="ckpts-dr")
        # The human view prints a table.
        table = subprocess.run(["script", "-qec", " ".join([self.src.bin, "admin", "replication", "status"]),
                                "/dev/null"], capture_output=True, text=True, timeout=60,
                               env=dict(os.environ, AWS_ENDPOINT_URL=self.src.endpoint,
                                        AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                                        AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY, HOME="/nonexistent"))
        self.assertIn("PENDING", table.stdout)
        self.assertIn("dr-site", table.stdout)

    def test_target_down_then_up_and_source_killed_everything_arrives_once(self):
        s3 = self.s3
        self.versioned(s3, "shards")
        self.versioned(self.t3, "shards-dr")
        self.add_target("flaky", "shards-dr")
        s3.put_bucket_replication(Bucket="shards", ReplicationConfiguration=config(remote_rule("flaky")))
        self.dst.stop()  # the target goes away; the source does not wait for it
        expect = {}
        slowest = 0.0
        for i in range(1000):
            body = f"sample {i} ".encode() * (1 + i % 7)
            t0 = time.monotonic()
            r = s3.put_object(Bucket="shards", Key=f"train/{i:04d}.tar", Body=body)
            slowest = max(slowest, time.monotonic() - t0)
            expect[r["VersionId"]] = (f"train/{i:04d}.tar", hashlib.md5(body).hexdigest())
        for i in range(1000):
            t0 = time.monotonic()
            r = s3.delete_object(Bucket="shards", Key=f"train/{i:04d}.tar")
            slowest = max(slowest, time.monotonic() - t0)
            expect[r["VersionId"]] = (f"train/{i:04d}.tar", None)
        self.assertLess(slowest, 5, "a write waited on the target")
        st = json.loads(admin(self.src, "replication", "status", "shards").stdout)
        self.assertEqual(st["buckets"][0]["pending_objects"], 2000)
        self.assertGreater(st["buckets"][0]["oldest_pending_s"], 0)
        self.assertEqual([t["healthy"] for t in st["targets"] if t["name"] == "flaky"], [False])
        self.assertTrue(st["retrying"])
        self.dst.start()  # same port, same data
        # Copying resumes on its own; kill -9 the source in the middle of it.
        wait_for(lambda: json.loads(admin(self.src, "replication", "status", "shards").stdout)
                 ["buckets"][0]["pending_objects"] < 1900, timeout=60, what="copies to resume")
        self.src.kill9()
        self.src.start()
        wait_for(lambda: json.loads(admin(self.src, "replication", "status", "shards").stdout)
                 ["buckets"][0]["pending_objects"] == 0, timeout=120, what="the backlog to drain")
        got = versions(self.t3, "shards-dr")
        extra = sorted((k, v, m) for k, v, m in got if v not in expect)
        self.assertEqual(len(got), 2000, f"each version and marker exactly once; not sent: {extra[:6]}")
        self.assertEqual({v for _, v, _ in got}, set(expect))
        for v, (key, md5) in list(expect.items())[::97]:
            if md5:
                body = self.t3.get_object(Bucket="shards-dr", Key=key, VersionId=v)["Body"].read()
                self.assertEqual(hashlib.md5(body).hexdigest(), md5)
        for v, (key, md5) in list(expect.items())[::97]:
            self.assertEqual(s3.head_object(Bucket="shards", Key=key, VersionId=v)["ReplicationStatus"]
                             if md5 else "COMPLETED", "COMPLETED")
        st = json.loads(admin(self.src, "replication", "status").stdout)
        self.assertEqual([t["healthy"] for t in st["targets"] if t["name"] == "flaky"], [True])

    def test_existing_objects_failed_for_good_and_resync(self):
        s3, t3 = self.s3, self.t3
        self.versioned(s3, "legacy")
        self.versioned(t3, "legacy-dr")
        before = {}
        for i in range(5):
            r = s3.put_object(Bucket="legacy", Key=f"old/{i}", Body=b"old %d" % i)
            before[r["VersionId"]] = f"old/{i}"
        self.add_target("legacy", "legacy-dr")
        s3.put_bucket_replication(Bucket="legacy", ReplicationConfiguration=config(
            remote_rule("legacy", existing=True)))
        got = s3.get_bucket_replication(Bucket="legacy")["ReplicationConfiguration"]["Rules"][0]
        self.assertEqual(got["ExistingObjectReplication"], {"Status": "Enabled"})
        for v, key in before.items():  # copied although written before the rule
            self.assertEqual(wait_status(s3, "legacy", key, v, timeout=30), "COMPLETED")
            self.assertEqual(t3.head_object(Bucket="legacy-dr", Key=key, VersionId=v)["ReplicationStatus"],
                             "REPLICA")
        # The target bucket is removed: what cannot succeed ends FAILED, with the reason.
        for k, v, marker in versions(t3, "legacy-dr"):
            t3.delete_object(Bucket="legacy-dr", Key=k, VersionId=v)
        t3.delete_bucket(Bucket="legacy-dr")
        r = s3.put_object(Bucket="legacy", Key="new", Body=b"new")
        self.assertEqual(wait_status(s3, "legacy", "new", r["VersionId"], want="FAILED", timeout=30), "FAILED")
        st = json.loads(admin(self.src, "replication", "status", "legacy").stdout)
        self.assertIn("NoSuchBucket", [f for f in st["failures"] if f["key"] == "new"][0]["error"])
        # Fixed on the target side, a resync sends it.
        self.versioned(t3, "legacy-dr")
        out = json.loads(admin(self.src, "replication", "resync", "legacy").stdout)
        self.assertEqual(out["failed"], 1)
        self.assertEqual(wait_status(s3, "legacy", "new", r["VersionId"], timeout=30), "COMPLETED")
        self.assertEqual(t3.head_object(Bucket="legacy-dr", Key="new")["VersionId"], r["VersionId"])
        # --existing queues only versions that never had a status: none are left.
        out = json.loads(admin(self.src, "replication", "resync", "legacy", "--existing").stdout)
        self.assertEqual((out["failed"], out["existing"]), (0, 0))

    def test_tls_target_with_a_ca_bundle(self):
        import shutil
        import tempfile
        import test_tls
        pki = tempfile.mkdtemp(prefix="sluice-pki-")
        ca = test_tls.make_ca(pki)
        cert, key = test_tls.make_cert(pki, "dr", 7)
        tls = harness.Server(extra_args=["--tls-cert", cert, "--tls-key", key], ca=ca).start()
        try:
            self.versioned(harness.boto3_client(tls.endpoint, verify=ca), "secure-dr")
            # Without the CA the target's certificate is not trusted, and the error says so.
            r = self.add_target("secure", "secure-dr", endpoint=tls.endpoint, check=False)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("certificate", r.stderr.lower())
            r = admin(self.src, "replication", "target", "add", "secure", "--target-endpoint", tls.endpoint,
                      "--target-bucket", "secure-dr", "--target-access-key", harness.ACCESS_KEY,
                      "--target-secret-key", harness.SECRET_KEY, "--target-ca-bundle", ca)
            self.assertTrue(json.loads(r.stdout)["ca_bundle"])
            self.versioned(self.s3, "secure-src")
            self.s3.put_bucket_replication(Bucket="secure-src",
                                           ReplicationConfiguration=config(remote_rule("secure")))
            v = self.s3.put_object(Bucket="secure-src", Key="model.onnx", Body=b"weights")["VersionId"]
            self.assertEqual(wait_status(self.s3, "secure-src", "model.onnx", v), "COMPLETED")
            t = harness.boto3_client(tls.endpoint, verify=ca)
            self.assertEqual(t.get_object(Bucket="secure-dr", Key="model.onnx", VersionId=v)["Body"].read(),
                             b"weights")
            self.s3.delete_bucket_replication(Bucket="secure-src")
            admin(self.src, "replication", "target", "rm", "secure")
        finally:
            tls.cleanup()
            shutil.rmtree(pki, ignore_errors=True)

    def test_replica_writes_are_idempotent_and_need_the_replicate_permission(self):
        t3 = self.t3
        self.versioned(t3, "replicas")
        version = "00060a24181e40000000000000000007"
        hdrs = {"x-sluice-replica-version-id": version, "x-sluice-replica-mtime": "1700000000000000"}

        def with_headers(client, headers):
            def add(request, **_):
                for k, v in headers.items():
                    request.headers[k] = v
            client.meta.events.register("before-sign.s3.*", add)
            return client

        raw = with_headers(harness.boto3_client(self.dst.endpoint), hdrs)
        for _ in range(2):  # sent again after a crash: stored once
            r = raw.put_object(Bucket="replicas", Key="k", Body=b"same bytes")
            self.assertEqual(r["VersionId"], version)
        got = t3.list_object_versions(Bucket="replicas")["Versions"]
        self.assertEqual([(v["VersionId"], v["LastModified"].year) for v in got], [(version, 2023)])
        self.assertEqual(t3.head_object(Bucket="replicas", Key="k")["ReplicationStatus"], "REPLICA")
        with self.assertRaises(ClientError) as e:  # the id is taken by other bytes
            raw.put_object(Bucket="replicas", Key="k", Body=b"other bytes")
        self.assertEqual(code(e.exception), "InvalidRequest")
        for bad in ({"x-sluice-replica-version-id": version},
                    dict(hdrs, **{"x-sluice-replica-mtime": "soon"}),
                    dict(hdrs, **{"x-sluice-replica-version-id": "null"})):
            with self.assertRaises(ClientError) as e:
                with_headers(harness.boto3_client(self.dst.endpoint), bad).put_object(
                    Bucket="replicas", Key="k2", Body=b"x")
            self.assertEqual(code(e.exception), "InvalidArgument", bad)
        # A user who may PutObject but not s3:ReplicateObject cannot forge a replica.
        admin(self.dst, "user", "add", "writer")
        key = json.loads(admin(self.dst, "key", "create", "writer").stdout)
        admin(self.dst, "policy", "set", "put-only", "-", stdin=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject",
                                                     "Resource": "arn:aws:s3:::replicas/*"}]}))
        admin(self.dst, "policy", "attach", "put-only", "writer")
        writer = harness.boto3_client(self.dst.endpoint, ak=key["access_key"], sk=key["secret_key"])
        writer.put_object(Bucket="replicas", Key="mine", Body=b"ok")
        with self.assertRaises(ClientError) as e:
            with_headers(writer, dict(hdrs, **{"x-sluice-replica-version-id": version[:-1] + "8"})).put_object(
                Bucket="replicas", Key="mine", Body=b"forged")
        self.assertEqual(code(e.exception), "AccessDenied")
        # A marker sent twice is one marker (a later id than the version it hides).
        marker = "00060a24181e50000000000000000009"
        for _ in range(2):
            with_headers(harness.boto3_client(self.dst.endpoint),
                         dict(hdrs, **{"x-sluice-replica-version-id": marker})).delete_object(
                Bucket="replicas", Key="k")
        markers = t3.list_object_versions(Bucket="replicas", Prefix="k")["DeleteMarkers"]
        self.assertEqual([m["VersionId"] for m in markers], [marker])


if __name__ == "__main__":
    unittest.main()
