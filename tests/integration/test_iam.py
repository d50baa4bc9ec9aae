"""Access control end to end: users and keys made with `sluice admin`, identity and bucket
policies, STS sessions (boto3's sts client), anonymous access with curl, deletion
protection, and the refusals: what they answer, that they change nothing, and that they
are logged.  compat: iam-users, bucket-policy, sts, anonymous, public-acls
"""
import json
import os
import subprocess
import time
import unittest

import boto3
import botocore.exceptions
import requests
from botocore.config import Config

import harness

ACCOUNT = "000000000000"


def code_of(exc):
    return exc.response["Error"]["Code"]


class IamTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(extra_args=["--sts-min-duration", "1"]).start()
        cls.root = harness.boto3_client(cls.server.endpoint)
        for b in ("data", "other", "public"):
            cls.root.create_bucket(Bucket=b, ObjectOwnership="ObjectWriter")  # ACLs on
        cls.root.put_object(Bucket="data", Key="datasets/a/0001.tar", Body=b"shard-a")
        cls.root.put_object(Bucket="data", Key="datasets/b/0001.tar", Body=b"shard-b")
        cls.root.put_object(Bucket="data", Key="models/m.pt", Body=b"model")
        cls.root.put_object(Bucket="other", Key="secret.txt", Body=b"secret")
        cls.trainer = cls.make_user("trainer", policy={
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/datasets/*"},
                {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data",
                 "Condition": {"StringLike": {"s3:prefix": ["datasets/*", "datasets/"]}}},
            ]})

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    @classmethod
    def admin(cls, *args, stdin=None, check=True, **env_over):
        env = dict(os.environ, AWS_ENDPOINT_URL=cls.server.endpoint,
                   AWS_ACCESS_KEY_ID=harness.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY,
                   HOME="/nonexistent")
        env.update(env_over)
        r = subprocess.run([cls.server.bin, "admin", *args], input=stdin, capture_output=True,
                           text=True, env=env, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError(f"sluice admin {' '.join(args)}: {r.returncode} {r.stderr}")
        return r

    @classmethod
    def make_user(cls, name, policy=None, admin=False):
        cls.admin("user", "add", name, *(["--admin"] if admin else []))
        key = json.loads(cls.admin("key", "create", name).stdout)  # not a tty: JSON
        if policy:
            cls.admin("policy", "set", name + "-policy", "-", stdin=json.dumps(policy))
            cls.admin("policy", "attach", name + "-policy", name)
        return harness.boto3_client(cls.server.endpoint, ak=key["access_key"], sk=key["secret_key"])

    def denied(self, fn, code="AccessDenied"):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            fn()
        self.assertEqual(code_of(cm.exception), code, cm.exception.response)

    def log_text(self):
        with open(self.server.log.name, "rb") as f:
            return f.read().decode(errors="replace")

    def test_missing_key_is_404_only_for_who_may_list(self):
        # compat: existence-before-permission
        get = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/*"}
        lst = {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data"}
        reader = self.make_user("get-only", {"Version": "2012-10-17", "Statement": [get]})
        lister = self.make_user("get-and-list", {"Version": "2012-10-17", "Statement": [get, lst]})
        list_only = self.make_user("list-only", {"Version": "2012-10-17", "Statement": [lst]})
        for op in (lambda c: c.get_object(Bucket="data", Key="no/such"),
                   lambda c: c.head_object(Bucket="data", Key="no/such")):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                op(reader)
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
            for c in (lister, list_only):
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    op(c)
                self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertEqual(reader.get_object(Bucket="data", Key="models/m.pt")["Body"].read(), b"model")
        self.denied(lambda: list_only.get_object(Bucket="data", Key="models/m.pt"))
        # A bucket that does not exist is 404 for anyone, even a key with no rights there.
        self.denied(lambda: reader.get_object(Bucket="no-such-bucket", Key="k"), "NoSuchBucket")
        self.denied(lambda: reader.delete_object(Bucket="no-such-bucket", Key="k"), "NoSuchBucket")
        self.denied(lambda: reader.delete_object(Bucket="data", Key="models/m.pt"))

    def test_object_tag_conditions(self):
        # compat: bucket-policy
        self.root.create_bucket(Bucket="tagged")
        self.root.put_object(Bucket="tagged", Key="open.txt", Body=b"open", Tagging="class=public")
        self.root.put_object(Bucket="tagged", Key="closed.txt", Body=b"closed", Tagging="class=internal")
        user = self.make_user("tag-user")
        who = {"AWS": f"arn:aws:iam::{ACCOUNT}:user/tag-user"}
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": who, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::tagged/*",
             "Condition": {"StringEquals": {"s3:ExistingObjectTag/class": "public"}}},
            {"Effect": "Allow", "Principal": who, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::tagged/*",
             "Condition": {"StringEquals": {"s3:RequestObjectTag/team": "ml"}}},
            {"Effect": "Allow", "Principal": who, "Action": "s3:PutObjectTagging", "Resource": "arn:aws:s3:::tagged/*",
             "Condition": {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["class", "team"]}}},
        ]}
        self.root.put_bucket_policy(Bucket="tagged", Policy=json.dumps(policy))
        self.assertEqual(user.get_object(Bucket="tagged", Key="open.txt")["Body"].read(), b"open")
        self.denied(lambda: user.get_object(Bucket="tagged", Key="closed.txt"))
        user.put_object(Bucket="tagged", Key="by-ml.txt", Body=b"x", Tagging="team=ml")
        self.denied(lambda: user.put_object(Bucket="tagged", Key="by-other.txt", Body=b"x", Tagging="team=web"))
        self.denied(lambda: user.put_object(Bucket="tagged", Key="untagged.txt", Body=b"x"))
        user.put_object_tagging(Bucket="tagged", Key="closed.txt",
                                Tagging={"TagSet": [{"Key": "class", "Value": "public"}]})
        self.assertEqual(user.get_object(Bucket="tagged", Key="closed.txt")["Body"].read(), b"closed")
        self.denied(lambda: user.put_object_tagging(Bucket="tagged", Key="closed.txt",
                                                    Tagging={"TagSet": [{"Key": "owner", "Value": "me"}]}))
        self.assertEqual(self.root.get_object_tagging(Bucket="tagged", Key="closed.txt")["TagSet"],
                         [{"Key": "class", "Value": "public"}])
        # A condition key this server does not evaluate is refused, not accepted to fail closed.
        bad = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::tagged/*",
             "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "AES256"}}}]}
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.root.put_bucket_policy(Bucket="tagged", Policy=json.dumps(bad))
        self.assertEqual(code_of(cm.exception), "MalformedPolicy")
        self.assertIn("s3:x-amz-server-side-encryption", cm.exception.response["Error"]["Message"])

    def test_read_only_training_key(self):
        t = self.trainer
        keys = [o["Key"] for o in t.list_objects_v2(Bucket="data", Prefix="datasets/")["Contents"]]
        self.assertEqual(keys, ["datasets/a/0001.tar", "datasets/b/0001.tar"])
        self.assertEqual(t.get_object(Bucket="data", Key="datasets/a/0001.tar")["Body"].read(), b"shard-a")
        self.denied(lambda: t.list_objects_v2(Bucket="data"))  # no prefix: outside the condition
        self.denied(lambda: t.get_object(Bucket="data", Key="models/m.pt"))
        self.denied(lambda: t.put_object(Bucket="data", Key="datasets/a/evil.tar", Body=b"x"))
        self.denied(lambda: t.delete_object(Bucket="data", Key="datasets/a/0001.tar"))
        out = t.delete_objects(Bucket="data", Delete={"Objects": [{"Key": "datasets/a/0001.tar"}]})
        self.assertEqual(out["Errors"][0]["Code"], "AccessDenied")
        # Another bucket is invisible: not listed, not readable.
        self.denied(lambda: t.list_objects_v2(Bucket="other"))
        self.denied(lambda: t.get_object(Bucket="other", Key="secret.txt"))
        self.assertNotIn("other", [b["Name"] for b in t.list_buckets()["Buckets"]])
        # The refusals left nothing behind, and each was logged with who and what.
        self.denied(lambda: self.root.head_object(Bucket="data", Key="datasets/a/evil.tar"), "404")
        self.assertEqual(self.root.get_object(Bucket="data", Key="datasets/a/0001.tar")["Body"].read(), b"shard-a")
        log = self.log_text()
        self.assertIn(f"arn:aws:iam::{ACCOUNT}:user/trainer", log)
        self.assertIn("may not s3:PutObject on arn:aws:s3:::data/datasets/a/evil.tar", log)

    def test_deletion_protection_without_versioning(self):
        self.root.create_bucket(Bucket="protected")
        self.root.put_object(Bucket="protected", Key="train/shard-0.tar", Body=b"precious")
        # A training host's key that may otherwise do anything in S3.
        host = self.make_user("gpu-host-17", policy={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
        dataeng = self.make_user("dataeng", admin=True)
        self.root.put_bucket_policy(Bucket="protected", Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "OnlyDataEngDeletes", "Effect": "Deny", "Principal": "*",
                "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::protected/*",
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/dataeng"}}}]}))
        self.denied(lambda: host.delete_object(Bucket="protected", Key="train/shard-0.tar"))
        out = host.delete_objects(Bucket="protected", Delete={"Objects": [{"Key": "train/shard-0.tar"}]})
        self.assertEqual(out["Errors"][0]["Code"], "AccessDenied")
        self.denied(lambda: self.root.delete_object(Bucket="protected", Key="train/shard-0.tar"))
        # Everything else still works for the host, and the data is intact.
        host.put_object(Bucket="protected", Key="train/shard-1.tar", Body=b"new")
        self.assertEqual(host.get_object(Bucket="protected", Key="train/shard-0.tar")["Body"].read(), b"precious")
        # The named admin can delete; root can still manage the policy itself.
        dataeng.delete_object(Bucket="protected", Key="train/shard-1.tar")
        self.denied(lambda: self.root.head_object(Bucket="protected", Key="train/shard-1.tar"), "404")
        self.assertIn("OnlyDataEngDeletes", self.root.get_bucket_policy(Bucket="protected")["Policy"])

    def test_governance_bypass_needs_the_permission(self):
        # compat: object-lock
        import datetime
        self.root.create_bucket(Bucket="worm", ObjectLockEnabledForBucket=True)
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)
        vid = self.root.put_object(Bucket="worm", Key="ckpt", Body=b"c", ObjectLockMode="GOVERNANCE",
                                   ObjectLockRetainUntilDate=until)["VersionId"]
        actions = ["s3:DeleteObjectVersion", "s3:DeleteObject", "s3:PutObjectRetention", "s3:GetObjectRetention"]
        mlops = self.make_user("mlops", policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions, "Resource": "arn:aws:s3:::worm/*"}]})
        # The header alone does not bypass GOVERNANCE: the permission is needed too.
        self.denied(lambda: mlops.delete_object(Bucket="worm", Key="ckpt", VersionId=vid,
                                                BypassGovernanceRetention=True))
        self.denied(lambda: mlops.put_object_retention(
            Bucket="worm", Key="ckpt", VersionId=vid, BypassGovernanceRetention=True,
            Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until - datetime.timedelta(hours=1)}))
        self.assertEqual(mlops.get_object_retention(Bucket="worm", Key="ckpt", VersionId=vid)["Retention"]["Mode"],
                         "GOVERNANCE")
        self.make_user("mlops2", policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": actions + ["s3:BypassGovernanceRetention"], "Resource": "arn:aws:s3:::worm/*"}]})
        key = json.loads(self.admin("key", "create", "mlops2").stdout)
        mlops2 = harness.boto3_client(self.server.endpoint, ak=key["access_key"], sk=key["secret_key"])
        # With the permission but without the header: still refused.
        self.denied(lambda: mlops2.delete_object(Bucket="worm", Key="ckpt", VersionId=vid))
        mlops2.delete_object(Bucket="worm", Key="ckpt", VersionId=vid, BypassGovernanceRetention=True)
        self.assertNotIn("Versions", self.root.list_object_versions(Bucket="worm"))

    def test_sts_session_narrowed_and_expiring(self):
        sts = boto3.client("sts", endpoint_url=self.server.endpoint, region_name="us-east-1",
                           aws_access_key_id=self.trainer._request_signer._credentials.access_key,
                           aws_secret_access_key=self.trainer._request_signer._credentials.secret_key,
                           # boto3 refuses DurationSeconds < 900 itself; the server is
                           # started with a 1 s floor so the expiry can be watched.
                           config=Config(retries={"max_attempts": 1}, parameter_validation=False))
        narrow = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/datasets/a/*"}]}
        out = sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/training", RoleSessionName="job-42",
                              DurationSeconds=3, Policy=json.dumps(narrow))
        c = out["Credentials"]
        self.assertTrue(out["AssumedRoleUser"]["Arn"].endswith("assumed-role/trainer/job-42"))
        s = harness.boto3_client(self.server.endpoint, ak=c["AccessKeyId"], sk=c["SecretAccessKey"],
                                 aws_session_token=c["SessionToken"])
        self.assertEqual(s.get_object(Bucket="data", Key="datasets/a/0001.tar")["Body"].read(), b"shard-a")
        self.denied(lambda: s.get_object(Bucket="data", Key="datasets/b/0001.tar"))  # session policy
        self.denied(lambda: s.put_object(Bucket="data", Key="datasets/a/x", Body=b"x"))  # user policy
        # A browser form signed with the session: the session policy allows no PUT.
        form = s.generate_presigned_post("data", "datasets/a/form.txt", ExpiresIn=600)
        r = requests.post(form["url"], data=form["fields"], files={"file": ("f", b"x")}, timeout=30)
        self.assertEqual(r.status_code, 403, r.text)
        self.assertIn("<Code>AccessDenied</Code>", r.text)
        wrong = harness.boto3_client(self.server.endpoint, ak=c["AccessKeyId"], sk=c["SecretAccessKey"],
                                     aws_session_token="not-the-token")
        self.denied(lambda: wrong.get_object(Bucket="data", Key="datasets/a/0001.tar"), "InvalidToken")
        time.sleep(c["Expiration"].timestamp() - time.time() + 0.5)
        self.denied(lambda: s.get_object(Bucket="data", Key="datasets/a/0001.tar"), "ExpiredToken")
        r = requests.post(form["url"], data=form["fields"], files={"file": ("f", b"x")}, timeout=30)
        self.assertIn("<Code>ExpiredToken</Code>", r.text)
        bare = {k: v for k, v in form["fields"].items() if k != "x-amz-security-token"}
        r = requests.post(form["url"], data=bare, files={"file": ("f", b"x")}, timeout=30)
        self.assertEqual(r.status_code, 400, r.text)
        # The query form, as curl users send it (curl's own SigV4 signer).
        creds = self.trainer._request_signer._credentials
        r = subprocess.run(["curl", "-s", "-X", "POST", "--aws-sigv4", "aws:amz:us-east-1:sts",
                            "--user", f"{creds.access_key}:{creds.secret_key}",
                            # sorted: curl 7.88 signs the query as written
                            self.server.endpoint + "/?Action=AssumeRole&DurationSeconds=60&RoleSessionName=curl-job"
                            "&Version=2011-06-15"], capture_output=True, timeout=30)
        self.assertIn(b"<AssumeRoleResult>", r.stdout, r.stdout)
        self.assertIn(b"assumed-role/trainer/curl-job", r.stdout)
        # Bad requests get STS's own errors.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.assume_role(RoleArn="arn:aws:iam::0:role/x", RoleSessionName="j", DurationSeconds=999999)
        self.assertEqual(code_of(cm.exception), "ValidationError")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            sts.assume_role(RoleArn="arn:aws:iam::0:role/x", RoleSessionName="job", Policy="{nope")
        self.assertEqual(code_of(cm.exception), "MalformedPolicyDocument")

    def curl(self, path):
        r = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", self.server.endpoint + path],
                           capture_output=True, timeout=30)
        body, _, status = r.stdout.rpartition(b"\n")
        return int(status), body

    def test_anonymous_public_read(self):
        self.root.put_object(Bucket="public", Key="pub/readme.txt", Body=b"hello world")
        self.root.put_object(Bucket="public", Key="private/key.txt", Body=b"hidden")
        self.assertEqual(self.curl("/public/pub/readme.txt")[0], 403)  # no policy yet
        self.root.put_bucket_policy(Bucket="public", Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": "arn:aws:s3:::public/pub/*"}]}))
        self.assertEqual(self.curl("/public/pub/readme.txt"), (200, b"hello world"))
        status, body = self.curl("/public/private/key.txt")
        self.assertEqual(status, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", body)
        self.assertEqual(self.curl("/public")[0], 403)  # listing was not granted
        self.assertEqual(self.curl("/other/secret.txt")[0], 403)
        self.assertTrue(self.root.get_bucket_policy_status(Bucket="public")["PolicyStatus"]["IsPublic"])
        # A canned ACL on one object in a private bucket.
        self.root.put_object(Bucket="other", Key="shared.txt", Body=b"shared", ACL="public-read")
        self.assertEqual(self.curl("/other/shared.txt"), (200, b"shared"))
        grants = self.root.get_object_acl(Bucket="other", Key="shared.txt")["Grants"]
        self.assertIn("READ", [g["Permission"] for g in grants])
        self.root.put_object_acl(Bucket="other", Key="shared.txt", ACL="private")
        self.assertEqual(self.curl("/other/shared.txt")[0], 403)

    def test_public_access_block_and_ownership(self):
        # compat: public-access-block, ownership-controls
        r = self.root
        r.create_bucket(Bucket="guarded", ObjectOwnership="ObjectWriter")
        r.put_object(Bucket="guarded", Key="acl.txt", Body=b"by acl", ACL="public-read")
        r.put_object(Bucket="guarded", Key="pol/x.txt", Body=b"by policy")
        public = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::guarded/pol/*"}]})
        r.put_bucket_policy(Bucket="guarded", Policy=public)
        self.assertEqual(self.curl("/guarded/acl.txt"), (200, b"by acl"))
        self.assertEqual(self.curl("/guarded/pol/x.txt"), (200, b"by policy"))

        def block(**flags):
            r.put_public_access_block(Bucket="guarded", PublicAccessBlockConfiguration=flags)
        block(IgnorePublicAcls=True)
        self.assertEqual(self.curl("/guarded/acl.txt")[0], 403)
        self.assertEqual(self.curl("/guarded/pol/x.txt")[0], 200)
        block(RestrictPublicBuckets=True)
        self.assertEqual(self.curl("/guarded/acl.txt")[0], 200)
        self.assertEqual(self.curl("/guarded/pol/x.txt")[0], 403)
        self.assertEqual(r.get_object(Bucket="guarded", Key="pol/x.txt")["Body"].read(), b"by policy")
        block(BlockPublicAcls=True, BlockPublicPolicy=True)
        self.denied(lambda: r.put_object(Bucket="guarded", Key="new.txt", Body=b"x", ACL="public-read"))
        self.denied(lambda: r.put_bucket_acl(Bucket="guarded", ACL="public-read"))
        self.denied(lambda: r.put_bucket_policy(Bucket="guarded", Policy=public))
        r.put_object(Bucket="guarded", Key="new.txt", Body=b"x")  # no ACL: fine
        got = r.get_public_access_block(Bucket="guarded")["PublicAccessBlockConfiguration"]
        self.assertEqual(got, {"BlockPublicAcls": True, "IgnorePublicAcls": False,
                               "BlockPublicPolicy": True, "RestrictPublicBuckets": False})
        r.delete_public_access_block(Bucket="guarded")
        self.denied(lambda: r.get_public_access_block(Bucket="guarded"), "NoSuchPublicAccessBlockConfiguration")
        self.assertEqual(self.curl("/guarded/acl.txt")[0], 200)

        # Ownership: BucketOwnerEnforced turns ACLs off (and their grants stop counting);
        # it is refused while the bucket's own ACL grants more than the owner.
        self.assertEqual(r.get_bucket_ownership_controls(Bucket="guarded")["OwnershipControls"]["Rules"],
                         [{"ObjectOwnership": "ObjectWriter"}])
        enforced = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        r.put_bucket_acl(Bucket="guarded", ACL="public-read")
        self.denied(lambda: r.put_bucket_ownership_controls(Bucket="guarded", OwnershipControls=enforced),
                    "InvalidBucketAclWithObjectOwnership")
        r.put_bucket_acl(Bucket="guarded", ACL="private")
        r.put_bucket_ownership_controls(Bucket="guarded", OwnershipControls=enforced)
        self.assertEqual(self.curl("/guarded/acl.txt")[0], 403)
        self.denied(lambda: r.put_object(Bucket="guarded", Key="y.txt", Body=b"x", ACL="public-read"),
                    "AccessControlListNotSupported")
        r.put_object(Bucket="guarded", Key="y.txt", Body=b"x", ACL="bucket-owner-full-control")
        r.delete_bucket_ownership_controls(Bucket="guarded")
        self.denied(lambda: r.get_bucket_ownership_controls(Bucket="guarded"), "OwnershipControlsNotFoundError")
        self.assertEqual(self.curl("/guarded/acl.txt"), (200, b"by acl"))
        # A new bucket is BucketOwnerEnforced unless created otherwise; an ACL with it is refused.
        r.create_bucket(Bucket="enforced-new")
        self.assertEqual(r.get_bucket_ownership_controls(Bucket="enforced-new")["OwnershipControls"]["Rules"],
                         [{"ObjectOwnership": "BucketOwnerEnforced"}])
        self.denied(lambda: r.create_bucket(Bucket="enforced-acl", ACL="public-read"),
                    "InvalidBucketAclWithObjectOwnership")

    def test_malformed_policy_changes_nothing(self):
        good = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::other/locked/*"}]})
        self.root.put_bucket_policy(Bucket="other", Policy=good)
        bad = {
            "{not json": "valid JSON",
            json.dumps({"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}): "Principal",
            json.dumps({"Statement": [{"Effect": "Permit", "Principal": "*", "Action": "s3:GetObject",
                                       "Resource": "arn:aws:s3:::other/*"}]}): "effect",
            json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:Fly",
                                       "Resource": "arn:aws:s3:::other/*"}]}): "invalid action",
            json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                       "Resource": "arn:aws:s3:::data/*"}]}): "invalid resource",
        }
        for doc, reason in bad.items():
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                self.root.put_bucket_policy(Bucket="other", Policy=doc)
            self.assertEqual(code_of(cm.exception), "MalformedPolicy")
            self.assertIn(reason, cm.exception.response["Error"]["Message"])
        self.assertEqual(self.root.get_bucket_policy(Bucket="other")["Policy"], good)
        self.denied(lambda: self.root.put_object(Bucket="other", Key="locked/x", Body=b"x"))
        r = self.admin("policy", "set", "broken", "-", stdin='{"Statement": []}', check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("MalformedPolicy", r.stderr)
        self.assertNotIn("broken", self.admin("policy", "list").stdout)
        self.root.delete_bucket_policy(Bucket="other")
        self.denied(lambda: self.root.get_bucket_policy(Bucket="other"), "NoSuchBucketPolicy")

    def test_keys_disable_rotate_and_admin_rights(self):
        u = self.make_user("rotator", policy={"Statement": [
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::data"}]})
        ak = u._request_signer._credentials.access_key
        u.list_objects_v2(Bucket="data")
        self.admin("key", "disable", ak)
        self.denied(lambda: u.list_objects_v2(Bucket="data"), "InvalidAccessKeyId")
        self.admin("key", "enable", ak)
        u.list_objects_v2(Bucket="data")
        new = json.loads(self.admin("key", "rotate", ak).stdout)
        self.denied(lambda: u.list_objects_v2(Bucket="data"), "InvalidAccessKeyId")
        harness.boto3_client(self.server.endpoint, ak=new["access_key"], sk=new["secret_key"]).list_objects_v2(Bucket="data")
        # A non-admin key cannot use the admin API.
        r = self.admin("user", "list", check=False, AWS_ACCESS_KEY_ID=new["access_key"],
                       AWS_SECRET_ACCESS_KEY=new["secret_key"])
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("AccessDenied", r.stderr)
        r = self.admin("user", "list", check=False, AWS_SECRET_ACCESS_KEY="wrong-secret-000")
        self.assertIn("SignatureDoesNotMatch", r.stderr)
        self.admin("user", "remove", "rotator")
        self.denied(lambda: harness.boto3_client(self.server.endpoint, ak=new["access_key"],
                                                 sk=new["secret_key"]).list_objects_v2(Bucket="data"),
                    "InvalidAccessKeyId")

    def test_zz_persisted_and_sealed(self):
        """Users, keys and policies survive a restart; secrets are not in the index in clear."""
        key = json.loads(self.admin("key", "create", "trainer").stdout)
        self.server.stop()
        meta = os.path.join(self.server.data_dir, "meta")
        blob = b"".join(open(os.path.join(meta, f), "rb").read() for f in os.listdir(meta)
                        if os.path.isfile(os.path.join(meta, f)))
        self.assertIn(key["access_key"].encode(), blob)  # the record is there...
        self.assertNotIn(key["secret_key"].encode(), blob)  # ...its secret only sealed
        self.server.start()
        c = harness.boto3_client(self.server.endpoint, ak=key["access_key"], sk=key["secret_key"])
        self.assertEqual(c.get_object(Bucket="data", Key="datasets/b/0001.tar")["Body"].read(), b"shard-b")
        self.denied(lambda: c.get_object(Bucket="data", Key="models/m.pt"))
        # Under another key file the sealed records do not open, and the server says so.
        self.server.stop()
        other = harness.Server(data_dir=self.server.data_dir, extra_args=["--iam-key-file", "/dev/null"])
        with self.assertRaises(RuntimeError):
            other.start()
        self.assertIn(b"key file", open(other.log.name, "rb").read())
        self.server.start()


if __name__ == "__main__":
    unittest.main(verbosity=2)
