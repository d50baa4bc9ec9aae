"""The current AWS SDK for JavaScript v3 (from npm) against the real server: its defaults
send CRC32 checksums in aws-chunked trailers, which broke several S3 servers in 2025."""
import os
import shutil
import subprocess
import unittest

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "../.."))


class JsSdkTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = os.path.join(ROOT, "build", "js-client")
        os.makedirs(cls.dir, exist_ok=True)
        for f in ("package.json", "scenario.mjs"):
            shutil.copy(os.path.join(HERE, "js", f), cls.dir)
        if not os.path.isdir(os.path.join(cls.dir, "node_modules", "@aws-sdk", "client-s3")):
            r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                               cwd=cls.dir, capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                raise RuntimeError("npm install failed:\n" + r.stdout + r.stderr)
        cls.server = harness.Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_scenario(self):
        r = subprocess.run(["node", "scenario.mjs", self.server.endpoint, harness.ACCESS_KEY,
                            harness.SECRET_KEY], cwd=self.dir, capture_output=True, text=True,
                           timeout=300)
        print(r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("0 failed", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
