"""Encryption at rest (docs/encryption.md) against the real server, driven by boto3 and the
AWS CLI: SSE-S3 and SSE-C on PutObject, GetObject (whole and ranged, across frame
boundaries) and HeadObject; multipart uploads (boto3's upload_file) and copies between
encrypted and plain objects; bucket default encryption; the errors S3 gives for a missing or
wrong customer key; the stored bytes holding no plaintext; an altered byte on disk failing
the read instead of returning wrong data; and a rotated master key still opening what the
old one sealed.  compat: encryption
"""
import base64
import glob
import hashlib
import os
import subprocess
import time
import unittest

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

import harness

MIB = 1024 * 1024


def code(e):
    return e.response["Error"]["Code"]


def status(e):
    return e.response["ResponseMetadata"]["HTTPStatusCode"]


class Encryption(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        cls.s3.create_bucket(Bucket="enc")
        cls.key = os.urandom(32)
        cls.ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": cls.key}

    def stored_files(self):
        return [f for f in glob.glob(os.path.join(self.server.data_dir, "**"), recursive=True)
                if os.path.isfile(f)]

    def assert_not_on_disk(self, needle):
        for f in self.stored_files():
            try:
                with open(f, "rb") as fh:
                    self.assertNotIn(needle, fh.read(), f"plaintext found in {f}")
            except FileNotFoundError:
                pass  # a temporary file the server removed since the listing (tmp/)

    def test_sse_s3_put_get_ranges_and_head(self):
        body = os.urandom(3 * 65536 + 1234)  # frames: three whole and one partial
        r = self.s3.put_object(Bucket="enc", Key="s3obj", Body=body, ServerSideEncryption="AES256")
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        self.assertEqual(r["ETag"].strip('"'), hashlib.md5(body).hexdigest())
        g = self.s3.get_object(Bucket="enc", Key="s3obj")
        self.assertEqual(g["ServerSideEncryption"], "AES256")
        self.assertEqual(g["Body"].read(), body)
        for first, last in ((0, 0), (65535, 65536), (1, 3 * 65536 + 1233), (131000, 200000),
                            (3 * 65536, 3 * 65536 + 1233), (len(body) - 1, len(body) - 1)):
            with self.subTest(range=(first, last)):
                g = self.s3.get_object(Bucket="enc", Key="s3obj", Range=f"bytes={first}-{last}")
                self.assertEqual(g["Body"].read(), body[first:last + 1])
        h = self.s3.head_object(Bucket="enc", Key="s3obj")
        self.assertEqual(h["ContentLength"], len(body))
        self.assertEqual(h["ServerSideEncryption"], "AES256")
        self.assert_not_on_disk(body[70000:70064])
        # A small object too (plain ones this size live in the index): never in plain text.
        small = os.urandom(100)
        self.s3.put_object(Bucket="enc", Key="small", Body=small, ServerSideEncryption="AES256")
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="small")["Body"].read(), small)
        self.assert_not_on_disk(small[10:60])
        self.s3.put_object(Bucket="enc", Key="empty", Body=b"", ServerSideEncryption="AES256")
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="empty")["Body"].read(), b"")

    def test_sse_c_needs_the_same_key_on_every_read(self):
        body = os.urandom(100000)
        r = self.s3.put_object(Bucket="enc", Key="cobj", Body=body, **self.ssec)
        self.assertEqual(r["SSECustomerAlgorithm"], "AES256")
        self.assertEqual(r["SSECustomerKeyMD5"], base64.b64encode(hashlib.md5(self.key).digest()).decode())
        # The ETag is not the MD5 of the bytes (it would say which plaintext it holds).
        self.assertNotEqual(r["ETag"].strip('"'), hashlib.md5(body).hexdigest())
        g = self.s3.get_object(Bucket="enc", Key="cobj", Range="bytes=65000-70000", **self.ssec)
        self.assertEqual(g["Body"].read(), body[65000:70001])
        self.assertEqual(g["SSECustomerKeyMD5"], r["SSECustomerKeyMD5"])
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket="enc", Key="cobj")
        self.assertEqual((status(cm.exception), code(cm.exception)), (400, "InvalidRequest"))
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket="enc", Key="cobj", SSECustomerAlgorithm="AES256",
                               SSECustomerKey=os.urandom(32))
        self.assertEqual((status(cm.exception), code(cm.exception)), (403, "AccessDenied"))
        with self.assertRaises(ClientError) as cm:
            self.s3.head_object(Bucket="enc", Key="cobj")
        self.assertEqual(status(cm.exception), 400)
        self.assertEqual(self.s3.head_object(Bucket="enc", Key="cobj", **self.ssec)["ContentLength"],
                         len(body))
        # SSE-C headers on a plain object: 400, as S3 answers.
        self.s3.put_object(Bucket="enc", Key="plain", Body=b"plain")
        with self.assertRaises(ClientError) as cm:
            self.s3.get_object(Bucket="enc", Key="plain", **self.ssec)
        self.assertEqual((status(cm.exception), code(cm.exception)), (400, "InvalidRequest"))
        self.assert_not_on_disk(body[1000:1064])
        self.assert_not_on_disk(self.key)

    def test_bad_encryption_headers_are_refused_with_nothing_stored(self):
        def put(headers):
            return harness.signed_request(self.server.endpoint, "PUT", "/enc/bad", headers, b"x" * 10)
        k = base64.b64encode(self.key).decode()
        md5 = base64.b64encode(hashlib.md5(self.key).digest()).decode()
        cases = [
            ({"x-amz-server-side-encryption": "AES128"}, 400, "InvalidArgument"),
            ({"x-amz-server-side-encryption": "aws:kms"}, 501, "NotImplemented"),
            ({"x-amz-server-side-encryption-customer-algorithm": "AES256"}, 400, "InvalidArgument"),
            ({"x-amz-server-side-encryption-customer-algorithm": "AES256",
              "x-amz-server-side-encryption-customer-key": base64.b64encode(b"short").decode(),
              "x-amz-server-side-encryption-customer-key-MD5": md5}, 400, "InvalidArgument"),
            ({"x-amz-server-side-encryption-customer-algorithm": "AES256",
              "x-amz-server-side-encryption-customer-key": k,
              "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(b"0" * 16).decode()},
             400, "InvalidArgument"),
            ({"x-amz-server-side-encryption": "AES256",
              "x-amz-server-side-encryption-customer-algorithm": "AES256",
              "x-amz-server-side-encryption-customer-key": k,
              "x-amz-server-side-encryption-customer-key-MD5": md5}, 400, "InvalidArgument"),
        ]
        for headers, want_status, want_code in cases:
            with self.subTest(headers=headers):
                r = put(headers)
                self.assertEqual(r.status_code, want_status, r.text)
                self.assertIn(f"<Code>{want_code}</Code>", r.text)
                self.assertNotIn(k, r.text)
                with self.assertRaises(ClientError):
                    self.s3.head_object(Bucket="enc", Key="bad")

    def test_multipart_uploads_and_copies(self):
        body = os.urandom(12 * MIB + 777)
        path = os.path.join(self.server.data_dir + "-src")
        with open(path, "wb") as f:
            f.write(body)
        cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
        self.s3.upload_file(path, "enc", "mpu-s3", ExtraArgs={"ServerSideEncryption": "AES256"}, Config=cfg)
        self.s3.upload_file(path, "enc", "mpu-c", ExtraArgs=dict(self.ssec), Config=cfg)
        os.remove(path)
        h = self.s3.head_object(Bucket="enc", Key="mpu-s3")
        self.assertEqual((h["ServerSideEncryption"], h["ContentLength"]), ("AES256", len(body)))
        self.assertTrue(h["ETag"].endswith('-3"'))
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="mpu-s3")["Body"].read(), body)
        rng = f"bytes={5 * MIB - 10}-{10 * MIB + 10}"  # across part boundaries
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="mpu-c", Range=rng, **self.ssec)["Body"].read(),
                         body[5 * MIB - 10:10 * MIB + 11])
        with self.assertRaises(ClientError):
            self.s3.get_object(Bucket="enc", Key="mpu-c")
        self.assert_not_on_disk(body[6 * MIB:6 * MIB + 64])
        # Copies: SSE-S3 -> plain, plain -> SSE-C, SSE-C -> SSE-S3, and a ranged part copy.
        self.s3.copy_object(Bucket="enc", Key="cp-plain", CopySource={"Bucket": "enc", "Key": "mpu-s3"})
        h = self.s3.head_object(Bucket="enc", Key="cp-plain")
        self.assertNotIn("ServerSideEncryption", h)
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="cp-plain")["Body"].read(), body)
        self.s3.copy_object(Bucket="enc", Key="cp-c", CopySource={"Bucket": "enc", "Key": "cp-plain"}, **self.ssec)
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="cp-c", **self.ssec)["Body"].read(), body)
        r = self.s3.copy_object(Bucket="enc", Key="cp-s3", CopySource={"Bucket": "enc", "Key": "cp-c"},
                                CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=self.key,
                                ServerSideEncryption="AES256")
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="cp-s3")["Body"].read(), body)
        with self.assertRaises(ClientError) as cm:  # the SSE-C source without its key
            self.s3.copy_object(Bucket="enc", Key="cp-x", CopySource={"Bucket": "enc", "Key": "cp-c"})
        self.assertEqual(status(cm.exception), 400)
        up = self.s3.create_multipart_upload(Bucket="enc", Key="pc", ServerSideEncryption="AES256")
        self.assertEqual(up["ServerSideEncryption"], "AES256")
        p = self.s3.upload_part_copy(Bucket="enc", Key="pc", UploadId=up["UploadId"], PartNumber=1,
                                     CopySource={"Bucket": "enc", "Key": "cp-c"},
                                     CopySourceRange="bytes=100-1000099",
                                     CopySourceSSECustomerAlgorithm="AES256",
                                     CopySourceSSECustomerKey=self.key)
        self.s3.complete_multipart_upload(Bucket="enc", Key="pc", UploadId=up["UploadId"],
                                          MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": p["CopyPartResult"]["ETag"]}]})
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="pc")["Body"].read(), body[100:1000100])

    def test_bucket_default_encryption(self):
        self.s3.create_bucket(Bucket="encdef")
        with self.assertRaises(ClientError) as cm:
            self.s3.get_bucket_encryption(Bucket="encdef")
        self.assertEqual(code(cm.exception), "ServerSideEncryptionConfigurationNotFoundError")
        with self.assertRaises(ClientError) as cm:
            self.s3.put_bucket_encryption(Bucket="encdef", ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
        self.assertEqual(status(cm.exception), 501)
        self.s3.put_bucket_encryption(Bucket="encdef", ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        rule = self.s3.get_bucket_encryption(Bucket="encdef")["ServerSideEncryptionConfiguration"]["Rules"][0]
        self.assertEqual(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256")
        body = os.urandom(300000)
        r = self.s3.put_object(Bucket="encdef", Key="a", Body=body)
        self.assertEqual(r["ServerSideEncryption"], "AES256")
        self.assertEqual(self.s3.get_object(Bucket="encdef", Key="a")["Body"].read(), body)
        # The AWS CLI's multipart upload and a copy into the bucket are encrypted too.
        src = self.server.data_dir + "-cli"
        big = os.urandom(9 * MIB)
        with open(src, "wb") as f:
            f.write(big)
        env = dict(os.environ, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY,
                   AWS_DEFAULT_REGION="us-east-1")
        subprocess.run(["aws", "--endpoint-url", self.server.endpoint, "s3", "cp", src, "s3://encdef/cli"],
                       check=True, env=env, capture_output=True)
        os.remove(src)
        self.assertEqual(self.s3.head_object(Bucket="encdef", Key="cli")["ServerSideEncryption"], "AES256")
        self.assertEqual(self.s3.get_object(Bucket="encdef", Key="cli")["Body"].read(), big)
        self.s3.put_object(Bucket="enc", Key="plain-src", Body=b"p" * 5000)
        self.s3.copy_object(Bucket="encdef", Key="copied", CopySource={"Bucket": "enc", "Key": "plain-src"})
        self.assertEqual(self.s3.head_object(Bucket="encdef", Key="copied")["ServerSideEncryption"], "AES256")
        self.assert_not_on_disk(body[5000:5064])
        self.assert_not_on_disk(big[MIB:MIB + 64])
        # An append cannot encrypt in place yet: refused, never a plain object.
        r = harness.signed_request(self.server.endpoint, "PUT", "/encdef/log",
                                   {"x-amz-write-offset-bytes": "0"}, b"line\n")
        self.assertEqual(r.status_code, 501, r.text)
        self.s3.delete_bucket_encryption(Bucket="encdef")
        self.assertNotIn("ServerSideEncryption", self.s3.put_object(Bucket="encdef", Key="b", Body=b"x"))
        self.assertEqual(self.s3.get_object(Bucket="encdef", Key="a")["Body"].read(), body)

    @unittest.skipIf(harness.ceph_conf(), "alters a data file on the local disk; on RADOS the "
                     "bytes are in the cluster (the frames and their checks are the same code)")
    def test_altered_ciphertext_fails_the_read(self):
        body = os.urandom(200000)
        self.s3.put_object(Bucket="enc", Key="victim", Body=body, ServerSideEncryption="AES256")
        time.sleep(0.5)  # the data file moves to its place after the reply
        before = {f: open(f, "rb").read() for f in self.stored_files()}
        needle = None
        for f, data in before.items():
            if len(data) == 200000 + 4 * 16:  # four frames, each with its tag
                needle = f
        self.assertIsNotNone(needle, "the encrypted data file")
        data = bytearray(before[needle])
        data[70000] ^= 1  # the second frame
        with open(needle, "wb") as fh:
            fh.write(data)
        # The first frame still reads; the altered one never returns wrong bytes.
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="victim", Range="bytes=0-1000")["Body"].read(),
                         body[:1001])
        try:
            got = self.s3.get_object(Bucket="enc", Key="victim", Range="bytes=66000-67000")["Body"].read()
        except Exception:  # the response is cut: botocore raises
            got = b""
        self.assertLess(len(got), 1001, "an altered frame must never be served")
        with open(needle, "wb") as fh:
            fh.write(before[needle])
        self.assertEqual(self.s3.get_object(Bucket="enc", Key="victim")["Body"].read(), body)


class Rotation(unittest.TestCase):
    def test_a_rotated_master_key_still_opens_old_objects(self):
        server = harness.Server().start()
        try:
            s3 = harness.boto3_client(server.endpoint)
            s3.create_bucket(Bucket="rot")
            old = os.urandom(70000)
            s3.put_object(Bucket="rot", Key="old", Body=old, ServerSideEncryption="AES256")
            key_file = server.data_dir.rstrip("/") + ".sse-keys"
            ids_before = [l.split()[0] for l in open(key_file) if l.strip() and not l.startswith("#")]
            self.assertEqual(len(ids_before), 1)
            out = subprocess.run([server.bin, "sse-keys", "rotate", "--file", key_file],
                                 check=True, capture_output=True, text=True)
            new_id = out.stdout.strip()
            self.assertNotIn(new_id, ids_before)
            server.stop()
            server.start()
            s3 = harness.boto3_client(server.endpoint)
            self.assertEqual(s3.get_object(Bucket="rot", Key="old")["Body"].read(), old)
            new = os.urandom(1000)
            s3.put_object(Bucket="rot", Key="new", Body=new, ServerSideEncryption="AES256")
            self.assertEqual(s3.get_object(Bucket="rot", Key="new")["Body"].read(), new)
            # A key file that lost the old key: the old object is a clear 500, never garbage.
            lines = [l for l in open(key_file) if not l.startswith(ids_before[0] + " ")]
            with open(key_file, "w") as f:
                f.writelines(lines)
            server.stop()
            server.start()
            s3 = harness.boto3_client(server.endpoint)
            with self.assertRaises(ClientError) as cm:
                s3.get_object(Bucket="rot", Key="old")
            self.assertEqual(status(cm.exception), 500)
            self.assertEqual(s3.get_object(Bucket="rot", Key="new")["Body"].read(), new)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
