"""PUTs of mixed sizes, empty ones included, one after another on one keep-alive connection.

boto3 sends `Expect: 100-continue` on every PutObject. When a server answers an empty one
with its final status and no `100 Continue` (which HTTP allows), botocore keeps that status
line for the connection's next Expect request and misreads the next reply: every PUT after
an empty PUT stalled until the client's read timeout (10 s here, 60 s by default). No client
test had caught it, because none sent an empty body and then another PUT on the same
connection. So:
  - raw sockets: every order of empty and non-empty bodies, with and without Expect, on one
    connection, checked byte by byte (the interim 100, then the final reply, each in time);
  - each real client (boto3, the AWS CLI, s3cmd, rclone; the JavaScript SDKs in
    test_jssdk.py) PUTs mixed sizes on one connection with a one-second read timeout and no
    retries (s3cmd's retries cannot be turned off: a retry it reports fails the test), so any
    request slower than a second fails the test.
compat: expect-continue
"""
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from botocore.config import Config

import clients
import harness
from test_badinput import signed_head

SIZES = [0, 1, 4096, 0, 0, 70 * 1024, 0, 4096, 300 * 1024, 0]  # empty ones in runs and alone


def body_of(i, n):
    return bytes((i * 7 + j) % 251 for j in range(n))


class RawExpectTest(unittest.TestCase):
    """A strict HTTP/1.1 client over one socket: with Expect, it waits for the interim 100
    before sending a body; every reply must come within a second."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        cls.s3.create_bucket(Bucket="raw")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def read_response(self, sock, buf):
        """One response (status, headers, body) from sock; buf holds bytes already read."""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed mid-response: {buf[:200]!r}")
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(b":", 1) for l in lines[1:])}
        n = int(headers.get(b"content-length", b"0"))
        while len(buf) < n:
            buf += sock.recv(65536)
        return status, headers, buf[:n], buf[n:]

    def put(self, sock, key, data, expect):
        extra = {"Content-Length": str(len(data))}
        if expect:
            extra["Expect"] = "100-continue"
        sock.sendall(signed_head("PUT", f"{self.server.endpoint}/raw/{key}", extra) + b"\r\n")
        sock.settimeout(1.0)
        buf = b""
        start = time.monotonic()
        if expect:
            status, _, _, buf = self.read_response(sock, buf)
            self.assertEqual(status, 100, f"{key}: an Expect request gets its interim 100 first")
        sock.sendall(data)
        status, headers, _, buf = self.read_response(sock, buf)
        self.assertEqual(status, 200, key)
        self.assertLess(time.monotonic() - start, 1.0, key)
        self.assertNotEqual(headers.get(b"connection"), b"close", key)
        self.assertEqual(buf, b"", f"{key}: nothing may follow the final reply: {buf!r}")

    def test_every_order_of_empty_and_nonempty_with_and_without_expect(self):
        kinds = [(0, False), (0, True), (4096, False), (4096, True)]
        n = 0
        for seq in itertools.product(kinds, repeat=3):
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
                for size, expect in seq:
                    key = f"k{n}"
                    data = body_of(n, size)
                    with self.subTest(seq=seq, key=key):
                        self.put(sock, key, data, expect)
                        got = self.s3.get_object(Bucket="raw", Key=key)["Body"].read()
                        self.assertEqual(got, data)
                    n += 1
        self.assertEqual(n, 192)

    def test_empty_expect_refused_keeps_the_connection_in_step(self):
        # An empty Expect request refused (no such bucket) still gets its 100 first, so the
        # client's next request on the connection reads its own reply.
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as sock:
            sock.sendall(signed_head("PUT", f"{self.server.endpoint}/no-such-bucket/k",
                                     {"Content-Length": "0", "Expect": "100-continue"}) + b"\r\n")
            sock.settimeout(1.0)
            status, _, _, buf = self.read_response(sock, b"")
            self.assertEqual(status, 100)
            status, _, body, buf = self.read_response(sock, buf)
            self.assertEqual(status, 404)
            self.assertIn(b"NoSuchBucket", body)
            self.put(sock, "after-refusal", b"x" * 100, True)


class ClientsOnOneConnectionTest(unittest.TestCase):
    """Each real client PUTs mixed sizes in a row with a 1 s read timeout and no retries."""

    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server().start()
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        cls.s3.create_bucket(Bucket="mixed")
        cls.tmp = tempfile.mkdtemp(prefix="sluice-keepalive-")
        cls.src = os.path.join(cls.tmp, "src")
        os.makedirs(cls.src)
        for i, n in enumerate(SIZES):
            with open(os.path.join(cls.src, f"f{i:02d}"), "wb") as f:
                f.write(body_of(i, n))

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def assertUploaded(self, prefix):
        for i, n in enumerate(SIZES):
            got = self.s3.get_object(Bucket="mixed", Key=f"{prefix}/f{i:02d}")["Body"].read()
            self.assertEqual(got, body_of(i, n), f"{prefix}/f{i:02d}")

    def run_client(self, argv, env=None):
        start = time.monotonic()
        r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, f"{argv[0]} failed after {time.monotonic() - start:.1f} s "
                                          f"(a request slower than 1 s fails it):\n{r.stdout}\n{r.stderr}")
        self.assertNotIn("Retrying", r.stdout + r.stderr, "a request timed out and was retried")

    def test_boto3_forty_puts_every_fourth_empty(self):
        # The report's exact case: one client, 40 PUTs, every fourth empty, the rest 4 KiB.
        s3 = harness.boto3_client(self.server.endpoint,
                                  config_args={"read_timeout": 10, "max_pool_connections": 1})
        slow = []
        for i in range(40):
            data = b"" if i % 4 == 3 else body_of(i, 4096)
            start = time.monotonic()
            s3.put_object(Bucket="mixed", Key=f"boto3-40/{i}", Body=data)
            took = time.monotonic() - start
            if took >= 1.0:
                slow.append((i, len(data), round(took, 2)))
        self.assertEqual(slow, [], "PUTs slower than a second (index, size, seconds)")
        for i in range(40):
            got = self.s3.get_object(Bucket="mixed", Key=f"boto3-40/{i}")["Body"].read()
            self.assertEqual(len(got), 0 if i % 4 == 3 else 4096)

    def test_boto3_mixed_sizes(self):
        s3 = harness.boto3_client(self.server.endpoint,
                                  config_args={"read_timeout": 1, "connect_timeout": 1,
                                               "max_pool_connections": 1})
        for i, n in enumerate(SIZES):
            s3.put_object(Bucket="mixed", Key=f"boto3/f{i:02d}", Body=body_of(i, n))
            with open(os.path.join(self.src, f"f{i:02d}"), "rb") as f:  # a file body too
                s3.put_object(Bucket="mixed", Key=f"boto3-file/f{i:02d}", Body=f)
        self.assertUploaded("boto3")
        self.assertUploaded("boto3-file")

    def test_awscli(self):
        c = clients.AwsCli(self.server.endpoint, self.tmp)
        cfg = c.file("aws-config", b"[default]\ns3 =\n  max_concurrent_requests = 1\n")
        env = dict(c.env, AWS_CONFIG_FILE=cfg, AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard")
        self.run_client(["aws", "--endpoint-url", self.server.endpoint, "--cli-read-timeout", "1",
                         "--cli-connect-timeout", "1", "s3", "cp", "--recursive", "--no-progress",
                         self.src, "s3://mixed/awscli/"], env=env)
        self.assertUploaded("awscli")

    def test_s3cmd(self):
        c = clients.S3cmd(self.server.endpoint, self.tmp)
        with open(c.cfg, "a") as f:
            f.write("socket_timeout = 1\n")
        self.run_client(["s3cmd", "-c", c.cfg, "--no-progress", "put", "--recursive",
                         self.src + "/", "s3://mixed/s3cmd/"])
        self.assertUploaded("s3cmd")

    def test_rclone(self):
        c = clients.Rclone(self.server.endpoint, self.tmp)
        self.run_client(["rclone", "copy", self.src, "sl:mixed/rclone", "--transfers", "1",
                         "--checkers", "1", "--timeout", "1s", "--retries", "1",
                         "--low-level-retries", "1"], env=c.env)
        self.assertUploaded("rclone")


if __name__ == "__main__":
    unittest.main(verbosity=2)
