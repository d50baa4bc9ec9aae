"""Browser form uploads (POST Object with a signed policy), built by boto3's
generate_presigned_post and sent by python3-requests as a browser would send them."""
import time
import unittest

import requests

import harness


class PostFormTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.server.endpoint, config_args={"signature_version": "s3v4"})
        cls.s3v2 = harness.boto3_client(cls.server.endpoint, config_args={"signature_version": "s3"})
        cls.s3.create_bucket(Bucket="forms")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def form(self, key="uploads/${filename}", fields=None, conditions=None, expires=600, client=None):
        return (client or self.s3).generate_presigned_post(
            "forms", key, Fields=fields or {}, ExpiresIn=expires,
            Conditions=conditions if conditions is not None else [["starts-with", "$key", "uploads/"],
                                                                  ["content-length-range", 1, 1 << 20]])

    def post(self, p, data=b"hello from a form", filename="hello.txt", extra=None):
        fields = dict(p["fields"], **(extra or {}))
        return requests.post(p["url"], data=fields, files={"file": (filename, data)}, timeout=60)

    def error(self, r, status, code):
        self.assertEqual(r.status_code, status, r.text)
        self.assertIn(f"<Code>{code}</Code>", r.text)

    def exists(self, key):
        try:
            self.s3.head_object(Bucket="forms", Key=key)
            return True
        except self.s3.exceptions.ClientError:
            return False

    def test_upload_with_filename_metadata_and_default_204(self):
        # compat: post-object
        p = self.form(fields={"Content-Type": "text/plain", "x-amz-meta-who": "browser"},
                      conditions=[["starts-with", "$key", "uploads/"], {"Content-Type": "text/plain"},
                                  {"x-amz-meta-who": "browser"}])
        r = self.post(p)
        self.assertEqual(r.status_code, 204, r.text)
        self.assertEqual(r.headers["ETag"], '"471bc8b19d0b8d17a3380cd935762354"')
        o = self.s3.get_object(Bucket="forms", Key="uploads/hello.txt")
        self.assertEqual(o["Body"].read(), b"hello from a form")
        self.assertEqual(o["ContentType"], "text/plain")
        self.assertEqual(o["Metadata"], {"who": "browser"})

    def test_success_action_status_201_and_redirect(self):
        p = self.form(key="uploads/201.bin", fields={"success_action_status": "201"},
                      conditions=[{"success_action_status": "201"}])
        r = self.post(p)
        self.assertEqual(r.status_code, 201, r.text)
        self.assertIn("<Key>uploads/201.bin</Key>", r.text)
        self.assertIn("<Bucket>forms</Bucket>", r.text)
        p = self.form(key="uploads/redirect.bin", fields={"success_action_redirect": "https://app.example.com/done"},
                      conditions=[["starts-with", "$success_action_redirect", "https://app.example.com/"]])
        r = requests.post(p["url"], data=p["fields"], files={"file": ("x", b"data")}, allow_redirects=False, timeout=60)
        self.assertEqual(r.status_code, 303, r.text)
        self.assertTrue(r.headers["Location"].startswith(
            "https://app.example.com/done?bucket=forms&key=uploads%2Fredirect.bin&etag="), r.headers["Location"])

    def test_large_file_streams(self):
        data = bytes(range(256)) * (20 * 4096)  # 20 MiB
        p = self.form(key="uploads/large.bin", conditions=[["content-length-range", 0, 64 << 20]])
        r = self.post(p, data=data)
        self.assertEqual(r.status_code, 204, r.text)
        self.assertEqual(self.s3.get_object(Bucket="forms", Key="uploads/large.bin")["Body"].read(), data)

    def test_signature_v2_form(self):
        p = self.form(key="uploads/v2.txt", client=self.s3v2, conditions=[])
        self.assertIn("signature", p["fields"])
        r = self.post(p)
        self.assertEqual(r.status_code, 204, r.text)
        self.assertTrue(self.exists("uploads/v2.txt"))

    def test_policy_violations_store_nothing(self):
        p = self.form()
        r = self.post(p, extra={"key": "elsewhere/x.txt"})
        self.error(r, 403, "AccessDenied")
        self.assertIn("Policy Condition failed", r.text)
        r = self.post(p, data=b"x" * ((1 << 20) + 1), filename="big.bin")
        self.error(r, 400, "EntityTooLarge")
        r = self.post(p, data=b"", filename="empty.bin")
        self.error(r, 400, "EntityTooSmall")
        r = self.post(p, filename="extra.txt", extra={"x-amz-meta-sneaky": "1"})
        self.error(r, 403, "AccessDenied")
        self.assertIn("Extra input fields: x-amz-meta-sneaky", r.text)
        for name in ("big.bin", "empty.bin", "extra.txt"):
            self.assertFalse(self.exists("uploads/" + name), name)
        self.assertFalse(self.exists("elsewhere/x.txt"))

    def test_expired_tampered_and_unsigned(self):
        p = self.form(expires=1)
        time.sleep(2.1)
        self.error(self.post(p), 403, "AccessDenied")
        p = self.form()
        import base64
        import json
        doc = json.loads(base64.b64decode(p["fields"]["policy"]))
        doc["conditions"] = [c for c in doc["conditions"] if "content-length-range" not in c]
        r = self.post(p, extra={"policy": base64.b64encode(json.dumps(doc).encode()).decode()})
        self.error(r, 403, "SignatureDoesNotMatch")
        r = requests.post(p["url"], data={"key": "uploads/anon.txt"}, files={"file": ("a", b"a")}, timeout=60)
        self.error(r, 403, "AccessDenied")
        self.assertFalse(self.exists("uploads/anon.txt"))

    def test_every_field_sent_with_a_filename(self):
        # python-requests' files= gives every part a filename= attribute; the file is still
        # the part named "file", and ${filename} is that part's filename.
        p = self.form()
        parts = [(k, (k, v)) for k, v in p["fields"].items()] + [("file", ("named.txt", b"all parts"))]
        r = requests.post(p["url"], files=parts, timeout=60)
        self.assertEqual(r.status_code, 204, r.text)
        self.assertEqual(self.s3.get_object(Bucket="forms", Key="uploads/named.txt")["Body"].read(),
                         b"all parts")

    def test_filename_substituted_before_the_policy_is_checked(self):
        p = self.s3.generate_presigned_post("forms", "uploads/${filename}", ExpiresIn=600,
                                            Conditions=[{"key": "uploads/exact.txt"}])
        self.assertEqual(self.post(p, filename="exact.txt").status_code, 204)
        self.assertTrue(self.exists("uploads/exact.txt"))
        self.error(self.post(p, filename="other.txt"), 403, "AccessDenied")
        self.assertFalse(self.exists("uploads/other.txt"))

    def test_policy_without_signature_is_a_bad_request(self):
        for client, drop in ((self.s3, "x-amz-signature"), (self.s3v2, "signature")):
            p = self.form(client=client)
            fields = {k: v for k, v in p["fields"].items() if k != drop}
            r = requests.post(p["url"], data=fields, files={"file": ("nosig.txt", b"x")}, timeout=60)
            self.error(r, 400, "InvalidArgument")
        self.assertFalse(self.exists("uploads/nosig.txt"))

    def test_encryption_field_is_refused_not_ignored(self):
        # compat: unsupported-headers
        for field, value in (("x-amz-server-side-encryption", "AES256"),
                             ("x-amz-server-side-encryption", "aws:kms"),
                             ("x-amz-server-side-encryption-customer-algorithm", "AES256")):
            p = self.form(key="uploads/sse.txt", fields={field: value},
                          conditions=[{field: value}, ["starts-with", "$key", "uploads/"]])
            r = self.post(p)
            self.error(r, 501, "NotImplemented")
            self.assertIn(field, r.text)
        self.assertFalse(self.exists("uploads/sse.txt"))

    def test_malformed_forms(self):
        p = self.form()
        r = requests.post(p["url"], data=p["fields"], timeout=60)  # urlencoded, no file
        self.error(r, 400, "MalformedPOSTRequest")
        r = requests.post(p["url"], files={k: (None, v) for k, v in p["fields"].items()}, timeout=60)
        self.error(r, 400, "IncorrectNumberOfFilesInPostRequest")
        r = requests.post(p["url"], headers={"Content-Type": "multipart/form-data; boundary=zz"},
                          data=b"--zz\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nk", timeout=60)
        self.error(r, 400, "MalformedPOSTRequest")
        r = requests.post(self.server.endpoint + "/nobucket", data=p["fields"], files={"file": ("a", b"a")}, timeout=60)
        self.error(r, 404, "NoSuchBucket")
        big = {"x-ignore-pad": "p" * (100 * 1024)}
        self.error(self.post(p, extra=big), 400, "MaxPostPreDataLengthExceeded")


if __name__ == "__main__":
    unittest.main(verbosity=2)
