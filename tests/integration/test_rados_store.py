#!/usr/bin/python3
"""The storage::DataStore and meta::Index conformance kits on RADOS (issue #18): a development
cluster from scripts/ceph-dev.sh (its own state directory and a free monitor port), then the
RADOS cases of storage_test (SLUICE_STORAGE_TEST) and meta_test (SLUICE_META_TEST) with
SLUICE_CEPH_CONF naming it. Every RADOS case must run: one skipped is a failure here.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class RadosStoreTest(unittest.TestCase):
    def test_conformance_kits_on_a_real_cluster(self):
        binaries = [os.environ.get(var) or os.path.join(ROOT, "build", "release", "tests", name)
                    for var, name in (("SLUICE_STORAGE_TEST", "storage_test"), ("SLUICE_META_TEST", "meta_test"))]
        state = tempfile.mkdtemp(prefix="sluice-ceph-kit-", dir="/tmp")
        env = dict(os.environ, CEPH_DEV_DIR=state, CEPH_DEV_PORT=str(free_port()),
                   CEPH_DEV_OSD_GB="1")
        try:
            up = subprocess.run([os.path.join(ROOT, "scripts", "ceph-dev.sh"), "up"], env=env,
                                capture_output=True, text=True, timeout=300)
            self.assertEqual(up.returncode, 0, up.stderr)
            conf = up.stdout.strip().split("=", 1)[1]
            for binary in binaries:
                run = subprocess.run([binary, "--gtest_filter=*rados*:Rados*"],
                                     env=dict(os.environ, SLUICE_CEPH_CONF=conf),
                                     capture_output=True, text=True, timeout=300)
                print(run.stdout[-3000:], flush=True)
                self.assertEqual(run.returncode, 0, run.stdout[-3000:] + run.stderr[-2000:])
                self.assertNotIn("SKIPPED", run.stdout)
                self.assertIn("PASSED", run.stdout)
        finally:
            subprocess.run([os.path.join(ROOT, "scripts", "ceph-dev.sh"), "down"], env=env,
                           capture_output=True, timeout=120)
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
