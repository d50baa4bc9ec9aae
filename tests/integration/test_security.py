"""The testable points of docs/security.md's threat model, against the real binary:
request smuggling (Content-Length with Transfer-Encoding, two lengths), header injection
through metadata and response-* overrides, what the server's logs must never hold
(secrets, signatures, session tokens, SSE-C keys), and the audit log."""
import base64
import hashlib
import json
import os
import socket
import time
import unittest
import urllib.parse

import boto3
import requests
from botocore.config import Config

import harness


def raw(port, data, read_timeout=3.0):
    """Sends DATA on a fresh connection; returns everything the server answers until it
    closes or goes quiet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def statuses(answer):
    return [int(line.split()[1]) for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


class Security(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.v4 = harness.boto3_client(cls.server.endpoint, config_args={"signature_version": "s3v4"})
        cls.s3.create_bucket(Bucket="sec")
        cls.s3.put_object(Bucket="sec", Key="victim", Body=b"keep me")
        cls.s3.put_object(Bucket="sec", Key="public", Body=b"hello")
        cls.s3.put_bucket_policy(Bucket="sec", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::sec/public"}]}))

    def victim_intact(self):
        self.assertEqual(self.s3.get_object(Bucket="sec", Key="victim")["Body"].read(), b"keep me")

    # --- request smuggling ------------------------------------------------------------
    def test_content_length_with_transfer_encoding_is_refused(self):
        # CL.TE: a front end that reads Content-Length forwards the whole body; a server
        # that reads chunked would see "0\r\n\r\n" end the body and the DELETE as a second
        # request. sluice refuses the message outright and closes the connection.
        smuggled = b"DELETE /sec/victim HTTP/1.1\r\nHost: x\r\n\r\n"
        body = b"0\r\n\r\n" + smuggled
        req = (b"POST /sec/public HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Content-Length: " + str(len(body)).encode() + b"\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + body)
        answer = raw(self.server.port, req)
        self.assertEqual(statuses(answer), [400], answer[:300])
        self.victim_intact()

    def test_two_content_lengths_are_refused(self):
        for lengths in ((b"5", b"6"), (b"5", b"5")):
            req = (b"PUT /sec/x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + lengths[0] +
                   b"\r\nContent-Length: " + lengths[1] + b"\r\n\r\nhello!")
            answer = raw(self.server.port, req)
            self.assertEqual(statuses(answer), [400], answer[:300])
        self.victim_intact()

    def test_unknown_transfer_coding_is_refused(self):
        for te in (b"gzip, chunked", b"chunked, chunked", b"identity", b"gzip"):
            req = (b"PUT /sec/x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " + te +
                   b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            answer = raw(self.server.port, req)
            st = statuses(answer)
            self.assertTrue(st and st[0] in (400, 501), (te, answer[:300]))
            self.assertEqual(len(st), 1, (te, answer[:300]))
        self.victim_intact()

    def test_bare_lf_and_obs_fold_do_not_split_headers(self):
        # A folded or LF-only line must not become a header of its own.
        for head in (b"GET /sec/public HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n Set-Cookie: b\r\n\r\n",
                     b"GET /sec/public HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\nDELETE /sec/victim\r\n\r\n"):
            answer = raw(self.server.port, head)
            self.assertEqual(len(statuses(answer)), 1, answer[:300])
            self.assertNotIn(b"Set-Cookie", answer)
        self.victim_intact()

    # --- header injection -------------------------------------------------------------
    def test_response_overrides_cannot_inject_headers(self):
        for param in ("response-content-type", "response-content-disposition",
                      "response-cache-control"):
            url = self.v4.generate_presigned_url(
                "get_object", Params={"Bucket": "sec", "Key": "public"}, ExpiresIn=60)
            evil = urllib.parse.quote("text/plain\r\nSet-Cookie: evil=1\r\nX-Injected: 1", safe="")
            url += f"&{param}={evil}"  # unsigned extra parameter: refused as unsigned or as bad
            r = requests.get(url, timeout=10)
            self.assertNotIn("set-cookie", {k.lower() for k in r.headers}, (param, r.status_code))
            self.assertNotIn("x-injected", {k.lower() for k in r.headers}, param)
            # Signed with the value: boto3 signs what it sends.
            p = {"Bucket": "sec", "Key": "public",
                 "ResponseContentType" if param == "response-content-type" else
                 "ResponseContentDisposition" if param == "response-content-disposition" else
                 "ResponseCacheControl": "a\r\nSet-Cookie: evil=1"}
            url = self.v4.generate_presigned_url("get_object", Params=p, ExpiresIn=60)
            r = requests.get(url, timeout=10)
            self.assertNotIn("set-cookie", {k.lower() for k in r.headers}, (param, r.status_code))
            if r.status_code != 400:
                self.fail(f"{param} with CR LF answered {r.status_code}, not 400")
            self.assertIn("<Code>InvalidArgument</Code>", r.text)

    def test_anonymous_requests_get_no_overrides(self):
        # The object is public; a response-* override would let anyone choose the headers
        # of its answer (S3 refuses them for anonymous requests too).
        r = requests.get(f"{self.server.endpoint}/sec/public", timeout=10)
        self.assertEqual(r.status_code, 200)
        r = requests.get(f"{self.server.endpoint}/sec/public?response-content-type=text/html",
                         timeout=10)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertIn("<Code>InvalidRequest</Code>", r.text)

    def test_metadata_cannot_carry_line_breaks_or_controls(self):
        port = self.server.port
        for value in (b"a\x01b", b"a\x7fb", b"a\rb"):
            body = b"x"
            req = (b"PUT /sec/meta HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n"
                   b"x-amz-meta-a: " + value + b"\r\n\r\n" + body)
            answer = raw(port, req)
            st = statuses(answer)
            self.assertEqual(st, [400], (value, answer[:300]))
        with self.assertRaises(Exception):
            self.s3.head_object(Bucket="sec", Key="meta")

    # --- what the logs never hold -----------------------------------------------------
    def test_names_cannot_forge_log_lines_or_steer_a_terminal(self):
        # A key, and a bucket name, carrying a line break, a fake log line and an escape
        # sequence: the access log and the server's own log (an access denial names the
        # resource) write them as \xNN, on the request's own line.
        forged = "%0A2026-01-01T00:00:00.000%20info%20forged%1B[31m%0D"
        for path in (f"/sec/a{forged}", f"/no{forged}bucket/x"):
            answer = raw(self.server.port,
                         f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
            self.assertTrue(statuses(answer), answer[:200])
        time.sleep(1)  # the access log's writer hands lines over within 200 ms
        with open(self.server.log.name, "rb") as f:
            log = f.read()
        self.assertIn(b"forged", log)
        self.assertNotIn(b"\x1b", log)
        self.assertNotIn(b"\r", log)
        for line in log.split(b"\n"):
            self.assertFalse(line.startswith(b"2026-01-01T00:00:00.000"), line)
            if b"forged" in line:
                self.assertIn(b"\\x0a2026-01-01T00:00:00.000", line)

    def test_logs_hold_no_secrets_signatures_tokens_or_keys(self):
        v4 = harness.boto3_client(self.server.endpoint, config_args={"signature_version": "s3v4"})
        url = v4.generate_presigned_url("get_object", Params={"Bucket": "sec", "Key": "public"},
                                             ExpiresIn=60)
        signature = urllib.parse.parse_qs(urllib.parse.urlparse(url).query)["X-Amz-Signature"][0]
        self.assertEqual(requests.get(url, timeout=10).status_code, 200)
        # A wrong signature, logged as refused: neither the sent nor the expected one appears.
        bad = url.replace(signature, "0" * 64)
        self.assertEqual(requests.get(bad, timeout=10).status_code, 403)
        # A header-signed request: its Authorization header's signature.
        r = harness.signed_request(self.server.endpoint, "GET", "/sec/public")
        self.assertEqual(r.status_code, 200)
        header_sig = r.request.headers["Authorization"].split("Signature=")[1]
        # SSE-C headers, with a key that must not be echoed or logged.
        key = os.urandom(32)
        ssec = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
                "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
                "x-amz-server-side-encryption-customer-key-MD5":
                    base64.b64encode(hashlib.md5(key).digest()).decode()}
        r = harness.signed_request(self.server.endpoint, "PUT", "/sec/ssec", headers=ssec, body=b"x")
        self.assertEqual(r.status_code, 200, r.text)
        r = harness.signed_request(self.server.endpoint, "GET", "/sec/ssec", headers=ssec)
        self.assertEqual((r.status_code, r.content), (200, b"x"))
        self.assertNotIn(ssec["x-amz-server-side-encryption-customer-key"], r.text)
        # A session token (a role session of the root user).
        sts = boto3.client("sts", endpoint_url=self.server.endpoint, region_name="us-east-1",
                           aws_access_key_id=harness.ACCESS_KEY,
                           aws_secret_access_key=harness.SECRET_KEY,
                           config=Config(retries={"max_attempts": 1}))
        token = None
        try:
            c = sts.assume_role(RoleArn="arn:aws:iam::000000000000:role/any",
                                RoleSessionName="sec", DurationSeconds=900)["Credentials"]
            token = c["SessionToken"]
            s = harness.boto3_client(self.server.endpoint, ak=c["AccessKeyId"],
                                     sk=c["SecretAccessKey"], aws_session_token=token)
            s.list_objects_v2(Bucket="sec")
            secret2 = c["SecretAccessKey"]
        except Exception:
            secret2 = None
        bad_token = harness.boto3_client(self.server.endpoint, ak="ASIAXXXXXXXXXXXX", sk="x" * 40,
                                         aws_session_token="a-wrong-session-token-value")
        with self.assertRaises(Exception):
            bad_token.list_objects_v2(Bucket="sec")
        time.sleep(0.5)  # the access log is written after the answer
        with open(self.server.log.name, "rb") as f:
            log = f.read()
        self.assertGreater(len(log), 0)
        needles = {"the root secret": harness.SECRET_KEY, "a query signature": signature,
                   "a header signature": header_sig, "the SSE-C key":
                       ssec["x-amz-server-side-encryption-customer-key"],
                   "a wrong session token": "a-wrong-session-token-value"}
        if token:
            needles["a session token"] = token
            needles["a session secret"] = secret2
        for what, needle in needles.items():
            self.assertNotIn(needle.encode(), log, f"{what} is in the server's log")
        # The data directory holds no secret in the clear either (IAM records are sealed).
        found = []
        for root, _, files in os.walk(self.server.data_dir):
            for name in files:
                p = os.path.join(root, name)
                if name == "root-credentials":
                    continue  # the one file that holds it, mode 0600 (docs/access-control.md)
                try:
                    with open(p, "rb") as f:
                        data = f.read()
                except OSError:
                    continue
                for what, needle in needles.items():
                    if needle.encode() in data:
                        found.append((what, p))
        self.assertEqual(found, [])

    # --- requests the server makes for someone ---------------------------------------
    def add_target(self, server, name, endpoint):
        spec = {"endpoint": endpoint, "bucket": "dst", "access_key": "k", "secret_key": "s"}
        return harness.signed_request(server.endpoint, "PUT",
                                      f"/_sluice/admin/v1/replication/targets/{name}",
                                      body=json.dumps(spec).encode())

    def test_replication_targets_never_reach_link_local_addresses(self):
        for endpoint in ("http://169.254.169.254", "http://169.254.169.254:80",
                         "http://169.254.1.1:9000"):
            t0 = time.monotonic()
            r = self.add_target(self.server, "meta", endpoint)
            self.assertEqual(r.status_code, 400, r.text)
            self.assertIn("link-local", r.json()["message"])
            self.assertLess(time.monotonic() - t0, 5)  # refused before any connection
        # A loopback target is allowed by default: it is only refused for what it is not
        # (no bucket there), which means the server did connect.
        r = self.add_target(self.server, "here", self.server.endpoint)
        self.assertEqual(r.status_code, 400, r.text)
        self.assertNotIn("refusing to connect", r.json()["message"])

    def test_replication_allow_list(self):
        other = harness.Server(extra_args=["--replication-allow", "10.0.0.0/8,192.0.2.0/24"])
        try:
            other.start()
            r = self.add_target(other, "here", self.server.endpoint)
            self.assertEqual(r.status_code, 400, r.text)
            self.assertIn("refusing to connect", r.json()["message"])
            self.assertIn("--replication-allow", r.json()["message"])
        finally:
            other.cleanup()
        bad = harness.Server(extra_args=["--replication-allow", "10.0.0.0/33"])
        try:
            with self.assertRaises(RuntimeError):
                bad.start()
            with open(bad.log.name) as f:
                self.assertIn("10.0.0.0/33", f.read())
        finally:
            bad.cleanup()

    # --- the audit log ----------------------------------------------------------------
    def audit(self):
        time.sleep(0.2)
        with open(os.path.join(self.server.data_dir, "audit.log")) as f:
            return [json.loads(line) for line in f]

    def test_audit_log_records_who_where_what_and_the_result(self):
        s3 = self.s3
        s3.create_bucket(Bucket="audited")
        s3.put_object(Bucket="audited", Key="a b", Body=b"1")
        s3.put_object(Bucket="audited", Key="c", Body=b"2")
        s3.get_object(Bucket="audited", Key="c")  # a read: not audited
        s3.put_bucket_versioning(Bucket="audited",
                                 VersioningConfiguration={"Status": "Enabled"})
        s3.delete_object(Bucket="audited", Key="c")
        s3.delete_objects(Bucket="audited", Delete={"Objects": [{"Key": "a b"}]})
        # Refused: an anonymous delete, and a non-admin's admin call.
        r = requests.delete(f"{self.server.endpoint}/audited/x", timeout=10)
        self.assertEqual(r.status_code, 403)
        r = harness.signed_request(self.server.endpoint, "PUT", "/_sluice/admin/v1/users/auditee",
                                   body=b"{}")
        self.assertEqual(r.status_code, 200, r.text)
        r = harness.signed_request(self.server.endpoint, "POST",
                                   "/_sluice/admin/v1/users/auditee/keys", body=b"")
        self.assertEqual(r.status_code, 200, r.text)
        k = r.json()
        r = harness.signed_request(self.server.endpoint, "DELETE",
                                   "/_sluice/admin/v1/users/someone", ak=k["access_key"],
                                   sk=k["secret_key"])
        self.assertEqual(r.status_code, 403, r.text)
        recs = [a for a in self.audit() if a.get("bucket") == "audited" or
                a["action"].startswith("admin ")]
        acts = [(a["action"], a.get("key"), a["status"], a["result"]) for a in recs]
        self.assertIn(("CreateBucket", None, 200, "ok"), acts)
        self.assertIn(("PutBucketVersioning", None, 200, "ok"), acts)
        self.assertIn(("DeleteObject", "c", 204, "ok"), acts)
        self.assertIn(("DeleteObjects", None, 200, "ok"), acts)
        self.assertIn(("DeleteObject", "x", 403, "AccessDenied"), acts)
        self.assertIn(("admin PUT users/auditee", None, 200, "ok"), acts)
        self.assertIn(("admin POST users/auditee/keys", None, 200, "ok"), acts)
        self.assertIn(("admin DELETE users/someone", None, 403, "AccessDenied"), acts)
        self.assertFalse(any(a[0] in ("PutObject", "GetObject") for a in acts), acts)
        by_action = {a["action"] + str(a.get("key")): a for a in recs}
        d = by_action["DeleteObjectc"]
        self.assertEqual(d["principal"], "arn:aws:iam::000000000000:root")
        self.assertEqual(d["access_key"], harness.ACCESS_KEY)
        self.assertEqual(d["remote"], "127.0.0.1")
        self.assertRegex(d["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertTrue(d["request_id"])
        self.assertEqual(by_action["DeleteObjectsNone"]["detail"], "a b")
        self.assertEqual(by_action["DeleteObjectx"]["principal"], "anonymous")
        refused = by_action["admin DELETE users/someoneNone"]
        self.assertEqual(refused["access_key"], k["access_key"])
        self.assertTrue(refused["principal"].endswith("user/auditee"), refused)
        # The access log is elsewhere (stdout); the audit log holds no secret.
        with open(os.path.join(self.server.data_dir, "audit.log"), "rb") as f:
            raw_log = f.read()
        self.assertNotIn(k["secret_key"].encode(), raw_log)
        self.assertNotIn(harness.SECRET_KEY.encode(), raw_log)
        self.assertEqual(os.stat(os.path.join(self.server.data_dir, "audit.log")).st_mode & 0o777,
                         0o600)


if __name__ == "__main__":
    unittest.main()
