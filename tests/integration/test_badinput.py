"""Bad input over raw sockets: each gets a proper error (or a closed connection for a
client that stalls), nothing partial is stored, and the server keeps serving others."""
import os
import socket
import time
import unittest

from botocore.exceptions import ClientError

import harness


signed_head = harness.signed_head


class BadInputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server(extra_args=["--header-timeout", "2", "--idle-timeout", "3",
                                                "--io-timeout", "2"]).start()
        cls.s3 = harness.boto3_client(cls.server.endpoint)
        cls.s3.create_bucket(Bucket="bad")
        cls.url = cls.server.endpoint

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        return s

    def exchange(self, raw, read_timeout=10):
        with self.connect() as s:
            s.sendall(raw)
            s.settimeout(read_timeout)
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    if b"\r\n\r\n" in data and (b"</Error>" in data or b"Content-Length: 0" in data):
                        break
            except socket.timeout:
                pass
            return data

    def assertServing(self):
        self.assertEqual(self.s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"], 200)

    def test_oversized_headers(self):
        raw = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (100 * 1024) + b"\r\n\r\n"
        resp = self.exchange(raw)
        self.assertTrue(resp.startswith(b"HTTP/1.1 400"), resp[:200])
        self.assertIn(b"RequestHeaderSectionTooLarge", resp)
        self.assertServing()

    def test_garbage_request(self):
        resp = self.exchange(b"\x16\x03\x01\x02\x00garbage that is not http\r\n\r\n")
        self.assertTrue(resp.startswith(b"HTTP/1.1 400"), resp[:200])
        resp = self.exchange(b"GET / HTTP/1.1\r\nContent-Length: zz\r\n\r\n")
        self.assertTrue(resp.startswith(b"HTTP/1.1 400"), resp[:200])
        self.assertServing()

    def test_body_shorter_than_content_length_then_close(self):
        head = signed_head("PUT", f"{self.url}/bad/short", {"Content-Length": "1000000"})
        with self.connect() as s:
            s.sendall(head + b"\r\n" + b"x" * 1000)
        time.sleep(0.3)
        with self.assertRaises(ClientError) as cm:
            self.s3.head_object(Bucket="bad", Key="short")
        self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 404)
        self.assertServing()

    def test_large_body_cut_mid_pipeline(self):
        # Bodies of 1 MiB or more are hashed and written on the blocking pool while the
        # next piece is read: a client that vanishes with pieces in flight stores nothing,
        # leaves the previous object whole, and the server goes on serving.
        old = os.urandom(2 * 1024 * 1024)
        self.s3.put_object(Bucket="bad", Key="cut", Body=old)
        for sent in (1024 * 1024 + 5, 3 * 1024 * 1024 + 512 * 1024):
            head = signed_head("PUT", f"{self.url}/bad/cut", {"Content-Length": str(5 * 1024 * 1024)})
            with self.connect() as s:
                s.sendall(head + b"\r\n")
                s.sendall(os.urandom(sent))
            time.sleep(0.3)
            self.assertEqual(self.s3.get_object(Bucket="bad", Key="cut")["Body"].read(), old)
            self.assertServing()
        # The partial data files are discarded (tmp/ holds only what is being written) once
        # the pieces in flight on the blocking pool land: allow for a slow (ASan) build.
        tmp = os.path.join(self.server.data_dir, "tmp")
        left = None
        for _ in range(100):
            left = os.listdir(tmp) if os.path.isdir(tmp) else []
            if not left:
                break
            time.sleep(0.1)
        self.assertEqual(left, [])

    def test_stalled_body_times_out_without_storing(self):
        head = signed_head("PUT", f"{self.url}/bad/stalled", {"Content-Length": "1000000"})
        with self.connect() as s:
            s.sendall(head + b"\r\n" + b"x" * 1000)
            # Others are served while this client stalls.
            self.assertServing()
            s.settimeout(8)
            start = time.time()
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (socket.timeout, ConnectionResetError):
                pass
            self.assertLess(time.time() - start, 7, "the server did not drop a stalled upload")
        with self.assertRaises(ClientError):
            self.s3.head_object(Bucket="bad", Key="stalled")

    def test_slowloris_head_is_dropped(self):
        with self.connect() as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            s.settimeout(8)
            start = time.time()
            try:
                while s.recv(4096):
                    pass
            except (socket.timeout, ConnectionResetError):
                pass
            self.assertLess(time.time() - start, 7)
        self.assertServing()

    def test_many_idle_connections_do_not_block_others(self):
        idle = [self.connect() for _ in range(200)]
        try:
            for _ in range(5):
                self.assertServing()
        finally:
            for s in idle:
                s.close()

    def test_huge_and_malformed_xml(self):
        big = b"<Delete>" + b"<Object><Key>k</Key></Object>" * 80000 + b"</Delete>"
        head = signed_head("POST", f"{self.url}/bad?delete", {"Content-Length": str(len(big))})
        resp = self.exchange(head + b"\r\n" + big)
        self.assertIn(b"MalformedXML", resp)
        bad = b"<Delete><Object><Key>unterminated"
        head = signed_head("POST", f"{self.url}/bad?delete", {"Content-Length": str(len(bad))})
        resp = self.exchange(head + b"\r\n" + bad)
        self.assertTrue(resp.startswith(b"HTTP/1.1 400"), resp[:200])
        self.assertIn(b"MalformedXML", resp)
        entity = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>'
        head = signed_head("POST", f"{self.url}/bad?delete", {"Content-Length": str(len(entity))})
        resp = self.exchange(head + b"\r\n" + entity)
        self.assertTrue(resp.startswith(b"HTTP/1.1 "), resp[:200])
        self.assertServing()

    def test_bad_chunked_encoding(self):
        head = signed_head("PUT", f"{self.url}/bad/chunked", {"Transfer-Encoding": "chunked"})
        resp = self.exchange(head + b"\r\nzz\r\nnot a chunk\r\n")
        self.assertTrue(resp.startswith(b"HTTP/1.1 400"), resp[:200])
        with self.assertRaises(ClientError):
            self.s3.head_object(Bucket="bad", Key="chunked")
        self.assertServing()

    def test_good_chunked_encoding(self):
        # compat: chunked-te
        head = signed_head("PUT", f"{self.url}/bad/chunked-ok", {"Transfer-Encoding": "chunked"})
        resp = self.exchange(head + b"\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        self.assertTrue(resp.startswith(b"HTTP/1.1 200"), resp[:300])
        self.assertEqual(self.s3.get_object(Bucket="bad", Key="chunked-ok")["Body"].read(), b"hello world")

    def test_bad_names_and_ranges(self):
        # compat: range-get
        with self.assertRaises(ClientError) as cm:
            self.s3.create_bucket(Bucket="x" * 64)
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidBucketName")
        self.s3.put_object(Bucket="bad", Key="r", Body=b"0123456789")
        for rng, status in (("bytes=20-30", 416), ("bytes=abc", 200), ("bytes=5-2", 200)):
            try:
                r = self.s3.get_object(Bucket="bad", Key="r", Range=rng)
                self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], status, rng)
            except ClientError as e:
                self.assertEqual(e.response["ResponseMetadata"]["HTTPStatusCode"], status, rng)

    def test_expect_100_refused_without_reading_body(self):
        # compat: expect-continue
        head = signed_head("PUT", f"{self.url}/no-such-bucket/k",
                           {"Content-Length": str(50 * 1024 * 1024), "Expect": "100-continue"})
        resp = self.exchange(head + b"\r\n")  # the body is never sent
        self.assertTrue(resp.startswith(b"HTTP/1.1 404"), resp[:200])
        self.assertIn(b"NoSuchBucket", resp)
        self.assertNotIn(b"100 Continue", resp)


if __name__ == "__main__":
    unittest.main(verbosity=2)
