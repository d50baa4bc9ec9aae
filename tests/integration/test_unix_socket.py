"""`sluice server --unix-socket PATH`: plain HTTP on a Unix-domain socket for clients on
the server's host (a data loader beside the store), with every S3 rule of the TCP port.
Driven by the real clients that speak it: the sluice CLI, the Python module and
sluice.torch.ShardDataset under a PyTorch DataLoader, plus raw HTTP over the socket.
"""
import hashlib
import io
import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import unittest

import harness

PYTHONPATH = os.environ.get("SLUICE_PYTHONPATH", os.path.join(os.path.dirname(__file__), "../../build/python"))
sys.path.insert(0, PYTHONPATH)
try:
    import sluice  # noqa: E402
    import sluice.torch  # noqa: E402
except ImportError:
    sluice = None


def raw_request(path, request):
    """Sends `request` bytes on the Unix socket at `path`; returns the whole answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(request)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


class UnixSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="sluice-unix-")
        cls.sock = os.path.join(cls.dir, "sluice.sock")
        cls.server = harness.Server(extra_args=["--unix-socket", cls.sock]).start()
        cls.endpoint = "unix://" + cls.sock
        cls.env = dict(os.environ, AWS_ENDPOINT_URL=cls.endpoint, AWS_ACCESS_KEY_ID=harness.ACCESS_KEY,
                       AWS_SECRET_ACCESS_KEY=harness.SECRET_KEY)
        cls.s3 = harness.boto3_client(cls.server.endpoint)  # the TCP port: the same store
        cls.s3.create_bucket(Bucket="local")

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def cli(self, *args, **kw):
        return subprocess.run([self.server.bin, *args], env=self.env, capture_output=True, timeout=120, **kw)

    def test_cli_round_trip_and_the_same_store_as_tcp(self):
        body = os.urandom(12 << 20)  # multipart through the CLI
        with tempfile.NamedTemporaryFile() as f:
            f.write(body)
            f.flush()
            r = self.cli("cp", f.name, "s3://local/cli/big.bin")
            self.assertEqual(r.returncode, 0, r.stderr)
        r = self.cli("cat", "s3://local/cli/big.bin")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(hashlib.sha256(r.stdout).hexdigest(), hashlib.sha256(body).hexdigest())
        got = self.s3.get_object(Bucket="local", Key="cli/big.bin")["Body"].read()
        self.assertEqual(got, body)
        r = self.cli("ls", "s3://local/cli/")
        self.assertIn(b"big.bin", r.stdout)

    @unittest.skipIf(sluice is None, "the sluice Python module is not built")
    def test_python_client(self):
        c = sluice.Client(endpoint=self.endpoint, access_key=harness.ACCESS_KEY, secret_key=harness.SECRET_KEY)
        self.assertTrue(c._c.prefer_streaming())  # this host: one streaming GET
        c.put("s3://local/py/a.txt", b"hello over a unix socket")
        self.assertEqual(c.get("s3://local/py/a.txt"), b"hello over a unix socket")
        data = os.urandom(3 << 20)
        c.put("s3://local/py/b.bin", data)
        for streaming in (True, False):
            with c.open("s3://local/py/b.bin", "rb", streaming=streaming) as f:
                self.assertEqual(f.read(), data)
        with self.assertRaises(sluice.ClientError):
            c.get("s3://local/py/missing")

    @unittest.skipIf(sluice is None, "the sluice Python module is not built")
    def test_shard_dataset_under_a_dataloader(self):
        from torch.utils.data import DataLoader
        expect = set()
        for s in range(4):
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for i in range(s * 25, (s + 1) * 25):
                    data = (b"%08d" % i) * 1000
                    info = tarfile.TarInfo(f"{i:08d}.bin")
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                    expect.add((f"{i:08d}", hashlib.sha256(data).hexdigest()))
            self.s3.put_object(Bucket="local", Key=f"shards/shard-{s}.tar", Body=buf.getvalue())
        ds = sluice.torch.ShardDataset("s3://local/shards/", shuffle=False,
                                       client=dict(endpoint=self.endpoint, access_key=harness.ACCESS_KEY,
                                                   secret_key=harness.SECRET_KEY))
        got = set()
        for batch in DataLoader(ds, batch_size=10, num_workers=2, collate_fn=lambda b: b):
            for sample in batch:
                got.add((sample["__key__"], hashlib.sha256(sample["bin"]).hexdigest()))
        self.assertEqual(got, expect)

    def test_unsigned_and_badly_signed_requests_are_refused(self):
        self.s3.put_object(Bucket="local", Key="secret", Body=b"x")
        answer = raw_request(self.sock, b"GET /local/secret HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 403"), answer[:200])
        self.assertIn(b"AccessDenied", answer)
        r = subprocess.run([self.server.bin, "cat", "s3://local/secret"], capture_output=True, timeout=60,
                           env=dict(self.env, AWS_SECRET_ACCESS_KEY="wrong-secret-0123456789"))
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"HTTP 403", r.stderr)

    def test_health_and_bad_requests(self):
        answer = raw_request(self.sock, b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:200])
        answer = raw_request(self.sock, b"NOT HTTP AT ALL\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:200])

    def test_stale_socket_replaced_and_live_one_refused(self):
        # A second server on the same socket path is refused while the first runs.
        other = harness.Server(extra_args=["--unix-socket", self.sock])
        with self.assertRaises(RuntimeError):
            other.start()
        other.cleanup()
        # After a kill -9 the socket file stays behind; a restart replaces it.
        self.server.kill9()
        self.assertTrue(os.path.exists(self.sock))
        self.server.start()
        r = self.cli("ls", "s3://local/")
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main()
