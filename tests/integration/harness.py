"""Starts the real sluice binary on a free loopback port for integration tests.

Run with /usr/bin/python3 (Debian's boto3). SLUICE_BIN names the binary (ctest sets it).
With SLUICE_TEST_CEPH_CONF set (test_on_ceph.py does), every server is a gateway on that Ceph
cluster instead, in pools of its own (or shared, with ceph_pool) and with its IAM key file
in its directory: the same scenarios then run against the RADOS backend.
"""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

ACCESS_KEY = "itestaccesskey"
SECRET_KEY = "itestsecretkey0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def npm_dir(name, files, modules):
    """build/NAME with tests/integration/NAME's FILES copied in and npm's MODULES installed
    there (once: later runs reuse them). Returns its path."""
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
    here = os.path.dirname(os.path.abspath(__file__))
    work = os.path.join(root, "build", name)
    os.makedirs(work, exist_ok=True)
    for f in files:
        shutil.copy(os.path.join(here, f), work)
    if not all(os.path.isdir(os.path.join(work, "node_modules", *m.split("/"))) for m in modules):
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                           cwd=work, capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise RuntimeError("npm install failed:\n" + r.stdout + r.stderr)
    return work


def ceph_conf():
    return os.environ.get("SLUICE_TEST_CEPH_CONF") or None


class Server:
    """One sluice process with its own data directory (on Ceph: its own pools, unless
    ceph_pool names pools another gateway uses, and its IAM key file, key_file)."""

    def __init__(self, data_dir=None, extra_args=(), ca=None, ceph_pool=None, key_file=None):
        self.bin = os.environ.get("SLUICE_BIN") or os.path.join(
            os.path.dirname(__file__), "../../build/src/sluice")
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="sluice-it-")
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.ca = ca  # with --tls-cert in extra_args: the CA that signed it
        name = os.path.basename(self.data_dir.rstrip("/"))
        self.ceph_pool = ceph_pool or "it-" + name.replace("_", "-")
        self.key_file = key_file or os.path.join(self.data_dir, "iam-key")
        self.gateway = name

    @property
    def endpoint(self):
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}"

    def start(self):
        self.port = self.port or free_port()  # a restart keeps its endpoint
        self.log = open(os.path.join(self.data_dir, "..", os.path.basename(self.data_dir) + ".log"), "ab")
        where = ["--data", self.data_dir]
        if ceph_conf():
            where = ["--ceph-conf", ceph_conf(), "--ceph-pool", self.ceph_pool,
                     "--iam-key-file", self.key_file, "--gateway-name", self.gateway]
            if "--ceph-lease" not in self.extra_args:
                # A restart after kill -9 waits out the dead process's lease: keep it short.
                where += ["--ceph-lease", "3"]
            if "--sse-key-file" not in self.extra_args:
                # A gateway never creates the SSE-S3 key file (every gateway needs the same
                # one): made here, where the local server would put it, as an operator would.
                sse_keys = self.data_dir.rstrip("/") + ".sse-keys"
                if not os.path.exists(sse_keys):
                    subprocess.run([self.bin, "sse-keys", "rotate", "--file", sse_keys], check=True,
                                   capture_output=True, timeout=60)
                where += ["--sse-key-file", sse_keys]
        self.proc = subprocess.Popen(
            [self.bin, "server", *where, "--listen", f"127.0.0.1:{self.port}",
             "--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY, *self.extra_args],
            stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sluice exited with {self.proc.returncode}; see {self.log.name}")
            try:
                ctx = ssl.create_default_context(cafile=self.ca) if self.ca else None
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1, context=ctx) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sluice did not become healthy")

    def unpublished(self):
        """Data this server wrote and has not yet published or discarded: files in tmp/
        locally, the gateway's write intents on Ceph. Empty after a recovery."""
        if not ceph_conf():
            return os.listdir(os.path.join(self.data_dir, "tmp"))
        out = subprocess.run(["rados", "-c", ceph_conf(), "-p", self.ceph_pool + ".meta",
                              "listomapkeys", "intents." + self.gateway],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0 and "No such file" not in out.stderr:
            raise RuntimeError(out.stderr)
        return out.stdout.split()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            for beside in (".iam-key", ".sse-keys"):  # created beside the data
                try:
                    os.unlink(self.data_dir.rstrip("/") + beside)
                except FileNotFoundError:
                    pass


def signed_request(endpoint, method, path, headers=None, body=b"", ak=ACCESS_KEY, sk=SECRET_KEY,
                   timeout=30):
    """One request signed by botocore's own SigV4 signer and sent with requests: for what
    boto3 has no operation or parameter for (raw headers, sluice's BatchGet)."""
    import hashlib
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    url = endpoint + path
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    req.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    SigV4Auth(Credentials(ak, sk), "s3", "us-east-1").add_auth(req)
    return requests.request(method, url, headers=dict(req.headers.items()), data=body, timeout=timeout)


def signed_head(method, url, headers=None, payload_hash="UNSIGNED-PAYLOAD"):
    """A request head signed by botocore's SigV4 signer, for raw sockets: the request line and
    headers, without the blank line that ends them."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    headers = dict(headers or {})
    headers["Host"] = url.split("/")[2]
    req = AWSRequest(method=method, url=url, headers=headers)
    req.headers["X-Amz-Content-SHA256"] = payload_hash
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(req)
    path = url.split("/", 3)[3] if url.count("/") >= 3 else ""
    lines = [f"{method} /{path} HTTP/1.1"] + [f"{k}: {v}" for k, v in req.headers.items()]
    return ("\r\n".join(lines) + "\r\n").encode()


def boto3_client(endpoint, **kw):
    import boto3
    from botocore.config import Config
    cfg = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                 **kw.pop("config_args", {}))
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=kw.pop("ak", ACCESS_KEY),
                        aws_secret_access_key=kw.pop("sk", SECRET_KEY), region_name="us-east-1",
                        config=cfg, **kw)


class ServerTestCase(unittest.TestCase):
    """One server for the whole class, and a boto3 client for it as cls.s3."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        try:
            cls.server.start()
            cls.s3 = boto3_client(cls.server.endpoint)
        except Exception:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()
