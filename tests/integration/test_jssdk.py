"""The JavaScript clients from npm against the real server: the current AWS SDK for
JavaScript v3 (its defaults send CRC32 checksums in aws-chunked trailers, which broke
several S3 servers in 2025) and minio-js, each running the shared client scenario with
the odd-key matrix of clients.py, over HTTP and over HTTPS with a test CA."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import clients
import harness
import test_tls

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))


class JsSdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = harness.npm_dir("js-client", [f"js/{f}" for f in
                                                ("package.json", "scenario.mjs", "minio.mjs", "mixed.mjs")],
                                  ["@aws-sdk/client-s3", "@aws-sdk/lib-storage", "@aws-sdk/s3-request-presigner", "minio"])
        cls.server = harness.Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def node(self, script, endpoint, ca=None):
        env = dict(os.environ)
        if ca:
            env["NODE_EXTRA_CA_CERTS"] = ca
        r = subprocess.run(["node", script, endpoint, harness.ACCESS_KEY, harness.SECRET_KEY,
                            json.dumps(clients.ODD_KEYS)], cwd=self.dir, env=env, capture_output=True,
                           text=True, timeout=300)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 failed", r.stdout)

    def test_aws_sdk_js(self):
        self.node("scenario.mjs", self.server.endpoint)

    def test_minio_js(self):
        self.node("minio.mjs", self.server.endpoint)

    def test_mixed_sizes_on_one_connection(self):
        # compat: expect-continue (each PUT within a second, no retries; see test_keepalive.py)
        self.node("mixed.mjs", self.server.endpoint)

    def test_both_over_https(self):
        # compat: tls
        pki = tempfile.mkdtemp(prefix="sluice-js-pki-")
        try:
            ca = test_tls.make_ca(pki)
            cert, key = test_tls.make_cert(pki, "server", 7)
            server = harness.Server(extra_args=["--tls-cert", cert, "--tls-key", key], ca=ca).start()
            try:
                self.node("scenario.mjs", server.endpoint, ca)
                self.node("minio.mjs", server.endpoint, ca)
            finally:
                server.cleanup()
        finally:
            shutil.rmtree(pki, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
