"""Every request header AWS documents for the object and bucket writes, each proven either
implemented (the request succeeds and the header has its effect) or refused with 501
NotImplemented naming it, with nothing stored. Never a silent success: an ignored
x-amz-write-offset-bytes once replaced a user's log, and an ignored encryption header leaves
data in plain text that its owner believes encrypted.
compat: unsupported-headers
"""
import base64
import hashlib
import unittest
import zlib

import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import harness

BODY = b"x" * 2160


def b64(raw):
    return base64.b64encode(raw).decode()


# (header, value): asks for a feature sluice does not have -> 501 naming the header.
REFUSED = [
    ("x-amz-server-side-encryption", "aws:kms"),
    ("x-amz-server-side-encryption", "aws:kms:dsse"),
    ("x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:1:key/k"),
    ("x-amz-server-side-encryption-context", b64(b'{"a":"b"}')),
    ("x-amz-server-side-encryption-bucket-key-enabled", "true"),
    ("x-amz-website-redirect-location", "/elsewhere"),
    ("x-amz-storage-class", "GLACIER"),
    ("x-amz-storage-class", "ONEZONE_IA"),
    ("x-amz-checksum-sha512", b64(hashlib.sha512(BODY).digest())),
    ("x-amz-checksum-md5", b64(hashlib.md5(BODY).digest())),
    ("x-amz-checksum-xxhash64", b64(b"\0" * 8)),
]
# compat: encryption
# SSE-C is implemented (test_encryption.py): one of its three headers alone is 400
# InvalidArgument, with nothing stored.
SSE_C_INCOMPLETE = [
    ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
    ("x-amz-server-side-encryption-customer-key", b64(b"k" * 32)),
    ("x-amz-server-side-encryption-customer-key-MD5", b64(hashlib.md5(b"k" * 32).digest())),
]
REFUSED_ON_CREATE_BUCKET = [
    ("x-amz-server-side-encryption", "AES256"),
]
# Object Lock settings in a bucket without Object Lock: 400 InvalidRequest, nothing written.
LOCK_WITHOUT_LOCK = [
    {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "2030-01-01T00:00:00Z"},
    {"x-amz-object-lock-legal-hold": "ON"},
]
REFUSED_ON_GET = [
    ("x-amz-server-side-encryption", "AES256"),
]
REFUSED_ON_DELETE = [
    ("x-amz-mfa", "arn:aws:iam::1:mfa/u 123456"),
    ("x-amz-if-match-last-modified-time", "Wed, 01 Jan 2025 00:00:00 GMT"),
    ("x-amz-if-match-size", "2160"),
]


class RequestHeadersTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        cls.s3.create_bucket(Bucket="hdr")
        cls.owner = cls.s3.list_buckets()["Owner"]["ID"]

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def send(self, method, path, headers=None, body=b""):
        return harness.signed_request(self.server.endpoint, method, path, headers, body)

    def assertRefused(self, r, header):
        self.assertEqual(r.status_code, 501, f"{header}: {r.status_code} {r.text}")
        self.assertIn("<Code>NotImplemented</Code>", r.text)
        self.assertIn(header.lower(), r.text.lower(), "the error names the header")

    def head(self, key):
        try:
            return self.s3.head_object(Bucket="hdr", Key=key)
        except self.s3.exceptions.ClientError:
            return None

    def test_refused_on_put_copy_and_multipart_and_nothing_changes(self):
        # The user's log: 2,160 bytes. An append (or any refused header) must leave it whole.
        self.s3.put_object(Bucket="hdr", Key="log", Body=BODY)
        for name, value in REFUSED:
            with self.subTest(header=name, value=value):
                self.assertRefused(self.send("PUT", "/hdr/log", {name: value}, b"y" * 2168), name)
                self.assertRefused(self.send("PUT", "/hdr/new", {name: value}, BODY), name)
                self.assertIsNone(self.head("new"))
                self.assertRefused(self.send("PUT", "/hdr/copy", {name: value, "x-amz-copy-source": "/hdr/log"}), name)
                self.assertIsNone(self.head("copy"))
                self.assertRefused(self.send("POST", "/hdr/mpu?uploads", {name: value}), name)
        for name, value in SSE_C_INCOMPLETE:
            with self.subTest(header=name, value=value):
                for method, path, extra, body in (("PUT", "/hdr/log", {}, b"y" * 2168), ("PUT", "/hdr/new", {}, BODY),
                                                  ("PUT", "/hdr/copy", {"x-amz-copy-source": "/hdr/log"}, b""),
                                                  ("POST", "/hdr/mpu?uploads", {}, b"")):
                    r = self.send(method, path, {name: value, **extra}, body)
                    self.assertEqual(r.status_code, 400, r.text)
                    self.assertIn("<Code>InvalidArgument</Code>", r.text)
                self.assertIsNone(self.head("new"))
                self.assertIsNone(self.head("copy"))
        for headers in LOCK_WITHOUT_LOCK:
            with self.subTest(headers=headers):
                for method, path, extra in (("PUT", "/hdr/log", {}), ("PUT", "/hdr/new", {}),
                                            ("PUT", "/hdr/copy", {"x-amz-copy-source": "/hdr/log"}),
                                            ("POST", "/hdr/mpu?uploads", {})):
                    r = self.send(method, path, {**headers, **extra}, b"y" * 10 if method == "PUT" and not extra else b"")
                    self.assertEqual(r.status_code, 400, r.text)
                    self.assertIn("<Code>InvalidRequest</Code>", r.text)
                self.assertIsNone(self.head("new"))
                self.assertIsNone(self.head("copy"))
        self.assertEqual(self.s3.get_object(Bucket="hdr", Key="log")["Body"].read(), BODY)
        # compat: append
        # x-amz-write-offset-bytes appends on PutObject; every other write refuses it, and
        # an offset that is not the log's size changes nothing.
        off = ("x-amz-write-offset-bytes", "2160")
        self.assertRefused(self.send("PUT", "/hdr/copy", {off[0]: off[1], "x-amz-copy-source": "/hdr/log"}), off[0])
        self.assertRefused(self.send("POST", "/hdr/mpu?uploads", {off[0]: off[1]}), off[0])
        r = self.send("PUT", "/hdr/log", {off[0]: "2000"}, b"y" * 2168)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("<Code>InvalidWriteOffset</Code>", r.text)
        self.assertEqual(self.s3.get_object(Bucket="hdr", Key="log")["Body"].read(), BODY)
        self.assertEqual(self.s3.list_multipart_uploads(Bucket="hdr").get("Uploads", []), [])

    def test_refused_on_upload_part(self):
        up = self.s3.create_multipart_upload(Bucket="hdr", Key="parts")["UploadId"]
        for name, value in REFUSED_ON_GET:
            self.assertRefused(self.send("PUT", f"/hdr/parts?partNumber=1&uploadId={up}", {name: value}, BODY), name)
        self.assertEqual(self.s3.list_parts(Bucket="hdr", Key="parts", UploadId=up).get("Parts", []), [])
        self.s3.abort_multipart_upload(Bucket="hdr", Key="parts", UploadId=up)

    def test_refused_on_create_bucket(self):
        for name, value in REFUSED_ON_CREATE_BUCKET:
            with self.subTest(header=name):
                self.assertRefused(self.send("PUT", "/hdr-new", {name: value}), name)
                self.assertNotIn("hdr-new", [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        r = self.send("PUT", "/hdr-unlocked", {"x-amz-bucket-object-lock-enabled": "false"})
        self.assertEqual(r.status_code, 200, r.text)
        # compat: ownership-controls
        r = self.send("PUT", "/hdr-owned", {"x-amz-object-ownership": "ObjectWriter"})
        self.assertEqual(r.status_code, 200, r.text)
        self.assertEqual(self.s3.get_bucket_ownership_controls(Bucket="hdr-owned")["OwnershipControls"]["Rules"],
                         [{"ObjectOwnership": "ObjectWriter"}])
        self.assertEqual(self.send("PUT", "/hdr-owned2", {"x-amz-object-ownership": "Nobody"}).status_code, 400)

    def test_refused_on_get_and_delete(self):
        self.s3.put_object(Bucket="hdr", Key="keep", Body=BODY)
        for name, value in REFUSED_ON_GET:
            self.assertRefused(self.send("GET", "/hdr/keep", {name: value}), name)
            self.assertEqual(self.send("HEAD", "/hdr/keep", {name: value}).status_code, 501)
        for name, value in SSE_C_INCOMPLETE:
            self.assertEqual(self.send("GET", "/hdr/keep", {name: value}).status_code, 400)
            self.assertEqual(self.send("HEAD", "/hdr/keep", {name: value}).status_code, 400)
        for name, value in REFUSED_ON_DELETE:
            self.assertRefused(self.send("DELETE", "/hdr/keep", {name: value}), name)
        self.assertIsNotNone(self.head("keep"))

    def test_implemented_headers_take_effect(self):
        crc = zlib.crc32(BODY).to_bytes(4, "big")
        cases = [
            ({"Cache-Control": "max-age=60"}, lambda h: h["CacheControl"] == "max-age=60"),
            ({"Content-Disposition": "attachment"}, lambda h: h["ContentDisposition"] == "attachment"),
            ({"Content-Language": "en"}, lambda h: h["ContentLanguage"] == "en"),
            ({"Content-Type": "text/csv"}, lambda h: h["ContentType"] == "text/csv"),
            ({"Expires": "Wed, 01 Jan 2031 00:00:00 GMT"}, lambda h: h["ResponseMetadata"]["HTTPHeaders"]["expires"].startswith("Wed, 01 Jan 2031")),
            ({"Content-MD5": b64(hashlib.md5(BODY).digest())}, lambda h: h["ETag"] == f'"{hashlib.md5(BODY).hexdigest()}"'),
            ({"x-amz-meta-run": "42"}, lambda h: h["Metadata"] == {"run": "42"}),
            ({"x-amz-tagging": "a=1"}, lambda h: h["ResponseMetadata"]["HTTPHeaders"].get("x-amz-tagging-count") == "1"),
            ({"x-amz-acl": "private"}, lambda h: True),
            ({"x-amz-checksum-crc32": b64(crc)}, lambda h: True),
            ({"x-amz-sdk-checksum-algorithm": "CRC32", "x-amz-checksum-crc32": b64(crc)}, lambda h: True),
            ({"x-amz-storage-class": "STANDARD"}, lambda h: True),
            ({"x-amz-request-payer": "requester"}, lambda h: True),
            ({"x-amz-server-side-encryption-bucket-key-enabled": "false"}, lambda h: True),
            ({"x-amz-server-side-encryption": "AES256"}, lambda h: h["ServerSideEncryption"] == "AES256"),
            ({"x-amz-expected-bucket-owner": None}, lambda h: True),
            # An append creating the object (test_append.py has the rest).
            ({"x-amz-write-offset-bytes": "0"}, lambda h: h["ContentLength"] == len(BODY)),
        ]
        for i, (headers, check) in enumerate(cases):
            headers = {k: (v if v is not None else self.owner) for k, v in headers.items()}
            with self.subTest(headers=headers):
                r = self.send("PUT", f"/hdr/ok{i}", headers, BODY)
                self.assertEqual(r.status_code, 200, r.text)
                self.assertTrue(check(self.s3.head_object(Bucket="hdr", Key=f"ok{i}")))
        # A wrong checksum or MD5 is checked, not ignored.
        r = self.send("PUT", "/hdr/bad-crc", {"x-amz-checksum-crc32": b64(b"\0\0\0\0")}, BODY)
        self.assertEqual(r.status_code, 400, r.text)
        r = self.send("PUT", "/hdr/bad-md5", {"Content-MD5": b64(b"\0" * 16)}, BODY)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIsNone(self.head("bad-crc"))
        self.assertIsNone(self.head("bad-md5"))

    def test_expected_bucket_owner(self):
        # compat: expected-bucket-owner
        self.s3.put_object(Bucket="hdr", Key="owned", Body=BODY)
        wrong = {"x-amz-expected-bucket-owner": "111122223333"}
        for method, path, body in (("PUT", "/hdr/owned2", BODY), ("GET", "/hdr/owned", b""),
                                   ("HEAD", "/hdr/owned", b""), ("DELETE", "/hdr/owned", b""),
                                   ("GET", "/hdr?list-type=2", b""), ("GET", "/hdr?acl", b""),
                                   ("GET", "/hdr/owned?tagging", b"")):
            with self.subTest(method=method, path=path):
                self.assertEqual(self.send(method, path, wrong, body).status_code, 403)
                right = self.send(method, {"PUT": "/hdr/right-put", "DELETE": "/hdr/other"}.get(method, path),
                                  {"x-amz-expected-bucket-owner": self.owner}, body)
                self.assertLess(right.status_code, 300, right.text)
        self.assertIsNone(self.head("owned2"))
        self.assertIsNotNone(self.head("owned"))
        r = self.send("PUT", "/hdr/copied", {"x-amz-copy-source": "/hdr/owned",
                                             "x-amz-source-expected-bucket-owner": "111122223333"})
        self.assertEqual(r.status_code, 403, r.text)
        r = self.send("PUT", "/hdr/copied", {"x-amz-copy-source": "/hdr/owned",
                                             "x-amz-source-expected-bucket-owner": self.owner})
        self.assertEqual(r.status_code, 200, r.text)


class SmallerBehavioursTest(unittest.TestCase):
    """The smaller conformance fixes, each against what AWS answers."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        for b in ("sb-a1", "sb-a2", "sb-a3", "sb-b1"):
            cls.s3.create_bucket(Bucket=b)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    send = RequestHeadersTest.send

    def test_sigv2_empty_amz_date_overrides_date(self):
        # compat: signatures
        from botocore.auth import HmacV1Auth
        from email.utils import formatdate
        for amz_date in (None, ""):
            url = self.server.endpoint + "/sb-a1"
            req = AWSRequest(method="GET", url=url, headers={"Date": formatdate(usegmt=True)})
            if amz_date is not None:
                req.headers["x-amz-date"] = amz_date
            HmacV1Auth(Credentials(harness.ACCESS_KEY, harness.SECRET_KEY)).add_auth(req)
            r = requests.get(url, headers=dict(req.headers.items()), timeout=30)
            if amz_date is None:
                self.assertEqual(r.status_code, 200, r.text)
            else:
                self.assertEqual(r.status_code, 403, "an empty x-amz-date replaces Date, and fails")

    def test_list_buckets_pages(self):
        # compat: list-buckets
        import xml.etree.ElementTree as ET
        ns = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        names, token = [], None
        while True:
            q = "/?max-buckets=2&prefix=sb-a" + (f"&continuation-token={requests.utils.quote(token)}" if token else "")
            r = self.send("GET", q)
            self.assertEqual(r.status_code, 200, r.text)
            doc = ET.fromstring(r.content)
            names += [b.find(ns + "Name").text for b in doc.iter(ns + "Bucket")]
            self.assertEqual(doc.find(ns + "Prefix").text, "sb-a")
            token_el = doc.find(ns + "ContinuationToken")
            if token_el is None:
                break
            token = token_el.text
        self.assertEqual(names, ["sb-a1", "sb-a2", "sb-a3"])
        for bad in ("0", "10001", "x"):
            self.assertEqual(self.send("GET", f"/?max-buckets={bad}").status_code, 400)

    def test_content_encoding_kept_as_sent(self):
        # compat: object-headers
        for sent, stored in (("deflate, gzip", "deflate, gzip"), ("gzip,deflate", "gzip,deflate"),
                             ("aws-chunked, gzip", "gzip"), ("deflate, aws-chunked, gzip", "deflate, gzip"),
                             ("aws-chunked", None)):
            r = self.send("PUT", "/sb-a1/enc", {"Content-Encoding": sent}, b"x")
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(self.s3.head_object(Bucket="sb-a1", Key="enc").get("ContentEncoding"), stored, sent)

    def test_tags_in_key_order(self):
        # compat: tagging
        self.s3.put_object(Bucket="sb-a1", Key="tagged", Body=b"x", Tagging="zeta=1&alpha=2&mid=3")
        tags = self.s3.get_object_tagging(Bucket="sb-a1", Key="tagged")["TagSet"]
        self.assertEqual([t["Key"] for t in tags], ["alpha", "mid", "zeta"])

    def test_allow_with_notprincipal_is_malformed(self):
        # compat: bucket-policy
        import json
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::1:root"},
                                                       "Action": "s3:GetObject", "Resource": "arn:aws:s3:::sb-b1/*"}]}
        with self.assertRaises(self.s3.exceptions.ClientError) as cm:
            self.s3.put_bucket_policy(Bucket="sb-b1", Policy=json.dumps(doc))
        self.assertEqual(cm.exception.response["Error"]["Code"], "MalformedPolicy")
        doc["Statement"][0]["Effect"] = "Deny"
        self.s3.put_bucket_policy(Bucket="sb-b1", Policy=json.dumps(doc))


if __name__ == "__main__":
    unittest.main(verbosity=2)
